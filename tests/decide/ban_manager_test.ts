import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import {
  type Cidr,
  type IpAddress,
  isLoopback,
  parseCidr,
  parseIp,
} from "../../lib/core/address.ts";
import {
  activeBans,
  type BanAction,
  type BanPolicy,
  type BanState,
  banStats,
  createBanState,
  expireBans,
  flushJail,
  forgetWindows,
  type IgnoreCheck,
  manualBan,
  manualUnban,
  nextExpiry,
  pruneWindows,
  recordFailure,
  restoreBan,
  restoreHistory,
  restorePrefix,
  restoreWindow,
  takeDirty,
  unbanAll,
  windowOf,
  windowStats,
} from "../../lib/decide/mod.ts";

function ip(text: string): IpAddress {
  const a = parseIp(text);
  assertOk(a, text);
  return a;
}

function cidr(text: string): Cidr {
  const c = parseCidr(text);
  assertOk(c, text);
  return c;
}

function policy(overrides: Partial<BanPolicy> = {}): BanPolicy {
  return {
    jail: "sshd",
    maxRetry: 3,
    findTime: 600,
    banTime: 3600,
    increment: { enabled: false, factor: 1, multipliers: [], maxtime: 0, overalljails: false },
    ipv6Prefix: 64,
    ipv6PrefixMaxRetry: undefined,
    ipv4Prefix: undefined,
    ipv4PrefixMaxRetry: undefined,
    ...overrides,
  };
}

const NOTHING_IGNORED: IgnoreCheck = () => undefined;

/** Records a failure of `addr` at `time` with now = `now` (default: time). */
function fail(
  state: BanState,
  p: BanPolicy,
  addr: string,
  time: number,
  now = time,
  ignore: IgnoreCheck = NOTHING_IGNORED,
): BanAction[] {
  return recordFailure(state, p, { addr: ip(addr), time, line: `line ${addr} ${time}` }, {
    now,
    ignore,
  });
}

function bans(actions: BanAction[]): Array<{ target: string; since: number; until: number }> {
  return actions.flatMap((a) =>
    a.kind === "ban" ? [{ target: a.ban.target, since: a.ban.since, until: a.ban.until }] : []
  );
}

Deno.test("createBanState() rejects a cap below 1", () => {
  assertThrows(() => createBanState({ maxTracked: 0 }), /maxTracked must be an integer >= 1/);
});

Deno.test("recordFailure() bans at the maxRetry-th failure within findTime, edge inclusive", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy();
  assertEquals(fail(s, p, "1.2.3.4", 1000), []);
  assertEquals(fail(s, p, "1.2.3.4", 1300), []);
  // exactly findTime after the first failure: still inside the window
  const actions = fail(s, p, "1.2.3.4", 1600);
  assertEquals(actions.length, 1);
  const a = actions[0]!;
  assertOk(a.kind === "ban");
  assertEquals(a.ban, {
    jail: "sshd",
    target: "1.2.3.4/32",
    since: 1600,
    until: 5200,
    failures: 3,
    banCount: 1,
    origin: "auto",
    line: "line 1.2.3.4 1600",
  });
  assertEquals(a.firstFailure, 1000);
});

Deno.test("recordFailure() drops failures one second past the window", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy();
  fail(s, p, "1.2.3.4", 1000);
  fail(s, p, "1.2.3.4", 1300);
  assertEquals(fail(s, p, "1.2.3.4", 1601), []); // 1000 is now out
  assertEquals(windowOf(s, "sshd", "1.2.3.4"), [1300, 1601]);
  assertEquals(bans(fail(s, p, "1.2.3.4", 1700)), [{
    target: "1.2.3.4/32",
    since: 1700,
    until: 5300,
  }]);
});

Deno.test("recordFailure() ignores failures older than now - findTime and starts bans at now", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy();
  // catching up an old log: lines an hour old are not counted at all
  assertEquals(fail(s, p, "1.2.3.4", 1000, 5000), []);
  assertEquals(fail(s, p, "1.2.3.4", 1001, 5000), []);
  assertEquals(fail(s, p, "1.2.3.4", 1002, 5000), []);
  assertEquals(windowOf(s, "sshd", "1.2.3.4"), []);
  assertEquals(banStats(s).stale, 3);
  // exactly now - findTime still counts; the ban starts at now, not at the line's time
  fail(s, p, "1.2.3.4", 4400, 5000);
  fail(s, p, "1.2.3.4", 4500, 5000);
  assertEquals(bans(fail(s, p, "1.2.3.4", 4600, 5000)), [{
    target: "1.2.3.4/32",
    since: 5000,
    until: 8600,
  }]);
});

Deno.test("recordFailure() clamps future times to now", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy();
  fail(s, p, "1.2.3.4", 9999, 1000);
  assertEquals(windowOf(s, "sshd", "1.2.3.4"), [1000]);
  assertEquals(banStats(s).future, 1);
});

Deno.test("recordFailure() counts out-of-order times against the newest one", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy();
  fail(s, p, "1.2.3.4", 2000, 2000);
  fail(s, p, "1.2.3.4", 1500, 2000);
  assertEquals(windowOf(s, "sshd", "1.2.3.4"), [1500, 2000]);
  fail(s, p, "1.2.3.4", 2200, 2200); // 1500 < 2200 - 600: dropped
  assertEquals(windowOf(s, "sshd", "1.2.3.4"), [2000, 2200]);
});

Deno.test("recordFailure() clears the window on ban and ignores an address already banned", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy();
  fail(s, p, "1.2.3.4", 100);
  fail(s, p, "1.2.3.4", 101);
  assertEquals(bans(fail(s, p, "1.2.3.4", 102)).length, 1);
  assertEquals(windowOf(s, "sshd", "1.2.3.4"), []);
  for (let t = 103; t < 120; t++) assertEquals(fail(s, p, "1.2.3.4", t), []);
  assertEquals(windowOf(s, "sshd", "1.2.3.4"), []);
  assertEquals(banStats(s).whileBanned, 17);
  assertEquals(activeBans(s).length, 1);
  // other jails count on their own
  const pop = policy({ jail: "dovecot", maxRetry: 1 });
  assertEquals(bans(fail(s, pop, "1.2.3.4", 120)).map((b) => b.target), ["1.2.3.4/32"]);
  assertEquals(activeBans(s, "dovecot").length, 1);
});

Deno.test("expireBans() unbans at until exactly, and nextExpiry() tracks the earliest", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({ maxRetry: 1 });
  assertEquals(nextExpiry(s), undefined);
  fail(s, p, "1.2.3.4", 1000); // until 4600
  fail(s, p, "5.6.7.8", 2000); // until 5600
  assertEquals(nextExpiry(s), 4600);
  assertEquals(expireBans(s, 4599), []);
  assertEquals(expireBans(s, 4600), [
    { kind: "unban", jail: "sshd", target: "1.2.3.4/32", reason: "expired" },
  ]);
  assertEquals(nextExpiry(s), 5600);
  assertEquals(expireBans(s, 4601), []);
  // after expiry the address is counted again
  assertEquals(bans(fail(s, p, "1.2.3.4", 4700)).length, 1);
  assertEquals(expireBans(s, 9000).length, 2);
  assertEquals(nextExpiry(s), undefined);
  assertEquals(banStats(s).unbans, 3);
});

Deno.test("expireBans() never expires a forever ban", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({ maxRetry: 1, banTime: Infinity });
  const [a] = fail(s, p, "1.2.3.4", 1000);
  assertOk(a?.kind === "ban");
  assertEquals(a.ban.until, Infinity);
  assertEquals(nextExpiry(s), undefined);
  assertEquals(expireBans(s, 1e12), []);
  assertEquals(activeBans(s).length, 1);
});

Deno.test("recordFailure() with increment factor doubles each ban up to maxtime", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({
    maxRetry: 1,
    banTime: 600,
    increment: { enabled: true, factor: 1, multipliers: [], maxtime: 3000, overalljails: false },
  });
  const lengths: number[] = [];
  let now = 0;
  for (let i = 0; i < 5; i++) {
    const [a] = fail(s, p, "1.2.3.4", now);
    assertOk(a?.kind === "ban");
    lengths.push(a.ban.until - a.ban.since);
    assertEquals(a.ban.banCount, i + 1);
    now = a.ban.until;
    assertEquals(expireBans(s, now).length, 1);
  }
  assertEquals(lengths, [600, 1200, 2400, 3000, 3000]);
  // factor scales every ban
  const s2 = createBanState({ maxTracked: 100 });
  const p2 = policy({
    maxRetry: 1,
    banTime: 100,
    increment: { enabled: true, factor: 3, multipliers: [], maxtime: 0, overalljails: false },
  });
  const [b] = fail(s2, p2, "1.2.3.4", 0);
  assertOk(b?.kind === "ban");
  assertEquals(b.ban.until, 300);
});

Deno.test("recordFailure() with increment multipliers uses the last one after the list ends", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({
    maxRetry: 1,
    banTime: 100,
    increment: {
      enabled: true,
      factor: 1,
      multipliers: [1, 5, 30],
      maxtime: 0,
      overalljails: false,
    },
  });
  const lengths: number[] = [];
  for (let i = 0, now = 0; i < 4; i++) {
    const [a] = fail(s, p, "1.2.3.4", now);
    assertOk(a?.kind === "ban");
    lengths.push(a.ban.until - a.ban.since);
    now = a.ban.until;
    expireBans(s, now);
  }
  assertEquals(lengths, [100, 500, 3000, 3000]);
});

Deno.test("recordFailure() increment counts other jails only with overalljails", () => {
  const inc = { enabled: true, factor: 1, multipliers: [], maxtime: 0 };
  for (const overalljails of [false, true]) {
    const s = createBanState({ maxTracked: 100 });
    const a = policy({ jail: "a", maxRetry: 1, banTime: 100, increment: { ...inc, overalljails } });
    const b = policy({ jail: "b", maxRetry: 1, banTime: 100, increment: { ...inc, overalljails } });
    fail(s, a, "1.2.3.4", 0);
    const [second] = fail(s, b, "1.2.3.4", 10);
    assertOk(second?.kind === "ban");
    assertEquals(second.ban.banCount, overalljails ? 2 : 1);
    assertEquals(second.ban.until - second.ban.since, overalljails ? 200 : 100);
  }
});

Deno.test("recordFailure() refuses an ignored address once with its reason and never counts it", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({ maxRetry: 1 });
  const ignore: IgnoreCheck = (a) => isLoopback(a) ? "loopback" : undefined;
  assertEquals(fail(s, p, "127.0.0.1", 10, 10, ignore), [
    { kind: "refused", jail: "sshd", addr: "127.0.0.1", reason: "loopback" },
  ]);
  assertEquals(fail(s, p, "127.0.0.1", 11, 11, ignore), []);
  assertEquals(fail(s, p, "127.0.0.1", 12, 12, ignore), []);
  assertEquals(windowOf(s, "sshd", "127.0.0.1"), []);
  assertEquals(activeBans(s), []);
  assertEquals(banStats(s).ignored, 3);
  // once per (jail, addr): another jail reports it again
  assertEquals(fail(s, policy({ jail: "dovecot" }), "127.0.0.1", 13, 13, ignore).length, 1);
  assertEquals(bans(fail(s, p, "10.0.0.1", 14, 14, ignore)).length, 1);
});

Deno.test("recordFailure() bans an IPv6 prefix when enough distinct addresses fail", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({ maxRetry: 5, ipv6PrefixMaxRetry: 3 });
  // the same address again and again does not make it distinct
  assertEquals(fail(s, p, "2001:db8:1:2::1", 100), []);
  assertEquals(fail(s, p, "2001:db8:1:2::1", 101), []);
  assertEquals(fail(s, p, "2001:db8:1:2::2", 102), []);
  assertEquals(fail(s, p, "2001:db8:1:3::3", 103), []); // another /64
  const actions = fail(s, p, "2001:db8:1:2:ffff::3", 104);
  assertEquals(bans(actions), [{ target: "2001:db8:1:2::/64", since: 104, until: 3704 }]);
  // each member counts from its newest failure: ::1's 101 starts the escalation
  assertEquals(actions[0]?.kind === "ban" ? actions[0].firstFailure : undefined, 101);
  const ban = activeBans(s)[0]!;
  assertEquals(ban.failures, 3);
  // any address of the banned prefix is now ignored
  assertEquals(fail(s, p, "2001:db8:1:2::99", 105), []);
  assertEquals(banStats(s).whileBanned, 1);
  assertEquals(windowOf(s, "sshd", "2001:db8:1:2::99"), []);
});

Deno.test("recordFailure() prefix members older than findTime do not count", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({ maxRetry: 5, ipv6PrefixMaxRetry: 2, ipv6Prefix: 48 });
  fail(s, p, "2001:db8:1:2::1", 100);
  assertEquals(fail(s, p, "2001:db8:1:3::1", 701), []);
  assertEquals(bans(fail(s, p, "2001:db8:1:4::1", 702)).map((b) => b.target), ["2001:db8:1::/48"]);
});

Deno.test("recordFailure() refuses a prefix ban that ignorePrefix vetoes", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({ maxRetry: 5, ipv6PrefixMaxRetry: 2 });
  const opts = {
    ignore: NOTHING_IGNORED,
    ignorePrefix: (c: Cidr) => c.text === "2001:db8::/64" ? "own address 2001:db8::1" : undefined,
  };
  recordFailure(s, p, { addr: ip("2001:db8::5"), time: 1 }, { now: 1, ...opts });
  const actions = recordFailure(s, p, { addr: ip("2001:db8::6"), time: 2 }, { now: 2, ...opts });
  assertEquals(actions, [
    { kind: "refused", jail: "sshd", addr: "2001:db8::/64", reason: "own address 2001:db8::1" },
  ]);
  assertEquals(activeBans(s), []);
  assertEquals(windowOf(s, "sshd", "2001:db8::6"), [2]); // the address itself still counts
});

Deno.test("recordFailure() IPv4 /24 aggregation is off by default and works when set", () => {
  const off = createBanState({ maxTracked: 100 });
  const p = policy({ maxRetry: 5 });
  for (let i = 1; i <= 50; i++) assertEquals(fail(off, p, `1.2.3.${i}`, 100 + i), []);
  assertEquals(banStats(off).trackedPrefixes, 0);
  const on = createBanState({ maxTracked: 100 });
  const p24 = policy({ maxRetry: 5, ipv4Prefix: 24, ipv4PrefixMaxRetry: 4 });
  for (let i = 1; i <= 3; i++) assertEquals(fail(on, p24, `1.2.3.${i}`, 100 + i), []);
  assertEquals(bans(fail(on, p24, "1.2.3.200", 110)), [{
    target: "1.2.3.0/24",
    since: 110,
    until: 3710,
  }]);
});

Deno.test("recordFailure() evicts the least recently failed window at the cap and counts it", () => {
  const s = createBanState({ maxTracked: 3 });
  const p = policy({ maxRetry: 10 });
  fail(s, p, "10.0.0.1", 1);
  fail(s, p, "10.0.0.2", 2);
  fail(s, p, "10.0.0.3", 3);
  fail(s, p, "10.0.0.1", 4); // 10.0.0.1 is now the most recent
  takeDirty(s);
  fail(s, p, "10.0.0.4", 5); // evicts 10.0.0.2
  assertEquals(banStats(s).tracked, 3);
  assertEquals(banStats(s).evictions, 1);
  assertEquals(windowOf(s, "sshd", "10.0.0.2"), []);
  assertEquals(windowOf(s, "sshd", "10.0.0.1"), [1, 4]);
  const dirty = takeDirty(s);
  assertEquals(
    dirty.windows.sort((a, b) => a.addr.localeCompare(b.addr)),
    [{ jail: "sshd", addr: "10.0.0.2", times: [] }, { jail: "sshd", addr: "10.0.0.4", times: [5] }],
  );
});

Deno.test("recordFailure() never evicts active bans", () => {
  const s = createBanState({ maxTracked: 2 });
  const p = policy({ maxRetry: 1 });
  for (let i = 1; i <= 10; i++) fail(s, p, `10.0.0.${i}`, i);
  assertEquals(activeBans(s).length, 10);
  assertEquals(banStats(s).historyEntries, 2); // history is bounded
});

Deno.test("takeDirty() reports exactly the changed windows, bans and history", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy();
  fail(s, p, "1.2.3.4", 10);
  fail(s, p, "5.6.7.8", 11);
  assertEquals(takeDirty(s), {
    windows: [
      { jail: "sshd", addr: "1.2.3.4", times: [10] },
      { jail: "sshd", addr: "5.6.7.8", times: [11] },
    ],
    prefixes: [],
    bans: [],
    history: [],
  });
  assertEquals(takeDirty(s), { windows: [], prefixes: [], bans: [], history: [] });
  fail(s, p, "1.2.3.4", 12);
  fail(s, p, "1.2.3.4", 13); // ban
  const ban = activeBans(s)[0]!;
  assertEquals(takeDirty(s), {
    windows: [{ jail: "sshd", addr: "1.2.3.4", times: [] }],
    prefixes: [],
    bans: [{ jail: "sshd", target: "1.2.3.4/32", ban }],
    history: [{ jail: "sshd", target: "1.2.3.4/32", count: 1, last: 13 }],
  });
  expireBans(s, ban.until);
  assertEquals(takeDirty(s).bans, [{ jail: "sshd", target: "1.2.3.4/32", ban: undefined }]);
});

Deno.test("takeDirty() reports prefix windows and their deletion", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({ maxRetry: 9, ipv6PrefixMaxRetry: 2 });
  fail(s, p, "2001:db8::1", 10);
  assertEquals(takeDirty(s).prefixes, [
    { jail: "sshd", prefix: "2001:db8::/64", members: [{ addr: "2001:db8::1", time: 10 }] },
  ]);
  fail(s, p, "2001:db8::2", 11);
  assertEquals(takeDirty(s).prefixes, [{ jail: "sshd", prefix: "2001:db8::/64", members: [] }]);
});

Deno.test("restoreWindow(), restorePrefix() and restoreHistory() continue the counts", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({
    increment: { enabled: true, factor: 1, multipliers: [], maxtime: 0, overalljails: false },
    ipv6PrefixMaxRetry: 3,
  });
  restoreWindow(s, { jail: "sshd", addr: "1.2.3.4", times: [1000, 990] });
  restoreHistory(s, { jail: "sshd", target: "1.2.3.4/32", count: 2, last: 500 });
  restorePrefix(s, {
    jail: "sshd",
    prefix: "2001:db8::/64",
    members: [{ addr: "2001:db8::1", time: 1000 }, { addr: "2001:db8::2", time: 1001 }],
  });
  assertEquals(takeDirty(s), { windows: [], prefixes: [], bans: [], history: [] });
  const [a] = fail(s, p, "1.2.3.4", 1100);
  assertOk(a?.kind === "ban");
  assertEquals(a.ban.failures, 3);
  assertEquals(a.ban.banCount, 3);
  assertEquals(a.ban.until - a.ban.since, 3600 * 4);
  assertEquals(bans(fail(s, p, "2001:db8::3", 1101)).map((b) => b.target), ["2001:db8::/64"]);
});

Deno.test("restoreBan() makes an address count as banned and expires on schedule", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({ maxRetry: 1 });
  restoreBan(s, {
    jail: "sshd",
    target: "1.2.3.4/32",
    since: 0,
    until: 500,
    failures: 3,
    banCount: 1,
    origin: "restored",
  });
  assertEquals(takeDirty(s).bans, []);
  assertEquals(nextExpiry(s), 500);
  assertEquals(fail(s, p, "1.2.3.4", 100), []);
  assertEquals(expireBans(s, 500).length, 1);
});

Deno.test("manualBan() and manualUnban() add, update and lift bans", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy();
  fail(s, p, "1.2.3.4", 10);
  const [a] = manualBan(s, "sshd", { target: cidr("1.2.3.4"), banTime: 100, now: 20 });
  assertEquals(a, {
    kind: "ban",
    ban: {
      jail: "sshd",
      target: "1.2.3.4/32",
      since: 20,
      until: 120,
      failures: 0,
      banCount: 1,
      origin: "manual",
    },
  });
  const [b] = manualBan(s, "sshd", { target: cidr("1.2.3.4"), banTime: Infinity, now: 30 });
  assertOk(b?.kind === "ban" && b.update === true && b.ban.until === Infinity);
  assertEquals(nextExpiry(s), undefined);
  assertEquals(manualUnban(s, "sshd", cidr("1.2.3.4")), [
    { kind: "unban", jail: "sshd", target: "1.2.3.4/32", reason: "manual" },
  ]);
  assertEquals(windowOf(s, "sshd", "1.2.3.4"), []); // the failures are forgotten
  assertEquals(manualUnban(s, "sshd", cidr("1.2.3.4")), []);
  manualBan(s, "sshd", { target: cidr("10.0.0.0/8"), banTime: 50, now: 40 });
  assertEquals(activeBans(s).map((x) => x.target), ["10.0.0.0/8"]);
});

Deno.test("unbanAll() and flushJail() lift bans of one jail or all", () => {
  const s = createBanState({ maxTracked: 100 });
  const a = policy({ jail: "a", maxRetry: 1 });
  const b = policy({ jail: "b", maxRetry: 2 });
  fail(s, a, "1.1.1.1", 1);
  fail(s, a, "2.2.2.2", 1);
  fail(s, b, "1.1.1.1", 1);
  fail(s, b, "1.1.1.1", 2);
  fail(s, b, "3.3.3.3", 2);
  assertEquals(unbanAll(s, "a").map((x) => x.kind === "unban" && x.target), [
    "1.1.1.1/32",
    "2.2.2.2/32",
  ]);
  assertEquals(activeBans(s).map((x) => x.jail), ["b"]);
  assertEquals(flushJail(s, "b").length, 1);
  assertEquals(windowOf(s, "b", "3.3.3.3"), []);
  assertEquals(banStats(s).tracked, 0);
  assertEquals(unbanAll(s), []);
});

Deno.test("pruneWindows() drops windows whose newest failure left findTime", () => {
  const s = createBanState({ maxTracked: 100 });
  const p = policy({ ipv6PrefixMaxRetry: 5 });
  fail(s, p, "1.2.3.4", 100);
  fail(s, p, "5.6.7.8", 500);
  fail(s, p, "2001:db8::1", 100);
  takeDirty(s);
  assertEquals(pruneWindows(s, { policies: [p], now: 1000 }), 3);
  assertEquals(windowOf(s, "sshd", "5.6.7.8"), [500]);
  const dirty = takeDirty(s);
  assertEquals(dirty.windows.map((w) => w.addr).sort(), ["1.2.3.4", "2001:db8::1"]);
  assertEquals(dirty.prefixes, [{ jail: "sshd", prefix: "2001:db8::/64", members: [] }]);
});

Deno.test("recordFailure() keeps 1,000,000 distinct addresses within maxTracked 100,000", () => {
  const s = createBanState({ maxTracked: 100_000 });
  const p = policy({ maxRetry: 3 });
  let actions = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const text = `${10 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.1`;
    actions +=
      recordFailure(s, p, { addr: ip(text), time: 1000 }, { now: 1000, ignore: NOTHING_IGNORED })
        .length;
    if ((i & 0xffff) === 0) takeDirty(s);
  }
  const stats = banStats(s);
  assertEquals(actions, 0);
  assertEquals(stats.tracked, 100_000);
  assertEquals(stats.evictions, 900_000);
  assertEquals(stats.counted, 1_000_000);
  // the newest survive, the oldest went
  assertEquals(windowOf(s, "sshd", "25.66.63.1"), [1000]); // i = 999,999
  assertEquals(windowOf(s, "sshd", "10.0.0.1"), []);
});

Deno.test("windowStats() counts addresses and failures per jail", () => {
  const s = createBanState({ maxTracked: 100 });
  const a = policy({ jail: "a", maxRetry: 5 });
  const b = policy({ jail: "b", maxRetry: 5 });
  fail(s, a, "1.1.1.1", 1);
  fail(s, a, "1.1.1.1", 2);
  fail(s, a, "2001:db8::1", 3);
  fail(s, b, "1.1.1.1", 4);
  assertEquals(
    windowStats(s),
    new Map([["a", { addrs: 2, failures: 3 }], ["b", {
      addrs: 1,
      failures: 1,
    }]]),
  );
  fail(s, a, "1.1.1.1", 700); // 1 and 2 left the window
  assertEquals(windowStats(s).get("a"), { addrs: 2, failures: 2 });
  assertEquals(banStats(s).tracked, 3);
});

Deno.test("forgetWindows() drops one jail's windows and takeDirty() reports them deleted", () => {
  const s = createBanState({ maxTracked: 100 });
  const a = policy({ jail: "a" });
  const b = policy({ jail: "b" });
  fail(s, a, "1.1.1.1", 1);
  fail(s, a, "2001:db8::1", 2);
  fail(s, b, "1.1.1.1", 3);
  takeDirty(s);
  assertEquals(forgetWindows(s, "a"), 2);
  assertEquals(forgetWindows(s, "nope"), 0);
  assertEquals(takeDirty(s).windows, [
    { jail: "a", addr: "1.1.1.1", times: [] },
    { jail: "a", addr: "2001:db8::1", times: [] },
  ]);
  assertEquals(windowStats(s), new Map([["b", { addrs: 1, failures: 1 }]]));
  assertEquals(banStats(s).tracked, 1);
  // the jail counts again from scratch
  fail(s, a, "1.1.1.1", 4);
  assertEquals(windowOf(s, "a", "1.1.1.1"), [4]);
});

Deno.test("recordFailure() at the cap evicts from the jail whose oldest window failed longest ago", () => {
  const s = createBanState({ maxTracked: 3 });
  const a = policy({ jail: "a", maxRetry: 10 });
  const b = policy({ jail: "b", maxRetry: 10 });
  fail(s, b, "10.0.0.9", 5);
  fail(s, a, "10.0.0.1", 1, 6); // recorded later, but its failure is the oldest
  fail(s, a, "10.0.0.2", 7);
  fail(s, b, "10.0.0.8", 8); // over the cap: a's 10.0.0.1 goes
  assertEquals(windowOf(s, "a", "10.0.0.1"), []);
  assertEquals(windowOf(s, "b", "10.0.0.9"), [5]);
  fail(s, a, "10.0.0.3", 9); // now b's 10.0.0.9 (5) is older than a's 10.0.0.2 (7)
  assertEquals(windowOf(s, "b", "10.0.0.9"), []);
  assertEquals(banStats(s).evictions, 2);
  assertEquals(banStats(s).tracked, 3);
});

Deno.test("BanState.windows (deprecated view) lists and deletes windows by jail\\0addr key", () => {
  const s = createBanState({ maxTracked: 100 });
  fail(s, policy(), "1.2.3.4", 10);
  fail(s, policy(), "2001:db8::1", 11);
  assertEquals(s.windows.size, 2);
  assertEquals([...s.windows.values()].map((w) => [w.jail, w.addr, w.times]), [
    ["sshd", "1.2.3.4", [10]],
    ["sshd", "2001:db8::1", [11]],
  ]);
  takeDirty(s);
  for (const [key, w] of s.windows) if (w.addr === "1.2.3.4") assertOk(s.windows.delete(key));
  assertEquals(s.windows.delete("sshd\u00001.2.3.4"), false);
  assertEquals(takeDirty(s).windows, [{ jail: "sshd", addr: "1.2.3.4", times: [] }]);
  assertEquals(banStats(s).tracked, 1);
});
