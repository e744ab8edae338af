/**
 * The shortcuts of `banwatch test` (the literal prefilter, the date memo, lines read in blocks)
 * must not change a single field of the report: every run here is compared with the plain path
 * (each line split by the line splitter and run through matchLine()).
 */
import { assertEquals, assertOk } from "../_assert.ts";
import { findBuiltinFilter } from "../../lib/filter/builtin.ts";
import { denoIniIo } from "../../lib/cli/commands/import.ts";
import { parseFilterFile } from "../../lib/config/mod.ts";
import { readFail2banFilter } from "../../lib/fail2ban/filter.ts";
import { compileFilter, type FilterSpec } from "../../lib/filter/mod.ts";
import { createBlockSplitter } from "../../lib/source/blocks.ts";
import { createLineSplitter } from "../../lib/source/splitter.ts";
import { prefilterRejects } from "../../lib/filter/prefilter.ts";
import {
  addLine,
  addText,
  createTestRun,
  formatReport,
  reportJson,
  type TestRun,
  type TestRunOptions,
} from "../../lib/cli/test_report.ts";
import { generateMaillog } from "../../scripts/gen_maillog.ts";

/** 2024-06-15T00:00:00Z (the fixtures' year-less dates fall in 2024). */
const NOW = Date.UTC(2024, 5, 15) / 1000;
const DATA = new URL("../testdata/", import.meta.url).pathname;
const enc = new TextEncoder();

/** How a run reads its input. */
interface Way {
  prefilter: boolean;
  dateMemo: boolean;
  /** Blocks (lib/line_blocks.ts) and addText(), or one addLine() per split line. */
  blocks: boolean;
}

const PLAIN: Way = { prefilter: false, dateMemo: false, blocks: false };
const FAST_WAYS: readonly Way[] = [
  { prefilter: true, dateMemo: true, blocks: true },
  { prefilter: true, dateMemo: false, blocks: true },
  { prefilter: false, dateMemo: true, blocks: true },
  { prefilter: true, dateMemo: true, blocks: false },
];

const ADMIN_POSTFIX = String.raw`warning: unknown\[<HOST>\]: SASL LOGIN authentication failed`;
const ADMIN_QPOPPER = String.raw`.* at .* \(<HOST>\): -ERR \[AUTH\] Password supplied .*`;

/** Report options: the default (where the quick path applies) and everything kept. */
const OPTION_SETS: ReadonlyArray<TestRunOptions & { collectFailures?: boolean }> = [
  {},
  {
    keepMatched: true,
    keepMissed: true,
    keepIgnored: true,
    explain: true,
    collectFailures: true,
    maxHosts: 3,
    ignore: (addr) => addr.text.startsWith("203.0.113.1") ? "ignoreip" : undefined,
  },
];

function run(
  spec: FilterSpec,
  bytes: Uint8Array,
  way: Way,
  options: TestRunOptions & { collectFailures?: boolean },
  chunk = 65536,
): TestRun {
  const r = createTestRun(compileFilter(spec), {
    ...options,
    prefilter: way.prefilter,
    dateMemo: way.dateMemo,
  });
  if (way.blocks) {
    const splitter = createBlockSplitter();
    const feed = (b: ReturnType<typeof splitter.flush>) => {
      if (b === undefined) return;
      if (b.kind === "lines") addText(r, b.text, NOW);
      else addLine(r, b.line.text, NOW, { truncated: b.line.truncated });
    };
    for (let at = 0; at < bytes.length; at += chunk) {
      for (const b of splitter.push(bytes.subarray(at, at + chunk))) feed(b);
    }
    feed(splitter.flush());
  } else {
    const splitter = createLineSplitter();
    for (let at = 0; at < bytes.length; at += chunk) {
      for (const l of splitter.push(bytes.subarray(at, at + chunk))) {
        addLine(r, l.text, NOW, { truncated: l.truncated });
      }
    }
    const last = splitter.flush();
    if (last) addLine(r, last.text, NOW, { truncated: last.truncated });
  }
  return r;
}

/** Every field of a run, and both printed forms. */
function snapshot(r: TestRun): unknown {
  return {
    json: reportJson(r),
    text: formatReport(r, { filterLabel: "f", logLabel: "l", datepattern: undefined }, {
      seconds: 0,
      printMatched: true,
      printMissed: true,
      printIgnored: true,
    }),
    lines: r.lines,
    matched: r.matched,
    ignored: r.ignored,
    missed: r.missed,
    truncated: r.truncated,
    regexHits: r.regexHits,
    ignoreHits: r.ignoreHits,
    misses: [...r.misses],
    hosts: [...r.hosts],
    hostsOverflow: r.hostsOverflow,
    kept: r.kept,
    failures: r.failures,
  };
}

/** Compares every fast way with the plain one; returns the default fast run. */
function assertSameReports(spec: FilterSpec, bytes: Uint8Array, what: string): TestRun {
  let fast: TestRun | undefined;
  for (const options of OPTION_SETS) {
    const want = snapshot(run(spec, bytes, PLAIN, options));
    for (const way of FAST_WAYS) {
      for (const chunk of way.blocks ? [65536, 977] : [65536]) {
        const r = run(spec, bytes, way, options, chunk);
        assertEquals(
          snapshot(r),
          want,
          `${what}: ${JSON.stringify(way)}, chunk ${chunk}, options ${Object.keys(options)}`,
        );
        if (options === OPTION_SETS[0] && way === FAST_WAYS[0] && chunk === 65536) fast = r;
      }
    }
  }
  return fast!;
}

function builtin(name: string): FilterSpec {
  const spec = findBuiltinFilter(name);
  assertOk(spec, name);
  return { ...spec, timezone: "UTC" };
}

function regex(failregex: string, extra: Partial<FilterSpec> = {}): FilterSpec {
  return { name: "cli", failregex: [failregex], timezone: "UTC", ...extra };
}

/** The filters every fixture is run through. */
function fixtureFilters(): Array<[string, FilterSpec]> {
  const io = denoIniIo();
  const out: Array<[string, FilterSpec]> = [
    ...["postfix-sasl", "dovecot", "qpopper", "tcp-wrappers", "sshd"].map((
      n,
    ): [string, FilterSpec] => [n, builtin(n)]),
    ["admin postfix", regex(ADMIN_POSTFIX)],
    ["admin qpopper", regex(ADMIN_QPOPPER)],
    ["admin qpopper, ignoreregex", regex(ADMIN_QPOPPER, { ignoreregex: [String.raw`"root"`] })],
    ["case-insensitive", regex(String.raw`(?i)FAILED PASSWORD FOR \S+ FROM <HOST>`)],
    [
      "sessions",
      {
        ...parseFilterFile(
          Deno.readTextFileSync(`${DATA}sessions/sshd-sessions.filter.toml`),
          "sshd-sessions.filter.toml",
        ),
        timezone: "UTC",
      },
    ],
  ];
  for (const name of ["postfix-auth", "qpopperauth", "dovecot-pop3imap"]) {
    const f = readFail2banFilter(`${DATA}fail2ban`, { name, options: {} }, io);
    out.push([`fail2ban ${name}`, { ...f.spec, timezone: "UTC" }]);
  }
  return out;
}

function fixtureLogs(): string[] {
  const out: string[] = [];
  for (const dir of ["filters", "demo", "hostile", "fail2ban/logs", "sessions"]) {
    for (const e of Deno.readDirSync(`${DATA}${dir}`)) {
      if (e.isFile && !e.name.endsWith(".toml") && !e.name.endsWith(".ts")) {
        out.push(`${dir}/${e.name}`);
      }
    }
  }
  return out.sort();
}

Deno.test("addText() and the prefilter give the plain report on every fixture log", async (t) => {
  const filters = fixtureFilters();
  for (const log of fixtureLogs()) {
    const bytes = Deno.readFileSync(`${DATA}${log}`);
    await t.step(log, () => {
      for (const [name, spec] of filters) assertSameReports(spec, bytes, `${log} / ${name}`);
    });
  }
});

Deno.test("addText() and the prefilter give the plain report on a generated maillog", () => {
  const bytes = enc.encode([...generateMaillog(20_000, 3)].join("\n") + "\n");
  for (
    const [name, spec] of [
      ["admin postfix", regex(ADMIN_POSTFIX)],
      ["admin qpopper", regex(ADMIN_QPOPPER)],
      ["postfix-sasl", builtin("postfix-sasl")],
      ["dovecot", builtin("dovecot")],
      ["sshd", builtin("sshd")],
    ] as const
  ) {
    const fast = assertSameReports(spec, bytes, name);
    // The comparison is not vacuous: the shortcuts did serve most lines.
    assertOk(fast.prefilter !== undefined, `${name}: no prefilter`);
    assertOk(fast.dates !== undefined && fast.dates.memoHits > 10_000, `${name}: memo unused`);
    assertOk(fast.matched > 100, `${name}: matched ${fast.matched}`);
  }
});

/** Lines made to trip the shortcuts: the literal without a match, a match without… */
const CRAFTED = [
  "Nov  1 00:00:00 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x",
  "Nov  1 00:00:00 mx1 postfix/smtpd[1]: warning: known[192.0.2.2]: SASL LOGIN authentication failed",
  "Nov  1 00:00:00 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.3]: SASL PLAIN authentication failed",
  "Nov  1 00:00:00 mx1 postfix/smtpd[1]: warning: unknown[host.example]: SASL LOGIN authentication failed",
  "Nov  1 00:00:00 mx1 ]: SASL LOGIN authentication failed",
  "no date warning: unknown[192.0.2.4]: SASL LOGIN authentication failed",
  "no date at all",
  "",
  "\r",
  "Nov  1 00:00:00 mx1 warning: unknown[192.0.2.5]: SASL LOGIN authentication failed\r",
  "Nov  1 00:00:00 mx1 warning: unknown[192.0.2.6]: SASL LOGIN authentication failed\r\r",
  "Nov  1 00:00:01 2024 mx1 warning: unknown[192.0.2.7]: SASL LOGIN authentication failed",
  "Nov  1 00:00:01 mx1 qpopper[2]: bob at host (192.0.2.8): -ERR [AUTH] Password supplied for bob",
  "Nov  1 00:00:01 mx1 qpopper[2]: bob at host 192.0.2.9: -ERR [AUTH] Password supplied for bob",
  "Nov  1 00:00:01 mx1 qpopper[2]: bob (192.0.2.10): -ERR [AUTH] Password supplied for bob",
  "[Nov  1 00:00:02] x 192.0.2.11",
  "[Nov  1 00:00:02] x 192.0.2.12",
  "abc 2024-06-01 10:00:00 def from 192.0.2.13",
  "abc  def from 192.0.2.14 2024-06-01 10:00:00",
  "2024-06-01 10:00:00 abc  def from 192.0.2.15",
  "Nov  1 00:00:03 mx1 sshd[3]: Failed password for root from 192.0.2.16 port 22 ssh2",
  "Nov  1 00:00:03 mx1 sshd[3]: failed password for root from 192.0.2.17 port 22 ssh2",
  "Nov  1 00:00:03 mx1 sshd[3]: Failed password for root from 203.0.113.18 port 22 ssh2",
  "Nov  1 00:00:03 mx1 sshd[3]: Failed password for root from 203.0.113.1 port 22 ssh2",
  "Nov  1 00:00:03 mx1 sshd[3]: Invalid user x\0y from 192.0.2.19 port 22",
  "Nov  1 00:00:03 mx1 sshd[3]: Failed password for ]: SASL LOGIN authentication failed",
];

Deno.test("addText() and the prefilter give the plain report on crafted lines", () => {
  const bytes = enc.encode(CRAFTED.join("\n") + "\n" + CRAFTED.join("\r\n"));
  const specs: Array<[string, FilterSpec]> = [
    ["admin postfix", regex(ADMIN_POSTFIX)],
    ["admin qpopper", regex(ADMIN_QPOPPER)],
    ["sshd", builtin("sshd")],
    ["postfix-sasl", builtin("postfix-sasl")],
    ["date not at the start", regex(String.raw`\[\] x <HOST>`)],
    [
      "searched datepattern",
      regex(String.raw`abc  def from <HOST>`, {
        datepattern: "%Y-%m-%d %H:%M:%S",
      }),
    ],
    ["prefregex", {
      name: "p",
      timezone: "UTC",
      prefregex: String.raw`^\s*\S+ sshd\[\d+\]: <F-CONTENT>.+</F-CONTENT>$`,
      failregex: [
        String.raw`Failed password for \S+ from <HOST>`,
        String.raw`Invalid user .* from <HOST>`,
      ],
    }],
    ["two failregexes, one without literal", {
      name: "two",
      timezone: "UTC",
      failregex: [ADMIN_POSTFIX, String.raw`(?i)failed password for \S+ from <HOST>`],
    }],
    [
      "ignoreregex",
      regex(String.raw`Failed password for \S+ from <HOST>`, {
        ignoreregex: [String.raw`from 203\.0\.113\.18 `],
      }),
    ],
    ["case-insensitive", regex(String.raw`(?i)Failed password for \S+ from <HOST>`)],
  ];
  for (const [name, spec] of specs) assertSameReports(spec, bytes, name);
});

Deno.test("addText() hands lines whose literal straddles the cut date to matchLine()", () => {
  // The regexes see "abc " + " def from …": the literal is in neither part of the line.
  const line = "abc 2024-06-01 10:00:00 def from 192.0.2.13";
  const spec = regex(String.raw`abc  def from <HOST>`, { datepattern: "%Y-%m-%d %H:%M:%S" });
  const r = run(spec, enc.encode(`${line}\n`), FAST_WAYS[0]!, {});
  assertOk(r.prefilter && prefilterRejects(r.prefilter, line), "the line must lack the literal");
  assertEquals([r.matched, [...r.hosts]], [1, [["192.0.2.13", 1]]]);
  assertEquals(reportJson(r).dateTemplates, { "%Y-%m-%d %H:%M:%S": 1 });
  // Same with a date found after one leading character by auto-detection.
  const r2 = run(
    regex(String.raw`\[\] x <HOST>`),
    enc.encode("[Nov  1 00:00:02] x 192.0.2.11\n"),
    FAST_WAYS[0]!,
    {},
  );
  assertEquals(r2.matched, 1);
});

Deno.test("createTestRun() keeps the date memo to auto-detected dates", () => {
  const auto = createTestRun(compileFilter(regex(ADMIN_POSTFIX)));
  assertOk(auto.options.dateMemo && auto.options.prefilter);
  const lnBeg = createTestRun(compileFilter(regex(ADMIN_POSTFIX, { datepattern: "{^LN-BEG}" })));
  assertOk(lnBeg.options.dateMemo);
  const own = createTestRun(compileFilter(regex(ADMIN_POSTFIX, { datepattern: "{DATE}" })));
  assertOk(!own.options.dateMemo && own.options.prefilter);
  const off = createTestRun(compileFilter(regex(ADMIN_POSTFIX)), {
    prefilter: false,
    dateMemo: false,
  });
  assertOk(off.dates === undefined && off.prefilter === undefined);
});

const STOCK_CONFIG = "/etc/fail2ban";
const STOCK_SAMPLES = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

Deno.test({
  name: "addText() and the prefilter give the plain report on fail2ban's stock filters",
  ignore: !isDir(`${STOCK_CONFIG}/filter.d`) || !isDir(STOCK_SAMPLES),
  fn() {
    const io = denoIniIo();
    let compared = 0;
    let prefiltered = 0;
    for (const e of [...Deno.readDirSync(STOCK_SAMPLES)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      if (!e.isFile) continue;
      const f = readFail2banFilter(STOCK_CONFIG, { name: e.name, options: {} }, io);
      if (f.files.length === 0) continue;
      const spec: FilterSpec = { ...f.spec, timezone: "UTC" };
      try {
        compileFilter(spec);
      } catch {
        continue; // not supported by banwatch (reported by import-fail2ban)
      }
      const r = assertSameReports(spec, Deno.readFileSync(`${STOCK_SAMPLES}/${e.name}`), e.name);
      compared++;
      if (r.prefilter !== undefined) prefiltered++;
    }
    assertOk(compared > 50, `only ${compared} stock filters compared`);
    assertOk(prefiltered > 20, `only ${prefiltered} stock filters have a prefilter`);
  },
});
