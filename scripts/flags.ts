/**
 * The permission and V8 flags that `deno compile` bakes into the binary. The demo task, the
 * CLI tests and the bundle check run main.ts with exactly these (tests/flags_test.ts checks
 * deno.json agrees).
 * @module
 */

/** Permissions: read config/logs/state, write state and socket, run the firewall program,
 * read TZ, list the host's own interface addresses. */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-sys=hostname,networkInterfaces",
];

/** V8 falls back to its linear-time engine when a regex backtracks too much. */
export const V8_FLAGS: readonly string[] = [
  "--v8-flags=--enable-experimental-regexp-engine-on-excessive-backtracks",
];

/** Everything `deno run` needs to behave as the compiled binary does. */
export const RUN_FLAGS: readonly string[] = [...PERMISSION_FLAGS, ...V8_FLAGS];
