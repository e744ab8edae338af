/**
 * `on_ban` / `on_unban` hooks: an argv with placeholders, expanded per event and run without a
 * shell through the firewall's {@link Runner}. Hooks are queued and run in the background, at
 * most {@link HOOK_CONCURRENCY} at once, so a slow or hanging hook never delays a ban; each run
 * is killed after `hook_timeout`, and a failure is logged (`event=hook_failed`) and counted,
 * never retried.
 * @module
 */
import type { Logger, Runner } from "../core/mod.ts";

/** Hooks running at once; the rest wait in the queue. */
export const HOOK_CONCURRENCY = 4;
/** Hooks waiting at most; beyond that a new one is dropped (logged and counted as failed). */
export const HOOK_QUEUE_MAX = 1000;

/** The values of a hook's placeholders, by name (`jail` for `{jail}`). */
export type HookValues = Readonly<Record<string, string>>;

/** One hook run: the expanded argv and what to name it in a log line. */
export interface HookJob {
  /** The argv, placeholders already replaced. */
  argv: readonly string[];
  /** "on_ban" or "on_unban". */
  event: string;
  /** The jail whose ban or unban fired it. */
  jail: string;
  /** The banned target, for the log line. */
  addr: string;
}

/** Replaces each `{name}` of every argument with `values[name]`; unknown names stay as written. */
export function expandHook(argv: readonly string[], values: HookValues): string[] {
  return argv.map((arg) =>
    arg.replace(/\{([a-z]+)\}/g, (whole, name: string) => values[name] ?? whole)
  );
}

/** A bounded queue of hook runs. */
export interface HookQueue {
  /** Queues a run; returns at once (never waits for the hook). */
  enqueue(job: HookJob): void;
  /** Hooks that failed, timed out or were dropped since start. */
  readonly failures: number;
  /** Hooks running or waiting. */
  readonly busy: number;
  /**
   * Stops taking runs and waits up to `wait` seconds for the queue to empty; runs still
   * waiting then are dropped (logged), running ones are awaited (their timeout bounds that).
   */
  close(wait: number): Promise<void>;
}

/** Options of {@link createHookQueue}. */
export interface HookQueueOptions {
  /** Runs the hook programs (the firewall's runner). */
  runner: Runner;
  /** Where `hook_failed` and `hook_dropped` go. */
  logger: Logger;
  /** Seconds a hook may run before it is killed (read at each start: a reload changes it). */
  timeout: () => number;
  /** Hooks running at once (default {@link HOOK_CONCURRENCY}). */
  concurrency?: number;
  /** Hooks waiting at most (default {@link HOOK_QUEUE_MAX}). */
  queueMax?: number;
}

/** Creates an empty {@link HookQueue}. */
export function createHookQueue(options: HookQueueOptions): HookQueue {
  const { runner, logger } = options;
  const concurrency = options.concurrency ?? HOOK_CONCURRENCY;
  const queueMax = options.queueMax ?? HOOK_QUEUE_MAX;
  const waiting: HookJob[] = [];
  const running = new Set<Promise<void>>();
  let failures = 0;
  let closed = false;
  let idle: (() => void) | undefined;

  const failed = (job: HookJob, fields: Record<string, string | number | undefined>) => {
    failures++;
    logger.warn("hook_failed", {
      hook: job.event,
      jail: job.jail,
      addr: job.addr,
      program: job.argv[0],
      ...fields,
    });
  };

  const runOne = async (job: HookJob): Promise<void> => {
    const timeout = options.timeout();
    try {
      const result = await runner.run(job.argv, { timeout });
      if (result.code !== 0) {
        const stderr = result.stderr.trim().split("\n").slice(-1)[0] ?? "";
        failed(job, { code: result.code, stderr: stderr.slice(0, 200) });
      }
    } catch (error) {
      failed(job, { error: error instanceof Error ? error.message : String(error) });
    }
  };

  const pump = (): void => {
    while (running.size < concurrency && waiting.length > 0) {
      const job = waiting.shift()!;
      const p: Promise<void> = runOne(job).finally(() => {
        running.delete(p);
        pump();
      });
      running.add(p);
    }
    if (running.size === 0 && waiting.length === 0) idle?.();
  };

  return {
    enqueue(job) {
      if (closed || waiting.length >= queueMax) {
        failures++;
        logger.warn("hook_dropped", {
          hook: job.event,
          jail: job.jail,
          addr: job.addr,
          reason: closed ? "stopping" : `more than ${queueMax} hooks waiting`,
        });
        return;
      }
      waiting.push(job);
      pump();
    },
    get failures() {
      return failures;
    },
    get busy() {
      return running.size + waiting.length;
    },
    async close(wait) {
      closed = true;
      if (running.size > 0 || waiting.length > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          idle = resolve;
          timer = setTimeout(resolve, Math.max(0, wait * 1000));
        });
        clearTimeout(timer);
        idle = undefined;
      }
      if (waiting.length > 0) {
        failures += waiting.length;
        logger.warn("hook_dropped", { count: waiting.length, reason: "stopping" });
        waiting.length = 0;
      }
      await Promise.all(running);
    },
  };
}
