/**
 * Stress scenario "configuration fuzzing": mutated jails.toml files (byte flips, truncations,
 * wrong types, unknown keys, bad regexes, huge values, deep nesting, spliced lines) from the
 * repo's jails.toml and tests/testdata/jails/*.toml. The bulk goes through parseConfig()
 * in-process (only ConfigError may come out, every problem one line with a `file:line`
 * location); a sample goes through `main.ts check` (exit 0 or 78, no stack trace, one problem
 * per stderr line); and a running daemon is asked to `reload` invalid ones (and SIGHUP): it
 * keeps its configuration and keeps banning with it.
 * @module
 */
import { parseConfig } from "../../lib/config/mod.ts";
import { ConfigError } from "../../lib/core/mod.ts";
import { mulberry32 } from "../gen_maillog.ts";
import {
  control,
  runStandalone,
  stackTraceLines,
  statusJails,
  STRESS_DAEMON,
  type StressOptions,
  type StressResult,
} from "./_common_b.ts";
import {
  type DaemonChild,
  globalSection,
  ROOT,
  runBanwatch,
  saslFailure,
  startDaemon,
  withTempDir,
} from "../daemon_harness.ts";

/** A seed configuration: its name and bytes. */
export interface SeedConfig {
  /** File name (jails.toml or the testdata name). */
  name: string;
  /** The original text. */
  text: string;
}

/** The repo's jails.toml and every tests/testdata/jails/*.toml. */
export function seedConfigs(): SeedConfig[] {
  const seeds: SeedConfig[] = [{
    name: "jails.toml",
    text: Deno.readTextFileSync(`${ROOT}jails.toml`),
  }];
  const dir = `${ROOT}tests/testdata/jails/`;
  const names = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".toml"))
    .map((e) => e.name).sort();
  for (const name of names) seeds.push({ name, text: Deno.readTextFileSync(`${dir}${name}`) });
  return seeds;
}

const BAD_REGEXES = [
  "(",
  "[",
  "a{2,1}<HOST>",
  "(?P<host>x)(?P<host>y)",
  "<HOST> <HOST>",
  "(?<=a+)<HOST>",
  "\\\\",
  "*<HOST>",
  "(?i)x(?m)<HOST>",
  "(?P=missing)<HOST>",
  "\\\\1<HOST>",
  "<F-USER>x<HOST>",
  "(a|aa)+<HOST>",
  "^(\\\\S+\\\\s?)*: <HOST> x$",
  "<HOST>".repeat(50),
  "x".repeat(100_000) + "<HOST>",
  "(".repeat(5000) + "<HOST>" + ")".repeat(5000),
  "[\\\\d-a]<HOST>",
  "\\\\p{Nope}<HOST>",
  "(?(1)a|b)<HOST>",
  "<SUBNET><ADDR>",
  "",
];

const HUGE_VALUES = [
  "99999999999999999999",
  "1e308",
  "-1e308",
  "inf",
  "-inf",
  "nan",
  "-0",
  "0x7fffffffffffffff",
  "9223372036854775808",
  '"99999999999w"',
  '"4294967296s"',
  '"1h30m20s10m"',
  '"0.000001s"',
  `"${"x".repeat(1_000_000)}"`,
  `[${Array.from({ length: 20_000 }, (_, i) => i).join(",")}]`,
  `[${Array.from({ length: 5_000 }, () => '"198.51.100.0/24"').join(",")}]`,
  "[".repeat(3000) + "]".repeat(3000),
  "{ a = ".repeat(2000) + "1" + " }".repeat(2000),
  '"forever"',
  "1979-05-27T07:32:00Z",
  "07:32:00",
];

const WRONG_TYPES = [
  '"str"',
  "123",
  "-1",
  "0",
  "1.5",
  "true",
  "false",
  "[]",
  '[1, "a"]',
  "{ a = 1 }",
  '""',
  "'''multi\nline'''",
  '"\\u0000"',
  '"/var/log/../../etc/passwd"',
  '"relative/path"',
  '["*"]',
];

const KEYS = [
  "enabled",
  "logpath",
  "filter",
  "failregex",
  "ignoreregex",
  "prefregex",
  "maxretry",
  "findtime",
  "bantime",
  "backend",
  "table",
  "ignoreip",
  "usedns",
  "ipv6_prefix",
  "ipv6_prefix_maxretry",
  "ipv4_prefix",
  "ipv4_prefix_maxretry",
  "port",
  "protocol",
  "rule",
  "manage_rule",
  "datepattern",
  "timezone",
  "state_dir",
  "socket",
  "ipfw_path",
  "poll_interval",
  "max_tracked",
  "dbpurgeage",
  "firewall_timeout",
  "colour",
  "__proto__",
  "constructor",
  "toString",
  "jail",
  "",
];

const SECTIONS = [
  "[global]",
  "[defaults]",
  "[jail.x]",
  "[jail.x.bantime_increment]",
  "[jail.__proto__]",
  "[jail.constructor]",
  '[jail."a b"]',
  '[jail.""]',
  "[[jail]]",
  "[jail.x.y.z]",
  "[global.sub]",
  "[unknown]",
  "[defaults.bantime_increment]",
  `[jail.${"n".repeat(5000)}]`,
];

const GARBAGE = [
  '"',
  "'''",
  '"""',
  "\u0000",
  "\r",
  "#",
  "=",
  "[",
  "]",
  "{",
  "\\",
  "\n\n[",
  "\uFEFF",
  "\u2028",
];

/** One mutated configuration and how it was made. */
export interface Mutation {
  /** The mutated bytes (may be invalid UTF-8). */
  bytes: Uint8Array;
  /** What was done, e.g. "flip@120,wrongtype:maxretry". */
  how: string;
}

const ENCODER = new TextEncoder();
const LENIENT = new TextDecoder("utf-8", { fatal: false });

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!;
}

function valueLines(lines: readonly string[]): number[] {
  const out: number[] = [];
  lines.forEach((l, i) => {
    if (/^\s*[\w."-]+\s*=/.test(l)) out.push(i);
  });
  return out;
}

/** Applies 1..3 random mutations (deterministic for `seed`) to `text`. */
export function mutate(text: string, seed: number): Mutation {
  const rnd = mulberry32(seed);
  const hows: string[] = [];
  let bytes: Uint8Array = ENCODER.encode(text);
  const steps = 1 + Math.floor(rnd() * 3);
  for (let s = 0; s < steps; s++) {
    const kind = Math.floor(rnd() * 10);
    if (kind === 0) {
      const flips = 1 + Math.floor(rnd() * 4);
      const copy = bytes.slice();
      for (let f = 0; f < flips && copy.length > 0; f++) {
        const at = Math.floor(rnd() * copy.length);
        copy[at] = copy[at]! ^ (1 << Math.floor(rnd() * 8));
        hows.push(`flip@${at}`);
      }
      bytes = copy;
      continue;
    }
    if (kind === 1) {
      const at = Math.floor(rnd() * (bytes.length + 1));
      bytes = bytes.slice(0, at);
      hows.push(`truncate@${at}`);
      continue;
    }
    const lines = LENIENT.decode(bytes).split("\n");
    const values = valueLines(lines);
    const at = values.length > 0 ? pick(rnd, values) : Math.floor(rnd() * lines.length);
    const key = (/^\s*([\w."-]+)\s*=/.exec(lines[at] ?? "")?.[1]) ?? "maxretry";
    const line = Math.floor(rnd() * (lines.length + 1));
    switch (kind) {
      case 2:
        lines[at] = `${key} = ${pick(rnd, WRONG_TYPES)}`;
        hows.push(`wrongtype:${key}`);
        break;
      case 3:
        lines.splice(
          line,
          0,
          `${pick(rnd, KEYS)}${rnd() < 0.5 ? "x" : ""} = ${pick(rnd, WRONG_TYPES)}`,
        );
        hows.push(`unknownkey@${line}`);
        break;
      case 4:
        lines.splice(
          line,
          0,
          "[jail.fuzz]",
          "enabled = true",
          'logpath = "/var/log/fuzz"',
          `failregex = '${pick(rnd, BAD_REGEXES)}'`,
        );
        hows.push(`badregex@${line}`);
        break;
      case 5:
        lines[at] = `${key} = ${pick(rnd, HUGE_VALUES)}`;
        hows.push(`huge:${key}`);
        break;
      case 6:
        lines.splice(line, 0, pick(rnd, SECTIONS));
        hows.push(`section@${line}`);
        break;
      case 7: {
        const from = Math.floor(rnd() * lines.length);
        lines.splice(line, 0, lines[from] ?? "");
        hows.push(`dupline${from}@${line}`);
        break;
      }
      case 8:
        lines.splice(Math.floor(rnd() * lines.length), 1);
        hows.push("deleteline");
        break;
      default: {
        const l = lines[at] ?? "";
        const pos = Math.floor(rnd() * (l.length + 1));
        lines[at] = l.slice(0, pos) + pick(rnd, GARBAGE) + l.slice(pos);
        hows.push(`garbage@${at}`);
      }
    }
    bytes = ENCODER.encode(lines.join("\n"));
  }
  return { bytes, how: hows.join(",") };
}

/**
 * A problem line's required shape: `<file>:<line>[:<col>]: <text>`, one line. The file is the
 * configuration, or the filter file the problem is in (a jail may name any path).
 */
export function hasLocation(problem: string): boolean {
  return !problem.includes("\n") && /^[^\s:][^:]*:\d+(?::\d+)?: \S/.test(problem);
}

/** The in-process verdict on one mutated file. */
export interface ParseOutcome {
  /** "valid", "config-error" or "crash". */
  kind: "valid" | "config-error" | "crash";
  /** Problems without a `file:line` location (config-error only). */
  unlocated: string[];
  /** The crash's name and message. */
  crash?: string;
  /** Milliseconds parseConfig took. */
  ms: number;
}

/** Runs parseConfig on the leniently decoded bytes, as `file`. */
export function parseOutcome(
  bytes: Uint8Array,
  file: string,
  readFile: (path: string) => string | undefined,
): ParseOutcome {
  const text = LENIENT.decode(bytes);
  const t0 = performance.now();
  try {
    parseConfig(text, { file, readFile });
    return { kind: "valid", unlocated: [], ms: performance.now() - t0 };
  } catch (error) {
    const ms = performance.now() - t0;
    if (error instanceof ConfigError) {
      return {
        kind: "config-error",
        unlocated: error.problems.filter((p) => !hasLocation(p)),
        ms,
      };
    }
    const e = error as Error;
    return {
      kind: "crash",
      unlocated: [],
      crash: `${e?.name}: ${String(e?.message).slice(0, 200)} ${
        String(e?.stack ?? "").split("\n").slice(1, 3).join(" ")
      }`,
      ms,
    };
  }
}

/** Filter files the seeds reference (read relative to the seed's directory). */
function filterFileReader(): (path: string) => string | undefined {
  const dir = `${ROOT}tests/testdata/jails/`;
  return (path: string) => {
    const name = path.split("/").pop() ?? path;
    try {
      return Deno.readTextFileSync(`${dir}${name}`);
    } catch {
      return undefined;
    }
  };
}

async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

/** Runs the scenario. */
export async function run(options: StressOptions): Promise<StressResult[]> {
  const results: StressResult[] = [];
  const total = options.quick ? 300 : 10_000;
  const cliSample = options.quick ? 20 : 200;
  const reloads = options.quick ? 10 : 500;
  const seeds = seedConfigs();
  const readFile = filterFileReader();

  // 1. In-process bulk.
  let valid = 0;
  let configErrors = 0;
  let maxMs = 0;
  const crashes: string[] = [];
  const unlocated: string[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const seed = seeds[i % seeds.length]!;
    const m = mutate(seed.text, i + 1);
    const file = `fuzz/${i}.toml`;
    const o = parseOutcome(m.bytes, file, readFile);
    maxMs = Math.max(maxMs, o.ms);
    if (o.kind === "valid") valid++;
    else if (o.kind === "config-error") {
      configErrors++;
      for (const p of o.unlocated) {
        unlocated.push(`#${i} ${seed.name} (${m.how}): ${JSON.stringify(p.slice(0, 200))}`);
      }
    } else crashes.push(`#${i} ${seed.name} (${m.how}): ${o.crash}`);
  }
  const seconds = (performance.now() - started) / 1000;
  results.push({
    name: "config fuzz: parseConfig crashes",
    figure:
      `${crashes.length} crashes in ${total} mutated files (${configErrors} rejected, ${valid} valid; ` +
      `${seconds.toFixed(1)} s, slowest ${maxMs.toFixed(0)} ms)`,
    pass: crashes.length === 0,
    ...(crashes.length > 0 ? { detail: crashes.slice(0, 5).join("\n") } : {}),
  });
  results.push({
    name: "config fuzz: problems without file:line",
    figure: `${unlocated.length} problems without a location`,
    pass: unlocated.length === 0,
    ...(unlocated.length > 0 ? { detail: unlocated.slice(0, 5).join("\n") } : {}),
  });

  await withTempDir("bw-cfgfuzz-", async (dir) => {
    // 2. A sample through the real CLI: `check -c FILE`.
    for (const e of Deno.readDirSync(`${ROOT}tests/testdata/jails/`)) {
      if (e.name.endsWith(".filter.toml")) {
        await Deno.copyFile(`${ROOT}tests/testdata/jails/${e.name}`, `${dir}/${e.name}`);
      }
    }
    const sample = Array.from({ length: cliSample }, (_, k) => {
      const i = Math.floor((k * total) / cliSample);
      const seed = seeds[i % seeds.length]!;
      return { i, seed: seed.name, m: mutate(seed.text, i + 1) };
    });
    const outcomes = await pool(sample, 8, async (s) => {
      const file = `${dir}/fuzz-${s.i}.toml`;
      await Deno.writeFile(file, s.m.bytes);
      const r = await runBanwatch(["check", "-c", file], { timeout: 60 });
      const bad: string[] = [];
      if (r.code !== 0 && r.code !== 78) {
        bad.push(`exit ${r.code}${r.timedOut ? " (timeout)" : ""}`);
      }
      const traces = stackTraceLines(r.stderr);
      if (traces.length > 0) bad.push(`stack trace: ${traces[0]}`);
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      // Errors: `<file>:<line>: ...`; warnings: `<file>: <key>: ...` (file = config or filter file).
      const loose = lines.filter((l) => !l.startsWith(`${file}:`) && !hasLocation(l));
      if (loose.length > 0) {
        bad.push(`stderr line not naming the file: ${JSON.stringify(loose[0]!.slice(0, 160))}`);
      }
      if (r.code === 78 && lines.length === 0) bad.push("exit 78 with nothing on stderr");
      return { s, r, bad };
    });
    const failed = outcomes.filter((o) => o.bad.length > 0);
    const counts = { 0: 0, 78: 0, other: 0 };
    for (const o of outcomes) {
      if (o.r.code === 0) counts[0]++;
      else if (o.r.code === 78) counts[78]++;
      else counts.other++;
    }
    results.push({
      name: "config fuzz: main.ts check",
      figure:
        `${failed.length} bad of ${outcomes.length} (exit 0: ${counts[0]}, exit 78: ${
          counts[78]
        }, ` +
        `other: ${counts.other}); 0 stack traces required`,
      pass: failed.length === 0,
      ...(failed.length > 0
        ? {
          detail: failed.slice(0, 5).map((o) =>
            `#${o.s.i} ${o.s.seed} (${o.s.m.how}): ${o.bad.join("; ")}`
          )
            .join("\n"),
        }
        : {}),
    });

    // 3. reload with invalid configurations keeps the running one.
    results.push(await reloadKeepsConfig(dir, reloads));
  });
  return results;
}

/** Starts a daemon, swaps in `count` invalid configs (reload over the socket, then SIGHUP), checks it still bans. */
async function reloadKeepsConfig(dir: string, count: number): Promise<StressResult> {
  const log = `${dir}/maillog`;
  await Deno.writeTextFile(log, "");
  const config = `${dir}/reload.toml`;
  const socket = `${dir}/banwatch.sock`;
  const good = `${globalSection(dir)}
[jail.mail]
enabled = true
logpath = "${log}"
filter = "postfix-sasl"
maxretry = 3
findtime = "1h"
bantime = "1h"
backend = "dry-run"
table = "bw-mail"
`;
  await Deno.writeTextFile(config, good);
  const readFile = filterFileReader();
  const daemon = startDaemon(config, ["--dry-run"], STRESS_DAEMON);
  const problems: string[] = [];
  let refused = 0;
  let tried = 0;
  try {
    await daemon.waitFor(/event=started/, 30);
    for (let seed = 1; tried < count && seed < count * 20; seed++) {
      const m = mutate(good, 1_000_000 + seed);
      // Only files that are invalid: a valid mutation would (rightly) be applied.
      if (parseOutcome(m.bytes, config, readFile).kind !== "config-error") continue;
      tried++;
      await Deno.writeFile(config, m.bytes);
      const response = await control(socket, { v: 1, cmd: "reload" }, 10);
      if (response.ok) problems.push(`reload of an invalid config (${m.how}) answered ok`);
      else if (response.kind !== "config") {
        problems.push(`reload (${m.how}) failed with kind ${response.kind}: ${response.error}`);
      } else refused++;
    }
    // SIGHUP with the last invalid file in place.
    const before = daemon.count(/event=reload_failed/);
    daemon.child.kill("SIGHUP");
    const hup = await waitUntilCount(daemon, /event=reload_failed/, before + 1, 10);
    if (!hup) problems.push("SIGHUP with an invalid config did not log reload_failed");
    // Still the old config: jail "mail" bans after 3 failures.
    const jails = await statusJails(socket);
    if (jails.map((j) => j.name).join(",") !== "mail") {
      problems.push(`status shows jails ${jails.map((j) => j.name).join(",")}`);
    }
    const now = Date.now() / 1000;
    await Deno.writeTextFile(log, saslFailure("203.0.113.50", now).repeat(3), { append: true });
    await daemon.waitFor(/event=ban jail=mail addr=203\.0\.113\.50 /, 15).catch((e) => {
      problems.push(`no ban with the running config: ${(e as Error).message.split("\n")[0]}`);
    });
    const logged = daemon.count(/event=reload_failed/);
    if (logged < tried + 1) {
      problems.push(`reload_failed logged ${logged} times for ${tried + 1} attempts`);
    }
  } catch (error) {
    problems.push(`scenario error: ${(error as Error).message.split("\n")[0]}`);
  } finally {
    const code = await daemon.stop();
    if (code !== 0) problems.push(`daemon exit ${code}`);
    const traces = stackTraceLines(daemon.lines().join("\n"));
    if (traces.length > 0) problems.push(`stack trace in the daemon's stderr: ${traces[0]}`);
  }
  return {
    name: "config fuzz: reload keeps the running config",
    figure: `${refused} of ${tried} invalid reloads refused + SIGHUP; still banning`,
    pass: problems.length === 0 && tried > 0,
    ...(problems.length > 0 ? { detail: problems.slice(0, 5).join("\n") } : {}),
  };
}

async function waitUntilCount(
  daemon: DaemonChild,
  re: RegExp,
  n: number,
  timeout: number,
): Promise<boolean> {
  const end = performance.now() + timeout * 1000;
  while (performance.now() < end) {
    if (daemon.count(re) >= n) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return daemon.count(re) >= n;
}

if (import.meta.main) await runStandalone(run);
