/**
 * Finds and parses the date of a log line. Pure: no `Deno.*`, no clock; `now` (epoch
 * seconds) is passed to {@linkcode DateDetector.find}.
 *
 * Auto-detection (datepattern undefined, `{^LN-BEG}` or `{DEFAULT}`) knows these templates,
 * the first four hand-parsed (fast path), the others compiled regexes tried after them:
 * - `MON Day HH:MM:SS` — RFC 3164 syslog: `Nov  3 20:04:17` (space-padded day), `Nov 03`
 *   (postfix `maillog_file`), `Nov 3`, optional weekday `Sun Nov  3 …`, optional fraction
 *   `.123456` and optional year after the time (`… 20:04:17 2024`, `[Thu Jul 11 01:21:43 2013]`;
 *   not when a word character, `:` or `.` follows, which is an address or a time).
 * - `YYYY-MM-DD[T ]HH:MM:SS[.f][zone]` — RFC 3339 / ISO 8601: `T` or one space, fraction of
 *   any length (`.` or `,`), zone `Z`, `+00:00`, `+0900`, `+09`, ` +0900`, or none; also
 *   `2024/01/02` (nginx), `2024.01.02` (stunnel) and a 1-digit hour after one or two blanks
 *   (`2015-10-07  8:25:38`, MySQL).
 * - `<PRI>1 YYYY-MM-DDTHH:MM:SS[.f][zone]` — a full RFC 5424 header (`<15>1 2024-…`);
 *   the reported span starts at 0 and so includes the `<PRI>1 ` prefix.
 * - `EPOCH` — 10-digit epoch seconds in 1000000000..4294967295 with optional fraction.
 * - fail2ban's other default formats (names in {@linkcode AUTO_TEMPLATE_NAMES}):
 *   `MON Day YYYY HH:MM:SS`, `DD-MM-YYYY HH:MM:SS` (also `/`, 2-digit year), `DD/MON/YYYY:HH:MM:SS`
 *   (Apache, `11-Aug-2013 03:36:11.372` BIND), `MM/DD/YYYY:HH:MM:SS`, `MM-DD-YYYY HH:MM:SS`,
 *   `HH:MM:SS` (time only), `<MM/DD/YY@HH:MM:SS>`, `YYMMDD HH:MM:SS` (MySQL), `MON Day, YYYY
 *   HH:MM:SS AM` (Tomcat), `MON-DD-YY HH:MM:SS` (ASSP), `YYYYMMDD[T ]HHMMSS`, `ZONE MON Day
 *   HH:MM:SS` (monit `PDT Apr 16 …`, `+0200 Apr 16 …`) and `TAI64N` (`@4000000…`, daemontools).
 *
 * Anchoring. AUTO-DETECTION (a deliberate difference from fail2ban, which also searches the
 * rest of the line): log lines are attacker-written, so a date is only accepted at the line
 * start — at index 0, after at most 2 leading non-word characters (`[`, `(`, space…, like
 * fail2ban's `{^LN-BEG}`), or after the RFC 5424 `<PRI>1 ` prefix. A date in the middle of a
 * message is never picked. An EXPLICIT datepattern is the admin's choice (or a converted
 * fail2ban filter's) and is searched where fail2ban searches: `{^LN-BEG}PATTERN` at the
 * line-begin positions above; `^PATTERN` (or any pattern that anchors itself) where it says;
 * any other pattern anywhere in the line, leftmost match first, at a word beginning
 * (fail2ban's `(?=^|\b|\W)`; `**` at the start turns that off), so a header date still wins
 * over one in the message. Every pattern must end at a word end unless it ends with `$`, `\b`,
 * `\s` or `**`. Prefer `{^LN-BEG}` / `^` in banwatch's own filters.
 * Like fail2ban, the template that matched the previous line is tried first.
 *
 * Missing year: a date without a year (syslog) takes the year of `now` in the target zone;
 * of the candidates year+1, year and year-1 the latest that is not more than 1 day after
 * `now` wins. So `Dec 31 23:59:59` read on Jan 1 is last year, and `Jan  1 00:00:05` read at
 * Dec 31 23:59:30 (a clock 35 s behind) is next year. A date that is invalid in all three
 * candidate years (Feb 29) is not a date. Time-only patterns (no day) take the latest of
 * tomorrow/today/yesterday that is not more than 1 hour after `now`.
 *
 * Time zone: a date with an explicit zone (`Z`, `+0900`, `UTC`, `GMT`) uses it. Others
 * (including zone names other than UTC/GMT, such as `PDT`) are read in the detector's
 * `timezone`: "UTC", an IANA name (DST-correct) or a fixed `+0900`/`-05:00`; default "local" =
 * the host's zone as `Date` sees it (follows `TZ`, else /etc/localtime; DST-correct). A wall time that does not
 * exist (DST gap) is moved forward by the gap; a repeated wall time (DST end) takes the earlier
 * instant (Temporal's "compatible" rule).
 *
 * Invalid dates (Feb 30, hour 25, minute 60) are not dates.
 *
 * datepattern: `{NONE}` (no date: time = now, span 0..0), `EPOCH` / `LEPOCH` (10/13/16 digits =
 * s/ms/µs; unanchored, they also find the epoch of an audit record, `msg=audit(1373129280.000:9)`,
 * as fail2ban does), `ISO8601`, `TAI64N`, or a strftime-style pattern, optionally prefixed by
 * `{^LN-BEG}`. Several patterns may be given one per line (each a template). Like fail2ban,
 * text between directives is a regular expression (`\[` for a literal bracket), and:
 * - `{DATE}` inside a pattern (`^[^\[]*\[({DATE})`, `^<W>{DATE}`) stands for each default
 *   format in turn (one template per format);
 * - the date that is cut from the line (lib/filter.ts) is the first plain `(…)` group of the
 *   pattern, else the whole match (after a leading `^`);
 * - a pattern whose date group is empty (`^WARNING:()**`, `^I\(()**`) marks lines that carry
 *   no date of their own: their time is the last date found if it is at most 60 s before
 *   `now`, else `now`, and nothing is cut. A pattern with neither a directive nor `()` is an
 *   error.
 * Directives: `%Y %y %m %d %e %j %H %k %I %p %M %S %f %b %B %a %A %z %Z %s %T %%`; fail2ban's
 * `%ExY`-style forms are the exact variants (`%Exm` two digits, `%ExY` 19xx/20xx). `%y` is
 * 2000+yy. `%%` is a literal `%` (in TOML a single `%` is the directive; fail2ban INI files
 * write `%%Y`, import must unescape).
 * @module
 */

/** A date found in a log line: epoch seconds, its span in the line and the template name. */
export interface FoundDate {
  /** Epoch seconds (may be fractional). */
  time: number;
  /** Index of the first character of the date in the line. */
  start: number;
  /** Index just past the date. */
  end: number;
  /** Human-readable name of the template that matched. */
  template: string;
}

/** A stateful date finder (it remembers the last template and counts hits). */
export interface DateDetector {
  /** Finds the date at the start of `line`; `now` is epoch seconds. */
  find(line: string, now: number): FoundDate | undefined;
  /** Hits per template name so far. */
  hits(): ReadonlyMap<string, number>;
}

/** Options of createDateDetector(). */
export interface DateDetectorOptions {
  /** "UTC", an IANA name or a fixed offset like "+0900"; default "local". */
  timezone?: string | undefined;
}

const DAY = 86400;
const NO_ZONE = -1e9; // sentinel: the date carries no zone

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic (proleptic Gregorian, no Date objects)

function daysFromCivil(y: number, m: number, d: number): number {
  // Howard Hinnant's algorithm; d may exceed the month length (used by %j).
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function yearFromDays(z: number): number {
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

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : MONTH_DAYS[m - 1] ?? 0;
}

// ---------------------------------------------------------------------------------------------
// Time zones

interface Zone {
  /** Offset (seconds east of UTC) in force at UTC instant `t`. */
  offsetAt(t: number): number;
  /** The UTC instant of wall-clock seconds `w` (wall time counted as if it were UTC). */
  wallToUtc(w: number): number;
}

function fixedZone(offset: number): Zone {
  return {
    offsetAt: () => offset,
    wallToUtc: (w) => w - offset,
  };
}

const FIXED_RE = /^([+-])(\d\d)(?::?(\d\d))?$/;

function parseFixedOffset(text: string): number | undefined {
  const m = FIXED_RE.exec(text);
  if (!m) return undefined;
  const h = Number(m[2]);
  const min = Number(m[3] ?? "0");
  if (h > 23 || min > 59) return undefined;
  return (m[1] === "-" ? -1 : 1) * (h * 3600 + min * 60);
}

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

function resolveZone(spec: string | undefined): Zone {
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

// ---------------------------------------------------------------------------------------------
// Shared result assembly

/** Scratch fields a template fills; `zone` is NO_ZONE when the date carries none. */
interface Parts {
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

function newParts(): Parts {
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

function resetParts(p: Parts): void {
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

/** Epoch seconds of the parsed parts, or NaN when they are not a valid date. */
function resolveTime(p: Parts, zone: Zone, now: number): number {
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

// ---------------------------------------------------------------------------------------------
// Hand-written scanners for the auto templates (no regex, no allocation)

interface Template {
  readonly name: string;
  /**
   * Line-begin templates: true when a date starts at `pos` (0, 1 or 2). Searching templates
   * (`search`): called once with pos 0, true when a date is found anywhere. Fills `p`.
   */
  scan(line: string, pos: number, p: Parts): boolean;
  /** The template searches the whole line itself (explicit patterns only). */
  readonly search?: boolean;
}

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

/** Lower-cased 3 letters at i packed in one number, or -1. */
function word3(line: string, i: number): number {
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

const MONTHS3 = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
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

const SYSLOG: Template = {
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

function isoTemplate(name: string): Template {
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

const ISO = isoTemplate("YYYY-MM-DD[T ]HH:MM:SS[.f][zone]");

const RFC5424: Template = {
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
function epochTemplate(
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

const AUTO_EPOCH = epochTemplate("EPOCH", new Map([[10, 1]]), 1e9, 4294967295);

/**
 * fail2ban's unanchored `EPOCH` also finds the epoch of an audit record,
 * `type=USER_AUTH msg=audit(1373129280.000:9): …` (SELinux): the digits right after
 * `audit(` and followed by `:serial)`. Explicit datepatterns only.
 */
function auditEpochTemplate(name: string, inner: Template): Template {
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
function tai64nTemplate(name: string, search: boolean): Template {
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

// ---------------------------------------------------------------------------------------------
// strftime-style patterns compiled to RegExps

type Field =
  | "Y"
  | "y"
  | "m"
  | "d"
  | "j"
  | "H"
  | "I"
  | "p"
  | "M"
  | "S"
  | "f"
  | "b"
  | "z"
  | "s"
  | "skip";

const MONTH_NAMES = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const WEEKDAY_NAMES = [
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
  "sunday",
];

/** `jan` -> `[Jj][Aa][Nn]` (case-insensitive without the i flag on the user's regex). */
function caseless(word: string): string {
  let out = "";
  for (const ch of word) out += `[${ch.toUpperCase()}${ch}]`;
  return out;
}

const DIRECTIVES: Readonly<Record<string, { re: string; field: Field }>> = {
  Y: { re: "\\d{4}", field: "Y" },
  y: { re: "\\d\\d", field: "y" },
  m: { re: "1[0-2]|0[1-9]|[1-9]", field: "m" },
  d: { re: "3[01]|[12]\\d|0[1-9]| ?[1-9]", field: "d" },
  e: { re: "3[01]|[12]\\d|0[1-9]| ?[1-9]", field: "d" },
  j: { re: "36[0-6]|3[0-5]\\d|[12]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|[1-9]", field: "j" },
  H: { re: "2[0-3]|[01]\\d|\\d", field: "H" },
  k: { re: "2[0-3]|[01]\\d| ?\\d", field: "H" },
  I: { re: "1[0-2]|0[1-9]| ?[1-9]", field: "I" },
  p: { re: "[AaPp][Mm]", field: "p" },
  M: { re: "[0-5]\\d", field: "M" },
  S: { re: "[0-5]\\d|6[01]", field: "S" },
  f: { re: "\\d+", field: "f" },
  b: { re: MONTH_NAMES.map((n) => caseless(n.slice(0, 3))).join("|"), field: "b" },
  B: { re: MONTH_NAMES.map(caseless).join("|"), field: "b" },
  a: { re: WEEKDAY_NAMES.map((n) => caseless(n.slice(0, 3))).join("|"), field: "skip" },
  A: { re: WEEKDAY_NAMES.map(caseless).join("|"), field: "skip" },
  z: { re: "Z|UTC|GMT|[+-](?:[01]\\d|2[0-3])(?::?[0-5]\\d)?", field: "z" },
  // Upper-case abbreviations; only UTC/GMT/Z are known offsets, others read as the default zone.
  Z: { re: "Z|[A-Z]{3,5}", field: "z" },
  s: { re: "\\d{1,11}", field: "s" },
};

/** fail2ban's `%Ex?` forms: exact two-digit fields and a 19xx/20xx year. */
const EXACT_DIRECTIVES: Readonly<Record<string, { re: string; field: Field }>> = {
  Y: { re: "(?:19|20)\\d\\d", field: "Y" },
  m: { re: "1[0-2]|0[1-9]", field: "m" },
  d: { re: "3[01]|[12]\\d|0[1-9]", field: "d" },
  H: { re: "2[0-3]|[01]\\d", field: "H" },
  k: { re: "2[0-3]|[01]\\d| ?\\d", field: "H" },
  M: { re: "[0-5]\\d", field: "M" },
  S: { re: "[0-5]\\d|6[01]", field: "S" },
};

interface CompiledPattern {
  re: RegExp;
  fields: Field[]; // fields[k] is read from group `bw${k}`
  /** The date text is group `bwcut` (not the whole match). */
  cut: boolean;
}

const CUT = "bwcut";

/**
 * Compiles a strftime-style pattern (regex text between directives). `search`: the RegExp
 * searches the line (`g`), with fail2ban's word-begin boundary unless the pattern starts with
 * `^` or `**`; otherwise it is sticky (`y`, tried at the line-begin positions). A word-end
 * boundary is added unless the pattern ends with `$`, `\b`, `\s` or `**`. As in fail2ban, the
 * date that is cut from the line is the first plain `(…)` group if there is one, else the
 * whole match (after a leading `^`).
 */
function compileStrftime(pattern: string, search: boolean): CompiledPattern {
  let body = pattern;
  let bindBegin = search;
  let bindEnd = true;
  if (body.startsWith("**")) {
    body = body.slice(2);
    bindBegin = false;
  }
  const tail = /\*\*(\)*)$/.exec(body);
  if (tail && body[tail.index - 1] !== "\\") {
    body = body.slice(0, tail.index) + tail[1];
    bindEnd = false;
  }
  if (/^(?:\(\?:|\()*\^/.test(body)) bindBegin = false;
  if (/(?:^|[^\\])(?:\$\)?|\\b|\\s)$/.test(body)) bindEnd = false;
  let src = "";
  const fields: Field[] = [];
  let cutOpened = false;
  let emptyGroup = false;
  let i = 0;
  const add = (re: string, field: Field): void => {
    src += `(?<bw${fields.length}>${re})`;
    fields.push(field);
  };
  while (i < body.length) {
    const ch = body[i]!;
    if (ch === "\\" && i + 1 < body.length) {
      src += body.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (ch === "[") {
      // A character class is copied as it is (a "]" first in it is literal).
      let j = i + 1;
      if (body[j] === "^") j++;
      if (body[j] === "]") j++;
      while (j < body.length && body[j] !== "]") j += body[j] === "\\" ? 2 : 1;
      src += body.slice(i, j + 1).replace(/^\[(\^?)\]/, "[$1\\]");
      i = j + 1;
      continue;
    }
    if (ch === "(" && body[i + 1] !== "?") {
      if (!cutOpened) {
        cutOpened = true;
        if (body[i + 1] === ")") emptyGroup = true;
        src += `(?<${CUT}>`;
      } else src += "(";
      i++;
      continue;
    }
    if (ch !== "%") {
      src += ch;
      i++;
      continue;
    }
    let j = i + 1;
    const exact = body[j] === "E" && body[j + 1] === "x";
    if (exact) j += 2; // fail2ban %ExY etc.
    const d = body[j];
    if (d === undefined) {
      throw new Error(`Invalid datepattern "${pattern}": "%" at the end (write %% for a percent)`);
    }
    if (d === "%") src += "%";
    else if (d === "T") {
      add(DIRECTIVES.H!.re, "H");
      src += ":";
      add(DIRECTIVES.M!.re, "M");
      src += ":";
      add(DIRECTIVES.S!.re, "S");
    } else {
      const dir = (exact ? EXACT_DIRECTIVES[d] : undefined) ?? DIRECTIVES[d];
      if (!dir) {
        throw new Error(
          `Invalid datepattern "${pattern}": unknown directive "%${body.slice(i + 1, j + 1)}"` +
            `; expected one of %Y %y %m %d %e %j %H %k %I %p %M %S %f %b %B %a %A %z %Z %s %T %%`,
        );
      }
      add(dir.re, dir.field);
    }
    i = j + 1;
  }
  src = src.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>");
  const needed: Field[] = ["s", "H", "I", "d", "j", "m", "b", "Y"];
  if (!fields.some((f) => needed.includes(f)) && !emptyGroup) {
    throw new Error(
      `Invalid datepattern "${pattern}": it has no date or time directive such as %H or %d ` +
        `(an empty group "()" marks a line without date)`,
    );
  }
  if (!cutOpened) {
    // The whole match is the date: wrap it, leaving a leading "^" and a trailing "$" outside.
    const lead = /^\^*/.exec(src)![0];
    const trail = /[^\\]\$$/.test(src) ? "$" : "";
    src = `${lead}(?<${CUT}>${src.slice(lead.length, src.length - trail.length)})${trail}`;
  }
  if (bindBegin) src = `(?=^|\\b|\\W)${src}`;
  if (bindEnd) src += "(?=\\b|\\W|$)";
  let re: RegExp;
  try {
    re = new RegExp(src, search ? "dg" : "dy");
  } catch (e) {
    throw new Error(
      `Invalid datepattern "${pattern}": ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  return { re, fields, cut: true };
}

function monthFromName(text: string): number {
  return MONTHS3.indexOf(word3(text, 0)) + 1;
}

function zoneFromText(text: string): number {
  if (text === "Z" || text === "UTC" || text === "GMT") return 0;
  return parseFixedOffset(text) ?? NO_ZONE;
}

function strftimeTemplate(name: string, pattern: string, search = false): Template {
  const { re, fields } = compileStrftime(pattern, search);
  const names = fields.map((_, k) => `bw${k}`);
  return {
    name,
    search,
    scan(line, pos, p) {
      re.lastIndex = search ? 0 : pos;
      const m = re.exec(line);
      if (!m) return false;
      const span = m.indices?.groups?.[CUT];
      if (!span || span[0] === span[1]) {
        // An empty date ("()" in `^WARNING:()**`): the line has no date of its own.
        if (m[0].length === 0 && fields.length > 0) return false;
        p.optional = true;
        return true;
      }
      const g = m.groups ?? {};
      let hour12 = -1;
      let pm = -1;
      let epoch = NaN;
      for (let k = 0; k < fields.length; k++) {
        const v = g[names[k]!];
        if (v === undefined) continue;
        switch (fields[k]) {
          case "Y":
            p.year = Number(v);
            break;
          case "y":
            p.year = 2000 + Number(v);
            break;
          case "m":
            p.month = Number(v);
            break;
          case "d":
            p.day = Number(v);
            break;
          case "j":
            p.day = -Number(v);
            break;
          case "H":
            p.hour = Number(v);
            break;
          case "I":
            hour12 = Number(v);
            break;
          case "p":
            pm = (v.charCodeAt(0) | 0x20) === 112 ? 1 : 0;
            break;
          case "M":
            p.minute = Number(v);
            break;
          case "S":
            p.second = Number(v);
            break;
          case "f":
            p.frac = Number(`0.${v.slice(0, 9)}`);
            break;
          case "b":
            p.month = monthFromName(v);
            break;
          case "z":
            p.zone = zoneFromText(v);
            break;
          case "s":
            epoch = Number(v);
            break;
        }
      }
      if (!Number.isNaN(epoch)) p.epoch = epoch + p.frac;
      if (hour12 >= 0) p.hour = (hour12 % 12) + (pm === 1 ? 12 : 0);
      if (p.day < 0 && p.year >= 0) {
        // %j with a year: turn the day of year into month/day.
        const doy = -p.day;
        if (doy > (isLeap(p.year) ? 366 : 365)) return false;
        let mo = 1;
        let rest = doy;
        while (rest > daysInMonth(p.year, mo)) rest -= daysInMonth(p.year, mo++);
        p.month = mo;
        p.day = rest;
      } else if (p.month > 0 && p.day === 0) {
        p.day = 1;
      }
      p.start = span[0];
      p.end = span[1];
      return true;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The detector

const LN_BEG = "{^LN-BEG}";

/**
 * The other date formats fail2ban knows by default (name, strftime pattern), tried after the
 * hand-written scanners. In auto-detection they are anchored at the line begin like the rest;
 * `{DATE}` in an explicit pattern stands for each of them (and the scanners' formats).
 */
const MORE_FORMATS: readonly (readonly [string, string])[] = [
  ["MON Day YYYY HH:MM:SS", "(?:%a )?%b %d %ExY %k:%M:%S(?:\\.%f)?"],
  ["DD-MM-YYYY HH:MM:SS", "%d(?P<s>[/-])%m(?P=s)(?:%ExY|%y) %k:%M:%S"],
  ["DD/MON/YYYY:HH:MM:SS", "%d(?P<s>[/-])%b(?P=s)%ExY[ :]?%H:%M:%S(?:\\.%f)?(?: %z)?"],
  ["MM/DD/YYYY:HH:MM:SS", "%m/%d/%ExY:%H:%M:%S"],
  ["MM-DD-YYYY HH:MM:SS", "%m-%d-%ExY %k:%M:%S(?:\\.%f)?"],
  ["HH:MM:SS", "%H:%M:%S"],
  ["<MM/DD/YY@HH:MM:SS>", "<%m/%d/%y@%H:%M:%S>"],
  ["YYMMDD HH:MM:SS", "%y%Exm%Exd  ?%H:%M:%S"],
  ["MON Day, YYYY HH:MM:SS AM", "%b %d, %ExY %I:%M:%S %p"],
  ["MON-DD-YY HH:MM:SS", "%b-%d-%y %k:%M:%S"],
  ["YYYYMMDD[T ]HHMMSS", "%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\\s*%z)?"],
  ["ZONE MON Day HH:MM:SS", "(?:%Z |%z )(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?"],
];

/** What `{DATE}` stands for: every default format as a strftime pattern. */
const DATE_FORMATS: readonly (readonly [string, string])[] = [
  ["YYYY-MM-DD HH:MM:SS", "%ExY(?P<s>[./-])%m(?P=s)%d(?:T| {1,2})%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?"],
  ["MON Day HH:MM:SS", "(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?"],
  ...MORE_FORMATS.filter(([, f]) => !f.startsWith("<")),
];

const AUTO_MORE: readonly Template[] = [
  ...MORE_FORMATS.map(([name, f]) => strftimeTemplate(name, f)),
  tai64nTemplate("TAI64N", false),
];

const AUTO: readonly Template[] = [SYSLOG, ISO, RFC5424, AUTO_EPOCH, ...AUTO_MORE];

/** Template names of the auto-detected formats. */
export const AUTO_TEMPLATE_NAMES: readonly string[] = AUTO.map((t) => t.name);

function specialTemplates(text: string, name: string): Template[] | undefined {
  const upper = text.toUpperCase();
  const anchored = upper.startsWith("^");
  switch (anchored ? upper.slice(1) : upper) {
    case "EPOCH": {
      const t = epochTemplate(name, new Map([[10, 1], [11, 1]]), 0, Infinity);
      return anchored ? [t] : [t, auditEpochTemplate(name, t)];
    }
    case "LEPOCH": {
      const t = epochTemplate(
        name,
        new Map([[10, 1], [11, 1], [13, 1000], [16, 1e6]]),
        0,
        Infinity,
      );
      return anchored ? [t] : [t, auditEpochTemplate(name, t)];
    }
    case "ISO8601":
      return [isoTemplate(name)];
    case "TAI64N":
      return [tai64nTemplate(name, false)];
  }
  return undefined;
}

/** Builds the template list of a datepattern; undefined means {NONE}. */
function templatesFor(datepattern: string | undefined): Template[] | undefined {
  if (datepattern === undefined) return [...AUTO];
  const lines = datepattern.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  if (lines.length === 0) {
    throw new Error(`Invalid datepattern "": expected a strftime pattern, {^LN-BEG} or {NONE}`);
  }
  const out: Template[] = [];
  for (const line of lines) {
    let body = line;
    let lnBeg = false;
    if (body.startsWith(LN_BEG)) {
      body = body.slice(LN_BEG.length);
      lnBeg = true;
    }
    let unbound = false;
    if (body.startsWith("{UNB}")) {
      body = body.slice(5);
      unbound = true;
    }
    if (body === "" || body === "{DEFAULT}") {
      out.push(...AUTO);
      continue;
    }
    if (body === "{NONE}") {
      if (lines.length > 1) {
        throw new Error(`Invalid datepattern: {NONE} cannot be combined with other patterns`);
      }
      return undefined;
    }
    if (/\{DATE\}/i.test(body) && !lnBeg) {
      // fail2ban: the pattern once per default format, {DATE} replaced by it.
      for (const [fname, format] of DATE_FORMATS) {
        const text = body.replace(/\{DATE\}/gi, format);
        out.push(strftimeTemplate(line.replace(/\{DATE\}/gi, fname), text, !unbound));
      }
      continue;
    }
    const brace = /\{(?:DEFAULT|DATE|NONE|UNB|\^LN-BEG|\^LN-END)\}/.exec(body);
    if (brace) {
      throw new Error(
        `Invalid datepattern "${line}": ${brace[0]} is not supported here; expected it alone ` +
          `or {^LN-BEG} at the start`,
      );
    }
    const special = specialTemplates(body, line);
    if (special) {
      out.push(...(lnBeg ? special.filter((t) => !t.search) : special));
      continue;
    }
    // {^LN-BEG}: tried at the line-begin positions; otherwise searched as fail2ban does.
    out.push(strftimeTemplate(line, body, !lnBeg));
  }
  // Remove duplicates (e.g. "{^LN-BEG}" twice) keeping the first.
  return out.filter((t, i) => out.indexOf(t) === i);
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 ||
    c > 127;
}

/** Creates a date detector for a datepattern (undefined = auto-detection); throws Error. */
export function createDateDetector(
  datepattern: string | undefined,
  options: DateDetectorOptions = {},
): DateDetector {
  const zone = resolveZone(options.timezone);
  const templates = templatesFor(datepattern);
  const counts = new Map<string, number>();
  const count = (name: string): void => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
  };
  if (templates === undefined) {
    return {
      find(_line: string, now: number): FoundDate {
        count("{NONE}");
        return { time: now, start: 0, end: 0, template: "{NONE}" };
      },
      hits: () => counts,
    };
  }
  const parts = newParts();
  let last = 0; // index of the template that matched last
  let lastTime = NaN; // the last date found (for lines whose date is "optional")
  const tryAt = (t: Template, line: string, pos: number, now: number): FoundDate | undefined => {
    resetParts(parts);
    if (!t.scan(line, pos, parts)) return undefined;
    if (parts.optional) {
      // fail2ban: the last date if it is at most 60 s old, else now; nothing is cut.
      count(t.name);
      const time = lastTime > now - 60 ? lastTime : now;
      return { time, start: 0, end: 0, template: t.name };
    }
    const time = resolveTime(parts, zone, now);
    if (!Number.isFinite(time)) return undefined;
    count(t.name);
    lastTime = time;
    return { time, start: parts.start, end: parts.end, template: t.name };
  };
  const tryTemplate = (
    t: Template,
    line: string,
    starts: number,
    now: number,
  ): FoundDate | undefined => {
    if (t.search) return tryAt(t, line, 0, now);
    for (let pos = 0; pos < starts; pos++) {
      const found = tryAt(t, line, pos, now);
      if (found) return found;
    }
    return undefined;
  };
  return {
    find(line: string, now: number): FoundDate | undefined {
      // Line-begin positions: 0, and 1 or 2 after leading non-word characters.
      let starts = 1;
      if (line.length > 0 && !isWordChar(line.charCodeAt(0))) {
        starts = line.length > 1 && !isWordChar(line.charCodeAt(1)) ? 3 : 2;
      }
      let found = tryTemplate(templates[last]!, line, starts, now);
      if (found) return found;
      for (let k = 0; k < templates.length; k++) {
        if (k === last) continue;
        found = tryTemplate(templates[k]!, line, starts, now);
        if (found) {
          last = k;
          return found;
        }
      }
      return undefined;
    },
    hits: () => counts,
  };
}
