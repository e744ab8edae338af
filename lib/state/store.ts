/**
 * The daemon's state in SQLite (`node:sqlite`): log positions, open failure windows, active bans
 * (with a pending-firewall flag), ban history for bantime increments, and metadata.
 *
 * WAL mode, `PRAGMA user_version` migrations, busy timeout. A corrupt database, a file that is
 * not SQLite, or one written by a newer schema is moved aside to `state.db.corrupt-<epoch>` and a
 * fresh one is started; {@link Store.recovery} then tells the daemon to reconcile the firewall.
 * Times are epoch seconds; a forever ban (`until`/`bantime` = Infinity) is NULL in SQLite.
 * @module
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import {
  banOriginOf,
  type BanRecord,
  foreverToNull,
  type HistoryCount,
  type HistoryEntry,
  type Logger,
  nullToForever,
  RuntimeError,
} from "../core/mod.ts";
import type { SavedPosition } from "../source/mod.ts";
import { createEventLog, type EventLog, EVENTS_SCHEMA } from "./events.ts";

/** File name of the database inside state_dir. */
export const STATE_DB_NAME = "state.db";

/** An active ban as stored: core's BanRecord plus its firewall status. */
export interface StoredBan extends BanRecord {
  /** True once the firewall holds it; false while the change is pending (default false). */
  applied?: boolean;
  /** The backend kind it is applied with (absent in rows older than schema 3, until filled). */
  backend?: string;
  /** The firewall table it is applied in (absent like `backend`). */
  table?: string;
}

/** The failure times of one address in one jail. */
export interface StoredWindow {
  /** Jail name. */
  jail: string;
  /** Address or prefix text the failures are counted for. */
  addr: string;
  /** Failure times, epoch seconds, oldest first. */
  times: number[];
}

/** The distinct failing addresses of one prefix in one jail. */
export interface StoredPrefixWindow {
  /** Jail name. */
  jail: string;
  /** CIDR text of the prefix. */
  prefix: string;
  /** Failing addresses with their last failure time (epoch seconds). */
  members: Array<{ addr: string; time: number }>;
}

/** Whether opening had to move a broken database aside. */
export interface StoreRecovery {
  /** True when a fresh database replaced a broken one. */
  recovered: boolean;
  /** Where the broken file went. */
  movedTo?: string;
  /** Why it was considered broken. */
  reason?: string;
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Receives the recovery message. */
  logger: Logger;
  /** Open for reading only (for `banwatch status` while the daemon is down); never recovers. */
  readonly?: boolean;
  /** Clock for `updated_at` and the name of a moved-aside file (epoch seconds). */
  now?: () => number;
  /** How long to wait for a lock held by another connection (default 5000 ms). */
  busyTimeoutMs?: number;
}

/** The open state database. */
export interface Store {
  /** The database file. */
  readonly path: string;
  /** True when opened read-only. */
  readonly readonly: boolean;
  /** The connection, for tables kept beside this schema (crowdsec_store.ts). */
  readonly db: DatabaseSync;
  /** Whether a broken database was moved aside at open. */
  readonly recovery: StoreRecovery;
  /** Runs `fn` in BEGIN IMMEDIATE … COMMIT, rolling back if it throws; nested calls join. */
  transaction<T>(fn: () => T): T;
  /** Every saved log position. */
  loadPositions(): SavedPosition[];
  /** Inserts or replaces the position of `p.path`. */
  savePosition(p: SavedPosition): void;
  /** Forgets the position of a path. */
  deletePosition(path: string): void;
  /** Every open failure window, least recently saved first (restoreWindow()'s order). */
  loadWindows(): StoredWindow[];
  /**
   * Stores the failure times of (jail, addr); an empty list deletes the window. Appends to a
   * log (cheap in any key order), compacted now and then within the caller's transaction.
   */
  saveWindow(jail: string, addr: string, times: readonly number[]): void;
  /** Every open prefix window. */
  loadPrefixWindows(): StoredPrefixWindow[];
  /** Stores the members of (jail, prefix); an empty list deletes the window. */
  savePrefixWindow(
    jail: string,
    prefix: string,
    members: ReadonlyArray<{ addr: string; time: number }>,
  ): void;
  /** Deletes every address and prefix window of a jail; returns how many. */
  deleteWindowsForJail(jail: string): number;
  /** Every active ban. */
  loadBans(): StoredBan[];
  /** Inserts or replaces the ban of (ban.jail, ban.target). */
  upsertBan(ban: StoredBan): void;
  /** Deletes a ban; returns whether it existed. */
  deleteBan(jail: string, target: string): boolean;
  /** Records whether the firewall holds the ban. */
  markApplied(jail: string, target: string, applied: boolean): void;
  /** Records the backend and table a ban is applied with (lifting it goes there). */
  setPlacement(jail: string, target: string, placement: { backend: string; table: string }): void;
  /** The stored ban of (jail, target), if any. */
  findBan(jail: string, target: string): StoredBan | undefined;
  /** Bans whose firewall change is still pending (applied = 0). */
  pendingBans(): StoredBan[];
  /** Appends a past ban to the history. */
  addHistory(jail: string, target: string, time: number, bantime: number): void;
  /** History entries with time >= since (all when since is undefined), oldest first. */
  loadHistory(since?: number): HistoryEntry[];
  /** Past bans grouped by (jail, target) with time >= since, for decide's restoreHistory(). */
  loadHistoryCounts(since?: number): HistoryCount[];
  /** How many past bans `target` has, optionally only in `jail` and since a time. */
  historyCount(target: string, options?: { jail?: string; since?: number }): number;
  /** Deletes history entries (and report events) older than `before`; returns how many. */
  purgeHistory(before: number): number;
  /** The history `banwatch report` reads: bans, unbans, firewall errors, failures per hour. */
  readonly events: EventLog;
  /** Reads a metadata value. */
  getMeta(key: string): string | undefined;
  /** Writes a metadata value. */
  setMeta(key: string, value: string): void;
  /** Closes the database (idempotent). */
  close(): void;
}

/** Schema migrations; entry i brings user_version from i to i + 1. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE positions (
     path TEXT PRIMARY KEY,
     dev INTEGER NOT NULL,
     ino INTEGER NOT NULL,
     offset INTEGER NOT NULL,
     fingerprint TEXT NOT NULL,
     updated_at REAL NOT NULL
   );
   CREATE TABLE windows (
     jail TEXT NOT NULL,
     addr TEXT NOT NULL,
     times TEXT NOT NULL,
     PRIMARY KEY (jail, addr)
   );
   CREATE TABLE prefix_windows (
     jail TEXT NOT NULL,
     prefix TEXT NOT NULL,
     members TEXT NOT NULL,
     PRIMARY KEY (jail, prefix)
   );
   CREATE TABLE bans (
     jail TEXT NOT NULL,
     target TEXT NOT NULL,
     since REAL NOT NULL,
     until REAL,
     failures INTEGER NOT NULL,
     ban_count INTEGER NOT NULL,
     origin TEXT NOT NULL,
     line TEXT,
     applied INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (jail, target)
   );
   CREATE TABLE history (
     jail TEXT NOT NULL,
     target TEXT NOT NULL,
     time REAL NOT NULL,
     bantime REAL
   );
   CREATE INDEX history_target ON history (target);
   CREATE INDEX history_time ON history (time);
   CREATE TABLE meta (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  // Address windows become an append-only log: an upsert keyed by (jail, addr) touches a random
  // index page per row, so every batch of a few thousand rows rewrote most of the index (1M
  // windows: ~20 s of CPU). Appends touch the last pages only. The newest row of a (jail, addr)
  // wins, "[]" deletes; compaction drops the rest. `windows` stays readable as a view.
  `CREATE TABLE window_log (
     seq INTEGER PRIMARY KEY,
     jail TEXT NOT NULL,
     addr TEXT NOT NULL,
     times TEXT NOT NULL
   );
   INSERT INTO window_log (jail, addr, times) SELECT jail, addr, times FROM windows
     ORDER BY jail, addr;
   DROP TABLE windows;
   CREATE VIEW windows AS
     SELECT jail, addr, times FROM
       (SELECT jail, addr, times, max(seq) AS seq FROM window_log GROUP BY jail, addr)
     WHERE times <> '[]';`,
  // Each ban knows the backend and table it was applied with, so that lifting it reaches them
  // whatever the configuration says later (issue 11). NULL in older rows: the daemon fills them
  // from the configuration at its first start.
  `ALTER TABLE bans ADD COLUMN backend TEXT;
   ALTER TABLE bans ADD COLUMN fw_table TEXT;`,
  // banwatch report: ban/unban/firewall-error events and failures per hour (state/events.ts).
  EVENTS_SCHEMA,
];

/**
 * The window log is compacted (a sort of all its rows) once it holds more than
 * WINDOW_LOG_MIN rows of which a quarter are deletions (each one makes itself and at least
 * one earlier row dead), or, for windows updated again and again but never deleted, once it
 * grew by 4x plus WINDOW_LOG_SLACK since the last compaction. A log of live windows only (1M
 * addresses failing once) is never sorted for nothing.
 */
const WINDOW_LOG_MIN = 100_000;
/** See {@link WINDOW_LOG_MIN}. */
const WINDOW_LOG_SLACK = 1_000_000;

/** The schema version this build writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** A database we must not use as is; it gets moved aside. */
class BrokenDatabase extends Error {
  override name = "BrokenDatabase";
}

const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/**
 * Opens (creating it and its directory, mode 0700, when missing) the state database at `path`.
 * A broken database is moved aside and replaced; other failures (permissions, a lock held
 * past the busy timeout) throw RuntimeError. Read-only opens never create or move anything.
 */
export function openStore(path: string, options: OpenStoreOptions): Store {
  const now = options.now ?? (() => Date.now() / 1000);
  const busy = options.busyTimeoutMs ?? 5000;
  if (options.readonly) {
    return createStore(path, openReadonly(path, busy), true, now, {
      recovered: false,
    });
  }
  const dir = dirname(path);
  if (dir !== "" && !exists(dir)) Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let recovery: StoreRecovery = { recovered: false };
  let db: DatabaseSync;
  try {
    db = openWritable(path, busy);
  } catch (e) {
    if (!isBroken(e)) {
      throw new RuntimeError(`Cannot open state database ${path}: ${message(e)}`, { cause: e });
    }
    const movedTo = moveAside(path, now());
    const reason = message(e);
    options.logger.error("state_db_corrupt", {
      path,
      moved_to: movedTo,
      reason,
      detail: "started a fresh state database; firewall tables will be reconciled",
    });
    recovery = { recovered: true, movedTo, reason };
    try {
      db = openWritable(path, busy);
    } catch (e2) {
      throw new RuntimeError(`Cannot create state database ${path}: ${message(e2)}`, {
        cause: e2,
      });
    }
  }
  return createStore(path, db, false, now, recovery);
}

function openWritable(path: string, busyTimeoutMs: number): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    checkHealth(db);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function openReadonly(path: string, busyTimeoutMs: number): DatabaseSync {
  if (!exists(path)) throw new RuntimeError(`No state database at ${path}`);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (e) {
    throw new RuntimeError(`Cannot open state database ${path}: ${message(e)}`, { cause: e });
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    checkHealth(db);
    const version = userVersion(db);
    if (version !== SCHEMA_VERSION) {
      throw new BrokenDatabase(
        `schema version is ${version}, this banwatch reads ${SCHEMA_VERSION} (start the daemon to migrate it)`,
      );
    }
    return db;
  } catch (e) {
    db.close();
    throw new RuntimeError(`Cannot read state database ${path}: ${message(e)}`, { cause: e });
  }
}

/** Throws BrokenDatabase unless quick_check passes and the schema is not newer than ours. */
function checkHealth(db: DatabaseSync): void {
  const rows = db.prepare("PRAGMA quick_check").all();
  const first = rows[0] ? Object.values(rows[0])[0] : undefined;
  if (rows.length !== 1 || first !== "ok") {
    const found = rows.slice(0, 3).map((r) => String(Object.values(r)[0])).join("; ");
    throw new BrokenDatabase(`integrity check failed: ${found}`);
  }
  const version = userVersion(db);
  if (version > SCHEMA_VERSION) {
    throw new BrokenDatabase(
      `schema version ${version} is newer than this banwatch's ${SCHEMA_VERSION}`,
    );
  }
}

function migrate(db: DatabaseSync): void {
  for (let version = userVersion(db); version < SCHEMA_VERSION; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec("COMMIT");
    } catch (e) {
      rollback(db);
      throw e;
    }
  }
}

/** Rolls back the open transaction, if SQLite has not done so itself. */
function rollback(db: DatabaseSync): void {
  if (!db.isTransaction) return;
  try {
    db.exec("ROLLBACK");
  } catch {
    // The original error is what matters.
  }
}

function userVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get();
  return row ? Number(Object.values(row)[0]) : 0;
}

function isBroken(e: unknown): boolean {
  if (e instanceof BrokenDatabase) return true;
  if (typeof e !== "object" || e === null || !("errcode" in e)) return false;
  const code = Number((e as { errcode: unknown }).errcode) & 0xff;
  return code === SQLITE_CORRUPT || code === SQLITE_NOTADB;
}

/** Renames the database and its -wal/-shm files aside; returns the new name. */
function moveAside(path: string, now: number): string {
  const base = `${path}.corrupt-${Math.floor(now)}`;
  let target = base;
  for (let i = 2; exists(target); i++) target = `${base}-${i}`;
  Deno.renameSync(path, target);
  for (const suffix of ["-wal", "-shm", "-journal"]) {
    if (exists(path + suffix)) Deno.renameSync(path + suffix, target + suffix);
  }
  return target;
}

function createStore(
  path: string,
  db: DatabaseSync,
  readonly: boolean,
  now: () => number,
  recovery: StoreRecovery,
): Store {
  const cache = new Map<string, StatementSync>();
  let depth = 0;
  let open = true;
  // Window log rows now, deletions among them, and rows left by the last compaction; counted
  // at the first save (undefined until then, and after a rollback).
  let windowRows: number | undefined;
  let windowDeletes = 0;
  let windowRowsCompacted = 0;
  const stmt = (sql: string): StatementSync => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const run = (sql: string, ...params: SQLInputValue[]): number =>
    Number(stmt(sql).run(...params).changes);
  const all = (sql: string, ...params: SQLInputValue[]): Record<string, unknown>[] =>
    stmt(sql).all(...params);

  const events = createEventLog({ run, all });
  const selectBans = (where: string): StoredBan[] =>
    all(
      `SELECT jail, target, since, until, failures, ban_count, origin, line, applied, backend,
         fw_table FROM bans ${where} ORDER BY since, jail, target`,
    ).map(toBan);

  return {
    path,
    db,
    readonly,
    recovery,
    transaction<T>(fn: () => T): T {
      if (depth > 0) return fn();
      db.exec("BEGIN IMMEDIATE");
      depth++;
      try {
        const result = fn();
        if (result instanceof Promise) {
          throw new TypeError("Store.transaction() needs a synchronous function");
        }
        db.exec("COMMIT");
        return result;
      } catch (e) {
        // SQLite may have rolled back already (a failed COMMIT on a full or read-only disk):
        // a second ROLLBACK would throw and hide the real error.
        rollback(db);
        windowRows = undefined; // recounted at the next save
        throw e;
      } finally {
        depth--;
      }
    },
    loadPositions(): SavedPosition[] {
      return all("SELECT path, dev, ino, offset, fingerprint FROM positions ORDER BY path").map(
        (r) => ({
          path: String(r.path),
          dev: Number(r.dev),
          ino: Number(r.ino),
          offset: Number(r.offset),
          fingerprint: String(r.fingerprint),
        }),
      );
    },
    savePosition(p: SavedPosition): void {
      run(
        `INSERT INTO positions (path, dev, ino, offset, fingerprint, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET dev = excluded.dev, ino = excluded.ino,
           offset = excluded.offset, fingerprint = excluded.fingerprint,
           updated_at = excluded.updated_at`,
        p.path,
        p.dev,
        p.ino,
        p.offset,
        p.fingerprint,
        now(),
      );
    },
    deletePosition(p: string): void {
      run("DELETE FROM positions WHERE path = ?", p);
    },
    loadWindows(): StoredWindow[] {
      return all(
        `SELECT jail, addr, times FROM
           (SELECT jail, addr, times, max(seq) AS seq FROM window_log GROUP BY jail, addr)
         WHERE times <> '[]' ORDER BY seq`,
      ).map((r) => ({
        jail: String(r.jail),
        addr: String(r.addr),
        times: parseTimes(String(r.times)),
      }));
    },
    saveWindow(jail: string, addr: string, times: readonly number[]): void {
      if (windowRows === undefined) {
        const row = stmt(
          "SELECT count(*) AS n, count(*) FILTER (WHERE times = '[]') AS d FROM window_log",
        ).get();
        windowRows = Number(row?.n ?? 0);
        windowDeletes = Number(row?.d ?? 0);
        windowRowsCompacted = windowRows - windowDeletes;
      }
      stmt("INSERT INTO window_log (jail, addr, times) VALUES (?, ?, ?)").run(
        jail,
        addr,
        times.length === 0 ? "[]" : JSON.stringify(times),
      );
      windowRows++;
      if (times.length === 0) windowDeletes++;
      if (
        windowRows > WINDOW_LOG_MIN &&
        (windowDeletes * 4 >= windowRows ||
          windowRows > 4 * windowRowsCompacted + WINDOW_LOG_SLACK)
      ) {
        windowRows -= run(
          `DELETE FROM window_log WHERE times = '[]' OR seq NOT IN
             (SELECT max(seq) FROM window_log GROUP BY jail, addr)`,
        );
        windowDeletes = 0;
        windowRowsCompacted = windowRows;
      }
    },
    loadPrefixWindows(): StoredPrefixWindow[] {
      return all("SELECT jail, prefix, members FROM prefix_windows ORDER BY jail, prefix").map(
        (r) => ({
          jail: String(r.jail),
          prefix: String(r.prefix),
          members: parseMembers(String(r.members)),
        }),
      );
    },
    savePrefixWindow(
      jail: string,
      prefix: string,
      members: ReadonlyArray<{ addr: string; time: number }>,
    ): void {
      if (members.length === 0) {
        run("DELETE FROM prefix_windows WHERE jail = ? AND prefix = ?", jail, prefix);
        return;
      }
      run(
        `INSERT INTO prefix_windows (jail, prefix, members) VALUES (?, ?, ?)
         ON CONFLICT (jail, prefix) DO UPDATE SET members = excluded.members`,
        jail,
        prefix,
        JSON.stringify(members.map((m) => ({ addr: m.addr, time: m.time }))),
      );
    },
    deleteWindowsForJail(jail: string): number {
      const live = Number(stmt("SELECT count(*) AS n FROM windows WHERE jail = ?").get(jail)?.n);
      const logged = run("DELETE FROM window_log WHERE jail = ?", jail);
      if (logged > 0) windowRows = undefined; // recounted at the next save
      return live + run("DELETE FROM prefix_windows WHERE jail = ?", jail);
    },
    loadBans(): StoredBan[] {
      return selectBans("");
    },
    upsertBan(ban: StoredBan): void {
      run(
        `INSERT INTO bans (jail, target, since, until, failures, ban_count, origin, line, applied,
           backend, fw_table)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (jail, target) DO UPDATE SET since = excluded.since,
           until = excluded.until, failures = excluded.failures, ban_count = excluded.ban_count,
           origin = excluded.origin, line = excluded.line, applied = excluded.applied,
           backend = coalesce(excluded.backend, bans.backend),
           fw_table = coalesce(excluded.fw_table, bans.fw_table)`,
        ban.jail,
        ban.target,
        ban.since,
        foreverToNull(ban.until),
        ban.failures,
        ban.banCount,
        ban.origin,
        ban.line ?? null,
        ban.applied ? 1 : 0,
        ban.backend ?? null,
        ban.table ?? null,
      );
    },
    deleteBan(jail: string, target: string): boolean {
      return run("DELETE FROM bans WHERE jail = ? AND target = ?", jail, target) > 0;
    },
    markApplied(jail: string, target: string, applied: boolean): void {
      run(
        "UPDATE bans SET applied = ? WHERE jail = ? AND target = ?",
        applied ? 1 : 0,
        jail,
        target,
      );
    },
    setPlacement(
      jail: string,
      target: string,
      placement: { backend: string; table: string },
    ): void {
      run(
        "UPDATE bans SET backend = ?, fw_table = ? WHERE jail = ? AND target = ?",
        placement.backend,
        placement.table,
        jail,
        target,
      );
    },
    findBan(jail: string, target: string): StoredBan | undefined {
      const row = stmt(
        `SELECT jail, target, since, until, failures, ban_count, origin, line, applied, backend,
           fw_table FROM bans WHERE jail = ? AND target = ?`,
      ).get(jail, target);
      return row === undefined ? undefined : toBan(row);
    },
    pendingBans(): StoredBan[] {
      return selectBans("WHERE applied = 0");
    },
    addHistory(jail: string, target: string, time: number, bantime: number): void {
      run(
        "INSERT INTO history (jail, target, time, bantime) VALUES (?, ?, ?, ?)",
        jail,
        target,
        time,
        foreverToNull(bantime),
      );
    },
    loadHistory(since?: number): HistoryEntry[] {
      return all(
        "SELECT jail, target, time, bantime FROM history WHERE time >= ? ORDER BY time, rowid",
        since ?? -Number.MAX_VALUE,
      ).map((r) => ({
        jail: String(r.jail),
        target: String(r.target),
        time: Number(r.time),
        bantime: nullToForever(r.bantime),
      }));
    },
    loadHistoryCounts(since?: number): HistoryCount[] {
      return all(
        `SELECT jail, target, count(*) AS n, max(time) AS last FROM history
         WHERE time >= ? GROUP BY jail, target ORDER BY last, jail, target`,
        since ?? -Number.MAX_VALUE,
      ).map((r) => ({
        jail: String(r.jail),
        target: String(r.target),
        count: Number(r.n),
        last: Number(r.last),
      }));
    },
    historyCount(target: string, opts: { jail?: string; since?: number } = {}): number {
      const row = stmt(
        `SELECT count(*) AS n FROM history
         WHERE target = ? AND (? IS NULL OR jail = ?) AND time >= ?`,
      ).get(target, opts.jail ?? null, opts.jail ?? null, opts.since ?? -Number.MAX_VALUE);
      return row ? Number(row.n) : 0;
    },
    purgeHistory(before: number): number {
      events.purge(before);
      return run("DELETE FROM history WHERE time < ?", before);
    },
    events,
    getMeta(key: string): string | undefined {
      const row = stmt("SELECT value FROM meta WHERE key = ?").get(key);
      return row ? String(row.value) : undefined;
    },
    setMeta(key: string, value: string): void {
      run(
        `INSERT INTO meta (key, value) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        key,
        value,
      );
    },
    close(): void {
      if (!open) return;
      open = false;
      cache.clear();
      db.close();
    },
  };
}

function toBan(r: Record<string, unknown>): StoredBan {
  const ban: StoredBan = {
    jail: String(r.jail),
    target: String(r.target),
    since: Number(r.since),
    until: nullToForever(r.until),
    failures: Number(r.failures),
    banCount: Number(r.ban_count),
    origin: banOriginOf(r.origin),
    applied: Number(r.applied) !== 0,
  };
  if (r.line !== null && r.line !== undefined) ban.line = String(r.line);
  if (typeof r.backend === "string") ban.backend = r.backend;
  if (typeof r.fw_table === "string") ban.table = r.fw_table;
  return ban;
}

function parseMembers(text: string): Array<{ addr: string; time: number }> {
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    const out: Array<{ addr: string; time: number }> = [];
    for (const m of value) {
      if (
        typeof m === "object" && m !== null && typeof m.addr === "string" &&
        typeof m.time === "number"
      ) out.push({ addr: m.addr, time: m.time });
    }
    return out;
  } catch {
    return [];
  }
}

function parseTimes(text: string): number[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((t): t is number => typeof t === "number") : [];
  } catch {
    return [];
  }
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return "";
  return i === 0 ? "/" : path.slice(0, i);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
