/**
 * The `banwatch test` report: counts every line of a log run through a filter, classifies every
 * miss with a reason and keeps one example per class, so "0 matched" never comes without the why.
 * Pure: lines, the clock value and the ignore check come in; numbers and text go out.
 *
 * Reading a whole log, most lines match nothing, so addText() takes blocks of lines and two
 * shortcuts that change no figure of the report: a line that lacks every literal a match needs
 * (lib/prefilter.ts) is judged by its date alone, and consecutive lines that start with the same
 * syslog date and host share one date detection (lib/date_memo.ts); such a line, once its class
 * has an example, is counted without even being sliced out of its block.
 * @module
 */
import type { IpAddress } from "../core/mod.ts";
import {
  type CompiledFilter,
  considerNearMiss,
  createNearMissTracker,
  createSteerCheck,
  dateHits,
  type DateMemo,
  explainMiss,
  type LinePrefilter,
  type LineVerdict,
  literalCursor,
  matchLine,
  NEAR_MISS_MIN_PROGRESS,
  type NearMiss,
  nearMissCandidate,
  type NearMissGroup,
  type NearMissTracker,
  prefilteredVerdict,
  quickFilter,
  rankNearMisses,
  SessionTracker,
  type SteerCheck,
  type SteeredHost,
  steeredHost,
  syslogRepeatCount,
  usesSessions,
} from "../filter/mod.ts";
import { forEachLine } from "../source/mod.ts";

/** Why a line did not count as a failure. */
export type MissClass =
  | "no-date"
  | "no-failregex"
  | "ignored"
  | "not-an-address"
  | "ignoreip"
  | "never-banned"
  | "truncated";

/** Human wording of each miss class, in report order. */
export const MISS_CLASSES: ReadonlyArray<readonly [MissClass, string]> = [
  ["no-date", "no date found"],
  ["no-failregex", "date found but no failregex matched"],
  ["ignored", "matched but ignored by ignoreregex"],
  ["not-an-address", "matched but the <HOST> text is not an address"],
  ["ignoreip", "matched but the address is in ignoreip"],
  ["never-banned", "matched but the address is never banned (loopback, this host's own)"],
  ["truncated", "longer than the line limit: cut, so never matched (its end is unknown)"],
];

/** A line kept for printing, with its number in the input. */
export interface NumberedLine {
  /** 1-based line number. */
  number: number;
  /** The line text. */
  text: string;
  /** For missed lines: why. */
  reason?: MissClass;
  /** For near misses: the furthest failregex (index) and the part of it that matched. */
  diverged?: { regex: number; after: string };
}

/** One miss class's count and its first example. */
export interface MissSummary {
  /** Lines in this class. */
  count: number;
  /** The first line of this class. */
  example: NumberedLine | undefined;
  /** For near misses, how far the regexes got on the example. */
  explanation?: NearMiss[];
  /** Why the example's address is not banned (`never banned: loopback`). */
  note?: string;
}

/** What to keep while counting. */
export interface TestRunOptions {
  /** Returns why an address must not be banned (ignoreip, loopback), or undefined. */
  ignore?: (addr: IpAddress) => string | undefined;
  /** Keep matched lines for --print-matched (at most `keepLimit`). */
  keepMatched?: boolean;
  /** Keep missed lines for --print-missed (at most `keepLimit`). */
  keepMissed?: boolean;
  /** Keep ignored lines for --print-ignored (at most `keepLimit`). */
  keepIgnored?: boolean;
  /** Most lines kept per kind, so memory stays bounded (default 100,000). */
  keepLimit?: number;
  /** Compute explanations for the example near misses. */
  explain?: boolean;
  /** Collect near misses, ranked (default true; lib/filter/near_miss.ts). */
  nearMisses?: boolean;
  /** Most distinct addresses counted in `hosts` (default 100,000; the rest count as overflow). */
  maxHosts?: number;
  /**
   * Judge lines that lack every literal a match needs without running matchLine() (default
   * true; lib/prefilter.ts). The report is the same either way.
   */
  prefilter?: boolean;
  /**
   * Take a line's date from the previous line when both start with the same syslog date and
   * host (default true, used only with auto-detected dates; lib/date_memo.ts). The report is
   * the same either way.
   */
  dateMemo?: boolean;
}

/** A failure found by the run: what `--simulate` feeds to the ban decisions. */
export interface FoundFailure {
  /** The line's own time (epoch seconds). */
  time: number;
  /** The normalised address. */
  addr: IpAddress;
  /** 1-based line number. */
  number: number;
  /** How many failures this is: more than 1 for a syslogd `last message repeated` line. */
  count?: number;
}

/** The failure on the line before, which a syslogd repeat line multiplies. */
interface PreviousFailure {
  key: string;
  addr: IpAddress | undefined;
  time: number;
}

/** The running totals of a test run. */
export interface TestRun {
  /** The filter being tested (its date detector behind the run's date memo, when on). */
  readonly filter: CompiledFilter;
  /** The memo in front of the filter's date detector (it also replays a date found ahead). */
  readonly dates: DateMemo | undefined;
  /** The literals a line needs to be worth matching, when known and on. */
  readonly prefilter: LinePrefilter | undefined;
  /** Open connections, when the filter correlates lines (`<F-MLFID>`). */
  readonly sessions: SessionTracker | undefined;
  /** The near misses collected, when on. */
  readonly near: NearMissTracker | undefined;
  /** Finds matched lines whose address the line chose (a `.*` before `<HOST>`), if any can. */
  readonly steer: SteerCheck | undefined;
  /** Matched lines whose `<HOST>` also fits elsewhere in the line, and the first of them. */
  steered: { count: number; example: (NumberedLine & { found: SteeredHost }) | undefined };
  /** Lines read. */
  lines: number;
  /** Lines that matched a failregex with a usable address. */
  matched: number;
  /** Lines that matched a failregex and an ignoreregex. */
  ignored: number;
  /** Lines that did not count, by class (includes ignored and ignoreip). */
  missed: number;
  /** Lines cut because they were longer than the line limit. */
  truncated: number;
  /** Hits per failregex. */
  regexHits: number[];
  /** Hits per ignoreregex. */
  ignoreHits: number[];
  /** Misses by class. */
  misses: Map<MissClass, MissSummary>;
  /** Failures per address text (a syslogd repeat line adds its count). */
  hosts: Map<string, number>;
  /** syslogd `last message repeated N times` lines after a failure (counted as matched). */
  repeatLines: number;
  /** The failures those lines stand for (the N of each). */
  repeatFailures: number;
  /** The previous line's failure, while the next line may repeat it. */
  previous: PreviousFailure | undefined;
  /** Distinct addresses not counted in `hosts` because of `maxHosts`. */
  hostsOverflow: number;
  /** Kept lines for the --print-* options. */
  kept: { matched: NumberedLine[]; missed: NumberedLine[]; ignored: NumberedLine[] };
  /** Failures in line order, for --simulate (only when requested). */
  failures: FoundFailure[] | undefined;
  /** Options in force. */
  readonly options: Required<Omit<TestRunOptions, "ignore" | "nearMisses">> & {
    ignore: TestRunOptions["ignore"] | undefined;
  };
}

/** Starts a test run of `filter`. */
export function createTestRun(
  filter: CompiledFilter,
  options: TestRunOptions & { collectFailures?: boolean } = {},
): TestRun {
  const spec = filter.spec;
  const { memo, ...quick } = quickFilter(filter, {
    prefilter: options.prefilter,
    dateMemo: options.dateMemo,
  });
  return {
    ...quick,
    sessions: usesSessions(filter) ? new SessionTracker() : undefined,
    near: options.nearMisses === false ? undefined : createNearMissTracker(filter),
    steer: createSteerCheck(filter),
    steered: { count: 0, example: undefined },
    lines: 0,
    matched: 0,
    ignored: 0,
    missed: 0,
    truncated: 0,
    regexHits: spec.failregex.map(() => 0),
    ignoreHits: (spec.ignoreregex ?? []).map(() => 0),
    misses: new Map(),
    hosts: new Map(),
    repeatLines: 0,
    repeatFailures: 0,
    previous: undefined,
    hostsOverflow: 0,
    kept: { matched: [], missed: [], ignored: [] },
    failures: options.collectFailures ? [] : undefined,
    options: {
      ignore: options.ignore,
      keepMatched: options.keepMatched ?? false,
      keepMissed: options.keepMissed ?? false,
      keepIgnored: options.keepIgnored ?? false,
      keepLimit: options.keepLimit ?? 100_000,
      explain: options.explain ?? false,
      maxHosts: options.maxHosts ?? 100_000,
      prefilter: quick.prefilter !== undefined,
      dateMemo: memo,
    },
  };
}

/**
 * A copy of a line that does not keep alive the block of text it was sliced from (V8 slices of
 * 13+ characters point into their parent string).
 */
function ownCopy(text: string): string {
  return text.length < 13 ? text : (text + "\n").slice(0, -1);
}

function keep(list: NumberedLine[], limit: number, number: number, text: string): void {
  if (list.length < limit) list.push({ number, text: ownCopy(text) });
}

/**
 * `near`: whether the line may be a near miss (undefined: ask nearMissCandidate()).
 */
function miss(
  run: TestRun,
  cls: MissClass,
  number: number,
  text: string,
  now: number,
  near?: boolean,
): void {
  run.missed++;
  let summary = run.misses.get(cls);
  if (!summary) {
    summary = { count: 0, example: { number, text: ownCopy(text) } };
    if (run.options.explain && cls === "no-failregex") {
      // An example that got almost nowhere explains nothing; the near misses do.
      summary.explanation = explainMiss(run.filter, text, now).filter((n) =>
        n.progress >= NEAR_MISS_MIN_PROGRESS
      );
    }
    run.misses.set(cls, summary);
  }
  summary.count++;
  let joined: readonly NearMissGroup[] = [];
  if (
    cls === "no-failregex" && run.near !== undefined &&
    (near ?? nearMissCandidate(run.near, text))
  ) {
    joined = considerNearMiss(run.near, text, number, now);
  }
  if (run.options.keepMissed && run.kept.missed.length < run.options.keepLimit) {
    const best = joined.reduce<NearMissGroup | undefined>(
      (a, g) => (a === undefined || g.near.progress > a.near.progress ? g : a),
      undefined,
    );
    run.kept.missed.push({
      number,
      text: ownCopy(text),
      reason: cls,
      ...(best ? { diverged: { regex: best.regex, after: best.near.matchedPattern } } : {}),
    });
  }
}

/**
 * Counts every line of a "lines" block (lib/line_blocks.ts): complete lines, each ending with
 * "\n"; one "\r" before it is stripped, as the line splitter does.
 */
export function addText(run: TestRun, text: string, now: number): void {
  const prefilter = run.prefilter;
  if (prefilter === undefined) {
    forEachLine(
      text,
      (start, end) => countLine(run, text.slice(start, end), now, false, undefined),
    );
    return;
  }
  const cursor = literalCursor(prefilter, text);
  // Lines that may be near misses are counted the long way (considerNearMiss() needs them).
  const nearKeys = run.near === undefined ? [] : run.near.keys;
  const nearCursor = nearKeys === undefined || nearKeys.length === 0
    ? undefined
    : literalCursor({ failregex: nearKeys, prefregex: undefined }, text);
  const dates = !run.options.keepMissed ? run.dates : undefined;
  let summary = run.misses.get("no-failregex");
  // forEachLine(), inlined: this loop runs once per line of the log.
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf("\n", start);
    if (nl < 0) nl = text.length;
    const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    const rejected = cursor.rejects(start, end);
    const near = nearKeys === undefined ||
      (nearCursor !== undefined && !nearCursor.rejects(start, end));
    // The most common line, counted without slicing it: no literal, the memo knows its date
    // (a hit counts the date), its class already has an example, and it is no near miss.
    if (
      rejected && !near && summary !== undefined && run.previous === undefined &&
      dates?.hitAt(text, start, now) !== undefined
    ) {
      run.lines++;
      run.missed++;
      summary.count++;
    } else {
      countLine(run, text.slice(start, end), now, false, rejected, near);
      summary ??= run.misses.get("no-failregex");
    }
    start = nl + 1;
  }
}

/**
 * Counts one line; returns the filter's verdict for it. `text` may be a slice of a larger
 * string: what the run keeps of it is copied.
 */
export function addLine(
  run: TestRun,
  text: string,
  now: number,
  options: { truncated?: boolean } = {},
): LineVerdict {
  return countLine(run, text, now, options.truncated ?? false, undefined);
}

function countLine(
  run: TestRun,
  text: string,
  now: number,
  truncated: boolean,
  rejected: boolean | undefined,
  near?: boolean,
): LineVerdict {
  const number = ++run.lines;
  if (run.previous !== undefined) {
    const repeat = truncated ? undefined : syslogRepeatCount(text);
    if (repeat !== undefined) return countRepeat(run, { text, now, number, repeat });
    run.previous = undefined;
  }
  if (truncated) {
    // Built-in filters anchor on the text the daemon writes at the end of the line; a cut
    // line has lost it, so matching it would let attacker text choose the address.
    run.truncated++;
    miss(run, "truncated", number, text, now);
    return { kind: "missed", reason: "no-failregex" };
  }
  // Lines no regex can match skip matchLine() (lib/prefilter.ts); their verdict carries no
  // session facts, so the session tracker passes it through unchanged.
  let line = run.prefilter
    ? prefilteredVerdict(run.filter, run.prefilter, run.dates, text, now, rejected)
    : undefined;
  if (line === undefined) {
    // Whatever the run (or the session tracker) keeps from a matched line must not pin the
    // block the line was sliced from.
    text = ownCopy(text);
    line = matchLine(run.filter, text, now);
  }
  const verdict = run.sessions ? run.sessions.resolve(line) : line;
  switch (verdict.kind) {
    case "missed":
      if (verdict.regex !== undefined) run.regexHits[verdict.regex]!++;
      miss(run, verdict.reason, number, text, now, near);
      break;
    case "ignored":
      run.ignored++;
      run.regexHits[verdict.regex]!++;
      run.ignoreHits[verdict.ignoreRegex]!++;
      if (run.options.keepIgnored) keep(run.kept.ignored, run.options.keepLimit, number, text);
      countIgnoredClass(run, number, text);
      break;
    case "matched": {
      run.regexHits[verdict.regex]!++;
      const addr = verdict.addr;
      const why = addr ? run.options.ignore?.(addr) : undefined;
      if (why !== undefined) {
        // ignoreip is what the admin set; loopback and own addresses are never banned anyway.
        const cls = why.startsWith("ignoreip") ? "ignoreip" : "never-banned";
        miss(run, cls, number, text, now);
        const summary = run.misses.get(cls)!;
        if (summary.count === 1) summary.note = cls === "ignoreip" ? why : `never banned: ${why}`;
        break;
      }
      run.matched++;
      if (run.steer) countSteered(run, verdict.regex, number, text, now);
      const key = addr ? addr.text : verdict.host;
      countHost(run, key, 1);
      if (run.options.keepMatched) keep(run.kept.matched, run.options.keepLimit, number, text);
      if (run.failures && addr) run.failures.push({ time: verdict.time, addr, number });
      run.previous = { key, addr, time: verdict.time };
      break;
    }
  }
  return verdict;
}

function countHost(run: TestRun, key: string, n: number): void {
  const seen = run.hosts.get(key);
  if (seen !== undefined) run.hosts.set(key, seen + n);
  else if (run.hosts.size < run.options.maxHosts) run.hosts.set(key, n);
  else run.hostsOverflow++;
}

/**
 * A syslogd `last message repeated N times` line right after a failure: a matched line that
 * stands for N more failures of the same address, at the repeat line's own time.
 */
function countRepeat(
  run: TestRun,
  line: { text: string; now: number; number: number; repeat: number },
): LineVerdict {
  const previous = run.previous!;
  const { number, repeat } = line;
  const text = ownCopy(line.text);
  const verdict = matchLine(run.filter, text, line.now);
  const time = verdict.time ?? previous.time;
  run.matched++;
  run.repeatLines++;
  run.repeatFailures += repeat;
  countHost(run, previous.key, repeat);
  if (run.options.keepMatched) keep(run.kept.matched, run.options.keepLimit, number, text);
  if (run.failures && previous.addr) {
    run.failures.push({ time, addr: previous.addr, number, count: repeat });
  }
  return verdict;
}

function countSteered(run: TestRun, regex: number, number: number, text: string, now: number) {
  const found = steeredHost(run.steer!, text, regex, now);
  if (found === undefined) return;
  run.steered.count++;
  run.steered.example ??= { number, text: ownCopy(text), found };
}

// Ignored lines are counted apart (as fail2ban-regex does) but also listed among the reasons.
function countIgnoredClass(run: TestRun, number: number, text: string): void {
  const summary = run.misses.get("ignored");
  if (summary) summary.count++;
  else run.misses.set("ignored", { count: 1, example: { number, text } });
}

/** The machine-readable form of a finished run (`--json`). */
export interface TestReportJson {
  /** Lines read. */
  lines: number;
  /** Lines that count as failures. */
  matched: number;
  /** Lines that did not count (ignored lines included). */
  missed: number;
  /** Lines matched by a failregex and an ignoreregex. */
  ignored: number;
  /** Lines longer than the line limit, cut. */
  truncated: number;
  /** Address -> failures (a syslogd repeat line adds its count). */
  hosts: Record<string, number>;
  /** syslogd `last message repeated N times` lines after a failure, and their failures. */
  repeated: { lines: number; failures: number };
  /** Miss class -> count and first example. */
  missReasons: Record<string, { count: number; example: string; line: number }>;
  /** Hits per failregex. */
  failregex: Array<{ regex: string; hits: number }>;
  /** Hits per ignoreregex. */
  ignoreregex: Array<{ regex: string; hits: number }>;
  /** Date template -> hits. */
  dateTemplates: Record<string, number>;
  /** The missed lines that got furthest into each failregex, grouped by shape, furthest first. */
  nearMisses: NearMissJson[];
  /** Matched lines whose `<HOST>` also fits elsewhere in the line (attacker-written text). */
  steered: {
    count: number;
    line?: number;
    example?: string;
    address?: string;
    alsoFits?: string;
  };
}

/** One group of near misses in `--json`. */
export interface NearMissJson {
  /** The failregex, 1-based as in the report. */
  failregex: number;
  /** Lines in the group. */
  count: number;
  /** The example line's number. */
  line: number;
  /** The example line. */
  example: string;
  /** The part of the failregex that matched. */
  matched: string;
  /** The rest of the failregex, from the token that did not match. */
  expected: string;
  /** What the example line has where the rest was expected. */
  found: string;
  /** How far the match got (literal characters of the pattern). */
  progress: number;
}

/** The near-miss groups of a run, ranked (none when near misses are off). */
export function nearMissGroups(run: TestRun, perRegex = 5): NearMissGroup[] {
  return run.near ? rankNearMisses(run.near, perRegex) : [];
}

/** Builds the `--json` object of a run. */
export function reportJson(run: TestRun): TestReportJson {
  const spec = run.filter.spec;
  const missReasons: TestReportJson["missReasons"] = {};
  for (const [cls] of MISS_CLASSES) {
    const m = run.misses.get(cls);
    if (m?.example) {
      missReasons[cls] = { count: m.count, example: m.example.text, line: m.example.number };
    }
  }
  return {
    lines: run.lines,
    matched: run.matched,
    missed: run.lines - run.matched - run.ignored,
    ignored: run.ignored,
    truncated: run.truncated,
    hosts: Object.fromEntries(run.hosts),
    repeated: { lines: run.repeatLines, failures: run.repeatFailures },
    missReasons,
    failregex: spec.failregex.map((regex, i) => ({ regex, hits: run.regexHits[i] ?? 0 })),
    ignoreregex: (spec.ignoreregex ?? []).map((regex, i) => ({
      regex,
      hits: run.ignoreHits[i] ?? 0,
    })),
    dateTemplates: Object.fromEntries(dateHits(run.filter)),
    steered: {
      count: run.steered.count,
      ...(run.steered.example
        ? {
          line: run.steered.example.number,
          example: run.steered.example.text,
          address: run.steered.example.found.host,
          alsoFits: run.steered.example.found.other,
        }
        : {}),
    },
    nearMisses: nearMissGroups(run, 10).map((g) => ({
      failregex: g.regex + 1,
      count: g.count,
      line: g.example.number,
      example: g.example.text,
      matched: g.near.matchedPattern,
      expected: g.near.remainingPattern,
      found: g.near.lineRest,
      progress: g.near.progress,
    })),
  };
}

// Control characters in attacker-written lines must not reach the terminal raw.
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f]/g;

function shorten(text: string, max = 160): string {
  const safe = text.replace(
    UNPRINTABLE,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

/** What the report header names. */
export interface ReportHeader {
  /** How the filter was chosen, e.g. `qpopper (built-in)`. */
  filterLabel: string;
  /** The log path, or `-` for stdin. */
  logLabel: string;
  /** The datepattern in force, or undefined for auto-detection. */
  datepattern: string | undefined;
  /** The filter's lint warnings, as `banwatch check` words them (printed before the results). */
  warnings?: readonly string[];
}

/** Formats the human report: fail2ban-regex's sections plus the reasons for every miss. */
export function formatReport(
  run: TestRun,
  header: ReportHeader,
  options: {
    seconds: number;
    printMatched?: boolean;
    printMissed?: boolean;
    printIgnored?: boolean;
    explain?: boolean;
  },
): string {
  const spec = run.filter.spec;
  const out: string[] = [];
  out.push("", "Running tests", "=============", "");
  out.push(`Use      filter : ${header.filterLabel}`);
  if (header.datepattern !== undefined) out.push(`Use datepattern : ${header.datepattern}`);
  out.push(`Use    log file : ${header.logLabel}`);
  out.push("Use    encoding : UTF-8 (invalid bytes shown as U+FFFD)", "");
  if (header.warnings && header.warnings.length > 0) {
    out.push("Filter warnings (as banwatch check gives them):");
    for (const w of header.warnings) out.push(`|  ${w}`);
    out.push("`-", "");
  }
  out.push("Results", "=======", "");

  const total = run.regexHits.reduce((a, b) => a + b, 0);
  out.push(`Failregex: ${total} total`);
  if (total !== run.matched) out.push(`|  (${failregexTotalWhy(run, total)})`);
  out.push("|-  #) [# of hits] regular expression");
  spec.failregex.forEach((re, i) =>
    out.push(`|  ${String(i + 1).padStart(2)}) [${run.regexHits[i]}] ${re}`)
  );
  out.push("`-", "");

  const ignoreTotal = run.ignoreHits.reduce((a, b) => a + b, 0);
  out.push(`Ignoreregex: ${ignoreTotal} total`);
  if (spec.ignoreregex?.length) {
    out.push("|-  #) [# of hits] regular expression");
    spec.ignoreregex.forEach((re, i) =>
      out.push(`|  ${String(i + 1).padStart(2)}) [${run.ignoreHits[i]}] ${re}`)
    );
    out.push("`-");
  }
  out.push("");

  out.push("Date template hits:", "|- [# of hits] date format");
  const hits = [...dateHits(run.filter)].sort((a, b) => b[1] - a[1]);
  for (const [template, n] of hits) out.push(`|  [${n}] ${template}`);
  if (hits.length === 0) out.push("|  (no date recognised on any line)");
  out.push("`-", "");

  out.push(
    `Lines: ${run.lines} lines, ${run.ignored} ignored, ${run.matched} matched, ${
      run.lines - run.matched - run.ignored
    } missed`,
  );
  if (run.repeatLines > 0) {
    out.push(
      `Repeats: ${run.repeatLines} syslogd "last message repeated" line(s) after a failure, ` +
        `counted as ${run.repeatFailures} more failure(s)`,
    );
  }
  out.push(`[processed in ${options.seconds.toFixed(2)} sec]`, "");

  const classes = MISS_CLASSES.filter(([cls]) => run.misses.has(cls));
  if (classes.length > 0) {
    out.push("Why lines did not count:", "|- [# of lines] reason, then the first such line");
    for (const [cls, words] of classes) {
      const m = run.misses.get(cls)!;
      out.push(`|  [${m.count}] ${words}`);
      if (m.example) out.push(`|      line ${m.example.number}: ${shorten(m.example.text)}`);
      if (m.note) out.push(`|      ${m.note}`);
      for (const near of m.explanation ?? []) {
        out.push(
          `|      failregex ${near.regex + 1} matched up to: ${shorten(near.matchedPattern, 80)}`,
          `|        then expected: ${shorten(near.remainingPattern, 80)}`,
          `|        but the line has: ${shorten(near.lineRest, 80)}`,
        );
      }
    }
    out.push("`-", "");
  }

  if (run.matched === 0 || options.explain) out.push(...formatNearMisses(run));
  out.push(...formatSteered(run));

  if (run.hosts.size > 0) {
    const top = [...run.hosts].sort((a, b) => b[1] - a[1]).slice(0, 10);
    out.push(`Addresses: ${run.hosts.size + run.hostsOverflow} distinct`);
    out.push("|- [# of failures] address (top 10)");
    for (const [host, n] of top) out.push(`|  [${n}] ${host}`);
    out.push("`-", "");
  }

  const printList = (title: string, list: NumberedLine[]) => {
    out.push(`${title}:`);
    for (const l of list) out.push(`${l.number}: ${missPrefix(l)}${shorten(l.text, 4000)}`);
    out.push("");
  };
  if (options.printMatched) printList("Matched line(s)", run.kept.matched);
  if (options.printIgnored) printList("Ignored line(s)", run.kept.ignored);
  if (options.printMissed) printList("Missed line(s)", run.kept.missed);
  return out.join("\n");
}

/** `--print-missed`'s prefix: the reason class and, for a near miss, where it diverged. */
function missPrefix(l: NumberedLine): string {
  if (l.reason === undefined) return "";
  if (l.diverged === undefined) return `[${l.reason}] `;
  return `[${l.reason}, near miss: failregex ${l.diverged.regex + 1} diverged after ${
    shorten(tail(l.diverged.after, 40), 60)
  }] `;
}

function tail(text: string, max: number): string {
  return text.length > max ? `…${text.slice(-(max - 1))}` : text;
}

/** The "Near misses" section (empty when there is nothing to show). */
function formatNearMisses(run: TestRun): string[] {
  if (run.near === undefined) return [];
  const groups = nearMissGroups(run);
  const out: string[] = [];
  out.push("Near misses (missed lines that got furthest into a failregex, by shape):");
  if (groups.length === 0) {
    out.push("|  (none: no missed line got further than a few characters into a failregex)");
  }
  let regex = -1;
  for (const g of groups) {
    if (g.regex !== regex) {
      regex = g.regex;
      out.push(`|- failregex ${regex + 1}: ${shorten(g.near.pattern, 120)}`);
    }
    const n = g.near;
    out.push(
      `|  [${g.count}] like line ${g.example.number}: ${shorten(g.example.text)}`,
      `|      matched: ${shorten(n.matchedPattern, 100)}`,
      `|      then expected: ${shorten(n.remainingPattern, 100)}`,
      `|      but the line has: ${n.lineRest === "" ? "(end of line)" : shorten(n.lineRest, 100)}`,
    );
  }
  if (run.near.unexamined > 0) {
    out.push(
      `|  (${run.near.unexamined} candidate lines of other shapes not examined: more than ${run.near.maxExplained} shapes)`,
    );
  }
  out.push("`-", "");
  return out;
}

/** The section on addresses taken from text the attacker writes (empty when there is none). */
function formatSteered(run: TestRun): string[] {
  const ex = run.steered.example;
  if (ex === undefined) return [];
  const f = ex.found;
  return [
    "Addresses from attacker-written text:",
    `|  [${run.steered.count}] matched lines where failregex <HOST> also fits elsewhere in the ` +
    "line: the address came from a part of the line the attacker writes",
    `|      line ${ex.number}: ${shorten(ex.text, 240)}`,
    `|      took ${f.host} (column ${f.at + 1}); failregex ${
      f.regex + 1
    } also fits with ${f.other} (column ${f.otherAt + 1})`,
    "|      the daemon writes its text once: one of the two copies is the attacker's (a user",
    "|      name, a quoted string); anchor the failregex and use [^ ]+ or \\S+ instead of .*",
    "`-",
    "",
  ];
}

/** Why `Failregex: N total` differs from `matched`: the lines a failregex hit that did not count. */
function failregexTotalWhy(run: TestRun, total: number): string {
  const parts: string[] = [];
  const add = (n: number | undefined, words: string) => {
    if (n) parts.push(`${n} ${words}`);
  };
  add(run.ignored, "ignored by ignoreregex");
  add(run.misses.get("not-an-address")?.count, "<HOST> not an address");
  add(run.misses.get("ignoreip")?.count, "in ignoreip");
  add(run.misses.get("never-banned")?.count, "never banned");
  const counted = parts.length === 0 ? 0 : run.ignored +
    (run.misses.get("not-an-address")?.count ?? 0) + (run.misses.get("ignoreip")?.count ?? 0) +
    (run.misses.get("never-banned")?.count ?? 0);
  add(
    total - run.matched - counted,
    "matched only as <F-NOFAIL> or session lines (no failure by themselves)",
  );
  return `failregex hits ${total}, of which ${run.matched} count as failures: ${parts.join(", ")}`;
}
