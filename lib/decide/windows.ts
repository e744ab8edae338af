/**
 * Failure windows of single addresses: adding a failure time, bounded memory, restore from the
 * database, forgetting, pruning and the per-jail numbers for `status`.
 *
 * A failure counts while `time >= newest - findTime` (the edge is inclusive, as in fail2ban).
 *
 * Memory bound: at most `maxTracked` address windows over all jails. Each jail's map is in least
 * recently failed order; over the cap, the window evicted is the least recently failed one of
 * the jail whose least recently failed window has the oldest newest failure time (exact LRU for
 * one jail, and O(number of jails) per eviction without a per-window sequence number).
 * @module
 */
import {
  insertSorted,
  keyOfText,
  newestOf,
  timesArray,
  type WindowKey,
  type WindowTimes,
} from "./_keys.ts";
import type { BanPolicy } from "./jail_policy.ts";
import { prunePrefixes } from "./prefixes.ts";
import {
  type AddressWindows,
  type BanState,
  deleteWindow,
  jailWindows,
  linkWindow,
  unlinkWindow,
} from "./state.ts";

/** Failing addresses and their failure count in one jail. */
export interface WindowStats {
  /** Addresses with an open window. */
  addrs: number;
  /** Failures in those windows. */
  failures: number;
}

/**
 * The times of a window after adding failure time `t` and dropping those older than the newest
 * minus findTime. Reuses `old`'s array.
 * @param old the window's times before (mutated), or undefined for a new window
 * @param t the failure time
 * @param findTime the jail's window length in seconds
 */
export function addTime(old: WindowTimes | undefined, t: number, findTime: number): WindowTimes {
  if (old === undefined) return t;
  const list = typeof old === "number" ? [old] : old;
  insertSorted(list, t);
  const oldest = list[list.length - 1]! - findTime;
  let drop = 0;
  while (drop < list.length && list[drop]! < oldest) drop++;
  if (drop > 0) list.splice(0, drop);
  return list.length === 1 ? list[0]! : list;
}

/**
 * The least recently failed key of a jail's non-empty windows, without removing it. A live
 * iterator over the keys resumes where it stopped (a fresh one would skip every deleted slot at
 * the front of V8's hash table); `head` remembers the key it returned until that key is deleted
 * or moved to the end (unlinkWindow clears `peeked`).
 */
function peekOldest(jw: AddressWindows): WindowKey {
  if (jw.peeked) return jw.head;
  let r = jw.cursor?.next();
  if (jw.cursor === undefined || r === undefined || r.done) {
    jw.cursor = jw.times.keys();
    r = jw.cursor.next();
  }
  jw.head = r.value as WindowKey;
  jw.peeked = true;
  return jw.head;
}

/**
 * Evicts address windows over the cap (see the module doc for the choice across jails).
 * @param state the state (mutated)
 */
export function evictWindows(state: BanState): void {
  while (state.tracked > state.maxTracked) {
    let victim: AddressWindows | undefined;
    let victimTime = Infinity;
    for (const jw of state.jails.values()) {
      if (jw.times.size === 0) continue;
      const t = newestOf(jw.times.get(peekOldest(jw))!);
      if (victim === undefined || t < victimTime) {
        victim = jw;
        victimTime = t;
      }
    }
    if (victim === undefined) return;
    deleteWindow(state, victim, peekOldest(victim));
    state.counters.evictions++;
  }
}

/**
 * Puts a stored failure window back (not dirty); the row shape is takeDirty()'s. Restore in
 * order of last failure, oldest first: that order is the eviction order. Evictions over the cap
 * are reported by takeDirty().
 * @param state the state (mutated)
 * @param window jail, canonical address text and failure times (epoch s)
 */
export function restoreWindow(
  state: BanState,
  window: { jail: string; addr: string; times: readonly number[] },
): void {
  const { jail, addr, times } = window;
  if (times.length === 0) return;
  const jw = jailWindows(state, jail);
  const key = keyOfText(addr);
  unlinkWindow(state, jw, key);
  const sorted = [...times].sort((a, b) => a - b);
  linkWindow(state, jw, key, sorted.length === 1 ? sorted[0]! : sorted);
  evictWindows(state);
}

/**
 * Forgets every address window of a jail (its bans and prefix windows stay); takeDirty()
 * reports them as deleted. Returns how many there were.
 * @param state the state (mutated)
 * @param jail jail name
 */
export function forgetWindows(state: BanState, jail: string): number {
  const jw = state.jails.get(jail);
  if (jw === undefined) return 0;
  const count = jw.times.size;
  for (const key of jw.times.keys()) jw.dirty.add(key);
  jw.times.clear();
  jw.failures = 0;
  jw.cursor = undefined;
  jw.peeked = false;
  state.tracked -= count;
  return count;
}

/**
 * Failing addresses and failures per jail (jails without windows are left out), for `status`.
 * @param state the state
 */
export function windowStats(state: BanState): Map<string, WindowStats> {
  const out = new Map<string, WindowStats>();
  for (const jw of state.jails.values()) {
    if (jw.times.size > 0) out.set(jw.jail, { addrs: jw.times.size, failures: jw.failures });
  }
  return out;
}

/**
 * The failure times currently counted for an address in a jail (empty when none).
 * @param state the state
 * @param jail jail name
 * @param addr canonical address text
 */
export function windowOf(state: BanState, jail: string, addr: string): number[] {
  return timesArray(state.jails.get(jail)?.times.get(keyOfText(addr)));
}

/**
 * Drops windows whose newest failure is older than now - findTime of their jail (jails without
 * a policy are left alone), then prefix windows likewise; returns how many went. Call now and
 * then to free memory and rows.
 * @param state the state (mutated)
 * @param options the policies of the running jails, and now (epoch s)
 */
export function pruneWindows(
  state: BanState,
  options: { policies: readonly BanPolicy[]; now: number },
): number {
  const { policies, now } = options;
  const findTimes = new Map(policies.map((p) => [p.jail, p.findTime]));
  let dropped = 0;
  for (const jw of state.jails.values()) {
    const findTime = findTimes.get(jw.jail);
    if (findTime === undefined) continue;
    const oldest = now - findTime;
    for (const [key, times] of jw.times) {
      if (newestOf(times) < oldest) {
        deleteWindow(state, jw, key);
        dropped++;
      }
    }
  }
  return dropped + prunePrefixes(state, { findTimes, now });
}
