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
 * - the date that is cut from the line (match.ts) is the first plain `(…)` group of the
 *   pattern, else the whole match (after a leading `^`);
 * - a pattern whose date group is empty (`^WARNING:()**`, `^I\(()**`) marks lines that carry
 *   no date of their own: their time is the last date found if it is at most 60 s before
 *   `now`, else `now`, and nothing is cut. A pattern with neither a directive nor `()` is an
 *   error.
 * Directives: `%Y %y %m %d %e %j %H %k %I %p %M %S %f %b %B %a %A %z %Z %s %T %%`; fail2ban's
 * `%ExY`-style forms are the exact variants (`%Exm` two digits, `%ExY` 19xx/20xx). `%y` is
 * 2000+yy. `%%` is a literal `%` (in TOML a single `%` is the directive; fail2ban INI files
 * write `%%Y`, import must unescape).
 *
 * This module is the detector (template lists, anchoring, the last-template-first order); the
 * formats are read by date_scanners.ts (hand-written) and date_strftime.ts (patterns), the
 * parts become epoch seconds in date_parts.ts, with date_zones.ts and date_calendar.ts.
 * @module
 */

import { newParts, resetParts, resolveTime, type Template } from "./date_parts.ts";
import {
  auditEpochTemplate,
  AUTO_EPOCH,
  epochTemplate,
  ISO,
  isoTemplate,
  isWordChar,
  RFC5424,
  SYSLOG,
  tai64nTemplate,
} from "./date_scanners.ts";
import { strftimeTemplate } from "./date_strftime.ts";
import { resolveZone } from "./date_zones.ts";

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
