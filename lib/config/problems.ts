/**
 * Problem lines of one file: `<file>:<line>:<col>: <key.path>: <what is wrong>; expected <what>`,
 * located through the position index, sorted in file order and shown one line each, so every
 * problem of a file can be reported at once.
 * @module
 */
import { type Path, pathId, type Pos, type PosIndex } from "./positions.ts";

/** One problem line and where it sorts: by position, then in the order it was added. */
export interface ProblemEntry {
  /** Line of the problem, 0 when it has no position (sorts first). */
  line: number;
  /** Column of the problem, 0 when it has no position. */
  col: number;
  /** Order of addition: keeps problems at one position in the order they were found. */
  seq: number;
  /** The whole problem line. */
  text: string;
}

/** Collects one-line problems of one file, located through the position index. */
export class Reporter {
  /** Every problem so far, in the order added (a growing count means a new problem). */
  readonly entries: ProblemEntry[] = [];
  #seq = 0;
  /**
   * @param file the file name that starts every line
   * @param index the positions of the file's keys, from indexPositions()
   */
  constructor(readonly file: string, readonly index: PosIndex) {}

  /** Where `path` is: its value (or key), else the nearest enclosing table's header. */
  locate(path: Path, where: "key" | "value"): Pos | undefined {
    for (let n = path.length; n > 0; n--) {
      const hit = this.index.get(pathId(path.slice(0, n)));
      if (hit) return n === path.length ? hit[where] : hit.key;
    }
    return undefined;
  }

  /** Adds `<file>:<line>:<col>: <path>: <problem>; expected <expected>` at `path`'s key or value. */
  add(path: Path, problem: string, expected: string, where: "key" | "value" = "value"): void {
    const at = this.locate(path, where);
    const prefix = at ? `${this.file}:${at.line}:${at.col}` : this.file;
    const tail = expected ? `; expected ${expected}` : "";
    this.push(at, `${prefix}: ${showPath(path)}: ${oneLine(problem)}${tail}`);
  }

  /** Adds lines produced elsewhere (a filter file's problems) sorted at `path`'s position. */
  addLines(path: Path, lines: readonly string[]): void {
    const at = this.locate(path, "value");
    for (const text of lines) this.push(at, text);
  }

  /** Adds a finished line at a position (undefined: before every located line). */
  push(at: Pos | undefined, text: string): void {
    this.entries.push({ line: at?.line ?? 0, col: at?.col ?? 0, seq: this.#seq++, text });
  }

  /** The problem lines in file order, each once. */
  lines(): string[] {
    const sorted = [...this.entries].sort((a, b) =>
      a.line - b.line || a.col - b.col || a.seq - b.seq
    );
    return [...new Set(sorted.map((e) => e.text))];
  }
}

function showPath(path: Path): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (out === "") out = part;
    else out += `.${/^[A-Za-z0-9_-]+$/.test(part) ? part : JSON.stringify(part)}`;
  }
  return out;
}

/** The first non-blank line of a message, shortened: problems stay one line each. */
export function oneLine(text: string): string {
  const first = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "")[0] ?? "";
  return shorten(first, 200);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A value as it appears in a message: quoted and shortened. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(shorten(value, 60));
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    let text: string;
    try {
      text = JSON.stringify(value);
    } catch {
      text = "[…]";
    }
    return shorten(text, 60);
  }
  if (value instanceof Date) return "a date";
  if (isTable(value)) return "a table";
  return String(value);
}

/** A TOML table as smol-toml returns it. */
export type Table = Record<string, unknown>;

/** True for a TOML table (a plain object), false for arrays, dates and scalars. */
export function isTable(value: unknown): value is Table {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, k) => k);
  for (let x = 1; x <= a.length; x++) {
    let prev = row[0] as number;
    row[0] = x;
    for (let y = 1; y <= b.length; y++) {
      const tmp = row[y] as number;
      const cost = a[x - 1] === b[y - 1] ? 0 : 1;
      row[y] = Math.min((row[y] as number) + 1, (row[y - 1] as number) + 1, prev + cost);
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

/** Reports the last key of `path` as unknown, suggesting the nearest allowed key (a likely typo) or listing them all. */
export function unknownKey(rep: Reporter, path: Path, allowed: readonly string[]): void {
  const key = String(path[path.length - 1]);
  const norm = key.toLowerCase().replaceAll(".", "_");
  const near = allowed
    .map((k) => ({ k, d: editDistance(norm, k) }))
    .filter((c) => c.d <= (norm.length >= 8 ? 3 : 2))
    .sort((a, b) => a.d - b.d)[0];
  const expected = near ? `"${near.k}"` : `one of ${allowed.join(", ")}`;
  rep.add(path, "unknown key", expected, "key");
}
