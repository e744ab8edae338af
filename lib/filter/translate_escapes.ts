/**
 * Python escapes (`\A`, `\Z`, `\a`, octal `\0`, `\x41`, `\U0001F600`, numbered
 * backreferences, identity escapes such as `\-`) and character classes (`[]abc]`), read
 * from the pattern and written as JavaScript regex text.
 * @module
 */

import { escapeJsChar, fail, type MutableNode, node, type ParseState } from "./translate_nodes.ts";
import type { PatternNodeType } from "./types.ts";

function hexAt(p: string, i: number, n: number): number {
  const s = p.slice(i, i + n);
  if (s.length !== n || !/^[0-9A-Fa-f]+$/.test(s)) fail(`incomplete escape at position ${i - 2}`);
  return parseInt(s, 16);
}

function jsForCodeUnit(code: number): string {
  return `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Reads an escape (at "\"); returns its JS text and, for literal escapes, the character. */
function readEscape(
  st: ParseState,
  inClass: boolean,
): { js: string; literal: string | undefined; type: PatternNodeType } {
  const p = st.p;
  const at = st.i;
  const d = p[at + 1];
  if (d === undefined) fail("bad escape (end of pattern)");
  st.i = at + 2;
  switch (d) {
    case "A":
    case "Z":
      if (inClass) fail(`bad escape \\${d} in a character class`);
      return { js: d === "A" ? "^" : "$", literal: undefined, type: d === "A" ? "start" : "end" };
    case "b":
      return inClass
        ? { js: "\\x08", literal: "\b", type: "escape" }
        : { js: "\\b", literal: undefined, type: "escape" };
    case "B":
    case "d":
    case "D":
    case "s":
    case "S":
    case "w":
    case "W":
      return { js: `\\${d}`, literal: undefined, type: "escape" };
    case "n":
      return { js: "\\n", literal: "\n", type: "escape" };
    case "t":
      return { js: "\\t", literal: "\t", type: "escape" };
    case "r":
      return { js: "\\r", literal: "\r", type: "escape" };
    case "f":
      return { js: "\\f", literal: "\f", type: "escape" };
    case "v":
      return { js: "\\v", literal: "\v", type: "escape" };
    case "a":
      return { js: "\\x07", literal: "\x07", type: "escape" };
    case "x": {
      const v = hexAt(p, at + 2, 2);
      st.i = at + 4;
      return {
        js: `\\x${p.slice(at + 2, at + 4)}`,
        literal: String.fromCharCode(v),
        type: "escape",
      };
    }
    case "u": {
      const v = hexAt(p, at + 2, 4);
      st.i = at + 6;
      return { js: jsForCodeUnit(v), literal: String.fromCharCode(v), type: "escape" };
    }
    case "U": {
      const v = hexAt(p, at + 2, 8);
      if (v > 0x10ffff) fail(`bad escape \\U at position ${at}: beyond U+10FFFF`);
      st.i = at + 10;
      const s = String.fromCodePoint(v);
      const js = [...Array(s.length).keys()].map((k) => jsForCodeUnit(s.charCodeAt(k))).join("");
      return { js: s.length > 1 && !inClass ? `(?:${js})` : js, literal: s, type: "escape" };
    }
    case "N":
      fail(`\\N{...} named characters (position ${at}) are not supported`);
  }
  if (d >= "0" && d <= "9") {
    // Python: \0 and three-digit forms are octal; 1-99 are group references.
    const digits = /^[0-7]{1,3}/.exec(p.slice(at + 1, at + 4))?.[0] ?? "";
    if (d === "0" || inClass || digits.length === 3) {
      const oct = d === "0" ? (/^0[0-7]{0,2}/.exec(p.slice(at + 1, at + 4))?.[0] ?? "0") : digits;
      if (oct === "") fail(`bad escape \\${d} at position ${at}`);
      st.i = at + 1 + oct.length;
      const v = parseInt(oct, 8);
      if (v > 0xff) fail(`octal escape value \\${oct} outside of range 0-0o377`);
      return {
        js: `\\x${v.toString(16).padStart(2, "0")}`,
        literal: String.fromCharCode(v),
        type: "escape",
      };
    }
    const ref = /^[0-9]{1,2}/.exec(p.slice(at + 1, at + 3))![0];
    st.i = at + 1 + ref.length;
    const js = st.userGroups[Number(ref) - 1];
    if (js === undefined) fail(`invalid group reference ${ref} at position ${at}`);
    return { js: `(?:\\${js})`, literal: undefined, type: "backref" };
  }
  if (/[A-Za-z]/.test(d)) fail(`bad escape \\${d} at position ${at}`);
  return { js: inClass ? `\\${d}` : escapeJsChar(d), literal: d, type: "escape" };
}

/**
 * An escape outside a character class, as a node (at "\").
 * @param st the parser state
 */
export function parseEscape(st: ParseState): MutableNode {
  const start = st.i;
  const e = readEscape(st, false);
  const n = node(e.type, start, st.i, e.js);
  n.literal = e.literal;
  return n;
}

/**
 * A character class `[…]` (at "["); a `]` first in it is literal, as in Python.
 * @param st the parser state
 */
export function parseClass(st: ParseState): MutableNode {
  const p = st.p;
  const start = st.i;
  let js = "[";
  st.i++;
  if (p[st.i] === "^") {
    js += "^";
    st.i++;
  }
  if (p[st.i] === "]") {
    js += "\\]";
    st.i++;
  }
  for (;;) {
    const c = p[st.i];
    if (c === undefined) fail(`unterminated character set at position ${start}`);
    if (c === "]") {
      st.i++;
      break;
    }
    if (c === "\\") {
      js += readEscape(st, true).js;
      continue;
    }
    js += c === "[" ? "\\[" : c;
    st.i++;
  }
  return node("class", start, st.i, js + "]");
}
