/**
 * Shared helpers of the benchmark scripts (bench_filter.ts, bench_daemon.ts): spawning a
 * process while measuring its wall time and peak RSS, reading /proc, percentiles, tables.
 * Private to scripts/.
 * @module
 */
import { bundleArgs } from "./compile.ts";
import { BUNDLE_FLAGS, RUN_FLAGS } from "./flags.ts";

/** The repository root (with a trailing slash). */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** The benchmarks' scratch directory (gitignored). */
export const BENCH_OUT: string = `${ROOT}bench_out`;

const enc = new TextEncoder();

/** Writes text to standard output (scripts may not use console). */
export function out(text: string): void {
  const data = enc.encode(text.endsWith("\n") ? text : `${text}\n`);
  let off = 0;
  while (off < data.length) off += Deno.stdout.writeSync(data.subarray(off));
}

let runFlags: readonly string[] | undefined;

/**
 * scripts/flags.ts RUN_FLAGS, checked once against this deno: when deno refuses them (e.g. an
 * `--allow-sys=` descriptor it does not know), a warning is printed and that flag is replaced
 * by bare `--allow-sys` so the figures can still be taken.
 */
export function benchRunFlags(): readonly string[] {
  if (runFlags) return runFlags;
  const script = Deno.makeTempFileSync({ suffix: ".ts" });
  const probe = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...RUN_FLAGS, script],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  Deno.removeSync(script);
  runFlags = RUN_FLAGS;
  if (!probe.success) {
    const error = new TextDecoder().decode(probe.stderr).trim().split("\n")[0];
    runFlags = RUN_FLAGS.map((f) => (f.startsWith("--allow-sys=") ? "--allow-sys" : f));
    out(`WARNING: deno ${Deno.version.deno} rejects RUN_FLAGS from scripts/flags.ts (${error});`);
    out(`WARNING: benchmarking with ${runFlags.join(" ")} instead`);
  }
  return runFlags;
}

/**
 * Environment for every measured banwatch process: `deno run` checks for a newer Deno in the
 * background (its HTTP and TLS code then stays resident, ~1.5 MB); the binary never does.
 */
export const BINARY_ENV: Readonly<Record<string, string>> = { DENO_NO_UPDATE_CHECK: "1" };

let bundle: string | undefined;

/**
 * Builds, once per benchmark run, the bundle that `deno task compile` embeds
 * (bench_out/banwatch.js, from the working tree) and returns its path.
 */
export function benchBundle(): string {
  if (bundle) return bundle;
  const path = `${BENCH_OUT}/banwatch.js`;
  Deno.mkdirSync(BENCH_OUT, { recursive: true });
  const built = new Deno.Command(Deno.execPath(), {
    args: bundleArgs(path),
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!built.success) {
    throw new Error(`deno bundle failed: ${new TextDecoder().decode(built.stderr).trim()}`);
  }
  // The first `deno run` of a new file parses it for its imports (and caches that): ~8 MB of
  // stack and malloc that stay resident in that process. The binary never does this; run the
  // bundle once so that no measured process does either.
  new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...BUNDLE_FLAGS, path, "--version"],
    stdout: "null",
    stderr: "null",
  }).outputSync();
  bundle = path;
  return path;
}

/**
 * The argv after `deno` that runs banwatch as the compiled binary does: the bundle it embeds,
 * with its flags (no config, no code cache, the permissions and V8 flags of scripts/flags.ts).
 */
export function banwatchArgs(args: readonly string[]): string[] {
  return ["run", "--quiet", ...BUNDLE_FLAGS, ...benchRunFlags(), benchBundle(), ...args];
}

/** True when `path` exists and is a file. */
export function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The first existing executable among `candidates` (absolute paths), or undefined. */
export function findProgram(candidates: readonly string[]): string | undefined {
  return candidates.find(isFile);
}

/** Memory figures of a live process from /proc/PID/status, in KiB. */
export interface ProcMemory {
  /** Peak resident set size (VmHWM). */
  hwmKb: number;
  /** Current resident set size (VmRSS). */
  rssKb: number;
  /** Of VmRSS, anonymous memory: the process's own heap and stacks (RssAnon). */
  anonKb: number;
  /** Of VmRSS, pages mapped from files, mostly the runtime executable's code (RssFile). */
  fileKb: number;
}

/**
 * Reads /proc/PID/NAME. Deno asks for --allow-all to read another process's /proc files, so
 * without it the file is read by `cat` (--allow-run); undefined once the process is gone.
 */
export function readProcFile(pid: number, name: string): string | undefined {
  const path = `/proc/${pid}/${name}`;
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (
      !(error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied)
    ) {
      return undefined;
    }
  }
  const res = new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" })
    .outputSync();
  return res.success ? new TextDecoder().decode(res.stdout) : undefined;
}

/** Reads VmHWM and VmRSS of `pid`, or undefined once the process is gone. */
export function readProcMemory(pid: number): ProcMemory | undefined {
  const text = readProcFile(pid, "status");
  if (text === undefined) return undefined;
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1]);
  const hwmKb = field("VmHWM");
  const rssKb = field("VmRSS");
  if (!Number.isFinite(hwmKb) || !Number.isFinite(rssKb)) return undefined; // a zombie
  return { hwmKb, rssKb, anonKb: field("RssAnon"), fileKb: field("RssFile") };
}

/** User + system CPU seconds of `pid` so far (/proc/PID/stat utime + stime). */
export function readCpuSeconds(pid: number, ticksPerSecond: number = clockTicks()): number {
  const text = readProcFile(pid, "stat");
  if (text === undefined) throw new Error(`process ${pid} is gone`);
  // The command name may hold spaces and parentheses: fields start after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

let ticks: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`, 100 when unknown). */
export function clockTicks(): number {
  if (ticks !== undefined) return ticks;
  try {
    const res = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" })
      .outputSync();
    const n = Number(new TextDecoder().decode(res.stdout).trim());
    ticks = res.success && n > 0 ? n : 100;
  } catch {
    ticks = 100;
  }
  return ticks;
}

/** What {@link measure} observed. */
export interface Measured {
  /** Exit code (128 + n after signal n). */
  code: number;
  /** Wall seconds from spawn to exit. */
  wall: number;
  /** Peak RSS in KiB (undefined when it could not be read). */
  peakKb: number | undefined;
  /** How the peak was taken: "time" (/usr/bin/time -f %M, exact) or "poll" (VmHWM every 20 ms). */
  peakMethod: "time" | "poll";
  /** Standard output. */
  stdout: string;
  /** Standard error (without /usr/bin/time's line). */
  stderr: string;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Environment added to the inherited one. */
  env?: Record<string, string>;
  /** Force polling /proc instead of /usr/bin/time. */
  poll?: boolean;
  /** Poll period in ms (default 20). */
  pollMs?: number;
}

const TIME = findProgram(["/usr/bin/time"]);

/**
 * Runs `program args` to completion, measuring wall time and peak RSS: with /usr/bin/time
 * (GNU, `-f %M`) when installed, else by polling /proc/PID/status VmHWM every ~20 ms.
 * @param program the executable
 * @param args its arguments
 */
export async function measure(
  program: string,
  args: readonly string[],
  options: MeasureOptions = {},
): Promise<Measured> {
  const useTime = TIME !== undefined && !options.poll;
  let timeFile: string | undefined;
  let argv = [program, ...args];
  if (useTime) {
    timeFile = await Deno.makeTempFile({ prefix: "bench_time" });
    argv = [TIME!, "-f", "%M", "-o", timeFile, ...argv];
  }
  const started = performance.now();
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env ?? {},
  }).spawn();
  let peakKb: number | undefined;
  let done = false;
  const poller = (async () => {
    if (useTime) return;
    while (!done) {
      const mem = readProcMemory(child.pid);
      if (mem) peakKb = Math.max(peakKb ?? 0, mem.hwmKb);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 20));
    }
  })();
  const result = await child.output();
  const wall = (performance.now() - started) / 1000;
  done = true;
  await poller;
  if (timeFile) {
    const text = await Deno.readTextFile(timeFile);
    await Deno.remove(timeFile);
    const kb = Number(/(\d+)\s*$/.exec(text)?.[1]);
    peakKb = Number.isFinite(kb) ? kb : undefined;
  }
  const dec = new TextDecoder();
  return {
    code: result.signal ? 128 : result.code,
    wall,
    peakKb,
    peakMethod: useTime ? "time" : "poll",
    stdout: dec.decode(result.stdout),
    stderr: dec.decode(result.stderr),
  };
}

/** The p-th percentile (0..100) of `values` by nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Formats rows as an aligned text table; the first row is the header. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length));
  }
  // Columns of figures are right-aligned, text columns left-aligned.
  const numeric = widths.map((_, i) =>
    rows.slice(1).every((r) => /^(?:[\d,.]+(?: [a-zA-Z]+)?|\?|)$/.test(r[i] ?? ""))
  );
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ").trimEnd();
  const sep = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join("\n");
}

/** `1234567` -> `1,234,567`. */
export function thousands(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** KiB -> "12.3 MB" (10^6 bytes). */
export function megabytes(kb: number | undefined): string {
  return kb === undefined ? "?" : `${(kb * 1024 / 1e6).toFixed(1)} MB`;
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `everyMs` until it returns true; false after `timeoutS` seconds. */
export async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  options: { timeoutS: number; everyMs?: number },
): Promise<boolean> {
  const end = performance.now() + options.timeoutS * 1000;
  while (performance.now() < end) {
    if (await probe()) return true;
    await sleep(options.everyMs ?? 20);
  }
  return false;
}

/** Parses `--name value` numeric options with defaults; throws on junk. */
export function numberOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replaceAll("_", ""));
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`--${name}: "${text}" is not a number`);
  return n;
}

/** Seconds of [from, to] during which at least one of the intervals was running (their union). */
export function coveredSeconds(
  spans: readonly { start: number; end: number }[],
  from: number,
  to: number,
): number {
  const clipped = spans
    .map((c) => [Math.max(c.start, from), Math.min(c.end, to)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of clipped) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}
