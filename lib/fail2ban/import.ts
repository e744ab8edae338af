/**
 * Converts a fail2ban configuration directory into jails.toml text (and one fail2ban filter
 * into a banwatch filter file), reading it as fail2ban's client does: jail.conf/.local layers,
 * filters with their `[Init]` and jail-given options, actions with their parameters.
 * Everything that cannot be converted is returned as a problem (`file:line: key: not
 * converted: why`); the rest still converts. Pure: files come through an {@link IniIo}.
 * @module
 */
import {
  type Cidr,
  formatDuration,
  JAIL_NAME,
  parseCidr,
  parseIp,
  TABLE_NAME,
} from "../core/mod.ts";
import {
  BUILTIN_FILTERS,
  compileFilter,
  createDateDetector,
  createLineJudge,
  type FilterSpec,
  validateFilter,
} from "../filter/mod.ts";
import {
  DEFAULT_SECTION,
  extractOptions,
  INCLUDES_SECTION,
  type IniConfig,
  IniError,
  iniGet,
  type IniIo,
  iniOptions,
  type IniProblem,
  iniWhere,
  joinPath,
  type NameWithOptions,
  readIniConfig,
  splitWithOptions,
  substituteTags,
} from "./ini.ts";

/** Something that was not converted, with its place and the reason. */
export interface ImportProblem {
  /** The fail2ban file. */
  readonly file: string;
  /** Its 1-based line (0 when unknown). */
  readonly line: number;
  /** What it concerns: `jail.NAME.key`, `filter.NAME.key`, or `syntax`. */
  readonly key: string;
  /** Why it was not converted, one line. */
  readonly message: string;
}

/** An INI syntax problem as an import problem (key "syntax"). */
function syntaxProblem(p: IniProblem): ImportProblem {
  return { file: p.file, line: p.line, key: "syntax", message: p.message };
}

/** Formats a problem as `file:line: key: not converted: why`. */
export function formatImportProblem(p: ImportProblem): string {
  return `${p.file}:${p.line}: ${p.key}: not converted: ${p.message}`;
}

/** fail2ban's clock in its sample-log tests (2005-08-14 10:00 UTC), for year-less dates. */
export const FAIL2BAN_TEST_NOW = 1124013600;

/** The filter options fail2ban reads from `[Definition]` (FilterReader._configOpts). */
const FILTER_OPTS = [
  "usedns",
  "prefregex",
  "ignoreregex",
  "failregex",
  "maxlines",
  "datepattern",
  "journalmatch",
] as const;

/** A fail2ban filter read with its options, before conversion. */
export interface Fail2banFilter {
  /** The filter's name (file stem under filter.d). */
  readonly name: string;
  /** The options it was read with (`postfix[mode=auth]` -> { mode: "auth" }). */
  readonly options: Readonly<Record<string, string>>;
  /** Its files, in merge order ([] when it does not exist). */
  readonly files: readonly string[];
  /** The fully substituted options (failregex, ignoreregex, prefregex, datepattern, ...). */
  readonly values: Readonly<Record<string, string>>;
  /** The banwatch filter it converts to (regexes kept as fail2ban wrote them). */
  readonly spec: FilterSpec;
  /** What could not be read or converted. */
  readonly problems: readonly ImportProblem[];
}

const CONDITIONAL_RE = /^(\w+)(\?.+)$/;

interface DefinitionRead {
  values: Record<string, string>;
  problems: ImportProblem[];
}

/**
 * fail2ban's DefinitionInitConfigReader: `[Definition]` options (those not given by pOpts),
 * `[Init]` defaults (also as `known/NAME`), then `<tag>` substitution over all of them.
 */
function readDefinition(
  cfg: IniConfig,
  keys: readonly string[],
  initOpts: Record<string, string>,
  pOpts: Readonly<Record<string, string>>,
  ctx: { key: string; all: boolean; ignore?: readonly string[] },
): DefinitionRead {
  const problems: ImportProblem[] = [];
  const vars = { ...pOpts, ...initOpts };
  const get = (section: string, option: string, v?: Record<string, string>): string | undefined => {
    try {
      return iniGet(cfg, section, option, v ? { vars: v } : {});
    } catch (e) {
      problems.push(problemOf(e, `${ctx.key}.${option}`));
      return undefined;
    }
  };
  const opts: Record<string, string> = {};
  for (const key of keys) {
    if (Object.hasOwn(vars, key)) continue;
    const v = get("Definition", key, vars);
    if (v !== undefined) opts[key] = v;
  }
  if (cfg.sections.has("Init")) {
    for (const opt of iniOptions(cfg, "Init")) {
      let v: string | undefined;
      if (!opt.startsWith("known/")) {
        v = get("Init", opt);
        if (v !== undefined) initOpts[`known/${opt}`] = v;
      }
      if (!Object.hasOwn(initOpts, opt)) {
        v ??= get("Init", opt);
        if (v !== undefined) initOpts[opt] = v;
      }
    }
  }
  if (ctx.all && cfg.sections.has("Definition")) {
    for (const opt of iniOptions(cfg, "Definition", { withDefault: true })) {
      if (Object.hasOwn(opts, opt)) continue;
      const v = get("Definition", opt);
      if (v !== undefined) opts[opt] = v;
    }
  }
  const combined = { ...opts, ...initOpts };
  const ignore = new Set(ctx.ignore ?? []);
  for (const n of Object.keys(combined)) {
    const cond = CONDITIONAL_RE.exec(n);
    if (cond) ignore.add(cond[1] ?? n);
  }
  const cache = new Map<string, string | undefined>();
  const lookup = (tag: string): string | undefined => {
    if (cache.has(tag)) return cache.get(tag);
    let v: string | undefined;
    try {
      v = iniGet(cfg, "Definition", tag, { vars });
    } catch {
      v = undefined;
    }
    cache.set(tag, v);
    return v;
  };
  try {
    return { values: substituteTags(combined, { ignore, lookup }), problems };
  } catch (e) {
    problems.push({
      file: cfg.files[0] ?? "",
      line: 0,
      key: ctx.key,
      message: `tags cannot be resolved: ${e instanceof Error ? e.message : String(e)}`,
    });
    return { values: combined, problems };
  }
}

function problemOf(e: unknown, key: string): ImportProblem {
  if (e instanceof IniError) {
    const message = e.message.slice(`${e.file}:${e.line}: `.length);
    return { file: e.file, line: e.line, key, message };
  }
  return { file: "", line: 0, key, message: e instanceof Error ? e.message : String(e) };
}

/** The tags banwatch's filter engine knows (F-* fields aside). */
const KNOWN_TAGS = new Set(["HOST", "ADDR", "IP4", "IP6", "DNS", "SUBNET", "CIDR", "SKIPLINES"]);

/**
 * fail2ban leaves a tag it does not know as literal text (haproxy's `main/<NOSRV>`,
 * softethervpn's `<SECURITY_LOG>`); banwatch rejects unknown tags, so they are escaped.
 */
function literalTags(regex: string): string {
  return regex.replace(
    /(?<!\\|\(\?P?)<(\/?)([A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*)(\/?)>/g,
    (all, a, tag, b) => KNOWN_TAGS.has(tag) || tag.startsWith("F-") ? all : `\\<${a}${tag}${b}\\>`,
  );
}

function lines(value: string | undefined): string[] {
  return (value ?? "").split("\n").filter((l) => l !== "");
}

/** Parses `NAME[k=v, ...]` as a jail's `filter =` or `action =` entry is written. */
export function parseFilterRef(text: string): NameWithOptions {
  const got = extractOptions(text.trim());
  return { name: got.name.trim(), options: got.options };
}

/** Options for reading a filter. */
export interface ReadFilterOptions {
  /** The jail's name (for `<name>`-style options and messages); default "jail". */
  jail?: string;
  /** Options of the jail passed to the filter for interpolation (fail2ban's pOpts). */
  jailOptions?: Readonly<Record<string, string>>;
  /** The jail's log backend; `systemd...` selects `logtype = journal`. */
  backend?: string;
  /** Also read every other `[Definition]` option (as a jail's first pass does). */
  all?: boolean;
}

/**
 * Reads `filter.d/NAME.conf` (+ `.local`, `.d/`) under basedir with the given options, as a
 * jail (or fail2ban-regex) would use it, and converts it into a FilterSpec.
 */
export function readFail2banFilter(
  basedir: string,
  ref: string | NameWithOptions,
  io: IniIo,
  options: ReadFilterOptions = {},
): Fail2banFilter {
  const { name, options: filterOptions } = typeof ref === "string" ? parseFilterRef(ref) : ref;
  const key = `filter.${name}`;
  const cfg = readIniConfig(joinPath(basedir, "filter.d"), name, io);
  const problems: ImportProblem[] = cfg.problems.map(syntaxProblem);
  if (cfg.files.length === 0) {
    problems.push({
      file: joinPath(basedir, `filter.d/${name}.conf`),
      line: 0,
      key,
      message: `filter "${name}" not found`,
    });
    return {
      name,
      options: filterOptions,
      files: [],
      values: {},
      spec: { name, failregex: [] },
      problems,
    };
  }
  const initOpts: Record<string, string> = { ...filterOptions };
  if (options.backend !== undefined && !initOpts["logtype"]) {
    const own = cfg.sections.get("Definition")?.has("logtype") ?? false;
    if (!own) initOpts["logtype"] = options.backend.startsWith("systemd") ? "journal" : "file";
  }
  const read = readDefinition(cfg, FILTER_OPTS, initOpts, options.jailOptions ?? {}, {
    key,
    all: options.all ?? false,
  });
  problems.push(...read.problems);
  const values = read.values;
  const spec: FilterSpec = { name, failregex: lines(values["failregex"]).map(literalTags) };
  const ignore = lines(values["ignoreregex"]).map(literalTags);
  if (ignore.length > 0) spec.ignoreregex = ignore;
  if (values["prefregex"]) spec.prefregex = literalTags(values["prefregex"]);
  if (values["datepattern"]) spec.datepattern = values["datepattern"];
  const usedns = values["usedns"];
  if (usedns === "yes") spec.usedns = true;
  else if (usedns === "no" || usedns === "raw") spec.usedns = false;
  const at = (opt: string) => {
    const w = iniWhere(cfg, "Definition", opt) ?? iniWhere(cfg, "Init", opt);
    return { file: w?.file ?? cfg.files[0] ?? "", line: w?.line ?? 0 };
  };
  const maxlines = values["maxlines"];
  if (maxlines !== undefined && maxlines !== "" && maxlines !== "1") {
    problems.push({
      ...at("maxlines"),
      key: `${key}.maxlines`,
      message:
        `multi-line matching (maxlines = ${maxlines}) is not supported; each line is matched alone`,
    });
  }
  if (spec.failregex.length === 0) {
    problems.push({ ...at("failregex"), key: `${key}.failregex`, message: "no failregex" });
  }
  return { name, options: filterOptions, files: cfg.files, values, spec, problems };
}

// ---------------------------------------------------------------------------------------------
// Values

/** fail2ban's time abbreviations (MyTime.str2seconds) -> seconds; -1 (any negative) -> Infinity. */
export function fail2banSeconds(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "") return undefined;
  if (/^-\d+(\.\d+)?$/.test(t)) return Infinity;
  const unit = (u: string): number | undefined => {
    if (u === "") return 1;
    if (/^(?:years?|yea?|yy?)$/.test(u)) return 365.25 * 86400;
    if (/^(?:months?|mon?)$/.test(u)) return (365.25 * 86400) / 12;
    if (/^(?:weeks?|wee?|ww?)$/.test(u)) return 7 * 86400;
    if (/^(?:days?|da|dd?)$/.test(u)) return 86400;
    if (/^(?:hours?|hou?|hh?)$/.test(u)) return 3600;
    if (/^(?:minutes?|min?|mm?)$/.test(u)) return 60;
    if (/^(?:seconds?|sec?|ss?)$/.test(u)) return 1;
    return undefined;
  };
  let total = 0;
  // terms joined by "+" or juxtaposed ("1d12h 30m"); a term may be a product ("60*60")
  const token = /\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*/y;
  let at = 0;
  let product: number | undefined;
  while (at < t.length) {
    token.lastIndex = at;
    const m = token.exec(t);
    if (!m) return undefined;
    const u = unit(m[2] ?? "");
    if (u === undefined) return undefined;
    const value = Number(m[1]) * u;
    product = product === undefined ? value : product * value;
    at = token.lastIndex;
    if (t[at] === "*") {
      at++;
      continue;
    }
    if (t[at] === "+") at++;
    total += product;
    product = undefined;
  }
  if (product !== undefined) return undefined;
  return Math.round(total * 1000) / 1000;
}

function asBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  return ["1", "on", "true", "yes"].includes(v.trim().toLowerCase());
}

/** fail2ban's splitwords: on commas, spaces and new lines. */
function splitWords(v: string | undefined): string[] {
  return (v ?? "").split(/[ ,\n]+/).map((s) => s.trim()).filter((s) => s !== "");
}

/** Well-known service names fail2ban jails use for `port =` (FreeBSD's /etc/services). */
const SERVICES: Readonly<Record<string, number>> = {
  "ftp-data": 20,
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  http: 80,
  www: 80,
  kerberos: 88,
  pop3: 110,
  nntp: 119,
  ntp: 123,
  imap: 143,
  imap2: 143,
  snmp: 161,
  ldap: 389,
  https: 443,
  smtps: 465,
  submissions: 465,
  urd: 465,
  submission: 587,
  ldaps: 636,
  rsync: 873,
  ftps: 990,
  imaps: 993,
  pop3s: 995,
  "ms-sql-s": 1433,
  openvpn: 1194,
  pptp: 1723,
  mysql: 3306,
  sieve: 4190,
  sip: 5060,
  sips: 5061,
  "xmpp-client": 5222,
  "xmpp-server": 5269,
  postgresql: 5432,
  "http-alt": 8080,
  webcache: 8080,
  "http-proxy": 3128,
  squid: 3128,
  ipp: 631,
  mumble: 64738,
  irc: 6667,
};

interface PortResult {
  ports: number[] | undefined; // undefined = all ports
  problem?: string;
}

/** fail2ban's `port = ssh,smtp,465,1000:1010` -> port numbers; 0:65535 or "" -> all ports. */
function convertPorts(text: string): PortResult {
  const ports: number[] = [];
  for (const item of text.split(/[\s,]+/).filter((s) => s !== "")) {
    const range = /^(\d+):(\d+)$/.exec(item);
    if (range) {
      const lo = Number(range[1]);
      const hi = Number(range[2]);
      if (lo <= 1 && hi >= 65535) return { ports: undefined };
      if (hi < lo || hi - lo > 63) {
        return { ports: undefined, problem: `port range ${item} is too wide to list` };
      }
      for (let p = Math.max(lo, 1); p <= hi; p++) ports.push(p);
      continue;
    }
    if (/^\d+$/.test(item)) {
      const n = Number(item);
      if (n < 1 || n > 65535) return { ports: undefined, problem: `port ${item} out of range` };
      ports.push(n);
      continue;
    }
    const known = SERVICES[item.toLowerCase()];
    if (known === undefined) {
      return { ports: undefined, problem: `unknown service name "${item}" in port = ${text}` };
    }
    ports.push(known);
  }
  if (ports.length === 0) return { ports: undefined };
  return { ports: [...new Set(ports)] };
}

// ---------------------------------------------------------------------------------------------
// TOML text

// deno-lint-ignore no-control-regex
const TOML_LITERAL_FORBIDDEN = /[\x00-\x08\x0a-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const TOML_BASIC_ESCAPE = /[\\"\x00-\x1f\x7f]/g;

/** Quotes a string for TOML: a literal '...' string where possible, else a basic "..." one. */
export function tomlString(s: string): string {
  if (!TOML_LITERAL_FORBIDDEN.test(s)) {
    if (!s.includes("'")) return `'${s}'`;
    if (!s.includes("'''") && !s.endsWith("'") && !s.startsWith("'")) return `'''${s}'''`;
  }
  const escaped = s.replace(TOML_BASIC_ESCAPE, (c) => {
    if (c === "\\") return "\\\\";
    if (c === '"') return '\\"';
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  return `"${escaped}"`;
}

function tomlKey(s: string): string {
  return /^[A-Za-z0-9_-]+$/.test(s) ? s : tomlString(s);
}

function tomlArray(items: readonly string[]): string {
  if (items.length === 0) return "[]";
  if (items.length === 1 && (items[0] ?? "").length < 60) return `[${tomlString(items[0] ?? "")}]`;
  return `[\n${items.map((i) => `  ${tomlString(i)},`).join("\n")}\n]`;
}

function comment(text: string): string {
  return text.split("\n").map((l) => `# ${l}`.trimEnd()).join("\n");
}

// ---------------------------------------------------------------------------------------------
// Built-in filters

/** Options for deciding whether a converted filter may point to a built-in one. */
export interface BuiltinCheck {
  /** Sample log lines for a fail2ban filter name (e.g. from fail2ban's test logs). */
  samples?: (filter: string) => readonly string[] | undefined;
  /** The clock used for year-less dates while comparing (default {@link FAIL2BAN_TEST_NOW}). */
  now?: number;
}

/** Judges lines in order (sessions correlated) and names each verdict. */
function verdictKeys(spec: ReturnType<typeof compileFilter>, now: number) {
  const judge = createLineJudge(spec);
  return (line: string): string => {
    const v = judge(line, now);
    return v.kind === "matched" ? `m:${v.host}` : v.kind;
  };
}

/**
 * The built-in filter that matches exactly the same lines with the same host as `spec` on the
 * given samples plus the built-in's own example (at least one matched line), if any.
 */
export function equivalentBuiltin(
  spec: FilterSpec,
  samples: readonly string[],
  now: number = FAIL2BAN_TEST_NOW,
): FilterSpec | undefined {
  let mine: ReturnType<typeof compileFilter>;
  try {
    mine = compileFilter(spec);
  } catch {
    return undefined;
  }
  for (const builtin of BUILTIN_FILTERS) {
    const lines = [...samples, ...(builtin.example ?? "").split("\n")].filter((l) =>
      l.trim() !== "" && !l.startsWith("#")
    );
    let theirs: ReturnType<typeof compileFilter>;
    try {
      theirs = compileFilter(builtin);
    } catch {
      continue;
    }
    let matched = 0;
    let same = lines.length > 0;
    const mineKey = verdictKeys(mine, now);
    const theirKey = verdictKeys(theirs, now);
    for (const line of lines) {
      const a = mineKey(line);
      if (a !== theirKey(line)) {
        same = false;
        break;
      }
      if (a.startsWith("m:")) matched++;
    }
    if (same && matched > 0) return builtin;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Jails

/** Options for {@link importFail2ban}. */
export interface ImportOptions extends BuiltinCheck {
  /** A header comment line naming the source (default: "imported from <basedir>"). */
  source?: string;
}

/** The result of a conversion. */
export interface ImportResult {
  /** The jails.toml (or filter file) text. */
  readonly toml: string;
  /** Everything not converted, in file order of discovery. */
  readonly problems: readonly ImportProblem[];
  /** Names of the jails written. */
  readonly jails: readonly string[];
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
          ...lines(raw["failregex"]),
        ],
      };
      const ign = [
        ...(raw["ignoreregex"] === undefined ? filter.spec.ignoreregex ?? [] : []),
        ...lines(raw["ignoreregex"]),
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
      out.push(`failregex = ${tomlArray(spec.failregex)}`);
      if (spec.ignoreregex && spec.ignoreregex.length > 0) {
        out.push(`ignoreregex = ${tomlArray(spec.ignoreregex)}`);
      }
      if (spec.prefregex) out.push(`prefregex = ${tomlString(spec.prefregex)}`);
      if (spec.datepattern) out.push(`datepattern = ${tomlString(spec.datepattern)}`);
      if (spec.usedns !== undefined) out.push(`usedns = ${spec.usedns}`);
    }
  } else if (filter && filter.spec.failregex.length > 0) {
    out.push(comment(`fail2ban filter ${filter.name} not converted (see the report):`));
    out.push(comment(`failregex = ${filter.spec.failregex.join("\n            ")}`));
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

/**
 * Converts one fail2ban filter with options (`postfix[mode=auth]`) into a banwatch filter
 * file (TOML: description, failregex, ignoreregex, prefregex, datepattern).
 */
export function importFail2banFilter(
  basedir: string,
  ref: string,
  io: IniIo,
): ImportResult {
  let parsed: NameWithOptions;
  try {
    parsed = parseFilterRef(ref);
  } catch (e) {
    return {
      toml: "",
      problems: [{ file: "<argument>", line: 0, key: "filter", message: String(e) }],
      jails: [],
    };
  }
  const f = readFail2banFilter(basedir, parsed, io, { backend: "auto" });
  const problems = [...f.problems];
  if (f.files.length === 0) return { toml: "", problems, jails: [] };
  for (const e of validateFilter(f.spec)) {
    problems.push({
      file: f.files[0] ?? "",
      line: 0,
      key: `filter.${f.name}.${e.key}`,
      message: `not supported by banwatch: ${e.message.split("\n")[0]}`,
    });
  }
  const spec = f.spec;
  const out = [
    `# banwatch filter converted from fail2ban by banwatch import-fail2ban`,
    `# source: ${f.files.join(", ")}`,
    `description = ${tomlString(`fail2ban filter ${ref.trim()}`)}`,
    `failregex = ${tomlArray(spec.failregex)}`,
  ];
  if (spec.ignoreregex && spec.ignoreregex.length > 0) {
    out.push(`ignoreregex = ${tomlArray(spec.ignoreregex)}`);
  }
  if (spec.prefregex) out.push(`prefregex = ${tomlString(spec.prefregex)}`);
  if (spec.datepattern) out.push(`datepattern = ${tomlString(spec.datepattern)}`);
  if (spec.usedns !== undefined) out.push(`usedns = ${spec.usedns}`);
  return { toml: out.join("\n") + "\n", problems, jails: [] };
}

// ---------------------------------------------------------------------------------------------
// Agreement with fail2ban's annotated sample logs (tests/files/logs/NAME, `# failJSON:` lines)

/** One annotated sample line. */
export interface SampleLine {
  /** The sample file's name. */
  readonly file: string;
  /** Its 1-based line number. */
  readonly lineNo: number;
  /** The log line (with a journal prefix when the options ask for one). */
  readonly line: string;
  /** Whether fail2ban finds a failure on it. */
  readonly match: boolean;
  /** The host fail2ban reports, when the annotation names one. */
  readonly host?: string;
}

/** The sample lines checked under one filter-options combination. */
export interface SampleGroup {
  /** The options (`{ mode: "aggressive" }`; `test.*` keys kept). */
  readonly options: Readonly<Record<string, string>>;
  /** The lines, in file order. */
  readonly lines: SampleLine[];
}

/** Evaluates the simple Python expressions fail2ban's samples use as constraints. */
function evalConstraint(
  expr: string,
  name: string,
  opts: Readonly<Record<string, string>>,
): boolean | undefined {
  const m = /^\s*(name|opts\.get\(\s*'([^']*)'\s*\))\s*(==|!=)\s*'([^']*)'\s*$/.exec(expr);
  if (!m) return undefined;
  const left = m[1] === "name" ? name : opts[m[2] ?? ""];
  return m[3] === "==" ? left === m[4] : left !== m[4];
}

const ANNOTATION_RE = /^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$/;

/**
 * Reads fail2ban's annotated sample log for a filter (following `# addFILE:`), as fail2ban's
 * samplestestcase does: `# failJSON:` describes the next line, `# filterOptions:` starts a
 * block checked under each listed option set, `# fileOptions:` is merged into them, lines with
 * a constraint that cannot be evaluated are skipped.
 */
export function parseFail2banSamples(
  name: string,
  readSample: (file: string) => string | undefined,
): SampleGroup[] {
  const groups = new Map<string, SampleGroup>();
  const files = [name];
  let common: Record<string, string> = {};
  let current: Record<string, string>[] | undefined;
  let ignoreBlock = false;
  for (let f = 0; f < files.length; f++) {
    const file = files[f] ?? "";
    const text = readSample(file);
    if (text === undefined) continue;
    const all = text.split("\n");
    if (all[all.length - 1] === "") all.pop();
    for (let i = 0; i < all.length; i++) {
      let line = (all[i] ?? "").replace(/\r$/, "");
      let lineNo = i + 1;
      let data: Record<string, unknown> = {};
      const ann = ANNOTATION_RE.exec(line);
      if (ann) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(ann[2] ?? "");
        } catch {
          continue;
        }
        if (ann[1] === "fileOptions") {
          common = stringRecord(parsed);
          continue;
        }
        if (ann[1] === "filterOptions") {
          current = [];
          ignoreBlock = false;
          for (const one of Array.isArray(parsed) ? parsed : [parsed]) {
            const opts = { ...common, ...stringRecord(one) };
            const cond = opts["test.condition"];
            if (cond) {
              const ok = evalConstraint(cond.replace(/==/, " == "), name, opts);
              ignoreBlock = ok !== true;
            }
            if (!ignoreBlock) current.push(opts);
          }
          continue;
        }
        if (ann[1] === "addFILE") {
          if (typeof parsed === "string") files.push(parsed);
          continue;
        }
        data = typeof parsed === "object" && parsed !== null
          ? parsed as Record<string, unknown>
          : {};
        i++;
        lineNo = i + 1;
        line = (all[i] ?? "").replace(/\r$/, "");
      } else if (ignoreBlock || line.startsWith("#") || line.trim() === "") {
        continue;
      }
      if (ignoreBlock) continue;
      current ??= [{}];
      for (const opts of current) {
        const constraint = data["constraint"];
        if (typeof constraint === "string" && constraint !== "") {
          if (evalConstraint(constraint, name, opts) !== true) continue;
        }
        const key = JSON.stringify(opts);
        let group = groups.get(key);
        if (!group) {
          group = { options: opts, lines: [] };
          groups.set(key, group);
        }
        const prefix = opts["logtype"] === "journal" ? opts["test.prefix-line"] ?? "" : "";
        const sample: SampleLine = {
          file,
          lineNo,
          line: prefix + line,
          match: data["match"] === true,
          ...(typeof data["host"] === "string" ? { host: data["host"] } : {}),
        };
        group.lines.push(sample);
      }
    }
  }
  return [...groups.values()];
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== "object" || v === null) return out;
  for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

/** A sample line banwatch's converted filter judged differently from fail2ban. */
export interface Disagreement {
  /** The sample line. */
  readonly sample: SampleLine;
  /** What banwatch found: a host, or the kind of miss. */
  readonly got: string;
}

/** Why a disagreeing sample line is not counted: a documented, deliberate difference. */
export type SkipReason =
  | "multi-line"
  | "leading-zero-ipv4"
  | "date-not-at-line-start";

/** A sample line left out of the comparison, with the reason. */
export interface Skipped {
  /** The sample line. */
  readonly sample: SampleLine;
  /** What banwatch found. */
  readonly got: string;
  /** Why it is not counted. */
  readonly reason: SkipReason;
}

/** The agreement of one converted filter (under one option set) with fail2ban's samples. */
export interface Agreement {
  /** The filter name. */
  readonly filter: string;
  /** The option set (`test.*` keys removed). */
  readonly options: Readonly<Record<string, string>>;
  /** Lines checked. */
  readonly lines: number;
  /** Lines judged as fail2ban does (same match, same host). */
  readonly agree: number;
  /** The others, except the skipped ones. */
  readonly disagreements: readonly Disagreement[];
  /**
   * Disagreeing lines explained by a deliberate difference, not counted in `agree` nor in
   * `disagreements`: "multi-line" (fail2ban matches a buffer of lines: maxlines > 1 or
   * <SKIPLINES>; banwatch matches one line at a time, correlating only <F-MLFID> sessions,
   * lib/sessions.ts), "leading-zero-ipv4" (`192.030.0.6` is ambiguous, banwatch
   * rejects it), "date-not-at-line-start" (no datepattern: fail2ban searches the whole line
   * for a date, banwatch's auto-detection only accepts one at the line start).
   */
  readonly skipped: readonly Skipped[];
  /** Why the filter could not be used at all (conversion or compile problem). */
  readonly error?: string;
}

/** The same address (`2001:DB8::1` = `2001:db8::1`), or the same text. */
function sameHost(want: string, got: string): boolean {
  if (want === got) return true;
  const a = parseIp(want);
  return a !== undefined && a.text === parseIp(got)?.text;
}

/** How a fail2ban filter correlates lines, if it does. */
function multiLineKind(
  values: Readonly<Record<string, string>>,
  spec: FilterSpec,
): "skiplines" | "maxlines" | undefined {
  const all = [...spec.failregex, ...(spec.ignoreregex ?? []), spec.prefregex ?? ""];
  if (all.some((r) => r.includes("<SKIPLINES>"))) return "skiplines";
  const maxlines = Number(values["maxlines"] ?? "1");
  if (maxlines > 1) return "maxlines";
  return undefined;
}

/**
 * Converts a stock filter under each option set its sample log uses and compares banwatch's
 * verdict on every annotated line with fail2ban's (match or not, and the host).
 */
export function checkSampleAgreement(
  basedir: string,
  name: string,
  io: IniIo,
  readSample: (file: string) => string | undefined,
  now: number = FAIL2BAN_TEST_NOW,
): Agreement[] {
  const out: Agreement[] = [];
  for (const group of parseFail2banSamples(name, readSample)) {
    const options = Object.fromEntries(
      Object.entries(group.options).filter(([k]) => !k.startsWith("test.")),
    );
    const f = readFail2banFilter(basedir, { name, options }, io);
    const spec: FilterSpec = { ...f.spec, usedns: true };
    // the journal backend gives the time; fail2ban does not look for a date in the line
    if (options["logtype"] === "journal") spec.datepattern = "{NONE}";
    let compiled: ReturnType<typeof compileFilter> | undefined;
    let error: string | undefined;
    if (f.files.length === 0) error = `filter ${name} not found`;
    else {
      try {
        compiled = compileFilter(spec);
      } catch (e) {
        error = e instanceof Error ? e.message.split("\n")[0] : String(e);
      }
    }
    const disagreements: Disagreement[] = [];
    const skipped: Skipped[] = [];
    const multi = multiLineKind(f.values, spec);
    const skipLines = error !== undefined && multi === "skiplines";
    let auto: ReturnType<typeof createDateDetector> | undefined;
    let agree = 0;
    // fail2ban's test feeds the sample lines in order to one filter: sessions span lines.
    const judge = compiled && createLineJudge(compiled);
    for (const sample of group.lines) {
      let got = "error";
      let ok = false;
      let reason: SkipReason | undefined;
      if (judge) {
        try {
          const v = judge(sample.line, now);
          if (v.kind === "matched") {
            got = v.host;
            ok = sample.match &&
              (sample.host === undefined || sameHost(sample.host, v.host));
          } else {
            got = v.kind === "missed" ? `missed (${v.reason})` : "ignored";
            ok = !sample.match;
            if (!ok && v.kind === "missed") {
              if (v.reason === "not-an-address" && /(?:^|\.)0\d/.test(sample.host ?? "")) {
                reason = "leading-zero-ipv4";
              } else if (v.reason === "no-date" && spec.datepattern === undefined) {
                // fail2ban would search the whole line: is there a date further on?
                auto ??= createDateDetector("{DATE}");
                if (auto.find(sample.line, now)) reason = "date-not-at-line-start";
              } else if (multi === "maxlines") {
                reason = "multi-line";
              }
            }
          }
        } catch (e) {
          got = `error: ${e instanceof Error ? e.message : String(e)}`;
        }
      } else if (skipLines) {
        reason = "multi-line";
      }
      if (ok) agree++;
      else if (reason) skipped.push({ sample, got, reason });
      else disagreements.push({ sample, got });
    }
    out.push({
      filter: name,
      options,
      lines: group.lines.length,
      agree,
      disagreements,
      skipped,
      ...(error === undefined ? {} : { error }),
    });
  }
  return out;
}
