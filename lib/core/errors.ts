/** A problem in the configuration; maps to exit code 78 (EX_CONFIG). */
export class ConfigError extends SyntaxError {
  /** One line per problem, each naming file, line and key. */
  readonly problems: readonly string[];
  /** Builds the error from one or more one-line problem descriptions. */
  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(problems.join("\n"), options);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** A command line that cannot be understood; maps to exit code 2. */
export class UsageError extends Error {
  /** Builds the error from a one-line message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** A firewall program that failed: its argv, exit code and stderr. */
export class BackendError extends Error {
  /** The argv that was run. */
  readonly argv: readonly string[];
  /** Its exit code, or -1 when it could not be started or timed out. */
  readonly code: number;
  /** What it wrote to stderr (trimmed). */
  readonly stderr: string;
  /** Builds the error from the failed call. */
  constructor(argv: readonly string[], code: number, stderr: string, options?: ErrorOptions) {
    super(`${argv.join(" ")} exited ${code}${stderr ? `: ${stderr}` : ""}`, options);
    this.name = "BackendError";
    this.argv = argv;
    this.code = code;
    this.stderr = stderr;
  }
}

/** A failure at run time (unreachable daemon, unreadable file); maps to exit code 1. */
export class RuntimeError extends Error {
  /** Builds the error from a one-line message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RuntimeError";
  }
}

/** Exit codes of the program, as documented in banwatch(8). */
export const EXIT = { ok: 0, runtime: 1, usage: 2, config: 78 } as const;
