/**
 * CrowdSec's part of the state database: the queue of alerts waiting for LAPI (kept across
 * restarts, bounded), the queue of decision deletes waiting for it (an `unban` of a pushed
 * ban; kept and bounded alike), the decision ids of banwatch's own pushed bans (for `unban` and to skip
 * them when they come back through the stream), and the remote decisions applied, each with
 * its own end, so they expire on time and survive a restart even when LAPI is unreachable.
 * Its tables sit beside store.ts's schema (created if missing), in the same connection.
 * @module
 */
import type { SQLInputValue, StatementSync } from "node:sqlite";
import type { Store } from "./store.ts";

/** An alert waiting to be pushed. */
export interface QueuedAlert {
  /** Queue row id (push order). */
  id: number;
  /** The ban's jail. */
  jail: string;
  /** The ban's target (CIDR text). */
  target: string;
  /** The alert, as JSON. */
  alert: string;
  /** Failed tries so far. */
  attempts: number;
}

/** A remote decision banwatch applied. */
export interface StoredDecision {
  /** LAPI's decision id. */
  id: number;
  /** CIDR text in the table. */
  target: string;
  /** Epoch seconds it ends. */
  until: number;
  /** Its scenario. */
  scenario: string;
  /** Its origin (`cscli`, `crowdsec`, ...). */
  origin: string;
}

/** The CrowdSec tables of an open {@link Store}. */
export interface CrowdsecStore {
  /** Queues an alert; when the queue holds `max` already, the oldest is dropped (returns 1). */
  enqueue(item: Omit<QueuedAlert, "id" | "attempts">, max: number): number;
  /** The oldest queued alerts, at most `limit`. */
  peek(limit: number): QueuedAlert[];
  /** Removes pushed alerts. */
  dequeue(ids: readonly number[]): void;
  /** Counts one more failed try of these alerts. */
  failed(ids: readonly number[]): void;
  /** Alerts waiting. */
  queued(): number;
  /** Forgets the queued alerts of a ban lifted before they were sent; returns how many. */
  unqueue(jail: string, target: string): number;
  /**
   * Queues LAPI decision ids to delete; when the queue then holds more than `max`, the oldest
   * are dropped (returns how many).
   */
  queueDeletes(ids: readonly number[], max: number): number;
  /** The oldest decision ids waiting to be deleted, at most `limit`. */
  peekDeletes(limit: number): number[];
  /** Forgets a decision id deleted from LAPI. */
  deleted(id: number): void;
  /** Decision deletes waiting. */
  queuedDeletes(): number;
  /** Records the LAPI decision ids of a pushed ban. */
  savePushed(jail: string, target: string, ids: readonly number[], until: number): void;
  /** The LAPI decision ids of a pushed ban, and forgets them. */
  takePushed(jail: string, target: string): number[];
  /** Every decision id banwatch pushed that has not ended. */
  pushedIds(now: number): Set<number>;
  /** Forgets pushed bans that ended before `now`. */
  prunePushed(now: number): void;
  /** Every remote decision applied. */
  loadDecisions(): StoredDecision[];
  /** Inserts or replaces a remote decision. */
  saveDecision(d: StoredDecision): void;
  /** Forgets a remote decision. */
  deleteDecision(id: number): void;
  /** A persistent counter (`dropped`, ...). */
  counter(name: string): number;
  /** Adds to a persistent counter. */
  count(name: string, n: number): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS crowdsec_queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  jail TEXT NOT NULL,
  target TEXT NOT NULL,
  alert TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS crowdsec_deletes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  decision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS crowdsec_pushed (
  jail TEXT NOT NULL,
  target TEXT NOT NULL,
  ids TEXT NOT NULL,
  until REAL NOT NULL,
  PRIMARY KEY (jail, target)
);
CREATE TABLE IF NOT EXISTS crowdsec_decisions (
  id INTEGER PRIMARY KEY,
  target TEXT NOT NULL,
  until REAL NOT NULL,
  scenario TEXT NOT NULL,
  origin TEXT NOT NULL
);
`;

/** Opens (creating if missing) the CrowdSec tables in a writable store. */
export function openCrowdsecStore(store: Store): CrowdsecStore {
  const db = store.db;
  db.exec(SCHEMA);
  // Prepared once each: a statement per call would hold native memory until a GC.
  const cache = new Map<string, StatementSync>();
  const stmt = (sql: string): StatementSync => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, s = db.prepare(sql));
    return s;
  };
  const run = (sql: string, ...params: SQLInputValue[]): number =>
    Number(stmt(sql).run(...params).changes);
  const all = (sql: string, ...params: SQLInputValue[]): Record<string, unknown>[] =>
    stmt(sql).all(...params);
  return {
    enqueue(item, max) {
      return store.transaction(() => {
        let dropped = 0;
        const over = this.queued() - max + 1;
        if (over > 0) {
          dropped = run(
            "DELETE FROM crowdsec_queue WHERE id IN (SELECT id FROM crowdsec_queue ORDER BY id LIMIT ?)",
            over,
          );
        }
        run(
          "INSERT INTO crowdsec_queue (jail, target, alert) VALUES (?, ?, ?)",
          item.jail,
          item.target,
          item.alert,
        );
        return dropped;
      });
    },
    peek(limit) {
      return all(
        "SELECT id, jail, target, alert, attempts FROM crowdsec_queue ORDER BY id LIMIT ?",
        limit,
      ).map((r) => ({
        id: Number(r.id),
        jail: String(r.jail),
        target: String(r.target),
        alert: String(r.alert),
        attempts: Number(r.attempts),
      }));
    },
    dequeue(ids) {
      store.transaction(() => {
        for (const id of ids) run("DELETE FROM crowdsec_queue WHERE id = ?", id);
      });
    },
    failed(ids) {
      store.transaction(() => {
        for (const id of ids) {
          run("UPDATE crowdsec_queue SET attempts = attempts + 1 WHERE id = ?", id);
        }
      });
    },
    queued() {
      return Number(all("SELECT count(*) AS n FROM crowdsec_queue")[0]?.n ?? 0);
    },
    unqueue(jail, target) {
      return run("DELETE FROM crowdsec_queue WHERE jail = ? AND target = ?", jail, target);
    },
    queueDeletes(ids, max) {
      if (ids.length === 0) return 0;
      return store.transaction(() => {
        for (const id of ids) run("INSERT INTO crowdsec_deletes (decision) VALUES (?)", id);
        const over = this.queuedDeletes() - max;
        if (over <= 0) return 0;
        return run(
          "DELETE FROM crowdsec_deletes WHERE id IN (SELECT id FROM crowdsec_deletes ORDER BY id LIMIT ?)",
          over,
        );
      });
    },
    peekDeletes(limit) {
      return all("SELECT decision FROM crowdsec_deletes ORDER BY id LIMIT ?", limit).map((r) =>
        Number(r.decision)
      );
    },
    deleted(id) {
      run("DELETE FROM crowdsec_deletes WHERE decision = ?", id);
    },
    queuedDeletes() {
      return Number(all("SELECT count(*) AS n FROM crowdsec_deletes")[0]?.n ?? 0);
    },
    savePushed(jail, target, ids, until) {
      run(
        "INSERT OR REPLACE INTO crowdsec_pushed (jail, target, ids, until) VALUES (?, ?, ?, ?)",
        jail,
        target,
        JSON.stringify(ids),
        Number.isFinite(until) ? until : 1e15,
      );
    },
    takePushed(jail, target) {
      const row = all(
        "SELECT ids FROM crowdsec_pushed WHERE jail = ? AND target = ?",
        jail,
        target,
      )[0];
      run("DELETE FROM crowdsec_pushed WHERE jail = ? AND target = ?", jail, target);
      return row ? (JSON.parse(String(row.ids)) as number[]) : [];
    },
    pushedIds(now) {
      const ids = new Set<number>();
      for (const r of all("SELECT ids FROM crowdsec_pushed WHERE until > ?", now)) {
        for (const id of JSON.parse(String(r.ids)) as number[]) ids.add(id);
      }
      return ids;
    },
    prunePushed(now) {
      run("DELETE FROM crowdsec_pushed WHERE until <= ?", now);
    },
    loadDecisions() {
      return all("SELECT id, target, until, scenario, origin FROM crowdsec_decisions").map((
        r,
      ) => ({
        id: Number(r.id),
        target: String(r.target),
        until: Number(r.until),
        scenario: String(r.scenario),
        origin: String(r.origin),
      }));
    },
    saveDecision(d) {
      run(
        "INSERT OR REPLACE INTO crowdsec_decisions (id, target, until, scenario, origin) VALUES (?, ?, ?, ?, ?)",
        d.id,
        d.target,
        d.until,
        d.scenario,
        d.origin,
      );
    },
    deleteDecision(id) {
      run("DELETE FROM crowdsec_decisions WHERE id = ?", id);
    },
    counter(name) {
      return Number(store.getMeta(`crowdsec.${name}`) ?? 0);
    },
    count(name, n) {
      if (n !== 0) store.setMeta(`crowdsec.${name}`, String(this.counter(name) + n));
    },
  };
}

/** What `status` can tell of the CrowdSec link from the database alone (the daemon stopped). */
export interface SavedCrowdsecStatus {
  /** LAPI's URL when the daemon last started the link ("" if unknown). */
  lapiUrl: string;
  /** Alerts waiting for LAPI. */
  queued: number;
  /** Alerts dropped because the queue was full. */
  dropped: number;
  /** Remote decisions stored that have not ended: they are applied again at start. */
  applied: number;
  /** Remote decisions refused, in total. */
  refused: number;
}

/**
 * Reads the CrowdSec tables of a store, read-only is fine; undefined when the link never ran
 * (no tables).
 */
export function savedCrowdsecStatus(store: Store, now: number): SavedCrowdsecStatus | undefined {
  const db = store.db;
  const tables = db.prepare(
    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('crowdsec_queue', 'crowdsec_decisions')",
  ).get() as { n: number } | undefined;
  if (Number(tables?.n ?? 0) < 2) return undefined;
  const count = (sql: string, ...params: SQLInputValue[]): number =>
    Number((db.prepare(sql).get(...params) as { n?: number } | undefined)?.n ?? 0);
  return {
    lapiUrl: store.getMeta("crowdsec.lapi_url") ?? "",
    queued: count("SELECT count(*) AS n FROM crowdsec_queue"),
    dropped: Number(store.getMeta("crowdsec.dropped") ?? 0),
    applied: count("SELECT count(*) AS n FROM crowdsec_decisions WHERE until > ?", now),
    refused: Number(store.getMeta("crowdsec.refused") ?? 0),
  };
}
