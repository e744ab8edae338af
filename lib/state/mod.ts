/**
 * state/: the node:sqlite store of bans, windows, history and file positions, and its schema.
 * The ban and history shapes it stores come from core/ban.ts.
 * @module
 */
export { openStore, STATE_DB_NAME } from "./store.ts";
export { HOUR } from "./events.ts";
export type { AddressFailures, EventKind, EventLog, FailureCount, StoredEvent } from "./events.ts";
export type {
  OpenStoreOptions,
  Store,
  StoredBan,
  StoredPrefixWindow,
  StoredWindow,
  StoreRecovery,
} from "./store.ts";
export { openCrowdsecStore, savedCrowdsecStatus } from "./crowdsec_store.ts";
export type {
  CrowdsecStore,
  QueuedAlert,
  SavedCrowdsecStatus,
  StoredDecision,
} from "./crowdsec_store.ts";
