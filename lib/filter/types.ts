/**
 * The filter engine's shapes: a filter as written (FilterSpec), its compiled form
 * (CompiledFilter, CompiledRegex), a translated pattern and its nodes, the verdict on one line
 * (LineVerdict, SessionFacts), a near miss (NearMiss) and FilterError. Types only, plus the
 * error class; the code that fills them is in translate.ts, compile.ts, match.ts, explain.ts.
 * @module
 */

import type { IpAddress } from "../core/mod.ts";
import type { DateDetector } from "./dates.ts";

// The types the shapes below refer to, exported with them (house rule: every type used in an
// exported signature is exported).
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
  /** Date pattern for dates.ts; undefined = auto-detection. */
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
 * sessions.ts to correlate. Present only when the match captured an `mlfid`.
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
  /** Top-level tokens of the (best) branch that matched. */
  tokens: number;
  /**
   * How far the match got, in literal characters of the pattern (an address or a group counts
   * a few, `.*` nothing): near_miss.ts ranks by it and drops lines that got almost nowhere.
   */
  progress: number;
}
