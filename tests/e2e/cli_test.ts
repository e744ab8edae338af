import { assertEquals, assertMatch } from "../_assert.ts";
import { runCli } from "../_helpers.ts";
import { VERSION } from "../../lib/core/version.ts";

Deno.test("main.ts --version prints the version and exits 0", async () => {
  const r = await runCli(["--version"]);
  assertEquals(r.code, 0);
  assertEquals(r.stdout, `banwatch ${VERSION}\n`);
  assertEquals(r.stderr, "");
});

Deno.test("main.ts --help lists the commands on stdout", async () => {
  const r = await runCli(["--help"]);
  assertEquals(r.code, 0);
  assertMatch(r.stdout, /^Usage: banwatch <command>/m);
});

Deno.test("main.ts with no command prints usage to stderr and exits 2", async () => {
  const r = await runCli([]);
  assertEquals(r.code, 2);
  assertEquals(r.stdout, "");
  assertMatch(r.stderr, /Usage: banwatch/);
});

Deno.test("main.ts with an unknown command exits 2 with a one-line error", async () => {
  const r = await runCli(["frobnicate"]);
  assertEquals(r.code, 2);
  assertEquals(r.stderr, 'banwatch: unknown command "frobnicate" (see banwatch --help)\n');
});
