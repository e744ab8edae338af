/**
 * IPv6 prefixes are never a surprise (issue 11): with maxretry = 2, two different addresses of
 * one /64 failing once each ban the /64; the ban event says it is a prefix escalation and
 * names the addresses; `unban ADDR` names the covering /64, and lifts it with `covering`.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { createLogger } from "../../lib/core/mod.ts";
import { Daemon } from "../../lib/daemon/mod.ts";
import type { Backend } from "../../lib/firewall/mod.ts";

const T0 = 1_700_000_000;

function failure(addr: string): string {
  return `Nov 14 22:13:10 mx postfix/smtpd[4242]: warning: unknown[${addr}]: SASL LOGIN authentication failed: authentication failure\n`;
}

Deno.test("Daemon: a /64 escalation is named in the ban event and by unban ADDR, and lifted with covering", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bw-prefix-" });
  const log = `${dir}/maillog`;
  await Deno.writeTextFile(log, "");
  const table = new Set<string>();
  const backend: Backend = {
    kind: "ipfw",
    prepare: () => Promise.resolve(),
    apply(changes) {
      for (const c of changes) c.op === "add" ? table.add(c.target) : table.delete(c.target);
      return Promise.resolve();
    },
    list: () => Promise.resolve([...table]),
  };
  const events: string[] = [];
  const daemon = await Daemon.start({
    config: parseConfig(
      `[global]
state_dir = "${dir}/state"
timezone = "UTC"

[jail.mail]
enabled = true
logpath = "${log}"
filter = "postfix-sasl"
maxretry = 2
`,
      { file: `${dir}/jails.toml` },
    ),
    logger: createLogger({ write: (line) => events.push(line) }),
    now: () => T0,
    runner: { run: (argv) => Promise.reject(new Error(`unexpected run: ${argv.join(" ")}`)) },
    resolve: () => Promise.resolve([]),
    createBackend: () => backend,
  });
  try {
    await Deno.writeTextFile(log, failure("2001:db8:cafe:1::a") + failure("2001:db8:cafe:1::b"), {
      append: true,
    });
    await daemon.tick();
    assertEquals([...table], ["2001:db8:cafe:1::/64"]);
    const ban = events.find((e) => /event=ban /.test(e));
    assertOk(ban !== undefined, events.join("\n"));
    assertMatch(
      ban,
      /addr=2001:db8:cafe:1::\/64 .*escalation=prefix members=2001:db8:cafe:1::a,2001:db8:cafe:1::b/,
    );

    const named = await daemon.unban({ addr: "2001:db8:cafe:1::b" });
    assertEquals(named.removed, 0);
    assertEquals(named.covering?.map((c) => [c.jail, c.target]), [
      ["mail", "2001:db8:cafe:1::/64"],
    ]);
    assertEquals([...table], ["2001:db8:cafe:1::/64"], "still banned");

    assertEquals(await daemon.unban({ addr: "2001:db8:cafe:1::b", covering: true }), {
      removed: 1,
    });
    assertEquals([...table], []);
  } finally {
    await daemon.close({ unban: false });
    await Deno.remove(dir, { recursive: true });
  }
});
