import { assertEquals, assertOk } from "./_assert.ts";
import { compactHeap, createCompactionPolicy } from "../lib/heap.ts";

Deno.test("compaction policy: once when the start-up catch-up ends", () => {
  const p = createCompactionPolicy(100, 1000);
  assertEquals(p.afterPoll(500, true, 0), false); // still behind
  assertEquals(p.afterPoll(20, false, 10), false); // read lines: the burst may go on
  assertEquals(p.afterPoll(0, false, 20), true); // nothing new: compact
  assertEquals(p.afterPoll(0, false, 30), false); // idle: not again
  assertEquals(p.afterPoll(0, false, 5000), false);
});

Deno.test("compaction policy: an empty log at start still compacts once", () => {
  const p = createCompactionPolicy(100, 1000);
  assertEquals(p.afterPoll(0, false, 0), true);
  assertEquals(p.afterPoll(0, false, 1), false);
});

Deno.test("compaction policy: after a burst of at least minLines, at most once per interval", () => {
  const p = createCompactionPolicy(100, 1000);
  assertEquals(p.afterPoll(0, false, 0), true);
  // A quiet log: a few lines now and then never compacts.
  for (let t = 100; t < 5000; t += 100) {
    assertEquals(p.afterPoll(t % 300 === 0 ? 3 : 0, false, t), false);
  }
  // The quiet lines count toward the next burst: 147 lines so far, +60 = 207 >= 100.
  assertEquals(p.afterPoll(60, false, 5100), false);
  assertEquals(p.afterPoll(0, false, 5200), true);
  // Another burst too soon after: waits for the interval, then compacts on an idle poll.
  assertEquals(p.afterPoll(500, false, 5300), false);
  assertEquals(p.afterPoll(0, false, 5400), false);
  assertEquals(p.afterPoll(0, false, 6300), true);
});

Deno.test("compactHeap(): undefined without --expose-gc", () => {
  // The test runner's V8 flags do not expose gc().
  assertEquals(typeof (globalThis as { gc?: unknown }).gc, "undefined");
  assertEquals(compactHeap(), undefined);
});

Deno.test("compactHeap(): with --expose-gc the heap shrinks after a burst of garbage", async () => {
  const code = `import { compactHeap } from ${
    JSON.stringify(import.meta.resolve("../lib/heap.ts"))
  };
let keep = [];
for (let i = 0; i < 200000; i++) keep.push({ i, s: "x".repeat(i % 64) });
keep = null;
console.log(JSON.stringify(compactHeap()));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--v8-flags=--expose-gc", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(out.stderr), "");
  const done = JSON.parse(new TextDecoder().decode(out.stdout));
  assertOk(
    done.heapTotalAfter < done.heapTotalBefore,
    `heap ${done.heapTotalBefore} -> ${done.heapTotalAfter}`,
  );
});
