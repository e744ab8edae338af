/**
 * `banwatch demo`: the README's first command. Runs the real daemon pipeline in dry-run mode
 * over the embedded sample logs with the example jails (a replay at full speed using the
 * lines' own times), prints the bans and unbans it would make, then the status table and the
 * day's \`banwatch report\`.
 * @module
 */
import { parseArgs } from "node:util";
import type { Command, CommandContext } from "../command.ts";
import { type Config, parseConfig } from "../../config/mod.ts";
import { formatBanned, formatStatus, timeFormatter } from "../format.ts";
import { runDaemon } from "./run.ts";
import { DEMO_LOGS, EXAMPLE_CONFIG } from "../demo_data.ts";
import { createLogger, UsageError } from "../../core/mod.ts";
import { openStore, STATE_DB_NAME } from "../../state/mod.ts";
import { formatReport } from "../report.ts";
import { noColor, reportFromStore } from "./report.ts";

const HELP = `Usage: banwatch demo [--keep]

Replays bundled sample logs (maillog, all.log, auth.log of a FreeBSD mail server) through the
example jails.toml in dry-run mode: prints every event (ban, unban, refused ban, and the ipfw
argv it would run), then the active bans, the status table and the day's report. Writes
only to a temporary directory, runs no firewall program.

Options:
      --keep     keep the temporary directory (logs, config, state.db) and print its path
  -h, --help     this text
`;

/** The example config with its log paths moved into `dir` and its state into `dir/state`. */
export function demoConfig(dir: string): Config {
  const config = parseConfig(EXAMPLE_CONFIG, { file: "jails.toml (embedded example)" });
  const rebase = (p: string) => `${dir}/${p.slice(p.lastIndexOf("/") + 1)}`;
  return {
    ...config,
    global: { ...config.global, stateDir: `${dir}/state`, socket: `${dir}/banwatch.sock` },
    jails: config.jails.map((j) => ({ ...j, logPaths: j.logPaths.map(rebase) })),
  };
}

async function runDemo(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { keep: { type: "boolean" } },
  });
  if (positionals.length > 0) throw new UsageError(`demo takes no argument "${positionals[0]}"`);
  const dir = await Deno.makeTempDir({ prefix: "banwatch-demo-" });
  try {
    for (const [name, text] of Object.entries(DEMO_LOGS)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const config = demoConfig(dir);
    ctx.io.out(
      `Replaying ${
        Object.keys(DEMO_LOGS).join(", ")
      } through ${config.jails.length} example jails ` +
        "(dry-run: the firewall commands are printed, not run)\n\n",
    );
    // Events go to stdout here: they are the demo's output.
    const demoCtx: CommandContext = { ...ctx, io: { out: ctx.io.out, err: ctx.io.out } };
    const daemon = await runDaemon({
      config,
      configPath: config.file,
      ctx: demoCtx,
      dryRun: true,
      replay: true,
      socket: false,
    });
    const now = daemon.now();
    ctx.io.out("\nActive bans at the end of the replay:\n");
    ctx.io.out(formatBanned(daemon.banned(), { now, timeZone: "UTC" }));
    ctx.io.out("\n");
    ctx.io.out(formatStatus(daemon.status(), { now, timeZone: "UTC" }));
    await daemon.close();
    ctx.io.out("\nThe day's report (banwatch report --since 1d):\n");
    const store = openStore(`${config.global.stateDir}/${STATE_DB_NAME}`, {
      readonly: true,
      logger: createLogger({ write: () => {} }),
    });
    try {
      const report = reportFromStore(store, {
        now,
        since: 86400,
        jails: config.jails.map((j) => j.name),
      });
      ctx.io.out(
        formatReport(report, {
          time: timeFormatter({ timeZone: "UTC", seconds: false }),
          ascii: noColor(),
        }),
      );
    } finally {
      store.close();
    }
    if (values.keep) ctx.io.out(`\nKept ${dir}\n`);
  } finally {
    if (!values.keep) await Deno.remove(dir, { recursive: true });
  }
  return 0;
}

/** The `demo` command. */
export const DEMO_COMMAND: Command = {
  name: "demo",
  summary: "replay bundled sample logs in dry-run mode and print the bans it would make",
  help: HELP,
  run: runDemo,
};
