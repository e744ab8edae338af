/**
 * The jails.toml schema: the validated shapes ({@link Config}, {@link GlobalConfig},
 * {@link JailConfig}), their defaults, the keys each section accepts and the "expected ..."
 * texts of problem lines. Also the reference for jails.toml(5), which tests check against.
 * @module
 */
import {
  type Cidr,
  DEFAULT_FIREWALL_TIMEOUT,
  DEFAULT_SOCKET_PATH,
  DEFAULT_STATE_DIR,
  DURATION_EXPECTED,
} from "../core/mod.ts";
import type { BackendKind } from "../firewall/mod.ts";
import type { FilterSpec } from "../filter/mod.ts";

export type { Cidr } from "../core/mod.ts";
export type { FilterSpec } from "../filter/mod.ts";

// ---------------------------------------------------------------------------------------------
// Public types

/** A firewall backend name as written in jails.toml (defined once, in firewall/backend.ts). */
export type { BackendKind };

/** Recidive settings (`bantime_increment` table): how ban times grow for repeat offenders. */
export interface BantimeIncrement {
  /** `enabled`: grow ban times of addresses banned before (default false). */
  enabled: boolean;
  /** `factor`: bantime × factor × 2^n for the n-th previous ban, n capped at 20 (default 1). */
  factor: number;
  /** `multipliers`: bantime × multipliers[n], the last one repeating; replaces factor (default []). */
  multipliers: readonly number[];
  /** Always undefined: fail2ban's `formula` is rejected by the parser. */
  formula: string | undefined;
  /** `maxtime`: the longest ban increments may produce, seconds (default Infinity: no cap). */
  maxtime: number;
  /** `overalljails`: count previous bans from every jail, not only this one (default false). */
  overalljails: boolean;
  /** `rndtime`: up to this many random seconds are added to a grown ban (default 0). */
  rndtime: number;
}

/** The `[global]` section, with defaults applied; durations in seconds. */
export interface GlobalConfig {
  /** `state_dir`: directory of the SQLite state (default "/var/db/banwatch"). */
  stateDir: string;
  /** `socket`: control socket path, at most 103 bytes (default "/var/run/banwatch.sock"). */
  socket: string;
  /** `ipfw_path`: absolute path of ipfw (default "/sbin/ipfw"). */
  ipfwPath: string;
  /** `pfctl_path`: absolute path of pfctl (default "/sbin/pfctl"). */
  pfctlPath: string;
  /** `nft_path`: absolute path of nft (default "/usr/sbin/nft"). */
  nftPath: string;
  /** `poll_interval`: seconds between stats of each log file, at least 10ms (default 1). */
  pollInterval: number;
  /** `ignoreip`: addresses/CIDRs no jail ever bans (default none). */
  ignoreIp: readonly Cidr[];
  /** `ignoreself`: never ban loopback and the host's own addresses (default true). */
  ignoreSelf: boolean;
  /** `dbpurgeage`: ban history older than this is purged, seconds (default 30 days). */
  dbPurgeAge: number;
  /** `max_tracked`: cap on addresses with open failure windows (default 100000). */
  maxTracked: number;
  /** `timezone`: zone of log times without one; undefined = local. Folded into each filter. */
  timezone: string | undefined;
  /** `unban_on_stop`: remove the daemon's bans on SIGTERM/SIGINT (default false). */
  unbanOnStop: boolean;
  /** `firewall_timeout`: a firewall call running longer is killed, seconds (default 10). */
  firewallTimeout: number;
  /**
   * `rotation_wait`: a rotated log whose `.0` still names it is read until it has not grown for
   * this long, seconds (default 15).
   */
  rotationWait: number;
  /** `hook_timeout`: an on_ban/on_unban program running longer is killed, seconds (default 10). */
  hookTimeout: number;
  /** `metrics_file`: absolute path of the Prometheus text file written (default unset: none). */
  metricsFile: string | undefined;
  /** `metrics_interval`: the metrics file is written at most this often, seconds (default 15). */
  metricsInterval: number;
  /**
   * `firewall_check_interval`: seconds between checks that the managed tables, rules and
   * entries are still in the firewall (re-created when not); Infinity = never (default 300).
   */
  firewallCheckInterval: number;
}

/** One `[jail.NAME]` section merged over `[defaults]`, with defaults applied; durations in seconds. */
export interface JailConfig {
  /** The NAME of `[jail.NAME]`: 1..63 of A-Z a-z 0-9 - _. */
  name: string;
  /** `enabled` (default false, as in fail2ban). */
  enabled: boolean;
  /** `logpath`: paths or globs, relative ones joined to the config file's directory. */
  logPaths: readonly string[];
  /** The effective filter: the named/inline one with the jail's inline overrides applied. */
  filter: FilterSpec;
  /** "builtin:NAME", the filter file's path, "inline", or "none" (a disabled jail without filter). */
  filterSource: string;
  /** `maxretry`: failures within findTime that ban (default 5). */
  maxRetry: number;
  /** `findtime`: the failure window, seconds (default 600). */
  findTime: number;
  /** `bantime`: seconds, Infinity for "forever" (default 600). */
  banTime: number;
  /** `bantime_increment` merged key by key over `[defaults]`. */
  banTimeIncrement: BantimeIncrement;
  /** The jail's own ignoreip plus `[defaults]`' (the global list is kept in GlobalConfig). */
  ignoreIp: readonly Cidr[];
  /** `backend` (default "ipfw"). */
  backend: BackendKind;
  /** `table`: firewall table name (default: the jail name). */
  table: string;
  /** `usedns`: resolve host names in `<HOST>` (default false; unsafe). Same as filter.usedns. */
  usedns: boolean;
  /** `ipv6_prefix`: IPv6 aggregation prefix length 1..128 (default 64). */
  ipv6Prefix: number;
  /** `ipv6_prefix_maxretry` (default unset). */
  ipv6PrefixMaxRetry: number | undefined;
  /** `ipv4_prefix`: IPv4 aggregation prefix length 1..32 (default unset: off). */
  ipv4Prefix: number | undefined;
  /** `ipv4_prefix_maxretry` (default unset). */
  ipv4PrefixMaxRetry: number | undefined;
  /** `port`: ports of the managed rule (default []: all ports). */
  ports: readonly number[];
  /** `protocol` of the managed rule (default "tcp"). */
  protocol: "tcp" | "udp" | "all";
  /** `rule`: ipfw rule number 1..65534 (default unset). */
  ruleNumber: number | undefined;
  /** `manage_rule` (default: true when rule is set). */
  manageRule: boolean;
  /** `on_ban`: argv run after each new ban, with {@link HOOK_PLACEHOLDERS} (default unset). */
  onBan: readonly string[] | undefined;
  /** `on_unban`: argv run after each lifted ban, with {@link HOOK_PLACEHOLDERS} (default unset). */
  onUnban: readonly string[] | undefined;
}

/** The validated `[crowdsec]` section; durations in seconds. */
export interface CrowdsecConfig {
  /** `lapi_url`: the LAPI's base URL, http or https, without a trailing slash. */
  lapiUrl: string;
  /** `push`: report banwatch's own bans as alerts, logged in as a machine (default false). */
  push: boolean;
  /** `machine_id`: the machine name given to `cscli machines add` (needed by push). */
  machineId: string | undefined;
  /** `machine_password_file`: the file holding the machine's password (needed by push). */
  machinePasswordFile: string | undefined;
  /** `pull`: apply LAPI's decisions, as a bouncer (default false). */
  pull: boolean;
  /** `bouncer_key_file`: the file holding the bouncer's API key (needed by pull). */
  bouncerKeyFile: string | undefined;
  /** `table`: where remote decisions go, never a jail's table (default "crowdsec"). */
  table: string;
  /** `backend`: the firewall of that table (default: the `[defaults]` backend). */
  backend: BackendKind;
  /** `pull_interval`: seconds between two reads of the decisions stream (default 10). */
  pullInterval: number;
  /** `max_prefix_v4`: IPv4 ranges wider than this are refused (default 16). */
  maxPrefixV4: number;
  /** `max_prefix_v6`: IPv6 ranges wider than this are refused (default 32). */
  maxPrefixV6: number;
  /** `max_decisions`: remote decisions applied at most; more are refused (default 100000). */
  maxDecisions: number;
  /** `scenario_prefix`: alerts carry the scenario `<prefix>/<jail>` (default "banwatch"). */
  scenarioPrefix: string;
}

/** A whole validated configuration. */
export interface Config {
  /** The file name given to parseConfig(). */
  file: string;
  /** `[global]`. */
  global: GlobalConfig;
  /** Every `[jail.NAME]`, enabled or not, in file order. */
  jails: readonly JailConfig[];
  /** `[crowdsec]` (config/crowdsec.ts), when present. */
  crowdsec?: CrowdsecConfig;
}

// ---------------------------------------------------------------------------------------------
// Defaults and key lists (also the reference for jails.toml(5))

/** Defaults of `[global]`. */
export const GLOBAL_DEFAULTS: Readonly<Omit<GlobalConfig, "ignoreIp">> = {
  stateDir: DEFAULT_STATE_DIR,
  socket: DEFAULT_SOCKET_PATH,
  ipfwPath: "/sbin/ipfw",
  pfctlPath: "/sbin/pfctl",
  nftPath: "/usr/sbin/nft",
  pollInterval: 1,
  ignoreSelf: true,
  dbPurgeAge: 30 * 86400,
  maxTracked: 100000,
  timezone: undefined,
  unbanOnStop: false,
  firewallTimeout: DEFAULT_FIREWALL_TIMEOUT,
  rotationWait: 15,
  hookTimeout: 10,
  metricsFile: undefined,
  metricsInterval: 15,
  firewallCheckInterval: 300,
};

/** Defaults of the `bantime_increment` table. */
export const INCREMENT_DEFAULTS: Readonly<BantimeIncrement> = {
  enabled: false,
  factor: 1,
  multipliers: [],
  formula: undefined,
  maxtime: Infinity,
  overalljails: false,
  rndtime: 0,
};

/** Defaults of jail keys (those that have one; `table` defaults to the jail's name). */
export const JAIL_DEFAULTS = {
  enabled: false,
  maxRetry: 5,
  findTime: 600,
  banTime: 600,
  backend: "ipfw" as BackendKind,
  usedns: false,
  ipv6Prefix: 64,
  protocol: "tcp" as const,
} as const;

/** Keys accepted in `[global]`. */
export const GLOBAL_KEYS: readonly string[] = [
  "state_dir",
  "socket",
  "ipfw_path",
  "pfctl_path",
  "nft_path",
  "poll_interval",
  "ignoreip",
  "ignoreself",
  "dbpurgeage",
  "max_tracked",
  "timezone",
  "unban_on_stop",
  "firewall_timeout",
  "rotation_wait",
  "hook_timeout",
  "metrics_file",
  "metrics_interval",
  "firewall_check_interval",
];

/** Keys accepted in `[defaults]` and `[jail.NAME]`. */
export const JAIL_KEYS: readonly string[] = [
  "enabled",
  "logpath",
  "filter",
  "failregex",
  "ignoreregex",
  "prefregex",
  "datepattern",
  "usedns",
  "timezone",
  "maxretry",
  "findtime",
  "bantime",
  "bantime_increment",
  "ignoreip",
  "backend",
  "table",
  "ipv6_prefix",
  "ipv6_prefix_maxretry",
  "ipv4_prefix",
  "ipv4_prefix_maxretry",
  "port",
  "protocol",
  "rule",
  "manage_rule",
  "on_ban",
  "on_unban",
];

/** The placeholders an `on_ban`/`on_unban` argument may hold, each replaced by its value. */
export const HOOK_PLACEHOLDERS: readonly string[] = [
  "jail",
  "addr",
  "failures",
  "bantime",
  "time",
  "hostname",
  "count",
];

/** Keys accepted in a `bantime_increment` table. */
export const INCREMENT_KEYS: readonly string[] = [
  "enabled",
  "factor",
  "multipliers",
  "formula",
  "maxtime",
  "overalljails",
  "rndtime",
];

/** Keys accepted in a banwatch filter file. */
export const FILTER_FILE_KEYS: readonly string[] = [
  "description",
  "example",
  "failregex",
  "ignoreregex",
  "prefregex",
  "datepattern",
  "usedns",
  "timezone",
];

/** Values of `backend`; the type itself lives with the backends (firewall/). */
export const BACKENDS: readonly BackendKind[] = ["ipfw", "pf", "nft", "dry-run"];
/** Values of `protocol`. */
export const PROTOCOLS = ["tcp", "udp", "all"] as const;
/** pf's PF_TABLE_NAME_SIZE is 32 bytes with the NUL: pfctl rejects a longer table name. */
export const PF_TABLE_MAX = 31;
/** sun_path is 104 bytes on FreeBSD, including the terminating NUL. */
export const SOCKET_PATH_MAX = 103;

/** The "expected ..." tail of problem lines, shared so one kind of value reads the same everywhere. */
export const EXPECT = {
  duration: DURATION_EXPECTED,
  bantime: `${DURATION_EXPECTED}, or "forever"`,
  bool: "true or false",
  path: "a non-empty path",
  absPath: 'an absolute path such as "/sbin/ipfw"',
  cidr: 'an address or CIDR such as "192.0.2.1", "198.51.100.0/24" or "2001:db8::/32"',
  cidrList: 'a list of addresses or CIDRs, e.g. ["192.0.2.1", "2001:db8::/32"]',
  logpath: 'a path or a list of paths, e.g. "/var/log/maillog" (globs allowed)',
  regexList: "a regex string or a list of regex strings",
  regex: "a regex string",
  timezone: 'a time zone: "UTC", "local", an IANA name such as "Asia/Tokyo", or "+0900"',
  port: "a port number 1..65535 or a list of them",
  jailTable: "a table [jail.NAME] of jail settings",
  hook:
    'a list of strings, the first an absolute program path, e.g. ["/usr/local/libexec/banwatch/mail-root", "{jail}", "{addr}"]',
  table: 'an ipfw table name of 1..63 characters from A-Z a-z 0-9 "-" "_" ".", not "all"',
} as const;
