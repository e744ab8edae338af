import type { Command, CommandContext } from "./command.ts";
import { UsageError, VERSION } from "../core/mod.ts";

/** The global usage text listing every command. */
export function globalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "banwatch: ban addresses that fail too often, from log files, through ipfw tables",
    "",
    "Usage: banwatch <command> [options]",
    "       banwatch --help | --version",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `banwatch <command> --help` for a command's options. Exit status: 0 ok,",
    "1 runtime failure, 2 usage error, 78 configuration error. See banwatch(8).",
    "",
  ].join("\n");
}

/** Picks the command named by argv[0] and runs it; usage problems throw UsageError. */
export async function dispatch(
  argv: readonly string[],
  commands: readonly Command[],
  ctx: CommandContext,
): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    ctx.io.err(globalHelp(commands));
    return 2;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    ctx.io.out(globalHelp(commands));
    return 0;
  }
  if (first === "--version" || first === "-V" || first === "version") {
    ctx.io.out(`banwatch ${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) throw new UsageError(`unknown command "${first}" (see banwatch --help)`);
  if (rest.includes("--help") || rest.includes("-h")) {
    ctx.io.out(command.help);
    return 0;
  }
  return await command.run([...rest], ctx);
}
