/**
 * `banwatch report`: what happened in a period, from the state database (read-only, daemon
 * running or not): bans and unbans per jail, the addresses failing most, repeat offenders,
 * prefix bans, firewall errors, and an hourly chart of failures and bans.
 * @module
 */
import { parseArgs } from "node:util";
import type { Command, CommandContext } from "../command.ts";
import { timeFormatter } from "../format.ts";
import { loadConfigView } from "./control.ts";
import { buildReport, formatReport, isEmptyReport, type Report } from "../report.ts";
import {
  createLogger,
  DEFAULT_CONFIG_PATH,
  DEFAULT_STATE_DIR,
  DURATION_EXPECTED,
  parseDuration,
  RuntimeError,
  UsageError,
} from "../../core/mod.ts";
import { openStore, STATE_DB_NAME, type Store } from "../../state/mod.ts";

/** Addresses listed under "top" unless `--top` says otherwise. */
const DEFAULT_TOP = 10;

const HELP = `Usage: banwatch report [--since 1d] [--jail JAIL] [options]

Summarises a period from the state database (read-only; the daemon may be running or not):
failures, bans and unbans per jail, an hourly chart of failures and bans, the addresses
failing most with their failure and ban counts, repeat offenders (banned again within the
period, or with a ban number above 1 from bantime increments), prefix bans, and firewall
errors. The history it reads is kept for dbpurgeage (default 30d).

Options:
      --since DURATION  the period, ending now (default 1d; e.g. 12h, 7d, 4w)
      --jail JAIL       only this jail (firewall errors are always listed)
      --top N           how many addresses to list (default ${DEFAULT_TOP})
      --json            print the report as one JSON object
      --ascii           plain ASCII chart (also when NO_COLOR is set)
      --periodic        the form periodic(8) mails: no title line, ASCII, and no output
                        at all when nothing happened
  -c, --config FILE     the configuration, used to find state_dir
                        (default ${DEFAULT_CONFIG_PATH})
  -h, --help            show this help

Exit status: 0 ok, 1 runtime failure (no state database), 2 usage error,
78 configuration error. See banwatch(8).
`;

/**
 * The report of `[now - since, now]` read from an open store.
 * @param store the state database
 * @param options now and the period (seconds), the one jail, how many top addresses, and
 * the configured jails (listed even without events)
 */
export function reportFromStore(
  store: Store,
  options: { now: number; since: number; jail?: string; top?: number; jails?: readonly string[] },
): Report {
  const from = options.now - options.since;
  const jail = options.jail === undefined ? {} : { jail: options.jail };
  return buildReport({
    events: store.events.loadEvents(from, jail),
    failuresPerHour: store.events.failuresPerHour(from, jail),
    topFailing: store.events.topFailing(from, { ...jail, limit: options.top ?? DEFAULT_TOP }),
    jails: options.jails ?? [],
  }, { from, to: options.now, ...jail });
}

function parseReportArgs(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        since: { type: "string" },
        jail: { type: "string" },
        top: { type: "string" },
        json: { type: "boolean" },
        ascii: { type: "boolean" },
        periodic: { type: "boolean" },
        config: { type: "string", short: "c" },
      },
    }).values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const first = message.split(/\. (?=[A-Z])/, 1)[0] ?? message;
    throw new UsageError(`report: ${first} (see banwatch report --help)`);
  }
}

/** True when the NO_COLOR convention asks for plain output (https://no-color.org). */
export function noColor(): boolean {
  try {
    return (Deno.env.get("NO_COLOR") ?? "") !== "";
  } catch {
    return false;
  }
}

async function runReport(args: string[], ctx: CommandContext): Promise<number> {
  const values = parseReportArgs(args);
  const since = parseDuration(values.since ?? "1d");
  if (since === undefined || since <= 0 || since === Infinity) {
    throw new UsageError(`report: --since must be a duration, ${DURATION_EXPECTED}`);
  }
  const top = values.top === undefined ? DEFAULT_TOP : Number(values.top);
  if (!Number.isSafeInteger(top) || top < 0) {
    throw new UsageError(`report: --top must be a whole number >= 0, not "${values.top}"`);
  }
  const configFile = values.config ?? DEFAULT_CONFIG_PATH;
  const config = await loadConfigView(configFile);
  if (values.jail !== undefined && config && !config.jails.some((j) => j.name === values.jail)) {
    throw new UsageError(`report: no jail "${values.jail}" in ${configFile}`);
  }
  const database = `${config?.stateDir ?? DEFAULT_STATE_DIR}/${STATE_DB_NAME}`;
  let store: Store;
  try {
    store = openStore(database, { readonly: true, logger: createLogger({ write: () => {} }) });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n", 1)[0] : String(error);
    throw new RuntimeError(`report: ${reason}`, { cause: error });
  }
  let report: Report;
  try {
    report = reportFromStore(store, {
      now: ctx.now(),
      since,
      top,
      jails: (config?.jails ?? []).map((j) => j.name),
      ...(values.jail === undefined ? {} : { jail: values.jail }),
    });
  } finally {
    store.close();
  }
  if (values.json) {
    ctx.io.out(JSON.stringify(report, null, 2) + "\n");
    return 0;
  }
  if (values.periodic && isEmptyReport(report)) return 0;
  ctx.io.out(formatReport(report, {
    time: timeFormatter({ seconds: false }),
    ascii: values.ascii || values.periodic || noColor(),
    title: !values.periodic,
  }));
  return 0;
}

/** The `report` command. */
export const REPORT_COMMAND: Command = {
  name: "report",
  summary: "summarise a period: bans, unbans, top addresses, repeat offenders, hourly chart",
  help: HELP,
  run: runReport,
};
