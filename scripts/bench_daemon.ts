/**
 * The daemon benchmarks of issue 3 ("Speed and memory"), each printed, then a summary table
 * with the target and PASS/FAIL per figure:
 *
 * - (a) ban latency from an appended line to the firewall call (p50, p99 over --bans bans,
 *   poll_interval 1s), timed by a wrapper around the ipfw test double;
 * - (b) catching up a 1,000,000-line maillog: `run --replay --dry-run`, and the live daemon
 *   started on the existing file (time until its status says every byte was read);
 * - (c) restoring 20,000 bans at start through the ipfw double (bans made, daemon stopped,
 *   table emptied, daemon restarted: time until the table holds them all again);
 * - (d) idle CPU with 5 jails on 3 files over --idle-seconds (60), and the idle RSS;
 * - (e) RSS while tracking 1,000,000 distinct failing addresses (each failing once within
 *   findtime).
 *
 *   deno run --allow-read --allow-write --allow-run --allow-env --allow-sys --allow-net \
 *     scripts/bench_daemon.ts
 *     [--only a,b,c,d,e] [--bans 200] [--idle-seconds 60] [--catchup-lines 1000000]
 *     [--restore-bans 20000] [--tracked 1000000] [--seed 1] [--keep]
 *
 * Everything is written under bench_out/daemon/ (removed at the end unless --keep). The ipfw
 * double is tests/_fake_ipfw.ts's; the daemon runs as the compiled binary runs it: the bundle
 * `deno task compile` embeds (built into bench_out/) with BUNDLE_RUN_FLAGS, TZ=UTC. A benchmark prints figures; it asserts nothing about time.
 * @module
 */
import { parseArgs } from "node:util";
import { sendRequest, type StatusReport } from "../lib/control/mod.ts";
import { installFakeIpfw } from "../tests/_fake_ipfw.ts";
import { type DaemonChild, type JailSpec, startDaemon, writeJailsToml } from "./daemon_harness.ts";
import { BUNDLE_FLAGS } from "./flags.ts";
import {
  banwatchArgs,
  BENCH_OUT,
  benchBundle,
  benchRunFlags,
  BINARY_ENV,
  clockTicks,
  coveredSeconds,
  formatTable,
  measure,
  megabytes,
  numberOption,
  out,
  percentile,
  readCpuSeconds,
  readProcMemory,
  sleep,
  thousands,
  waitUntil,
} from "./_bench_util.ts";
import {
  distinctIpv4,
  generateMaillog,
  mulberry32,
  saslFailureLine,
  syslogHeader,
  writeLines,
} from "./gen_maillog.ts";

const DIR = `${BENCH_OUT}/daemon`;
const ENV = { ...BINARY_ENV, TZ: "UTC", NO_COLOR: "1" };

/** One row of the summary. */
interface Figure {
  id: string;
  name: string;
  value: string;
  target: string;
  pass: boolean | undefined;
  note?: string;
}

const figures: Figure[] = [];

function record(f: Figure): void {
  figures.push(f);
  out(`   ${f.name}: ${f.value} (target ${f.target})${f.note ? ` — ${f.note}` : ""}`);
}

function nowS(): number {
  return Date.now() / 1000;
}

// ---------------------------------------------------------------- the daemon as a child

/** Ban events, counted from the first line on (the daemon keeps only the last 2000 lines). */
const BAN_EVENT = /event=ban(?:\s|$)/;

/** Starts `run -c config` from the bundle, as the compiled binary runs it. */
function spawnDaemon(config: string, extra: readonly string[] = []): DaemonChild {
  return startDaemon(config, extra, {
    script: benchBundle(),
    denoFlags: [...BUNDLE_FLAGS, ...benchRunFlags()],
    env: ENV,
    keepLines: 2000,
    counted: [BAN_EVENT],
  });
}

async function status(socket: string): Promise<StatusReport | undefined> {
  try {
    const res = await sendRequest(socket, { v: 1, cmd: "status" }, { timeout: 60 });
    return res.ok ? (res.result as StatusReport) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls the control socket until every file of every jail was read to `size` bytes. */
async function waitConsumed(
  socket: string,
  sizes: ReadonlyMap<string, number>,
  timeoutS: number,
  everyMs = 50,
): Promise<StatusReport | undefined> {
  let last: StatusReport | undefined;
  const ok = await waitUntil(async () => {
    last = await status(socket);
    if (!last) return false;
    for (const jail of last.jails) {
      for (const f of jail.files) if (f.offset < (sizes.get(f.path) ?? 0)) return false;
    }
    return true;
  }, { timeoutS, everyMs });
  return ok ? last : undefined;
}

// ---------------------------------------------------------------- files and config

/**
 * Installs the ipfw double in `dir` and a timing wrapper `dir/ipfw-timed` that appends
 * `start end argv...` (epoch seconds) to `dir/ipfw-times.log` around each invocation.
 */
async function installTimedIpfw(
  dir: string,
): Promise<{ path: string; double: string; times: string; state: string }> {
  const fake = await installFakeIpfw(dir);
  const times = `${dir}/ipfw-times.log`;
  const path = `${dir}/ipfw-timed`;
  await Deno.writeTextFile(
    path,
    [
      "#!/bin/sh",
      "s=$(date +%s.%N)",
      `'${fake.path}' "$@"`,
      "rc=$?",
      `printf '%s %s %s\\n' "$s" "$(date +%s.%N)" "$*" >> '${times}'`,
      "exit $rc",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  await Deno.chmod(path, 0o755);
  return { path, double: fake.path, times, state: fake.statePath };
}

/** One invocation of the double, from the wrapper's log. */
interface IpfwCall {
  start: number;
  end: number;
  args: string[];
}

async function readCalls(times: string): Promise<IpfwCall[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(times);
  } catch {
    return [];
  }
  return text.split("\n").filter((l) => l !== "").map((l) => {
    const [s, e, ...args] = l.split(" ");
    return { start: Number(s), end: Number(e), args };
  });
}

/** Entries of a table of the double ("kernel" state JSON). */
async function tableSize(statePath: string, table: string): Promise<number> {
  try {
    const state = JSON.parse(await Deno.readTextFile(statePath)) as {
      tables?: Record<string, { entries: Record<string, number> }>;
    };
    return Object.keys(state.tables?.[table]?.entries ?? {}).length;
  } catch {
    return 0; // missing, or caught between write and rename
  }
}

async function writeConfig(
  dir: string,
  options: { ipfw: string; jails: readonly JailSpec[]; global?: string },
): Promise<{ path: string; socket: string }> {
  const socket = `${dir}/bw.sock`;
  await Deno.mkdir(`${dir}/state`, { recursive: true });
  const path = await writeJailsToml(dir, {
    global: {
      socket,
      ipfw: options.ipfw,
      pollInterval: 1,
      ...(options.global === undefined ? {} : { extra: options.global }),
    },
    jails: options.jails,
  });
  return { path, socket };
}

async function writeFile(path: string, lines: Iterable<string>): Promise<number> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    return await writeLines(f, lines);
  } finally {
    f.close();
  }
}

async function freshDir(name: string): Promise<string> {
  const dir = `${DIR}/${name}`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

function fmtS(s: number): string {
  return `${s.toFixed(3)} s`;
}

function fmtMs(s: number): string {
  return `${(s * 1000).toFixed(0)} ms`;
}

async function stopOrWarn(d: DaemonChild, what: string): Promise<void> {
  const code = await d.stop();
  if (code !== 0) {
    out(`   WARNING: the ${what} daemon exited ${code}; last stderr lines:`);
    for (const l of d.lines().slice(-15)) out(`     ${l}`);
  }
}

// ---------------------------------------------------------------- (a) ban latency

async function benchLatency(bans: number, seed: number): Promise<void> {
  out(`\n== (a) ban latency: ${bans} bans, poll_interval 1s, maxretry 1`);
  const dir = await freshDir("latency");
  const ipfw = await installTimedIpfw(dir);
  const log = `${dir}/maillog`;
  await Deno.writeTextFile(log, "");
  const cfg = await writeConfig(dir, {
    ipfw: ipfw.path,
    jails: [{ name: "mail", filter: "postfix-sasl", log, table: "bw-lat", maxretry: 1 }],
  });
  const d = spawnDaemon(cfg.path, ["--no-socket"]);
  try {
    await d.waitFor(/event=started/, 30);
    await sleep(1500);
    const rand = mulberry32(seed);
    const appended = new Map<string, number>();
    const file = await Deno.open(log, { append: true });
    const enc = new TextEncoder();
    try {
      for (let i = 0; i < bans; i++) {
        // Random gaps, so lines land at every phase of the poll cycle.
        await sleep(100 + rand() * 400);
        const addr = distinctIpv4(5_000_000 + i * 7919);
        await file.write(enc.encode(`${saslFailureLine(addr, nowS())}\n`));
        appended.set(addr, nowS());
      }
    } finally {
      file.close();
    }
    const seen = new Map<string, number>();
    await waitUntil(async () => {
      for (const call of await readCalls(ipfw.times)) {
        for (const arg of call.args) {
          const a = arg.replace(/\/(32|128)$/, "");
          if (appended.has(a) && !seen.has(a)) seen.set(a, call.start);
        }
      }
      return seen.size >= appended.size;
    }, { timeoutS: 30, everyMs: 200 });
    const latencies = [...appended].filter(([a]) => seen.has(a)).map(([a, t]) => seen.get(a)! - t);
    const calls = (await readCalls(ipfw.times)).filter((c) => c.args.includes("add"));
    const doubleTimes = calls.map((c) => c.end - c.start);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    out(
      `   ${latencies.length}/${bans} bans reached the double in ${calls.length} 'add' calls; ` +
        `latency min ${fmtMs(Math.min(...latencies))}, p50 ${fmtMs(p50)}, p90 ${
          fmtMs(percentile(latencies, 90))
        }, p99 ${fmtMs(p99)}, max ${fmtMs(Math.max(...latencies))}`,
    );
    out(`   each ipfw double call itself took p50 ${fmtMs(percentile(doubleTimes, 50))}`);
    const missing = bans - latencies.length;
    record({
      id: "a",
      name: "ban latency p50",
      value: fmtMs(p50),
      target: "<= 1050 ms (poll + 50 ms)",
      pass: p50 <= 1.05 && missing === 0,
    });
    record({
      id: "a",
      name: "ban latency p99",
      value: fmtMs(p99),
      target: "<= 1050 ms (poll + 50 ms)",
      pass: p99 <= 1.05 && missing === 0,
      ...(missing > 0 ? { note: `${missing} bans never reached the firewall` } : {}),
    });
  } finally {
    await stopOrWarn(d, "latency");
  }
}

// ---------------------------------------------------------------- (b) catch-up

async function benchCatchUp(lines: number, seed: number): Promise<void> {
  out(
    `\n== (b) catching up a ${
      thousands(lines)
    }-line maillog (3 jails: postfix-sasl, qpopper, dovecot)`,
  );
  const dir = await freshDir("catchup");
  const log = `${dir}/maillog`;
  const meanGap = 0.25;
  // The log ends now, as when the daemon starts on a server's existing maillog.
  const bytes = await writeFile(
    log,
    generateMaillog(lines, seed, { start: Math.floor(nowS() - lines * meanGap), meanGap }),
  );
  out(`   log: ${(bytes / 1e6).toFixed(1)} MB`);
  const ipfw = await installTimedIpfw(dir);
  const jails = (backend: string, logPath: string): JailSpec[] => [
    {
      name: "postfix",
      filter: "postfix-sasl",
      log: logPath,
      table: "bw-postfix",
      maxretry: 5,
      backend,
    },
    { name: "qpopper", filter: "qpopper", log: logPath, table: "bw-pop", maxretry: 5, backend },
    { name: "dovecot", filter: "dovecot", log: logPath, table: "bw-imap", maxretry: 5, backend },
  ];

  // Replay: read once to the end with the lines' own clock, then exit.
  const empty = `${dir}/empty.log`;
  await Deno.writeTextFile(empty, "");
  const baseCfg = await writeConfig(await freshDir("catchup-empty"), {
    ipfw: ipfw.path,
    jails: jails("dry-run", empty),
  });
  const base = await measure(
    Deno.execPath(),
    banwatchArgs(["run", "-c", baseCfg.path, "--replay", "--dry-run"]),
    {
      env: ENV,
    },
  );
  const replayCfg = await writeConfig(await freshDir("catchup-replay"), {
    ipfw: ipfw.path,
    jails: jails("dry-run", log),
  });
  const replay = await measure(
    Deno.execPath(),
    banwatchArgs(["run", "-c", replayCfg.path, "--replay", "--dry-run"]),
    { env: ENV },
  );
  if (replay.code !== 0) {
    out(`   WARNING: replay exited ${replay.code}: ${replay.stderr.slice(-800)}`);
  }
  const replayBans = (replay.stderr.match(/event=ban /g) ?? []).length;
  out(
    `   replay --dry-run: ${fmtS(replay.wall)} wall (startup on an empty log ${
      fmtS(base.wall)
    }), ` +
      `${thousands(lines / replay.wall)} lines/s, peak RSS ${
        megabytes(replay.peakKb)
      }, ${replayBans} bans; ` +
      `stdout: ${replay.stdout.trim()}`,
  );
  record({
    id: "b",
    name: `catch-up ${thousands(lines)} lines (replay --dry-run)`,
    value: fmtS(replay.wall),
    target: "< 3 s",
    pass: replay.wall < 3 && replay.code === 0,
    note: `process wall incl. ${fmtS(base.wall)} startup; peak RSS ${megabytes(replay.peakKb)}`,
  });

  // Live: the daemon started on the existing file, through the ipfw double.
  const liveDir = await freshDir("catchup-live");
  const cfg = await writeConfig(liveDir, { ipfw: ipfw.path, jails: jails("ipfw", log) });
  const callsBefore = (await readCalls(ipfw.times)).length;
  const t0 = performance.now();
  const t0Epoch = nowS();
  const d = spawnDaemon(cfg.path);
  try {
    const report = await waitConsumed(cfg.socket, new Map([[log, bytes]]), 300, 25);
    const wall = (performance.now() - t0) / 1000;
    const mem = readProcMemory(d.pid);
    const banned = report?.jails.reduce((n, j) => n + j.banned, 0) ?? 0;
    // The daemon waits for the firewall at start (tables prepared and listed) and after the
    // batch that bans; each call of the double is a deno process (~0.1-0.2 s), ipfw(8) ~1 ms.
    const calls = (await readCalls(ipfw.times)).slice(callsBefore);
    const waited = coveredSeconds(calls, t0Epoch, t0Epoch + wall);
    const own = wall - waited;
    out(
      `   live daemon: all ${thousands(bytes)} bytes read ${fmtS(wall)} after spawn ` +
        `(first status answer counts), of which ${fmtS(waited)} with ${calls.length} calls of ` +
        `the ipfw double running; ${banned} active bans, VmHWM ${megabytes(mem?.hwmKb)}`,
    );
    record({
      id: "b",
      name: `catch-up ${thousands(lines)} lines (live daemon)`,
      value: report ? fmtS(own) : "timeout",
      target: "< 3 s",
      pass: report !== undefined && own < 3,
      note: `spawn until status shows every byte read: ${fmtS(wall)}, less ${
        fmtS(waited)
      } while the ipfw double (a deno process per call) ran`,
    });
  } finally {
    await stopOrWarn(d, "catch-up");
  }
}

// ---------------------------------------------------------------- (c) restore

async function benchRestore(count: number): Promise<void> {
  out(`\n== (c) restoring ${thousands(count)} bans at start through the ipfw double`);
  const dir = await freshDir("restore");
  const ipfw = await installTimedIpfw(dir);
  const log = `${dir}/maillog`;
  const t = nowS() - 900;
  await writeFile(
    log,
    (function* () {
      for (let i = 0; i < count; i++) {
        yield saslFailureLine(distinctIpv4(9_000_000 + i), t + i * 0.01);
      }
    })(),
  );
  const table = "bw-restore";
  const cfg = await writeConfig(dir, {
    ipfw: ipfw.path,
    global: "unban_on_stop = false",
    jails: [{ name: "mail", filter: "postfix-sasl", log, table, maxretry: 1 }],
  });
  let t0 = performance.now();
  const first = spawnDaemon(cfg.path, ["--no-socket"]);
  try {
    const ok = await waitUntil(async () => (await tableSize(ipfw.state, table)) >= count, {
      timeoutS: 300,
      everyMs: 200,
    });
    out(
      `   first start: ${ok ? "" : "NOT "}all ${thousands(count)} banned after ` +
        `${fmtS((performance.now() - t0) / 1000)} (${first.count(BAN_EVENT)} ban events)`,
    );
  } finally {
    await stopOrWarn(first, "first restore");
  }
  // Empty the "kernel" table as a reboot would, and forget the calls so far.
  const flush = await new Deno.Command(ipfw.double, { args: ["-q", "table", table, "flush"] })
    .output();
  if (!flush.success) {
    out(
      `   WARNING: flushing the double's table failed: ${new TextDecoder().decode(flush.stderr)}`,
    );
  }
  await Deno.writeTextFile(ipfw.times, "");
  out(`   table emptied: ${await tableSize(ipfw.state, table)} entries`);

  t0 = performance.now();
  const second = spawnDaemon(cfg.path, ["--no-socket"]);
  try {
    const ok = await waitUntil(async () => (await tableSize(ipfw.state, table)) >= count, {
      timeoutS: 120,
      everyMs: 20,
    });
    const wall = (performance.now() - t0) / 1000;
    const calls = await readCalls(ipfw.times);
    const inDouble = calls.reduce((s, c) => s + (c.end - c.start), 0);
    const restoredLine = second.lines().find((l) => l.includes("event=bans_restored")) ??
      "(no bans_restored event)";
    out(
      `   restart: table holds ${await tableSize(ipfw.state, table)} entries ${
        fmtS(wall)
      } after spawn; ` +
        `${calls.length} ipfw calls, ${fmtS(inDouble)} of it inside the double`,
    );
    out(`   ${restoredLine}`);
    // A SIGTERM before the daemon logged "started" kills it (no handler yet): wait for it.
    await second.waitFor(/event=started/, 60).catch(() => "");
    record({
      id: "c",
      name: `restore ${thousands(count)} bans at start`,
      value: ok ? fmtS(wall) : "timeout",
      target: "< 2 s",
      pass: ok && wall < 2,
      note: `${calls.length} ipfw calls (${fmtS(inDouble)} in the double)`,
    });
  } finally {
    await stopOrWarn(second, "second restore");
  }
}

// ---------------------------------------------------------------- (d) idle CPU and RSS

async function benchIdle(seconds: number, seed: number): Promise<void> {
  out(`\n== (d) idle CPU with 5 jails on 3 files over ${seconds} s`);
  const dir = await freshDir("idle");
  const ipfw = await installTimedIpfw(dir);
  const maillog = `${dir}/maillog`;
  const auth = `${dir}/auth.log`;
  const messages = `${dir}/messages`;
  const start = Math.floor(nowS() - 3600);
  await writeFile(maillog, generateMaillog(5000, seed, { start, meanGap: 0.5 }));
  await writeFile(
    auth,
    (function* () {
      for (let i = 0; i < 500; i++) {
        yield `${syslogHeader(start + i * 5)} sshd[${900 + i}]: Connection closed by 198.51.100.${
          i % 250 + 1
        } port ${20000 + i} [preauth]`;
      }
    })(),
  );
  await writeFile(
    messages,
    (function* () {
      for (let i = 0; i < 500; i++) {
        yield `${syslogHeader(start + i * 5)} kernel: em0: link state changed to UP`;
      }
    })(),
  );
  const cfg = await writeConfig(dir, {
    ipfw: ipfw.path,
    jails: [
      { name: "postfix", filter: "postfix-sasl", log: maillog, table: "bw-postfix", maxretry: 5 },
      { name: "dovecot", filter: "dovecot", log: maillog, table: "bw-imap", maxretry: 5 },
      { name: "qpopper", filter: "qpopper", log: maillog, table: "bw-pop", maxretry: 5 },
      { name: "sshd", filter: "sshd", log: auth, table: "bw-ssh", maxretry: 5 },
      { name: "tcpwrap", filter: "tcp-wrappers", log: messages, table: "bw-inetd", maxretry: 5 },
    ],
  });
  const d = spawnDaemon(cfg.path);
  try {
    await d.waitFor(/event=started/, 30);
    const sizes = new Map<string, number>();
    for (const p of [maillog, auth, messages]) sizes.set(p, (await Deno.stat(p)).size);
    await waitConsumed(cfg.socket, sizes, 60, 100);
    await sleep(2000);
    const callsBefore = (await readCalls(ipfw.times)).length;
    const hz = clockTicks();
    const cpu0 = readCpuSeconds(d.pid, hz);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const cpu1 = readCpuSeconds(d.pid, hz);
    const elapsed = (performance.now() - t0) / 1000;
    const mem = readProcMemory(d.pid);
    const callsDuring = (await readCalls(ipfw.times)).length - callsBefore;
    const share = (cpu1 - cpu0) / elapsed * 100;
    out(
      `   CPU ${((cpu1 - cpu0) * 1000).toFixed(0)} ms over ${elapsed.toFixed(1)} s ` +
        `(clock ${hz} Hz: resolution ${
          (100 / hz / elapsed).toFixed(3)
        }%); ${callsDuring} firewall calls; ` +
        `VmRSS ${megabytes(mem?.rssKb)}, VmHWM ${megabytes(mem?.hwmKb)}`,
    );
    record({
      id: "d",
      name: `idle CPU, 5 jails / 3 files, ${seconds} s`,
      value: `${share.toFixed(3)}% of a core`,
      target: "< 0.2%",
      pass: share < 0.2,
    });
    const rssMb = (mem?.rssKb ?? Infinity) * 1024 / 1e6;
    record({
      id: "d",
      name: "RSS idle (5 jails)",
      value: megabytes(mem?.rssKb),
      target: "< 64 MB",
      pass: rssMb < 64,
      note: `${megabytes(mem?.anonKb)} anonymous + ${
        megabytes(mem?.fileKb)
      } mapped from files (the deno executable's code); VmHWM ${
        megabytes(mem?.hwmKb)
      } after reading ${thousands(5000 + 1000)} lines at start`,
    });
  } finally {
    await stopOrWarn(d, "idle");
  }
  // The floor: a deno process that only keeps a 1 s timer, measured the same way.
  const script = `${dir}/bare_idle.js`;
  await Deno.writeTextFile(script, "setInterval(() => {}, 1000);\n");
  const bare = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-config", script],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await sleep(5000);
    const mem = readProcMemory(bare.pid);
    out(
      `   for comparison, a bare deno process with a 1 s timer: VmRSS ${megabytes(mem?.rssKb)} (${
        megabytes(mem?.anonKb)
      } anonymous + ${megabytes(mem?.fileKb)} mapped from files)`,
    );
  } finally {
    bare.kill("SIGKILL");
    await bare.status;
  }
}

// ---------------------------------------------------------------- (e) 1M tracked addresses

async function benchTracked(count: number): Promise<void> {
  out(`\n== (e) RSS while tracking ${thousands(count)} distinct failing addresses`);
  const dir = await freshDir("tracked");
  const ipfw = await installTimedIpfw(dir);
  const log = `${dir}/maillog`;
  // Every address fails once; all lines fall inside findtime (1h) at the daemon's start.
  const start = nowS() - 3000;
  const step = 2400 / count;
  const bytes = await writeFile(
    log,
    (function* () {
      for (let i = 0; i < count; i++) yield saslFailureLine(distinctIpv4(i), start + i * step);
    })(),
  );
  const cfg = await writeConfig(dir, {
    ipfw: ipfw.path,
    global: `max_tracked = ${Math.max(count * 2, 100_000)}`,
    jails: [{
      name: "mail",
      filter: "postfix-sasl",
      log,
      table: "bw-mail",
      maxretry: 3,
      findtime: "1h",
    }],
  });
  const t0 = performance.now();
  const d = spawnDaemon(cfg.path);
  let peakSeen = 0;
  const sampler = setInterval(() => {
    const m = readProcMemory(d.pid);
    if (m) peakSeen = Math.max(peakSeen, m.hwmKb);
  }, 100);
  try {
    const report = await waitConsumed(cfg.socket, new Map([[log, bytes]]), 900, 250);
    const wall = (performance.now() - t0) / 1000;
    await sleep(1000);
    const mem = readProcMemory(d.pid);
    const after = await status(cfg.socket);
    const failing = after?.jails[0]?.failing ?? 0;
    const evictions = after?.jails[0]?.evictions ?? 0;
    out(
      `   ${(bytes / 1e6).toFixed(1)} MB read in ${fmtS(wall)}; tracking ${
        thousands(failing)
      } addresses ` +
        `(${evictions} evictions); VmRSS ${megabytes(mem?.rssKb)}, VmHWM ${megabytes(mem?.hwmKb)}`,
    );
    const hwmMb = (mem?.hwmKb ?? Infinity) * 1024 / 1e6;
    record({
      id: "e",
      name: `RSS tracking ${thousands(count)} addresses`,
      value: `${megabytes(mem?.hwmKb)} peak, ${megabytes(mem?.rssKb)} now`,
      target: "< 300 MB",
      pass: report !== undefined && hwmMb < 300 && failing >= count,
      note: report
        ? `${thousands(failing)} tracked; read in ${fmtS(wall)}`
        : "timed out before the log was read",
    });
  } finally {
    clearInterval(sampler);
    await stopOrWarn(d, "tracking");
  }
}

// ---------------------------------------------------------------- main

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      only: { type: "string" },
      bans: { type: "string" },
      "idle-seconds": { type: "string" },
      "catchup-lines": { type: "string" },
      "restore-bans": { type: "string" },
      tracked: { type: "string" },
      seed: { type: "string" },
      keep: { type: "boolean" },
    },
  });
  const only = new Set((values.only ?? "a,b,c,d,e").split(",").map((s) => s.trim()));
  const seed = numberOption("seed", values.seed, 1);
  await Deno.remove(DIR, { recursive: true }).catch(() => {});
  await Deno.mkdir(DIR, { recursive: true });
  out(
    `bench_daemon: deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, scratch ${DIR}`,
  );
  const started = performance.now();
  try {
    if (only.has("a")) await benchLatency(numberOption("bans", values.bans, 200), seed);
    if (only.has("b")) {
      await benchCatchUp(numberOption("catchup-lines", values["catchup-lines"], 1_000_000), seed);
    }
    if (only.has("c")) {
      await benchRestore(numberOption("restore-bans", values["restore-bans"], 20_000));
    }
    if (only.has("d")) {
      await benchIdle(numberOption("idle-seconds", values["idle-seconds"], 60), seed);
    }
    if (only.has("e")) await benchTracked(numberOption("tracked", values.tracked, 1_000_000));
  } finally {
    if (!values.keep) await Deno.remove(DIR, { recursive: true }).catch(() => {});
  }
  out(`\nSummary (${((performance.now() - started) / 1000).toFixed(0)} s):\n`);
  out(
    formatTable([
      ["", "figure", "value", "target", "result", "note"],
      ...figures.map((f) => [
        f.id,
        f.name,
        f.value,
        f.target,
        f.pass === undefined ? "-" : f.pass ? "PASS" : "FAIL",
        f.note ?? "",
      ]),
    ]),
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
