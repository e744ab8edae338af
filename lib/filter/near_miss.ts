/**
 * Near misses, ranked (`banwatch test`): among the lines no failregex matched, the ones that got
 * furthest into a failregex (after the date cut and the prefregex), grouped by shape (same
 * divergence point, same text after it once digits, addresses and hex are masked) so that a
 * few lines in a different wording stand out from thousands of unrelated ones.
 *
 * It has to stay cheap on a million-line log, so:
 * - a line is a candidate only when it contains a key: the first {@link NEAR_MISS_MIN_PROGRESS}
 *   characters of the first literal run of some failregex (a line without it cannot get that
 *   far; a failregex whose first weighed token is not a literal has no key, and then every
 *   line is a candidate);
 * - a candidate is explained (explainMiss(), a binary search over pattern prefixes) once per
 *   line shape; later lines of the same shape only count;
 * - at most `maxExplained` shapes are explained; candidates of shapes not seen by then are
 *   counted as unexamined.
 * Pure: no I/O.
 * @module
 */
import { explainMiss } from "./explain.ts";
import { containsAny } from "./literals.ts";
import { patternBranches } from "./translate_nodes.ts";
import type { CompiledFilter, NearMiss, PatternNode } from "./types.ts";

/** A miss whose match got less far than this (explain.ts progressOf()) is not a near miss. */
export const NEAR_MISS_MIN_PROGRESS = 6;

/** Default most line shapes explained per run. */
const MAX_EXPLAINED = 2_000;
/** Characters of the line after the divergence point that decide a group's shape. */
const SHAPE_REST = 20;

/** Lines of one shape that one failregex got equally far into. */
export interface NearMissGroup {
  /** Index of the failregex. */
  readonly regex: number;
  /** Lines in the group. */
  count: number;
  /** The first line of the group, with its 1-based number. */
  readonly example: { readonly number: number; readonly text: string };
  /** How far the failregex got on the example. */
  readonly near: NearMiss;
}

/** The running near-miss collection of one `banwatch test` run. */
export interface NearMissTracker {
  /** The filter. */
  readonly filter: CompiledFilter;
  /**
   * Texts a candidate line contains one of (undefined: every line is a candidate, because
   * some failregex has no key).
   */
  readonly keys: readonly string[] | undefined;
  /** Line shape -> the groups its lines join (empty: got almost nowhere). */
  readonly shapes: Map<string, NearMissGroup[]>;
  /** Group key -> group. */
  readonly groups: Map<string, NearMissGroup>;
  /** Shapes explained so far. */
  explained: number;
  /** Candidate lines whose shape came after the `maxExplained` cap (not examined). */
  unexamined: number;
  /** Most shapes explained. */
  readonly maxExplained: number;
}

function weighs(n: PatternNode): boolean {
  const min = n.quantifier?.min ?? 1;
  if (min === 0) return false;
  return n.type !== "any" && n.type !== "start" && n.type !== "end" && n.type !== "backref" &&
    !(n.type === "group" && (n.groupKind === "lookahead" || n.groupKind === "lookbehind"));
}

/** The key of one branch: the start of its first literal run, when nothing before it weighs. */
function branchKey(branch: readonly PatternNode[]): string | undefined {
  let i = 0;
  while (i < branch.length && !weighs(branch[i]!)) {
    // An optional group may hold the first literal; a line could skip or take it.
    if (branch[i]!.type === "group" || branch[i]!.type === "conditional") return undefined;
    i++;
  }
  let run = "";
  for (; i < branch.length && run.length < NEAR_MISS_MIN_PROGRESS; i++) {
    const n = branch[i]!;
    if ((n.type !== "literal" && n.type !== "escape") || n.quantifier || n.literal === undefined) {
      break;
    }
    run += n.literal;
  }
  return run.length > 0 ? run.slice(0, NEAR_MISS_MIN_PROGRESS) : undefined;
}

/**
 * The keys of a filter's failregexes (see the module doc), or undefined when some failregex
 * has none (case-insensitive, starts with a class, an address or a group…).
 * @param filter the compiled filter
 */
export function nearMissKeys(filter: CompiledFilter): string[] | undefined {
  const keys: string[] = [];
  for (const r of filter.failregex) {
    if (r.translated.flags.includes("i") || r.translated.flags.includes("x")) return undefined;
    for (const branch of patternBranches(r.translated.nodes)) {
      const key = branchKey(branch);
      if (key === undefined) return undefined;
      if (!keys.includes(key)) keys.push(key);
    }
  }
  return keys.length > 0 ? keys : undefined;
}

/**
 * Starts collecting near misses for `filter`.
 * @param filter the compiled filter
 * @param options `maxExplained`: most line shapes explained (default 2,000)
 */
export function createNearMissTracker(
  filter: CompiledFilter,
  options: { maxExplained?: number } = {},
): NearMissTracker {
  return {
    filter,
    keys: nearMissKeys(filter),
    shapes: new Map(),
    groups: new Map(),
    explained: 0,
    unexamined: 0,
    maxExplained: options.maxExplained ?? MAX_EXPLAINED,
  };
}

/**
 * True when `text` may be a near miss (it contains a key); false means it cannot be.
 * @param tracker from createNearMissTracker()
 * @param text the line
 */
export function nearMissCandidate(tracker: NearMissTracker, text: string): boolean {
  return tracker.keys === undefined || containsAny(text, tracker.keys);
}

// Runs of hex digits, colons and dots holding a decimal digit: addresses (IPv4, IPv6), times,
// numbers, hex ids. One plain replacement: this runs on every candidate line.
const MASKED = /[0-9A-Fa-f:.]*\d[0-9A-Fa-f:.]*/g;

/**
 * The shape of a text: addresses, times, numbers and hex ids become `#`, so lines that differ
 * only in them have the same shape.
 * @param text any text
 */
export function maskShape(text: string): string {
  return text.replace(MASKED, "#");
}

/**
 * Counts a missed line (a "date found but no failregex matched" line) among the near misses
 * and returns the groups it joined (none when it got almost nowhere, or was not examined).
 * The caller should skip lines for which nearMissCandidate() is false: they join nothing.
 * @param tracker from createNearMissTracker()
 * @param text the line
 * @param number its 1-based number
 * @param now epoch seconds (for year-less dates)
 */
export function considerNearMiss(
  tracker: NearMissTracker,
  text: string,
  number: number,
  now: number,
): readonly NearMissGroup[] {
  const shape = maskShape(text);
  const known = tracker.shapes.get(shape);
  if (known !== undefined) {
    for (const g of known) g.count++;
    return known;
  }
  if (tracker.explained >= tracker.maxExplained) {
    tracker.unexamined++;
    return [];
  }
  tracker.explained++;
  const joined: NearMissGroup[] = [];
  const copy = (text + "\n").slice(0, -1); // not a slice of the caller's block
  for (const near of explainMiss(tracker.filter, copy, now, { requirePrefregex: true })) {
    if (near.progress < NEAR_MISS_MIN_PROGRESS) continue;
    const key = `${near.regex}\u0000${near.tokens}\u0000${
      maskShape(near.lineRest.slice(0, SHAPE_REST))
    }`;
    let group = tracker.groups.get(key);
    if (group === undefined) {
      group = { regex: near.regex, count: 0, example: { number, text: copy }, near };
      tracker.groups.set(key, group);
    }
    group.count++;
    joined.push(group);
  }
  tracker.shapes.set(shape, joined);
  return joined;
}

/**
 * The near misses to show: for each failregex, its `perRegex` furthest groups (most lines
 * first among equals), failregexes in order.
 * @param tracker from createNearMissTracker()
 * @param perRegex most groups per failregex (default 5)
 */
export function rankNearMisses(tracker: NearMissTracker, perRegex = 5): NearMissGroup[] {
  const byRegex = new Map<number, NearMissGroup[]>();
  for (const g of tracker.groups.values()) {
    const list = byRegex.get(g.regex) ?? [];
    list.push(g);
    byRegex.set(g.regex, list);
  }
  const out: NearMissGroup[] = [];
  for (const regex of [...byRegex.keys()].sort((a, b) => a - b)) {
    const list = byRegex.get(regex)!;
    list.sort((a, b) =>
      b.near.progress - a.near.progress || b.count - a.count ||
      a.example.number - b.example.number
    );
    out.push(...list.slice(0, perRegex));
  }
  return out;
}
