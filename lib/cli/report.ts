/**
 * `banwatch report`'s data and text: a pure builder from the state database's event rows
 * (state/events.ts) to a {@link Report}, and its layout for people and for root's daily mail.
 * Every text line stands on its own ("jail X: ...", "top A: ..."), so that the periodic
 * script's `check_diff new_only` can drop the lines of the previous day and keep the rest.
 * @module
 */
import { displayTarget, formatDuration } from "../core/mod.ts";
import { type AddressFailures, type FailureCount, HOUR, type StoredEvent } from "../state/mod.ts";
import { renderChart } from "./chart.ts";

/** Bans, unbans and failures of one jail in the period. */
export interface JailSummary {
  /** Jail name. */
  jail: string;
  /** Failures counted. */
  failures: number;
  /** New bans (automatic and manual). */
  bans: number;
  /** Bans lifted (expired or by hand). */
  unbans: number;
}

/** One of the addresses failing most. */
export interface TopAddress {
  /** The address. */
  addr: string;
  /** Its failures in the period. */
  failures: number;
  /** Its bans in the period (any jail). */
  bans: number;
  /** The jails that counted its failures. */
  jails: string[];
}

/** A target banned again in the period, or escalated by bantime increments. */
export interface RepeatOffender {
  /** Jail name. */
  jail: string;
  /** Address or prefix, as displayed. */
  target: string;
  /** Its bans in the period. */
  bans: number;
  /** Its highest ban number (2 = banned once before). */
  banCount: number;
  /** Its longest bantime in the period, seconds (null = forever). */
  bantime: number | null;
}

/** An automatic ban of a prefix (several addresses of one network). */
export interface PrefixBan {
  /** Jail name. */
  jail: string;
  /** CIDR text. */
  target: string;
  /** When, epoch seconds. */
  time: number;
  /** Distinct failing addresses that triggered it. */
  addresses: number;
  /** Its length, seconds (null = forever). */
  bantime: number | null;
}

/** One hour of the chart. */
export interface HourCount {
  /** Start of the hour, epoch seconds. */
  hour: number;
  /** Failures in that hour. */
  failures: number;
  /** Bans made in that hour. */
  bans: number;
}

/** What `banwatch report` shows (and `--json` prints). */
export interface Report {
  /** Start of the period, epoch seconds. */
  from: number;
  /** End of the period (now), epoch seconds. */
  to: number;
  /** The one jail reported on, or null for all. */
  jail: string | null;
  /** Per jail, sorted by name. */
  jails: JailSummary[];
  /** The addresses with the most failures. */
  top: TopAddress[];
  /** Targets banned more than once in the period, or with a ban number above 1. */
  repeatOffenders: RepeatOffender[];
  /** Automatic prefix bans. */
  prefixBans: PrefixBan[];
  /** Firewall errors: how many, and the last few. */
  firewallErrors: { count: number; recent: Array<{ time: number; detail: string }> };
  /** One entry per hour of the period, oldest first. */
  hourly: HourCount[];
}

/** The rows {@link buildReport} works from. */
export interface ReportInput {
  /** Events with time >= from. */
  events: readonly StoredEvent[];
  /** Failures per hour and jail from from's hour on. */
  failuresPerHour: readonly FailureCount[];
  /** The addresses failing most. */
  topFailing: readonly AddressFailures[];
  /** Jails to list even without events (the configured ones). */
  jails?: readonly string[];
}

/** Firewall errors listed one by one (the rest are counted). */
const RECENT_ERRORS = 5;

/**
 * Builds the report of the period [from, to] from its rows. Pure.
 * @param input the rows read from the database
 * @param options the period and the one jail reported on (all when undefined)
 */
export function buildReport(
  input: ReportInput,
  options: { from: number; to: number; jail?: string },
): Report {
  const { from, to } = options;
  const inPeriod = input.events.filter((e) => e.time >= from && e.time <= to);
  const onlyJail = (j: string): boolean => options.jail === undefined || j === options.jail;
  const jails = new Map<string, JailSummary>();
  const jailOf = (name: string): JailSummary => {
    let j = jails.get(name);
    if (!j) {
      j = { jail: name, failures: 0, bans: 0, unbans: 0 };
      jails.set(name, j);
    }
    return j;
  };
  for (const name of input.jails ?? []) if (onlyJail(name)) jailOf(name);
  const firstHour = Math.floor(from / HOUR) * HOUR;
  const lastHour = Math.floor(to / HOUR) * HOUR;
  const hours = Math.max(1, (lastHour - firstHour) / HOUR + 1);
  const hourly: HourCount[] = Array.from(
    { length: hours },
    (_, i) => ({ hour: firstHour + i * HOUR, failures: 0, bans: 0 }),
  );
  const slot = (t: number): HourCount | undefined =>
    hourly[Math.floor((Math.floor(t / HOUR) * HOUR - firstHour) / HOUR)];
  for (const f of input.failuresPerHour) {
    if (!onlyJail(f.jail)) continue;
    jailOf(f.jail).failures += f.count;
    const h = slot(f.hour);
    if (h) h.failures += f.count;
  }
  const banCounts = new Map<string, number>();
  const repeats = new Map<string, RepeatOffender>();
  const prefixBans: PrefixBan[] = [];
  const errors: Array<{ time: number; detail: string }> = [];
  for (const e of inPeriod) {
    if (e.kind === "firewall_error") {
      errors.push({ time: e.time, detail: e.detail ?? "" });
      continue;
    }
    if (!onlyJail(e.jail)) continue;
    if (e.kind === "unban") {
      jailOf(e.jail).unbans++;
      continue;
    }
    jailOf(e.jail).bans++;
    const h = slot(e.time);
    if (h) h.bans++;
    const shown = displayTarget(e.target);
    banCounts.set(shown, (banCounts.get(shown) ?? 0) + 1);
    const bantime = e.bantime === undefined || e.bantime === Infinity ? null : e.bantime;
    const key = `${e.jail}\u0000${shown}`;
    const r = repeats.get(key) ?? { jail: e.jail, target: shown, bans: 0, banCount: 0, bantime };
    r.bans++;
    r.banCount = Math.max(r.banCount, e.banCount ?? 1);
    if (r.bantime !== null && (bantime === null || bantime > r.bantime)) r.bantime = bantime;
    repeats.set(key, r);
    if (shown.includes("/") && e.origin === "auto") {
      prefixBans.push({
        jail: e.jail,
        target: shown,
        time: e.time,
        addresses: e.failures ?? 0,
        bantime,
      });
    }
  }
  return {
    from,
    to,
    jail: options.jail ?? null,
    jails: [...jails.values()].sort((a, b) => a.jail < b.jail ? -1 : a.jail > b.jail ? 1 : 0),
    top: input.topFailing.map((t) => ({
      addr: t.addr,
      failures: t.count,
      bans: banCounts.get(t.addr) ?? 0,
      jails: [...t.jails],
    })),
    repeatOffenders: [...repeats.values()]
      .filter((r) => r.bans > 1 || r.banCount > 1)
      .sort((a, b) => b.bans - a.bans || b.banCount - a.banCount || cmp(a.target, b.target)),
    prefixBans,
    firewallErrors: { count: errors.length, recent: errors.slice(-RECENT_ERRORS) },
    hourly,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when the period saw no failure, ban, unban or firewall error. */
export function isEmptyReport(report: Report): boolean {
  return report.firewallErrors.count === 0 &&
    report.jails.every((j) => j.failures === 0 && j.bans === 0 && j.unbans === 0);
}

/** Options of {@link formatReport}. */
export interface FormatReportOptions {
  /** Formats an epoch time ("2024-02-16 10:21"). */
  time: (seconds: number) => string;
  /** Plain ASCII chart characters. */
  ascii?: boolean;
  /** Leave out the title line (the periodic script prints its own). */
  title?: boolean;
  /** Most chart columns (default 48). */
  width?: number;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

function bantimeText(seconds: number | null): string {
  return seconds === null ? "forever" : formatDuration(seconds);
}

/**
 * The report for people: one self-contained line per jail, address, repeat offender, prefix
 * ban and firewall error, and the hourly chart of failures and bans.
 * @param report the report
 * @param options time format, ASCII, title
 */
export function formatReport(report: Report, options: FormatReportOptions): string {
  const t = options.time;
  const out: string[] = [];
  if (options.title ?? true) {
    const span = formatDuration(Math.max(0, Math.round(report.to - report.from)));
    const which = report.jail === null ? "" : `, jail ${report.jail}`;
    out.push(`banwatch report: ${t(report.from)} to ${t(report.to)} (${span}${which})`, "");
  }
  if (isEmptyReport(report)) {
    out.push("No failures, bans or firewall errors in the period.");
    return out.join("\n") + "\n";
  }
  for (const j of report.jails) {
    out.push(
      `jail ${j.jail}: ${plural(j.failures, "failure")}, ${plural(j.bans, "ban")}, ${
        plural(j.unbans, "unban")
      }`,
    );
  }
  out.push("");
  out.push(
    renderChart([
      { label: "failures", values: report.hourly.map((h) => h.failures) },
      { label: "bans", values: report.hourly.map((h) => h.bans) },
    ], {
      width: options.width ?? 48,
      ascii: options.ascii ?? false,
      unit: "h",
      first: t(report.hourly[0]?.hour ?? report.from),
      last: t(report.hourly[report.hourly.length - 1]?.hour ?? report.to),
    }).trimEnd(),
  );
  const lists: string[] = [];
  for (const a of report.top) {
    lists.push(
      `top ${a.addr}: ${plural(a.failures, "failure")}, ${plural(a.bans, "ban")} (${
        a.jails.join(", ")
      })`,
    );
  }
  for (const r of report.repeatOffenders) {
    lists.push(
      `repeat ${r.target} in ${r.jail}: ${
        plural(r.bans, "ban")
      } in the period, ban #${r.banCount}` +
        ` (bantime up to ${bantimeText(r.bantime)})`,
    );
  }
  for (const p of report.prefixBans) {
    lists.push(
      `prefix ${p.target} in ${p.jail}: banned ${t(p.time)}, ${
        plural(p.addresses, "address", "addresses")
      } (bantime ${bantimeText(p.bantime)})`,
    );
  }
  if (report.firewallErrors.count > 0) {
    lists.push(`firewall errors: ${report.firewallErrors.count}`);
    for (const e of report.firewallErrors.recent) {
      lists.push(`firewall error ${t(e.time)}: ${e.detail}`);
    }
  }
  if (lists.length > 0) out.push("", ...lists);
  return out.join("\n") + "\n";
}
