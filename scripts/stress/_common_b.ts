/**
 * Shared helpers of the hostile-input, fuzzing, backtracking, botnet and load scenarios of
 * `deno task stress`: the result shape, child banwatch processes with peak-RSS sampling, the
 * control socket, syslog line builders and small statistics.
 * @module
 */
import { RUN_FLAGS } from "../flags.ts";
import { syslogHeader as header } from "../gen_maillog.ts";
import {
  type ControlRequest,
  type ControlResponse,
  formatRequest,
  sendRequest,
} from "../../lib/control/mod.ts";

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

/** The repository root, with a trailing slash. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** The CLI entry point. */
export const MAIN: string = `${ROOT}main.ts`;

/** The address every hostile line tries to get banned. */
export const VICTIM = "198.51.100.66";

/** Where the hostile corpus (log lines and configs) lives. */
export const HOSTILE_DIR: string = `${ROOT}tests/testdata/hostile/`;

/** Runs `fn` with a fresh temporary directory that is removed afterwards. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Sleeps `seconds`. */
export function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

let procReadable = true;

/**
 * A `/proc/PID/status` field in KiB (VmRSS, VmHWM), or undefined when it cannot be read.
 * Deno wants --allow-all to read /proc/PID directly; without it `cat` (--allow-run) reads it.
 */
export async function procStatusKiB(
  pid: number,
  field: "VmRSS" | "VmHWM",
): Promise<number | undefined> {
  const path = `/proc/${pid}/status`;
  let text: string | undefined;
  if (procReadable) {
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotCapable)) return undefined;
      procReadable = false;
    }
  }
  if (text === undefined) {
    try {
      const out = await new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" })
        .output();
      if (!out.success) return undefined;
      text = new TextDecoder().decode(out.stdout);
    } catch {
      return undefined;
    }
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Samples a child's VmHWM every `ms` until stopped; `peak()` is the highest seen (KiB). */
function sampleHwm(pid: number, ms: number): { peak: () => number; stop: () => Promise<void> } {
  let peak = 0;
  let busy: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (busy) return;
    busy = procStatusKiB(pid, "VmHWM").then((kib) => {
      peak = Math.max(peak, kib ?? 0);
    }).finally(() => busy = undefined);
  }, ms);
  return {
    peak: () => peak,
    async stop() {
      clearInterval(timer);
      await busy;
    },
  };
}

/** What a finished banwatch process did. */
export interface BanwatchResult {
  /** Exit code (128 + n when killed by a signal, -1 when killed by the timeout). */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
  /** Peak resident set size sampled from /proc (KiB; 0 when unavailable). */
  peakRssKiB: number;
  /** True when the hard timeout killed it. */
  timedOut: boolean;
  /** Wall time in seconds. */
  seconds: number;
}

/** Options of {@link runBanwatch}. */
export interface RunBanwatchOptions {
  /** Kill the child after this many seconds (default 120). */
  timeout?: number;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Deno flags instead of RUN_FLAGS (e.g. without the V8 flag). */
  denoFlags?: readonly string[];
  /** The script to run instead of main.ts. */
  script?: string;
}

/** Drains a byte stream into a string. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const dec = new TextDecoder();
  return chunks.map((c) => dec.decode(c, { stream: true })).join("") + dec.decode();
}

/**
 * Runs `deno run <RUN_FLAGS> main.ts ...args` to completion, sampling its peak RSS (VmHWM)
 * every 20 ms, and kills it after `timeout` seconds.
 * @param args banwatch arguments
 */
export async function runBanwatch(
  args: readonly string[],
  options: RunBanwatchOptions = {},
): Promise<BanwatchResult> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...(options.denoFlags ?? RUN_FLAGS), options.script ?? MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT,
    env: { TZ: "UTC", NO_COLOR: "1", ...options.env },
  }).spawn();
  const out = drain(child.stdout);
  const err = drain(child.stderr);
  let timedOut = false;
  const sampler = sampleHwm(child.pid, 25);
  const killer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, (options.timeout ?? 120) * 1000);
  try {
    const status = await child.status;
    await sampler.stop();
    return {
      code: timedOut ? -1 : status.signal ? 128 : status.code,
      stdout: await out,
      stderr: await err,
      peakRssKiB: sampler.peak(),
      timedOut,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await sampler.stop();
    clearTimeout(killer);
  }
}

/** A running `banwatch run` child. */
export interface BanwatchDaemon {
  /** The child. */
  child: Deno.ChildProcess;
  /** Its pid. */
  pid: number;
  /** The stderr lines kept so far (the newest 20,000). */
  lines(): readonly string[];
  /** Stderr lines matching `re` so far (counted from the first call with this pattern on; the kept lines before it). */
  count(re: RegExp): number;
  /** Resolves with the first stderr line matching `re` (seen before or after the call). */
  waitFor(re: RegExp, timeout?: number): Promise<string>;
  /** Peak RSS sampled so far (KiB). */
  peakRssKiB(): number;
  /** Sends `signal` (default SIGTERM), waits up to 30 s (then SIGKILL) and returns the code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

const KEPT_LINES = 20_000;

/**
 * Starts `main.ts run -c config ...extra` with TZ=UTC, keeping a bounded tail of its stderr.
 * @param config the jails.toml
 * @param extra more arguments (--dry-run, --log-level warn, ...)
 * @param options `onLine` sees every stderr line as it arrives
 */
export function startBanwatch(
  config: string,
  extra: readonly string[] = [],
  options: { onLine?: (line: string) => void } = {},
): BanwatchDaemon {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...RUN_FLAGS, MAIN, "run", "-c", config, ...extra],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    cwd: ROOT,
    env: { TZ: "UTC", NO_COLOR: "1" },
  }).spawn();
  const kept: string[] = [];
  const counters: Array<{ re: RegExp; n: number }> = [];
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  const sampler = sampleHwm(child.pid, 100);
  const onLine = (line: string) => {
    options.onLine?.(line);
    kept.push(line);
    if (kept.length > KEPT_LINES) kept.splice(0, kept.length - KEPT_LINES);
    for (const c of counters) if (c.re.test(line)) c.n++;
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.re.test(line)) {
        waiters.splice(i, 1);
        w.resolve(line);
      }
    }
  };
  const reading = (async () => {
    const dec = new TextDecoder();
    let partial = "";
    for await (const chunk of child.stderr) {
      partial += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = partial.indexOf("\n")) >= 0) {
        onLine(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    }
    if (partial !== "") onLine(partial);
  })();
  let exit: Promise<number> | undefined;
  return {
    child,
    pid: child.pid,
    lines: () => kept,
    count(re) {
      let c = counters.find((x) => x.re.source === re.source && x.re.flags === re.flags);
      if (!c) {
        c = { re, n: kept.filter((l) => re.test(l)).length };
        counters.push(c);
      }
      return c.n;
    },
    waitFor(re, timeout = 20) {
      const seen = kept.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          re,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(
            new Error(`timed out waiting for ${re}; last stderr:\n${kept.slice(-20).join("\n")}`),
          );
        }, timeout * 1000);
        waiters.push(waiter);
      });
    },
    peakRssKiB: () => sampler.peak(),
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exit) {
        try {
          child.kill(signal);
        } catch {
          // already gone
        }
        const hard = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, 30_000);
        exit = child.status.then((s) => s.signal ? 128 : s.code).finally(async () => {
          clearTimeout(hard);
          await sampler.stop();
        });
      }
      const code = await exit;
      await reading;
      return code;
    },
  };
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

/** Polls `probe` every 100 ms until true; false after `timeout` seconds. */
export async function until(
  probe: () => Promise<boolean> | boolean,
  timeout: number,
): Promise<boolean> {
  const end = performance.now() + timeout * 1000;
  while (performance.now() < end) {
    if (await probe()) return true;
    await sleep(0.1);
  }
  return await probe();
}

/** An RFC 3164 header for `seconds` (UTC), e.g. `Nov  3 20:04:17 mx`. */
export function syslogHeader(seconds: number, host = "mx"): string {
  return header(seconds, host);
}

/** A postfix SASL LOGIN failure line (with its newline) for `addr` at `seconds`. */
export function saslFailure(addr: string, seconds: number, pid = 4242): string {
  return `${
    syslogHeader(seconds)
  } postfix/smtpd[${pid}]: warning: unknown[${addr}]: SASL LOGIN authentication failed: authentication failure\n`;
}

/** The `p`-th percentile (0..100) of `values` (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** A jails.toml `[global]` section keeping state and socket in `dir` (poll_interval 200ms unless `extra` sets it). */
export function globalSection(dir: string, extra = ""): string {
  return `[global]
state_dir = "${dir}/state"
socket = "${dir}/banwatch.sock"
${/poll_interval/.test(extra) ? "" : 'poll_interval = "200ms"\n'}${extra}
`;
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
