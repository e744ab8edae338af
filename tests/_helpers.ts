/**
 * Helpers shared by the tests: the repository root, the CLI run as the compiled binary runs it
 * (through scripts/daemon_harness.ts), and a snippet run in a fresh deno.
 * @module
 */
import { ROOT, runBanwatch } from "../scripts/daemon_harness.ts";

export { ROOT };

/** What a finished banwatch process printed. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Spawns `deno run <RUN_FLAGS> main.ts ...args` as the compiled binary would run, in the local zone. */
export async function runCli(
  args: readonly string[],
  options: { stdin?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const r = await runBanwatch(args, {
    env: { NO_COLOR: "1", ...options.env },
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** What a `deno eval` child printed. */
export interface EvalResult {
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs `code` with `deno eval --no-config` in a fresh process (for what a test cannot change in
 * its own: TZ, V8 flags such as --expose-gc).
 * @param code the module text
 * @param options `env` added to the inherited environment, `v8Flags` for `--v8-flags=`
 */
export async function evalDeno(
  code: string,
  options: { env?: Record<string, string>; v8Flags?: string } = {},
): Promise<EvalResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--no-config",
      ...(options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : []),
      code,
    ],
    ...(options.env ? { env: options.env } : {}),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
