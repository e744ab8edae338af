/**
 * An `unban` of a pushed ban while LAPI is unreachable: the decision delete waits in the state
 * database, survives a restart, and is sent once LAPI answers (a fake LAPI here).
 * @module
 */
import { assertEquals } from "../_assert.ts";
import { installFakeIpfw } from "../_fake_ipfw.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { createLogger, createRunner } from "../../lib/core/mod.ts";
import { Daemon } from "../../lib/daemon/mod.ts";
import { openCrowdsecStore, openStore } from "../../lib/state/mod.ts";

const T0 = 1_700_000_000;

function configText(dir: string, lapi: string): string {
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

[crowdsec]
lapi_url = "${lapi}"
push = true
machine_id = "banwatch"
machine_password_file = "${dir}/machine.secret"
`;
}

Deno.test("a decision delete queued while LAPI is down survives a restart and is sent later", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bw-csdel-" });
  await installFakeIpfw(dir);
  await Deno.writeTextFile(`${dir}/maillog`, "");
  await Deno.writeTextFile(`${dir}/machine.secret`, "pw\n", { mode: 0o600 });
  await Deno.chmod(`${dir}/machine.secret`, 0o600);
  const logger = createLogger({ level: "error", write: () => {} });
  const dbPath = `${dir}/state/state.db`;
  const seed = openStore(dbPath, { logger, now: () => T0 });
  seed.upsertBan({
    jail: "mail",
    target: "192.0.2.9/32",
    since: T0,
    until: T0 + 3600,
    failures: 0,
    banCount: 1,
    origin: "manual",
    applied: true,
  });
  openCrowdsecStore(seed).savePushed("mail", "192.0.2.9/32", [42], T0 + 3600);
  seed.close();
  const start = (lapi: string) =>
    Daemon.start({
      config: parseConfig(configText(dir, lapi), { file: `${dir}/jails.toml` }),
      logger,
      now: () => T0,
      runner: createRunner(),
      resolve: () => Promise.resolve([]),
    });
  const deleted: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "POST" && path === "/v1/watchers/login") {
      return Response.json({ code: 200, token: "t", expire: "2099-01-01T00:00:00Z" });
    }
    if (req.method === "DELETE") deleted.push(path);
    return Response.json({ nbDeleted: "1" });
  });
  try {
    // LAPI unreachable (a closed port): the delete waits in the database.
    let daemon = await start("http://127.0.0.1:9");
    try {
      assertEquals((await daemon.unban({ addr: "192.0.2.9", jail: "mail" })).removed, 1);
      await daemon.tick();
    } finally {
      await daemon.close({ unban: false });
    }
    let store = openStore(dbPath, { logger, now: () => T0 });
    assertEquals(openCrowdsecStore(store).peekDeletes(10), [42]);
    store.close();

    // Restarted with LAPI up: the delete is sent and leaves the queue.
    daemon = await start(`http://127.0.0.1:${server.addr.port}`);
    try {
      for (let i = 0; i < 100 && deleted.length === 0; i++) {
        await daemon.tick();
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await daemon.close({ unban: false });
    }
    assertEquals(deleted, ["/v1/decisions/42"]);
    store = openStore(dbPath, { logger, now: () => T0 });
    assertEquals(openCrowdsecStore(store).queuedDeletes(), 0);
    store.close();
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
