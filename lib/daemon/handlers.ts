/**
 * The control requests' work on the running daemon: status, banned, ban, unban, flush and
 * reload. The {@link Daemon} answers the socket by calling these one at a time (never during
 * a poll), so none of them guards against another running.
 * @module
 */
import {
  type Cidr,
  cidrContains,
  foreverToNull,
  parseCidr,
  parseIp,
  UsageError,
  VERSION,
} from "../core/mod.ts";
import {
  activeBans,
  type BanAction,
  type BanRecord,
  banStats,
  forgetWindows,
  manualBan,
  manualUnban,
  unbanAll,
  windowStats,
} from "../decide/mod.ts";
import type { Config } from "../config/mod.ts";
import type { BannedEntry, JailFileStatus, JailStatus, StatusReport } from "../control/mod.ts";
import { type DaemonContext, daemonNow, errorText } from "./context.ts";
import { reloadCrowdsec } from "./crowdsec.ts";
import { applyActions, flushFirewall, pendingFor } from "./enforce.ts";
import { fileState, waitingGlobs } from "./files.ts";
import {
  followReload,
  liftPendingEntries,
  pendingOnlyJails,
  placementsBefore,
} from "./placement.ts";
import { buildJails, openTails } from "./jails.ts";
import { persist, tryWrite } from "./persist.ts";
import { checkFirewall } from "./repair.ts";

/** A ban as `banned` lists it: its BanRecord fields without the line, forever as null. */
function toEntry(ban: BanRecord): BannedEntry {
  return {
    jail: ban.jail,
    target: ban.target,
    since: ban.since,
    until: foreverToNull(ban.until),
    failures: ban.failures,
    banCount: ban.banCount,
    origin: ban.origin,
  };
}

function checkJail(ctx: DaemonContext, jail: string | undefined): void {
  if (jail === undefined || ctx.jails.has(jail)) return;
  for (const c of ctx.pending.values()) if (c.jail === jail) return; // still being lifted
  throw new UsageError(`no jail "${jail}"`);
}

/** The status report for one jail or all; throws UsageError for an unknown jail. */
export function statusReport(ctx: DaemonContext, jail?: string): StatusReport {
  checkJail(ctx, jail);
  const stats = banStats(ctx.state);
  const failing = windowStats(ctx.state);
  const jails: JailStatus[] = [];
  for (const rt of ctx.jails.values()) {
    if (jail !== undefined && rt.config.name !== jail) continue;
    const files: JailFileStatus[] = [...rt.paths].map((path) => ({
      path,
      offset: ctx.tails.get(path)?.tail.position?.offset ?? ctx.positions.get(path)?.offset ?? 0,
      lastRead: ctx.tails.get(path)?.lastRead,
      ...fileState(ctx.tails.get(path)),
    }));
    files.push(...waitingGlobs(rt));
    jails.push({
      name: rt.config.name,
      enabled: true,
      backend: rt.backendKind,
      table: rt.config.table,
      files,
      failing: failing.get(rt.config.name)?.addrs ?? 0,
      failures: failing.get(rt.config.name)?.failures ?? 0,
      banned: activeBans(ctx.state, rt.config.name).length,
      totalBanned: rt.totalBanned,
      totalUnbanned: rt.totalUnbanned,
      pending: pendingFor(ctx, rt.config.name),
      evictions: stats.evictions,
      ...(rt.sessions
        ? { sessions: { open: rt.sessions.size, evicted: rt.sessions.evictions } }
        : {}),
    });
  }
  jails.push(...pendingOnlyJails(ctx, jail));
  return {
    version: VERSION,
    pid: ctx.options.pid ?? 0,
    running: true,
    configFile: ctx.config.file,
    configLoadedAt: ctx.configLoadedAt,
    startedAt: ctx.startedAt,
    jails,
  };
}

/** Active bans, for one jail or all, oldest first. */
export function bannedEntries(ctx: DaemonContext, jail?: string): BannedEntry[] {
  const entries = activeBans(ctx.state, jail).map((ban) => {
    const entry = toEntry(ban);
    const rt = ctx.jails.get(ban.jail);
    return rt ? { ...entry, backend: rt.backendKind, table: rt.config.table } : entry;
  });
  return [...entries, ...liftPendingEntries(ctx, jail)].sort((a, b) => a.since - b.since);
}

/** Runs the actions a request decided: log, save, then apply to the firewall. */
async function carryOut(ctx: DaemonContext, actions: readonly BanAction[]): Promise<void> {
  applyActions(ctx, actions);
  persist(ctx, { actions });
  await flushFirewall(ctx);
}

/** Bans by hand; refuses protected addresses (ignoreip, own, loopback) unless forced. */
export async function banByHand(
  ctx: DaemonContext,
  request: { jail: string; addr: string; duration?: number; force?: boolean },
): Promise<BannedEntry> {
  const { jail, addr } = request;
  const rt = ctx.jails.get(jail);
  if (!rt) throw new UsageError(`no jail "${jail}"`);
  const target = parseCidr(addr);
  if (!target) throw new UsageError(`"${addr}" is not an address or CIDR`);
  if (!request.force) {
    const ip = parseIp(addr);
    const reason = ip ? rt.checks.ignore(ip) : rt.checks.ignorePrefix(target);
    if (reason) {
      throw new UsageError(`refusing to ban ${addr}: ${reason} (use --force to override)`);
    }
  }
  const actions = manualBan(ctx.state, jail, {
    target,
    banTime: request.duration ?? rt.config.banTime,
    now: daemonNow(ctx),
  });
  await carryOut(ctx, actions);
  const ban = activeBans(ctx.state, jail).find((b) => b.target === target.text);
  if (!ban) throw new Error(`ban of ${addr} in ${jail} did not take`);
  return toEntry(ban);
}

/**
 * Lifts bans of one address (or all), in one jail or all. A prefix ban that contains the
 * address (an IPv6 /64 escalation) is named in `covering`, or lifted too with `covering`.
 */
export async function unbanByHand(
  ctx: DaemonContext,
  request: { addr?: string; all?: boolean; jail?: string; covering?: boolean },
): Promise<{ removed: number; covering?: BannedEntry[] }> {
  checkJail(ctx, request.jail);
  let actions: BanAction[] = [];
  let covering: BannedEntry[] = [];
  if (request.all) actions = unbanAll(ctx.state, request.jail);
  else {
    const target = request.addr === undefined ? undefined : parseCidr(request.addr);
    if (!target) throw new UsageError(`"${request.addr}" is not an address or CIDR`);
    const prefixes = coveringBans(ctx, target, request.jail);
    for (const jail of ctx.jails.keys()) {
      if (request.jail === undefined || request.jail === jail) {
        actions.push(...manualUnban(ctx.state, jail, target));
        if (!request.covering) continue;
        for (const p of prefixes) {
          const cidr = parseCidr(p.target);
          if (p.jail === jail && cidr) actions.push(...manualUnban(ctx.state, jail, cidr));
        }
      }
    }
    if (!request.covering) covering = prefixes.map(toEntry);
  }
  await carryOut(ctx, actions);
  const removed = actions.filter((a) => a.kind === "unban").length;
  return covering.length > 0 ? { removed, covering } : { removed };
}

/** Active bans of a wider prefix that contains `target` (e.g. the /64 of an IPv6 address). */
function coveringBans(ctx: DaemonContext, target: Cidr, jail?: string): BanRecord[] {
  return activeBans(ctx.state, jail).filter((ban) => {
    const p = parseCidr(ban.target);
    return p !== undefined && p.family === target.family && p.prefix < target.prefix &&
      cidrContains(p, target);
  });
}

/** Forgets a jail's failure windows (its bans stay). */
export function flushWindows(ctx: DaemonContext, jail: string): { forgotten: number } {
  if (!ctx.jails.has(jail)) throw new UsageError(`no jail "${jail}"`);
  const forgotten = forgetWindows(ctx.state, jail);
  tryWrite(ctx, "flush", () => ctx.store.deleteWindowsForJail(jail));
  return { forgotten };
}

/**
 * Loads the configuration again; on success applies it (jails rebuilt, removed jails' bans
 * lifted, logs reopened), else keeps the running one and returns the problems.
 */
export async function reloadConfig(
  ctx: DaemonContext,
): Promise<{ ok: true } | { ok: false; problems: string[] }> {
  if (!ctx.options.reloadConfig) return { ok: false, problems: ["reload is not available"] };
  let config: Config;
  try {
    config = await ctx.options.reloadConfig();
  } catch (error) {
    const problems = (error as { problems?: string[] }).problems ?? [errorText(error)];
    ctx.logger.error("reload_failed", {
      detail: "the running configuration stays",
      problems: problems.length,
      first: problems[0],
    });
    return { ok: false, problems };
  }
  const before = placementsBefore(ctx);
  ctx.config = config;
  buildJails(ctx, config);
  // A removed or disabled jail's bans leave the firewall with it, from the backend and table
  // they were applied with; a jail whose backend or table changed takes its bans along.
  for (const name of followReload(ctx, before)) applyActions(ctx, unbanAll(ctx.state, name));
  await checkFirewall(ctx, "reload");
  persist(ctx);
  await openTails(ctx);
  await flushFirewall(ctx);
  await reloadCrowdsec(ctx);
  ctx.configLoadedAt = ctx.options.now();
  ctx.logger.info("reloaded", { file: config.file, jails: ctx.jails.size });
  return { ok: true };
}
