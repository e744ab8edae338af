/**
 * core/: the shared vocabulary every stage uses and that imports nothing else in lib/:
 * addresses and CIDRs, durations, the three error kinds and exit codes, the logger, the one
 * process runner, the version.
 * @module
 */
export {
  cidrContains,
  cidrOf,
  createIpMatcher,
  displayTarget,
  isLoopback,
  parseCidr,
  parseIp,
} from "./address.ts";
export type { Cidr, IpAddress, IpFamily } from "./address.ts";
export { BAN_ORIGINS, banOriginOf, foreverToNull, nullToForever, toBanRecord } from "./ban.ts";
export type { BanOrigin, BanRecord, HistoryCount, HistoryEntry } from "./ban.ts";
export { DURATION_EXPECTED, formatDuration, parseDuration } from "./duration.ts";
export { BackendError, ConfigError, EXIT, RuntimeError, UsageError } from "./errors.ts";
export { createRunner } from "./exec.ts";
export type { Runner, RunResult } from "./exec.ts";
export { createLogger } from "./log.ts";
export type { Logger, LogLevel } from "./log.ts";
export {
  DEFAULT_CONFIG_PATH,
  DEFAULT_FIREWALL_TIMEOUT,
  DEFAULT_SOCKET_PATH,
  DEFAULT_STATE_DIR,
  JAIL_NAME,
  TABLE_NAME,
} from "./names.ts";
export { VERSION } from "./version.ts";
