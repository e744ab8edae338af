/**
 * FreeBSD ipfw(8) lookup tables: pure argv builders and the backend.
 *
 * Batching: several changes go to ONE `ipfw -q table T add k 0 k 0 ...` (or `delete k k ...`)
 * per table and operation, cut into chunks of at most {@link IPFW_ARGV_BYTES} bytes of argument
 * strings, rather than a command file (`ipfw -q /path/file`). Why argv and not a file:
 * - the argv grammar, `-q` and the exit codes of `table add|delete` are what
 *   freebsd.md §2.2/§2.4 documents; the file mode is not covered there;
 * - a command file stops at its first failing line (ipfw's err() exits the process, e.g. a
 *   delete on a missing table, exit 65), whereas a non-atomic multi-entry `add` still applies
 *   every other entry;
 * - no temporary file to create, protect and remove on a root daemon.
 * FreeBSD's execve() charges the argument and environment strings, NUL included, against ARG_MAX
 * (256 KiB; 512 KiB on 64-bit FreeBSD 13+); a chunk's strings stay under 192 KiB, leaving 64 KiB
 * for the environment. An IPv4 entry takes ~17 bytes (`203.0.113.5/32` NUL `0` NUL), an IPv6 one
 * at most 46, so 20,000 IPv4 bans take 2 invocations (fork+exec is what a big batch costs).
 * `ipfwBatchSize` in the options also caps the entries per chunk.
 *
 * Keys are passed as canonical CIDR texts (validated with parseCidr; ipfw would treat anything
 * else as a hostname). IPv4-compatible IPv6 keys (::a.b.c.d) are skipped with a warning
 * because ipfw rejects them (exit 65) and that would fail the whole invocation.
 * @module
 */
import { BackendError, parseCidr } from "../core/mod.ts";
import type { Backend, BackendOptions, FirewallChange } from "./backend.ts";
import {
  chunkArgv,
  firewallProgram,
  groupChanges,
  reportSkipped,
  type SkippedChange,
} from "./batch.ts";

/** Where ipfw lives on FreeBSD. */
export const IPFW_DEFAULT_PATH = "/sbin/ipfw";

/**
 * Bytes of argument strings (each with its NUL) per ipfw invocation, program path and the
 * `-q table T add` words included: 192 KiB, under FreeBSD's 256 KiB ARG_MAX with room for the
 * environment.
 */
export const IPFW_ARGV_BYTES: number = 192 * 1024;

const TABLE_NAME = /^[a-zA-Z0-9\-_.]{1,63}$/;

/** True when ipfw accepts `name` as a table name (`[a-zA-Z0-9\-_.]{1,63}`, not "all"). */
export function isValidIpfwTableName(name: string): boolean {
  return TABLE_NAME.test(name) && name !== "all";
}

/** `table T info`: exit 0 when the table exists, 71 when it does not. */
export function ipfwInfoArgs(table: string): string[] {
  return ["table", checkTable(table), "info"];
}

/** `-q table T create type addr`. */
export function ipfwCreateArgs(table: string): string[] {
  return ["-q", "table", checkTable(table), "create", "type", "addr"];
}

/** `-q table T add k1 0 k2 0 ...`: add takes KEY VALUE pairs (freebsd.md §2.4). */
export function ipfwAddArgs(table: string, targets: readonly string[]): string[] {
  const args = ["-q", "table", checkTable(table), "add"];
  for (const target of targets) args.push(target, "0");
  return args;
}

/** `-q table T delete k1 k2 ...`: delete takes keys only. */
export function ipfwDeleteArgs(table: string, targets: readonly string[]): string[] {
  return ["-q", "table", checkTable(table), "delete", ...targets];
}

/** `table T list`. */
export function ipfwListArgs(table: string): string[] {
  return ["table", checkTable(table), "list"];
}

/** Options of the optional per-jail rule. */
export interface IpfwRuleOptions {
  /** Rule number, 1-65534. */
  rule: number;
  /** Protocol; "all" becomes `ip` and ignores ports. */
  protocol: "tcp" | "udp" | "all";
  /** Destination ports; empty = all ports. */
  ports: readonly number[];
  /** Destination: "any" (default; `me` may not match IPv6, freebsd.md §2.6) or "me". */
  to?: "any" | "me";
}

/** `-q add N deny tcp from table(T) to any dst-port 25,465`: the optional blocking rule. */
export function ipfwRuleArgs(table: string, options: IpfwRuleOptions): string[] {
  const { rule } = options;
  if (!Number.isInteger(rule) || rule < 1 || rule > 65534) {
    throw new RangeError(
      `Cannot build ipfw rule: rule number must be 1-65534: current value is ${rule}`,
    );
  }
  const proto = options.protocol === "all" ? "ip" : options.protocol;
  const args = ["-q", "add", String(rule), "deny", proto, "from", `table(${checkTable(table)})`];
  args.push("to", options.to ?? "any");
  if (proto !== "ip" && options.ports.length > 0) {
    for (const port of options.ports) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new RangeError(
          `Cannot build ipfw rule: port must be 1-65535: current value is ${port}`,
        );
      }
    }
    args.push("dst-port", options.ports.join(","));
  }
  return args;
}

/** `-q delete N`: removes every rule numbered N. */
export function ipfwRuleDeleteArgs(rule: number): string[] {
  return ["-q", "delete", String(rule)];
}

/** Why ipfw would refuse a canonical key: IPv4-compatible IPv6 (::a.b.c.d), else undefined. */
export function ipfwRejectReason(canonical: string): string | undefined {
  const cidr = parseCidr(canonical);
  if (cidr === undefined || cidr.family !== 6) return undefined;
  const b = cidr.bytes;
  for (let i = 0; i < 12; i++) if (b[i] !== 0) return undefined;
  const low = ((b[12] ?? 0) << 24 | (b[13] ?? 0) << 16 | (b[14] ?? 0) << 8 | (b[15] ?? 0)) >>> 0;
  return low > 1
    ? "ipfw rejects IPv4-compatible IPv6 keys (Use IPv4 instead of v4-compatible)"
    : undefined;
}

/** One ipfw invocation of a plan. */
export interface IpfwStep {
  /** Arguments after the program path. */
  args: string[];
  /** Which operation (a delete on a missing table counts as done). */
  op: "add" | "delete";
  /** Table name. */
  table: string;
}

/**
 * The ipfw invocations for a batch: per table, deletes then adds, each chunked so that its
 * argument strings fit in `argvBytes` (default {@link IPFW_ARGV_BYTES}).
 * @param changes the batch
 * @param options `batchSize` caps the entries per invocation (default: bytes only)
 */
export function planIpfw(
  changes: readonly FirewallChange[],
  options: { batchSize?: number; argvBytes?: number } = {},
): { steps: IpfwStep[]; skipped: SkippedChange[] } {
  const { groups, skipped } = groupChanges(changes, { reject: ipfwRejectReason });
  const steps: IpfwStep[] = [];
  for (const group of groups) {
    // The words around the keys, and the program path (PATH_MAX at most).
    const fixed = ipfwAddArgs(group.table, []).reduce((n, w) => n + w.length + 1, 1024);
    const budget = Math.max(0, (options.argvBytes ?? IPFW_ARGV_BYTES) - fixed);
    const size = options.batchSize === undefined ? {} : { size: options.batchSize };
    for (const part of chunkArgv(group.delete, { budget, perWord: 0, ...size })) {
      steps.push({ args: ipfwDeleteArgs(group.table, part), op: "delete", table: group.table });
    }
    // Each added key is followed by its value, "0" and a NUL.
    for (const part of chunkArgv(group.add, { budget, perWord: 2, ...size })) {
      steps.push({ args: ipfwAddArgs(group.table, part), op: "add", table: group.table });
    }
  }
  return { steps, skipped };
}

/**
 * Parses `ipfw table T list` (or `table all list`) output: `addr/len value` lines; skips
 * `--- table(NAME), set(N) ---` headers, blank lines and keys that are not addresses.
 * @param stdout the program's output
 */
export function parseIpfwList(stdout: string): string[] {
  const out: string[] = [];
  for (const raw of stdout.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("---")) continue;
    const key = line.split(/\s+/, 1)[0] ?? "";
    const cidr = parseCidr(key);
    // an IPv4-mapped IPv6 key (::ffff:a.b.c.d) is not the IPv4 key banwatch would add
    if (cidr !== undefined && (cidr.family === 6) === key.includes(":")) out.push(cidr.text);
  }
  return out;
}

/** The table type from `ipfw table T info` output (" kindex: 1, type: addr"), if present. */
export function parseIpfwInfoType(stdout: string): string | undefined {
  const m = /^\s*kindex:\s*\d+,\s*type:\s*([a-z]+)/m.exec(stdout);
  return m?.[1];
}

/** Creates the ipfw backend. */
export function createIpfwBackend(options: BackendOptions): Backend {
  const { path, run, fail } = firewallProgram(options.ipfwPath ?? IPFW_DEFAULT_PATH, options);
  const batch = options.ipfwBatchSize === undefined ? {} : { batchSize: options.ipfwBatchSize };

  return {
    kind: "ipfw",
    async prepare(tables: readonly string[]): Promise<void> {
      for (const table of tables) {
        const infoArgs = ipfwInfoArgs(table);
        const info = await run(infoArgs);
        if (info.code === 0) {
          const type = parseIpfwInfoType(info.stdout);
          if (type !== undefined && type !== "addr") {
            throw new BackendError(
              [path, ...infoArgs],
              0,
              `table ${table} has type ${type}; banwatch needs type addr`,
            );
          }
          continue;
        }
        if (info.code !== 71 || !/No such process/.test(info.stderr)) throw fail(infoArgs, info);
        const createArgs = ipfwCreateArgs(table);
        const created = await run(createArgs);
        if (created.code === 0) continue;
        if (created.code === 71 && /File exists/.test(created.stderr)) continue;
        throw fail(createArgs, created);
      }
    },
    async apply(changes: readonly FirewallChange[]): Promise<void> {
      const { steps, skipped } = planIpfw(changes, batch);
      reportSkipped(options.logger, "ipfw", skipped);
      let first: BackendError | undefined;
      for (const step of steps) {
        const r = await run(step.args);
        if (r.code === 0) continue;
        // delete on a missing table exits 65 even with -q: the entries are gone already
        if (step.op === "delete" && r.code === 65 && /does not exist/.test(r.stderr)) continue;
        first ??= fail(step.args, r);
      }
      if (first !== undefined) throw first;
    },
    async missing(tables: readonly string[]): Promise<string[]> {
      const gone: string[] = [];
      for (const table of tables) {
        const args = ipfwInfoArgs(table);
        const info = await run(args);
        if (info.code === 0) continue;
        if (info.code === 71 && /No such process/.test(info.stderr)) gone.push(table);
        else throw fail(args, info);
      }
      return gone;
    },
    async list(table: string): Promise<string[]> {
      const args = ipfwListArgs(table);
      const r = await run(args);
      if (r.code === 0) return parseIpfwList(r.stdout);
      if (r.code === 71 && /No such process/.test(r.stderr)) return [];
      throw fail(args, r);
    },
  };
}

function checkTable(table: string): string {
  if (!isValidIpfwTableName(table)) {
    throw new RangeError(
      `Cannot use ipfw table "${table}": a name is 1-63 of [a-zA-Z0-9-_.] and not "all"`,
    );
  }
  return table;
}
