/**
 * Evidence for the choices an import offers, measured rather than claimed: the admin's filter
 * and banwatch's built-ins run over the jail's own log lines (matched by each, by only one,
 * with an example), and the `check` lint of a converted filter with an anchored rewrite (and
 * whether that rewrite matches the same lines). Pure: lines and `now` are passed in.
 * @module
 */
import {
  BUILTIN_FILTERS,
  compileFilter,
  createLineJudge,
  type FilterSpec,
  lintFilter,
} from "../filter/mod.ts";

/** A log file's lines as read for the comparison. */
export interface LogSample {
  /** The log file. */
  readonly path: string;
  /** Its lines (the last ones, when the file is large). */
  readonly lines: readonly string[];
}

/** Two filters run over the same log lines. */
export interface Comparison {
  /** The other filter's name (a built-in, or "rewrite"). */
  readonly other: string;
  /** Lines read. */
  readonly lines: number;
  /** Lines the admin's filter matched. */
  readonly mine: number;
  /** Lines the other filter matched. */
  readonly theirs: number;
  /** Lines both matched with the same address. */
  readonly both: number;
  /** Lines matched only by the admin's filter (or with another address): count and example. */
  readonly onlyMine: { count: number; example?: string };
  /** Lines matched only by the other filter: count and example. */
  readonly onlyTheirs: { count: number; example?: string };
}

type Judge = (line: string) => string | undefined;

function judgeOf(spec: FilterSpec, now: number): Judge | undefined {
  try {
    const judge = createLineJudge(compileFilter(spec));
    return (line) => {
      const v = judge(line, now);
      return v.kind === "matched" ? v.host : undefined;
    };
  } catch {
    return undefined;
  }
}

/** Runs `mine` and `other` over the logs and counts what each matched. */
export function compareFilters(
  mine: FilterSpec,
  other: FilterSpec,
  options: { logs: readonly LogSample[]; now: number; name?: string },
): Comparison | undefined {
  const a = judgeOf(mine, options.now);
  const b = judgeOf(other, options.now);
  if (!a || !b) return undefined;
  let lines = 0, m = 0, t = 0, both = 0;
  const onlyMine: { count: number; example?: string } = { count: 0 };
  const onlyTheirs: { count: number; example?: string } = { count: 0 };
  for (const log of options.logs) {
    for (const line of log.lines) {
      if (line === "") continue;
      lines++;
      const x = a(line);
      const y = b(line);
      if (x !== undefined) m++;
      if (y !== undefined) t++;
      if (x !== undefined && x === y) both++;
      else if (x !== undefined) {
        onlyMine.count++;
        onlyMine.example ??= line;
      }
      if (y !== undefined && x !== y) {
        onlyTheirs.count++;
        onlyTheirs.example ??= line;
      }
    }
  }
  return {
    other: options.name ?? other.name ?? "other",
    lines,
    mine: m,
    theirs: t,
    both,
    onlyMine,
    onlyTheirs,
  };
}

/**
 * The built-in filter that shares the most matched lines with `mine` on the logs (ties: the
 * fewest lines matched by only one), or undefined when none shares a line.
 */
export function closestBuiltin(
  mine: FilterSpec,
  options: { logs: readonly LogSample[]; now: number },
): Comparison | undefined {
  let best: Comparison | undefined;
  for (const builtin of BUILTIN_FILTERS) {
    const c = compareFilters(mine, builtin, { ...options, name: builtin.name ?? "builtin" });
    if (!c || c.both === 0) continue;
    const score = (x: Comparison) => x.onlyMine.count + x.onlyTheirs.count;
    if (!best || c.both > best.both || (c.both === best.both && score(c) < score(best))) best = c;
  }
  return best;
}

function quote(line: string): string {
  return JSON.stringify(line.length > 160 ? `${line.slice(0, 157)}...` : line);
}

/** One comparison as report text (several lines: counts, then an example of each side). */
export function describeComparison(c: Comparison, mineName: string): string[] {
  const out = [
    `${c.lines} log lines: ${mineName} matched ${c.mine}, ${c.other} matched ${c.theirs}, ` +
    `both ${c.both}; only ${mineName}: ${c.onlyMine.count}, only ${c.other}: ${c.onlyTheirs.count}`,
  ];
  if (c.onlyMine.example) out.push(`only ${mineName}, e.g. ${quote(c.onlyMine.example)}`);
  if (c.onlyTheirs.example) out.push(`only ${c.other}, e.g. ${quote(c.onlyTheirs.example)}`);
  return out;
}

/** A lint warning on a converted regex, with an anchored rewrite when one can be written. */
export interface LintNote {
  /** The setting: `failregex[0]`, `ignoreregex[1]`, `prefregex`. */
  readonly key: string;
  /** The lint's message. */
  readonly message: string;
  /** An anchored rewrite of the regex the lint does not flag as attacker-steerable. */
  readonly rewrite?: string;
  /** How the rewrite compares with the original on the jail's logs, when they were read. */
  readonly measured?: Comparison;
}

const SYSLOG_PROGRAM = /^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ ([A-Za-z0-9_./-]+?)(?:\[\d+\])?: /;
const HOST_TAG = /<(?:HOST|ADDR|IP4|IP6|F-HOST|F-ADDR|F-IP4|F-IP6)>/;

/** The syslog program name of the lines a filter matched, when they all share one. */
function commonProgram(
  spec: FilterSpec,
  logs: readonly LogSample[],
  now: number,
): string | undefined {
  const judge = judgeOf(spec, now);
  if (!judge) return undefined;
  let program: string | undefined;
  for (const log of logs) {
    for (const line of log.lines) {
      if (judge(line) === undefined) continue;
      const p = SYSLOG_PROGRAM.exec(line)?.[1];
      if (p === undefined || (program !== undefined && p !== program)) return undefined;
      program = p;
    }
  }
  return program;
}

/**
 * An anchored rewrite of a failregex: the syslog header (`^\S+ PROGRAM\[\d+\]: `) first, each
 * `.*`/`.+` before the address as `\S+` (one field; a leading one glued to text dropped), a
 * trailing `.*` dropped. Undefined when the regex is
 * not a plain sequence this can rewrite (alternatives or groups before the address) or the
 * result is still flagged.
 */
export function anchoredRewrite(regex: string, program?: string): string | undefined {
  // a leading wildcard glued to text goes (".*refused"); one before a space is a field (\S+)
  let body = regex.replace(/^\^/, "").replace(/^(?:\.[*+]\??)+(?=[^\s\\])/, "");
  const host = HOST_TAG.exec(body);
  // alternatives or groups before the address: a textual rewrite could change their meaning
  if (!host || /[|()]/.test(body.slice(0, host.index).replace(/\\./g, ""))) return undefined;
  // escapes and constructs a textual rewrite should not touch (new lines, backreferences)
  if (/\\n|\(\?P=|\(\?<?[=!]|^\s/.test(body)) return undefined;
  const before = body.slice(0, host.index).replace(/(?<!\\)\.[*+]\??/g, "\\S+");
  body = before + body.slice(host.index).replace(/\s*(?<!\\)\.[*+]\??\$?$/, "");
  const prog = program === undefined
    ? "\\S+?"
    : program.replace(/[.*+?^${}()|[\]\\/]/g, (c) => (c === "/" ? "/" : `\\${c}`));
  // an already anchored regex keeps its start (the text after the date, maybe not syslog's)
  const out = regex.startsWith("^") ? `^${body}` : `^\\S+ ${prog}(?:\\[\\d+\\])?: ${body}`;
  const findings = lintFilter({ name: "rewrite", failregex: [out] });
  if (findings.some((f) => f.severity === "error" || f.message.startsWith("attacker-steerable"))) {
    return undefined;
  }
  if (findings.some((f) => f.message.startsWith("unanchored"))) return undefined;
  return out;
}

/** The lint warnings of a converted filter, each with an anchored rewrite where possible. */
export function lintNotes(
  spec: FilterSpec,
  options: { logs?: readonly LogSample[]; now: number },
): LintNote[] {
  const out: LintNote[] = [];
  const logs = options.logs && options.logs.length > 0 ? options.logs : undefined;
  const program = logs ? commonProgram(spec, logs, options.now) : undefined;
  const byKey = new Map<string, { index: number | undefined; key: string; messages: string[] }>();
  for (const f of lintFilter(spec)) {
    if (f.severity !== "warning") continue;
    const key = `${f.key}${f.index === undefined ? "" : `[${f.index}]`}`;
    const entry = byKey.get(key) ?? { index: f.index, key: f.key, messages: [] };
    entry.messages.push(f.message);
    byKey.set(key, entry);
  }
  for (const [key, e] of byKey) {
    const note: { key: string; message: string; rewrite?: string; measured?: Comparison } = {
      key,
      message: e.messages.join("; "),
    };
    const steerable = e.messages.some((m) => /^(?:attacker-steerable|unanchored)/.test(m));
    const regex = e.key === "failregex" && e.index !== undefined && steerable
      ? spec.failregex[e.index]
      : undefined;
    // with a prefregex the header is matched there: a failregex rewrite would repeat it
    const rewrite = regex === undefined || spec.prefregex !== undefined
      ? undefined
      : anchoredRewrite(regex, program);
    if (rewrite !== undefined && e.index !== undefined) {
      note.rewrite = rewrite;
      if (logs) {
        const failregex = spec.failregex.map((r, i) => (i === e.index ? rewrite : r));
        const measured = compareFilters(spec, { ...spec, failregex }, {
          logs,
          now: options.now,
          name: "the rewrite",
        });
        if (measured) note.measured = measured;
      }
    }
    out.push(note);
  }
  return out;
}
