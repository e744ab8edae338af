import { assertEquals, assertMatch, assertNotMatch, assertOk } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";
import {
  type Config,
  type JailConfig,
  parseConfig,
  parseFilterFile,
} from "../../lib/config/mod.ts";
import { ConfigError } from "../../lib/core/errors.ts";
import { findBuiltinFilter } from "../../lib/filter/builtin.ts";
import { compileFilter, type FilterSpec, matchLine } from "../../lib/filter/mod.ts";
import { checkSampleAgreement, parseFail2banSamples } from "../../lib/fail2ban/agreement.ts";
import { equivalentBuiltin } from "../../lib/fail2ban/builtin.ts";
import { tomlString } from "../../lib/fail2ban/emit.ts";
import { importFail2banFilter, readFail2banFilter } from "../../lib/fail2ban/filter.ts";
import { importFail2ban } from "../../lib/fail2ban/jail.ts";
import { formatImportProblem } from "../../lib/fail2ban/problem.ts";
import { fail2banSeconds } from "../../lib/fail2ban/values.ts";
import type { IniIo } from "../../lib/fail2ban/ini.ts";
import { denoIniIo } from "../../lib/cli/commands/import.ts";
import { parse as parseToml } from "smol-toml";

const FIXTURE = `${ROOT}tests/testdata/fail2ban`;
const NOW = Date.UTC(2024, 1, 17, 9, 0, 0) / 1000; // the seed's "last modified" day

/** An in-memory file system: paths -> texts. */
function memIo(files: Record<string, string>): IniIo {
  return {
    readFile: (path) => files[path],
    listDir: (path) => {
      const prefix = path.endsWith("/") ? path : `${path}/`;
      return Object.keys(files)
        .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/"))
        .map((p) => p.slice(prefix.length));
    },
  };
}

/** The fixture's files, read into memory under /f (to vary them per test). */
function fixtureFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string): void => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(`${dir}/${e.name}`, `${rel}/${e.name}`);
      else out[`/f${rel}/${e.name}`] = Deno.readTextFileSync(`${dir}/${e.name}`);
    }
  };
  walk(FIXTURE, "");
  return out;
}

const FIXTURE_LOGS: Readonly<Record<string, string>> = {
  "dovecot-pop3imap": "auth.log",
  qpopperauth: "all.log",
  "postfix-auth": "maillog",
};

/** The fixture's log lines for a fail2ban filter, as the built-in comparison reads them. */
function fixtureSamples(filter: string): string[] | undefined {
  const log = FIXTURE_LOGS[filter];
  if (!log) return undefined;
  return Deno.readTextFileSync(`${FIXTURE}/logs/${log}`).split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));
}

function convertFixture(
  withSamples = false,
): { config: Config; toml: string; problems: string[] } {
  const result = importFail2ban(
    FIXTURE,
    denoIniIo(),
    withSamples ? { samples: fixtureSamples, now: NOW } : {},
  );
  const config = parseConfig(result.toml, { file: "converted.toml" });
  return {
    config,
    toml: result.toml,
    problems: result.problems.filter((p) => p.severity === undefined).map(formatImportProblem),
  };
}

function jail(config: Config, name: string): JailConfig {
  const j = config.jails.find((x) => x.name === name);
  assertOk(j, `jail ${name} missing`);
  return j;
}

interface Expect {
  line: string;
  match: boolean;
  host?: string;
}

/** A fixture log's lines with their `# expect:` annotations. */
function annotated(file: string): Expect[] {
  const out: Expect[] = [];
  let pending: { match: boolean; host?: string } | undefined;
  for (const line of Deno.readTextFileSync(`${FIXTURE}/logs/${file}`).split("\n")) {
    const m = /^# expect: (.*)$/.exec(line);
    if (m) pending = JSON.parse(m[1] ?? "{}");
    else if (line.startsWith("#") || line.trim() === "") continue;
    else {
      assertOk(pending, `unannotated line in ${file}: ${line}`);
      out.push({ line, ...pending });
      pending = undefined;
    }
  }
  return out;
}

function hostOf(spec: FilterSpec, line: string): string | undefined {
  const v = matchLine(compileFilter(spec), line, NOW);
  return v.kind === "matched" ? v.host : undefined;
}

Deno.test("importFail2ban converts the seed fixture into a jails.toml that parseConfig accepts", () => {
  const { config, problems, toml } = convertFixture();
  assertEquals(problems, []);
  assertEquals(config.jails.map((j) => j.name), [
    "dovecot-pop3imap",
    "qpopperauth",
    "postfix-auth",
  ]);
  const d = jail(config, "dovecot-pop3imap");
  assertEquals(
    [d.enabled, d.logPaths, d.maxRetry, d.findTime, d.banTime],
    [true, ["/var/log/auth.log"], 2, 1200, 1200],
  );
  // bsd-ipfw blocks "ip" (block = ip) on every port: every protocol; rule as fail2ban numbers it
  assertEquals(
    [d.backend, d.table, d.ports, d.protocol, d.ruleNumber, d.manageRule],
    ["ipfw", "dovecot-pop3imap", [], "all", 111, true],
  );
  const q = jail(config, "qpopperauth");
  assertEquals([q.logPaths, q.banTime, q.table], [["/var/log/all.log"], 86400, "qpopperauth.conf"]);
  const p = jail(config, "postfix-auth");
  assertEquals(
    [p.logPaths, p.maxRetry, p.findTime, p.banTime, p.table, p.ports],
    [["/var/log/maillog"], 3, 3600, 86400, "postfix-auth", [25, 587]],
  );
  assertEquals(p.filter.datepattern, "{^LN-BEG}");
  // regexes are kept as fail2ban wrote them, as TOML literal strings
  assertMatch(
    toml,
    /failregex = \['refused connection from <HOST>, service qpopper \\\(tcp\\\)'\]/,
  );
  assertMatch(toml, /^\[jail\.postfix-auth\]$/m);
});

Deno.test("importFail2ban's converted jails ban the same addresses as the fail2ban filters on the sample lines", () => {
  for (const withSamples of [false, true]) {
    const { config } = convertFixture(withSamples);
    assertEquals(sameAddresses(config), 7);
  }
});

Deno.test("importFail2ban points to a built-in filter only when it matches the same sample lines", () => {
  const { config, toml } = convertFixture(true);
  // qpopper's built-in agrees with qpopperauth on every sample line; tcp-wrappers would also
  // ban other services than qpopper, postfix-sasl also SASL PLAIN: those stay inline
  assertEquals(jail(config, "qpopperauth").filterSource, "builtin:qpopper");
  assertMatch(
    toml,
    /^filter = 'qpopper' {2}# same verdicts as fail2ban's qpopperauth on its 5 sample lines \(fail2ban's tests\)$/m,
  );
  assertEquals(jail(config, "dovecot-pop3imap").filterSource, "inline");
  assertEquals(jail(config, "postfix-auth").filterSource, "inline");
  assertEquals(jail(convertFixture(false).config, "qpopperauth").filterSource, "inline");
});

/** Runs both the fail2ban filter and the converted jail over the fixture logs; matched count. */
function sameAddresses(config: Config): number {
  const io = denoIniIo();
  let matched = 0;
  for (const [name, log] of Object.entries(FIXTURE_LOGS)) {
    const original = readFail2banFilter(FIXTURE, name, io).spec;
    const converted = jail(config, name).filter;
    for (const sample of annotated(log)) {
      const want = sample.match ? sample.host : undefined;
      assertEquals(hostOf(original, sample.line), want, `fail2ban filter ${name}: ${sample.line}`);
      assertEquals(hostOf(converted, sample.line), want, `converted ${name}: ${sample.line}`);
      if (want) matched++;
    }
  }
  return matched;
}

Deno.test("importFail2ban reports a malformed line, a missing include and an interpolation loop with file:line; the rest converts", () => {
  const files = fixtureFiles();
  files["/f/jail.local"] = (files["/f/jail.local"] ?? "")
    .replace("before = paths-freebsd.conf", "before = paths-freebsd.conf\n         paths-gone.conf")
    .replace("maxretry = 2\n", "maxretry = 2\nthis line is not an option\n")
    .replace(
      "[postfix-auth]\n",
      "[postfix-auth]\nbantime = %(loop_a)s\nloop_a = %(loop_b)s\nloop_b = %(loop_a)s\n",
    )
    .replace(/\nbantime = 1d\n/, "\n");
  const result = importFail2ban("/f", memIo(files));
  const report = result.problems.filter((p) => p.severity === undefined).map(formatImportProblem)
    .sort();
  assertEquals(report.length, 3, report.join("\n"));
  assertMatch(
    report[0] ?? "",
    /^\/f\/jail\.local:14: syntax: not converted: malformed line .*this line is not an option$/,
  );
  assertMatch(
    report[1] ?? "",
    /^\/f\/jail\.local:32: jail\.postfix-auth\.bantime: not converted: .*interpolation loop: bantime -> loop_a -> loop_b -> loop_a$/,
  );
  assertMatch(
    report[2] ?? "",
    /^\/f\/jail\.local:5: syntax: not converted: \[INCLUDES\] before: included file \/f\/paths-gone\.conf not found: fail2ban resolves its log paths with it; no option converted here needed it$/,
  );
  const config = parseConfig(result.toml, { file: "converted.toml" });
  assertEquals(config.jails.length, 3);
  // the looping bantime falls back to [defaults] (fail2ban's 10m); the rest is intact
  assertEquals(jail(config, "postfix-auth").banTime, 600);
  assertEquals(jail(config, "dovecot-pop3imap").maxRetry, 2);
});

Deno.test("importFail2ban converts pf, reports other actions, systemd and missing filters, keeps disabled jails", () => {
  const files = fixtureFiles();
  files["/f/jail.d/more.local"] = [
    "[pf-jail]",
    "enabled = true",
    "filter = postfix-auth",
    "logpath = /var/log/maillog",
    "port = submission",
    "bantime = -1",
    "action = %(action_mw)s",
    "",
    "[journal]",
    "enabled = true",
    "filter = postfix-auth",
    "backend = systemd",
    "banaction = bsd-ipfw",
    "",
    "[nofilter]",
    "enabled = false",
    "filter = not-there",
    "logpath = /var/log/x",
  ].join("\n");
  assertEquals(importFail2ban("/f", memIo(files)).skipped, ["nofilter"]);
  files["/f/jail.local"] = (files["/f/jail.local"] ?? "").replace(
    "[INCLUDES]",
    "[DEFAULT]\nbantime.increment = true\nbantime.multipliers = 1 2 4\nignoreip = 127.0.0.1/8 ::1 myhost.example\n\n[INCLUDES]",
  );
  const result = importFail2ban("/f", memIo(files), { all: true });
  const report = result.problems.map(formatImportProblem);
  const has = (re: RegExp): void =>
    assertOk(report.some((l) => re.test(l)), `${re} in\n${report.join("\n")}`);
  has(
    /^\/f\/jail\.local:\d+: DEFAULT\.ignoreip: not converted: "myhost\.example": host names are not resolved$/,
  );
  has(
    /^\/f\/jail\.d\/more\.local:7: jail\.pf-jail\.action: not converted: action "sendmail-whois" has no banwatch equivalent \(mail notifications are not sent\)$/,
  );
  has(
    /^\/f\/jail\.d\/more\.local:12: jail\.journal\.backend: not converted: backend "systemd" reads the systemd journal.*enabled = false$/,
  );
  has(/jail\.nofilter\.filter\.not-there: not converted: filter "not-there" not found$/);
  const config = parseConfig(result.toml, { file: "converted.toml" });
  const pf = jail(config, "pf-jail");
  assertEquals([pf.backend, pf.table, pf.ports, pf.banTime], [
    "pf",
    "f2b-pf-jail",
    [587],
    Infinity,
  ]);
  assertEquals(pf.banTimeIncrement.enabled, true);
  assertEquals(pf.banTimeIncrement.multipliers, [1, 2, 4]);
  assertEquals(pf.ignoreIp.map((c) => c.text), ["127.0.0.0/8", "::1/128"]);
  assertEquals(jail(config, "journal").enabled, false);
  assertEquals(jail(config, "nofilter").enabled, false);
});

Deno.test("readFail2banFilter applies jail-given options, [Init] defaults and <tag> substitution", () => {
  const io = memIo({
    "/f/filter.d/common.conf": "[DEFAULT]\n__prefix_line = \\S+ \\S+\\[\\d+\\]:\\s\n",
    "/f/filter.d/demo.conf": [
      "[INCLUDES]",
      "before = common.conf",
      "[Definition]",
      "_daemon = demo",
      "re-normal = ^%(__prefix_line)sbad login from <HOST>$",
      "re-auth = %(re-normal)s",
      "          ^%(__prefix_line)sauth failed for <F-USER>\\S+</F-USER> from <HOST>$",
      "failregex = <re-<mode>>",
      "ignoreregex = ^.*from <trusted>$",
      "[Init]",
      "mode = normal",
      "trusted = 192\\.0\\.2\\.1",
    ].join("\n"),
    "/f/filter.d/demo.local": "[Init]\ntrusted = 192\\.0\\.2\\.9\n",
  });
  const normal = readFail2banFilter("/f", "demo", io);
  assertEquals(normal.files, [
    "/f/filter.d/common.conf",
    "/f/filter.d/demo.conf",
    "/f/filter.d/demo.local",
  ]);
  assertEquals(normal.spec.failregex, ["^\\S+ \\S+\\[\\d+\\]:\\sbad login from <HOST>$"]);
  assertEquals(normal.spec.ignoreregex, ["^.*from 192\\.0\\.2\\.9$"]);
  const auth = readFail2banFilter("/f", "demo[mode=auth, trusted=x]", io);
  assertEquals(auth.options, { mode: "auth", trusted: "x" });
  assertEquals(auth.spec.failregex.length, 2);
  assertEquals(auth.spec.ignoreregex, ["^.*from x$"]);
  assertEquals(auth.problems, []);
});

Deno.test("importFail2banFilter writes a banwatch filter file that parseFilterFile reads", () => {
  const result = importFail2banFilter(FIXTURE, "qpopperauth", denoIniIo());
  assertEquals(result.problems, []);
  const spec = parseFilterFile(result.toml, "qpopperauth.toml");
  assertEquals(spec.failregex, [".* at .* \\(<HOST>\\): -ERR \\[AUTH\\] Password supplied .*"]);
  assertEquals(spec.datepattern, "{^LN-BEG}");
  assertMatch(spec.description ?? "", /fail2ban filter qpopperauth/);
  const missing = importFail2banFilter(FIXTURE, "nope[mode=x]", denoIniIo());
  assertEquals(missing.toml, "");
  assertMatch(formatImportProblem(missing.problems[0]!), /filter "nope" not found/);
});

Deno.test("fail2banSeconds reads fail2ban's time abbreviations", () => {
  assertEquals(fail2banSeconds("600"), 600);
  assertEquals(fail2banSeconds("10m"), 600);
  assertEquals(fail2banSeconds("1d12h30m"), 131400);
  assertEquals(fail2banSeconds("1h 30m"), 5400);
  assertEquals(fail2banSeconds("1w"), 604800);
  assertEquals(fail2banSeconds("-1"), Infinity);
  assertEquals(fail2banSeconds("60*60"), 3600);
  assertEquals(fail2banSeconds("soon"), undefined);
});

Deno.test("tomlString writes literal strings for regexes and escapes what a literal cannot hold", () => {
  for (const s of ["a\\d+ <HOST>", "it's", "'quoted'", "tab\there", "line\nbreak", 'x"y\\z', ""]) {
    const doc = parseToml(`v = ${tomlString(s)}`) as { v: string };
    assertEquals(doc.v, s);
  }
  assertEquals(tomlString("\\S+"), "'\\S+'");
});

Deno.test("parseFail2banSamples follows failJSON, filterOptions, constraints and addFILE", () => {
  const files: Record<string, string> = {
    demo: [
      '# failJSON: { "match": true, "host": "192.0.2.1" }',
      "line one",
      '# filterOptions: [{}, {"mode": "aggressive"}]',
      '# failJSON: { "match": false }',
      "line two",
      '# failJSON: { "match": true, "host": "192.0.2.3", "constraint": "opts.get(\'mode\') == \'aggressive\'" }',
      "line three",
      '# addFILE: "more"',
    ].join("\n"),
    more: '# failJSON: { "match": true, "host": "192.0.2.4" }\nline four\n',
  };
  const groups = parseFail2banSamples("demo", (f) => files[f]);
  assertEquals(groups.map((g) => [g.options, g.lines.map((l) => l.line)]), [
    [{}, ["line one", "line two", "line four"]],
    [{ mode: "aggressive" }, ["line two", "line three", "line four"]],
  ]);
  assertEquals(groups[1]?.lines[1], {
    file: "demo",
    lineNo: 7,
    line: "line three",
    match: true,
    host: "192.0.2.3",
  });
});

// ---------------------------------------------------------------------------------------------
// Against the fail2ban installed on this machine (Debian's package); skipped when absent.

const F2B_DIR = "/etc/fail2ban";
const F2B_SAMPLES = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

function installed(): boolean {
  try {
    return Deno.statSync(`${F2B_DIR}/jail.conf`).isFile && Deno.statSync(F2B_SAMPLES).isDirectory;
  } catch {
    return false;
  }
}

const HAVE_F2B = installed();
if (!HAVE_F2B) {
  // deno-lint-ignore no-console
  console.warn(
    `fail2ban_import_test: fail2ban is not installed (${F2B_DIR}, ${F2B_SAMPLES}); ` +
      "skipping the tests against the stock configuration (apt-get install fail2ban)",
  );
}

Deno.test({
  name: "importFail2ban converts the installed /etc/fail2ban into a jails.toml parseConfig accepts",
  ignore: !HAVE_F2B,
  fn() {
    const result = importFail2ban(F2B_DIR, denoIniIo(), { all: true });
    let config: Config | undefined;
    try {
      config = parseConfig(result.toml, { file: "debian.toml" });
    } catch (e) {
      if (e instanceof ConfigError) throw new Error(e.problems.slice(0, 20).join("\n"));
      throw e;
    }
    assertOk(config.jails.length > 50, `only ${config.jails.length} jails`);
    // Debian enables sshd (jail.d/defaults-debian.conf) with iptables -> nft; it stays enabled
    // unless its filter cannot be used, which the report then says
    const sshd = config.jails.find((j) => j.name === "sshd");
    assertEquals([sshd?.backend, sshd?.logPaths], ["nft", ["/var/log/auth.log"]]);
    const disabledWhy = result.problems.map(formatImportProblem)
      .filter((l) => /jail\.sshd\.\S+: not converted: .*enabled = false$/.test(l));
    assertEquals(sshd?.enabled, disabledWhy.length === 0, disabledWhy.join("\n"));
    for (const line of result.problems.map(formatImportProblem)) {
      assertMatch(line, /^\/etc\/fail2ban\/\S+:\d+: \S+: (?:not converted|warning|note): /);
    }
    // only the jails fail2ban runs, by default
    const enabled = importFail2ban(F2B_DIR, denoIniIo());
    assertEquals(enabled.jails, config.jails.filter((j) => j.enabled).map((j) => j.name));
    assertMatch(
      enabled.toml,
      /^# \d+ jails enabled in fail2ban written; \d+ disabled ones skipped/m,
    );
    assertNotMatch(result.toml, /undefined|NaN/);
  },
});

/** The filters the issue requires to agree with fail2ban's annotations. */
const REQUIRED = [
  "postfix",
  "dovecot",
  "sshd",
  "courier-auth",
  "courier-smtp",
  "exim",
  "cyrus-imap",
];

for (const name of REQUIRED) {
  Deno.test({
    name: `checkSampleAgreement: converted ${name} agrees with fail2ban's failJSON annotations`,
    ignore: !HAVE_F2B,
    fn() {
      const io = denoIniIo();
      const results = checkSampleAgreement(
        F2B_DIR,
        name,
        io,
        (f) => io.readFile(`${F2B_SAMPLES}/${f}`),
      );
      assertOk(results.length > 0, `no samples for ${name}`);
      const problems: string[] = [];
      for (const r of results) {
        const opts = JSON.stringify(r.options);
        if (r.error) problems.push(`${opts}: ${r.error}`);
        for (const d of r.disagreements.slice(0, 5)) {
          const want = d.sample.match ? `match ${d.sample.host ?? ""}` : "no match";
          problems.push(`${opts} ${d.sample.file}:${d.sample.lineNo}: want ${want}, got ${d.got}`);
        }
        // Only the deliberate refusal of `192.030.0.6` (octal or decimal?) may be set aside:
        // sshd's connection-spanning failures must agree line by line (lib/sessions.ts).
        for (const k of r.skipped.filter((x) => x.reason !== "leading-zero-ipv4").slice(0, 5)) {
          problems.push(`${opts} ${k.sample.file}:${k.sample.lineNo}: skipped (${k.reason})`);
        }
      }
      assertEquals(problems, []);
    },
  });
}

Deno.test("checkSampleAgreement throws nothing for a filter without samples", () => {
  const io = memIo({ "/f/filter.d/x.conf": "[Definition]\nfailregex = ^x <HOST>$\n" });
  assertEquals(checkSampleAgreement("/f", "x", io, () => undefined), []);
});

Deno.test("equivalentBuiltin() never takes a session filter for a one-line built-in", () => {
  const sshd = findBuiltinFilter("sshd");
  assertOk(sshd);
  // The built-in's own patterns plus a connection id and two lines that only sessions use.
  const spec: FilterSpec = {
    ...sshd,
    name: "sshd-with-sessions",
    prefregex: String
      .raw`^\s*(?:<[\w.]{1,24}> )?\S+ sshd(?:-session)?(?:\[<F-MLFID>\d+</F-MLFID>\]: |: | (?:\d+|-) \S+ - )`,
    failregex: [
      ...sshd.failregex,
      String.raw`^\s*\S+ sshd\[\d+\]: <F-NOFAIL>Connection from</F-NOFAIL> <HOST> port \d+`,
      String.raw`^\s*\S+ sshd\[\d+\]: Disconnecting: Too many authentication failures \[preauth\]$`,
    ],
  };
  const failed =
    "Mar  8 10:00:06 mx sshd[4103]: Failed password for root from 198.51.100.9 port 1 ssh2";
  // On one-line failures both agree...
  assertEquals(equivalentBuiltin(spec, [failed])?.name, "sshd");
  // ...but only the session filter bans a connection whose failure line has no address.
  const session = [
    failed,
    "Mar  8 10:00:07 mx sshd[4104]: Connection from 198.51.100.7 port 40001 on 192.0.2.1 port 22",
    "Mar  8 10:00:08 mx sshd[4104]: Disconnecting: Too many authentication failures [preauth]",
  ];
  assertEquals(equivalentBuiltin(spec, session), undefined);
});
