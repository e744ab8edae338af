/**
 * The names and default paths every stage agrees on: one copy each.
 * @module
 */

/** A jail name: 1..63 of A-Z a-z 0-9 _ - (it is also the default table name). */
export const JAIL_NAME: RegExp = /^[A-Za-z0-9_-]{1,63}$/;

/** An ipfw/pf table name: 1..63 of A-Z a-z 0-9 _ - . ("all" is refused separately). */
export const TABLE_NAME: RegExp = /^[A-Za-z0-9_.-]{1,63}$/;

/** Where `banwatch` looks for its configuration when `-c` is absent. */
export const DEFAULT_CONFIG_PATH = "/usr/local/etc/banwatch/jails.toml";

/** Directory of the SQLite state (`state_dir`). */
export const DEFAULT_STATE_DIR = "/var/db/banwatch";

/** The control socket (`socket`). */
export const DEFAULT_SOCKET_PATH = "/var/run/banwatch.sock";

/** Seconds before a firewall program is killed (`firewall_timeout`). */
export const DEFAULT_FIREWALL_TIMEOUT = 10;
