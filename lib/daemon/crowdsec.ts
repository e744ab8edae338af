/**
 * The daemon's CrowdSec link: local bans pushed as alerts (queued in the state database and
 * retried with backoff), LAPI's decisions stream pulled into `[crowdsec] table` (vetted,
 * batched, expired locally at their own end). Local first: banning never waits for LAPI.
 *
 * The network runs in the background ({@link crowdsecTick} starts one cycle at a time and never
 * awaits it); what a cycle brings back (stream deltas) is applied by the next tick, inside the
 * daemon's one-at-a-time section, so the firewall and the database see one writer. LAPI being
 * down never flushes the table: decisions stay until their own `until`.
 * @module
 */
import { checkSecretFile, type CrowdsecConfig } from "../config/mod.ts";
import { type Cidr, displayTarget, parseCidr, RuntimeError } from "../core/mod.ts";
import {
  type AcceptedDecision,
  buildAlert,
  type DecisionStream,
  LapiClient,
  LapiError,
  vetDecision,
} from "../crowdsec/mod.ts";
import { type BanRecord, createIgnoreChecks } from "../decide/mod.ts";
import { type Backend, type BackendKind, type FirewallChange, reconcile } from "../firewall/mod.ts";
import { type CrowdsecStore, openCrowdsecStore, type StoredDecision } from "../state/mod.ts";
import type { BannedEntry, CrowdsecReport } from "../control/mod.ts";
import { type DaemonContext, errorText } from "./context.ts";

/** The pseudo-jail remote bans are listed under (`banned`, `unban --jail crowdsec`). */
export const CROWDSEC_JAIL = "crowdsec";

/**
 * Alerts kept waiting for LAPI at most, and decision deletes too; older ones are dropped (and
 * counted).
 */
export const MAX_QUEUED_ALERTS = 10000;

/** Alerts per `POST /v1/alerts`. */
const PUSH_BATCH = 50;
/** Longest wait between two pushes while LAPI fails, seconds. */
const MAX_PUSH_BACKOFF = 60;

/** What the link needs from the daemon: the backend of a kind (enforce.ts's backendFor). */
export interface CrowdsecDeps {
  backend: (kind: BackendKind) => Backend;
}

interface Runtime {
  config: CrowdsecConfig;
  /** Bumped by a reload: a network cycle of the previous link brings nothing back. */
  generation: number;
  backend: () => Backend;
  client: LapiClient;
  store: CrowdsecStore;
  decisions: Map<number, StoredDecision>;
  /** Remote decision ids by target: the entry leaves the table with the last of them. */
  byTarget: Map<string, Set<number>>;
  /** Table changes waiting, by target (the latest wish wins). */
  pending: Map<string, FirewallChange["op"]>;
  refusedIds: Set<number>;
  refused: number;
  /** The last failure of push and of pull (undefined: the last try worked). */
  errors: { push?: LapiError | Error | undefined; pull?: LapiError | Error | undefined };
  /** `crowdsec_connected` was logged since the last failure. */
  announced: boolean;
  lastPush: number | undefined;
  lastPull: number | undefined;
  needStartup: boolean;
  nextPull: number;
  nextPush: number;
  pushBackoff: number;
  inbox: Array<{ stream: DecisionStream; startup: boolean }>;
  busy: boolean;
  prepared: boolean;
  protect: (target: Cidr) => string | undefined;
}

const RUNTIMES = new WeakMap<DaemonContext, Runtime>();
const DEPS = new WeakMap<DaemonContext, CrowdsecDeps>();

function readSecret(path: string, what: string): string {
  const problem = checkSecretFile(path);
  if (problem) throw new RuntimeError(`crowdsec: ${what} ${path} ${problem}`);
  const text = Deno.readTextFileSync(path).trim();
  if (text === "") throw new RuntimeError(`crowdsec: ${what} ${path} is empty`);
  return text;
}

/** A client for `config`, with the secrets read now (throws RuntimeError). */
function clientFor(config: CrowdsecConfig): LapiClient {
  return new LapiClient({
    url: config.lapiUrl,
    ...(config.push
      ? {
        machine: {
          id: config.machineId ?? "",
          password: readSecret(config.machinePasswordFile ?? "", "machine_password_file"),
        },
      }
      : {}),
    ...(config.pull
      ? { bouncerKey: readSecret(config.bouncerKeyFile ?? "", "bouncer_key_file") }
      : {}),
  });
}

/** `[crowdsec]` when it asks for push or pull, else undefined. */
function activeConfig(ctx: DaemonContext): CrowdsecConfig | undefined {
  const config = ctx.config.crowdsec;
  return config && (config.push || config.pull) ? config : undefined;
}

function protectFor(ctx: DaemonContext): (target: Cidr) => string | undefined {
  const checks = createIgnoreChecks(ctx.config.global, undefined, ctx.options.ownAddresses ?? []);
  return (target) => checks.ignorePrefix(target);
}

/**
 * Sets up the link when `[crowdsec]` is configured: reads the secrets, restores the remote
 * decisions from the database and makes the table hold exactly the active ones.
 */
export async function startCrowdsec(ctx: DaemonContext, deps: CrowdsecDeps): Promise<void> {
  DEPS.set(ctx, deps);
  const config = activeConfig(ctx);
  if (!config) return;
  const client = clientFor(config);
  const store = openCrowdsecStore(ctx.store);
  const rt: Runtime = {
    config,
    generation: 0,
    backend: () => deps.backend(rt.config.backend),
    client,
    store,
    decisions: new Map(),
    byTarget: new Map(),
    pending: new Map(),
    refusedIds: new Set(),
    refused: 0,
    errors: {},
    announced: false,
    lastPush: undefined,
    lastPull: undefined,
    needStartup: true,
    nextPull: 0,
    nextPush: 0,
    pushBackoff: 0,
    inbox: [],
    busy: false,
    prepared: false,
    protect: protectFor(ctx),
  };
  RUNTIMES.set(ctx, rt);
  const now = ctx.options.now();
  for (const d of store.loadDecisions()) {
    if (d.until > now) remember(rt, d);
    else store.deleteDecision(d.id);
  }
  try {
    const backend = rt.backend();
    await backend.prepare([config.table]);
    rt.prepared = true;
    const desired = new Set(rt.byTarget.keys());
    const plan = reconcile(desired, await backend.list(config.table), desired);
    for (const target of plan.add) rt.pending.set(target, "add");
  } catch (error) {
    ctx.logger.error("crowdsec_table_failed", { table: config.table, error: errorText(error) });
    for (const target of rt.byTarget.keys()) rt.pending.set(target, "add");
  }
  rememberUrl(ctx, config.lapiUrl);
  ctx.logger.info("crowdsec_start", {
    lapi: config.lapiUrl,
    push: config.push,
    pull: config.pull,
    table: config.table,
    restored: rt.decisions.size,
    queued: store.queued(),
  });
}

/**
 * `reload`: applies a changed `[crowdsec]`. A new URL, new secrets, intervals or limits restart
 * the link (a full resync at the next pull, the applied decisions vetted again under the new
 * limits); a new table or backend moves the remote bans there; a section removed (or push and
 * pull both off) stops the link and lifts the remote bans. When a secret cannot be read the
 * running link stays as it was.
 */
export async function reloadCrowdsec(ctx: DaemonContext): Promise<void> {
  const rt = RUNTIMES.get(ctx);
  const deps = DEPS.get(ctx);
  const next = activeConfig(ctx);
  if (!rt) {
    if (next && deps) await startCrowdsec(ctx, deps);
    return;
  }
  let client: LapiClient | undefined;
  if (next) {
    try {
      client = clientFor(next);
    } catch (error) {
      ctx.logger.error("crowdsec_reload_failed", {
        detail: "the running CrowdSec link stays",
        error: errorText(error),
      });
      return;
    }
  }
  rt.protect = protectFor(ctx);
  const old = rt.config;
  rt.generation++;
  const moved = !next || !next.pull || next.table !== old.table || next.backend !== old.backend;
  if (moved) {
    // Out of the old table: every remote ban, and the changes still waiting for it.
    const targets = new Set([...rt.byTarget.keys(), ...rt.pending.keys()]);
    rt.pending.clear();
    try {
      await rt.backend().apply([...targets].map((target) => ({
        op: "delete" as const,
        table: old.table,
        target,
      })));
    } catch (error) {
      ctx.logger.error("crowdsec_table_failed", {
        table: old.table,
        changes: targets.size,
        error: errorText(error),
      });
    }
  }
  if (!next || !client) {
    RUNTIMES.delete(ctx);
    ctx.logger.info("crowdsec_stop", { lapi: old.lapiUrl, lifted: rt.byTarget.size });
    return;
  }
  Object.assign(rt, {
    config: next,
    client,
    prepared: moved ? false : rt.prepared,
    needStartup: true,
    nextPull: 0,
    nextPush: 0,
    pushBackoff: 0,
    errors: {},
    announced: false,
    inbox: [],
  });
  rt.refusedIds.clear();
  const lifted = ctx.store.transaction(() => revet(ctx, rt));
  if (moved) { for (const target of rt.byTarget.keys()) rt.pending.set(target, "add"); }
  await flushTable(ctx, rt);
  rememberUrl(ctx, next.lapiUrl);
  ctx.logger.info("crowdsec_reloaded", {
    lapi: next.lapiUrl,
    push: next.push,
    pull: next.pull,
    table: next.table,
    moved,
    applied: rt.decisions.size,
    lifted,
  });
}

/**
 * Vets the applied decisions again under the current limits and ignore list (all are lifted
 * when pull is off); returns how many were lifted.
 */
function revet(ctx: DaemonContext, rt: Runtime): number {
  const now = ctx.options.now();
  let lifted = 0;
  const kept: StoredDecision[] = [];
  for (const d of [...rt.decisions.values()].sort((a, b) => a.id - b.id)) {
    if (!rt.config.pull) {
      if (forget(rt, d.id)) lifted++;
      continue;
    }
    const vetted = vetDecision({
      id: d.id,
      type: "ban",
      scope: "Range",
      value: d.target,
      duration: `${Math.max(1, Math.ceil(d.until - now))}s`,
    }, {
      maxPrefixV4: rt.config.maxPrefixV4,
      maxPrefixV6: rt.config.maxPrefixV6,
      protect: rt.protect,
      now,
    });
    if (vetted.kind === "accept") kept.push(d);
    else {
      if (vetted.kind === "refuse") refuse(ctx, rt, d.id, vetted.value, vetted.reason);
      if (forget(rt, d.id)) lifted++;
    }
  }
  // Beyond max_decisions: the newest go (the oldest were applied first).
  for (const d of kept.slice(rt.config.maxDecisions)) {
    refuse(
      ctx,
      rt,
      d.id,
      displayTarget(d.target),
      `max_decisions ${rt.config.maxDecisions} reached`,
    );
    if (forget(rt, d.id)) lifted++;
  }
  return lifted;
}

/** Keeps LAPI's URL in the database for `status` while the daemon is stopped. */
function rememberUrl(ctx: DaemonContext, url: string): void {
  try {
    ctx.store.setMeta("crowdsec.lapi_url", url);
  } catch { /* only shown by an offline status */ }
}

/** Makes memory and the table match the stored decisions again (after a rollback). */
function resetFromStore(rt: Runtime, now: number): void {
  let rows: StoredDecision[];
  try {
    rows = rt.store.loadDecisions();
  } catch {
    return; // unreadable: keep what memory holds
  }
  const before = new Set(rt.byTarget.keys());
  rt.decisions.clear();
  rt.byTarget.clear();
  for (const d of rows) if (d.until > now) remember(rt, d);
  for (const target of before) if (!rt.byTarget.has(target)) rt.pending.set(target, "delete");
  for (const target of rt.byTarget.keys()) rt.pending.set(target, "add");
}

function remember(rt: Runtime, d: StoredDecision): void {
  rt.decisions.set(d.id, d);
  const ids = rt.byTarget.get(d.target) ?? new Set();
  ids.add(d.id);
  rt.byTarget.set(d.target, ids);
}

/** Forgets one remote decision; queues the table delete when no other holds the target. */
function forget(rt: Runtime, id: number): boolean {
  const d = rt.decisions.get(id);
  if (!d) return false;
  rt.decisions.delete(id);
  rt.store.deleteDecision(id);
  const ids = rt.byTarget.get(d.target);
  ids?.delete(id);
  if (!ids || ids.size === 0) {
    rt.byTarget.delete(d.target);
    rt.pending.set(d.target, "delete");
  }
  return true;
}

/**
 * Queues the alert of a new local ban (not a restore, not an update); `firstFailure` (epoch s,
 * an automatic ban's first counted failure) is the alert's `start_at`.
 */
export function crowdsecBan(ctx: DaemonContext, ban: BanRecord, firstFailure?: number): void {
  const rt = RUNTIMES.get(ctx);
  if (!rt || !rt.config.push || ban.origin === "restored") return;
  const alert = buildAlert(firstFailure === undefined ? ban : { ...ban, firstFailure }, {
    scenarioPrefix: rt.config.scenarioPrefix,
    now: ctx.options.now(),
  });
  if (!alert) return;
  try {
    const dropped = rt.store.enqueue(
      { jail: ban.jail, target: ban.target, alert: JSON.stringify(alert) },
      MAX_QUEUED_ALERTS,
    );
    if (dropped > 0) {
      rt.store.count("dropped", dropped);
      ctx.logger.warn("crowdsec_queue_full", { dropped, max: MAX_QUEUED_ALERTS });
    }
  } catch (error) {
    ctx.logger.error("crowdsec_queue_failed", { error: errorText(error) });
  }
}

/** A ban lifted by hand: its pushed decisions are deleted from LAPI, its queued alert dropped. */
export function crowdsecUnban(ctx: DaemonContext, jail: string, target: string): void {
  const rt = RUNTIMES.get(ctx);
  if (!rt || !rt.config.push) return;
  try {
    rt.store.unqueue(jail, target);
    const dropped = rt.store.queueDeletes(rt.store.takePushed(jail, target), MAX_QUEUED_ALERTS);
    if (dropped > 0) {
      rt.store.count("dropped", dropped);
      ctx.logger.warn("crowdsec_queue_full", { dropped, max: MAX_QUEUED_ALERTS });
    }
  } catch (error) {
    ctx.logger.error("crowdsec_queue_failed", { error: errorText(error) });
  }
}

/**
 * Lifts remote bans by hand (all, or those of one target); they come back only when LAPI
 * sends them again. Returns how many were lifted.
 */
export async function crowdsecLift(
  ctx: DaemonContext,
  request: { addr?: string; all?: boolean },
): Promise<number> {
  const rt = RUNTIMES.get(ctx);
  if (!rt) return 0;
  const target = request.addr === undefined ? undefined : parseCidr(request.addr)?.text;
  let lifted = 0;
  for (const d of [...rt.decisions.values()]) {
    if (request.all || d.target === target) { if (forget(rt, d.id)) lifted++; }
  }
  if (lifted > 0) {
    ctx.logger.info("crowdsec_lifted", { addr: request.addr ?? "all", decisions: lifted });
    await flushTable(ctx, rt);
  }
  return lifted;
}

/** Remote bans as `banned` lists them: jail "crowdsec", origin "crowdsec", their scenario. */
export function crowdsecBanned(ctx: DaemonContext): BannedEntry[] {
  const rt = RUNTIMES.get(ctx);
  if (!rt) return [];
  const out: BannedEntry[] = [];
  for (const [target, ids] of rt.byTarget) {
    let best: StoredDecision | undefined;
    for (const id of ids) {
      const d = rt.decisions.get(id);
      if (d && (!best || d.until > best.until)) best = d;
    }
    if (!best) continue;
    out.push({
      jail: CROWDSEC_JAIL,
      target,
      since: 0,
      until: best.until,
      failures: 0,
      banCount: ids.size,
      origin: "crowdsec",
      scenario: best.scenario,
    });
  }
  return out.sort((a, b) => (a.until ?? 0) - (b.until ?? 0));
}

/** The link's state for `status`; undefined when `[crowdsec]` is not in use. */
export function crowdsecStatus(ctx: DaemonContext): CrowdsecReport | undefined {
  const rt = RUNTIMES.get(ctx);
  if (!rt) return undefined;
  const error = rt.errors.push ?? rt.errors.pull;
  return {
    lapiUrl: rt.config.lapiUrl,
    state: linkState(rt),
    lastError: error?.message,
    lastPush: rt.lastPush,
    lastPull: rt.lastPull,
    queued: rt.store.queued(),
    dropped: rt.store.counter("dropped"),
    applied: rt.decisions.size,
    refused: rt.refused,
  };
}

/**
 * One step, called by every poll: applies what the last network cycle brought, expires
 * decisions at their own end, flushes the table, and starts the next cycle when one is due.
 */
export async function crowdsecTick(ctx: DaemonContext): Promise<void> {
  const rt = RUNTIMES.get(ctx);
  if (!rt) return;
  const now = ctx.options.now();
  for (const item of rt.inbox.splice(0)) {
    try {
      // One transaction per answer: a startup set of 10,000 decisions is one commit.
      ctx.store.transaction(() => applyStream(ctx, rt, item.stream, item.startup, now));
    } catch (error) {
      // The database refused and rolled back: go back to what it holds, and read the whole
      // set again at the next pull.
      rt.needStartup = true;
      ctx.logger.error("crowdsec_state_failed", { error: errorText(error) });
      resetFromStore(rt, now);
    }
  }
  for (const d of [...rt.decisions.values()]) if (d.until <= now) forget(rt, d.id);
  await flushTable(ctx, rt);
  if (!rt.busy && (now >= rt.nextPull || (now >= rt.nextPush && hasWork(rt)))) {
    rt.busy = true;
    cycle(ctx, rt).finally(() => rt.busy = false);
  }
}

/** Waits for a running network cycle (at stop). */
export async function stopCrowdsec(ctx: DaemonContext): Promise<void> {
  const rt = RUNTIMES.get(ctx);
  if (!rt) return;
  for (let i = 0; rt.busy && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
  RUNTIMES.delete(ctx);
}

function hasWork(rt: Runtime): boolean {
  return rt.config.push && (rt.store.queuedDeletes() > 0 || rt.store.queued() > 0);
}

async function flushTable(ctx: DaemonContext, rt: Runtime): Promise<void> {
  if (rt.pending.size === 0) return;
  const changes = [...rt.pending].map(([target, op]) => ({
    op,
    table: rt.config.table,
    target,
  }));
  try {
    const backend = rt.backend();
    if (!rt.prepared) {
      await backend.prepare([rt.config.table]);
      rt.prepared = true;
    }
    await backend.apply(changes);
  } catch (error) {
    ctx.logger.error("crowdsec_table_failed", {
      table: rt.config.table,
      changes: changes.length,
      error: errorText(error),
    });
    return;
  }
  for (const c of changes) if (rt.pending.get(c.target) === c.op) rt.pending.delete(c.target);
}

/** The network half: push queued alerts and deletes, then read the stream. Never throws. */
async function cycle(ctx: DaemonContext, rt: Runtime): Promise<void> {
  const now = () => ctx.options.now();
  const generation = rt.generation;
  if (rt.config.push && now() >= rt.nextPush) {
    try {
      await pushQueued(ctx, rt);
      if (generation !== rt.generation) return;
      rt.pushBackoff = 0;
      rt.nextPush = 0;
      worked(ctx, rt, "push");
    } catch (error) {
      if (generation !== rt.generation) return;
      rt.pushBackoff = Math.min(MAX_PUSH_BACKOFF, rt.pushBackoff === 0 ? 1 : rt.pushBackoff * 2);
      rt.nextPush = now() + rt.pushBackoff;
      failed(ctx, rt, "push", error, { retry_in: `${rt.pushBackoff}s` });
    }
  }
  if (rt.config.pull && now() >= rt.nextPull) {
    rt.nextPull = now() + rt.config.pullInterval;
    const startup = rt.needStartup;
    try {
      const stream = await rt.client.stream(startup);
      if (generation !== rt.generation) return;
      rt.inbox.push({ stream, startup });
      rt.needStartup = false;
      rt.lastPull = now();
      worked(ctx, rt, "pull");
    } catch (error) {
      if (generation !== rt.generation) return;
      rt.needStartup = true;
      failed(ctx, rt, "pull", error, { retry_in: `${rt.config.pullInterval}s` });
    }
  }
}

async function pushQueued(ctx: DaemonContext, rt: Runtime): Promise<void> {
  for (;;) {
    const id = rt.store.peekDeletes(1)[0];
    if (id === undefined) break;
    await rt.client.deleteDecision(id);
    rt.store.deleted(id);
    ctx.logger.info("crowdsec_deleted", { decision: id });
  }
  for (;;) {
    const batch = rt.store.peek(PUSH_BATCH);
    if (batch.length === 0) return;
    let alertIds: number[];
    try {
      alertIds = await rt.client.pushAlerts(batch.map((q) => JSON.parse(q.alert)));
    } catch (error) {
      rt.store.failed(batch.map((q) => q.id));
      throw error;
    }
    rt.store.dequeue(batch.map((q) => q.id));
    rt.lastPush = ctx.options.now();
    for (const [i, q] of batch.entries()) {
      const alertId = alertIds[i];
      const alert = JSON.parse(q.alert) as { decisions: Array<{ duration: string }> };
      ctx.logger.info("crowdsec_pushed", {
        jail: q.jail,
        addr: displayTarget(q.target),
        alert: alertId,
      });
      if (alertId === undefined) continue;
      try {
        const ids = await rt.client.alertDecisionIds(alertId);
        const seconds = Number.parseInt(alert.decisions[0]?.duration ?? "0", 10);
        rt.store.savePushed(q.jail, q.target, ids, ctx.options.now() + seconds);
      } catch (error) {
        ctx.logger.warn("crowdsec_pushed_ids_unknown", { alert: alertId, error: errorText(error) });
      }
    }
  }
}

/** `starting`, `connected`, `unreachable` (no answer) or `refused` (an HTTP error). */
function linkState(rt: Runtime): string {
  const { push, pull } = rt.errors;
  if (!push && !pull) {
    return rt.lastPull === undefined && rt.lastPush === undefined ? "starting" : "connected";
  }
  const status = (e: Error | undefined) => e instanceof LapiError ? e.status : undefined;
  return status(push) === 0 || status(pull) === 0 ? "unreachable" : "refused";
}

function worked(ctx: DaemonContext, rt: Runtime, during: "push" | "pull"): void {
  rt.errors[during] = undefined;
  if (!rt.announced && linkState(rt) === "connected") {
    rt.announced = true;
    ctx.logger.info("crowdsec_connected", { lapi: rt.config.lapiUrl });
  }
}

function failed(
  ctx: DaemonContext,
  rt: Runtime,
  during: "push" | "pull",
  error: unknown,
  fields: Record<string, string>,
): void {
  const e = error instanceof Error ? error : new Error(String(error));
  // One line per new failure, not one per retry.
  if (rt.errors[during]?.message !== e.message) {
    ctx.logger.error("crowdsec_failed", {
      during,
      lapi: rt.config.lapiUrl,
      error: errorText(e),
      queued: rt.store.queued(),
      ...fields,
    });
  }
  rt.errors[during] = e;
  rt.announced = false;
}

function applyStream(
  ctx: DaemonContext,
  rt: Runtime,
  stream: DecisionStream,
  startup: boolean,
  now: number,
): void {
  const own = rt.store.pushedIds(now);
  rt.store.prunePushed(now);
  const seen = new Set<number>();
  const accepted: AcceptedDecision[] = [];
  for (const d of stream.new ?? []) {
    seen.add(d.id);
    if (own.has(d.id) || rt.decisions.has(d.id)) continue;
    const vetted = vetDecision(d, {
      maxPrefixV4: rt.config.maxPrefixV4,
      maxPrefixV6: rt.config.maxPrefixV6,
      protect: rt.protect,
      now,
    });
    if (vetted.kind === "accept") accepted.push(vetted.decision);
    else if (vetted.kind === "refuse") refuse(ctx, rt, vetted.id, vetted.value, vetted.reason);
  }
  let removed = 0;
  if (startup) {
    // A full resync: what LAPI no longer has was deleted while we were not listening.
    for (const id of [...rt.decisions.keys()]) if (!seen.has(id) && forget(rt, id)) removed++;
  }
  for (const d of stream.deleted ?? []) if (forget(rt, d.id)) removed++;
  let added = 0;
  for (const a of accepted) {
    if (rt.decisions.size >= rt.config.maxDecisions) {
      const value = displayTarget(a.target.text);
      refuse(ctx, rt, a.id, value, `max_decisions ${rt.config.maxDecisions} reached`);
      continue;
    }
    const stored = {
      id: a.id,
      target: a.target.text,
      until: a.until,
      scenario: a.scenario,
      origin: a.origin,
    };
    rt.store.saveDecision(stored);
    if (!rt.byTarget.has(stored.target)) rt.pending.set(stored.target, "add");
    remember(rt, stored);
    added++;
  }
  if (added > 0 || removed > 0 || startup) {
    ctx.logger.info("crowdsec_pulled", {
      startup,
      added,
      removed,
      applied: rt.decisions.size,
      refused: rt.refused,
    });
  }
}

function refuse(ctx: DaemonContext, rt: Runtime, id: number, value: string, reason: string): void {
  if (rt.refusedIds.has(id)) return;
  if (rt.refusedIds.size >= 100000) rt.refusedIds.clear();
  rt.refusedIds.add(id);
  rt.refused++;
  try {
    rt.store.count("refused", 1); // `status` shows the total while the daemon is stopped
  } catch { /* a count is not worth a failure */ }
  ctx.logger.warn("crowdsec_refused", { decision: id, value, reason });
}
