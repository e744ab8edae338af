/**
 * Times as `banwatch test --simulate` prints them: ISO 8601 in the zone the log's dates were
 * read in, with its offset (`2026-02-16T10:02:30+09:00`), not UTC.
 * @module
 */
import type { Zone } from "../filter/mod.ts";

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * Epoch seconds `t` as ISO 8601 wall time in `zone` with its offset; milliseconds only when
 * there are some.
 * @param t epoch seconds
 * @param zone the zone the log's dates were read in
 */
export function formatZonedTime(t: number, zone: Zone): string {
  const offset = zone.offsetAt(t);
  const wall = new Date(Math.round((t + offset) * 1000));
  const ms = wall.getUTCMilliseconds();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${wall.getUTCFullYear()}-${two(wall.getUTCMonth() + 1)}-${two(wall.getUTCDate())}T` +
    `${two(wall.getUTCHours())}:${two(wall.getUTCMinutes())}:${two(wall.getUTCSeconds())}` +
    (ms === 0 ? "" : `.${String(ms).padStart(3, "0")}`) +
    `${sign}${two(Math.floor(abs / 3600))}:${two(Math.floor((abs % 3600) / 60))}`;
}
