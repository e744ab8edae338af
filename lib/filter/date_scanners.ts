/**
 * Hand-written scanners for the auto-detected date formats (syslog, ISO 8601, RFC 5424, epoch,
 * TAI64N): no regex and no allocation per line, since every log line goes through them.
 * @module
 */

import type { Parts, Template } from "./date_parts.ts";

function digit(line: string, i: number): number {
  const c = line.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function two(line: string, i: number): number {
  const a = digit(line, i);
  if (a < 0) return -1;
  const b = digit(line, i + 1);
  return b < 0 ? -1 : a * 10 + b;
}

/**
 * Lower-cased 3 letters at i packed in one number, or -1.
 * @param line the text
 * @param i where the letters start
 */
export function word3(line: string, i: number): number {
  let v = 0;
  for (let k = 0; k < 3; k++) {
    const c = line.charCodeAt(i + k) | 0x20;
    if (c < 97 || c > 122) return -1;
    v = v * 32 + (c - 96);
  }
  return v;
}

function pack3(s: string): number {
  return word3(s, 0);
}

/** Month abbreviations packed by word3(), January first. */
export const MONTHS3 = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
]
  .map(pack3);
const WEEKDAYS3 = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(pack3);

/** Parses `.digits`/`,digits` at i into p.frac; returns the index after it (i if none). */
function fraction(line: string, i: number, p: Parts): number {
  const c = line.charCodeAt(i);
  if ((c !== 46 && c !== 44) || digit(line, i + 1) < 0) return i;
  let j = i + 1;
  let v = 0;
  let scale = 1;
  for (; digit(line, j) >= 0; j++) {
    if (scale < 1e9) {
      v = v * 10 + digit(line, j);
      scale *= 10;
    }
  }
  p.frac = v / scale;
  return j;
}

/** Parses HH:MM:SS at i (with `oneDigit`, " H:MM:SS": i is the blank); returns the end or -1. */
function hms(line: string, i: number, p: Parts, oneDigit = false): number {
  const h = oneDigit ? digit(line, i + 1) : two(line, i);
  if (h < 0 || line.charCodeAt(i + 2) !== 58) return -1;
  const m = two(line, i + 3);
  if (m < 0 || line.charCodeAt(i + 5) !== 58) return -1;
  const s = two(line, i + 6);
  if (s < 0) return -1;
  p.hour = h;
  p.minute = m;
  p.second = s;
  return i + 8;
}

/** RFC 3164 syslog: `Nov  3 20:04:17`, optional weekday, fraction and year. */
export const SYSLOG: Template = {
  name: "MON Day HH:MM:SS",
  scan(line, pos, p) {
    let i = pos;
    const w = word3(line, i);
    if (w < 0) return false;
    let mo = MONTHS3.indexOf(w);
    if (mo < 0) {
      if (!WEEKDAYS3.includes(w) || line.charCodeAt(i + 3) !== 32) return false;
      i += 4;
      mo = MONTHS3.indexOf(word3(line, i));
      if (mo < 0) return false;
    }
    i += 3;
    if (line.charCodeAt(i) !== 32) return false;
    i++;
    let day: number;
    if (line.charCodeAt(i) === 32) {
      day = digit(line, i + 1);
      i += 2;
    } else {
      day = digit(line, i);
      const d2 = digit(line, i + 1);
      if (day >= 0 && d2 >= 0) {
        day = day * 10 + d2;
        i += 2;
      } else i += 1;
    }
    if (day < 1 || line.charCodeAt(i) !== 32) return false;
    i = hms(line, i + 1, p);
    if (i < 0) return false;
    i = fraction(line, i, p);
    if (digit(line, i) >= 0) return false;
    if (line.charCodeAt(i) === 32) {
      const y1 = two(line, i + 1);
      const y2 = two(line, i + 3);
      const after = line.charCodeAt(i + 5);
      // The year may be followed by a blank, the end or punctuation (`[… 2013]`), not by a
      // word character, ":" or "." (an address or a time after the hostname).
      if (
        y1 >= 19 && y2 >= 0 &&
        (Number.isNaN(after) || (!isWordChar(after) && after !== 58 && after !== 46))
      ) {
        p.year = y1 * 100 + y2;
        i += 5;
      }
    }
    p.month = mo + 1;
    p.day = day;
    p.start = pos;
    p.end = i;
    return true;
  },
};

/**
 * Parses YYYY-MM-DD[T ]HH:MM:SS[.f][zone] at i; returns the end or -1. Unless `strict`, the
 * date separator may also be `/` or `.` (nginx `2024/01/02`, stunnel `2024.01.02`) and one or
 * two blanks may precede a 1-digit hour (MySQL `2015-10-07  8:25:38`).
 */
function isoAt(line: string, i: number, p: Parts, strict = false): number {
  const y1 = two(line, i);
  const y2 = two(line, i + 2);
  const ds = line.charCodeAt(i + 4);
  if (y1 < 0 || y2 < 0 || (ds !== 45 && (strict || (ds !== 47 && ds !== 46)))) return -1;
  const mo = two(line, i + 5);
  if (mo < 1 || mo > 12 || line.charCodeAt(i + 7) !== ds) return -1;
  const d = two(line, i + 8);
  const sep = line.charCodeAt(i + 10);
  if (d < 1 || (sep !== 84 && sep !== 32 && sep !== 116)) return -1;
  let j = hms(line, i + 11, p);
  if (j < 0 && !strict && sep === 32) {
    // " 8:25:38" / "  8:25:38": a 1-digit hour after one or two blanks.
    const k = line.charCodeAt(i + 11) === 32 ? i + 12 : i + 11;
    const h = digit(line, k);
    if (h >= 0 && line.charCodeAt(k + 1) === 58) {
      j = hms(line, k - 1, p, true);
    } else if (k === i + 12) {
      j = hms(line, k, p);
    }
  }
  if (j < 0) return -1;
  j = fraction(line, j, p);
  const c = line.charCodeAt(j);
  if (c === 90 || c === 122) {
    p.zone = 0;
    j++;
  } else {
    const k = c === 32 ? j + 1 : j; // one space may precede a numeric offset
    const sign = line.charCodeAt(k);
    const hh = sign === 43 || sign === 45 ? two(line, k + 1) : -1;
    let mm = -1;
    let e = -1;
    if (hh >= 0 && hh <= 23) {
      if (line.charCodeAt(k + 3) === 58) {
        mm = two(line, k + 4);
        e = k + 6;
      } else if (digit(line, k + 3) >= 0) {
        mm = two(line, k + 3);
        e = k + 5;
      } else if (k === j) {
        mm = 0; // "+09" directly after the time
        e = k + 3;
      }
    }
    if (mm >= 0 && mm <= 59 && digit(line, e) < 0) {
      p.zone = (sign === 45 ? -1 : 1) * (hh * 3600 + mm * 60);
      j = e;
    }
  }
  if (digit(line, j) >= 0) return -1;
  p.year = y1 * 100 + y2;
  p.month = mo;
  p.day = d;
  return j;
}

/**
 * RFC 3339 / ISO 8601 dates (and their nginx, stunnel and MySQL variants) under `name`.
 * @param name the template name
 */
export function isoTemplate(name: string): Template {
  return {
    name,
    scan(line, pos, p) {
      const end = isoAt(line, pos, p);
      if (end < 0) return false;
      p.start = pos;
      p.end = end;
      return true;
    },
  };
}

/** The auto-detected ISO 8601 template. */
export const ISO = isoTemplate("YYYY-MM-DD[T ]HH:MM:SS[.f][zone]");

/** A full RFC 5424 header `<PRI>1 2024-…`; the span includes the `<PRI>1 ` prefix. */
export const RFC5424: Template = {
  name: "<PRI>1 YYYY-MM-DDTHH:MM:SS[.f][zone]",
  scan(line, pos, p) {
    if (pos !== 0 || line.charCodeAt(0) !== 60) return false;
    let i = 1;
    while (i <= 3 && digit(line, i) >= 0) i++;
    if (i === 1 || line.charCodeAt(i) !== 62 || line.charCodeAt(i + 1) !== 49) return false;
    if (line.charCodeAt(i + 2) !== 32) return false;
    const end = isoAt(line, i + 3, p, true);
    if (end < 0) return false;
    p.start = 0;
    p.end = end;
    return true;
  },
};

/**
 * Epoch template: `lengths` maps a digit count to its unit divisor (10 -> 1, 13 -> 1000 …).
 * `min`/`max` bound the seconds value (plausible range).
 */
export function epochTemplate(
  name: string,
  lengths: ReadonlyMap<number, number>,
  min: number,
  max: number,
): Template {
  return {
    name,
    scan(line, pos, p) {
      let j = pos;
      let v = 0;
      while (j - pos < 17 && digit(line, j) >= 0) v = v * 10 + digit(line, j++);
      const unit = lengths.get(j - pos);
      if (unit === undefined || digit(line, j) >= 0) return false;
      j = fraction(line, j, p);
      if (j < line.length && isWordChar(line.charCodeAt(j))) return false;
      const secs = (v + p.frac) / unit;
      if (secs < min || secs > max) return false;
      p.epoch = secs;
      p.start = pos;
      p.end = j;
      return true;
    },
  };
}

/** Auto-detected 10-digit epoch seconds in a plausible range. */
export const AUTO_EPOCH = epochTemplate("EPOCH", new Map([[10, 1]]), 1e9, 4294967295);

/**
 * fail2ban's unanchored `EPOCH` also finds the epoch of an audit record,
 * `type=USER_AUTH msg=audit(1373129280.000:9): …` (SELinux): the digits right after
 * `audit(` and followed by `:serial)`. Explicit datepatterns only.
 */
export function auditEpochTemplate(name: string, inner: Template): Template {
  return {
    name,
    search: true,
    scan(line, _pos, p) {
      const at = line.indexOf("audit(");
      if (at < 0 || (at > 0 && isWordChar(line.charCodeAt(at - 1)))) return false;
      if (!inner.scan(line, at + 6, p)) return false;
      let k = p.end;
      if (line.charCodeAt(k) !== 58 || digit(line, k + 1) < 0) return false;
      for (k++; digit(line, k) >= 0; k++);
      return line.charCodeAt(k) === 41;
    },
  };
}

/** `@` + 24 lower-case hex digits (daemontools' TAI64N label: 2^62 + seconds, then ns). */
export function tai64nTemplate(name: string, search: boolean): Template {
  const at = (line: string, pos: number, p: Parts): boolean => {
    if (line.charCodeAt(pos) !== 64) return false;
    let secs = 0;
    let ns = 0;
    for (let k = 1; k <= 24; k++) {
      const c = line.charCodeAt(pos + k);
      const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (v < 0) return false;
      if (k === 1) {
        if (v !== 4) return false; // 2^62 offset: labels of dates after 1970 start with "4"
      } else if (k <= 16) secs = secs * 16 + v;
      else ns = ns * 16 + v;
    }
    const after = line.charCodeAt(pos + 25);
    if (isWordChar(after)) return false;
    p.epoch = secs + ns / 1e9;
    p.start = pos;
    p.end = pos + 25;
    return true;
  };
  if (!search) return { name, scan: at };
  return {
    name,
    search: true,
    scan(line, _pos, p) {
      for (let k = line.indexOf("@"); k >= 0; k = line.indexOf("@", k + 1)) {
        if (at(line, k, p)) return true;
      }
      return false;
    },
  };
}

/**
 * True for a character code of a word character (`\w`, or any non-ASCII character).
 * @param c a UTF-16 code unit (NaN past the end: false)
 */
export function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 ||
    c > 127;
}
