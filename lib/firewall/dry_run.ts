/**
 * Dry run: logs the ipfw argv it would run (`event=dry-run argv="/sbin/ipfw -q table T add ..."`)
 * and keeps the tables in memory so list() agrees with what was "applied". Nothing is executed.
 * @module
 */
import { createLogger } from "../core/mod.ts";
import type { Backend, BackendOptions, FirewallChange } from "./backend.ts";
import { reportSkipped } from "./batch.ts";
// The one backend importing another: a dry run prints the commands the ipfw backend would run,
// so it plans them with ipfw's own pure argv builders rather than a copy of them.
import { IPFW_DEFAULT_PATH, ipfwCreateArgs, planIpfw } from "./ipfw.ts";

/** Creates the dry-run backend (logs via options.logger, stderr by default). */
export function createDryRunBackend(
  options: Omit<BackendOptions, "runner"> & { runner?: unknown },
): Backend {
  const logger = options.logger ?? createLogger();
  const path = options.ipfwPath ?? IPFW_DEFAULT_PATH;
  const tables = new Map<string, Set<string>>();
  const show = (args: readonly string[]) =>
    logger.info("dry-run", { argv: [path, ...args].join(" ") });
  const batch = options.ipfwBatchSize === undefined ? {} : { batchSize: options.ipfwBatchSize };

  return {
    kind: "dry-run",
    prepare(names: readonly string[]): Promise<void> {
      for (const name of names) {
        const args = ipfwCreateArgs(name);
        if (tables.has(name)) continue;
        show(args);
        tables.set(name, new Set());
      }
      return Promise.resolve();
    },
    apply(changes: readonly FirewallChange[]): Promise<void> {
      const { steps, skipped } = planIpfw(changes, batch);
      reportSkipped(logger, "dry-run", skipped);
      for (const step of steps) {
        show(step.args);
        let table = tables.get(step.table);
        if (table === undefined) tables.set(step.table, table = new Set());
        const keys = step.op === "add"
          ? step.args.slice(4).filter((_, i) => i % 2 === 0)
          : step.args.slice(4);
        for (const key of keys) {
          if (step.op === "add") table.add(key);
          else table.delete(key);
        }
      }
      return Promise.resolve();
    },
    list(name: string): Promise<string[]> {
      return Promise.resolve([...(tables.get(name) ?? [])]);
    },
  };
}
