/**
 * decide/: failures -> ban actions, pure: failure windows per address, bans, expiry,
 * escalation and increments (ban_manager.ts), and the jail policy (ignoreip, loopback, own addresses).
 * @module
 */
export {
  activeBans,
  banStats,
  createBanState,
  expireBans,
  forgetWindows,
  manualBan,
  manualUnban,
  nextExpiry,
  pruneWindows,
  recordFailure,
  restoreBan,
  restoreHistory,
  restorePrefix,
  restoreWindow,
  takeDirty,
  unbanAll,
  windowStats,
} from "./ban_manager.ts";
export type { BanAction, BanPolicy, BanRecord, BanState } from "./ban_manager.ts";
export { createIgnoreChecks, policyOf } from "./jail_policy.ts";
export type { IgnoreChecks } from "./jail_policy.ts";
