/**
 * What an import reports: the problems (`file:line: key: not converted: why`) and the result
 * shape shared by the filter and the jail conversion.
 * @module
 */
import { IniError, type IniProblem } from "./ini.ts";

/** Something that was not converted, with its place and the reason. */
export interface ImportProblem {
  /** The fail2ban file. */
  readonly file: string;
  /** Its 1-based line (0 when unknown). */
  readonly line: number;
  /** What it concerns: `jail.NAME.key`, `filter.NAME.key`, or `syntax`. */
  readonly key: string;
  /** Why it was not converted (or what to check), one line. */
  readonly message: string;
  /**
   * "not converted" (the default): something was dropped; "warning": converted, but looks
   * wrong or risky; "note": a measurement or advice (built-in comparison, firewall lines).
   */
  readonly severity?: "warning" | "note";
}

/** An INI syntax problem as an import problem (key "syntax"). */
export function syntaxProblem(p: IniProblem): ImportProblem {
  return { file: p.file, line: p.line, key: "syntax", message: p.message };
}

/** Formats a problem as `file:line: key: not converted: why` (or `warning:`, `note:`). */
export function formatImportProblem(p: ImportProblem): string {
  return `${p.file}:${p.line}: ${p.key}: ${p.severity ?? "not converted"}: ${p.message}`;
}

/** The result of a conversion. */
export interface ImportResult {
  /** The jails.toml (or filter file) text. */
  readonly toml: string;
  /** Everything not converted, in file order of discovery. */
  readonly problems: readonly ImportProblem[];
  /** Names of the jails written. */
  readonly jails: readonly string[];
  /** Firewall commands or pf.conf lines the administrator must add or remove by hand. */
  readonly firewallByHand?: readonly string[];
  /** Jails skipped because fail2ban does not run them (disabled), when not all are written. */
  readonly skipped?: readonly string[];
}

/** An exception from reading an option as an import problem under `key`. */
export function problemOf(e: unknown, key: string): ImportProblem {
  if (e instanceof IniError) {
    const message = e.message.slice(`${e.file}:${e.line}: `.length);
    return { file: e.file, line: e.line, key, message };
  }
  return { file: "", line: 0, key, message: e instanceof Error ? e.message : String(e) };
}
