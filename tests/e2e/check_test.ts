import { assertEquals } from "../_assert.ts";
import { runCli } from "../_helpers.ts";

Deno.test("banwatch check warns with file:line about missing logs, empty globs and directories, exit 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bw-check-" });
  try {
    await Deno.mkdir(`${dir}/adir`);
    await Deno.writeTextFile(`${dir}/ok.log`, "");
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(
      config,
      `[defaults]
maxretry = 3

[jail.a]
enabled = true
logpath = ["ok.log", "none.log", "rotated/*.log"]
filter = "postfix-sasl"

[jail.b]
enabled = true
logpath = "adir"
filter = "postfix-sasl"

[jail.off]
logpath = "also-missing.log"
filter = "postfix-sasl"
`,
    );
    const r = await runCli(["check", "-c", config]);
    assertEquals(r.code, 0);
    assertEquals(r.stdout, `${config}: OK: 3 jails (2 enabled), 3 warnings\n`);
    assertEquals(
      r.stderr,
      [
        `${config}:6:22: jail.a.logpath: warning: ${dir}/none.log does not exist (the daemon waits for it to appear)`,
        `${config}:6:34: jail.a.logpath: warning: the glob ${dir}/rotated/*.log matches no file (the daemon looks again every poll)`,
        `${config}:11:11: jail.b.logpath: warning: ${dir}/adir is a directory, not a log file`,
        "",
      ].join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("banwatch check warns when no jail is enabled", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bw-check-" });
  try {
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(
      config,
      `[jail.a]\nlogpath = "/var/log/maillog"\nfilter = "postfix-sasl"\n`,
    );
    const r = await runCli(["check", "-c", config]);
    assertEquals(r.code, 0);
    assertEquals(r.stdout, `${config}: OK: 1 jails (0 enabled), 1 warnings\n`);
    assertEquals(
      r.stderr,
      `${config}: jail: warning: no jail is enabled: the daemon would watch nothing (set enabled = true in a [jail.NAME] section)\n`,
    );
    const json = JSON.parse((await runCli(["check", "-c", config, "--json"])).stdout);
    assertEquals(json.warnings.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
