/**
 * The `metrics_file`: the daemon's counters and gauges in the Prometheus text format, for
 * node_exporter's textfile collector. Written atomically (a temp file beside it, mode 0644,
 * renamed over it) at most every `metrics_interval`, and once more at stop.
 * @module
 */
import { VERSION } from "../core/mod.ts";
import { activeBans, banStats } from "../decide/mod.ts";
import { type DaemonContext, errorText } from "./context.ts";
import { formatPrometheus, type MetricFamily, type Sample } from "./prom_text.ts";

/** Every metric family of the daemon at wall time `now`, in a stable order. */
export function collectMetrics(ctx: DaemonContext, now: number): MetricFamily[] {
  const jails = [...ctx.jails.values()];
  const active = new Map<string, number>();
  for (const ban of activeBans(ctx.state)) active.set(ban.jail, (active.get(ban.jail) ?? 0) + 1);
  const perJail = (value: (j: (typeof jails)[number]) => number): Sample[] =>
    jails.map((j) => ({ labels: { jail: j.config.name }, value: value(j) }));
  const files = [...ctx.tails.entries()];
  const stats = banStats(ctx.state);
  return [
    {
      name: "banwatch_bans_active",
      help: "Addresses and prefixes banned now.",
      type: "gauge",
      samples: perJail((j) => active.get(j.config.name) ?? 0),
    },
    {
      name: "banwatch_bans_total",
      help: "Bans made since the daemon started.",
      type: "counter",
      samples: perJail((j) => j.totalBanned),
    },
    {
      name: "banwatch_unbans_total",
      help: "Bans lifted since the daemon started.",
      type: "counter",
      samples: perJail((j) => j.totalUnbanned),
    },
    {
      name: "banwatch_failures_total",
      help: "Log lines that matched a failregex since the daemon started.",
      type: "counter",
      samples: perJail((j) => j.failures),
    },
    {
      name: "banwatch_lines_total",
      help: "Log lines judged by the jail's filter since the daemon started.",
      type: "counter",
      samples: perJail((j) => j.lines),
    },
    {
      name: "banwatch_ignored_total",
      help: "Failures dropped by ignoreregex, ignoreip or ignoreself since the daemon started.",
      type: "counter",
      samples: perJail((j) => j.ignored),
    },
    {
      name: "banwatch_log_offset_bytes",
      help: "Byte offset read up to in each log file.",
      type: "gauge",
      samples: files.map(([path, rt]) => ({
        labels: { path },
        value: rt.tail.position?.offset ?? ctx.positions.get(path)?.offset ?? 0,
      })),
    },
    {
      name: "banwatch_log_lag_seconds",
      help: "Seconds since each log file was last read to its end (0 when caught up).",
      type: "gauge",
      samples: files.map(([path, rt]) => ({
        labels: { path },
        value: rt.tail.behind ? Math.max(0, now - (rt.caughtUpAt ?? ctx.startedAt)) : 0,
      })),
    },
    {
      name: "banwatch_firewall_errors_total",
      help: "Firewall program calls that failed since the daemon started.",
      type: "counter",
      samples: [{ value: ctx.firewallErrors }],
    },
    {
      name: "banwatch_firewall_pending",
      help: "Firewall changes waiting to be applied.",
      type: "gauge",
      samples: [{ value: ctx.pending.size }],
    },
    {
      name: "banwatch_hook_failures_total",
      help: "on_ban and on_unban runs that failed, timed out or were dropped.",
      type: "counter",
      samples: [{ value: ctx.hooks.failures }],
    },
    {
      name: "banwatch_tracked_addresses",
      help: "Addresses with an open failure window.",
      type: "gauge",
      samples: [{ value: stats.tracked }],
    },
    {
      name: "banwatch_evictions_total",
      help: "Failure windows and history entries dropped because max_tracked was reached.",
      type: "counter",
      samples: [{ value: stats.evictions }],
    },
    {
      name: "banwatch_start_time_seconds",
      help: "When the daemon started, seconds since the epoch.",
      type: "gauge",
      samples: [{ value: ctx.startedAt }],
    },
    {
      name: "banwatch_build_info",
      help: "The running banwatch version (always 1).",
      type: "gauge",
      samples: [{ labels: { version: VERSION }, value: 1 }],
    },
  ];
}

/**
 * Writes the metrics file now (when `metrics_file` is set): a temp file in the same directory
 * (not ending in `.prom`, so the collector never reads it half written), mode 0644, renamed
 * over the file. A failure is logged once until a write works again; it never stops the daemon.
 */
export function writeMetrics(ctx: DaemonContext): void {
  const path = ctx.config.global.metricsFile;
  if (path === undefined) return;
  const now = ctx.options.now();
  ctx.metricsWrittenAt = now;
  const slash = path.lastIndexOf("/");
  const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${Deno.pid}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, formatPrometheus(collectMetrics(ctx, now)), { mode: 0o644 });
    Deno.chmodSync(tmp, 0o644);
    Deno.renameSync(tmp, path);
  } catch (error) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // never created
    }
    if (!ctx.metricsFailing) {
      ctx.metricsFailing = true;
      ctx.logger.warn("metrics_write_failed", { path, error: errorText(error) });
    }
    return;
  }
  if (ctx.metricsFailing) {
    ctx.metricsFailing = false;
    ctx.logger.info("metrics_write_recovered", { path });
  }
}

/** Writes the metrics file when `metrics_interval` has passed since the last write. */
export function writeMetricsIfDue(ctx: DaemonContext): void {
  const g = ctx.config.global;
  if (g.metricsFile === undefined) return;
  if (ctx.options.now() - ctx.metricsWrittenAt >= g.metricsInterval) writeMetrics(ctx);
}
