// `banwatch import-fail2ban` on the admin's set-up (tests/testdata/fail2ban, the seed's
// filters and jail.local), its logs redirected through paths-overrides.local as fail2ban
// allows; then `banwatch check` on the result.
import { assertEquals, assertMatch } from "../_assert.ts";
import { ROOT, runCli } from "../_helpers.ts";

const FIXTURE = `${ROOT}tests/testdata/fail2ban`;

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("import-fail2ban converts the seed's set-up with its report, and banwatch check accepts it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f2b = `${dir}/fail2ban`;
    await copyDir(FIXTURE, f2b);
    await Deno.writeTextFile(
      `${f2b}/paths-overrides.local`,
      `[DEFAULT]\nsyslog_authpriv = ${f2b}/logs/auth.log\nsyslog_all = ${f2b}/logs/all.log\n` +
        `syslog_mail = ${f2b}/logs/maillog\n`,
    );
    const out = `${dir}/jails.toml`;
    const r = await runCli(["import-fail2ban", f2b, "-o", out]);
    assertEquals([r.code, r.stdout], [0, ""]);
    const err = r.stderr.split("\n");
    const lines = (re: RegExp) => err.filter((l) => re.test(l));
    assertEquals(lines(/: not converted: /), []);
    assertEquals(lines(/: note: measured on /).length, 3);
    assertEquals(
      lines(/^\S+:\d+: \S+: warning: /).map((l) =>
        l.replace(/^\S+:\d+: (\S+): warning: (\S+ \S+ \S+).*$/, "$1 $2")
      ),
      [
        "jail.dovecot-pop3imap.filter failregex[0]: unanchored: text",
        "jail.qpopperauth.filter failregex[0]: unanchored: text",
        'jail.qpopperauth.action ipfw table "qpopperauth.conf"',
        "jail.postfix-auth.filter failregex[0]: unanchored: text",
      ],
    );
    assertMatch(r.stderr, /attacker-steerable: .*anchored rewrite: \^\\S\+ qpopper/);
    assertMatch(r.stderr, /\nfirewall changes to make by hand:\n {2}jail dovecot-pop3imap: /);
    const toml = await Deno.readTextFile(out);
    assertMatch(toml, /^rule = 112 {2}# as fail2ban's bsd-ipfw/m);

    const check = await runCli(["check", "-c", out]);
    assertEquals(check.code, 0);
    assertEquals(check.stdout, `${out}: OK: 3 jails (3 enabled), 4 warnings\n`);
    assertEquals(check.stderr.split("\n").filter((l) => l !== "").length, 4);
    assertMatch(check.stderr, /jail\.qpopperauth\.failregex\[0\]: warning: attacker-steerable/);

    const filter = await runCli([
      "import-fail2ban",
      "--filter",
      `${f2b}/filter.d/qpopperauth.conf`,
    ]);
    assertEquals([filter.code, filter.stderr], [0, ""]);
    assertMatch(filter.stdout, /^failregex = \['\.\* at \.\* \\\(<HOST>\\\): -ERR/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
