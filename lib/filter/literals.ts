/**
 * Required literals: texts one of which every match of a translated pattern contains, so a
 * line without any of them is skipped without running the regex (CompiledRegex.literals and
 * the prefilter in prefilter.ts).
 * @module
 */

import type { PatternNode, TranslatedPattern } from "./types.ts";

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
 * undefined when no such literal is known. Conservative:
 * - only the top-level sequence of a pattern is read (nothing inside groups, tags, classes or
 *   lookarounds: a scoped `(?i:…)` or an alternation may hide there);
 * - a top-level alternation gives one literal per branch (a match contains one of them), and
 *   no literal at all when one branch has none;
 * - a run is made of consecutive unquantified literal atoms (`a`, `\[`, `\x41`, `\n`); a literal
 *   atom repeated at least `n` times (`a{2,}`, `a+`) ends the run with its `n` copies and
 *   starts the next one with a single copy; anything else (classes, `.`, anchors, which may
 *   also swallow blanks, groups, tags, backreferences) ends the run;
 * - a pattern with a case-insensitive flag or a conditional `(?(g)…)` anywhere gives nothing.
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
 * True when `text` contains one of `literals`.
 * @param text the text to search
 * @param literals from {@link requiredLiterals}
 */
export function containsAny(text: string, literals: readonly string[]): boolean {
  for (let i = 0; i < literals.length; i++) {
    if (text.indexOf(literals[i]!) >= 0) return true;
  }
  return false;
}
