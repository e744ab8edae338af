/**
 * Shared helpers of the hostile-input, fuzzing, backtracking, botnet and load scenarios of
 * `deno task stress`: the result shape, the control socket and small statistics. Child banwatch
 * processes, configs and log lines are scripts/daemon_harness.ts's.
 * @module
 */
import {
  type ControlRequest,
  type ControlResponse,
  formatRequest,
  sendRequest,
} from "../../lib/control/mod.ts";
import { type DaemonOptions, ROOT } from "../daemon_harness.ts";

/** One figure of a stress scenario, as `deno task stress` prints it. */
export interface StressResult {
  /** Scenario and measurement, e.g. "hostile: victim bans". */
  name: string;
  /** The measured figure, e.g. "0 of 212 lines". */
  figure: string;
  /** Whether the figure meets the issue's bar. */
  pass: boolean;
  /** What went wrong, or how the figure was obtained. */
  detail?: string;
}

/** How a scenario runs: `quick` is the seconds-long subset the normal test suite runs. */
export interface StressOptions {
  /** The fast subset (tests/stress_b_test.ts) instead of the issue's full figures. */
  quick: boolean;
}

/** The address every hostile line tries to get banned. */
export const VICTIM = "198.51.100.66";

/** Where the hostile corpus (log lines and configs) lives. */
export const HOSTILE_DIR: string = `${ROOT}tests/testdata/hostile/`;

/** How these scenarios start the daemon: the newest 20,000 stderr lines, peak RSS every 100 ms. */
export const STRESS_DAEMON: DaemonOptions = { keepLines: 20_000, sampleRssMs: 100 };

/** Sleeps `seconds`. */
export function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

/** Sends one control request (5 s timeout) and returns the response. */
export function control(
  socket: string,
  request: ControlRequest,
  timeout = 5,
): Promise<ControlResponse> {
  return sendRequest(socket, request, { timeout });
}

/** The `status` report's jails (throws when the daemon refuses). */
export async function statusJails(
  socket: string,
  timeout = 5,
): Promise<
  Array<
    {
      name: string;
      banned: number;
      evictions: number;
      failing: number;
      files: Array<{ path: string; offset: number }>;
    }
  >
> {
  const response = await control(socket, { v: 1, cmd: "status" }, timeout);
  if (!response.ok) throw new Error(`status refused: ${response.error}`);
  return (response.result as { jails: [] }).jails;
}

/** The raw request line for `request` (for writing to a socket by hand). */
export function requestLine(request: ControlRequest): string {
  return formatRequest(request);
}

/** The `p`-th percentile (0..100) of `values` (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Lines of a stack trace or an uncaught error dump in `stderr`. */
export function stackTraceLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) =>
    /^\s+at /.test(l) || /^(error: )?Uncaught/i.test(l) || /^\w*Error: /.test(l) ||
    /Stack backtrace/.test(l)
  );
}

/** Writes a progress line to stderr when BW_STRESS_DEBUG is set. */
export function trace(message: string): void {
  if (Deno.env.get("BW_STRESS_DEBUG")) {
    Deno.stderr.writeSync(new TextEncoder().encode(`[stress] ${message}\n`));
  }
}

/** Formats KiB as MB with one decimal. */
export function mb(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MB`;
}

/** Formats results as an aligned table. */
export function formatResults(results: readonly StressResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length), 10);
  return results.map((r) =>
    `${r.pass ? "PASS" : "FAIL"}  ${r.name.padEnd(width)}  ${r.figure}` +
    (r.detail && !r.pass ? `\n${r.detail.split("\n").map((l) => `      ${l}`).join("\n")}` : "")
  ).join("\n") + "\n";
}

/** Runs one scenario module from the command line (`--full` for the issue's figures). */
export async function runStandalone(
  run: (options: StressOptions) => Promise<StressResult[]>,
): Promise<void> {
  const results = await run({ quick: !Deno.args.includes("--full") });
  Deno.stdout.writeSync(new TextEncoder().encode(formatResults(results)));
  if (results.some((r) => !r.pass)) Deno.exitCode = 1;
}
