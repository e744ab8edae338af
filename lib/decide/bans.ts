/**
 * Active bans and their expiry: automatic bans (with bantime increments), manual bans and
 * unbans, expiry, flushing a removed jail, restore from the database, and the list of bans.
 *
 * A ban starts at `now` (not at the line's time): `since = now`, `until = now + duration`.
 * It is active while `now < until`; `until = Infinity` is forever. Active bans are never
 * evicted. Every change returns the {@link BanAction}s the shell must carry out.
 * @module
 */
import type { BanRecord, Cidr } from "../core/mod.ts";
import { detach, keyOfText, SEP } from "./_keys.ts";
import { addHistory, banDuration, previousBans } from "./increments.ts";
import type { BanPolicy } from "./jail_policy.ts";
import { type BanState, deleteWindow } from "./state.ts";
import { forgetWindows } from "./windows.ts";

/** What the shell must do. */
export type BanAction =
  /**
   * Add `ban.target` to the firewall; `update` when it was already banned (new `until`);
   * `members`: for a prefix escalation, the distinct addresses whose failures led to it;
   * `firstFailure`: for an automatic ban, the (epoch s) time of the first failure counted.
   */
  | { kind: "ban"; ban: BanRecord; update?: true; members?: string[]; firstFailure?: number }
  /** Remove `target` from the firewall. */
  | { kind: "unban"; jail: string; target: string; reason: "expired" | "manual" }
  /** A ban refused for an ignored address or prefix; emitted once per (jail, addr). */
  | { kind: "refused"; jail: string; addr: string; reason: string };

/** Stores a ban and returns its action. */
function putBan(state: BanState, ban: BanRecord): BanAction {
  const key = ban.jail + SEP + ban.target;
  const update = state.bans.has(key);
  state.bans.set(key, ban);
  state.dirty.bans.add(key);
  if (update) state.nextExpiry = undefined;
  else if (state.nextExpiry !== undefined && ban.until < state.nextExpiry) {
    state.nextExpiry = ban.until;
  }
  return update ? { kind: "ban", ban, update: true } : { kind: "ban", ban };
}

/** Removes a ban; true when there was one. */
function dropBan(state: BanState, key: string): boolean {
  const ban = state.bans.get(key);
  if (ban === undefined) return false;
  state.bans.delete(key);
  state.dirty.bans.add(key);
  if (state.nextExpiry !== undefined && ban.until <= state.nextExpiry) {
    state.nextExpiry = undefined;
  }
  state.counters.unbans++;
  return true;
}

/**
 * Makes an automatic ban of target now, as long as the policy's increments say, and counts it
 * in the ban history.
 * @param state the state (mutated)
 * @param policy the jail's policy
 * @param ban the target (CIDR text), the failures (or distinct addresses) that triggered it,
 * now (epoch s), the log line of the last failure and the time of the first counted one
 */
export function autoBan(
  state: BanState,
  policy: BanPolicy,
  ban: {
    target: string;
    failures: number;
    now: number;
    line: string | undefined;
    firstFailure?: number;
  },
): BanAction {
  const { failures, now, line, firstFailure } = ban;
  const target = detach(ban.target);
  const banCount = previousBans(state, policy, target) + 1;
  const record: BanRecord = {
    jail: policy.jail,
    target,
    since: now,
    until: now + banDuration(policy, banCount),
    failures,
    banCount,
    origin: "auto",
  };
  if (line !== undefined) record.line = detach(line);
  addHistory(state, { jail: policy.jail, target, now });
  state.counters.bans++;
  const action = putBan(state, record);
  return action.kind === "ban" && firstFailure !== undefined ? { ...action, firstFailure } : action;
}

/**
 * Removes every ban with `until <= now` and returns their `unban` actions (reason "expired").
 * @param state the state (mutated)
 * @param now epoch seconds
 */
export function expireBans(state: BanState, now: number): BanAction[] {
  const next = nextExpiry(state);
  if (next === undefined || next > now) return [];
  const actions: BanAction[] = [];
  for (const [key, ban] of state.bans) {
    if (ban.until <= now && dropBan(state, key)) {
      actions.push({ kind: "unban", jail: ban.jail, target: ban.target, reason: "expired" });
    }
  }
  return actions;
}

/**
 * The earliest `until` among active bans, or undefined when none expires (none, or all forever).
 * @param state the state
 */
export function nextExpiry(state: BanState): number | undefined {
  if (state.nextExpiry === undefined) {
    let min = Infinity;
    for (const ban of state.bans.values()) if (ban.until < min) min = ban.until;
    state.nextExpiry = min;
  }
  return state.nextExpiry === Infinity ? undefined : state.nextExpiry;
}

/**
 * Bans a target by hand for `banTime` seconds from now (Infinity = forever); replaces an existing
 * ban of it in the jail (action with `update: true`). Counts in the ban history.
 * @param state the state (mutated)
 * @param jail jail name
 * @param options the target block, the length and now
 */
export function manualBan(
  state: BanState,
  jail: string,
  options: { target: Cidr; banTime: number; now: number },
): BanAction[] {
  const target = options.target.text;
  const banCount = (state.history.get(jail + SEP + target)?.count ?? 0) + 1;
  addHistory(state, { jail, target, now: options.now });
  state.counters.bans++;
  return [putBan(state, {
    jail,
    target,
    since: options.now,
    until: options.now + options.banTime,
    failures: 0,
    banCount,
    origin: "manual",
  })];
}

/**
 * Lifts a ban by hand (reason "manual") and forgets the failure window of that address;
 * returns no action when the target is not banned in the jail.
 * @param state the state (mutated)
 * @param jail jail name
 * @param target the banned block
 */
export function manualUnban(state: BanState, jail: string, target: Cidr): BanAction[] {
  const key = jail + SEP + target.text;
  if (!dropBan(state, key)) return [];
  if ((target.family === 4 && target.prefix === 32) || target.prefix === 128) {
    const addr = target.text.slice(0, target.text.lastIndexOf("/"));
    deleteWindow(state, state.jails.get(jail), keyOfText(addr));
  } else {
    const pKey = jail + SEP + target.text;
    if (state.prefixes.delete(pKey)) state.dirty.prefixes.add(pKey);
  }
  return [{ kind: "unban", jail, target: target.text, reason: "manual" }];
}

/**
 * Lifts every ban (of one jail, or of all jails) with reason "manual".
 * @param state the state (mutated)
 * @param jail only this jail; all jails when undefined
 */
export function unbanAll(state: BanState, jail?: string): BanAction[] {
  const actions: BanAction[] = [];
  for (const [key, ban] of state.bans) {
    if (jail !== undefined && ban.jail !== jail) continue;
    if (dropBan(state, key)) {
      actions.push({ kind: "unban", jail: ban.jail, target: ban.target, reason: "manual" });
    }
  }
  return actions;
}

/**
 * Forgets a jail (removed on reload): lifts its bans (returned as unban actions) and drops its
 * windows, prefix windows and refusals. Its ban history is kept for increments.
 * @param state the state (mutated)
 * @param jail jail name
 */
export function flushJail(state: BanState, jail: string): BanAction[] {
  const actions = unbanAll(state, jail);
  const prefix = jail + SEP;
  forgetWindows(state, jail);
  for (const [key, p] of state.prefixes) {
    if (p.jail === jail && state.prefixes.delete(key)) state.dirty.prefixes.add(key);
  }
  for (const key of state.refused) if (key.startsWith(prefix)) state.refused.delete(key);
  return actions;
}

/**
 * Puts a ban loaded from the database back (no action, not dirty); the shell reconciles the
 * firewall itself. An expired one is returned by the next expireBans().
 * @param state the state (mutated)
 * @param ban the stored ban
 */
export function restoreBan(state: BanState, ban: BanRecord): void {
  const key = ban.jail + SEP + ban.target;
  const had = state.bans.has(key);
  state.bans.set(key, { ...ban });
  if (had) state.nextExpiry = undefined;
  else if (state.nextExpiry !== undefined && ban.until < state.nextExpiry) {
    state.nextExpiry = ban.until;
  }
}

/**
 * The active bans (of one jail, or all), in the order they were made.
 * @param state the state
 * @param jail only this jail when given
 */
export function activeBans(state: BanState, jail?: string): BanRecord[] {
  const out: BanRecord[] = [];
  for (const ban of state.bans.values()) {
    if (jail === undefined || ban.jail === jail) out.push({ ...ban });
  }
  return out;
}
