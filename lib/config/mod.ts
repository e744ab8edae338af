/**
 * config/: jails.toml -> a validated {@link Config}: schema, positions, values, jails and
 * filter files (pure), and the loader that reads the files.
 * @module
 */
export { JAIL_DEFAULTS, parseConfig, parseFilterFile } from "./config.ts";
export type { BackendKind, Config, GlobalConfig, JailConfig } from "./config.ts";
export { loadConfig } from "./load.ts";
