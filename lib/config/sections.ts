/**
 * One `[defaults]` or `[jail.NAME]` section read on its own: every key validated and kept with
 * its key path, so that jails.ts can merge a jail over `[defaults]` and still point messages at
 * the line a value came from.
 * @module
 */
import { type Cidr, TABLE_NAME } from "../core/mod.ts";
import {
  type BackendKind,
  BACKENDS,
  EXPECT,
  INCREMENT_KEYS,
  JAIL_KEYS,
  PROTOCOLS,
} from "./schema.ts";
import { fail2banBool } from "./fail2ban_hints.ts";
import type { Path } from "./positions.ts";
import { isTable, type Reporter, show, type Table, unknownKey } from "./problems.ts";
import {
  readBool,
  readCidrList,
  readDuration,
  readHookArgv,
  readInt,
  readOneOf,
  readString,
  readStringList,
  readTable,
  readTimezone,
  type StringList,
  type Val,
  val,
} from "./values.ts";

/** The `bantime_increment` keys a section set validly, each with where it was written. */
export interface IncrementSettings {
  enabled?: Val<boolean>;
  factor?: Val<number>;
  multipliers?: Val<number[]>;
  maxtime?: Val<number>;
  overalljails?: Val<boolean>;
  rndtime?: Val<number>;
}

/**
 * The keys a `[defaults]` or `[jail.NAME]` section set validly, each with where it was written;
 * an absent or invalid key is undefined, so the jail falls back to `[defaults]`, then the default.
 */
export interface SectionSettings {
  /** The section's own path: `["defaults"]` or `["jail", NAME]`. */
  path: Path;
  enabled?: Val<boolean>;
  logpath?: Val<string[]>;
  filter?: Val<string>;
  failregex?: Val<StringList>;
  ignoreregex?: Val<StringList>;
  prefregex?: Val<string>;
  datepattern?: Val<string>;
  usedns?: Val<boolean>;
  timezone?: Val<string>;
  maxretry?: Val<number>;
  findtime?: Val<number>;
  bantime?: Val<number>;
  increment: IncrementSettings;
  ignoreip?: Val<Cidr[]>;
  backend?: Val<BackendKind>;
  table?: Val<string>;
  ipv6Prefix?: Val<number>;
  ipv6PrefixMaxRetry?: Val<number>;
  ipv4Prefix?: Val<number>;
  ipv4PrefixMaxRetry?: Val<number>;
  port?: Val<number[]>;
  protocol?: Val<"tcp" | "udp" | "all">;
  rule?: Val<number>;
  manageRule?: Val<boolean>;
  onBan?: Val<string[]>;
  onUnban?: Val<string[]>;
  /** A key of the filter group was present but invalid: do not fall back to [defaults]. */
  filterKeyBroken: boolean;
}

/** Reads a `bantime_increment` table, reporting bad keys and values. */
export function readIncrement(rep: Reporter, path: Path, v: unknown): IncrementSettings {
  const out: IncrementSettings = {};
  const raw = readTable(rep, path, v, "a table with enabled, factor, multipliers, maxtime, ...");
  if (!raw) return out;
  for (const [key, item] of Object.entries(raw)) {
    const p = [...path, key];
    switch (key) {
      case "enabled": {
        const got = val(readBool(rep, p, item), p);
        if (got) out.enabled = got;
        break;
      }
      case "overalljails": {
        const got = val(readBool(rep, p, item), p);
        if (got) out.overalljails = got;
        break;
      }
      case "factor": {
        if (typeof item !== "number" || !Number.isFinite(item) || item <= 0 || item > 1e6) {
          rep.add(p, `${show(item)} is not allowed`, "a number above 0 and at most 1000000");
        } else out.factor = { value: item, path: p };
        break;
      }
      case "multipliers": {
        if (!Array.isArray(item) || item.length === 0) {
          rep.add(
            p,
            `${show(item)} is not a non-empty list`,
            "a list of integers, e.g. [1, 2, 4, 8]",
          );
          break;
        }
        const got: number[] = [];
        item.forEach((m, n) => {
          const one = readInt(rep, [...p, n], m, 1, 1_000_000);
          if (one !== undefined) got.push(one);
        });
        if (got.length === item.length) out.multipliers = { value: got, path: p };
        break;
      }
      case "formula":
        rep.add(p, "not supported", "factor or multipliers instead (no expression language)");
        break;
      case "maxtime": {
        const got = val(readDuration(rep, p, item, { min: 1, forever: true }), p);
        if (got) out.maxtime = got;
        break;
      }
      case "rndtime": {
        const got = val(readDuration(rep, p, item, { min: 0, forever: false }), p);
        if (got) out.rndtime = got;
        break;
      }
      default:
        unknownKey(rep, p, INCREMENT_KEYS);
    }
  }
  return out;
}

/** Reads one `[defaults]` or `[jail.NAME]` section key by key, reporting bad keys and values. */
export function readSection(rep: Reporter, path: Path, raw: Table): SectionSettings {
  const s: SectionSettings = { path, increment: {}, filterKeyBroken: false };
  const set = <K extends keyof SectionSettings>(k: K, v: SectionSettings[K] | undefined): void => {
    if (v !== undefined) s[k] = v;
  };
  for (const [key, v] of Object.entries(raw)) {
    const p = [...path, key];
    switch (key) {
      case "enabled":
        set("enabled", val(readBool(rep, p, v), p));
        break;
      case "logpath":
        set("logpath", val(readStringList(rep, p, v, EXPECT.logpath)?.values, p));
        break;
      case "filter": {
        const got = val(readString(rep, p, v, "a built-in filter name or a filter file path"), p);
        if (!got) s.filterKeyBroken = true;
        set("filter", got);
        break;
      }
      case "failregex": {
        const got = val(readStringList(rep, p, v, EXPECT.regexList), p);
        if (!got) s.filterKeyBroken = true;
        set("failregex", got);
        break;
      }
      case "ignoreregex":
        set("ignoreregex", val(readStringList(rep, p, v, EXPECT.regexList), p));
        break;
      case "prefregex":
        set("prefregex", val(readString(rep, p, v, EXPECT.regex), p));
        break;
      case "datepattern":
        set(
          "datepattern",
          val(readString(rep, p, v, 'a date pattern such as "{^LN-BEG}%b %d %H:%M:%S"'), p),
        );
        break;
      case "usedns":
        set("usedns", val(readBool(rep, p, v), p));
        break;
      case "timezone":
        set("timezone", val(readTimezone(rep, p, v), p));
        break;
      case "maxretry":
        set("maxretry", val(readInt(rep, p, v, 1, 1_000_000), p));
        break;
      case "findtime":
        set("findtime", val(readDuration(rep, p, v, { min: 1, forever: false }), p));
        break;
      case "bantime":
        if (isTable(v)) {
          // `bantime.increment = true` (fail2ban spelling) is a dotted key: bantime becomes a table.
          for (const sub of Object.keys(v)) {
            const mapped = sub === "increment" ? "enabled" : sub;
            const value = v[sub];
            const shown = typeof value === "string"
              ? String(fail2banBool(value) ?? show(value))
              : show(value);
            rep.add(
              [...p, sub],
              'unknown key (a dotted key makes "bantime" a table)',
              INCREMENT_KEYS.includes(mapped)
                ? `[${[...p.slice(0, -1), "bantime_increment"].join(".")}] ${mapped} = ${shown}`
                : "bantime_increment.<key>",
              "key",
            );
          }
        } else {
          set("bantime", val(readDuration(rep, p, v, { min: 1, forever: true }), p));
        }
        break;
      case "bantime_increment":
        s.increment = readIncrement(rep, p, v);
        break;
      case "ignoreip":
        set("ignoreip", val(readCidrList(rep, p, v), p));
        break;
      case "backend":
        set("backend", val(readOneOf(rep, p, v, BACKENDS), p));
        break;
      case "table": {
        const got = readString(rep, p, v, EXPECT.table);
        if (got !== undefined && (!TABLE_NAME.test(got) || got === "all")) {
          rep.add(p, `${show(got)} is not a valid table name`, EXPECT.table);
        } else set("table", val(got, p));
        break;
      }
      case "ipv6_prefix":
        set("ipv6Prefix", val(readInt(rep, p, v, 1, 128), p));
        break;
      case "ipv6_prefix_maxretry":
        set("ipv6PrefixMaxRetry", val(readInt(rep, p, v, 1, 1_000_000), p));
        break;
      case "ipv4_prefix":
        set("ipv4Prefix", val(readInt(rep, p, v, 1, 32), p));
        break;
      case "ipv4_prefix_maxretry":
        set("ipv4PrefixMaxRetry", val(readInt(rep, p, v, 1, 1_000_000), p));
        break;
      case "port": {
        const items = Array.isArray(v) ? v : [v];
        const ports: number[] = [];
        items.forEach((item, n) => {
          const at = Array.isArray(v) ? [...p, n] : p;
          if (typeof item === "number" && Number.isInteger(item) && item >= 1 && item <= 65535) {
            ports.push(item);
          } else {
            rep.add(at, `${show(item)} is not a port number`, EXPECT.port);
          }
        });
        if (ports.length === items.length) set("port", val(ports, p));
        break;
      }
      case "protocol":
        set("protocol", val(readOneOf(rep, p, v, PROTOCOLS), p));
        break;
      case "rule":
        set("rule", val(readInt(rep, p, v, 1, 65534), p));
        break;
      case "manage_rule":
        set("manageRule", val(readBool(rep, p, v), p));
        break;
      case "on_ban":
        set("onBan", val(readHookArgv(rep, p, v), p));
        break;
      case "on_unban":
        set("onUnban", val(readHookArgv(rep, p, v), p));
        break;
      default:
        unknownKey(rep, p, JAIL_KEYS);
    }
  }
  return s;
}
