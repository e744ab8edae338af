/**
 * The filter engine: fail2ban-compatible failregex / ignoreregex / prefregex, compiled to
 * JavaScript regular expressions, and a per-line verdict that says why a line did not match.
 * Pure: no `Deno.*`, no clock (`now`, epoch seconds, is a parameter), no I/O.
 *
 * Per line (as fail2ban does): one trailing `\r` is stripped; the date is found (lib/dates.ts)
 * and CUT from the line; the prefregex, if any, must match the rest (its `<F-CONTENT>` group,
 * if present, becomes the text the failregex sees); then each failregex is SEARCHED (not
 * anchored unless it starts with `^`) in that text, in order, and the first that matches
 * decides; a matching line that also matches an ignoreregex is "ignored"; otherwise the
 * captured host text must be an IP address.
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
 *
 * Differences from fail2ban (documented for README / banwatch(8)):
 * - `<HOST>` never yields a hostname unless the filter sets `usedns`: the capture is broad
 *   (`[\w.:%-]+`, optionally in `[ ]`) so a hostname in that position is SEEN, but the line is
 *   a miss with reason "not-an-address" unless the text parses as an IPv4/IPv6 address. With
 *   `usedns` a syntactically valid hostname is reported with `addr` undefined (the caller
 *   resolves it — unsafe where the attacker controls reverse DNS). `<ADDR>`, `<IP4>`, `<IP6>`,
 *   `<SUBNET>` never accept a hostname, even with `usedns`.
 * - The address is normalised: `::ffff:1.2.3.4` -> `1.2.3.4`, IPv6 compressed (RFC 5952);
 *   leading zeros in IPv4 (`010.1.1.1`, `192.030.0.6`: octal or decimal?) and zone ids
 *   (`fe80::1%em0`) are "not-an-address". `<HOST>` tries an IPv4 address first, so a port
 *   after it is left to the rest of the pattern as with fail2ban's narrower address patterns
 *   (`<HOST>:\d+` takes 1.2.3.4 from `1.2.3.4:5060`; plain `<HOST>` then finds `1.2.3.4:5060`,
 *   which is not an address). An IPv6 address with a 5-digit port (`2001:db8::1:58430`: a
 *   group has at most 4 digits) yields the address. Like fail2ban, `<HOST>` and `<ADDR>`
 *   accept an address in optional `[brackets]`; built-in filters use `<F-HOST>…</F-HOST>`
 *   where a daemon never writes brackets.
 * - The first regex match decides: when its host text is not an address the line is a miss;
 *   banwatch does not retry the search further along the line.
 * - Exactly one address capture per failregex (fail2ban tolerates none with `<F-ID>` bans;
 *   banwatch bans addresses only, so `<F-ID>` text must be an address too).
 * - Auto-detected dates are only accepted at the line start; explicit datepatterns are
 *   searched as in fail2ban (see lib/dates.ts). As in fail2ban, the text
 *   after the cut keeps the blank that followed the date (`" mx sshd[1]: …"`). Unlike
 *   fail2ban, a `^` (or `\A`) that starts a top-level branch and is followed by something that
 *   cannot match a blank (`^\S+ sshd`, `^mail`) skips those blanks, so both `^\S+ prog: ` and
 *   fail2ban's `^\s*…` / `^ …` / `%(__prefix_line)s` styles work.
 * - The address capture may sit in the prefregex instead of the failregex (fail2ban's apache
 *   filters do this); prefregex and failregex together need exactly one.
 * - ignoreregex is consulted only for lines that matched a failregex (an ignoreregex-only line
 *   is a plain miss, as fail2ban-regex counts it).
 * - Numbered backreferences `\1` count the user's own groups: fail2ban's `<HOST>` opens three
 *   Python groups (ip4, ip6, dns), banwatch's one, so `\N` is mapped to the N-th group the
 *   pattern itself opens (named groups are the portable choice).
 * - Regexes are JavaScript (V8) regexes: `\d` and `\w` are ASCII (Python's are Unicode);
 *   unsupported and rejected with a FilterError: atomic groups `(?>…)`, possessive
 *   quantifiers, `\N{name}`, `(?L)`, global flags after the start (except fail2ban's
 *   `((?i)…)` form), `<SKIPLINES>` (no `maxlines`), and unknown upper-case tags (`<USER>`).
 * - Python conditionals `(?(g)yes|no)` are emulated by expanding the pattern into one
 *   alternative per combination of the tested groups (at most 4 groups; not together with
 *   numbered backreferences), preferring "g took part"; exotic uses may differ from Python.
 * - matchLine() judges one line: a match in which `<F-NOFAIL>` or `<F-MLFGAINED>` took part
 *   is not a failure (a "no-failregex" miss with its regex index), as a lone such line is in
 *   fail2ban. As in fail2ban, a failregex without address capture is accepted when the
 *   prefregex has `<F-MLFID>`; its matches are such misses too. When a match captured
 *   `<F-MLFID>`, the verdict carries `session` facts; lib/sessions.ts correlates them across
 *   lines as fail2ban does (a failure whose address is on another line of the connection).
 *   `maxlines` > 1 and `<SKIPLINES>` (buffered multi-line matching) are not supported.
 * - `<CIDR>` / `<SUBNET>` masks are reported in `fields.cidr`; the ban width comes from the
 *   jail (`ipv4_prefix` / `ipv6_prefix`), not from the log.
 * - Lines may hold NUL, U+FFFD, a trailing CR and be megabytes long: matchLine() never throws
 *   (a regex engine failure is a "no-failregex" miss).
 * @module
 */

import { type IpAddress, parseIp } from "../core/mod.ts";
import { createDateDetector, type DateDetector, type FoundDate } from "./dates.ts";

export type { DateDetector, FoundDate } from "./dates.ts";
export type { IpAddress, IpFamily } from "../core/mod.ts";

/** A filter as written by the user or built in: regexes and date settings. */
export interface FilterSpec {
  /** Filter name (built-in name, file name or "inline"). */
  name: string;
  /** One-line description. */
  description?: string;
  /** An example log line the filter matches. */
  example?: string;
  /** Failure regexes; each must capture exactly one address. */
  failregex: readonly string[];
  /** Lines matching a failregex and one of these are "ignored". */
  ignoreregex?: readonly string[];
  /** Must match (after the date is cut) before any failregex is tried. */
  prefregex?: string;
  /** Date pattern for lib/dates.ts; undefined = auto-detection. */
  datepattern?: string;
  /** Accept a hostname in `<HOST>` (unsafe with attacker-controlled reverse DNS). */
  usedns?: boolean;
  /** Time zone of dates without one ("UTC", IANA name, "+0900"); default local. */
  timezone?: string;
}

/** Which filter setting a FilterError is about. */
export type FilterKey = "failregex" | "ignoreregex" | "prefregex" | "datepattern";

/** A filter setting that cannot be used: a regex that does not compile, no address capture… */
export class FilterError extends Error {
  /** The setting at fault. */
  readonly key: FilterKey;
  /** Index in the failregex / ignoreregex list, undefined for single-valued keys. */
  readonly index: number | undefined;
  /** Builds the error; `message` is one line and may end in "; expected …". */
  constructor(key: FilterKey, index: number | undefined, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FilterError";
    this.key = key;
    this.index = index;
  }
}

/** A quantifier attached to a pattern node: `*` is {min 0, max Infinity}. */
export interface PatternQuantifier {
  /** Minimum repetitions. */
  readonly min: number;
  /** Maximum repetitions (Infinity when unbounded). */
  readonly max: number;
  /** Lazy (`*?`). */
  readonly lazy: boolean;
}

/** Kind of a parsed pattern node. */
export type PatternNodeType =
  | "literal"
  | "escape"
  | "class"
  | "any"
  | "start"
  | "end"
  | "backref"
  | "alternation"
  | "group"
  | "conditional"
  | "tag";

/** Kind of a group node. */
export type PatternGroupKind =
  | "capture"
  | "named"
  | "noncapture"
  | "lookahead"
  | "lookbehind"
  | "field"
  | "host";

/** One atom of a parsed fail2ban pattern, with its original and translated text. */
export interface PatternNode {
  /** What the node is. */
  readonly type: PatternNodeType;
  /** For groups: which kind. */
  readonly groupKind: PatternGroupKind | undefined;
  /** Start index in the original pattern. */
  readonly start: number;
  /** End index (exclusive) in the original pattern, quantifier included. */
  readonly end: number;
  /** Translated JavaScript regex text, quantifier included. */
  readonly js: string;
  /** The quantifier, if any. */
  readonly quantifier: PatternQuantifier | undefined;
  /** Child nodes of a group (an "alternation" node separates branches). */
  readonly children: readonly PatternNode[];
  /** The exact text this atom matches when unquantified (literals and escaped literals). */
  readonly literal: string | undefined;
  /** This node is (or, for a group, is itself) the address capture. */
  readonly host: boolean;
}

/** A fail2ban pattern translated to a JavaScript regex. */
export interface TranslatedPattern {
  /** The original pattern. */
  readonly pattern: string;
  /** JavaScript regex source. */
  readonly source: string;
  /** JavaScript flags ("", "i", "ms", …). */
  readonly flags: string;
  /** Top-level nodes in order ("alternation" nodes separate top-level branches). */
  readonly nodes: readonly PatternNode[];
  /** Number of address captures. */
  readonly hostCaptures: number;
  /** "address" (`<ADDR>`, `<IP4>`…: never a hostname) or "host" (`<HOST>`, `<DNS>`, `<F-ID>`). */
  readonly hostKind: "address" | "host" | undefined;
  /** Named groups other than the address capture, in order. */
  readonly fields: readonly string[];
}

/** A compiled failregex / ignoreregex / prefregex. */
export interface CompiledRegex {
  /** The pattern as written. */
  readonly pattern: string;
  /** Its translation. */
  readonly translated: TranslatedPattern;
  /** The compiled regex (not global, not sticky: no lastIndex state). */
  readonly regex: RegExp;
  /** Texts one of which every match contains (cheap pre-check; {@link requiredLiterals}). */
  readonly literals: readonly string[] | undefined;
}

/** A filter ready to match lines; its date detector is stateful (template hits). */
export interface CompiledFilter {
  /** The spec it was compiled from. */
  readonly spec: FilterSpec;
  /** Compiled failregexes, in spec order. */
  readonly failregex: readonly CompiledRegex[];
  /** Compiled ignoreregexes, in spec order. */
  readonly ignoreregex: readonly CompiledRegex[];
  /** Compiled prefregex, if any. */
  readonly prefregex: CompiledRegex | undefined;
  /** The date detector (counts hits per template). */
  readonly dates: DateDetector;
}

/**
 * What a line says about a fail2ban multi-line session (`<F-MLFID>`, the connection id), for
 * lib/sessions.ts to correlate. Present only when the match captured an `mlfid`.
 */
export interface SessionFacts {
  /** The session id (`<F-MLFID>` text, e.g. `host sshd[123]: `). */
  readonly id: string;
  /** `<F-NOFAIL>` took part: this line alone is no failure. */
  readonly nofail: boolean;
  /** `<F-MLFGAINED>` took part (a login succeeded): pending failures are dropped. */
  readonly gained: boolean;
  /** `<F-MLFFORGET>` took part (the connection ended): the session is forgotten. */
  readonly forget: boolean;
  /** `<F-USER>` text, if captured. */
  readonly user?: string;
  /** The valid address (or, with usedns, hostname) on this line, if any. */
  readonly host?: string;
}

/** The verdict on one log line. */
export type LineVerdict =
  | {
    kind: "matched";
    time: number;
    template: string;
    regex: number;
    /** Undefined only when spec.usedns and host is a hostname (the daemon resolves it). */
    addr: IpAddress | undefined;
    host: string;
    fields: Record<string, string>;
    /** Set when the filter tracks sessions (`<F-MLFID>`). */
    session?: SessionFacts;
  }
  | {
    kind: "ignored";
    time: number;
    template: string;
    regex: number;
    ignoreRegex: number;
    host: string;
  }
  | {
    kind: "missed";
    reason: "no-date" | "no-failregex" | "not-an-address";
    time?: number;
    template?: string;
    regex?: number;
    host?: string;
    /** Set when a failregex matched and captured an `<F-MLFID>`. */
    session?: SessionFacts;
  };

/** How far one failregex got on a line that it did not match. */
export interface NearMiss {
  /** Index of the failregex. */
  regex: number;
  /** The whole pattern. */
  pattern: string;
  /** The longest prefix of the pattern (whole top-level tokens) that matches in the line. */
  matchedPattern: string;
  /** The rest of the pattern, from the first token that did not match. */
  remainingPattern: string;
  /** Index in the line (as given, CR stripped) where the prefix match ended. */
  linePos: number;
  /** The line from linePos (at most 200 characters). */
  lineRest: string;
}

// ---------------------------------------------------------------------------------------------
// Translation

const IP4_JS = String.raw`\d{1,3}(?:\.\d{1,3}){3}`;
const IP6_JS = String.raw`[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*(?:%[\w.-]+)?`;
const HOST_TEXT_JS = String.raw`[\w.:%-]+`;
const DNS_JS = String.raw`[\w.-]*\w`;
const ADDR_JS = `(?:${IP6_JS}|${IP4_JS})`;

interface TagDef {
  /** JS source with `(?<host>` for the address capture. */
  js: string;
  host: "address" | "host" | undefined;
  field?: string;
}

const TAGS: Record<string, TagDef> = {
  // IPv4 first, so a following `:port` is left to the rest of the pattern (as fail2ban's
  // narrower address patterns do) instead of being swallowed by the broad host text.
  HOST: {
    js: String.raw`\[?(?<host>(?:::[fF]{4}:)?${IP4_JS}|${HOST_TEXT_JS})\]?`,
    host: "host",
  },
  ADDR: { js: String.raw`\[?(?<host>(?:::[fF]{4}:)?${IP4_JS}|${IP6_JS})\]?`, host: "address" },
  IP4: { js: `(?<host>${IP4_JS})`, host: "address" },
  IP6: { js: `(?<host>${IP6_JS})`, host: "address" },
  DNS: { js: `(?<host>${DNS_JS})`, host: "host" },
  SUBNET: {
    js: String.raw`\[?(?<host>${ADDR_JS})(?:\/(?<cidr>\d{1,3}))?\]?`,
    host: "address",
    field: "cidr",
  },
  CIDR: { js: String.raw`(?<cidr>\d{1,3})`, host: undefined, field: "cidr" },
};

/** F- tags whose content is the address capture, and the kind of address. */
const HOST_FIELD_TAGS: Record<string, "address" | "host"> = {
  "F-ID": "host",
  "F-HOST": "host",
  "F-DNS": "host",
  "F-ADDR": "address",
  "F-IP4": "address",
  "F-IP6": "address",
  "F-SUBNET": "address",
};

/** Python named groups that are the address capture (fail2ban's raw group names). */
const HOST_GROUP_NAMES: Record<string, "address" | "host"> = {
  host: "host",
  dns: "host",
  fid: "host",
  ip4: "address",
  ip6: "address",
  addr: "address",
};

const UNSUPPORTED_TAGS = new Set(["SKIPLINES"]);

const TAG_RE = /<(\/?)([A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*)(\/?)>/y;
const GLOBAL_FLAGS_RE = /\(\?([aiLmsux]+)\)/y;
const SCOPED_FLAGS_RE = /\(\?([aiLmsux]*)(?:-([imsx]+))?:/y;
/** fail2ban's R_GLOB2LOCFLAGS: `((?i)x)` and `(?:(?i)x)` become `(?i:x)`. */
const WRAPPED_FLAGS_RE = /\((?:\?:)?\(\?([a-zL]+)\)/y;
const QUANT_BRACE_RE = /\{(\d*)(?:(,)(\d*))?\}/y;
const GROUP_NAME_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
const JS_SPECIAL = "^$\\.*+?()[]{}|/";

interface MutableNode {
  type: PatternNodeType;
  groupKind: PatternGroupKind | undefined;
  start: number;
  end: number;
  js: string;
  quantifier: PatternQuantifier | undefined;
  children: MutableNode[];
  literal: string | undefined;
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

interface ParseState {
  readonly p: string;
  i: number;
  verbose: boolean;
  hostCaptures: number;
  hostKind: "address" | "host" | undefined;
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

type Closer = { kind: "none" } | { kind: "paren" } | { kind: "tag"; name: string };

function node(type: PatternNodeType, start: number, end: number, js: string): MutableNode {
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

function fail(message: string): never {
  throw new SyntaxError(message);
}

function escapeJsChar(c: string): string {
  return JS_SPECIAL.includes(c) ? `\\${c}` : c;
}

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

function parseEscape(st: ParseState): MutableNode {
  const start = st.i;
  const e = readEscape(st, false);
  const n = node(e.type, start, st.i, e.js);
  n.literal = e.literal;
  return n;
}

function parseClass(st: ParseState): MutableNode {
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
function expandConditionals(nodes: MutableNode[]): string {
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

/** Number of capture groups a translated tag opens. */
function countGroups(js: string): number {
  return js.split("(?<").length - 1 - (js.split("(?<=").length - 1) - (js.split("(?<!").length - 1);
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
function skipBlanksAfterStart(nodes: MutableNode[]): void {
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

/** Splits top-level nodes into branches at "alternation" nodes. */
export function patternBranches(nodes: readonly PatternNode[]): PatternNode[][] {
  const branches: PatternNode[][] = [[]];
  for (const n of nodes) {
    if (n.type === "alternation") branches.push([]);
    else branches[branches.length - 1]!.push(n);
  }
  return branches;
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

function shorten(pattern: string): string {
  return pattern.length > 80 ? `${pattern.slice(0, 77)}...` : pattern;
}

const CAPTURES = "<HOST>, <ADDR>, <IP4>, <IP6>, <SUBNET>, <F-ID>...</F-ID> or (?P<host>...)";

/**
 * Compiles one regex; `hosts` is the number of address captures it must have (failregex: 1,
 * or 0 when the prefregex has the capture; others: any).
 */
function compileRegex(
  pattern: string,
  key: FilterKey,
  index: number | undefined,
  hosts: number | undefined,
): CompiledRegex {
  if (typeof pattern !== "string" || pattern.trim() === "") {
    throw new FilterError(key, index, "empty regular expression; expected a non-empty regex");
  }
  let t: TranslatedPattern;
  try {
    t = translatePattern(pattern);
  } catch (e) {
    throw new FilterError(
      key,
      index,
      `cannot translate ${JSON.stringify(shorten(pattern))}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const quoted = JSON.stringify(shorten(pattern));
  if (hosts === 1 && t.hostCaptures === 0) {
    throw new FilterError(
      key,
      index,
      `no address capture in ${quoted}; expected exactly one of ${CAPTURES}`,
    );
  }
  if (hosts === 1 && t.hostCaptures > 1) {
    throw new FilterError(
      key,
      index,
      `${t.hostCaptures} address captures in ${quoted}; expected exactly one of ${CAPTURES}`,
    );
  }
  if (hosts === 0 && t.hostCaptures > 0) {
    throw new FilterError(
      key,
      index,
      `address captured in both the prefregex and ${quoted}; expected the capture in only one`,
    );
  }
  if (key === "prefregex" && t.hostCaptures > 1) {
    throw new FilterError(
      key,
      index,
      `${t.hostCaptures} address captures in ${quoted}; expected at most one`,
    );
  }
  let regex: RegExp;
  try {
    regex = new RegExp(t.source, t.flags);
  } catch (e) {
    const msg = (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "");
    throw new FilterError(
      key,
      index,
      `invalid regular expression ${JSON.stringify(shorten(pattern))}: ${msg}`,
      { cause: e },
    );
  }
  return { pattern, translated: t, regex, literals: requiredLiterals(t) };
}

interface CompileOutcome {
  errors: FilterError[];
  failregex: CompiledRegex[];
  ignoreregex: CompiledRegex[];
  prefregex: CompiledRegex | undefined;
  dates: DateDetector | undefined;
}

function compileAll(spec: FilterSpec): CompileOutcome {
  const out: CompileOutcome = {
    errors: [],
    failregex: [],
    ignoreregex: [],
    prefregex: undefined,
    dates: undefined,
  };
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof FilterError) out.errors.push(e);
      else throw e;
      return undefined;
    }
  };
  // The prefregex first: an address capture there means the failregexes need none.
  let prefError: FilterError | undefined;
  if (spec.prefregex !== undefined) {
    try {
      out.prefregex = compileRegex(spec.prefregex, "prefregex", undefined, undefined);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      prefError = e;
    }
  }
  // fail2ban also accepts a failregex without address when the prefregex has <F-MLFID>
  // (the id comes from another line): banwatch compiles it, and its matches ban nothing.
  const prefT = out.prefregex?.translated;
  const failHosts = (prefT?.hostCaptures ?? 0) > 0
    ? 0
    : prefT?.fields.includes("mlfid")
    ? undefined
    : 1;
  const failregex = Array.isArray(spec.failregex) ? spec.failregex : [];
  if (failregex.length === 0) {
    out.errors.push(
      new FilterError(
        "failregex",
        undefined,
        "no failregex; expected at least one regular expression with <HOST>",
      ),
    );
  }
  failregex.forEach((p, i) => {
    const r = attempt(() => compileRegex(p, "failregex", i, failHosts));
    if (r) out.failregex.push(r);
  });
  (spec.ignoreregex ?? []).forEach((p, i) => {
    const r = attempt(() => compileRegex(p, "ignoreregex", i, undefined));
    if (r) out.ignoreregex.push(r);
  });
  if (prefError) out.errors.push(prefError);
  out.dates = attempt(() => makeDetector(spec));
  return out;
}

function makeDetector(spec: FilterSpec): DateDetector {
  try {
    return createDateDetector(spec.datepattern, { timezone: spec.timezone });
  } catch (e) {
    let what = `datepattern ${JSON.stringify(spec.datepattern ?? "(auto)")}`;
    if (spec.timezone !== undefined) {
      try {
        createDateDetector(spec.datepattern);
        what = `timezone ${JSON.stringify(spec.timezone)}`;
      } catch {
        // the datepattern itself is at fault
      }
    }
    throw new FilterError("datepattern", undefined, `${what}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Every problem of a filter spec (each regex, the date pattern), for configuration errors.
 * @param spec the filter
 */
export function validateFilter(spec: FilterSpec): FilterError[] {
  return compileAll(spec).errors;
}

/**
 * Compiles a filter; throws the first FilterError (see validateFilter() for all of them).
 * @param spec the filter
 */
export function compileFilter(spec: FilterSpec): CompiledFilter {
  const out = compileAll(spec);
  if (out.errors.length > 0) throw out.errors[0]!;
  return {
    spec,
    failregex: out.failregex,
    ignoreregex: out.ignoreregex,
    prefregex: out.prefregex,
    dates: out.dates!,
  };
}

// ---------------------------------------------------------------------------------------------
// Matching

const HOSTNAME_RE =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;
const NUMERIC_RE = /^[\d.]+$/;

function isHostname(text: string): boolean {
  return HOSTNAME_RE.test(text) && !NUMERIC_RE.test(text) && !text.includes("_");
}

function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

/** The line without its date, as fail2ban builds it: text before + text after the date. */
function cutDate(text: string, d: FoundDate): string {
  if (d.start === 0) return d.end === 0 ? text : text.slice(d.end);
  return text.slice(0, d.start) + text.slice(d.end);
}

const IP6_PORT_RE = /^([0-9A-Fa-f:]*::?[0-9A-Fa-f]{1,4}):\d{5}$/;

/**
 * An IPv6 address followed by a 5-digit port (`2001:db8::1:58430`) yields the address: an
 * IPv6 group has at most 4 digits, so fail2ban's pattern stops before it too.
 */
function trimHostText(h: string): string {
  const m6 = h.length > 8 ? IP6_PORT_RE.exec(h) : null;
  return m6 && parseIp(m6[1]!) ? m6[1]! : h;
}

function hostOf(m: RegExpExecArray): string {
  const h = m.groups?.["host"] ?? "";
  return h.length > 2 && h.charCodeAt(0) === 91 && h.charCodeAt(h.length - 1) === 93
    ? h.slice(1, -1)
    : h;
}

function findFailure(
  filter: CompiledFilter,
  subject: string,
): { index: number; m: RegExpExecArray } | undefined {
  const list = filter.failregex;
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    if (r.literals !== undefined && !containsAny(subject, r.literals)) continue;
    const m = r.regex.exec(subject);
    if (m) return { index: i, m };
  }
  return undefined;
}

function findIgnore(filter: CompiledFilter, subject: string): number {
  const list = filter.ignoreregex;
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    if (r.literals !== undefined && !containsAny(subject, r.literals)) continue;
    if (r.regex.test(subject)) return i;
  }
  return -1;
}

/**
 * What matchLine() does first: the line without one trailing "\r", and the date the filter's
 * detector finds in it (undefined when none, or when the detector throws).
 * @param filter the compiled filter (its date detector counts the hit)
 * @param line one log line without its "\n"
 * @param now epoch seconds
 */
export function findLineDate(
  filter: CompiledFilter,
  line: string,
  now: number,
): { text: string; date: FoundDate | undefined } {
  const text = stripCr(line);
  try {
    return { text, date: filter.dates.find(text, now) };
  } catch {
    return { text, date: undefined };
  }
}

function matchLineUnsafe(filter: CompiledFilter, line: string, now: number): LineVerdict {
  const { text, date } = findLineDate(filter, line, now);
  if (!date) return { kind: "missed", reason: "no-date" };
  const time = date.time;
  const template = date.template;
  let subject = cutDate(text, date);
  const pref = filter.prefregex;
  let prefMatch: RegExpExecArray | null = null;
  if (pref) {
    prefMatch = pref.regex.exec(subject);
    if (!prefMatch) return { kind: "missed", reason: "no-failregex", time, template };
    const content = prefMatch.groups?.["content"];
    if (content !== undefined) subject = content;
  }
  const hit = findFailure(filter, subject);
  if (!hit) return { kind: "missed", reason: "no-failregex", time, template };
  const regex = hit.index;
  const compiled = filter.failregex[regex]!;
  const hostFromPref = prefMatch !== null && compiled.translated.hostCaptures === 0 &&
    pref!.translated.hostCaptures > 0;
  const hostText = trimHostText(hostOf(hostFromPref ? prefMatch! : hit.m));
  if (filter.ignoreregex.length > 0) {
    const ig = findIgnore(filter, subject);
    if (ig >= 0) return { kind: "ignored", time, template, regex, ignoreRegex: ig, host: hostText };
  }
  const fields: Record<string, string> = {};
  if (prefMatch?.groups) {
    for (const name of pref!.translated.fields) {
      const v = prefMatch.groups[name];
      if (v !== undefined && name !== "content") fields[name] = v;
    }
  }
  const groups = hit.m.groups;
  if (groups) {
    for (const name of compiled.translated.fields) {
      const v = groups[name];
      if (v !== undefined) fields[name] = v;
    }
  }
  mergeAltFields(fields);
  const addr = parseIp(hostText);
  const hostKind = hostFromPref ? pref!.translated.hostKind : compiled.translated.hostKind;
  const hostname = addr === undefined && filter.spec.usedns === true && hostKind === "host" &&
    isHostname(hostText);
  const mlfid = fields["mlfid"];
  const session: SessionFacts | undefined = mlfid === undefined ? undefined : {
    id: mlfid,
    nofail: fields["nofail"] !== undefined,
    gained: fields["mlfgained"] !== undefined,
    forget: fields["mlfforget"] !== undefined,
    ...(fields["user"] ? { user: fields["user"] } : {}),
    ...(addr ? { host: addr.text } : hostname ? { host: hostText } : {}),
  };
  const withSession = session ? { session } : {};
  if (
    fields["nofail"] !== undefined || fields["mlfgained"] !== undefined ||
    (hostText === "" && !hostFromPref && compiled.translated.hostCaptures === 0)
  ) {
    // fail2ban's <F-NOFAIL> / <F-MLFGAINED> ("Accepted …"): matched, but not a failure (unless
    // a session says otherwise: lib/sessions.ts).
    return {
      kind: "missed",
      reason: "no-failregex",
      time,
      template,
      regex,
      host: hostText,
      ...withSession,
    };
  }
  if (addr) {
    return {
      kind: "matched",
      time,
      template,
      regex,
      addr,
      host: addr.text,
      fields,
      ...withSession,
    };
  }
  if (hostname) {
    return {
      kind: "matched",
      time,
      template,
      regex,
      addr: undefined,
      host: hostText,
      fields,
      ...withSession,
    };
  }
  return { kind: "missed", reason: "not-an-address", time, template, regex, host: hostText };
}

/**
 * fail2ban's alternative fields: `<F-ALT_USER>` / `<F-ALT_USER1>` give `user` when that is
 * missing or empty (the first non-empty alternative in name order wins).
 */
function mergeAltFields(fields: Record<string, string>): void {
  let alts: string[] | undefined;
  for (const k in fields) if (k.startsWith("alt_") && k.length > 4) (alts ??= []).push(k);
  if (!alts) return;
  for (const k of alts.sort()) {
    const name = k.slice(4).replace(/_\d+$/, "");
    const v = fields[k];
    if (v && !fields[name]) fields[name] = v;
  }
}

/**
 * The verdict on one log line; never throws.
 * @param filter the compiled filter (its date detector counts the hit)
 * @param line one log line without its "\n" (one trailing "\r" is ignored)
 * @param now epoch seconds, for the missing-year rule and `{NONE}`
 */
export function matchLine(filter: CompiledFilter, line: string, now: number): LineVerdict {
  try {
    return matchLineUnsafe(filter, line, now);
  } catch {
    return { kind: "missed", reason: "no-failregex" };
  }
}

/**
 * Date template hits so far (template name -> lines), as fail2ban-regex prints them.
 * @param filter the compiled filter
 */
export function dateHits(filter: CompiledFilter): ReadonlyMap<string, number> {
  return filter.dates.hits();
}

// ---------------------------------------------------------------------------------------------
// Explaining misses

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

/**
 * For each failregex, the longest prefix of the pattern (cut at top-level tokens: literals,
 * escapes, groups, classes, quantified atoms) that still matches in the line, anchored as the
 * full pattern is, and where in the line that match ended. Runs on the same text matchLine()
 * searches (date cut, prefregex content); positions refer to the line as given. Does not
 * count date hits. Never throws.
 * @param filter the compiled filter
 * @param line the log line
 * @param now epoch seconds
 */
export function explainMiss(filter: CompiledFilter, line: string, now: number): NearMiss[] {
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
  if (cache.prefIndices) {
    try {
      const m = cache.prefIndices.exec(subject);
      const span = m?.indices?.groups?.["content"];
      if (m && span) {
        const base = span[0];
        const outer = mapPos;
        subject = m.groups!["content"]!;
        mapPos = (pos) => outer(pos + base);
      }
    } catch {
      // explain without the prefregex
    }
  }
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
  };
}
