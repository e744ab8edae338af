/**
 * The tables the CLI prints for people: `status` ({@link formatStatus}), `banned`
 * ({@link formatBanned}), and their helpers. Pure; used by the control commands and `demo`.
 * @module
 */
import { formatDuration } from "../core/mod.ts";
import type { BannedEntry, JailStatus, StatusReport } from "../control/mod.ts";

/** Options of the table formatters. */
export interface FormatOptions {
  /** The current time, epoch seconds (for "ago"/"left"). */
  now: number;
  /** IANA time zone for timestamps (default: the local zone). */
  timeZone?: string;
}

/**
 * A formatter of epoch-seconds times as `YYYY-MM-DD HH:MM[:SS]` in the given or local zone
 * (one Intl formatter, reused for every time it formats).
 * @param options the zone, and whether seconds are shown (default true)
 */
export function timeFormatter(
  options: { timeZone?: string; seconds?: boolean } = {},
): (seconds: number) => string {
  const format = new Intl.DateTimeFormat("sv-SE", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    ...(options.seconds === false ? {} : { second: "2-digit" }),
    hourCycle: "h23",
    ...(options.timeZone === undefined ? {} : { timeZone: options.timeZone }),
  });
  return (seconds) => format.format(new Date(seconds * 1000));
}

/**
 * Formats an epoch-seconds time as `YYYY-MM-DD HH:MM:SS` in the given or local zone.
 * @param seconds epoch seconds
 */
export function formatTime(seconds: number, options: { timeZone?: string } = {}): string {
  return timeFormatter(options)(seconds);
}

/**
 * A duration in seconds, rounded to whole seconds (never negative), as `formatDuration` writes it.
 * @param seconds the duration
 */
export function roundDuration(seconds: number): string {
  return formatDuration(Math.max(0, Math.round(seconds)));
}

/**
 * Lays out rows under headers, columns separated by two spaces, no trailing blanks.
 * @param headers column titles
 * @param rows cells
 */
export function formatTable(headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/**
 * The `status` table for people.
 * @param report the daemon's (or the saved) report
 */
export function formatStatus(report: StatusReport, options: FormatOptions): string {
  const t = timeFormatter(options);
  const out: string[] = [];
  if (report.running) {
    out.push(
      `banwatch ${report.version} running, pid ${report.pid}, up ${
        roundDuration(options.now - report.startedAt)
      } (since ${t(report.startedAt)})`,
    );
    out.push(`config ${report.configFile}, loaded ${t(report.configLoadedAt)}`);
  } else {
    out.push(`config ${report.configFile}`);
  }
  const cs = report.crowdsec;
  if (cs) {
    const ago = (s: number | undefined | null): string =>
      s === undefined || s === null ? "never" : `${t(s)} (${roundDuration(options.now - s)} ago)`;
    const offline = cs.state === "stopped"; // from the database: no push or pull times
    out.push(
      `crowdsec ${cs.lapiUrl || "-"}: ${cs.state}${cs.lastError ? ` (${cs.lastError})` : ""}`,
      ...(offline ? [] : [`crowdsec last push ${ago(cs.lastPush)}, last pull ${ago(cs.lastPull)}`]),
      `crowdsec alerts queued ${cs.queued}, dropped ${cs.dropped}; ` +
        `remote decisions ${offline ? "stored" : "applied"} ${cs.applied}, refused ${cs.refused}`,
    );
  }
  out.push("");
  if (report.jails.length === 0) {
    out.push("no jails");
    return out.join("\n") + "\n";
  }
  out.push(formatTable(
    [
      "JAIL",
      "ENABLED",
      "BACKEND",
      "TABLE",
      "FAILING",
      "FAILURES",
      "BANNED",
      "TOTAL BANNED",
      "TOTAL UNBANNED",
      "PENDING",
      "EVICTED",
    ],
    report.jails.map((j: JailStatus) => [
      j.name,
      j.enabled ? "yes" : "no",
      j.backend,
      j.table,
      String(j.failing),
      String(j.failures),
      String(j.banned),
      String(j.totalBanned),
      String(j.totalUnbanned),
      String(j.pending),
      String(j.evictions),
    ]),
  ));
  // A running daemon says how each file is (ok, missing, unreadable: why, waiting).
  const states = report.jails.some((j) => j.files.some((f) => f.state !== undefined));
  const files = report.jails.flatMap((j) =>
    j.files.map((f) => [
      j.name,
      f.path,
      String(f.offset),
      f.lastRead === undefined || f.lastRead === null
        ? "-"
        : `${t(f.lastRead)} (${roundDuration(options.now - f.lastRead)} ago)`,
      ...(states ? [f.error === undefined ? f.state ?? "-" : `${f.state}: ${f.error}`] : []),
    ])
  );
  const heads = ["JAIL", "FILE", "OFFSET", "LAST READ", ...(states ? ["STATE"] : [])];
  if (files.length > 0) out.push(formatTable(heads, files));
  return out.join("\n");
}

/**
 * The `banned` table for people.
 * @param bans active bans
 */
export function formatBanned(bans: readonly BannedEntry[], options: FormatOptions): string {
  if (bans.length === 0) return "no active bans\n";
  const t = timeFormatter(options);
  const sorted = [...bans].sort((a, b) =>
    a.jail < b.jail ? -1 : a.jail > b.jail ? 1 : a.since - b.since
  );
  return formatTable(
    ["ADDRESS", "JAIL", "SINCE", "UNTIL", "LEFT", "FAILURES", "BANS", "ORIGIN"],
    sorted.map((b) => [
      b.target,
      b.jail,
      t(b.since),
      b.until === null ? "forever" : t(b.until),
      b.until === null ? "forever" : roundDuration(b.until - options.now),
      String(b.failures),
      String(b.banCount),
      b.liftPending
        ? `${b.origin} (lift pending: ${b.backend ?? "?"} ${b.table ?? "?"})`
        : b.scenario
        ? `${b.origin} ${b.scenario}`
        : b.origin,
    ]),
  );
}
