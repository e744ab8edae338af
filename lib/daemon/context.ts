/**
 * The running daemon's shared state: one plain object that the parts of the shell (jails,
 * ingest, persist, enforce, handlers) read and change, each through functions taking it first.
 * Kept apart from the parts so that none of them depends on another for its types, and so a
 * test can build one part's input without the whole daemon.
 * @module
 */
import type { Cidr, IpAddress, Logger, Runner } from "../core/mod.ts";
import {
  type BanPolicy,
  type BanRecord,
  type BanState,
  createBanState,
  type IgnoreChecks,
} from "../decide/mod.ts";
import type { BackendKind, Config, JailConfig } from "../config/mod.ts";
import type { QuickFilter, SessionTracker } from "../filter/mod.ts";
import type { Backend, BackendOptions, FirewallChange } from "../firewall/mod.ts";
import type { LogTail, SavedPosition } from "../source/mod.ts";
import type { FailureCount, Store, StoredEvent } from "../state/mod.ts";
import { createHookQueue, type HookQueue } from "./hooks.ts";

/**
 * Resolves a host name to its addresses (A and AAAA) for a `usedns` jail; never throws (a
 * name that does not resolve, or a lookup that times out, gives []).
 */
export type Resolver = (host: string) => Promise<IpAddress[]>;

/** Builds the firewall backend of a kind (the registry's `createBackend` unless a test fakes it). */
export type BackendFactory = (kind: BackendKind, options: BackendOptions) => Backend;

/** How the daemon is set up. */
export interface DaemonOptions {
  /** The validated configuration. */
  config: Config;
  /** Where events go (one line each). */
  logger: Logger;
  /** Wall clock, epoch seconds. */
  now: () => number;
  /** Runs firewall programs. */
  runner: Runner;
  /** Resolves host names for `usedns` jails; default the system resolver (`resolveHost` in dns.ts). */
  resolve?: Resolver;
  /** Builds each firewall backend; default the firewall registry's `createBackend`. */
  createBackend?: BackendFactory;
  /** The host's own addresses (never banned while `ignoreself`). */
  ownAddresses?: readonly Cidr[];
  /** Use this backend for every jail (the demo uses "dry-run"). */
  backendOverride?: BackendKind;
  /** Replay: the clock is the newest line time seen, and the logs are read once to the end. */
  replay?: boolean;
  /** Loads the configuration again for `reload` (validation errors throw ConfigError). */
  reloadConfig?: () => Promise<Config>;
  /** The process id reported by `status`. */
  pid?: number;
  /** The `{hostname}` of hooks; default the system's host name. */
  hostname?: string;
}

/** A jail while it runs: its filter set up to read logs (filter, dates, prefilter) and more. */
export interface JailRuntime extends QuickFilter {
  /** The jail's configuration. */
  config: JailConfig;
  /** Open connections, for filters that correlate lines (`<F-MLFID>`). */
  sessions: SessionTracker | undefined;
  /** maxretry, findtime, bantime and escalation, as decide/ takes them. */
  policy: BanPolicy;
  /** ignoreip, ignoreself and loopback checks. */
  checks: IgnoreChecks;
  /** The backend its table lives in. */
  backend: Backend;
  /** That backend's kind (the override, or the jail's own). */
  backendKind: BackendKind;
  /** The log files its logpath globs expand to. */
  paths: Set<string>;
  /** Bans made since start (kept over a reload). */
  totalBanned: number;
  /** Bans lifted since start (kept over a reload). */
  totalUnbanned: number;
  /** Lines judged since start (kept over a reload). */
  lines: number;
  /** Lines that matched a failregex since start (kept over a reload). */
  failures: number;
  /** Failures dropped by ignoreregex, ignoreip or ignoreself since start (kept over a reload). */
  ignored: number;
}

/** One open log file and the jails that read it. */
export interface TailRuntime {
  /** The file's reader. */
  tail: LogTail;
  /** Every jail whose logpath names this file. */
  jails: JailRuntime[];
  /** Wall time of the last poll that returned lines. */
  lastRead: number | undefined;
  /** Wall time of the last poll that left nothing to read (the lag counts from there). */
  caughtUpAt?: number;
  /** A future-dated line was reported for this file (once per file). */
  warnedSkew?: boolean;
  /** A cut line was reported for this file (once per file). */
  warnedTruncated?: boolean;
  /** Why the file cannot be read now (tail closed, opened again every poll); see files.ts. */
  error?: string | undefined;
}

/** A firewall change waiting to be applied, with the jail and backend it belongs to. */
export interface PendingChange extends FirewallChange {
  /** The jail whose ban or unban made it. */
  jail: string;
  /** The backend that applies it. */
  backendKind: BackendKind;
  /** For the lift of a ban no longer in the decision state: that ban (for `banned`). */
  ban?: BanRecord;
}

/** State changes not yet written because the disk refused them, merged by key. */
export interface Backlog {
  /** File positions by path. */
  positions: Map<string, SavedPosition>;
  /** Failure windows by `jail\0addr`. */
  windows: Map<string, { jail: string; addr: string; times: number[] }>;
  /** Prefix windows by `jail\0prefix`. */
  prefixes: Map<
    string,
    { jail: string; prefix: string; members: Array<{ addr: string; time: number }> }
  >;
  /** Bans by `jail\0target`. */
  bans: Map<string, BanRecord>;
  /** Ban history rows, in order. */
  history: Array<{ jail: string; target: string; time: number; bantime: number }>;
  /** Report events (bans, unbans), in order, and failure counts (state/events.ts). */
  events: StoredEvent[];
  /** Failure counts by `hour\0jail\0addr`. */
  failures: Map<string, FailureCount>;
}

/** Everything the running daemon knows; the parts change it in place. */
export interface DaemonContext {
  /** How the daemon was set up. */
  readonly options: DaemonOptions;
  /** The configuration in use (a reload replaces it). */
  config: Config;
  /** Where events go. */
  readonly logger: Logger;
  /** The state database. */
  readonly store: Store;
  /** Failure windows and bans (decide/). */
  readonly state: BanState;
  /** Host name lookups for `usedns` jails. */
  readonly resolve: Resolver;
  /** Enabled jails by name (a reload replaces the map). */
  jails: Map<string, JailRuntime>;
  /** Open log files by path. */
  readonly tails: Map<string, TailRuntime>;
  /** One backend per kind, shared by the jails using it. */
  readonly backends: Map<BackendKind, Backend>;
  /** Firewall changes not applied yet, by `kind\0table\0target` (the latest wish wins). */
  readonly pending: Map<string, PendingChange>;
  /** Seconds of the current firewall backoff (0 when the last apply worked). */
  backoff: number;
  /** Wall time before which no firewall change is tried again. */
  backoffUntil: number;
  /** Replay's clock: the newest line time seen. */
  replayNow: number;
  /** When the configuration in use was loaded. */
  configLoadedAt: number;
  /** When the daemon started. */
  readonly startedAt: number;
  /** The last saved position of every file, by path. */
  readonly positions: Map<string, SavedPosition>;
  /** `kind\0table` of every table already prepared. */
  readonly prepared: Set<string>;
  /** When stale failure windows were last pruned. */
  lastPrune: number;
  /** State the disk refused, written with the next transaction that succeeds. */
  backlog: Backlog | undefined;
  /** Applied firewall changes whose bookkeeping the disk refused; written with the backlog. */
  unrecorded: PendingChange[];
  /** Resolved host names and until when each result is kept. */
  readonly dns: Map<string, { addrs: IpAddress[]; until: number }>;
  /** The on_ban/on_unban runs waiting or running. */
  readonly hooks: HookQueue;
  /** Hooks fire only once the start is done (never for bans restored or lifted at start). */
  hooksLive: boolean;
  /** Failures, ban time and count of each active ban by `jail\0target`, for on_unban. */
  readonly hookBans: Map<string, { failures: number; bantime: number; count: number }>;
  /** Firewall calls that failed since start. */
  firewallErrors: number;
  /** Wall time the metrics file was last written (0: never). */
  metricsWrittenAt: number;
  /** The last metrics write failed (logged once until one works). */
  metricsFailing: boolean;
  /** When the firewall was last checked for missing tables, rules and entries (repair.ts). */
  lastFirewallCheck: number;
  /** A firewall call failed because a table or rule is missing: check before the next flush. */
  repairDue: boolean;
}

/** A fresh context over an open store; no jail is built yet. */
export function createContext(
  options: DaemonOptions,
  deps: { store: Store; resolve: Resolver },
): DaemonContext {
  const now = options.now();
  const ctx: DaemonContext = {
    options,
    config: options.config,
    logger: options.logger,
    store: deps.store,
    state: createBanState({ maxTracked: options.config.global.maxTracked }),
    resolve: deps.resolve,
    jails: new Map(),
    tails: new Map(),
    backends: new Map(),
    pending: new Map(),
    backoff: 0,
    backoffUntil: 0,
    replayNow: 0,
    configLoadedAt: now,
    startedAt: now,
    positions: new Map(),
    prepared: new Set(),
    lastPrune: 0,
    backlog: undefined,
    unrecorded: [],
    dns: new Map(),
    hooks: createHookQueue({
      runner: options.runner,
      logger: options.logger,
      timeout: () => ctx.config.global.hookTimeout,
    }),
    hooksLive: false,
    hookBans: new Map(),
    firewallErrors: 0,
    metricsWrittenAt: 0,
    metricsFailing: false,
    lastFirewallCheck: now,
    repairDue: false,
  };
  return ctx;
}

/** The daemon's clock: the wall clock, or in replay the newest line time seen. */
export function daemonNow(ctx: DaemonContext): number {
  return ctx.options.replay ? ctx.replayNow : ctx.options.now();
}

/** The message of a caught value, for a log field. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
