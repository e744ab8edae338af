import { assertEquals, assertMatch } from "../_assert.ts";
import { runCli } from "../_helpers.ts";

const F2B_LOGS = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";
const F2B_FILTERS = "/etc/fail2ban/filter.d";
const F2B_REGEX = "/usr/bin/fail2ban-regex";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const unavailable = !exists(F2B_REGEX)
  ? `${F2B_REGEX} is not installed (apt-get install fail2ban; .ci/run installs it)`
  : !exists(F2B_LOGS)
  ? `fail2ban's sample logs are not in ${F2B_LOGS}`
  : undefined;

/** fail2ban-regex's counts: `Lines: N lines, I ignored, M matched, X missed` and `Failregex: T total`. */
async function fail2banRegex(
  log: string,
  filter: string,
): Promise<{ matched: number; total: number }> {
  const out = await new Deno.Command(F2B_REGEX, {
    args: [log, filter],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  const lines = /^Lines: \d+ lines, \d+ ignored, (\d+) matched/m.exec(text);
  const total = /^Failregex: (\d+) total/m.exec(text);
  if (!lines || !total) throw new Error(`fail2ban-regex printed no counts:\n${text}`);
  return { matched: Number(lines[1]), total: Number(total[1]) };
}

// postfix: single-line, dotted-quad addresses without leading zeros, so the counts must be
// fail2ban-regex's exactly. (sshd differs by design: fail2ban's sshd follows sessions across
// lines (<F-MLFID>, <F-NOFAIL>, mlfforget) and reads 192.030.0.6 as an address; banwatch matches
// each line alone and rejects leading-zero IPv4, so only the filter must load and match.)
for (const filter of ["postfix.conf", "postfix.conf[mode=aggressive]", "postfix.conf[mode=auth]"]) {
  Deno.test({
    name: `banwatch test LOG filter.d/${filter}: the counts are fail2ban-regex's`,
    ignore: unavailable !== undefined,
    async fn() {
      const f = `${F2B_FILTERS}/${filter}`;
      const log = `${F2B_LOGS}/postfix`;
      const want = await fail2banRegex(log, f);
      const r = await runCli(["test", log, f, "--json"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stderr, "");
      const j = JSON.parse(r.stdout);
      assertEquals(j.matched, want.matched);
      const total = (j.failregex as { hits: number }[]).reduce((a, b) => a + b.hits, 0);
      assertEquals(total, want.total);
    },
  });
}

Deno.test({
  name: "banwatch test LOG sshd[mode=aggressive] reads fail2ban's filter.d (--fail2ban-dir)",
  ignore: unavailable !== undefined,
  async fn() {
    const r = await runCli([
      "test",
      `${F2B_LOGS}/sshd`,
      "sshd[mode=aggressive]",
      "--fail2ban-dir",
      "/etc/fail2ban",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr, "");
    assertMatch(
      r.stdout,
      /sshd\[mode=aggressive\] \(fail2ban filter in \/etc\/fail2ban\/filter\.d\)/,
    );
    assertMatch(r.stdout, /^Lines: \d+ lines, \d+ ignored, [1-9]\d* matched/m);
  },
});

if (unavailable !== undefined) {
  Deno.test({ name: `fail2ban-regex comparison: skipped: ${unavailable}`, ignore: true, fn() {} });
}

/** A fail2ban directory of our own: INCLUDES, [Init], %(var)s and <mode> options. */
async function fakeFail2ban(): Promise<{ dir: string; log: string }> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/filter.d`);
  await Deno.writeTextFile(
    `${dir}/filter.d/common.conf`,
    "[DEFAULT]\n_daemon = \\S*\n__prefix_line = \\s*\\S+ %(_daemon)s(?:\\[\\d+\\])?:\\s+\n",
  );
  await Deno.writeTextFile(
    `${dir}/filter.d/toy.conf`,
    `[INCLUDES]
before = common.conf

[Definition]
_daemon = toyd
mdre-normal = ^%(__prefix_line)srefused connect from <HOST>$
mdre-aggressive = %(mdre-normal)s
                  ^%(__prefix_line)sbad password from <HOST>$
failregex = <mdre-<mode>>
ignoreregex =

[Init]
mode = normal
`,
  );
  const log = `${dir}/toy.log`;
  await Deno.writeTextFile(
    log,
    [
      "Feb 16 10:00:00 mx toyd[1]: refused connect from 192.0.2.1",
      "Feb 16 10:00:01 mx toyd[1]: bad password from 192.0.2.2",
      "Feb 16 10:00:02 mx other[1]: refused connect from 192.0.2.3",
      "",
    ].join("\n"),
  );
  return { dir, log };
}

Deno.test("banwatch test LOG filter.d/NAME.conf reads INCLUDES, [Init], %(var)s and <mode>", async () => {
  const { dir, log } = await fakeFail2ban();
  try {
    const normal = await runCli([
      "test",
      log,
      `${dir}/filter.d/toy.conf`,
      "--now",
      "2026-03-01T00:00:00Z",
    ]);
    assertEquals(normal.code, 0, normal.stderr);
    assertEquals(normal.stderr, "");
    assertMatch(normal.stdout, /toy\.conf \(fail2ban filter\)/);
    assertMatch(normal.stdout, /^Lines: 3 lines, 0 ignored, 1 matched, 2 missed/m);
    const aggressive = await runCli([
      "test",
      log,
      `${dir}/filter.d/toy.conf[mode=aggressive]`,
      "--now",
      "2026-03-01T00:00:00Z",
    ]);
    assertEquals(aggressive.code, 0, aggressive.stderr);
    assertMatch(aggressive.stdout, /^Lines: 3 lines, 0 ignored, 2 matched, 1 missed/m);
    // By name, under --fail2ban-dir.
    const byName = await runCli([
      "test",
      log,
      "toy[mode=aggressive]",
      "--fail2ban-dir",
      dir,
      "--now",
      "2026-03-01T00:00:00Z",
    ]);
    assertEquals(byName.code, 0, byName.stderr);
    assertMatch(byName.stdout, /^Lines: 3 lines, 0 ignored, 2 matched, 1 missed/m);
    // A name not in filter.d is a usage error naming where it looked.
    const missing = await runCli(["test", log, "nosuch[mode=x]", "--fail2ban-dir", dir]);
    assertEquals(missing.code, 2);
    assertEquals(missing.stdout, "");
    assertMatch(missing.stderr, /fail2ban filter in .*\/filter\.d/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
