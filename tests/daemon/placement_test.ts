/**
 * Bans follow their own backend and table (issue 11): a ban made in a jail on one backend is
 * lifted from that backend and table when the jail is removed or disabled and the daemon
 * reloads (or restarts), whatever the configuration says now, and nothing is retried forever.
 * Run in-process against the real backends: the ipfw double, a pfctl double, nft in a network
 * namespace, and the dry run.
 * @module
 */
import { assertEquals, assertOk } from "../_assert.ts";
import { installFakeIpfw, readFakeIpfwTables } from "../_fake_ipfw.ts";
import { type Config, parseConfig } from "../../lib/config/mod.ts";
import { createLogger, createRunner, type Runner, type RunResult } from "../../lib/core/mod.ts";
import { Daemon } from "../../lib/daemon/mod.ts";
import { DatabaseSync } from "node:sqlite";

const T0 = 1_700_000_000;
const ADDR = "203.0.113.124";
const IP = "/usr/sbin/ip";
const NFT = "/usr/sbin/nft";
const PFCTL = "/sbin/pfctl";

/** An in-memory pfctl(8) for `-t T -T add|delete|show` and `-k ADDR`. */
export interface FakePf {
  /** Table -> entries. */
  tables: Map<string, Set<string>>;
  /** Every argv, in order. */
  calls: string[][];
  /** Answers one pfctl run. */
  run(argv: readonly string[]): RunResult;
}

/** A pfctl double: tables are created by add, `show`/`delete` of a missing one fail like pfctl. */
export function fakePf(): FakePf {
  const tables = new Map<string, Set<string>>();
  const calls: string[][] = [];
  const missing = { code: 1, stdout: "", stderr: "pfctl: Table does not exist.\n" };
  return {
    tables,
    calls,
    run(argv) {
      calls.push([...argv]);
      const args = argv.slice(1).filter((a) => a !== "-q");
      if (args[0] === "-k") return { code: 0, stdout: "", stderr: "killed 0 states\n" };
      const [, table = "", , command, ...targets] = args;
      const set = tables.get(table);
      if (command === "show") {
        if (!set) return missing;
        return { code: 0, stdout: [...set].map((t) => `   ${t}\n`).join(""), stderr: "" };
      }
      if (command === "add") {
        const entries = set ?? new Set<string>();
        tables.set(table, entries);
        for (const t of targets) entries.add(t);
        return { code: 0, stdout: "", stderr: "" };
      }
      if (command === "delete") {
        if (!set) return missing;
        for (const t of targets) set.delete(t);
        return { code: 0, stdout: "", stderr: "" };
      }
      return { code: 64, stdout: "", stderr: `fake pfctl: ${args.join(" ")}\n` };
    },
  };
}

function configText(dir: string, options: { backend: string; dovecot: "on" | "off" | "gone" }) {
  const global = `[global]
state_dir = "${dir}/state"
socket = "${dir}/banwatch.sock"
ipfw_path = "${dir}/ipfw"
timezone = "UTC"

[jail.mail]
enabled = true
logpath = "${dir}/maillog"
filter = "postfix-sasl"
backend = "ipfw"
table = "bw-mail"
`;
  if (options.dovecot === "gone") return global;
  return global + `
[jail.dovecot]
enabled = ${options.dovecot === "on"}
logpath = "${dir}/maillog"
filter = "dovecot"
backend = "${options.backend}"
table = "bw_dovecot"
bantime = "1h"
`;
}

interface Harness {
  dir: string;
  events: string[];
  config: (dovecot: "on" | "off" | "gone") => Config;
  start: (config: Config, reload?: () => Config) => Promise<Daemon>;
}

async function harness(backend: string, runner: Runner): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "bw-placement-" });
  await Deno.writeTextFile(`${dir}/maillog`, "");
  await installFakeIpfw(dir);
  const events: string[] = [];
  const config = (dovecot: "on" | "off" | "gone") =>
    parseConfig(configText(dir, { backend, dovecot }), { file: `${dir}/jails.toml` });
  const start = (first: Config, reload?: () => Config) =>
    Daemon.start({
      config: first,
      logger: createLogger({ write: (line) => events.push(line) }),
      now: () => T0,
      runner,
      resolve: () => Promise.resolve([]),
      ...(reload ? { reloadConfig: () => Promise.resolve(reload()) } : {}),
    });
  return { dir, events, config, start };
}

/**
 * The scenario of the issue, for one backend: ban in `dovecot`, then the jail is removed (or
 * disabled) and the daemon reloads; then the same with a restart in between and a state
 * database whose rows predate the placement columns.
 */
async function scenario(
  backend: string,
  runner: Runner,
  inTable: (h: Harness) => Promise<string[]>,
): Promise<void> {
  const h = await harness(backend, runner);
  try {
    for (const gone of ["gone", "off"] as const) {
      let next: Config = h.config(gone);
      const daemon = await h.start(h.config("on"), () => next);
      try {
        await daemon.ban("dovecot", ADDR, {});
        assertEquals(await inTable(h), [`${ADDR}/32`], `${backend}: the ban is in the table`);
        const reloaded = await daemon.reload();
        assertEquals(reloaded, { ok: true });
        assertEquals(await inTable(h), [], `${backend}/${gone}: the lift reached ${backend}`);
        assertEquals(daemon.status().jails.map((j) => [j.name, j.pending]), [["mail", 0]]);
        assertEquals(daemon.banned(), []);
        assertOk(!h.events.some((e) => /firewall_failed/.test(e)), h.events.join("\n"));
        // The table of the jail that stays (ipfw) never saw the address.
        const ipfw = await readFakeIpfwTables({
          path: `${h.dir}/ipfw`,
          statePath: `${h.dir}/ipfw-state.json`,
          logPath: `${h.dir}/ipfw-calls.log`,
          env: {},
        });
        if (backend !== "ipfw") assertEquals(ipfw["dovecot"], undefined);
        next = h.config("on");
      } finally {
        await daemon.close({ unban: false });
      }
    }

    // A restart: the ban rows of an older banwatch carry no backend or table; the first start
    // fills them from the configuration (the jail is disabled there but still says its backend).
    let daemon = await h.start(h.config("on"));
    await daemon.ban("dovecot", ADDR, {});
    await daemon.close({ unban: false });
    // Rows written before schema 3 have no placement.
    const db = new DatabaseSync(`${h.dir}/state/state.db`);
    db.exec("UPDATE bans SET backend = NULL, fw_table = NULL");
    db.close();
    assertEquals(await inTable(h), [`${ADDR}/32`]);
    daemon = await h.start(h.config("off"));
    try {
      assertEquals(await inTable(h), [], `${backend}: lifted at start from its own backend`);
      assertEquals(daemon.status().jails.map((j) => [j.name, j.pending]), [["mail", 0]]);
      assertOk(!h.events.some((e) => /firewall_failed/.test(e)), h.events.join("\n"));
    } finally {
      await daemon.close({ unban: false });
    }
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
}

Deno.test("Daemon: a removed or disabled ipfw jail's bans are lifted from its own table", async () => {
  await scenario("ipfw", createRunner(), async (h) => {
    const tables = await readFakeIpfwTables({
      path: `${h.dir}/ipfw`,
      statePath: `${h.dir}/ipfw-state.json`,
      logPath: `${h.dir}/ipfw-calls.log`,
      env: {},
    });
    return Object.keys(tables["bw_dovecot"] ?? {});
  });
});

Deno.test("Daemon: a removed or disabled pf jail's bans are lifted from pf, not ipfw", async () => {
  const pf = fakePf();
  const real = createRunner();
  const runner: Runner = {
    run: (argv, options) =>
      argv[0] === PFCTL ? Promise.resolve(pf.run(argv)) : real.run(argv, options),
  };
  await scenario("pf", runner, () => Promise.resolve([...pf.tables.get("bw_dovecot") ?? []]));
});

Deno.test("Daemon: a removed or disabled dry-run jail's bans are lifted by the dry run", async () => {
  let h: string[] = [];
  await scenario("dry-run", createRunner(), (harness) => {
    h = harness.events;
    // What the dry run printed: the last add or delete of the address decides.
    const last = h.filter((e) => e.includes("event=dry-run") && e.includes(ADDR)).at(-1) ?? "";
    return Promise.resolve(/ add /.test(last) ? [`${ADDR}/32`] : []);
  });
});

async function netnsSkipReason(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  try {
    if (Deno.uid() !== 0) return "not root";
    await Deno.stat(IP);
    await Deno.stat(NFT);
  } catch (e) {
    return String(e);
  }
  return undefined;
}

const skip = await netnsSkipReason();

Deno.test({
  name: "Daemon: a removed or disabled nft jail's bans are lifted from nft (in a netns), not ipfw",
  ignore: skip !== undefined,
  fn: async () => {
    const ns = `bwtest-place-${crypto.randomUUID().slice(0, 8)}`;
    const real = createRunner();
    assertEquals((await real.run([IP, "netns", "add", ns])).code, 0);
    try {
      const runner: Runner = {
        run: (argv, options) =>
          real.run(argv[0] === NFT ? [IP, "netns", "exec", ns, ...argv] : argv, options),
      };
      await scenario("nft", runner, async () => {
        const r = await runner.run([NFT, "list", "set", "inet", "banwatch", "bw_dovecot_v4"]);
        if (r.code !== 0) return [];
        const m = /elements = \{([^}]*)\}/.exec(r.stdout);
        return (m?.[1] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
          .map((s) => `${s}/32`);
      });
    } finally {
      await real.run([IP, "netns", "del", ns]);
    }
  },
});

Deno.test("Daemon: while a removed jail's lift fails, status lists the jail's pending change and banned the ban", async () => {
  const pf = fakePf();
  let failing = true;
  const real = createRunner();
  const runner: Runner = {
    run: (argv, options) => {
      if (argv[0] !== PFCTL) return real.run(argv, options);
      if (failing && argv.includes("delete")) {
        return Promise.resolve({ code: 1, stdout: "", stderr: "pfctl: Operation not permitted\n" });
      }
      return Promise.resolve(pf.run(argv));
    },
  };
  const h = await harness("pf", runner);
  let now = T0;
  const daemon = await Daemon.start({
    config: h.config("on"),
    logger: createLogger({ write: (line) => h.events.push(line) }),
    now: () => now,
    runner,
    resolve: () => Promise.resolve([]),
    reloadConfig: () => Promise.resolve(h.config("gone")),
  });
  try {
    await daemon.ban("dovecot", ADDR, {});
    assertEquals(await daemon.reload(), { ok: true });
    const status = daemon.status();
    assertEquals(status.jails.map((j) => [j.name, j.enabled, j.backend, j.table, j.pending]), [
      ["mail", true, "ipfw", "bw-mail", 0],
      ["dovecot", false, "pf", "bw_dovecot", 1],
    ]);
    assertEquals(daemon.status("dovecot").jails.length, 1);
    const banned = daemon.banned();
    assertEquals(banned.map((b) => [b.jail, b.target, b.backend, b.table, b.liftPending]), [
      ["dovecot", `${ADDR}/32`, "pf", "bw_dovecot", true],
    ]);
    assertOk(banned[0]!.since === T0 && banned[0]!.until === T0 + 3600);
    failing = false;
    now = T0 + 120;
    await daemon.tick();
    assertEquals(daemon.banned(), []);
    assertEquals(daemon.status().jails.map((j) => j.name), ["mail"]);
    assertEquals([...pf.tables.get("bw_dovecot")!], []);
  } finally {
    await daemon.close({ unban: false });
    await Deno.remove(h.dir, { recursive: true });
  }
});
