/**
 * The `[crowdsec]` section: sharing bans through a CrowdSec Local API (LAPI). Pure: the secret
 * files are only named here; their permissions are checked through the caller's
 * `checkSecret` (load.ts stats them) and their content is read by the daemon, never kept in
 * the {@link CrowdsecConfig}, so `check`, `status` and the logs cannot show it.
 * @module
 */
import { TABLE_NAME } from "../core/mod.ts";
import type { BackendKind } from "../firewall/mod.ts";
import type { Path } from "./positions.ts";
import { type Reporter, show, type Table, unknownKey } from "./problems.ts";
import { BACKENDS, type CrowdsecConfig, EXPECT } from "./schema.ts";
import { readBool, readDuration, readInt, readOneOf, readString, resolvePath } from "./values.ts";

/** Keys accepted in `[crowdsec]`. */
export const CROWDSEC_KEYS: readonly string[] = [
  "lapi_url",
  "push",
  "machine_id",
  "machine_password_file",
  "pull",
  "bouncer_key_file",
  "table",
  "backend",
  "pull_interval",
  "max_prefix_v4",
  "max_prefix_v6",
  "max_decisions",
  "scenario_prefix",
];

/** Defaults of `[crowdsec]` (backend comes from `[defaults]`; lapi_url has none). */
export const CROWDSEC_DEFAULTS = {
  push: false,
  pull: false,
  table: "crowdsec",
  pullInterval: 10,
  maxPrefixV4: 16,
  maxPrefixV6: 32,
  maxDecisions: 100000,
  scenarioPrefix: "banwatch",
} as const;

const URL_EXPECTED = 'an http or https URL such as "http://127.0.0.1:8080"';
const NAME_EXPECTED = "1..63 characters from A-Z a-z 0-9 - _ .";
const NAME = /^[A-Za-z0-9_.-]{1,63}$/;

/**
 * Tells why a secret file is not acceptable (missing, not a regular file, readable by group or
 * others, empty), or undefined when it is fine.
 */
export type SecretCheck = (path: string) => string | undefined;

/** What readCrowdsec() needs besides the section. */
export interface CrowdsecContext {
  /** The config file's path: relative secret paths are joined to its directory. */
  file: string;
  /** The `[defaults]` backend, or undefined for the built-in default. */
  defaultBackend: BackendKind;
  /** Checks a secret file's permissions (load.ts); absent: not checked (pure parsing). */
  checkSecret: SecretCheck | undefined;
}

/**
 * Reads `[crowdsec]`, reporting unknown keys, bad values, missing credentials for push and
 * pull, and secret files that are missing or readable by group or others. The result is only
 * used when nothing was reported.
 */
export function readCrowdsec(
  rep: Reporter,
  raw: Table,
  ctx: CrowdsecContext,
): CrowdsecConfig {
  const c: CrowdsecConfig = {
    ...CROWDSEC_DEFAULTS,
    lapiUrl: "",
    machineId: undefined,
    machinePasswordFile: undefined,
    bouncerKeyFile: undefined,
    backend: ctx.defaultBackend,
  };
  let urlSeen = false;
  const secretPaths = new Map<string, Path>();
  for (const [key, v] of Object.entries(raw)) {
    const path = ["crowdsec", key];
    switch (key) {
      case "lapi_url": {
        urlSeen = true;
        const got = readString(rep, path, v, URL_EXPECTED);
        if (got === undefined) break;
        const url = parseHttpUrl(got);
        if (url) c.lapiUrl = url;
        else rep.add(path, `${show(got)} is not an http or https URL`, URL_EXPECTED);
        break;
      }
      case "push":
        c.push = readBool(rep, path, v) ?? c.push;
        break;
      case "pull":
        c.pull = readBool(rep, path, v) ?? c.pull;
        break;
      case "machine_id": {
        const got = readString(rep, path, v, NAME_EXPECTED);
        if (got !== undefined && !NAME.test(got)) {
          rep.add(path, `${show(got)} is not a valid machine name`, NAME_EXPECTED);
        } else c.machineId = got;
        break;
      }
      case "machine_password_file":
      case "bouncer_key_file": {
        const got = readString(rep, path, v, EXPECT.path);
        if (got === undefined) break;
        const resolved = resolvePath(ctx.file, got);
        secretPaths.set(resolved, path);
        if (key === "machine_password_file") c.machinePasswordFile = resolved;
        else c.bouncerKeyFile = resolved;
        break;
      }
      case "table": {
        const got = readString(rep, path, v, EXPECT.table);
        if (got !== undefined && (!TABLE_NAME.test(got) || got === "all")) {
          rep.add(path, `${show(got)} is not a valid table name`, EXPECT.table);
        } else if (got !== undefined) c.table = got;
        break;
      }
      case "backend":
        c.backend = readOneOf(rep, path, v, BACKENDS) ?? c.backend;
        break;
      case "pull_interval":
        c.pullInterval = readDuration(rep, path, v, { min: 1, forever: false }) ??
          c.pullInterval;
        break;
      case "max_prefix_v4":
        c.maxPrefixV4 = readInt(rep, path, v, 1, 32) ?? c.maxPrefixV4;
        break;
      case "max_prefix_v6":
        c.maxPrefixV6 = readInt(rep, path, v, 1, 128) ?? c.maxPrefixV6;
        break;
      case "max_decisions":
        c.maxDecisions = readInt(rep, path, v, 1, 10_000_000) ?? c.maxDecisions;
        break;
      case "scenario_prefix": {
        const got = readString(rep, path, v, NAME_EXPECTED);
        if (got !== undefined && !NAME.test(got)) {
          rep.add(path, `${show(got)} is not a valid scenario prefix`, NAME_EXPECTED);
        } else if (got !== undefined) c.scenarioPrefix = got;
        break;
      }
      default:
        unknownKey(rep, path, CROWDSEC_KEYS);
    }
  }
  const section = ["crowdsec"];
  if (!urlSeen) rep.add([...section, "lapi_url"], "missing", URL_EXPECTED, "key");
  if (c.push && (c.machineId === undefined || c.machinePasswordFile === undefined)) {
    rep.add(
      [...section, "push"],
      "push needs machine_id and machine_password_file",
      "both keys, or push = false",
    );
  }
  if (c.pull && c.bouncerKeyFile === undefined) {
    rep.add([...section, "pull"], "pull needs bouncer_key_file", "the key, or pull = false");
  }
  if (ctx.checkSecret) {
    for (const [file, path] of secretPaths) {
      const problem = ctx.checkSecret(file);
      if (problem) {
        rep.add(path, `${show(file)} ${problem}`, "a file only its owner can read (chmod 600)");
      }
    }
  }
  return c;
}

/** Reports a jail whose table is the `[crowdsec]` table (remote decisions never share one). */
export function checkCrowdsecTable(
  rep: Reporter,
  crowdsec: CrowdsecConfig,
  jails: ReadonlyArray<{ name: string; table: string; backend: BackendKind }>,
): void {
  for (const jail of jails) {
    if (jail.table === crowdsec.table && jail.backend === crowdsec.backend) {
      rep.add(
        ["crowdsec", "table"],
        `${show(crowdsec.table)} is also jail ${jail.name}'s table`,
        "a table no jail uses",
      );
    }
  }
}

function parseHttpUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  return url.href.replace(/\/+$/, "");
}
