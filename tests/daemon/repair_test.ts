/**
 * The firewall stays as banwatch believes it (issue 11): a managed rule deleted and a table
 * destroyed behind banwatch's back are put back, and the table re-filled from the state, at a
 * reload, at the periodic `firewall_check_interval` check, and after a call that failed because
 * its table was gone. One `event=firewall_repaired` line says what was missing.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { installFakeIpfw, readFakeIpfwTables } from "../_fake_ipfw.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { BackendError, createLogger, createRunner } from "../../lib/core/mod.ts";
import { Daemon } from "../../lib/daemon/mod.ts";
import type { Backend } from "../../lib/firewall/mod.ts";

const T0 = 1_700_000_000;

function configText(dir: string, backend = "ipfw"): string {
  return `[global]
state_dir = "${dir}/state"
socket = "${dir}/banwatch.sock"
ipfw_path = "${dir}/ipfw"
timezone = "UTC"
firewall_check_interval = "5m"

[jail.mail]
enabled = true
logpath = "${dir}/maillog"
filter = "postfix-sasl"
backend = "${backend}"
table = "bw-mail"
bantime = "1d"
${backend === "ipfw" ? "rule = 1000\n" : ""}`;
}

Deno.test("Daemon: a deleted ipfw rule and a destroyed table are repaired at reload and by the periodic check", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "bw-repair-" });
  await Deno.writeTextFile(`${dir}/maillog`, "");
  const fake = await installFakeIpfw(dir);
  const runner = createRunner();
  const ipfw = (...args: string[]) => runner.run([fake.path, ...args]);
  const events: string[] = [];
  let now = T0;
  const config = parseConfig(configText(dir), { file: `${dir}/jails.toml` });
  const daemon = await Daemon.start({
    config,
    logger: createLogger({ write: (line) => events.push(line) }),
    now: () => now,
    runner,
    resolve: () => Promise.resolve([]),
    reloadConfig: () => Promise.resolve(config),
  });
  const repaired = () => events.filter((e) => /event=firewall_repaired/.test(e));
  const firewallLost = async () => {
    assertEquals((await ipfw("delete", "1000")).code, 0);
    assertEquals((await ipfw("table", "bw-mail", "destroy")).code, 0);
    assertEquals(await readFakeIpfwTables(fake), {});
  };
  const assertWhole = async () => {
    assertEquals(Object.keys((await readFakeIpfwTables(fake))["bw-mail"] ?? {}).sort(), [
      "192.0.2.7/32",
      "203.0.113.5/32",
    ]);
    const rule = await ipfw("list", "1000");
    assertMatch(rule.stdout, /01000 deny tcp from table\(bw-mail\) to any/);
  };
  try {
    await daemon.ban("mail", "203.0.113.5", {});
    await daemon.ban("mail", "192.0.2.7", {});
    await assertWhole();
    assertEquals(repaired(), []);

    await t.step("reload", async () => {
      await firewallLost();
      assertEquals(await daemon.reload(), { ok: true });
      await assertWhole();
      assertEquals(repaired().length, 1, events.join("\n"));
      assertMatch(
        repaired()[0]!,
        /reason=reload tables=ipfw:bw-mail rules=mail:1000 entries=2/,
      );
    });

    await t.step("the periodic check, every firewall_check_interval", async () => {
      await firewallLost();
      now = T0 + 299;
      await daemon.tick();
      assertEquals(repaired().length, 1, "not before the interval");
      now = T0 + 300;
      await daemon.tick();
      await assertWhole();
      assertEquals(repaired().length, 2);
      assertMatch(repaired()[1]!, /reason=interval tables=ipfw:bw-mail rules=mail:1000 entries=2/);
      now = T0 + 600;
      await daemon.tick();
      assertEquals(repaired().length, 2, "nothing missing: no line");
      assertOk(!events.some((e) => /firewall_failed/.test(e)), events.join("\n"));
    });
  } finally {
    await daemon.close({ unban: false });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Daemon: a call failing because its table is gone (nft: No such file) repairs the table at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bw-repair-" });
  await Deno.writeTextFile(`${dir}/maillog`, "");
  const tables = new Map<string, Set<string>>();
  const backend: Backend = {
    kind: "nft",
    prepare(names) {
      for (const name of names) if (!tables.has(name)) tables.set(name, new Set());
      return Promise.resolve();
    },
    apply(changes) {
      for (const c of changes) {
        const set = tables.get(c.table);
        if (!set) {
          return Promise.reject(
            new BackendError(
              ["/usr/sbin/nft", "-f", "-"],
              1,
              `Error: Could not process rule: No such file or directory`,
            ),
          );
        }
        if (c.op === "add") set.add(c.target);
        else set.delete(c.target);
      }
      return Promise.resolve();
    },
    list(name) {
      return Promise.resolve([...tables.get(name) ?? []]);
    },
    missing(names) {
      return Promise.resolve(names.filter((n) => !tables.has(n)));
    },
  };
  const events: string[] = [];
  const now = T0;
  const daemon = await Daemon.start({
    config: parseConfig(configText(dir, "nft"), { file: `${dir}/jails.toml` }),
    logger: createLogger({ write: (line) => events.push(line) }),
    now: () => now,
    runner: { run: (argv) => Promise.reject(new Error(`unexpected run: ${argv.join(" ")}`)) },
    resolve: () => Promise.resolve([]),
    createBackend: () => backend,
  });
  try {
    await daemon.ban("mail", "203.0.113.5", {});
    tables.delete("bw-mail"); // `nft delete table inet banwatch`, a firewall restart
    await daemon.ban("mail", "192.0.2.7", {});
    assertOk(events.some((e) => /event=firewall_failed during=apply/.test(e)));
    assertEquals(daemon.status().jails[0]!.pending, 1);
    await daemon.tick(); // no backoff wait: the table is back, the batch goes again
    assertEquals([...tables.get("bw-mail")!].sort(), ["192.0.2.7/32", "203.0.113.5/32"]);
    assertEquals(daemon.status().jails[0]!.pending, 0);
    const line = events.find((e) => /event=firewall_repaired/.test(e));
    assertOk(line !== undefined, events.join("\n"));
    assertMatch(line, /reason=failure tables=nft:bw-mail entries=1/);
  } finally {
    await daemon.close({ unban: false });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Daemon: a dry-run jail with a rule prints the rule's ipfw argv once, with its table commands", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bw-repair-" });
  await Deno.writeTextFile(`${dir}/maillog`, "");
  const events: string[] = [];
  const text = configText(dir).replace('backend = "ipfw"', 'backend = "dry-run"')
    .replace('table = "bw-mail"', 'table = "bw-mail"\nport = [25, 465]');
  const config = parseConfig(text, { file: `${dir}/jails.toml` });
  const daemon = await Daemon.start({
    config,
    logger: createLogger({ write: (line) => events.push(line) }),
    now: () => T0,
    runner: { run: (argv) => Promise.reject(new Error(`unexpected run: ${argv.join(" ")}`)) },
    resolve: () => Promise.resolve([]),
    reloadConfig: () => Promise.resolve(config),
  });
  try {
    await daemon.ban("mail", "203.0.113.5", {});
    assertEquals(await daemon.reload(), { ok: true });
    const dry = events.filter((e) => /event=dry-run/.test(e)).map((e) =>
      /argv="([^"]*)"/.exec(e)?.[1]
    );
    assertEquals(dry, [
      `${dir}/ipfw -q table bw-mail create type addr`,
      `${dir}/ipfw -q add 1000 deny tcp from table(bw-mail) to any dst-port 25,465`,
      `${dir}/ipfw -q table bw-mail add 203.0.113.5/32 0`,
    ]);
  } finally {
    await daemon.close({ unban: false });
    await Deno.remove(dir, { recursive: true });
  }
});
