/**
 * TOML text for the converted jails.toml and filter files: quoting, keys, arrays, comments and
 * the regex lines of a filter. Written by hand rather than with a TOML library so that regexes
 * come out as literal strings a reader can copy.
 * @module
 */
import type { FilterSpec } from "../filter/mod.ts";

// Control characters other than tab cannot appear in a literal string; the basic-string escapes.
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

/** A TOML key: bare when it may be (`[jail.sshd]`), else quoted. */
export function tomlKey(s: string): string {
  return /^[A-Za-z0-9_-]+$/.test(s) ? s : tomlString(s);
}

/** A TOML array of strings: inline for one short item, else one item per line. */
export function tomlArray(items: readonly string[]): string {
  if (items.length === 0) return "[]";
  if (items.length === 1 && (items[0] ?? "").length < 60) return `[${tomlString(items[0] ?? "")}]`;
  return `[\n${items.map((i) => `  ${tomlString(i)},`).join("\n")}\n]`;
}

/** `text` as TOML comment lines (`# ...`), one per line of text. */
export function tomlComment(text: string): string {
  return text.split("\n").map((l) => `# ${l}`.trimEnd()).join("\n");
}

/**
 * A filter's regex and option lines (failregex, ignoreregex, prefregex, datepattern, usedns),
 * in the order both a filter file and a jail section write them.
 */
export function filterSpecLines(spec: FilterSpec): string[] {
  const out = [`failregex = ${tomlArray(spec.failregex)}`];
  if (spec.ignoreregex && spec.ignoreregex.length > 0) {
    out.push(`ignoreregex = ${tomlArray(spec.ignoreregex)}`);
  }
  if (spec.prefregex) out.push(`prefregex = ${tomlString(spec.prefregex)}`);
  if (spec.datepattern) out.push(`datepattern = ${tomlString(spec.datepattern)}`);
  if (spec.usedns !== undefined) out.push(`usedns = ${spec.usedns}`);
  return out;
}
