/**
 * The translator's parse tree while it is built: a mutable pattern node, the parser state, and
 * the small helpers every translation step shares (node creation, the SyntaxError thrown for a
 * pattern that cannot be translated, JS escaping, splitting a sequence into branches).
 * @module
 */

import type { PatternGroupKind, PatternNode, PatternNodeType, PatternQuantifier } from "./types.ts";

/** Characters that must be escaped to stand for themselves in a JavaScript regex. */
const JS_SPECIAL = "^$\\.*+?()[]{}|/";

/** A PatternNode under construction, with what later steps need to re-emit it. */
export interface MutableNode {
  /** What the node is. */
  type: PatternNodeType;
  /** For groups: which kind. */
  groupKind: PatternGroupKind | undefined;
  /** Start index in the original pattern. */
  start: number;
  /** End index (exclusive) in the original pattern, quantifier included. */
  end: number;
  /** Translated JavaScript regex text, quantifier included. */
  js: string;
  /** The quantifier, if any. */
  quantifier: PatternQuantifier | undefined;
  /** Child nodes of a group (an "alternation" node separates branches). */
  children: MutableNode[];
  /** The exact text this atom matches when unquantified (literals and escaped literals). */
  literal: string | undefined;
  /** This node is (or, for a group, is itself) the address capture. */
  host: boolean;
  /** Groups: the opening text ("(?:", "(?<user>"…). */
  open: string;
  /** The quantifier's JS text ("", "*", "{1,3}?"…). */
  quantJs: string;
  /** Capture groups: the Python name (named groups) and number (user-written groups). */
  capName: string | undefined;
  userIndex: number | undefined;
  /** Conditionals: the group name or number they test. */
  condRef: string | undefined;
}

/** Where the parser is in the pattern and what it has found so far. */
export interface ParseState {
  /** The pattern. */
  readonly p: string;
  /** Index of the next character to read. */
  i: number;
  /** Verbose mode `(?x)`: blanks and `#` comments are dropped. */
  verbose: boolean;
  /** Address captures found so far. */
  hostCaptures: number;
  /** Kind of the last address capture found. */
  hostKind: "address" | "host" | undefined;
  /** Field names found so far, in order. */
  readonly fields: string[];
  /** Python group name -> JS group name. */
  readonly names: Map<string, string>;
  /** JS capture groups opened so far (tags add theirs). */
  jsGroups: number;
  /** JS group number of each user-written capture group, in Python numbering (index 0 = \\1). */
  readonly userGroups: number[];
  /** Number of conditional groups seen. */
  conditionals: number;
}

/**
 * A fresh node of `type` spanning `start`..`end` of the pattern, translated to `js`.
 * @param type what the node is
 * @param start start index in the original pattern
 * @param end end index (exclusive)
 * @param js its JavaScript regex text
 */
export function node(type: PatternNodeType, start: number, end: number, js: string): MutableNode {
  return {
    type,
    groupKind: undefined,
    start,
    end,
    js,
    quantifier: undefined,
    children: [],
    literal: undefined,
    host: false,
    open: "",
    quantJs: "",
    capName: undefined,
    userIndex: undefined,
    condRef: undefined,
  };
}

/**
 * Stops the translation: the pattern cannot be translated (caught by compile.ts, which
 * wraps the message in a FilterError).
 * @param message one line
 */
export function fail(message: string): never {
  throw new SyntaxError(message);
}

/**
 * The JavaScript regex text matching the character `c` literally.
 * @param c one character
 */
export function escapeJsChar(c: string): string {
  return JS_SPECIAL.includes(c) ? `\\${c}` : c;
}

/**
 * Splits top-level nodes into branches at "alternation" nodes.
 * @param nodes a node sequence (a pattern's or a group's)
 */
export function patternBranches(nodes: readonly PatternNode[]): PatternNode[][] {
  const branches: PatternNode[][] = [[]];
  for (const n of nodes) {
    if (n.type === "alternation") branches.push([]);
    else branches[branches.length - 1]!.push(n);
  }
  return branches;
}
