/**
 * Compiles a FilterSpec: each failregex / ignoreregex / prefregex translated and built as a
 * RegExp with its address-capture count checked, and the date detector; every problem is a
 * FilterError (validateFilter() returns them all, compileFilter() throws the first).
 * @module
 */

import { createDateDetector, type DateDetector } from "./dates.ts";
import { requiredLiterals } from "./literals.ts";
import { translatePattern } from "./translate.ts";
import {
  type CompiledFilter,
  type CompiledRegex,
  FilterError,
  type FilterKey,
  type FilterSpec,
  type TranslatedPattern,
} from "./types.ts";

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

/**
 * The date detector of a filter (datepattern, timezone); a FilterError names whichever of the
 * two is at fault.
 * @param spec the filter
 */
export function makeDetector(spec: FilterSpec): DateDetector {
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
