import { assertEquals, assertOk } from "../_assert.ts";
import { buildAlert, parseGoDuration, vetDecision } from "../../lib/crowdsec/mod.ts";
import { type Cidr, parseIp } from "../../lib/core/mod.ts";
import {
  type BanAction,
  type BanPolicy,
  createBanState,
  recordFailure,
} from "../../lib/decide/mod.ts";

const OPTIONS = {
  maxPrefixV4: 16,
  maxPrefixV6: 32,
  protect: (t: Cidr) => t.text.startsWith("192.0.2.") ? "ignoreip 192.0.2.0/24" : undefined,
  now: 1000,
};

Deno.test("parseGoDuration() reads LAPI's remaining times", () => {
  assertEquals(parseGoDuration("3h59m58.5s"), 3 * 3600 + 59 * 60 + 58.5);
  assertEquals(parseGoDuration("59m58.477493094s"), 59 * 60 + 58.477493094);
  assertEquals(parseGoDuration("3599s"), 3599);
  assertEquals(parseGoDuration("-1.5s"), -1.5);
  assertEquals(parseGoDuration("250ms"), 0.25);
  assertEquals(parseGoDuration("0"), 0);
  assertEquals(parseGoDuration("4 hours"), undefined);
  assertEquals(parseGoDuration(""), undefined);
});

Deno.test("vetDecision() accepts Ip and Range bans with their own end", () => {
  const ip = vetDecision(
    { id: 7, type: "ban", scope: "Ip", value: "198.51.100.9", duration: "1h", scenario: "s" },
    OPTIONS,
  );
  assertEquals(ip.kind === "accept" && [ip.decision.target.text, ip.decision.until], [
    "198.51.100.9/32",
    4600,
  ]);
  const range = vetDecision(
    { id: 8, type: "ban", scope: "Range", value: "2001:db8:1::/48", duration: "10s" },
    OPTIONS,
  );
  assertEquals(range.kind, "accept");
});

Deno.test("vetDecision() refuses what must never be applied and ignores other scopes", () => {
  const reason = (d: Parameters<typeof vetDecision>[0]) => {
    const v = vetDecision(d, OPTIONS);
    return v.kind === "refuse" ? v.reason : v.kind;
  };
  const base = { id: 1, type: "ban", duration: "1h" };
  assertEquals(
    reason({ ...base, scope: "Range", value: "0.0.0.0/0" }),
    "/0 is wider than max_prefix_v4 16",
  );
  assertEquals(
    reason({ ...base, scope: "Range", value: "2001:db8::/16" }),
    "/16 is wider than max_prefix_v6 32",
  );
  assertEquals(
    reason({ ...base, scope: "Ip", value: "192.0.2.5" }),
    "covers ignoreip 192.0.2.0/24",
  );
  assertEquals(
    reason({ ...base, type: "captcha", scope: "Ip", value: "198.51.100.1" }),
    'type "captcha" is not ban',
  );
  assertEquals(reason({ ...base, scope: "Ip", value: "not-an-ip" }), "not an address or range");
  assertEquals(
    reason({ ...base, scope: "Ip", value: "198.51.100.0/24" }),
    "scope Ip with a range value",
  );
  assertEquals(reason({ ...base, scope: "Country", value: "FR" }), "ignore");
  assertEquals(reason({ ...base, scope: "Ip", value: "198.51.100.1", duration: "-2s" }), "ignore");
});

Deno.test("buildAlert() makes one alert with its decision: scope, remaining time, scenario", () => {
  const alert = buildAlert(
    { jail: "mail", target: "203.0.113.5/32", since: 1000, until: 4600, failures: 5 },
    { scenarioPrefix: "banwatch", now: 1600 },
  );
  assertOk(alert);
  assertEquals(alert.scenario, "banwatch/mail");
  assertEquals(alert.events_count, 5);
  assertEquals(alert.source, { scope: "Ip", value: "203.0.113.5", ip: "203.0.113.5" });
  assertEquals(alert.decisions[0]?.duration, "3000s");
  assertEquals(alert.decisions[0]?.scope, "Ip");
  const range = buildAlert(
    { jail: "mail", target: "2001:db8:1:2::/64", since: 0, until: Infinity, failures: 3 },
    { scenarioPrefix: "mx", now: 10 },
  );
  assertEquals(range?.decisions[0]?.scope, "Range");
  assertEquals(range?.decisions[0]?.value, "2001:db8:1:2::/64");
  assertEquals(range?.decisions[0]?.duration, `${10 * 365 * 86400}s`);
  assertEquals(
    buildAlert({ jail: "m", target: "203.0.113.5/32", since: 0, until: 5, failures: 1 }, {
      scenarioPrefix: "b",
      now: 10,
    }),
    undefined,
  );
});

Deno.test("an alert built for an automatic ban starts at the ban's first failure", () => {
  const s = createBanState({ maxTracked: 100 });
  const policy: BanPolicy = {
    jail: "sshd",
    maxRetry: 3,
    findTime: 600,
    banTime: 3600,
    increment: { enabled: false, factor: 1, multipliers: [], maxtime: 0, overalljails: false },
    ipv6Prefix: 64,
    ipv6PrefixMaxRetry: undefined,
    ipv4Prefix: undefined,
    ipv4PrefixMaxRetry: undefined,
  };
  const addr = parseIp("192.0.2.7");
  assertOk(addr);
  let actions: BanAction[] = [];
  for (const time of [1000, 1200, 1500]) {
    actions = recordFailure(s, policy, { addr, time }, { now: 1500, ignore: () => undefined });
  }
  const a = actions[0];
  assertOk(a?.kind === "ban" && a.firstFailure !== undefined);
  const alert = buildAlert({ ...a.ban, firstFailure: a.firstFailure }, {
    scenarioPrefix: "banwatch",
    now: 1500,
  });
  assertEquals(alert?.start_at, new Date(1000 * 1000).toISOString());
  assertEquals(alert?.stop_at, new Date(1500 * 1000).toISOString());
});
