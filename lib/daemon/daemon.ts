/**
 * The imperative shell of `banwatch run`: wires log tails -> filters -> ban decisions ->
 * state database -> firewall, and answers the control socket.
 *
 * Exactly once: each batch of lines is handled, then its file position is saved in the SAME
 * SQLite transaction as the windows, bans and history those lines produced. Firewall changes
 * run after the commit; a ban row stays `applied = 0` until the firewall confirms, and a ban
 * row is only deleted once its firewall entry is gone, so the database always says which
 * entries banwatch owns. At start the tables are reconciled with the database.
 *
 * Time policy: failure windows use each line's own time (future times are clamped to now,
 * lines older than `findtime` are not counted); a ban starts when it is decided (`now`).
 * @module
 */
import {
  BackendError,
  type Cidr,
  displayTarget,
  formatDuration,
  type IpAddress,
  type Logger,
  parseCidr,
  parseIp,
  type Runner,
  UsageError,
  VERSION,
} from "../core/mod.ts";
import {
  activeBans,
  type BanAction,
  type BanPolicy,
  type BanRecord,
  type BanState,
  banStats,
  createBanState,
  createIgnoreChecks,
  expireBans,
  forgetWindows,
  type IgnoreChecks,
  manualBan,
  manualUnban,
  nextExpiry,
  policyOf,
  pruneWindows,
  recordFailure,
  restoreBan,
  restoreHistory,
  restorePrefix,
  restoreWindow,
  takeDirty,
  unbanAll,
  windowStats,
} from "../decide/mod.ts";
import type { BackendKind, Config, JailConfig } from "../config/mod.ts";
import type {
  BannedEntry,
  ControlHandler,
  JailFileStatus,
  JailStatus,
  StatusReport,
} from "../control/mod.ts";
import {
  compileFilter,
  type LineVerdict,
  matchLine,
  prefilteredVerdict,
  type QuickFilter,
  quickFilter,
  SessionTracker,
  usesSessions,
} from "../filter/mod.ts";
import {
  type Backend,
  createBackend,
  type FirewallChange,
  ipfwRuleArgs,
  reconcile,
} from "../firewall/mod.ts";
import { type Batch, expandLogPaths, LogTail, type SavedPosition } from "../source/mod.ts";
import { openStore, type Store, type StoredBan } from "../state/mod.ts";

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
}

/** A jail while it runs: its filter set up to read logs (filter, dates, prefilter) and more. */
interface JailRuntime extends QuickFilter {
  config: JailConfig;
  /** Open connections, for filters that correlate lines (`<F-MLFID>`). */
  sessions: SessionTracker | undefined;
  policy: BanPolicy;
  checks: IgnoreChecks;
  backend: Backend;
  backendKind: BackendKind;
  paths: Set<string>;
  totalBanned: number;
  totalUnbanned: number;
}

interface TailRuntime {
  tail: LogTail;
  jails: JailRuntime[];
  lastRead: number | undefined;
  warnedSkew?: boolean;
  warnedTruncated?: boolean;
}

interface PendingChange extends FirewallChange {
  jail: string;
  backendKind: BackendKind;
}

/** State changes not yet written because the disk refused them, merged by key. */
interface Backlog {
  positions: Map<string, SavedPosition>;
  windows: Map<string, { jail: string; addr: string; times: number[] }>;
  prefixes: Map<
    string,
    { jail: string; prefix: string; members: Array<{ addr: string; time: number }> }
  >;
  bans: Map<string, BanRecord>;
  history: Array<{ jail: string; target: string; time: number; bantime: number }>;
}

function emptyBacklog(): Backlog {
  return {
    positions: new Map(),
    windows: new Map(),
    prefixes: new Map(),
    bans: new Map(),
    history: [],
  };
}

const TURNED_OVER = "logfile turned over";
/** Seconds a line may be dated ahead of the clock before a skew warning. */
const SKEW_WARN = 60;
/** Seconds between prunes of stale failure windows. */
const PRUNE_EVERY = 60;

/**
 * matchLine()'s verdict on a line, resolved by the jail's sessions; a line that lacks every
 * literal the filter needs is judged by its date alone (lib/prefilter.ts), as `banwatch test`
 * does.
 */
function judgeLine(jail: JailRuntime, text: string, now: number): LineVerdict {
  if (jail.prefilter !== undefined) {
    const quick = prefilteredVerdict(jail.filter, jail.prefilter, jail.dates, text, now);
    if (quick !== undefined) return quick;
  }
  const verdict = matchLine(jail.filter, text, now);
  return jail.sessions ? jail.sessions.resolve(verdict) : verdict;
}

/** usedns: seconds a lookup may take, seconds a result is kept, names kept. */
const DNS_TIMEOUT = 2;
const DNS_TTL = 3600;
const DNS_CACHE_MAX = 10_000;
const MAX_BACKOFF = 60;

function changeKey(c: { backendKind: string; table: string; target: string }): string {
  return `${c.backendKind}\u0000${c.table}\u0000${c.target}`;
}

function toBanRecord(row: StoredBan): BanRecord {
  const origin = row.origin === "manual" || row.origin === "restored" ? row.origin : "auto";
  return {
    jail: row.jail,
    target: row.target,
    since: row.since,
    until: row.until,
    failures: row.failures,
    banCount: row.banCount,
    origin,
    ...(row.line === undefined ? {} : { line: row.line }),
  };
}

function toEntry(ban: BanRecord): BannedEntry {
  return {
    jail: ban.jail,
    target: ban.target,
    since: ban.since,
    until: Number.isFinite(ban.until) ? ban.until : null,
    failures: ban.failures,
    banCount: ban.banCount,
    origin: ban.origin,
  };
}

/** The running daemon; also the control socket's handler. */
export class Daemon implements ControlHandler {
  #options: DaemonOptions;
  #config: Config;
  #logger: Logger;
  #store: Store;
  #state: BanState;
  #jails = new Map<string, JailRuntime>();
  #tails = new Map<string, TailRuntime>();
  #backends = new Map<BackendKind, Backend>();
  #pending = new Map<string, PendingChange>();
  #backoffUntil = 0;
  #backoff = 0;
  #replayNow = 0;
  #configLoadedAt: number;
  #startedAt: number;
  #positions = new Map<string, SavedPosition>();
  #prepared = new Set<string>();
  #busy: Promise<unknown> = Promise.resolve();
  #closed = false;
  #lastPrune = 0;
  #backlog: Backlog | undefined;
  /** Applied firewall changes whose bookkeeping the disk refused; written with the backlog. */
  #unrecorded: PendingChange[] = [];
  #dns = new Map<string, { addrs: IpAddress[]; until: number }>();

  private constructor(options: DaemonOptions, store: Store) {
    this.#options = options;
    this.#config = options.config;
    this.#logger = options.logger;
    this.#store = store;
    this.#state = createBanState({ maxTracked: options.config.global.maxTracked });
    this.#configLoadedAt = options.now();
    this.#startedAt = options.now();
  }

  /** Opens the state, restores bans and windows, reconciles the firewall and opens the logs. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const dir = options.config.global.stateDir;
    const store = openStore(`${dir}/state.db`, { logger: options.logger, now: options.now });
    const daemon = new Daemon(options, store);
    try {
      await daemon.#init();
    } catch (error) {
      await daemon.close({ unban: false });
      throw error;
    }
    return daemon;
  }

  /** The clock: the wall clock, or in replay the newest line time seen. */
  now(): number {
    return this.#options.replay ? this.#replayNow : this.#options.now();
  }

  async #init(): Promise<void> {
    if (this.#store.recovery.recovered) {
      this.#logger.error("state_recovered", {
        detail: "the state database was unreadable and was moved aside; starting fresh",
        moved_to: this.#store.recovery.movedTo,
        reason: this.#store.recovery.reason,
      });
    }
    this.#buildJails(this.#config);
    const now = this.now();
    const rows = this.#store.loadBans();
    this.#restore(now, rows);
    await this.#reconcileAll(rows);
    await this.#ensureRules();
    this.#handleActions(expireBans(this.#state, now));
    this.#persist(undefined, []);
    await this.#openTails();
    await this.#flushFirewall();
  }

  #backendFor(kind: BackendKind): Backend {
    let backend = this.#backends.get(kind);
    if (!backend) {
      const g = this.#config.global;
      backend = createBackend(kind, {
        runner: this.#options.runner,
        ipfwPath: g.ipfwPath,
        pfctlPath: g.pfctlPath,
        nftPath: g.nftPath,
        timeout: g.firewallTimeout,
        logger: this.#logger,
      });
      this.#backends.set(kind, backend);
    }
    return backend;
  }

  #buildJails(config: Config): void {
    const old = this.#jails;
    this.#jails = new Map();
    for (const jail of config.jails) {
      if (!jail.enabled) continue;
      const kind = this.#options.backendOverride ?? jail.backend;
      const previous = old.get(jail.name);
      const quick = quickFilter(compileFilter({ ...jail.filter, usedns: jail.usedns }));
      const filter = quick.filter;
      this.#jails.set(jail.name, {
        config: jail,
        ...quick,
        // A reload keeps the connections seen so far (their ids do not depend on the config).
        sessions: usesSessions(filter) ? previous?.sessions ?? new SessionTracker() : undefined,
        policy: policyOf(jail),
        checks: createIgnoreChecks(config.global, jail, this.#options.ownAddresses ?? []),
        backend: this.#backendFor(kind),
        backendKind: kind,
        paths: new Set(),
        totalBanned: previous?.totalBanned ?? 0,
        totalUnbanned: previous?.totalUnbanned ?? 0,
      });
    }
  }

  #restore(now: number, rows: readonly StoredBan[]): void {
    for (const p of this.#store.loadPositions()) this.#positions.set(p.path, p);
    for (const w of this.#store.loadWindows()) {
      if (this.#jails.has(w.jail)) restoreWindow(this.#state, w);
    }
    for (const p of this.#store.loadPrefixWindows()) {
      if (this.#jails.has(p.jail)) restorePrefix(this.#state, p);
    }
    const purgeBefore = now - this.#config.global.dbPurgeAge;
    this.#tryWrite("purge", () => this.#store.purgeHistory(purgeBefore));
    for (const entry of this.#store.loadHistoryCounts(purgeBefore)) {
      restoreHistory(this.#state, entry);
    }
    let restored = 0;
    for (const row of rows) {
      const jail = this.#jails.get(row.jail);
      if (!jail) {
        // A jail removed from the config while stopped: its entries leave the firewall.
        this.#queue({ op: "delete", table: row.jail, target: row.target }, row.jail, undefined);
        continue;
      }
      restoreBan(this.#state, toBanRecord(row));
      restored++;
      if (!row.applied) this.#queueFor(jail, "add", row.target);
    }
    if (restored > 0) this.#logger.info("bans_restored", { count: restored });
  }

  /** Makes each table hold exactly the active bans banwatch owns; foreign entries stay. */
  async #reconcileAll(rows: readonly StoredBan[]): Promise<void> {
    const byTable = new Map<
      string,
      { jail: JailRuntime; desired: Set<string>; owned: Set<string> }
    >();
    for (const jail of this.#jails.values()) {
      const key = `${jail.backendKind}\u0000${jail.config.table}`;
      if (!byTable.has(key)) byTable.set(key, { jail, desired: new Set(), owned: new Set() });
    }
    const now = this.now();
    for (const row of rows) {
      const jail = this.#jails.get(row.jail);
      if (!jail) continue;
      const entry = byTable.get(`${jail.backendKind}\u0000${jail.config.table}`)!;
      entry.owned.add(row.target);
      if (row.until > now) entry.desired.add(row.target);
    }
    // The tables are independent: ask the firewall about all of them at once, so the start
    // waits for the slowest table rather than for the sum (each is a program run or two).
    const tables = [...byTable.values()];
    const listed = await Promise.allSettled(tables.map(async ({ jail }) => {
      await this.#prepare(jail);
      return await jail.backend.list(jail.config.table);
    }));
    for (const [i, { jail, desired, owned }] of tables.entries()) {
      try {
        const result = listed[i]!;
        if (result.status === "rejected") throw result.reason;
        const actual = result.value;
        const plan = reconcile(desired, actual, owned);
        for (const target of plan.add) this.#queueFor(jail, "add", target);
        for (const target of plan.remove) this.#queueFor(jail, "delete", target);
        // Entries already present are applied; record that so they are not re-added.
        const present = new Set(actual);
        this.#tryWrite("reconcile", () => {
          for (const target of desired) {
            if (present.has(target)) this.#store.markApplied(jail.config.name, target, true);
          }
        });
        this.#logger.info("reconciled", {
          jail: jail.config.name,
          table: jail.config.table,
          present: actual.length,
          add: plan.add.length,
          remove: plan.remove.length,
        });
      } catch (error) {
        this.#firewallFailed(error, "reconcile");
      }
    }
  }

  /**
   * Adds each managed ipfw rule (`rule = N`) that is missing. Rules stay on stop, so the
   * tables keep blocking while banwatch is down (or being upgraded).
   */
  async #ensureRules(): Promise<void> {
    const ipfw = this.#config.global.ipfwPath;
    for (const jail of this.#jails.values()) {
      const c = jail.config;
      if (jail.backendKind !== "ipfw" || c.ruleNumber === undefined || !c.manageRule) continue;
      const listed = await this.#options.runner.run([ipfw, "list", String(c.ruleNumber)]);
      if (listed.code === 0 && listed.stdout.includes(`table(${c.table})`)) continue;
      const argv = [
        ipfw,
        ...ipfwRuleArgs(c.table, {
          rule: c.ruleNumber,
          protocol: c.protocol,
          ports: c.ports,
        }),
      ];
      const added = await this.#options.runner.run(argv);
      if (added.code === 0) this.#logger.info("rule_added", { jail: c.name, argv: argv.join(" ") });
      else {
        this.#firewallFailed(new BackendError(argv, added.code, added.stderr.trim()), "rule");
      }
    }
  }

  async #prepare(jail: JailRuntime): Promise<void> {
    const key = `${jail.backendKind}\u0000${jail.config.table}`;
    if (this.#prepared.has(key)) return;
    await jail.backend.prepare([jail.config.table]);
    this.#prepared.add(key);
  }

  async #openTails(): Promise<void> {
    const wanted = new Map<string, JailRuntime[]>();
    for (const jail of this.#jails.values()) {
      jail.paths.clear();
      const paths = await expandLogPaths(jail.config.logPaths);
      for (const path of paths) {
        jail.paths.add(path);
        const list = wanted.get(path) ?? [];
        list.push(jail);
        wanted.set(path, list);
      }
    }
    for (const [path, rt] of this.#tails) {
      if (!wanted.has(path)) {
        rt.tail.close();
        this.#tails.delete(path);
      }
    }
    for (const [path, jails] of wanted) {
      const existing = this.#tails.get(path);
      if (existing) {
        existing.jails = jails;
        continue;
      }
      const tail = new LogTail(path, { logger: this.#logger });
      await tail.open(this.#positions.get(path));
      this.#tails.set(path, { tail, jails, lastRead: undefined });
    }
  }

  /**
   * One poll of every log: handles new lines batch by batch (each committed with its file
   * position), expires bans, and applies pending firewall changes. Returns the lines read and
   * whether a file still has data waiting.
   */
  tick(): Promise<{ lines: number; behind: boolean }> {
    return this.#exclusive(() => this.#tick());
  }

  async #tick(): Promise<{ lines: number; behind: boolean }> {
    let lines = 0;
    let behind = false;
    if (this.#hasGlobs()) await this.#openTails();
    for (const [path, rt] of this.#tails) {
      const batches = await rt.tail.poll();
      for (const batch of batches) lines += await this.#handleBatch(path, rt, batch);
      if (batches.length > 0) rt.lastRead = this.#options.now();
      behind ||= rt.tail.behind;
    }
    const now = this.now();
    const expired = expireBans(this.#state, now);
    if (expired.length > 0) {
      this.#handleActions(expired);
      this.#persist(undefined, expired);
    }
    if (now - this.#lastPrune >= PRUNE_EVERY) {
      // Stale windows would otherwise live until evicted: free their memory and rows.
      this.#lastPrune = now;
      const policies = [...this.#jails.values()].map((j) => j.policy);
      if (pruneWindows(this.#state, { policies, now }) > 0) this.#persist(undefined, []);
    }
    // A state write refused earlier (disk full, read-only) is retried every poll.
    if (this.#backlog || this.#unrecorded.length > 0) this.#persist(undefined, []);
    await this.#flushFirewall();
    return { lines, behind };
  }

  #hasGlobs(): boolean {
    for (const jail of this.#jails.values()) {
      if (jail.config.logPaths.some((p) => /[*?[]/.test(p))) return true;
    }
    return false;
  }

  async #handleBatch(path: string, rt: TailRuntime, batch: Batch): Promise<number> {
    const actions: BanAction[] = [];
    const replay = this.#options.replay ?? false;
    // Read once per batch, not per line and jail (3M clock reads in a 1M-line catch-up, 7% of
    // it): a batch is handled within milliseconds, and the clock only resolves dates here.
    const wall = this.#options.now();
    for (const line of batch.lines) {
      const text = line.text;
      // A cut line lost the text the filters anchor on at its end: never match it.
      if (line.truncated) {
        if (!rt.warnedTruncated) {
          rt.warnedTruncated = true;
          this.#logger.warn("line_truncated", {
            path,
            detail: "a line longer than the line limit was cut and skipped (logged once per file)",
          });
        }
        continue;
      }
      if (text.includes(TURNED_OVER) && /newsyslog\[\d+\]: logfile turned over/.test(text)) {
        continue;
      }
      for (const jail of rt.jails) {
        // The wall clock resolves year-less dates; the replay clock only orders events.
        const v = judgeLine(jail, text, wall);
        if (replay && v.time !== undefined && v.time > this.#replayNow) {
          this.#replayNow = v.time;
          if ((nextExpiry(this.#state) ?? Infinity) <= this.#replayNow) {
            const expired = expireBans(this.#state, this.#replayNow);
            this.#handleActions(expired);
            actions.push(...expired);
          }
        }
        if (v.kind !== "matched") continue;
        if (!replay && v.time > wall + SKEW_WARN && !rt.warnedSkew) {
          rt.warnedSkew = true;
          this.#logger.warn("clock_skew", {
            path,
            line_time: new Date(v.time * 1000).toISOString(),
            detail: "a line is dated in the future; counted as now (check the timezone setting)",
          });
        }
        const addrs = v.addr ? [v.addr] : jail.config.usedns ? await this.#resolve(v.host) : [];
        for (const addr of addrs) {
          const acts = recordFailure(this.#state, jail.policy, {
            addr,
            time: v.time,
            line: text.length > 1000 ? `${text.slice(0, 1000)}…` : text,
          }, {
            // A replay judges each failure at its own time, as if it were read live.
            now: replay ? v.time : this.now(),
            ignore: jail.checks.ignore,
            ignorePrefix: jail.checks.ignorePrefix,
          });
          this.#handleActions(acts);
          actions.push(...acts);
        }
      }
    }
    this.#persist(batch.position, actions);
    this.#positions.set(path, batch.position);
    return batch.lines.length;
  }

  /** Resolves a host name for a `usedns` jail (A and AAAA), cached and bounded. */
  async #resolve(host: string): Promise<IpAddress[]> {
    const now = this.#options.now();
    const cached = this.#dns.get(host);
    if (cached && cached.until > now) return cached.addrs;
    const addrs: IpAddress[] = [];
    for (const type of ["A", "AAAA"] as const) {
      try {
        const signal = AbortSignal.timeout(DNS_TIMEOUT * 1000);
        for (const text of await Deno.resolveDns(host, type, { signal })) {
          const ip = parseIp(text);
          if (ip) addrs.push(ip);
        }
      } catch {
        // NXDOMAIN, timeout: nothing to ban for this name.
      }
    }
    if (this.#dns.size >= DNS_CACHE_MAX) this.#dns.delete(this.#dns.keys().next().value!);
    this.#dns.set(host, { addrs, until: now + DNS_TTL });
    this.#logger.info("dns_resolved", { host, addrs: addrs.map((a) => a.text).join(",") });
    return addrs;
  }

  #handleActions(actions: readonly BanAction[]): void {
    for (const a of actions) {
      if (a.kind === "ban") {
        const jail = this.#jails.get(a.ban.jail);
        const duration = a.ban.until - a.ban.since;
        this.#logger.info("ban", {
          jail: a.ban.jail,
          addr: displayTarget(a.ban.target),
          failures: a.ban.failures,
          bantime: formatDuration(duration),
          count: a.ban.banCount,
          origin: a.ban.origin,
          line: a.ban.line,
        });
        if (jail) {
          if (!a.update) jail.totalBanned++;
          this.#queueFor(jail, "add", a.ban.target);
        }
      } else if (a.kind === "unban") {
        const jail = this.#jails.get(a.jail);
        this.#logger.info("unban", {
          jail: a.jail,
          addr: displayTarget(a.target),
          reason: a.reason,
        });
        if (jail) {
          jail.totalUnbanned++;
          this.#queueFor(jail, "delete", a.target);
        }
      } else {
        this.#logger.warn("ban_refused", { jail: a.jail, addr: a.addr, reason: a.reason });
      }
    }
  }

  #queueFor(jail: JailRuntime, op: "add" | "delete", target: string): void {
    this.#queue({ op, table: jail.config.table, target }, jail.config.name, jail.backendKind);
  }

  #queue(change: FirewallChange, jail: string, kind: BackendKind | undefined): void {
    const backendKind = kind ?? this.#options.backendOverride ?? "ipfw";
    const pending: PendingChange = { ...change, jail, backendKind };
    // The latest wish for an entry wins: a ban then an unban of the same target cancel out.
    this.#pending.set(changeKey(pending), pending);
  }

  /** Saves a batch's position with everything its lines changed, in one transaction. */
  /**
   * Saves a batch's position with everything its lines changed, in one transaction. When the
   * disk refuses (read-only, full), the changes are kept in memory, merged by key, and written
   * together with the next successful transaction: banning goes on meanwhile.
   */
  #persist(position: SavedPosition | undefined, actions: readonly BanAction[]): void {
    const dirty = takeDirty(this.#state);
    const b = this.#backlog ?? emptyBacklog();
    if (position) b.positions.set(position.path, position);
    for (const w of dirty.windows) b.windows.set(`${w.jail}\u0000${w.addr}`, w);
    for (const p of dirty.prefixes) b.prefixes.set(`${p.jail}\u0000${p.prefix}`, p);
    for (const x of dirty.bans) {
      // A lifted ban's row goes only once the firewall entry is gone (see #flushFirewall).
      if (x.ban) b.bans.set(`${x.jail}\u0000${x.target}`, x.ban);
      else b.bans.delete(`${x.jail}\u0000${x.target}`);
    }
    for (const a of actions) {
      if (a.kind === "ban" && !a.update) {
        b.history.push({
          jail: a.ban.jail,
          target: a.ban.target,
          time: a.ban.since,
          bantime: a.ban.until - a.ban.since,
        });
      }
    }
    try {
      this.#store.transaction(() => {
        for (const pos of b.positions.values()) this.#store.savePosition(pos);
        for (const w of b.windows.values()) this.#store.saveWindow(w.jail, w.addr, w.times);
        for (const p of b.prefixes.values()) {
          this.#store.savePrefixWindow(p.jail, p.prefix, p.members);
        }
        for (const ban of b.bans.values()) this.#store.upsertBan({ ...ban, applied: false });
        for (const h of b.history) this.#store.addHistory(h.jail, h.target, h.time, h.bantime);
        this.#record(this.#unrecorded);
      });
    } catch (error) {
      if (!this.#backlog) {
        this.#logger.error("state_write_failed", {
          path: this.#store.path,
          error: error instanceof Error ? error.message : String(error),
          detail: "banning continues from memory; the state is written once the disk accepts it",
        });
      }
      this.#backlog = b;
      return;
    }
    this.#unrecorded = [];
    if (this.#backlog) {
      this.#logger.info("state_write_recovered", {
        path: this.#store.path,
        positions: b.positions.size,
      });
      this.#backlog = undefined;
    }
  }

  /** Runs a small state write whose loss a restart repairs; a failure is logged, not thrown. */
  #tryWrite(what: string, fn: () => void): boolean {
    try {
      this.#store.transaction(fn);
      return true;
    } catch (error) {
      this.#logger.warn("state_write_failed", {
        path: this.#store.path,
        during: what,
        error: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
  }

  /** Records applied firewall changes: adds are marked applied, gone entries lose their row. */
  #record(changes: readonly PendingChange[]): void {
    for (const c of changes) {
      if (c.op === "add") this.#store.markApplied(c.jail, c.target, true);
      else this.#store.deleteBan(c.jail, c.target);
    }
  }

  async #flushFirewall(): Promise<void> {
    if (this.#pending.size === 0) return;
    const now = this.#options.now();
    if (now < this.#backoffUntil) return;
    const active = this.#activeKeys();
    const byKind = new Map<BackendKind, PendingChange[]>();
    const shared: PendingChange[] = [];
    for (const change of this.#pending.values()) {
      // Never delete an entry another jail sharing the table still bans.
      if (change.op === "delete" && this.#stillBanned(change, active)) {
        shared.push(change);
        continue;
      }
      const list = byKind.get(change.backendKind) ?? [];
      list.push(change);
      byKind.set(change.backendKind, list);
    }
    for (const c of shared) this.#pending.delete(changeKey(c));
    if (shared.length > 0) {
      this.#tryWrite("unban", () => {
        for (const c of shared) this.#store.deleteBan(c.jail, c.target);
      });
    }
    for (const [kind, changes] of byKind) {
      const backend = this.#backendFor(kind);
      try {
        for (const jail of this.#jails.values()) {
          if (jail.backendKind === kind) await this.#prepare(jail);
        }
        await backend.apply(changes.map(({ op, table, target }) => ({ op, table, target })));
      } catch (error) {
        this.#firewallFailed(error, "apply");
        return;
      }
      this.#backoff = 0;
      for (const c of changes) this.#pending.delete(changeKey(c));
      const record = changes.filter((c) =>
        c.op === "add" || !active.has(`${c.jail}\u0000${c.target}`)
      );
      if (this.#backlog) this.#unrecorded.push(...record);
      else if (!this.#tryWrite("firewall", () => this.#record(record))) {
        this.#unrecorded.push(...record);
      }
    }
  }

  /** `jail\0target` of every active ban, built once per flush (a lookup per change). */
  #activeKeys(): Set<string> {
    const keys = new Set<string>();
    for (const b of activeBans(this.#state)) keys.add(`${b.jail}\u0000${b.target}`);
    return keys;
  }

  #stillBanned(change: PendingChange, active: ReadonlySet<string>): boolean {
    for (const jail of this.#jails.values()) {
      if (jail.config.name === change.jail) continue;
      if (jail.backendKind !== change.backendKind || jail.config.table !== change.table) continue;
      if (active.has(`${jail.config.name}\u0000${change.target}`)) return true;
    }
    return false;
  }

  #firewallFailed(error: unknown, during: string): void {
    this.#backoff = Math.min(MAX_BACKOFF, this.#backoff === 0 ? 1 : this.#backoff * 2);
    this.#backoffUntil = this.#options.now() + this.#backoff;
    const e = error as {
      argv?: readonly string[];
      code?: number;
      stderr?: string;
      message?: string;
    };
    this.#logger.error("firewall_failed", {
      during,
      argv: e.argv?.join(" "),
      code: e.code,
      stderr: e.stderr,
      error: e.argv ? undefined : e.message ?? String(error),
      pending: this.#pending.size,
      retry_in: `${this.#backoff}s`,
    });
  }

  /** Runs `fn` after every earlier tick or control request finished (one at a time). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#busy.then(fn, fn);
    this.#busy = next.catch(() => undefined);
    return next;
  }

  /** Seconds until the next poll is due. */
  get pollInterval(): number {
    return this.#config.global.pollInterval;
  }

  /** True when every log was read to its end (replay mode's stop condition). */
  get idle(): boolean {
    for (const rt of this.#tails.values()) if (rt.tail.behind) return false;
    return true;
  }

  // ---- control handler -------------------------------------------------------------------

  /** The status report for one jail or all. */
  status(jail?: string): StatusReport {
    if (jail !== undefined && !this.#jails.has(jail)) throw new UsageError(`no jail "${jail}"`);
    const stats = banStats(this.#state);
    const failing = windowStats(this.#state);
    const jails: JailStatus[] = [];
    for (const rt of this.#jails.values()) {
      if (jail !== undefined && rt.config.name !== jail) continue;
      const files: JailFileStatus[] = [...rt.paths].map((path) => ({
        path,
        offset: this.#tails.get(path)?.tail.position?.offset ?? this.#positions.get(path)?.offset ??
          0,
        lastRead: this.#tails.get(path)?.lastRead,
      }));
      let pending = 0;
      for (const c of this.#pending.values()) if (c.jail === rt.config.name) pending++;
      jails.push({
        name: rt.config.name,
        enabled: true,
        backend: rt.backendKind,
        table: rt.config.table,
        files,
        failing: failing.get(rt.config.name)?.addrs ?? 0,
        failures: failing.get(rt.config.name)?.failures ?? 0,
        banned: activeBans(this.#state, rt.config.name).length,
        totalBanned: rt.totalBanned,
        totalUnbanned: rt.totalUnbanned,
        pending,
        evictions: stats.evictions,
        ...(rt.sessions
          ? { sessions: { open: rt.sessions.size, evicted: rt.sessions.evictions } }
          : {}),
      });
    }
    return {
      version: VERSION,
      pid: this.#options.pid ?? 0,
      running: true,
      configFile: this.#config.file,
      configLoadedAt: this.#configLoadedAt,
      startedAt: this.#startedAt,
      jails,
    };
  }

  /** Active bans, for one jail or all. */
  banned(jail?: string): BannedEntry[] {
    return activeBans(this.#state, jail).map(toEntry).sort((a, b) => a.since - b.since);
  }

  /** Bans by hand; refuses protected addresses unless forced. */
  ban(
    jail: string,
    addr: string,
    options: { duration?: number; force?: boolean },
  ): Promise<BannedEntry> {
    return this.#exclusive(async () => {
      const rt = this.#jails.get(jail);
      if (!rt) throw new UsageError(`no jail "${jail}"`);
      const target = parseCidr(addr);
      if (!target) throw new UsageError(`"${addr}" is not an address or CIDR`);
      if (!options.force) {
        const ip = parseIp(addr);
        const reason = ip ? rt.checks.ignore(ip) : rt.checks.ignorePrefix(target);
        if (reason) {
          throw new UsageError(`refusing to ban ${addr}: ${reason} (use --force to override)`);
        }
      }
      const actions = manualBan(this.#state, jail, {
        target,
        banTime: options.duration ?? rt.config.banTime,
        now: this.now(),
      });
      this.#handleActions(actions);
      this.#persist(undefined, actions);
      await this.#flushFirewall();
      const ban = activeBans(this.#state, jail).find((b) => b.target === target.text);
      if (!ban) throw new Error(`ban of ${addr} in ${jail} did not take`);
      return toEntry(ban);
    });
  }

  /** Lifts bans of one address (or all), in one jail or all. */
  unban(options: { addr?: string; all?: boolean; jail?: string }): Promise<{ removed: number }> {
    return this.#exclusive(async () => {
      if (options.jail !== undefined && !this.#jails.has(options.jail)) {
        throw new UsageError(`no jail "${options.jail}"`);
      }
      let actions: BanAction[] = [];
      if (options.all) actions = unbanAll(this.#state, options.jail);
      else {
        const target = options.addr === undefined ? undefined : parseCidr(options.addr);
        if (!target) throw new UsageError(`"${options.addr}" is not an address or CIDR`);
        for (const jail of this.#jails.keys()) {
          if (options.jail === undefined || options.jail === jail) {
            actions.push(...manualUnban(this.#state, jail, target));
          }
        }
      }
      this.#handleActions(actions);
      this.#persist(undefined, actions);
      await this.#flushFirewall();
      return { removed: actions.filter((a) => a.kind === "unban").length };
    });
  }

  /** Forgets a jail's failure windows (its bans stay). */
  flush(jail: string): Promise<{ forgotten: number }> {
    return this.#exclusive(() => {
      if (!this.#jails.has(jail)) throw new UsageError(`no jail "${jail}"`);
      const forgotten = forgetWindows(this.#state, jail);
      this.#tryWrite("flush", () => this.#store.deleteWindowsForJail(jail));
      return Promise.resolve({ forgotten });
    });
  }

  /** Validates the configuration file again; on success applies it, else keeps the old one. */
  reload(): Promise<{ ok: true } | { ok: false; problems: string[] }> {
    return this.#exclusive(async () => {
      if (!this.#options.reloadConfig) return { ok: false, problems: ["reload is not available"] };
      let config: Config;
      try {
        config = await this.#options.reloadConfig();
      } catch (error) {
        const problems = (error as { problems?: string[] }).problems ??
          [error instanceof Error ? error.message : String(error)];
        this.#logger.error("reload_failed", {
          detail: "the running configuration stays",
          problems: problems.length,
          first: problems[0],
        });
        return { ok: false, problems };
      }
      const removed = [...this.#jails.keys()].filter((name) =>
        !config.jails.some((j) => j.enabled && j.name === name)
      );
      this.#config = config;
      this.#buildJails(config);
      for (const name of removed) {
        // A removed jail's bans leave the firewall with it.
        for (const ban of activeBans(this.#state, name)) {
          this.#queue({ op: "delete", table: name, target: ban.target }, name, undefined);
        }
        this.#handleActions(unbanAll(this.#state, name));
      }
      this.#persist(undefined, []);
      await this.#openTails();
      await this.#flushFirewall();
      this.#configLoadedAt = this.#options.now();
      this.#logger.info("reloaded", { file: config.file, jails: this.#jails.size });
      return { ok: true };
    });
  }

  /** Stops: closes the logs and the database; with `unban`, removes the bans from the tables. */
  async close(options: { unban?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#busy;
    if (options.unban ?? this.#config.global.unbanOnStop) {
      for (const ban of activeBans(this.#state)) {
        const jail = this.#jails.get(ban.jail);
        if (jail) this.#queueFor(jail, "delete", ban.target);
      }
      await this.#flushFirewall();
    }
    for (const rt of this.#tails.values()) rt.tail.close();
    this.#tails.clear();
    this.#store.close();
  }
}
