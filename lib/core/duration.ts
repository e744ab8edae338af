/**
 * Durations of jails.toml: `"90s"`, `"20m"`, `"1h"`, `"1d"`, `"4w"`, combinations such as
 * `"1h30m"`, integer seconds (a TOML integer or a string of digits) and `"forever"`; also as
 * fail2ban writes them (`"20min"`, `"1 day"`, `"1d 2h"`, `"2 weeks"`), months and years aside
 * (their length is not one number).
 * All results are SECONDS; `"forever"` is `Infinity`. Pure.
 * @module
 */

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  w: 7 * 86400,
  d: 86400,
  h: 3600,
  m: 60,
  s: 1,
  ms: 0.001,
};

/** Units in the only order a combination may use them (largest first, each at most once). */
const UNIT_ORDER = ["w", "d", "h", "m", "s", "ms"] as const;

const PART = /(\d+)(ms|w|d|h|m|s)/y;

/**
 * One part as fail2ban writes it (MyTime.str2seconds): digits, optional blanks, a unit word,
 * then blanks or the next part. Months (`mo`) and years are not accepted.
 */
const WORD_PART =
  /(\d+) ?(ms|w|we|weeks?|d|da|days?|h|ho|hours?|m|mi|mins?|minutes?|s|se|secs?|seconds?)(?![a-z])(?: (?=\d))?/iy;

/** A fail2ban unit word -> its banwatch unit. */
function unitOf(word: string): (typeof UNIT_ORDER)[number] {
  const w = word.toLowerCase();
  if (w === "ms") return "ms";
  return w[0] as "w" | "d" | "h" | "m" | "s";
}

/** The human description of an accepted duration, used in error messages. */
export const DURATION_EXPECTED = `e.g. "90s", "20m", "1h", "1d", "4w" or integer seconds`;

/**
 * Parses a duration into seconds; `undefined` when it is not one.
 * Accepts a non-negative integer number, a digit string (seconds), `"forever"` (Infinity) or
 * unit parts `w d h m s ms` largest first, each once (`"1d12h"`; `"30m1h"`, `"1.5h"`,
 * `"-5m"`, `" 5m"` are rejected), or fail2ban's words and single blanks between them, in the
 * same order (`"20min"`, `"1 day"`, `"1d 2h"`, `"2 weeks"`; `"1mo"`, `"1y"` are rejected). Whether 0 or Infinity is acceptable is the caller's call.
 * @param value a TOML value (string or number); anything else yields `undefined`
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== "string") return undefined;
  if (value === "forever") return Infinity;
  if (/^\d{1,15}$/.test(value)) return Number(value);
  if (value.length === 0 || value.length > 64) return undefined;
  return sumParts(value, PART, (u) => u as (typeof UNIT_ORDER)[number]) ??
    sumParts(value, WORD_PART, unitOf);
}

/** The seconds of `value` read as parts of `part` (largest unit first, each once). */
function sumParts(
  value: string,
  part: RegExp,
  unitOfMatch: (u: string) => (typeof UNIT_ORDER)[number],
): number | undefined {
  let total = 0;
  let pos = 0;
  let lastUnit = -1;
  while (pos < value.length) {
    part.lastIndex = pos;
    const m = part.exec(value);
    if (!m) return undefined;
    const digits = m[1] as string;
    const unit = unitOfMatch(m[2] as string);
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastUnit || digits.length > 12) return undefined;
    lastUnit = rank;
    total += Number(digits) * (UNIT_SECONDS[unit] as number);
    pos = part.lastIndex;
  }
  // Avoid 0.1 + 0.2 style noise from the ms part.
  return Math.round(total * 1000) / 1000;
}

/**
 * Formats seconds as the shortest combination parseDuration() reads back:
 * 1200 -> "20m", 5400 -> "1h30m", 1209600 -> "2w", 2592000 -> "30d", Infinity -> "forever".
 * Weeks are used only for exact multiples of a week; a fraction shows as milliseconds.
 * @param seconds a duration in seconds (NaN prints as "NaN")
 */
export function formatDuration(seconds: number): string {
  if (seconds === Infinity) return "forever";
  if (seconds === -Infinity) return "-forever";
  if (Number.isNaN(seconds)) return "NaN";
  if (seconds < 0) return `-${formatDuration(-seconds)}`;
  let millis = Math.round(seconds * 1000);
  if (millis === 0) return "0s";
  const week = 7 * 86400 * 1000;
  if (millis % week === 0) return `${millis / week}w`;
  let out = "";
  for (const unit of ["d", "h", "m", "s", "ms"] as const) {
    const size = Math.round((UNIT_SECONDS[unit] as number) * 1000);
    const n = Math.floor(millis / size);
    if (n > 0) {
      out += `${n}${unit}`;
      millis -= n * size;
    }
  }
  return out;
}
