/**
 * Time zones for the date parser: fixed offsets, IANA zones (through Intl) and the host's local
 * zone (through Date), each memoised per hour so that a log of consecutive lines costs one
 * lookup per hour. Pure: the local zone is what `Date` reports (`TZ`, else /etc/localtime).
 * @module
 */

import { DAY, daysFromCivil } from "./date_calendar.ts";

/** A time zone as the date parser needs it: offsets at instants, wall times to instants. */
export interface Zone {
  /** Offset (seconds east of UTC) in force at UTC instant `t`. */
  offsetAt(t: number): number;
  /** The UTC instant of wall-clock seconds `w` (wall time counted as if it were UTC). */
  wallToUtc(w: number): number;
}

/** A zone with one offset (seconds east of UTC) at all times. */
function fixedZone(offset: number): Zone {
  return {
    offsetAt: () => offset,
    wallToUtc: (w) => w - offset,
  };
}

const FIXED_RE = /^([+-])(\d\d)(?::?(\d\d))?$/;

/**
 * Seconds east of UTC of `+0900`, `-05:00` or `+09`; undefined when not such an offset.
 * @param text the offset as written
 */
export function parseFixedOffset(text: string): number | undefined {
  const m = FIXED_RE.exec(text);
  if (!m) return undefined;
  const h = Number(m[2]);
  const min = Number(m[3] ?? "0");
  if (h > 23 || min > 59) return undefined;
  return (m[1] === "-" ? -1 : 1) * (h * 3600 + min * 60);
}

/** An IANA zone (`Europe/Berlin`) read through Intl; DST-correct. Throws for unknown names. */
function ianaZone(name: string): Zone {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: name,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  } catch (e) {
    throw new Error(
      `Invalid time zone "${name}": expected "local", "UTC", an IANA name like ` +
        `"Europe/Berlin" or an offset like "+0900"`,
      { cause: e },
    );
  }
  const raw = (t: number): number => {
    let y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0;
    for (const p of fmt.formatToParts(new Date(t * 1000))) {
      const v = Number(p.value);
      switch (p.type) {
        case "year":
          y = v;
          break;
        case "month":
          mo = v;
          break;
        case "day":
          d = v;
          break;
        case "hour":
          h = v === 24 ? 0 : v;
          break;
        case "minute":
          mi = v;
          break;
        case "second":
          s = v;
          break;
      }
    }
    return daysFromCivil(y, mo, d) * DAY + h * 3600 + mi * 60 + s - t;
  };
  return memoZone(raw);
}

/** A zone from a function giving the offset in force at a UTC instant (seconds east). */
function memoZone(raw: (t: number) => number): Zone {
  // Offsets memoised per UTC hour (when constant over that hour) and per wall-clock hour
  // (when no transition is near); `raw` is only called on a cache miss.
  const byUtcHour = new Map<number, number>();
  const byWallHour = new Map<number, number>();
  // Consecutive log lines mostly fall in the same hour: one remembered hour each way first.
  let lastUtcHour = NaN, lastUtcOffset = 0, lastWallHour = NaN, lastWallOffset = 0;
  const offsetAt = (t: number): number => {
    const ts = Math.floor(t);
    const bucket = Math.floor(ts / 3600);
    if (bucket === lastUtcHour) return lastUtcOffset;
    const hit = byUtcHour.get(bucket);
    if (hit !== undefined) {
      lastUtcHour = bucket;
      lastUtcOffset = hit;
      return hit;
    }
    const a = raw(bucket * 3600);
    const b = raw(bucket * 3600 + 3599);
    if (a !== b) return raw(ts);
    if (byUtcHour.size > 200000) byUtcHour.clear();
    byUtcHour.set(bucket, a);
    lastUtcHour = bucket;
    lastUtcOffset = a;
    return a;
  };
  const exact = (w: number): number => {
    const before = offsetAt(w - DAY);
    const after = offsetAt(w + DAY);
    const t1 = w - before;
    const t2 = w - after;
    const ok1 = offsetAt(t1) === before;
    const ok2 = offsetAt(t2) === after;
    if (ok1 && ok2) return Math.min(t1, t2); // repeated wall time: the earlier instant
    if (ok1) return t1;
    if (ok2) return t2;
    return w - before; // gap: moved forward by the gap length
  };
  const wallToUtc = (w: number): number => {
    const bucket = Math.floor(w / 3600);
    if (bucket === lastWallHour) return w - lastWallOffset;
    let off = byWallHour.get(bucket);
    if (off === undefined) {
      const before = offsetAt(bucket * 3600 - DAY);
      const after = offsetAt(bucket * 3600 + 3600 + DAY);
      off = before === after ? before : NaN;
      if (byWallHour.size > 200000) byWallHour.clear();
      byWallHour.set(bucket, off);
    }
    if (Number.isNaN(off)) return exact(w);
    lastWallHour = bucket;
    lastWallOffset = off;
    return w - off;
  };
  return { offsetAt, wallToUtc };
}

/**
 * The host's own zone (`TZ`, else /etc/localtime), read through Date's local-time offset
 * rather than by asking Intl for the zone's name: that loads ICU's locale and formatting data,
 * about 5 MB of a daemon's resident memory, for nothing Date does not know.
 */
function localZone(): Zone {
  return memoZone((t) => -new Date(t * 1000).getTimezoneOffset() * 60);
}

/**
 * The zone a detector reads dates without their own zone in: "local" (default), "UTC",
 * "GMT", a fixed offset or an IANA name; throws Error with a one-line message otherwise.
 * @param spec the filter's `timezone`
 */
export function resolveZone(spec: string | undefined): Zone {
  const text = (spec ?? "local").trim();
  if (text === "") throw new Error(`Invalid time zone "": expected "local", "UTC", an IANA name`);
  const upper = text.toUpperCase();
  if (upper === "UTC" || upper === "GMT" || upper === "Z") return fixedZone(0);
  if (text[0] === "+" || text[0] === "-") {
    const off = parseFixedOffset(text);
    if (off === undefined) {
      throw new Error(`Invalid time zone "${text}": expected an offset like "+0900" or "-05:00"`);
    }
    return fixedZone(off);
  }
  if (text === "local") return localZone();
  return ianaZone(text);
}
