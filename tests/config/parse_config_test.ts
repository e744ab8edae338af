import { assertEquals, assertMatch, assertNotMatch, assertOk, assertThrows } from "../_assert.ts";
import { type Config, GLOBAL_KEYS, type JailConfig } from "../../lib/config/schema.ts";
import { parseConfig } from "../../lib/config/parse_config.ts";
import { ConfigError } from "../../lib/core/errors.ts";
import { compileFilter, matchLine } from "../../lib/filter/mod.ts";

const DIR = new URL("../testdata/jails/", import.meta.url);
const REPO_JAILS = new URL("../../jails.toml", import.meta.url);

function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(name, DIR));
}

/** Reads filter files of fixtures: parseConfig hands over paths joined to the config's dir. */
function readFixture(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(new URL(path, DIR));
  } catch {
    return undefined;
  }
}

function load(name: string): Config {
  return parseConfig(fixture(name), { file: name, readFile: readFixture });
}

function problems(fn: () => unknown): readonly string[] {
  const e = assertThrows(fn);
  assertOk(e instanceof ConfigError, `expected ConfigError, got ${e.name}`);
  return e.problems;
}

function problemsOf(text: string, file = "t.toml"): readonly string[] {
  return problems(() => parseConfig(text, { file, readFile: readFixture }));
}

function jail(config: Config, name: string): JailConfig {
  const found = config.jails.find((j) => j.name === name);
  assertOk(found, `jail ${name} missing`);
  return found;
}

const FAIL = "'^\\S+ prog\\[\\d+\\]: failed from <HOST>$'";

Deno.test("parseConfig() applies every default of [global] and of a jail", () => {
  const config = load("defaults.toml");
  assertEquals(config.file, "defaults.toml");
  assertEquals(config.global, {
    stateDir: "/var/db/banwatch",
    socket: "/var/run/banwatch.sock",
    ipfwPath: "/sbin/ipfw",
    pfctlPath: "/sbin/pfctl",
    nftPath: "/usr/sbin/nft",
    pollInterval: 1,
    ignoreIp: [],
    ignoreSelf: true,
    dbPurgeAge: 30 * 86400,
    maxTracked: 100000,
    timezone: undefined,
    unbanOnStop: false,
    firewallTimeout: 10,
    rotationWait: 15,
    hookTimeout: 10,
    metricsFile: undefined,
    metricsInterval: 15,
    firewallCheckInterval: 300,
  });
  assertEquals(config.jails.length, 1);
  const x = jail(config, "x");
  assertEquals(x, {
    name: "x",
    enabled: true,
    logPaths: ["/var/log/x.log"],
    filter: { name: "x", failregex: ["^\\S+ prog\\[\\d+\\]: failed from <HOST>$"] },
    filterSource: "inline",
    maxRetry: 5,
    findTime: 600,
    banTime: 600,
    banTimeIncrement: {
      enabled: false,
      factor: 1,
      multipliers: [],
      formula: undefined,
      maxtime: Infinity,
      overalljails: false,
      rndtime: 0,
    },
    ignoreIp: [],
    backend: "ipfw",
    table: "x",
    usedns: false,
    ipv6Prefix: 64,
    ipv6PrefixMaxRetry: undefined,
    ipv4Prefix: undefined,
    ipv4PrefixMaxRetry: undefined,
    ports: [],
    protocol: "tcp",
    ruleNumber: undefined,
    manageRule: false,
    onBan: undefined,
    onUnban: undefined,
  });
});

Deno.test("parseConfig() of an empty file gives the defaults and no jails", () => {
  const config = parseConfig("", { file: "empty.toml" });
  assertEquals(config.jails, []);
  assertEquals(config.global.socket, "/var/run/banwatch.sock");
});

Deno.test("parseConfig() leaves a jail disabled unless enabled = true", () => {
  const config = parseConfig(`[jail.x]\nlogpath = "/l"\nfailregex = ${FAIL}\n`, { file: "t" });
  assertEquals(jail(config, "x").enabled, false);
});

Deno.test("parseConfig() reads every [global] key", () => {
  const g = load("inherit.toml").global;
  assertEquals(g.stateDir, "/tmp/bw");
  assertEquals(g.socket, "/tmp/bw.sock");
  assertEquals(g.ipfwPath, "/usr/local/sbin/ipfw");
  assertEquals(g.pfctlPath, "/usr/local/sbin/pfctl");
  assertEquals(g.nftPath, "/usr/local/sbin/nft");
  assertEquals(g.pollInterval, 2);
  assertEquals(g.ignoreIp.map((c) => c.text), ["127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32"]);
  assertEquals(g.ignoreSelf, false);
  assertEquals(g.dbPurgeAge, 7 * 86400);
  assertEquals(g.maxTracked, 5000);
  assertEquals(g.timezone, "Asia/Tokyo");
  assertEquals(g.unbanOnStop, true);
  assertEquals(g.firewallTimeout, 30);
  assertEquals(g.firewallCheckInterval, 60);
});

Deno.test("parseConfig() lets jails inherit [defaults] and override them key by key", () => {
  const config = load("inherit.toml");
  assertEquals(config.jails.map((j) => j.name), ["a", "b", "c"]);

  const a = jail(config, "a");
  assertEquals(a.enabled, true);
  assertEquals(a.logPaths, ["/var/log/a.log", "/var/log/a/*.log"]);
  assertEquals(a.maxRetry, 3);
  assertEquals(a.findTime, 3600);
  assertEquals(a.banTime, Infinity);
  assertEquals(a.backend, "dry-run");
  assertEquals(a.table, "a");
  assertEquals(a.ipv6Prefix, 56);
  assertEquals(a.ignoreIp.map((c) => c.text), ["192.0.2.1/32"]);
  assertEquals(a.banTimeIncrement, {
    enabled: true,
    factor: 2,
    multipliers: [],
    formula: undefined,
    maxtime: 7 * 86400,
    overalljails: false,
    rndtime: 0,
  });
  // [defaults] datepattern reaches the inline filter; [global] timezone is the fallback zone.
  assertEquals(a.filter.datepattern, "{^LN-BEG}");
  assertEquals(a.filter.timezone, "Asia/Tokyo");

  const b = jail(config, "b");
  assertEquals(b.logPaths, ["logs/b.log"], "relative to the config file's directory");
  assertEquals(b.filter.failregex.length, 2);
  assertEquals(b.filter.ignoreregex, ["^\\S+ b\\[\\d+\\]: failed from \\S+ \\(test\\)$"]);
  assertEquals(b.maxRetry, 1);
  assertEquals(b.findTime, 3600);
  assertEquals(b.banTime, 86400);
  assertEquals(b.ignoreIp.map((c) => c.text), ["192.0.2.1/32", "198.51.100.0/24"]);
  assertEquals(b.banTimeIncrement, {
    enabled: true,
    factor: 2,
    multipliers: [1, 5, 30],
    formula: undefined,
    maxtime: 7 * 86400,
    overalljails: true,
    rndtime: 0,
  });
  assertEquals(b.backend, "ipfw");
  assertEquals(b.table, "bw-b");
  assertEquals(b.ipv6PrefixMaxRetry, 4);
  assertEquals(b.ipv4Prefix, 24);
  assertEquals(b.ipv4PrefixMaxRetry, 10);
  assertEquals(b.ports, [110, 995]);
  assertEquals(b.protocol, "udp");
  assertEquals(b.ruleNumber, 1000);
  assertEquals(b.manageRule, false);
  assertEquals(b.filter.timezone, "UTC");
  assertEquals(b.usedns, true);
  assertEquals(b.filter.usedns, true);

  const c = jail(config, "c");
  assertEquals(c.enabled, false);
  assertEquals(c.logPaths, []);
  assertEquals(c.filterSource, "none");
});

Deno.test("parseConfig() resolves relative logpaths against the config file's directory", () => {
  const text = `[jail.x]\nenabled = true\nlogpath = ["a.log", "/abs.log", "../b/*.log"]\n` +
    `failregex = ${FAIL}\n`;
  const config = parseConfig(text, { file: "/etc/banwatch/jails.toml" });
  assertEquals(jail(config, "x").logPaths, [
    "/etc/banwatch/a.log",
    "/abs.log",
    "/etc/b/*.log",
  ]);
});

Deno.test("parseConfig() turns a rule number on rule management unless manage_rule = false", () => {
  const base = `[jail.x]\nenabled = true\nlogpath = "/l"\nfailregex = ${FAIL}\n`;
  const on = jail(parseConfig(`${base}rule = 2100\nport = 110\n`, { file: "t" }), "x");
  assertEquals([on.ruleNumber, on.manageRule, on.ports], [2100, true, [110]]);
  const off = jail(parseConfig(`${base}rule = 2100\nmanage_rule = false\n`, { file: "t" }), "x");
  assertEquals([off.ruleNumber, off.manageRule], [2100, false]);
});

Deno.test("parseConfig() accepts durations in every documented form", () => {
  const base = `[jail.x]\nenabled = true\nlogpath = "/l"\nfailregex = ${FAIL}\n`;
  const cases: [string, number][] = [
    ['"90s"', 90],
    ['"20m"', 1200],
    ['"1h"', 3600],
    ['"1d"', 86400],
    ['"4w"', 4 * 604800],
    ['"1h30m"', 5400],
    ["1200", 1200],
    ['"forever"', Infinity],
  ];
  for (const [text, seconds] of cases) {
    const config = parseConfig(`${base}bantime = ${text}\n`, { file: "t" });
    assertEquals(jail(config, "x").banTime, seconds, text);
  }
  assertEquals(
    problemsOf(`${base}findtime = "forever"\n`),
    [
      't.toml:5:12: jail.x.findtime: "forever" is not a duration; expected e.g. "90s", "20m", "1h", "1d", "4w" or integer seconds',
    ],
  );
  assertEquals(
    problemsOf(`${base}findtime = 0\n`),
    ["t.toml:5:12: jail.x.findtime: 0 is too short; expected a duration of at least 1s"],
  );
});

Deno.test("parseConfig() reports every problem of a file at once, one line each, in file order", () => {
  const got = problems(() => load("errors.toml"));
  const DUR = `e.g. "90s", "20m", "1h", "1d", "4w" or integer seconds`;
  const expected = [
    'errors.toml:3:13: global.ipfw_path: "ipfw" is not an absolute path; expected an absolute path such as "/sbin/ipfw"',
    'errors.toml:4:17: global.poll_interval: "0s" is too short; expected a duration of at least 10ms',
    `errors.toml:5:1: global.colour: unknown key; expected one of ${GLOBAL_KEYS.join(", ")}`,
    'errors.toml:8:12: defaults.maxretry: "5" is not an integer; expected an integer from 1 to 1000000',
    `errors.toml:9:11: defaults.bantime: -1 is not a duration (use "forever" for a permanent ban); expected ${DUR}, or "forever"`,
    `errors.toml:14:12: jail.qpopperauth.findtime: "1 month" is not a duration; expected ${DUR}`,
    null, // 15:10 unknown built-in filter: checked below (the list of names is not ours)
    "errors.toml:16:15: jail.qpopperauth.ipv6_prefix: 129 is out of range; expected an integer from 1 to 128",
    'errors.toml:17:11: jail.qpopperauth.backend: "ipchains" is not allowed; expected one of "ipfw", "pf", "nft", "dry-run"',
    'errors.toml:18:9: jail.qpopperauth.table: "all" is not a valid table name; expected an ipfw table name of 1..63 characters from A-Z a-z 0-9 "-" "_" ".", not "all"',
    'errors.toml:19:26: jail.qpopperauth.ignoreip[1]: "mail.example.com" is not an address or CIDR; expected an address or CIDR such as "192.0.2.1", "198.51.100.0/24" or "2001:db8::/32" (host names are not resolved)',
    "errors.toml:20:14: jail.qpopperauth.port[1]: 70000 is not a port number; expected a port number 1..65535 or a list of them",
    'errors.toml:21:10: jail.qpopperauth.usedns: "yes" is not a boolean; expected true or false (write usedns = true, without quotes)',
    'errors.toml:22:1: jail.qpopperauth.maxretrys: unknown key; expected "maxretry"',
    "errors.toml:26:11: jail.qpopperauth.bantime_increment.formula: not supported; expected factor or multipliers instead (no expression language)",
    "errors.toml:27:22: jail.qpopperauth.bantime_increment.multipliers[2]: 0 is out of range; expected an integer from 1 to 1000000",
    'errors.toml:29:1: jail.inline.logpath: missing for an enabled jail; expected a path or a list of paths, e.g. "/var/log/maillog" (globs allowed)',
    null, // 33:3 failregex without <HOST>: message from validateFilter, checked below
    'errors.toml:35:12: jail.inline.timezone: "Mars/Olympus" is not a known time zone; expected a time zone: "UTC", "local", an IANA name such as "Asia/Tokyo", or "+0900"',
    'errors.toml:37:1: jail.nolog.logpath: missing for an enabled jail; expected a path or a list of paths, e.g. "/var/log/maillog" (globs allowed)',
  ];
  assertEquals(got.length, expected.length, got.join("\n"));
  expected.forEach((line, n) => {
    if (line !== null) assertEquals(got[n], line);
  });
  assertMatch(
    got[6] ?? "",
    /^errors\.toml:15:10: jail\.qpopperauth\.filter: unknown built-in filter "qpoper"; expected one of .*qpopper.*, or a filter file path/,
  );
  assertMatch(got[17] ?? "", /^errors\.toml:33:3: jail\.inline\.failregex\[1\]: .+; expected .+/);
  for (const line of got) {
    assertNotMatch(line, /\n|\s+at\s+\S+:\d+:\d+|Error:/);
    assertMatch(
      line,
      /^errors\.toml:\d+:\d+: [a-z_]+(\.[A-Za-z0-9_-]+|\[\d+\])*: .+; expected .+$/,
    );
  }
});

Deno.test("parseConfig() locates a TOML syntax error by line and column", () => {
  assertEquals(problems(() => load("syntax_error.toml")), [
    'syntax_error.toml:4:15: toml: each key-value declaration must be followed by an end-of-line; expected valid TOML (write findtime = "20 minutes")',
  ]);
  const [line] = problemsOf('[jail.x]\nmaxretry = "unterminated\n');
  assertMatch(line ?? "", /^t\.toml:2:\d+: toml: .+; expected valid TOML$/);
  const [dup] = problemsOf("[jail.x]\nmaxretry = 1\nmaxretry = 2\n");
  assertMatch(dup ?? "", /^t\.toml:3:1: toml: .+; expected valid TOML$/);
});

Deno.test("parseConfig() resolves a filter by built-in name, file, inline text or jail name", () => {
  const config = load("filters.toml");

  const builtin = jail(config, "builtin");
  assertEquals(builtin.filterSource, "builtin:qpopper");
  assertEquals(builtin.filter.name, "qpopper");
  assertOk(builtin.filter.failregex.length > 0);
  assertEquals(builtin.filter.datepattern, "{^LN-BEG}%b %d %H:%M:%S", "inline key overrides");
  assertEquals(builtin.filter.ignoreregex?.at(-1), 'for "test"', "inline ignoreregex is added");

  const file = jail(config, "file");
  assertEquals(file.filterSource, "local-qpopper.filter.toml");
  assertEquals(file.filter.name, "local-qpopper");
  assertEquals(file.filter.description, "qpopper password failures (site copy)");
  assertEquals(file.filter.datepattern, "{^LN-BEG}");
  assertEquals(file.filter.timezone, "UTC");
  assertEquals(file.filter.failregex, [
    '^\\S+ qpopper\\[\\d+\\]: \\S+ at \\S+ \\(<HOST>\\): -ERR \\[AUTH\\] Password supplied for "[^"]*" is incorrect\\.$',
  ]);
  assertEquals([file.usedns, file.filter.usedns], [true, true]);

  const inline = jail(config, "inline");
  assertEquals(inline.filterSource, "inline");
  assertEquals(inline.filter.name, "inline");
  assertEquals(inline.filter.prefregex, "^\\S+ prog\\[\\d+\\]: <F-CONTENT>.+</F-CONTENT>$");

  const sshd = jail(config, "sshd");
  assertEquals(sshd.filterSource, "builtin:sshd", "a jail named after a built-in filter uses it");
  assertEquals(sshd.logPaths, ["/var/log/auth.log"]);
});

Deno.test("parseConfig() reports a broken filter file in its own lines and an unreadable one", () => {
  const got = problems(() => load("uses_broken_filter.toml"));
  assertEquals(
    got[0],
    "broken.filter.toml:1:15: description: 7 is not a string; expected a string",
  );
  assertMatch(got[1] ?? "", /^broken\.filter\.toml:4:3: failregex\[1\]: .+; expected .+$/);
  assertEquals(
    got[2],
    `broken.filter.toml:6:1: severity: unknown key; expected one of description, example, failregex, ignoreregex, prefregex, datepattern, usedns, timezone`,
  );
  assertEquals(
    got[3],
    'uses_broken_filter.toml:9:10: jail.two.filter: cannot read filter file "missing.filter.toml": not found; expected a readable banwatch filter file (TOML)',
  );
  assertEquals(got.length, 4);
});

Deno.test("parseConfig() names the reader's reason and copes without a reader", () => {
  const text = `[jail.x]\nenabled = true\nlogpath = "/l"\nfilter = "f/x.toml"\n`;
  const got = problems(() =>
    parseConfig(text, {
      file: "/etc/bw/jails.toml",
      readFile: (path) => {
        throw new Error(`permission denied\n    at ${path}`);
      },
    })
  );
  assertEquals(got, [
    '/etc/bw/jails.toml:4:10: jail.x.filter: cannot read filter file "/etc/bw/f/x.toml": permission denied; expected a readable banwatch filter file (TOML)',
  ]);
  assertMatch(
    problems(() => parseConfig(text, { file: "j.toml" }))[0] ?? "",
    /^j\.toml:4:10: jail\.x\.filter: cannot read filter file "f\/x\.toml": no file reader available;/,
  );
});

Deno.test("parseConfig() rejects filter together with failregex, and a jail without filter", () => {
  assertEquals(
    problemsOf(`[jail.x]\nenabled = true\nlogpath = "/l"\nfilter = "sshd"\nfailregex = ${FAIL}\n`),
    [
      't.toml:5:1: jail.x.failregex: cannot be combined with filter; expected either filter = "NAME" or an inline failregex',
    ],
  );
  assertEquals(problemsOf(`[jail.mine]\nenabled = true\nlogpath = "/l"\n`), [
    't.toml:1:1: jail.mine.filter: missing for an enabled jail; expected filter = "NAME" (a built-in filter or a filter file) or failregex = [...]',
  ]);
});

Deno.test("parseConfig() takes a jail's filter group whole, not mixed with [defaults]", () => {
  const text = `[defaults]\nenabled = true\nlogpath = "/l"\nfailregex = ${FAIL}\n\n` +
    `[jail.a]\n\n[jail.b]\nfilter = "sshd"\n`;
  const config = parseConfig(text, { file: "t" });
  assertEquals(jail(config, "a").filterSource, "inline");
  assertEquals(jail(config, "b").filterSource, "builtin:sshd");
});

Deno.test("parseConfig() explains fail2ban's dotted bantime.increment keys", () => {
  const text = `[jail.x]\nbantime.increment = true\nbantime.factor = 2\n`;
  assertEquals(problemsOf(text), [
    't.toml:2:1: jail.x.bantime.increment: unknown key (a dotted key makes "bantime" a table); expected [jail.x.bantime_increment] enabled = true',
    't.toml:3:1: jail.x.bantime.factor: unknown key (a dotted key makes "bantime" a table); expected [jail.x.bantime_increment] factor = 2',
  ]);
});

Deno.test("parseConfig() checks keys that depend on each other", () => {
  const base = `[jail.x]\nenabled = true\nlogpath = "/l"\nfailregex = ${FAIL}\n`;
  assertEquals(problemsOf(`${base}port = 25\nprotocol = "all"\n`), [
    't.toml:6:12: jail.x.protocol: "all" cannot be combined with port; expected protocol = "tcp" or "udp" when ports are given',
  ]);
  assertEquals(problemsOf(`${base}backend = "pf"\nrule = 100\n`), [
    't.toml:6:8: jail.x.rule: rule numbers exist only for ipfw, not backend "pf"; expected backend = "ipfw" or no rule',
  ]);
  assertEquals(problemsOf(`${base}manage_rule = true\n`), [
    "t.toml:5:15: jail.x.manage_rule: true without a rule number; expected rule = N (an ipfw rule number) as well",
  ]);
  assertEquals(problemsOf(`${base}backend = "pf"\ntable = "${"t".repeat(40)}"\n`), [
    `t.toml:6:9: jail.x.table: "${
      "t".repeat(40)
    }" is longer than pf's 31 characters; expected a table name of at most 31 characters`,
  ]);
});

Deno.test("parseConfig() validates jail names and the table name they default to", () => {
  assertEquals(problemsOf(`[jail."a.b"]\nenabled = false\n`), [
    't.toml:1:1: jail."a.b": "a.b" is not a valid jail name; expected 1..63 characters from A-Z a-z 0-9 - _',
  ]);
  assertEquals(problemsOf(`[jail.all]\nlogpath = "/l"\nfailregex = ${FAIL}\n`), [
    't.toml:1:1: jail.all.table: the jail name "all" is not a valid table name; expected an ipfw table name of 1..63 characters from A-Z a-z 0-9 "-" "_" ".", not "all"',
  ]);
  // blocklistd's port<N> names are legal here; `banwatch check` warns about them.
  const config = parseConfig(`[jail.x]\ntable = "port25"\n`, { file: "t" });
  assertEquals(jail(config, "x").table, "port25");
});

Deno.test("parseConfig() rejects unknown sections and non-table jails", () => {
  assertEquals(problemsOf(`[jails.x]\nenabled = true\n\n[jail]\ny = 3\n`), [
    "t.toml:1:1: jails: unknown section or key; expected [global], [defaults], [jail.NAME] or [crowdsec]",
    "t.toml:5:5: jail.y: 3 is not a table; expected a table [jail.NAME] of jail settings",
  ]);
});

Deno.test("parseConfig() shortens long values and keeps messages on one line", () => {
  const long = "x".repeat(500);
  const [line] = problemsOf(`[global]\nstate_dir = 5\nsocket = "/${long}"\n`).slice(1);
  assertOk(line !== undefined);
  assertOk(line.length < 300, line);
  assertMatch(line, /^t\.toml:3:10: global\.socket: "\/x+…" is longer than 103 bytes; expected/);
  const [multi] = problemsOf(`[defaults]\nbantime = """a\nb"""\n`);
  assertEquals(
    multi,
    't.toml:2:11: defaults.bantime: "a\\nb" is not a duration; expected e.g. "90s", "20m", "1h", "1d", "4w" or integer seconds, or "forever"',
  );
});

Deno.test("parseConfig() locates keys after multi-line strings, arrays and inline tables", () => {
  const text = [
    "[defaults]",
    'ignoreregex = """',
    "[jail.fake]",
    'bantime = "nope"',
    '"""',
    "ignoreip = [",
    '  "192.0.2.1", # comment with ] and "quote"',
    "  'not-an-ip',",
    "]",
    "bantime_increment = { enabled = true, factor = -1 }",
    '"maxretry" = 0',
  ].join("\n");
  assertEquals(problemsOf(text), [
    't.toml:8:3: defaults.ignoreip[1]: "not-an-ip" is not an address or CIDR; expected an address or CIDR such as "192.0.2.1", "198.51.100.0/24" or "2001:db8::/32" (host names are not resolved)',
    "t.toml:10:48: defaults.bantime_increment.factor: -1 is not allowed; expected a number above 0 and at most 1000000",
    "t.toml:11:14: defaults.maxretry: 0 is out of range; expected an integer from 1 to 1000000",
  ]);
});

Deno.test("parseConfig() reads the repo's jails.toml with the admin's three jails", () => {
  const config = parseConfig(Deno.readTextFileSync(REPO_JAILS), { file: "jails.toml" });
  assertEquals(config.global.ipfwPath, "/sbin/ipfw");
  const seen = config.jails.map((j) => ({
    name: j.name,
    enabled: j.enabled,
    logPaths: j.logPaths,
    maxRetry: j.maxRetry,
    findTime: j.findTime,
    banTime: j.banTime,
    backend: j.backend,
    table: j.table,
  }));
  assertEquals(seen, [
    {
      name: "postfix-auth",
      enabled: true,
      logPaths: ["/var/log/maillog"],
      maxRetry: 2,
      findTime: 1200,
      banTime: 1200,
      backend: "ipfw",
      table: "postfix-auth",
    },
    {
      name: "qpopperauth",
      enabled: true,
      logPaths: ["/var/log/all.log"],
      maxRetry: 2,
      findTime: 1200,
      banTime: 86400,
      backend: "ipfw",
      table: "qpopperauth",
    },
    {
      name: "dovecot-pop3imap",
      enabled: true,
      logPaths: ["/var/log/auth.log"],
      maxRetry: 2,
      findTime: 1200,
      banTime: 1200,
      backend: "ipfw",
      table: "dovecot-pop3imap",
    },
  ]);
  assertEquals(config.jails.map((j) => j.filterSource), ["inline", "builtin:qpopper", "inline"]);
  assertMatch(config.jails[0]?.filter.failregex[0] ?? "", /^\^.*SASL LOGIN authentication failed/);
  assertMatch(config.jails[2]?.filter.failregex[0] ?? "", /^\^.*service qpopper/);
});

Deno.test("parseConfig() gives the repo's jails filters that match the admin's log lines", () => {
  const config = parseConfig(Deno.readTextFileSync(REPO_JAILS), { file: "jails.toml" });
  const now = Date.UTC(2024, 1, 17) / 1000;
  const cases: [string, string, string | undefined][] = [
    [
      "postfix-auth",
      "Jan 20 08:53:48 hoge postfix/smtpd[7395]: warning: unknown[194.33.191.13]: SASL LOGIN authentication failed: authentication failure, sasl_username=ishoika@mail.kuji-clinic.info",
      "194.33.191.13",
    ],
    [
      "postfix-auth",
      "Oct 26 10:21:21 hoge postfix/smtpd[4911]: warning: unknown[94.156.102.204]: SASL LOGIN authentication failed: authentication failure",
      "94.156.102.204",
    ],
    [
      "postfix-auth",
      "Oct 26 10:21:21 hoge postfix/smtpd[4911]: NOQUEUE: x warning: unknown[192.0.2.1]: SASL LOGIN authentication failed",
      undefined,
    ],
    [
      "qpopperauth",
      'Feb 16 10:21:00 hostname qpopper[25932]: foo@example.com at xxx.example.net (192.0.2.7): -ERR [AUTH] Password supplied for "foo@example.com" is incorrect.',
      "192.0.2.7",
    ],
    [
      "dovecot-pop3imap",
      "Feb 16 10:21:00 mail inetd[1234]: refused connection from 203.0.113.9, service qpopper (tcp)",
      "203.0.113.9",
    ],
    [
      "dovecot-pop3imap",
      "Feb 16 10:21:00 mail inetd[1234]: refused connection from 203.0.113.9, service ftpd (tcp)",
      undefined,
    ],
  ];
  for (const [name, line, host] of cases) {
    const verdict = matchLine(compileFilter(jail(config, name).filter), line, now);
    if (host === undefined) assertEquals(verdict.kind, "missed", line);
    else {assertEquals([verdict.kind, verdict.kind === "matched" ? verdict.host : ""], [
        "matched",
        host,
      ]);}
  }
});

Deno.test("parseConfig() reports inline overrides of a built-in filter at the jail's own keys", () => {
  const text = `[jail.x]\nenabled = true\nlogpath = "/l"\nfilter = "postfix-sasl"\n` +
    `datepattern = "%Q"\nignoreregex = ["ok", "("]\n`;
  const got = problemsOf(text);
  assertEquals(got.length, 2, got.join("\n"));
  assertMatch(got[0] ?? "", /^t\.toml:5:15: jail\.x\.datepattern: .*%Q.*; expected /);
  assertMatch(got[1] ?? "", /^t\.toml:6:22: jail\.x\.ignoreregex\[1\]: .+; expected /);
});

Deno.test("parseConfig() parses jails.toml with every commented option uncommented", () => {
  // The commented lines show defaults and examples: they must be valid when uncommented.
  const lines = Deno.readTextFileSync(REPO_JAILS).split("\n");
  const text = lines.map((l) =>
    /^# ?\[?[a-z_]+(\.[a-z_]+)*\]? ?(=|$)/.test(l) ? l.replace(/^# ?/, "") : l
  )
    .join("\n");
  assertOk(text !== lines.join("\n"));
  const config = parseConfig(text, { file: "jails.toml" });
  const postfix = jail(config, "postfix-auth");
  assertEquals(postfix.ports, [25, 465, 587]);
  assertEquals(postfix.ruleNumber, 1000);
  assertEquals(postfix.banTimeIncrement.multipliers, [1, 2, 4, 8, 16, 32, 64]);
  assertEquals(config.global.ignoreIp.length, 3);
});

Deno.test("parseConfig() reads hooks and metrics keys, a jail's on_ban winning over [defaults]", () => {
  const config = parseConfig(
    `[global]
hook_timeout = "3s"
metrics_file = "/var/tmp/node_exporter/banwatch.prom"
metrics_interval = "1m"

[defaults]
on_ban = ["/usr/local/libexec/banwatch/mail-root", "ban", "{jail}", "{addr}"]
on_unban = ["/bin/echo", "unban {addr} after {bantime}s on {hostname} at {time}"]

[jail.x]
enabled = true
logpath = "/l"
failregex = ${FAIL}
on_ban = ["/bin/logger", "-t", "banwatch", "{jail}: {addr} ({failures} failures, ban {count})"]

[jail.y]
enabled = true
logpath = "/l"
failregex = ${FAIL}
`,
    { file: "hooks.toml" },
  );
  assertEquals(config.global.hookTimeout, 3);
  assertEquals(config.global.metricsFile, "/var/tmp/node_exporter/banwatch.prom");
  assertEquals(config.global.metricsInterval, 60);
  assertEquals(jail(config, "x").onBan, [
    "/bin/logger",
    "-t",
    "banwatch",
    "{jail}: {addr} ({failures} failures, ban {count})",
  ]);
  assertEquals(jail(config, "y").onBan, [
    "/usr/local/libexec/banwatch/mail-root",
    "ban",
    "{jail}",
    "{addr}",
  ]);
  assertEquals(jail(config, "x").onUnban, jail(config, "y").onUnban);
});

Deno.test("parseConfig() reports bad hooks and metrics keys with file:line:col", () => {
  const text = `[global]
metrics_file = "banwatch.prom"
metrics_interval = "0s"
hook_timeout = "never"

[jail.x]
enabled = true
logpath = "/l"
failregex = ${FAIL}
on_ban = ["mail-root", "{addr}"]
on_unban = ["/bin/echo", "{address}"]

[jail.y]
enabled = true
logpath = "/l"
failregex = ${FAIL}
on_ban = "/bin/echo {addr}"
on_unban = []
`;
  const err = assertThrows(() => parseConfig(text, { file: "bad.toml" }));
  assertOk(err instanceof ConfigError);
  const lines = err.message.split("\n");
  const expect = [
    "bad.toml:2:16: global.metrics_file:",
    "bad.toml:3:20: global.metrics_interval:",
    "bad.toml:4:16: global.hook_timeout:",
    'bad.toml:10:11: jail.x.on_ban[0]: "mail-root" is not an absolute path',
    "bad.toml:11:26: jail.x.on_unban[1]: unknown placeholder {address}; expected one of {jail}, {addr},",
    'bad.toml:17:10: jail.y.on_ban: "/bin/echo {addr}" is not a list;',
    "bad.toml:18:12: jail.y.on_unban: [] is empty",
  ];
  for (const start of expect) {
    assertOk(lines.some((l) => l.startsWith(start)), `${start}\n${err.message}`);
  }
});
