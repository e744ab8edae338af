import { assertOk } from "../_assert.ts";
import { run as runCrash } from "../../scripts/stress/crash.ts";
import { run as runRotation } from "../../scripts/stress/rotation.ts";
import { run as runFaults } from "../../scripts/stress/faults.ts";
import type { StressResult } from "../../scripts/stress/_common_a.ts";

function assertHeld(results: readonly StressResult[]): void {
  assertOk(results.length > 0, "no result");
  const failed = results.filter((r) => !r.pass);
  assertOk(
    failed.length === 0,
    failed.map((r) => `${r.name}: ${r.figure}\n${r.detail ?? ""}`).join("\n\n"),
  );
}

Deno.test("crash run() loses and doubles no line across SIGKILLs and rotations", async () => {
  assertHeld(await runCrash({ quick: true }));
});

Deno.test("rotation run() reads every line once while the log rotates every 50 ms", async () => {
  assertHeld(await runRotation({ quick: true }));
});

Deno.test("faults run() keeps banning through firewall and disk faults and catches up", async () => {
  assertHeld(await runFaults({ quick: true }));
});
