/**
 * Translates a fail2ban (Python `re`) pattern with tags to a JavaScript regex source, keeping
 * the parse tree (read by literals.ts, explain.ts and the lint). Throws SyntaxError; does not
 * compile. What differs from fail2ban (ASCII `\d`, rejected syntax, emulated conditionals,
 * a `^` that skips the blank left by the date cut) is listed in match.ts.
 *
 * Syntax accepted (so existing fail2ban filters paste in):
 * - tags `<HOST>`, `<ADDR>`, `<IP4>`, `<IP6>`, `<DNS>`, `<SUBNET>` (the address capture),
 *   `<CIDR>` (a mask, reported as field `cidr`), `<F-NAME>…</F-NAME>` named fields (reported
 *   lowercased: `<F-USER>` -> `user`, `<F-ALT_USER1>` -> `alt_user1`), `<F-NAME/>` or a lone
 *   `<F-NAME>` (default `\S+`), `<F-ID>…</F-ID>` / `<F-HOST>…</F-HOST>` / `<F-IP4>`… as a
 *   custom address capture, `<F-CONTENT>…</F-CONTENT>` in prefregex;
 * - Python regex: `(?P<name>…)` -> `(?<name>…)`, `(?P=name)` -> `\k<name>` (also for the
 *   group of a `<F-NAME>` tag, named as fail2ban names it: `(?P=user)`), global flags at the
 *   start `(?i)`, `(?s)`, `(?m)`, `(?x)` (verbose: whitespace and `#` comments dropped), scoped
 *   flags `(?i:…)`, fail2ban's rewrite of `((?i)…)` and `(?:(?i)…)` to `(?i:…)`,
 *   `(?#comment)`, `\A`, `\Z`, `\a`, octal `\0`, `\U0001F600`, `{,n}`, `[]abc]` (a `]`
 *   first in a class is literal), identity escapes such as `\-`, `\"`, `\<`;
 *   groups named `host`, `ip4`, `ip6`, `dns`, `fid` are the address capture, any other named
 *   group is a field.
 * @module
 */

import { expandConditionals } from "./translate_conditionals.ts";
import { skipBlanksAfterStart } from "./translate_blanks.ts";
import { parseClass, parseEscape } from "./translate_escapes.ts";
import {
  escapeJsChar,
  fail,
  type MutableNode,
  node,
  type ParseState,
  patternBranches,
} from "./translate_nodes.ts";
import {
  countGroups,
  HOST_FIELD_TAGS,
  HOST_GROUP_NAMES,
  TAGS,
  UNSUPPORTED_TAGS,
} from "./translate_tags.ts";
import type { PatternGroupKind, PatternQuantifier, TranslatedPattern } from "./types.ts";

const TAG_RE = /<(\/?)([A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*)(\/?)>/y;
const GLOBAL_FLAGS_RE = /\(\?([aiLmsux]+)\)/y;
const SCOPED_FLAGS_RE = /\(\?([aiLmsux]*)(?:-([imsx]+))?:/y;
/** fail2ban's R_GLOB2LOCFLAGS: `((?i)x)` and `(?:(?i)x)` become `(?i:x)`. */
const WRAPPED_FLAGS_RE = /\((?:\?:)?\(\?([a-zL]+)\)/y;
const QUANT_BRACE_RE = /\{(\d*)(?:(,)(\d*))?\}/y;
const GROUP_NAME_RE = /[A-Za-z_][A-Za-z0-9_]*/y;

type Closer = { kind: "none" } | { kind: "paren" } | { kind: "tag"; name: string };

function fieldName(tag: string): string {
  return tag.slice(2).toLowerCase().replace(/-/g, "_");
}

function addHost(st: ParseState, kind: "address" | "host"): void {
  st.hostCaptures++;
  st.hostKind = kind;
}

function addField(st: ParseState, name: string): void {
  if (st.fields.includes(name) || name === "host") fail(`redefinition of group name "${name}"`);
  st.fields.push(name);
}

/**
 * Translates a fail2ban (Python) pattern with tags to a JavaScript regex source; throws
 * SyntaxError with a one-line message for unsupported or malformed syntax. Does not compile.
 * @param pattern the pattern as written in the filter
 */
export function translatePattern(pattern: string): TranslatedPattern {
  const st: ParseState = {
    p: pattern,
    i: 0,
    verbose: false,
    hostCaptures: 0,
    hostKind: undefined,
    fields: [],
    names: new Map(),
    jsGroups: 0,
    userGroups: [],
    conditionals: 0,
  };
  let flags = "";
  for (;;) {
    GLOBAL_FLAGS_RE.lastIndex = st.i;
    const m = GLOBAL_FLAGS_RE.exec(pattern);
    if (!m) break;
    for (const f of m[1]!) {
      if (f === "L") fail("the (?L) locale flag is not supported");
      if (f === "x") st.verbose = true;
      else if ("ims".includes(f) && !flags.includes(f)) flags += f;
    }
    st.i = GLOBAL_FLAGS_RE.lastIndex;
  }
  const nodes = parseSeq(st, { kind: "none" });
  skipBlanksAfterStart(nodes);
  return {
    pattern,
    source: st.conditionals > 0 ? expandConditionals(nodes) : nodes.map((n) => n.js).join(""),
    flags,
    nodes,
    hostCaptures: st.hostCaptures,
    hostKind: st.hostKind,
    fields: st.fields,
  };
}

function parseSeq(st: ParseState, close: Closer): MutableNode[] {
  const nodes: MutableNode[] = [];
  const p = st.p;
  while (st.i < p.length) {
    const c = p[st.i]!;
    if (c === ")") {
      if (close.kind === "paren") return nodes;
      fail(`unbalanced parenthesis: ")" at position ${st.i} has no "("`);
    }
    if (c === "<" && p[st.i + 1] === "/") {
      TAG_RE.lastIndex = st.i;
      const m = TAG_RE.exec(p);
      if (m) {
        if (close.kind === "tag" && close.name === m[2]) return nodes;
        fail(`<${m[1]}${m[2]}> at position ${st.i} has no matching opening tag`);
      }
    }
    if (st.verbose && (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f")) {
      st.i++;
      continue;
    }
    if (st.verbose && c === "#") {
      while (st.i < p.length && p[st.i] !== "\n") st.i++;
      continue;
    }
    if (c === "|") {
      nodes.push(node("alternation", st.i, st.i + 1, "|"));
      st.i++;
      continue;
    }
    if (c === "*" || c === "+" || c === "?" || c === "{") {
      const start = st.i;
      const q = readQuantifier(st);
      if (q) {
        const prev = nodes[nodes.length - 1];
        if (
          !prev || prev.type === "alternation" || prev.type === "start" || prev.type === "end"
        ) {
          fail(`nothing to repeat at position ${start}`);
        }
        if (prev.quantifier) fail(`multiple repeat at position ${start}`);
        prev.quantifier = q.quantifier;
        prev.quantJs = q.js;
        if (prev.type === "tag") prev.js = `(?:${prev.js})`;
        prev.js += q.js;
        prev.end = st.i;
        continue;
      }
    }
    const atom = parseAtom(st);
    if (atom) nodes.push(atom);
  }
  if (close.kind === "paren") fail("missing ), unterminated subpattern");
  if (close.kind === "tag") fail(`missing </${close.name}>`);
  return nodes;
}

function readQuantifier(
  st: ParseState,
): { quantifier: PatternQuantifier; js: string } | undefined {
  const p = st.p;
  const c = p[st.i]!;
  let min: number;
  let max: number;
  let js: string;
  if (c === "{") {
    QUANT_BRACE_RE.lastIndex = st.i;
    const m = QUANT_BRACE_RE.exec(p);
    if (!m || (m[1] === "" && m[2] === undefined)) return undefined; // literal "{" as in Python
    min = m[1] === "" ? 0 : Number(m[1]);
    max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
    if (max < min) fail(`min repeat greater than max repeat at position ${st.i}`);
    js = `{${min}${m[2] === undefined ? "" : `,${m[3]}`}}`;
    st.i = QUANT_BRACE_RE.lastIndex;
  } else {
    min = c === "+" ? 1 : 0;
    max = c === "?" ? 1 : Infinity;
    js = c;
    st.i++;
  }
  let lazy = false;
  if (p[st.i] === "?") {
    lazy = true;
    js += "?";
    st.i++;
  } else if (p[st.i] === "+") {
    fail(`possessive quantifier at position ${st.i} is not supported`);
  }
  return { quantifier: { min, max, lazy }, js };
}

function parseAtom(st: ParseState): MutableNode | undefined {
  const p = st.p;
  const start = st.i;
  const c = p[start]!;
  switch (c) {
    case "\\":
      return parseEscape(st);
    case "[":
      return parseClass(st);
    case "(":
      return parseGroup(st);
    case ".":
      st.i++;
      return node("any", start, st.i, ".");
    case "^":
      st.i++;
      return node("start", start, st.i, "^");
    case "$":
      st.i++;
      return node("end", start, st.i, "$");
    case "<": {
      const tag = parseTag(st);
      if (tag) return tag;
      break;
    }
  }
  st.i++;
  const n = node("literal", start, st.i, escapeJsChar(c));
  n.literal = c;
  return n;
}

function readGroupName(st: ParseState, terminator: string): string {
  GROUP_NAME_RE.lastIndex = st.i;
  const m = GROUP_NAME_RE.exec(st.p);
  if (!m || st.p[GROUP_NAME_RE.lastIndex] !== terminator) {
    fail(`bad character in group name at position ${st.i}`);
  }
  st.i = GROUP_NAME_RE.lastIndex + 1;
  return m[0];
}

function parseGroup(st: ParseState): MutableNode | undefined {
  const p = st.p;
  const start = st.i;
  let open: string;
  let kind: PatternGroupKind = "capture";
  let isHost = false;
  let capName: string | undefined;
  let userIndex: number | undefined;
  WRAPPED_FLAGS_RE.lastIndex = start;
  const wrapped = WRAPPED_FLAGS_RE.exec(p);
  if (wrapped) {
    open = scopedFlagsOpen(wrapped[1]!, "", start);
    kind = "noncapture";
    st.i = WRAPPED_FLAGS_RE.lastIndex;
  } else if (p[start + 1] !== "?") {
    open = "(";
    st.i = start + 1;
    st.userGroups.push(++st.jsGroups);
    userIndex = st.userGroups.length;
  } else {
    const rest = p.slice(start + 2, start + 4);
    if (rest[0] === "#") {
      const endc = p.indexOf(")", start);
      if (endc < 0) fail(`missing ), unterminated comment at position ${start}`);
      st.i = endc + 1;
      return undefined;
    }
    if (rest === "P=") {
      st.i = start + 4;
      const name = readGroupName(st, ")");
      const js = st.names.get(name);
      if (js === undefined) fail(`unknown group name "${name}" at position ${start}`);
      return node("backref", start, st.i, `\\k<${js}>`);
    }
    if (rest === "P<" || (rest[0] === "<" && rest !== "<=" && rest !== "<!")) {
      st.i = start + (rest === "P<" ? 4 : 3);
      const name = readGroupName(st, ">");
      if (st.names.has(name)) fail(`redefinition of group name "${name}"`);
      const hostKind = HOST_GROUP_NAMES[name];
      let jsName: string;
      if (hostKind) {
        addHost(st, hostKind);
        jsName = "host";
        kind = "host";
        isHost = true;
      } else {
        addField(st, name);
        jsName = name;
        kind = "named";
      }
      st.names.set(name, jsName);
      st.userGroups.push(++st.jsGroups);
      capName = name;
      userIndex = st.userGroups.length;
      open = `(?<${jsName}>`;
    } else if (rest[0] === ":" || rest[0] === "=" || rest[0] === "!") {
      open = p.slice(start, start + 3);
      kind = rest[0] === ":" ? "noncapture" : "lookahead";
      st.i = start + 3;
    } else if (rest === "<=" || rest === "<!") {
      open = p.slice(start, start + 4);
      kind = "lookbehind";
      st.i = start + 4;
    } else if (rest[0] === ">") {
      fail(`atomic groups (?>...) at position ${start} are not supported`);
    } else if (rest[0] === "(") {
      return parseConditional(st, start);
    } else {
      SCOPED_FLAGS_RE.lastIndex = start;
      const m = SCOPED_FLAGS_RE.exec(p);
      if (!m) {
        GLOBAL_FLAGS_RE.lastIndex = start;
        if (GLOBAL_FLAGS_RE.exec(p)) {
          fail(`global flags (?...) at position ${start} must be at the start of the expression`);
        }
        fail(`unknown extension (?${rest[0] ?? ""} at position ${start}`);
      }
      open = scopedFlagsOpen(m[1]!, m[2] ?? "", start);
      kind = "noncapture";
      st.i = SCOPED_FLAGS_RE.lastIndex;
    }
  }
  const children = parseSeq(st, { kind: "paren" });
  st.i++; // ")"
  const n = node("group", start, st.i, open + children.map((c) => c.js).join("") + ")");
  n.groupKind = kind;
  n.children = children;
  n.host = isHost;
  n.open = open;
  n.capName = capName;
  n.userIndex = userIndex;
  return n;
}

/** `(?(name)yes|no)` / `(?(1)yes|no)`: expanded into variants by expandConditionals(). */
function parseConditional(st: ParseState, start: number): MutableNode {
  const p = st.p;
  const close = p.indexOf(")", start + 3);
  const ref = close < 0 ? "" : p.slice(start + 3, close);
  if (!/^(?:[A-Za-z_]\w*|\d{1,2})$/.test(ref)) {
    fail(`bad conditional group reference at position ${start}`);
  }
  st.i = close + 1;
  const children = parseSeq(st, { kind: "paren" });
  st.i++; // ")"
  const branches = patternBranches(children);
  if (branches.length > 2) fail(`conditional with more than two branches at position ${start}`);
  st.conditionals++;
  const [yes, no = []] = branches.map((b) => b.map((n) => n.js).join(""));
  // Approximation used only for explainMiss() prefixes: either branch.
  const n = node("conditional", start, st.i, `(?:${yes}|${no})`);
  n.children = children;
  n.condRef = ref;
  return n;
}

/** JS opening of a scoped-flags group `(?i-s:` from Python flags. */
function scopedFlagsOpen(on: string, off: string, at: number): string {
  if (on.includes("L")) fail("the (?L) locale flag is not supported");
  if (on.includes("x") || off.includes("x")) {
    fail(`scoped verbose flag at position ${at} is not supported`);
  }
  if (/[^aiLmsux]/.test(on)) fail(`unknown flag at position ${at}`);
  const jsOn = [...new Set(on)].filter((f) => "ims".includes(f)).join("");
  return jsOn === "" && off === "" ? "(?:" : `(?${jsOn}${off ? `-${off}` : ""}:`;
}

function hasClosingTag(p: string, from: number, name: string): boolean {
  return p.indexOf(`</${name}>`, from) >= 0;
}

function parseTag(st: ParseState): MutableNode | undefined {
  const p = st.p;
  const start = st.i;
  TAG_RE.lastIndex = start;
  const m = TAG_RE.exec(p);
  if (!m) return undefined;
  const [, slash, name, selfClose] = m as unknown as [string, string, string, string];
  if (slash) return undefined; // handled by parseSeq
  if (UNSUPPORTED_TAGS.has(name)) {
    fail(`<${name}> is not supported (banwatch matches one line at a time)`);
  }
  const end = TAG_RE.lastIndex;
  if (!name.startsWith("F-")) {
    const def = TAGS[name];
    if (!def) fail(`unknown tag <${name}> at position ${start}`);
    if (def.host) addHost(st, def.host);
    if (def.field) addField(st, def.field);
    st.i = end;
    st.jsGroups += countGroups(def.js);
    const n = node("tag", start, end, def.js);
    n.host = def.host !== undefined;
    return n;
  }
  const hostKind = HOST_FIELD_TAGS[name];
  const bare = name.slice(2);
  // fail2ban names the group of <F-USER> "user" (<F-ID> "fid", <F-PORT> "fport"), so that
  // `(?P=user)` can refer to it.
  const pyName = ({ id: "fid", port: "fport" } as Record<string, string>)[fieldName(name)] ??
    fieldName(name);
  if (selfClose || !hasClosingTag(p, end, name)) {
    // Default content.
    st.i = end;
    const tagDef = TAGS[bare];
    if (tagDef) {
      if (tagDef.host) addHost(st, tagDef.host);
      if (tagDef.field) addField(st, tagDef.field);
      st.jsGroups += countGroups(tagDef.js);
      const n = node("tag", start, end, tagDef.js);
      n.host = tagDef.host !== undefined;
      return n;
    }
    if (hostKind) {
      addHost(st, hostKind);
      st.jsGroups++;
      if (!st.names.has(pyName)) st.names.set(pyName, "host");
      const n = node("tag", start, end, String.raw`(?<host>\S+)`);
      n.host = true;
      return n;
    }
    const f = fieldName(name);
    addField(st, f);
    st.jsGroups++;
    if (!st.names.has(pyName)) st.names.set(pyName, name === "F-PORT" ? "port" : f);
    return node("tag", start, end, name === "F-PORT" ? String.raw`(?<port>\w+)` : `(?<${f}>\\S+)`);
  }
  st.i = end;
  let open: string;
  let isHost = false;
  if (hostKind) {
    addHost(st, hostKind);
    open = "(?<host>";
    isHost = true;
    if (!st.names.has(pyName)) st.names.set(pyName, "host");
  } else {
    const f = fieldName(name);
    addField(st, f);
    open = `(?<${f}>`;
    if (!st.names.has(pyName)) st.names.set(pyName, f);
  }
  st.jsGroups++;
  const children = parseSeq(st, { kind: "tag", name });
  st.i += name.length + 3; // "</" name ">"
  const n = node(
    "group",
    start,
    st.i,
    open + children.map((c) => c.js).join("") + ")",
  );
  n.groupKind = isHost ? "host" : "field";
  n.children = children;
  n.host = isHost;
  n.open = open;
  n.capName = isHost ? "host" : open.slice(3, -1);
  return n;
}
