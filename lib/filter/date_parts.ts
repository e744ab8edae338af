/**
 * What a date template reads from a line (Parts: year, month, … zone, span) and how that
 * becomes epoch seconds (the missing-year and time-only rules, invalid dates rejected); the
 * Template shape every scanner and strftime pattern has.
 * @module
 */

import { DAY, daysFromCivil, daysInMonth, isLeap, yearFromDays } from "./date_calendar.ts";
import type { Zone } from "./date_zones.ts";

/** `Parts.zone` sentinel: the date carries no zone. */
export const NO_ZONE = -1e9;

/** Scratch fields a template fills; `zone` is NO_ZONE when the date carries none. */
export interface Parts {
  year: number; // -1 when missing
  month: number; // 0 when missing (time-only)
  day: number;
  hour: number;
  minute: number;
  second: number;
  frac: number;
  zone: number;
  end: number;
  start: number;
  epoch: number; // NaN unless the template produced epoch seconds directly
  optional: boolean; // the pattern matched an empty date: time = last date or now, no cut
}

/** Empty parts, for a detector to reuse line after line (no allocation per line). */
export function newParts(): Parts {
  return {
    year: -1,
    month: 0,
    day: 0,
    hour: 0,
    minute: 0,
    second: 0,
    frac: 0,
    zone: NO_ZONE,
    end: 0,
    start: 0,
    epoch: NaN,
    optional: false,
  };
}

/**
 * Empties `p` before the next template fills it.
 * @param p the parts to reset
 */
export function resetParts(p: Parts): void {
  p.year = -1;
  p.month = 0;
  p.day = 0;
  p.hour = 0;
  p.minute = 0;
  p.second = 0;
  p.frac = 0;
  p.zone = NO_ZONE;
  p.end = 0;
  p.start = 0;
  p.epoch = NaN;
  p.optional = false;
}

/** Epoch seconds of wall-clock seconds `w` of the parts (their own zone, else the default). */
function toUtc(p: Parts, zone: Zone, w: number): number {
  return (p.zone === NO_ZONE ? zone.wallToUtc(w) : w - p.zone) + p.frac;
}

/**
 * Epoch seconds of the parsed parts, or NaN when they are not a valid date. A missing year
 * or day is taken from `now` as described in dates.ts.
 * @param p the parts a template filled
 * @param zone the zone for dates without their own
 * @param now epoch seconds
 */
export function resolveTime(p: Parts, zone: Zone, now: number): number {
  if (!Number.isNaN(p.epoch)) return p.epoch;
  if (p.hour > 23 || p.minute > 59 || p.second > 60) return NaN;
  const tod = p.hour * 3600 + p.minute * 60 + p.second;
  if (p.year >= 0 && p.month > 0) {
    if (p.day < 1 || p.day > daysInMonth(p.year, p.month)) return NaN;
    return toUtc(p, zone, daysFromCivil(p.year, p.month, p.day) * DAY + tod);
  }
  const offNow = p.zone === NO_ZONE ? zone.offsetAt(now) : p.zone;
  const localDays = Math.floor((now + offNow) / DAY);
  if (p.month > 0) {
    // Missing year: latest of year+1, year, year-1 that is <= now + 1 day.
    const y = yearFromDays(localDays);
    for (let cy = y + 1; cy >= y - 1; cy--) {
      if (p.day < 1 || p.day > daysInMonth(cy, p.month)) continue;
      const t = toUtc(p, zone, daysFromCivil(cy, p.month, p.day) * DAY + tod);
      if (t <= now + DAY) return t;
    }
    return NaN;
  }
  if (p.day < 0) {
    // Day of year (%j) without year: same rule over day-of-year.
    const y = yearFromDays(localDays);
    for (let cy = y + 1; cy >= y - 1; cy--) {
      const doy = -p.day;
      if (doy > (isLeap(cy) ? 366 : 365)) continue;
      const t = toUtc(p, zone, daysFromCivil(cy, 1, doy) * DAY + tod);
      if (t <= now + DAY) return t;
    }
    return NaN;
  }
  // Time only: latest of tomorrow, today, yesterday that is <= now + 1 hour.
  for (let dd = 1; dd >= -1; dd--) {
    const t = toUtc(p, zone, (localDays + dd) * DAY + tod);
    if (t <= now + 3600) return t;
  }
  return NaN;
}

/** One date format: a name (counted in hits) and the scanner that reads it. */
export interface Template {
  readonly name: string;
  /**
   * Line-begin templates: true when a date starts at `pos` (0, 1 or 2). Searching templates
   * (`search`): called once with pos 0, true when a date is found anywhere. Fills `p`.
   */
  scan(line: string, pos: number, p: Parts): boolean;
  /** The template searches the whole line itself (explicit patterns only). */
  readonly search?: boolean;
}
