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
 * daemon give the memory of a catch-up back once it is idle (lib/heap.ts). */
export const V8_FLAGS: readonly string[] = [
  "--v8-flags=--enable-experimental-regexp-engine-on-excessive-backtracks,--max-semi-space-size=4,--expose-gc",
];

/** Everything `deno run` needs to behave as the compiled binary does. */
export const RUN_FLAGS: readonly string[] = [...PERMISSION_FLAGS, ...V8_FLAGS];
