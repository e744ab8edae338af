import { assertEquals, assertMatch, assertOk, assertRejects } from "../_assert.ts";
import {
  BAN_COMMAND,
  BANNED_COMMAND,
  CONTROL_COMMANDS,
  FLUSH_COMMAND,
  loadConfigView,
  readConfigView,
  RELOAD_COMMAND,
  STATUS_COMMAND,
  UNBAN_COMMAND,
} from "../../lib/cli/commands/control.ts";
import type { Command, CommandContext } from "../../lib/cli/command.ts";
import { formatBanned, formatStatus, formatTable } from "../../lib/cli/format.ts";
import {
  type BannedEntry,
  type ControlHandler,
  serveControl,
  type StatusReport,
} from "../../lib/control/mod.ts";
import { DaemonUnreachableError } from "../../lib/control/client.ts";
import { ConfigError, RuntimeError, UsageError } from "../../lib/core/errors.ts";
import { createLogger } from "../../lib/core/log.ts";
import { openStore } from "../../lib/state/store.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { VERSION } from "../../lib/core/version.ts";

const NOW = 1_700_000_400;
const quiet = createLogger({ write: () => {} });

const REPORT: StatusReport = {
  version: VERSION,
  pid: 4242,
  running: true,
  configFile: "/usr/local/etc/banwatch/jails.toml",
  configLoadedAt: 1_700_000_000,
  startedAt: 1_699_999_000,
  jails: [{
    name: "postfix-auth",
    enabled: true,
    backend: "ipfw",
    table: "postfix-auth",
    files: [
      { path: "/var/log/maillog", offset: 1234, lastRead: 1_700_000_340 },
      { path: "/var/log/maillog.0", offset: 0, lastRead: undefined },
    ],
    failing: 3,
    failures: 7,
    banned: 2,
    totalBanned: 10,
    totalUnbanned: 8,
    pending: 1,
    evictions: 0,
  }],
};

const BAN: BannedEntry = {
  jail: "postfix-auth",
  target: "192.0.2.7",
  since: 1_700_000_000,
  until: 1_700_003_600,
  failures: 5,
  banCount: 2,
  origin: "auto",
};

function recordingHandler(overrides: Partial<ControlHandler> = {}): ControlHandler & {
  calls: unknown[][];
} {
  const calls: unknown[][] = [];
  return {
    calls,
    status: (jail) => {
      calls.push(["status", jail]);
      return REPORT;
    },
    banned: (jail) => {
      calls.push(["banned", jail]);
      return [BAN, { ...BAN, jail: "dovecot", target: "2001:db8::/64", until: null }];
    },
    ban: (jail, addr, options) => {
      calls.push(["ban", jail, addr, options]);
      const until = options.duration === Infinity ? null : NOW + (options.duration ?? 600);
      return Promise.resolve({ ...BAN, jail, target: addr, since: NOW, until, origin: "manual" });
    },
    unban: (options) => {
      calls.push(["unban", options]);
      return Promise.resolve({ removed: options.all ? 4 : 1 });
    },
    reload: () => {
      calls.push(["reload"]);
      return Promise.resolve({ ok: true as const });
    },
    flush: (jail) => {
      calls.push(["flush", jail]);
      return Promise.resolve({ forgotten: 1 });
    },
    ...overrides,
  };
}

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function run(command: Command, args: string[]): Promise<Captured> {
  let out = "";
  let err = "";
  const ctx: CommandContext = {
    io: { out: (t) => void (out += t), err: (t) => void (err += t) },
    now: () => NOW,
  };
  const code = await command.run(args, ctx);
  return { code, out, err };
}

async function withDaemon(
  handler: ControlHandler,
  fn: (socket: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bwcmd" });
  const socket = `${dir}/s.sock`;
  const server = await serveControl(socket, handler, { logger: quiet });
  try {
    await fn(socket, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("formatTable() pads columns with two spaces and no trailing blanks", () => {
  assertEquals(
    formatTable(["A", "LONGER"], [["xyz", "1"], ["", "22"]]),
    "A    LONGER\nxyz  1\n     22\n",
  );
});

Deno.test("formatStatus() prints the daemon line, the jail table and the files", () => {
  assertEquals(
    formatStatus(REPORT, { now: NOW, timeZone: "UTC" }),
    [
      `banwatch ${VERSION} running, pid 4242, up 23m20s (since 2023-11-14 21:56:40)`,
      "config /usr/local/etc/banwatch/jails.toml, loaded 2023-11-14 22:13:20",
      "",
      "JAIL          ENABLED  BACKEND  TABLE         FAILING  FAILURES  BANNED  TOTAL BANNED  TOTAL UNBANNED  PENDING  EVICTED",
      "postfix-auth  yes      ipfw     postfix-auth  3        7         2       10            8               1        0",
      "",
      "JAIL          FILE                OFFSET  LAST READ",
      "postfix-auth  /var/log/maillog    1234    2023-11-14 22:19:00 (1m ago)",
      "postfix-auth  /var/log/maillog.0  0       -",
      "",
    ].join("\n"),
  );
});

Deno.test("formatBanned() lists bans by jail with until, time left and forever", () => {
  const text = formatBanned(
    [BAN, { ...BAN, jail: "dovecot", target: "198.51.100.1", until: null }],
    {
      now: NOW,
      timeZone: "UTC",
    },
  );
  assertEquals(
    text,
    [
      "ADDRESS       JAIL          SINCE                UNTIL                LEFT     FAILURES  BANS  ORIGIN",
      "198.51.100.1  dovecot       2023-11-14 22:13:20  forever              forever  5         2     auto",
      "192.0.2.7     postfix-auth  2023-11-14 22:13:20  2023-11-14 23:13:20  53m20s   5         2     auto",
      "",
    ].join("\n"),
  );
  assertEquals(formatBanned([], { now: NOW }), "no active bans\n");
});

Deno.test("STATUS_COMMAND prints the table, --json the report, and passes the jail", async () => {
  const handler = recordingHandler();
  await withDaemon(handler, async (socket) => {
    const table = await run(STATUS_COMMAND, ["-s", socket]);
    assertEquals(table.code, 0);
    assertMatch(table.out, /^banwatch \S+ running, pid 4242/);
    assertMatch(table.out, /postfix-auth {2}yes {6}ipfw/);
    const json = await run(STATUS_COMMAND, ["--socket", socket, "--json", "postfix-auth"]);
    assertEquals(json.code, 0);
    assertEquals(json.out.split("\n").length, 2, "one line");
    const expected = structuredClone(REPORT);
    delete (expected.jails[0]!.files[1] as { lastRead?: number }).lastRead;
    assertEquals(JSON.parse(json.out), expected);
  });
  assertEquals(handler.calls, [["status", undefined], ["status", "postfix-auth"]]);
});

Deno.test("BANNED_COMMAND prints bans, --json prints {bans}, --jail filters at the daemon", async () => {
  const handler = recordingHandler();
  await withDaemon(handler, async (socket) => {
    const table = await run(BANNED_COMMAND, ["-s", socket]);
    assertEquals(table.code, 0);
    assertMatch(table.out, /^ADDRESS +JAIL/);
    assertMatch(table.out, /2001:db8::\/64 +dovecot .* forever +forever/);
    const json = await run(BANNED_COMMAND, ["-s", socket, "--json", "--jail", "dovecot"]);
    assertEquals(JSON.parse(json.out).bans.length, 2);
  });
  assertEquals(handler.calls, [["banned", undefined], ["banned", "dovecot"]]);
});

Deno.test("BAN_COMMAND sends jail, address, --for in seconds and --force", async () => {
  const handler = recordingHandler();
  await withDaemon(handler, async (socket) => {
    const one = await run(BAN_COMMAND, ["-s", socket, "sshd", "192.0.2.9", "--for", "1h"]);
    assertEquals(one.code, 0);
    assertMatch(
      one.out,
      /^banned 192\.0\.2\.9 in sshd until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(1h\)\n$/,
    );
    const forever = await run(BAN_COMMAND, [
      "-s",
      socket,
      "--json",
      "--force",
      "sshd",
      "2001:db8::/64",
      "--for",
      "forever",
    ]);
    assertEquals(JSON.parse(forever.out).until, null);
    await run(BAN_COMMAND, ["-s", socket, "sshd", "192.0.2.10"]);
  });
  assertEquals(handler.calls, [
    ["ban", "sshd", "192.0.2.9", { duration: 3600 }],
    ["ban", "sshd", "2001:db8::/64", { duration: Infinity, force: true }],
    ["ban", "sshd", "192.0.2.10", {}],
  ]);
});

Deno.test("BAN_COMMAND rejects bad arguments with UsageError before calling the daemon", async () => {
  const socket = "/nonexistent/s.sock";
  await assertRejects(
    () => run(BAN_COMMAND, ["-s", socket, "sshd"]),
    /ban: expected JAIL ADDR, got 1 argument/,
  );
  await assertRejects(
    () => run(BAN_COMMAND, ["-s", socket, "sshd", "not-an-ip"]),
    /ban: "not-an-ip" is not an IP address or network/,
  );
  await assertRejects(
    () => run(BAN_COMMAND, ["-s", socket, "sshd", "192.0.2.1", "--for", "soon"]),
    /ban: --for "soon" is not a duration/,
  );
  await assertRejects(
    () => run(BAN_COMMAND, ["-s", socket, "sshd", "192.0.2.1", "--for", "0"]),
    /is not a duration/,
  );
  const unknown = await assertRejects(() =>
    run(BAN_COMMAND, ["--frobnicate", "sshd", "192.0.2.1"])
  );
  assertOk(unknown instanceof UsageError);
  assertMatch(unknown.message, /^ban: Unknown option '--frobnicate' \(see banwatch ban --help\)$/);
});

Deno.test("BAN_COMMAND turns a refusal by the daemon into the matching error", async () => {
  const handler = recordingHandler({
    ban: (_jail, addr) =>
      Promise.reject(new UsageError(`${addr} is in ignoreip (127.0.0.0/8); use --force`)),
    flush: (jail) => Promise.reject(new Error(`unknown jail "${jail}"`)),
  });
  await withDaemon(handler, async (socket) => {
    const refused = await assertRejects(() =>
      run(BAN_COMMAND, ["-s", socket, "sshd", "127.0.0.1"])
    );
    assertOk(refused instanceof UsageError);
    assertEquals(refused.message, "127.0.0.1 is in ignoreip (127.0.0.0/8); use --force");
    const unknown = await assertRejects(() => run(FLUSH_COMMAND, ["-s", socket, "nope"]));
    assertOk(unknown instanceof RuntimeError);
    assertEquals(unknown.message, 'unknown jail "nope"');
  });
});

Deno.test("UNBAN_COMMAND sends an address or --all, with --jail, and counts lifted bans", async () => {
  const handler = recordingHandler();
  await withDaemon(handler, async (socket) => {
    assertEquals(
      (await run(UNBAN_COMMAND, ["-s", socket, "192.0.2.7"])).out,
      "lifted 1 ban of 192.0.2.7\n",
    );
    assertEquals(
      (await run(UNBAN_COMMAND, ["-s", socket, "--all", "--jail", "sshd"])).out,
      "lifted 4 bans in sshd\n",
    );
    assertEquals(
      (await run(UNBAN_COMMAND, ["-s", socket, "--json", "-j", "sshd", "2001:db8::1"])).out,
      '{"removed":1}\n',
    );
    await assertRejects(
      () => run(UNBAN_COMMAND, ["-s", socket, "--all", "192.0.2.7"]),
      /unban: give either ADDR or --all, not both/,
    );
    await assertRejects(
      () => run(UNBAN_COMMAND, ["-s", socket]),
      /unban: expected ADDR \(or --all\), got 0 arguments/,
    );
  });
  assertEquals(handler.calls, [
    ["unban", { addr: "192.0.2.7" }],
    ["unban", { all: true, jail: "sshd" }],
    ["unban", { addr: "2001:db8::1", jail: "sshd" }],
  ]);
});

Deno.test("RELOAD_COMMAND reports success, and a refused config as ConfigError with every problem", async () => {
  let valid = true;
  const handler = recordingHandler({
    reload: () =>
      Promise.resolve(
        valid ? { ok: true as const } : {
          ok: false as const,
          problems: ["jails.toml:3: jail.sshd.maxretry: must be >= 1", "jails.toml:9: x: y"],
        },
      ),
  });
  await withDaemon(handler, async (socket) => {
    const ok = await run(RELOAD_COMMAND, ["-s", socket]);
    assertEquals(ok, { code: 0, out: "configuration reloaded\n", err: "" });
    valid = false;
    let err = "";
    const ctx: CommandContext = {
      io: { out: () => {}, err: (t) => void (err += t) },
      now: () => NOW,
    };
    const error = await assertRejects(() => RELOAD_COMMAND.run(["-s", socket], ctx));
    assertOk(error instanceof ConfigError);
    assertEquals(error.problems, [
      "jails.toml:3: jail.sshd.maxretry: must be >= 1",
      "jails.toml:9: x: y",
    ]);
    assertEquals(err, "banwatch: reload refused, the running configuration stays:\n");
  });
});

Deno.test("FLUSH_COMMAND sends the jail and reports how many addresses were forgotten", async () => {
  const handler = recordingHandler();
  await withDaemon(handler, async (socket) => {
    assertEquals(
      await run(FLUSH_COMMAND, ["-s", socket, "sshd"]),
      { code: 0, out: "forgot the failures of 1 address in sshd\n", err: "" },
    );
    assertEquals(
      (await run(FLUSH_COMMAND, ["-s", socket, "sshd", "--json"])).out,
      '{"forgotten":1}\n',
    );
    await assertRejects(() => run(FLUSH_COMMAND, ["-s", socket]), /flush: expected JAIL/);
  });
});

Deno.test("control commands find the socket in the config's [global] section", async () => {
  const handler = recordingHandler();
  await withDaemon(handler, async (socket, dir) => {
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(config, `[global]\nsocket = "${socket}"\n`);
    assertEquals((await run(FLUSH_COMMAND, ["-c", config, "sshd"])).code, 0);
    assertEquals((await run(RELOAD_COMMAND, ["--config", config])).code, 0);
  });
  assertEquals(handler.calls, [["flush", "sshd"], ["reload"]]);
});

Deno.test("control commands report an unreachable daemon with the socket path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bwcmd" });
  try {
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(config, `[global]\nsocket = "${dir}/gone.sock"\n`);
    for (const command of CONTROL_COMMANDS.filter((c) => c.name !== "status")) {
      const args = command.name === "ban"
        ? ["sshd", "192.0.2.1"]
        : command.name === "unban"
        ? ["--all"]
        : command.name === "flush"
        ? ["sshd"]
        : [];
      const error = await assertRejects(() => run(command, ["-c", config, ...args]));
      assertOk(error instanceof DaemonUnreachableError, command.name);
      assertEquals(
        error.message,
        `cannot reach the daemon at ${dir}/gone.sock: no such socket (is banwatch running?)`,
      );
    }
    // No config at all: the default socket.
    const error = await assertRejects(() => run(RELOAD_COMMAND, ["-c", `${dir}/none.toml`]));
    assertMatch(error.message, /^cannot reach the daemon at \/var\/run\/banwatch\.sock: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("STATUS_COMMAND reads the state database read-only when the daemon is down", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bwcmd" });
  try {
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(
      config,
      [
        "[global]",
        `socket = "${dir}/down.sock"`,
        `state_dir = "${dir}/state"`,
        "[defaults]",
        `backend = "dry-run"`,
        "[jail.postfix-auth]",
        "enabled = true",
        `logpath = "${dir}/maillog*"`,
        "[jail.sshd]",
        `logpath = ["${dir}/auth.log"]`,
        `table = "ssh-bad"`,
      ].join("\n") + "\n",
    );
    const store = openStore(`${dir}/state/state.db`, { logger: quiet, now: () => NOW });
    store.savePosition({ path: `${dir}/maillog`, dev: 1, ino: 2, offset: 4096, fingerprint: "" });
    store.savePosition({ path: `${dir}/other.log`, dev: 1, ino: 3, offset: 7, fingerprint: "" });
    store.saveWindow("postfix-auth", "192.0.2.1", [NOW - 30, NOW - 20]);
    store.saveWindow("postfix-auth", "192.0.2.2", [NOW - 10]);
    store.upsertBan({ ...BAN, origin: "auto", until: NOW + 600, applied: true });
    store.upsertBan({
      ...BAN,
      origin: "manual",
      target: "192.0.2.8",
      until: Infinity,
      applied: false,
    });
    for (let i = 0; i < 5; i++) {
      store.addHistory("postfix-auth", `192.0.2.${i}`, NOW - 1000 + i, 600);
    }
    store.addHistory("old-jail", "198.51.100.1", NOW - 5000, 600);
    store.close();
    const before = await Deno.readFile(`${dir}/state/state.db`);

    const text = await run(STATUS_COMMAND, ["-c", config]);
    assertEquals(text.code, 1);
    const lines = text.out.split("\n");
    assertEquals(
      lines[0],
      `banwatch is not running (cannot reach ${dir}/down.sock: no such socket); state saved in ${dir}/state/state.db:`,
    );
    assertEquals(lines[1], `config ${config}`);
    assertMatch(text.out, /postfix-auth +yes +dry-run +postfix-auth +2 +3 +2 +5 +3 +1 +0/);
    assertMatch(text.out, /sshd +no +dry-run +ssh-bad +0 +0 +0 +0 +0 +0 +0/);
    assertMatch(text.out, /old-jail +no +- +- +0 +0 +0 +1 +1 +0 +0/);
    assertMatch(text.out, new RegExp(`postfix-auth +${dir}/maillog +4096 +-`));
    assertOk(!text.out.includes("other.log"));

    const json = await run(STATUS_COMMAND, ["-c", config, "--json", "sshd"]);
    assertEquals(json.code, 1);
    const report = JSON.parse(json.out) as StatusReport;
    assertEquals(report.running, false);
    assertEquals(report.jails.map((j) => j.name), ["sshd"]);

    await assertRejects(
      () => run(STATUS_COMMAND, ["-c", config, "nope"]),
      /no jail "nope" in .*jails\.toml or .*state\.db$/,
    );
    assertEquals(await Deno.readFile(`${dir}/state/state.db`), before, "database untouched");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("STATUS_COMMAND with the daemon down and no state database fails with both paths", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bwcmd" });
  try {
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(
      config,
      `[global]\nsocket = "${dir}/s.sock"\nstate_dir = "${dir}/st"\n`,
    );
    const error = await assertRejects(() => run(STATUS_COMMAND, ["-c", config]));
    assertOk(error instanceof RuntimeError);
    assertEquals(
      error.message,
      `cannot reach the daemon at ${dir}/s.sock: no such socket (is banwatch running?); no saved state at ${dir}/st/state.db either`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readConfigView() reads socket, state_dir and jails, merging [defaults]", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bwcmd" });
  try {
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(
      config,
      `[defaults]\nenabled = true\n[jail.a]\nlogpath = "/var/log/a"\n[jail.b]\nenabled = false\nbackend = "pf"\n`,
    );
    assertEquals(await readConfigView(config), {
      socket: "/var/run/banwatch.sock",
      stateDir: "/var/db/banwatch",
      jails: [
        { name: "a", enabled: true, backend: "ipfw", table: "a", logPaths: ["/var/log/a"] },
        { name: "b", enabled: false, backend: "pf", table: "b", logPaths: [] },
      ],
    });
    await Deno.writeTextFile(config, "not [ toml");
    assertEquals(await readConfigView(config), undefined);
    assertEquals(await readConfigView(`${dir}/missing.toml`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CONTROL_COMMANDS help texts name every option the commands accept", () => {
  assertEquals(CONTROL_COMMANDS.map((c) => c.name), [
    "status",
    "banned",
    "ban",
    "unban",
    "reload",
    "flush",
  ]);
  for (const command of CONTROL_COMMANDS) {
    for (const option of ["--config", "--socket", "--json", "--help"]) {
      assertOk(command.help.includes(option), `${command.name} help mentions ${option}`);
    }
    assertMatch(command.help, new RegExp(`^Usage: banwatch ${command.name}`));
  }
  assertOk(BAN_COMMAND.help.includes("--for") && BAN_COMMAND.help.includes("--force"));
  assertOk(UNBAN_COMMAND.help.includes("--all") && UNBAN_COMMAND.help.includes("--jail"));
});

Deno.test("loadConfigView() uses the validated config, and still finds the socket in a broken one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bwcmd" });
  try {
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(
      config,
      [
        "[global]",
        `socket = "${dir}/s.sock"`,
        `state_dir = "${dir}/st"`,
        "[jail.sshd]",
        "enabled = true",
        `logpath = "${dir}/auth.log"`,
        `filter = "sshd"`,
        `backend = "dry-run"`,
      ].join("\n") + "\n",
    );
    assertEquals(await loadConfigView(config), {
      socket: `${dir}/s.sock`,
      stateDir: `${dir}/st`,
      jails: [
        (await loadConfig(config)).jails[0]!,
      ],
    });
    await Deno.writeTextFile(config, `[global]\nsocket = "${dir}/x.sock"\nbogus_key = 1\n`);
    const error = await assertRejects(() => loadConfig(config));
    assertOk(error instanceof ConfigError);
    assertEquals((await loadConfigView(config))?.socket, `${dir}/x.sock`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
