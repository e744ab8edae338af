/**
 * The one harness that runs banwatch as a child process, for the end-to-end tests (tests/e2e/),
 * the stress scenarios (scripts/stress/) and the daemon benchmarks (scripts/bench_daemon.ts):
 * `deno run` with exactly the flags `deno compile` bakes in (scripts/flags.ts) on main.ts or on
 * the bundle, a temp dir with the ipfw test double, a maillog and a jails.toml, following the
 * daemon's stderr line by line (waiting for events, counting them), optional peak-RSS sampling,
 * and stopping with SIGTERM (SIGKILL after a grace period) to collect the exit code.
 *
 * It lives in scripts/ because scripts use it (tests import scripts, as they import
 * scripts/flags.ts and scripts/stress/); like the stress scenarios it takes the ipfw double
 * from tests/_fake_ipfw.ts.
 * @module
 */
import { RUN_FLAGS } from "./flags.ts";
import { syslogHeader as header } from "./gen_maillog.ts";
import { type FakeIpfw, installFakeIpfw } from "../tests/_fake_ipfw.ts";

/** The repository root (ends with "/"). */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** The CLI entry point. */
export const MAIN: string = `${ROOT}main.ts`;

/** The environment a banwatch child gets by default (on top of the inherited one). */
export const DAEMON_ENV: Readonly<Record<string, string>> = { TZ: "UTC", NO_COLOR: "1" };

/** How a banwatch child is started. */
export interface ChildOptions {
  /** The script `deno run` runs (default main.ts; the bundle for the benchmarks). */
  script?: string;
  /** Deno flags before the script (default RUN_FLAGS, as the compiled binary runs). */
  denoFlags?: readonly string[];
  /** Environment added to the inherited one, replacing {@link DAEMON_ENV} (the default). */
  env?: Readonly<Record<string, string>>;
  /** Working directory (default the repository root). */
  cwd?: string;
  /** Sample the child's peak RSS (VmHWM) every this many ms (default: no sampling). */
  sampleRssMs?: number;
}

function command(args: readonly string[], options: ChildOptions, io: {
  stdin: "null" | "piped";
  stdout: "null" | "piped";
}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...(options.denoFlags ?? RUN_FLAGS), options.script ?? MAIN, ...args],
    stdin: io.stdin,
    stdout: io.stdout,
    stderr: "piped",
    cwd: options.cwd ?? ROOT,
    env: { ...(options.env ?? DAEMON_ENV) },
  });
}

/** The exit code of a finished child: 128 when a signal ended it. */
function exitCode(status: Deno.CommandStatus): number {
  return status.signal ? 128 : status.code;
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
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

/** Samples a child's VmHWM every `ms` (never when undefined); `peak()` is the highest (KiB). */
function sampleHwm(
  pid: number,
  ms: number | undefined,
): { peak: () => number; stop: () => Promise<void> } {
  let peak = 0;
  let busy: Promise<void> | undefined;
  const timer = ms === undefined ? undefined : setInterval(() => {
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

/** Drains a byte stream into a string. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const dec = new TextDecoder();
  return chunks.map((c) => dec.decode(c, { stream: true })).join("") + dec.decode();
}

// ---------------------------------------------------------------- a command run to its end

/** What a finished banwatch process did. */
export interface BanwatchResult {
  /** Exit code (128 when killed by a signal, -1 when killed by the timeout). */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
  /** Peak resident set size sampled from /proc (KiB; 0 when not sampled or unavailable). */
  peakRssKiB: number;
  /** True when the hard timeout killed it. */
  timedOut: boolean;
  /** Wall time in seconds. */
  seconds: number;
}

/** Options of {@link runBanwatch}. */
export interface RunBanwatchOptions extends ChildOptions {
  /** SIGKILL the child after this many seconds (default: wait as long as it runs). */
  timeout?: number;
  /** Text written to its standard input (default: none, stdin is /dev/null). */
  stdin?: string;
}

/**
 * Runs `deno run <RUN_FLAGS> main.ts ...args` to completion and collects its output.
 * @param args banwatch arguments
 */
export async function runBanwatch(
  args: readonly string[],
  options: RunBanwatchOptions = {},
): Promise<BanwatchResult> {
  const started = performance.now();
  const child = command(args, options, {
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
  }).spawn();
  const out = drain(child.stdout);
  const err = drain(child.stderr);
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  let timedOut = false;
  const sampler = sampleHwm(child.pid, options.sampleRssMs);
  const killer = options.timeout === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    kill(child, "SIGKILL");
  }, options.timeout * 1000);
  try {
    const status = await child.status;
    await sampler.stop();
    return {
      code: timedOut ? -1 : exitCode(status),
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

// ---------------------------------------------------------------- the daemon as a child

/** Options of {@link startDaemon}. */
export interface DaemonOptions extends ChildOptions {
  /** Keep only the newest this many stderr lines (default: all). */
  keepLines?: number;
  /** Patterns {@link DaemonChild.count} counts from the first line on, even past `keepLines`. */
  counted?: readonly RegExp[];
  /** Seconds {@link DaemonChild.stop} waits after its signal before SIGKILL (default 30). */
  killAfter?: number;
  /** Sees every stderr line as it arrives. */
  onLine?: (line: string) => void;
}

/** A running `banwatch run` child and what it logged. */
export interface DaemonChild {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** Its pid. */
  readonly pid: number;
  /** The stderr lines kept so far (one event each). */
  lines(): readonly string[];
  /** The kept stderr lines as one text, each line ending with a newline. */
  stderr(): string;
  /**
   * How many stderr lines matched `re`: all of them for a pattern in `counted`; otherwise the
   * kept lines at the first call with this pattern plus every line after it.
   */
  count(re: RegExp): number;
  /**
   * Resolves with the first stderr line (kept, or still to come) matching `re`; rejects after
   * `timeout` seconds (default 15) or once the child has exited without logging one.
   */
  waitFor(re: RegExp, timeout?: number): Promise<string>;
  /** True once the child has exited. */
  exited(): boolean;
  /** The exit code once exited (128 when a signal ended it). */
  code(): number | undefined;
  /** Peak RSS sampled so far (KiB; 0 without `sampleRssMs`). */
  peakRssKiB(): number;
  /**
   * Sends `signal` (default SIGTERM) unless the child has exited, SIGKILL after `killAfter`
   * seconds (default the option's), waits for the exit and the end of stderr; returns the code.
   */
  stop(signal?: Deno.Signal, killAfter?: number): Promise<number>;
}

function tail(lines: readonly string[]): string {
  return lines.slice(-20).join("\n");
}

/**
 * Starts `main.ts run -c config ...extraArgs` (TZ=UTC unless `env` says otherwise), following
 * its stderr line by line; stdout is discarded.
 * @param config the jails.toml
 * @param extraArgs more arguments (--dry-run, --no-socket, --log-level debug, ...)
 */
export function startDaemon(
  config: string,
  extraArgs: readonly string[] = [],
  options: DaemonOptions = {},
): DaemonChild {
  const child = command(["run", "-c", config, ...extraArgs], options, {
    stdin: "null",
    stdout: "null",
  }).spawn();
  const keep = options.keepLines ?? Infinity;
  const kept: string[] = [];
  const counters: Array<{ re: RegExp; n: number }> = (options.counted ?? []).map((re) => ({
    re,
    n: 0,
  }));
  const waiters = new Set<{ re: RegExp; settle: (line: string | undefined) => void }>();
  const sampler = sampleHwm(child.pid, options.sampleRssMs);
  const onLine = (line: string) => {
    options.onLine?.(line);
    kept.push(line);
    if (kept.length > keep) kept.splice(0, kept.length - keep);
    for (const c of counters) if (c.re.test(line)) c.n++;
    for (const w of waiters) if (w.re.test(line)) w.settle(line);
  };
  let exit: number | undefined;
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
  const status = child.status.then(async (s) => {
    exit = exitCode(s);
    await sampler.stop();
    await reading;
    for (const w of waiters) w.settle(undefined);
    return exit;
  });
  const find = (re: RegExp) => kept.find((l) => re.test(l));
  return {
    child,
    pid: child.pid,
    lines: () => kept,
    stderr: () => kept.map((l) => `${l}\n`).join(""),
    count(re) {
      let c = counters.find((x) => x.re.source === re.source && x.re.flags === re.flags);
      if (!c) {
        c = { re, n: kept.filter((l) => re.test(l)).length };
        counters.push(c);
      }
      return c.n;
    },
    waitFor(re, timeout = 15) {
      const seen = find(re);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          re,
          settle: (line: string | undefined) => {
            waiters.delete(waiter);
            clearTimeout(timer);
            if (line !== undefined) resolve(line);
            else reject(new Error(`daemon exited (${exit}) before logging ${re}:\n${tail(kept)}`));
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out waiting for ${re}; last stderr:\n${tail(kept)}`));
        }, timeout * 1000);
        waiters.add(waiter);
        if (exit !== undefined) status.then(() => waiter.settle(find(re)));
      });
    },
    exited: () => exit !== undefined,
    code: () => exit,
    peakRssKiB: () => sampler.peak(),
    async stop(signal: Deno.Signal = "SIGTERM", killAfter = options.killAfter ?? 30) {
      if (exit === undefined) kill(child, signal);
      const hard = setTimeout(() => kill(child, "SIGKILL"), killAfter * 1000);
      try {
        return await status;
      } finally {
        clearTimeout(hard);
      }
    },
  };
}

// ---------------------------------------------------------------- waiting

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every `everyMs` (default 100) until it is true; false after `timeout` seconds. */
export async function until(
  probe: () => Promise<boolean> | boolean,
  timeout: number,
  everyMs = 100,
): Promise<boolean> {
  const end = performance.now() + timeout * 1000;
  while (performance.now() < end) {
    if (await probe()) return true;
    await sleep(everyMs);
  }
  return await probe();
}

/** Polls `probe` every 50 ms until it is true; rejects after `timeout` seconds (default 15). */
export async function waitUntil(
  probe: () => Promise<boolean> | boolean,
  what: string,
  timeout = 15,
): Promise<void> {
  if (!(await until(probe, timeout, 50))) {
    throw new Error(`timed out after ${timeout}s waiting for ${what}`);
  }
}

// ---------------------------------------------------------------- log lines and files

/** An RFC 3164 syslog header for `seconds` (UTC), e.g. `Nov  3 20:04:17 mx`. */
export function syslogHeader(seconds: number, host = "mx"): string {
  return header(seconds, host);
}

/** A postfix SASL LOGIN failure line (with its newline) for `addr` at `seconds`. */
export function saslFailure(addr: string, seconds: number = Date.now() / 1000, pid = 4242): string {
  return `${
    syslogHeader(seconds)
  } postfix/smtpd[${pid}]: warning: unknown[${addr}]: SASL LOGIN authentication failed: authentication failure\n`;
}

/** Appends text to a file (creating it). */
export async function append(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { append: true, create: true });
}

/** Runs `fn` with a fresh temporary directory that is removed afterwards. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The `[global]` section of a jails.toml keeping its state and socket in `dir`. */
export interface GlobalSpec {
  /** state_dir (default `dir/state`). */
  stateDir?: string;
  /** socket (default `dir/banwatch.sock`). */
  socket?: string;
  /** ipfw_path (default: not set). */
  ipfw?: string;
  /** poll_interval: a number of seconds or a duration string (default "200ms"). */
  pollInterval?: number | string;
  /** More lines for the section. */
  extra?: string;
}

/** One `[jail.NAME]` section. */
export interface JailSpec {
  /** The jail's name (default "mail"). */
  name?: string;
  /** logpath. */
  log: string;
  /** filter (default "postfix-sasl"). */
  filter?: string;
  /** maxretry (default 3). */
  maxretry?: number;
  /** findtime (default "1h"). */
  findtime?: string;
  /** bantime (default "1d"). */
  bantime?: string;
  /** backend (default "ipfw"). */
  backend?: string;
  /** table (default "bw-mail"). */
  table?: string;
  /** More lines for the section. */
  extra?: string;
}

/** The text of a `[global]` section for a config in `dir` (ends with a blank line). */
export function globalSection(dir: string, spec: GlobalSpec = {}): string {
  const poll = spec.pollInterval ?? "200ms";
  return [
    "[global]",
    `state_dir = "${spec.stateDir ?? `${dir}/state`}"`,
    `socket = "${spec.socket ?? `${dir}/banwatch.sock`}"`,
    ...(spec.ipfw === undefined ? [] : [`ipfw_path = "${spec.ipfw}"`]),
    `poll_interval = ${typeof poll === "number" ? poll : `"${poll}"`}`,
    ...(spec.extra ? [spec.extra] : []),
    "",
    "",
  ].join("\n");
}

/** The text of a `[jail.NAME]` section (ends with a blank line). */
export function jailSection(jail: JailSpec): string {
  return [
    `[jail.${jail.name ?? "mail"}]`,
    "enabled = true",
    `logpath = "${jail.log}"`,
    `filter = "${jail.filter ?? "postfix-sasl"}"`,
    `maxretry = ${jail.maxretry ?? 3}`,
    `findtime = "${jail.findtime ?? "1h"}"`,
    `bantime = "${jail.bantime ?? "1d"}"`,
    `backend = "${jail.backend ?? "ipfw"}"`,
    `table = "${jail.table ?? "bw-mail"}"`,
    ...(jail.extra ? [jail.extra] : []),
    "",
    "",
  ].join("\n");
}

/** Writes `dir/jails.toml` with a `[global]` section and `jails`; returns its path. */
export async function writeJailsToml(
  dir: string,
  options: { global?: GlobalSpec; jails: readonly JailSpec[] },
): Promise<string> {
  const path = `${dir}/jails.toml`;
  await Deno.writeTextFile(
    path,
    globalSection(dir, options.global) + options.jails.map(jailSection).join(""),
  );
  return path;
}

/** A temp dir with the ipfw double, an empty maillog and a jails.toml for it. */
export interface DaemonFixture {
  /** The temp dir (removed afterwards). */
  dir: string;
  /** The installed ipfw double. */
  fake: FakeIpfw;
  /** The (empty) log the jail reads. */
  log: string;
  /** The jails.toml path: jail "mail" (postfix-sasl, findtime 1h) on `log`, poll_interval 1. */
  config: string;
}

/** Options of {@link withDaemonFixture}. */
export interface DaemonFixtureOptions {
  /** maxretry (default 3). */
  maxretry?: number;
  /** bantime (default "1h"). */
  bantime?: string;
  /** More lines for the jail section. */
  extra?: string;
  /** Extra environment for the ipfw double (e.g. FAKE_IPFW_FAIL). */
  fakeEnv?: Record<string, string>;
}

/** Runs `fn` with a fresh {@link DaemonFixture}; the directory is removed afterwards. */
export function withDaemonFixture(
  options: DaemonFixtureOptions,
  fn: (f: DaemonFixture) => Promise<void>,
): Promise<void> {
  return withTempDir("bw-daemon-", async (dir) => {
    const fake = await installFakeIpfw(dir, options.fakeEnv ? { env: options.fakeEnv } : {});
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "");
    const config = await writeJailsToml(dir, {
      global: { ipfw: fake.path, pollInterval: 1 },
      jails: [{
        log,
        bantime: options.bantime ?? "1h",
        ...(options.maxretry === undefined ? {} : { maxretry: options.maxretry }),
        ...(options.extra === undefined ? {} : { extra: options.extra }),
      }],
    });
    await fn({ dir, fake, log, config });
  });
}
