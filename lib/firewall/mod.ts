/**
 * Firewall backends: one small interface (prepare, apply, list) over ipfw, pf, nftables and a
 * dry run, plus the pure {@link reconcile} that decides what to add and remove at start.
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
import { parseCidr } from "../core/address.ts";
import type { Runner } from "../core/exec.ts";
import type { Logger } from "../core/log.ts";
import { createDryRunBackend } from "./dry_run.ts";
import { createIpfwBackend } from "./ipfw.ts";
import { createNftBackend } from "./nft.ts";
import { createPfBackend } from "./pf.ts";

export type { Logger } from "../core/log.ts";
export type { Runner, RunResult } from "../core/exec.ts";

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

/** Creates the backend of the given kind. */
export function createBackend(kind: BackendKind, options: BackendOptions): Backend {
  switch (kind) {
    case "ipfw":
      return createIpfwBackend(options);
    case "pf":
      return createPfBackend(options);
    case "nft":
      return createNftBackend(options);
    case "dry-run":
      return createDryRunBackend(options);
    default:
      throw new RangeError(`Cannot create firewall backend: unknown kind ${String(kind)}`);
  }
}

/** What {@link reconcile} asks for: canonical CIDR texts to add to and remove from a table. */
export interface ReconcilePlan {
  /** Desired entries missing from the table. */
  add: string[];
  /** Entries banwatch added that are no longer desired. */
  remove: string[];
}

/**
 * Compares a table with what banwatch wants in it. Adds desired entries that are missing;
 * removes only entries that are in `owned` (banwatch put them there) and are no longer
 * desired. Entries nobody owns (blocklistd's, an admin's) are never removed. Texts are
 * compared in canonical form; unparseable table entries are left alone.
 * @param desired entries that should be in the table (active bans)
 * @param actual what `list()` returned
 * @param owned entries banwatch added to this table (active and expired bans it applied)
 */
export function reconcile(
  desired: ReadonlySet<string>,
  actual: readonly string[],
  owned: ReadonlySet<string>,
): ReconcilePlan {
  const present = new Set<string>();
  for (const text of actual) present.add(canonical(text) ?? text);
  const want = new Set<string>();
  for (const text of desired) {
    const c = canonical(text);
    if (c !== undefined) want.add(c);
  }
  const mine = new Set<string>();
  for (const text of owned) {
    const c = canonical(text);
    if (c !== undefined) mine.add(c);
  }
  const add = [...want].filter((t) => !present.has(t)).sort();
  const remove = [...present].filter((t) => mine.has(t) && !want.has(t)).sort();
  return { add, remove };
}

function canonical(text: string): string | undefined {
  return parseCidr(text.trim())?.text;
}
