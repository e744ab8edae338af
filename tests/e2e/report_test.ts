import { assertEquals, assertMatch } from "../_assert.ts";
import { runCli } from "../_helpers.ts";
import { openStore } from "../../lib/state/mod.ts";
import { createLogger } from "../../lib/core/mod.ts";

/** A config naming two jails and a state database holding a day of events. */
async function setUp(dir: string): Promise<string> {
  const now = Date.now() / 1000;
  const store = openStore(`${dir}/state/state.db`, { logger: createLogger({ write: () => {} }) });
  try {
    store.transaction(() => {
      store.events.addFailures([
        {
          hour: Math.floor((now - 7200) / 3600) * 3600,
          jail: "sshd",
          addr: "198.51.100.7",
          count: 6,
        },
        { hour: Math.floor(now / 3600) * 3600, jail: "sshd", addr: "198.51.100.7", count: 4 },
      ]);
      store.events.addEvents([
        {
          time: now - 7000,
          kind: "ban",
          jail: "sshd",
          target: "198.51.100.7/32",
          failures: 5,
          banCount: 1,
          bantime: 600,
          origin: "auto",
        },
        {
          time: now - 6400,
          kind: "unban",
          jail: "sshd",
          target: "198.51.100.7/32",
          detail: "expired",
        },
        {
          time: now - 60,
          kind: "ban",
          jail: "sshd",
          target: "198.51.100.7/32",
          failures: 5,
          banCount: 2,
          bantime: 1200,
          origin: "auto",
        },
        {
          time: now - 50,
          kind: "firewall_error",
          jail: "",
          target: "",
          detail: "apply: /sbin/ipfw -q table sshd add 198.51.100.7/32: exit 71",
        },
        {
          time: now - 3 * 86400,
          kind: "ban",
          jail: "mail",
          target: "192.0.2.1/32",
          failures: 5,
          banCount: 1,
          bantime: 600,
          origin: "auto",
        },
      ]);
    });
  } finally {
    store.close();
  }
  const config = `${dir}/jails.toml`;
  await Deno.writeTextFile(
    config,
    `[global]\nstate_dir = "${dir}/state"\n\n[jail.sshd]\nfilter = "sshd"\nlogpath = ["${dir}/auth.log"]\n\n` +
      `[jail.mail]\nfilter = "postfix-sasl"\nlogpath = ["${dir}/maillog"]\n`,
  );
  return config;
}

Deno.test("banwatch report summarises the last day from the state database", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = await setUp(dir);
    const r = await runCli(["report", "-c", config]);
    assertEquals(r.stderr, "");
    assertEquals(r.code, 0);
    assertMatch(r.stdout, /^banwatch report: .* \(1d\)\n\n/);
    assertMatch(r.stdout, /^jail mail: 0 failures, 0 bans, 0 unbans$/m);
    assertMatch(r.stdout, /^jail sshd: 10 failures, 2 bans, 1 unban$/m);
    assertMatch(r.stdout, /^failures \|[ .,:;ixX#]+\| max 6\/h$/m);
    assertMatch(r.stdout, /^top 198\.51\.100\.7: 10 failures, 2 bans \(sshd\)$/m);
    assertMatch(
      r.stdout,
      /^repeat 198\.51\.100\.7 in sshd: 2 bans in the period, ban #2 \(bantime up to 20m\)$/m,
    );
    assertMatch(
      r.stdout,
      /^firewall error .*: apply: \/sbin\/ipfw -q table sshd add 198\.51\.100\.7\/32: exit 71$/m,
    );

    const week = await runCli(["report", "-c", config, "--since", "7d", "--json"]);
    assertEquals(week.code, 0, week.stderr);
    const json = JSON.parse(week.stdout);
    assertEquals(json.jails, [
      { jail: "mail", failures: 0, bans: 1, unbans: 0 },
      { jail: "sshd", failures: 10, bans: 2, unbans: 1 },
    ]);
    assertEquals(json.hourly.length, 7 * 24 + 1);
    assertEquals(json.firewallErrors.count, 1);

    const one = await runCli([
      "report",
      "-c",
      config,
      "--since",
      "7d",
      "--jail",
      "mail",
      "--periodic",
    ]);
    assertEquals(one.code, 0, one.stderr);
    assertMatch(one.stdout, /^jail mail: 0 failures, 1 ban, 0 unbans\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("banwatch report: usage errors exit 2, a missing database exits 1, --periodic is silent on a quiet day", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = await setUp(dir);
    const bad = await runCli(["report", "-c", config, "--since", "yesterday"]);
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /--since must be a duration/);
    const jail = await runCli(["report", "-c", config, "--jail", "nope"]);
    assertEquals(jail.code, 2);
    assertMatch(jail.stderr, /no jail "nope"/);
    const quiet = await runCli([
      "report",
      "-c",
      config,
      "--since",
      "30s",
      "--jail",
      "mail",
      "--periodic",
    ]);
    assertEquals(quiet, { code: 0, stdout: "", stderr: "" });
    await Deno.writeTextFile(`${dir}/other.toml`, `[global]\nstate_dir = "${dir}/none"\n`);
    const missing = await runCli(["report", "-c", `${dir}/other.toml`]);
    assertEquals(missing.code, 1);
    assertMatch(missing.stderr, /^banwatch: report: No state database at /);
    const help = await runCli(["report", "--help"]);
    assertEquals(help.code, 0);
    assertMatch(help.stdout, /^Usage: banwatch report \[--since 1d\]/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
