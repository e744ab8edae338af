/**
 * One fail2ban filter -> a banwatch filter: reads `filter.d/NAME.conf` (+ `.local`, `.d/`) with
 * its options as a jail or fail2ban-regex would, and writes it as a banwatch filter file.
 * @module
 */
import { type FilterSpec, validateFilter } from "../filter/mod.ts";
import { readDefinition } from "./definition.ts";
import { filterSpecLines, tomlString } from "./emit.ts";
import {
  extractOptions,
  type IniIo,
  iniWhere,
  joinPath,
  type NameWithOptions,
  readIniConfig,
} from "./ini.ts";
import { type ImportProblem, type ImportResult, syntaxProblem } from "./problem.ts";
import { nonEmptyLines } from "./values.ts";

/** fail2ban's clock in its sample-log tests (2005-08-14 10:00 UTC), for year-less dates. */
export const FAIL2BAN_TEST_NOW = 1124013600;

/** The filter options fail2ban reads from `[Definition]` (FilterReader._configOpts). */
export const FILTER_OPTS = [
  "usedns",
  "prefregex",
  "ignoreregex",
  "failregex",
  "maxlines",
  "datepattern",
  "journalmatch",
] as const;

/** A fail2ban filter read with its options, before conversion. */
export interface Fail2banFilter {
  /** The filter's name (file stem under filter.d). */
  readonly name: string;
  /** The options it was read with (`postfix[mode=auth]` -> { mode: "auth" }). */
  readonly options: Readonly<Record<string, string>>;
  /** Its files, in merge order ([] when it does not exist). */
  readonly files: readonly string[];
  /** The fully substituted options (failregex, ignoreregex, prefregex, datepattern, ...). */
  readonly values: Readonly<Record<string, string>>;
  /** The banwatch filter it converts to (regexes kept as fail2ban wrote them). */
  readonly spec: FilterSpec;
  /** What could not be read or converted. */
  readonly problems: readonly ImportProblem[];
}

/** The tags banwatch's filter engine knows (F-* fields aside). */
const KNOWN_TAGS = new Set(["HOST", "ADDR", "IP4", "IP6", "DNS", "SUBNET", "CIDR", "SKIPLINES"]);

/**
 * fail2ban leaves a tag it does not know as literal text (haproxy's `main/<NOSRV>`,
 * softethervpn's `<SECURITY_LOG>`); banwatch rejects unknown tags, so they are escaped.
 */
function literalTags(regex: string): string {
  return regex.replace(
    /(?<!\\|\(\?P?)<(\/?)([A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*)(\/?)>/g,
    (all, a, tag, b) => KNOWN_TAGS.has(tag) || tag.startsWith("F-") ? all : `\\<${a}${tag}${b}\\>`,
  );
}

/** Parses `NAME[k=v, ...]` as a jail's `filter =` or `action =` entry is written. */
export function parseFilterRef(text: string): NameWithOptions {
  const got = extractOptions(text.trim());
  return { name: got.name.trim(), options: got.options };
}

/** Options for reading a filter. */
export interface ReadFilterOptions {
  /** The jail's name (for `<name>`-style options and messages); default "jail". */
  jail?: string;
  /** Options of the jail passed to the filter for interpolation (fail2ban's pOpts). */
  jailOptions?: Readonly<Record<string, string>>;
  /** The jail's log backend; `systemd...` selects `logtype = journal`. */
  backend?: string;
  /** Also read every other `[Definition]` option (as a jail's first pass does). */
  all?: boolean;
  /** The directory holding the filter (default: basedir/filter.d). */
  dir?: string;
}

/**
 * Reads `filter.d/NAME.conf` (+ `.local`, `.d/`) under basedir with the given options, as a
 * jail (or fail2ban-regex) would use it, and converts it into a FilterSpec.
 */
export function readFail2banFilter(
  basedir: string,
  ref: string | NameWithOptions,
  io: IniIo,
  options: ReadFilterOptions = {},
): Fail2banFilter {
  const { name, options: filterOptions } = typeof ref === "string" ? parseFilterRef(ref) : ref;
  const key = `filter.${name}`;
  const dir = options.dir ?? joinPath(basedir, "filter.d");
  const cfg = readIniConfig(dir, name, io);
  const problems: ImportProblem[] = cfg.problems.map(syntaxProblem);
  if (cfg.files.length === 0) {
    problems.push({
      file: joinPath(dir, `${name}.conf`),
      line: 0,
      key,
      message: `filter "${name}" not found`,
    });
    return {
      name,
      options: filterOptions,
      files: [],
      values: {},
      spec: { name, failregex: [] },
      problems,
    };
  }
  const initOpts: Record<string, string> = { ...filterOptions };
  if (options.backend !== undefined && !initOpts["logtype"]) {
    const own = cfg.sections.get("Definition")?.has("logtype") ?? false;
    if (!own) initOpts["logtype"] = options.backend.startsWith("systemd") ? "journal" : "file";
  }
  const read = readDefinition(cfg, FILTER_OPTS, initOpts, options.jailOptions ?? {}, {
    key,
    all: options.all ?? false,
  });
  problems.push(...read.problems);
  const values = read.values;
  const spec: FilterSpec = { name, failregex: nonEmptyLines(values["failregex"]).map(literalTags) };
  const ignore = nonEmptyLines(values["ignoreregex"]).map(literalTags);
  if (ignore.length > 0) spec.ignoreregex = ignore;
  if (values["prefregex"]) spec.prefregex = literalTags(values["prefregex"]);
  if (values["datepattern"]) spec.datepattern = values["datepattern"];
  const usedns = values["usedns"];
  if (usedns === "yes") spec.usedns = true;
  else if (usedns === "no" || usedns === "raw") spec.usedns = false;
  const at = (opt: string) => {
    const w = iniWhere(cfg, "Definition", opt) ?? iniWhere(cfg, "Init", opt);
    return { file: w?.file ?? cfg.files[0] ?? "", line: w?.line ?? 0 };
  };
  const maxlines = values["maxlines"];
  if (maxlines !== undefined && maxlines !== "" && maxlines !== "1") {
    problems.push({
      ...at("maxlines"),
      key: `${key}.maxlines`,
      message:
        `multi-line matching (maxlines = ${maxlines}) is not supported; each line is matched alone`,
    });
  }
  if (spec.failregex.length === 0) {
    problems.push({ ...at("failregex"), key: `${key}.failregex`, message: "no failregex" });
  }
  return { name, options: filterOptions, files: cfg.files, values, spec, problems };
}

/**
 * A `--filter` argument naming a file (`/path/qpopperauth.conf`, `x.conf`, `./x.local[mode=aggressive]`):
 * its directory and name; undefined for a plain name (read from basedir/filter.d).
 */
export function filterFileRef(ref: NameWithOptions): { dir: string; name: string } | undefined {
  if (!ref.name.includes("/") && !/\.(?:conf|local)$/.test(ref.name)) return undefined;
  const slash = ref.name.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : ref.name.slice(0, slash);
  return { dir, name: ref.name.slice(slash + 1).replace(/\.(?:conf|local)$/, "") };
}

/**
 * Converts one fail2ban filter with options (`postfix[mode=auth]`), or a filter file given by
 * its path (`/path/NAME.conf[options]`, read with its `.local` and includes next to it), into a
 * banwatch filter file (TOML: description, failregex, ignoreregex, prefregex, datepattern).
 */
export function importFail2banFilter(
  basedir: string,
  ref: string,
  io: IniIo,
): ImportResult {
  let parsed: NameWithOptions;
  try {
    parsed = parseFilterRef(ref);
  } catch (e) {
    return {
      toml: "",
      problems: [{ file: "<argument>", line: 0, key: "filter", message: String(e) }],
      jails: [],
    };
  }
  const file = filterFileRef(parsed);
  const f = file
    ? readFail2banFilter(basedir, { name: file.name, options: parsed.options }, io, {
      backend: "auto",
      dir: file.dir,
    })
    : readFail2banFilter(basedir, parsed, io, { backend: "auto" });
  const problems = [...f.problems];
  if (f.files.length === 0) return { toml: "", problems, jails: [] };
  for (const e of validateFilter(f.spec)) {
    problems.push({
      file: f.files[0] ?? "",
      line: 0,
      key: `filter.${f.name}.${e.key}`,
      message: `not supported by banwatch: ${e.message.split("\n")[0]}`,
    });
  }
  const out = [
    `# banwatch filter converted from fail2ban by banwatch import-fail2ban`,
    `# source: ${f.files.join(", ")}`,
    `description = ${tomlString(`fail2ban filter ${ref.trim()}`)}`,
    ...filterSpecLines(f.spec),
  ];
  return { toml: out.join("\n") + "\n", problems, jails: [] };
}
