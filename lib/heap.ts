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
  /** V8 heap reserved before / after. */
  heapTotalBefore: number;
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

/** When a poll loop should compact: once the first catch-up is done, and after bursts. */
export interface CompactionPolicy {
  /** Call after every poll with the lines it read and whether more are waiting; true = compact now. */
  afterPoll(lines: number, behind: boolean, nowMs: number): boolean;
}

/**
 * Compacts when a poll finds nothing new (the burst is over) and either nothing was compacted
 * yet (start-up) or at least `minLines` were read since the last compaction, no more often
 * than every `minIntervalMs`. An idle daemon or a quiet log therefore never pays for it.
 */
export function createCompactionPolicy(
  minLines = 10_000,
  minIntervalMs = 60_000,
): CompactionPolicy {
  let first = true;
  let linesSince = 0;
  let lastMs = -Infinity;
  return {
    afterPoll(lines, behind, nowMs) {
      linesSince += lines;
      if (behind || lines > 0) return false;
      if (!first && (linesSince < minLines || nowMs - lastMs < minIntervalMs)) return false;
      first = false;
      linesSince = 0;
      lastMs = nowMs;
      return true;
    },
  };
}
