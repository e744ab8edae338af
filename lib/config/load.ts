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
  return parseConfig(text, { file: path, readFile: readUtf8 });
}
