/**
 * The only place that starts other programs. Backends get a {@link Runner} so tests can
 * substitute a fake or a wrapper (e.g. `ip netns exec`). Never a shell: argv arrays only.
 * @module
 */
import { BackendError } from "./errors.ts";

/** What a finished program printed and how it exited (-1: not started or timed out). */
export interface RunResult {
  /** Exit code; -1 when the program could not be started, was killed or timed out. */
  code: number;
  /** Everything it wrote to stdout. */
  stdout: string;
  /** Everything it wrote to stderr, or why it could not run. */
  stderr: string;
}

/** Options for one run. */
export interface RunOptions {
  /** Text written to the program's stdin (stdin is /dev/null otherwise). */
  stdin?: string;
  /** Seconds before the program is killed with SIGKILL. */
  timeout?: number;
}

/** Runs a program given as an argv array whose first element is an absolute path. */
export interface Runner {
  /** Runs argv; resolves with the result for any exit code, rejects only for a bad argv. */
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** Creates the real runner built on Deno.Command (no shell, stdin closed unless given). */
export function createRunner(): Runner {
  return { run: runProgram };
}

async function runProgram(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const program = argv[0];
  if (program === undefined || !program.startsWith("/")) {
    throw new BackendError(argv, -1, "program path must be absolute");
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args: argv.slice(1),
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { code: -1, stdout: "", stderr: `not found: ${program}` };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { code: -1, stdout: "", stderr: `cannot run ${program}: ${message}` };
  }
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (options.timeout !== undefined && Number.isFinite(options.timeout)) {
    timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }, Math.max(0, options.timeout * 1000));
  }
  try {
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      try {
        await writer.write(new TextEncoder().encode(options.stdin));
        await writer.close();
      } catch {
        // the program exited without reading all of its input; its exit status tells why
        await writer.abort().catch(() => {});
      }
    }
    const out = await child.output();
    const decoder = new TextDecoder();
    const stdout = decoder.decode(out.stdout);
    if (timedOut) {
      return { code: -1, stdout, stderr: `timed out after ${options.timeout}s` };
    }
    const stderr = decoder.decode(out.stderr);
    if (out.signal !== null) {
      return { code: -1, stdout, stderr: `${stderr}${stderr ? "\n" : ""}killed by ${out.signal}` };
    }
    return { code: out.code, stdout, stderr };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
