/**
 * `banwatch test LOG FILTER`: the fail2ban-regex replacement that explains every miss.
 * @module
 */
import { parseArgs } from "node:util";
import {
  ConfigError,
  DEFAULT_CONFIG_PATH,
  displayTarget,
  formatDuration,
  parseDuration,
  parseIp,
  UsageError,
} from "../../core/mod.ts";
import { createBanState, createIgnoreChecks, policyOf, recordFailure } from "../../decide/mod.ts";
import {
  compileFilter,
  type FilterSpec,
  findBuiltinFilter,
  lintFilter,
  resolveZone,
  validateFilter,
  type Zone,
} from "../../filter/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import {
  type Config,
  JAIL_DEFAULTS,
  type JailConfig,
  loadConfig,
  parseFilterFile,
} from "../../config/mod.ts";
import { readLineBlocks } from "../../source/mod.ts";
import {
  addLine,
  addText,
  createTestRun,
  formatReport,
  reportJson,
  type TestRun,
} from "../test_report.ts";
import { formatZonedTime } from "../zoned_time.ts";
import { fail2banDir, fail2banFilterByName, fail2banFilterFile } from "../fail2ban_filter.ts";

const HELP = `Usage: banwatch test LOG FILTER [options]

Runs every line of LOG (a path, or - for stdin) through FILTER and reports what matched and,
for every line that did not, why: no date found; date found but no failregex matched; matched
but ignored by ignoreregex; matched but the <HOST> text is not an address; address in ignoreip.

FILTER is, in this order: a jail name from -c FILE (default ${DEFAULT_CONFIG_PATH}); a fail2ban
filter file (filter.d/NAME.conf[mode=aggressive], with its .local, [INCLUDES], [Init], %(var)s
and <mode> options, exactly as fail2ban-regex LOG FILTER.conf takes it); NAME[key=value,...], a
filter in the fail2ban directory's filter.d; a built-in filter name (banwatch filters); a filter
file (TOML); a plain NAME in the fail2ban directory's filter.d; or a regular expression with
<HOST> (as fail2ban-regex accepts). With --fail2ban-dir, a plain NAME is fail2ban's before the
built-in. What banwatch cannot take over from a fail2ban filter (maxlines) is printed with the
warnings.

Near misses: when no line matched (or with --explain), the report ranks the missed lines that
got furthest into each failregex (after the date and the prefregex): lines of the same shape
(same divergence point; digits, addresses and hex masked) form one group, shown furthest first
with its count, one example line, the part of the failregex that matched, the rest it expected
and what the line has instead. Lines that got only a few characters in are not near misses.
--json lists them as "nearMisses".

Before the results, the report prints the warnings banwatch check gives for the filter (.* before
<HOST>, unanchored, backtracking). A matched line whose <HOST> also fits elsewhere in the same
line (the pattern's text written twice, once by the attacker) is reported: its address came from
text the attacker writes ("steered" in --json).

Options:
  -c, --config FILE      jails.toml to take jails (and ignoreip) from
      --fail2ban-dir DIR fail2ban directory for NAME[options] (default /usr/local/etc/fail2ban,
                         then /etc/fail2ban)
      --datepattern P    override the filter's datepattern ({^LN-BEG}, %b %d %H:%M:%S, {NONE}, ...)
      --timezone TZ      zone for dates without one (UTC, Asia/Tokyo, +0900; default local)
      --ignoreregex RE   add an ignoreregex
      --usedns           accept a hostname where <HOST> stands (unsafe: attackers own their PTR)
      --explain          show near misses even when lines matched, and how far each failregex
                         got on the first missed line
      --no-near-misses   do not look for near misses (a little faster on huge logs)
      --print-matched    print the matched lines
      --print-missed     print the missed lines, each after its reason ([no-failregex], ...;
                         for a near miss, the failregex and where it diverged)
      --print-ignored    print the ignored lines
      --simulate         apply maxretry/findtime/bantime over the log's own timeline, print bans
                         (times in the zone the dates were read in, with the offset)
      --maxretry N       for --simulate (default: the jail's, else ${JAIL_DEFAULTS.maxRetry})
      --findtime D       for --simulate (default: the jail's, else ${
  formatDuration(JAIL_DEFAULTS.findTime)
})
      --bantime D        for --simulate (default: the jail's, else ${
  formatDuration(JAIL_DEFAULTS.banTime)
})
      --now TIME         the current time for year-less dates (ISO 8601 or epoch seconds)
      --json             print one JSON object instead of the report
  -h, --help             this text

Exit status: 0 when the run finished (whatever matched), 1 when LOG cannot be read,
2 on a usage error, 78 when the filter does not compile.
`;

/** How FILTER was resolved. */
interface ResolvedFilter {
  spec: FilterSpec;
  label: string;
  jail: JailConfig | undefined;
  config: Config | undefined;
  /** What a fail2ban filter could not carry over (printed with the warnings). */
  notes?: readonly string[];
}

function looksLikeFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function resolveFilter(
  name: string,
  configPath: string | undefined,
  fail2banDirOption: string | undefined,
): Promise<ResolvedFilter> {
  // Without -c, a name that may be a jail is looked up in the default configuration, as the
  // daemon would read it.
  if (
    configPath === undefined && /^[\w.-]+$/.test(name) && !looksLikeFile(name) &&
    looksLikeFile(DEFAULT_CONFIG_PATH)
  ) {
    configPath = DEFAULT_CONFIG_PATH;
  }
  const config = configPath === undefined ? undefined : await loadConfig(configPath);
  const jail = config?.jails.find((j) => j.name === name);
  if (jail && config) {
    return { spec: jail.filter, label: `jail ${name} (${configPath})`, jail, config };
  }
  const f2bDir = fail2banDir(fail2banDirOption);
  const fromFile = fail2banFilterFile(name, fail2banDirOption);
  if (fromFile) return { ...fromFile, jail: undefined, config };
  // With --fail2ban-dir, a name is fail2ban's filter before banwatch's built-in of that name.
  const byName = fail2banDirOption !== undefined || name.includes("[")
    ? fail2banFilterByName(name, f2bDir)
    : undefined;
  if (byName) return { ...byName, jail: undefined, config };
  const builtin = findBuiltinFilter(name);
  if (builtin) return { spec: builtin, label: `${name} (built-in)`, jail: undefined, config };
  if (looksLikeFile(name)) {
    const text = await Deno.readTextFile(name);
    return { spec: parseFilterFile(text, name), label: name, jail: undefined, config };
  }
  const inDir = fail2banFilterByName(name, f2bDir);
  if (inDir) return { ...inDir, jail: undefined, config };
  if (!/<HOST>|<ADDR>|<IP[46]>|<SUBNET>|\(\?P?<host>/.test(name)) {
    throw new UsageError(
      `FILTER "${name}" is not a jail${
        configPath ? ` in ${configPath}` : ` (no -c, and ${DEFAULT_CONFIG_PATH} does not exist)`
      }, a built-in filter, ` +
        `a file, a fail2ban filter${
          f2bDir ? ` in ${f2bDir}/filter.d` : ""
        }, or a regex with <HOST>`,
    );
  }
  return {
    spec: { name: "command line", failregex: [name] },
    label: "regex from the command line",
    jail: undefined,
    config,
  };
}

function parseNow(text: string | undefined, ctx: CommandContext): number {
  if (text === undefined) return ctx.now();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--now: "${text}" is not a time (ISO 8601 or epoch)`);
  return ms / 1000;
}

function durationOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const d = parseDuration(value);
  if (d === undefined) throw new UsageError(`--${name}: "${value}" is not a duration`);
  return d;
}

async function runTest(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: "string", short: "c" },
      "fail2ban-dir": { type: "string" },
      datepattern: { type: "string" },
      timezone: { type: "string" },
      ignoreregex: { type: "string", multiple: true },
      usedns: { type: "boolean" },
      explain: { type: "boolean" },
      "no-near-misses": { type: "boolean" },
      "print-matched": { type: "boolean" },
      "print-missed": { type: "boolean" },
      "print-ignored": { type: "boolean" },
      simulate: { type: "boolean" },
      maxretry: { type: "string" },
      findtime: { type: "string" },
      bantime: { type: "string" },
      now: { type: "string" },
      json: { type: "boolean" },
    },
  });
  if (positionals.length !== 2) {
    throw new UsageError("test needs LOG and FILTER (see banwatch test --help)");
  }
  const [logPath, filterName] = positionals as [string, string];
  const now = parseNow(values.now, ctx);
  const resolved = await resolveFilter(filterName, values.config, values["fail2ban-dir"]);
  const spec: FilterSpec = {
    ...resolved.spec,
    ...(values.datepattern !== undefined ? { datepattern: values.datepattern } : {}),
    ...(values.timezone !== undefined ? { timezone: values.timezone } : {}),
    ...(values.usedns ? { usedns: true } : {}),
    ignoreregex: [...(resolved.spec.ignoreregex ?? []), ...(values.ignoreregex ?? [])],
  };
  const problems = validateFilter(spec);
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map((p) =>
        `${resolved.label}: ${p.key}${p.index === undefined ? "" : `[${p.index}]`}: ${p.message}`
      ),
    );
  }
  const filter = compileFilter(spec);
  // The warnings `check` gives for this filter, before the results (lines in the same words).
  const warnings = [
    ...(resolved.notes ?? []),
    ...lintFilter(spec).filter((f) => f.severity === "warning").map((f) =>
      `${f.key}${f.index === undefined ? "" : `[${f.index}]`}: ${f.severity}: ${f.message}`
    ),
  ];
  const global = resolved.config?.global ?? { ignoreIp: [], ignoreSelf: false };
  const checks = createIgnoreChecks(global, resolved.jail);
  const run = createTestRun(filter, {
    ignore: checks.ignore,
    keepMatched: values["print-matched"] ?? false,
    keepMissed: values["print-missed"] ?? false,
    keepIgnored: values["print-ignored"] ?? false,
    explain: values.explain ?? false,
    nearMisses: !(values["no-near-misses"] ?? false),
    collectFailures: values.simulate ?? false,
  });

  const started = performance.now();
  for await (const blocks of readLineBlocks(logPath)) {
    for (const block of blocks) {
      if (block.kind === "lines") addText(run, block.text, now);
      else addLine(run, block.line.text, now, { truncated: block.line.truncated });
    }
  }
  const seconds = (performance.now() - started) / 1000;

  // --simulate prints times in the zone the log's dates were read in (compileFilter accepted it).
  const zoneName = spec.timezone ?? "local";
  const simulation = values.simulate
    ? simulate(run, resolved.jail, values, checks.ignore, resolveZone(spec.timezone))
    : [];
  if (values.json) {
    const json = {
      ...reportJson(run),
      warnings,
      ...(values.simulate ? { bans: simulation } : {}),
      seconds: Number(seconds.toFixed(3)),
    };
    ctx.io.out(`${JSON.stringify(json)}\n`);
    return 0;
  }
  ctx.io.out(
    formatReport(run, {
      filterLabel: resolved.label,
      logLabel: logPath === "-" ? "standard input" : logPath,
      datepattern: spec.datepattern,
      warnings,
    }, {
      seconds,
      printMatched: values["print-matched"] ?? false,
      printMissed: values["print-missed"] ?? false,
      printIgnored: values["print-ignored"] ?? false,
      explain: values.explain ?? false,
    }),
  );
  if (values.simulate) ctx.io.out(formatSimulation(simulation, zoneName));
  return 0;
}

/** A ban the simulation would make. */
interface SimulatedBan {
  time: string;
  address: string;
  failures: number;
  bantime: string;
  line: number;
}

function simulate(
  run: TestRun,
  jail: JailConfig | undefined,
  values: {
    maxretry?: string | undefined;
    findtime?: string | undefined;
    bantime?: string | undefined;
  },
  ignore: (addr: NonNullable<ReturnType<typeof parseIp>>) => string | undefined,
  zone: Zone,
): SimulatedBan[] {
  const base = jail ? policyOf(jail) : {
    jail: "simulation",
    maxRetry: JAIL_DEFAULTS.maxRetry,
    findTime: JAIL_DEFAULTS.findTime,
    banTime: JAIL_DEFAULTS.banTime,
    increment: { enabled: false, factor: 1, multipliers: [], maxtime: 0, overalljails: false },
    ipv6Prefix: JAIL_DEFAULTS.ipv6Prefix,
    ipv6PrefixMaxRetry: undefined,
    ipv4Prefix: undefined,
    ipv4PrefixMaxRetry: undefined,
  };
  const maxRetry = values.maxretry === undefined ? base.maxRetry : Number(values.maxretry);
  if (!Number.isInteger(maxRetry) || maxRetry < 1) {
    throw new UsageError(`--maxretry: "${values.maxretry}" is not a whole number >= 1`);
  }
  const policy = {
    ...base,
    maxRetry,
    findTime: durationOption("findtime", values.findtime) ?? base.findTime,
    banTime: durationOption("bantime", values.bantime) ?? base.banTime,
  };
  const state = createBanState({ maxTracked: 1_000_000 });
  const bans: SimulatedBan[] = [];
  // The log's own timeline: each failure is judged at its own time, as if read live.
  for (const f of run.failures ?? []) {
    // A syslogd repeat line counts as many failures as it says (until they ban).
    for (let i = 0, banned = false; i < (f.count ?? 1) && !banned; i++) {
      for (const action of recordFailure(state, policy, f, { now: f.time, ignore })) {
        if (action.kind !== "ban") continue;
        banned = true;
        bans.push({
          time: formatZonedTime(action.ban.since, zone),
          address: displayTarget(action.ban.target),
          failures: action.ban.failures,
          bantime: formatDuration(action.ban.until - action.ban.since),
          line: f.number,
        });
      }
    }
  }
  return bans;
}

function formatSimulation(bans: readonly SimulatedBan[], zoneName: string): string {
  const out = [
    `Simulated bans (maxretry/findtime/bantime over the log's own timeline; times in ${zoneName}):`,
  ];
  out.push("|- time                      address                          failures  bantime");
  for (const b of bans) {
    out.push(
      `|  ${b.time.padEnd(25)} ${b.address.padEnd(32)} ${
        String(b.failures).padStart(8)
      }  ${b.bantime}`,
    );
  }
  out.push("`-", `Bans: ${bans.length}`, "");
  return out.join("\n");
}

/** The `test` command. */
export const TEST_COMMAND: Command = {
  name: "test",
  summary: "run a log through a filter and explain every line that did not match",
  help: HELP,
  run: runTest,
};
