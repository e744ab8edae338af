/**
 * `banwatch check`: validates jails.toml and lints each jail's filter.
 * @module
 */
import { parseArgs } from "node:util";
import type { Command, CommandContext } from "../command.ts";
import {
  type Config,
  indexPositions,
  loadConfig,
  type Path,
  pathId,
  type PosIndex,
} from "../../config/mod.ts";
import { DEFAULT_CONFIG_PATH as DEFAULT_CONFIG, UsageError } from "../../core/mod.ts";
import { lintFilter } from "../../filter/mod.ts";
import { expandLogPaths } from "../../source/mod.ts";

const HELP = `Usage: banwatch check [-c FILE] [--json]

Validates the configuration (every problem on its own line: file, line, key, what was expected)
and lints each jail's filter: patterns an attacker can steer (unanchored, .* or .+ before <HOST>),
constructs prone to catastrophic backtracking, table names that collide with blocklistd's
port<N> tables. Also warns (file:line) about an enabled jail's logpath that does not exist, a
glob that matches no file, a file this user cannot read, and a configuration with no enabled
jail.

Options:
  -c, --config FILE   the configuration (default ${DEFAULT_CONFIG})
      --json          print {"ok", "errors", "warnings"} as one JSON object
  -h, --help          this text

Exit status: 0 when valid (warnings do not change it), 78 on configuration errors.
`;

/** One warning about a valid configuration. */
export interface CheckWarning {
  /** Key path, e.g. `jail.qpopperauth.failregex[0]`. */
  key: string;
  /** What is risky and why. */
  message: string;
  /** Where in the configuration file, when known (1-based). */
  line?: number;
  /** The column there (1-based). */
  col?: number;
}

/** Lints a parsed configuration (pure): the warnings `check` prints. */
export function lintConfig(config: Config): CheckWarning[] {
  const warnings: CheckWarning[] = [];
  const tables = new Map<string, string>();
  for (const jail of config.jails) {
    if (!jail.enabled) continue;
    for (const finding of lintFilter(jail.filter)) {
      const index = finding.index === undefined ? "" : `[${finding.index}]`;
      warnings.push({
        key: `jail.${jail.name}.${finding.key}${index}`,
        message: `${finding.severity}: ${finding.message}`,
      });
    }
    if (/^port\d+$/.test(jail.table)) {
      warnings.push({
        key: `jail.${jail.name}.table`,
        message: `warning: "${jail.table}" is blocklistd's naming (port<N>); ` +
          "blocklistd may flush or reuse it",
      });
    }
    const other = tables.get(`${jail.backend}:${jail.table}`);
    if (other !== undefined) {
      warnings.push({
        key: `jail.${jail.name}.table`,
        message: `warning: table "${jail.table}" is also used by jail ${other}; ` +
          "an unban in one jail stays banned only if the other still holds it",
      });
    } else tables.set(`${jail.backend}:${jail.table}`, jail.name);
  }
  return warnings;
}

/** Where a jail's key is written: in the jail, else in [defaults], else the jail's header. */
function keyPosition(index: PosIndex, jail: string, key: string, at: number) {
  const candidates: Path[] = [
    ["jail", jail, key, at],
    ["jail", jail, key],
    ["defaults", key, at],
    ["defaults", key],
    ["jail", jail],
  ];
  for (const path of candidates) {
    const pos = index.get(pathId(path));
    if (pos) return pos.value;
  }
  return undefined;
}

/** Why `path` cannot be followed now, or undefined when it is a readable regular file. */
async function fileProblem(path: string): Promise<string | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return "does not exist (the daemon waits for it to appear)";
    }
    return `cannot be checked: ${e instanceof Error ? e.message : e}`;
  }
  if (info.isDirectory) return "is a directory, not a log file";
  if (!info.isFile) return "is not a regular file (a FIFO, socket or device)";
  try {
    (await Deno.open(path, { read: true })).close();
  } catch (e) {
    const uid = Deno.uid();
    const who = uid === null ? "this user" : `this user (uid ${uid})`;
    const why = e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Error
      ? e.message
      : String(e);
    return `cannot be read by ${who}: ${why}`;
  }
  return undefined;
}

/**
 * The warnings that need the file system: each enabled jail's logpath (missing, a glob that
 * matches nothing, unreadable), and a configuration without an enabled jail.
 * @param config the validated configuration
 * @param text the configuration's text, for line numbers
 */
export async function checkLogFiles(config: Config, text: string): Promise<CheckWarning[]> {
  const index = indexPositions(text);
  const warnings: CheckWarning[] = [];
  const enabled = config.jails.filter((j) => j.enabled);
  if (enabled.length === 0) {
    warnings.push({
      key: "jail",
      message: config.jails.length === 0
        ? "warning: no jail is configured: the daemon would watch nothing"
        : "warning: no jail is enabled: the daemon would watch nothing " +
          "(set enabled = true in a [jail.NAME] section)",
    });
  }
  for (const jail of enabled) {
    for (const [i, pattern] of jail.logPaths.entries()) {
      const at = keyPosition(index, jail.name, "logpath", i);
      const where = at ? { line: at.line, col: at.col } : {};
      const key = `jail.${jail.name}.logpath`;
      const paths = /[*?[]/.test(pattern) ? await expandLogPaths([pattern]) : [pattern];
      if (paths.length === 0) {
        warnings.push({
          key,
          message:
            `warning: the glob ${pattern} matches no file (the daemon looks again every poll)`,
          ...where,
        });
      }
      for (const path of paths) {
        const problem = await fileProblem(path);
        if (problem) warnings.push({ key, message: `warning: ${path} ${problem}`, ...where });
      }
    }
  }
  return warnings;
}

async function runCheck(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { config: { type: "string", short: "c" }, json: { type: "boolean" } },
  });
  if (positionals.length > 0) throw new UsageError(`check takes no argument "${positionals[0]}"`);
  const path = values.config ?? DEFAULT_CONFIG;
  const config = await loadConfig(path);
  const warnings = [
    ...lintConfig(config),
    ...await checkLogFiles(config, await Deno.readTextFile(path)),
  ];
  const enabled = config.jails.filter((j) => j.enabled).length;
  if (values.json) {
    ctx.io.out(
      `${
        JSON.stringify({
          ok: true,
          file: path,
          jails: config.jails.length,
          enabled,
          errors: [],
          warnings,
        })
      }\n`,
    );
    return 0;
  }
  for (const w of warnings) {
    const at = w.line === undefined ? "" : `:${w.line}:${w.col}`;
    ctx.io.err(`${path}${at}: ${w.key}: ${w.message}\n`);
  }
  ctx.io.out(
    `${path}: OK: ${config.jails.length} jails (${enabled} enabled), ${warnings.length} warnings\n`,
  );
  return 0;
}

/** The `check` command. */
export const CHECK_COMMAND: Command = {
  name: "check",
  summary: "validate jails.toml and lint its filters",
  help: HELP,
  run: runCheck,
};
