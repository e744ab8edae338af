/**
 * A jail assembled from its own section merged over `[defaults]`: the filter it names (built-in
 * or file) with its inline overrides, and the checks between keys that depend on each other.
 * @module
 */
import { type Cidr, TABLE_NAME } from "../core/mod.ts";
import {
  BUILTIN_FILTERS,
  type FilterSpec,
  findBuiltinFilter,
  validateFilter,
} from "../filter/mod.ts";
import {
  type BantimeIncrement,
  EXPECT,
  type GlobalConfig,
  INCREMENT_DEFAULTS,
  JAIL_DEFAULTS,
  type JailConfig,
  PF_TABLE_MAX,
} from "./schema.ts";
import { pathId } from "./positions.ts";
import { oneLine, type Reporter, show } from "./problems.ts";
import { elementPath, resolvePath, type Val } from "./values.ts";
import type { IncrementSettings, SectionSettings } from "./sections.ts";
import { readFilterFile, reportFilterError } from "./filter_file.ts";

/** A filter named by `filter = ...`, before the jail's inline overrides. */
export interface BaseFilter {
  /** The filter as named (a copy is made before overrides are applied). */
  spec: FilterSpec;
  /** "builtin:NAME" or the filter file's path: {@link JailConfig.filterSource}. */
  source: string;
  /** Problems of the filter itself were already reported (file) or cannot occur (built-in). */
  fromFile: boolean;
}

/** What resolving the filters of one jails.toml needs, shared by its jails. */
export interface FilterContext {
  /** The config file's problems. */
  rep: Reporter;
  /** The config file's path: the base of relative filter and log paths. */
  file: string;
  /** Reads a filter file (ParseConfigOptions.readFile); undefined: none can be read. */
  readFile: ((path: string) => string | undefined) | undefined;
  /** Resolved `filter` values per key path, so a [defaults] filter is read once. */
  cache: Map<string, BaseFilter | null>;
}

function resolveNamedFilter(ctx: FilterContext, filter: Val<string>): BaseFilter | undefined {
  const id = pathId(filter.path);
  const cached = ctx.cache.get(id);
  if (cached !== undefined) return cached ?? undefined;
  const got = resolveNamedFilterUncached(ctx, filter);
  ctx.cache.set(id, got ?? null);
  return got;
}

function isFilterPath(name: string): boolean {
  return name.includes("/") || name.endsWith(".toml");
}

function resolveNamedFilterUncached(
  ctx: FilterContext,
  filter: Val<string>,
): BaseFilter | undefined {
  const name = filter.value;
  if (!isFilterPath(name)) {
    const builtin = findBuiltinFilter(name);
    if (builtin) return { spec: builtin, source: `builtin:${builtin.name}`, fromFile: false };
    ctx.rep.add(
      filter.path,
      `unknown built-in filter ${show(name)}`,
      `one of ${BUILTIN_FILTERS.map((f) => f.name).join(", ")}, ` +
        'or a filter file path (containing "/" or ending in ".toml")',
    );
    return undefined;
  }
  const path = resolvePath(ctx.file, name);
  let text: string | undefined;
  let reason = "no file reader available";
  if (ctx.readFile) {
    try {
      text = ctx.readFile(path);
      reason = "not found";
    } catch (e) {
      reason = e instanceof Error ? oneLine(e.message) : "unreadable";
    }
  }
  if (text === undefined) {
    ctx.rep.add(
      filter.path,
      `cannot read filter file ${show(path)}: ${reason}`,
      "a readable banwatch filter file (TOML)",
    );
    return undefined;
  }
  const parsed = readFilterFile(text, path);
  if (parsed.problems.length > 0) {
    ctx.rep.addLines(filter.path, parsed.problems);
    return undefined;
  }
  return parsed.spec ? { spec: parsed.spec, source: path, fromFile: true } : undefined;
}

/**
 * Merges a jail's section over `[defaults]` (the filter group whole, bantime_increment key by
 * key, ignoreip joined, every other key by key), resolves and validates its filter, and checks
 * keys that depend on each other. Undefined when this jail added a problem.
 */
export function buildJail(
  name: string,
  jail: SectionSettings,
  defs: SectionSettings,
  global: GlobalConfig,
  ctx: FilterContext,
): JailConfig | undefined {
  const rep = ctx.rep;
  const before = rep.entries.length;
  const pick = <K extends keyof SectionSettings>(k: K): SectionSettings[K] => jail[k] ?? defs[k];
  const enabled = pick("enabled")?.value ?? JAIL_DEFAULTS.enabled;

  const logpath = pick("logpath");
  const logPaths = (logpath?.value ?? []).map((p) => resolvePath(ctx.file, p));
  if (enabled && logPaths.length === 0) {
    rep.add(
      logpath?.path ?? [...jail.path, "logpath"],
      logpath ? "is empty for an enabled jail" : "missing for an enabled jail",
      EXPECT.logpath,
      "key",
    );
  }

  // The filter group (filter / failregex) comes as a whole from the jail or from [defaults].
  const own = jail.filter !== undefined || jail.failregex !== undefined || jail.filterKeyBroken;
  const group = own ? jail : defs;
  let filter: FilterSpec = { name, failregex: [] };
  let filterSource = "none";
  let base: BaseFilter | undefined;
  let filterOk = !group.filterKeyBroken;
  if (group.filter && group.failregex) {
    rep.add(
      group.failregex.path,
      "cannot be combined with filter",
      `either filter = "NAME" or an inline failregex`,
      "key",
    );
    filterOk = false;
  } else if (group.filter) {
    base = resolveNamedFilter(ctx, group.filter);
    if (!base) filterOk = false;
  } else if (!group.failregex && !group.filterKeyBroken) {
    const builtin = findBuiltinFilter(name);
    if (builtin) base = { spec: builtin, source: `builtin:${builtin.name}`, fromFile: false };
    else if (enabled) {
      rep.add(
        [...jail.path, "filter"],
        "missing for an enabled jail",
        'filter = "NAME" (a built-in filter or a filter file) or failregex = [...]',
        "key",
      );
      filterOk = false;
    }
  }
  const failregex = group.filter ? undefined : group.failregex;
  const ignoreregex = pick("ignoreregex");
  const prefregex = pick("prefregex");
  const datepattern = pick("datepattern");
  const usedns = pick("usedns");
  const timezone = pick("timezone");
  if (filterOk && (base || failregex)) {
    const spec: FilterSpec = base
      ? { ...base.spec }
      : { name, failregex: failregex?.value.values ?? [] };
    const baseIgnore = base?.spec.ignoreregex ?? [];
    if (ignoreregex) spec.ignoreregex = [...baseIgnore, ...ignoreregex.value.values];
    if (prefregex) spec.prefregex = prefregex.value;
    if (datepattern) spec.datepattern = datepattern.value;
    if (usedns) spec.usedns = usedns.value;
    const tz = timezone?.value ?? spec.timezone ?? global.timezone;
    if (tz !== undefined) spec.timezone = tz;
    for (const e of validateFilter(spec)) {
      const fromBase = base !== undefined;
      if (e.key === "failregex" && failregex) {
        reportFilterError(rep, elementPath(failregex, e.index), e);
      } else if (e.key === "ignoreregex" && ignoreregex && (e.index ?? 0) >= baseIgnore.length) {
        const idx = e.index === undefined ? undefined : e.index - baseIgnore.length;
        reportFilterError(rep, elementPath(ignoreregex, idx), e);
      } else if (e.key === "prefregex" && prefregex) {
        reportFilterError(rep, prefregex.path, e);
      } else if (e.key === "datepattern" && datepattern) {
        reportFilterError(rep, datepattern.path, e);
      } else if (fromBase && base && !base.fromFile && group.filter) {
        reportFilterError(rep, group.filter.path, e);
      } else if (!fromBase || (base && !base.fromFile)) {
        reportFilterError(rep, [...jail.path, e.key], e);
      }
    }
    filter = spec;
    filterSource = base ? base.source : "inline";
  }

  const inc = (k: keyof IncrementSettings): Val<unknown> | undefined =>
    jail.increment[k] ?? defs.increment[k];
  const banTimeIncrement: BantimeIncrement = {
    enabled: (inc("enabled")?.value as boolean | undefined) ?? INCREMENT_DEFAULTS.enabled,
    factor: (inc("factor")?.value as number | undefined) ?? INCREMENT_DEFAULTS.factor,
    multipliers: (inc("multipliers")?.value as number[] | undefined) ??
      INCREMENT_DEFAULTS.multipliers,
    formula: undefined,
    maxtime: (inc("maxtime")?.value as number | undefined) ?? INCREMENT_DEFAULTS.maxtime,
    overalljails: (inc("overalljails")?.value as boolean | undefined) ??
      INCREMENT_DEFAULTS.overalljails,
    rndtime: (inc("rndtime")?.value as number | undefined) ?? INCREMENT_DEFAULTS.rndtime,
  };

  const ignoreIp: Cidr[] = [];
  for (const c of [...(defs.ignoreip?.value ?? []), ...(jail.ignoreip?.value ?? [])]) {
    if (!ignoreIp.some((x) => x.text === c.text)) ignoreIp.push(c);
  }

  const backend = pick("backend")?.value ?? JAIL_DEFAULTS.backend;
  const table = pick("table");
  const tableName = table?.value ?? name;
  if (!table && (tableName === "all" || !TABLE_NAME.test(tableName))) {
    rep.add(
      [...jail.path, "table"],
      `the jail name ${show(name)} is not a valid table name`,
      EXPECT.table,
      "key",
    );
  }
  if (backend === "pf" && tableName.length > PF_TABLE_MAX) {
    rep.add(
      table?.path ?? [...jail.path, "table"],
      `${show(tableName)} is longer than pf's ${PF_TABLE_MAX} characters`,
      `a table name of at most ${PF_TABLE_MAX} characters`,
      table ? "value" : "key",
    );
  }

  const ports = pick("port")?.value ?? [];
  const protocol = pick("protocol")?.value ?? JAIL_DEFAULTS.protocol;
  if (ports.length > 0 && protocol === "all") {
    rep.add(
      pick("protocol")?.path ?? [...jail.path, "protocol"],
      `"all" cannot be combined with port`,
      'protocol = "tcp" or "udp" when ports are given',
    );
  }
  const rule = pick("rule");
  const manage = pick("manageRule");
  if (rule && (backend === "pf" || backend === "nft")) {
    rep.add(
      rule.path,
      `rule numbers exist only for ipfw, not backend "${backend}"`,
      'backend = "ipfw" or no rule',
    );
  }
  if (manage?.value === true && !rule) {
    rep.add(manage.path, "true without a rule number", "rule = N (an ipfw rule number) as well");
  }

  if (rep.entries.length !== before) return undefined;
  return {
    name,
    enabled,
    logPaths,
    filter,
    filterSource,
    maxRetry: pick("maxretry")?.value ?? JAIL_DEFAULTS.maxRetry,
    findTime: pick("findtime")?.value ?? JAIL_DEFAULTS.findTime,
    banTime: pick("bantime")?.value ?? JAIL_DEFAULTS.banTime,
    banTimeIncrement,
    ignoreIp,
    backend,
    table: tableName,
    usedns: filter.usedns ?? JAIL_DEFAULTS.usedns,
    ipv6Prefix: pick("ipv6Prefix")?.value ?? JAIL_DEFAULTS.ipv6Prefix,
    ipv6PrefixMaxRetry: pick("ipv6PrefixMaxRetry")?.value,
    ipv4Prefix: pick("ipv4Prefix")?.value,
    ipv4PrefixMaxRetry: pick("ipv4PrefixMaxRetry")?.value,
    ports,
    protocol,
    ruleNumber: rule?.value,
    manageRule: manage?.value ?? rule !== undefined,
    onBan: pick("onBan")?.value,
    onUnban: pick("onUnban")?.value,
  };
}
