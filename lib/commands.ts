import type { Command } from "./command.ts";
import { CHECK_COMMAND } from "./cmd_check.ts";
import { CONTROL_COMMANDS } from "./cmd_control.ts";
import { DEMO_COMMAND } from "./cmd_demo.ts";
import { FILTERS_COMMAND } from "./cmd_filters.ts";
import { IMPORT_COMMAND } from "./cmd_import.ts";
import { RUN_COMMAND } from "./cmd_run.ts";
import { TEST_COMMAND } from "./cmd_test.ts";

/** Every subcommand, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  RUN_COMMAND,
  TEST_COMMAND,
  CHECK_COMMAND,
  FILTERS_COMMAND,
  ...CONTROL_COMMANDS,
  IMPORT_COMMAND,
  DEMO_COMMAND,
];
