/**
 * Where each ban lives in the firewall: the backend kind and table it was applied with. A ban
 * row records both (state schema 3), so lifting it (expiry, unban, a jail removed or disabled,
 * `unban_on_stop`, a restart) reaches that backend and table whatever the configuration says
 * now. A running jail's bans always live in its current backend and table: when a reload (or a
 * restart) changes them, the bans move (deleted from the old table, added to the new one).
 *
 * Also here: what `status` and `banned` show of firewall work that is still pending for jails
 * no longer running, and for bans whose lift has not reached the firewall yet.
 * @module
 */
import { foreverToNull } from "../core/mod.ts";
import type { BanRecord } from "../decide/mod.ts";
import { activeBans } from "../decide/mod.ts";
import type { BackendKind, Config } from "../config/mod.ts";
import type { BannedEntry, JailStatus } from "../control/mod.ts";
import type { StoredBan } from "../state/mod.ts";
import type { DaemonContext, JailRuntime } from "./context.ts";
import { queueChange } from "./enforce.ts";
import { tryWrite } from "./persist.ts";

/** A backend kind and a table: where a ban is applied. */
export interface Placement {
  /** The backend kind. */
  kind: BackendKind;
  /** The table (ipfw/pf table name; nft set prefix). */
  table: string;
}

const KINDS: readonly string[] = ["ipfw", "pf", "nft", "dry-run"];

function isKind(text: string | undefined): text is BackendKind {
  return text !== undefined && KINDS.includes(text);
}

/** Where a running jail applies its bans now. */
export function placementOfJail(jail: JailRuntime): Placement {
  return { kind: jail.backendKind, table: jail.config.table };
}

/**
 * Where a stored ban lives: its own columns, or (a row written before schema 3) the jail's
 * backend and table in `config`, enabled or not (the override first, as the daemon applied it);
 * for a jail no longer configured, ipfw (the default backend) and the jail's name (the default
 * table), which is what an older banwatch used.
 */
export function placementOfRow(
  row: StoredBan,
  options: { config: Config; override?: BackendKind | undefined },
): Placement {
  if (isKind(row.backend) && row.table !== undefined) {
    return { kind: row.backend, table: row.table };
  }
  const jail = options.config.jails.find((j) => j.name === row.jail);
  return {
    kind: options.override ?? jail?.backend ?? "ipfw",
    table: jail?.table ?? row.jail,
  };
}

function same(a: Placement, b: Placement): boolean {
  return a.kind === b.kind && a.table === b.table;
}

/**
 * At start: fills the placement of rows written before schema 3, queues the lift of bans of
 * jails that are not running (removed or disabled) at their own backend and table, and moves
 * the bans of running jails whose backend or table changed while banwatch was stopped.
 * Returns the rows the running jails restore (with their placement now current).
 * @param rows the stored bans
 */
export function placeStoredBans(ctx: DaemonContext, rows: readonly StoredBan[]): StoredBan[] {
  const kept: StoredBan[] = [];
  const fills: Array<{ row: StoredBan; at: Placement; applied?: boolean }> = [];
  const override = ctx.options.backendOverride;
  for (const row of rows) {
    const at = placementOfRow(row, { config: ctx.config, override });
    if (row.backend === undefined || row.table === undefined) fills.push({ row, at });
    const jail = ctx.jails.get(row.jail);
    if (!jail) {
      // Not running (removed or disabled while stopped): its entry leaves the firewall.
      queueChange(ctx, {
        op: "delete",
        table: at.table,
        target: row.target,
        jail: row.jail,
        kind: at.kind,
        ban: row,
      });
      continue;
    }
    const now = placementOfJail(jail);
    if (!same(at, now)) {
      queueChange(ctx, {
        op: "delete",
        table: at.table,
        target: row.target,
        jail: row.jail,
        kind: at.kind,
      });
      fills.push({ row, at: now, applied: false });
      kept.push({ ...row, backend: now.kind, table: now.table, applied: false });
      moved(ctx, row.jail, row.target, at, now);
      continue;
    }
    kept.push(row);
  }
  if (fills.length > 0) {
    tryWrite(ctx, "placement", () => {
      for (const { row, at, applied } of fills) {
        ctx.store.setPlacement(row.jail, row.target, { backend: at.kind, table: at.table });
        if (applied !== undefined) ctx.store.markApplied(row.jail, row.target, applied);
      }
    });
  }
  return kept;
}

function moved(ctx: DaemonContext, jail: string, target: string, from: Placement, to: Placement) {
  ctx.logger.info("ban_moved", {
    jail,
    addr: target,
    from: `${from.kind}:${from.table}`,
    to: `${to.kind}:${to.table}`,
  });
}

/**
 * On reload, before the jails are rebuilt: where each running jail applies its bans now.
 * Give the result to {@link followReload} after the rebuild.
 */
export function placementsBefore(ctx: DaemonContext): Map<string, Placement> {
  const out = new Map<string, Placement>();
  for (const [name, jail] of ctx.jails) out.set(name, placementOfJail(jail));
  return out;
}

/**
 * On reload, after the jails are rebuilt: the bans of a jail no longer running (removed or
 * disabled) are lifted from the backend and table they were applied with (the lift is queued
 * here; the caller then drops the bans from the decision state), and the bans of a jail whose
 * backend or table changed move there.
 * @param before {@link placementsBefore}'s result
 * @returns the names of the jails no longer running
 */
export function followReload(ctx: DaemonContext, before: ReadonlyMap<string, Placement>): string[] {
  const removed: string[] = [];
  const moves: Array<{ ban: BanRecord; to: Placement }> = [];
  for (const [name, was] of before) {
    const jail = ctx.jails.get(name);
    if (!jail) removed.push(name);
    const now = jail ? placementOfJail(jail) : undefined;
    if (now && same(was, now)) continue;
    for (const ban of activeBans(ctx.state, name)) {
      queueChange(ctx, {
        op: "delete",
        table: was.table,
        target: ban.target,
        jail: name,
        kind: was.kind,
        ...(now ? {} : { ban }),
      });
      if (now) {
        queueChange(ctx, {
          op: "add",
          table: now.table,
          target: ban.target,
          jail: name,
          kind: now.kind,
        });
        moves.push({ ban, to: now });
        moved(ctx, name, ban.target, was, now);
      }
    }
  }
  if (moves.length > 0) {
    tryWrite(ctx, "placement", () => {
      for (const { ban, to } of moves) {
        ctx.store.setPlacement(ban.jail, ban.target, { backend: to.kind, table: to.table });
        ctx.store.markApplied(ban.jail, ban.target, false);
      }
    });
  }
  return removed;
}

/**
 * `status` lines for jails that are not running but still have firewall changes pending (a
 * jail removed or disabled whose bans are being lifted): enabled false, no files, counts 0.
 * @param jail only this jail, when given
 */
export function pendingOnlyJails(ctx: DaemonContext, jail?: string): JailStatus[] {
  const byJail = new Map<string, { kind: string; table: string; n: number }>();
  for (const c of ctx.pending.values()) {
    if (ctx.jails.has(c.jail) || (jail !== undefined && c.jail !== jail)) continue;
    const entry = byJail.get(c.jail);
    if (entry) entry.n++;
    else byJail.set(c.jail, { kind: c.backendKind, table: c.table, n: 1 });
  }
  return [...byJail].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([name, e]) => ({
    name,
    enabled: false,
    backend: e.kind,
    table: e.table,
    files: [],
    failing: 0,
    failures: 0,
    banned: 0,
    totalBanned: 0,
    totalUnbanned: 0,
    pending: e.n,
    evictions: 0,
  }));
}

/**
 * `banned` entries for bans already lifted in banwatch whose firewall entry is still there
 * (the delete is pending, e.g. while the firewall fails): `liftPending: true`.
 * @param jail only this jail, when given
 */
export function liftPendingEntries(ctx: DaemonContext, jail?: string): BannedEntry[] {
  const out: BannedEntry[] = [];
  const active = new Set<string>();
  for (const b of activeBans(ctx.state, jail)) active.add(`${b.jail}\u0000${b.target}`);
  for (const c of ctx.pending.values()) {
    if (c.op !== "delete" || (jail !== undefined && c.jail !== jail)) continue;
    if (active.has(`${c.jail}\u0000${c.target}`)) continue; // a move, not a lift
    const ban = c.ban ?? ctx.store.findBan(c.jail, c.target);
    out.push({
      jail: c.jail,
      target: c.target,
      since: ban?.since ?? 0,
      until: ban === undefined ? null : foreverToNull(ban.until),
      failures: ban?.failures ?? 0,
      banCount: ban?.banCount ?? 0,
      origin: ban?.origin ?? "auto",
      backend: c.backendKind,
      table: c.table,
      liftPending: true,
    });
  }
  return out;
}
