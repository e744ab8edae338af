import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { readFakeIpfwTables } from "../_fake_ipfw.ts";
import {
  append,
  saslFailure,
  startDaemon,
  waitUntil,
  withDaemonFixture,
} from "../../scripts/daemon_harness.ts";
import { runCli } from "../_helpers.ts";

Deno.test("the control commands drive the real daemon over its socket", async (t) => {
  await withDaemonFixture(
    { maxretry: 3, extra: 'ignoreip = ["192.0.2.0/24"]' },
    async ({ fake, log, config }) => {
      const keys = async () =>
        Object.keys((await readFakeIpfwTables(fake))["bw-mail"] ?? {}).sort();
      const d = startDaemon(config);
      try {
        await d.waitFor(/event=started/);

        await t.step("status --json reports the jail and its file", async () => {
          const r = await runCli(["status", "--json", "-c", config]);
          assertEquals(r.code, 0, r.stderr);
          const s = JSON.parse(r.stdout);
          assertEquals([s.running, s.jails[0].name, s.jails[0].files[0].path], [true, "mail", log]);
        });

        await t.step(
          "ban adds to the table; a protected address is refused with exit 2",
          async () => {
            const r = await runCli(["ban", "mail", "203.0.113.50", "--for", "1h", "-c", config]);
            assertEquals(r.code, 0, r.stderr);
            await waitUntil(async () => (await keys()).includes("203.0.113.50/32"), "manual ban");
            const refused = await runCli(["ban", "mail", "192.0.2.7", "-c", config]);
            assertEquals(refused.code, 2);
            assertMatch(
              refused.stderr,
              /refusing to ban 192\.0\.2\.7: jail ignoreip 192\.0\.2\.0\/24/,
            );
            const forced = await runCli(["ban", "mail", "192.0.2.7", "--force", "-c", config]);
            assertEquals(forced.code, 0, forced.stderr);
          },
        );

        await t.step("banned --json lists both bans", async () => {
          const r = await runCli(["banned", "--json", "-c", config]);
          assertEquals(r.code, 0, r.stderr);
          const targets = JSON.parse(r.stdout).bans.map((b: { target: string }) => b.target).sort();
          assertEquals(targets, ["192.0.2.7/32", "203.0.113.50/32"]);
        });

        await t.step("unban removes from the table", async () => {
          const r = await runCli(["unban", "203.0.113.50", "-c", config]);
          assertEquals(r.code, 0, r.stderr);
          await waitUntil(async () => !(await keys()).includes("203.0.113.50/32"), "unban");
        });

        await t.step("flush forgets the failure windows", async () => {
          await append(log, saslFailure("198.51.100.9").repeat(2));
          await waitUntil(async () => {
            const s = JSON.parse((await runCli(["status", "--json", "-c", config])).stdout);
            return s.jails[0].failing === 1;
          }, "two failures counted");
          const r = await runCli(["flush", "mail", "-c", config]);
          assertEquals(r.code, 0, r.stderr);
          // One more failure would ban if the window had survived.
          await append(log, saslFailure("198.51.100.9"));
          await new Promise((res) => setTimeout(res, 1500));
          assertOk(!(await keys()).includes("198.51.100.9/32"), "window was flushed");
        });

        await t.step(
          "reload with an invalid config exits 78 and keeps the running one",
          async () => {
            const good = await Deno.readTextFile(config);
            await Deno.writeTextFile(config, good.replace('findtime = "1h"', 'findtime = "soon"'));
            const r = await runCli(["reload", "-c", config]);
            assertEquals(r.code, 78);
            assertMatch(r.stderr, /jail\.mail\.findtime/);
            await Deno.writeTextFile(config, good);
            const s = await runCli(["status", "-c", config]);
            assertEquals(s.code, 0, s.stderr);
          },
        );
      } finally {
        assertEquals(await d.stop(), 0);
      }
    },
  );
});

Deno.test("status with the daemon down reads the state database and exits 1", async () => {
  await withDaemonFixture({ maxretry: 1 }, async ({ log, config }) => {
    const d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      await append(log, saslFailure("203.0.113.60"));
      await d.waitFor(/event=ban /, 5);
    } finally {
      await d.stop();
    }
    const r = await runCli(["status", "-c", config]);
    assertEquals(r.code, 1);
    assertMatch(r.stdout + r.stderr, /not running/);
    assertMatch(r.stdout, /mail\s+yes\s+ipfw\s+bw-mail/);
  });
});
