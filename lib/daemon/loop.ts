/**
 * The daemon's life in the foreground: start, the control socket, the poll loop with its
 * signals (SIGTERM/SIGINT stop, SIGHUP reloads) and heap compaction when idle; or, in replay,
 * polls until every log is read to its end.
 * @module
 */
import { type ControlServer, serveControl } from "../control/mod.ts";
import type { DaemonOptions } from "./context.ts";
import { Daemon } from "./daemon.ts";
import { compactHeap, createCompactionPolicy } from "./heap.ts";

/** Options of {@link runDaemonLoop}. */
export interface DaemonLoopOptions {
  /** How to start the daemon. */
  daemon: DaemonOptions;
  /** The configuration file's path, for the `started` event. */
  configPath: string;
  /** Open the control socket (default true; never in replay). */
  socket?: boolean;
}

/**
 * Starts the daemon and runs until a stop signal (or, in replay, the end of the logs). Returns
 * the daemon still open: the caller reads what it needs, then closes it.
 */
export async function runDaemonLoop(options: DaemonLoopOptions): Promise<Daemon> {
  const { logger, config } = options.daemon;
  if (options.daemon.replay) {
    const daemon = await Daemon.start(options.daemon);
    do {
      await daemon.tick();
    } while (!daemon.idle);
    await daemon.tick();
    return daemon;
  }

  let server: ControlServer | undefined;
  let daemon: Daemon | undefined;
  let stopped = false;
  // Ends the wait between two polls early; set only while the loop waits.
  let wake: (() => void) | undefined;
  const onStop = () => {
    stopped = true;
    wake?.();
  };
  const onHup = () => {
    daemon?.reload().catch((error) => logger.error("reload_failed", { error: String(error) }));
  };
  // Listen before the (possibly long) start: a SIGTERM then still stops cleanly.
  Deno.addSignalListener("SIGTERM", onStop);
  Deno.addSignalListener("SIGINT", onStop);
  Deno.addSignalListener("SIGHUP", onHup);
  try {
    daemon = await Daemon.start(options.daemon);
    if (!stopped && (options.socket ?? true)) {
      server = await serveControl(config.global.socket, daemon, { logger });
    }
    logger.info("started", {
      config: options.configPath,
      jails: config.jails.filter((j) => j.enabled).length,
      socket: server?.path,
    });
    const compaction = createCompactionPolicy();
    const heapTotal = () => Deno.memoryUsage().heapTotal;
    while (!stopped) {
      // The next poll is due one interval after this one started, not after it ended.
      const due = performance.now() + daemon.pollInterval * 1000;
      let result = { lines: 0, behind: false };
      try {
        result = await daemon.tick();
      } catch (error) {
        logger.error("poll_failed", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
      if (result.behind) {
        // Catching up: poll again at once, but let signals and the control socket in first
        // (log reads are synchronous, so a tick may never yield to the event loop itself).
        // A timer, not setImmediate or a MessageChannel: those are cheaper (no 4 ms clamp on
        // nested timers) but in Deno they run before socket I/O is polled, so a status request
        // would wait for the end of the catch-up (tests/e2e/run_test.ts).
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        continue;
      }
      if (stopped) break;
      if (compaction.afterPoll(result.lines, result.behind, performance.now(), heapTotal)) {
        const done = compactHeap();
        if (done) {
          compaction.compacted(done.heapTotalAfter);
          logger.debug("heap_compacted", {
            heap_before: done.heapTotalBefore,
            heap_after: done.heapTotalAfter,
            ms: Math.round(done.ms),
          });
        }
      }
      const wait = Math.max(0, due - performance.now());
      // One timer and one promise per poll. Not Promise.race() with a long-lived stop promise:
      // every race leaves a reaction on that promise until it settles (~86,400 a day).
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, wait);
      });
      wake = undefined;
      clearTimeout(timer);
    }
    logger.info("stopping", { reason: "signal" });
  } finally {
    Deno.removeSignalListener("SIGTERM", onStop);
    Deno.removeSignalListener("SIGINT", onStop);
    Deno.removeSignalListener("SIGHUP", onHup);
    await server?.close();
  }
  return daemon;
}
