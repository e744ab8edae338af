import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { parseConfig } from "../../lib/config/parse_config.ts";
import { ConfigError } from "../../lib/core/errors.ts";

const JAIL = `[jail.sshd]
filter = "sshd"
logpath = "/var/log/auth.log"
`;

function problemsOf(text: string): readonly string[] {
  const e = assertThrows(() => parseConfig(text, { file: "t.toml", readFile: () => undefined }));
  assertOk(e instanceof ConfigError, `expected ConfigError, got ${e.name}`);
  return e.problems;
}

Deno.test("jails.toml takes durations as fail2ban writes them", () => {
  const config = parseConfig(
    `${JAIL}bantime = "1 day"\nfindtime = "20min"\n[jail.sshd.bantime_increment]\nenabled = true\nmaxtime = "1d 2h"\n`,
    { file: "t.toml", readFile: () => undefined },
  );
  const jail = config.jails[0];
  assertOk(jail);
  assertEquals(jail.banTime, 86400);
  assertEquals(jail.findTime, 1200);
  assertEquals(jail.banTimeIncrement.maxtime, 93600);
});

Deno.test("fail2ban spellings in jails.toml get a hint naming the banwatch key and value", () => {
  assertEquals(problemsOf(`[jail.sshd]\nenable = yes\n`), [
    "t.toml:2:10: toml: invalid value; expected valid TOML (write enabled = true)",
  ]);
  assertEquals(problemsOf(`[jail.sshd]\nbantime.increment = yes\n`), [
    "t.toml:2:21: toml: invalid value; expected valid TOML (write [jail.sshd.bantime_increment] enabled = true)",
  ]);
  assertEquals(
    problemsOf(`[jail.sshd]\nbantime = 1 day\n`)[0]?.endsWith('(write bantime = "1 day")'),
    true,
  );
  assertEquals(problemsOf(`${JAIL}enabled = "yes"\n`), [
    't.toml:4:11: jail.sshd.enabled: "yes" is not a boolean; expected true or false (write enabled = true, without quotes)',
  ]);
  assertEquals(problemsOf(`${JAIL}enabled = "false"\n`), [
    't.toml:4:11: jail.sshd.enabled: "false" is not a boolean; expected true or false (write enabled = false, without quotes)',
  ]);
  // A valid TOML dotted key: bantime becomes a table; the hint names the table to write.
  assertEquals(problemsOf(`${JAIL}bantime.increment = true\n`), [
    't.toml:4:1: jail.sshd.bantime.increment: unknown key (a dotted key makes "bantime" a table); expected [jail.sshd.bantime_increment] enabled = true',
  ]);
});
