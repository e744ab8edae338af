/**
 * The history `banwatch report` reads: one row per ban, unban and firewall error, and failure
 * counts per hour, jail and address. Both tables are append-only (cheap at any rate, as the
 * window log is) and purged with the ban history (`dbpurgeage`).
 *
 * The SQL of the tables is {@link EVENTS_SCHEMA}, one migration of store.ts; the queries
 * here run on the store's connection through the prepared-statement cache it passes in.
 * @module
 */
import type { SQLInputValue } from "node:sqlite";
import { foreverToNull, nullToForever } from "../core/mod.ts";

/** The migration creating the report's tables (appended to store.ts's MIGRATIONS). */
export const EVENTS_SCHEMA = `CREATE TABLE IF NOT EXISTS events (
     time REAL NOT NULL,
     kind TEXT NOT NULL,
     jail TEXT NOT NULL,
     target TEXT NOT NULL,
     failures INTEGER,
     ban_count INTEGER,
     bantime REAL,
     origin TEXT,
     detail TEXT
   );
   CREATE INDEX IF NOT EXISTS events_time ON events (time);
   CREATE TABLE IF NOT EXISTS failure_counts (
     hour INTEGER NOT NULL,
     jail TEXT NOT NULL,
     addr TEXT NOT NULL,
     n INTEGER NOT NULL
   );
   CREATE INDEX IF NOT EXISTS failure_counts_hour ON failure_counts (hour);`;

/** What an event row records. */
export type EventKind = "ban" | "unban" | "firewall_error";

/** One ban, unban or firewall error. */
export interface StoredEvent {
  /** Epoch seconds. */
  time: number;
  /** What happened. */
  kind: EventKind;
  /** Jail name ("" for a firewall error, which belongs to a backend). */
  jail: string;
  /** Ban target (CIDR text); "" for a firewall error. */
  target: string;
  /** A ban's failures (or distinct addresses for a prefix). */
  failures?: number;
  /** A ban's number for its target (2 = banned once before, bantime increments). */
  banCount?: number;
  /** A ban's length in seconds (Infinity = forever). */
  bantime?: number;
  /** A ban's origin (auto, manual, restored). */
  origin?: string;
  /** An unban's reason or a firewall error's text. */
  detail?: string;
}

/** Failures of one address in one jail within one hour. */
export interface FailureCount {
  /** Start of the hour, epoch seconds (a multiple of 3600). */
  hour: number;
  /** Jail name. */
  jail: string;
  /** The failing address. */
  addr: string;
  /** How many failures. */
  count: number;
}

/** Failures of one address summed over a period. */
export interface AddressFailures {
  /** The failing address. */
  addr: string;
  /** Failures in the period. */
  count: number;
  /** The jails that counted them, sorted. */
  jails: string[];
}

/** Reads and writes the report's history; part of the {@link Store}. */
export interface EventLog {
  /** Appends ban, unban and firewall-error rows. */
  addEvents(events: readonly StoredEvent[]): void;
  /** Appends failure counts (rows of the same hour, jail and address add up). */
  addFailures(counts: Iterable<FailureCount>): void;
  /** Events with time >= since, optionally of one jail (firewall errors always), oldest first. */
  loadEvents(since: number, options?: { jail?: string }): StoredEvent[];
  /** Failures per hour and jail from the hour holding `since` on, by hour then jail. */
  failuresPerHour(since: number, options?: { jail?: string }): FailureCount[];
  /** The `limit` addresses with the most failures since `since`, most first. */
  topFailing(since: number, options: { jail?: string; limit: number }): AddressFailures[];
  /** Deletes rows older than `before`; returns how many. */
  purge(before: number): number;
}

/** The statement runners store.ts shares with the event log. */
export interface StatementRunners {
  /** Runs a write; returns the changed rows. */
  run(sql: string, ...params: SQLInputValue[]): number;
  /** Runs a query; returns its rows. */
  all(sql: string, ...params: SQLInputValue[]): Record<string, unknown>[];
}

/** Seconds in an hour (the failure counts' bucket). */
export const HOUR = 3600;

/**
 * The event log on a store's connection.
 * @param db the store's cached statement runners
 */
export function createEventLog(db: StatementRunners): EventLog {
  const jailOf = (jail: string | undefined): string | null => jail ?? null;
  return {
    addEvents(events: readonly StoredEvent[]): void {
      for (const e of events) {
        db.run(
          `INSERT INTO events (time, kind, jail, target, failures, ban_count, bantime, origin,
             detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          e.time,
          e.kind,
          e.jail,
          e.target,
          e.failures ?? null,
          e.banCount ?? null,
          e.bantime === undefined ? null : foreverToNull(e.bantime),
          e.origin ?? null,
          e.detail ?? null,
        );
      }
    },
    addFailures(counts: Iterable<FailureCount>): void {
      for (const c of counts) {
        db.run(
          "INSERT INTO failure_counts (hour, jail, addr, n) VALUES (?, ?, ?, ?)",
          c.hour,
          c.jail,
          c.addr,
          c.count,
        );
      }
    },
    loadEvents(since: number, options: { jail?: string } = {}): StoredEvent[] {
      const jail = jailOf(options.jail);
      return db.all(
        `SELECT time, kind, jail, target, failures, ban_count, bantime, origin, detail
         FROM events WHERE time >= ? AND (? IS NULL OR jail = ? OR kind = 'firewall_error')
         ORDER BY time, rowid`,
        since,
        jail,
        jail,
      ).map(toEvent);
    },
    failuresPerHour(since: number, options: { jail?: string } = {}): FailureCount[] {
      const jail = jailOf(options.jail);
      return db.all(
        `SELECT hour, jail, sum(n) AS n FROM failure_counts
         WHERE hour >= ? AND (? IS NULL OR jail = ?) GROUP BY hour, jail ORDER BY hour, jail`,
        Math.floor(since / HOUR) * HOUR,
        jail,
        jail,
      ).map((r) => ({ hour: Number(r.hour), jail: String(r.jail), addr: "", count: Number(r.n) }));
    },
    topFailing(since: number, options: { jail?: string; limit: number }): AddressFailures[] {
      const jail = jailOf(options.jail);
      return db.all(
        `SELECT addr, sum(n) AS n, group_concat(DISTINCT jail) AS jails FROM failure_counts
         WHERE hour >= ? AND (? IS NULL OR jail = ?)
         GROUP BY addr ORDER BY n DESC, addr LIMIT ?`,
        Math.floor(since / HOUR) * HOUR,
        jail,
        jail,
        Math.max(0, Math.floor(options.limit)),
      ).map((r) => ({
        addr: String(r.addr),
        count: Number(r.n),
        jails: String(r.jails ?? "").split(",").filter((j) => j !== "").sort(),
      }));
    },
    purge(before: number): number {
      return db.run("DELETE FROM events WHERE time < ?", before) +
        db.run("DELETE FROM failure_counts WHERE hour + ? <= ?", HOUR, before);
    },
  };
}

function toEvent(r: Record<string, unknown>): StoredEvent {
  const e: StoredEvent = {
    time: Number(r.time),
    kind: String(r.kind) as EventKind,
    jail: String(r.jail),
    target: String(r.target),
  };
  if (r.failures !== null) e.failures = Number(r.failures);
  if (r.ban_count !== null) e.banCount = Number(r.ban_count);
  if (r.origin !== null) {
    e.bantime = nullToForever(r.bantime);
    e.origin = String(r.origin);
  }
  if (r.detail !== null) e.detail = String(r.detail);
  return e;
}
