/**
 * Reading jails.toml and its filter files from disk: the imperative shell around parseConfig().
 * @module
 */
import type { Config } from "./schema.ts";
import { parseConfig } from "./parse_config.ts";
import { ConfigError } from "../core/mod.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A short, stack-free reason why a file could not be read. */
function reasonOf(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  if (e instanceof TypeError && /encoded data was not valid/i.test(e.message)) {
    return "not valid UTF-8";
  }
  const message = e instanceof Error ? e.message : String(e);
  // Deno appends ": readfile '/path'" and "(os error N)"; keep the first clause only.
  return message.split(/\r?\n/)[0]?.replace(/\s*\(os error \d+\).*$/, "").slice(0, 120) ||
    "unreadable";
}

/** Reads a whole file as strict UTF-8, throwing Error(reason) with a short reason. */
function readUtf8(path: string): string {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    throw new Error(reasonOf(e));
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new Error("not valid UTF-8");
  }
}

/**
 * Why a secret file (a `[crowdsec]` password or key) is not acceptable, like ssh refuses a
 * private key others can read; undefined when it is fine. Its content is not read here.
 */
export function checkSecretFile(path: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (e) {
    return `cannot be read: ${reasonOf(e)}`;
  }
  if (!info.isFile) return "is not a regular file";
  const mode = (info.mode ?? 0) & 0o777;
  if (mode & 0o077) {
    return `is accessible by group or others (mode ${mode.toString(8).padStart(4, "0")})`;
  }
  if (info.size === 0) return "is empty";
  return undefined;
}

/**
 * Reads and validates a jails.toml; filter files named with relative paths are read relative
 * to its directory. Throws ConfigError (`<path>: cannot read: <reason>` or the problems).
 * @param path the configuration file
 */
export async function loadConfig(path: string): Promise<Config> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new ConfigError([`${path}: cannot read: ${reasonOf(e)}`]);
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new ConfigError([`${path}: cannot read: not valid UTF-8`]);
  }
  return parseConfig(text, { file: path, readFile: readUtf8, checkSecret: checkSecretFile });
}
