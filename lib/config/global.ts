/**
 * The `[global]` section: each key validated on its own over {@link GLOBAL_DEFAULTS}.
 * @module
 */
import {
  EXPECT,
  GLOBAL_DEFAULTS,
  GLOBAL_KEYS,
  type GlobalConfig,
  SOCKET_PATH_MAX,
} from "./schema.ts";
import { type Reporter, show, type Table, unknownKey } from "./problems.ts";
import {
  readAbsPath,
  readBool,
  readCidrList,
  readDuration,
  readInt,
  readString,
  readTimezone,
} from "./values.ts";

/** Reads `[global]` (undefined: absent) over {@link GLOBAL_DEFAULTS}, reporting bad keys and values. */
export function readGlobal(rep: Reporter, raw: Table | undefined): GlobalConfig {
  const g: GlobalConfig = { ...GLOBAL_DEFAULTS, ignoreIp: [] };
  if (!raw) return g;
  for (const [key, v] of Object.entries(raw)) {
    const path = ["global", key];
    switch (key) {
      case "state_dir":
        g.stateDir = readString(rep, path, v, EXPECT.path) ?? g.stateDir;
        break;
      case "socket": {
        const got = readString(rep, path, v, EXPECT.path);
        if (got !== undefined && new TextEncoder().encode(got).length > SOCKET_PATH_MAX) {
          rep.add(
            path,
            `${show(got)} is longer than ${SOCKET_PATH_MAX} bytes`,
            "a shorter path (a Unix socket path is limited to 103 bytes)",
          );
        } else if (got !== undefined) g.socket = got;
        break;
      }
      case "ipfw_path":
        g.ipfwPath = readAbsPath(rep, path, v) ?? g.ipfwPath;
        break;
      case "pfctl_path":
        g.pfctlPath = readAbsPath(rep, path, v) ?? g.pfctlPath;
        break;
      case "nft_path":
        g.nftPath = readAbsPath(rep, path, v) ?? g.nftPath;
        break;
      case "poll_interval":
        g.pollInterval = readDuration(rep, path, v, { min: 0.01, forever: false }) ??
          g.pollInterval;
        break;
      case "ignoreip":
        g.ignoreIp = readCidrList(rep, path, v) ?? g.ignoreIp;
        break;
      case "ignoreself":
        g.ignoreSelf = readBool(rep, path, v) ?? g.ignoreSelf;
        break;
      case "dbpurgeage":
        g.dbPurgeAge = readDuration(rep, path, v, { min: 1, forever: true }) ?? g.dbPurgeAge;
        break;
      case "max_tracked":
        g.maxTracked = readInt(rep, path, v, 1, 100_000_000) ?? g.maxTracked;
        break;
      case "timezone":
        g.timezone = readTimezone(rep, path, v) ?? g.timezone;
        break;
      case "unban_on_stop":
        g.unbanOnStop = readBool(rep, path, v) ?? g.unbanOnStop;
        break;
      case "firewall_timeout":
        g.firewallTimeout = readDuration(rep, path, v, { min: 0.1, forever: false }) ??
          g.firewallTimeout;
        break;
      case "rotation_wait":
        g.rotationWait = readDuration(rep, path, v, { min: 0, forever: false }) ?? g.rotationWait;
        break;
      case "hook_timeout":
        g.hookTimeout = readDuration(rep, path, v, { min: 0.1, forever: false }) ?? g.hookTimeout;
        break;
      case "metrics_file":
        g.metricsFile = readAbsPath(rep, path, v) ?? g.metricsFile;
        break;
      case "metrics_interval":
        g.metricsInterval = readDuration(rep, path, v, { min: 1, forever: false }) ??
          g.metricsInterval;
        break;
      case "firewall_check_interval":
        g.firewallCheckInterval = readDuration(rep, path, v, { min: 1, forever: true }) ??
          g.firewallCheckInterval;
        break;
      default:
        unknownKey(rep, path, GLOBAL_KEYS);
    }
  }
  return g;
}
