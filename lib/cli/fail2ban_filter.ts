/**
 * FILTER as `fail2ban-regex` takes it, for `banwatch test`: a fail2ban filter file
 * (`filter.d/NAME.conf[mode=aggressive]`, read with its `.local`, `.d/` and `[INCLUDES]` next to
 * it) or a filter name with options (`sshd[mode=aggressive]`) under a fail2ban directory.
 * @module
 */
import { ConfigError } from "../core/mod.ts";
import type { FilterSpec } from "../filter/mod.ts";
import {
  type Fail2banFilter,
  filterFileRef,
  formatImportProblem,
  parseFilterRef,
  readFail2banFilter,
} from "../fail2ban/mod.ts";
import { denoIniIo, FAIL2BAN_DIRS } from "./commands/import.ts";

/** A fail2ban filter resolved for `banwatch test`. */
export interface Fail2banTestFilter {
  /** The filter as banwatch runs it. */
  readonly spec: FilterSpec;
  /** How the report names it. */
  readonly label: string;
  /** What banwatch could not take over (multi-line maxlines, ...), one line each. */
  readonly notes: readonly string[];
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** The fail2ban directory: the one given, else the first of {@link FAIL2BAN_DIRS} that exists. */
export function fail2banDir(given: string | undefined): string | undefined {
  return given ?? FAIL2BAN_DIRS.find(isDir);
}

/** True when the text is fail2ban's INI (a `[Definition]`, `[INCLUDES]` or `[Init]` section). */
export function looksLikeFail2banFilter(text: string): boolean {
  return /^[ \t]*\[(?:Definition|INCLUDES|Init)\][ \t]*$/m.test(text);
}

function finish(f: Fail2banFilter, label: string): Fail2banTestFilter {
  if (f.files.length === 0) {
    throw new ConfigError(f.problems.map(formatImportProblem));
  }
  const notes = f.problems.map(formatImportProblem);
  return { spec: f.spec, label, notes };
}

/**
 * FILTER as a fail2ban filter file (`PATH.conf[k=v,...]`, recognised by its sections, or by
 * options), or undefined when it is not one.
 */
export function fail2banFilterFile(
  arg: string,
  dir: string | undefined,
): Fail2banTestFilter | undefined {
  let ref;
  try {
    ref = parseFilterRef(arg);
  } catch {
    return undefined;
  }
  const file = filterFileRef(ref);
  if (file === undefined || !isFile(ref.name)) return undefined;
  if (Object.keys(ref.options).length === 0) {
    let text: string;
    try {
      text = Deno.readTextFileSync(ref.name);
    } catch {
      return undefined;
    }
    if (!looksLikeFail2banFilter(text)) return undefined;
  }
  const f = readFail2banFilter(
    dir ?? file.dir,
    { name: file.name, options: ref.options },
    denoIniIo(),
    {
      backend: "auto",
      dir: file.dir,
    },
  );
  return finish(f, `${arg} (fail2ban filter)`);
}

/**
 * FILTER as a fail2ban filter name with options (`sshd[mode=aggressive]`, or a plain name) in
 * DIR/filter.d, or undefined when there is no such filter.
 */
export function fail2banFilterByName(
  arg: string,
  dir: string | undefined,
): Fail2banTestFilter | undefined {
  if (dir === undefined) return undefined;
  let ref;
  try {
    ref = parseFilterRef(arg);
  } catch {
    return undefined;
  }
  if (!/^[\w.-]+$/.test(ref.name)) return undefined;
  const f = readFail2banFilter(dir, ref, denoIniIo(), { backend: "auto" });
  if (f.files.length === 0) return undefined;
  return finish(f, `${arg} (fail2ban filter in ${dir}/filter.d)`);
}
