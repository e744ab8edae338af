/**
 * The daemon in-process, no child process: a parsed config, a temp state dir (real SQLite), a
 * temp log, a fake clock, fake firewall backends recording what they are asked and a fake DNS
 * resolver. Failure lines in -> ban in the backend's table and in the store; unban and expiry
 * lift it from both.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { createLogger, type IpAddress, parseIp, type Runner } from "../../lib/core/mod.ts";
import { Daemon } from "../../lib/daemon/mod.ts";
import type { Backend, BackendKind, FirewallChange } from "../../lib/firewall/mod.ts";
import { openStore, type StoredBan } from "../../lib/state/mod.ts";

/** 2023-11-14 22:13:20 UTC: the fake clock's start. */
const T0 = 1_700_000_000;

/** A backend that keeps its tables in memory and records every call. */
interface FakeBackend extends Backend {
  /** Every apply() call's changes, in order. */
  readonly applied: FirewallChange[][];
  /** Table name -> entries. */
  readonly tables: Map<string, Set<string>>;
}

/** @param failures how many apply() calls throw first (as a failing ipfw would) */
function fakeBackend(kind: BackendKind, failures = 0): FakeBackend {
  const tables = new Map<string, Set<string>>();
  const applied: FirewallChange[][] = [];
  const table = (name: string) => {
    let set = tables.get(name);
    if (!set) tables.set(name, set = new Set());
    return set;
  };
  return {
    kind,
    applied,
    tables,
    prepare(names) {
      for (const name of names) table(name);
      return Promise.resolve();
    },
    apply(changes) {
      if (failures-- > 0) return Promise.reject(new Error("table is busy"));
      applied.push(changes.map((c) => ({ ...c })));
      for (const c of changes) {
        if (c.op === "add") table(c.table).add(c.target);
        else table(c.table).delete(c.target);
      }
      return Promise.resolve();
    },
    list(name) {
      return Promise.resolve([...table(name)]);
    },
  };
}

/** A runner that must not be used: every firewall call goes through the fake backends. */
const NO_RUNNER: Runner = {
  run: (argv) => Promise.reject(new Error(`unexpected program run: ${argv.join(" ")}`)),
};

function syslogLine(seconds: number, message: string): string {
  const d = new Date(seconds * 1000);
  const month = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
  const day = String(d.getUTCDate()).padStart(2, " ");
  return `${month} ${day} ${d.toISOString().slice(11, 19)} mx ${message}\n`;
}

function saslFailure(addr: string, seconds: number): string {
  return syslogLine(
    seconds,
    `postfix/smtpd[4242]: warning: unknown[${addr}]: SASL LOGIN authentication failed: authentication failure`,
  );
}

function configText(dir: string, log: string): string {
  return `[global]
state_dir = "${dir}/state"
socket = "${dir}/banwatch.sock"
timezone = "UTC"

[jail.mail]
enabled = true
logpath = "${log}"
filter = "postfix-sasl"
maxretry = 3
findtime = "1h"
bantime = "1h"
backend = "ipfw"
table = "bw-mail"

[jail.names]
enabled = true
logpath = "${log}"
failregex = '^\\S+ testd\\[\\d+\\]: login failure from <HOST>$'
usedns = true
maxretry = 2
findtime = "1h"
bantime = "10m"
backend = "pf"
table = "bw-names"
`;
}

/** The ban rows of the state database, read through a second (read-only) connection. */
function storedBans(dir: string): StoredBan[] {
  const store = openStore(`${dir}/state/state.db`, {
    logger: createLogger({ write: () => {} }),
    readonly: true,
  });
  try {
    return store.loadBans().sort((a, b) =>
      `${a.jail} ${a.target}`.localeCompare(`${b.jail} ${b.target}`)
    );
  } finally {
    store.close();
  }
}

Deno.test("Daemon in-process: failures -> ban in the backend and the store; unban and expiry lift it", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "bw-daemon-inproc-" });
  const log = `${dir}/maillog`;
  await Deno.writeTextFile(log, "");
  let now = T0;
  const events: string[] = [];
  const backends = new Map<BackendKind, FakeBackend>();
  const lookups: string[] = [];
  const resolve = (host: string): Promise<IpAddress[]> => {
    lookups.push(host);
    const ip = host === "evil.example.net" ? parseIp("198.51.100.9") : undefined;
    return Promise.resolve(ip ? [ip] : []);
  };
  const config = parseConfig(configText(dir, log), { file: `${dir}/jails.toml` });
  const daemon = await Daemon.start({
    config,
    logger: createLogger({ write: (line) => events.push(line) }),
    now: () => now,
    runner: NO_RUNNER,
    resolve,
    createBackend: (kind) => {
      const backend = fakeBackend(kind);
      backends.set(kind, backend);
      return backend;
    },
  });
  const ipfw = () => backends.get("ipfw")!;
  const pf = () => backends.get("pf")!;
  try {
    await t.step("start: one backend per kind, tables reconciled, nothing applied", () => {
      assertEquals([...backends.keys()].sort(), ["ipfw", "pf"]);
      assertEquals(ipfw().applied, []);
      assertEquals(pf().applied, []);
      assertOk(events.some((e) => /event=reconciled jail=mail table=bw-mail/.test(e)));
    });

    await t.step("three failures -> ban reaches the ipfw table and the store", async () => {
      await Deno.writeTextFile(
        log,
        saslFailure("203.0.113.5", T0 - 20) + saslFailure("203.0.113.5", T0 - 10) +
          saslFailure("192.0.2.44", T0 - 5) + saslFailure("203.0.113.5", T0 - 1),
        { append: true },
      );
      assertEquals(await daemon.tick(), { lines: 4, behind: false });
      assertEquals(ipfw().applied, [[{ op: "add", table: "bw-mail", target: "203.0.113.5/32" }]]);
      assertEquals([...ipfw().tables.get("bw-mail")!], ["203.0.113.5/32"]);
      assertEquals(pf().applied, []);
      const ban = events.find((e) => /event=ban /.test(e));
      assertOk(ban !== undefined, events.join("\n"));
      assertMatch(ban, /jail=mail addr=203\.0\.113\.5 failures=3 bantime=1h/);
      const rows = storedBans(dir);
      assertEquals(rows.map((r) => [r.jail, r.target, r.applied, r.until]), [
        ["mail", "203.0.113.5/32", true, T0 + 3600],
      ]);
      assertEquals(daemon.banned().map((b) => b.target), ["203.0.113.5/32"]);
      assertEquals(daemon.status("mail").jails[0]!.failing, 1);
    });

    await t.step(
      "usedns: a host name is resolved once (cached) and its address banned",
      async () => {
        await Deno.writeTextFile(
          log,
          syslogLine(T0, "testd[7]: login failure from evil.example.net") +
            syslogLine(T0, "testd[7]: login failure from evil.example.net") +
            syslogLine(T0, "testd[7]: login failure from nowhere.example.net"),
          { append: true },
        );
        assertEquals((await daemon.tick()).lines, 3);
        assertEquals(lookups, ["evil.example.net", "nowhere.example.net"]);
        assertEquals(pf().applied, [[{ op: "add", table: "bw-names", target: "198.51.100.9/32" }]]);
        assertEquals(ipfw().applied.length, 1);
        assertOk(events.some((e) => /event=dns_resolved host=evil\.example\.net/.test(e)));
        assertEquals(storedBans(dir).map((r) => [r.jail, r.target, r.applied]), [
          ["mail", "203.0.113.5/32", true],
          ["names", "198.51.100.9/32", true],
        ]);
      },
    );

    await t.step("unban by hand lifts the ban from the table and the store", async () => {
      assertEquals(await daemon.unban({ addr: "203.0.113.5" }), { removed: 1 });
      assertEquals(ipfw().applied.at(-1), [
        { op: "delete", table: "bw-mail", target: "203.0.113.5/32" },
      ]);
      assertEquals([...ipfw().tables.get("bw-mail")!], []);
      assertEquals(storedBans(dir).map((r) => r.target), ["198.51.100.9/32"]);
      assertOk(events.some((e) => /event=unban jail=mail addr=203\.0\.113\.5/.test(e)));
    });

    await t.step("expiry: once bantime passed, a poll lifts the ban", async () => {
      now = T0 + 599;
      await daemon.tick();
      assertEquals(pf().applied.length, 1);
      now = T0 + 601;
      assertEquals(await daemon.tick(), { lines: 0, behind: false });
      assertEquals(pf().applied.at(-1), [
        { op: "delete", table: "bw-names", target: "198.51.100.9/32" },
      ]);
      assertEquals([...pf().tables.get("bw-names")!], []);
      assertEquals(storedBans(dir), []);
      assertEquals(daemon.banned(), []);
    });
  } finally {
    await daemon.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Daemon in-process: a failing firewall is retried after its backoff, the ban kept meanwhile", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bw-daemon-inproc-" });
  const log = `${dir}/maillog`;
  await Deno.writeTextFile(log, "");
  let now = T0;
  const events: string[] = [];
  let ipfw: FakeBackend | undefined;
  const daemon = await Daemon.start({
    config: parseConfig(configText(dir, log), { file: `${dir}/jails.toml` }),
    logger: createLogger({ write: (line) => events.push(line) }),
    now: () => now,
    runner: NO_RUNNER,
    resolve: () => Promise.resolve([]),
    createBackend: (kind) => kind === "ipfw" ? ipfw = fakeBackend(kind, 1) : fakeBackend(kind),
  });
  try {
    await Deno.writeTextFile(log, saslFailure("203.0.113.5", T0).repeat(3), { append: true });
    await daemon.tick();
    assertOk(events.some((e) => /event=firewall_failed during=apply .*retry_in=1s/.test(e)));
    assertEquals(ipfw!.applied, []);
    assertEquals(daemon.status("mail").jails[0]!.pending, 1);
    assertEquals(storedBans(dir).map((r) => [r.target, r.applied]), [["203.0.113.5/32", false]]);
    await daemon.tick();
    assertEquals(ipfw!.applied, [], "no retry before the backoff ends");
    now = T0 + 1;
    await daemon.tick();
    assertEquals(ipfw!.applied, [[{ op: "add", table: "bw-mail", target: "203.0.113.5/32" }]]);
    assertEquals(daemon.status("mail").jails[0]!.pending, 0);
    assertEquals(storedBans(dir).map((r) => [r.target, r.applied]), [["203.0.113.5/32", true]]);
  } finally {
    await daemon.close();
    await Deno.remove(dir, { recursive: true });
  }
});
