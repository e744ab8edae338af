/**
 * `banwatch import-fail2ban`: converts a fail2ban configuration into jails.toml (or one
 * filter into a banwatch filter file). The shell around lib/fail2ban/: files, the jails' logs
 * (read as evidence), the report on stderr ending with the firewall changes to make by hand.
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

const HELP = `Usage: banwatch import-fail2ban [DIR] [-o FILE] [--all] [--prefer-builtin]
       banwatch import-fail2ban [DIR] --filter 'NAME[key=value,...]' | PATH.conf

Reads a fail2ban configuration (DIR, default ${FAIL2BAN_DIRS.join(" then ")}) as fail2ban
does (jail.conf, jail.d/*.conf, jail.local, jail.d/*.local, their [INCLUDES] such as
paths-freebsd.conf, filter.d/, action.d/) and writes a jails.toml of the jails fail2ban runs
(the enabled ones; --all writes every jail, disabled ones with enabled = false):
- each jail keeps its own failregex/ignoreregex/prefregex/datepattern, converted; where the
  jail's log files are readable, the closest built-in filter is run over them next to it and
  the lines matched by each (and by only one, with an example) are reported and written as a
  comment; --prefer-builtin uses the built-in when it matched every line the jail's filter did.
  A stock filter that matches a built-in on fail2ban's own sample logs uses the built-in;
- regexes an attacker can steer (banwatch check's lint) are reported with an anchored rewrite;
- bsd-ipfw/ipfw actions become the ipfw backend with table, port, protocol and a rule banwatch
  manages (numbered as fail2ban numbers its own: the first free one from 111); pf the pf
  backend; nftables/iptables the nft backend; other actions (mail, whois, reports, ...) are
  reported and written as comments.
The report goes to stderr, one line each (FILE:LINE: KEY: not converted|warning|note: WHY),
and ends with the firewall changes to make by hand.

With --filter, converts one filter with its options (as a jail passes them, e.g.
'postfix[mode=auth]'), or the filter file at PATH, into a banwatch filter file for
\`banwatch test LOG FILE\`.

Options:
  -o, --output FILE      write to FILE instead of stdout
      --all              also write the jails fail2ban does not run (enabled = false)
      --prefer-builtin   use a built-in filter where it matched all the jail's lines
      --filter SPEC      convert the filter SPEC only (a name, NAME[options], or a path)
  -h, --help             this text

Exit status: 0 when written (even with a report), 1 when DIR cannot be read or the result is
not a valid configuration, 2 on a usage error.
`;

/** At most this much of the end of a log file is read as evidence. */
export const LOG_EVIDENCE_BYTES = 4 * 1024 * 1024;

/**
 * The last lines of a log file (up to {@link LOG_EVIDENCE_BYTES}), or undefined when it does
 * not exist or cannot be read.
 */
export function readLogTail(path: string, max: number = LOG_EVIDENCE_BYTES): string[] | undefined {
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path, { read: true });
    const size = file.statSync().size;
    const start = Math.max(0, size - max);
    file.seekSync(start, Deno.SeekMode.Start);
    const buf = new Uint8Array(size - start);
    let at = 0;
    while (at < buf.length) {
      const n = file.readSync(buf.subarray(at));
      if (n === null || n === 0) break;
      at += n;
    }
    const lines = new TextDecoder().decode(buf.subarray(0, at)).split("\n");
    if (start > 0) lines.shift(); // a partial first line
    return lines.filter((l) => l !== "");
  } catch {
    return undefined;
  } finally {
    file?.close();
  }
}

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

interface ImportArgs {
  dir: string | undefined;
  output?: string;
  filter?: string;
  all: boolean;
  preferBuiltin: boolean;
}

function parse(args: string[]): ImportArgs {
  try {
    const { values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        output: { type: "string", short: "o" },
        filter: { type: "string" },
        all: { type: "boolean" },
        "prefer-builtin": { type: "boolean" },
      },
    });
    if (positionals.length > 1) {
      throw new UsageError(`import-fail2ban takes one DIR, got "${positionals.join(" ")}"`);
    }
    const out: ImportArgs = {
      dir: positionals[0],
      all: values.all ?? false,
      preferBuiltin: values["prefer-builtin"] ?? false,
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

/** Does a --filter argument name a file rather than a filter of filter.d? */
function isFilterPath(spec: string): boolean {
  const name = spec.replace(/\[.*$/s, "").trim();
  return name.includes("/") || /\.(?:conf|local)$/.test(name);
}

function convert(opts: ImportArgs, ctx: CommandContext): ImportResult {
  const io = denoIniIo();
  if (opts.filter !== undefined && isFilterPath(opts.filter)) {
    return importFail2banFilter(opts.dir ?? FAIL2BAN_DIRS.find(isDir) ?? ".", opts.filter, io);
  }
  const dir = opts.dir ?? FAIL2BAN_DIRS.find(isDir);
  if (dir === undefined) {
    throw new RuntimeError(`no fail2ban configuration found in ${FAIL2BAN_DIRS.join(" or ")}`);
  }
  if (!isDir(dir)) throw new RuntimeError(`cannot read fail2ban configuration ${dir}`);
  if (opts.filter !== undefined) return importFail2banFilter(dir, opts.filter, io);
  return importFail2ban(dir, io, {
    samples: fail2banSamples(io),
    all: opts.all,
    preferBuiltin: opts.preferBuiltin,
    logs: (path) => readLogTail(path),
    logsNow: ctx.now(),
  });
}

async function runImport(args: string[], ctx: CommandContext): Promise<number> {
  const opts = parse(args);
  const result = convert(opts, ctx);
  for (const p of result.problems) ctx.io.err(`${formatImportProblem(p)}\n`);
  const byHand = result.firewallByHand ?? [];
  if (byHand.length > 0) {
    ctx.io.err(`firewall changes to make by hand:\n${byHand.map((l) => `  ${l}\n`).join("")}`);
  }
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
