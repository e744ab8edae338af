/**
 * Crash consistency: an attack log is written progressively into a growing file with
 * newsyslog-style rotations (link `.0`, rename a fresh file with a "logfile turned over" line
 * onto the log, the writer keeps writing to the old inode until its "HUP", `.0` "compressed"
 * = removed later), while the daemon is killed with SIGKILL at random moments and restarted.
 *
 * The expected outcome is computed from the input: with findtime and bantime 1d nothing
 * expires, so an address is banned exactly when it failed at least maxretry times, by its
 * maxretry-th line. Addresses failing exactly maxretry - 1 times expose a line counted twice
 * (a ban, or a window longer than its failures); addresses failing exactly maxretry times
 * expose a lost line (no ban, or a ban triggered by a later line).
 * @module
 */
import { installFakeIpfw, readFakeIpfwTables } from "../../tests/_fake_ipfw.ts";
import {
  benchAddress,
  createRng,
  errorText,
  failureLine,
  noiseLine,
  readDb,
  type Rng,
  type ScenarioOptions,
  seedOf,
  shuffle,
  type StressResult,
  turnedOverLine,
} from "./_common_a.ts";
import {
  type DaemonChild,
  sleep,
  startDaemon,
  waitUntil,
  writeJailsToml,
} from "../daemon_harness.ts";

/** Sizes of one crash run. */
export interface CrashParams {
  /** Log lines in total. */
  lines: number;
  /** SIGKILLs (at least). */
  kills: number;
  /** Lines written per second. */
  rate: number;
  /** Lines between rotations. */
  rotateEvery: number;
  /** Seconds between a rotation and the removal ("compression") of `.0`. */
  compressDelay: number;
  /** Seconds a daemon lives before its SIGKILL: uniform in [min, max]. */
  killDelay: [number, number];
  /** maxretry of the jail. */
  maxretry: number;
  /** Seconds the final daemon may take to catch up. */
  catchUpTimeout: number;
}

/** The quick and the full sizes. */
export const CRASH_PARAMS: { quick: CrashParams; full: CrashParams } = {
  quick: {
    lines: 5000,
    kills: 5,
    rate: 1500,
    rotateEvery: 1000,
    compressDelay: 0.5,
    killDelay: [0.3, 1.2],
    maxretry: 5,
    catchUpTimeout: 40,
  },
  full: {
    lines: 100_000,
    kills: 60,
    rate: 600,
    rotateEvery: 5000,
    compressDelay: 10,
    killDelay: [0.5, 6.0],
    maxretry: 5,
    catchUpTimeout: 180,
  },
};

interface PlannedLine {
  fail: boolean;
  addr: number;
  tag: string;
}

interface Plan {
  lines: PlannedLine[];
  /** Failures per address index. */
  counts: Map<number, number>;
  /** Tag of the maxretry-th failure of each address that must be banned. */
  trigger: Map<number, string>;
}

/** Builds the attack log: addresses failing maxretry-1, maxretry or a few more times, plus noise. */
function makePlan(p: CrashParams, rng: Rng): Plan {
  const failLines = Math.floor(p.lines * 0.75);
  const per: number[] = [];
  let total = 0;
  while (total < failLines) {
    const r = rng.next();
    let c = r < 0.4 ? p.maxretry - 1 : r < 0.8 ? p.maxretry : p.maxretry + rng.int(1, 3);
    c = Math.min(c, failLines - total);
    per.push(c);
    total += c;
  }
  const order: number[] = [];
  per.forEach((c, addr) => {
    for (let i = 0; i < c; i++) order.push(addr);
  });
  shuffle(order, rng);
  const lines: PlannedLine[] = [];
  let f = 0;
  for (let i = 0; i < p.lines; i++) {
    const remainingFails = order.length - f;
    const remaining = p.lines - i;
    const fail = remainingFails > 0 && (remainingFails >= remaining || rng.next() < 0.75);
    const addr = fail ? order[f++]! : rng.int(0, per.length - 1);
    lines.push({ fail, addr, tag: `s${i}` });
  }
  const counts = new Map<number, number>();
  const trigger = new Map<number, string>();
  for (const l of lines) {
    if (!l.fail) continue;
    const c = (counts.get(l.addr) ?? 0) + 1;
    counts.set(l.addr, c);
    if (c === p.maxretry) trigger.set(l.addr, l.tag);
  }
  return { lines, counts, trigger };
}

function render(l: PlannedLine, now: number): string {
  const addr = benchAddress(l.addr);
  return l.fail ? failureLine(addr, l.tag, now) : noiseLine(addr, l.tag, now);
}

async function inodeOf(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).ino ?? undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await inodeOf(path)) !== undefined;
}

/** Runs the crash consistency scenario. */
export async function run(options: ScenarioOptions): Promise<StressResult[]> {
  const p = options.quick ? CRASH_PARAMS.quick : CRASH_PARAMS.full;
  return [await crashRun(p, options)];
}

/** One crash run with explicit sizes. */
export async function crashRun(p: CrashParams, options: ScenarioOptions): Promise<StressResult> {
  const name = "crash consistency";
  const seed = seedOf(options);
  const rng = createRng(seed);
  const say = options.progress ?? (() => {});
  const plan = makePlan(p, rng);
  const dir = await Deno.makeTempDir({ prefix: "bw-stress-crash-" });
  const log = `${dir}/maillog`;
  const stateDir = `${dir}/state`;
  let daemon: DaemonChild | undefined;
  const allLines: string[] = [];
  let kills = 0;
  let rotations = 0;
  let splits = 0;
  const problems: string[] = [];
  try {
    const fake = await installFakeIpfw(dir);
    await Deno.writeTextFile(log, "");
    const config = await writeJailsToml(dir, {
      global: { stateDir, ipfw: fake.path, pollInterval: "200ms" },
      jails: [{ log, maxretry: p.maxretry, findtime: "1d", bantime: "1d" }],
    });

    let writing = true;
    let aborted = false;
    const deadline = Date.now() + (p.lines / p.rate + p.kills * p.killDelay[1] + 120) * 1000;
    const writer = async (): Promise<void> => {
      // banwatch runs before the attack starts: a daemon that never committed a position
      // starts at the beginning of whatever file is the log then, so wait for the first one.
      await waitUntil(
        () => aborted || readDb(stateDir)?.positions.some((x) => x.path === log) === true,
        "the first daemon to save its log position",
        30,
      ).catch((e) => {
        // Stop the killer too: it loops while `writing` (set false only further down).
        aborted = true;
        writing = false;
        throw e;
      });
      let fd = await Deno.open(log, { append: true, write: true });
      let oldFd: Deno.FsFile | undefined;
      let next = 0;
      let nextRotation = p.rotateEvery;
      let rotatedAt: number | undefined;
      const enc = new TextEncoder();
      const start = Date.now();
      try {
        while (next < plan.lines.length || rotatedAt !== undefined) {
          await sleep(20);
          if (aborted) throw new Error("aborted: the daemon side failed");
          if (Date.now() > deadline) throw new Error("the writer ran out of time");
          const owed = Math.min(
            Math.floor(((Date.now() - start) / 1000) * p.rate) - next,
            plan.lines.length - next,
          );
          if (owed > 0) {
            const now = Date.now() / 1000;
            let text = "";
            for (let i = next; i < next + owed; i++) text += render(plan.lines[i]!, now);
            next += owed;
            const target = oldFd ?? fd;
            const bytes = enc.encode(text);
            if (rng.next() < 0.2 && bytes.length > 40) {
              // A line split across two writes, as a busy syslogd can leave it.
              const cut = bytes.length - rng.int(5, 30);
              await target.write(bytes.subarray(0, cut));
              await sleep(rng.int(5, 60));
              await target.write(bytes.subarray(cut));
              splits++;
            } else await target.write(bytes);
            if (oldFd) {
              // syslogd got its SIGHUP: it reopens the log by name.
              oldFd.close();
              oldFd = undefined;
            }
          }
          if (rotatedAt === undefined && next >= nextRotation && next < plan.lines.length) {
            // newsyslog: link log -> log.0, rename a fresh file onto log; syslogd still
            // writes to the old inode until its HUP (the next chunk goes there).
            await Deno.link(log, `${log}.0`);
            await Deno.writeTextFile(`${log}.new`, turnedOverLine(Date.now() / 1000));
            await Deno.rename(`${log}.new`, log);
            oldFd = fd;
            fd = await Deno.open(log, { append: true, write: true });
            rotatedAt = Date.now();
            nextRotation += p.rotateEvery;
            rotations++;
          }
          if (rotatedAt !== undefined && Date.now() - rotatedAt >= p.compressDelay * 1000) {
            // "Compress" log.0 once the daemon committed a position in the new file: a daemon
            // down for longer than newsyslog's delay loses lines by design, not by a bug.
            const pos = readDb(stateDir)?.positions.find((x) => x.path === log);
            if (pos !== undefined && pos.ino === await inodeOf(log)) {
              await Deno.remove(`${log}.0`);
              rotatedAt = undefined;
            }
          }
        }
      } catch (e) {
        aborted = true;
        throw e;
      } finally {
        oldFd?.close();
        fd.close();
        writing = false;
      }
    };

    const killer = async (): Promise<void> => {
      daemon = startDaemon(config);
      while ((kills < p.kills || writing) && !aborted) {
        const delay = p.killDelay[0] + rng.next() * (p.killDelay[1] - p.killDelay[0]);
        await sleep(delay * 1000);
        if (daemon.exited()) {
          problems.push(`daemon exited on its own with ${daemon.code()}`);
          allLines.push(...daemon.lines());
          throw new Error(`daemon exited on its own:\n${daemon.lines().slice(-10).join("\n")}`);
        }
        if (kills >= p.kills && !writing) break;
        await daemon.stop("SIGKILL");
        kills++;
        allLines.push(...daemon.lines());
        if (kills % 10 === 0) say(`crash: ${kills} kills`);
        daemon = startDaemon(config);
      }
    };

    const outcome = await Promise.allSettled([
      writer(),
      killer().catch((e) => {
        aborted = true;
        throw e;
      }),
    ]);
    for (const o of outcome) {
      if (o.status === "rejected") throw o.reason;
    }
    // The last daemon runs undisturbed until it has caught up.
    const d = daemon as DaemonChild | undefined;
    if (!d) throw new Error("no daemon");
    // The state on disk may already look caught up (the previous run got there before its
    // kill); a SIGTERM before this run has even installed its handlers would then kill it.
    await d.waitFor(/event=started/, p.catchUpTimeout);
    const size = (await Deno.stat(log)).size;
    const ino = await inodeOf(log);
    let tableCount = -1;
    await waitUntil(
      async () => {
        if (d.exited()) throw new Error(`daemon exited:\n${d.lines().slice(-10).join("\n")}`);
        const db = readDb(stateDir);
        const pos = db?.positions.find((x) => x.path === log);
        if (!db || !pos || pos.ino !== ino || pos.offset !== size) return false;
        if (db.bans.some((b) => !b.applied)) return false;
        tableCount = Object.keys((await readFakeIpfwTables(fake))["bw-mail"] ?? {}).length;
        return tableCount === db.bans.length && !(await exists(`${log}.0`));
      },
      "the restarted daemon to catch up",
      p.catchUpTimeout,
    );
    const code = await d.stop();
    allLines.push(...d.lines());
    daemon = undefined;
    if (code !== 0) problems.push(`final daemon exited ${code}`);

    // ---- compare with the input
    const db = readDb(stateDir);
    if (!db) throw new Error("cannot read the state database");
    const table = (await readFakeIpfwTables(fake))["bw-mail"] ?? {};
    const bans = new Map(db.bans.filter((b) => b.jail === "mail").map((b) => [b.target, b]));
    let lost = 0;
    let doubled = 0;
    let wrong = 0;
    const note = (text: string) => {
      if (problems.length < 12) problems.push(text);
    };
    for (const [addr, c] of plan.counts) {
      const target = `${benchAddress(addr)}/32`;
      const ban = bans.get(target);
      const window = db.windows.get(`mail ${benchAddress(addr)}`);
      if (c >= p.maxretry) {
        const want = plan.trigger.get(addr)!;
        if (!ban) {
          lost++;
          note(`${target} (${c} failures) not banned: a line was lost`);
          continue;
        }
        const got = /sasl_username=(s\d+)/.exec(ban.line ?? "")?.[1];
        if (got !== want) {
          const early = got !== undefined && Number(got.slice(1)) < Number(want.slice(1));
          if (early) doubled++;
          else lost++;
          note(
            `${target} banned by line ${got}, expected ${want}: a line was ${
              early ? "counted twice" : "lost"
            }`,
          );
        }
        if (ban.failures !== p.maxretry || ban.banCount !== 1) {
          wrong++;
          note(`${target}: failures=${ban.failures} ban_count=${ban.banCount}`);
        }
        const hist = db.history.get(`mail ${target}`) ?? 0;
        if (hist !== 1) {
          wrong++;
          note(`${target}: ${hist} history rows, expected 1`);
        }
        if (window !== undefined) {
          wrong++;
          note(`${target}: banned but still has a window of ${window}`);
        }
      } else {
        if (ban) {
          doubled++;
          note(`${target} (${c} failures < maxretry) banned: a line was counted twice`);
        } else if ((window ?? 0) !== c) {
          if ((window ?? 0) < c) lost++;
          else doubled++;
          note(`${target}: window holds ${window ?? 0} failures, the log has ${c}`);
        }
      }
    }
    const expectedBans = plan.trigger.size;
    for (const target of bans.keys()) {
      if (!plan.trigger.has(addrIndexOf(target) ?? -1)) {
        doubled++;
        note(`unexpected ban of ${target}`);
      }
    }
    let tableMismatch = 0;
    for (const target of bans.keys()) if (!(target in table)) tableMismatch++;
    for (const key of Object.keys(table)) if (!bans.has(key)) tableMismatch++;
    const notApplied = db.bans.filter((b) => !b.applied).length;
    if (tableMismatch > 0) note(`state db and ipfw table differ in ${tableMismatch} entries`);
    if (notApplied > 0) note(`${notApplied} bans still pending`);
    const errors = allLines.filter((l) => l.startsWith("level=error"));
    const mismatches = lost + doubled + wrong + tableMismatch + notApplied;
    const pass = mismatches === 0 && kills >= p.kills && code === 0;
    return {
      name,
      figure: `kills=${kills} lines=${p.lines} rotations=${rotations} split_writes=${splits} ` +
        `bans expected=${expectedBans} actual=${bans.size} table=${
          Object.keys(table).length
        } mismatches=${mismatches} (lost=${lost} doubled=${doubled} other=${wrong} ` +
        `db_vs_table=${tableMismatch} pending=${notApplied}) error_events=${errors.length} ` +
        `seed=${seed}`,
      pass,
      ...(pass ? {} : { detail: problems.join("; ") || "see figure" }),
    };
  } catch (e) {
    return {
      name,
      figure: `kills=${kills} lines=${p.lines} rotations=${rotations} seed=${seed}`,
      pass: false,
      detail: [...problems, errorText(e)].join("; "),
    };
  } finally {
    const d = daemon as DaemonChild | undefined;
    if (d) await d.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The plan index of a 198.18.0.0/15 target, undefined for anything else. */
function addrIndexOf(target: string): number | undefined {
  const m = /^198\.(18|19)\.(\d+)\.(\d+)\/32$/.exec(target);
  if (!m) return undefined;
  return ((Number(m[1]) - 18) << 16) + (Number(m[2]) << 8) + Number(m[3]) - 1;
}
