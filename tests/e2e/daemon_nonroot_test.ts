/**
 * The daemon run as an unprivileged user (nobody, through setpriv(1)) against a 0600 root log:
 * root reads every file, so only a real non-root run shows the permission error. Runs the
 * bundle (the binary's code) with a hard link of the Deno executable in a directory nobody can
 * reach; skipped unless the tests run as root with setpriv.
 * @module
 */
import { assertEquals, assertMatch } from "../_assert.ts";
import { BUNDLE_RUN_FLAGS } from "../../scripts/flags.ts";
import { bundleArgs } from "../../scripts/compile.ts";
import { ROOT } from "../_helpers.ts";
import { saslFailure, waitUntil as eventually } from "../../scripts/daemon_harness.ts";

function canDropPrivileges(): boolean {
  try {
    if (Deno.uid() !== 0) return false;
    Deno.statSync("/usr/bin/setpriv");
    return true;
  } catch {
    return false;
  }
}

async function placeDeno(dir: string): Promise<string> {
  const target = `${dir}/deno`;
  try {
    await Deno.link(Deno.execPath(), target);
  } catch {
    await Deno.copyFile(Deno.execPath(), target);
  }
  await Deno.chmod(target, 0o755);
  return target;
}

Deno.test({
  name:
    "main.ts run as nobody: a 0600 log it cannot open is logged with its jail and path, and the other jail bans",
  ignore: !canDropPrivileges(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bw-nonroot-" });
    try {
      await Deno.chmod(dir, 0o755);
      const bundle = `${dir}/banwatch.js`;
      const build = await new Deno.Command(Deno.execPath(), {
        args: bundleArgs(bundle),
        cwd: ROOT,
        stdout: "null",
        stderr: "piped",
      }).output();
      assertEquals(build.code, 0, new TextDecoder().decode(build.stderr));
      await Deno.chmod(bundle, 0o644);
      const deno = await placeDeno(dir);
      const work = `${dir}/w`;
      await Deno.mkdir(work);
      const secret = `${work}/secret.log`;
      const open = `${work}/maillog`;
      const now = Date.now() / 1000;
      await Deno.writeTextFile(secret, saslFailure("192.0.2.1", now), { mode: 0o600 });
      await Deno.chmod(secret, 0o600);
      await Deno.writeTextFile(open, "");
      await Deno.writeTextFile(
        `${work}/jails.toml`,
        `[global]
state_dir = "${work}/state"
socket = "${work}/banwatch.sock"
poll_interval = 1

[jail.secret]
enabled = true
logpath = "${secret}"
filter = "postfix-sasl"
backend = "dry-run"

[jail.mail]
enabled = true
logpath = "${open}"
filter = "postfix-sasl"
maxretry = 2
backend = "dry-run"
`,
      );
      // nobody owns its work directory and the open log; root keeps the 0600 one.
      for (const p of [work, open, `${work}/jails.toml`]) await Deno.chown(p, 65534, null);
      const asNobody = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", deno, "run"];
      const env = { HOME: work, DENO_DIR: `${work}/.deno`, TZ: "UTC", NO_COLOR: "1" };
      // check, as the same user, names the file it cannot read (exit 0: a warning).
      const check = await new Deno.Command("/usr/bin/setpriv", {
        args: [
          ...asNobody,
          "--quiet",
          ...BUNDLE_RUN_FLAGS,
          bundle,
          "check",
          "-c",
          `${work}/jails.toml`,
        ],
        cwd: work,
        env,
        clearEnv: true,
        stdin: "null",
      }).output();
      const dec = new TextDecoder();
      assertEquals(check.code, 0, dec.decode(check.stderr));
      assertEquals(
        dec.decode(check.stderr),
        `${work}/jails.toml:8:11: jail.secret.logpath: warning: ${secret} cannot be read by this user (uid 65534): permission denied\n`,
      );
      const child = new Deno.Command("/usr/bin/setpriv", {
        args: [
          "--reuid=nobody",
          "--regid=nogroup",
          "--clear-groups",
          deno,
          "run",
          "--quiet",
          ...BUNDLE_RUN_FLAGS,
          bundle,
          "run",
          "-c",
          `${work}/jails.toml`,
        ],
        cwd: work,
        env: { HOME: work, DENO_DIR: `${work}/.deno`, TZ: "UTC", NO_COLOR: "1" },
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let text = "";
      const reading = (async () => {
        const dec = new TextDecoder();
        for await (const chunk of child.stderr) text += dec.decode(chunk, { stream: true });
      })();
      try {
        await eventually(() => /event=started/.test(text), `started in:\n${text}`, 30);
        const error = text.split("\n").find((l) => /event=log_error/.test(l)) ?? "";
        assertMatch(error, new RegExp(`jail=secret path=${secret} .*Permission denied`));
        await Deno.writeTextFile(
          open,
          saslFailure("203.0.113.5", now) + saslFailure("203.0.113.5", now),
          { append: true },
        );
        await eventually(
          () => /event=ban .*jail=mail addr=203\.0\.113\.5/.test(text),
          `the ban of the readable log in:\n${text}`,
        );
      } finally {
        child.kill("SIGTERM");
        const status = await child.status;
        await reading;
        assertEquals(status.code, 0, text);
      }
      assertEquals(text.match(/event=log_error/g)?.length, 1, text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
