/**
 * `banwatch check`: validates jails.toml and lints each jail's filter.
 * @module
 */
import { parseArgs } from "node:util";
import type { Command, CommandContext } from "../command.ts";
import { type Config, loadConfig } from "../../config/mod.ts";
import { DEFAULT_CONFIG_PATH as DEFAULT_CONFIG, UsageError } from "../../core/mod.ts";
import { lintFilter } from "../../filter/mod.ts";

const HELP = `Usage: banwatch check [-c FILE] [--json]

Validates the configuration (every problem on its own line: file, line, key, what was expected)
and lints each jail's filter: patterns an attacker can steer (unanchored, .* or .+ before <HOST>),
constructs prone to catastrophic backtracking, table names that collide with blocklistd's
port<N> tables.

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
  const warnings = lintConfig(config);
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
  for (const w of warnings) ctx.io.err(`${path}: ${w.key}: ${w.message}\n`);
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
