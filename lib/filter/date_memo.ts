/**
 * A memo in front of a date detector for reading a whole log (pure): consecutive syslog lines
 * mostly start with the same `Mon dd hh:mm:ss host ` text, and the date found in such a line
 * is the one found in the previous line.
 *
 * The memo is kept only for the auto-detected RFC 3164 template (`MON Day HH:MM:SS`, when
 * memoApplies() to the datepattern) at the very start of the line (`start` 0) followed by a
 * blank. Its key is the line up to and including the blank that ends the word after the date
 * (`Nov  3 20:04:17 mx1 `): all that decides that template's result (the optional weekday,
 * fraction and year, a year being a 4-digit word after the date, and the character after the
 * year) lies inside it. A line that starts with the key, read with the same `now`, gives the
 * same date: the detector's state (the template it tries first, the last time found) is what
 * the previous line left, because every line goes through the memo and any other result
 * replaces the key. Hits served by the memo are counted by the memo and merged into `hits()`.
 * @module
 */
import type { DateDetector, FoundDate } from "./dates.ts";

/** The auto-detected RFC 3164 template name (dates.ts). */
export const SYSLOG_TEMPLATE = "MON Day HH:MM:SS";

/**
 * True when a filter's datepattern means auto-detection (none, or `{^LN-BEG}`): the only case
 * where {@link SYSLOG_TEMPLATE} names the hand-written RFC 3164 scanner (a `{DATE}` pattern
 * expands to strftime templates that may carry the same name).
 * @param datepattern the filter's datepattern
 */
export function memoApplies(datepattern: string | undefined): boolean {
  return datepattern === undefined || datepattern.trim() === "{^LN-BEG}";
}

/** A memoising date detector. */
export interface DateMemo extends DateDetector {
  /**
   * Makes the next find(), if it is for exactly `line`, return `found` without detecting or
   * counting it again (for a caller that already found the date of the line it hands on to
   * matchLine()).
   */
  replayOnce(line: string, found: FoundDate): void;
  /**
   * The date of the line that starts at `at` in `text` when it starts with the memo's key (and
   * `now` is the memo's): counted as found, as find() would. Undefined otherwise (nothing is
   * counted; pass the line to find()).
   */
  hitAt(text: string, at: number, now: number): FoundDate | undefined;
  /** Lines whose date came from the memo. */
  readonly memoHits: number;
}

const BLANK = 32;

/** Options of {@link createDateMemo}. */
export interface DateMemoOptions {
  /** Reuse the previous line's date (default true); false leaves only replayOnce(). */
  memo?: boolean;
}

/**
 * Wraps `inner`; use the result instead of `inner` for every line (hits() includes both).
 * @param inner the detector that finds dates (and counts the lines it found them in)
 * @param options whether to memoise
 */
export function createDateMemo(inner: DateDetector, options: DateMemoOptions = {}): DateMemo {
  const memoOn = options.memo ?? true;
  let key: string | undefined;
  let keyNow = NaN;
  let keyFound: FoundDate | undefined;
  let keyHits = 0;
  const counts = new Map<string, number>();
  let memoHits = 0;
  let replayLine: string | undefined;
  let replayFound: FoundDate | undefined;

  const settle = (): void => {
    if (keyHits > 0 && keyFound) {
      counts.set(keyFound.template, (counts.get(keyFound.template) ?? 0) + keyHits);
    }
    keyHits = 0;
  };

  const remember = (line: string, now: number, found: FoundDate | undefined): void => {
    settle();
    key = undefined;
    keyFound = undefined;
    if (
      !memoOn || !found || found.template !== SYSLOG_TEMPLATE || found.start !== 0 ||
      found.end <= 0 || line.charCodeAt(found.end) !== BLANK
    ) {
      return;
    }
    const blank = line.indexOf(" ", found.end + 1);
    if (blank < 0) return;
    key = line.slice(0, blank + 1);
    keyNow = now;
    keyFound = found;
  };

  return {
    find(line: string, now: number): FoundDate | undefined {
      if (replayFound !== undefined) {
        const found = replayFound;
        const same = line === replayLine;
        replayFound = undefined;
        replayLine = undefined;
        if (same) return found;
      }
      if (key !== undefined && now === keyNow && startsWithKey(line, key)) {
        keyHits++;
        memoHits++;
        return keyFound;
      }
      let found: FoundDate | undefined;
      try {
        found = inner.find(line, now);
      } catch (error) {
        remember(line, now, undefined);
        throw error;
      }
      remember(line, now, found);
      return found;
    },
    hits(): ReadonlyMap<string, number> {
      settle();
      const merged = new Map(inner.hits());
      for (const [name, n] of counts) merged.set(name, (merged.get(name) ?? 0) + n);
      return merged;
    },
    hitAt(text: string, at: number, now: number): FoundDate | undefined {
      if (key === undefined || now !== keyNow || replayFound !== undefined) return undefined;
      if (!text.startsWith(key, at)) return undefined;
      keyHits++;
      memoHits++;
      return keyFound;
    },
    replayOnce(line: string, found: FoundDate): void {
      replayLine = line;
      replayFound = found;
    },
    get memoHits(): number {
      return memoHits;
    },
  };
}

/**
 * `line.startsWith(key)`, faster for the short key of every line: V8's startsWith first checks
 * whether `key` is a RegExp; comparing a slice is a fraction of the cost.
 */
function startsWithKey(line: string, key: string): boolean {
  return line.length >= key.length && line.slice(0, key.length) === key;
}
