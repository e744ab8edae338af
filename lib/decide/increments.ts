/**
 * Bantime increments (fail2ban's `bantime.increment`): the ban history of each target, per jail
 * and over all jails, and the length of a repeat offender's next ban.
 *
 * Both history maps are LRU and capped at `maxTracked` entries; only the per-jail one is
 * persisted, the all-jails one is its sum.
 * @module
 */
import type { HistoryCount } from "../core/mod.ts";
import { SEP } from "./_keys.ts";
import { evictOver } from "./_lru.ts";
import type { BanPolicy } from "./jail_policy.ts";
import type { BanState } from "./state.ts";

/**
 * Duration of the banCount-th ban of a target under a policy.
 * @param policy the jail's policy
 * @param banCount 1 for a first ban, 2 for the second, ...
 */
export function banDuration(policy: BanPolicy, banCount: number): number {
  const base = policy.banTime;
  const inc = policy.increment;
  if (!inc.enabled || base === Infinity) return base;
  const previous = banCount - 1;
  const raw = inc.multipliers.length > 0
    ? base * inc.multipliers[Math.min(previous, inc.multipliers.length - 1)]!
    : base * inc.factor * 2 ** Math.min(previous, 20);
  return inc.maxtime > 0 ? Math.min(raw, inc.maxtime) : raw;
}

/**
 * Number of previous bans of a target that count for the policy (this jail's, or all jails'
 * with `overalljails`).
 * @param state the state
 * @param policy the jail's policy
 * @param target ban target (CIDR text)
 */
export function previousBans(state: BanState, policy: BanPolicy, target: string): number {
  const entry = policy.increment.overalljails
    ? state.overall.get(target)
    : state.history.get(policy.jail + SEP + target);
  return entry?.count ?? 0;
}

/**
 * Adds one ban to the per-jail and overall history (LRU, capped).
 * @param state the state (mutated)
 * @param ban the jail and target banned, and when (epoch s)
 */
export function addHistory(
  state: BanState,
  ban: { jail: string; target: string; now: number },
): void {
  const { jail, target, now } = ban;
  const key = jail + SEP + target;
  const entry = state.history.get(key) ?? { jail, target, count: 0, last: now };
  state.history.delete(key);
  entry.count++;
  entry.last = now;
  state.history.set(key, entry);
  state.dirty.history.add(key);
  const all = state.overall.get(target) ?? { jail: "", target, count: 0, last: now };
  state.overall.delete(target);
  all.count++;
  all.last = now;
  state.overall.set(target, all);
  evictHistory(state);
}

/** Keeps both history maps within the cap. */
function evictHistory(state: BanState): void {
  state.counters.evictions += evictOver(
    state.history,
    state.maxTracked,
    (k) => state.dirty.history.add(k),
  );
  state.counters.evictions += evictOver(state.overall, state.maxTracked, () => {});
}

/**
 * Puts stored ban history back (not dirty); the overall (all jails) count is the sum.
 * @param state the state (mutated)
 * @param entry previous bans of a target in a jail, and when the last one was made
 */
export function restoreHistory(state: BanState, entry: HistoryCount): void {
  if (entry.count <= 0) return;
  const key = entry.jail + SEP + entry.target;
  const old = state.history.get(key)?.count ?? 0;
  state.history.delete(key);
  state.history.set(key, { ...entry });
  const all = state.overall.get(entry.target) ??
    { jail: "", target: entry.target, count: 0, last: entry.last };
  state.overall.delete(entry.target);
  all.count += entry.count - old;
  all.last = Math.max(all.last, entry.last);
  state.overall.set(entry.target, all);
  evictHistory(state);
}
