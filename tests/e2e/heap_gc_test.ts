/**
 * compactHeap() with --expose-gc, in a fresh deno (moved here from tests/daemon/heap_test.ts,
 * whose other tests spawn nothing).
 * @module
 */
import { assertEquals, assertOk } from "../_assert.ts";
import { evalDeno } from "../_helpers.ts";

Deno.test("compactHeap(): with --expose-gc the heap shrinks after a burst of garbage", async () => {
  const code = `import { compactHeap } from ${
    JSON.stringify(import.meta.resolve("../../lib/daemon/heap.ts"))
  };
let keep = [];
for (let i = 0; i < 200000; i++) keep.push({ i, s: "x".repeat(i % 64) });
keep = null;
console.log(JSON.stringify(compactHeap()));`;
  const out = await evalDeno(code, { v8Flags: "--expose-gc" });
  assertEquals(out.stderr, "");
  const done = JSON.parse(out.stdout) as { heapTotalBefore: number; heapTotalAfter: number };
  assertOk(
    done.heapTotalAfter < done.heapTotalBefore,
    `heap ${done.heapTotalBefore} -> ${done.heapTotalAfter}`,
  );
});
