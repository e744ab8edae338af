/**
 * jails.toml text -> a validated {@link Config} (pure; no file system, no clock).
 *
 * Every problem of a file is collected and thrown together as one ConfigError whose problems
 * are one line each: `<file>:<line>:<col>: <key.path>: <what is wrong>; expected <what>`.
 * smol-toml gives no key positions, so positions.ts maps key paths to line:column; a key it
 * cannot place falls back to its table's header line.
 * @module
 */
import { ConfigError, JAIL_NAME } from "../core/mod.ts";
import { type Config, EXPECT, type JailConfig } from "./schema.ts";
import { indexPositions } from "./positions.ts";
import { Reporter, show, type Table } from "./problems.ts";
import { parseToml, readTable } from "./values.ts";
import { readGlobal } from "./global.ts";
import { readSection } from "./sections.ts";
import { buildJail, type FilterContext } from "./jails.ts";
import { checkCrowdsecTable, readCrowdsec, type SecretCheck } from "./crowdsec.ts";
import { JAIL_DEFAULTS } from "./schema.ts";

/** Options of parseConfig(). */
export interface ParseConfigOptions {
  /** The config file's path, used in messages and as the base of relative paths. */
  file: string;
  /**
   * Reads a filter file named by `filter = "path"`. It receives the path already joined to the
   * config file's directory (absolute paths unchanged). Return undefined, or throw an Error
   * with a short one-line message, when the file cannot be read.
   */
  readFile?: (path: string) => string | undefined;
  /** Checks a `[crowdsec]` secret file's permissions (load.ts); absent: not checked. */
  checkSecret?: SecretCheck;
}

/**
 * Parses and validates a jails.toml text; throws ConfigError listing every problem.
 * @param text the file's content
 * @param options the file name for messages and relative paths, and a reader for filter files
 */
export function parseConfig(text: string, options: ParseConfigOptions): Config {
  const file = options.file;
  const syntax: string[] = [];
  const doc = parseToml(text, file, syntax);
  if (!doc) throw new ConfigError(syntax);
  const rep = new Reporter(file, indexPositions(text));

  let globalRaw: Table | undefined;
  let defaultsRaw: Table = {};
  let jailsRaw: Table = {};
  let crowdsecRaw: Table | undefined;
  for (const [key, v] of Object.entries(doc)) {
    if (key === "global") globalRaw = readTable(rep, [key], v, "a [global] section");
    else if (key === "defaults") {
      defaultsRaw = readTable(rep, [key], v, "a [defaults] section") ?? {};
    } else if (key === "jail") jailsRaw = readTable(rep, [key], v, EXPECT.jailTable) ?? {};
    else if (key === "crowdsec") crowdsecRaw = readTable(rep, [key], v, "a [crowdsec] section");
    else {
      rep.add(
        [key],
        "unknown section or key",
        "[global], [defaults], [jail.NAME] or [crowdsec]",
        "key",
      );
    }
  }

  const global = readGlobal(rep, globalRaw);
  const defs = readSection(rep, ["defaults"], defaultsRaw);
  const ctx: FilterContext = { rep, file, readFile: options.readFile, cache: new Map() };
  const jails: JailConfig[] = [];
  for (const [name, v] of Object.entries(jailsRaw)) {
    const path = ["jail", name];
    const raw = readTable(rep, path, v, EXPECT.jailTable);
    if (!raw) continue;
    if (!JAIL_NAME.test(name)) {
      rep.add(
        path,
        `${show(name)} is not a valid jail name`,
        "1..63 characters from A-Z a-z 0-9 - _",
        "key",
      );
      continue;
    }
    const jail = buildJail(name, readSection(rep, path, raw), defs, global, ctx);
    if (jail) jails.push(jail);
  }

  const crowdsec = crowdsecRaw && readCrowdsec(rep, crowdsecRaw, {
    file,
    defaultBackend: defs.backend?.value ?? JAIL_DEFAULTS.backend,
    checkSecret: options.checkSecret,
  });
  if (crowdsec) checkCrowdsecTable(rep, crowdsec, jails.filter((j) => j.enabled));

  const problems = rep.lines();
  if (problems.length > 0) throw new ConfigError(problems);
  return crowdsec ? { file, global, jails, crowdsec } : { file, global, jails };
}
