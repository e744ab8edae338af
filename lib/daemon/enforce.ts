/**
 * Ban actions -> firewall tables. Actions are logged and turned into pending changes (the
 * latest wish for an entry wins); {@link flushFirewall} applies them after the state commit,
 * backing off when the firewall fails. A ban row stays `applied = 0` until the firewall
 * confirms and is only deleted once its entry is gone, so the database always says which
 * entries banwatch owns. At start {@link reconcileTables} makes each table match the database,
 * and {@link ensureRules} adds the managed ipfw rules.
 * @module
 */
import { BackendError, displayTarget, formatDuration } from "../core/mod.ts";
import { activeBans, type BanAction, type BanRecord } from "../decide/mod.ts";
import type { BackendKind } from "../config/mod.ts";
import {
  type Backend,
  createBackend,
  type FirewallChange,
  ipfwRuleArgs,
  reconcile,
} from "../firewall/mod.ts";
import type { StoredBan } from "../state/mod.ts";
import { type DaemonContext, daemonNow, type JailRuntime, type PendingChange } from "./context.ts";
import { banHook, unbanHook } from "./hook_events.ts";
import { recordApplied, tryWrite } from "./persist.ts";
import { crowdsecBan, crowdsecUnban } from "./crowdsec.ts";

/** Longest wait, in seconds, between two tries of a failing firewall. */
const MAX_BACKOFF = 60;

function changeKey(c: { backendKind: string; table: string; target: string }): string {
  return `${c.backendKind}\u0000${c.table}\u0000${c.target}`;
}

/** The backend of a kind, built on first use and shared by every jail using it. */
export function backendFor(ctx: DaemonContext, kind: BackendKind): Backend {
  let backend = ctx.backends.get(kind);
  if (!backend) {
    const g = ctx.config.global;
    backend = (ctx.options.createBackend ?? createBackend)(kind, {
      runner: ctx.options.runner,
      ipfwPath: g.ipfwPath,
      pfctlPath: g.pfctlPath,
      nftPath: g.nftPath,
      timeout: g.firewallTimeout,
      logger: ctx.logger,
    });
    ctx.backends.set(kind, backend);
  }
  return backend;
}

/** Logs each action (`event=ban`, `unban`, `ban_refused`) and queues its firewall change. */
export function applyActions(ctx: DaemonContext, actions: readonly BanAction[]): void {
  for (const a of actions) {
    if (a.kind === "ban") {
      const jail = ctx.jails.get(a.ban.jail);
      const duration = a.ban.until - a.ban.since;
      ctx.logger.info("ban", {
        jail: a.ban.jail,
        addr: displayTarget(a.ban.target),
        failures: a.ban.failures,
        bantime: formatDuration(duration),
        count: a.ban.banCount,
        origin: a.ban.origin,
        // A prefix escalation says so, and which addresses led to it.
        escalation: a.members ? "prefix" : undefined,
        members: a.members?.join(","),
        line: a.ban.line,
      });
      if (jail) {
        if (!a.update) jail.totalBanned++;
        if (!a.update) crowdsecBan(ctx, a.ban, a.firstFailure);
        queueFor(ctx, jail, { op: "add", target: a.ban.target });
      }
      banHook(ctx, a.ban, a.update ?? false);
    } else if (a.kind === "unban") {
      const jail = ctx.jails.get(a.jail);
      ctx.logger.info("unban", {
        jail: a.jail,
        addr: displayTarget(a.target),
        reason: a.reason,
      });
      if (jail) {
        jail.totalUnbanned++;
        if (a.reason === "manual") crowdsecUnban(ctx, a.jail, a.target);
        queueFor(ctx, jail, { op: "delete", target: a.target });
      }
      unbanHook(ctx, a.jail, a.target);
    } else {
      ctx.logger.warn("ban_refused", { jail: a.jail, addr: a.addr, reason: a.reason });
    }
  }
}

/** Queues an add or delete of `target` in a running jail's table. */
export function queueFor(
  ctx: DaemonContext,
  jail: JailRuntime,
  change: Omit<FirewallChange, "table">,
): void {
  queueChange(ctx, {
    ...change,
    table: jail.config.table,
    jail: jail.config.name,
    kind: jail.backendKind,
  });
}

/**
 * Queues a change at a backend and table (for a ban: the ones it was applied with, see
 * placement.ts). The latest wish for an entry wins: a ban then an unban of the same target
 * cancel out.
 */
export function queueChange(
  ctx: DaemonContext,
  change: FirewallChange & { jail: string; kind: BackendKind; ban?: BanRecord },
): void {
  const { kind, ...rest } = change;
  const pending: PendingChange = { ...rest, backendKind: kind };
  ctx.pending.set(changeKey(pending), pending);
}

/** Pending changes of one jail (for `status`). */
export function pendingFor(ctx: DaemonContext, jail: string): number {
  let n = 0;
  for (const c of ctx.pending.values()) if (c.jail === jail) n++;
  return n;
}

/** Makes sure a jail's table exists, once per backend and table. */
export async function prepareTable(ctx: DaemonContext, jail: JailRuntime): Promise<void> {
  const key = `${jail.backendKind}\u0000${jail.config.table}`;
  if (ctx.prepared.has(key)) return;
  await jail.backend.prepare([jail.config.table]);
  ctx.prepared.add(key);
}

/**
 * Applies the pending changes, one backend at a time, unless a failure's backoff still runs.
 * Applied changes are recorded in the database (or kept for the backlog's next write).
 */
export async function flushFirewall(ctx: DaemonContext): Promise<void> {
  if (ctx.pending.size === 0) return;
  const now = ctx.options.now();
  if (now < ctx.backoffUntil) return;
  const active = activeKeys(ctx);
  const byKind = new Map<BackendKind, PendingChange[]>();
  const shared: PendingChange[] = [];
  for (const change of ctx.pending.values()) {
    // Never delete an entry another jail sharing the table still bans.
    if (change.op === "delete" && stillBanned(ctx, change, active)) {
      shared.push(change);
      continue;
    }
    const list = byKind.get(change.backendKind) ?? [];
    list.push(change);
    byKind.set(change.backendKind, list);
  }
  for (const c of shared) ctx.pending.delete(changeKey(c));
  if (shared.length > 0) {
    tryWrite(ctx, "unban", () => {
      for (const c of shared) ctx.store.deleteBan(c.jail, c.target);
    });
  }
  for (const [kind, changes] of byKind) {
    const backend = backendFor(ctx, kind);
    try {
      for (const jail of ctx.jails.values()) {
        if (jail.backendKind === kind) await prepareTable(ctx, jail);
      }
      await backend.apply(changes.map(({ op, table, target }) => ({ op, table, target })));
    } catch (error) {
      if (isMissingObject(error)) ctx.repairDue = true;
      firewallFailed(ctx, error, "apply");
      return;
    }
    ctx.backoff = 0;
    for (const c of changes) ctx.pending.delete(changeKey(c));
    const record = changes.filter((c) =>
      c.op === "add" || !active.has(`${c.jail}\u0000${c.target}`)
    );
    if (ctx.backlog) ctx.unrecorded.push(...record);
    else if (!tryWrite(ctx, "firewall", () => recordApplied(ctx, record))) {
      ctx.unrecorded.push(...record);
    }
  }
}

/** `jail\0target` of every active ban, built once per flush (a lookup per change). */
function activeKeys(ctx: DaemonContext): Set<string> {
  const keys = new Set<string>();
  for (const b of activeBans(ctx.state)) keys.add(`${b.jail}\u0000${b.target}`);
  return keys;
}

function stillBanned(
  ctx: DaemonContext,
  change: PendingChange,
  active: ReadonlySet<string>,
): boolean {
  for (const jail of ctx.jails.values()) {
    if (jail.config.name === change.jail) continue;
    if (jail.backendKind !== change.backendKind || jail.config.table !== change.table) continue;
    if (active.has(`${jail.config.name}\u0000${change.target}`)) return true;
  }
  return false;
}

/**
 * True when a firewall call failed because its table or rule is gone: ipfw exit 65 "does not
 * exist", pf "Table does not exist", nft "No such file or directory".
 */
export function isMissingObject(error: unknown): boolean {
  if (!(error instanceof BackendError)) return false;
  if (error.code === 65 && /does not exist/.test(error.stderr)) return true;
  return /Table does not exist|No such file or directory/i.test(error.stderr);
}

/** Logs a firewall failure and doubles the backoff (1 s up to {@link MAX_BACKOFF}). */
export function firewallFailed(ctx: DaemonContext, error: unknown, during: string): void {
  ctx.firewallErrors++;
  ctx.backoff = Math.min(MAX_BACKOFF, ctx.backoff === 0 ? 1 : ctx.backoff * 2);
  ctx.backoffUntil = ctx.options.now() + ctx.backoff;
  const e = error as {
    argv?: readonly string[];
    code?: number;
    stderr?: string;
    message?: string;
  };
  ctx.logger.error("firewall_failed", {
    during,
    argv: e.argv?.join(" "),
    code: e.code,
    stderr: e.stderr,
    error: e.argv ? undefined : e.message ?? String(error),
    pending: ctx.pending.size,
    retry_in: `${ctx.backoff}s`,
  });
  // For `banwatch report`; skipped while the disk refuses writes (the log line stays).
  const detail = e.argv
    ? `${e.argv.join(" ")}: exit ${e.code}${e.stderr ? `: ${e.stderr.trim()}` : ""}`
    : e.message ?? String(error);
  const time = daemonNow(ctx);
  if (!ctx.backlog) {
    tryWrite(ctx, "event", () =>
      ctx.store.events.addEvents([
        { time, kind: "firewall_error", jail: "", target: "", detail: `${during}: ${detail}` },
      ]));
  }
}

/**
 * Makes each table hold exactly the active bans banwatch owns (the stored rows); foreign
 * entries stay. Queues the differences; the caller flushes them.
 */
export async function reconcileTables(
  ctx: DaemonContext,
  rows: readonly StoredBan[],
  now: number,
): Promise<void> {
  const byTable = new Map<
    string,
    { jail: JailRuntime; desired: Set<string>; owned: Set<string> }
  >();
  for (const jail of ctx.jails.values()) {
    const key = `${jail.backendKind}\u0000${jail.config.table}`;
    if (!byTable.has(key)) byTable.set(key, { jail, desired: new Set(), owned: new Set() });
  }
  for (const row of rows) {
    const jail = ctx.jails.get(row.jail);
    if (!jail) continue;
    const entry = byTable.get(`${jail.backendKind}\u0000${jail.config.table}`)!;
    entry.owned.add(row.target);
    if (row.until > now) entry.desired.add(row.target);
  }
  // The tables are independent: ask the firewall about all of them at once, so the start
  // waits for the slowest table rather than for the sum (each is a program run or two).
  const tables = [...byTable.values()];
  const listed = await Promise.allSettled(tables.map(async ({ jail }) => {
    await prepareTable(ctx, jail);
    return await jail.backend.list(jail.config.table);
  }));
  for (const [i, { jail, desired, owned }] of tables.entries()) {
    try {
      const result = listed[i]!;
      if (result.status === "rejected") throw result.reason;
      const actual = result.value;
      const plan = reconcile(desired, actual, owned);
      for (const target of plan.add) queueFor(ctx, jail, { op: "add", target });
      for (const target of plan.remove) queueFor(ctx, jail, { op: "delete", target });
      // Entries already present are applied; record that so they are not re-added.
      const present = new Set(actual);
      tryWrite(ctx, "reconcile", () => {
        for (const target of desired) {
          if (present.has(target)) ctx.store.markApplied(jail.config.name, target, true);
        }
      });
      ctx.logger.info("reconciled", {
        jail: jail.config.name,
        table: jail.config.table,
        present: actual.length,
        add: plan.add.length,
        remove: plan.remove.length,
      });
    } catch (error) {
      firewallFailed(ctx, error, "reconcile");
    }
  }
}

/**
 * A dry run prints the argv of a jail's managed rule (`event=dry-run argv="/sbin/ipfw -q add
 * 1000 deny ..."`) as it prints its table commands, once per rule.
 */
function dryRunRule(ctx: DaemonContext, jail: JailRuntime): void {
  const c = jail.config;
  if (c.ruleNumber === undefined) return;
  const args = ipfwRuleArgs(c.table, { rule: c.ruleNumber, protocol: c.protocol, ports: c.ports });
  const argv = [ctx.config.global.ipfwPath, ...args].join(" ");
  const key = `rule\u0000${argv}`;
  if (ctx.prepared.has(key)) return;
  ctx.prepared.add(key);
  ctx.logger.info("dry-run", { argv });
}

/**
 * Adds each managed ipfw rule (`rule = N`) that is missing. Rules stay on stop, so the
 * tables keep blocking while banwatch is down (or being upgraded).
 * @returns the rules added, as `jail:N`
 */
export async function ensureRules(ctx: DaemonContext): Promise<string[]> {
  const added: string[] = [];
  const ipfw = ctx.config.global.ipfwPath;
  const runner = ctx.options.runner;
  for (const jail of ctx.jails.values()) {
    const c = jail.config;
    if (c.ruleNumber === undefined || !c.manageRule) continue;
    if (jail.backendKind === "dry-run") {
      dryRunRule(ctx, jail);
      continue;
    }
    if (jail.backendKind !== "ipfw") continue;
    const listed = await runner.run([ipfw, "list", String(c.ruleNumber)]);
    if (listed.code === 0 && listed.stdout.includes(`table(${c.table})`)) continue;
    const argv = [
      ipfw,
      ...ipfwRuleArgs(c.table, {
        rule: c.ruleNumber,
        protocol: c.protocol,
        ports: c.ports,
      }),
    ];
    const result = await runner.run(argv);
    if (result.code === 0) {
      ctx.logger.info("rule_added", { jail: c.name, argv: argv.join(" ") });
      added.push(`${c.name}:${c.ruleNumber}`);
    } else {
      firewallFailed(ctx, new BackendError(argv, result.code, result.stderr.trim()), "rule");
    }
  }
  return added;
}
