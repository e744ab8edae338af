/**
 * `reload` re-reads `[crowdsec]` in-process: a new table takes the remote bans along, tighter
 * limits lift what they now refuse, an invalid section keeps the running link, and a section
 * removed lifts the remote bans. LAPI is not needed: the link points at a closed port, and the
 * remote decisions come from the state database (as after a restart with LAPI down).
 * @module
 */
import { assertEquals, assertOk } from "../_assert.ts";
import { installFakeIpfw, readFakeIpfwTables } from "../_fake_ipfw.ts";
import { type Config, parseConfig } from "../../lib/config/mod.ts";
import { createLogger, createRunner } from "../../lib/core/mod.ts";
import { Daemon } from "../../lib/daemon/mod.ts";
import { openCrowdsecStore, openStore } from "../../lib/state/mod.ts";

const T0 = 1_700_000_000;

function configText(dir: string, crowdsec: string): string {
  return `[global]
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
` + (crowdsec === "" ? "" : `
[crowdsec]
lapi_url = "http://127.0.0.1:9"
pull = true
bouncer_key_file = "${dir}/bouncer.secret"
${crowdsec}
`);
}

Deno.test("reload re-reads [crowdsec]: table moves, limits apply, a bad section keeps the link", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bw-csreload-" });
  const fake = await installFakeIpfw(dir);
  await Deno.writeTextFile(`${dir}/maillog`, "");
  await Deno.writeTextFile(`${dir}/bouncer.secret`, "key\n", { mode: 0o600 });
  await Deno.chmod(`${dir}/bouncer.secret`, 0o600);
  const logger = createLogger({ level: "error", write: () => {} });
  const seed = openStore(`${dir}/state/state.db`, { logger, now: () => T0 });
  const cs = openCrowdsecStore(seed);
  for (const [id, target] of [[1, "198.51.100.7/32"], [2, "203.0.113.0/24"]] as const) {
    cs.saveDecision({ id, target, until: T0 + 3600, scenario: "test/s", origin: "cscli" });
  }
  seed.close();

  const events: string[] = [];
  let next = configText(dir, 'table = "cs-a"');
  const parse = (text: string): Config => parseConfig(text, { file: `${dir}/jails.toml` });
  const daemon = await Daemon.start({
    config: parse(next),
    logger: createLogger({ write: (line) => events.push(line) }),
    now: () => T0,
    runner: createRunner(),
    resolve: () => Promise.resolve([]),
    reloadConfig: () => Promise.resolve(parse(next)),
  });
  const table = async (name: string) =>
    Object.keys((await readFakeIpfwTables(fake))[name] ?? {}).sort();
  try {
    await daemon.tick();
    assertEquals(await table("cs-a"), ["198.51.100.7/32", "203.0.113.0/24"]);

    next = configText(dir, 'table = "cs-b"\nmax_prefix_v4 = 28\npull_interval = "30s"');
    assertEquals(await daemon.reload(), { ok: true });
    assertEquals(await table("cs-a"), [], "the old table is emptied");
    assertEquals(await table("cs-b"), ["198.51.100.7/32"], "the /24 is now too wide");
    assertEquals(daemon.status().crowdsec?.applied, 1);
    assertEquals(daemon.status().crowdsec?.refused, 1);
    assertEquals(daemon.banned().map((b) => [b.jail, b.target]), [
      ["crowdsec", "198.51.100.7/32"],
    ]);
    assertOk(events.some((e) => e.includes("crowdsec_reloaded")), "reload is logged");

    next = configText(dir, 'table = "cs-c"\nmax_prefix_v4 = 99');
    const bad = await daemon.reload();
    assertEquals(bad.ok, false, "an invalid section is refused");
    assertEquals(await table("cs-b"), ["198.51.100.7/32"], "the running link stays");
    assertEquals(await table("cs-c"), []);

    next = configText(dir, "");
    assertEquals(await daemon.reload(), { ok: true });
    assertEquals(await table("cs-b"), [], "a removed section lifts the remote bans");
    assertEquals(daemon.status().crowdsec, undefined);
    assertEquals(daemon.banned(), []);

    next = configText(dir, 'table = "cs-a"');
    assertEquals(await daemon.reload(), { ok: true });
    await daemon.tick();
    // The refused /24 was forgotten; it comes back only when LAPI sends it again.
    assertEquals(await table("cs-a"), ["198.51.100.7/32"], "the stored ban is back");
  } finally {
    await daemon.close({ unban: false });
    await Deno.remove(dir, { recursive: true });
  }
});
