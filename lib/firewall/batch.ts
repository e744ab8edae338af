/**
 * What every backend does with a batch before building its commands: collapse it per table
 * (the last op for a target wins), canonicalise and drop what is not an address, cut the
 * result into invocations that fit the program's argv, report what was dropped, and run the
 * program with the firewall timeout. Shared here so that no backend imports another's file.
 * @module
 */
import {
  BackendError,
  DEFAULT_FIREWALL_TIMEOUT,
  type Logger,
  parseCidr,
  type RunResult,
} from "../core/mod.ts";
import type { BackendOptions, FirewallChange } from "./backend.ts";

/** Changes collapsed per table: the last op for each target wins. */
export interface GroupedChanges {
  /** Table name. */
  table: string;
  /** Canonical CIDR texts to add. */
  add: string[];
  /** Canonical CIDR texts to delete. */
  delete: string[];
}

/** A change that cannot be sent to the firewall, and why. */
export interface SkippedChange {
  /** The change as given. */
  change: FirewallChange;
  /** Why it was skipped. */
  reason: string;
}

/**
 * Groups changes by table (in first-seen order) with canonical targets; the last op for a
 * target wins, so "add X, delete X" in one batch deletes X. Targets that are not CIDRs are
 * returned in `skipped`.
 * @param changes the batch
 * @param options `reject` returns a reason to skip a valid target (e.g. ipfw's v4-compatible rule)
 */
export function groupChanges(
  changes: readonly FirewallChange[],
  options: { reject?: (canonical: string) => string | undefined } = {},
): { groups: GroupedChanges[]; skipped: SkippedChange[] } {
  const tables = new Map<string, Map<string, "add" | "delete">>();
  const skipped: SkippedChange[] = [];
  for (const change of changes) {
    const cidr = parseCidr(change.target);
    if (cidr === undefined) {
      skipped.push({ change, reason: "not an address or CIDR" });
      continue;
    }
    const why = options.reject?.(cidr.text);
    if (why !== undefined) {
      skipped.push({ change, reason: why });
      continue;
    }
    let ops = tables.get(change.table);
    if (ops === undefined) tables.set(change.table, ops = new Map());
    ops.delete(cidr.text); // re-insert so iteration follows the last change
    ops.set(cidr.text, change.op);
  }
  const groups: GroupedChanges[] = [];
  for (const [table, ops] of tables) {
    const group: GroupedChanges = { table, add: [], delete: [] };
    for (const [target, op] of ops) group[op].push(target);
    groups.push(group);
  }
  return { groups, skipped };
}

/** Splits `items` into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Splits argv words into chunks of at most `size` words whose strings (`perWord` bytes each on
 * top of their UTF-8 length and NUL) fit in `budget` bytes; a word never shares a chunk it
 * would overflow, and a chunk holds at least one word.
 */
export function chunkArgv(
  words: readonly string[],
  options: { budget: number; perWord: number; size?: number },
): string[][] {
  const size = options.size ?? Infinity;
  const out: string[][] = [];
  let current: string[] = [];
  let used = 0;
  for (const word of words) {
    // CIDR texts are ASCII: length is the byte count.
    const bytes = word.length + 1 + options.perWord;
    if (current.length > 0 && (used + bytes > options.budget || current.length >= size)) {
      out.push(current);
      current = [];
      used = 0;
    }
    current.push(word);
    used += bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Logs each skipped change as `event=firewall-skip backend=... table=... target=... reason=...`
 * (a warning: the rest of the batch is still applied).
 * @param logger where to log; nothing is logged without one
 * @param backend the backend kind, for the log line
 * @param skipped what {@link groupChanges} left out
 */
export function reportSkipped(
  logger: Logger | undefined,
  backend: string,
  skipped: readonly SkippedChange[],
): void {
  for (const s of skipped) {
    logger?.warn("firewall-skip", {
      backend,
      table: s.change.table,
      target: s.change.target,
      reason: s.reason,
    });
  }
}

/** A backend's firewall program, as every backend runs it. */
export interface FirewallProgram {
  /** Its absolute path (the first argv word). */
  readonly path: string;
  /** Runs it with `args` (and `stdin` when given), killed after the firewall timeout. */
  run(args: readonly string[], stdin?: string): Promise<RunResult>;
  /** The error for a failed run of `args`: the full argv, the exit code, stderr trimmed. */
  fail(args: readonly string[], result: RunResult): BackendError;
}

/**
 * Binds a program path to the options' runner and timeout (default
 * {@link DEFAULT_FIREWALL_TIMEOUT}), so every backend kills and reports a program the same way.
 * @param path the program's absolute path
 * @param options the backend options (runner, timeout)
 */
export function firewallProgram(
  path: string,
  options: Pick<BackendOptions, "runner" | "timeout">,
): FirewallProgram {
  const timeout = options.timeout ?? DEFAULT_FIREWALL_TIMEOUT;
  const runner = options.runner;
  return {
    path,
    run: (args, stdin) =>
      runner.run([path, ...args], stdin === undefined ? { timeout } : { stdin, timeout }),
    fail: (args, result) => new BackendError([path, ...args], result.code, result.stderr.trim()),
  };
}
