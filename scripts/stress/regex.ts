/**
 * Stress scenario "regex that backtracks": catastrophic failregexes from a config against
 * crafted 10-50 KB lines. Matching time must stay bounded: RUN_FLAGS carry
 * `--enable-experimental-regexp-engine-on-excessive-backtracks`, so V8 falls back to its
 * linear-time engine. Reports the time of one line with the flag, without it (a child
 * `deno run` killed after a hard timeout), what `banwatch check` says about each pattern, and
 * how long the daemon takes to replay a log full of such lines.
 * @module
 */
import { RUN_FLAGS, V8_FLAGS } from "../flags.ts";
import { compileFilter, matchLine } from "../../lib/filter/mod.ts";
import {
  runStandalone,
  stackTraceLines,
  type StressOptions,
  type StressResult,
} from "./_common_b.ts";
import { globalSection, runBanwatch, withTempDir } from "../daemon_harness.ts";
import { bansIn } from "./hostile.ts";

/** A catastrophic pattern and the line that makes it backtrack. */
export interface BacktrackCase {
  /** Short name. */
  name: string;
  /** The failregex (TOML literal-string safe: no `'`). */
  pattern: string;
  /** Builds the crafted line of about `bytes` bytes (without newline). */
  line: (bytes: number) => string;
  /** A genuine failure line the pattern matches (for the daemon's ban). */
  genuine: string;
}

const HEAD = "Feb 16 10:21:00 mx prog[77]: ";

/** The cases: nested quantifiers and an overlapping alternation. */
export const BACKTRACK_CASES: readonly BacktrackCase[] = [
  {
    name: "nested quantifier",
    pattern: String.raw`^\s*(\S+\s?)*: <HOST> x$`,
    line: (bytes) => HEAD + "a".repeat(bytes),
    genuine: `${HEAD}login: 203.0.113.31 x`,
  },
  {
    name: "overlapping alternation",
    pattern: String.raw`(a|aa)+ from <HOST>`,
    line: (bytes) => HEAD + "a".repeat(bytes) + " from !",
    genuine: `${HEAD}aa from 203.0.113.32`,
  },
  {
    name: "nested plus",
    pattern: String.raw`(x+x+)+y <HOST>`,
    line: (bytes) => HEAD + "x".repeat(bytes),
    genuine: `${HEAD}xxy 203.0.113.33`,
  },
];

/** The clock for year-less dates. */
const NOW = Date.UTC(2024, 1, 17) / 1000;

/** Child mode: matches case `index` on a `bytes` line once and prints `{"ms":...}`. */
function child(index: number, bytes: number): void {
  const c = BACKTRACK_CASES[index]!;
  const filter = compileFilter({ name: c.name, failregex: [c.pattern] });
  const line = c.line(bytes);
  const t0 = performance.now();
  const verdict = matchLine(filter, line, NOW);
  const ms = performance.now() - t0;
  Deno.stdout.writeSync(
    new TextEncoder().encode(`${JSON.stringify({ ms, kind: verdict.kind })}\n`),
  );
}

/** One timing: the match time printed by the child, or why there is none. */
interface ChildTiming {
  /** Milliseconds for the one matchLine() call; undefined when killed or failed. */
  ms: number | undefined;
  /** True when the hard timeout killed the child. */
  killed: boolean;
  /** The child's stderr head when it failed. */
  error: string | undefined;
}

/** Times case `index` in a child with or without the V8 flag, killed after `timeout` seconds. */
async function timeInChild(
  index: number,
  bytes: number,
  withFlag: boolean,
  timeout: number,
): Promise<ChildTiming> {
  const permissions = ["--allow-read", "--allow-env"];
  const r = await runBanwatch(["--child", String(index), String(bytes)], {
    script: new URL(import.meta.url).pathname,
    denoFlags: withFlag ? [...permissions, ...V8_FLAGS] : permissions,
    timeout,
  });
  if (r.timedOut) return { ms: undefined, killed: true, error: undefined };
  if (r.code !== 0) return { ms: undefined, killed: false, error: r.stderr.slice(0, 300) };
  const out = JSON.parse(r.stdout.trim()) as { ms: number };
  return { ms: out.ms, killed: false, error: undefined };
}

function describeTiming(t: ChildTiming, timeout: number): string {
  if (t.ms !== undefined) return `${t.ms.toFixed(1)} ms`;
  return t.killed ? `> ${timeout} s (killed)` : "failed";
}

/** Runs the scenario. */
export async function run(options: StressOptions): Promise<StressResult[]> {
  const results: StressResult[] = [];
  const bytes = options.quick ? 10_000 : 50_000;
  const hardTimeout = options.quick ? 5 : 30;
  const flagTimeout = options.quick ? 10 : 60;
  const boundMs = 1000;
  const flagBaked = V8_FLAGS.every((f) => RUN_FLAGS.includes(f)) &&
    V8_FLAGS.some((f) => f.includes("enable-experimental-regexp-engine-on-excessive-backtracks"));

  await withTempDir("bw-regex-", async (dir) => {
    const log = `${dir}/prog.log`;
    let config = globalSection(dir);
    BACKTRACK_CASES.forEach((c, i) => {
      config += `
[jail.bt${i}]
enabled = true
logpath = "${log}"
failregex = '${c.pattern}'
maxretry = 2
backend = "dry-run"
table = "bt${i}"
`;
    });
    const configPath = `${dir}/jails.toml`;
    await Deno.writeTextFile(configPath, config);
    const check = await runBanwatch(["check", "-c", configPath], { timeout: 60 });

    for (let i = 0; i < BACKTRACK_CASES.length; i++) {
      const c = BACKTRACK_CASES[i]!;
      // One after the other: a spinning child must not slow the measured one down.
      const withFlag = await timeInChild(i, bytes, true, flagTimeout);
      const without = await timeInChild(i, bytes, false, hardTimeout);
      const warning = check.stderr.split("\n").find((l) =>
        l.includes(`jail.bt${i}.failregex[0]`) && /backtrack/i.test(l)
      );
      const bounded = withFlag.ms !== undefined && withFlag.ms < boundMs;
      results.push({
        name: `regex: ${c.name} ${c.pattern}`,
        figure:
          `${(bytes / 1000).toFixed(0)} KB line: with flag ${
            describeTiming(withFlag, flagTimeout)
          }, ` +
          `without ${describeTiming(without, hardTimeout)}; check: ${
            warning ? "warns" : "no warning"
          }`,
        pass: flagBaked && bounded,
        detail: withFlag.error ?? warning ??
          `check exit ${check.code}, no backtracking warning for this pattern`,
      });
    }
    results.push({
      name: "regex: check exit status",
      figure: `exit ${check.code}, ${
        check.stderr.split("\n").filter((l) => /backtrack/i.test(l)).length
      } backtracking warnings`,
      pass: (check.code === 0 || check.code === 78) && stackTraceLines(check.stderr).length === 0,
      ...(check.code !== 0 ? { detail: check.stderr.slice(0, 500) } : {}),
    });

    // The daemon replays crafted lines for every case, then two genuine failures per case.
    const copies = options.quick ? 5 : 50;
    const lines: string[] = [];
    for (let k = 0; k < copies; k++) for (const c of BACKTRACK_CASES) lines.push(c.line(bytes));
    for (const c of BACKTRACK_CASES) lines.push(c.genuine, c.genuine);
    await Deno.writeTextFile(log, lines.join("\n") + "\n");
    const replay = await runBanwatch(["run", "-c", configPath, "--replay", "--dry-run"], {
      timeout: options.quick ? 30 : 300,
    });
    const banned = new Set(bansIn(replay.stderr).map((b) => `${b.jail} ${b.addr}`));
    const expected = BACKTRACK_CASES.map((c, i) =>
      `bt${i} ${/\d+\.\d+\.\d+\.\d+/.exec(c.genuine)![0]}`
    );
    const missing = expected.filter((e) => !banned.has(e));
    const perLine = (replay.seconds * 1000) / (copies * BACKTRACK_CASES.length);
    results.push({
      name: "regex: daemon replay of crafted lines",
      figure:
        `${copies * BACKTRACK_CASES.length} crafted lines x ${BACKTRACK_CASES.length} jails in ` +
        `${replay.seconds.toFixed(1)} s (${perLine.toFixed(0)} ms/line incl. start), ` +
        `${expected.length - missing.length} of ${expected.length} genuine bans`,
      pass: replay.code === 0 && missing.length === 0,
      ...(replay.code !== 0 || missing.length > 0
        ? {
          detail: `exit ${replay.code}${replay.timedOut ? " (timed out)" : ""}; missing ${
            missing.join(", ")
          }; ${replay.stderr.split("\n").slice(-5).join(" | ")}`,
        }
        : {}),
    });
  });
  return results;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--child");
  if (at >= 0) child(Number(Deno.args[at + 1]), Number(Deno.args[at + 2]));
  else await runStandalone(run);
}
