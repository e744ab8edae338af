import { assertEquals } from "../_assert.ts";
import { compactHeap, createCompactionPolicy } from "../../lib/daemon/heap.ts";

const MB = 1024 * 1024;

/** A heap-size reader that counts its calls. */
function heapReader(sizes: number[]): { read: () => number; calls: () => number } {
  let n = 0;
  return { read: () => sizes[Math.min(n++, sizes.length - 1)]!, calls: () => n };
}

Deno.test("compaction policy: once when the start-up catch-up ends", () => {
  const p = createCompactionPolicy(4 * MB, 1000);
  const heap = heapReader([100 * MB]);
  assertEquals(p.afterPoll(500, true, 0, heap.read), false); // still behind
  assertEquals(p.afterPoll(20, false, 10, heap.read), false); // read lines: the burst may go on
  assertEquals(p.afterPoll(0, false, 20, heap.read), true); // nothing new: compact
  p.compacted(7 * MB);
  assertEquals(p.afterPoll(0, false, 30, heap.read), false); // idle, within the interval
  assertEquals(heap.calls(), 0); // and the heap was not even read
});

Deno.test("compaction policy: an empty log at start still compacts once", () => {
  const p = createCompactionPolicy(4 * MB, 1000);
  const heap = heapReader([0]);
  assertEquals(p.afterPoll(0, false, 0, heap.read), true);
  assertEquals(p.afterPoll(0, false, 1, heap.read), false);
});

Deno.test("compaction policy: later, on an idle poll once per interval, when the heap grew", () => {
  const p = createCompactionPolicy(4 * MB, 1000);
  const heap = heapReader([9 * MB, 11 * MB, 11 * MB]);
  assertEquals(p.afterPoll(0, false, 0, heap.read), true);
  p.compacted(7 * MB);
  // Idle polls every 100 ms: the heap is read once per interval; 9 MB is not 4 MB of growth.
  for (let t = 100; t < 1000; t += 100) assertEquals(p.afterPoll(0, false, t, heap.read), false);
  assertEquals(p.afterPoll(0, false, 1000, heap.read), false);
  assertEquals(heap.calls(), 1);
  for (let t = 1100; t < 2000; t += 100) assertEquals(p.afterPoll(0, false, t, heap.read), false);
  // A busy poll never compacts, even when due.
  assertEquals(p.afterPoll(300, false, 2000, heap.read), false);
  assertEquals(heap.calls(), 1);
  // 11 MB >= 7 + 4: compact, and measure growth from what that compaction left.
  assertEquals(p.afterPoll(0, false, 2010, heap.read), true);
  p.compacted(10 * MB);
  assertEquals(p.afterPoll(0, false, 3010, heap.read), false); // 11 MB < 10 + 4
  assertEquals(heap.calls(), 3);
});

Deno.test("compactHeap(): undefined without --expose-gc", () => {
  // The test runner's V8 flags do not expose gc().
  assertEquals(typeof (globalThis as { gc?: unknown }).gc, "undefined");
  assertEquals(compactHeap(), undefined);
});
