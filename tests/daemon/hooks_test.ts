/**
 * on_ban / on_unban: the placeholder expansion, the queue (concurrency, never blocking, failures
 * counted, timeouts) with the real runner where a real program does, and the daemon in-process
 * firing each hook exactly once: not for a longer ban, not on restore, not in replay.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { createLogger, createRunner, type Runner, type RunResult } from "../../lib/core/mod.ts";
import { Daemon } from "../../lib/daemon/mod.ts";
import { createHookQueue, expandHook } from "../../lib/daemon/hooks.ts";
import type { Backend, BackendKind } from "../../lib/firewall/mod.ts";

const T0 = 1_700_000_000;

Deno.test("expandHook() replaces every placeholder in every argument and leaves the rest", () => {
  assertEquals(
    expandHook(["/bin/echo", "{jail}:{addr}", "{count}x {failures} {bantime}", "{nope}", "{"], {
      jail: "mail",
      addr: "203.0.113.5",
      count: "2",
      failures: "3",
      bantime: "3600",
    }),
    ["/bin/echo", "mail:203.0.113.5", "2x 3 3600", "{nope}", "{"],
  );
  // A value is never expanded again, nor split: it stays one argument.
  assertEquals(expandHook(["/bin/echo", "{addr}"], { addr: "{jail} x; rm -rf /" }), [
    "/bin/echo",
    "{jail} x; rm -rf /",
  ]);
});

Deno.test("createHookQueue() runs at most 4 at once, never waits in enqueue(), counts failures once", async () => {
  const pending: Array<(r: RunResult) => void> = [];
  const runs: string[][] = [];
  const runner: Runner = {
    run(argv) {
      runs.push([...argv]);
      return new Promise((resolve) => pending.push(resolve));
    },
  };
  const events: string[] = [];
  const queue = createHookQueue({
    runner,
    logger: createLogger({ write: (l) => events.push(l) }),
    timeout: () => 10,
  });
  for (let i = 0; i < 6; i++) {
    queue.enqueue({
      argv: ["/bin/h", String(i)],
      event: "on_ban",
      jail: "j",
      addr: `192.0.2.${i}`,
    });
  }
  assertEquals(runs.length, 4);
  assertEquals(queue.busy, 6);
  pending.shift()!({ code: 1, stdout: "", stderr: "no mail\n" });
  pending.shift()!({ code: 0, stdout: "", stderr: "" });
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(runs.length, 6);
  for (const done of pending.splice(0)) done({ code: 0, stdout: "", stderr: "" });
  await queue.close(1);
  assertEquals(queue.failures, 1);
  assertEquals(runs.map((r) => r[1]), ["0", "1", "2", "3", "4", "5"]);
  assertEquals(events.length, 1);
  assertMatch(
    events[0]!,
    /event=hook_failed hook=on_ban jail=j addr=192\.0\.2\.0 program=\/bin\/h code=1 stderr="no mail"/,
  );
});

Deno.test("createHookQueue() kills a hook after the timeout and logs it, with the real runner", async () => {
  const events: string[] = [];
  const queue = createHookQueue({
    runner: createRunner(),
    logger: createLogger({ write: (l) => events.push(l) }),
    timeout: () => 0.2,
  });
  const started = performance.now();
  queue.enqueue({ argv: ["/bin/sleep", "5"], event: "on_unban", jail: "j", addr: "192.0.2.1" });
  queue.enqueue({ argv: ["/bin/true"], event: "on_unban", jail: "j", addr: "192.0.2.2" });
  queue.enqueue({ argv: ["relative"], event: "on_ban", jail: "j", addr: "192.0.2.3" });
  await queue.close(5);
  assertOk(performance.now() - started < 4000, "the sleep was killed");
  assertEquals(queue.failures, 2);
  assertOk(events.some((e) => /event=hook_failed hook=on_unban .*timed out after 0\.2s/.test(e)));
  assertOk(events.some((e) => /event=hook_failed hook=on_ban .*must be absolute/.test(e)));
  queue.enqueue({ argv: ["/bin/true"], event: "on_ban", jail: "j", addr: "192.0.2.4" });
  assertEquals(queue.failures, 3, "closed: dropped and counted");
  assertOk(events.some((e) => /event=hook_dropped .*reason=stopping/.test(e)));
});

function memoryBackend(kind: BackendKind): Backend {
  const tables = new Map<string, Set<string>>();
  const table = (n: string) => tables.get(n) ?? tables.set(n, new Set()).get(n)!;
  return {
    kind,
    prepare: () => Promise.resolve(),
    apply(changes) {
      for (const c of changes) {
        if (c.op === "add") table(c.table).add(c.target);
        else table(c.table).delete(c.target);
      }
      return Promise.resolve();
    },
    list: (n) => Promise.resolve([...table(n)]),
  };
}

function sasl(addr: string, seconds: number): string {
  const d = new Date(seconds * 1000);
  const month = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
  const day = String(d.getUTCDate()).padStart(2, " ");
  return `${month} ${day} ${
    d.toISOString().slice(11, 19)
  } mx postfix/smtpd[1]: warning: unknown[${addr}]: SASL LOGIN authentication failed: x\n`;
}

Deno.test("Daemon runs on_ban once per ban and on_unban once per unban, never on restore or replay", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "bw-hooks-" });
  const log = `${dir}/maillog`;
  await Deno.writeTextFile(log, "");
  const config = parseConfig(
    `[global]
state_dir = "${dir}/state"
timezone = "UTC"

[jail.mail]
enabled = true
logpath = "${log}"
filter = "postfix-sasl"
maxretry = 2
findtime = "1h"
bantime = "1h"
on_ban = ["/hook/ban", "{jail}", "{addr}", "{failures}", "{bantime}", "{count}", "{time}", "{hostname}"]
on_unban = ["/hook/unban", "{jail}", "{addr}", "{failures}", "{bantime}", "{count}"]
`,
    { file: `${dir}/jails.toml` },
  );
  let now = T0;
  const hooks: string[] = [];
  const runner: Runner = {
    run(argv) {
      hooks.push(argv.join(" "));
      return Promise.resolve({ code: 0, stdout: "", stderr: "" });
    },
  };
  const start = (replay = false) =>
    Daemon.start({
      config,
      logger: createLogger({ write: () => {} }),
      now: () => now,
      runner,
      hostname: "mx.example.org",
      replay,
      createBackend: (kind) => memoryBackend(kind),
    });
  try {
    await t.step(
      "a ban runs on_ban once; more failures of the banned address run nothing",
      async () => {
        const d = await start();
        try {
          await Deno.writeTextFile(log, sasl("203.0.113.5", T0 - 2) + sasl("203.0.113.5", T0 - 1), {
            append: true,
          });
          await d.tick();
          await Deno.writeTextFile(log, sasl("203.0.113.5", T0), { append: true });
          await d.tick();
          await d.tick();
        } finally {
          await d.close();
        }
        assertEquals(hooks, [
          `/hook/ban mail 203.0.113.5 2 3600 1 ${T0} mx.example.org`,
        ]);
      },
    );

    await t.step("a restart restores the ban without running a hook", async () => {
      const d = await start();
      try {
        assertEquals(d.banned().map((b) => b.target), ["203.0.113.5/32"]);
        await d.tick();
      } finally {
        await d.close();
      }
      assertEquals(hooks.length, 1);
    });

    await t.step("expiry after the restart runs on_unban once, with the ban's values", async () => {
      const d = await start();
      try {
        now = T0 + 3601;
        await d.tick();
        await d.tick();
        assertEquals(d.banned(), []);
      } finally {
        await d.close();
      }
      assertEquals(hooks.slice(1), ["/hook/unban mail 203.0.113.5 2 3600 1"]);
    });

    await t.step("a manual ban and unban each run their hook once", async () => {
      const d = await start();
      try {
        await d.ban("mail", "198.51.100.7", { duration: 60 });
        await d.unban({ addr: "198.51.100.7" });
        await d.tick();
      } finally {
        await d.close();
      }
      assertEquals(hooks.slice(2), [
        `/hook/ban mail 198.51.100.7 0 60 1 ${T0 + 3601} mx.example.org`,
        "/hook/unban mail 198.51.100.7 0 60 1",
      ]);
    });

    await t.step("replay bans without running hooks", async () => {
      await Deno.writeTextFile(log, sasl("192.0.2.9", T0 + 3602) + sasl("192.0.2.9", T0 + 3603), {
        append: true,
      });
      const d = await start(true);
      try {
        while (!d.idle) await d.tick();
        await d.tick();
        assertEquals(d.banned().map((b) => b.target), ["192.0.2.9/32"]);
      } finally {
        await d.close();
      }
      assertEquals(hooks.length, 4);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
