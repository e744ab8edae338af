/**
 * firewall/: ban actions -> firewall tables. The {@link Backend} interface (backend.ts), the
 * registry that builds one per kind and knows its program path key and table-name rule
 * (registry.ts), the pure reconcile of a table with the database (reconcile.ts), the batching
 * and program running every backend shares (batch.ts), and one file per backend: ipfw, pf, nft
 * and dry-run, each a pure argv builder plus the shared runner.
 * @module
 */
export type {
  Backend,
  BackendKind,
  BackendOptions,
  FirewallChange,
  Logger,
  Runner,
  RunResult,
} from "./backend.ts";
export { backendPathKey, createBackend, isValidTableName } from "./registry.ts";
export type { BackendPathKey } from "./registry.ts";
export { reconcile } from "./reconcile.ts";
export type { ReconcilePlan } from "./reconcile.ts";
export { ipfwRuleArgs } from "./ipfw.ts";
