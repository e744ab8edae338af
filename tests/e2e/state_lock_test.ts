import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { readFakeIpfwCalls } from "../_fake_ipfw.ts";
import { runCli } from "../_helpers.ts";
import {
  append,
  saslFailure,
  startDaemon,
  waitUntil as eventually,
  withDaemonFixture,
} from "../../scripts/daemon_harness.ts";

Deno.test("main.ts run refuses a state directory another daemon holds, and a killed one never blocks", async (t) => {
  await withDaemonFixture({ maxretry: 2 }, async ({ dir, fake, log, config }) => {
    const first = startDaemon(config);
    let firstPid = 0;
    try {
      await first.waitFor(/event=started/);
      firstPid = first.child.pid;
      const now = Date.now() / 1000;
      await append(log, saslFailure("203.0.113.5", now) + saslFailure("203.0.113.5", now));
      await first.waitFor(/event=ban /);
      await eventually(
        async () => (await readFakeIpfwCalls(fake)).some((a) => a.includes("203.0.113.5/32")),
        "the first daemon's ban",
      );

      await t.step(
        "a second run (no socket) exits 1 naming the holder, running no ipfw",
        async () => {
          const before = (await readFakeIpfwCalls(fake)).length;
          const second = await runCli(["run", "-c", config, "--no-socket"], { env: { TZ: "UTC" } });
          assertEquals(second.code, 1);
          assertEquals(second.stdout, "");
          assertEquals(
            second.stderr,
            `banwatch: state directory ${dir}/state is in use by pid ${firstPid}\n`,
          );
          assertEquals((await readFakeIpfwCalls(fake)).length, before, "no firewall command ran");
        },
      );

      await t.step("a second run on another socket is refused the same way", async () => {
        const other = `${dir}/other.toml`;
        const text = await Deno.readTextFile(config);
        await Deno.writeTextFile(other, text.replace("banwatch.sock", "other.sock"));
        const before = (await readFakeIpfwCalls(fake)).length;
        const second = await runCli(["run", "-c", other], { env: { TZ: "UTC" } });
        assertEquals(second.code, 1);
        assertMatch(second.stderr, /^banwatch: state directory .* is in use by pid \d+\n$/);
        assertEquals((await readFakeIpfwCalls(fake)).length, before);
      });

      await t.step("read-only commands still work while the daemon holds the lock", async () => {
        const banned = await runCli(["banned", "-c", config]);
        assertEquals(banned.code, 0, banned.stderr);
        assertMatch(banned.stdout, /203\.0\.113\.5/);
      });
    } finally {
      const code = await first.stop("SIGKILL");
      assertEquals(code, 128);
    }

    await t.step("after kill -9 of the holder a new daemon starts", async () => {
      const next = startDaemon(config);
      try {
        await next.waitFor(/event=started/);
        assertOk(!/in use/.test(next.stderr()));
      } finally {
        assertEquals(await next.stop(), 0);
      }
    });
  });
});
