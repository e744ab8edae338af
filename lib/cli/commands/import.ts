/**
 * `banwatch import-fail2ban`: converts a fail2ban configuration into jails.toml (or one
 * filter into a banwatch filter file). The shell around lib/fail2ban/.
 * @module
 */
import { parseArgs } from "node:util";
import type { Command, CommandContext } from "../command.ts";
import { parseConfig } from "../../config/mod.ts";
import { ConfigError, RuntimeError, UsageError } from "../../core/mod.ts";
import {
  formatImportProblem,
  importFail2ban,
  importFail2banFilter,
  type ImportResult,
  type IniIo,
} from "../../fail2ban/mod.ts";

/** Where fail2ban's configuration is looked for, in order, when no DIR is given. */
export const FAIL2BAN_DIRS: readonly string[] = ["/usr/local/etc/fail2ban", "/etc/fail2ban"];

/** Where fail2ban's annotated sample logs may be installed (used to compare with built-ins). */
export const FAIL2BAN_SAMPLE_DIRS: readonly string[] = [
  "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs",
  "/usr/local/lib/python3.11/site-packages/fail2ban/tests/files/logs",
  "/usr/local/lib/python3.12/site-packages/fail2ban/tests/files/logs",
];

const HELP = `Usage: banwatch import-fail2ban [DIR] [-o FILE] [--filter 'NAME[key=value,...]']

Reads a fail2ban configuration (DIR, default ${FAIL2BAN_DIRS.join(" then ")}) as fail2ban
does (jail.conf, jail.d/*.conf, jail.local, jail.d/*.local, their [INCLUDES], filter.d/,
action.d/) and writes an equivalent jails.toml: every jail, keeping its enabled value, its
filter inline (or a built-in one that matches the same sample lines), bsd-ipfw/ipfw actions as
the ipfw backend with their table and ports, pf as the pf backend.
Everything that cannot be converted is reported on stderr, one line each:
  FILE:LINE: jail.NAME.KEY: not converted: WHY

With --filter, converts one filter with its options (as a jail passes them, e.g.
'postfix[mode=auth]') into a banwatch filter file for \`banwatch test LOG FILE\`.

Options:
  -o, --output FILE   write to FILE instead of stdout
      --filter SPEC   convert the filter SPEC only
  -h, --help          this text

Exit status: 0 when written (even with a report), 1 when DIR cannot be read or the result is
not a valid configuration, 2 on a usage error.
`;

/** An IniIo over the real file system (missing or unreadable files read as undefined). */
export function denoIniIo(): IniIo {
  return {
    readFile(path: string): string | undefined {
      try {
        return Deno.readTextFileSync(path);
      } catch {
        return undefined;
      }
    },
    listDir(path: string): string[] {
      try {
        return [...Deno.readDirSync(path)].map((e) => e.name);
      } catch {
        return [];
      }
    },
  };
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** Non-comment lines of fail2ban's sample log for a filter, when installed. */
export function fail2banSamples(
  io: IniIo,
  dirs: readonly string[] = FAIL2BAN_SAMPLE_DIRS,
): (filter: string) => readonly string[] | undefined {
  return (filter) => {
    for (const dir of dirs) {
      const text = io.readFile(`${dir}/${filter}`);
      if (text !== undefined) {
        return text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
      }
    }
    return undefined;
  };
}

function parse(args: string[]): { dir: string | undefined; output?: string; filter?: string } {
  try {
    const { values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: { output: { type: "string", short: "o" }, filter: { type: "string" } },
    });
    if (positionals.length > 1) {
      throw new UsageError(`import-fail2ban takes one DIR, got "${positionals.join(" ")}"`);
    }
    const out: { dir: string | undefined; output?: string; filter?: string } = {
      dir: positionals[0],
    };
    if (values.output !== undefined) out.output = values.output;
    if (values.filter !== undefined) out.filter = values.filter;
    return out;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      `import-fail2ban: ${e instanceof Error ? e.message : String(e)} (see --help)`,
    );
  }
}

async function runImport(args: string[], ctx: CommandContext): Promise<number> {
  const opts = parse(args);
  const dir = opts.dir ?? FAIL2BAN_DIRS.find(isDir);
  if (dir === undefined) {
    throw new RuntimeError(`no fail2ban configuration found in ${FAIL2BAN_DIRS.join(" or ")}`);
  }
  if (!isDir(dir)) throw new RuntimeError(`cannot read fail2ban configuration ${dir}`);
  const io = denoIniIo();
  const result: ImportResult = opts.filter !== undefined
    ? importFail2banFilter(dir, opts.filter, io)
    : importFail2ban(dir, io, { samples: fail2banSamples(io) });
  for (const p of result.problems) ctx.io.err(`${formatImportProblem(p)}\n`);
  if (result.toml === "") return 1;
  let code = 0;
  if (opts.filter === undefined) {
    try {
      parseConfig(result.toml, { file: opts.output ?? "<converted jails.toml>" });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) ctx.io.err(`invalid result: ${p}\n`);
      code = 1;
    }
  }
  if (opts.output !== undefined) {
    try {
      await Deno.writeTextFile(opts.output, result.toml);
    } catch (e) {
      throw new RuntimeError(`cannot write ${opts.output}: ${String(e)}`, { cause: e });
    }
  } else {
    ctx.io.out(result.toml);
  }
  return code;
}

/** The `import-fail2ban` command. */
export const IMPORT_COMMAND: Command = {
  name: "import-fail2ban",
  summary: "convert a fail2ban configuration (or one filter) into jails.toml",
  help: HELP,
  run: runImport,
};
