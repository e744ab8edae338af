import type { Io } from "./io.ts";

/** What a command gets to do its work. */
export interface CommandContext {
  /** Output streams. */
  io: Io;
  /** The current time in seconds since the epoch (the only clock commands read). */
  now: () => number;
}

/** One `banwatch <name>` subcommand. */
export interface Command {
  /** The word after `banwatch`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  /** Runs the command on its own arguments; resolves to the exit code. */
  run(args: string[], ctx: CommandContext): Promise<number>;
}
