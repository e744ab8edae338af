/**
 * Bans and unbans -> `on_ban` / `on_unban` runs (hooks.ts queues and runs them). A hook fires
 * once per new ban (not for a ban made longer) and once per lifted ban, and only once the start
 * is done: bans restored from the database, or lifted at start because they expired while
 * banwatch was stopped, run no hook; neither does `--replay` (the demo) nor `unban_on_stop`.
 * @module
 */
import { displayTarget } from "../core/mod.ts";
import { activeBans, type BanRecord } from "../decide/mod.ts";
import type { DaemonContext, JailRuntime } from "./context.ts";
import { expandHook, type HookValues } from "./hooks.ts";

let systemHostname: string | undefined;

function hostname(ctx: DaemonContext): string {
  if (ctx.options.hostname !== undefined) return ctx.options.hostname;
  if (systemHostname === undefined) {
    try {
      systemHostname = Deno.hostname();
    } catch {
      systemHostname = "localhost";
    }
  }
  return systemHostname;
}

function banKey(jail: string, target: string): string {
  return `${jail}\u0000${target}`;
}

function bantimeText(seconds: number): string {
  return Number.isFinite(seconds) ? String(Math.round(seconds)) : "forever";
}

function fire(
  ctx: DaemonContext,
  jail: JailRuntime,
  event: { hook: "on_ban" | "on_unban"; target: string; values: Omit<HookValues, "jail"> },
): void {
  const argv = event.hook === "on_ban" ? jail.config.onBan : jail.config.onUnban;
  if (argv === undefined || !ctx.hooksLive || ctx.options.replay) return;
  const addr = displayTarget(event.target);
  ctx.hooks.enqueue({
    argv: expandHook(argv, {
      ...event.values,
      jail: jail.config.name,
      addr,
      time: String(Math.floor(ctx.options.now())),
      hostname: hostname(ctx),
    }),
    event: event.hook,
    jail: jail.config.name,
    addr,
  });
}

/** Remembers a ban for its on_unban and, unless it only made a ban longer, runs on_ban. */
export function banHook(ctx: DaemonContext, ban: BanRecord, update: boolean): void {
  const info = {
    failures: ban.failures,
    bantime: ban.until - ban.since,
    count: ban.banCount,
  };
  ctx.hookBans.set(banKey(ban.jail, ban.target), info);
  const jail = ctx.jails.get(ban.jail);
  if (update || !jail) return;
  fire(ctx, jail, {
    hook: "on_ban",
    target: ban.target,
    values: {
      failures: String(info.failures),
      bantime: bantimeText(info.bantime),
      count: String(info.count),
    },
  });
}

/** Runs on_unban for a lifted ban, with the failures, ban time and count it had. */
export function unbanHook(ctx: DaemonContext, jailName: string, target: string): void {
  const key = banKey(jailName, target);
  const info = ctx.hookBans.get(key);
  ctx.hookBans.delete(key);
  const jail = ctx.jails.get(jailName);
  if (!jail) return;
  fire(ctx, jail, {
    hook: "on_unban",
    target,
    values: {
      failures: info ? String(info.failures) : "",
      bantime: info ? bantimeText(info.bantime) : "",
      count: info ? String(info.count) : "",
    },
  });
}

/** Remembers the bans restored at start (for their on_unban) and lets hooks fire from now on. */
export function startHooks(ctx: DaemonContext): void {
  for (const ban of activeBans(ctx.state)) {
    ctx.hookBans.set(banKey(ban.jail, ban.target), {
      failures: ban.failures,
      bantime: ban.until - ban.since,
      count: ban.banCount,
    });
  }
  ctx.hooksLive = true;
}
