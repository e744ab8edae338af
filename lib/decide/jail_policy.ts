/**
 * What the decision core needs to know of a jail: its ban policy ({@link BanPolicy}, built from
 * the jail's configuration by {@link policyOf}) and the never-ban checks (loopback, the host's
 * own addresses, global and jail ignoreip). Pure.
 * @module
 */
import { type Cidr, createIpMatcher, type IpAddress, isLoopback } from "../core/mod.ts";
import type { GlobalConfig, JailConfig } from "../config/mod.ts";

/** Bantime increment settings of one jail (fail2ban's `bantime.increment`). */
export interface BanIncrement {
  /** Off: every ban lasts `banTime`. */
  enabled: boolean;
  /** Used when `multipliers` is empty: banTime * factor * 2^min(previousBans, 20). */
  factor: number;
  /** When not empty: banTime * multipliers[min(previousBans, length - 1)]. */
  multipliers: readonly number[];
  /** Upper bound of an incremented ban in seconds; <= 0 means no bound. */
  maxtime: number;
  /** Count previous bans of the target in every jail, not only this one. */
  overalljails: boolean;
}

/** One jail's counting and banning policy, built by the daemon from its JailConfig. */
export interface BanPolicy {
  /** Jail name. */
  jail: string;
  /** Failures within findTime that trigger a ban (>= 1). */
  maxRetry: number;
  /** Window length in seconds. */
  findTime: number;
  /** Ban length in seconds; Infinity = forever. */
  banTime: number;
  /** Longer bans for repeat offenders. */
  increment: BanIncrement;
  /** IPv6 prefix length counted together (default 64). */
  ipv6Prefix: number;
  /** Distinct failing addresses of one IPv6 prefix within findTime that ban the prefix; undefined = off. */
  ipv6PrefixMaxRetry: number | undefined;
  /** IPv4 prefix length counted together (e.g. 24); undefined = off. */
  ipv4Prefix: number | undefined;
  /** Distinct failing addresses of one IPv4 prefix that ban the prefix; undefined = off. */
  ipv4PrefixMaxRetry: number | undefined;
}

/** Returns why an address must never be banned ("loopback", "ignoreip 10.0.0.0/8"), or undefined. */
export type IgnoreCheck = (addr: IpAddress) => string | undefined;

/** Returns why a prefix must never be banned (it contains an ignored address), or undefined. */
export type IgnorePrefixCheck = (cidr: Cidr) => string | undefined;

/** Builds the decision policy of one jail. */
export function policyOf(jail: JailConfig): BanPolicy {
  const inc = jail.banTimeIncrement;
  return {
    jail: jail.name,
    maxRetry: jail.maxRetry,
    findTime: jail.findTime,
    banTime: jail.banTime,
    increment: {
      enabled: inc.enabled,
      factor: inc.factor,
      multipliers: inc.multipliers,
      maxtime: Number.isFinite(inc.maxtime) ? inc.maxtime : 0,
      overalljails: inc.overalljails,
    },
    ipv6Prefix: jail.ipv6Prefix,
    // Unset means the jail's maxretry (jails.toml(5)): an attacker usually owns a whole /64.
    ipv6PrefixMaxRetry: jail.ipv6PrefixMaxRetry ?? jail.maxRetry,
    ipv4Prefix: jail.ipv4Prefix,
    ipv4PrefixMaxRetry: jail.ipv4PrefixMaxRetry,
  };
}

/** The never-ban checks of one jail: for single addresses and for prefixes. */
export interface IgnoreChecks {
  /** Why `addr` must not be banned, or undefined. */
  ignore: IgnoreCheck;
  /** Why a prefix must not be banned (it holds a protected address), or undefined. */
  ignorePrefix: IgnorePrefixCheck;
}

function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const bits = Math.min(a.prefix, b.prefix);
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if (((a.bytes[byte] ?? 0) & mask) !== ((b.bytes[byte] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * Builds the never-ban checks: loopback, `ownAddresses` (when `global.ignoreSelf`), the global
 * ignoreip and the jail's ignoreip, in that order; the reason names which one refused.
 */
export function createIgnoreChecks(
  global: Pick<GlobalConfig, "ignoreIp" | "ignoreSelf">,
  jail: Pick<JailConfig, "ignoreIp"> | undefined,
  ownAddresses: readonly Cidr[] = [],
): IgnoreChecks {
  const own = global.ignoreSelf ? ownAddresses : [];
  const lists: Array<[string, readonly Cidr[]]> = [
    ["own address", own],
    ["ignoreip", global.ignoreIp],
    ["jail ignoreip", jail?.ignoreIp ?? []],
  ];
  const matchers = lists.map(([label, cidrs]) => [label, createIpMatcher(cidrs)] as const);
  const ignore = (addr: IpAddress): string | undefined => {
    if (isLoopback(addr)) return "loopback";
    for (const [label, match] of matchers) {
      const hit = match(addr);
      if (hit) return `${label} ${hit.text}`;
    }
    return undefined;
  };
  const ignorePrefix = (prefix: Cidr): string | undefined => {
    for (const [label, cidrs] of lists) {
      for (const c of cidrs) if (overlaps(c, prefix)) return `${label} ${c.text}`;
    }
    if (prefix.family === 4 && overlaps(prefix, LOOPBACK_V4)) return "loopback";
    if (prefix.family === 6 && overlaps(prefix, LOOPBACK_V6)) return "loopback";
    return undefined;
  };
  return { ignore, ignorePrefix };
}

const LOOPBACK_V4: Cidr = {
  family: 4,
  bytes: new Uint8Array([127, 0, 0, 0]),
  prefix: 8,
  text: "127.0.0.0/8",
};
const LOOPBACK_V6: Cidr = {
  family: 6,
  bytes: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
  prefix: 128,
  text: "::1/128",
};
