/**
 * The commands that talk to the running daemon over its control socket:
 * `status`, `banned`, `ban`, `unban`, `reload`, `flush`. Each prints a table for people or,
 * with `--json`, the protocol's result object on one line.
 * @module
 */
import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";
import {
  ConfigError,
  createLogger,
  DEFAULT_CONFIG_PATH,
  DEFAULT_SOCKET_PATH,
  DEFAULT_STATE_DIR,
  parseCidr,
  parseDuration,
  parseIp,
  RuntimeError,
  UsageError,
  VERSION,
} from "../../core/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { formatBanned, formatStatus, formatTime, roundDuration } from "../format.ts";
import { loadConfig } from "../../config/mod.ts";
import {
  type BannedEntry,
  type ControlCommand,
  type ControlResponse,
  type CrowdsecReport,
  DaemonUnreachableError,
  type JailStatus,
  sendRequest,
  type StatusReport,
} from "../../control/mod.ts";
import { openStore, savedCrowdsecStatus, STATE_DB_NAME, type Store } from "../../state/mod.ts";

/** Where the configuration is read from unless `-c` says otherwise. */

/** Seconds to wait for the daemon's answer (reload may apply many firewall changes). */
const TIMEOUT = { default: 30, reload: 120 } as const;

const COMMON_HELP = [
  "Common options:",
  "  -c, --config FILE   the configuration, used to find the socket",
  `                      (default ${DEFAULT_CONFIG_PATH})`,
  "  -s, --socket PATH   the daemon's control socket (default: [global] socket of the",
  `                      configuration, else ${DEFAULT_SOCKET_PATH})`,
  "      --json          print the result as one JSON object",
  "  -h, --help          show this help",
  "",
  "Exit status: 0 ok, 1 runtime failure (daemon unreachable), 2 usage error,",
  "78 configuration error. See banwatch(8).",
  "",
].join("\n");

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

const COMMON_OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  socket: { type: "string", short: "s" },
  json: { type: "boolean" },
};

interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses a command's arguments strictly; problems become UsageError. */
function parseCommandArgs(name: string, args: string[], extra: OptionSpec = {}): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...extra },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const first = message.split(/\. (?=[A-Z])/, 1)[0] ?? message;
    throw new UsageError(`${name}: ${first} (see banwatch ${name} --help)`);
  }
}

/** What the control commands use of a jail's configuration (a JailConfig fits). */
export interface JailInfo {
  /** Jail name. */
  name: string;
  /** Whether it is enabled. */
  enabled: boolean;
  /** Firewall backend. */
  backend: string;
  /** Firewall table. */
  table: string;
  /** Log paths (globs allowed). */
  logPaths: readonly string[];
}

/** What the control commands use of the configuration. */
export interface ConfigView {
  /** `[global] socket`. */
  socket: string;
  /** `[global] state_dir`. */
  stateDir: string;
  /** The jails. */
  jails: readonly JailInfo[];
}

/** The state directory when no configuration says otherwise. */

function stringList(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  return undefined;
}

function table(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/**
 * Reads what the control commands need from jails.toml (socket, state_dir, jail names,
 * backends, tables, log paths) without validating the rest, so a config with a problem
 * elsewhere still names the right socket; undefined when the file cannot be read or parsed.
 * @param path the configuration file
 */
export async function readConfigView(path: string): Promise<ConfigView | undefined> {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(await Deno.readTextFile(path)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const global = table(doc.global);
  const defaults = table(doc.defaults);
  const jails: JailInfo[] = Object.entries(table(doc.jail)).map(([name, raw]) => {
    const jail = { ...defaults, ...table(raw) };
    return {
      name,
      enabled: typeof jail.enabled === "boolean" ? jail.enabled : false,
      backend: typeof jail.backend === "string" ? jail.backend : "ipfw",
      table: typeof jail.table === "string" ? jail.table : name,
      logPaths: stringList(jail.logpath) ?? [],
    };
  });
  return {
    socket: typeof global.socket === "string" ? global.socket : DEFAULT_SOCKET_PATH,
    stateDir: typeof global.state_dir === "string" ? global.state_dir : DEFAULT_STATE_DIR,
    jails,
  };
}

/** The configuration file, the socket and (when it could be read) the configuration. */
interface Target {
  configFile: string;
  socket: string;
  config: ConfigView | undefined;
}

/**
 * The configuration as the control commands see it: loadConfig() when the file is valid,
 * else the lenient {@link readConfigView} (so a config with a problem still names the
 * socket), else undefined.
 * @param path the configuration file
 */
export async function loadConfigView(path: string): Promise<ConfigView | undefined> {
  try {
    const config = await loadConfig(path);
    return { socket: config.global.socket, stateDir: config.global.stateDir, jails: config.jails };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return await readConfigView(path);
  }
}

/** Resolves `-c`/`-s`: the socket comes from `-s`, else the config's `[global] socket`. */
async function resolveTarget(values: ParsedArgs["values"]): Promise<Target> {
  const configFile = typeof values.config === "string" ? values.config : DEFAULT_CONFIG_PATH;
  const config = await loadConfigView(configFile);
  const socket = typeof values.socket === "string"
    ? values.socket
    : config?.socket ?? DEFAULT_SOCKET_PATH;
  return { configFile, socket, config };
}

/** Sends `command` and returns its result; daemon failures become the matching error class. */
async function call(target: Target, command: ControlCommand): Promise<unknown> {
  const timeout = command.cmd === "reload" ? TIMEOUT.reload : TIMEOUT.default;
  const response: ControlResponse = await sendRequest(target.socket, { v: 1, ...command }, {
    timeout,
  });
  if (response.ok) return response.result;
  switch (response.kind) {
    case "usage":
      throw new UsageError(response.error);
    case "config":
      throw new ConfigError(response.problems?.length ? response.problems : [response.error]);
    case "runtime":
      throw new RuntimeError(response.error);
  }
}

function printJson(ctx: CommandContext, value: unknown): void {
  ctx.io.out(JSON.stringify(value) + "\n");
}

function requireRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RuntimeError(`the daemon sent an unexpected ${what} result`);
  }
  return value as Record<string, unknown>;
}

function requireNumber(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new RuntimeError(`the daemon sent an unexpected ${what} result`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// status with the daemon down: the state database, read-only

/** Tests a path against a log path that may hold `*`, `?` or `[...]` globs. */
function matchesLogPath(pattern: string, path: string): boolean {
  if (!/[*?[]/.test(pattern)) return pattern === path;
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`${re}$`).test(path);
}

/**
 * Builds a status report (running: false) from the saved state and, when known, the config.
 * Totals come from the ban history; `totalUnbanned` is past bans no longer active.
 * @param store the state database (read-only is enough)
 * @param config the configuration, or undefined when it could not be read
 */
export function savedStatus(
  store: Store,
  config: ConfigView | undefined,
  options: { configFile: string; now?: number },
): StatusReport {
  const positions = store.loadPositions();
  const windows = store.loadWindows();
  const bans = store.loadBans();
  const history = store.loadHistory();
  const names: string[] = config ? config.jails.map((j) => j.name) : [];
  for (const name of [...windows, ...bans, ...history].map((x) => x.jail)) {
    if (!names.includes(name)) names.push(name);
  }
  const jails: JailStatus[] = names.map((name) => {
    const jail = config?.jails.find((j) => j.name === name);
    const jailBans = bans.filter((b) => b.jail === name);
    const jailWindows = windows.filter((w) => w.jail === name);
    const totalBanned = history.filter((h) => h.jail === name).length;
    return {
      name,
      enabled: jail?.enabled ?? false,
      backend: jail?.backend ?? jailBans[0]?.backend ?? "-",
      table: jail?.table ?? jailBans[0]?.table ?? "-",
      files: jail
        ? positions
          .filter((p) => jail.logPaths.some((pattern) => matchesLogPath(pattern, p.path)))
          .map((p) => ({ path: p.path, offset: p.offset, lastRead: undefined }))
        : [],
      failing: jailWindows.length,
      failures: jailWindows.reduce((n, w) => n + w.times.length, 0),
      banned: jailBans.length,
      totalBanned,
      totalUnbanned: Math.max(0, totalBanned - jailBans.length),
      pending: jailBans.filter((b) => b.applied === false).length,
      evictions: 0,
    };
  });
  return {
    version: VERSION,
    pid: 0,
    running: false,
    configFile: options.configFile,
    configLoadedAt: 0,
    startedAt: 0,
    jails,
    ...crowdsecSaved(store, options.now ?? Date.now() / 1000),
  };
}

/** The CrowdSec part of an offline status: queue, drops, stored remote decisions. */
function crowdsecSaved(store: Store, now: number): { crowdsec?: CrowdsecReport } {
  const saved = savedCrowdsecStatus(store, now);
  return saved ? { crowdsec: { ...saved, state: "stopped" } } : {};
}

async function statusFromStore(
  target: Target,
  unreachable: DaemonUnreachableError,
): Promise<{ report: StatusReport; database: string }> {
  const stateDir = target.config?.stateDir ?? DEFAULT_STATE_DIR;
  const database = `${stateDir}/${STATE_DB_NAME}`;
  try {
    await Deno.stat(database);
  } catch {
    throw new RuntimeError(`${unreachable.message}; no saved state at ${database} either`, {
      cause: unreachable,
    });
  }
  let store: Store;
  try {
    store = openStore(database, { readonly: true, logger: createLogger({ write: () => {} }) });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n", 1)[0] : String(error);
    throw new RuntimeError(`${unreachable.message}; cannot read ${database}: ${reason}`, {
      cause: error,
    });
  }
  try {
    return {
      report: savedStatus(store, target.config, { configFile: target.configFile }),
      database,
    };
  } finally {
    store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The commands

function usageOf(name: string, count: number, expected: string): never {
  throw new UsageError(
    `${name}: expected ${expected}, got ${count} argument${
      count === 1 ? "" : "s"
    } (see banwatch ${name} --help)`,
  );
}

/** `banwatch status [JAIL]`. */
export const STATUS_COMMAND: Command = {
  name: "status",
  summary: "show what the daemon does: jails, files, failures, bans",
  help: [
    "Usage: banwatch status [JAIL] [options]",
    "",
    "Shows, per jail, the files followed with their offsets and last read times, the",
    "addresses whose failures are being counted, active bans, totals banned and unbanned,",
    "pending firewall changes, and when the configuration was loaded. When the daemon is",
    "not running, shows the state saved in the state database (read-only), says so on the",
    "first line and exits 1.",
    "",
    COMMON_HELP,
  ].join("\n"),
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs("status", args);
    if (positionals.length > 1) usageOf("status", positionals.length, "at most one JAIL");
    const jail = positionals[0];
    const target = await resolveTarget(values);
    let report: StatusReport;
    try {
      report = requireRecord(
        await call(target, jail === undefined ? { cmd: "status" } : { cmd: "status", jail }),
        "status",
      ) as unknown as StatusReport;
    } catch (error) {
      if (!(error instanceof DaemonUnreachableError)) throw error;
      const saved = await statusFromStore(target, error);
      const full = saved.report;
      if (jail !== undefined) {
        full.jails = full.jails.filter((j) => j.name === jail);
        if (full.jails.length === 0) {
          throw new RuntimeError(
            `${error.message}; no jail "${jail}" in ${target.configFile} or ${saved.database}`,
          );
        }
      }
      if (values.json) printJson(ctx, full);
      else {
        ctx.io.out(
          `banwatch is not running (cannot reach ${error.socketPath}: ${error.reason}); ` +
            `state saved in ${saved.database}:\n`,
        );
        ctx.io.out(formatStatus(full, { now: ctx.now() }));
      }
      return 1;
    }
    if (values.json) printJson(ctx, report);
    else ctx.io.out(formatStatus(report, { now: ctx.now() }));
    return 0;
  },
};

/** `banwatch banned [--jail J]`. */
export const BANNED_COMMAND: Command = {
  name: "banned",
  summary: "list active bans",
  help: [
    "Usage: banwatch banned [--jail JAIL] [options]",
    "",
    "Lists active bans with address, jail, since, until, failures and ban count, and the",
    "bans already lifted whose firewall delete is still pending (ORIGIN says so).",
    'With --json: {"bans": [...]}.',
    "",
    "Options:",
    "  -j, --jail JAIL     only this jail",
    "",
    COMMON_HELP,
  ].join("\n"),
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs("banned", args, {
      jail: { type: "string", short: "j" },
    });
    if (positionals.length > 0) usageOf("banned", positionals.length, "no arguments");
    const target = await resolveTarget(values);
    const jail = typeof values.jail === "string" ? values.jail : undefined;
    const result = requireRecord(
      await call(target, jail === undefined ? { cmd: "banned" } : { cmd: "banned", jail }),
      "banned",
    );
    if (!Array.isArray(result.bans)) {
      throw new RuntimeError("the daemon sent an unexpected banned result");
    }
    if (values.json) printJson(ctx, result);
    else ctx.io.out(formatBanned(result.bans as BannedEntry[], { now: ctx.now() }));
    return 0;
  },
};

/** Checks ADDR is an address or network before bothering the daemon. */
function checkAddress(name: string, text: string): void {
  if (parseIp(text) === undefined && parseCidr(text) === undefined) {
    throw new UsageError(`${name}: "${text}" is not an IP address or network`);
  }
}

/** `banwatch ban JAIL ADDR [--for DURATION] [--force]`. */
export const BAN_COMMAND: Command = {
  name: "ban",
  summary: "ban an address by hand",
  help: [
    "Usage: banwatch ban JAIL ADDR [--for DURATION] [--force] [options]",
    "",
    "Bans ADDR (an address or network) in JAIL's firewall table. Addresses in ignoreip",
    "and the host's own addresses are refused, with the reason, unless --force is given.",
    "",
    "Options:",
    '      --for DURATION  how long ("90s", "20m", "1h", "1d", "4w", "forever";',
    "                      default: the jail's bantime)",
    "      --force         ban even an ignoreip or own address",
    "",
    COMMON_HELP,
  ].join("\n"),
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs("ban", args, {
      for: { type: "string" },
      force: { type: "boolean" },
    });
    if (positionals.length !== 2) usageOf("ban", positionals.length, "JAIL ADDR");
    const [jail, addr] = positionals as [string, string];
    checkAddress("ban", addr);
    const command: ControlCommand = { cmd: "ban", jail, addr };
    if (typeof values.for === "string") {
      const duration = parseDuration(values.for);
      if (duration === undefined || duration <= 0) {
        throw new UsageError(
          `ban: --for "${values.for}" is not a duration; expected e.g. "90s", "20m", "1h", "1d", "4w" or "forever"`,
        );
      }
      command.duration = duration;
    }
    if (values.force) command.force = true;
    const target = await resolveTarget(values);
    const entry = requireRecord(await call(target, command), "ban") as unknown as BannedEntry;
    if (values.json) printJson(ctx, entry);
    else {
      const until = entry.until === null
        ? "forever"
        : `until ${formatTime(entry.until)} (${roundDuration(entry.until - ctx.now())})`;
      ctx.io.out(`banned ${entry.target} in ${entry.jail} ${until}\n`);
    }
    return 0;
  },
};

/** `banwatch unban ADDR [--jail J]` and `banwatch unban --all [--jail J]`. */
export const UNBAN_COMMAND: Command = {
  name: "unban",
  summary: "lift bans by hand",
  help: [
    "Usage: banwatch unban ADDR [--jail JAIL] [options]",
    "       banwatch unban --all [--jail JAIL] [options]",
    "",
    "Lifts the bans of ADDR (in every jail, or only JAIL), or every ban with --all.",
    "Prints how many bans were lifted; none is not an error. When ADDR lies inside a banned",
    "prefix (an IPv6 /64 banned because several of its addresses failed), that ban is named",
    "and stays unless --covering is given.",
    "",
    "Options:",
    "  -j, --jail JAIL     only in this jail",
    "      --all           every ban (of JAIL, or of every jail)",
    "      --covering      also lift the prefix bans that contain ADDR",
    "",
    COMMON_HELP,
  ].join("\n"),
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs("unban", args, {
      jail: { type: "string", short: "j" },
      all: { type: "boolean" },
      covering: { type: "boolean" },
    });
    const command: ControlCommand = { cmd: "unban" };
    if (values.covering) command.covering = true;
    if (values.all) {
      if (positionals.length > 0) {
        throw new UsageError("unban: give either ADDR or --all, not both");
      }
      command.all = true;
    } else {
      if (positionals.length !== 1) usageOf("unban", positionals.length, "ADDR (or --all)");
      const addr = positionals[0] as string;
      checkAddress("unban", addr);
      command.addr = addr;
    }
    if (typeof values.jail === "string") command.jail = values.jail;
    const target = await resolveTarget(values);
    const result = requireRecord(await call(target, command), "unban");
    const removed = requireNumber(result.removed, "unban");
    if (values.json) printJson(ctx, result);
    else {
      const scope = typeof values.jail === "string" ? ` in ${values.jail}` : "";
      const what = values.all ? "" : ` of ${command.addr}`;
      ctx.io.out(`lifted ${removed} ban${removed === 1 ? "" : "s"}${what}${scope}\n`);
      const covering = Array.isArray(result.covering) ? result.covering as BannedEntry[] : [];
      for (const c of covering) {
        ctx.io.out(
          `${command.addr} is still blocked: it lies inside the ban of ${c.target} in ${c.jail}; ` +
            `lift that with: banwatch unban ${c.target} --jail ${c.jail} ` +
            `(or: banwatch unban ${command.addr} --covering)\n`,
        );
      }
    }
    return 0;
  },
};

/** `banwatch reload`. */
export const RELOAD_COMMAND: Command = {
  name: "reload",
  summary: "make the daemon validate and load its configuration again",
  help: [
    "Usage: banwatch reload [options]",
    "",
    "Asks the daemon (through its control socket) to read its configuration file again.",
    "The new configuration is validated first: when it has problems, each is printed on",
    "stderr, the running configuration stays, and the exit status is 78.",
    "",
    COMMON_HELP,
  ].join("\n"),
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs("reload", args);
    if (positionals.length > 0) usageOf("reload", positionals.length, "no arguments");
    const target = await resolveTarget(values);
    try {
      const result = await call(target, { cmd: "reload" });
      if (values.json) printJson(ctx, result);
      else ctx.io.out("configuration reloaded\n");
      return 0;
    } catch (error) {
      if (error instanceof ConfigError) {
        ctx.io.err("banwatch: reload refused, the running configuration stays:\n");
      }
      throw error;
    }
  },
};

/** `banwatch flush JAIL`. */
export const FLUSH_COMMAND: Command = {
  name: "flush",
  summary: "forget the failures counted in a jail",
  help: [
    "Usage: banwatch flush JAIL [options]",
    "",
    "Forgets the failure windows of JAIL (the failures counted towards a ban). Active",
    "bans stay; lift them with banwatch unban.",
    "",
    COMMON_HELP,
  ].join("\n"),
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs("flush", args);
    if (positionals.length !== 1) usageOf("flush", positionals.length, "JAIL");
    const jail = positionals[0] as string;
    const target = await resolveTarget(values);
    const result = requireRecord(await call(target, { cmd: "flush", jail }), "flush");
    const forgotten = requireNumber(result.forgotten, "flush");
    if (values.json) printJson(ctx, result);
    else {
      ctx.io.out(
        `forgot the failures of ${forgotten} address${forgotten === 1 ? "" : "es"} in ${jail}\n`,
      );
    }
    return 0;
  },
};

/** Every control command, in the order `--help` should list them. */
export const CONTROL_COMMANDS: readonly Command[] = [
  STATUS_COMMAND,
  BANNED_COMMAND,
  BAN_COMMAND,
  UNBAN_COMMAND,
  RELOAD_COMMAND,
  FLUSH_COMMAND,
];
