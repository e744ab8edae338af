/**
 * Addresses taken from attacker-written text (`banwatch test`): with a `.*` before `<HOST>`
 * (the lint's "attacker-steerable" warning), a line that holds the pattern's text twice lets
 * the wildcard choose which address is taken. The daemon writes its part of a line once, so
 * when the failregex also fits with `<HOST>` elsewhere in the same line, one of the two copies
 * came from text the attacker writes (a user name, a HELO, a quoted string). This finds such
 * lines by running the failregex a second time with every top-level `.*` made lazy: the greedy
 * and the lazy match then take `<HOST>` at different places.
 * Pure: no I/O.
 * @module
 */
import { explainSubject } from "./explain.ts";
import type { CompiledFilter, PatternNode } from "./types.ts";

/** A matched line whose address the line itself chose. */
export interface SteeredHost {
  /** Index of the failregex. */
  regex: number;
  /** The address taken (the greedy match, as matchLine() takes it). */
  host: string;
  /** Its index in the line. */
  at: number;
  /** The address the failregex takes when its wildcards take the least. */
  other: string;
  /** Its index in the line. */
  otherAt: number;
}

/** Checks matched lines of one filter; see steeredHost(). */
export interface SteerCheck {
  /** The filter. */
  readonly filter: CompiledFilter;
  /** Per failregex: [greedy, lazy] regexes with indices, or undefined when not steerable. */
  readonly variants: ReadonlyArray<readonly [RegExp, RegExp] | undefined>;
}

function wildcard(n: PatternNode): boolean {
  return n.type === "any" && n.quantifier !== undefined && n.quantifier.max === Infinity;
}

/**
 * The check for `filter`, or undefined when no failregex has a top-level `.*` / `.+` before
 * its address capture (then no line can choose).
 * @param filter the compiled filter
 */
export function createSteerCheck(filter: CompiledFilter): SteerCheck | undefined {
  let any = false;
  const variants = filter.failregex.map((r) => {
    const nodes = r.translated.nodes;
    const host = nodes.findIndex((n) => n.host);
    if (host < 0 || !nodes.slice(0, host).some(wildcard)) return undefined;
    const lazy = nodes.map((n) => (wildcard(n) && !n.quantifier!.lazy ? `${n.js}?` : n.js))
      .join("");
    try {
      const flags = r.translated.flags + "d";
      const pair = [new RegExp(r.translated.source, flags), new RegExp(lazy, flags)] as const;
      any = true;
      return pair;
    } catch {
      return undefined;
    }
  });
  return any ? { filter, variants } : undefined;
}

/**
 * When failregex `regex` matched `line` and could have taken `<HOST>` at another place in it,
 * both places; else undefined. Never throws.
 * @param check from createSteerCheck()
 * @param line the matched line
 * @param regex index of the failregex that matched
 * @param now epoch seconds
 */
export function steeredHost(
  check: SteerCheck,
  line: string,
  regex: number,
  now: number,
): SteeredHost | undefined {
  const pair = check.variants[regex];
  if (pair === undefined) return undefined;
  try {
    const { text, subject, mapPos } = explainSubject(check.filter, line, now);
    const greedy = pair[0].exec(subject);
    const lazy = pair[1].exec(subject);
    const g = greedy?.indices?.groups?.["host"];
    const l = lazy?.indices?.groups?.["host"];
    if (!g || !l || g[0] === l[0]) return undefined;
    return {
      regex,
      host: text.slice(mapPos(g[0]), mapPos(g[1])),
      at: mapPos(g[0]),
      other: text.slice(mapPos(l[0]), mapPos(l[1])),
      otherAt: mapPos(l[0]),
    };
  } catch {
    return undefined;
  }
}
