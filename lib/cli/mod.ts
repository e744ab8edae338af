/**
 * cli/: the command line: dispatch, the command registry, output streams, the `banwatch test`
 * report, and one file per subcommand in commands/.
 * @module
 */
export { denoIniIo } from "./commands/import.ts";
export { dispatch } from "./dispatch.ts";
export { processIo } from "./io.ts";
export { COMMANDS } from "./registry.ts";
