/**
 * What a fail2ban user types in jails.toml, and the banwatch spelling to write instead: a hint
 * naming the banwatch key and value (`enable = yes` -> `enabled = true`). Pure.
 * @module
 */
import { parseDuration } from "../core/mod.ts";

/** fail2ban's boolean words (configparser's), and the TOML boolean each means. */
const BOOL_WORDS: Readonly<Record<string, boolean>> = {
  true: true,
  yes: true,
  on: true,
  "1": true,
  false: false,
  no: false,
  off: false,
  "0": false,
};

/** The TOML boolean a fail2ban boolean word means (`"yes"` -> true); undefined otherwise. */
export function fail2banBool(text: string): boolean | undefined {
  return BOOL_WORDS[text.trim().toLowerCase()];
}

/** The banwatch key for a fail2ban one (`enable` -> `enabled`). */
function banwatchKey(key: string): string {
  return key === "enable" ? "enabled" : key;
}

/**
 * For a TOML syntax error on `line`: the banwatch line to write, when the line is a fail2ban
 * habit (`enable = yes`, `bantime = 1 day`, `bantime.increment = true`); undefined otherwise.
 * @param line the text of the line the TOML parser stopped on
 * @param section the `[table]` the line is in (`jail.sshd`), for `bantime.increment`
 */
export function fail2banLineHint(line: string, section: string | undefined): string | undefined {
  const m = /^\s*([A-Za-z_][\w.-]*)\s*=\s*([^"'\[{#][^#]*?)\s*(?:#.*)?$/.exec(line);
  if (!m) return undefined;
  const key = m[1] as string;
  const value = m[2] as string;
  const bool = fail2banBool(value);
  if (key === "bantime.increment" && bool !== undefined) {
    return `[${section ? `${section}.` : ""}bantime_increment] enabled = ${bool}`;
  }
  // Valid TOML values (`maxretry = 2` redefined) failed for another reason: no hint.
  if (/^(?:\d+|true|false)$/.test(value) && key !== "enable") return undefined;
  if (bool !== undefined) return `${banwatchKey(key)} = ${bool}`;
  if (parseDuration(value) !== undefined) return `${banwatchKey(key)} = "${value}"`;
  return undefined;
}

/** The `[table]` in force at 1-based `lineNo` of TOML `text` (undefined before any). */
export function sectionAt(text: string, lineNo: number): string | undefined {
  let section: string | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lineNo - 1 && i < lines.length; i++) {
    const m = /^\s*\[\s*([^\]\[]+?)\s*\]\s*(?:#.*)?$/.exec(lines[i] as string);
    if (m) section = (m[1] as string).replace(/\s*\.\s*/g, ".");
  }
  return section;
}
