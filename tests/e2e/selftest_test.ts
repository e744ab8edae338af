/**
 * scripts/freebsd/selftest.sh cannot run here (it needs FreeBSD, root, jails and ipfw); its
 * `--dry-run` prints every command it would run, through the same function that runs them,
 * so these tests check that sequence: order, quoting of paths with spaces and quotes, and
 * the cleanup trap's order. Also `sh -n`, shellcheck, and the FreeBSD workflow with yamllint
 * and action-validator (each skipped with a reason when not installed; .ci/run installs them).
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";

const SCRIPT = `${ROOT}scripts/freebsd/selftest.sh`;
const WORKFLOW = `${ROOT}.github/workflows/freebsd.yml`;
const VALIDATOR = `${ROOT}scripts/freebsd/action-validator`;
const SRC = ROOT.replace(/\/$/, "");

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Output | undefined> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd: ROOT,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/",
        ...env,
      },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function skip(what: string): void {
  // deno-lint-ignore no-console
  console.warn(`${what}; skipped`);
}

/** Runs the dry run in a temporary directory whose name has a space; returns its lines. */
async function dryRun(
  args: string[],
  fn: (lines: string[], tmp: string, out: Output) => void | Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "bw selftest " });
  try {
    const out = await run("sh", [SCRIPT, "--dry-run", ...args], { TMPDIR: base });
    assertOk(out !== undefined, "sh runs");
    await fn(out.stdout.split("\n").filter((l) => l !== ""), base, out);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

/** `text` quoted as the script's q() quotes it. */
function q(text: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** Asserts that `patterns` match lines of `lines` in this order (other lines may come between);
 * returns the indexes matched. */
function assertSequence(lines: string[], patterns: (string | RegExp)[]): number[] {
  const at: number[] = [];
  let i = 0;
  for (const p of patterns) {
    const matches = (l: string) => typeof p === "string" ? l === p : p.test(l);
    while (i < lines.length && !matches(lines[i]!)) i++;
    assertOk(
      i < lines.length,
      `expected, in order, a line ${p}\nafter line ${at.at(-1)}: ${lines[at.at(-1) ?? 0]}\n---\n${
        lines.join("\n")
      }`,
    );
    at.push(i);
    i++;
  }
  return at;
}

/** Splits each printed command (`+ cmd`, `? cmd`, without a trailing `&` or `> FILE`) into its
 * words by having sh parse it: proves the printed lines are sh and quoted as meant. */
async function words(commands: string[]): Promise<string[][]> {
  const script = commands.map((c) => {
    const body = c.slice(2).replace(/ &$/, "").replace(/ >>? ('[^']*'|[^ ']+)$/, " REDIRECT $1");
    return `set -- ${body}; for a; do printf '%s\\037' "$a"; done; printf '\\036'`;
  }).join("\n");
  const out = await run("sh", ["-c", script]);
  assertOk(out !== undefined && out.code === 0, `sh parses every printed command: ${out?.stderr}`);
  return out.stdout.split("\x1e").slice(0, commands.length).map((w) =>
    w.split("\x1f").slice(0, -1)
  );
}

Deno.test("selftest.sh passes sh -n, bash -n and shellcheck -s sh", async () => {
  for (const shell of ["sh", "bash"]) {
    const syntax = await run(shell, ["-n", SCRIPT]);
    if (syntax === undefined) {
      skip(`${shell} is not installed`);
      continue;
    }
    assertEquals(syntax, { code: 0, stdout: "", stderr: "" }, shell);
  }
  const check = await run("shellcheck", ["-s", "sh", SCRIPT]);
  if (check === undefined) return skip("shellcheck is not installed (apt-get install shellcheck)");
  assertEquals(check.stdout, "");
  assertEquals(check.code, 0);
  const wrapper = await run("shellcheck", [VALIDATOR]);
  assertEquals(wrapper?.stdout, "");
});

Deno.test("selftest.sh --dry-run: build, tests, jail, service, logs, ipfw, nc, newsyslog, reload/stop/start, cleanup", async () => {
  await dryRun(["--report", "report dir"], async (lines, tmp, out) => {
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.stderr, "");
    const t = `${tmp}/banwatch-selftest.XXXXXX`;
    const r = `${t}/root`;
    const bin = `${t}/build/banwatch`;
    const report = `${SRC}/report dir`;
    const J = "banwatch_selftest";
    const jx = (cmd: string) => `+ jexec ${J} ${cmd}`;
    const sasl = (ip: string) =>
      `warning: unknown[${ip}]: SASL LOGIN authentication failed: authentication failure`;
    const at = assertSequence(lines, [
      `+ mktemp -d ${q(t)}`,
      "# step 1. build",
      "? command -v deno",
      "+ env ASSUME_ALWAYS_YES=yes pkg install -y deno",
      `+ deno task --config ${q(`${SRC}/deno.json`)} compile -o ${q(bin)}`,
      "# check build",
      `+ cp ${q(bin)} ${q(`${t}/bare/banwatch`)}`,
      /^\+ env -i PATH=\/bin:\/usr\/bin:\/sbin:\/usr\/sbin HOME=\/nonexistent sh -c .*\.\/banwatch --version.* sh '.*\/bare'$/,
      "# check binary",
      `+ ldd ${q(bin)} > ${q(`${t}/ldd.txt`)}`,
      "# check ldd",
      "# step 2. unit and CLI tests",
      `+ deno task --config ${q(`${SRC}/deno.json`)} test > ${q(`${t}/tests.txt`)}`,
      "# check tests",
      "# step 3. banwatch under daemon(8) in a vnet jail with ipfw",
      `? jls -j ${J} jid`,
      "? kldstat -q -m ipfw",
      "+ kenv net.inet.ip.fw.default_to_accept=1",
      "+ kldload ipfw",
      "+ ifconfig epair create",
      `+ mount_nullfs -o ro /usr ${q(`${r}/usr`)}`,
      /^\+ sh -c 'tar -cf - -C \/etc --exclude master\.passwd --exclude spwd\.db .*' sh '.*\/root\/etc'$/,
      /^\+ printf .*'banwatch_enable="YES"'.*'local_startup="\/selftest\/rc\.d"'.* > '.*\/root\/etc\/rc\.conf'$/,
      /^\+ printf .*'\[jail\.selftest-file\]'.*'rule = 1000' 'port = \[2525\]'.* > '.*\/root\/selftest\/jails\.toml'$/,
      `+ cp ${q(bin)} ${q(`${r}/selftest/banwatch`)}`,
      `+ cp ${q(`${SRC}/scripts/rc.d/banwatch`)} ${q(`${r}/selftest/rc.d/banwatch`)}`,
      `+ jail -c name=${J} ${
        q(`path=${r}`)
      } host.hostname=bwtest vnet vnet.interface=epair0b mount.devfs persist`,
      "+ ifconfig epair0a inet 192.0.2.1/24 up",
      "+ ifconfig epair0a inet 192.0.2.3/32 alias",
      jx("ifconfig epair0b inet 192.0.2.2/24 up"),
      jx("ipfw -q add 65000 allow ip from any to any"),
      jx("/usr/sbin/syslogd -ss"),
      jx("nc -d -k -l 2525 &"),
      "+ nc -z -w 3 -s 192.0.2.1 192.0.2.2 2525",
      "# check jail",
      `+ jexec -l ${J} service banwatch onestart`,
      jx("/selftest/banwatch status -c /selftest/jails.toml"),
      "# check start",
      ...[1, 2, 3].map(() =>
        `+ printf '%s\\n' 'Jan  1 00:00:00 bwtest postfix/smtpd[4242]: ${sasl("192.0.2.1")}' >> ${
          q(`${r}/var/log/selftest.log`)
        }`
      ),
      jx("ipfw table bw-selftest-file list"),
      "# check ban-file",
      jx("ipfw list 1000"),
      "# check rule",
      "+ nc -z -w 3 -s 192.0.2.1 192.0.2.2 2525",
      "+ nc -z -w 3 -s 192.0.2.3 192.0.2.2 2525",
      "# check connect",
      ...[1, 2, 3, 4].map((n) =>
        jx(`logger -p mail.warning -t 'postfix/smtpd[500${n}]' '${sasl("198.51.100.7")}'`)
      ),
      jx("ipfw table bw-selftest-syslog list"),
      "# check syslog-format",
      ...[1, 2, 3, 4].map(() =>
        jx(`logger -p mail.warning -t 'postfix/smtpd[5100]' '${sasl("198.51.100.8")}'`)
      ),
      /^\+ jexec banwatch_selftest logger -p mail\.info -t 'postfix\/smtpd\[5100\]' 'disconnect from unknown\[198\.51\.100\.8\]/,
      `? grep -q 'last message repeated 3 times' ${q(`${r}/var/log/maillog`)}`,
      "# check syslog-repeat",
      jx("/selftest/banwatch status -c /selftest/jails.toml"),
      jx("/selftest/banwatch banned -c /selftest/jails.toml"),
      jx("/selftest/banwatch unban 198.51.100.7 -c /selftest/jails.toml"),
      "# check control",
      /^\+ jexec banwatch_selftest sh -c '.*logger -p local3\.notice .*' sh 250 &$/,
      jx("newsyslog -F -f /selftest/newsyslog.conf"),
      jx("ipfw table bw-selftest-rotate list"),
      `? test -f ${q(`${r}/var/log/rotate.log.0.bz2`)}`,
      "# check rotate",
      `+ jexec -l ${J} service banwatch reload`,
      "# check reload",
      `+ jexec -l ${J} service banwatch stop`,
      `? test -e ${q(`${r}/var/run/banwatch.pid`)}`,
      `? test -e ${q(`${r}/var/run/banwatch_daemon.pid`)}`,
      `? pgrep -j ${J} -f /selftest/banwatch`,
      "# check stop",
      jx("ipfw -q table bw-selftest-file flush"),
      `+ jexec -l ${J} service banwatch start`,
      jx("ipfw table bw-selftest-file list"),
      "# check restart",
      "# step 4. idle daemon and catch-up",
      "+ ps -o rss=,time= -p PID",
      "# check idle",
      `+ deno run --allow-read --allow-write ${
        q(`${SRC}/scripts/gen_maillog.ts`)
      } --lines 1000000 -o ${q(`${t}/catchup/maillog`)}`,
      /^\+ \/usr\/bin\/time -p -o '.*\/catchup\/time' '.*\/build\/banwatch' run -c '.*\/catchup\/jails\.toml' --replay --dry-run > /,
      "? command -v fail2ban-regex",
      "# check catchup",
      "selftest: dry run, nothing was run (the cleanup follows)",
      // The trap: the newest thing made is undone first.
      "# step cleanup",
      `? jexec -l ${J} service banwatch onestatus`,
      jx("ipfw -q delete 1000"),
      jx("ipfw -q table bw-selftest-file destroy"),
      jx("ipfw -q table bw-selftest-syslog destroy"),
      jx("ipfw -q table bw-selftest-rotate destroy"),
      `+ jail -r ${J}`,
      ...["usr", "libexec", "lib", "sbin", "bin"].map((d) => `+ umount ${q(`${r}/${d}`)}`),
      "+ ifconfig epair0a destroy",
      "+ kldunload if_epair",
      "+ kldunload ipfw",
      "+ kenv -u net.inet.ip.fw.default_to_accept",
      `+ mkdir -p ${q(report)}`,
      `+ cp ${q(`${t}/ldd.txt`)} ${q(`${report}/`)}`,
      `+ cp ${q(`${r}/var/log/selftest.log`)} ${q(`${report}/jail-selftest.log`)}`,
      `+ rm -rf ${q(t)}`,
    ]);
    assertEquals(at.at(-1), lines.length - 1, "rm -rf of the temporary directory comes last");
    // Nothing runs twice that must run once, and nothing real runs before mktemp.
    assertEquals(lines.filter((l) => l.startsWith("+ jail -c")).length, 1);
    assertEquals(lines.filter((l) => l.startsWith("+ kldload ipfw")).length, 1);
    assertOk(lines.findIndex((l) => /^[+?] /.test(l)) === at[0], "mktemp is the first command");

    // Every printed command is sh: parsed back, each path with a space is one word.
    const commands = lines.filter((l) => /^[+?] /.test(l));
    const parsed = await words(commands);
    let spaced = 0;
    for (const [k, argv] of parsed.entries()) {
      for (const w of argv) {
        assertOk(
          !/\/bw$|^selftest |\/report$|^dir\//.test(w),
          `a path split at its space: ${commands[k]}`,
        );
        if (w.includes("bw selftest")) assertOk(w.includes(tmp), commands[k]);
        if (w.includes("report dir")) assertOk(w.includes(report), commands[k]);
        if (w.includes("bw selftest") || w.includes("report dir")) spaced++;
      }
    }
    assertOk(spaced > 40, `paths with spaces were checked (${spaced})`);
    const jail = parsed[commands.findIndex((c) => c.startsWith("+ jail -c"))]!;
    assertEquals(jail.slice(0, 4), ["jail", "-c", `name=${J}`, `path=${r}`]);
  });
});

Deno.test("selftest.sh --dry-run --skip-compile BINARY --skip-tests: the given binary, quoted, and no build", async () => {
  await dryRun(
    ["--skip-compile", "it's here/bin ary", "--skip-tests"],
    async (lines, tmp, out) => {
      assertEquals(out.code, 0, out.stderr);
      const t = `${tmp}/banwatch-selftest.XXXXXX`;
      const bin = `${SRC}/it's here/bin ary`; // relative: made absolute
      assertOk(!lines.some((l) => /pkg install|deno task .*compile|deno task .* test/.test(l)));
      assertSequence(lines, [
        "# check build",
        `+ cp ${q(bin)} ${q(`${t}/bare/banwatch`)}`,
        `+ ldd ${q(bin)} > ${q(`${t}/ldd.txt`)}`,
        `+ cp ${q(bin)} ${q(`${t}/root/selftest/banwatch`)}`,
        /^\+ \/usr\/bin\/time .*\/it'\\''s here\/bin ary' run -c /,
      ]);
      const cp = lines.find((l) => l.startsWith("+ cp ") && l.includes("bare"))!;
      assertEquals((await words([cp]))[0], ["cp", bin, `${t}/bare/banwatch`]);
    },
  );
});

Deno.test("selftest.sh --dry-run --keep: nothing undone, the undo commands printed", async () => {
  await dryRun(["--keep"], (lines, tmp) => {
    const t = `${tmp}/banwatch-selftest.XXXXXX`;
    const after = lines.slice(lines.indexOf("# step cleanup"));
    assertOk(!after.some((l) => /^\+ (jail -r|umount|ifconfig .* destroy|rm -rf)/.test(l)));
    assertSequence(after, [
      "selftest: --keep: left in place; to undo, run as root:",
      "  jexec banwatch_selftest ipfw -q delete 1000",
      "  jail -r banwatch_selftest",
      `  umount ${q(`${t}/root/usr`)}`,
      "  ifconfig epair0a destroy",
      "  kldunload ipfw",
      `  kenv -u net.inet.ip.fw.default_to_accept`,
    ]);
    assertOk(!after.some((l) => l.startsWith("+ rm -rf")), "temporary directory kept");
    assertEquals(after.at(-1), `  rm -rf ${q(t)}`);
  });
});

Deno.test("selftest.sh refuses bad arguments and, without --dry-run, anything but FreeBSD", async () => {
  const bad = await run("sh", [SCRIPT, "--frobnicate"]);
  assertEquals(bad?.code, 2);
  assertMatch(bad?.stderr ?? "", /unknown argument: --frobnicate/);
  const missing = await run("sh", [SCRIPT, "--skip-compile"]);
  assertEquals(missing?.code, 2);
  const help = await run("sh", [SCRIPT, "--help"]);
  assertEquals(help?.code, 0);
  assertMatch(help?.stdout ?? "", /--skip-compile BINARY/);
  if (Deno.build.os !== "freebsd") {
    const here = await run("sh", [SCRIPT]);
    assertEquals(here?.code, 2);
    assertMatch(here?.stderr ?? "", /runs on FreeBSD only/);
    assertEquals(here?.stdout, "", "nothing made, nothing to clean");
  }
});

Deno.test(".github/workflows/freebsd.yml passes yamllint and action-validator", async () => {
  const text = await Deno.readTextFile(WORKFLOW);
  assertMatch(text, /uses: vmactions\/freebsd-vm@v\d+\.\d+\.\d+\n/, "the VM action pinned by tag");
  assertMatch(text, /release: \["14\.\d+"\]/);
  assertMatch(text, /sh scripts\/freebsd\/selftest\.sh --report "\$PWD\/selftest-report"/);
  assertMatch(text, /uses: actions\/upload-artifact@v\d+[\s\S]*path: selftest-report\//);

  const lint = await run("yamllint", [
    "-s",
    "-d",
    "{extends: default, rules: {line-length: {max: 100}}}",
    WORKFLOW,
  ]);
  if (lint === undefined) skip("yamllint is not installed (apt-get install yamllint)");
  else assertEquals(lint, { code: 0, stdout: "", stderr: "" }, lint.stdout);

  const valid = await run("bash", [VALIDATOR, WORKFLOW], { ACTION_VALIDATOR_NO_INSTALL: "1" });
  if (valid === undefined || valid.code === 127) {
    return skip(
      `action-validator is not available (${
        valid?.stderr.trim() ?? "bash is missing"
      }): bash .ci/run installs it`,
    );
  }
  assertEquals(valid.code, 0, valid.stdout + valid.stderr);
  // It does reject a broken workflow (so a pass means something).
  const dir = await Deno.makeTempDir({ prefix: "bwwf" });
  try {
    await Deno.writeTextFile(
      `${dir}/bad.yml`,
      text.replace("runs-on: ubuntu-latest", "runs-onn: ubuntu-latest"),
    );
    const bad = await run("bash", [VALIDATOR, `${dir}/bad.yml`], {
      ACTION_VALIDATOR_NO_INSTALL: "1",
    });
    assertEquals(bad?.code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
