/**
 * `banwatch run`: the daemon in the foreground (daemon(8) supervises it). Parses the options
 * and sets the daemon up (logger, runner, own addresses); the poll loop, signals and control
 * socket are in lib/daemon/loop.ts, the work in lib/daemon/.
 * @module
 */
import { parseArgs } from "node:util";
import {
  type Cidr,
  createLogger,
  createRunner,
  DEFAULT_CONFIG_PATH as DEFAULT_CONFIG,
  type LogLevel,
  parseCidr,
  UsageError,
} from "../../core/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { type Config, loadConfig } from "../../config/mod.ts";
import { type Daemon, lockStateDir, runDaemonLoop } from "../../daemon/mod.ts";

const HELP = `Usage: banwatch run [-c FILE] [options]

Runs the daemon in the foreground: polls every enabled jail's logs, counts failures and bans
through the jails' firewall tables. Logs one line per event to stderr (daemon(8) -S sends them
to syslog). SIGTERM/SIGINT: commit the state and exit 0. SIGHUP: reload the configuration
(validated first; an invalid one is logged and the running one stays).

Options:
  -c, --config FILE     the configuration (default ${DEFAULT_CONFIG})
      --dry-run         use the dry-run backend for every jail: log the firewall argv, run nothing
      --replay          read the logs once to their end using the lines' own times as the clock,
                        then print the bans and exit (for trying a config on old logs)
      --no-socket       do not open the control socket
      --log-level L     debug, info, warn or error (default info)
  -h, --help            this text

Only one daemon runs per state directory (an flock(2) on STATE_DIR/banwatch.lock, held until
exit); a second \`run\` exits 1 with "state directory DIR is in use by pid N".

Exit status: 0 after SIGTERM/SIGINT, 1 on a runtime failure at start, 78 on an invalid
configuration.
`;

/** The host's own addresses, never banned while ignoreself is on. */
export function ownAddresses(): Cidr[] {
  const out: Cidr[] = [];
  try {
    for (const iface of Deno.networkInterfaces()) {
      const cidr = parseCidr(iface.address.replace(/%.*$/, ""));
      if (cidr) out.push(cidr);
    }
  } catch {
    // Without permission or support the loopback and ignoreip checks still apply.
  }
  return out;
}

/** Options for running the daemon loop. */
export interface RunDaemonOptions {
  /** The configuration. */
  config: Config;
  /** Path to reload from. */
  configPath: string;
  /** Where command output and logs go. */
  ctx: CommandContext;
  /** Backend override. */
  dryRun?: boolean;
  /** Read once with the line clock and stop. */
  replay?: boolean;
  /** Open the control socket. */
  socket?: boolean;
  /** Log level. */
  logLevel?: LogLevel;
}

/** Starts the daemon and runs until a stop signal (or, in replay, the end of the logs). */
export function runDaemon(options: RunDaemonOptions): Promise<Daemon> {
  const { ctx } = options;
  const logger = createLogger({
    level: options.logLevel ?? "info",
    write: (line) => ctx.io.err(`${line}\n`),
  });
  return runDaemonLoop({
    daemon: {
      config: options.config,
      logger,
      now: ctx.now,
      runner: createRunner(),
      ownAddresses: ownAddresses(),
      ...(options.dryRun ? { backendOverride: "dry-run" as const } : {}),
      replay: options.replay ?? false,
      reloadConfig: () => loadConfig(options.configPath),
      pid: Deno.pid,
    },
    configPath: options.configPath,
    socket: options.socket ?? true,
  });
}

async function runRun(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      "dry-run": { type: "boolean" },
      replay: { type: "boolean" },
      "no-socket": { type: "boolean" },
      "log-level": { type: "string" },
    },
  });
  if (positionals.length > 0) throw new UsageError(`run takes no argument "${positionals[0]}"`);
  const level = values["log-level"] ?? "info";
  if (!["debug", "info", "warn", "error"].includes(level)) {
    throw new UsageError(`--log-level: "${level}" is not one of debug, info, warn, error`);
  }
  const configPath = values.config ?? DEFAULT_CONFIG;
  const config = await loadConfig(configPath);
  // Before the state is read or any firewall command runs: one daemon per state directory.
  const lock = await lockStateDir(config.global.stateDir);
  try {
    const daemon = await runDaemon({
      config,
      configPath,
      ctx,
      dryRun: values["dry-run"] ?? false,
      replay: values.replay ?? false,
      socket: !(values["no-socket"] ?? values.replay ?? false),
      logLevel: level as LogLevel,
    });
    if (values.replay) {
      const bans = daemon.banned();
      ctx.io.out(`${bans.length} active bans at the end of the replay\n`);
    }
    await daemon.close();
  } finally {
    lock.release();
  }
  return 0;
}

/** The `run` command. */
export const RUN_COMMAND: Command = {
  name: "run",
  summary: "run the daemon in the foreground (under daemon(8))",
  help: HELP,
  run: runRun,
};
