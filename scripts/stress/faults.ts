/**
 * Firewall and disk faults against the real daemon.
 *
 * Firewall: the ipfw double exits non-zero, hangs past firewall_timeout, is missing, or fails
 * one call in three. Bans must stay pending (state db `applied = 0`), survive a restart, and be
 * applied once ipfw works again; the daemon stays up.
 *
 * Disk: the state database made unwritable (`chattr +i`, since root ignores modes) or its
 * tmpfs filled: banning continues from memory, an error is logged, and the database catches
 * up once writes work again (a restart re-counts nothing). A database overwritten with garbage
 * while stopped is moved aside and the table reconciled without touching entries it no longer
 * knows.
 * @module
 */
import { type FakeIpfw, installFakeIpfw, readFakeIpfwTables } from "../../tests/_fake_ipfw.ts";
import {
  type DbSnapshot,
  errorText,
  failureLine,
  readDb,
  runProgram,
  type ScenarioOptions,
  type StressResult,
} from "./_common_a.ts";
import {
  type DaemonChild,
  sleep,
  startDaemon,
  waitUntil,
  writeJailsToml,
} from "../daemon_harness.ts";

/** How the firewall program misbehaves. */
export type FirewallFault = "always" | "hang" | "missing" | "every3";

const FAULT_NAMES: Record<FirewallFault, string> = {
  always: "firewall faults: ipfw exits non-zero",
  hang: "firewall faults: ipfw hangs",
  missing: "firewall faults: ipfw missing",
  every3: "firewall faults: ipfw fails 1 call in 3",
};

/** Runs every firewall and disk fault, concurrently (each has its own dir, daemon and ipfw). */
export function run(options: ScenarioOptions): Promise<StressResult[]> {
  return Promise.all([
    ...(["always", "hang", "missing", "every3"] as const).map((f) => firewallFault(f, options)),
    diskFault("read-only", options),
    diskFault("full", options),
    corruptDatabase(options),
  ]);
}

function addr(group: number, i: number): string {
  return `203.0.${group}.${i + 1}`;
}

async function attack(log: string, addrs: readonly string[], failures = 2): Promise<void> {
  const now = Date.now() / 1000;
  let text = "";
  for (let n = 0; n < failures; n++) {
    for (const a of addrs) text += failureLine(a, `${a}-${n}`, now);
  }
  await Deno.writeTextFile(log, text, { append: true });
}

async function tableKeys(fake: FakeIpfw): Promise<Set<string>> {
  return new Set(Object.keys((await readFakeIpfwTables(fake))["bw-mail"] ?? {}));
}

function dbTargets(db: DbSnapshot | undefined, applied?: boolean): Set<string> {
  return new Set(
    (db?.bans ?? []).filter((b) => applied === undefined || b.applied === applied).map((b) =>
      b.target
    ),
  );
}

function hasAll(set: Set<string>, addrs: readonly string[]): boolean {
  return addrs.every((a) => set.has(`${a}/32`));
}

function hasNone(set: Set<string>, addrs: readonly string[]): boolean {
  return addrs.every((a) => !set.has(`${a}/32`));
}

/** One firewall fault: ban through the outage, restart during it, recover. */
export async function firewallFault(
  fault: FirewallFault,
  options: ScenarioOptions,
): Promise<StressResult> {
  const name = FAULT_NAMES[fault];
  const dir = await Deno.makeTempDir({ prefix: `bw-stress-fw-${fault}-` });
  const fwDir = `${dir}/${fault === "missing" ? "missing" : "fw"}`;
  const log = `${dir}/maillog`;
  const stateDir = `${dir}/state`;
  let daemon: DaemonChild | undefined;
  const lines: string[] = [];
  const n = options.quick ? 9 : 30;
  const steps: string[] = [];
  try {
    let fake: FakeIpfw | undefined;
    if (fault !== "missing") {
      await Deno.mkdir(fwDir);
      fake = await installFakeIpfw(fwDir, { env: { FAKE_IPFW_FAIL: fault } });
    }
    await Deno.writeTextFile(log, "");
    const config = await writeJailsToml(dir, {
      global: { stateDir, ipfw: `${fwDir}/ipfw`, extra: `firewall_timeout = "1s"` },
      jails: [{ log, maxretry: 2, findtime: "1d", bantime: "1d" }],
    });
    daemon = startDaemon(config);
    await daemon.waitFor(/event=started/, 30);
    const victims = Array.from({ length: n }, (_, i) => addr(1, i));
    for (let wave = 0; wave < 3; wave++) {
      await attack(log, victims.slice((wave * n) / 3, ((wave + 1) * n) / 3));
      await sleep(700);
    }
    const d1 = daemon;
    await waitUntil(() => d1.count(/event=ban /) >= n, `${n} ban events`, 20);
    if (fault !== "every3") {
      await d1.waitFor(/event=firewall_failed/, 20);
      const db = readDb(stateDir);
      const pending = dbTargets(db, false);
      if (!hasAll(pending, victims)) throw new Error("bans are not all pending in the state db");
      if (fake && !hasNone(await tableKeys(fake), victims)) {
        throw new Error("a ban reached the table although ipfw failed");
      }
      steps.push(`${n} bans pending during the outage`);
      // A restart during the outage: the pending bans come back from the database.
      if (fault === "hang") await d1.stop();
      else await d1.stop("SIGKILL");
      lines.push(...d1.lines());
      daemon = startDaemon(config);
      await daemon.waitFor(/event=started/, 30);
      steps.push(`restarted (${fault === "hang" ? "SIGTERM" : "SIGKILL"}) during the outage`);
      await sleep(1500);
      if (daemon.exited()) throw new Error(`daemon exited during the outage: ${daemon.code()}`);
      // ipfw comes back.
      if (fault === "missing") await Deno.mkdir(fwDir);
      fake = await installFakeIpfw(fwDir);
    }
    const recovery = Date.now();
    const f = fake!;
    await waitUntil(
      async () =>
        hasAll(await tableKeys(f), victims) && hasAll(dbTargets(readDb(stateDir), true), victims),
      "every pending ban to be applied",
      options.quick ? 75 : 90,
    );
    const recoveredIn = (Date.now() - recovery) / 1000;
    // Still banning afterwards.
    const d2 = daemon;
    const late = [addr(2, 0)];
    await attack(log, late);
    await waitUntil(
      async () => hasAll(await tableKeys(f), late),
      "a ban after recovery to be applied",
      options.quick ? 75 : 90,
    );
    const alive = !d2.exited();
    const code = await d2.stop();
    lines.push(...d2.lines());
    daemon = undefined;
    const db = readDb(stateDir);
    const table = await tableKeys(f);
    const dbAll = dbTargets(db);
    const agree = dbAll.size === table.size && [...dbAll].every((t) => table.has(t));
    const failed = lines.filter((l) => /event=firewall_failed/.test(l)).length;
    const pass = alive && code === 0 && agree && dbAll.size === n + 1;
    return {
      name,
      figure: `bans=${n + 1} applied=${table.size} firewall_failed=${failed} ` +
        `applied_within=${recoveredIn.toFixed(1)}s after ${
          fault === "every3" ? "the attack" : "recovery"
        } restart_during_outage=${fault === "every3" ? "no" : "yes"} exit=${code}`,
      pass,
      ...(pass ? {} : {
        detail: `db=${dbAll.size} table=${table.size} agree=${agree} alive=${alive}; ${
          steps.join("; ")
        }`,
      }),
    };
  } catch (e) {
    if (daemon) lines.push(...daemon.lines());
    return {
      name,
      figure: "failed",
      pass: false,
      detail: `${[...steps, errorText(e)].join("; ")}\n${lines.slice(-8).join("\n")}`,
    };
  } finally {
    if (daemon) await daemon.stop("SIGTERM", 5);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Makes the state directory unwritable or full; returns the undo, or a reason it cannot. */
type Breaker = {
  setup(stateDir: string): Promise<string | undefined>;
  breakIt(stateDir: string): Promise<void>;
  heal(stateDir: string): Promise<void>;
  teardown(stateDir: string): Promise<void>;
};

function chattrBreaker(): Breaker {
  const files = (s: string) => [`${s}/state.db`, `${s}/state.db-wal`, s];
  return {
    async setup(stateDir) {
      await Deno.mkdir(stateDir, { recursive: true });
      const probe = `${stateDir}/probe`;
      await Deno.writeTextFile(probe, "x");
      const r = await runProgram("chattr", ["+i", probe]);
      await runProgram("chattr", ["-i", probe]);
      await Deno.remove(probe).catch(() => {});
      return r.code === 0 ? undefined : `chattr +i does not work here: ${r.stderr.trim()}`;
    },
    async breakIt(stateDir) {
      for (const f of files(stateDir)) {
        const r = await runProgram("chattr", ["+i", f]);
        if (r.code !== 0) throw new Error(`chattr +i ${f}: ${r.stderr.trim()}`);
      }
    },
    async heal(stateDir) {
      for (const f of files(stateDir)) await runProgram("chattr", ["-i", f]);
    },
    async teardown(stateDir) {
      for (const f of files(stateDir)) await runProgram("chattr", ["-i", f]);
    },
  };
}

function tmpfsBreaker(): Breaker {
  let mounted = false;
  return {
    async setup(stateDir) {
      await Deno.mkdir(stateDir, { recursive: true });
      const r = await runProgram("mount", [
        "-t",
        "tmpfs",
        "-o",
        "size=4m,mode=0700",
        "tmpfs",
        stateDir,
      ]);
      if (r.code !== 0) return `cannot mount a tmpfs: ${r.stderr.trim()}`;
      mounted = true;
      return undefined;
    },
    async breakIt(stateDir) {
      const f = await Deno.open(`${stateDir}/filler`, { write: true, create: true });
      try {
        const chunk = new Uint8Array(64 * 1024);
        for (;;) await f.write(chunk);
      } catch {
        // ENOSPC: full
      } finally {
        f.close();
      }
    },
    async heal(stateDir) {
      await Deno.remove(`${stateDir}/filler`).catch(() => {});
    },
    async teardown(stateDir) {
      if (!mounted) return;
      const r = await runProgram("umount", [stateDir]);
      if (r.code !== 0) await runProgram("umount", ["-l", stateDir]);
      mounted = false;
    },
  };
}

/** The state database cannot be written for a while (read-only or full). */
export async function diskFault(
  kind: "read-only" | "full",
  options: ScenarioOptions,
): Promise<StressResult> {
  const name = `disk faults: state ${kind === "full" ? "directory full" : "read-only"}`;
  const dir = await Deno.makeTempDir({ prefix: `bw-stress-disk-` });
  const log = `${dir}/maillog`;
  const stateDir = `${dir}/state`;
  const breaker = kind === "full" ? tmpfsBreaker() : chattrBreaker();
  let daemon: DaemonChild | undefined;
  const lines: string[] = [];
  const steps: string[] = [];
  try {
    const skip = await breaker.setup(stateDir);
    if (skip) return { name, figure: "skipped", pass: true, detail: `skipped: ${skip}` };
    await Deno.mkdir(`${dir}/fw`);
    const fake = await installFakeIpfw(`${dir}/fw`);
    await Deno.writeTextFile(log, "");
    const config = await writeJailsToml(dir, {
      global: { stateDir, ipfw: fake.path },
      jails: [{ log, maxretry: 2, findtime: "1d", bantime: "1d" }],
    });
    daemon = startDaemon(config);
    await daemon.waitFor(/event=started/, 30);
    const before = [addr(1, 0)];
    await attack(log, before);
    await waitUntil(() => hasAll(dbTargets(readDb(stateDir), true), before), "first ban", 20);
    steps.push("first ban stored");

    await breaker.breakIt(stateDir);
    const errorsBefore = daemon.count(/^level=error/);
    const during = Array.from({ length: 5 }, (_, i) => addr(2, i));
    // Single failures of many addresses make the database grow (windows).
    const filler = Array.from(
      { length: options.quick ? 300 : 3000 },
      (_, i) => addr(100 + (i >> 8), i & 255),
    );
    await attack(log, filler, 1);
    await attack(log, during);
    const d = daemon;
    await waitUntil(() => d.count(/event=ban /) >= 1 + during.length, "bans during the fault", 20);
    let inTable = false;
    try {
      await waitUntil(async () => hasAll(await tableKeys(fake), during), "bans in the table", 10);
      inTable = true;
    } catch {
      steps.push("bans made during the fault did not reach the table");
    }
    let loud: string | undefined;
    try {
      await waitUntil(() => d.count(/^level=error/) > errorsBefore, "an error event", 10);
      loud = d.lines().filter((l) => l.startsWith("level=error")).at(-1);
    } catch {
      steps.push("no error logged while the state could not be written");
    }
    const errorEvents = d.count(/^level=error/) - errorsBefore;

    await breaker.heal(stateDir);
    const after = [addr(3, 0)];
    await attack(log, after);
    const all = [...before, ...during, ...after];
    let caughtUp = true;
    try {
      await waitUntil(
        () => hasAll(dbTargets(readDb(stateDir), true), all),
        "the db to catch up",
        20,
      );
    } catch {
      caughtUp = false;
      const db = dbTargets(readDb(stateDir));
      steps.push(
        `after the fault the db lacks ${all.filter((a) => !db.has(`${a}/32`)).join(", ")}`,
      );
    }
    const code1 = await d.stop();
    lines.push(...d.lines());
    // A restart must know every ban and count no line again.
    daemon = startDaemon(config);
    const d2 = daemon;
    await d2.waitFor(/event=started/, 30);
    await sleep(1500);
    const recounted = d2.count(/event=ban /);
    const restored = /count=(\d+)/.exec(d2.lines().find((l) => /bans_restored/.test(l)) ?? "")?.[1];
    const code2 = await d2.stop();
    lines.push(...d2.lines());
    daemon = undefined;
    const table = await tableKeys(fake);
    const pass = inTable && loud !== undefined && caughtUp && recounted === 0 &&
      Number(restored) === all.length && hasAll(table, all) && code1 === 0 && code2 === 0;
    return {
      name,
      figure: `bans_during_fault=${during.length} in_table=${inTable ? "yes" : "no"} ` +
        `error_events=${errorEvents} db_caught_up=${caughtUp ? "yes" : "no"} ` +
        `restored_after_restart=${restored ?? 0}/${all.length} recounted=${recounted}`,
      pass,
      ...(pass
        ? { detail: `logged: ${loud?.slice(0, 200)}` }
        : { detail: `${steps.join("; ")}; logged: ${loud?.slice(0, 200) ?? "nothing"}` }),
    };
  } catch (e) {
    if (daemon) lines.push(...daemon.lines());
    return {
      name,
      figure: "failed",
      pass: false,
      detail: `${[...steps, errorText(e)].join("; ")}\n${lines.slice(-8).join("\n")}`,
    };
  } finally {
    if (daemon) await daemon.stop("SIGTERM", 5);
    await breaker.teardown(stateDir);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Garbage over state.db while stopped: moved aside, table reconciled, foreign entries kept. */
export async function corruptDatabase(_options: ScenarioOptions): Promise<StressResult> {
  const name = "disk faults: corrupt state database";
  const dir = await Deno.makeTempDir({ prefix: "bw-stress-corrupt-" });
  const log = `${dir}/maillog`;
  const stateDir = `${dir}/state`;
  let daemon: DaemonChild | undefined;
  const lines: string[] = [];
  try {
    await Deno.mkdir(`${dir}/fw`);
    const fake = await installFakeIpfw(`${dir}/fw`);
    await Deno.writeTextFile(log, "");
    const config = await writeJailsToml(dir, {
      global: { stateDir, ipfw: fake.path },
      jails: [{ log, maxretry: 2, findtime: "1d", bantime: "1d" }],
    });
    daemon = startDaemon(config);
    await daemon.waitFor(/event=started/, 30);
    const old = [addr(1, 0), addr(1, 1)];
    await attack(log, old);
    await waitUntil(() => hasAll(dbTargets(readDb(stateDir), true), old), "first bans", 20);
    const code1 = await daemon.stop();
    lines.push(...daemon.lines());
    daemon = undefined;
    // An admin's entry, and the log rotated away (and compressed) while stopped.
    const seed = await runProgram(fake.path, ["-q", "table", "bw-mail", "add", "192.0.2.99"]);
    if (seed.code !== 0) throw new Error(`cannot seed the table: ${seed.stderr}`);
    await Deno.remove(log);
    await Deno.writeTextFile(log, "");
    const size = (await Deno.stat(`${stateDir}/state.db`)).size;
    const garbage = new Uint8Array(Math.max(size, 8192));
    // getRandomValues() fills at most 64 KiB per call.
    for (let at = 0; at < garbage.length; at += 65536) {
      crypto.getRandomValues(garbage.subarray(at, at + 65536));
    }
    await Deno.writeFile(`${stateDir}/state.db`, garbage);
    const tableBefore = await tableKeys(fake);

    daemon = startDaemon(config);
    const d = daemon;
    await d.waitFor(/event=started/, 30);
    const corrupt = d.lines().some((l) => /event=state_db_corrupt /.test(l));
    const recovered = d.lines().some((l) => /event=state_recovered /.test(l));
    let movedAside = false;
    for await (const e of Deno.readDir(stateDir)) {
      if (e.name.startsWith("state.db.corrupt-")) movedAside = true;
    }
    const fresh = [addr(2, 0)];
    await attack(log, fresh);
    await waitUntil(async () => hasAll(await tableKeys(fake), fresh), "a new ban", 20);
    const code2 = await d.stop();
    lines.push(...d.lines());
    daemon = undefined;
    const tableAfter = await tableKeys(fake);
    const removed = [...tableBefore].filter((t) => !tableAfter.has(t));
    const db = dbTargets(readDb(stateDir), true);
    const dbOk = db.size === 1 && hasAll(db, fresh);
    const pass = corrupt && recovered && movedAside && removed.length === 0 && dbOk &&
      code1 === 0 && code2 === 0;
    return {
      name,
      figure:
        `moved_aside=${movedAside ? "yes" : "no"} state_db_corrupt=${
          corrupt ? "yes" : "no"
        } state_recovered=${recovered ? "yes" : "no"} table_before=${tableBefore.size} ` +
        `removed=${removed.length} new_ban_applied=${dbOk ? "yes" : "no"}`,
      pass,
      ...(pass ? {} : { detail: `db=${[...db].join(",")}\n${lines.slice(-8).join("\n")}` }),
    };
  } catch (e) {
    if (daemon) lines.push(...daemon.lines());
    return {
      name,
      figure: "failed",
      pass: false,
      detail: `${errorText(e)}\n${lines.slice(-8).join("\n")}`,
    };
  } finally {
    if (daemon) await daemon.stop("SIGTERM", 5);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
