/**
 * Prefix escalation: distinct failing addresses of one IPv6 (or IPv4) prefix are counted
 * together, and enough of them within findTime ban the whole prefix (an attacker usually owns a
 * whole /64). A prefix window maps each failing address to its last failure time.
 * @module
 */
import { type Cidr, cidrOf, type IpAddress } from "../core/mod.ts";
import { detach, SEP } from "./_keys.ts";
import { evictOver } from "./_lru.ts";
import type { BanPolicy } from "./jail_policy.ts";
import type { BanState, PrefixWindow } from "./state.ts";

/**
 * The prefix an address is aggregated into under a policy, or undefined when that is off.
 * @param policy the jail's policy
 * @param addr the failing address
 */
export function prefixOf(
  policy: BanPolicy,
  addr: IpAddress,
): { cidr: Cidr; maxRetry: number } | undefined {
  if (addr.family === 6) {
    if (policy.ipv6PrefixMaxRetry === undefined || policy.ipv6Prefix >= 128) return undefined;
    return { cidr: cidrOf(addr, policy.ipv6Prefix), maxRetry: policy.ipv6PrefixMaxRetry };
  }
  if (
    policy.ipv4Prefix === undefined || policy.ipv4PrefixMaxRetry === undefined ||
    policy.ipv4Prefix >= 32
  ) return undefined;
  return { cidr: cidrOf(addr, policy.ipv4Prefix), maxRetry: policy.ipv4PrefixMaxRetry };
}

/**
 * Counts failure time `t` of `addr` into the prefix window of (jail, prefix), drops members
 * older than its newest time minus findTime and marks it dirty. The window is taken out of the
 * map and returned: the caller puts it back with {@link keepPrefix} unless the prefix gets
 * banned (then it stays out and takeDirty() reports it deleted).
 * @param state the state (mutated)
 * @param window the jail, the prefix's CIDR text and the jail's findTime
 * @param failure the canonical address text and its failure time
 */
export function countInPrefix(
  state: BanState,
  window: { jail: string; prefix: string; findTime: number },
  failure: { addr: string; time: number },
): PrefixWindow {
  const { jail, prefix, findTime } = window;
  const t = failure.time;
  const pKey = jail + SEP + prefix;
  let pw = state.prefixes.get(pKey);
  if (pw === undefined) pw = { jail, prefix, members: new Map() };
  else state.prefixes.delete(pKey);
  const previous = pw.members.get(failure.addr);
  if (previous === undefined) pw.members.set(detach(failure.addr), t);
  else if (previous < t) pw.members.set(failure.addr, t);
  let newest = t;
  for (const time of pw.members.values()) if (time > newest) newest = time;
  for (const [member, time] of pw.members) {
    if (time < newest - findTime) pw.members.delete(member);
  }
  state.dirty.prefixes.add(pKey);
  return pw;
}

/**
 * Puts a prefix window back as the most recently failed and evicts over the cap.
 * @param state the state (mutated)
 * @param pw the window from {@link countInPrefix}
 */
export function keepPrefix(state: BanState, pw: PrefixWindow): void {
  state.prefixes.set(pw.jail + SEP + pw.prefix, pw);
  state.counters.evictions += evictOver(
    state.prefixes,
    state.maxTracked,
    (k) => state.dirty.prefixes.add(k),
  );
}

/**
 * Puts a stored prefix window back (not dirty); the row shape is takeDirty()'s.
 * @param state the state (mutated)
 * @param window jail, CIDR text of the prefix, failing addresses with their last failure time
 */
export function restorePrefix(
  state: BanState,
  window: { jail: string; prefix: string; members: ReadonlyArray<{ addr: string; time: number }> },
): void {
  const { jail, prefix, members } = window;
  if (members.length === 0) return;
  const key = jail + SEP + prefix;
  state.prefixes.delete(key);
  state.prefixes.set(key, { jail, prefix, members: new Map(members.map((m) => [m.addr, m.time])) });
  state.counters.evictions += evictOver(
    state.prefixes,
    state.maxTracked,
    (k) => state.dirty.prefixes.add(k),
  );
}

/**
 * Drops prefix members older than now - findTime of their jail (jails without one are left
 * alone) and the prefix windows left empty; returns how many windows went.
 * @param state the state (mutated)
 * @param options jail -> findTime of the running jails, and now (epoch s)
 */
export function prunePrefixes(
  state: BanState,
  options: { findTimes: ReadonlyMap<string, number>; now: number },
): number {
  const { findTimes, now } = options;
  let dropped = 0;
  for (const [key, p] of state.prefixes) {
    const findTime = findTimes.get(p.jail);
    if (findTime === undefined) continue;
    for (const [member, time] of p.members) {
      if (time < now - findTime) p.members.delete(member);
    }
    if (p.members.size === 0) {
      state.prefixes.delete(key);
      state.dirty.prefixes.add(key);
      dropped++;
    }
  }
  return dropped;
}
