/**
 * One failure through the decision core: the time policy, the never-ban checks, prefix
 * escalation and the address's own window, to a ban or nothing.
 *
 * Pure and deterministic: no I/O, no clock, no Deno API. Time policy:
 * - Windows use the failure's own (log line) time, clamped to `now` when it lies in the future.
 * - A failure with `time < now - findTime` is not counted at all (catching up an old log).
 * - A failure of an address already banned in the jail (or inside a banned prefix) is not
 *   counted either.
 * @module
 */
import type { IpAddress } from "../core/mod.ts";
import { detach, hostTarget, keyOf, SEP, timesCount, type WindowTimes } from "./_keys.ts";
import { oldestKey } from "./_lru.ts";
import { autoBan, type BanAction } from "./bans.ts";
import type { BanPolicy, IgnoreCheck, IgnorePrefixCheck } from "./jail_policy.ts";
import { countInPrefix, keepPrefix, prefixOf } from "./prefixes.ts";
import { type BanState, deleteWindow, jailWindows, linkWindow, unlinkWindow } from "./state.ts";
import { addTime, evictWindows } from "./windows.ts";

/** Reports a refusal once per (jail, addr). */
function refuse(state: BanState, jail: string, addr: string, reason: string): BanAction[] {
  const key = jail + SEP + addr;
  if (state.refused.has(key)) return [];
  state.refused.add(detach(key));
  if (state.refused.size > state.maxTracked) {
    state.refused.delete(oldestKey(state.refused));
  }
  return [{ kind: "refused", jail, addr, reason }];
}

/**
 * Counts one failure of `failure.addr` in `policy.jail`; returns a ban when maxRetry failures
 * (or ipv*PrefixMaxRetry distinct addresses of a prefix) fall within findTime.
 * Not counted: failures older than now - findTime, failures of an address already banned in the
 * jail (or inside a banned prefix), and ignored addresses (one `refused` action per pair).
 * When a prefix ban triggers, the address itself is not banned separately.
 * @param state the state (mutated)
 * @param policy the jail's policy
 * @param failure the failing address, its log time (epoch s) and the log line
 * @param options now, the never-ban check, and an optional check that refuses prefix bans
 */
export function recordFailure(
  state: BanState,
  policy: BanPolicy,
  failure: { addr: IpAddress; time: number; line?: string },
  options: { now: number; ignore: IgnoreCheck; ignorePrefix?: IgnorePrefixCheck },
): BanAction[] {
  const now = options.now;
  const addr = failure.addr;
  let t = failure.time;
  if (t > now) {
    t = now;
    state.counters.future++;
  }
  if (t < now - policy.findTime) {
    state.counters.stale++;
    return [];
  }
  const jail = policy.jail;
  if (state.bans.size > 0 && state.bans.has(jail + SEP + hostTarget(addr))) {
    state.counters.whileBanned++;
    return [];
  }
  const reason = options.ignore(addr);
  if (reason !== undefined) {
    state.counters.ignored++;
    return refuse(state, jail, addr.text, reason);
  }
  const prefix = prefixOf(policy, addr);
  if (prefix !== undefined && state.bans.has(jail + SEP + prefix.cidr.text)) {
    state.counters.whileBanned++;
    return [];
  }
  state.counters.counted++;
  const actions: BanAction[] = [];
  const jw = jailWindows(state, jail);
  const key = keyOf(addr);
  const line = failure.line;

  if (prefix !== undefined) {
    const pText = prefix.cidr.text;
    const pw = countInPrefix(
      state,
      { jail, prefix: pText, findTime: policy.findTime },
      { addr: addr.text, time: t },
    );
    if (pw.members.size >= prefix.maxRetry) {
      const refusal = options.ignorePrefix?.(prefix.cidr);
      if (refusal === undefined) {
        // The prefix window stays out of the map: takeDirty() reports it deleted.
        const failures = pw.members.size;
        deleteWindow(state, jw, key);
        const members = [...pw.members.keys()].sort();
        // Each member keeps its newest time: the oldest of those starts the escalation.
        const firstFailure = Math.min(...pw.members.values());
        const act = autoBan(state, policy, { target: pText, failures, now, line, firstFailure });
        actions.push(act.kind === "ban" ? { ...act, members } : act);
        return actions;
      }
      actions.push(...refuse(state, jail, pText, refusal));
    }
    keepPrefix(state, pw);
  }

  const old = unlinkWindow(state, jw, key);
  const times: WindowTimes = addTime(old, t, policy.findTime);
  const count = timesCount(times);
  if (count >= policy.maxRetry) {
    if (old !== undefined) jw.dirty.add(key); // the window is cleared: reported as deleted
    const firstFailure = typeof times === "number" ? times : times[0]!;
    const target = hostTarget(addr);
    actions.push(autoBan(state, policy, { target, failures: count, now, line, firstFailure }));
    return actions;
  }
  const stored = old === undefined && typeof key === "string" ? detach(key) : key;
  linkWindow(state, jw, stored, times);
  jw.dirty.add(stored);
  evictWindows(state);
  return actions;
}
