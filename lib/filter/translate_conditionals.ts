/**
 * Python conditionals `(?(g)yes|no)` have no JavaScript equivalent: the translated pattern is
 * expanded into one alternative per combination of the groups they test.
 * @module
 */

import { fail, type MutableNode, patternBranches } from "./translate_nodes.ts";

const NEVER = String.raw`[^\s\S]`;

/** The JS text of a quantifier forced to repeat at least once. */
function atLeastOnce(n: MutableNode): string {
  const q = n.quantifier;
  if (!q || q.min >= 1) return n.quantJs;
  if (q.max === 1) return "";
  const lazy = q.lazy ? "?" : "";
  return (q.max === Infinity ? "+" : `{1,${q.max}}`) + lazy;
}

/**
 * Python conditionals `(?(g)yes|no)` have no JavaScript equivalent: the pattern is expanded
 * into one alternative per combination of "g took part in the match" / "g did not", each
 * with the conditionals resolved, g forced in (optional ancestors made mandatory, other
 * alternatives dropped) or g forced out (replaced by a never-matching class). Named groups
 * repeat across the alternatives (ES2025 duplicate named groups).
 */
export function expandConditionals(nodes: MutableNode[]): string {
  const byName = new Map<string, MutableNode>();
  const byIndex = new Map<number, MutableNode>();
  const parents = new Map<MutableNode, MutableNode[]>(); // node -> ancestors, outermost first
  const refs: string[] = [];
  const walk = (list: MutableNode[], path: MutableNode[]): void => {
    for (const n of list) {
      parents.set(n, path);
      if (n.capName !== undefined) byName.set(n.capName, n);
      if (n.userIndex !== undefined) byIndex.set(n.userIndex, n);
      if (n.type === "conditional" && !refs.includes(n.condRef!)) refs.push(n.condRef!);
      if (n.type === "backref" && /^\(\?:\\\d/.test(n.js)) {
        fail("numbered backreferences cannot be combined with conditional groups");
      }
      walk(n.children, [...path, n]);
    }
  };
  walk(nodes, []);
  const targets = refs.map((ref) => {
    const g = /^\d+$/.test(ref) ? byIndex.get(Number(ref)) : byName.get(ref);
    if (!g) fail(`conditional refers to unknown group "${ref}"`);
    return g;
  });
  if (refs.length > 4) fail("more than 4 groups tested by conditionals");
  const variants: string[] = [];
  // "Took part" first: Python tries a greedy optional group, or a first alternative, first.
  for (let mask = (1 << refs.length) - 1; mask >= 0; mask--) {
    const inside = new Map<string, boolean>();
    const required = new Set<MutableNode>();
    const excluded = new Set<MutableNode>();
    refs.forEach((ref, k) => {
      const on = (mask & (1 << k)) !== 0;
      inside.set(ref, on);
      const g = targets[k]!;
      if (on) {
        required.add(g);
        for (const a of parents.get(g) ?? []) required.add(a);
      } else {
        excluded.add(g);
      }
    });
    if ([...excluded].some((g) => required.has(g))) continue; // contradictory
    const seq = (list: MutableNode[]): string => {
      const branches = patternBranches(list) as MutableNode[][];
      if (branches.length === 1) return list.map(emit).join("");
      const needed = branches.filter((b) => b.some((n) => required.has(n)));
      if (needed.length > 1) return NEVER;
      if (needed.length === 1) return needed[0]!.map(emit).join("");
      return branches.map((b) => b.map(emit).join("")).join("|");
    };
    const emit = (n: MutableNode): string => {
      if (n.type === "conditional") {
        const [yes = [], no = []] = patternBranches(n.children) as MutableNode[][];
        return `(?:${seq(inside.get(n.condRef!) ? yes : no)})${n.quantJs}`;
      }
      if (excluded.has(n)) return n.quantJs ? `(?:${NEVER})${n.quantJs}` : NEVER;
      if (n.type !== "group") return n.js;
      const quant = required.has(n) ? atLeastOnce(n) : n.quantJs;
      return `${n.open}${seq(n.children)})${quant}`;
    };
    variants.push(seq(nodes));
  }
  return variants.map((v) => `(?:${v})`).join("|");
}
