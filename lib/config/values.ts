/**
 * Typed readers of TOML values: each returns the value, or undefined after reporting why it is
 * not acceptable, so a section reader can keep going and collect every problem.
 * @module
 */
import { parse, TomlError } from "smol-toml";
import { posix } from "node:path";
import { type Cidr, parseCidr, parseDuration } from "../core/mod.ts";
import { EXPECT, HOOK_PLACEHOLDERS } from "./schema.ts";
import type { Path } from "./positions.ts";
import { isTable, oneLine, type Reporter, show, type Table } from "./problems.ts";
import { fail2banBool, fail2banLineHint, sectionAt } from "./fail2ban_hints.ts";

/** Parses TOML, turning a syntax error into one problem line; undefined after reporting. */
export function parseToml(text: string, file: string, problems: string[]): Table | undefined {
  try {
    return parse(text, { unsafeKeyBehaviour: "throw" }) as Table;
  } catch (e) {
    if (e instanceof TomlError) {
      const message = oneLine(e.message.replace(/^Invalid TOML document:\s*/, ""));
      // A fail2ban habit (`enable = yes`, `bantime = 1 day`): say the banwatch line to write.
      const hint = fail2banLineHint(text.split("\n")[e.line - 1] ?? "", sectionAt(text, e.line));
      problems.push(
        `${file}:${e.line}:${e.column}: toml: ${message}; expected valid TOML${
          hint === undefined ? "" : ` (write ${hint})`
        }`,
      );
    } else {
      const message = e instanceof Error ? oneLine(e.message) : "cannot parse";
      problems.push(`${file}: toml: ${message}; expected valid TOML`);
    }
    return undefined;
  }
}

/** A validated value and the key path it came from (for later messages). */
export interface Val<T> {
  /** The validated value. */
  value: T;
  /** Where it was written. */
  path: Path;
}

/** Wraps a read value with its key path; undefined (already reported) stays undefined. */
export function val<T>(value: T | undefined, path: Path): Val<T> | undefined {
  return value === undefined ? undefined : { value, path };
}

/** A boolean, or undefined after reporting. */
export function readBool(rep: Reporter, path: Path, v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  // fail2ban's "true"/"yes" strings: name the banwatch key and value.
  const bool = typeof v === "string" ? fail2banBool(v) : undefined;
  const key = path[path.length - 1];
  const hint = bool === undefined || typeof key !== "string"
    ? ""
    : ` (write ${key === "enable" ? "enabled" : key} = ${bool}, without quotes)`;
  rep.add(path, `${show(v)} is not a boolean`, `${EXPECT.bool}${hint}`);
  return undefined;
}

/** A non-empty string without NUL, or undefined after reporting `expected`. */
export function readString(
  rep: Reporter,
  path: Path,
  v: unknown,
  expected: string,
): string | undefined {
  if (typeof v === "string" && v !== "" && !v.includes("\0")) return v;
  rep.add(path, `${show(v)} is not ${typeof v === "string" ? "allowed" : "a string"}`, expected);
  return undefined;
}

/** An integer in min..max, or undefined after reporting. */
export function readInt(
  rep: Reporter,
  path: Path,
  v: unknown,
  min: number,
  max: number,
): number | undefined {
  const expected = `an integer from ${min} to ${max}`;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    rep.add(path, `${show(v)} is not an integer`, expected);
    return undefined;
  }
  if (v < min || v > max) {
    rep.add(path, `${v} is out of range`, expected);
    return undefined;
  }
  return v;
}

/** A duration in seconds of at least `opts.min` ("forever" = Infinity only if `opts.forever`), or undefined after reporting. */
export function readDuration(
  rep: Reporter,
  path: Path,
  v: unknown,
  opts: { min: number; forever: boolean },
): number | undefined {
  const seconds = parseDuration(v);
  const expected = opts.forever ? EXPECT.bantime : EXPECT.duration;
  if (seconds === undefined || (seconds === Infinity && !opts.forever)) {
    const hint = typeof v === "number" && v < 0 && opts.forever
      ? ' (use "forever" for a permanent ban)'
      : "";
    rep.add(path, `${show(v)} is not a duration${hint}`, expected);
    return undefined;
  }
  if (seconds < opts.min) {
    const least = opts.min === 0 ? "0" : opts.min >= 1 ? `${opts.min}s` : `${opts.min * 1000}ms`;
    rep.add(path, `${show(v)} is too short`, `a duration of at least ${least}`);
    return undefined;
  }
  return seconds;
}

/** A string or a list of strings; `list` tells which, for key paths of elements. */
export interface StringList {
  /** The strings, one for a single string. */
  values: string[];
  /** True when written as a list, so element problems are located at `[n]`. */
  list: boolean;
}

/** A string or a list of strings, or undefined after reporting every bad element. */
export function readStringList(
  rep: Reporter,
  path: Path,
  v: unknown,
  expected: string,
): StringList | undefined {
  if (typeof v === "string") {
    return readString(rep, path, v, expected) === undefined
      ? undefined
      : { values: [v], list: false };
  }
  if (!Array.isArray(v)) {
    rep.add(path, `${show(v)} is not a string or a list`, expected);
    return undefined;
  }
  const values: string[] = [];
  let ok = true;
  v.forEach((item, n) => {
    const got = readString(rep, [...path, n], item, expected);
    if (got === undefined) ok = false;
    else values.push(got);
  });
  return ok ? { values, list: true } : undefined;
}

/** An address/CIDR or a list of them (host names are not resolved), or undefined after reporting every bad element. */
export function readCidrList(rep: Reporter, path: Path, v: unknown): Cidr[] | undefined {
  const items = typeof v === "string" ? [v] : v;
  if (!Array.isArray(items)) {
    rep.add(path, `${show(v)} is not a list`, EXPECT.cidrList);
    return undefined;
  }
  const out: Cidr[] = [];
  let ok = true;
  items.forEach((item, n) => {
    const at = typeof v === "string" ? path : [...path, n];
    const cidr = typeof item === "string" ? parseCidr(item.trim()) : undefined;
    if (cidr) out.push(cidr);
    else {
      ok = false;
      const why = typeof item === "string" ? "is not an address or CIDR" : "is not a string";
      rep.add(at, `${show(item)} ${why}`, `${EXPECT.cidr} (host names are not resolved)`);
    }
  });
  return ok ? out : undefined;
}

/** One of `options`, or undefined after reporting. */
export function readOneOf<T extends string>(
  rep: Reporter,
  path: Path,
  v: unknown,
  options: readonly T[],
): T | undefined {
  if (typeof v === "string" && (options as readonly string[]).includes(v)) return v as T;
  rep.add(path, `${show(v)} is not allowed`, `one of ${options.map((o) => `"${o}"`).join(", ")}`);
  return undefined;
}

/** An absolute path, or undefined after reporting. */
export function readAbsPath(rep: Reporter, path: Path, v: unknown): string | undefined {
  const got = readString(rep, path, v, EXPECT.absPath);
  if (got === undefined) return undefined;
  if (!got.startsWith("/")) {
    rep.add(path, `${show(got)} is not an absolute path`, EXPECT.absPath);
    return undefined;
  }
  return got;
}

/**
 * A hook's argv: a non-empty list of strings, the first an absolute program path (no shell, no
 * PATH search), every `{name}` one of {@link HOOK_PLACEHOLDERS}; or undefined after reporting
 * every bad element.
 */
export function readHookArgv(rep: Reporter, path: Path, v: unknown): string[] | undefined {
  if (!Array.isArray(v) || v.length === 0) {
    rep.add(path, `${show(v)} is ${Array.isArray(v) ? "empty" : "not a list"}`, EXPECT.hook);
    return undefined;
  }
  const out: string[] = [];
  v.forEach((item, n) => {
    const at = [...path, n];
    const got = readString(rep, at, item, EXPECT.hook);
    if (got === undefined) return;
    if (n === 0 && !got.startsWith("/")) {
      rep.add(at, `${show(got)} is not an absolute path`, EXPECT.hook);
      return;
    }
    const unknown = [...got.matchAll(/\{([^{}]*)\}/g)]
      .map((m) => m[1]!)
      .filter((name) => !HOOK_PLACEHOLDERS.includes(name));
    if (unknown.length > 0) {
      rep.add(
        at,
        `unknown placeholder {${unknown[0]}}`,
        `one of ${HOOK_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
      );
      return;
    }
    out.push(got);
  });
  return out.length === v.length ? out : undefined;
}

/** A time zone: "UTC", "local", "+HHMM" or an IANA name this runtime knows; or undefined after reporting. */
export function readTimezone(rep: Reporter, path: Path, v: unknown): string | undefined {
  const got = readString(rep, path, v, EXPECT.timezone);
  if (got === undefined) return undefined;
  if (isTimezone(got)) return got;
  rep.add(path, `${show(got)} is not a known time zone`, EXPECT.timezone);
  return undefined;
}

function isTimezone(tz: string): boolean {
  if (tz === "UTC" || tz === "local") return true;
  if (/^[+-](?:[01]\d|2[0-3])[0-5]\d$/.test(tz)) return true;
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A table, or undefined after reporting `expected`. */
export function readTable(
  rep: Reporter,
  path: Path,
  v: unknown,
  expected: string,
): Table | undefined {
  if (isTable(v)) return v;
  rep.add(path, `${show(v)} is not a table`, expected);
  return undefined;
}

/** The key path of element `index` of a string-or-list value (the value itself when it was a single string). */
export function elementPath(v: Val<StringList>, index: number | undefined): Path {
  return v.value.list && index !== undefined ? [...v.path, index] : v.path;
}

/** Joins a relative path to the config file's directory; absolute paths stay as they are. */
export function resolvePath(configFile: string, path: string): string {
  if (path.startsWith("/")) return path;
  return posix.join(posix.dirname(configFile), path);
}
