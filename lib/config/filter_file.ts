/**
 * Banwatch filter files (TOML: description, example, failregex, ignoreregex, prefregex,
 * datepattern, usedns, timezone) and the reporting of validateFilter() problems at the key
 * they come from, shared with jails' inline filters.
 * @module
 */
import { posix } from "node:path";
import { ConfigError } from "../core/mod.ts";
import { type FilterError, type FilterSpec, validateFilter } from "../filter/mod.ts";
import { EXPECT, FILTER_FILE_KEYS } from "./schema.ts";
import { indexPositions, type Path } from "./positions.ts";
import { oneLine, Reporter, unknownKey } from "./problems.ts";
import {
  elementPath,
  parseToml,
  readBool,
  readString,
  readStringList,
  readTimezone,
  type StringList,
  type Val,
  val,
} from "./values.ts";

/** The "expected ..." tail of a validateFilter() problem, by the key it concerns. */
export const FILTER_EXPECT: Record<FilterError["key"], string> = {
  failregex: "a regex that compiles and captures the address with <HOST> (or <ADDR>, <IP4>, ...)",
  ignoreregex: "a regex that compiles",
  prefregex: "a regex that compiles",
  datepattern: 'a date pattern such as "{^LN-BEG}%b %d %H:%M:%S" or "{NONE}"',
};

/** Reports a validateFilter() problem at `path` in the "; expected" format. */
export function reportFilterError(rep: Reporter, path: Path, e: FilterError): void {
  const message = oneLine(e.message);
  const hasExpected = /;\s*expected\b/.test(message);
  rep.add(path, message, hasExpected ? "" : FILTER_EXPECT[e.key]);
}

/** A filter file read: its filter, or the problem lines that prevented it. */
export interface FilterFileResult {
  /** The filter; undefined when there are problems. */
  spec: FilterSpec | undefined;
  /** Problem lines in file order; empty when spec is set. */
  problems: string[];
}

/** The filter's name from its file name: "filters/qpopper.filter.toml" -> "qpopper". */
function filterNameOf(file: string): string {
  return posix.basename(file).replace(/(\.filter)?\.toml$/, "") || file;
}

/**
 * Reads a filter file's text, collecting its problems instead of throwing, so that a jail naming
 * a broken file can list them among the config's own.
 */
export function readFilterFile(text: string, file: string): FilterFileResult {
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
