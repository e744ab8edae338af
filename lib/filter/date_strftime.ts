/**
 * strftime-style datepatterns (`%Y-%m-%d %H:%M:%S`, fail2ban's `%ExY`, regex text between the
 * directives) compiled to RegExps, and the template that reads a match into date parts.
 * @module
 */

import { daysInMonth, isLeap } from "./date_calendar.ts";
import { NO_ZONE, type Template } from "./date_parts.ts";
import { MONTHS3, word3 } from "./date_scanners.ts";
import { parseFixedOffset } from "./date_zones.ts";

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

/** Month 1-12 of an English month name (its first three letters), 0 if none. */
function monthFromName(text: string): number {
  return MONTHS3.indexOf(word3(text, 0)) + 1;
}

/** Seconds east of UTC of a `%z` / `%Z` text, NO_ZONE when it names no known offset. */
function zoneFromText(text: string): number {
  if (text === "Z" || text === "UTC" || text === "GMT") return 0;
  return parseFixedOffset(text) ?? NO_ZONE;
}

/**
 * A template for a strftime-style datepattern (see compileStrftime()).
 * @param name the template name
 * @param pattern the datepattern (regex text between directives)
 * @param search search the whole line (else: tried at the line-begin positions)
 */
export function strftimeTemplate(name: string, pattern: string, search = false): Template {
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
