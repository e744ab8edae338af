// deno-lint-ignore-file no-console
/**
 * banwatch entry point: parses argv, dispatches to a command, maps errors to exit codes.
 * @module
 */
import { COMMANDS, dispatch, processIo } from "./lib/cli/mod.ts";
import { ConfigError, EXIT, RuntimeError, UsageError } from "./lib/core/mod.ts";

/** Runs banwatch with `args` and resolves to the process exit code. */
export async function main(args: readonly string[]): Promise<number> {
  try {
    return await dispatch(args, COMMANDS, { io: processIo(), now: () => Date.now() / 1000 });
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.problems) console.error(line);
      return EXIT.config;
    }
    if (error instanceof UsageError) {
      console.error(`banwatch: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof RuntimeError) {
      console.error(`banwatch: ${error.message}`);
      return EXIT.runtime;
    }
    const message = error instanceof Error ? error.message : String(error);
    console.error(`banwatch: ${message.split("\n")[0]}`);
    return EXIT.runtime;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
