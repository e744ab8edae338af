/**
 * Lints a filter for patterns an attacker can steer or slow down (`banwatch check`):
 * - errors: whatever validateFilter() reports (a regex that does not compile, no `<HOST>`…);
 * - "unanchored": a failregex (or ignoreregex / prefregex) whose top-level alternatives do not
 *   all start with `^`: text an attacker writes earlier in the line can match;
 * - "attacker-steerable": `.*` or `.+` (any dot with an unbounded quantifier, greedy or lazy)
 *   before the address capture: the attacker's text can hold a fake "… (1.2.3.4)" that the
 *   wildcard walks to. Heuristic: explicit classes (`[^"]*`, `\S+`) are not flagged;
 *   the built-ins use them together with an end anchor (`$`) on daemon-written text;
 * - "catastrophic backtracking": an unboundedly quantified group that contains another
 *   unbounded quantifier (`(a+)+`, `(.*)*`, `(\w+\s?)*`);
 * - backreferences and lookaround: V8 cannot run them in its linear-time fallback engine
 *   (`--enable-experimental-regexp-engine-on-excessive-backtracks`), so a crafted line can
 *   make such a regex slow.
 * Pure: no I/O.
 * @module
 */

import { validateFilter } from "./compile.ts";
import { translatePattern } from "./translate.ts";
import { patternBranches } from "./translate_nodes.ts";
import type { FilterSpec, PatternNode, TranslatedPattern } from "./types.ts";

/** One lint result; `key` is "failregex", "ignoreregex", "prefregex" or "datepattern". */
export interface LintFinding {
  /** "error" for a filter that cannot be used, "warning" for a risky one. */
  severity: "warning" | "error";
  /** The filter setting. */
  key: string;
  /** Index in the failregex / ignoreregex list, undefined for single-valued keys. */
  index: number | undefined;
  /** One line: the finding, then what to do about it. */
  message: string;
}

/** Does every path through these nodes start with `^`? */
function anchoredAtStart(nodes: readonly PatternNode[]): boolean {
  return patternBranches(nodes).every((branch) => {
    const first = branch[0];
    if (!first) return false;
    if (first.type === "start") return true;
    if (
      first.type === "group" && first.quantifier === undefined &&
      first.groupKind !== "lookahead" && first.groupKind !== "lookbehind"
    ) {
      return anchoredAtStart(first.children);
    }
    return false;
  });
}

function unbounded(n: PatternNode): boolean {
  return n.quantifier !== undefined && n.quantifier.max === Infinity;
}

/** Depth-first, in source order, until the address capture; returns the first `.*` / `.+`. */
function wildcardBeforeHost(nodes: readonly PatternNode[]): PatternNode | undefined {
  let found: PatternNode | undefined;
  let done = false;
  const walk = (list: readonly PatternNode[]): void => {
    for (const n of list) {
      if (done) return;
      if (n.host) {
        done = true;
        return;
      }
      if (n.type === "any" && unbounded(n) && !found) found = n;
      if (n.children.length > 0) walk(n.children);
    }
  };
  walk(nodes);
  return done ? found : undefined;
}

function containsUnbounded(nodes: readonly PatternNode[]): boolean {
  return nodes.some((n) => unbounded(n) || containsUnbounded(n.children));
}

/** Unboundedly quantified groups holding another unbounded quantifier. */
function nestedQuantifiers(nodes: readonly PatternNode[], out: PatternNode[]): PatternNode[] {
  for (const n of nodes) {
    if (n.type === "group" && unbounded(n) && containsUnbounded(n.children)) out.push(n);
    else nestedQuantifiers(n.children, out);
  }
  return out;
}

function findKinds(
  nodes: readonly PatternNode[],
  pred: (n: PatternNode) => boolean,
  out: PatternNode[],
): PatternNode[] {
  for (const n of nodes) {
    if (pred(n)) out.push(n);
    findKinds(n.children, pred, out);
  }
  return out;
}

function lintPattern(
  t: TranslatedPattern,
  key: "failregex" | "ignoreregex" | "prefregex",
  index: number | undefined,
  out: LintFinding[],
): void {
  const warn = (message: string): void => {
    out.push({ severity: "warning", key, index, message });
  };
  const text = (n: PatternNode): string => t.pattern.slice(n.start, n.end);
  if (!anchoredAtStart(t.nodes)) {
    if (key === "failregex") {
      warn(
        "unanchored: text an attacker writes earlier in the line can match; " +
          "start with ^ and the syslog header (^\\s*\\S+ program\\[\\d+\\]: )",
      );
    } else if (key === "ignoreregex") {
      warn(
        "unanchored ignoreregex: text an attacker writes can make a failure line ignored; " +
          "start with ^ and the syslog header",
      );
    } else {
      warn("unanchored prefregex: text an attacker writes can satisfy it; start with ^");
    }
  }
  if (key === "failregex") {
    const wild = wildcardBeforeHost(t.nodes);
    if (wild) {
      warn(
        `attacker-steerable: ${text(wild)} before <HOST> can walk to an address the attacker ` +
          'wrote (a user name holding "… (1.2.3.4)"); match the fields before the address ' +
          "with explicit classes and anchor on daemon-written text after it, ending with $",
      );
    }
  }
  for (const n of nestedQuantifiers(t.nodes, [])) {
    warn(
      `catastrophic backtracking: nested quantifier ${text(n)} can take exponential time ` +
        "on a crafted line; remove the inner or the outer repetition",
    );
  }
  for (const n of findKinds(t.nodes, (n) => n.type === "backref", [])) {
    warn(
      `backreference ${text(n)}: not supported by V8's linear-time fallback engine, ` +
        "so a crafted line can make this regex slow",
    );
  }
  const around = findKinds(
    t.nodes,
    (n) => n.groupKind === "lookahead" || n.groupKind === "lookbehind",
    [],
  );
  for (const n of around) {
    const what = n.groupKind === "lookbehind" ? "lookbehind" : "lookahead";
    warn(
      `${what} ${text(n)}: not supported by V8's linear-time fallback engine, ` +
        "so a crafted line can make this regex slow",
    );
  }
}

/**
 * Errors (from validateFilter()) and warnings for patterns an attacker can steer or slow down.
 * @param spec the filter
 */
export function lintFilter(spec: FilterSpec): LintFinding[] {
  const out: LintFinding[] = validateFilter(spec).map((e) => ({
    severity: "error" as const,
    key: e.key,
    index: e.index,
    message: e.message,
  }));
  const lint = (
    pattern: string,
    key: "failregex" | "ignoreregex" | "prefregex",
    index: number | undefined,
  ): void => {
    let t: TranslatedPattern;
    try {
      t = translatePattern(pattern);
    } catch {
      return; // already an error
    }
    lintPattern(t, key, index, out);
  };
  (spec.failregex ?? []).forEach((p, i) => lint(p, "failregex", i));
  (spec.ignoreregex ?? []).forEach((p, i) => lint(p, "ignoreregex", i));
  if (spec.prefregex !== undefined) lint(spec.prefregex, "prefregex", undefined);
  return out;
}
