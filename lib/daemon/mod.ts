/**
 * daemon/: the shell, the only folder that wires several stages together:
 * source -> filter -> decide -> state -> firewall, plus the control handlers.
 * @module
 */
export { Daemon } from "./daemon.ts";
export { compactHeap, createCompactionPolicy } from "./heap.ts";
