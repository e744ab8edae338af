/**
 * fail2ban's INI dialect, read as fail2ban reads it: Python configparser (option names
 * lower-cased, `=` or `:`, indented continuation lines, `#`/`;` full-line comments, `;`
 * inline comments, `%(name)s` interpolation over the section then `[DEFAULT]`) plus fail2ban's
 * extensions (`[INCLUDES]` `before`/`after`, `.conf` then `.local` layering, `%(section/name)s`,
 * `%(known/name)s`, `%(default/name)s`, `<tag>` substitution, `name[k=v, ...]` options).
 *
 * Pure: files come through an injected {@link IniIo}; problems are collected, never thrown,
 * except by {@link iniGet} for a value that cannot be interpolated ({@link IniError}).
 * @module
 */

/** A raw option value and where it was written. */
export interface IniValue {
  /** The raw value (continuation lines joined with "\n"). */
  readonly value: string;
  /** The file it came from. */
  readonly file: string;
  /** The 1-based line of its `key = value` line. */
  readonly line: number;
}

/** Options of one section, keyed by lower-cased option name. */
export type IniSection = Map<string, IniValue>;

/** A problem found while reading, with its place. */
export interface IniProblem {
  /** The file. */
  readonly file: string;
  /** The 1-based line (0 when the file as a whole is meant). */
  readonly line: number;
  /** What is wrong, one line. */
  readonly message: string;
}

/** One parsed file. */
export interface IniFile {
  /** Its path. */
  readonly file: string;
  /** Options of its `[DEFAULT]` section. */
  readonly defaults: IniSection;
  /** Its other sections, by name (case kept). */
  readonly sections: Map<string, IniSection>;
  /** Malformed lines, duplicates, options before any section. */
  readonly problems: IniProblem[];
}

/** How the reader reaches files: injected so parsing stays pure. */
export interface IniIo {
  /** The text of a file, or undefined when it does not exist or cannot be read. */
  readFile(path: string): string | undefined;
  /** Names of the entries of a directory ([] when it does not exist). */
  listDir(path: string): string[];
}

/** Several files merged as fail2ban merges them (later files override earlier ones). */
export interface IniConfig {
  /** The merged `[DEFAULT]` options. */
  readonly defaults: IniSection;
  /** The merged sections; `KNOWN/<name>` holds values that a later file overrode. */
  readonly sections: Map<string, IniSection>;
  /** The files read, in merge order. */
  readonly files: string[];
  /** Every problem found while reading. */
  readonly problems: IniProblem[];
}

/** A value that cannot be interpolated (missing reference, loop, bad `%`), with its place. */
export class IniError extends Error {
  /** The file of the option whose value failed. */
  readonly file: string;
  /** Its line. */
  readonly line: number;
  /** Builds the error. */
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = "IniError";
    this.file = file;
    this.line = line;
  }
}

/** The name of the defaults section. */
export const DEFAULT_SECTION = "DEFAULT";
/** The name of the include section. */
export const INCLUDES_SECTION = "INCLUDES";
const MAX_INTERPOLATION_DEPTH = 10;
const MAX_TAG_REPLACE_COUNT = 25;

/** Formats a problem as `file:line: message`. */
export function formatIniProblem(problem: IniProblem): string {
  return `${problem.file}:${problem.line}: ${problem.message}`;
}

const SECTION_RE = /^\[(.+)\]/;
const OPTION_RE = /^(.*?)\s*([=:])\s*(.*)$/;

interface PendingValue {
  lines: string[];
  file: string;
  line: number;
}

/** Parses one file's text as Python's configparser does (fail2ban's settings). */
export function parseIniText(text: string, file: string): IniFile {
  const defaults: IniSection = new Map();
  const sections = new Map<string, IniSection>();
  const problems: IniProblem[] = [];
  const pending = new Map<IniSection, Map<string, PendingValue>>();
  const seenSections = new Set<string>();
  let current: Map<string, PendingValue> | undefined;
  let currentName = "";
  let optionName: string | undefined;
  let indentLevel = 0;
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? "";
    const lineNo = i + 1;
    let commentStart: number | undefined;
    // inline comments: ";" at the start or after whitespace
    for (let at = raw.indexOf(";"); at >= 0; at = raw.indexOf(";", at + 1)) {
      if (at === 0 || /\s/.test(raw[at - 1] ?? "")) {
        commentStart = at;
        break;
      }
    }
    const stripped = raw.trim();
    if (stripped.startsWith("#") || stripped.startsWith(";")) commentStart = 0;
    const value = raw.slice(0, commentStart).trim();
    if (value === "") {
      // an empty line belongs to the value being read (trailing ones are dropped at the end)
      if (commentStart === undefined && current && optionName !== undefined) {
        current.get(optionName)?.lines.push("");
      }
      continue;
    }
    const indent = raw.search(/\S/);
    if (current && optionName !== undefined && indent > indentLevel) {
      current.get(optionName)?.lines.push(value);
      continue;
    }
    indentLevel = indent;
    const header = SECTION_RE.exec(value);
    if (header) {
      const name = header[1] ?? "";
      optionName = undefined;
      if (seenSections.has(name)) {
        problems.push({ file, line: lineNo, message: `section [${name}] appears twice` });
      }
      seenSections.add(name);
      const section = name === DEFAULT_SECTION ? defaults : sections.get(name) ?? new Map();
      if (name !== DEFAULT_SECTION) sections.set(name, section);
      current = pending.get(section) ?? new Map();
      pending.set(section, current);
      currentName = name;
      continue;
    }
    if (!current) {
      problems.push({ file, line: lineNo, message: `option before any [section]: ${value}` });
      optionName = undefined;
      continue;
    }
    const opt = OPTION_RE.exec(value);
    const key = opt ? (opt[1] ?? "").trimEnd().toLowerCase() : "";
    if (!opt || key === "") {
      problems.push({
        file,
        line: lineNo,
        message: `malformed line (expected "key = value", "[section]" or a comment): ${value}`,
      });
      optionName = undefined;
      continue;
    }
    if (current.has(key)) {
      problems.push({
        file,
        line: lineNo,
        message: `option "${key}" appears twice in section [${currentName}]`,
      });
    }
    current.set(key, { lines: [(opt[3] ?? "").trim()], file, line: lineNo });
    optionName = key;
  }
  for (const [section, values] of pending) {
    for (const [key, v] of values) {
      section.set(key, { value: v.lines.join("\n").trimEnd(), file: v.file, line: v.line });
    }
  }
  return { file, defaults, sections, problems };
}

/** Joins a path relative to a directory, as os.path.join does (absolute paths win). */
export function joinPath(dir: string, path: string): string {
  if (path.startsWith("/") || dir === "") return path;
  return dir.endsWith("/") ? dir + path : `${dir}/${path}`;
}

/** The directory part of a path (os.path.dirname). */
export function dirName(path: string): string {
  const at = path.lastIndexOf("/");
  if (at < 0) return "";
  if (at === 0) return "/";
  return path.slice(0, at);
}

function withoutExtension(path: string): string {
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  return dot > slash + 1 ? path.slice(0, dot) : path;
}

interface Reader {
  io: IniIo;
  cache: Map<string, IniFile | null>;
  problems: IniProblem[];
}

function parseCached(reader: Reader, path: string): IniFile | undefined {
  if (reader.cache.has(path)) return reader.cache.get(path) ?? undefined;
  const text = reader.io.readFile(path);
  if (text === undefined) {
    reader.cache.set(path, null);
    return undefined;
  }
  const parsed = parseIniText(text, path);
  reader.problems.push(...parsed.problems);
  reader.cache.set(path, parsed);
  return parsed;
}

function expandWithLocal(reader: Reader, paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    out.push(path);
    const local = `${withoutExtension(path)}.local`;
    if (local !== path && !paths.includes(local) && reader.io.readFile(local) !== undefined) {
      out.push(local);
    }
  }
  return out;
}

function includesOf(reader: Reader, paths: readonly string[], seen: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of expandWithLocal(reader, paths)) out.push(...includesOfOne(reader, path, seen));
  return out;
}

function includesOfOne(reader: Reader, path: string, seen: readonly string[]): string[] {
  const parsed = parseCached(reader, path);
  if (!parsed) return [];
  const before: string[] = [];
  const after: string[] = [];
  const section = parsed.sections.get(INCLUDES_SECTION);
  if (section) {
    const single: IniConfig = {
      defaults: parsed.defaults,
      sections: parsed.sections,
      files: [path],
      problems: [],
    };
    for (const [option, list] of [["before", before], ["after", after]] as const) {
      const where = section.get(option);
      if (!where) continue;
      let value: string;
      try {
        value = iniGet(single, INCLUDES_SECTION, option) ?? "";
      } catch (e) {
        reader.problems.push({ file: where.file, line: where.line, message: errorText(e) });
        continue;
      }
      for (const name of value.split("\n")) {
        const resource = name.trim();
        if (resource === "") continue;
        const target = joinPath(dirName(path), resource);
        if (seen.includes(target)) continue;
        if (reader.io.readFile(target) === undefined && !target.endsWith(".local")) {
          reader.problems.push({
            file: where.file,
            line: where.line,
            message: `[${INCLUDES_SECTION}] ${option}: included file ${target} not found`,
          });
          continue;
        }
        list.push(...includesOf(reader, [target], [...seen, path]));
      }
    }
  }
  return [...before, path, ...after];
}

const CONDITIONAL_RE = /^(\w+)(\?.+)$/;

/** Reads files with their includes and merges them in fail2ban's order. */
export function readIniFiles(paths: readonly string[], io: IniIo): IniConfig {
  const reader: Reader = { io, cache: new Map(), problems: [] };
  const files = includesOf(reader, paths, []);
  const defaults: IniSection = new Map();
  const sections = new Map<string, IniSection>();
  const read: string[] = [];
  for (const path of files) {
    const parsed = parseCached(reader, path);
    if (!parsed) continue;
    read.push(path);
    for (const [k, v] of parsed.defaults) defaults.set(k, v);
    for (const [rawName, rawSection] of parsed.sections) {
      let name = rawName;
      let section = rawSection;
      const cond = CONDITIONAL_RE.exec(rawName);
      if (cond) {
        name = cond[1] ?? rawName;
        section = new Map([...rawSection].map(([k, v]) => [k + (cond[2] ?? ""), v]));
      }
      const existing = sections.get(name);
      if (existing) {
        const knownName = `KNOWN/${name}`;
        const known = sections.get(knownName) ?? new Map<string, IniValue>();
        for (const [k, v] of existing) if (section.has(k)) known.set(k, v);
        sections.set(knownName, known);
        for (const [k, v] of section) existing.set(k, v);
      } else {
        sections.set(name, new Map(section));
      }
    }
  }
  return { defaults, sections, files: read, problems: reader.problems };
}

/**
 * Reads `NAME.conf`, `NAME.d/*.conf`, `NAME.local`, `NAME.d/*.local` under basedir (those that
 * exist), with their includes, as fail2ban's ConfigReader does.
 */
export function readIniConfig(basedir: string, name: string, io: IniIo): IniConfig {
  const base = joinPath(basedir, name);
  const dir = `${base}.d`;
  const entries = io.listDir(dir).slice().sort();
  const candidates = [
    `${base}.conf`,
    ...entries.filter((e) => e.endsWith(".conf")).map((e) => `${dir}/${e}`),
    `${base}.local`,
    ...entries.filter((e) => e.endsWith(".local")).map((e) => `${dir}/${e}`),
  ];
  const existing = candidates.filter((p) => io.readFile(p) !== undefined);
  return readIniFiles(existing, io);
}

/** Where an option is written: the section's own value, else `[DEFAULT]`'s. */
export function iniWhere(
  config: IniConfig,
  section: string,
  option: string,
): IniValue | undefined {
  const key = option.toLowerCase();
  return config.sections.get(section)?.get(key) ?? config.defaults.get(key);
}

/** Option names of a section (own only, or with those of `[DEFAULT]`). */
export function iniOptions(
  config: IniConfig,
  section: string,
  options: { withDefault?: boolean } = {},
): string[] {
  const own = [...(config.sections.get(section)?.keys() ?? [])];
  if (!options.withDefault) return own;
  return [...new Set([...own, ...config.defaults.keys()])];
}

const SECTION_OPTION_RE = /^([\w-]+)\/([^\s>]+)$/;
const SUBST_NAME_RE = /^([\w-]+)\/([^)]+)$/;

/**
 * Gets an option's value interpolated (`%(name)s` over vars, the section, `[DEFAULT]`;
 * `%(sec/name)s`, `%(known/name)s`, `%(default/name)s`), as fail2ban's `get_ex`:
 * a name `sec/name` reads another section. Undefined when the section or option is missing.
 * Throws {@link IniError} when the value cannot be interpolated.
 */
export function iniGet(
  config: IniConfig,
  section: string,
  option: string,
  options: { vars?: Readonly<Record<string, string>>; raw?: boolean } = {},
): string | undefined {
  const name = option.toLowerCase();
  if (name.includes("/")) {
    const m = SECTION_OPTION_RE.exec(option);
    if (m) {
      const sec = m[1] ?? "";
      const opt = (m[2] ?? "").toLowerCase();
      const lower = sec.toLowerCase();
      const order = lower === "known"
        ? [`KNOWN/${section}`, section]
        : [lower === "default" ? DEFAULT_SECTION : sec];
      for (const s of order) {
        const v = getPlain(config, s, opt, {}, options.raw ?? false);
        if (v !== undefined) return v;
      }
    }
  }
  return getPlain(config, section, name, options.vars ?? {}, options.raw ?? false);
}

function getPlain(
  config: IniConfig,
  section: string,
  option: string,
  vars: Readonly<Record<string, string>>,
  raw: boolean,
): string | undefined {
  const sec = section === DEFAULT_SECTION ? new Map() : config.sections.get(section);
  if (!sec) return undefined;
  const lowerVars = new Map(Object.entries(vars).map(([k, v]) => [k.toLowerCase(), v]));
  const where = sec.get(option) ?? config.defaults.get(option);
  const value = lowerVars.get(option) ?? where?.value;
  if (value === undefined) return undefined;
  if (raw) return value;
  const lookup = (rawName: string): string | undefined => {
    const name = rawName.toLowerCase();
    if (name === "__name__") return section;
    const direct = lowerVars.get(name) ?? sec.get(name)?.value ?? config.defaults.get(name)?.value;
    if (direct !== undefined) return direct;
    const m = SUBST_NAME_RE.exec(rawName);
    if (!m) return undefined;
    const s = (m[1] ?? "").toLowerCase();
    const opt = (m[2] ?? "").toLowerCase();
    if (s === "default") return config.defaults.get(opt)?.value;
    if (s === "known") {
      return config.sections.get(`KNOWN/${section}`)?.get(opt)?.value ??
        config.defaults.get(opt)?.value;
    }
    const other = config.sections.get(m[1] ?? "");
    if (!other) return undefined;
    return other.get(opt)?.value ?? config.defaults.get(opt)?.value;
  };
  const file = where?.file ?? "<options>";
  const line = where?.line ?? 0;
  return interpolate(value, lookup, [option], { file, line, section, option });
}

interface Place {
  file: string;
  line: number;
  section: string;
  option: string;
}

function interpolate(
  rest: string,
  lookup: (name: string) => string | undefined,
  chain: string[],
  place: Place,
): string {
  if (chain.length > MAX_INTERPOLATION_DEPTH) {
    throw new IniError(
      place.file,
      place.line,
      `[${place.section}] ${place.option}: interpolation too deep: ${chain.join(" -> ")}`,
    );
  }
  let out = "";
  let at = 0;
  while (at < rest.length) {
    const p = rest.indexOf("%", at);
    if (p < 0) {
      out += rest.slice(at);
      break;
    }
    out += rest.slice(at, p);
    const c = rest[p + 1];
    if (c === "%") {
      out += "%";
      at = p + 2;
      continue;
    }
    if (c === "(") {
      const m = /^%\(([^)]+)\)s/.exec(rest.slice(p));
      if (!m) {
        throw new IniError(
          place.file,
          place.line,
          `[${place.section}] ${place.option}: bad interpolation reference ${
            JSON.stringify(rest.slice(p, p + 30))
          }`,
        );
      }
      const rawName = m[1] ?? "";
      const name = rawName.toLowerCase();
      at = p + m[0].length;
      if (chain.includes(name)) {
        throw new IniError(
          place.file,
          place.line,
          `[${place.section}] ${place.option}: interpolation loop: ${
            [...chain, name].join(" -> ")
          }`,
        );
      }
      const v = lookup(rawName);
      if (v === undefined) {
        throw new IniError(
          place.file,
          place.line,
          `[${place.section}] ${place.option}: %(${name})s refers to an option that is not defined`,
        );
      }
      out += v.includes("%") ? interpolate(v, lookup, [...chain, name], place) : v;
      continue;
    }
    throw new IniError(
      place.file,
      place.line,
      `[${place.section}] ${place.option}: "%" must be followed by "%" or "(": ${
        JSON.stringify(rest.slice(p, p + 30))
      }`,
    );
  }
  return out;
}

function errorText(e: unknown): string {
  if (e instanceof IniError) return e.message.slice(`${e.file}:${e.line}: `.length);
  return e instanceof Error ? e.message : String(e);
}

/** A name with its `[k=v, ...]` options, as in `filter = postfix[mode=auth]`. */
export interface NameWithOptions {
  /** The name before `[`. */
  name: string;
  /** The options, values unquoted and trimmed. */
  options: Record<string, string>;
}

const OPTION_CRE = /^([^[]+)(?:\[(.*)\])?\s*$/s;
const OPTION_EXTRACT_CRE =
  /\s*([\w\-_.]+)=(?:"([^"]*)"|'([^']*)'|([^,\]]*))(?:,|\]\s*\[|$|(?<wrngA>.+))|,?\s*$|(?<wrngB>.+)/gs;
const OPTION_SPLIT_CRE =
  /(?:[^[\s]+(?:\s*\[\s*(?:[\w\-_.]+=(?:"[^"]*"|'[^']*'|[^,\]]*)\s*(?:,|\]\s*\[)?\s*)*\])?\s*|\S+)(?=\n\s*|\s+|$)/gs;

/** Splits `name[k=v, k2="v 2"][k3=v]` (fail2ban's extractOptions); throws Error on bad syntax. */
export function extractOptions(text: string): NameWithOptions {
  const m = OPTION_CRE.exec(text);
  if (!m) throw new Error(`unexpected option syntax: ${JSON.stringify(text)}`);
  const options: Record<string, string> = {};
  const optstr = m[2];
  if (optstr) {
    for (const o of optstr.matchAll(OPTION_EXTRACT_CRE)) {
      if (o.groups?.["wrngA"] !== undefined) {
        throw new Error(
          `unexpected syntax after option ${JSON.stringify(o[1])}: ${
            o.groups["wrngA"].slice(0, 25)
          }`,
        );
      }
      if (o.groups?.["wrngB"] !== undefined) {
        throw new Error(`expected option, wrong syntax: ${o.groups["wrngB"].slice(0, 25)}`);
      }
      const key = o[1];
      if (!key) continue;
      const value = o[2] ?? o[3] ?? o[4] ?? "";
      options[key.trim()] = value.trim();
    }
  }
  return { name: m[1] ?? "", options };
}

/** Splits a multi-line `action = a[...] \n b[...]` value into its entries (splitWithOptions). */
export function splitWithOptions(text: string): string[] {
  return [...text.matchAll(OPTION_SPLIT_CRE)].map((m) => m[0]);
}

const TAG_RE = /<([^ <>]+)>/g;

/**
 * Replaces `<tag>` references between values (fail2ban's substituteRecursiveTags): tags not in
 * `tags` are asked of `lookup`, unknown ones (`<HOST>`) stay. Throws Error on a self reference.
 */
export function substituteTags(
  tags: Readonly<Record<string, string>>,
  options: { ignore?: Iterable<string>; lookup?: (tag: string) => string | undefined } = {},
): Record<string, string> {
  const out: Record<string, string> = { ...tags };
  const ignore = new Set(options.ignore ?? []);
  const done = new Set<string>();
  const repCounts = new Map<string, Map<string, number>>();
  for (;;) {
    let again = false;
    for (const tag of Object.keys(out)) {
      if (ignore.has(tag) || done.has(tag)) continue;
      const original = out[tag] ?? "";
      let value = original;
      const counts = repCounts.get(tag) ?? new Map<string, number>();
      let from = 0;
      for (;;) {
        TAG_RE.lastIndex = from;
        const m = TAG_RE.exec(value);
        if (!m) break;
        const rtag = m[1] ?? "";
        if (ignore.has(rtag)) {
          from = m.index + m[0].length;
          continue;
        }
        if (rtag === tag || (counts.get(rtag) ?? 1) > MAX_TAG_REPLACE_COUNT) {
          throw new Error(`<${tag}> refers to itself through <${rtag}>: ${value.slice(0, 80)}`);
        }
        const repl = Object.hasOwn(out, rtag) ? out[rtag] : options.lookup?.(rtag);
        if (repl === undefined) {
          from = m.index + m[0].length;
          continue;
        }
        value = value.split(`<${rtag}>`).join(repl);
        counts.set(rtag, (counts.get(rtag) ?? 0) + 1);
        from = m.index;
      }
      if (value !== original) {
        TAG_RE.lastIndex = 0;
        if (TAG_RE.test(value)) {
          repCounts.set(tag, counts);
          again = true;
        }
        out[tag] = value;
      }
      if (!value.includes("<")) done.add(tag);
    }
    if (!again) break;
  }
  return out;
}
