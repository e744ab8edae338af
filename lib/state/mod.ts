/**
 * state/: the node:sqlite store of bans, windows, history and file positions, and its schema.
 * @module
 */
export { openStore, STATE_DB_NAME } from "./store.ts";
export type { Store, StoredBan } from "./store.ts";
export { openCrowdsecStore } from "./crowdsec_store.ts";
export type { CrowdsecStore, QueuedAlert, StoredDecision } from "./crowdsec_store.ts";
