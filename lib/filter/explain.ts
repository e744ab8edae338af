/**
 * Explains a miss: for each failregex, the longest prefix of the pattern that still matches in
 * the line and where in the line that match ended (`banwatch test --explain`).
 * @module
 */

import { makeDetector } from "./compile.ts";
import type { DateDetector, FoundDate } from "./dates.ts";
import { cutDate, stripCr } from "./match.ts";
import { patternBranches } from "./translate_nodes.ts";
import type { CompiledFilter, CompiledRegex, NearMiss, PatternNode } from "./types.ts";

interface ExplainCache {
  dates: DateDetector | undefined;
  prefIndices: RegExp | undefined;
  prefixes: Map<string, RegExp | null>;
}

const EXPLAIN_CACHE = new WeakMap<CompiledFilter, ExplainCache>();
const LINE_REST_MAX = 200;

function explainCache(filter: CompiledFilter): ExplainCache {
  let c = EXPLAIN_CACHE.get(filter);
  if (!c) {
    let dates: DateDetector | undefined;
    try {
      dates = makeDetector(filter.spec);
    } catch {
      dates = undefined;
    }
    const pref = filter.prefregex;
    c = {
      dates,
      prefIndices: pref ? new RegExp(pref.regex.source, pref.regex.flags + "d") : undefined,
      prefixes: new Map(),
    };
    EXPLAIN_CACHE.set(filter, c);
  }
  return c;
}

function prefixRegex(cache: ExplainCache, source: string, flags: string): RegExp | null {
  const key = `${flags}/${source}`;
  let re = cache.prefixes.get(key);
  if (re === undefined) {
    try {
      re = new RegExp(source, flags);
    } catch {
      re = null;
    }
    cache.prefixes.set(key, re);
  }
  return re;
}

/** The text the failregexes see in a line, and how its positions map back to the line. */
export interface ExplainSubject {
  /** The line, CR stripped. */
  text: string;
  /** The text after the date cut and the prefregex (its `<F-CONTENT>`). */
  subject: string;
  /** Position in `subject` -> position in `text`. */
  mapPos: (pos: number) => number;
  /** The prefregex matched (true when there is none). */
  prefregex: boolean;
}

/**
 * The text matchLine() runs the failregexes on (date cut, prefregex content), found with the
 * explain cache's own date detector (no date hit is counted). Never throws.
 * @param filter the compiled filter
 * @param line the log line
 * @param now epoch seconds
 */
export function explainSubject(filter: CompiledFilter, line: string, now: number): ExplainSubject {
  const cache = explainCache(filter);
  const text = stripCr(line);
  let subject = text;
  let mapPos = (pos: number): number => pos;
  let date: FoundDate | undefined;
  try {
    date = cache.dates?.find(text, now);
  } catch {
    date = undefined;
  }
  if (date) {
    const d = date;
    subject = cutDate(text, d);
    mapPos = (pos) => (pos < d.start ? pos : pos + (d.end - d.start));
  }
  let prefregex = true;
  if (cache.prefIndices) {
    try {
      const m = cache.prefIndices.exec(subject);
      const span = m?.indices?.groups?.["content"];
      if (m && span) {
        const base = span[0];
        const outer = mapPos;
        subject = m.groups!["content"]!;
        mapPos = (pos) => outer(pos + base);
      } else if (!m) {
        prefregex = false;
      }
    } catch {
      prefregex = false;
    }
  }
  return { text, subject, mapPos, prefregex };
}

/**
 * For each failregex, the longest prefix of the pattern (cut at top-level tokens: literals,
 * escapes, groups, classes, quantified atoms) that still matches in the line, anchored as the
 * full pattern is, and where in the line that match ended. Runs on the same text matchLine()
 * searches (date cut, prefregex content); positions refer to the line as given. Does not
 * count date hits. Never throws.
 * @param filter the compiled filter
 * @param line the log line
 * @param now epoch seconds
 * @param options `requirePrefregex`: explain nothing (return []) when the prefregex fails
 */
export function explainMiss(
  filter: CompiledFilter,
  line: string,
  now: number,
  options: { requirePrefregex?: boolean } = {},
): NearMiss[] {
  const cache = explainCache(filter);
  const { text, subject, mapPos, prefregex } = explainSubject(filter, line, now);
  if (!prefregex && options.requirePrefregex) return [];
  const out: NearMiss[] = [];
  filter.failregex.forEach((r, index) => {
    try {
      out.push(explainOne(cache, r, index, subject, text, mapPos));
    } catch {
      // skip a regex the engine cannot run
    }
  });
  return out;
}

function explainOne(
  cache: ExplainCache,
  r: CompiledRegex,
  index: number,
  subject: string,
  text: string,
  mapPos: (pos: number) => number,
): NearMiss {
  const t = r.translated;
  const pattern = r.pattern;
  const branches = patternBranches(t.nodes);
  let best: { branch: PatternNode[]; k: number; end: number; first: boolean } | undefined;
  branches.forEach((branch, b) => {
    const tryK = (k: number): RegExpExecArray | null => {
      const src = branch.slice(0, k).map((n) => n.js).join("");
      const re = prefixRegex(cache, src, t.flags);
      return re ? re.exec(subject) : null;
    };
    let lo = 0; // prefix length known to match
    let loEnd = 0;
    let hi = branch.length;
    const m0 = tryK(0);
    if (m0) loEnd = m0.index + m0[0].length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const m = tryK(mid);
      if (m) {
        lo = mid;
        loEnd = m.index + m[0].length;
      } else {
        hi = mid - 1;
      }
    }
    if (!best || lo > best.k) best = { branch, k: lo, end: loEnd, first: b === 0 };
  });
  const { branch, k, end, first } = best!;
  const branchStart = first ? 0 : (branch[0]?.start ?? pattern.length);
  const branchEnd = branch.length > 0 ? branch[branch.length - 1]!.end : branchStart;
  const cut = k === 0 ? (branch[0]?.start ?? branchStart) : branch[k - 1]!.end;
  const linePos = mapPos(end);
  return {
    regex: index,
    pattern,
    matchedPattern: pattern.slice(branchStart, cut),
    remainingPattern: pattern.slice(k === 0 ? cut : (branch[k]?.start ?? branchEnd), branchEnd),
    linePos,
    lineRest: text.slice(linePos, linePos + LINE_REST_MAX),
    tokens: k,
    progress: progressOf(branch.slice(0, k)),
  };
}

/** Weight of an address capture or of a group that must match, in progressOf(). */
const GROUP_WEIGHT = 3;

/**
 * How much of a pattern a matched run of nodes stands for, in literal characters: a literal
 * counts its length (times its minimum repetitions), a class one per required character, an
 * address capture or a group a few; `.` wildcards, anchors and optional parts count nothing,
 * since they match whatever is there.
 * @param nodes matched top-level nodes of one branch
 */
export function progressOf(nodes: readonly PatternNode[]): number {
  let sum = 0;
  for (const n of nodes) sum += nodeWeight(n);
  return sum;
}

function nodeWeight(n: PatternNode): number {
  const min = n.quantifier?.min ?? 1;
  if (min === 0) return 0;
  if (n.host) return GROUP_WEIGHT;
  switch (n.type) {
    case "literal":
    case "escape":
      return n.literal !== undefined ? n.literal.length * min : min;
    case "class":
      return min;
    case "group":
      return n.groupKind === "lookahead" || n.groupKind === "lookbehind" ? 0 : GROUP_WEIGHT;
    default:
      return 0;
  }
}
