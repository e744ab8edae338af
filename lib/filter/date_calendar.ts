/**
 * Calendar arithmetic for the date parser: proleptic Gregorian days and years, computed
 * without Date objects (fast, and the same in every time zone).
 * @module
 */

/** Seconds in a day (no leap seconds, as in POSIX time). */
export const DAY = 86400;

/**
 * Days since 1970-01-01 of a civil date (proleptic Gregorian).
 * @param y year
 * @param m month 1-12
 * @param d day of the month (may exceed the month length)
 */
export function daysFromCivil(y: number, m: number, d: number): number {
  // Howard Hinnant's algorithm; d may exceed the month length (used by %j).
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * The year of the day `z` (days since 1970-01-01).
 * @param z days since 1970-01-01
 */
export function yearFromDays(z: number): number {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2 ? 1 : 0);
}

/**
 * True for a Gregorian leap year.
 * @param y year
 */
export function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Length of month `m` of year `y` in days (0 for a month outside 1-12).
 * @param y year
 * @param m month 1-12
 */
export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : MONTH_DAYS[m - 1] ?? 0;
}
