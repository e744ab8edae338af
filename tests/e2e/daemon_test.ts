import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { installFakeIpfw, readFakeIpfwCalls, readFakeIpfwTables } from "../_fake_ipfw.ts";
import {
  append,
  saslFailure,
  startDaemon,
  syslogHeader,
  waitUntil,
  withDaemonFixture,
} from "../../scripts/daemon_harness.ts";
import { ROOT, runCli } from "../_helpers.ts";

async function tableKeys(fake: Awaited<ReturnType<typeof installFakeIpfw>>): Promise<string[]> {
  const tables = await readFakeIpfwTables(fake);
  return Object.keys(tables["bw-mail"] ?? {}).sort();
}

Deno.test("main.ts run bans within one poll, restores after restart and counts nothing twice", async (t) => {
  await withDaemonFixture({ maxretry: 3 }, async ({ fake, log, config }) => {
    await t.step("attack lines in -> ban within one poll", async () => {
      const d = startDaemon(config);
      try {
        await d.waitFor(/event=started/);
        const now = Date.now() / 1000;
        await append(log, saslFailure("203.0.113.5", now) + saslFailure("203.0.113.5", now));
        await append(log, saslFailure("198.51.100.7", now) + saslFailure("198.51.100.7", now));
        await append(log, saslFailure("192.0.2.44", now) + saslFailure("192.0.2.44", now));
        await append(log, saslFailure("203.0.113.5", now));
        const line = await d.waitFor(/event=ban /, 5);
        assertMatch(line, /jail=mail addr=203\.0\.113\.5 failures=3 bantime=1h/);
        await waitUntil(
          async () => (await tableKeys(fake)).includes("203.0.113.5/32"),
          "ipfw add",
        );
        assertEquals(await tableKeys(fake), ["203.0.113.5/32"]);
      } finally {
        assertEquals(await d.stop("SIGTERM"), 0);
      }
    });

    await t.step("lines written while stopped are read once after restart", async () => {
      const now = Date.now() / 1000;
      // 198.51.100.7 had 2 failures before the stop: one more bans it only if its window survived.
      await append(log, saslFailure("198.51.100.7", now));
      const d = startDaemon(config);
      try {
        await d.waitFor(/event=started/);
        await waitUntil(
          async () => (await tableKeys(fake)).includes("198.51.100.7/32"),
          "198.51.100.7 banned from its restored window",
        );
        // 192.0.2.44 also had 2 failures; re-reading the file from 0 would give it 4 and a ban.
        await new Promise((r) => setTimeout(r, 1500));
        assertEquals(await tableKeys(fake), ["198.51.100.7/32", "203.0.113.5/32"]);
        assertOk(!/addr=192\.0\.2\.44/.test(d.stderr()), "192.0.2.44 must not be re-counted");
      } finally {
        assertEquals(await d.stop("SIGINT"), 0);
      }
    });

    await t.step("restart with an emptied table restores the bans from the database", async () => {
      await Deno.writeTextFile(fake.statePath, JSON.stringify({ tables: {} }));
      const d = startDaemon(config);
      try {
        await d.waitFor(/event=reconciled .*add=2/);
        await waitUntil(async () => (await tableKeys(fake)).length === 2, "bans restored");
        assertEquals(await tableKeys(fake), ["198.51.100.7/32", "203.0.113.5/32"]);
      } finally {
        await d.stop();
      }
      // All adds of one tick go to ipfw in one invocation, never one process per address.
      const calls = await readFakeIpfwCalls(fake);
      const adds = calls.filter((argv) => argv.includes("add"));
      assertOk(adds.some((argv) => argv.filter((a) => a.endsWith("/32")).length === 2));
    });
  });
});

Deno.test("main.ts run unbans when the ban expires", async () => {
  await withDaemonFixture({ maxretry: 2, bantime: "2s" }, async ({ fake, log, config }) => {
    const d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      await append(log, saslFailure("203.0.113.9") + saslFailure("203.0.113.9"));
      await d.waitFor(/event=ban .*addr=203\.0\.113\.9/, 5);
      await waitUntil(async () => (await tableKeys(fake)).length === 1, "ban applied");
      await d.waitFor(/event=unban .*addr=203\.0\.113\.9 reason=expired/, 6);
      await waitUntil(async () => (await tableKeys(fake)).length === 0, "unban applied");
    } finally {
      assertEquals(await d.stop(), 0);
    }
  });
});

Deno.test("main.ts run never touches table entries it did not add", async () => {
  await withDaemonFixture({ maxretry: 2, bantime: "1s" }, async ({ fake, log, config }) => {
    // An admin (or blocklistd) put an entry in the shared table before banwatch started.
    const seed = new Deno.Command(fake.path, {
      args: ["-q", "table", "bw-mail", "add", "192.0.2.99"],
    });
    assertEquals((await seed.output()).code, 0);
    const d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      await append(log, saslFailure("203.0.113.9") + saslFailure("203.0.113.9"));
      await d.waitFor(/event=unban .*addr=203\.0\.113\.9/, 6);
      await waitUntil(async () => !(await tableKeys(fake)).includes("203.0.113.9/32"), "unban");
      assertEquals(await tableKeys(fake), ["192.0.2.99/32"]);
    } finally {
      await d.stop();
    }
  });
});

Deno.test("main.ts run keeps banning from memory while ipfw fails, and applies once it recovers", async () => {
  await withDaemonFixture(
    { maxretry: 2, fakeEnv: { FAKE_IPFW_FAIL: "always" } },
    async ({ dir, fake: broken, log, config }) => {
      const d = startDaemon(config);
      try {
        await d.waitFor(/event=started/);
        await append(log, saslFailure("203.0.113.77") + saslFailure("203.0.113.77"));
        await d.waitFor(/event=ban .*addr=203\.0\.113\.77/, 5);
        const failed = await d.waitFor(/event=firewall_failed/, 5);
        assertMatch(failed, /argv="[^"]*ipfw/);
        // The firewall comes back: the pending ban is applied by a later retry.
        await installFakeIpfw(dir);
        // Backoff doubles from 1 s up to 60 s; on a loaded machine the next retry may be 16 s off.
        await waitUntil(
          async () => (await tableKeys(broken)).includes("203.0.113.77/32"),
          "retry",
          45,
        );
      } finally {
        assertEquals(await d.stop(), 0);
      }
    },
  );
});

Deno.test("main.ts run on SIGHUP keeps the running config when the new one is invalid", async () => {
  await withDaemonFixture({ maxretry: 2 }, async ({ fake, log, config }) => {
    const good = await Deno.readTextFile(config);
    const d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      await Deno.writeTextFile(config, good.replace("maxretry = 2", 'maxretry = "two"'));
      d.child.kill("SIGHUP");
      const failed = await d.waitFor(/event=reload_failed/, 5);
      assertMatch(failed, /jail\.mail\.maxretry/);
      // Still the old config: two failures ban.
      await append(log, saslFailure("203.0.113.20") + saslFailure("203.0.113.20"));
      await d.waitFor(/event=ban .*addr=203\.0\.113\.20 failures=2/, 5);
      // A valid new config is applied: now one failure bans.
      await Deno.writeTextFile(config, good.replace("maxretry = 2", "maxretry = 1"));
      d.child.kill("SIGHUP");
      await d.waitFor(/event=reloaded/, 5);
      await append(log, saslFailure("203.0.113.21"));
      await d.waitFor(/event=ban .*addr=203\.0\.113\.21 failures=1/, 5);
      // Bans survive the reload.
      await waitUntil(async () => (await tableKeys(fake)).length === 2, "both bans applied");
      assertEquals(await tableKeys(fake), ["203.0.113.20/32", "203.0.113.21/32"]);
    } finally {
      assertEquals(await d.stop(), 0);
    }
  });
});

Deno.test("main.ts run after kill -9 resumes with the same bans and no line counted twice", async () => {
  await withDaemonFixture({ maxretry: 3 }, async ({ fake, log, config }) => {
    const now = Date.now() / 1000;
    let d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      await append(log, saslFailure("203.0.113.30", now).repeat(3));
      await append(log, saslFailure("203.0.113.31", now).repeat(2));
      await d.waitFor(/event=ban .*addr=203\.0\.113\.30/, 5);
      await waitUntil(async () => (await tableKeys(fake)).length === 1, "ban applied");
    } finally {
      assertEquals(await d.stop("SIGKILL"), 128);
    }
    d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      await append(log, saslFailure("203.0.113.31", now));
      await d.waitFor(/event=ban .*addr=203\.0\.113\.31 failures=3/, 5);
      await waitUntil(async () => (await tableKeys(fake)).length === 2, "second ban applied");
      assertEquals(await tableKeys(fake), ["203.0.113.30/32", "203.0.113.31/32"]);
      assertOk(!/addr=203\.0\.113\.30/.test(d.stderr()), "203.0.113.30 was not banned again");
    } finally {
      await d.stop();
    }
  });
});

Deno.test("main.ts run adds a managed ipfw rule once and keeps it", async () => {
  await withDaemonFixture(
    { extra: "rule = 1000\nport = [25, 587]" },
    async ({ fake, config }) => {
      for (let run = 0; run < 2; run++) {
        const d = startDaemon(config);
        try {
          await d.waitFor(/event=started/);
        } finally {
          assertEquals(await d.stop(), 0);
        }
      }
      const adds = (await readFakeIpfwCalls(fake)).filter((argv) => argv[1] === "add");
      assertEquals(adds, [[
        "-q",
        "add",
        "1000",
        "deny",
        "tcp",
        "from",
        "table(bw-mail)",
        "to",
        "any",
        "dst-port",
        "25,587",
      ]]);
    },
  );
});

Deno.test("main.ts run bans on failures whose address is on another line of the connection", async () => {
  await withDaemonFixture({}, async ({ dir, fake, config }) => {
    const auth = `${dir}/auth.log`;
    await Deno.writeTextFile(auth, "");
    await append(
      config,
      `
[jail.ssh]
enabled = true
logpath = "${auth}"
filter = "${ROOT}tests/testdata/sessions/sshd-sessions.filter.toml"
maxretry = 2
findtime = "1h"
bantime = "1h"
backend = "ipfw"
table = "bw-ssh"
`,
    );
    const d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      const now = Date.now() / 1000;
      const line = (pid: number, text: string) => `${syslogHeader(now)} sshd[${pid}]: ${text}\n`;
      await append(
        auth,
        line(700, "Connection from 198.51.100.7 port 40001 on 192.0.2.1 port 22") +
          line(701, "Connection from 203.0.113.50 port 40002 on 192.0.2.1 port 22") +
          line(700, "Disconnecting: Too many authentication failures [preauth]") +
          line(701, "Disconnecting: Too many authentication failures [preauth]") +
          line(701, "Connection closed by 203.0.113.50 port 40002 [preauth]") +
          line(702, "Disconnecting: Too many authentication failures [preauth]") +
          line(702, "Connection closed by 198.51.100.7 port 40003 [preauth]"),
      );
      await d.waitFor(/event=ban jail=ssh addr=198\.51\.100\.7 /, 5);
      await waitUntil(
        async () => (await readFakeIpfwTables(fake))["bw-ssh"]?.["198.51.100.7/32"] !== undefined,
        "ban applied",
      );
      // 203.0.113.50 failed once only (its closing line reports nothing pending).
      assertEquals(Object.keys((await readFakeIpfwTables(fake))["bw-ssh"] ?? {}), [
        "198.51.100.7/32",
      ]);
      // Connection 700 never closed: still remembered; 701 and 702 were forgotten at close.
      const status = JSON.parse((await runCli(["status", "--json", "-c", config])).stdout);
      const jails = new Map(status.jails.map((j: { name: string }) => [j.name, j]));
      assertEquals((jails.get("ssh") as { sessions?: unknown })?.sessions, { open: 1, evicted: 0 });
      assertEquals((jails.get("mail") as { sessions?: unknown })?.sessions, undefined);
    } finally {
      assertEquals(await d.stop(), 0);
    }
  });
});
