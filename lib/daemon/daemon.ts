/**
 * The imperative shell of `banwatch run`: wires log tails -> filters -> ban decisions ->
 * state database -> firewall, and answers the control socket. {@link Daemon} only starts,
 * polls, serialises and stops; the work is in the parts, each a set of functions over one
 * shared {@link DaemonContext}:
 *
 * - jails.ts: jails built from the configuration, state restored, logs opened
 * - ingest.ts: lines -> verdicts -> failures -> ban actions (dns.ts resolves `usedns` names)
 * - persist.ts: the state writes, and the backlog when the disk refuses them
 * - enforce.ts: the firewall queue with backoff, reconcile and managed ipfw rules
 * - placement.ts: each ban's own backend and table; repair.ts: the firewall check
 * - handlers.ts: the control requests
 * - hook_events.ts, hooks.ts: `on_ban`/`on_unban` runs, queued, never delaying a ban
 * - metrics.ts, prom_text.ts: the Prometheus `metrics_file`
 *
 * Exactly once: each batch of lines is handled, then its file position is saved in the SAME
 * SQLite transaction as the windows, bans and history those lines produced. Firewall changes
 * run after the commit. At start the tables are reconciled with the database.
 * @module
 */
import type { BannedEntry, ControlHandler, StatusReport } from "../control/mod.ts";
import { activeBans, expireBans } from "../decide/mod.ts";
import { openStore } from "../state/mod.ts";
import { createContext, type DaemonContext, daemonNow, type DaemonOptions } from "./context.ts";
import { resolveHost } from "./dns.ts";
import { startHooks } from "./hook_events.ts";
import {
  applyActions,
  backendFor,
  ensureRules,
  flushFirewall,
  queueFor,
  reconcileTables,
} from "./enforce.ts";
import {
  banByHand,
  bannedEntries,
  flushWindows,
  reloadConfig,
  statusReport,
  unbanByHand,
} from "./handlers.ts";
import { expireAndPrune, readLogs } from "./ingest.ts";
import { buildJails, hasGlobs, openTails, restoreState } from "./jails.ts";
import { writeMetrics, writeMetricsIfDue } from "./metrics.ts";
import { persist, writesWaiting } from "./persist.ts";
import { checkFirewallIfDue } from "./repair.ts";
import {
  CROWDSEC_JAIL,
  crowdsecBanned,
  crowdsecLift,
  crowdsecStatus,
  crowdsecTick,
  startCrowdsec,
  stopCrowdsec,
} from "./crowdsec.ts";

/** The running daemon; also the control socket's handler. */
export class Daemon implements ControlHandler {
  #ctx: DaemonContext;
  #busy: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  /** Opens the state, restores bans and windows, reconciles the firewall and opens the logs. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const dir = options.config.global.stateDir;
    const store = openStore(`${dir}/state.db`, { logger: options.logger, now: options.now });
    const daemon = new Daemon(
      createContext(options, { store, resolve: options.resolve ?? resolveHost }),
    );
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
    return daemonNow(this.#ctx);
  }

  async #init(): Promise<void> {
    const ctx = this.#ctx;
    const { store } = ctx;
    if (store.recovery.recovered) {
      ctx.logger.error("state_recovered", {
        detail: "the state database was unreadable and was moved aside; starting fresh",
        moved_to: store.recovery.movedTo,
        reason: store.recovery.reason,
      });
    }
    buildJails(ctx, ctx.config);
    const now = this.now();
    const rows = restoreState(ctx, store.loadBans(), now);
    await reconcileTables(ctx, rows, this.now());
    await ensureRules(ctx);
    applyActions(ctx, expireBans(ctx.state, now));
    persist(ctx);
    await startCrowdsec(ctx, {
      backend: (kind) => backendFor(ctx, ctx.options.backendOverride ?? kind),
    });
    await openTails(ctx);
    await flushFirewall(ctx);
    startHooks(ctx);
    writeMetricsIfDue(ctx);
  }

  /**
   * One poll of every log: handles new lines batch by batch (each committed with its file
   * position), expires bans, and applies pending firewall changes. Returns the lines read and
   * whether a file still has data waiting.
   */
  tick(): Promise<{ lines: number; behind: boolean }> {
    return this.#exclusive(async () => {
      const ctx = this.#ctx;
      if (hasGlobs(ctx)) await openTails(ctx);
      const result = await readLogs(ctx);
      expireAndPrune(ctx);
      // A state write refused earlier (disk full, read-only) is retried every poll.
      if (writesWaiting(ctx)) persist(ctx);
      await checkFirewallIfDue(ctx);
      await flushFirewall(ctx);
      writeMetricsIfDue(ctx);
      await crowdsecTick(ctx);
      return result;
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
    return this.#ctx.config.global.pollInterval;
  }

  /** True when every log was read to its end (replay mode's stop condition). */
  get idle(): boolean {
    for (const rt of this.#ctx.tails.values()) if (rt.tail.behind) return false;
    return true;
  }

  // ---- control handler: each request waits for the poll or request before it -------------

  /** The status report for one jail or all. */
  status(jail?: string): StatusReport {
    const link = crowdsecStatus(this.#ctx);
    const report = statusReport(this.#ctx, jail);
    return link ? { ...report, crowdsec: link } : report;
  }

  /** Active bans, for one jail or all. */
  banned(jail?: string): BannedEntry[] {
    if (jail === CROWDSEC_JAIL) return crowdsecBanned(this.#ctx);
    const local = bannedEntries(this.#ctx, jail);
    return jail === undefined ? [...local, ...crowdsecBanned(this.#ctx)] : local;
  }

  /** Bans by hand; refuses protected addresses unless forced. */
  ban(
    jail: string,
    addr: string,
    options: { duration?: number; force?: boolean },
  ): Promise<BannedEntry> {
    return this.#exclusive(() => banByHand(this.#ctx, { ...options, jail, addr }));
  }

  /** Lifts bans of one address (or all), in one jail or all (CrowdSec's remote bans too). */
  unban(
    options: { addr?: string; all?: boolean; jail?: string; covering?: boolean },
  ): Promise<{ removed: number; covering?: BannedEntry[] }> {
    return this.#exclusive(async () => {
      const local = options.jail === CROWDSEC_JAIL
        ? { removed: 0 }
        : await unbanByHand(this.#ctx, options);
      const remote = options.jail === undefined || options.jail === CROWDSEC_JAIL
        ? await crowdsecLift(this.#ctx, options)
        : 0;
      return { ...local, removed: local.removed + remote };
    });
  }

  /** Forgets a jail's failure windows (its bans stay). */
  flush(jail: string): Promise<{ forgotten: number }> {
    return this.#exclusive(() => Promise.resolve(flushWindows(this.#ctx, jail)));
  }

  /** Validates the configuration file again; on success applies it, else keeps the old one. */
  reload(): Promise<{ ok: true } | { ok: false; problems: string[] }> {
    return this.#exclusive(() => reloadConfig(this.#ctx));
  }

  /** Stops: closes the logs and the database; with `unban`, removes the bans from the tables. */
  async close(options: { unban?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#busy;
    const ctx = this.#ctx;
    if (options.unban ?? ctx.config.global.unbanOnStop) {
      for (const ban of activeBans(ctx.state)) {
        const jail = ctx.jails.get(ban.jail);
        if (jail) queueFor(ctx, jail, { op: "delete", target: ban.target });
      }
      await flushFirewall(ctx);
    }
    // Hooks of the last bans still get their time (each is killed after hook_timeout).
    await ctx.hooks.close(ctx.config.global.hookTimeout);
    writeMetrics(ctx);
    await stopCrowdsec(ctx);
    for (const rt of ctx.tails.values()) rt.tail.close();
    ctx.tails.clear();
    ctx.store.close();
  }
}
