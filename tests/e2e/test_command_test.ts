import { assertEquals, assertMatch, assertNotMatch, assertOk } from "../_assert.ts";
import { ROOT, runCli } from "../_helpers.ts";

const MAILLOG = `${ROOT}tests/testdata/demo/maillog`;
const AUTHLOG = `${ROOT}tests/testdata/demo/auth.log`;
const NOW = "2026-03-01T00:00:00Z";

Deno.test("banwatch test --json counts lines, matches and hosts of a built-in filter", async () => {
  const r = await runCli(["test", MAILLOG, "postfix-sasl", "--json", "--now", NOW]);
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const lines = (await Deno.readTextFile(MAILLOG)).trimEnd().split("\n").length;
  assertEquals(j.lines, lines);
  assertEquals(j.hosts["203.0.113.5"], 2);
  assertEquals(j.hosts["2001:db8:bad::17"], 2);
  // The injected sasl_username names a victim; only the real client address may be counted.
  assertEquals(j.hosts["192.0.2.200"], undefined);
  assertEquals(j.matched + j.missed + j.ignored, j.lines);
  assertOk(j.missReasons["no-failregex"].count > 0);
});

Deno.test("banwatch test never reports 0 matched without the reasons", async () => {
  // The admin's dovecot-pop3imap regex run on a maillog: nothing matches, and it says why.
  const r = await runCli([
    "test",
    MAILLOG,
    "refused connection from <HOST>, service qpopper \\(tcp\\)",
    "--now",
    NOW,
  ]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /Lines: \d+ lines, 0 ignored, 0 matched, \d+ missed/);
  assertMatch(r.stdout, /Why lines did not count:/);
  assertMatch(r.stdout, /\[\d+\] date found but no failregex matched/);
  assertMatch(r.stdout, /line 1: Feb 16 10:00:01 mx postfix\/smtpd/);
});

Deno.test("banwatch test classifies a hostname where <HOST> stands as not an address", async () => {
  const r = await runCli([
    "test",
    AUTHLOG,
    "^\\S+ inetd\\[\\d+\\]: refused connection from <HOST>, service qpopper \\(tcp\\)$",
    "--json",
    "--now",
    NOW,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assertEquals(j.hosts, { "203.0.113.99": 2 });
  assertEquals(j.missReasons["not-an-address"].count, 2);
  assertMatch(j.missReasons["not-an-address"].example, /scanner\.example\.net/);
});

Deno.test("banwatch test reports lines without a date and addresses in ignoreip", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = `${dir}/log`;
    await Deno.writeTextFile(
      log,
      [
        "garbage without a date warning: unknown[203.0.113.1]: SASL LOGIN authentication failed",
        "Feb 16 10:00:03 mx postfix/smtpd[1]: warning: unknown[192.0.2.10]: SASL LOGIN authentication failed: x",
        "Feb 16 10:00:04 mx postfix/smtpd[1]: warning: unknown[203.0.113.1]: SASL LOGIN authentication failed: x",
        "",
      ].join("\n"),
    );
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(
      config,
      `[global]\nignoreip = ["192.0.2.0/24"]\n[jail.mail]\nenabled = true\nlogpath = "${log}"\nfilter = "postfix-sasl"\n`,
    );
    const r = await runCli(["test", log, "mail", "-c", config, "--json", "--now", NOW]);
    assertEquals(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assertEquals(j.matched, 1);
    assertEquals(j.missReasons["no-date"].count, 1);
    assertEquals(j.missReasons["ignoreip"].count, 1);
    assertEquals(j.hosts, { "203.0.113.1": 1 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("banwatch test --simulate prints the bans over the log's own timeline", async () => {
  const r = await runCli([
    "test",
    MAILLOG,
    "postfix-sasl",
    "--simulate",
    "--maxretry",
    "2",
    "--findtime",
    "20m",
    "--now",
    NOW,
  ]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /Simulated bans/);
  assertMatch(r.stdout, /2026-\d\d-\d\dT10:02:30[+-]\d\d:\d\d\s+203\.0\.113\.5\s+2\s+10m/);
  assertMatch(r.stdout, /2001:db8:bad::17/);
  assertNotMatch(r.stdout, /\s127\.0\.0\.1\s/);
  assertMatch(r.stdout, /Bans: 2\n/);
});

Deno.test("banwatch test --simulate prints times in the log's zone, with the offset", async () => {
  const r = await runCli([
    "test",
    MAILLOG,
    "postfix-sasl",
    "--simulate",
    "--maxretry",
    "2",
    "--findtime",
    "20m",
    "--timezone",
    "Asia/Tokyo",
    "--now",
    NOW,
  ]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertMatch(r.stdout, /times in Asia\/Tokyo\):/);
  // The log says 10:02:30, read in Tokyo: printed as written, with +09:00 (not 01:02:30Z).
  assertMatch(r.stdout, /2026-\d\d-\d\dT10:02:30\+09:00\s+203\.0\.113\.5\s+2\s+10m/);
  assertNotMatch(r.stdout, /\d\dZ\s/);
});

Deno.test("banwatch test --explain shows how far a near miss got", async () => {
  const r = await runCli([
    "test",
    MAILLOG,
    "warning: unknown\\[<HOST>\\]: SASL CRAM-MD5 authentication failed",
    "--explain",
    "--now",
    NOW,
  ]);
  assertEquals(r.code, 0, r.stderr);
  // The first missed line got almost nowhere; the near misses show the lines that got far.
  assertNotMatch(r.stdout, /failregex 1 matched up to: /);
  assertMatch(r.stdout, /\n\| {2}\[7\] like line 2: .*SASL LOGIN authentication failed/);
  assertMatch(r.stdout, /\n\| {6}matched: warning: unknown\\\[<HOST>\\\]: SASL \n/);
  assertMatch(r.stdout, /\n\| {6}then expected: CRAM-MD5 authentication failed\n/);
  assertMatch(r.stdout, /\n\| {6}but the line has: LOGIN authentication failed/);
});

Deno.test("banwatch test reads stdin and prints matched lines", async () => {
  const line =
    "Feb 16 10:00:03 mx postfix/smtpd[1]: warning: unknown[203.0.113.1]: SASL LOGIN authentication failed: x";
  const r = await runCli(["test", "-", "postfix-sasl", "--print-matched", "--now", NOW], {
    stdin: `${line}\n`,
  });
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /Matched line\(s\):\n1: Feb 16 10:00:03/);
});

Deno.test("banwatch test with a broken regex exits 78 with one line", async () => {
  const r = await runCli(["test", MAILLOG, "failed from <HOST> (unclosed"]);
  assertEquals(r.code, 78);
  assertEquals(r.stdout, "");
  assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  assertMatch(r.stderr, /failregex/);
});

Deno.test("banwatch test on a missing log exits 1 naming the file", async () => {
  const r = await runCli(["test", "/nonexistent/maillog", "postfix-sasl"]);
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /^banwatch: cannot read \/nonexistent\/maillog/);
});

Deno.test("banwatch test with a word that is no filter exits 2", async () => {
  const r = await runCli(["test", MAILLOG, "no-such-filter"]);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /not a jail.*built-in filter/);
});

Deno.test("banwatch test never matches a line cut at the line limit", async () => {
  const head =
    "Feb 16 10:00:03 mx postfix/smtpd[1]: warning: unknown[203.0.113.1]: SASL LOGIN authentication failed: ";
  const r = await runCli(["test", "-", "postfix-sasl", "--json", "--now", NOW], {
    stdin: `${head}${"x".repeat(70_000)}\n${head}short\n`,
  });
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assertEquals([j.lines, j.matched, j.truncated], [2, 1, 1]);
  assertEquals(j.missReasons.truncated.count, 1);
});

Deno.test("banwatch test correlates the lines of one connection (<F-MLFID>)", async () => {
  const dir = `${ROOT}tests/testdata/sessions`;
  const r = await runCli([
    "test",
    `${dir}/auth.log`,
    `${dir}/sshd-sessions.filter.toml`,
    "--json",
    "--now",
    NOW,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  // 4100: address first, failure later; 4102: failure pending until its closing line; 4101
  // logged in (no failure); 4103 an ordinary failure.
  assertEquals(j.hosts, { "198.51.100.7": 1, "198.51.100.8": 1, "198.51.100.9": 1 });
  assertEquals([j.matched, j.missed], [3, 4]);
});

const REPEAT_LOG = `${ROOT}tests/testdata/syslog/repeat.maillog`;

Deno.test("banwatch test counts syslogd's 'last message repeated N times' after a failure as N more", async () => {
  const r = await runCli(["test", REPEAT_LOG, "postfix-sasl", "--json", "--now", NOW]);
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  // 1 line + 5 + 2 (a second repeat line still repeats the failure); the repeat after the
  // disconnect line counts nothing; attacker text ending in the phrase is only its own line.
  assertEquals(j.hosts, {
    "203.0.113.5": 8,
    "198.51.100.7": 1,
    "192.0.2.9": 1,
    "198.51.100.8": 4,
  });
  assertEquals(j.repeated, { lines: 3, failures: 10 });
  assertEquals(j.lines, 9);
  assertEquals(j.matched, 7);
  assertEquals(j.matched + j.missed + j.ignored, j.lines);
  const text = await runCli(["test", REPEAT_LOG, "postfix-sasl", "--now", NOW]);
  assertMatch(
    text.stdout,
    /Repeats: 3 syslogd "last message repeated" line\(s\) after a failure, counted as 10 more failure\(s\)/,
  );
});

Deno.test("banwatch test counts repeats for a custom filter and in --simulate, at the repeat line's time", async () => {
  const custom = await runCli([
    "test",
    REPEAT_LOG,
    "warning: unknown\\[<HOST>\\]: SASL LOGIN authentication failed",
    "--json",
    "--now",
    NOW,
  ]);
  assertEquals(custom.code, 0, custom.stderr);
  assertEquals(JSON.parse(custom.stdout).hosts["203.0.113.5"], 8);
  const r = await runCli([
    "test",
    REPEAT_LOG,
    "postfix-sasl",
    "--simulate",
    "--maxretry",
    "4",
    "--now",
    NOW,
  ]);
  assertEquals(r.code, 0, r.stderr);
  // 203.0.113.5: 1 failure at 10:21:00, then 5 more at 10:21:31 ban it (the 4th is there).
  assertMatch(r.stdout, /T10:21:31[+-]\d\d:\d\d\s+203\.0\.113\.5\s+4\s/);
  assertMatch(r.stdout, /T10:23:40[+-]\d\d:\d\d\s+198\.51\.100\.8\s+4\s/);
  assertMatch(r.stdout, /Bans: 2\n/);
});
