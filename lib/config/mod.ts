/**
 * config/: jails.toml -> a validated {@link Config}: schema, positions, problems, values,
 * sections, jails and filter files (pure), and the loader that reads the files.
 * @module
 */
export { HOOK_PLACEHOLDERS, JAIL_DEFAULTS } from "./schema.ts";
export type { BackendKind, Config, GlobalConfig, JailConfig } from "./schema.ts";
export { parseConfig } from "./parse_config.ts";
export { parseFilterFile } from "./filter_file.ts";
export { checkSecretFile, loadConfig } from "./load.ts";
export { indexPositions, pathId } from "./positions.ts";
export type { Path, PosIndex } from "./positions.ts";
export { CROWDSEC_DEFAULTS, CROWDSEC_KEYS } from "./crowdsec.ts";
export type { CrowdsecConfig } from "./schema.ts";
