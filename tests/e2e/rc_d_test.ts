import { assertEquals, assertMatch, assertOk, assertRejects } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";

const SCRIPT = `${ROOT}scripts/rc.d/banwatch`;
const STUBS = `${ROOT}tests/testdata/rc`;

interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function sh(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<ShResult> {
  const out = await new Deno.Command("sh", {
    args,
    cwd: options.cwd ?? ROOT,
    env: options.env ?? {},
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A sandbox: the rc.d script (sourcing the stub rc.subr), stub daemon and banwatch, rc.conf. */
interface Sandbox {
  dir: string;
  rc(arg: string): Promise<ShResult>;
  setConf(lines: Record<string, string>): Promise<void>;
  daemonArgv(): Promise<string[] | undefined>;
  banwatchCalls(): Promise<string[]>;
}

async function readLines(path: string): Promise<string[] | undefined> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Whether a process runs (a zombie nobody reaped counts as gone); asks ps(1). */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return stat !== "" && !stat.startsWith("Z");
}

async function withSandbox(fn: (box: Sandbox) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bwrc" });
  try {
    const script = await Deno.readTextFile(SCRIPT);
    const include = /^\. \/etc\/rc\.subr$/m;
    assertEquals(script.match(/^\. \/etc\/rc\.subr$/gm)?.length, 1, "one include of rc.subr");
    await Deno.writeTextFile(`${dir}/rc`, script.replace(include, `. ${STUBS}/rc.subr`));
    for (const stub of ["daemon", "banwatch"]) {
      await Deno.copyFile(`${STUBS}/${stub}`, `${dir}/${stub}`);
      await Deno.chmod(`${dir}/${stub}`, 0o755);
    }
    await Deno.writeTextFile(`${dir}/jails.toml`, "# test\n");
    const base: Record<string, string> = {
      "banwatch_enable": "YES",
      "banwatch_program": `${dir}/daemon`,
      "banwatch_bin": `${dir}/banwatch`,
      "banwatch_config": `${dir}/jails.toml`,
      "banwatch_pidfile": `${dir}/banwatch.pid`,
      "banwatch_daemon_pidfile": `${dir}/banwatch_daemon.pid`,
    };
    const box: Sandbox = {
      dir,
      rc: (arg) =>
        sh([`${dir}/rc`, arg], {
          cwd: dir,
          env: { RC_CONF_FILE: `${dir}/rc.conf`, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
        }),
      setConf: async (lines) => {
        const all = { ...base, ...lines };
        const text = Object.entries(all).map(([k, v]) => `${k}="${v}"`).join("\n") + "\n";
        await Deno.writeTextFile(`${dir}/rc.conf`, text);
      },
      daemonArgv: () => readLines(`${dir}/daemon.argv`),
      banwatchCalls: async () => (await readLines(`${dir}/banwatch.argv`)) ?? [],
    };
    await box.setConf({});
    await fn(box);
  } finally {
    // Never leave stub processes behind.
    for (const file of ["banwatch.pid", "banwatch_daemon.pid"]) {
      const pid = Number((await readLines(`${dir}/${file}`))?.[0]);
      if (pid > 0 && await alive(pid)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("scripts/rc.d/banwatch passes sh -n and shellcheck -s sh", async () => {
  const syntax = await sh(["-n", SCRIPT]);
  assertEquals(syntax, { code: 0, stdout: "", stderr: "" });
  let shellcheck: Deno.CommandOutput;
  try {
    shellcheck = await new Deno.Command("shellcheck", {
      args: ["-s", "sh", SCRIPT, `${STUBS}/rc.subr`, `${STUBS}/daemon`, `${STUBS}/banwatch`],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    // deno-lint-ignore no-console
    console.warn("shellcheck is not installed (apt-get install shellcheck); skipped");
    return;
  }
  assertEquals(new TextDecoder().decode(shellcheck.stdout), "");
  assertEquals(shellcheck.code, 0);
});

Deno.test("scripts/rc.d/banwatch declares rcorder lines and FreeBSD defaults", async () => {
  const script = await Deno.readTextFile(SCRIPT);
  assertMatch(script, /^# PROVIDE: banwatch$/m);
  assertMatch(script, /^# REQUIRE: LOGIN FILESYSTEMS syslogd ipfw pf$/m);
  assertMatch(script, /^# KEYWORD: shutdown$/m);
  assertMatch(script, /^: "\$\{banwatch_enable:=NO\}"$/m);
  assertMatch(script, /^: "\$\{banwatch_config:=\/usr\/local\/etc\/banwatch\/jails\.toml\}"$/m);
  assertMatch(script, /^: "\$\{banwatch_bin:=\/usr\/local\/sbin\/banwatch\}"$/m);
  assertMatch(script, /^: "\$\{banwatch_pidfile:=\/var\/run\/banwatch\.pid\}"$/m);
  assertMatch(script, /^: "\$\{banwatch_daemon_pidfile:=\/var\/run\/banwatch_daemon\.pid\}"$/m);
  assertMatch(script, /^command="\/usr\/sbin\/daemon"$/m);
  assertMatch(script, /^pidfile="\$\{banwatch_daemon_pidfile\}"$/m);
});

Deno.test("rc.d start checks the config, then runs banwatch under daemon(8); stop waits for it", async () => {
  await withSandbox(async (box) => {
    await box.setConf({ "banwatch_flags": "--log-level debug" });
    await t("start", box);
    const d = box.dir;
    assertEquals(await box.daemonArgv(), [
      "-P",
      `${d}/banwatch_daemon.pid`,
      "-p",
      `${d}/banwatch.pid`,
      "-r",
      "-S",
      "-T",
      "banwatch",
      `${d}/banwatch`,
      "run",
      "-c",
      `${d}/jails.toml`,
      "--log-level",
      "debug",
    ]);
    // The stub daemon returns once the child's pidfile exists; the child may not have
    // recorded its own argv yet.
    for (let i = 0; i < 50 && (await box.banwatchCalls()).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(await box.banwatchCalls(), [
      `check -c ${d}/jails.toml`,
      `run -c ${d}/jails.toml --log-level debug`,
    ]);
    const supervisor = Number((await readLines(`${d}/banwatch_daemon.pid`))?.[0]);
    const child = Number((await readLines(`${d}/banwatch.pid`))?.[0]);
    assertOk(await alive(supervisor) && await alive(child), "supervisor and child run");

    const status = await box.rc("status");
    assertEquals(status.code, 0);
    assertEquals(status.stdout, `banwatch is running as pid ${supervisor}.\n`);

    const again = await box.rc("start");
    assertEquals(again.code, 1);
    assertMatch(again.stderr, /banwatch already running\? \(pid=\d+\)/);

    const stop = await box.rc("stop");
    assertEquals(stop.code, 0, stop.stderr);
    assertEquals(stop.stdout, "Stopping banwatch.\n");
    assertOk(!await alive(supervisor) && !await alive(child), "both gone after stop returns");

    const down = await box.rc("status");
    assertEquals(down, { code: 1, stdout: "banwatch is not running.\n", stderr: "" });
  });
});

/** Runs an rc command that must succeed. */
async function t(arg: string, box: Sandbox): Promise<ShResult> {
  const r = await box.rc(arg);
  assertEquals(r.code, 0, `${arg}: ${r.stdout}${r.stderr}`);
  return r;
}

Deno.test("rc.d start with a broken config does not start daemon(8)", async () => {
  await withSandbox(async (box) => {
    await Deno.writeTextFile(`${box.dir}/check.fail`, "");
    const r = await box.rc("start");
    assertOk(r.code !== 0, "start fails");
    assertMatch(r.stderr, /jail\.sshd\.maxretry: must be >= 1/);
    assertMatch(r.stderr, /jails\.toml is not valid; banwatch not \(re\)started/);
    assertEquals(await box.daemonArgv(), undefined);
    assertEquals(await box.banwatchCalls(), [`check -c ${box.dir}/jails.toml`]);
  });
});

Deno.test("rc.d restart with a broken config keeps the running banwatch", async () => {
  await withSandbox(async (box) => {
    await t("start", box);
    const supervisor = Number((await readLines(`${box.dir}/banwatch_daemon.pid`))?.[0]);
    await Deno.writeTextFile(`${box.dir}/check.fail`, "");
    const r = await box.rc("restart");
    assertOk(r.code !== 0, "restart fails");
    assertOk(await alive(supervisor), "the old one still runs");
    assertEquals((await box.rc("status")).stdout, `banwatch is running as pid ${supervisor}.\n`);
    await Deno.remove(`${box.dir}/check.fail`);
    await t("restart", box);
    const next = Number((await readLines(`${box.dir}/banwatch_daemon.pid`))?.[0]);
    assertOk(next !== supervisor && await alive(next) && !await alive(supervisor), "replaced");
    await t("stop", box);
  });
});

Deno.test("rc.d reload and configtest call banwatch, never signal daemon(8)", async () => {
  await withSandbox(async (box) => {
    await t("start", box);
    const supervisor = Number((await readLines(`${box.dir}/banwatch_daemon.pid`))?.[0]);
    await t("reload", box);
    await t("configtest", box);
    assertEquals((await box.banwatchCalls()).slice(2), [
      `reload -c ${box.dir}/jails.toml`,
      `check -c ${box.dir}/jails.toml`,
    ]);
    assertOk(await alive(supervisor), "supervisor untouched (a SIGHUP would have killed it)");
    await Deno.writeTextFile(`${box.dir}/reload.code`, "78\n");
    assertOk((await box.rc("reload")).code !== 0, "a refused reload fails");
    await t("stop", box);
  });
});

Deno.test("rc.d start without banwatch_enable=YES does nothing; onestart works", async () => {
  await withSandbox(async (box) => {
    await box.setConf({ "banwatch_enable": "NO" });
    const r = await box.rc("start");
    assertEquals(r.code, 0);
    assertMatch(r.stdout, /Cannot 'start' banwatch\. Set banwatch_enable to YES/);
    assertEquals(await box.daemonArgv(), undefined);
    await t("onestart", box);
    assertOk((await box.daemonArgv()) !== undefined, "onestart ran daemon(8)");
    await t("onestop", box);
  });
});

Deno.test("rc.d start refuses when the config file is missing", async () => {
  await withSandbox(async (box) => {
    await Deno.remove(`${box.dir}/jails.toml`);
    const r = await box.rc("start");
    assertOk(r.code !== 0);
    assertMatch(r.stderr, /jails\.toml is not readable/);
    assertEquals(await box.daemonArgv(), undefined);
  });
});

Deno.test("rc.d stub rc.subr rejects an unknown command", async () => {
  await withSandbox(async (box) => {
    const r = await box.rc("explode");
    assertEquals(r.code, 1);
    assertMatch(r.stderr, /unknown directive 'explode'/);
    await assertRejects(() => Deno.stat(`${box.dir}/daemon.argv`));
  });
});
