/**
 * A local ban -> one LAPI alert carrying its decision (pure): scope Ip for one address, Range
 * for a prefix; duration = the ban's remaining time; scenario `<prefix>/<jail>`.
 * @module
 */
// LAPI's JSON field names are snake_case (scenario_hash, events_count, start_at, ...).
// deno-lint-ignore-file camelcase
import { parseCidr } from "../core/mod.ts";
import { goDuration } from "./decisions.ts";

/** The ban fields an alert is built from (decide/'s BanRecord has them). */
export interface BanToPush {
  /** Jail name. */
  jail: string;
  /** CIDR text: "192.0.2.1/32", "2001:db8::/64". */
  target: string;
  /** Epoch seconds the ban started. */
  since: number;
  /** Epoch seconds it ends; Infinity = forever. */
  until: number;
  /** Failures that triggered it (0 for a manual ban). */
  failures: number;
  /** Epoch seconds of the first counted failure, when known. */
  firstFailure?: number;
}

/** A decision inside an alert, as LAPI's `POST /v1/alerts` takes it. */
export interface AlertDecision {
  /** Always `ban`. */
  type: "ban";
  /** `Ip` or `Range`. */
  scope: "Ip" | "Range";
  /** The address or range. */
  value: string;
  /** Go duration, e.g. `3599s`. */
  duration: string;
  /** `crowdsec` (a log processor's decision). */
  origin: string;
  /** The scenario. */
  scenario: string;
  /** Never simulated. */
  simulated: false;
}

/** One alert of `POST /v1/alerts`. */
export interface LapiAlert {
  /** `<prefix>/<jail>`. */
  scenario: string;
  /** Empty: banwatch's scenarios are not hub items. */
  scenario_hash: string;
  /** Empty. */
  scenario_version: string;
  /** A readable summary. */
  message: string;
  /** Failures counted. */
  events_count: number;
  /** No events are sent (their lines may hold private data). */
  events: never[];
  /** RFC 3339 time of the first failure. */
  start_at: string;
  /** RFC 3339 time of the last failure (the ban). */
  stop_at: string;
  /** The jail's maxretry is not sent: 0. */
  capacity: number;
  /** Empty. */
  leakspeed: string;
  /** Never simulated. */
  simulated: false;
  /** Whom it is about. */
  source: { scope: "Ip" | "Range"; value: string; ip?: string; range?: string };
  /** The ban. */
  decisions: AlertDecision[];
}

/** The longest duration pushed for a "forever" ban (LAPI needs a finite one): 10 years. */
export const FOREVER_SECONDS = 10 * 365 * 86400;

/**
 * The alert of one ban, or undefined when nothing remains of it (already expired, or not an
 * address or range).
 * @param ban the ban
 * @param options the scenario prefix and the clock
 */
export function buildAlert(
  ban: BanToPush,
  options: { scenarioPrefix: string; now: number },
): LapiAlert | undefined {
  const cidr = parseCidr(ban.target);
  if (!cidr) return undefined;
  const remaining = Number.isFinite(ban.until) ? ban.until - options.now : FOREVER_SECONDS;
  if (remaining < 1) return undefined;
  const single = cidr.prefix === (cidr.family === 4 ? 32 : 128);
  const scope = single ? "Ip" : "Range";
  const value = single ? cidr.text.slice(0, cidr.text.lastIndexOf("/")) : cidr.text;
  const scenario = `${options.scenarioPrefix}/${ban.jail}`;
  return {
    scenario,
    scenario_hash: "",
    scenario_version: "",
    message: `banwatch: ${value} banned in jail ${ban.jail} after ${ban.failures} failures`,
    events_count: ban.failures,
    events: [],
    start_at: new Date((ban.firstFailure ?? ban.since) * 1000).toISOString(),
    stop_at: new Date(ban.since * 1000).toISOString(),
    capacity: 0,
    leakspeed: "",
    simulated: false,
    source: single ? { scope, value, ip: value } : { scope, value, range: value },
    decisions: [{
      type: "ban",
      scope,
      value,
      duration: goDuration(remaining),
      origin: "crowdsec",
      scenario,
      simulated: false,
    }],
  };
}
