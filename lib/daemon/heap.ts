/**
 * Giving memory back after a burst of reading (shell). Reading a backlog grows V8's young
 * generation and leaves start-up garbage behind; left to itself V8 shrinks the heap again only
 * when its memory reducer's timer finds the process idle (~30 s later, at a CPU cost every
 * time). When the runtime exposes V8's `gc()` (`--expose-gc`, baked into the binary with
 * `--no-memory-reducer`: scripts/flags.ts), the daemon asks, at the moment it knows it is idle,
 * for the collection V8 itself runs under memory pressure, which also shrinks the young
 * generation and returns freed pages to the system.
 * @module
 */

/** The options V8's `gc()` extension takes. */
interface GcOptions {
  type: "major" | "minor";
  execution: "sync" | "async";
  flavor: "regular" | "last-resort";
}

type GcFunction = (options?: GcOptions) => void;

/** Heap figures around one compaction (bytes). */
export interface Compaction {
  /** V8 heap reserved before the collection. */
  heapTotalBefore: number;
  /** V8 heap reserved after it. */
  heapTotalAfter: number;
  /** Milliseconds the collection took. */
  ms: number;
}

/**
 * Runs a full, memory-reducing collection when the runtime exposes `gc()`; undefined otherwise
 * (plain `deno run` without `--expose-gc`).
 */
export function compactHeap(): Compaction | undefined {
  const gc = (globalThis as { gc?: GcFunction }).gc;
  if (typeof gc !== "function") return undefined;
  const before = Deno.memoryUsage().heapTotal;
  const t0 = performance.now();
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
  return {
    heapTotalBefore: before,
    heapTotalAfter: Deno.memoryUsage().heapTotal,
    ms: performance.now() - t0,
  };
}

/** When a poll loop should compact (pure: the heap size is read through the given function). */
export interface CompactionPolicy {
  /**
   * Call after every poll with the lines it read, whether more are waiting, a monotonic clock
   * and a way to read the heap's size (called at most once per interval); true = compact now.
   */
  afterPoll(lines: number, behind: boolean, nowMs: number, heapTotal: () => number): boolean;
  /** Call with the heap's size a compaction left: the baseline later growth is measured from. */
  compacted(heapTotal: number): void;
}

/**
 * Compacts only on a poll that found nothing new (a burst is over, the daemon is idle): the
 * first such poll after start (the catch-up and start-up garbage), then at most once per
 * `minIntervalMs`, when the heap has grown by `growthBytes` since the last compaction (a later
 * burst, or anything else that grew it). An idle daemon reads the heap's size once a minute.
 */
export function createCompactionPolicy(
  growthBytes = 4 * 1024 * 1024,
  minIntervalMs = 60_000,
): CompactionPolicy {
  let first = true;
  let lastMs = -Infinity;
  let baseline = 0;
  return {
    afterPoll(lines, behind, nowMs, heapTotal) {
      if (behind || lines > 0) return false;
      if (first) {
        first = false;
        lastMs = nowMs;
        return true;
      }
      if (nowMs - lastMs < minIntervalMs) return false;
      lastMs = nowMs;
      return heapTotal() >= baseline + growthBytes;
    },
    compacted(heapTotal) {
      baseline = heapTotal;
    },
  };
}
