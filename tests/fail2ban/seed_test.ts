// The admin's own fail2ban set-up (shared/seed: filters dovecot-pop3imap and qpopperauth,
// postfix-auth, jail.local with banaction = bsd-ipfw[table=...,protocol=tcp] and
// `[INCLUDES] before = paths-freebsd.conf`) as tests/testdata/fail2ban reconstructs it.
import { assertEquals, assertMatch, assertNotMatch, assertOk } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";
import {
  type Config,
  type JailConfig,
  parseConfig,
  parseFilterFile,
} from "../../lib/config/mod.ts";
import { lintConfig } from "../../lib/cli/commands/check.ts";
import { denoIniIo } from "../../lib/cli/commands/import.ts";
import { anchoredRewrite } from "../../lib/fail2ban/evidence.ts";
import { importFail2banFilter } from "../../lib/fail2ban/filter.ts";
import type { IniIo } from "../../lib/fail2ban/ini.ts";
import { importFail2ban, type ImportOptions } from "../../lib/fail2ban/jail.ts";
import { formatImportProblem } from "../../lib/fail2ban/problem.ts";

const FIXTURE = `${ROOT}tests/testdata/fail2ban`;
const NOW = Date.UTC(2024, 1, 17, 9, 0, 0) / 1000; // the seed's "last modified" day

/** The jails' /var/log files, served from the fixture's logs/. */
function fixtureLogs(path: string): string[] | undefined {
  const m = /^\/var\/log\/(auth\.log|all\.log|maillog)$/.exec(path);
  if (!m) return undefined;
  return Deno.readTextFileSync(`${FIXTURE}/logs/${m[1]}`).split("\n").filter((l) => l !== "");
}

function convert(options: ImportOptions = {}, io: IniIo = denoIniIo()) {
  const result = importFail2ban(FIXTURE, io, { logs: fixtureLogs, logsNow: NOW, ...options });
  const config = parseConfig(result.toml, { file: "converted.toml" });
  return { result, config, report: result.problems.map(formatImportProblem) };
}

function jail(config: Config, name: string): JailConfig {
  const j = config.jails.find((x) => x.name === name);
  assertOk(j, `jail ${name} missing`);
  return j;
}

/** The section of one jail in the TOML text. */
function section(toml: string, name: string): string {
  const start = toml.indexOf(`[jail.${name}]`);
  const next = toml.indexOf("\n[jail.", start + 1);
  return toml.slice(start, next < 0 ? undefined : next);
}

function has(report: string[], re: RegExp): string {
  const line = report.find((l) => re.test(l));
  assertOk(line, `${re} in\n${report.join("\n")}`);
  return line;
}

Deno.test("seed: 3 enabled jails, each with the admin's own regex, blocking through a managed ipfw rule", () => {
  const { config, result, report } = convert();
  assertEquals(config.jails.map((j) => [j.name, j.enabled, j.filterSource]), [
    ["dovecot-pop3imap", true, "inline"],
    ["qpopperauth", true, "inline"],
    ["postfix-auth", true, "inline"],
  ]);
  assertEquals(jail(config, "dovecot-pop3imap").filter.failregex, [
    "refused connection from <HOST>, service qpopper \\(tcp\\)",
  ]);
  assertEquals(jail(config, "qpopperauth").filter.failregex, [
    ".* at .* \\(<HOST>\\): -ERR \\[AUTH\\] Password supplied .*",
  ]);
  assertEquals(jail(config, "postfix-auth").filter.failregex, [
    "warning: unknown\\[<HOST>\\]: SASL LOGIN authentication failed",
  ]);
  assertEquals(
    config.jails.map((j) => [j.backend, j.table, j.ruleNumber, j.manageRule, j.ports, j.protocol]),
    [
      ["ipfw", "dovecot-pop3imap", 111, true, [], "all"],
      ["ipfw", "qpopperauth.conf", 112, true, [], "all"],
      ["ipfw", "postfix-auth", 113, true, [25, 587], "tcp"],
    ],
  );
  assertMatch(
    section(result.toml, "dovecot-pop3imap"),
    /^rule = 111 {2}# as fail2ban's bsd-ipfw: the first free number from 111 .*adjust$/m,
  );
  has(
    report,
    /jail\.local:27: jail\.qpopperauth\.action: warning: ipfw table "qpopperauth\.conf" ends in "\.conf"/,
  );
  // the firewall lines to change by hand close the report
  assertEquals(result.firewallByHand?.length, 4);
  assertMatch(result.firewallByHand?.[0] ?? "", /stop fail2ban before starting banwatch/);
  assertMatch(result.toml, /^# 3 jails enabled in fail2ban written; 0 disabled ones skipped/m);
  // what the old import claimed without measuring
  assertNotMatch(result.toml, /same matches/);
});

Deno.test("seed: the qpopper regex is flagged as attacker-steerable with a measured anchored rewrite", () => {
  const { result, report } = convert();
  const line = has(
    report,
    /jail\.qpopperauth\.filter: warning: failregex\[0\]: .*attacker-steerable/,
  );
  assertMatch(
    line,
    /anchored rewrite: \^\\S\+ qpopper\(\?:\\\[\\d\+\\\]\)\?: \\S\+ at \\S\+ \\\(<HOST>\\\): -ERR \\\[AUTH\\\] Password supplied \(matches the same 2 of \d+ lines of \/var\/log\/all\.log\)$/,
  );
  const q = section(result.toml, "qpopperauth");
  assertMatch(q, /^# check: failregex\[0\]: .*attacker-steerable/m);
  assertMatch(
    q,
    /^# anchored rewrite \(matches the same 2 of \d+ lines of \/var\/log\/all\.log\):$/m,
  );
  // the rewrite no longer lets a user name carry the address
  const rewrite = anchoredRewrite(".* at .* \\(<HOST>\\): -ERR \\[AUTH\\] Password supplied .*");
  const spec = { name: "x", failregex: [rewrite ?? ""], datepattern: "{^LN-BEG}" };
  const config = parseConfig(
    `[jail.x]\nenabled = true\nlogpath = "/l"\nfailregex = ${JSON.stringify(rewrite)}\n`,
    { file: "x.toml" },
  );
  assertEquals(lintConfig(config).filter((w) => /attacker-steerable/.test(w.message)), []);
  assertOk(spec.failregex[0]?.startsWith("^"));
});

Deno.test("seed: built-ins are only offered with evidence from the jail's logs", () => {
  const { config, result, report } = convert();
  // tcp-wrappers also matched other services, tcp6 and tcpd's "refused connect": 3 vs 6
  has(
    report,
    /jail\.dovecot-pop3imap\.filter: note: measured on \/var\/log\/auth\.log: \d+ log lines: fail2ban's dovecot-pop3imap matched 3, tcp-wrappers matched 6, both 3; only fail2ban's dovecot-pop3imap: 0, only tcp-wrappers: 3; only tcp-wrappers, e\.g\. "Feb 16 10:21:05 mail inetd\[812\]: refused connection from 192\.0\.2\.8, service sshd \(tcp\)"$/,
  );
  has(
    report,
    /jail\.postfix-auth\.filter: note: .*fail2ban's postfix-auth matched 2, postfix-sasl matched 4/,
  );
  assertMatch(
    section(result.toml, "dovecot-pop3imap"),
    /^# filter = 'tcp-wrappers' covers every line fail2ban's dovecot-pop3imap matched \(--prefer-builtin uses it\)$/m,
  );
  assertEquals(jail(config, "dovecot-pop3imap").filterSource, "inline");
  // --prefer-builtin substitutes only where the built-in matched every line of the admin's
  const preferred = convert({ preferBuiltin: true }).config;
  assertEquals(preferred.jails.map((j) => j.filterSource), [
    "builtin:tcp-wrappers",
    "builtin:qpopper",
    "builtin:postfix-sasl",
  ]);
  // without readable logs: nothing measured, nothing offered, the missing files are named
  const blind = convert({ logs: () => undefined });
  assertEquals(blind.config.jails.map((j) => j.filterSource), ["inline", "inline", "inline"]);
  has(blind.report, /jail\.qpopperauth\.logpath: warning: \/var\/log\/all\.log does not exist/);
  assertNotMatch(blind.result.toml, /^# measured/m);
  has(blind.report, /anchored rewrite: .*\(not measured: no log read\)$/);
});

/** The fixture's files in memory under /f, to vary them. */
function memFixture(change: (files: Record<string, string>) => void): IniIo {
  const files: Record<string, string> = {};
  const walk = (dir: string, rel: string): void => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(`${dir}/${e.name}`, `${rel}/${e.name}`);
      else files[`${FIXTURE}${rel}/${e.name}`] = Deno.readTextFileSync(`${dir}/${e.name}`);
    }
  };
  walk(FIXTURE, "");
  change(files);
  return {
    readFile: (path) => files[path],
    listDir: (path) =>
      Object.keys(files).filter((p) =>
        p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes("/")
      )
        .map((p) => p.slice(path.length + 1)),
  };
}

Deno.test("seed: without paths-freebsd.conf the report names the variables left unresolved", () => {
  const io = memFixture((files) => {
    delete files[`${FIXTURE}/paths-freebsd.conf`];
  });
  const result = importFail2ban(FIXTURE, io, {});
  const report = result.problems.map(formatImportProblem);
  has(
    report,
    /jail\.local:5: syntax: not converted: \[INCLUDES\] before: included file \S+\/paths-freebsd\.conf not found: fail2ban resolves its log paths with it; unresolved here: syslog_authpriv \(jail\.dovecot-pop3imap\.logpath\), syslog_all \(jail\.qpopperauth\.logpath\)/,
  );
});

Deno.test("seed: disabled jails are skipped unless --all; wrong-looking values are carried with a warning; other actions are named", () => {
  const io = memFixture((files) => {
    files[`${FIXTURE}/jail.d/more.local`] = [
      "[old-sshd]",
      "enabled = false",
      "filter = postfix-auth",
      "logpath = /var/log/maillog",
      "",
      "[strict]",
      "enabled = true",
      "filter = postfix-auth",
      "logpath = /var/log/maillog",
      "maxretry = 1",
      "findtime = 1d",
      "bantime = 1h",
      "action = pf[actiontype=<allports>]",
      "         sendmail-whois[name=strict, dest=root]",
      "",
      "[linux]",
      "enabled = true",
      "filter = postfix-auth",
      "logpath = /var/log/maillog",
      "action = nftables[port=smtp]",
      "         cloudflare",
    ].join("\n");
  });
  const { result, config, report } = convert({}, io);
  assertEquals([result.skipped, result.jails.length], [["old-sshd"], 5]);
  assertMatch(result.toml, /^# 5 jails enabled in fail2ban written; 1 disabled ones skipped/m);
  has(report, /jail\.strict\.maxretry: warning: maxretry = 1: a single failure/);
  has(report, /jail\.strict\.bantime: warning: bantime \(1h\) is shorter than findtime \(1d\)/);
  const strict = jail(config, "strict");
  assertEquals([strict.backend, strict.table, strict.ports, strict.protocol], [
    "pf",
    "f2b-strict",
    [],
    "all",
  ]);
  assertMatch(
    section(result.toml, "strict"),
    /^# fail2ban action not converted: sendmail-whois\[name=strict, dest=root\] \(mail notifications are not sent\)$/m,
  );
  has(
    report,
    /jail\.strict\.action: not converted: action "sendmail-whois" has no banwatch equivalent/,
  );
  assertOk(
    result.firewallByHand?.some((l) => l.includes("block drop in quick from <f2b-strict> to any")),
  );
  const linux = jail(config, "linux");
  assertEquals([linux.backend, linux.ports, linux.protocol], ["nft", [25], "tcp"]);
  assertMatch(section(result.toml, "linux"), /^# fail2ban action not converted: cloudflare /m);
  const all = convert({ all: true }, io);
  assertEquals(jail(all.config, "old-sshd").enabled, false);
  assertMatch(all.result.toml, /^# every jail: 5 enabled in fail2ban, 1 disabled/m);
});

Deno.test("importFail2banFilter takes a path to a filter file, with options", () => {
  const path = `${FIXTURE}/filter.d/qpopperauth.conf`;
  const r = importFail2banFilter("/nonexistent", path, denoIniIo());
  assertEquals(r.problems, []);
  assertEquals(parseFilterFile(r.toml, "q.toml").failregex, [
    ".* at .* \\(<HOST>\\): -ERR \\[AUTH\\] Password supplied .*",
  ]);
  const missing = importFail2banFilter(
    "/nonexistent",
    "/nowhere/x.conf[mode=aggressive]",
    denoIniIo(),
  );
  assertEquals(missing.problems.map(formatImportProblem), [
    `/nowhere/x.conf:0: filter.x: not converted: filter "x" not found`,
  ]);
});

Deno.test("anchoredRewrite rewrites plain sequences only, and keeps an existing anchor", () => {
  assertEquals(
    anchoredRewrite("refused connection from <HOST>, service qpopper \\(tcp\\)", "inetd"),
    "^\\S+ inetd(?:\\[\\d+\\])?: refused connection from <HOST>, service qpopper \\(tcp\\)",
  );
  assertEquals(anchoredRewrite("^: login as .* from <HOST>$"), "^: login as \\S+ from <HOST>$");
  // alternatives or groups before the address, backreferences: no textual rewrite
  assertEquals(anchoredRewrite("user (?:.*|x) from <HOST>"), undefined);
  assertEquals(anchoredRewrite("(?P<c>\\d+) .* (?P=c) <HOST>"), undefined);
  assertEquals(anchoredRewrite("no address here"), undefined);
});
