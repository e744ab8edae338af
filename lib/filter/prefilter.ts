/**
 * The literal prefilter of `banwatch test` (pure): from each compiled failregex and the
 * prefregex it derives text that every match must contain, so that a line containing none of it
 * can be judged without running a regex: it is a "no-failregex" miss when a date is found and a
 * "no-date" miss otherwise, exactly what matchLine() would say.
 *
 * The literals are the compiled regexes' own (`CompiledRegex.literals`, from literals.ts's
 * requiredLiterals(): conservative, none when unsure, hence no prefilter).
 * @module
 */
import { createDateMemo, type DateMemo, memoApplies } from "./date_memo.ts";
import { containsAny } from "./literals.ts";
import { findLineDate } from "./match.ts";
import type { CompiledFilter, LineVerdict } from "./types.ts";

/** The literals a line must contain for a filter to possibly match it. */
export interface LinePrefilter {
  /**
   * Failregex literals: a failregex can only match a text containing one of them (undefined
   * when some failregex has no literal, i.e. any text may match).
   */
  readonly failregex: readonly string[] | undefined;
  /** Prefregex literals: the prefregex can only match a text containing one of them. */
  readonly prefregex: readonly string[] | undefined;
}

/**
 * The prefilter of a compiled filter, or undefined when no literal is known (every line must
 * then go through matchLine()).
 * @param filter the compiled filter
 */
export function createPrefilter(filter: CompiledFilter): LinePrefilter | undefined {
  let failregex: string[] | undefined = [];
  for (const r of filter.failregex) {
    const lits = r.literals;
    if (lits === undefined) {
      failregex = undefined;
      break;
    }
    for (const l of lits) if (!failregex.includes(l)) failregex.push(l);
  }
  if (failregex !== undefined && failregex.length === 0) failregex = undefined;
  const prefregex = filter.prefregex?.literals;
  if (failregex === undefined && prefregex === undefined) return undefined;
  return { failregex, prefregex };
}

/**
 * True when no failregex can match `text` (nor any substring of it): it lacks every failregex
 * literal, or every prefregex literal.
 * @param prefilter from createPrefilter()
 * @param text the line, or the text the regexes would see
 */
export function prefilterRejects(prefilter: LinePrefilter, text: string): boolean {
  if (prefilter.prefregex !== undefined && !containsAny(text, prefilter.prefregex)) return true;
  return prefilter.failregex !== undefined && !containsAny(text, prefilter.failregex);
}

/** Answers prefilterRejects() for the lines of one block of text, in order, without slicing. */
export interface LiteralCursor {
  /**
   * prefilterRejects() of `text.slice(start, end)`; calls must come with non-decreasing `start`.
   * @param start index of the line's first character
   * @param end index just past the line's last character
   */
  rejects(start: number, end: number): boolean;
}

/**
 * A cursor over `text` that finds each literal's next occurrence once (one pass per literal
 * over the block instead of one search per line).
 * @param prefilter from createPrefilter()
 * @param text the block of lines
 */
export function literalCursor(prefilter: LinePrefilter, text: string): LiteralCursor {
  const pref = prefilter.prefregex ?? [];
  const fail = prefilter.failregex ?? [];
  const prefNext = pref.map(() => -1);
  const failNext = fail.map(() => -1);
  return {
    rejects(start: number, end: number): boolean {
      if (pref.length > 0 && !within(text, pref, prefNext, start, end)) return true;
      return fail.length > 0 && !within(text, fail, failNext, start, end);
    },
  };
}

/** True when one of `literals` lies in `text[start, end)`; `next` caches each one's next index. */
function within(
  text: string,
  literals: readonly string[],
  next: number[],
  start: number,
  end: number,
): boolean {
  for (let i = 0; i < literals.length; i++) {
    const lit = literals[i]!;
    let at = next[i]!;
    if (at < start) {
      at = text.indexOf(lit, start);
      next[i] = at = at < 0 ? Infinity : at;
    }
    if (at + lit.length <= end) return true;
  }
  return false;
}

/** A filter set up to read a log line after line: its prefilter and a memo of line dates. */
export interface QuickFilter {
  /** The filter, its date detector being {@link QuickFilter.dates} when that is set. */
  filter: CompiledFilter;
  /** The memo in front of the filter's date detector (also the replay point for matchLine()). */
  dates: DateMemo | undefined;
  /** createPrefilter() of the filter, unless turned off or no literal is known. */
  prefilter: LinePrefilter | undefined;
  /** The memo remembers dates (on, and the datepattern is auto-detection); else it only replays. */
  memo: boolean;
}

/**
 * Sets a compiled filter up for reading a log in order (the daemon, `banwatch test`): most lines
 * lack the filter's literals and share their date with the line before; prefilteredVerdict()
 * and the memo give matchLine()'s verdict without its work.
 * @param filter the compiled filter
 * @param options turn the prefilter or the date memo off (both on by default)
 */
export function quickFilter(
  filter: CompiledFilter,
  options: { prefilter?: boolean | undefined; dateMemo?: boolean | undefined } = {},
): QuickFilter {
  const prefilter = options.prefilter === false ? undefined : createPrefilter(filter);
  const memo = (options.dateMemo ?? true) && memoApplies(filter.spec.datepattern);
  const dates = memo || prefilter ? createDateMemo(filter.dates, { memo }) : undefined;
  return { filter: dates ? { ...filter, dates } : filter, dates, prefilter, memo };
}

/**
 * matchLine()'s verdict on a line that lacks every literal a match needs (no regex can match
 * it: only its date decides between "no-date" and "no-failregex"), or undefined when the line
 * must go through matchLine() (told, through `dates`, the date already found). Such a line
 * carries no session facts (those come from a failregex match), so sessions need not see it.
 * @param filter the compiled filter, its date detector being `dates` when that is given
 * @param prefilter createPrefilter() of the filter
 * @param dates the memo in front of the filter's date detector, if any
 * @param text the line
 * @param now epoch seconds
 * @param rejected prefilterRejects() of the line, when already known
 */
export function prefilteredVerdict(
  filter: CompiledFilter,
  prefilter: LinePrefilter,
  dates: DateMemo | undefined,
  text: string,
  now: number,
  rejected?: boolean,
): LineVerdict | undefined {
  if (!(rejected ?? prefilterRejects(prefilter, text))) return undefined;
  const { text: line, date } = findLineDate(filter, text, now);
  if (!date) return { kind: "missed", reason: "no-date" };
  // The regexes see the line without its date. From the start, that is a part of the line;
  // otherwise both sides are joined and a literal may straddle the join: let matchLine()
  // decide, with the date already found.
  if (
    date.start > 0 &&
    !prefilterRejects(prefilter, line.slice(0, date.start) + line.slice(date.end))
  ) {
    dates?.replayOnce(line, date);
    return undefined;
  }
  return { kind: "missed", reason: "no-failregex", time: date.time, template: date.template };
}
