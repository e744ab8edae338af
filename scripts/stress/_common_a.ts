/**
 * Shared helpers of the crash, rotation and fault stress scenarios: the result shape, a seeded
 * random source, the real daemon as a child process, syslog line builders, and read-only peeks
 * into the state database.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { RUN_FLAGS } from "../flags.ts";
import { mulberry32, syslogHeader as header } from "../gen_maillog.ts";

/** One figure of `deno task stress`. */
export interface StressResult {
  /** Scenario name, e.g. "crash consistency". */
  name: string;
  /** The measured figure, one line. */
  figure: string;
  /** True when the scenario held. */
  pass: boolean;
  /** Why it failed, or what was skipped. */
  detail?: string;
}

/** Options every scenario's run() takes. */
export interface ScenarioOptions {
  /** The fast subset (seconds) instead of the full run (minutes). */
  quick: boolean;
  /** Seed of the random choices (default: from the clock; reported in the figure). */
  seed?: number;
  /** Progress messages (default: none). */
  progress?: (message: string) => void;
}

/** The repository root (ends with "/"). */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** A seeded pseudo-random source (mulberry32). */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number;
}

/** Creates a seeded {@link Rng}. */
export function createRng(seed: number): Rng {
  const next = mulberry32(seed);
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/** Shuffles in place (Fisher-Yates) with `rng`. */
export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every 50 ms until it is true; rejects after `timeout` seconds. */
export async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  what: string,
  timeout: number,
): Promise<void> {
  const end = Date.now() + timeout * 1000;
  while (Date.now() < end) {
    if (await probe()) return;
    await sleep(50);
  }
  if (await probe()) return;
  throw new Error(`timed out after ${timeout}s waiting for ${what}`);
}

/** The address with index `i` in 198.18.0.0/15 (i < 131071). */
export function benchAddress(i: number): string {
  const n = i + 1;
  return `198.${18 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The address with index `i` in 100.64.0.0/10 (i < 4194303). */
export function sharedAddress(i: number): string {
  const n = i + 1;
  return `100.${64 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}`;
}

/** An RFC 3164 syslog header for `seconds` (UTC), e.g. `Nov  3 20:04:17 mx`. */
export function syslogHeader(seconds: number, host = "mx"): string {
  return header(seconds, host);
}

/** A postfix SASL failure of `addr`; `tag` makes the line unique (it ends up as sasl_username). */
export function failureLine(addr: string, tag: string, seconds: number): string {
  return `${
    syslogHeader(seconds)
  } postfix/smtpd[4242]: warning: unknown[${addr}]: SASL LOGIN authentication failed: authentication failure, sasl_username=${tag}\n`;
}

/** A postfix line that is not a failure. */
export function noiseLine(addr: string, tag: string, seconds: number): string {
  return `${syslogHeader(seconds)} postfix/smtpd[4242]: connect from unknown[${addr}] id=${tag}\n`;
}

/** newsyslog's first line of a fresh log. */
export function turnedOverLine(seconds: number): string {
  return `${syslogHeader(seconds)} mx newsyslog[911]: logfile turned over\n`;
}

/** A running `main.ts run` child and everything it logged. */
export interface DaemonRun {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** The stderr lines so far (one event each). */
  lines(): readonly string[];
  /** How many lines match `re`. */
  count(re: RegExp): number;
  /** Resolves with the first line at index >= `from` matching `re`; rejects after `timeout` s. */
  waitFor(re: RegExp, timeout: number, from?: number): Promise<string>;
  /** True once the child has exited. */
  exited(): boolean;
  /** Exit code (128 + n for a signal) once exited. */
  code(): number | undefined;
  /** SIGKILL, then waits for exit and the end of stderr. */
  kill9(): Promise<void>;
  /** SIGTERM (if still running), then waits; returns the exit code (128 + n for a signal). */
  stop(timeout?: number): Promise<number>;
}

/** Arguments added to every `main.ts run` of these scenarios (none: the socket is served too). */
export const DAEMON_ARGS: readonly string[] = [];

/** Starts `deno run <RUN_FLAGS> main.ts run -c config` with TZ=UTC. */
export function spawnDaemon(config: string, extraArgs: readonly string[] = []): DaemonRun {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...RUN_FLAGS,
      `${ROOT}main.ts`,
      "run",
      "-c",
      config,
      ...DAEMON_ARGS,
      ...extraArgs,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { TZ: "UTC", NO_COLOR: "1" },
  }).spawn();
  const lines: string[] = [];
  let partial = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      const text = partial + dec.decode(chunk, { stream: true });
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      for (const p of parts) lines.push(p);
    }
    if (partial !== "") lines.push(partial);
  })();
  let exitCode: number | undefined;
  const status = child.status.then((s) => {
    exitCode = s.signal ? 128 + (SIGNALS[s.signal] ?? 0) : s.code;
    return exitCode;
  });
  const done = async (): Promise<number> => {
    const code = await status;
    await reading;
    return code;
  };
  const signal = (sig: Deno.Signal): void => {
    if (exitCode !== undefined) return;
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  };
  return {
    child,
    lines: () => lines,
    count: (re) => lines.reduce((n, l) => n + (re.test(l) ? 1 : 0), 0),
    async waitFor(re, timeout, from = 0) {
      const end = Date.now() + timeout * 1000;
      let i = from;
      for (;;) {
        for (; i < lines.length; i++) if (re.test(lines[i]!)) return lines[i]!;
        if (exitCode !== undefined) {
          await reading;
          for (; i < lines.length; i++) if (re.test(lines[i]!)) return lines[i]!;
          throw new Error(`daemon exited (${exitCode}) before logging ${re}:\n${tail(lines)}`);
        }
        if (Date.now() > end) throw new Error(`timed out waiting for ${re}:\n${tail(lines)}`);
        await sleep(20);
      }
    },
    exited: () => exitCode !== undefined,
    code: () => exitCode,
    async kill9() {
      signal("SIGKILL");
      await done();
    },
    async stop(timeout = 20) {
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), timeout * 1000);
      try {
        return await done();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const SIGNALS: Partial<Record<Deno.Signal, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2 };

function tail(lines: readonly string[]): string {
  return lines.slice(-15).join("\n");
}

/** What a jails.toml for one postfix-sasl jail needs. */
export interface JailFileOptions {
  /** The log the jail reads. */
  log: string;
  /** state_dir. */
  stateDir: string;
  /** ipfw_path. */
  ipfw: string;
  /** backend (default "ipfw"). */
  backend?: "ipfw" | "dry-run";
  /** maxretry. */
  maxretry: number;
  /** poll_interval as a duration string (default "200ms"). */
  pollInterval?: string;
  /** Extra [global] lines. */
  globalExtra?: string;
  /** table (default "bw-mail"). */
  table?: string;
}

/** Writes `dir/jails.toml` for a single jail "mail" (findtime and bantime 1d); returns its path. */
export async function writeJailFile(dir: string, options: JailFileOptions): Promise<string> {
  const path = `${dir}/jails.toml`;
  await Deno.writeTextFile(
    path,
    `[global]
state_dir = "${options.stateDir}"
socket = "${dir}/banwatch.sock"
ipfw_path = "${options.ipfw}"
poll_interval = "${options.pollInterval ?? "200ms"}"
${options.globalExtra ?? ""}

[jail.mail]
enabled = true
logpath = "${options.log}"
filter = "postfix-sasl"
maxretry = ${options.maxretry}
findtime = "1d"
bantime = "1d"
backend = "${options.backend ?? "ipfw"}"
table = "${options.table ?? "bw-mail"}"
`,
  );
  return path;
}

/** A ban row of the state database. */
export interface DbBan {
  /** Jail name. */
  jail: string;
  /** Banned address or CIDR ("a.b.c.d/32"). */
  target: string;
  /** Failures that caused it. */
  failures: number;
  /** Ban count. */
  banCount: number;
  /** The triggering line. */
  line: string | undefined;
  /** True once the firewall confirmed it. */
  applied: boolean;
}

/** A saved log position. */
export interface DbPosition {
  /** Log path. */
  path: string;
  /** Inode. */
  ino: number;
  /** Byte offset. */
  offset: number;
}

/** What the state database holds, read without disturbing the daemon. */
export interface DbSnapshot {
  /** Active bans. */
  bans: DbBan[];
  /** (jail, addr) -> number of failure times. */
  windows: Map<string, number>;
  /** Log positions. */
  positions: DbPosition[];
  /** (jail, target) -> history rows. */
  history: Map<string, number>;
}

/** Reads `<stateDir>/state.db` read-only; undefined when it is missing or cannot be read now. */
export function readDb(stateDir: string): DbSnapshot | undefined {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(`${stateDir}/state.db`, { readOnly: true });
  } catch {
    return undefined;
  }
  try {
    db.exec("PRAGMA busy_timeout = 2000");
    const bans = db.prepare(
      "SELECT jail, target, failures, ban_count, line, applied FROM bans ORDER BY jail, target",
    ).all().map((r) => ({
      jail: String(r.jail),
      target: String(r.target),
      failures: Number(r.failures),
      banCount: Number(r.ban_count),
      line: r.line === null ? undefined : String(r.line),
      applied: Number(r.applied) !== 0,
    }));
    const windows = new Map<string, number>();
    for (const r of db.prepare("SELECT jail, addr, times FROM windows").all()) {
      windows.set(`${r.jail} ${r.addr}`, (JSON.parse(String(r.times)) as unknown[]).length);
    }
    const positions = db.prepare("SELECT path, ino, offset FROM positions").all().map((r) => ({
      path: String(r.path),
      ino: Number(r.ino),
      offset: Number(r.offset),
    }));
    const history = new Map<string, number>();
    for (
      const r of db.prepare("SELECT jail, target, count(*) AS n FROM history GROUP BY jail, target")
        .all()
    ) history.set(`${r.jail} ${r.target}`, Number(r.n));
    return { bans, windows, positions, history };
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

/** Runs a program (no shell); returns its exit code and output, code -1 when it cannot start. */
export async function runProgram(
  program: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(program, {
      args: [...args],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    return { code: -1, stdout: "", stderr: e instanceof Error ? e.message : String(e) };
  }
}

/** The seed to use: the given one or one from the clock. */
export function seedOf(options: ScenarioOptions): number {
  return options.seed ?? (Date.now() % 2147483647);
}

/** Formats an error for a result's detail. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
