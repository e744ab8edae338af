/**
 * OpenBSD/FreeBSD pf backend: `pfctl -t T -T add|delete|show` (freebsd.md §2.9).
 *
 * pf has no "create table" call of its own: `pfctl -t T -T add` creates a missing table (as a
 * persistent one), but an address in it blocks nothing until pf.conf references the table.
 * So prepare() only checks names; the administrator declares, in pf.conf:
 *
 *   table <bw_smtp> persist
 *   block drop in quick from <bw_smtp>
 *
 * pf `pass` rules keep state, so an address added to a blocking table keeps its established
 * connections until their states end. So after each add, every added address's states are
 * killed: `pfctl -k ADDR`, one run per address (pfctl takes at most two `-k`, and the second
 * names the destination, freebsd.md §2.9). A failing kill is a warning, never a retry: the
 * address is in the table either way.
 *
 * Several addresses go to one pfctl run per table and operation (chunked like ipfw). A delete
 * of an absent address is not an error for pfctl; a delete on a missing table ("Table does
 * not exist.") counts as done.
 * @module
 */
import { type BackendError, parseCidr, type RunResult } from "../core/mod.ts";
import type { Backend, BackendOptions, FirewallChange } from "./backend.ts";
import { chunk, firewallProgram, groupChanges, reportSkipped } from "./batch.ts";

/**
 * Entries per pfctl invocation: at most ~184 KB of argv even when all are IPv6, under FreeBSD's
 * 256 KiB ARG_MAX.
 */
export const PF_BATCH_SIZE = 4000;

/** Where pfctl lives on FreeBSD. */
export const PFCTL_DEFAULT_PATH = "/sbin/pfctl";

const NAME = /^[a-zA-Z0-9\-_.]{1,31}$/;

/** True when pf accepts `name` as a table name (1-31 characters, PF_TABLE_NAME_SIZE 32). */
export function isValidPfTableName(name: string): boolean {
  return NAME.test(name);
}

function checkTable(table: string): string {
  if (!isValidPfTableName(table)) {
    throw new RangeError(`Cannot use pf table "${table}": a name is 1-31 of [a-zA-Z0-9-_.]`);
  }
  return table;
}

/** `-q -t T -T add a b ...`. */
export function pfAddArgs(table: string, targets: readonly string[]): string[] {
  return ["-q", "-t", checkTable(table), "-T", "add", ...targets];
}

/** `-q -t T -T delete a b ...`. */
export function pfDeleteArgs(table: string, targets: readonly string[]): string[] {
  return ["-q", "-t", checkTable(table), "-T", "delete", ...targets];
}

/** `-q -k ADDR`: kills every state from ADDR (an address or CIDR). */
export function pfKillArgs(target: string): string[] {
  const cidr = parseCidr(target);
  if (cidr === undefined) throw new RangeError(`Cannot kill pf states of "${target}": not a CIDR`);
  return ["-q", "-k", cidr.text];
}

/** `-t T -T show`. */
export function pfShowArgs(table: string): string[] {
  return ["-t", checkTable(table), "-T", "show"];
}

/** Parses `pfctl -T show`: one address or network per line, indented; skips negated (`!`) entries. */
export function parsePfShow(stdout: string): string[] {
  const out: string[] = [];
  for (const raw of stdout.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("!")) continue;
    const cidr = parseCidr(line.split(/\s+/, 1)[0] ?? "");
    if (cidr !== undefined) out.push(cidr.text);
  }
  return out;
}

/** Creates the pf backend. */
export function createPfBackend(options: BackendOptions): Backend {
  const { path, run, fail } = firewallProgram(
    options.pfctlPath ?? PFCTL_DEFAULT_PATH,
    options,
  );
  const missingTable = (r: RunResult): boolean => /Table does not exist/i.test(r.stderr);
  const killStates = async (target: string): Promise<void> => {
    const args = pfKillArgs(target);
    const r = await run(args);
    if (r.code === 0) return;
    options.logger?.warn("pf_kill_states_failed", {
      argv: [path, ...args].join(" "),
      code: r.code,
      stderr: r.stderr.trim(),
      detail: "the address is in the table; its established connections may go on",
    });
  };

  return {
    kind: "pf",
    prepare(tables: readonly string[]): Promise<void> {
      for (const table of tables) checkTable(table);
      return Promise.resolve();
    },
    async apply(changes: readonly FirewallChange[]): Promise<void> {
      const { groups, skipped } = groupChanges(changes);
      reportSkipped(options.logger, "pf", skipped);
      let first: BackendError | undefined;
      for (const group of groups) {
        for (const part of chunk(group.delete, PF_BATCH_SIZE)) {
          const args = pfDeleteArgs(group.table, part);
          const r = await run(args);
          if (r.code !== 0 && !missingTable(r)) first ??= fail(args, r);
        }
        for (const part of chunk(group.add, PF_BATCH_SIZE)) {
          const args = pfAddArgs(group.table, part);
          const r = await run(args);
          if (r.code !== 0) first ??= fail(args, r);
          else for (const target of part) await killStates(target);
        }
      }
      if (first !== undefined) throw first;
    },
    async missing(tables: readonly string[]): Promise<string[]> {
      const gone: string[] = [];
      for (const table of tables) {
        const args = pfShowArgs(table);
        const r = await run(args);
        if (r.code === 0) continue;
        if (missingTable(r)) gone.push(table);
        else throw fail(args, r);
      }
      return gone;
    },
    async list(table: string): Promise<string[]> {
      const args = pfShowArgs(table);
      const r = await run(args);
      if (r.code === 0) return parsePfShow(r.stdout);
      if (missingTable(r)) return [];
      throw fail(args, r);
    },
  };
}
