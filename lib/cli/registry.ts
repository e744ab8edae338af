import type { Command } from "./command.ts";
import { CHECK_COMMAND } from "./commands/check.ts";
import { CONTROL_COMMANDS } from "./commands/control.ts";
import { DEMO_COMMAND } from "./commands/demo.ts";
import { FILTERS_COMMAND } from "./commands/filters.ts";
import { IMPORT_COMMAND } from "./commands/import.ts";
import { REPORT_COMMAND } from "./commands/report.ts";
import { RUN_COMMAND } from "./commands/run.ts";
import { TEST_COMMAND } from "./commands/test.ts";

/** Every subcommand, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  RUN_COMMAND,
  TEST_COMMAND,
  CHECK_COMMAND,
  FILTERS_COMMAND,
  ...CONTROL_COMMANDS,
  REPORT_COMMAND,
  IMPORT_COMMAND,
  DEMO_COMMAND,
];
