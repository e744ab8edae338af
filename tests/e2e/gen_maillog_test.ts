import { parseIp } from "../../lib/core/address.ts";
import { findBuiltinFilter } from "../../lib/filter/builtin.ts";
import { compileFilter, matchLine } from "../../lib/filter/mod.ts";
import {
  DEFAULT_START,
  distinctIpv4,
  generateMaillog,
  mulberry32,
  saslFailureLine,
  syslogHeader,
  writeMaillog,
} from "../../scripts/gen_maillog.ts";
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const HEADER = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) mx1 [\w/.-]+(?:\[\d+\])?: /;

/** Seconds since the start of the year of a header (the log spans less than a year). */
function headerSeconds(line: string): number {
  const m = HEADER.exec(line);
  if (!m) throw new Error(`no header: ${line}`);
  const [, mon, day, h, min, s] = m;
  return Date.UTC(2025, MONTHS.indexOf(mon!), Number(day), Number(h), Number(min), Number(s)) /
    1000;
}

Deno.test("mulberry32() repeats its sequence for a seed and differs between seeds", () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const c = mulberry32(43);
  const seqA = Array.from({ length: 5 }, a);
  assertEquals(Array.from({ length: 5 }, b), seqA);
  assertOk(Array.from({ length: 5 }, c).some((x, i) => x !== seqA[i]));
  assertOk(seqA.every((x) => x >= 0 && x < 1));
});

Deno.test("generateMaillog() yields exactly the requested number of lines", () => {
  for (const n of [0, 1, 2, 997, 5000]) {
    assertEquals([...generateMaillog(n, 3)].length, n);
  }
});

Deno.test("generateMaillog() gives the same lines for the same seed and others for another", () => {
  const first = [...generateMaillog(2000, 7)];
  assertEquals([...generateMaillog(2000, 7)], first);
  // A longer run starts with the same lines.
  assertEquals([...generateMaillog(3000, 7)].slice(0, 2000), first);
  const other = [...generateMaillog(2000, 8)];
  assertOk(other.filter((line, i) => line !== first[i]).length > 1900);
});

Deno.test("generateMaillog() writes RFC 3164 headers with padded days and non-decreasing times", () => {
  const lines = [...generateMaillog(20_000, 11, { start: Date.UTC(2025, 2, 1) / 1000 })];
  assertMatch(lines[0]!, /^Mar {2}1 00:00:00 mx1 newsyslog\[\d+\]: logfile turned over$/);
  let previous = -Infinity;
  for (const line of lines) {
    assertMatch(line, HEADER);
    assertOk(!line.includes("\n"), "no embedded newline");
    const t = headerSeconds(line);
    assertOk(t >= previous, `time goes backwards at: ${line}`);
    previous = t;
  }
  // 20,000 lines at a mean gap of 0.25 s span more than one hour and less than three.
  const span = previous - headerSeconds(lines[0]!);
  assertOk(span > 3600 && span < 3 * 3600, `span ${span}s`);
});

Deno.test("generateMaillog() mixes daemons and keeps failures between 5% and 10%", () => {
  const lines = [...generateMaillog(50_000, 5)];
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  for (
    const re of [
      /postfix\/smtpd\[\d+\]: connect from /,
      /postfix\/smtpd\[\d+\]: disconnect from /,
      /postfix\/smtpd\[\d+\]: lost connection after /,
      /NOQUEUE: reject: RCPT from /,
      /postfix\/qmgr\[\d+\]: /,
      /postfix\/cleanup\[\d+\]: /,
      /postfix\/smtp\[\d+\]: .* status=sent/,
      /warning: unknown\[[\d.]+\]: SASL LOGIN authentication failed: authentication failure$/,
      /warning: unknown\[[\da-f:]+\]: SASL LOGIN authentication failed/,
      /warning: [a-z0-9-]+\.[a-z0-9.-]+\[[\da-f.:]+\]: SASL LOGIN authentication failed/,
      /SASL PLAIN authentication failed/,
      /SASL LOGIN authentication failed: .*, sasl_username=\S+$/,
      /qpopper\[\d+\]: \S+ at \S+ \([\da-f.:]+\): -ERR \[AUTH\] Password supplied for "\S+" is incorrect\.$/,
      /qpopper\[\d+\]: Stats: /,
      /inetd\[\d+\]: refused connection from [\da-f.:]+, service qpopper \(tcp\)$/,
      /dovecot: imap-login: Login: /,
      /dovecot: imap-login: .*auth failed/,
      /sshd\[\d+\]: Failed password for /,
      /sshd\[\d+\]: Invalid user /,
    ]
  ) {
    assertOk(count(re) > 20, `expected lines matching ${re}`);
  }
  const failures = count(
    /SASL \w+ authentication failed|-ERR \[AUTH\]|refused connection|auth failed|Failed password|Invalid user/,
  );
  const share = failures / lines.length;
  assertOk(share >= 0.05 && share <= 0.1, `failure share ${share}`);
});

Deno.test("generateMaillog() spreads failures over thousands of IPv4 and some IPv6 attackers", () => {
  const attackers = new Set<string>();
  for (const line of generateMaillog(200_000, 9)) {
    const m = /warning: \S+\[([^\]]+)\]: SASL|\(([^)]+)\): -ERR \[AUTH\]/.exec(line);
    if (!m) continue;
    const text = (m[1] ?? m[2])!;
    const addr = parseIp(text);
    assertOk(addr !== undefined, `not an address: ${text}`);
    assertEquals(addr.text, text, "addresses are printed in canonical form");
    attackers.add(text);
  }
  const v6 = [...attackers].filter((a) => a.includes(":")).length;
  assertOk(attackers.size > 2000, `${attackers.size} attackers`);
  assertOk(v6 > 50 && v6 < attackers.size / 5, `${v6} IPv6 attackers`);
});

Deno.test("generateMaillog() failure lines are matched by the built-in filters", () => {
  const now = DEFAULT_START + 30 * 86400;
  const sasl = compileFilter(findBuiltinFilter("postfix-sasl")!);
  const qpopper = compileFilter(findBuiltinFilter("qpopper")!);
  let checked = 0;
  for (const line of generateMaillog(20_000, 13)) {
    const m = /warning: unknown\[([^\]]+)\]: SASL LOGIN/.exec(line) ??
      /\(([^)]+)\): -ERR \[AUTH\] Password supplied/.exec(line);
    if (!m) continue;
    const verdict = matchLine(line.includes("qpopper") ? qpopper : sasl, line, now);
    assertEquals(verdict.kind, "matched", line);
    if (verdict.kind === "matched") assertEquals(verdict.addr?.text, m[1]);
    checked++;
  }
  assertOk(checked > 500, `${checked} lines checked`);
});

Deno.test("saslFailureLine() and syslogHeader() write the postfix failure the daemon bans", () => {
  const t = Date.UTC(2025, 10, 3, 20, 4, 17) / 1000;
  assertEquals(syslogHeader(t), "Nov  3 20:04:17 mx1");
  const line = saslFailureLine("2001:db8::7", t + 0.9);
  assertMatch(
    line,
    /^Nov {2}3 20:04:17 mx1 postfix\/smtpd\[\d+\]: warning: unknown\[2001:db8::7\]: SASL LOGIN authentication failed: authentication failure$/,
  );
  const verdict = matchLine(compileFilter(findBuiltinFilter("postfix-sasl")!), line, t + 60);
  assertEquals(verdict.kind, "matched");
});

Deno.test("distinctIpv4() gives distinct valid addresses outside 127/8", () => {
  const seen = new Set<string>();
  for (const i of [...Array(100_000).keys(), 0xffffff, 0x1000000, 116 * 0x1000000 + 5]) {
    const text = distinctIpv4(i);
    const addr = parseIp(text);
    assertOk(addr?.family === 4 && addr.text === text, text);
    assertOk(!text.startsWith("127."), text);
    seen.add(text);
  }
  assertEquals(seen.size, 100_003);
});

Deno.test("writeMaillog() and the gen_maillog.ts command write the generated lines", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gen_maillog_test" });
  try {
    const expected = [...generateMaillog(1500, 21)].map((l) => `${l}\n`).join("");
    const viaFunction = `${dir}/a.log`;
    const bytes = await writeMaillog(viaFunction, { lines: 1500, seed: 21 });
    assertEquals(await Deno.readTextFile(viaFunction), expected);
    assertEquals(bytes, new TextEncoder().encode(expected).length);

    const viaCli = `${dir}/b.log`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        `--allow-write=${dir}`,
        `${ROOT}scripts/gen_maillog.ts`,
        "--lines",
        "1500",
        "--seed",
        "21",
        "-o",
        viaCli,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertMatch(new TextDecoder().decode(out.stderr), /wrote 1500 lines/);
    assertEquals(await Deno.readTextFile(viaCli), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
