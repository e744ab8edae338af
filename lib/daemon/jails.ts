/**
 * The jails while they run: built from the configuration (at start and on reload), their
 * windows, bans and file positions restored from the database at start, and the log files
 * their logpath globs name opened at the saved positions.
 * @module
 */
import { toBanRecord } from "../core/mod.ts";
import {
  createIgnoreChecks,
  policyOf,
  restoreBan,
  restoreHistory,
  restorePrefix,
  restoreWindow,
} from "../decide/mod.ts";
import type { Config } from "../config/mod.ts";
import { compileFilter, quickFilter, SessionTracker, usesSessions } from "../filter/mod.ts";
import { expandLogPaths } from "../source/mod.ts";
import type { StoredBan } from "../state/mod.ts";
import type { DaemonContext, JailRuntime } from "./context.ts";
import { backendFor, queueFor } from "./enforce.ts";
import { openTail } from "./files.ts";
import { placeStoredBans } from "./placement.ts";
import { tryWrite } from "./persist.ts";

/**
 * Replaces the context's jails with the enabled jails of `config`. A jail kept over a reload
 * keeps its open connections and its ban counters.
 */
export function buildJails(ctx: DaemonContext, config: Config): void {
  const old = ctx.jails;
  ctx.jails = new Map();
  for (const jail of config.jails) {
    if (!jail.enabled) continue;
    const kind = ctx.options.backendOverride ?? jail.backend;
    const previous = old.get(jail.name);
    const quick = quickFilter(compileFilter({ ...jail.filter, usedns: jail.usedns }));
    const filter = quick.filter;
    ctx.jails.set(jail.name, {
      config: jail,
      ...quick,
      // A reload keeps the connections seen so far (their ids do not depend on the config).
      sessions: usesSessions(filter) ? previous?.sessions ?? new SessionTracker() : undefined,
      policy: policyOf(jail),
      checks: createIgnoreChecks(config.global, jail, ctx.options.ownAddresses ?? []),
      backend: backendFor(ctx, kind),
      backendKind: kind,
      paths: new Set(),
      totalBanned: previous?.totalBanned ?? 0,
      totalUnbanned: previous?.totalUnbanned ?? 0,
      lines: previous?.lines ?? 0,
      failures: previous?.failures ?? 0,
      ignored: previous?.ignored ?? 0,
    });
  }
}

/**
 * Loads the file positions, the windows and history of configured jails, and the ban rows:
 * a running jail's bans are restored (unapplied ones queued again), the entries of a jail not
 * running (removed or disabled) are queued for deletion at the backend and table they were
 * applied with (placement.ts). Purges history older than `dbpurgeage` first.
 * @param stored the stored bans
 * @returns the rows of running jails, placed where they are applied now (what the tables are
 *   reconciled with)
 */
export function restoreState(
  ctx: DaemonContext,
  stored: readonly StoredBan[],
  now: number,
): StoredBan[] {
  const { store, state } = ctx;
  for (const p of store.loadPositions()) ctx.positions.set(p.path, p);
  for (const w of store.loadWindows()) {
    if (ctx.jails.has(w.jail)) restoreWindow(state, w);
  }
  for (const p of store.loadPrefixWindows()) {
    if (ctx.jails.has(p.jail)) restorePrefix(state, p);
  }
  const purgeBefore = now - ctx.config.global.dbPurgeAge;
  tryWrite(ctx, "purge", () => store.purgeHistory(purgeBefore));
  for (const entry of store.loadHistoryCounts(purgeBefore)) restoreHistory(state, entry);
  let restored = 0;
  const rows = placeStoredBans(ctx, stored);
  for (const row of rows) {
    const jail = ctx.jails.get(row.jail);
    if (!jail) continue;
    // Only the BanRecord fields (not applied/backend/table); the store already read an
    // unknown origin as a known one (banOriginOf).
    restoreBan(state, toBanRecord(row));
    restored++;
    if (!row.applied) queueFor(ctx, jail, { op: "add", target: row.target });
  }
  if (restored > 0) ctx.logger.info("bans_restored", { count: restored });
  return rows;
}

/**
 * Opens every log file the jails name (globs expanded now) at its saved position, closes
 * files no jail names any more, and records which jails read each file.
 */
export async function openTails(ctx: DaemonContext): Promise<void> {
  const wanted = new Map<string, JailRuntime[]>();
  for (const jail of ctx.jails.values()) {
    jail.paths.clear();
    const paths = await expandLogPaths(jail.config.logPaths);
    for (const path of paths) {
      jail.paths.add(path);
      const list = wanted.get(path) ?? [];
      list.push(jail);
      wanted.set(path, list);
    }
  }
  for (const [path, rt] of ctx.tails) {
    if (!wanted.has(path)) {
      rt.tail.close();
      ctx.tails.delete(path);
    }
  }
  for (const [path, jails] of wanted) {
    const existing = ctx.tails.get(path);
    if (existing) {
      existing.jails = jails;
      continue;
    }
    ctx.tails.set(path, await openTail(ctx, path, jails));
  }
}

/** True when a jail's logpath is a glob (expanded again every poll for new files). */
export function hasGlobs(ctx: DaemonContext): boolean {
  for (const jail of ctx.jails.values()) {
    if (jail.config.logPaths.some((p) => /[*?[]/.test(p))) return true;
  }
  return false;
}
