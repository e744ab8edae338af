/**
 * Shared helpers of the crash, rotation and fault stress scenarios: the result shape, a seeded
 * random source, syslog line builders, and read-only peeks into the state database. The daemon
 * child, its config and the waiting are scripts/daemon_harness.ts's.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { mulberry32 } from "../gen_maillog.ts";
import { syslogHeader } from "../daemon_harness.ts";

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
