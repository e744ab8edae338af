import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { readFakeIpfwTables } from "../_fake_ipfw.ts";
import { runCli } from "../_helpers.ts";
import {
  append,
  saslFailure,
  startDaemon,
  waitUntil as eventually,
  withDaemonFixture,
} from "../../scripts/daemon_harness.ts";

interface FileJson {
  path: string;
  state?: string;
  error?: string;
}

async function fileStates(config: string): Promise<Record<string, FileJson>> {
  const r = await runCli(["status", "--json", "-c", config]);
  assertEquals(r.code, 0, r.stderr);
  const out: Record<string, FileJson> = {};
  for (const j of JSON.parse(r.stdout).jails as Array<{ name: string; files: FileJson[] }>) {
    for (const f of j.files) out[`${j.name} ${f.path}`] = f;
  }
  return out;
}

function jail(name: string, logpath: string, table: string): string {
  return `
[jail.${name}]
enabled = true
logpath = "${logpath}"
filter = "postfix-sasl"
maxretry = 2
backend = "ipfw"
table = "${table}"
`;
}

Deno.test("main.ts run: a log that cannot be read is logged with its jail and path, retried, and the other jails go on", async (t) => {
  await withDaemonFixture({ maxretry: 2 }, async ({ dir, fake, log, config }) => {
    const bad = `${dir}/bad.log`; // a directory: opens, then fails on read
    const fifo = `${dir}/fifo.log`; // opening it would block the poll
    await Deno.mkdir(bad);
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    await append(
      config,
      jail("bad", bad, "bw-bad") + jail("pipe", fifo, "bw-pipe") +
        jail("later", `${dir}/later.log`, "bw-later") +
        jail("glob", `${dir}/rotated/*.log`, "bw-glob"),
    );
    const d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      await t.step("each bad file is logged once with its jail and path", async () => {
        const line = await d.waitFor(/event=log_error .*jail=bad /);
        assertMatch(line, new RegExp(`path=${bad} .*is a directory`));
        assertMatch(await d.waitFor(/event=log_error .*jail=pipe /), /is a FIFO/);
      });

      await t.step("the other jail still bans", async () => {
        const now = Date.now() / 1000;
        await append(log, saslFailure("203.0.113.5", now) + saslFailure("203.0.113.5", now));
        await eventually(
          async () => "203.0.113.5/32" in ((await readFakeIpfwTables(fake))["bw-mail"] ?? {}),
          "the ban of the healthy jail",
        );
      });

      await t.step("status shows ok, missing, unreadable with the error, and waiting", async () => {
        const files = await fileStates(config);
        assertEquals(files[`mail ${log}`]?.state, "ok");
        assertEquals(files[`later ${dir}/later.log`]?.state, "missing");
        assertEquals(files[`bad ${bad}`]?.state, "unreadable");
        assertMatch(files[`bad ${bad}`]?.error ?? "", /is a directory/);
        assertEquals(files[`pipe ${fifo}`]?.state, "unreadable");
        assertEquals(files[`glob ${dir}/rotated/*.log`]?.state, "waiting");
        const text = await runCli(["status", "-c", config]);
        assertMatch(text.stdout, /bad\s+\S+bad\.log\s+0\s+-\s+unreadable: .*is a directory/);
      });

      await t.step("retried every poll: once readable, its lines count", async () => {
        // Logged once, not once per poll.
        await new Promise((r) => setTimeout(r, 2500));
        assertEquals(d.stderr().match(/event=log_error .*jail=bad /g)?.length, 1);
        await Deno.remove(bad);
        const now = Date.now() / 1000;
        await Deno.writeTextFile(
          bad,
          saslFailure("198.51.100.7", now) + saslFailure("198.51.100.7", now),
        );
        await d.waitFor(/event=log_readable .*jail=bad /);
        await eventually(
          async () => "198.51.100.7/32" in ((await readFakeIpfwTables(fake))["bw-bad"] ?? {}),
          "the ban from the file once readable",
        );
        assertEquals((await fileStates(config))[`bad ${bad}`]?.state, "ok");
      });
    } finally {
      assertEquals(await d.stop(), 0);
    }
    assertOk(!/poll_failed/.test(d.stderr()), d.stderr());
  });
});
