/**
 * A fail2ban configuration directory -> jails.toml text, read as fail2ban's client does:
 * jail.conf/.local layers, each jail's filter with its options, its ipfw/pf action with its
 * parameters. Everything that cannot be converted is returned as a problem; the rest still
 * converts. Pure: files come through an {@link IniIo}.
 * @module
 */
import { type Cidr, formatDuration, JAIL_NAME, parseCidr } from "../core/mod.ts";
import { type FilterSpec, validateFilter } from "../filter/mod.ts";
import { convertActions, type Firewall, firewallByHand } from "./action.ts";
import type { BuiltinCheck } from "./builtin.ts";
import { tomlArray, tomlComment, tomlKey, tomlString } from "./emit.ts";
import { emitFilter } from "./choose.ts";
import type { LogSample } from "./evidence.ts";
import {
  FAIL2BAN_TEST_NOW,
  type Fail2banFilter,
  FILTER_OPTS,
  parseFilterRef,
  readFail2banFilter,
} from "./filter.ts";
import {
  DEFAULT_SECTION,
  INCLUDES_SECTION,
  type IniConfig,
  iniGet,
  type IniIo,
  iniWhere,
  joinPath,
  type NameWithOptions,
  readIniConfig,
} from "./ini.ts";
import { type ImportProblem, type ImportResult, problemOf, syntaxProblem } from "./problem.ts";
import { asBool, fail2banSeconds, nonEmptyLines, splitWords } from "./values.ts";

/** Options for {@link importFail2ban}. */
export interface ImportOptions extends BuiltinCheck {
  /** A header comment line naming the source (default: "imported from <basedir>"). */
  source?: string;
  /** Write every jail, disabled ones with `enabled = false` (default: only enabled jails). */
  all?: boolean;
  /**
   * Replace an admin's filter by the closest built-in when, on the jail's logs, the built-in
   * matched every line the admin's filter matched (default: keep the admin's filter).
   */
  preferBuiltin?: boolean;
  /**
   * The lines of a log file (the last ones of a large file), or undefined when it does not
   * exist or cannot be read. When given, the jails' logs are checked and used as evidence.
   */
  logs?: (path: string) => readonly string[] | undefined;
  /** The clock for year-less dates in those logs (default: `now`). */
  logsNow?: number;
}

const JAIL_KEYS_READ = [
  "enabled",
  "backend",
  "filter",
  "logpath",
  "maxretry",
  "findtime",
  "bantime",
  "bantime.increment",
  "bantime.factor",
  "bantime.formula",
  "bantime.multipliers",
  "bantime.maxtime",
  "bantime.rndtime",
  "bantime.overalljails",
  "ignorecommand",
  "ignoreself",
  "ignoreip",
  "ignorecache",
  "logtimezone",
  "logencoding",
  "action",
  ...FILTER_OPTS,
] as const;

interface Emitted {
  lines: string[];
  increment: string[];
}

interface JailContext {
  cfg: IniConfig;
  basedir: string;
  io: IniIo;
  jail: string;
  problems: ImportProblem[];
  defaults: Map<string, string>;
  /** ipfw rule numbers handed out so far: by table, and the next free one per lowest number. */
  rules: { byTable: Map<string, number>; used: Set<number> };
  /** Firewall lines to change by hand, collected over all jails. */
  byHand: string[];
}

function placeOf(ctx: JailContext, option: string): { file: string; line: number } {
  // the option's own line (for `action`, the jail's own banaction when it has no action),
  // else the jail's first line (its section header is not recorded)
  const own = ctx.cfg.sections.get(ctx.jail);
  const w = (option === "action" && !own?.has("action") ? own?.get("banaction") : undefined) ??
    iniWhere(ctx.cfg, ctx.jail, option) ??
    [...(ctx.cfg.sections.get(ctx.jail)?.values() ?? [])].sort((a, b) => a.line - b.line)[0];
  return { file: w?.file ?? ctx.cfg.files[0] ?? "", line: w?.line ?? 0 };
}

function report(
  ctx: JailContext,
  option: string,
  message: string,
  severity?: "warning" | "note",
): void {
  const key = `jail.${ctx.jail}.${option}`;
  ctx.problems.push({ ...placeOf(ctx, option), key, message, ...(severity ? { severity } : {}) });
}

function getJail(ctx: JailContext, option: string): string | undefined {
  try {
    return iniGet(ctx.cfg, ctx.jail, option);
  } catch (e) {
    ctx.problems.push(problemOf(e, `jail.${ctx.jail}.${option}`));
    return undefined;
  }
}

function getDefault(cfg: IniConfig, option: string): string | undefined {
  try {
    return iniGet(cfg, DEFAULT_SECTION, option);
  } catch {
    return undefined;
  }
}

function convertJail(
  ctx: JailContext,
  check: ImportOptions,
): Emitted | undefined {
  const { cfg, jail } = ctx;
  const out: string[] = [];
  const increment: string[] = [];
  const raw: Record<string, string> = {};
  const first: Record<string, string> = {};
  for (const k of ["enabled", "backend", "filter"]) {
    const v = getJail(ctx, k);
    if (v !== undefined) first[k] = v;
  }
  let enabled = asBool(first["enabled"]) ?? false;
  const backend = first["backend"] ?? "auto";
  const filterRef = first["filter"] ?? "";

  // the filter, and its options merged into the jail as known/... (as JailReader does)
  let filter: Fail2banFilter | undefined;
  let filterOk = true;
  if (filterRef.trim() !== "") {
    let ref: NameWithOptions | undefined;
    try {
      ref = parseFilterRef(filterRef);
    } catch (e) {
      report(ctx, "filter", `invalid filter definition ${JSON.stringify(filterRef)}: ${e}`);
      filterOk = false;
    }
    if (ref) {
      const first1 = readFail2banFilter(ctx.basedir, ref, ctx.io, {
        jail,
        jailOptions: first,
        backend,
        all: true,
      });
      const section = cfg.sections.get(jail);
      if (section && first1.files.length > 0) {
        const where = iniWhere(cfg, jail, "filter") ?? { file: first1.files[0] ?? "", line: 0 };
        for (const [k, v] of Object.entries(first1.values)) {
          if (!k.startsWith("known/")) section.set(`known/${k}`, { ...where, value: v });
        }
      }
      for (const k of JAIL_KEYS_READ) {
        const v = getJail(ctx, k);
        if (v !== undefined) raw[k] = v;
      }
      filter = readFail2banFilter(ctx.basedir, ref, ctx.io, {
        jail,
        jailOptions: Object.fromEntries(Object.entries(raw).filter(([k]) => k !== "filter")),
        backend,
      });
      // the jail's own filter options win over the filter's (fail2ban skips them in the filter)
      const spec: FilterSpec = {
        name: filter.spec.name,
        failregex: [
          ...(raw["failregex"] === undefined ? filter.spec.failregex : []),
          ...nonEmptyLines(raw["failregex"]),
        ],
      };
      const ign = [
        ...(raw["ignoreregex"] === undefined ? filter.spec.ignoreregex ?? [] : []),
        ...nonEmptyLines(raw["ignoreregex"]),
      ];
      if (ign.length > 0) spec.ignoreregex = ign;
      const pref = raw["prefregex"] ?? filter.spec.prefregex;
      if (pref) spec.prefregex = pref;
      const dp = raw["datepattern"] ?? filter.spec.datepattern;
      if (dp) spec.datepattern = dp;
      filter = { ...filter, spec };
      ctx.problems.push(
        ...filter.problems.map((p) =>
          p.key.startsWith("filter.") ? { ...p, key: `jail.${jail}.${p.key}` } : p
        ),
      );
      if (filter.files.length === 0) filterOk = false;
    }
  } else {
    for (const k of JAIL_KEYS_READ) {
      const v = getJail(ctx, k);
      if (v !== undefined) raw[k] = v;
    }
  }

  const disable = (option: string, why: string): void => {
    if (enabled) {
      report(ctx, option, `${why}; the jail is written with enabled = false`);
      enabled = false;
    } else {
      report(ctx, option, why);
    }
  };

  // log source
  let logpaths: string[] = [];
  if (backend.startsWith("systemd")) {
    disable("backend", `backend "${backend}" reads the systemd journal; banwatch reads log files`);
  } else {
    if (!["auto", "polling", "pyinotify", "gamin"].includes(backend.trim())) {
      report(ctx, "backend", `unknown log backend "${backend}"; log files are polled`);
    }
    logpaths = (raw["logpath"] ?? "").split("\n").map((l) => l.trim()).filter((l) => l !== "")
      .map((l) => l.replace(/\s+(?:head|tail)$/, ""));
    for (const p of logpaths.filter((p) => !p.startsWith("/"))) {
      report(ctx, "logpath", `"${p}" is not an absolute path`);
    }
    if (logpaths.length === 0 && enabled) disable("logpath", "no log file (logpath is empty)");
  }
  const logs: LogSample[] = [];
  if (check.logs) {
    for (const path of logpaths.filter((p) => p.startsWith("/") && !/[*?[]/.test(p))) {
      const lines = check.logs(path);
      if (lines) logs.push({ path, lines });
      else {
        report(
          ctx,
          "logpath",
          `${path} does not exist or cannot be read here; kept (the jail reads nothing until it exists)`,
          "warning",
        );
      }
    }
  }
  const enc = raw["logencoding"]?.trim().toLowerCase();
  if (enc && !["auto", "utf-8", "utf8", "ascii"].includes(enc)) {
    report(ctx, "logencoding", `log encoding "${enc}" (banwatch reads UTF-8)`);
  }
  if (raw["logtimezone"]?.trim()) {
    report(ctx, "logtimezone", `set timezone = "..." in [global] or the filter instead`);
  }

  // the filter
  let spec = filter?.spec;
  if (spec && filterOk) {
    const errors = validateFilter(spec);
    if (errors.length > 0) {
      for (const e of errors) {
        report(
          ctx,
          "filter",
          `${e.key}${e.index === undefined ? "" : `[${e.index}]`} is not supported by banwatch: ${
            e.message.split("\n")[0]
          }`,
        );
      }
      filterOk = false;
    }
  }
  if (!spec || !filterOk || spec.failregex.length === 0) {
    spec = undefined;
    if (enabled) disable("filter", "the jail has no usable filter");
  }

  out.push(`enabled = ${enabled}`);
  if (logpaths.length === 1) out.push(`logpath = ${tomlString(logpaths[0] ?? "")}`);
  else if (logpaths.length > 1) out.push(`logpath = ${tomlArray(logpaths)}`);
  if (spec && filter) {
    const now = check.logsNow ?? check.now ?? FAIL2BAN_TEST_NOW;
    out.push(...emitFilter(
      { filter, spec, logs, now },
      {
        ...check,
        report: (message: string, severity: "warning" | "note") =>
          report(ctx, "filter", message, severity),
      },
    ));
  } else if (filter && filter.spec.failregex.length > 0) {
    out.push(tomlComment(`fail2ban filter ${filter.name} not converted (see the report):`));
    out.push(tomlComment(`failregex = ${filter.spec.failregex.join("\n            ")}`));
  }

  // counting and banning
  const differs = (k: string): boolean => raw[k] !== undefined && raw[k] !== ctx.defaults.get(k);
  if (differs("maxretry")) {
    const n = Number(raw["maxretry"]);
    if (Number.isInteger(n) && n >= 1) out.push(`maxretry = ${n}`);
    else report(ctx, "maxretry", `"${raw["maxretry"]}" is not a positive integer`);
  }
  for (const k of ["findtime", "bantime"] as const) {
    if (!differs(k)) continue;
    const s = fail2banSeconds(raw[k] ?? "");
    if (s === undefined || (k === "findtime" && (s === Infinity || s < 1)) || s < 1) {
      report(ctx, k, `"${raw[k]}" is not a duration banwatch accepts`);
    } else out.push(`${k} = ${tomlString(formatDuration(s))}`);
  }
  emitIncrement(ctx, raw, increment, differs);
  emitIgnore(ctx, raw, out, differs);
  if (raw["ignorecommand"]?.trim()) {
    report(ctx, "ignorecommand", "banwatch runs no commands to decide what to ignore");
  }
  if (raw["ignorecache"]?.trim()) report(ctx, "ignorecache", "not needed (no ignorecommand)");
  if (differs("ignoreself") && asBool(raw["ignoreself"]) === false) {
    report(ctx, "ignoreself", `set ignoreself = false in [global] (it is global in banwatch)`);
  }
  if (raw["usedns"] !== undefined && differs("usedns")) {
    const u = raw["usedns"].trim().toLowerCase();
    if (u === "yes") out.push("usedns = true");
    else if (u === "no" || u === "raw") out.push("usedns = false");
  }
  if (raw["journalmatch"]?.trim() && backend.startsWith("systemd")) {
    report(ctx, "journalmatch", "the systemd journal is not read");
  }

  valueWarnings(ctx, raw);

  // the firewall
  const jailOpts = Object.fromEntries(Object.entries(raw).filter(([k]) => k !== "filter"));
  const actions = raw["action"]
    ? convertActions(
      {
        basedir: ctx.basedir,
        io: ctx.io,
        jail,
        report: (message: string, severity?: "warning") => report(ctx, "action", message, severity),
      },
      raw["action"],
      jailOpts,
    )
    : { firewall: undefined, dropped: [] };
  out.push(...emitFirewall(ctx, actions.firewall, enabled));
  for (const d of actions.dropped) {
    out.push(tomlComment(`fail2ban action not converted: ${d.entry} (${d.why})`));
  }
  return { lines: out, increment };
}

function effective(ctx: JailContext, raw: Record<string, string>, key: string): string | undefined {
  return raw[key] ?? ctx.defaults.get(key);
}

/** Values carried over that look wrong: maxretry 1, bantime shorter than findtime. */
function valueWarnings(ctx: JailContext, raw: Record<string, string>): void {
  if (Number(effective(ctx, raw, "maxretry")) === 1) {
    report(
      ctx,
      "maxretry",
      "maxretry = 1: a single failure (one mistyped password) bans; kept",
      "warning",
    );
  }
  const ban = fail2banSeconds(effective(ctx, raw, "bantime") ?? "");
  const find = fail2banSeconds(effective(ctx, raw, "findtime") ?? "");
  if (ban !== undefined && find !== undefined && ban < find) {
    report(
      ctx,
      "bantime",
      `bantime (${formatDuration(ban)}) is shorter than findtime (${formatDuration(find)}): ` +
        "failures before the ban still count after it, so one more failure bans again; kept",
      "warning",
    );
  }
}

/** The backend, table, port, protocol and rule lines of a jail. */
function emitFirewall(ctx: JailContext, fw: Firewall | undefined, enabled: boolean): string[] {
  if (!fw) return [`backend = 'dry-run'  # no ipfw/pf/nft action to convert: nothing is blocked`];
  const out = [`backend = ${tomlString(fw.backend)}  # from action ${fw.entry}`];
  out.push(`table = ${tomlString(fw.table)}`);
  if (fw.ports && fw.ports.length > 0) out.push(`port = [${fw.ports.join(", ")}]`);
  else out.push(`port = []  # all ports`);
  out.push(`protocol = ${tomlString(fw.protocol)}`);
  let rule: number | undefined;
  if (fw.backend === "ipfw" && fw.lowestRule !== undefined) {
    if (enabled) {
      rule = ctx.rules.byTable.get(fw.table);
      if (rule === undefined) {
        rule = fw.lowestRule;
        while (ctx.rules.used.has(rule)) rule++;
        ctx.rules.used.add(rule);
        ctx.rules.byTable.set(fw.table, rule);
      }
      out.push(
        `rule = ${rule}  # as fail2ban's ${fw.name}: the first free number from ${fw.lowestRule} ` +
          `(jails in order); check "ipfw list" and adjust`,
        "manage_rule = true",
      );
    } else {
      out.push(
        `# rule = N  # when enabling: a free ipfw rule number (fail2ban's from ${fw.lowestRule})`,
      );
    }
  }
  out.push(...fw.notes.map((n) => tomlComment(n)));
  if (enabled) ctx.byHand.push(...firewallByHand(ctx.jail, fw, rule));
  return out;
}

function emitIncrement(
  ctx: JailContext,
  raw: Record<string, string>,
  out: string[],
  differs: (k: string) => boolean,
): void {
  if (differs("bantime.increment")) out.push(`enabled = ${asBool(raw["bantime.increment"])}`);
  if (differs("bantime.factor")) {
    const f = Number(raw["bantime.factor"]);
    if (Number.isFinite(f) && f > 0) out.push(`factor = ${f}`);
    else report(ctx, "bantime.factor", `"${raw["bantime.factor"]}" is not a positive number`);
  }
  if (differs("bantime.multipliers")) {
    const ms = splitWords(raw["bantime.multipliers"]).map(Number);
    if (ms.length > 0 && ms.every((m) => Number.isInteger(m) && m >= 1)) {
      out.push(`multipliers = [${ms.join(", ")}]`);
    } else {
      report(
        ctx,
        "bantime.multipliers",
        `"${raw["bantime.multipliers"]}" is not a list of integers`,
      );
    }
  }
  for (const [k, key] of [["bantime.maxtime", "maxtime"], ["bantime.rndtime", "rndtime"]]) {
    if (!k || !key || !differs(k)) continue;
    const s = fail2banSeconds(raw[k] ?? "");
    if (s === undefined || s < (key === "maxtime" ? 1 : 0)) {
      report(ctx, k, `"${raw[k]}" is not a duration banwatch accepts`);
    } else out.push(`${key} = ${tomlString(formatDuration(s))}`);
  }
  if (differs("bantime.overalljails")) {
    out.push(`overalljails = ${asBool(raw["bantime.overalljails"])}`);
  }
  if (differs("bantime.formula") && raw["bantime.formula"]?.trim()) {
    report(ctx, "bantime.formula", "formulas are not supported; use factor or multipliers");
  }
}

function convertIgnoreIp(
  text: string | undefined,
  bad: (item: string, why: string) => void,
): Cidr[] {
  const out: Cidr[] = [];
  for (const item of splitWords(text)) {
    if (item.startsWith("file:")) {
      bad(item, "ignore lists in files are not read");
      continue;
    }
    const c = parseCidr(item);
    if (c) out.push(c);
    else bad(item, "host names are not resolved");
  }
  return out;
}

function emitIgnore(
  ctx: JailContext,
  raw: Record<string, string>,
  out: string[],
  differs: (k: string) => boolean,
): void {
  if (!differs("ignoreip")) return;
  const cidrs = convertIgnoreIp(
    raw["ignoreip"],
    (item, why) => report(ctx, "ignoreip", `"${item}": ${why}`),
  );
  // jail ignoreip replaces fail2ban's [DEFAULT] one; banwatch adds [defaults] to it
  const defaults = new Set(
    convertIgnoreIp(ctx.defaults.get("ignoreip"), () => {}).map((c) => c.text),
  );
  const own = cidrs.map((c) => c.text).filter((t) => !defaults.has(t));
  if (own.length > 0) out.push(`ignoreip = ${tomlArray(own)}`);
}

function defaultsBlock(
  cfg: IniConfig,
  defaults: Map<string, string>,
  problems: ImportProblem[],
): string[] {
  const out: string[] = [];
  const place = (k: string) => {
    const w = cfg.defaults.get(k);
    return { file: w?.file ?? "", line: w?.line ?? 0, key: `DEFAULT.${k}` };
  };
  const n = Number(defaults.get("maxretry"));
  if (defaults.has("maxretry")) {
    if (Number.isInteger(n) && n >= 1) out.push(`maxretry = ${n}`);
    else problems.push({ ...place("maxretry"), message: "not a positive integer" });
  }
  for (const k of ["findtime", "bantime"]) {
    const v = defaults.get(k);
    if (v === undefined) continue;
    const s = fail2banSeconds(v);
    if (s === undefined || s < 1 || (k === "findtime" && s === Infinity)) {
      problems.push({ ...place(k), message: `"${v}" is not a duration banwatch accepts` });
    } else out.push(`${k} = ${tomlString(formatDuration(s))}`);
  }
  const ign = convertIgnoreIp(
    defaults.get("ignoreip"),
    (item, why) => problems.push({ ...place("ignoreip"), message: `"${item}": ${why}` }),
  );
  if (ign.length > 0) out.push(`ignoreip = ${tomlArray(ign.map((c) => c.text))}`);
  const u = defaults.get("usedns")?.trim().toLowerCase();
  if (u === "yes") out.push("usedns = true");
  else if (u === "warn") {
    out.push(`# fail2ban's usedns = warn: banwatch bans addresses only (usedns = false)`);
  }
  return out;
}

/** An undefined `%(name)s` reference in an interpolation problem. */
const UNDEFINED_REF = /%\(([^)]+)\)s refers to an option that is not defined/;
const MISSING_PATHS = /included file (\S*paths-[^/\s]*\.conf) not found/;

/**
 * A missing `paths-*.conf` include: says which variables stayed unresolved because of it (the
 * undefined references the jails' options hit), instead of a bare "not found".
 */
function explainMissingPaths(problems: ImportProblem[]): void {
  const unresolved = new Map<string, Set<string>>();
  for (const p of problems) {
    const name = UNDEFINED_REF.exec(p.message)?.[1];
    if (name === undefined) continue;
    const users = unresolved.get(name) ?? new Set<string>();
    users.add(p.key);
    unresolved.set(name, users);
  }
  for (let i = 0; i < problems.length; i++) {
    const p = problems[i];
    const file = p ? MISSING_PATHS.exec(p.message)?.[1] : undefined;
    if (!p || file === undefined) continue;
    const list = [...unresolved].map(([n, users]) => `${n} (${[...users].join(", ")})`);
    problems[i] = {
      ...p,
      message: `${p.message}: fail2ban resolves its log paths with it; ` +
        (list.length > 0
          ? `unresolved here: ${list.join(", ")}`
          : "no option converted here needed it"),
    };
  }
}

function enabledInFail2ban(cfg: IniConfig, name: string): boolean {
  try {
    return asBool(iniGet(cfg, name, "enabled")) ?? false;
  } catch {
    return false;
  }
}

/**
 * Converts the fail2ban configuration under basedir (jail.conf, jail.d/, jail.local, their
 * includes, filter.d/, action.d/) into jails.toml text; every jail is written, keeping its
 * `enabled`. Never throws on bad input: problems are returned.
 */
export function importFail2ban(
  basedir: string,
  io: IniIo,
  options: ImportOptions = {},
): ImportResult {
  const cfg = readIniConfig(basedir, "jail", io);
  const problems: ImportProblem[] = cfg.problems.map(syntaxProblem);
  if (cfg.files.length === 0) {
    problems.push({
      file: joinPath(basedir, "jail.conf"),
      line: 0,
      key: "jail",
      message: `no jail.conf or jail.local under ${basedir}`,
    });
  }
  for (const [k, v] of [["fail2ban_version", "1.0.2"], ["fail2ban_confpath", basedir]]) {
    if (k && v !== undefined && !cfg.defaults.has(k)) {
      cfg.defaults.set(k, { value: v, file: "<fail2ban>", line: 0 });
    }
  }
  const defaults = new Map<string, string>();
  for (const k of JAIL_KEYS_READ) {
    const v = getDefault(cfg, k);
    if (v !== undefined) defaults.set(k, v);
  }
  const head = [
    `# jails.toml converted from fail2ban by banwatch import-fail2ban`,
    `# ${options.source ?? `source: ${basedir}`}, read in this order:`,
    ...cfg.files.map((f) => `#   ${f}`),
    `# Check it with: banwatch check; test a filter with: banwatch test LOG`,
    "",
    "[defaults]",
    ...defaultsBlock(cfg, defaults, problems),
  ];
  const inc: string[] = [];
  const rules = { byTable: new Map<string, number>(), used: new Set<number>() };
  const byHand: string[] = [];
  const incCtx: JailContext = {
    cfg,
    basedir,
    io,
    jail: DEFAULT_SECTION,
    problems,
    defaults: new Map(),
    rules,
    byHand,
  };
  const defaultRaw = Object.fromEntries(defaults);
  emitIncrement(incCtx, defaultRaw, inc, (k) => defaults.has(k));
  if (inc.length > 0) head.push("", "[defaults.bantime_increment]", ...inc);
  const body: string[] = [];
  const jails: string[] = [];
  const skipped: string[] = [];
  for (const name of cfg.sections.keys()) {
    if (name === INCLUDES_SECTION || name.startsWith("KNOWN/")) continue;
    if (!options.all && !enabledInFail2ban(cfg, name)) {
      skipped.push(name);
      continue;
    }
    const ctx: JailContext = { cfg, basedir, io, jail: name, problems, defaults, rules, byHand };
    const header = iniWhere(cfg, name, "enabled") ?? cfg.sections.get(name)?.values().next().value;
    if (!JAIL_NAME.test(name)) {
      problems.push({
        file: header?.file ?? "",
        line: header?.line ?? 0,
        key: `jail.${name}`,
        message: `jail name "${name}" is not allowed in banwatch (A-Z a-z 0-9 - _, at most 63)`,
      });
      continue;
    }
    const emitted = convertJail(ctx, options);
    if (!emitted) continue;
    jails.push(name);
    body.push("", `[jail.${tomlKey(name)}]`, ...emitted.lines);
    if (emitted.increment.length > 0) {
      body.push("", `[jail.${tomlKey(name)}.bantime_increment]`, ...emitted.increment);
    }
  }
  explainMissingPaths(problems);
  const enabled = jails.filter((j) => enabledInFail2ban(cfg, j)).length;
  head.splice(
    cfg.files.length + 2,
    0,
    options.all
      ? `# every jail: ${enabled} enabled in fail2ban, ${jails.length - enabled} disabled ` +
        `(written with enabled = false)`
      : `# ${jails.length} jails enabled in fail2ban written; ${skipped.length} disabled ` +
        `ones skipped (--all writes them too)`,
  );
  return {
    toml: [...head, ...body, ""].join("\n"),
    problems,
    jails,
    firewallByHand: byHand,
    skipped,
  };
}
