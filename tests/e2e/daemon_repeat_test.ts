import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { readFakeIpfwTables } from "../_fake_ipfw.ts";
import {
  append,
  saslFailure,
  startDaemon,
  syslogHeader,
  waitUntil as eventually,
  withDaemonFixture,
} from "../../scripts/daemon_harness.ts";

Deno.test("main.ts run counts syslogd's 'last message repeated N times' after a failure as N more", async () => {
  await withDaemonFixture({ maxretry: 4 }, async ({ fake, log, config }) => {
    const d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      const now = Date.now() / 1000;
      // A repeat after a line that is no failure counts nothing; attacker text that ends with
      // the phrase is only its own failure.
      await append(
        log,
        `${syslogHeader(now)} postfix/smtpd[4300]: connect from unknown[198.51.100.7]\n` +
          `${syslogHeader(now)} syslogd: last message repeated 9 times\n` +
          saslFailure("192.0.2.9", now).replace(
            "authentication failure",
            "x syslogd: last message repeated 9 times",
          ),
      );
      // The failure and its repeat line arrive in two different polls.
      await append(log, saslFailure("203.0.113.5", now));
      await new Promise((r) => setTimeout(r, 1500));
      await append(log, `${syslogHeader(now + 1)} syslogd: last message repeated 3 times\n`);
      const line = await d.waitFor(/event=ban /);
      assertMatch(line, /jail=mail addr=203\.0\.113\.5 failures=4 /);
      await eventually(
        async () => "203.0.113.5/32" in ((await readFakeIpfwTables(fake))["bw-mail"] ?? {}),
        "the ban in the table",
      );
      await new Promise((r) => setTimeout(r, 1200));
      assertEquals(Object.keys((await readFakeIpfwTables(fake))["bw-mail"] ?? {}), [
        "203.0.113.5/32",
      ]);
      assertOk(!/addr=(192\.0\.2\.9|198\.51\.100\.7)/.test(d.stderr()));
    } finally {
      assertEquals(await d.stop(), 0);
    }
  });
});
