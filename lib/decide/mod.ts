/**
 * decide/: failures -> ban actions, pure (no I/O, no clock, no Deno API; `now` is passed in):
 * - record_failure.ts: one failure through the time policy and never-ban checks to a ban;
 * - windows.ts: failure windows of single addresses, bounded memory, pruning;
 * - prefixes.ts: prefix escalation (distinct addresses of one /64 or /24 ban the prefix);
 * - bans.ts: bans, expiry, manual bans and unbans, restore;
 * - increments.ts: ban history and `bantime.increment`;
 * - state.ts: the state container, its counters and the changes to persist (takeDirty);
 * - jail_policy.ts: a jail's policy and never-ban checks (ignoreip, loopback, own addresses).
 * The ban shape itself ({@link BanRecord}) lives in core/ban.ts.
 * @module
 */
export type { BanRecord } from "../core/mod.ts";
export {
  activeBans,
  expireBans,
  flushJail,
  manualBan,
  manualUnban,
  nextExpiry,
  restoreBan,
  unbanAll,
} from "./bans.ts";
export type { BanAction } from "./bans.ts";
export { restoreHistory } from "./increments.ts";
export { createIgnoreChecks, policyOf } from "./jail_policy.ts";
export type {
  BanIncrement,
  BanPolicy,
  IgnoreCheck,
  IgnoreChecks,
  IgnorePrefixCheck,
} from "./jail_policy.ts";
export { restorePrefix } from "./prefixes.ts";
export { recordFailure } from "./record_failure.ts";
export { banStats, createBanState, takeDirty } from "./state.ts";
export type {
  AddressWindows,
  BanCounters,
  BanState,
  BanStats,
  DirtyState,
  FailureWindow,
  PrefixWindow,
  WindowsView,
} from "./state.ts";
export type { WindowKey, WindowTimes } from "./_keys.ts";
export { forgetWindows, pruneWindows, restoreWindow, windowOf, windowStats } from "./windows.ts";
export type { WindowStats } from "./windows.ts";
