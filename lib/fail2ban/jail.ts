/**
 * A fail2ban configuration directory -> jails.toml text, read as fail2ban's client does:
 * jail.conf/.local layers, each jail's filter with its options, its ipfw/pf action with its
 * parameters. Everything that cannot be converted is returned as a problem; the rest still
 * converts. Pure: files come through an {@link IniIo}.
 * @module
 */
import { type Cidr, formatDuration, JAIL_NAME, parseCidr, TABLE_NAME } from "../core/mod.ts";
import { type FilterSpec, validateFilter } from "../filter/mod.ts";
import { type BuiltinCheck, equivalentBuiltin } from "./builtin.ts";
import { readDefinition } from "./definition.ts";
import { filterSpecLines, tomlArray, tomlComment, tomlKey, tomlString } from "./emit.ts";
import { type Fail2banFilter, FILTER_OPTS, parseFilterRef, readFail2banFilter } from "./filter.ts";
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
  splitWithOptions,
  substituteTags,
} from "./ini.ts";
import { type ImportProblem, type ImportResult, problemOf, syntaxProblem } from "./problem.ts";
import { asBool, convertPorts, fail2banSeconds, nonEmptyLines, splitWords } from "./values.ts";

/** Options for {@link importFail2ban}. */
export interface ImportOptions extends BuiltinCheck {
  /** A header comment line naming the source (default: "imported from <basedir>"). */
  source?: string;
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
}

function placeOf(ctx: JailContext, option: string): { file: string; line: number } {
  // the option's own line, else the jail's first line (its section header is not recorded)
  const w = iniWhere(ctx.cfg, ctx.jail, option) ??
    [...(ctx.cfg.sections.get(ctx.jail)?.values() ?? [])].sort((a, b) => a.line - b.line)[0];
  return { file: w?.file ?? ctx.cfg.files[0] ?? "", line: w?.line ?? 0 };
}

function report(ctx: JailContext, option: string, message: string): void {
  ctx.problems.push({ ...placeOf(ctx, option), key: `jail.${ctx.jail}.${option}`, message });
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

interface Firewall {
  backend: "ipfw" | "pf";
  table: string;
  ports: number[] | undefined;
  protocol: string | undefined;
  comment: string;
}

const FIREWALL_ACTIONS = new Set(["bsd-ipfw", "ipfw", "pf"]);

function convertActions(
  ctx: JailContext,
  action: string,
  jailOpts: Record<string, string>,
): Firewall | undefined {
  let firewall: Firewall | undefined;
  for (const entry of splitWithOptions(action).map((a) => a.trim()).filter((a) => a !== "")) {
    let parsed: NameWithOptions;
    try {
      parsed = parseFilterRef(entry);
    } catch (e) {
      report(ctx, "action", `cannot parse action ${JSON.stringify(entry)}: ${String(e)}`);
      continue;
    }
    const name = parsed.name;
    if (!FIREWALL_ACTIONS.has(name)) {
      report(ctx, "action", `action "${name}" has no banwatch equivalent (${whyNot(name)})`);
      continue;
    }
    if (firewall) {
      report(ctx, "action", `second firewall action "${name}": banwatch uses one per jail`);
      continue;
    }
    const cfg = readIniConfig(joinPath(ctx.basedir, "action.d"), name, ctx.io);
    const initOpts: Record<string, string> = { ...parsed.options };
    initOpts["name"] ??= ctx.jail;
    const read = readDefinition(cfg, [], initOpts, jailOpts, {
      key: `jail.${ctx.jail}.action`,
      all: false,
      ignore: ["ip", "ipmatches", "matches", "ipjailmatches", "bantime", "timeout"],
    });
    const v = read.values;
    const portText = v["port"] ?? "";
    const ports = convertPorts(portText.includes("<") ? "" : portText);
    if (ports.problem) report(ctx, "action", `${ports.problem}; banning on all ports`);
    const protocol = v["protocol"];
    if (name === "pf") {
      const table = substituteTags({ t: "<tablename>-<name>" }, { lookup: (t) => v[t] })["t"] ??
        `f2b-${ctx.jail}`;
      const allports = (v["actiontype"] ?? "").includes("any") &&
        !(v["actiontype"] ?? "").includes("port");
      firewall = {
        backend: "pf",
        table,
        ports: allports ? undefined : ports.ports,
        protocol,
        comment: `from action ${entry.replace(/\s+/g, " ")}`,
      };
    } else {
      let table = name === "bsd-ipfw" ? v["table"] ?? "1" : ctx.jail;
      if (!TABLE_NAME.test(table) || table === "all") {
        report(
          ctx,
          "action",
          `ipfw table "${table}" is not a valid table name; using "${ctx.jail}"`,
        );
        table = ctx.jail;
      }
      firewall = {
        backend: "ipfw",
        table,
        ports: ports.ports,
        protocol,
        comment: name === "ipfw"
          ? `from action ${
            entry.replace(/\s+/g, " ")
          } (fail2ban adds one rule per address; banwatch uses table "${table}")`
          : `from action ${entry.replace(/\s+/g, " ")}`,
      };
    }
  }
  return firewall;
}

function whyNot(action: string): string {
  if (/^(?:sendmail|mail|smtp)/.test(action)) return "mail notifications are not sent";
  if (/whois|geoip/.test(action)) return "mail/whois reports are not sent";
  if (/^(?:iptables|firewallcmd|nftables|ufw|shorewall|apf|route|ipfilter|npf)/.test(action)) {
    return "not a FreeBSD ipfw/pf firewall";
  }
  if (/blocklist_de|abuseipdb|dshield|mynetwatchman|xarf|complain|ipthreat|badips/.test(action)) {
    return "reports to an external service are not sent";
  }
  if (/cloudflare|netscaler|nginx|apprise|nsupdate|symbiosis|osx|hostsdeny/.test(action)) {
    return "only ipfw and pf tables are managed";
  }
  if (action === "dummy") return "a test action";
  return "only ipfw, bsd-ipfw and pf actions are converted";
}

function convertJail(
  ctx: JailContext,
  check: BuiltinCheck,
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
    const samples = check.samples?.(filter.name);
    const builtin = check.samples === undefined
      ? undefined
      : equivalentBuiltin(spec, samples ?? [], check.now);
    const label = `${filter.name}${
      Object.keys(filter.options).length > 0
        ? `[${Object.entries(filter.options).map(([k, v]) => `${k}=${v}`).join(", ")}]`
        : ""
    }`;
    if (builtin) {
      out.push(
        `filter = ${
          tomlString(builtin.name)
        }  # same matches as fail2ban's ${label} on its samples`,
      );
    } else {
      out.push(`# fail2ban filter ${label}: ${filter.files.join(", ")}`);
      out.push(...filterSpecLines(spec));
    }
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

  // the firewall
  const jailOpts = Object.fromEntries(Object.entries(raw).filter(([k]) => k !== "filter"));
  const firewall = raw["action"] ? convertActions(ctx, raw["action"], jailOpts) : undefined;
  if (firewall) {
    out.push(`backend = ${tomlString(firewall.backend)}  # ${firewall.comment}`);
    out.push(`table = ${tomlString(firewall.table)}`);
    if (firewall.ports && firewall.ports.length > 0) {
      out.push(`port = [${firewall.ports.join(", ")}]`);
    }
    const proto = firewall.protocol?.trim().toLowerCase();
    if (proto && proto !== "tcp") {
      if (proto === "udp" || proto === "all") {
        if (proto === "all" && firewall.ports) {
          report(ctx, "action", `protocol "all" with ports: banning tcp only`);
        } else out.push(`protocol = ${tomlString(proto)}`);
      } else report(ctx, "action", `protocol "${proto}" (banwatch knows tcp, udp, all)`);
    }
  } else {
    out.push(`backend = 'dry-run'  # no ipfw/pf action to convert: nothing is blocked`);
  }
  return { lines: out, increment };
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
  const incCtx: JailContext = {
    cfg,
    basedir,
    io,
    jail: DEFAULT_SECTION,
    problems,
    defaults: new Map(),
  };
  const defaultRaw = Object.fromEntries(defaults);
  emitIncrement(incCtx, defaultRaw, inc, (k) => defaults.has(k));
  if (inc.length > 0) head.push("", "[defaults.bantime_increment]", ...inc);
  const body: string[] = [];
  const jails: string[] = [];
  for (const name of cfg.sections.keys()) {
    if (name === INCLUDES_SECTION || name.startsWith("KNOWN/")) continue;
    const ctx: JailContext = { cfg, basedir, io, jail: name, problems, defaults };
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
  return { toml: [...head, ...body, ""].join("\n"), problems, jails };
}
