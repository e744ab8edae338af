/**
 * LAPI decisions -> what banwatch may apply (pure): Go durations read, scopes filtered, and
 * every decision that could hurt the host refused (loopback, own addresses, ignoreip, ranges
 * wider than allowed, types other than ban). Nothing remote is trusted.
 * @module
 */
import { type Cidr, parseCidr } from "../core/mod.ts";

/** A decision as the stream sends it (fields banwatch reads; others are ignored). */
export interface LapiDecision {
  /** LAPI's id, unique per LAPI database. */
  id: number;
  /** Who made it: `crowdsec`, `cscli`, `CAPI`, `lists`, ... */
  origin?: string;
  /** `ban`, `captcha`, ... */
  type?: string;
  /** `Ip`, `Range`, `Country`, `AS`, ... */
  scope?: string;
  /** The address, range or other value. */
  value?: string;
  /** Remaining time in Go's notation, e.g. `3h59m58.5s`. */
  duration?: string;
  /** The scenario that made it. */
  scenario?: string;
}

/** The stream's answer: decisions to add and to remove since the last call (null: none). */
export interface DecisionStream {
  /** Decisions to apply. */
  new: LapiDecision[] | null;
  /** Decisions to lift. */
  deleted: LapiDecision[] | null;
}

/** A decision banwatch may apply: its target and until when. */
export interface AcceptedDecision {
  /** LAPI's id. */
  id: number;
  /** The block to put in the table. */
  target: Cidr;
  /** Epoch seconds it ends. */
  until: number;
  /** The scenario it came with. */
  scenario: string;
  /** Its origin. */
  origin: string;
}

/** What to do with one decision. */
export type Vetted =
  | { kind: "accept"; decision: AcceptedDecision }
  | { kind: "refuse"; id: number; value: string; reason: string }
  | { kind: "ignore"; id: number };

/** Limits of {@link vetDecision}. */
export interface VetOptions {
  /** IPv4 ranges with a shorter prefix are refused. */
  maxPrefixV4: number;
  /** IPv6 ranges with a shorter prefix are refused. */
  maxPrefixV6: number;
  /** Why a block must never be banned (loopback, own address, ignoreip), or undefined. */
  protect: (target: Cidr) => string | undefined;
  /** Epoch seconds now. */
  now: number;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  "µs": 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Seconds of a Go duration such as `3h59m58.5s` or `-1.2s`; undefined when not one. */
export function parseGoDuration(text: string): number | undefined {
  const m = /^(-?)((?:\d+(?:\.\d*)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text);
  if (!m) return text === "0" ? 0 : undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * UNIT_SECONDS[part[2]!]!;
  }
  return m[1] ? -total : total;
}

/** Go's notation of whole seconds (`3599s`), as LAPI accepts in a decision's duration. */
export function goDuration(seconds: number): string {
  return `${Math.max(1, Math.round(seconds))}s`;
}

/**
 * Decides what to do with one stream decision: `ignore` scopes other than Ip and Range,
 * `refuse` (with the reason) anything not a ban, malformed, expired, wider than allowed or
 * covering a protected address, else `accept` with its target and end.
 */
export function vetDecision(d: LapiDecision, options: VetOptions): Vetted {
  const scope = (d.scope ?? "").toLowerCase();
  if (scope !== "ip" && scope !== "range") return { kind: "ignore", id: d.id };
  const value = d.value ?? "";
  const refuse = (reason: string): Vetted => ({ kind: "refuse", id: d.id, value, reason });
  if (d.type !== "ban") return refuse(`type ${JSON.stringify(d.type ?? "")} is not ban`);
  const target = parseCidr(value);
  if (!target) return refuse("not an address or range");
  if (scope === "ip" && target.prefix !== (target.family === 4 ? 32 : 128)) {
    return refuse("scope Ip with a range value");
  }
  const max = target.family === 4 ? options.maxPrefixV4 : options.maxPrefixV6;
  if (target.prefix < max) {
    return refuse(`/${target.prefix} is wider than max_prefix_v${target.family} ${max}`);
  }
  const protectedBy = options.protect(target);
  if (protectedBy) return refuse(`covers ${protectedBy}`);
  const seconds = parseGoDuration(d.duration ?? "");
  if (seconds === undefined) return refuse(`duration ${JSON.stringify(d.duration)} unreadable`);
  if (seconds <= 0) return { kind: "ignore", id: d.id };
  return {
    kind: "accept",
    decision: {
      id: d.id,
      target,
      until: options.now + seconds,
      scenario: d.scenario ?? "",
      origin: d.origin ?? "",
    },
  };
}
