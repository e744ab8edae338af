import { assertEquals, assertOk, assertRejects, assertThrows } from "../_assert.ts";
import type { Runner, RunOptions, RunResult } from "../../lib/core/exec.ts";
import { BackendError } from "../../lib/core/errors.ts";
import { createLogger } from "../../lib/core/log.ts";
import { createBackend } from "../../lib/firewall/mod.ts";
import {
  isValidPfTableName,
  parsePfShow,
  pfAddArgs,
  pfDeleteArgs,
  pfKillArgs,
  pfShowArgs,
} from "../../lib/firewall/pf.ts";

/** Records argv and answers from a script of results. */
function scriptedRunner(
  answer: (argv: readonly string[]) => RunResult,
): Runner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run(argv: readonly string[], _options?: RunOptions): Promise<RunResult> {
      calls.push([...argv]);
      return Promise.resolve(answer(argv));
    },
  };
}

const OK: RunResult = { code: 0, stdout: "", stderr: "" };

Deno.test("pfAddArgs()/pfDeleteArgs()/pfShowArgs() build pfctl -t T -T add|delete|show", () => {
  assertEquals(pfAddArgs("bw", ["192.0.2.1/32", "2001:db8::/64"]), [
    "-q",
    "-t",
    "bw",
    "-T",
    "add",
    "192.0.2.1/32",
    "2001:db8::/64",
  ]);
  assertEquals(pfDeleteArgs("bw", ["192.0.2.1/32"]), [
    "-q",
    "-t",
    "bw",
    "-T",
    "delete",
    "192.0.2.1/32",
  ]);
  assertEquals(pfShowArgs("bw"), ["-t", "bw", "-T", "show"]);
  assertOk(isValidPfTableName("bw_smtp"));
  assertOk(!isValidPfTableName("x".repeat(32)));
  assertThrows(() => pfShowArgs("a b"), /Cannot use pf table/);
});

Deno.test("parsePfShow() reads indented addresses and networks, skipping negated entries", () => {
  assertEquals(
    parsePfShow("   192.0.2.1\n   10.0.0.0/8\n   2001:db8::1\n  !198.51.100.1\n\n"),
    ["192.0.2.1/32", "10.0.0.0/8", "2001:db8::1/128"],
  );
});

Deno.test("createPfBackend().apply() sends one pfctl run per table and operation", async () => {
  const runner = scriptedRunner(() => OK);
  const backend = createBackend("pf", { runner, pfctlPath: "/sbin/pfctl" });
  assertEquals(backend.kind, "pf");
  await backend.prepare(["bw"]);
  assertEquals(runner.calls, []);
  await backend.apply([
    { op: "add", table: "bw", target: "192.0.2.1" },
    { op: "add", table: "bw", target: "192.0.2.2/32" },
    { op: "delete", table: "bw", target: "2001:db8::/64" },
  ]);
  assertEquals(runner.calls, [
    ["/sbin/pfctl", "-q", "-t", "bw", "-T", "delete", "2001:db8::/64"],
    ["/sbin/pfctl", "-q", "-t", "bw", "-T", "add", "192.0.2.1/32", "192.0.2.2/32"],
    ["/sbin/pfctl", "-q", "-k", "192.0.2.1/32"],
    ["/sbin/pfctl", "-q", "-k", "192.0.2.2/32"],
  ]);
});

Deno.test("createPfBackend().apply() kills each added address's states; a failing kill is a warning", async () => {
  const runner = scriptedRunner((argv) =>
    argv.includes("-k") && argv.at(-1) === "2001:db8::/64"
      ? { code: 1, stdout: "", stderr: "pfctl: DIOCKILLSTATES: Operation not permitted\n" }
      : OK
  );
  const warnings: string[] = [];
  const logger = createLogger({ write: (line) => warnings.push(line) });
  const backend = createBackend("pf", { runner, logger });
  await backend.apply([
    { op: "add", table: "bw", target: "2001:db8::/64" },
    { op: "add", table: "bw", target: "192.0.2.1" },
  ]);
  assertEquals(runner.calls.filter((c) => c.includes("-k")), [
    ["/sbin/pfctl", "-q", "-k", "2001:db8::/64"],
    ["/sbin/pfctl", "-q", "-k", "192.0.2.1/32"],
  ]);
  assertEquals(warnings.length, 1);
  assertOk(
    /level=warn event=pf_kill_states_failed .*-k 2001:db8::\/64.*code=1/.test(warnings[0]!),
    warnings[0],
  );
  // No kill when the add failed, and nothing for deletes.
  const failing = scriptedRunner(() => ({ code: 1, stdout: "", stderr: "pfctl: busy\n" }));
  const b2 = createBackend("pf", { runner: failing });
  await assertRejects(() => b2.apply([{ op: "add", table: "bw", target: "192.0.2.1" }]));
  assertEquals(failing.calls.length, 1);
  assertEquals(pfKillArgs("192.0.2.9"), ["-q", "-k", "192.0.2.9/32"]);
});

Deno.test("createPfBackend() treats a missing table as empty / already deleted", async () => {
  const missing: RunResult = { code: 1, stdout: "", stderr: "pfctl: Table does not exist.\n" };
  const runner = scriptedRunner(() => missing);
  const backend = createBackend("pf", { runner });
  assertEquals(await backend.list("bw"), []);
  await backend.apply([{ op: "delete", table: "bw", target: "192.0.2.1/32" }]);
  await assertRejects(
    () => backend.apply([{ op: "add", table: "bw", target: "192.0.2.1/32" }]),
    /Table does not exist/,
  );
});

Deno.test("createPfBackend().list() parses `pfctl -T show` and errors carry argv, code and stderr", async () => {
  const runner = scriptedRunner((argv) =>
    argv.includes("show")
      ? { code: 0, stdout: "   192.0.2.1\n   10.0.0.0/8\n", stderr: "No ALTQ support in kernel\n" }
      : { code: 1, stdout: "", stderr: "pfctl: /dev/pf: Permission denied\n" }
  );
  const backend = createBackend("pf", { runner });
  assertEquals(await backend.list("bw"), ["192.0.2.1/32", "10.0.0.0/8"]);
  const e = await assertRejects(() =>
    backend.apply([{ op: "add", table: "bw", target: "192.0.2.9" }])
  );
  assertOk(e instanceof BackendError);
  assertEquals(e.argv, ["/sbin/pfctl", "-q", "-t", "bw", "-T", "add", "192.0.2.9/32"]);
  assertEquals(e.code, 1);
  assertEquals(e.stderr, "pfctl: /dev/pf: Permission denied");
});
