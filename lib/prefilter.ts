/**
 * The literal prefilter of `banwatch test` (pure): from each compiled failregex and the
 * prefregex it derives text that every match must contain, so that a line containing none of it
 * can be judged without running a regex: it is a "no-failregex" miss when a date is found and a
 * "no-date" miss otherwise, exactly what matchLine() would say.
 *
 * Extraction is conservative; when unsure there is no literal, hence no prefilter:
 * - only the top-level sequence of a pattern is read (nothing inside groups, tags, classes or
 *   lookarounds: a scoped `(?i:…)` or an alternation may hide there);
 * - a top-level alternation gives one literal per branch (a match contains one of them), and
 *   no literal at all when one branch has none;
 * - a run is made of consecutive unquantified literal atoms (`a`, `\[`, `\x41`, `\n`); a literal
 *   atom repeated at least `n` times (`a{2,}`, `a+`) ends the run with its `n` copies and
 *   starts the next one with a single copy; anything else (classes, `.`, anchors, which may
 *   also swallow blanks, groups, tags, backreferences) ends the run;
 * - a pattern with a case-insensitive flag or a conditional `(?(g)…)` anywhere gives nothing.
 * @module
 */
import type { CompiledFilter, PatternNode, TranslatedPattern } from "./filter.ts";

/** The literals a line must contain for a filter to possibly match it. */
export interface LinePrefilter {
  /**
   * Failregex literals: a failregex can only match a text containing one of them (undefined
   * when some failregex has no literal, i.e. any text may match).
   */
  readonly failregex: readonly string[] | undefined;
  /** Prefregex literals: the prefregex can only match a text containing one of them. */
  readonly prefregex: readonly string[] | undefined;
}

function hasConditional(nodes: readonly PatternNode[]): boolean {
  return nodes.some((n) => n.type === "conditional" || hasConditional(n.children));
}

/** The longest required literal of one top-level branch, or "" when there is none. */
function branchLiteral(nodes: readonly PatternNode[]): string {
  let best = "";
  let run = "";
  for (const n of nodes) {
    const lit = (n.type === "literal" || n.type === "escape") ? n.literal : undefined;
    if (lit !== undefined && lit !== "" && n.quantifier === undefined) {
      run += lit;
      continue;
    }
    if (lit !== undefined && lit !== "" && n.quantifier !== undefined && n.quantifier.min >= 1) {
      run += lit.repeat(Math.min(n.quantifier.min, 64));
      if (run.length > best.length) best = run;
      // Its last repetition is immediately followed by what comes next.
      run = lit;
      continue;
    }
    if (run.length > best.length) best = run;
    run = "";
  }
  return run.length > best.length ? run : best;
}

/**
 * Texts one of which every match of the pattern contains (one per top-level branch), or
 * undefined when no such literal is known.
 * @param t a translated pattern (CompiledRegex.translated)
 */
export function requiredLiterals(t: TranslatedPattern): string[] | undefined {
  if (t.flags.includes("i") || hasConditional(t.nodes)) return undefined;
  const branches: PatternNode[][] = [[]];
  for (const n of t.nodes) {
    if (n.type === "alternation") branches.push([]);
    else branches[branches.length - 1]!.push(n);
  }
  const out: string[] = [];
  for (const b of branches) {
    const lit = branchLiteral(b);
    if (lit === "") return undefined;
    if (!out.includes(lit)) out.push(lit);
  }
  return out;
}

/**
 * The prefilter of a compiled filter, or undefined when no literal is known (every line must
 * then go through matchLine()).
 * @param filter the compiled filter
 */
export function createPrefilter(filter: CompiledFilter): LinePrefilter | undefined {
  let failregex: string[] | undefined = [];
  for (const r of filter.failregex) {
    const lits = requiredLiterals(r.translated);
    if (lits === undefined) {
      failregex = undefined;
      break;
    }
    for (const l of lits) if (!failregex.includes(l)) failregex.push(l);
  }
  if (failregex !== undefined && failregex.length === 0) failregex = undefined;
  const prefregex = filter.prefregex ? requiredLiterals(filter.prefregex.translated) : undefined;
  if (failregex === undefined && prefregex === undefined) return undefined;
  return { failregex, prefregex };
}

function containsAny(text: string, literals: readonly string[]): boolean {
  for (let i = 0; i < literals.length; i++) {
    if (text.indexOf(literals[i]!) >= 0) return true;
  }
  return false;
}

/**
 * True when no failregex can match `text` (nor any substring of it): it lacks every failregex
 * literal, or every prefregex literal.
 * @param prefilter from createPrefilter()
 * @param text the line, or the text the regexes would see
 */
export function prefilterRejects(prefilter: LinePrefilter, text: string): boolean {
  if (prefilter.prefregex !== undefined && !containsAny(text, prefilter.prefregex)) return true;
  return prefilter.failregex !== undefined && !containsAny(text, prefilter.failregex);
}

/** Answers prefilterRejects() for the lines of one block of text, in order, without slicing. */
export interface LiteralCursor {
  /**
   * prefilterRejects() of `text.slice(start, end)`; calls must come with non-decreasing `start`.
   * @param start index of the line's first character
   * @param end index just past the line's last character
   */
  rejects(start: number, end: number): boolean;
}

/**
 * A cursor over `text` that finds each literal's next occurrence once (one pass per literal
 * over the block instead of one search per line).
 * @param prefilter from createPrefilter()
 * @param text the block of lines
 */
export function literalCursor(prefilter: LinePrefilter, text: string): LiteralCursor {
  const pref = prefilter.prefregex ?? [];
  const fail = prefilter.failregex ?? [];
  const prefNext = pref.map(() => -1);
  const failNext = fail.map(() => -1);
  return {
    rejects(start: number, end: number): boolean {
      if (pref.length > 0 && !within(text, pref, prefNext, start, end)) return true;
      return fail.length > 0 && !within(text, fail, failNext, start, end);
    },
  };
}

/** True when one of `literals` lies in `text[start, end)`; `next` caches each one's next index. */
function within(
  text: string,
  literals: readonly string[],
  next: number[],
  start: number,
  end: number,
): boolean {
  for (let i = 0; i < literals.length; i++) {
    const lit = literals[i]!;
    let at = next[i]!;
    if (at < start) {
      at = text.indexOf(lit, start);
      next[i] = at = at < 0 ? Infinity : at;
    }
    if (at + lit.length <= end) return true;
  }
  return false;
}
