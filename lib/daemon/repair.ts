/**
 * The firewall stays as banwatch believes it: a check that every table of a running jail
 * exists, every managed ipfw rule is there and every active ban is in its table, putting back
 * what is missing (a firewall restart, `ipfw delete 1000`, a destroyed table or nft set). Runs
 * at every reload, every `firewall_check_interval`, and before the next flush when a firewall
 * call failed because its table or rule was missing. What was repaired is logged once as
 * `event=firewall_repaired`.
 * @module
 */
import { activeBans } from "../decide/mod.ts";
import { reconcile } from "../firewall/mod.ts";
import type { DaemonContext, JailRuntime } from "./context.ts";
import { ensureRules, firewallFailed, prepareTable, queueFor } from "./enforce.ts";

/** Why a check runs (the `reason` field of `event=firewall_repaired`). */
export type CheckReason = "reload" | "interval" | "failure";

/**
 * Runs the check when one is due: a failed call asked for it, or `firewall_check_interval`
 * passed since the last one. The caller flushes the queued changes.
 */
export async function checkFirewallIfDue(ctx: DaemonContext): Promise<void> {
  if (ctx.repairDue) {
    await checkFirewall(ctx, "failure");
    // The failed change can go again at once, now that its table is back.
    ctx.backoffUntil = 0;
    return;
  }
  const every = ctx.config.global.firewallCheckInterval;
  if (Number.isFinite(every) && ctx.options.now() - ctx.lastFirewallCheck >= every) {
    await checkFirewall(ctx, "interval");
  }
}

/**
 * Re-creates the missing tables of the running jails (only those prepared before: a new
 * jail's table is simply made), re-adds the missing managed rules and queues every active ban
 * missing from its table. Logs `event=firewall_repaired` when something was missing.
 */
export async function checkFirewall(ctx: DaemonContext, reason: CheckReason): Promise<void> {
  ctx.repairDue = false;
  ctx.lastFirewallCheck = ctx.options.now();
  const groups = new Map<string, JailRuntime[]>();
  for (const jail of ctx.jails.values()) {
    const key = `${jail.backendKind}\u0000${jail.config.table}`;
    const list = groups.get(key) ?? [];
    list.push(jail);
    groups.set(key, list);
  }
  const tables: string[] = [];
  let entries = 0;
  for (const [key, jails] of groups) {
    const first = jails[0]!;
    const { backend } = first;
    const table = first.config.table;
    try {
      const known = ctx.prepared.has(key);
      const gone = known && backend.missing ? await backend.missing([table]) : [];
      if (gone.length > 0) {
        tables.push(`${first.backendKind}:${table}`);
        ctx.prepared.delete(key);
      }
      await prepareTable(ctx, first);
      const actual = await backend.list(table);
      for (const jail of jails) {
        const desired = new Set(activeBans(ctx.state, jail.config.name).map((b) => b.target));
        const { add } = reconcile(desired, actual, new Set());
        for (const target of add) {
          if (pendingAdd(ctx, jail, target)) continue;
          queueFor(ctx, jail, { op: "add", target });
          entries++;
        }
      }
    } catch (error) {
      firewallFailed(ctx, error, "check");
    }
  }
  const rules = await ensureRules(ctx);
  if (tables.length + rules.length + entries === 0) return;
  ctx.logger.warn("firewall_repaired", {
    reason,
    tables: tables.length > 0 ? tables.join(",") : undefined,
    rules: rules.length > 0 ? rules.join(",") : undefined,
    entries,
    detail: "the firewall had lost what banwatch manages; re-created and re-filled from the state",
  });
}

/** True when an add of `target` to the jail's table is queued already (not a repair). */
function pendingAdd(ctx: DaemonContext, jail: JailRuntime, target: string): boolean {
  const key = `${jail.backendKind}\u0000${jail.config.table}\u0000${target}`;
  return ctx.pending.get(key)?.op === "add";
}
