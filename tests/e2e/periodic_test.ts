import { assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";
import { openStore } from "../../lib/state/mod.ts";
import { createLogger } from "../../lib/core/mod.ts";

const SCRIPT = `${ROOT}/scripts/periodic/security/560.banwatch`;
const STANDIN = `${ROOT}/tests/testdata/periodic`;

/** A periodic root: the stand-in defaults and security.functions, a log dir, periodic.conf. */
async function periodicRoot(conf: string): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "banwatch-periodic-" });
  await Deno.mkdir(`${root}/etc/defaults`, { recursive: true });
  await Deno.mkdir(`${root}/etc/periodic/security`, { recursive: true });
  await Deno.mkdir(`${root}/var/log`, { recursive: true });
  await Deno.copyFile(
    `${STANDIN}/etc/defaults/periodic.conf`,
    `${root}/etc/defaults/periodic.conf`,
  );
  await Deno.copyFile(
    `${STANDIN}/etc/periodic/security/security.functions`,
    `${root}/etc/periodic/security/security.functions`,
  );
  await Deno.writeTextFile(`${root}/etc/periodic.conf`, conf);
  return root;
}

/** A stand-in banwatch: prints `report.txt`, exits with `code.txt` (default 0). */
async function fakeBanwatch(root: string): Promise<string> {
  const path = `${root}/banwatch`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\necho "$@" >> "${root}/argv.txt"\ncat "${root}/report.txt"\n` +
      `[ -f "${root}/code.txt" ] && exit "$(cat "${root}/code.txt")"\nexit 0\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

async function runScript(
  root: string,
  periodic = "security daily",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("sh", {
    args: [SCRIPT],
    env: { BANWATCH_PERIODIC_ROOT: root, PERIODIC: periodic, host: "mx.example.org" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("560.banwatch passes sh -n and shellcheck -s sh, and so do the stand-ins", async () => {
  const files = [
    SCRIPT,
    `${STANDIN}/etc/defaults/periodic.conf`,
    `${STANDIN}/etc/periodic/security/security.functions`,
  ];
  for (const f of files) {
    const n = await new Deno.Command("sh", { args: ["-n", f], stderr: "piped" }).output();
    assertEquals(n.code, 0, new TextDecoder().decode(n.stderr));
    let check: Deno.CommandOutput;
    try {
      check = await new Deno.Command("shellcheck", { args: ["-s", "sh", f], stdout: "piped" })
        .output();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      // deno-lint-ignore no-console
      console.warn("shellcheck is not installed (apt-get install shellcheck); skipped");
      continue;
    }
    assertEquals(new TextDecoder().decode(check.stdout), "", f);
    assertEquals(check.code, 0, f);
  }
});

Deno.test("560.banwatch mails only new lines: a second run with the same report prints nothing", async () => {
  const root = await periodicRoot("");
  try {
    const program = await fakeBanwatch(root);
    await Deno.writeTextFile(
      `${root}/etc/periodic.conf`,
      `security_status_banwatch_enable="YES"\nsecurity_status_banwatch_program="${program}"\n` +
        `security_status_banwatch_flags="-c ${root}/jails.toml"\n`,
    );
    await Deno.writeTextFile(
      `${root}/report.txt`,
      "jail postfix-auth: 12 failures, 2 bans, 1 unban\ntop 203.0.113.5: 9 failures, 2 bans (postfix-auth)\n",
    );
    // The first run only keeps a copy (as FreeBSD's check_diff does): "No .../banwatch.today".
    const first = await runScript(root);
    assertEquals(first.code, 1, first.stderr);
    assertEquals(first.stdout, `\nNo ${root}/var/log/banwatch.today\n`);
    assertEquals(
      await Deno.readTextFile(`${root}/argv.txt`),
      `report --periodic --since 1d -c ${root}/jails.toml\n`,
    );

    const second = await runScript(root);
    assertEquals(second, { code: 0, stdout: "", stderr: "" });

    await Deno.writeTextFile(
      `${root}/report.txt`,
      "jail postfix-auth: 12 failures, 2 bans, 1 unban\ntop 203.0.113.5: 9 failures, 2 bans (postfix-auth)\n" +
        "repeat 203.0.113.5 in postfix-auth: 2 bans in the period, ban #2 (bantime up to 40m)\n",
    );
    const third = await runScript(root);
    assertEquals(third.code, 1, third.stderr);
    assertMatch(third.stdout, /mx\.example\.org banwatch report \(last 1d\):\n/);
    assertMatch(third.stdout, /^\+repeat 203\.0\.113\.5 in postfix-auth/m);
    assertNotMatch(third.stdout, /jail postfix-auth|top 203/);

    // Nothing happened (the report prints nothing): nothing is mailed.
    await Deno.writeTextFile(`${root}/report.txt`, "");
    assertEquals(await runScript(root), { code: 0, stdout: "", stderr: "" });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("560.banwatch is off by default, follows its period, and returns 2 on bad configuration", async () => {
  const root = await periodicRoot("");
  try {
    const program = await fakeBanwatch(root);
    await Deno.writeTextFile(`${root}/report.txt`, "jail a: 1 failure, 0 bans, 0 unbans\n");
    assertEquals(await runScript(root), { code: 0, stdout: "", stderr: "" });

    const conf = (extra: string) =>
      Deno.writeTextFile(
        `${root}/etc/periodic.conf`,
        `security_status_banwatch_enable="YES"\nsecurity_status_banwatch_program="${program}"\n${extra}`,
      );
    await conf(`security_status_banwatch_period="weekly"\n`);
    assertEquals(await runScript(root, "security daily"), { code: 0, stdout: "", stderr: "" });
    assertEquals((await runScript(root, "security weekly")).code, 1);
    assertEquals(await Deno.readTextFile(`${root}/argv.txt`), "report --periodic --since 7d\n");

    await conf(`security_status_banwatch_period="hourly"\n`);
    const bad = await runScript(root, "");
    assertEquals(bad.code, 2);
    assertMatch(bad.stdout, /security_status_banwatch_period must be daily, weekly or monthly/);

    await conf("");
    await Deno.writeTextFile(`${root}/code.txt`, "78");
    const config = await runScript(root);
    assertEquals(config.code, 2);
    assertMatch(config.stdout, /banwatch report failed \(exit 78\)/);

    await Deno.writeTextFile(`${root}/code.txt`, "1");
    assertEquals((await runScript(root)).code, 1);

    await conf(`security_status_banwatch_program="${root}/missing"\n`);
    const missing = await runScript(root);
    assertEquals(missing.code, 2);
    assertMatch(missing.stdout, /missing or not executable/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("560.banwatch with the real banwatch report: new lines once, then nothing", async () => {
  const root = await periodicRoot("");
  try {
    const now = Date.now() / 1000;
    const store = openStore(`${root}/state/state.db`, {
      logger: createLogger({ write: () => {} }),
    });
    try {
      store.transaction(() => {
        store.events.addFailures([{
          hour: Math.floor(now / 3600) * 3600,
          jail: "postfix-auth",
          addr: "203.0.113.5",
          count: 3,
        }]);
        store.events.addEvents([{
          time: now - 60,
          kind: "ban",
          jail: "postfix-auth",
          target: "203.0.113.5/32",
          failures: 3,
          banCount: 1,
          bantime: 1200,
          origin: "auto",
        }]);
      });
    } finally {
      store.close();
    }
    await Deno.writeTextFile(`${root}/jails.toml`, `[global]\nstate_dir = "${root}/state"\n`);
    const program = `${root}/banwatch`;
    await Deno.writeTextFile(
      program,
      `#!/bin/sh\nexec "${Deno.execPath()}" run -A --quiet "${ROOT}/main.ts" "$@"\n`,
    );
    await Deno.chmod(program, 0o755);
    await Deno.writeTextFile(
      `${root}/etc/periodic.conf`,
      `security_status_banwatch_enable="YES"\nsecurity_status_banwatch_program="${program}"\n` +
        `security_status_banwatch_flags="-c ${root}/jails.toml"\n`,
    );
    const first = await runScript(root);
    assertEquals(first.code, 1, first.stdout + first.stderr);
    const kept = await Deno.readTextFile(`${root}/var/log/banwatch.today`);
    assertMatch(kept, /^jail postfix-auth: 3 failures, 1 ban, 0 unbans$/m);
    assertMatch(kept, /^top 203\.0\.113\.5: 3 failures, 1 ban \(postfix-auth\)$/m);
    assertNotMatch(kept, /[▁-█]|banwatch report:/);
    assertEquals(await runScript(root), { code: 0, stdout: "", stderr: "" });
    // A second ban of the same address: the new lines only, the old ones not again.
    const again = openStore(`${root}/state/state.db`, {
      logger: createLogger({ write: () => {} }),
    });
    try {
      again.events.addEvents([{
        time: now - 30,
        kind: "ban",
        jail: "postfix-auth",
        target: "203.0.113.5/32",
        failures: 3,
        banCount: 2,
        bantime: 2400,
        origin: "auto",
      }]);
    } finally {
      again.close();
    }
    const third = await runScript(root);
    assertEquals(third.code, 1, third.stderr);
    assertMatch(third.stdout, /^\+jail postfix-auth: 3 failures, 2 bans, 0 unbans$/m);
    assertMatch(
      third.stdout,
      /^\+repeat 203\.0\.113\.5 in postfix-auth: 2 bans in the period, ban #2 /m,
    );
    assertNotMatch(third.stdout, /1 ban, 0 unbans/);
    assertEquals(await runScript(root), { code: 0, stdout: "", stderr: "" });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
