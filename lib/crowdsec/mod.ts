/**
 * crowdsec/: sharing bans through CrowdSec's Local API. Pure parts turn local bans into
 * alerts (alerts.ts) and vet remote decisions (decisions.ts); client.ts speaks HTTP to LAPI.
 * The daemon (daemon/crowdsec.ts) wires them to the state and the firewall.
 * @module
 */
export { buildAlert, FOREVER_SECONDS } from "./alerts.ts";
export type { AlertDecision, BanToPush, LapiAlert } from "./alerts.ts";
export { goDuration, parseGoDuration, vetDecision } from "./decisions.ts";
export type {
  AcceptedDecision,
  DecisionStream,
  LapiDecision,
  VetOptions,
  Vetted,
} from "./decisions.ts";
export { LapiClient, LapiError } from "./client.ts";
export type { LapiClientOptions } from "./client.ts";
