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

Deno.test("an IPv6 /64 escalation is named by unban ADDR and lifted by unban --covering", async () => {
  await withDaemonFixture({ maxretry: 2 }, async ({ fake, log, config }) => {
    const keys = async () => Object.keys((await readFakeIpfwTables(fake))["bw-mail"] ?? {}).sort();
    const d = startDaemon(config);
    try {
      await d.waitFor(/event=started/);
      // Two different addresses of one /64, one failure each: the default ipv6_prefix = 64
      // with ipv6_prefix_maxretry = maxretry bans the whole /64.
      await append(log, saslFailure("2001:db8:cafe:1::a") + saslFailure("2001:db8:cafe:1::b"));
      const ban = await d.waitFor(/event=ban .*/);
      assertMatch(ban, /jail=mail addr=2001:db8:cafe:1::\/64 /);
      assertMatch(ban, /escalation=prefix members=2001:db8:cafe:1::a,2001:db8:cafe:1::b/);
      await waitUntil(async () => (await keys()).includes("2001:db8:cafe:1::/64"), "prefix ban");

      const named = await runCli(["unban", "2001:db8:cafe:1::b", "-c", config]);
      assertEquals(named.code, 0, named.stderr);
      assertEquals(named.stderr, "");
      assertEquals(
        named.stdout,
        "lifted 0 bans of 2001:db8:cafe:1::b\n" +
          "2001:db8:cafe:1::b is still blocked: it lies inside the ban of 2001:db8:cafe:1::/64 " +
          "in mail; lift that with: banwatch unban 2001:db8:cafe:1::/64 --jail mail " +
          "(or: banwatch unban 2001:db8:cafe:1::b --covering)\n",
      );
      assertOk((await keys()).includes("2001:db8:cafe:1::/64"), "the /64 stays");

      const lifted = await runCli(["unban", "--covering", "2001:db8:cafe:1::b", "-c", config]);
      assertEquals(lifted.code, 0, lifted.stderr);
      assertEquals(lifted.stderr, "");
      assertEquals(lifted.stdout, "lifted 1 ban of 2001:db8:cafe:1::b\n");
      await waitUntil(async () => !(await keys()).includes("2001:db8:cafe:1::/64"), "unban");
      await d.waitFor(/event=unban jail=mail addr=2001:db8:cafe:1::\/64 /);
    } finally {
      assertEquals(await d.stop(), 0);
    }
  });
});
