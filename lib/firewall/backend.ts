/**
 * The firewall backend interface: one small contract (prepare, apply, list) over ipfw, pf,
 * nftables and a dry run. The only copy of {@link BackendKind}.
 *
 * How the daemon drives a backend:
 * 1. `prepare(tables)` once at start and after each reload, with every table in use.
 * 2. `list(table)` for each table, then `reconcile(desired, actual, owned)` per table and one
 *    `apply()` with the result; entries banwatch did not add are never touched.
 * 3. `apply(changes)` for every batch of bans/unbans. It is idempotent (adding a present entry
 *    or deleting an absent one succeeds), so after a `BackendError` the daemon retries the
 *    same batch with backoff.
 * @module
 */
import type { Logger, Runner } from "../core/mod.ts";

export type { Logger } from "../core/mod.ts";
export type { Runner, RunResult } from "../core/mod.ts";

/** One entry to add to or delete from a table. */
export interface FirewallChange {
  /** Add (ban) or delete (unban). */
  op: "add" | "delete";
  /** The table (ipfw/pf table name; nft set prefix). */
  table: string;
  /** CIDR text: "1.2.3.4/32", "2001:db8::/64". */
  target: string;
}

/** A firewall that keeps banned addresses in named tables. */
export interface Backend {
  /** "ipfw", "pf", "nft" or "dry-run". */
  readonly kind: string;
  /** Makes sure every table exists (and for nft, the rules that use them). */
  prepare(tables: readonly string[]): Promise<void>;
  /** Applies changes in as few program runs as possible; throws BackendError (argv, code, stderr). */
  apply(changes: readonly FirewallChange[]): Promise<void>;
  /** The canonical CIDR texts currently in a table ([] when the table does not exist). */
  list(table: string): Promise<string[]>;
  /**
   * Which of `tables` are gone from the firewall (for nft: a set or its drop rule is gone), so
   * that `prepare()` must make them again; absent for a backend that cannot lose them.
   */
  missing?(tables: readonly string[]): Promise<string[]>;
}

/** The backend kinds {@link createBackend} accepts. */
export type BackendKind = "ipfw" | "pf" | "nft" | "dry-run";

/** What every backend may need; unused fields are ignored. */
export interface BackendOptions {
  /** Runs the firewall program. */
  runner: Runner;
  /** Absolute path of ipfw(8); default /sbin/ipfw. */
  ipfwPath?: string;
  /** Absolute path of pfctl(8); default /sbin/pfctl. */
  pfctlPath?: string;
  /** Absolute path of nft(8); default /usr/sbin/nft. */
  nftPath?: string;
  /** Seconds before a firewall program is killed; default 30. */
  timeout?: number;
  /** Where backends report skipped entries and where dry-run prints its argv. */
  logger?: Logger;
  /** Entries per ipfw invocation; default 1000 (see ipfw.ts). */
  ipfwBatchSize?: number;
  /** Unused: the ipfw backend passes entries as argv (see ipfw.ts), not a command file. */
  tmpDir?: string;
}
