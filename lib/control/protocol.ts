/**
 * The control socket's protocol v1, pure: parsing and formatting of requests and responses
 * ({@link parseRequest}, {@link formatRequest}, {@link parseResponse}, {@link formatResponse})
 * and {@link handleRequest}, the dispatch of one request to a {@link ControlHandler}. The
 * listener is server.ts, the client client.ts.
 *
 * Wire format, one JSON object per line in each direction:
 * request  `{"v":1,"id":"opt","cmd":"ban","jail":"sshd","addr":"192.0.2.7","duration":3600}`
 * success  `{"v":1,"id":"opt","ok":true,"result":{...}}`
 * failure  `{"v":1,"id":"opt","ok":false,"error":"one line","kind":"usage"|"config"|"runtime"}`
 * (a `config` failure also carries `"problems":["one line", ...]`).
 * Durations are seconds; `"duration":null` means forever. Times are epoch seconds.
 * @module
 */
import { ConfigError, UsageError, VERSION } from "../core/mod.ts";

/** The protocol version this module speaks. */
export const PROTOCOL_VERSION = 1;

/** Every command the protocol knows, in documentation order. */
export const CONTROL_COMMAND_NAMES = [
  "status",
  "banned",
  "ban",
  "unban",
  "reload",
  "flush",
  "ping",
] as const;

/** The name of a protocol command. */
export type ControlCommandName = (typeof CONTROL_COMMAND_NAMES)[number];

/** The command part of a request (without the envelope). */
export type ControlCommand =
  | { cmd: "status"; jail?: string }
  | { cmd: "banned"; jail?: string }
  | { cmd: "ban"; jail: string; addr: string; duration?: number; force?: boolean }
  | { cmd: "unban"; addr?: string; all?: boolean; jail?: string; covering?: boolean }
  | { cmd: "reload" }
  | { cmd: "flush"; jail: string }
  | { cmd: "ping" };

/** A request: protocol version, optional correlation id, command. `duration` may be Infinity. */
export type ControlRequest = ControlCommand & { v: 1; id?: string };

/** The class of a failure; the CLI maps it to exit code 2, 78 or 1. */
export type ControlErrorKind = "usage" | "config" | "runtime";

/** A successful response. */
export interface ControlSuccess {
  /** Protocol version. */
  v: 1;
  /** The request's id, echoed. */
  id?: string;
  /** Always true. */
  ok: true;
  /** The command's result (see {@link ControlResultMap}). */
  result: unknown;
}

/** A failed response. */
export interface ControlFailure {
  /** Protocol version. */
  v: 1;
  /** The request's id, echoed when it could be read. */
  id?: string;
  /** Always false. */
  ok: false;
  /** One line saying what went wrong. */
  error: string;
  /** The class of the failure. */
  kind: ControlErrorKind;
  /** For `kind: "config"`: one line per configuration problem. */
  problems?: string[];
}

/** Any response. */
export type ControlResponse = ControlSuccess | ControlFailure;

/**
 * A followed file's state: `ok` (open), `missing` (no file at the path yet), `unreadable`
 * (it exists but cannot be read: permissions, a directory, I/O errors; retried every poll),
 * `waiting` (a logpath glob that matches no file yet; `path` is the glob).
 */
export type FileState = "ok" | "missing" | "unreadable" | "waiting";

/** One log file a jail follows. */
export interface JailFileStatus {
  /** The file's path. */
  path: string;
  /** Byte offset read up to. */
  offset: number;
  /** When the file was last read (epoch s), undefined when never. */
  lastRead: number | undefined;
  /** The file's state (set by a running daemon; absent in an offline report). */
  state?: FileState;
  /** Why it is unreadable (with state `unreadable`). */
  error?: string;
}

/** What `status` reports for one jail. */
export interface JailStatus {
  /** Jail name. */
  name: string;
  /** Whether the jail is enabled. */
  enabled: boolean;
  /** Firewall backend kind. */
  backend: string;
  /** Firewall table name. */
  table: string;
  /** The files it follows. */
  files: JailFileStatus[];
  /** Addresses whose failures are being counted. */
  failing: number;
  /** Failures inside the current windows. */
  failures: number;
  /** Active bans. */
  banned: number;
  /** Bans made since the state database was created. */
  totalBanned: number;
  /** Bans lifted since the state database was created. */
  totalUnbanned: number;
  /** Firewall changes not yet applied. */
  pending: number;
  /** Tracked addresses dropped because of `max_tracked`. */
  evictions: number;
  /**
   * For filters that correlate lines (`<F-MLFID>`): connections remembered now, and those
   * dropped at the 10,000 limit (lib/sessions.ts).
   */
  sessions?: { open: number; evicted: number };
}

/** What `status` reports. */
export interface StatusReport {
  /** banwatch version. */
  version: string;
  /** Daemon pid (0 when the daemon is not running). */
  pid: number;
  /** False when the report was read from the state database with the daemon down. */
  running: boolean;
  /** The configuration file in use. */
  configFile: string;
  /** When the configuration was loaded (epoch s). */
  configLoadedAt: number;
  /** When the daemon started (epoch s). */
  startedAt: number;
  /** Per jail. */
  jails: JailStatus[];
  /** The CrowdSec link, when `[crowdsec]` is in use. */
  crowdsec?: CrowdsecReport;
}

/** The CrowdSec link's state in a {@link StatusReport} (never a secret). */
export interface CrowdsecReport {
  /** LAPI's URL. */
  lapiUrl: string;
  /** `starting`, `connected`, `unreachable` or `refused` (credentials or HTTP errors). */
  state: string;
  /** The last failure, one line. */
  lastError?: string | undefined;
  /** When an alert was last pushed (epoch s). */
  lastPush?: number | undefined;
  /** When the decisions stream was last read (epoch s). */
  lastPull?: number | undefined;
  /** Alerts waiting for LAPI. */
  queued: number;
  /** Alerts dropped because the queue was full. */
  dropped: number;
  /** Remote decisions in the table now. */
  applied: number;
  /** Remote decisions refused since start. */
  refused: number;
}

/** One active ban. */
export interface BannedEntry {
  /** Jail name. */
  jail: string;
  /** The banned address or network (canonical text). */
  target: string;
  /** When the ban began (epoch s). */
  since: number;
  /** When it ends (epoch s); null = forever. */
  until: number | null;
  /** Failures that led to it. */
  failures: number;
  /** How many times this target has been banned. */
  banCount: number;
  /** Who made it: "filter", "manual", "import", "crowdsec", ... */
  origin: string;
  /** The backend kind it is applied with (absent from older daemons). */
  backend?: string;
  /** The firewall table it is applied in (absent from older daemons). */
  table?: string;
  /**
   * True when banwatch has lifted the ban but the firewall has not confirmed the delete yet
   * (it is retried; the address is still blocked meanwhile).
   */
  liftPending?: boolean;
  /** For a remote ban (origin "crowdsec"): the decision's scenario. */
  scenario?: string;
}

/** The result of each command, as carried in {@link ControlSuccess.result}. */
export interface ControlResultMap {
  /** The daemon's report. */
  status: StatusReport;
  /** Active bans. */
  banned: { bans: BannedEntry[] };
  /** The ban that was made. */
  ban: BannedEntry;
  /**
   * How many bans were lifted; `covering`: the prefix bans that contain the address and were
   * not lifted (request `covering: true` to lift them too).
   */
  unban: { removed: number; covering?: BannedEntry[] };
  /** The new configuration is in use. */
  reload: { reloaded: true };
  /** How many addresses' failure windows were forgotten. */
  flush: { forgotten: number };
  /** The daemon is alive. */
  ping: { version: string; pid: number };
}

/** What the daemon implements to answer the control socket. */
export interface ControlHandler {
  /** The status report, for one jail or all; throws for an unknown jail. */
  status(jail?: string): Promise<StatusReport> | StatusReport;
  /** Active bans, for one jail or all. */
  banned(jail?: string): Promise<BannedEntry[]> | BannedEntry[];
  /** Bans by hand; throws Error with a one-line reason (ignoreip/own address unless force, unknown jail). */
  ban(
    jail: string,
    addr: string,
    options: { duration?: number; force?: boolean },
  ): Promise<BannedEntry>;
  /** Lifts bans of one address or all, in one jail or all. */
  unban(
    options: { addr?: string; all?: boolean; jail?: string; covering?: boolean },
  ): Promise<{ removed: number; covering?: BannedEntry[] }>;
  /** Validates and loads the configuration file again. */
  reload(): Promise<{ ok: true } | { ok: false; problems: string[] }>;
  /** Forgets a jail's failure windows. */
  flush(jail: string): Promise<{ forgotten: number }>;
}

/** Keys allowed in every request. */
const ENVELOPE_KEYS = ["v", "id", "cmd"];

/** Keys each command allows besides the envelope. */
const COMMAND_KEYS: Readonly<Record<ControlCommandName, readonly string[]>> = {
  status: ["jail"],
  banned: ["jail"],
  ban: ["jail", "addr", "duration", "force"],
  unban: ["addr", "all", "jail", "covering"],
  reload: [],
  flush: ["jail"],
  ping: [],
};

const MAX_ID_LENGTH = 128;
const MAX_NAME_LENGTH = 256;
const MAX_ERROR_LENGTH = 1000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCommandName(value: string): value is ControlCommandName {
  return (CONTROL_COMMAND_NAMES as readonly string[]).includes(value);
}

/** Checks an optional string field; returns an error text or undefined. */
function checkString(
  obj: Record<string, unknown>,
  key: string,
  required: boolean,
): string | undefined {
  const value = obj[key];
  if (value === undefined) return required ? `"${key}" is missing` : undefined;
  if (typeof value !== "string") return `"${key}" must be a string`;
  if (value.length === 0) return `"${key}" must not be empty`;
  if (value.length > MAX_NAME_LENGTH) {
    return `"${key}" is longer than ${MAX_NAME_LENGTH} characters`;
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) return `"${key}" contains control characters`;
  return undefined;
}

/**
 * Parses one request line (without its newline). Strict: unknown commands, unknown keys and
 * wrong types are errors. A `duration` of null means forever and becomes Infinity.
 * @param line the text of one line
 */
export function parseRequest(line: string): ControlRequest | { error: string; id?: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: "the request is not valid JSON" };
  }
  if (!isRecord(value)) return { error: "the request must be a JSON object" };
  const rawId = value.id;
  const id = typeof rawId === "string" && rawId.length <= MAX_ID_LENGTH ? rawId : undefined;
  const fail = (error: string): { error: string; id?: string } =>
    id === undefined ? { error } : { error, id };
  if (rawId !== undefined && id === undefined) {
    return fail(`"id" must be a string of at most ${MAX_ID_LENGTH} characters`);
  }
  if (value.v === undefined) return fail(`"v" is missing; this daemon speaks version 1`);
  if (value.v !== PROTOCOL_VERSION) {
    return fail(`unsupported protocol version ${JSON.stringify(value.v)}; this daemon speaks 1`);
  }
  const cmd = value.cmd;
  if (typeof cmd !== "string") return fail(`"cmd" must be a string`);
  if (!isCommandName(cmd)) {
    return fail(
      `unknown command ${JSON.stringify(cmd.slice(0, 40))}; expected one of ${
        CONTROL_COMMAND_NAMES.join(", ")
      }`,
    );
  }
  const allowed = [...ENVELOPE_KEYS, ...COMMAND_KEYS[cmd]];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      return fail(`unknown key ${JSON.stringify(key.slice(0, 40))} for command "${cmd}"`);
    }
  }
  const envelope = id === undefined ? { v: 1 as const } : { v: 1 as const, id };
  switch (cmd) {
    case "status":
    case "banned": {
      const problem = checkString(value, "jail", false);
      if (problem) return fail(problem);
      const jail = value.jail as string | undefined;
      return jail === undefined ? { ...envelope, cmd } : { ...envelope, cmd, jail };
    }
    case "ban": {
      const problem = checkString(value, "jail", true) ?? checkString(value, "addr", true);
      if (problem) return fail(problem);
      const request: ControlRequest = {
        ...envelope,
        cmd,
        jail: value.jail as string,
        addr: value.addr as string,
      };
      if (value.duration !== undefined) {
        const d = value.duration;
        if (d === null) request.duration = Infinity;
        else if (typeof d === "number" && Number.isFinite(d) && d > 0) request.duration = d;
        else return fail(`"duration" must be a positive number of seconds or null (forever)`);
      }
      if (value.force !== undefined) {
        if (typeof value.force !== "boolean") return fail(`"force" must be a boolean`);
        request.force = value.force;
      }
      return request;
    }
    case "unban": {
      const problem = checkString(value, "addr", false) ?? checkString(value, "jail", false);
      if (problem) return fail(problem);
      if (value.all !== undefined && typeof value.all !== "boolean") {
        return fail(`"all" must be a boolean`);
      }
      const all = value.all === true;
      if (all && value.addr !== undefined) return fail(`give either "addr" or "all", not both`);
      if (!all && value.addr === undefined) return fail(`"addr" is missing (or set "all": true)`);
      if (value.covering !== undefined && typeof value.covering !== "boolean") {
        return fail(`"covering" must be a boolean`);
      }
      const request: ControlRequest = { ...envelope, cmd };
      if (value.covering === true) request.covering = true;
      if (all) request.all = true;
      else request.addr = value.addr as string;
      if (value.jail !== undefined) request.jail = value.jail as string;
      return request;
    }
    case "flush": {
      const problem = checkString(value, "jail", true);
      if (problem) return fail(problem);
      return { ...envelope, cmd, jail: value.jail as string };
    }
    case "reload":
    case "ping":
      return { ...envelope, cmd };
  }
}

/**
 * Formats a request as one line with its newline; an Infinity duration becomes null.
 * @param request the request
 */
export function formatRequest(request: ControlRequest): string {
  return JSON.stringify(request, (key, value) => {
    if (key === "duration" && value === Infinity) return null;
    return value;
  }) + "\n";
}

/**
 * Formats a response as one line with its newline.
 * @param response the response
 */
export function formatResponse(response: ControlResponse): string {
  return JSON.stringify(response) + "\n";
}

/**
 * Builds a success response.
 * @param result the command's result
 * @param id the request's id, if any
 */
export function successResponse(result: unknown, id?: string): ControlSuccess {
  return id === undefined ? { v: 1, ok: true, result } : { v: 1, id, ok: true, result };
}

/**
 * Builds a failure response; the message is cut to one line without control characters.
 * @param kind the class of the failure
 * @param error what went wrong
 */
export function failureResponse(
  kind: ControlErrorKind,
  error: string,
  options: { id?: string | undefined; problems?: readonly string[] } = {},
): ControlFailure {
  const response: ControlFailure = { v: 1, ok: false, error: oneLine(error), kind };
  if (options.id !== undefined) response.id = options.id;
  if (options.problems !== undefined) response.problems = options.problems.map(oneLine);
  return response;
}

/**
 * Reduces text to one line: the first line, control characters replaced, length capped.
 * @param text any text
 */
export function oneLine(text: string): string {
  const first = text.split(/\r?\n/, 1)[0] ?? "";
  // deno-lint-ignore no-control-regex
  const clean = first.replace(/[\x00-\x1f\x7f]/g, "?");
  return clean.length > MAX_ERROR_LENGTH ? `${clean.slice(0, MAX_ERROR_LENGTH)}...` : clean;
}

/**
 * Parses one response line (as the client reads it). Strict on the envelope; the result is
 * left as it is.
 * @param line the text of one line
 */
export function parseResponse(line: string): ControlResponse | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: "the response is not valid JSON" };
  }
  if (!isRecord(value)) return { error: "the response is not a JSON object" };
  if (value.v !== PROTOCOL_VERSION) {
    return { error: `the daemon speaks protocol version ${JSON.stringify(value.v)}, not 1` };
  }
  if (value.id !== undefined && typeof value.id !== "string") {
    return { error: `the response's "id" is not a string` };
  }
  const id = value.id as string | undefined;
  if (value.ok === true) {
    if (!("result" in value)) return { error: "the response has no result" };
    return successResponse(value.result, id);
  }
  if (value.ok !== false) return { error: `the response's "ok" is not a boolean` };
  const kind = value.kind;
  if (kind !== "usage" && kind !== "config" && kind !== "runtime") {
    return { error: `the response's "kind" is not usage, config or runtime` };
  }
  if (typeof value.error !== "string") return { error: `the response's "error" is not a string` };
  const problems = value.problems;
  if (
    problems !== undefined &&
    !(Array.isArray(problems) && problems.every((p) => typeof p === "string"))
  ) {
    return { error: `the response's "problems" is not a list of strings` };
  }
  const options: { id?: string; problems?: string[] } = {};
  if (id !== undefined) options.id = id;
  if (problems !== undefined) options.problems = problems as string[];
  return failureResponse(kind, value.error, options);
}

function errorKind(error: unknown): ControlErrorKind {
  if (error instanceof UsageError) return "usage";
  if (error instanceof ConfigError) return "config";
  return "runtime";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one parsed request against the handler and builds the response. Handler errors become
 * failures: UsageError -> "usage", ConfigError -> "config" (with problems), others "runtime".
 * @param handler the daemon's implementation
 * @param request a request from {@link parseRequest}
 */
export async function handleRequest(
  handler: ControlHandler,
  request: ControlRequest,
  options: { pid?: number } = {},
): Promise<ControlResponse> {
  const id = request.id;
  try {
    const result = await dispatchRequest(handler, request, options.pid ?? 0);
    if ("failure" in result) return result.failure;
    return successResponse(result.value, id);
  } catch (error) {
    const kind = errorKind(error);
    const problems = error instanceof ConfigError ? [...error.problems] : undefined;
    const message = errorMessage(error);
    return failureResponse(kind, message, problems === undefined ? { id } : { id, problems });
  }
}

async function dispatchRequest(
  handler: ControlHandler,
  request: ControlRequest,
  pid: number,
): Promise<{ value: unknown } | { failure: ControlFailure }> {
  switch (request.cmd) {
    case "status":
      return { value: await handler.status(...(request.jail === undefined ? [] : [request.jail])) };
    case "banned": {
      const bans = await handler.banned(...(request.jail === undefined ? [] : [request.jail]));
      return { value: { bans } };
    }
    case "ban": {
      const options: { duration?: number; force?: boolean } = {};
      if (request.duration !== undefined) options.duration = request.duration;
      if (request.force !== undefined) options.force = request.force;
      return { value: await handler.ban(request.jail, request.addr, options) };
    }
    case "unban": {
      const options: { addr?: string; all?: boolean; jail?: string; covering?: boolean } = {};
      if (request.covering !== undefined) options.covering = request.covering;
      if (request.addr !== undefined) options.addr = request.addr;
      if (request.all !== undefined) options.all = request.all;
      if (request.jail !== undefined) options.jail = request.jail;
      return { value: await handler.unban(options) };
    }
    case "reload": {
      const outcome = await handler.reload();
      if (outcome.ok) return { value: { reloaded: true } };
      const n = outcome.problems.length;
      return {
        failure: failureResponse(
          "config",
          `the configuration has ${n} problem${
            n === 1 ? "" : "s"
          }; the running configuration stays`,
          { id: request.id, problems: outcome.problems },
        ),
      };
    }
    case "flush":
      return { value: await handler.flush(request.jail) };
    case "ping":
      return { value: { version: VERSION, pid } };
  }
}
