/**
 * daemon/: the shell, the only folder that wires several stages together:
 * source -> filter -> decide -> state -> firewall, plus the control handlers and the poll loop.
 * @module
 */
export { Daemon } from "./daemon.ts";
export type { BackendFactory, DaemonOptions, Resolver } from "./context.ts";
export { compactHeap, createCompactionPolicy } from "./heap.ts";
export { runDaemonLoop } from "./loop.ts";
export type { DaemonLoopOptions } from "./loop.ts";
export { LOCK_FILE, lockStateDir } from "./lock.ts";
export type { StateDirLock } from "./lock.ts";
