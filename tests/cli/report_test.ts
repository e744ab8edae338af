import { assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { buildReport, formatReport, isEmptyReport } from "../../lib/cli/report.ts";
import { bucket, renderChart, sparkline } from "../../lib/cli/chart.ts";
import type { StoredEvent } from "../../lib/state/mod.ts";

const H = 3600;
const FROM = 100 * H + 1800;
const TO = FROM + 86400;

function ban(time: number, target: string, extra: Partial<StoredEvent> = {}): StoredEvent {
  return {
    time,
    kind: "ban",
    jail: "postfix-auth",
    target,
    failures: 3,
    banCount: 1,
    bantime: 1200,
    origin: "auto",
    ...extra,
  };
}

const INPUT = {
  events: [
    ban(FROM + 10, "203.0.113.5/32"),
    { time: FROM + 1300, kind: "unban", jail: "postfix-auth", target: "203.0.113.5/32" } as const,
    ban(FROM + 5 * H, "203.0.113.5/32", { banCount: 2, bantime: 2400 }),
    ban(FROM + 6 * H, "192.0.2.9/32", { jail: "qpopperauth", banCount: 4, bantime: Infinity }),
    ban(FROM + 7 * H, "2001:db8:bad::/64", { failures: 4 }),
    {
      time: FROM + 8 * H,
      kind: "firewall_error",
      jail: "",
      target: "",
      detail: "apply: x",
    } as const,
  ],
  failuresPerHour: [
    { hour: 100 * H, jail: "postfix-auth", addr: "", count: 3 },
    { hour: 105 * H, jail: "postfix-auth", addr: "", count: 30 },
    { hour: 106 * H, jail: "qpopperauth", addr: "", count: 2 },
  ],
  topFailing: [{ addr: "203.0.113.5", count: 20, jails: ["postfix-auth"] }],
  jails: ["dovecot-pop3imap", "postfix-auth", "qpopperauth"],
};

Deno.test("buildReport() counts bans and unbans per jail, repeat offenders, prefix bans and hours", () => {
  const r = buildReport(INPUT, { from: FROM, to: TO });
  assertEquals(r.jails, [
    { jail: "dovecot-pop3imap", failures: 0, bans: 0, unbans: 0 },
    { jail: "postfix-auth", failures: 33, bans: 3, unbans: 1 },
    { jail: "qpopperauth", failures: 2, bans: 1, unbans: 0 },
  ]);
  assertEquals(r.top, [{ addr: "203.0.113.5", failures: 20, bans: 2, jails: ["postfix-auth"] }]);
  assertEquals(r.repeatOffenders, [
    { jail: "postfix-auth", target: "203.0.113.5", bans: 2, banCount: 2, bantime: 2400 },
    { jail: "qpopperauth", target: "192.0.2.9", bans: 1, banCount: 4, bantime: null },
  ]);
  assertEquals(r.prefixBans, [
    {
      jail: "postfix-auth",
      target: "2001:db8:bad::/64",
      time: FROM + 7 * H,
      addresses: 4,
      bantime: 1200,
    },
  ]);
  assertEquals(r.firewallErrors, {
    count: 1,
    recent: [{ time: FROM + 8 * H, detail: "apply: x" }],
  });
  assertEquals(r.hourly.length, 25);
  assertEquals(r.hourly[0], { hour: 100 * H, failures: 3, bans: 1 });
  assertEquals(r.hourly[5], { hour: 105 * H, failures: 30, bans: 1 });
  assertEquals(isEmptyReport(r), false);
});

Deno.test("buildReport() with a jail keeps only its rows, and firewall errors", () => {
  const r = buildReport(INPUT, { from: FROM, to: TO, jail: "qpopperauth" });
  assertEquals(r.jails, [{ jail: "qpopperauth", failures: 2, bans: 1, unbans: 0 }]);
  assertEquals(r.prefixBans, []);
  assertEquals(r.firewallErrors.count, 1);
});

Deno.test("formatReport() prints one self-contained line per item and an ASCII chart", () => {
  const r = buildReport(INPUT, { from: FROM, to: TO });
  const time = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");
  const text = formatReport(r, { time, ascii: true, title: false });
  assertMatch(text, /^jail postfix-auth: 33 failures, 3 bans, 1 unban$/m);
  assertMatch(text, /^failures \|\. {4}#\./m);
  assertMatch(text, /^top 203\.0\.113\.5: 20 failures, 2 bans \(postfix-auth\)$/m);
  assertMatch(
    text,
    /^repeat 192\.0\.2\.9 in qpopperauth: 1 ban in the period, ban #4 \(bantime up to forever\)$/m,
  );
  assertMatch(
    text,
    /^prefix 2001:db8:bad::\/64 in postfix-auth: banned .*, 4 addresses \(bantime 20m\)$/m,
  );
  assertMatch(text, /^firewall error .*: apply: x$/m);
  assertNotMatch(text, /banwatch report:|[▁-█]/);
  const empty = buildReport({ events: [], failuresPerHour: [], topFailing: [] }, {
    from: FROM,
    to: TO,
  });
  assertEquals(isEmptyReport(empty), true);
  assertMatch(
    formatReport(empty, { time }),
    /No failures, bans or firewall errors in the period\.\n$/,
  );
});

Deno.test("sparkline() scales to the largest value and keeps small values visible", () => {
  assertEquals(sparkline([0, 1, 4, 8]), " ▁▄█");
  assertEquals(sparkline([0, 1, 100], { ascii: true }), " .#");
  assertEquals(sparkline([0, 0]), "  ");
});

Deno.test("bucket() sums hours into clean columns; renderChart() names the span", () => {
  assertEquals(bucket([1, 2, 3, 4, 5], 10), { columns: [1, 2, 3, 4, 5], per: 1 });
  assertEquals(bucket(Array(168).fill(1), 48).per, 4);
  assertEquals(bucket(Array(744).fill(1), 48).per, 24);
  assertEquals(
    renderChart([{ label: "bans", values: [0, 2, 1] }], {
      width: 48,
      unit: "h",
      first: "A",
      last: "B",
    }),
    "bans | █▄| max 2/h\n      A .. B (1 column = 1h)\n",
  );
});
