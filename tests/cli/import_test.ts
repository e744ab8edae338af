import { assertEquals, assertMatch, assertOk, assertRejects } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";
import { IMPORT_COMMAND } from "../../lib/cli/commands/import.ts";
import type { CommandContext } from "../../lib/cli/command.ts";
import { parseConfig, parseFilterFile } from "../../lib/config/mod.ts";
import { RuntimeError, UsageError } from "../../lib/core/errors.ts";

const FIXTURE = `${ROOT}tests/testdata/fail2ban`;

function capture(): { ctx: CommandContext; out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    ctx: { io: { out: (t) => void (out += t), err: (t) => void (err += t) }, now: () => 0 },
    out: () => out,
    err: () => err,
  };
}

Deno.test("IMPORT_COMMAND converts a fail2ban directory to jails.toml on stdout", async () => {
  const c = capture();
  const code = await IMPORT_COMMAND.run([FIXTURE], c.ctx);
  assertEquals(code, 0);
  assertMatch(
    c.err(),
    /jail\.qpopperauth\.action: warning: ipfw table "qpopperauth\.conf" ends in/,
  );
  assertMatch(c.err(), /\nfirewall changes to make by hand:\n {2}jail dovecot-pop3imap: /);
  const config = parseConfig(c.out(), { file: "stdout.toml" });
  assertEquals(config.jails.map((j) => [j.name, j.table, j.ruleNumber, j.manageRule]), [
    ["dovecot-pop3imap", "dovecot-pop3imap", 111, true],
    ["qpopperauth", "qpopperauth.conf", 112, true],
    ["postfix-auth", "postfix-auth", 113, true],
  ]);
});

Deno.test("IMPORT_COMMAND writes -o FILE and reports what it could not convert on stderr", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/f2b/filter.d`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/f2b/filter.d/x.conf`,
      "[Definition]\nfailregex = ^login failed from <HOST>$\n",
    );
    await Deno.writeTextFile(
      `${dir}/f2b/jail.local`,
      "[x]\nenabled = true\nfilter = x\nlogpath = /var/log/x.log\naction = iptables[name=x]\nbroken line\n" +
        "[y]\nenabled = true\nlogpath = /var/log/y.log\n",
    );
    const c = capture();
    const code = await IMPORT_COMMAND.run([`${dir}/f2b`, "-o", `${dir}/jails.toml`], c.ctx);
    assertEquals([code, c.out()], [0, ""]);
    assertEquals(c.err().split("\n").filter((l) => / not converted: /.test(l)), [
      `${dir}/f2b/jail.local:6: syntax: not converted: malformed line (expected "key = value", "[section]" or a comment): broken line`,
      `${dir}/f2b/jail.local:8: jail.y.filter: not converted: the jail has no usable filter; the jail is written with enabled = false`,
    ]);
    const config = parseConfig(await Deno.readTextFile(`${dir}/jails.toml`), { file: "j.toml" });
    assertEquals(config.jails[0]?.filter.failregex, ["^login failed from <HOST>$"]);
    assertEquals(config.jails.map((j) => [j.name, j.enabled, j.backend]), [
      ["x", true, "nft"],
      ["y", false, "dry-run"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("IMPORT_COMMAND --filter converts one filter into a banwatch filter file", async () => {
  const c = capture();
  const code = await IMPORT_COMMAND.run([FIXTURE, "--filter", "postfix-auth"], c.ctx);
  assertEquals([code, c.err()], [0, ""]);
  const spec = parseFilterFile(c.out(), "postfix-auth.toml");
  assertEquals(spec.failregex, ["warning: unknown\\[<HOST>\\]: SASL LOGIN authentication failed"]);
  const missing = capture();
  assertEquals(await IMPORT_COMMAND.run([FIXTURE, "--filter", "nope"], missing.ctx), 1);
  assertMatch(missing.err(), /filter "nope" not found/);
});

Deno.test("IMPORT_COMMAND rejects bad arguments with UsageError and a missing DIR with RuntimeError", async () => {
  const c = capture();
  const cases: [string[], typeof UsageError | typeof RuntimeError, RegExp][] = [
    [["a", "b"], UsageError, /one DIR/],
    [["--bogus"], UsageError, /bogus/],
    [[FIXTURE, "-o"], UsageError, /output/],
    [["/nonexistent/fail2ban"], RuntimeError, /cannot read fail2ban configuration \/nonexistent/],
  ];
  for (const [args, type, re] of cases) {
    const e = await assertRejects(() => IMPORT_COMMAND.run(args, c.ctx), re);
    assertOk(e instanceof type, `${args.join(" ")}: ${e.name}`);
  }
  assertOk(IMPORT_COMMAND.help.includes("import-fail2ban [DIR]"));
});
