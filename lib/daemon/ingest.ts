/**
 * Lines -> verdicts -> failures -> ban actions. Each batch a log tail returns is judged by
 * every jail reading that file, failures are counted (decide/), the resulting actions are
 * queued for the firewall, and the batch's position is committed with them (exactly once).
 *
 * Time policy: failure windows use each line's own time (future times are clamped to now,
 * lines older than `findtime` are not counted); a ban starts when it is decided (`now`).
 * @module
 */
import {
  type BanAction,
  expireBans,
  nextExpiry,
  pruneWindows,
  recordFailure,
} from "../decide/mod.ts";
import type { IpAddress } from "../core/mod.ts";
import {
  type LineVerdict,
  matchLine,
  prefilteredVerdict,
  syslogRepeatCount,
} from "../filter/mod.ts";
import type { Batch } from "../source/mod.ts";
import { type DaemonContext, daemonNow, type JailRuntime, type TailRuntime } from "./context.ts";
import { resolveCached } from "./dns.ts";
import { applyActions } from "./enforce.ts";
import { pollTail } from "./files.ts";
import { persist, tallyFailure } from "./persist.ts";
import type { FailureCount } from "../state/mod.ts";

const TURNED_OVER = "logfile turned over";
/** Seconds a line may be dated ahead of the clock before a skew warning. */
const SKEW_WARN = 60;
/** Seconds between prunes of stale failure windows. */
const PRUNE_EVERY = 60;
/** Longest line text kept with a ban (the rest is cut). */
const MAX_BAN_LINE = 1000;

/** A failure on the line before, per jail: what a syslogd repeat line multiplies. */
interface PreviousFailure {
  addrs: IpAddress[];
  time: number;
  line: string;
}

/** Per file: the jails whose failure the previous line was (empty when it was none). */
const previousFailures = new WeakMap<TailRuntime, ReadonlyMap<JailRuntime, PreviousFailure>>();
/** "The previous line was no failure": shared, never written to. */
const NO_FAILURE: ReadonlyMap<JailRuntime, PreviousFailure> = new Map();

/**
 * matchLine()'s verdict on a line, resolved by the jail's sessions; a line that lacks every
 * literal the filter needs is judged by its date alone (filter/prefilter.ts), as `banwatch
 * test` does.
 */
function judgeLine(jail: JailRuntime, text: string, now: number): LineVerdict {
  if (jail.prefilter !== undefined) {
    const quick = prefilteredVerdict(jail.filter, jail.prefilter, jail.dates, text, now);
    if (quick !== undefined) return quick;
  }
  const verdict = matchLine(jail.filter, text, now);
  return jail.sessions ? jail.sessions.resolve(verdict) : verdict;
}

/**
 * Polls every open log once and ingests what it returns, batch by batch.
 * @returns the lines read and whether a file still has data waiting
 */
export async function readLogs(ctx: DaemonContext): Promise<{ lines: number; behind: boolean }> {
  let lines = 0;
  let behind = false;
  for (const [path, rt] of ctx.tails) {
    const batches = await pollTail(ctx, path, rt);
    for (const batch of batches) lines += await ingestBatch(ctx, { path, rt, batch });
    if (batches.length > 0) rt.lastRead = ctx.options.now();
    if (!rt.tail.behind) rt.caughtUpAt = ctx.options.now();
    behind ||= rt.tail.behind;
  }
  return { lines, behind };
}

/**
 * Judges one batch of one file for every jail reading it, records the failures, acts on the
 * decisions and commits the batch's position with them.
 * @returns the number of lines in the batch
 */
export async function ingestBatch(
  ctx: DaemonContext,
  input: { path: string; rt: TailRuntime; batch: Batch },
): Promise<number> {
  const { path, rt, batch } = input;
  const actions: BanAction[] = [];
  const failures = new Map<string, FailureCount>();
  const replay = ctx.options.replay ?? false;
  // Read once per batch, not per line and jail (3M clock reads in a 1M-line catch-up, 7% of
  // it): a batch is handled within milliseconds, and the clock only resolves dates here.
  const wall = ctx.options.now();
  let judged = 0;
  let previous: ReadonlyMap<JailRuntime, PreviousFailure> = previousFailures.get(rt) ?? NO_FAILURE;
  for (const line of batch.lines) {
    const text = line.text;
    // syslogd's `last message repeated N times` after a failure: N more of the same failure.
    const repeat = previous.size > 0 && !line.truncated ? syslogRepeatCount(text) : undefined;
    if (repeat !== undefined) {
      for (const [jail, prev] of previous) {
        const time = matchLine(jail.filter, text, wall).time ?? prev.time;
        for (const addr of prev.addrs) {
          actions.push(...recordRepeats(ctx, { jail, addr, time, line: prev.line, repeat }));
        }
      }
      continue;
    }
    // Made only for a line that fails: no allocation per line in a catch-up of clean lines.
    let current: Map<JailRuntime, PreviousFailure> | undefined;
    previous = NO_FAILURE;
    // A cut line lost the text the filters anchor on at its end: never match it.
    if (line.truncated) {
      if (!rt.warnedTruncated) {
        rt.warnedTruncated = true;
        ctx.logger.warn("line_truncated", {
          path,
          detail: "a line longer than the line limit was cut and skipped (logged once per file)",
        });
      }
      continue;
    }
    if (text.includes(TURNED_OVER) && /newsyslog\[\d+\]: logfile turned over/.test(text)) {
      continue;
    }
    judged++;
    for (const jail of rt.jails) {
      // The wall clock resolves year-less dates; the replay clock only orders events.
      const v = judgeLine(jail, text, wall);
      if (replay && v.time !== undefined && v.time > ctx.replayNow) {
        ctx.replayNow = v.time;
        if ((nextExpiry(ctx.state) ?? Infinity) <= ctx.replayNow) {
          const expired = expireBans(ctx.state, ctx.replayNow);
          applyActions(ctx, expired);
          actions.push(...expired);
        }
      }
      if (v.kind !== "matched") {
        if (v.kind === "ignored") jail.ignored++;
        continue;
      }
      jail.failures++;
      if (!replay && v.time > wall + SKEW_WARN && !rt.warnedSkew) {
        rt.warnedSkew = true;
        ctx.logger.warn("clock_skew", {
          path,
          line_time: new Date(v.time * 1000).toISOString(),
          detail: "a line is dated in the future; counted as now (check the timezone setting)",
        });
      }
      const addrs = v.addr ? [v.addr] : jail.config.usedns ? await resolveCached(ctx, v.host) : [];
      const ignoredBefore = ctx.state.counters.ignored;
      const kept = text.length > MAX_BAN_LINE ? `${text.slice(0, MAX_BAN_LINE)}…` : text;
      if (addrs.length > 0) {
        current ??= new Map();
        current.set(jail, { addrs, time: v.time, line: kept });
        previous = current;
      }
      for (const addr of addrs) {
        tallyFailure(failures, {
          jail: jail.config.name,
          addr: addr.text,
          time: Math.min(v.time, wall),
        });
        const acts = recordFailure(ctx.state, jail.policy, {
          addr,
          time: v.time,
          line: kept,
        }, {
          // A replay judges each failure at its own time, as if it were read live.
          now: replay ? v.time : daemonNow(ctx),
          ignore: jail.checks.ignore,
          ignorePrefix: jail.checks.ignorePrefix,
        });
        applyActions(ctx, acts);
        actions.push(...acts);
      }
      // ignoreip / ignoreself refused it (counted by decide/ for every jail together).
      if (ctx.state.counters.ignored !== ignoredBefore) jail.ignored++;
    }
  }
  for (const jail of rt.jails) jail.lines += judged;
  previousFailures.set(rt, previous);
  persist(ctx, { position: batch.position, actions, failures });
  ctx.positions.set(path, batch.position);
  return batch.lines.length;
}

/**
 * Records the `repeat` failures a syslogd repeat line stands for, at the repeat line's time,
 * stopping once they banned the address (more would only extend nothing).
 * @returns the actions they produced (already applied)
 */
function recordRepeats(
  ctx: DaemonContext,
  input: { jail: JailRuntime; addr: IpAddress; time: number; line: string; repeat: number },
): BanAction[] {
  const { jail, addr, time, line } = input;
  const replay = ctx.options.replay ?? false;
  const out: BanAction[] = [];
  for (let i = 0; i < input.repeat; i++) {
    const acts = recordFailure(ctx.state, jail.policy, { addr, time, line }, {
      now: replay ? time : daemonNow(ctx),
      ignore: jail.checks.ignore,
      ignorePrefix: jail.checks.ignorePrefix,
    });
    applyActions(ctx, acts);
    out.push(...acts);
    if (acts.some((a) => a.kind !== "unban")) break;
  }
  return out;
}

/**
 * Lifts the bans whose time is up and, once a minute, forgets stale failure windows (they
 * would otherwise live until evicted); saves what changed.
 */
export function expireAndPrune(ctx: DaemonContext): void {
  const now = daemonNow(ctx);
  const expired = expireBans(ctx.state, now);
  if (expired.length > 0) {
    applyActions(ctx, expired);
    persist(ctx, { actions: expired });
  }
  if (now - ctx.lastPrune >= PRUNE_EVERY) {
    ctx.lastPrune = now;
    const policies = [...ctx.jails.values()].map((j) => j.policy);
    if (pruneWindows(ctx.state, { policies, now }) > 0) persist(ctx);
  }
}
