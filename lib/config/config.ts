/**
 * jails.toml: parse and validate the configuration (pure; no file system, no clock).
 *
 * Every problem of a file is collected and thrown together as one ConfigError whose problems
 * are one line each: `<file>:<line>:<col>: <key.path>: <what is wrong>; expected <what>`.
 * smol-toml gives no key positions, so a small scanner (indexPositions) maps key paths to
 * line:column; a key it cannot place falls back to its table's header line.
 * @module
 */
import { parse, TomlError } from "smol-toml";
import {
  type Cidr,
  ConfigError,
  DEFAULT_FIREWALL_TIMEOUT,
  DEFAULT_SOCKET_PATH,
  DEFAULT_STATE_DIR,
  DURATION_EXPECTED,
  JAIL_NAME,
  parseCidr,
  parseDuration,
  TABLE_NAME,
} from "../core/mod.ts";
import type { BackendKind } from "../firewall/mod.ts";
import { posix } from "node:path";
import {
  BUILTIN_FILTERS,
  type FilterError,
  type FilterSpec,
  findBuiltinFilter,
  validateFilter,
} from "../filter/mod.ts";

export type { Cidr } from "../core/mod.ts";
export type { FilterSpec } from "../filter/mod.ts";

// ---------------------------------------------------------------------------------------------
// Public types

/** A firewall backend name as written in jails.toml. */
export type { BackendKind };

/** Recidive settings (`bantime_increment` table): how ban times grow for repeat offenders. */
export interface BantimeIncrement {
  /** `enabled`: grow ban times of addresses banned before (default false). */
  enabled: boolean;
  /** `factor`: bantime × factor × 2^n for the n-th previous ban, n capped at 20 (default 1). */
  factor: number;
  /** `multipliers`: bantime × multipliers[n], the last one repeating; replaces factor (default []). */
  multipliers: readonly number[];
  /** Always undefined: fail2ban's `formula` is rejected by the parser. */
  formula: string | undefined;
  /** `maxtime`: the longest ban increments may produce, seconds (default Infinity: no cap). */
  maxtime: number;
  /** `overalljails`: count previous bans from every jail, not only this one (default false). */
  overalljails: boolean;
  /** `rndtime`: up to this many random seconds are added to a grown ban (default 0). */
  rndtime: number;
}

/** The `[global]` section, with defaults applied; durations in seconds. */
export interface GlobalConfig {
  /** `state_dir`: directory of the SQLite state (default "/var/db/banwatch"). */
  stateDir: string;
  /** `socket`: control socket path, at most 103 bytes (default "/var/run/banwatch.sock"). */
  socket: string;
  /** `ipfw_path`: absolute path of ipfw (default "/sbin/ipfw"). */
  ipfwPath: string;
  /** `pfctl_path`: absolute path of pfctl (default "/sbin/pfctl"). */
  pfctlPath: string;
  /** `nft_path`: absolute path of nft (default "/usr/sbin/nft"). */
  nftPath: string;
  /** `poll_interval`: seconds between stats of each log file, at least 10ms (default 1). */
  pollInterval: number;
  /** `ignoreip`: addresses/CIDRs no jail ever bans (default none). */
  ignoreIp: readonly Cidr[];
  /** `ignoreself`: never ban loopback and the host's own addresses (default true). */
  ignoreSelf: boolean;
  /** `dbpurgeage`: ban history older than this is purged, seconds (default 30 days). */
  dbPurgeAge: number;
  /** `max_tracked`: cap on addresses with open failure windows (default 100000). */
  maxTracked: number;
  /** `timezone`: zone of log times without one; undefined = local. Folded into each filter. */
  timezone: string | undefined;
  /** `unban_on_stop`: remove the daemon's bans on SIGTERM/SIGINT (default false). */
  unbanOnStop: boolean;
  /** `firewall_timeout`: a firewall call running longer is killed, seconds (default 10). */
  firewallTimeout: number;
}

/** One `[jail.NAME]` section merged over `[defaults]`, with defaults applied; durations in seconds. */
export interface JailConfig {
  /** The NAME of `[jail.NAME]`: 1..63 of A-Z a-z 0-9 - _. */
  name: string;
  /** `enabled` (default false, as in fail2ban). */
  enabled: boolean;
  /** `logpath`: paths or globs, relative ones joined to the config file's directory. */
  logPaths: readonly string[];
  /** The effective filter: the named/inline one with the jail's inline overrides applied. */
  filter: FilterSpec;
  /** "builtin:NAME", the filter file's path, "inline", or "none" (a disabled jail without filter). */
  filterSource: string;
  /** `maxretry`: failures within findTime that ban (default 5). */
  maxRetry: number;
  /** `findtime`: the failure window, seconds (default 600). */
  findTime: number;
  /** `bantime`: seconds, Infinity for "forever" (default 600). */
  banTime: number;
  /** `bantime_increment` merged key by key over `[defaults]`. */
  banTimeIncrement: BantimeIncrement;
  /** The jail's own ignoreip plus `[defaults]`' (the global list is kept in GlobalConfig). */
  ignoreIp: readonly Cidr[];
  /** `backend` (default "ipfw"). */
  backend: BackendKind;
  /** `table`: firewall table name (default: the jail name). */
  table: string;
  /** `usedns`: resolve host names in `<HOST>` (default false; unsafe). Same as filter.usedns. */
  usedns: boolean;
  /** `ipv6_prefix`: IPv6 aggregation prefix length 1..128 (default 64). */
  ipv6Prefix: number;
  /** `ipv6_prefix_maxretry` (default unset). */
  ipv6PrefixMaxRetry: number | undefined;
  /** `ipv4_prefix`: IPv4 aggregation prefix length 1..32 (default unset: off). */
  ipv4Prefix: number | undefined;
  /** `ipv4_prefix_maxretry` (default unset). */
  ipv4PrefixMaxRetry: number | undefined;
  /** `port`: ports of the managed rule (default []: all ports). */
  ports: readonly number[];
  /** `protocol` of the managed rule (default "tcp"). */
  protocol: "tcp" | "udp" | "all";
  /** `rule`: ipfw rule number 1..65534 (default unset). */
  ruleNumber: number | undefined;
  /** `manage_rule` (default: true when rule is set). */
  manageRule: boolean;
}

/** A whole validated configuration. */
export interface Config {
  /** The file name given to parseConfig(). */
  file: string;
  /** `[global]`. */
  global: GlobalConfig;
  /** Every `[jail.NAME]`, enabled or not, in file order. */
  jails: readonly JailConfig[];
}

/** Options of parseConfig(). */
export interface ParseConfigOptions {
  /** The config file's path, used in messages and as the base of relative paths. */
  file: string;
  /**
   * Reads a filter file named by `filter = "path"`. It receives the path already joined to the
   * config file's directory (absolute paths unchanged). Return undefined, or throw an Error
   * with a short one-line message, when the file cannot be read.
   */
  readFile?: (path: string) => string | undefined;
}

// ---------------------------------------------------------------------------------------------
// Defaults and key lists (also the reference for jails.toml(5))

/** Defaults of `[global]`. */
export const GLOBAL_DEFAULTS: Readonly<Omit<GlobalConfig, "ignoreIp">> = {
  stateDir: DEFAULT_STATE_DIR,
  socket: DEFAULT_SOCKET_PATH,
  ipfwPath: "/sbin/ipfw",
  pfctlPath: "/sbin/pfctl",
  nftPath: "/usr/sbin/nft",
  pollInterval: 1,
  ignoreSelf: true,
  dbPurgeAge: 30 * 86400,
  maxTracked: 100000,
  timezone: undefined,
  unbanOnStop: false,
  firewallTimeout: DEFAULT_FIREWALL_TIMEOUT,
};

/** Defaults of the `bantime_increment` table. */
export const INCREMENT_DEFAULTS: Readonly<BantimeIncrement> = {
  enabled: false,
  factor: 1,
  multipliers: [],
  formula: undefined,
  maxtime: Infinity,
  overalljails: false,
  rndtime: 0,
};

/** Defaults of jail keys (those that have one; `table` defaults to the jail's name). */
export const JAIL_DEFAULTS = {
  enabled: false,
  maxRetry: 5,
  findTime: 600,
  banTime: 600,
  backend: "ipfw" as BackendKind,
  usedns: false,
  ipv6Prefix: 64,
  protocol: "tcp" as const,
} as const;

/** Keys accepted in `[global]`. */
export const GLOBAL_KEYS: readonly string[] = [
  "state_dir",
  "socket",
  "ipfw_path",
  "pfctl_path",
  "nft_path",
  "poll_interval",
  "ignoreip",
  "ignoreself",
  "dbpurgeage",
  "max_tracked",
  "timezone",
  "unban_on_stop",
  "firewall_timeout",
];

/** Keys accepted in `[defaults]` and `[jail.NAME]`. */
export const JAIL_KEYS: readonly string[] = [
  "enabled",
  "logpath",
  "filter",
  "failregex",
  "ignoreregex",
  "prefregex",
  "datepattern",
  "usedns",
  "timezone",
  "maxretry",
  "findtime",
  "bantime",
  "bantime_increment",
  "ignoreip",
  "backend",
  "table",
  "ipv6_prefix",
  "ipv6_prefix_maxretry",
  "ipv4_prefix",
  "ipv4_prefix_maxretry",
  "port",
  "protocol",
  "rule",
  "manage_rule",
];

/** Keys accepted in a `bantime_increment` table. */
export const INCREMENT_KEYS: readonly string[] = [
  "enabled",
  "factor",
  "multipliers",
  "formula",
  "maxtime",
  "overalljails",
  "rndtime",
];

/** Keys accepted in a banwatch filter file. */
export const FILTER_FILE_KEYS: readonly string[] = [
  "description",
  "example",
  "failregex",
  "ignoreregex",
  "prefregex",
  "datepattern",
  "usedns",
  "timezone",
];

const BACKENDS: readonly BackendKind[] = ["ipfw", "pf", "nft", "dry-run"];
const PROTOCOLS = ["tcp", "udp", "all"] as const;
const PF_TABLE_MAX = 31;
/** sun_path is 104 bytes on FreeBSD, including the terminating NUL. */
const SOCKET_PATH_MAX = 103;

const EXPECT = {
  duration: DURATION_EXPECTED,
  bantime: `${DURATION_EXPECTED}, or "forever"`,
  bool: "true or false",
  path: "a non-empty path",
  absPath: 'an absolute path such as "/sbin/ipfw"',
  cidr: 'an address or CIDR such as "192.0.2.1", "198.51.100.0/24" or "2001:db8::/32"',
  cidrList: 'a list of addresses or CIDRs, e.g. ["192.0.2.1", "2001:db8::/32"]',
  logpath: 'a path or a list of paths, e.g. "/var/log/maillog" (globs allowed)',
  regexList: "a regex string or a list of regex strings",
  regex: "a regex string",
  timezone: 'a time zone: "UTC", "local", an IANA name such as "Asia/Tokyo", or "+0900"',
  port: "a port number 1..65535 or a list of them",
  jailTable: "a table [jail.NAME] of jail settings",
  table: 'an ipfw table name of 1..63 characters from A-Z a-z 0-9 "-" "_" ".", not "all"',
} as const;

// ---------------------------------------------------------------------------------------------
// Position index

type Path = readonly (string | number)[];

interface Pos {
  line: number;
  col: number;
}

interface KeyPos {
  key: Pos;
  value: Pos;
}

/** Key paths (joined with NUL) to the positions of their key and value. */
type PosIndex = Map<string, KeyPos>;

function pathId(path: Path): string {
  return path.join("\u0000");
}

/** Scans (valid) TOML text and records where every key, table header and array element is. */
function indexPositions(text: string): PosIndex {
  const index: PosIndex = new Map();
  const s = text;
  let i = 0;
  let line = 1;
  let col = 1;
  const peek = (o = 0): string | undefined => s[i + o];
  const adv = (): void => {
    if (s[i] === "\n") {
      line++;
      col = 1;
    } else {
      col++;
    }
    i++;
  };
  const pos = (): Pos => ({ line, col });
  const skipWs = (): void => {
    while (peek() === " " || peek() === "\t") adv();
  };
  const skipToEol = (): void => {
    while (i < s.length && peek() !== "\n") adv();
  };
  const skipWsNl = (): void => {
    for (;;) {
      const c = peek();
      if (c === " " || c === "\t" || c === "\n" || c === "\r") adv();
      else if (c === "#") skipToEol();
      else return;
    }
  };
  const setIfAbsent = (path: Path, at: KeyPos): void => {
    const id = pathId(path);
    if (!index.has(id)) index.set(id, at);
  };
  const readKey = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipWs();
      const c = peek();
      if (c === '"' || c === "'") {
        const start = i;
        adv();
        while (i < s.length && peek() !== c && peek() !== "\n") {
          if (c === '"' && peek() === "\\") adv();
          adv();
        }
        adv();
        const raw = s.slice(start, i);
        let key = raw.slice(1, -1);
        if (c === '"') {
          try {
            key = String(JSON.parse(raw));
          } catch {
            // keep the raw text
          }
        }
        parts.push(key);
      } else {
        const start = i;
        while (i < s.length && /[A-Za-z0-9_-]/.test(s[i] as string)) adv();
        if (i === start) return parts;
        parts.push(s.slice(start, i));
      }
      skipWs();
      if (peek() !== ".") return parts;
      adv();
    }
  };
  const skipString = (quote: string): void => {
    const triple = s.startsWith(quote.repeat(3), i);
    if (triple) {
      adv(), adv(), adv();
      while (i < s.length && !s.startsWith(quote.repeat(3), i)) {
        if (quote === '"' && peek() === "\\") adv();
        adv();
      }
      adv(), adv(), adv();
      while (peek() === quote) adv();
      return;
    }
    adv();
    while (i < s.length && peek() !== quote && peek() !== "\n") {
      if (quote === '"' && peek() === "\\") adv();
      adv();
    }
    if (peek() === quote) adv();
  };
  const readValue = (path: Path, keyPos: Pos, depth: number): void => {
    index.set(pathId(path), { key: keyPos, value: pos() });
    const c = peek();
    if (c === '"' || c === "'") {
      skipString(c);
    } else if (c === "[" && depth < 64) {
      adv();
      for (let n = 0;; n++) {
        skipWsNl();
        if (peek() === "]" || i >= s.length) break;
        const start = i;
        const at = pos();
        readValue([...path, n], at, depth + 1);
        skipWsNl();
        if (peek() === ",") adv();
        else if (peek() !== "]" || i === start) break;
      }
      if (peek() === "]") adv();
    } else if (c === "{" && depth < 64) {
      adv();
      for (;;) {
        skipWs();
        if (peek() === "}" || i >= s.length) break;
        const at = pos();
        const key = readKey();
        if (key.length === 0) break;
        skipWs();
        if (peek() === "=") adv();
        skipWs();
        for (let k = 1; k < key.length; k++) {
          setIfAbsent([...path, ...key.slice(0, k)], { key: at, value: at });
        }
        readValue([...path, ...key], at, depth + 1);
        skipWs();
        if (peek() === ",") adv();
        else break;
      }
      if (peek() === "}") adv();
    } else {
      while (i < s.length && !/[,\]}#\r\n]/.test(s[i] as string)) adv();
    }
  };

  let table: string[] = [];
  while (i < s.length) {
    skipWs();
    const c = peek();
    if (c === undefined) break;
    if (c === "\n" || c === "\r") {
      adv();
      continue;
    }
    if (c === "#") {
      skipToEol();
      continue;
    }
    const start = pos();
    if (c === "[") {
      adv();
      if (peek() === "[") adv();
      table = readKey();
      const at = { key: start, value: start };
      for (let k = 1; k < table.length; k++) setIfAbsent(table.slice(0, k), at);
      index.set(pathId(table), at);
      skipToEol();
      continue;
    }
    const key = readKey();
    if (key.length === 0) {
      skipToEol();
      continue;
    }
    skipWs();
    if (peek() === "=") adv();
    skipWs();
    const full = [...table, ...key];
    for (let k = table.length + 1; k < full.length; k++) {
      setIfAbsent(full.slice(0, k), { key: start, value: start });
    }
    readValue(full, start, 0);
    skipToEol();
  }
  return index;
}

// ---------------------------------------------------------------------------------------------
// Problem collection

interface ProblemEntry {
  line: number;
  col: number;
  seq: number;
  text: string;
}

/** Collects one-line problems of one file, located through the position index. */
class Reporter {
  readonly entries: ProblemEntry[] = [];
  #seq = 0;
  constructor(readonly file: string, readonly index: PosIndex) {}

  /** Where `path` is: its value (or key), else the nearest enclosing table's header. */
  locate(path: Path, where: "key" | "value"): Pos | undefined {
    for (let n = path.length; n > 0; n--) {
      const hit = this.index.get(pathId(path.slice(0, n)));
      if (hit) return n === path.length ? hit[where] : hit.key;
    }
    return undefined;
  }

  add(path: Path, problem: string, expected: string, where: "key" | "value" = "value"): void {
    const at = this.locate(path, where);
    const prefix = at ? `${this.file}:${at.line}:${at.col}` : this.file;
    const tail = expected ? `; expected ${expected}` : "";
    this.push(at, `${prefix}: ${showPath(path)}: ${oneLine(problem)}${tail}`);
  }

  /** Adds lines produced elsewhere (a filter file's problems) sorted at `path`'s position. */
  addLines(path: Path, lines: readonly string[]): void {
    const at = this.locate(path, "value");
    for (const text of lines) this.push(at, text);
  }

  push(at: Pos | undefined, text: string): void {
    this.entries.push({ line: at?.line ?? 0, col: at?.col ?? 0, seq: this.#seq++, text });
  }

  lines(): string[] {
    const sorted = [...this.entries].sort((a, b) =>
      a.line - b.line || a.col - b.col || a.seq - b.seq
    );
    return [...new Set(sorted.map((e) => e.text))];
  }
}

function showPath(path: Path): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (out === "") out = part;
    else out += `.${/^[A-Za-z0-9_-]+$/.test(part) ? part : JSON.stringify(part)}`;
  }
  return out;
}

function oneLine(text: string): string {
  const first = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "")[0] ?? "";
  return shorten(first, 200);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A value as it appears in a message: quoted and shortened. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(shorten(value, 60));
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    let text: string;
    try {
      text = JSON.stringify(value);
    } catch {
      text = "[…]";
    }
    return shorten(text, 60);
  }
  if (value instanceof Date) return "a date";
  if (isTable(value)) return "a table";
  return String(value);
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, k) => k);
  for (let x = 1; x <= a.length; x++) {
    let prev = row[0] as number;
    row[0] = x;
    for (let y = 1; y <= b.length; y++) {
      const tmp = row[y] as number;
      const cost = a[x - 1] === b[y - 1] ? 0 : 1;
      row[y] = Math.min((row[y] as number) + 1, (row[y - 1] as number) + 1, prev + cost);
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

function unknownKey(rep: Reporter, path: Path, allowed: readonly string[]): void {
  const key = String(path[path.length - 1]);
  const norm = key.toLowerCase().replaceAll(".", "_");
  const near = allowed
    .map((k) => ({ k, d: editDistance(norm, k) }))
    .filter((c) => c.d <= (norm.length >= 8 ? 3 : 2))
    .sort((a, b) => a.d - b.d)[0];
  const expected = near ? `"${near.k}"` : `one of ${allowed.join(", ")}`;
  rep.add(path, "unknown key", expected, "key");
}

// ---------------------------------------------------------------------------------------------
// Typed readers: each returns the value or undefined after reporting the problem.

function readBool(rep: Reporter, path: Path, v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  rep.add(path, `${show(v)} is not a boolean`, EXPECT.bool);
  return undefined;
}

function readString(
  rep: Reporter,
  path: Path,
  v: unknown,
  expected: string,
): string | undefined {
  if (typeof v === "string" && v !== "" && !v.includes("\0")) return v;
  rep.add(path, `${show(v)} is not ${typeof v === "string" ? "allowed" : "a string"}`, expected);
  return undefined;
}

function readInt(
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

function readDuration(
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
interface StringList {
  values: string[];
  list: boolean;
}

function readStringList(
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

function readCidrList(rep: Reporter, path: Path, v: unknown): Cidr[] | undefined {
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

function readOneOf<T extends string>(
  rep: Reporter,
  path: Path,
  v: unknown,
  options: readonly T[],
): T | undefined {
  if (typeof v === "string" && (options as readonly string[]).includes(v)) return v as T;
  rep.add(path, `${show(v)} is not allowed`, `one of ${options.map((o) => `"${o}"`).join(", ")}`);
  return undefined;
}

function readAbsPath(rep: Reporter, path: Path, v: unknown): string | undefined {
  const got = readString(rep, path, v, EXPECT.absPath);
  if (got === undefined) return undefined;
  if (!got.startsWith("/")) {
    rep.add(path, `${show(got)} is not an absolute path`, EXPECT.absPath);
    return undefined;
  }
  return got;
}

function readTimezone(rep: Reporter, path: Path, v: unknown): string | undefined {
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

function readTable(rep: Reporter, path: Path, v: unknown, expected: string): Table | undefined {
  if (isTable(v)) return v;
  rep.add(path, `${show(v)} is not a table`, expected);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// [global]

function readGlobal(rep: Reporter, raw: Table | undefined): GlobalConfig {
  const g: GlobalConfig = { ...GLOBAL_DEFAULTS, ignoreIp: [] };
  if (!raw) return g;
  for (const [key, v] of Object.entries(raw)) {
    const path = ["global", key];
    switch (key) {
      case "state_dir":
        g.stateDir = readString(rep, path, v, EXPECT.path) ?? g.stateDir;
        break;
      case "socket": {
        const got = readString(rep, path, v, EXPECT.path);
        if (got !== undefined && new TextEncoder().encode(got).length > SOCKET_PATH_MAX) {
          rep.add(
            path,
            `${show(got)} is longer than ${SOCKET_PATH_MAX} bytes`,
            "a shorter path (a Unix socket path is limited to 103 bytes)",
          );
        } else if (got !== undefined) g.socket = got;
        break;
      }
      case "ipfw_path":
        g.ipfwPath = readAbsPath(rep, path, v) ?? g.ipfwPath;
        break;
      case "pfctl_path":
        g.pfctlPath = readAbsPath(rep, path, v) ?? g.pfctlPath;
        break;
      case "nft_path":
        g.nftPath = readAbsPath(rep, path, v) ?? g.nftPath;
        break;
      case "poll_interval":
        g.pollInterval = readDuration(rep, path, v, { min: 0.01, forever: false }) ??
          g.pollInterval;
        break;
      case "ignoreip":
        g.ignoreIp = readCidrList(rep, path, v) ?? g.ignoreIp;
        break;
      case "ignoreself":
        g.ignoreSelf = readBool(rep, path, v) ?? g.ignoreSelf;
        break;
      case "dbpurgeage":
        g.dbPurgeAge = readDuration(rep, path, v, { min: 1, forever: true }) ?? g.dbPurgeAge;
        break;
      case "max_tracked":
        g.maxTracked = readInt(rep, path, v, 1, 100_000_000) ?? g.maxTracked;
        break;
      case "timezone":
        g.timezone = readTimezone(rep, path, v) ?? g.timezone;
        break;
      case "unban_on_stop":
        g.unbanOnStop = readBool(rep, path, v) ?? g.unbanOnStop;
        break;
      case "firewall_timeout":
        g.firewallTimeout = readDuration(rep, path, v, { min: 0.1, forever: false }) ??
          g.firewallTimeout;
        break;
      default:
        unknownKey(rep, path, GLOBAL_KEYS);
    }
  }
  return g;
}

// ---------------------------------------------------------------------------------------------
// [defaults] and [jail.NAME]: first each section on its own, then merged per jail.

/** A validated value and the key path it came from (for later messages). */
interface Val<T> {
  value: T;
  path: Path;
}

interface IncrementSettings {
  enabled?: Val<boolean>;
  factor?: Val<number>;
  multipliers?: Val<number[]>;
  maxtime?: Val<number>;
  overalljails?: Val<boolean>;
  rndtime?: Val<number>;
}

interface SectionSettings {
  path: Path;
  enabled?: Val<boolean>;
  logpath?: Val<string[]>;
  filter?: Val<string>;
  failregex?: Val<StringList>;
  ignoreregex?: Val<StringList>;
  prefregex?: Val<string>;
  datepattern?: Val<string>;
  usedns?: Val<boolean>;
  timezone?: Val<string>;
  maxretry?: Val<number>;
  findtime?: Val<number>;
  bantime?: Val<number>;
  increment: IncrementSettings;
  ignoreip?: Val<Cidr[]>;
  backend?: Val<BackendKind>;
  table?: Val<string>;
  ipv6Prefix?: Val<number>;
  ipv6PrefixMaxRetry?: Val<number>;
  ipv4Prefix?: Val<number>;
  ipv4PrefixMaxRetry?: Val<number>;
  port?: Val<number[]>;
  protocol?: Val<"tcp" | "udp" | "all">;
  rule?: Val<number>;
  manageRule?: Val<boolean>;
  /** A key of the filter group was present but invalid: do not fall back to [defaults]. */
  filterKeyBroken: boolean;
}

function val<T>(value: T | undefined, path: Path): Val<T> | undefined {
  return value === undefined ? undefined : { value, path };
}

function readIncrement(rep: Reporter, path: Path, v: unknown): IncrementSettings {
  const out: IncrementSettings = {};
  const raw = readTable(rep, path, v, "a table with enabled, factor, multipliers, maxtime, ...");
  if (!raw) return out;
  for (const [key, item] of Object.entries(raw)) {
    const p = [...path, key];
    switch (key) {
      case "enabled": {
        const got = val(readBool(rep, p, item), p);
        if (got) out.enabled = got;
        break;
      }
      case "overalljails": {
        const got = val(readBool(rep, p, item), p);
        if (got) out.overalljails = got;
        break;
      }
      case "factor": {
        if (typeof item !== "number" || !Number.isFinite(item) || item <= 0 || item > 1e6) {
          rep.add(p, `${show(item)} is not allowed`, "a number above 0 and at most 1000000");
        } else out.factor = { value: item, path: p };
        break;
      }
      case "multipliers": {
        if (!Array.isArray(item) || item.length === 0) {
          rep.add(
            p,
            `${show(item)} is not a non-empty list`,
            "a list of integers, e.g. [1, 2, 4, 8]",
          );
          break;
        }
        const got: number[] = [];
        item.forEach((m, n) => {
          const one = readInt(rep, [...p, n], m, 1, 1_000_000);
          if (one !== undefined) got.push(one);
        });
        if (got.length === item.length) out.multipliers = { value: got, path: p };
        break;
      }
      case "formula":
        rep.add(p, "not supported", "factor or multipliers instead (no expression language)");
        break;
      case "maxtime": {
        const got = val(readDuration(rep, p, item, { min: 1, forever: true }), p);
        if (got) out.maxtime = got;
        break;
      }
      case "rndtime": {
        const got = val(readDuration(rep, p, item, { min: 0, forever: false }), p);
        if (got) out.rndtime = got;
        break;
      }
      default:
        unknownKey(rep, p, INCREMENT_KEYS);
    }
  }
  return out;
}

function readSection(rep: Reporter, path: Path, raw: Table): SectionSettings {
  const s: SectionSettings = { path, increment: {}, filterKeyBroken: false };
  const set = <K extends keyof SectionSettings>(k: K, v: SectionSettings[K] | undefined): void => {
    if (v !== undefined) s[k] = v;
  };
  for (const [key, v] of Object.entries(raw)) {
    const p = [...path, key];
    switch (key) {
      case "enabled":
        set("enabled", val(readBool(rep, p, v), p));
        break;
      case "logpath":
        set("logpath", val(readStringList(rep, p, v, EXPECT.logpath)?.values, p));
        break;
      case "filter": {
        const got = val(readString(rep, p, v, "a built-in filter name or a filter file path"), p);
        if (!got) s.filterKeyBroken = true;
        set("filter", got);
        break;
      }
      case "failregex": {
        const got = val(readStringList(rep, p, v, EXPECT.regexList), p);
        if (!got) s.filterKeyBroken = true;
        set("failregex", got);
        break;
      }
      case "ignoreregex":
        set("ignoreregex", val(readStringList(rep, p, v, EXPECT.regexList), p));
        break;
      case "prefregex":
        set("prefregex", val(readString(rep, p, v, EXPECT.regex), p));
        break;
      case "datepattern":
        set(
          "datepattern",
          val(readString(rep, p, v, 'a date pattern such as "{^LN-BEG}%b %d %H:%M:%S"'), p),
        );
        break;
      case "usedns":
        set("usedns", val(readBool(rep, p, v), p));
        break;
      case "timezone":
        set("timezone", val(readTimezone(rep, p, v), p));
        break;
      case "maxretry":
        set("maxretry", val(readInt(rep, p, v, 1, 1_000_000), p));
        break;
      case "findtime":
        set("findtime", val(readDuration(rep, p, v, { min: 1, forever: false }), p));
        break;
      case "bantime":
        if (isTable(v)) {
          // `bantime.increment = true` (fail2ban spelling) is a dotted key: bantime becomes a table.
          for (const sub of Object.keys(v)) {
            const mapped = sub === "increment" ? "enabled" : sub;
            rep.add(
              [...p, sub],
              'unknown key (a dotted key makes "bantime" a table)',
              INCREMENT_KEYS.includes(mapped)
                ? `bantime_increment.${mapped}`
                : "bantime_increment.<key>",
              "key",
            );
          }
        } else {
          set("bantime", val(readDuration(rep, p, v, { min: 1, forever: true }), p));
        }
        break;
      case "bantime_increment":
        s.increment = readIncrement(rep, p, v);
        break;
      case "ignoreip":
        set("ignoreip", val(readCidrList(rep, p, v), p));
        break;
      case "backend":
        set("backend", val(readOneOf(rep, p, v, BACKENDS), p));
        break;
      case "table": {
        const got = readString(rep, p, v, EXPECT.table);
        if (got !== undefined && (!TABLE_NAME.test(got) || got === "all")) {
          rep.add(p, `${show(got)} is not a valid table name`, EXPECT.table);
        } else set("table", val(got, p));
        break;
      }
      case "ipv6_prefix":
        set("ipv6Prefix", val(readInt(rep, p, v, 1, 128), p));
        break;
      case "ipv6_prefix_maxretry":
        set("ipv6PrefixMaxRetry", val(readInt(rep, p, v, 1, 1_000_000), p));
        break;
      case "ipv4_prefix":
        set("ipv4Prefix", val(readInt(rep, p, v, 1, 32), p));
        break;
      case "ipv4_prefix_maxretry":
        set("ipv4PrefixMaxRetry", val(readInt(rep, p, v, 1, 1_000_000), p));
        break;
      case "port": {
        const items = Array.isArray(v) ? v : [v];
        const ports: number[] = [];
        items.forEach((item, n) => {
          const at = Array.isArray(v) ? [...p, n] : p;
          if (typeof item === "number" && Number.isInteger(item) && item >= 1 && item <= 65535) {
            ports.push(item);
          } else {
            rep.add(at, `${show(item)} is not a port number`, EXPECT.port);
          }
        });
        if (ports.length === items.length) set("port", val(ports, p));
        break;
      }
      case "protocol":
        set("protocol", val(readOneOf(rep, p, v, PROTOCOLS), p));
        break;
      case "rule":
        set("rule", val(readInt(rep, p, v, 1, 65534), p));
        break;
      case "manage_rule":
        set("manageRule", val(readBool(rep, p, v), p));
        break;
      default:
        unknownKey(rep, p, JAIL_KEYS);
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Filters

/** A filter named by `filter = ...`, before the jail's inline overrides. */
interface BaseFilter {
  spec: FilterSpec;
  source: string;
  /** Problems of the filter itself were already reported (file) or cannot occur (built-in). */
  fromFile: boolean;
}

interface FilterContext {
  rep: Reporter;
  file: string;
  readFile: ((path: string) => string | undefined) | undefined;
  /** Resolved `filter` values per key path, so a [defaults] filter is read once. */
  cache: Map<string, BaseFilter | null>;
}

function resolveNamedFilter(ctx: FilterContext, filter: Val<string>): BaseFilter | undefined {
  const id = pathId(filter.path);
  const cached = ctx.cache.get(id);
  if (cached !== undefined) return cached ?? undefined;
  const got = resolveNamedFilterUncached(ctx, filter);
  ctx.cache.set(id, got ?? null);
  return got;
}

function isFilterPath(name: string): boolean {
  return name.includes("/") || name.endsWith(".toml");
}

function resolveNamedFilterUncached(
  ctx: FilterContext,
  filter: Val<string>,
): BaseFilter | undefined {
  const name = filter.value;
  if (!isFilterPath(name)) {
    const builtin = findBuiltinFilter(name);
    if (builtin) return { spec: builtin, source: `builtin:${builtin.name}`, fromFile: false };
    ctx.rep.add(
      filter.path,
      `unknown built-in filter ${show(name)}`,
      `one of ${BUILTIN_FILTERS.map((f) => f.name).join(", ")}, ` +
        'or a filter file path (containing "/" or ending in ".toml")',
    );
    return undefined;
  }
  const path = resolvePath(ctx.file, name);
  let text: string | undefined;
  let reason = "no file reader available";
  if (ctx.readFile) {
    try {
      text = ctx.readFile(path);
      reason = "not found";
    } catch (e) {
      reason = e instanceof Error ? oneLine(e.message) : "unreadable";
    }
  }
  if (text === undefined) {
    ctx.rep.add(
      filter.path,
      `cannot read filter file ${show(path)}: ${reason}`,
      "a readable banwatch filter file (TOML)",
    );
    return undefined;
  }
  const parsed = readFilterFile(text, path);
  if (parsed.problems.length > 0) {
    ctx.rep.addLines(filter.path, parsed.problems);
    return undefined;
  }
  return parsed.spec ? { spec: parsed.spec, source: path, fromFile: true } : undefined;
}

/** Joins a relative path to the config file's directory; absolute paths stay as they are. */
function resolvePath(configFile: string, path: string): string {
  if (path.startsWith("/")) return path;
  return posix.join(posix.dirname(configFile), path);
}

const FILTER_EXPECT: Record<FilterError["key"], string> = {
  failregex: "a regex that compiles and captures the address with <HOST> (or <ADDR>, <IP4>, ...)",
  ignoreregex: "a regex that compiles",
  prefregex: "a regex that compiles",
  datepattern: 'a date pattern such as "{^LN-BEG}%b %d %H:%M:%S" or "{NONE}"',
};

/** Reports a validateFilter() problem at `path` in the "; expected" format. */
function reportFilterError(rep: Reporter, path: Path, e: FilterError): void {
  const message = oneLine(e.message);
  const hasExpected = /;\s*expected\b/.test(message);
  rep.add(path, message, hasExpected ? "" : FILTER_EXPECT[e.key]);
}

function elementPath(v: Val<StringList>, index: number | undefined): Path {
  return v.value.list && index !== undefined ? [...v.path, index] : v.path;
}

// ---------------------------------------------------------------------------------------------
// Jail assembly

function buildJail(
  name: string,
  jail: SectionSettings,
  defs: SectionSettings,
  global: GlobalConfig,
  ctx: FilterContext,
): JailConfig | undefined {
  const rep = ctx.rep;
  const before = rep.entries.length;
  const pick = <K extends keyof SectionSettings>(k: K): SectionSettings[K] => jail[k] ?? defs[k];
  const enabled = pick("enabled")?.value ?? JAIL_DEFAULTS.enabled;

  const logpath = pick("logpath");
  const logPaths = (logpath?.value ?? []).map((p) => resolvePath(ctx.file, p));
  if (enabled && logPaths.length === 0) {
    rep.add(
      logpath?.path ?? [...jail.path, "logpath"],
      logpath ? "is empty for an enabled jail" : "missing for an enabled jail",
      EXPECT.logpath,
      "key",
    );
  }

  // The filter group (filter / failregex) comes as a whole from the jail or from [defaults].
  const own = jail.filter !== undefined || jail.failregex !== undefined || jail.filterKeyBroken;
  const group = own ? jail : defs;
  let filter: FilterSpec = { name, failregex: [] };
  let filterSource = "none";
  let base: BaseFilter | undefined;
  let filterOk = !group.filterKeyBroken;
  if (group.filter && group.failregex) {
    rep.add(
      group.failregex.path,
      "cannot be combined with filter",
      `either filter = "NAME" or an inline failregex`,
      "key",
    );
    filterOk = false;
  } else if (group.filter) {
    base = resolveNamedFilter(ctx, group.filter);
    if (!base) filterOk = false;
  } else if (!group.failregex && !group.filterKeyBroken) {
    const builtin = findBuiltinFilter(name);
    if (builtin) base = { spec: builtin, source: `builtin:${builtin.name}`, fromFile: false };
    else if (enabled) {
      rep.add(
        [...jail.path, "filter"],
        "missing for an enabled jail",
        'filter = "NAME" (a built-in filter or a filter file) or failregex = [...]',
        "key",
      );
      filterOk = false;
    }
  }
  const failregex = group.filter ? undefined : group.failregex;
  const ignoreregex = pick("ignoreregex");
  const prefregex = pick("prefregex");
  const datepattern = pick("datepattern");
  const usedns = pick("usedns");
  const timezone = pick("timezone");
  if (filterOk && (base || failregex)) {
    const spec: FilterSpec = base
      ? { ...base.spec }
      : { name, failregex: failregex?.value.values ?? [] };
    const baseIgnore = base?.spec.ignoreregex ?? [];
    if (ignoreregex) spec.ignoreregex = [...baseIgnore, ...ignoreregex.value.values];
    if (prefregex) spec.prefregex = prefregex.value;
    if (datepattern) spec.datepattern = datepattern.value;
    if (usedns) spec.usedns = usedns.value;
    const tz = timezone?.value ?? spec.timezone ?? global.timezone;
    if (tz !== undefined) spec.timezone = tz;
    for (const e of validateFilter(spec)) {
      const fromBase = base !== undefined;
      if (e.key === "failregex" && failregex) {
        reportFilterError(rep, elementPath(failregex, e.index), e);
      } else if (e.key === "ignoreregex" && ignoreregex && (e.index ?? 0) >= baseIgnore.length) {
        const idx = e.index === undefined ? undefined : e.index - baseIgnore.length;
        reportFilterError(rep, elementPath(ignoreregex, idx), e);
      } else if (e.key === "prefregex" && prefregex) {
        reportFilterError(rep, prefregex.path, e);
      } else if (e.key === "datepattern" && datepattern) {
        reportFilterError(rep, datepattern.path, e);
      } else if (fromBase && base && !base.fromFile && group.filter) {
        reportFilterError(rep, group.filter.path, e);
      } else if (!fromBase || (base && !base.fromFile)) {
        reportFilterError(rep, [...jail.path, e.key], e);
      }
    }
    filter = spec;
    filterSource = base ? base.source : "inline";
  }

  const inc = (k: keyof IncrementSettings): Val<unknown> | undefined =>
    jail.increment[k] ?? defs.increment[k];
  const banTimeIncrement: BantimeIncrement = {
    enabled: (inc("enabled")?.value as boolean | undefined) ?? INCREMENT_DEFAULTS.enabled,
    factor: (inc("factor")?.value as number | undefined) ?? INCREMENT_DEFAULTS.factor,
    multipliers: (inc("multipliers")?.value as number[] | undefined) ??
      INCREMENT_DEFAULTS.multipliers,
    formula: undefined,
    maxtime: (inc("maxtime")?.value as number | undefined) ?? INCREMENT_DEFAULTS.maxtime,
    overalljails: (inc("overalljails")?.value as boolean | undefined) ??
      INCREMENT_DEFAULTS.overalljails,
    rndtime: (inc("rndtime")?.value as number | undefined) ?? INCREMENT_DEFAULTS.rndtime,
  };

  const ignoreIp: Cidr[] = [];
  for (const c of [...(defs.ignoreip?.value ?? []), ...(jail.ignoreip?.value ?? [])]) {
    if (!ignoreIp.some((x) => x.text === c.text)) ignoreIp.push(c);
  }

  const backend = pick("backend")?.value ?? JAIL_DEFAULTS.backend;
  const table = pick("table");
  const tableName = table?.value ?? name;
  if (!table && (tableName === "all" || !TABLE_NAME.test(tableName))) {
    rep.add(
      [...jail.path, "table"],
      `the jail name ${show(name)} is not a valid table name`,
      EXPECT.table,
      "key",
    );
  }
  if (backend === "pf" && tableName.length > PF_TABLE_MAX) {
    rep.add(
      table?.path ?? [...jail.path, "table"],
      `${show(tableName)} is longer than pf's ${PF_TABLE_MAX} characters`,
      `a table name of at most ${PF_TABLE_MAX} characters`,
      table ? "value" : "key",
    );
  }

  const ports = pick("port")?.value ?? [];
  const protocol = pick("protocol")?.value ?? JAIL_DEFAULTS.protocol;
  if (ports.length > 0 && protocol === "all") {
    rep.add(
      pick("protocol")?.path ?? [...jail.path, "protocol"],
      `"all" cannot be combined with port`,
      'protocol = "tcp" or "udp" when ports are given',
    );
  }
  const rule = pick("rule");
  const manage = pick("manageRule");
  if (rule && (backend === "pf" || backend === "nft")) {
    rep.add(
      rule.path,
      `rule numbers exist only for ipfw, not backend "${backend}"`,
      'backend = "ipfw" or no rule',
    );
  }
  if (manage?.value === true && !rule) {
    rep.add(manage.path, "true without a rule number", "rule = N (an ipfw rule number) as well");
  }

  if (rep.entries.length !== before) return undefined;
  return {
    name,
    enabled,
    logPaths,
    filter,
    filterSource,
    maxRetry: pick("maxretry")?.value ?? JAIL_DEFAULTS.maxRetry,
    findTime: pick("findtime")?.value ?? JAIL_DEFAULTS.findTime,
    banTime: pick("bantime")?.value ?? JAIL_DEFAULTS.banTime,
    banTimeIncrement,
    ignoreIp,
    backend,
    table: tableName,
    usedns: filter.usedns ?? JAIL_DEFAULTS.usedns,
    ipv6Prefix: pick("ipv6Prefix")?.value ?? JAIL_DEFAULTS.ipv6Prefix,
    ipv6PrefixMaxRetry: pick("ipv6PrefixMaxRetry")?.value,
    ipv4Prefix: pick("ipv4Prefix")?.value,
    ipv4PrefixMaxRetry: pick("ipv4PrefixMaxRetry")?.value,
    ports,
    protocol,
    ruleNumber: rule?.value,
    manageRule: manage?.value ?? rule !== undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** Parses TOML, turning a syntax error into one problem line; undefined after reporting. */
function parseToml(text: string, file: string, problems: string[]): Table | undefined {
  try {
    return parse(text, { unsafeKeyBehaviour: "throw" }) as Table;
  } catch (e) {
    if (e instanceof TomlError) {
      const message = oneLine(e.message.replace(/^Invalid TOML document:\s*/, ""));
      problems.push(`${file}:${e.line}:${e.column}: toml: ${message}; expected valid TOML`);
    } else {
      const message = e instanceof Error ? oneLine(e.message) : "cannot parse";
      problems.push(`${file}: toml: ${message}; expected valid TOML`);
    }
    return undefined;
  }
}

/**
 * Parses and validates a jails.toml text; throws ConfigError listing every problem.
 * @param text the file's content
 * @param options the file name for messages and relative paths, and a reader for filter files
 */
export function parseConfig(text: string, options: ParseConfigOptions): Config {
  const file = options.file;
  const syntax: string[] = [];
  const doc = parseToml(text, file, syntax);
  if (!doc) throw new ConfigError(syntax);
  const rep = new Reporter(file, indexPositions(text));

  let globalRaw: Table | undefined;
  let defaultsRaw: Table = {};
  let jailsRaw: Table = {};
  for (const [key, v] of Object.entries(doc)) {
    if (key === "global") globalRaw = readTable(rep, [key], v, "a [global] section");
    else if (key === "defaults") {
      defaultsRaw = readTable(rep, [key], v, "a [defaults] section") ?? {};
    } else if (key === "jail") jailsRaw = readTable(rep, [key], v, EXPECT.jailTable) ?? {};
    else {
      rep.add([key], "unknown section or key", "[global], [defaults] or [jail.NAME]", "key");
    }
  }

  const global = readGlobal(rep, globalRaw);
  const defs = readSection(rep, ["defaults"], defaultsRaw);
  const ctx: FilterContext = { rep, file, readFile: options.readFile, cache: new Map() };
  const jails: JailConfig[] = [];
  for (const [name, v] of Object.entries(jailsRaw)) {
    const path = ["jail", name];
    const raw = readTable(rep, path, v, EXPECT.jailTable);
    if (!raw) continue;
    if (!JAIL_NAME.test(name)) {
      rep.add(
        path,
        `${show(name)} is not a valid jail name`,
        "1..63 characters from A-Z a-z 0-9 - _",
        "key",
      );
      continue;
    }
    const jail = buildJail(name, readSection(rep, path, raw), defs, global, ctx);
    if (jail) jails.push(jail);
  }

  const problems = rep.lines();
  if (problems.length > 0) throw new ConfigError(problems);
  return { file, global, jails };
}

interface FilterFileResult {
  spec: FilterSpec | undefined;
  problems: string[];
}

/** The filter's name from its file name: "filters/qpopper.filter.toml" -> "qpopper". */
function filterNameOf(file: string): string {
  return posix.basename(file).replace(/(\.filter)?\.toml$/, "") || file;
}

function readFilterFile(text: string, file: string): FilterFileResult {
  const syntax: string[] = [];
  const doc = parseToml(text, file, syntax);
  if (!doc) return { spec: undefined, problems: syntax };
  const rep = new Reporter(file, indexPositions(text));
  const spec: FilterSpec = { name: filterNameOf(file), failregex: [] };
  let failregex: Val<StringList> | undefined;
  let ignoreregex: Val<StringList> | undefined;
  for (const [key, v] of Object.entries(doc)) {
    const p = [key];
    switch (key) {
      case "description": {
        const got = readString(rep, p, v, "a string");
        if (got !== undefined) spec.description = got;
        break;
      }
      case "example": {
        const got = readString(rep, p, v, "a log line the filter matches");
        if (got !== undefined) spec.example = got;
        break;
      }
      case "failregex":
        failregex = val(readStringList(rep, p, v, EXPECT.regexList), p);
        if (failregex) spec.failregex = failregex.value.values;
        break;
      case "ignoreregex":
        ignoreregex = val(readStringList(rep, p, v, EXPECT.regexList), p);
        if (ignoreregex) spec.ignoreregex = ignoreregex.value.values;
        break;
      case "prefregex": {
        const got = readString(rep, p, v, EXPECT.regex);
        if (got !== undefined) spec.prefregex = got;
        break;
      }
      case "datepattern": {
        const got = readString(rep, p, v, FILTER_EXPECT.datepattern);
        if (got !== undefined) spec.datepattern = got;
        break;
      }
      case "usedns": {
        const got = readBool(rep, p, v);
        if (got !== undefined) spec.usedns = got;
        break;
      }
      case "timezone": {
        const got = readTimezone(rep, p, v);
        if (got !== undefined) spec.timezone = got;
        break;
      }
      default:
        unknownKey(rep, p, FILTER_FILE_KEYS);
    }
  }
  if (!("failregex" in doc)) {
    rep.push({ line: 0, col: 0 }, `${file}: failregex: missing; expected ${EXPECT.regexList}`);
  } else if (failregex && failregex.value.values.length === 0) {
    rep.add(["failregex"], "is empty", "at least one regex");
  }
  if (spec.failregex.length > 0) {
    for (const e of validateFilter(spec)) {
      const source = e.key === "failregex"
        ? failregex && elementPath(failregex, e.index)
        : e.key === "ignoreregex"
        ? ignoreregex && elementPath(ignoreregex, e.index)
        : [e.key];
      reportFilterError(rep, source ?? [e.key], e);
    }
  }
  const problems = rep.lines();
  return { spec: problems.length === 0 ? spec : undefined, problems };
}

/**
 * Parses and validates a banwatch filter file (TOML: description, example, failregex,
 * ignoreregex, prefregex, datepattern, usedns, timezone); throws ConfigError with every problem.
 * The filter's name is the file's base name without `.filter.toml` / `.toml`.
 * @param text the file's content
 * @param file its path, for messages and the name
 */
export function parseFilterFile(text: string, file: string): FilterSpec {
  const got = readFilterFile(text, file);
  if (!got.spec) throw new ConfigError(got.problems);
  return got.spec;
}
