/**
 * Stress scenario "hostile log lines": the corpus in tests/testdata/hostile/*.log (fake log
 * text in user names, sasl_username and host names, addresses in user fields, other programs'
 * tags inside messages, NUL bytes, invalid UTF-8, CR/CRLF/U+2028) plus generated 1 MB lines and
 * lines whose 64 KiB cut would end on a victim address, run through every built-in filter and
 * the repo's example jails: in-process, through `banwatch test --json` and through the daemon
 * (`run --replay --dry-run`). Nothing may ban or match 198.51.100.66, nothing may crash, the
 * daemon's peak RSS stays bounded, and `banwatch check` warns about every unanchored filter in
 * the corpus's configs.
 * @module
 */
import {
  BUILTIN_FILTERS,
  compileFilter,
  type FilterSpec,
  matchLine,
} from "../../lib/filter/mod.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { createLineSplitter, DEFAULT_MAX_LINE_BYTES } from "../../lib/source/mod.ts";
import {
  HOSTILE_DIR,
  mb,
  runStandalone,
  stackTraceLines,
  type StressOptions,
  type StressResult,
  VICTIM,
} from "./_common_b.ts";
import { ROOT, runBanwatch, withTempDir } from "../daemon_harness.ts";

/** The address of the genuine control failures (tests/testdata/hostile/controls.log). */
export const CONTROL_ADDRESS = "203.0.113.9";

/** The daemon's peak RSS bound while it reads the corpus with its 1 MB lines (MB). */
export const HOSTILE_RSS_LIMIT_MB = 256;

/** The clock for year-less dates: the day after the corpus's Feb 16. */
const NOW = Date.UTC(2024, 1, 17) / 1000;

const ENCODER = new TextEncoder();

const HEAD = {
  sshd: "Feb 16 10:21:00 mx sshd[30171]: ",
  dovecot: "Feb 16 10:21:00 mx dovecot: ",
  qpopper: "Feb 16 10:21:00 mail qpopper[4321]: ",
  postfix: "Feb 16 10:21:00 mx postfix/smtpd[7395]: ",
};

/**
 * Lines longer than the line limit whose first `limit` bytes end exactly on a forged failure
 * of the victim, as a program would write them if it logged the attacker's long user name.
 * @param limit the daemon's line limit in bytes
 */
export function truncationLines(limit: number = DEFAULT_MAX_LINE_BYTES): string[] {
  const cutAt = (prefix: string, inject: string, rest: string): string => {
    const pad = limit - ENCODER.encode(prefix).length - ENCODER.encode(inject).length;
    return prefix + "u".repeat(pad) + inject + rest;
  };
  return [
    cutAt(
      `${HEAD.sshd}Invalid user `,
      ` from ${VICTIM} port 22`,
      ` ${"v".repeat(100)} from 203.0.113.77 port 37115`,
    ),
    cutAt(
      `${HEAD.sshd}Failed password for invalid user `,
      ` from ${VICTIM} port 22 ssh2`,
      ` ${"v".repeat(100)} from 203.0.113.77 port 37115 ssh2`,
    ),
    cutAt(
      `${HEAD.dovecot}imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<`,
      `>, method=PLAIN, rip=${VICTIM}, lip=192.0.2.1`,
      `${"v".repeat(100)}>, method=PLAIN, rip=203.0.113.77, lip=192.0.2.1, TLS`,
    ),
    cutAt(
      HEAD.qpopper,
      ` at y (${VICTIM}): -ERR [AUTH] Password supplied for "z" is incorrect.`,
      ` at host.example.net (203.0.113.77): -ERR [AUTH] Password supplied for "u" is incorrect.`,
    ),
  ];
}

/** 1 MB lines: attacker padding, NUL bytes, repeated forged failures, a backtracking bait. */
export function megabyteLines(): Array<string | Uint8Array> {
  const size = 1024 * 1024;
  const repeatTo = (unit: string) => unit.repeat(Math.ceil(size / unit.length));
  return [
    `${HEAD.sshd}Invalid user ${"A".repeat(size)} from 203.0.113.77 port 37115`,
    new Uint8Array(size),
    `${HEAD.postfix}warning: unknown[203.0.113.77]: SASL LOGIN authentication failed: x, sasl_username=` +
    repeatTo(`warning: unknown[${VICTIM}]: SASL LOGIN authentication failed: `),
    `${HEAD.dovecot}imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<` +
    repeatTo(`>, method=PLAIN, rip=${VICTIM}, lip=192.0.2.1, TLS`) +
    ">, method=PLAIN, rip=203.0.113.77, lip=192.0.2.1, TLS",
    `${HEAD.sshd}Invalid user ${repeatTo(` from ${VICTIM} port 22`)} from 203.0.113.77 port 37115`,
    "x".repeat(size),
  ];
}

/** The corpus files with the lines that must never ban the victim (controls.log excluded). */
export async function hostileFiles(): Promise<Array<{ name: string; bytes: Uint8Array }>> {
  const out: Array<{ name: string; bytes: Uint8Array }> = [];
  for await (const entry of Deno.readDir(HOSTILE_DIR)) {
    if (!entry.isFile || !entry.name.endsWith(".log") || entry.name === "controls.log") continue;
    out.push({ name: entry.name, bytes: await Deno.readFile(`${HOSTILE_DIR}${entry.name}`) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The full corpus as one log: the files, the cut lines, `megaCopies` × the 1 MB lines, the controls. */
export async function buildCorpus(megaCopies: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const f of await hostileFiles()) {
    parts.push(f.bytes);
    if (f.bytes.at(-1) !== 10) parts.push(ENCODER.encode("\n"));
  }
  for (const line of truncationLines()) parts.push(ENCODER.encode(`${line}\n`));
  for (let i = 0; i < megaCopies; i++) {
    for (const line of megabyteLines()) {
      parts.push(typeof line === "string" ? ENCODER.encode(line) : line, ENCODER.encode("\n"));
    }
  }
  parts.push(await Deno.readFile(`${HOSTILE_DIR}controls.log`));
  return concatBytes(parts);
}

/** The repo's jails.toml, parsed (its jails' filters are what an admin would deploy). */
function exampleJails(): Array<{ name: string; spec: FilterSpec }> {
  const text = Deno.readTextFileSync(`${ROOT}jails.toml`);
  const config = parseConfig(text, { file: `${ROOT}jails.toml` });
  return config.jails.map((j) => ({ name: `jail ${j.name}`, spec: j.filter }));
}

/** A victim match found in-process. */
export interface VictimHit {
  /** Filter or jail. */
  filter: string;
  /** Line number in the corpus. */
  line: number;
  /** The line, shortened. */
  text: string;
  /** True when the line was longer than the line limit and cut before matching. */
  truncated: boolean;
}

/**
 * Splits the corpus exactly as the daemon does (64 KiB cut, lenient UTF-8, trailing CR) and
 * matches every line with every built-in filter and example jail.
 */
export function matchCorpus(corpus: Uint8Array): {
  lines: number;
  filters: number;
  victim: VictimHit[];
  controls: Map<string, number>;
  maxLineMs: number;
} {
  const splitter = createLineSplitter();
  const lines = splitter.push(corpus);
  const last = splitter.flush();
  if (last) lines.push(last);
  const filters = [
    ...BUILTIN_FILTERS.map((spec) => ({ name: spec.name, spec })),
    ...exampleJails(),
  ];
  const victim: VictimHit[] = [];
  const controls = new Map<string, number>();
  let maxLineMs = 0;
  for (const { name, spec } of filters) {
    const filter = compileFilter(spec);
    lines.forEach((line, i) => {
      const t0 = performance.now();
      const v = matchLine(filter, line.text, NOW);
      maxLineMs = Math.max(maxLineMs, performance.now() - t0);
      // The daemon and `banwatch test` never match a line cut at the limit (its end, which the
      // filters anchor on, is gone): mirror that policy here.
      if (v.kind !== "matched" || line.truncated) return;
      if (v.addr?.text === VICTIM || v.host === VICTIM) {
        victim.push({
          filter: name,
          line: i + 1,
          text: line.text.slice(0, 160),
          truncated: line.truncated,
        });
      }
      if (v.addr?.text === CONTROL_ADDRESS) controls.set(name, (controls.get(name) ?? 0) + 1);
    });
  }
  return { lines: lines.length, filters: filters.length, victim, controls, maxLineMs };
}

/** Rewrites a jails.toml so every jail reads `log`, bans at the first failure, keeps state in `dir`. */
export function retarget(text: string, dir: string, log: string): string {
  return text
    .replace(/^\[global\]$/m, `[global]\nstate_dir = "${dir}/state"\nsocket = "${dir}/bw.sock"`)
    .replace(/^(state_dir|socket) = "\/var\/.*"$/gm, "")
    .replace(/^logpath = .*$/gm, `logpath = "${log}"`)
    .replace(/^maxretry = .*$/gm, "maxretry = 1");
}

/** A config: the repo's example jails plus one jail per built-in filter, all on `log`. */
export function corpusConfig(dir: string, log: string): string {
  let text = retarget(Deno.readTextFileSync(`${ROOT}jails.toml`), dir, log);
  for (const f of BUILTIN_FILTERS) {
    text += `
[jail.builtin-${f.name}]
enabled = true
logpath = "${log}"
filter = "${f.name}"
maxretry = 1
table = "builtin-${f.name}"
`;
  }
  return text;
}

/** `event=ban` lines of a daemon's stderr: jail and address. */
export function bansIn(stderr: string): Array<{ jail: string; addr: string }> {
  const out: Array<{ jail: string; addr: string }> = [];
  for (const line of stderr.split("\n")) {
    const m = /^level=info event=ban jail=(\S+) addr=(\S+)/.exec(line);
    if (m) out.push({ jail: m[1]!, addr: m[2]! });
  }
  return out;
}

/** Runs the scenario. */
export async function run(options: StressOptions): Promise<StressResult[]> {
  const results: StressResult[] = [];
  const megaCopies = options.quick ? 1 : 8;
  const corpus = await buildCorpus(megaCopies);

  // 1. In-process: every line through every built-in filter and example jail.
  const inProc = matchCorpus(corpus);
  const filterCount = inProc.filters;
  const missingControls = [
    ...BUILTIN_FILTERS.map((f) => f.name),
    ...exampleJails().map((j) => j.name),
  ].filter((name) => !inProc.controls.has(name));
  results.push({
    name: "hostile: victim matches, in-process",
    figure: `${inProc.victim.length} of ${inProc.lines} lines x ${filterCount} filters ` +
      `(${inProc.victim.filter((h) => h.truncated).length} on lines cut at the 64 KiB limit) ` +
      `(slowest line ${inProc.maxLineMs.toFixed(1)} ms)`,
    pass: inProc.victim.length === 0 && missingControls.length === 0,
    detail: [
      ...inProc.victim.slice(0, 5).map((h) =>
        `${h.filter} line ${h.line}: ${JSON.stringify(h.text)}`
      ),
      ...(missingControls.length > 0
        ? [`controls not matched by: ${missingControls.join(", ")}`]
        : []),
    ].join("\n") || `controls matched by all ${filterCount} filters`,
  });

  await withTempDir("bw-hostile-", async (dir) => {
    const log = `${dir}/corpus.log`;
    await Deno.writeFile(log, corpus);

    // 2. `banwatch test LOG FILTER --json` for every built-in and every example jail.
    const targets = [
      ...BUILTIN_FILTERS.map((f) => [f.name]),
      ...exampleJails().map((j) => [j.name.slice("jail ".length), "-c", `${ROOT}jails.toml`]),
    ];
    const runs = await Promise.all(
      targets.map((t) =>
        runBanwatch(["test", log, t[0]!, ...t.slice(1), "--json", "--now", String(NOW)], {
          timeout: 120,
          sampleRssMs: 25,
        })
      ),
    );
    const problems: string[] = [];
    let victimHits = 0;
    let peak = 0;
    runs.forEach((r, i) => {
      peak = Math.max(peak, r.peakRssKiB);
      const name = targets[i]![0];
      if (r.code !== 0) {
        problems.push(`${name}: exit ${r.code}: ${r.stderr.split("\n").slice(0, 3).join(" | ")}`);
        return;
      }
      const report = JSON.parse(r.stdout) as { hosts: Record<string, number>; truncated: number };
      victimHits += report.hosts[VICTIM] ?? 0;
      if (report.hosts[VICTIM]) problems.push(`${name}: victim matched ${report.hosts[VICTIM]}x`);
      if (!report.hosts[CONTROL_ADDRESS]) problems.push(`${name}: control line not matched`);
      if (stackTraceLines(r.stderr).length > 0) problems.push(`${name}: stack trace on stderr`);
    });
    results.push({
      name: "hostile: banwatch test --json",
      figure: `${victimHits} victim matches in ${runs.length} runs, peak RSS ${mb(peak)}`,
      pass: problems.length === 0,
      ...(problems.length > 0 ? { detail: problems.join("\n") } : {}),
    });

    // 3. The daemon: `run --replay --dry-run` with every jail at maxretry 1.
    const config = `${dir}/jails.toml`;
    await Deno.writeTextFile(config, corpusConfig(dir, log));
    const replay = await runBanwatch(["run", "-c", config, "--replay", "--dry-run"], {
      timeout: 180,
      sampleRssMs: 25,
    });
    const bans = bansIn(replay.stderr);
    const victimBans = bans.filter((b) => b.addr === VICTIM);
    const jailsWithControl = new Set(
      bans.filter((b) => b.addr === CONTROL_ADDRESS).map((b) => b.jail),
    );
    const jailCount = filterCount;
    const rssOk = replay.peakRssKiB > 0 && replay.peakRssKiB / 1024 < HOSTILE_RSS_LIMIT_MB;
    const replayProblems = [
      ...(replay.code !== 0 ? [`exit ${replay.code}${replay.timedOut ? " (timed out)" : ""}`] : []),
      ...victimBans.map((b) => `victim banned in jail ${b.jail}`),
      ...(jailsWithControl.size !== jailCount
        ? [`control address banned in ${jailsWithControl.size} of ${jailCount} jails`]
        : []),
      ...(rssOk ? [] : [`peak RSS ${mb(replay.peakRssKiB)} (limit ${HOSTILE_RSS_LIMIT_MB} MB)`]),
      ...stackTraceLines(replay.stderr).slice(0, 3),
    ];
    results.push({
      name: "hostile: daemon replay bans of the victim",
      figure: `${victimBans.length} victim bans (${bans.length} bans in ${jailCount} jails), ` +
        `peak RSS ${mb(replay.peakRssKiB)} reading ${(corpus.length / 1e6).toFixed(1)} MB`,
      pass: replayProblems.length === 0,
      ...(replayProblems.length > 0 ? { detail: replayProblems.join("\n") } : {
        detail: `control ${CONTROL_ADDRESS} banned by every jail; ${replay.seconds.toFixed(1)} s`,
      }),
    });

    // 4. Reference: the admin's unanchored fail2ban filters DO ban the victim on this corpus.
    const adminConfig = `${dir}/admin.toml`;
    await Deno.writeTextFile(
      adminConfig,
      retarget(await Deno.readTextFile(`${HOSTILE_DIR}admin_unanchored.toml`), `${dir}/admin`, log),
    );
    const admin = await runBanwatch(["run", "-c", adminConfig, "--replay", "--dry-run"], {
      timeout: 180,
    });
    const adminVictim = new Set(
      bansIn(admin.stderr).filter((b) => b.addr === VICTIM).map((b) => b.jail),
    );
    results.push({
      name: "hostile: admin's unanchored filters (reference)",
      figure: `victim banned by ${adminVictim.size} of 3 jails (${[...adminVictim].join(", ")})`,
      pass: admin.code === 0 && adminVictim.size > 0,
      detail: "the corpus bites: the same lines get the victim banned through unanchored filters",
    });
  });

  // 5. `banwatch check` warns about each unanchored filter of the corpus's configs.
  const expected: Array<{ config: string; key: string }> = [
    { config: "admin_unanchored.toml", key: "jail.postfix-auth.failregex[0]" },
    { config: "admin_unanchored.toml", key: "jail.qpopperauth.failregex[0]" },
    { config: "admin_unanchored.toml", key: "jail.dovecot-pop3imap.failregex[0]" },
    { config: "admin_filter_file.toml", key: "jail.qpopper-file.failregex[0]" },
  ];
  const checks = new Map<string, Awaited<ReturnType<typeof runBanwatch>>>();
  for (const config of new Set(expected.map((e) => e.config))) {
    checks.set(
      config,
      await runBanwatch(["check", "-c", `${HOSTILE_DIR}${config}`], { timeout: 60 }),
    );
  }
  const unflagged = expected.filter((e) => {
    const r = checks.get(e.config)!;
    return r.code !== 0 ||
      !r.stderr.split("\n").some((l) => l.includes(`${e.key}: `) && /anchor/i.test(l));
  });
  results.push({
    name: "hostile: check flags unanchored filters",
    figure: `${expected.length - unflagged.length} of ${expected.length} flagged`,
    pass: unflagged.length === 0,
    ...(unflagged.length > 0
      ? {
        detail: unflagged.map((e) => {
          const r = checks.get(e.config)!;
          return `${e.config} ${e.key} not flagged (exit ${r.code}): ${r.stderr.slice(0, 300)}`;
        }).join("\n"),
      }
      : {}),
  });
  return results;
}

if (import.meta.main) await runStandalone(run);
