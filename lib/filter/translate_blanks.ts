/**
 * The blank left by the date cut: a top-level branch that starts with `^` and then cannot match
 * a blank gets `^\s*`, so both `^\S+ prog: ` and fail2ban's `^\s*…` styles match.
 * @module
 */

import { type MutableNode, patternBranches } from "./translate_nodes.ts";

/** Can a match of this sequence begin with a blank? Conservative: true when unsure. */
function mayStartWithBlank(nodes: readonly MutableNode[], from = 0): boolean {
  for (let k = from; k < nodes.length; k++) {
    const n = nodes[k]!;
    if (n.type === "alternation") return true; // the other branch is not ours to judge
    let first: boolean;
    let zeroWidth = false;
    switch (n.type) {
      case "literal":
        first = /\s/.test(n.literal ?? " ");
        break;
      case "escape":
        if (n.js === "\\b" || n.js === "\\B") {
          zeroWidth = true;
          first = false;
        } else {
          first = n.literal !== undefined
            ? /\s/.test(n.literal)
            : !/^\\[Sdw](?:[*+?{]|$)/.test(n.js);
        }
        break;
      case "class":
        first = n.js.startsWith("[^") || /[ \t]|\\[sWDtnrfv]/.test(n.js);
        break;
      case "tag":
        first = false; // address and field captures start with "[", a word or ":"
        if (!n.host) first = true;
        break;
      case "start":
      case "end":
        zeroWidth = true;
        first = false;
        break;
      case "conditional":
        first = patternBranches(n.children).some((b) => mayStartWithBlank(b as MutableNode[]));
        break;
      case "group":
        if (n.groupKind === "lookahead" || n.groupKind === "lookbehind") return true;
        first = patternBranches(n.children).some((b) => mayStartWithBlank(b as MutableNode[]));
        break;
      default:
        return true; // any, backreference
    }
    if (first) return true;
    if (!zeroWidth && (n.quantifier === undefined || n.quantifier.min > 0)) return false;
  }
  return true; // may match the empty string
}

/**
 * fail2ban keeps the blank that follows the cut date (" mx sshd[1]: …"). A branch starting
 * with `^` followed by something that cannot match a blank (`^\S+ sshd`) also skips those
 * blanks: `^` becomes `^\s*`, which adds no ambiguity. Branches that handle the blank
 * themselves (`^\s*…`, `^ …`, fail2ban's `%(__prefix_line)s`) are left as they are.
 */
export function skipBlanksAfterStart(nodes: MutableNode[]): void {
  let branchStart = 0;
  for (let k = 0; k <= nodes.length; k++) {
    if (k < nodes.length && nodes[k]!.type !== "alternation") continue;
    const first = nodes[branchStart];
    if (
      first && first.type === "start" && branchStart < k &&
      !mayStartWithBlank(nodes.slice(0, k), branchStart + 1)
    ) {
      first.js = "^\\s*";
    }
    branchStart = k + 1;
  }
}
