/**
 * Hooks and metrics with real processes: the shipped scripts/hooks/mail-root (sh -n,
 * shellcheck, run with a stand-in mail(1)), and `main.ts run` on an attacked log running it
 * once per ban (never again on restart) while writing a metrics file that promtool accepts and
 * whose counters move.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";
import {
  append,
  saslFailure,
  startDaemon,
  waitUntil as eventually,
  withDaemonFixture,
} from "../../scripts/daemon_harness.ts";

const MAIL_ROOT = `${ROOT}scripts/hooks/mail-root`;

async function run(
  argv: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  try {
    const child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      env: options.env ?? {},
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(options.stdin));
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** A stand-in mail(1) appending its argv and stdin to `out`. */
async function fakeMail(dir: string): Promise<{ path: string; out: string }> {
  const path = `${dir}/mail`;
  const out = `${dir}/mail.out`;
  await Deno.writeTextFile(path, `#!/bin/sh\n{ echo "argv: $*"; cat; echo "--"; } >> '${out}'\n`);
  await Deno.chmod(path, 0o755);
  return { path, out };
}

async function readOr(path: string, fallback: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return fallback;
  }
}

/** The value of one sample line (`name{labels} value`) of a metrics text. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("scripts/hooks/mail-root passes sh -n and shellcheck -s sh", async () => {
  const syntax = await run(["/bin/sh", "-n", MAIL_ROOT]);
  assertEquals(syntax, { code: 0, stdout: "", stderr: "" });
  const check = await run(["/usr/bin/env", "shellcheck", "-s", "sh", MAIL_ROOT], {
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
  });
  if (check === undefined || check.code === 127) {
    // deno-lint-ignore no-console
    console.warn("shellcheck is not installed (apt-get install shellcheck); skipped");
    return;
  }
  assertEquals(check, { code: 0, stdout: "", stderr: "" });
});

Deno.test("scripts/hooks/mail-root mails one message per event and rejects bad usage", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bw-mail-root-" });
  try {
    const mail = await fakeMail(dir);
    const env = { BANWATCH_MAIL: mail.path, PATH: "/usr/bin:/bin" };
    const ban = await run(
      [MAIL_ROOT, "ban", "mail", "203.0.113.5", "3", "3600", "2", "mx.example.org"],
      { env },
    );
    assertEquals(ban, { code: 0, stdout: "", stderr: "" });
    const unban = await run([MAIL_ROOT, "unban", "mail", "2001:db8::/64", "", "forever", ""], {
      env: { ...env, BANWATCH_MAILTO: "postmaster" },
    });
    assertEquals(unban?.code, 0);
    const host = (await run(["/bin/hostname"]))?.stdout.trim() ?? "";
    assertEquals(
      await Deno.readTextFile(mail.out),
      [
        "argv: -s banwatch: ban 203.0.113.5 (mail) on mx.example.org root",
        "mx.example.org banned 203.0.113.5 in jail mail",
        "",
        "failures: 3",
        "ban time: 3600s",
        "ban count: 2",
        "--",
        `argv: -s banwatch: unban 2001:db8::/64 (mail) on ${host} postmaster`,
        `${host} unbanned 2001:db8::/64 in jail mail`,
        "",
        "failures: unknown",
        "ban time: forever",
        "ban count: unknown",
        "--",
        "",
      ].join("\n"),
    );
    const bad = await run([MAIL_ROOT, "kick", "mail", "192.0.2.1"], { env });
    assertEquals(bad, {
      code: 64,
      stdout: "",
      stderr: "usage: mail-root ban|unban JAIL ADDR [FAILURES BANTIME COUNT HOSTNAME]\n",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts run: an attack moves the metrics (promtool-valid) and runs on_ban once, not on restart", async (t) => {
  const promtool = await run(["/usr/bin/env", "promtool", "--version"], {
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
  });
  const hasPromtool = promtool !== undefined && promtool.code === 0;
  if (!hasPromtool) {
    // deno-lint-ignore no-console
    console.warn(
      "promtool is not installed (apt-get install prometheus); the metrics file is checked without it",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "bw-hooks-e2e-" });
  const mail = await fakeMail(dir);
  const metrics = `${dir}/textfile/banwatch.prom`;
  await Deno.mkdir(`${dir}/textfile`);
  const hook = (event: string) =>
    JSON.stringify([
      "/usr/bin/env",
      `BANWATCH_MAIL=${mail.path}`,
      MAIL_ROOT,
      event,
      "{jail}",
      "{addr}",
      "{failures}",
      "{bantime}",
      "{count}",
      "{hostname}",
    ]);
  const extra = `on_ban = ${hook("ban")}\non_unban = ${hook("unban")}\n`;
  // [global] keys go in through the fixture's config text: appended after the jail, so patch.
  try {
    await withDaemonFixture({ maxretry: 3, extra }, async ({ log, config }) => {
      const text = await Deno.readTextFile(config);
      await Deno.writeTextFile(
        config,
        text.replace(
          "[global]\n",
          `[global]\nmetrics_file = "${metrics}"\nmetrics_interval = "1s"\nhook_timeout = "5s"\n`,
        ),
      );

      await t.step("attack: ban, one mail, metrics move", async () => {
        const d = startDaemon(config);
        try {
          await d.waitFor(/event=started/);
          await eventually(async () => (await readOr(metrics, "")) !== "", "first metrics file");
          const first = await Deno.readTextFile(metrics);
          assertEquals(sample(first, 'banwatch_bans_total{jail="mail"}'), 0);
          assertEquals(sample(first, 'banwatch_failures_total{jail="mail"}'), 0);
          const now = Date.now() / 1000;
          await append(
            log,
            saslFailure("203.0.113.5", now) + saslFailure("192.0.2.44", now) +
              saslFailure("203.0.113.5", now) + saslFailure("203.0.113.5", now) +
              "Nov  3 20:04:17 mx postfix/smtpd[1]: connect from unknown[192.0.2.1]\n",
          );
          await d.waitFor(/event=ban jail=mail addr=203\.0\.113\.5 failures=3/);
          await eventually(
            async () => (await readOr(mail.out, "")).includes("banned 203.0.113.5"),
            "the on_ban mail",
          );
          await eventually(
            async () => sample(await readOr(metrics, ""), 'banwatch_bans_total{jail="mail"}') === 1,
            "bans_total to move",
          );
          const moved = await Deno.readTextFile(metrics);
          assertEquals(sample(moved, 'banwatch_bans_active{jail="mail"}'), 1);
          assertEquals(sample(moved, 'banwatch_failures_total{jail="mail"}'), 4);
          assertEquals(sample(moved, 'banwatch_lines_total{jail="mail"}'), 5);
          assertEquals(sample(moved, 'banwatch_unbans_total{jail="mail"}'), 0);
          assertEquals(sample(moved, "banwatch_tracked_addresses"), 1);
          assertEquals(sample(moved, "banwatch_hook_failures_total"), 0);
          assertEquals(sample(moved, "banwatch_firewall_errors_total"), 0);
          assertEquals(sample(moved, `banwatch_log_lag_seconds{path="${log}"}`), 0);
          const size = (await Deno.stat(log)).size;
          assertEquals(sample(moved, `banwatch_log_offset_bytes{path="${log}"}`), size);
          assertMatch(moved, /^banwatch_build_info\{version="[^"]+"\} 1$/m);
          const started = sample(moved, "banwatch_start_time_seconds")!;
          assertOk(Math.abs(started - now) < 60, `start time ${started}`);
        } finally {
          assertEquals(await d.stop("SIGTERM"), 0);
        }
        const stat = await Deno.stat(metrics);
        assertEquals(stat.mode! & 0o777, 0o644);
        assertEquals(
          [...Deno.readDirSync(`${dir}/textfile`)].map((e) => e.name),
          ["banwatch.prom"],
          "no temp file left",
        );
        const mails = (await Deno.readTextFile(mail.out)).split("\n--\n").filter((m) => m);
        assertEquals(mails.length, 1, mails.join("\n--\n"));
        assertMatch(mails[0]!, /^argv: -s banwatch: ban 203\.0\.113\.5 \(mail\) on \S+ root\n/);
        assertMatch(mails[0]!, /\nfailures: 3\nban time: 3600s\nban count: 1$/);
      });

      await t.step("promtool check metrics accepts the file", async () => {
        if (!hasPromtool) return;
        const out = await run(["/usr/bin/env", "promtool", "check", "metrics"], {
          env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
          stdin: await Deno.readTextFile(metrics),
        });
        assertEquals(out, { code: 0, stdout: "", stderr: "" });
      });

      await t.step("restart: the ban is restored, no hook runs, counters start again", async () => {
        const d = startDaemon(config);
        try {
          await d.waitFor(/event=bans_restored count=1/);
          await d.waitFor(/event=started/);
          await new Promise((r) => setTimeout(r, 1500));
        } finally {
          assertEquals(await d.stop("SIGTERM"), 0);
        }
        const after = await Deno.readTextFile(metrics);
        assertEquals(sample(after, 'banwatch_bans_active{jail="mail"}'), 1);
        assertEquals(sample(after, 'banwatch_bans_total{jail="mail"}'), 0);
        assertEquals(sample(after, 'banwatch_failures_total{jail="mail"}'), 0);
        const mails = (await Deno.readTextFile(mail.out)).split("\n--\n").filter((m) => m);
        assertEquals(mails.length, 1, "no hook on restore");
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
