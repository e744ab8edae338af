/**
 * The daemon's writes to the state database. A batch's file position is saved in the SAME
 * transaction as the windows, bans and history its lines produced (exactly once). When the
 * disk refuses (read-only, full), the changes stay in memory as a backlog, merged by key, and
 * go out with the next transaction that succeeds: banning goes on meanwhile.
 * @module
 */
import { type BanAction, takeDirty } from "../decide/mod.ts";
import type { SavedPosition } from "../source/mod.ts";
import { type FailureCount, HOUR } from "../state/mod.ts";
import {
  type Backlog,
  type DaemonContext,
  daemonNow,
  errorText,
  type PendingChange,
} from "./context.ts";

function emptyBacklog(): Backlog {
  return {
    positions: new Map(),
    windows: new Map(),
    prefixes: new Map(),
    bans: new Map(),
    history: [],
    events: [],
    failures: new Map(),
  };
}

/**
 * Adds one failure to a batch's counts per hour, jail and address (for `banwatch report`).
 * @param counts the batch's counts by `hour\0jail\0addr` (mutated)
 * @param failure the jail, the address and the failure's time (epoch seconds)
 */
export function tallyFailure(
  counts: Map<string, FailureCount>,
  failure: { jail: string; addr: string; time: number },
): void {
  const hour = Math.floor(failure.time / HOUR) * HOUR;
  const key = `${hour}\u0000${failure.jail}\u0000${failure.addr}`;
  const c = counts.get(key);
  if (c) c.count++;
  else counts.set(key, { hour, jail: failure.jail, addr: failure.addr, count: 1 });
}

/**
 * Saves a batch's position with everything its lines changed, in one transaction. When the
 * disk refuses (read-only, full), the changes are kept in memory, merged by key, and written
 * together with the next successful transaction: banning goes on meanwhile.
 * With no `position` (control requests, expiry) only the decisions are saved.
 * @param batch.position the batch's end
 * @param batch.actions the ban actions taken, for the history of new bans
 * @param batch.failures the batch's failure counts (see {@link tallyFailure})
 */
export function persist(
  ctx: DaemonContext,
  batch: {
    position?: SavedPosition;
    actions?: readonly BanAction[];
    failures?: ReadonlyMap<string, FailureCount>;
  } = {},
): void {
  const { position, actions = [] } = batch;
  const { store, logger } = ctx;
  const dirty = takeDirty(ctx.state);
  const b = ctx.backlog ?? emptyBacklog();
  if (position) b.positions.set(position.path, position);
  for (const w of dirty.windows) b.windows.set(`${w.jail}\u0000${w.addr}`, w);
  for (const p of dirty.prefixes) b.prefixes.set(`${p.jail}\u0000${p.prefix}`, p);
  for (const x of dirty.bans) {
    // A lifted ban's row goes only once the firewall entry is gone (see enforce.ts).
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
    if (a.kind === "ban" && !a.update) {
      const { since, jail, target, failures, banCount, origin } = a.ban;
      const bantime = a.ban.until - since;
      b.events.push({
        time: since,
        kind: "ban",
        jail,
        target,
        failures,
        banCount,
        bantime,
        origin,
      });
    } else if (a.kind === "unban") {
      b.events.push({
        time: daemonNow(ctx),
        kind: "unban",
        jail: a.jail,
        target: a.target,
        detail: a.reason,
      });
    }
  }
  for (const [key, c] of batch.failures ?? []) {
    const had = b.failures.get(key);
    if (had) had.count += c.count;
    else b.failures.set(key, { ...c });
  }
  try {
    store.transaction(() => {
      for (const pos of b.positions.values()) store.savePosition(pos);
      for (const w of b.windows.values()) store.saveWindow(w.jail, w.addr, w.times);
      for (const p of b.prefixes.values()) store.savePrefixWindow(p.jail, p.prefix, p.members);
      for (const ban of b.bans.values()) {
        const jail = ctx.jails.get(ban.jail);
        const at = jail ? { backend: jail.backendKind, table: jail.config.table } : {};
        store.upsertBan({ ...ban, applied: false, ...at });
      }
      for (const h of b.history) store.addHistory(h.jail, h.target, h.time, h.bantime);
      store.events.addEvents(b.events);
      store.events.addFailures(b.failures.values());
      recordApplied(ctx, ctx.unrecorded);
    });
  } catch (error) {
    if (!ctx.backlog) {
      logger.error("state_write_failed", {
        path: store.path,
        error: errorText(error),
        detail: "banning continues from memory; the state is written once the disk accepts it",
      });
    }
    ctx.backlog = b;
    return;
  }
  ctx.unrecorded = [];
  if (ctx.backlog) {
    logger.info("state_write_recovered", { path: store.path, positions: b.positions.size });
    ctx.backlog = undefined;
  }
}

/** True while state is waiting for the disk (retried every poll). */
export function writesWaiting(ctx: DaemonContext): boolean {
  return ctx.backlog !== undefined || ctx.unrecorded.length > 0;
}

/**
 * Runs a small state write whose loss a restart repairs; a failure is logged, not thrown.
 * @param what the log's `during` field ("purge", "reconcile", "flush", ...)
 * @returns whether the write was committed
 */
export function tryWrite(ctx: DaemonContext, what: string, fn: () => void): boolean {
  try {
    ctx.store.transaction(fn);
    return true;
  } catch (error) {
    ctx.logger.warn("state_write_failed", {
      path: ctx.store.path,
      during: what,
      error: errorText(error),
    });
    return false;
  }
}

/**
 * Records applied firewall changes: adds are marked applied, gone entries lose their row.
 * Call inside a transaction.
 */
export function recordApplied(ctx: DaemonContext, changes: readonly PendingChange[]): void {
  for (const c of changes) {
    if (c.op === "add") ctx.store.markApplied(c.jail, c.target, true);
    else ctx.store.deleteBan(c.jail, c.target);
  }
}
