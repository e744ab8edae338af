/**
 * The permission and V8 flags that `deno compile` bakes into the binary. The demo task, the
 * CLI tests and the bundle check run main.ts with exactly these (tests/flags_test.ts checks
 * deno.json agrees).
 * @module
 */

/** Permissions: read config/logs/state, write state and socket, run the firewall program,
 * read TZ, sys (interface addresses, and umask so the socket is born 0600), and net for the control socket (Deno asks
 * net access for unix sockets, scoped to the exact path, and the path is configurable). */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-sys",
  "--allow-net",
];

/** V8 falls back to its linear-time engine when a regex backtracks too much; a small young
 * generation keeps peak RSS flat (~75 MB) whatever the size of the log read; `gc()` lets the
 * daemon give the memory of a catch-up back as soon as it is idle (lib/heap.ts), which makes
 * V8's own timer-driven memory reducer redundant: it would only mark the compacted heap again
 * ~30 s after every burst (two collections, ~30 ms of CPU). */
export const V8_FLAGS: readonly string[] = [
  "--v8-flags=--enable-experimental-regexp-engine-on-excessive-backtracks,--max-semi-space-size=4,--expose-gc,--no-memory-reducer",
];

/** Everything `deno run` needs to behave as the compiled binary does. */
export const RUN_FLAGS: readonly string[] = [...PERMISSION_FLAGS, ...V8_FLAGS];

/**
 * What the binary embeds is the `deno bundle` output (scripts/compile.ts): one JavaScript file,
 * no npm resolution at run time. It keeps no V8 code cache: a cache of the whole bundle would
 * hold every function's bytecode (+8 MB resident for the daemon) and write files beside the
 * binary, while the bundle starts faster without one (0.10 s) than main.ts does with one (0.11 s).
 */
export const BUNDLE_FLAGS: readonly string[] = ["--no-config", "--no-code-cache"];

/** Everything `deno run dist/banwatch.js` needs to run the bundle as the compiled binary does. */
export const BUNDLE_RUN_FLAGS: readonly string[] = [...BUNDLE_FLAGS, ...RUN_FLAGS];
