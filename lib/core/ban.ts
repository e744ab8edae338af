/**
 * The one ban shape every stage shares, the two ban-history shapes, and their conversions.
 *
 * decide/ makes {@link BanRecord}s and counts {@link HistoryCount}s; state/ stores both (a
 * stored ban is a BanRecord plus its firewall flag) and keeps one {@link HistoryEntry} row per
 * past ban. They live here, in the leaf, so that state/ need not import decide/ for them.
 *
 * A forever ban is `Infinity` in memory and `null` in SQLite and in JSON (neither can hold
 * Infinity); {@link foreverToNull} and {@link nullToForever} are the two directions.
 * @module
 */

/** Who made a ban: a failure count, a person (`banwatch ban`), or a restore from elsewhere. */
export type BanOrigin = "auto" | "manual" | "restored";

/** Every {@link BanOrigin}, for validating a value read from outside. */
export const BAN_ORIGINS: readonly BanOrigin[] = ["auto", "manual", "restored"];

/** An active ban. */
export interface BanRecord {
  /** Jail name. */
  jail: string;
  /** CIDR text: "1.2.3.4/32", "2001:db8:1:2::/64". */
  target: string;
  /** Epoch seconds the ban started. */
  since: number;
  /** Epoch seconds it ends; Infinity = forever. */
  until: number;
  /** Failures (or distinct addresses, for a prefix) that triggered it; 0 for manual bans. */
  failures: number;
  /** 1 for a first ban, 2 for the second of this target, ... (counts used for increments). */
  banCount: number;
  /** Who made it. */
  origin: BanOrigin;
  /** The log line of the failure that triggered it. */
  line?: string;
}

/**
 * Previous bans of one target: in one jail, or (jail "") in all jails. decide/ keeps one per
 * (jail, target) for bantime increments; state/ rebuilds them from its history rows.
 */
export interface HistoryCount {
  /** Jail name ("" in decide's all-jails map). */
  readonly jail: string;
  /** Ban target (CIDR text). */
  readonly target: string;
  /** Bans made so far. */
  count: number;
  /** Epoch seconds the last one started. */
  last: number;
}

/** One past ban, as state/ keeps it for bantime increments and totals. */
export interface HistoryEntry {
  /** Jail name. */
  jail: string;
  /** Banned address or CIDR. */
  target: string;
  /** When the ban started, epoch seconds. */
  time: number;
  /** Its duration in seconds; Infinity for forever. */
  bantime: number;
}

/**
 * The ban origin a stored value names; an unknown one counts as "restored" (it came from
 * somewhere this build does not know, e.g. a newer banwatch).
 * @param value the value read from the database or the wire
 */
export function banOriginOf(value: unknown): BanOrigin {
  return BAN_ORIGINS.find((o) => o === value) ?? "restored";
}

/**
 * A fresh BanRecord with only the BanRecord fields of `ban`: extra fields of a wider shape
 * (a stored ban's `applied`) are left behind, an absent `line` stays absent.
 * @param ban a BanRecord or a shape extending it
 */
export function toBanRecord(ban: BanRecord): BanRecord {
  const out: BanRecord = {
    jail: ban.jail,
    target: ban.target,
    since: ban.since,
    until: ban.until,
    failures: ban.failures,
    banCount: ban.banCount,
    origin: ban.origin,
  };
  if (ban.line !== undefined) out.line = ban.line;
  return out;
}

/**
 * Seconds for SQLite or JSON: a finite value as is, Infinity (forever) as null.
 * @param seconds an epoch time or a duration
 */
export function foreverToNull(seconds: number): number | null {
  return Number.isFinite(seconds) ? seconds : null;
}

/**
 * Seconds read from SQLite or JSON: null as Infinity (forever), anything else as a number.
 * @param value the column or field value
 */
export function nullToForever(value: unknown): number {
  return value === null ? Infinity : Number(value);
}
