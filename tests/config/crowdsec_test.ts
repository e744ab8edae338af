import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { parseConfig } from "../../lib/config/parse_config.ts";
import { checkSecretFile, loadConfig } from "../../lib/config/load.ts";
import { CROWDSEC_KEYS } from "../../lib/config/crowdsec.ts";
import { ConfigError } from "../../lib/core/errors.ts";

function problemsOf(text: string, checkSecret?: (path: string) => string | undefined): string[] {
  const e = assertThrows(() =>
    parseConfig(text, { file: "/etc/t.toml", ...(checkSecret ? { checkSecret } : {}) })
  );
  assertOk(e instanceof ConfigError, `expected ConfigError, got ${e.name}`);
  return [...e.problems];
}

const FULL = `[defaults]
backend = "pf"

[crowdsec]
lapi_url = "http://127.0.0.1:8080/"
push = true
machine_id = "mx1"
machine_password_file = "crowdsec-machine.secret"
pull = true
bouncer_key_file = "/usr/local/etc/banwatch/crowdsec-bouncer.secret"
table = "cs"
pull_interval = "5s"
max_prefix_v4 = 24
max_prefix_v6 = 48
max_decisions = 500
scenario_prefix = "mx"
`;

Deno.test("parseConfig() reads [crowdsec] with exactly the issue's keys", () => {
  assertEquals(CROWDSEC_KEYS.length, 13);
  const config = parseConfig(FULL, { file: "/etc/banwatch/jails.toml" });
  assertEquals(config.crowdsec, {
    lapiUrl: "http://127.0.0.1:8080",
    push: true,
    machineId: "mx1",
    machinePasswordFile: "/etc/banwatch/crowdsec-machine.secret",
    pull: true,
    bouncerKeyFile: "/usr/local/etc/banwatch/crowdsec-bouncer.secret",
    table: "cs",
    backend: "pf",
    pullInterval: 5,
    maxPrefixV4: 24,
    maxPrefixV6: 48,
    maxDecisions: 500,
    scenarioPrefix: "mx",
  });
});

Deno.test("parseConfig() applies [crowdsec] defaults and leaves it out when absent", () => {
  const config = parseConfig(`[crowdsec]\nlapi_url = "https://lapi.example:8443"\n`, {
    file: "t",
  });
  assertEquals(config.crowdsec?.table, "crowdsec");
  assertEquals(config.crowdsec?.backend, "ipfw");
  assertEquals(config.crowdsec?.pullInterval, 10);
  assertEquals(config.crowdsec?.maxPrefixV4, 16);
  assertEquals(config.crowdsec?.maxPrefixV6, 32);
  assertEquals(config.crowdsec?.maxDecisions, 100000);
  assertEquals(config.crowdsec?.push, false);
  assertEquals(parseConfig("", { file: "t" }).crowdsec, undefined);
});

Deno.test("parseConfig() reports every [crowdsec] problem at its line", () => {
  const text = `[jail.x]
enabled = true
logpath = "/l"
failregex = "fail <HOST>"
table = "crowdsec"

[crowdsec]
lapi_url = "ftp://x"
push = true
pull = true
max_prefix_v4 = 0
pull_interval = 0   
colour = 1
`;
  assertEquals(problemsOf(text), [
    '/etc/t.toml:7:1: crowdsec.table: "crowdsec" is also jail x\'s table; expected a table no jail uses',
    '/etc/t.toml:8:12: crowdsec.lapi_url: "ftp://x" is not an http or https URL; expected an http or https URL such as "http://127.0.0.1:8080"',
    "/etc/t.toml:9:8: crowdsec.push: push needs machine_id and machine_password_file; expected both keys, or push = false",
    "/etc/t.toml:10:8: crowdsec.pull: pull needs bouncer_key_file; expected the key, or pull = false",
    "/etc/t.toml:11:17: crowdsec.max_prefix_v4: 0 is out of range; expected an integer from 1 to 32",
    "/etc/t.toml:12:17: crowdsec.pull_interval: 0 is too short; expected a duration of at least 1s",
    `/etc/t.toml:13:1: crowdsec.colour: unknown key; expected one of ${CROWDSEC_KEYS.join(", ")}`,
  ]);
  assertEquals(problemsOf(`[crowdsec]\npush = false\n`), [
    '/etc/t.toml:1:1: crowdsec.lapi_url: missing; expected an http or https URL such as "http://127.0.0.1:8080"',
  ]);
});

Deno.test("checkSecretFile() refuses secrets readable by group or others, like ssh", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const secret = `${dir}/key.secret`;
    await Deno.writeTextFile(secret, "s3cret-value\n", { mode: 0o600 });
    await Deno.chmod(secret, 0o600);
    assertEquals(checkSecretFile(secret), undefined);
    await Deno.chmod(secret, 0o640);
    assertEquals(checkSecretFile(secret), "is accessible by group or others (mode 0640)");
    assertEquals(checkSecretFile(`${dir}/none`), "cannot be read: no such file");
    assertEquals(checkSecretFile(dir), "is not a regular file");

    const toml = `${dir}/jails.toml`;
    await Deno.writeTextFile(
      toml,
      `[crowdsec]\nlapi_url = "http://127.0.0.1:8080"\npull = true\nbouncer_key_file = "key.secret"\n`,
    );
    const e = await loadConfig(toml).then(() => undefined, (error) => error);
    assertOk(e instanceof ConfigError);
    assertEquals(e.problems, [
      `${toml}:4:20: crowdsec.bouncer_key_file: "${secret}" is accessible by group or others (mode 0640); expected a file only its owner can read (chmod 600)`,
    ]);
    // The secret itself is never part of a problem line.
    assertOk(!e.problems.join("\n").includes("s3cret-value"));
    await Deno.chmod(secret, 0o600);
    const config = await loadConfig(toml);
    assertEquals(config.crowdsec?.bouncerKeyFile, secret);
    assertOk(!JSON.stringify(config).includes("s3cret-value"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
