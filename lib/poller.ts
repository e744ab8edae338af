/**
 * Exactly-once tailing of log files across newsyslog rotation, truncation and restarts.
 *
 * Pure part: {@link detectChange} and {@link fingerprint}. Shell part: {@link LogTail}, which
 * keeps one file open between polls and returns {@link Batch}es whose `position` is safe to
 * persist in the same transaction as whatever the batch's lines produced.
 *
 * Rotation (freebsd.md §4.3): newsyslog links `log` to `log.0`, renames a fresh file onto `log`,
 * SIGHUPs syslogd (which writes to the old inode until then) and compresses `log.0` ~10 s later.
 * So on an inode change the OLD handle is drained to EOF and re-read for `rotationGrace` more
 * quiet polls before the new file is opened at offset 0; `log.0` is only opened by name on
 * restart, to finish a file rotated while banwatch was stopped.
 * @module
 */
import { createHash } from "node:crypto";
import { createLineSplitter, type LineSplitter } from "./line_splitter.ts";
import type { Logger } from "./log.ts";

/** Where reading of one log path stopped: everything before `offset` of inode (dev, ino) is done. */
export interface SavedPosition {
  /** The log path as configured (or as expanded from a glob). */
  path: string;
  /** Device of the file the offset belongs to. */
  dev: number;
  /** Inode of the file the offset belongs to. */
  ino: number;
  /** Byte offset just past the last line handled. */
  offset: number;
  /** {@link fingerprint} of the file's first line ("" when not known yet). */
  fingerprint: string;
}

/** What stat says about the file now at the path. */
export interface FileIdentity {
  /** Device number. */
  dev: number;
  /** Inode number. */
  ino: number;
  /** Size in bytes. */
  size: number;
}

/** How the file at a path relates to a saved position. */
export type ChangeKind = "same" | "grown" | "truncated" | "rotated";

/** One line read from a log. */
export interface TailLine {
  /** The decoded line without its terminator. */
  text: string;
  /** True when the line exceeded maxLineBytes and was cut. */
  truncated: boolean;
}

/** Lines read in order, and the position to persist once they have been handled. */
export interface Batch {
  /** The lines, oldest first; may be empty when only the position moved (new file, truncation). */
  lines: TailLine[];
  /** The position just past the last line of this batch. */
  position: SavedPosition;
}

/** Options of {@link LogTail}. */
export interface LogTailOptions {
  /** Receives rotation, truncation and missing-file events. */
  logger: Logger;
  /** Longest line kept, in bytes (default 64 KiB). */
  maxLineBytes?: number;
  /** Bytes per read call, also the most one batch covers (default 1 MiB). */
  chunkBytes?: number;
  /** Bytes read per poll at most; `behind` is set when more is waiting (default 4 MiB). */
  maxBytesPerPoll?: number;
  /** Quiet polls to keep reading a rotated-away file before switching to the new one (default 2). */
  rotationGrace?: number;
  /** Polls after which a rotated-away file is abandoned even if it still grows (default 30). */
  rotationMaxPolls?: number;
  /** Without a saved position, start at the end of an existing file instead of at 0. */
  startAtEnd?: boolean;
}

/** Bytes of the first line that {@link fingerprint} looks at. */
export const FINGERPRINT_BYTES = 256;

/**
 * A short hash of a file's first line, given the file's first bytes (up to 256 are used).
 * Returns "" when the file is empty or its first line is still incomplete (shorter than 256
 * bytes without a newline), meaning "unknown": the first line may still grow.
 */
export function fingerprint(head: Uint8Array): string {
  const nl = head.indexOf(0x0a);
  let length: number;
  if (nl >= 0 && nl < FINGERPRINT_BYTES) length = nl + 1;
  else if (head.length >= FINGERPRINT_BYTES) length = FINGERPRINT_BYTES;
  else return "";
  return createHash("sha256").update(head.subarray(0, length)).digest("hex").slice(0, 16);
}

/**
 * Compares a saved position with the file now at its path: another inode, or the same inode
 * whose first line changed (inode reuse / rewritten file), is "rotated"; a size below the
 * saved offset is "truncated"; otherwise "grown" or "same". An unknown fingerprint ("" or
 * undefined) on either side is not compared.
 */
export function detectChange(
  saved: Pick<SavedPosition, "dev" | "ino" | "offset" | "fingerprint">,
  current: FileIdentity,
  currentFingerprint?: string,
): ChangeKind {
  if (saved.dev !== current.dev || saved.ino !== current.ino) return "rotated";
  if (
    currentFingerprint !== undefined && currentFingerprint !== "" && saved.fingerprint !== "" &&
    currentFingerprint !== saved.fingerprint
  ) return "rotated";
  if (current.size < saved.offset) return "truncated";
  return current.size > saved.offset ? "grown" : "same";
}

interface OpenFile {
  file: Deno.FsFile;
  dev: number;
  ino: number;
  fingerprint: string;
  splitter: LineSplitter;
  /** Size seen at the last poll, to re-check the fingerprint only on change. */
  lastSize: number;
}

/** Tails one log path exactly once; see the module documentation. */
export class LogTail {
  /** The log path this tail follows. */
  readonly path: string;
  #logger: Logger;
  #maxLineBytes: number | undefined;
  #buf: Uint8Array;
  #maxPerPoll: number;
  #grace: number;
  #maxDrainPolls: number;
  #startAtEnd: boolean;
  #cur: OpenFile | undefined;
  #opened = false;
  #draining = false;
  #justRotated = false;
  #quiet = 0;
  #drainPolls = 0;
  #warnedMissing = false;
  #announce = false;
  #behind = false;

  /** Creates a tail for `path`; call {@link LogTail.open} before polling. */
  constructor(path: string, options: LogTailOptions) {
    this.path = path;
    this.#logger = options.logger;
    this.#maxLineBytes = options.maxLineBytes;
    this.#buf = new Uint8Array(positiveInt(options.chunkBytes ?? 1024 * 1024, "chunkBytes"));
    this.#maxPerPoll = positiveInt(options.maxBytesPerPoll ?? 4 * 1024 * 1024, "maxBytesPerPoll");
    this.#grace = Math.max(0, Math.floor(options.rotationGrace ?? 2));
    this.#maxDrainPolls = Math.max(this.#grace, Math.floor(options.rotationMaxPolls ?? 30));
    this.#startAtEnd = options.startAtEnd ?? false;
  }

  /** True when the last poll stopped at maxBytesPerPoll with more data waiting: poll again now. */
  get behind(): boolean {
    return this.#behind;
  }

  /** The position after the last complete line returned, or undefined while no file is open. */
  get position(): SavedPosition | undefined {
    return this.#cur ? this.#positionOf(this.#cur, this.#cur.splitter.lineStart) : undefined;
  }

  /**
   * Opens the path, resuming from `saved` when it still describes the file (or its uncompressed
   * `.0` after a rotation while stopped); without `saved`, starts at 0 (or the end, with
   * startAtEnd). A missing file is waited for by {@link LogTail.poll}.
   */
  async open(saved?: SavedPosition): Promise<void> {
    if (this.#opened) throw new Error(`LogTail for ${this.path} is already open`);
    this.#opened = true;
    const file = await this.#openFile(this.path);
    if (!saved) {
      if (!file) return this.#warnMissing();
      return await this.#start(file, this.#startAtEnd ? (await file.stat()).size : 0);
    }
    if (file) {
      const info = await file.stat();
      const kind = detectChange(saved, identity(info), await readFingerprint(file));
      if (kind === "same" || kind === "grown") return await this.#start(file, saved.offset);
      if (kind === "truncated") {
        this.#logger.info("log_truncated", {
          path: this.path,
          offset: saved.offset,
          size: info.size,
        });
        return await this.#start(file, 0);
      }
    }
    const old = await this.#openFile(`${this.path}.0`);
    if (old) {
      const kind = detectChange(saved, identity(await old.stat()), await readFingerprint(old));
      if (kind === "same" || kind === "grown") {
        this.#logger.info("log_resume_rotated", { path: `${this.path}.0`, offset: saved.offset });
        file?.close();
        await this.#start(old, saved.offset);
        this.#draining = true;
        this.#justRotated = true;
        this.#quiet = 0;
        this.#drainPolls = 0;
        return;
      }
      old.close();
    }
    this.#logger.warn("log_rotated_while_stopped", {
      path: this.path,
      detail: "the saved file is gone; lines written to it after the last saved position are lost",
    });
    if (!file) return this.#warnMissing();
    await this.#start(file, 0);
  }

  /**
   * Reads what is new since the last poll and returns it as batches (possibly none). Persist
   * each batch's position together with what its lines produced, in order. Do not call it
   * again before the previous call has settled.
   */
  async poll(): Promise<Batch[]> {
    if (!this.#opened) throw new Error(`LogTail for ${this.path} is not open`);
    const out: Batch[] = [];
    this.#behind = false;
    // An idle poll costs one stat of the path (one fstat while draining) and no read.
    let size: number | undefined;
    if (this.#cur && !this.#draining) size = await this.#checkPath(out);
    if (this.#cur && this.#draining) {
      const cur: OpenFile = this.#cur;
      const got = await this.#read(cur, out, undefined);
      if (this.#behind) return out;
      if (!this.#justRotated) {
        this.#drainPolls++;
        this.#quiet = got > 0 ? 0 : this.#quiet + 1;
      }
      this.#justRotated = false;
      if (this.#quiet < this.#grace && this.#drainPolls < this.#maxDrainPolls) return out;
      const last = cur.splitter.flush();
      if (last) {
        out.push({
          lines: [{ text: last.text, truncated: last.truncated }],
          position: this.#positionOf(cur, last.end),
        });
      }
      cur.file.close();
      this.#cur = undefined;
      this.#draining = false;
    }
    if (!this.#cur) {
      const file = await this.#openFile(this.path);
      if (!file) {
        this.#warnMissing();
        return out;
      }
      this.#logger.info("log_opened", { path: this.path });
      await this.#start(file, 0);
      size = undefined;
    }
    if (this.#announce && this.#cur) {
      out.push({ lines: [], position: this.#positionOf(this.#cur, this.#cur.splitter.lineStart) });
      this.#announce = false;
    }
    if (this.#cur) await this.#read(this.#cur, out, size);
    return out;
  }

  /** Closes the open file(s); the tail cannot be polled afterwards. */
  close(): void {
    this.#cur?.file.close();
    this.#cur = undefined;
    this.#opened = false;
  }

  /**
   * Stats the path: an inode change or removal starts draining (returns undefined), truncation
   * restarts at 0. Returns the size of the open file, which is the one at the path.
   */
  async #checkPath(out: Batch[]): Promise<number | undefined> {
    const cur = this.#cur;
    if (!cur) return undefined;
    const info = await statOrUndefined(this.path);
    if (!info || info.dev !== cur.dev || (info.ino ?? 0) !== cur.ino) {
      this.#logger.info(info ? "log_rotated" : "log_removed", {
        path: this.path,
        offset: cur.splitter.offset,
      });
      this.#draining = true;
      this.#justRotated = true;
      this.#quiet = 0;
      this.#drainPolls = 0;
      return undefined;
    }
    if (info.size === cur.lastSize && info.size >= cur.splitter.offset) return info.size;
    let rewritten = info.size < cur.splitter.offset;
    if (!rewritten && cur.fingerprint !== "") {
      const now = await readFingerprint(cur.file);
      rewritten = now !== "" && now !== cur.fingerprint;
      await cur.file.seek(cur.splitter.offset, Deno.SeekMode.Start);
    }
    cur.lastSize = info.size;
    if (!rewritten) return info.size;
    this.#logger.info("log_truncated", {
      path: this.path,
      offset: cur.splitter.offset,
      size: info.size,
    });
    cur.splitter.reset(0);
    cur.fingerprint = "";
    await cur.file.seek(0, Deno.SeekMode.Start);
    out.push({ lines: [], position: this.#positionOf(cur, 0) });
    return info.size;
  }

  /**
   * Reads from the file's current offset up to EOF or the per-poll budget; nothing (no read
   * call) when `size`, or an fstat when it is undefined, shows no byte past the offset.
   */
  async #read(cur: OpenFile, out: Batch[], size: number | undefined): Promise<number> {
    if ((size ?? (await cur.file.stat()).size) <= cur.splitter.offset) return 0;
    if (cur.fingerprint === "") {
      cur.fingerprint = await readFingerprint(cur.file);
      await cur.file.seek(cur.splitter.offset, Deno.SeekMode.Start);
    }
    let total = 0;
    while (total < this.#maxPerPoll) {
      const n = await cur.file.read(this.#buf);
      if (n === null || n === 0) return total;
      total += n;
      const lines = cur.splitter.push(this.#buf.subarray(0, n));
      const last = lines.at(-1);
      if (last) {
        out.push({
          lines: lines.map((l) => ({ text: l.text, truncated: l.truncated })),
          position: this.#positionOf(cur, last.end),
        });
      }
    }
    this.#behind = true;
    return total;
  }

  async #start(file: Deno.FsFile, offset: number): Promise<void> {
    const info = await file.stat();
    const cur: OpenFile = {
      file,
      dev: info.dev,
      ino: info.ino ?? 0,
      fingerprint: await readFingerprint(file),
      splitter: createLineSplitter({
        offset,
        ...(this.#maxLineBytes === undefined ? {} : { maxLineBytes: this.#maxLineBytes }),
      }),
      lastSize: info.size,
    };
    await file.seek(offset, Deno.SeekMode.Start);
    this.#cur = cur;
    this.#warnedMissing = false;
    this.#announce = true;
  }

  async #openFile(name: string): Promise<Deno.FsFile | undefined> {
    try {
      return await Deno.open(name, { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  #warnMissing(): void {
    if (this.#warnedMissing) return;
    this.#warnedMissing = true;
    this.#logger.warn("log_missing", { path: this.path, detail: "waiting for it to appear" });
  }

  #positionOf(cur: OpenFile, offset: number): SavedPosition {
    return { path: this.path, dev: cur.dev, ino: cur.ino, offset, fingerprint: cur.fingerprint };
  }
}

/**
 * Expands `*`, `?` and `[...]` in any path component (no `**`); patterns without them are
 * returned as given, even when missing. Only existing regular files (after symlinks) match a
 * glob. Results are de-duplicated, in pattern order, each pattern's matches sorted.
 */
export async function expandLogPaths(patterns: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const pattern of patterns) {
    const found = hasGlob(pattern) ? (await globFiles(pattern)).sort() : [pattern];
    for (const p of found) {
      if (!seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  }
  return out;
}

/** Converts one path component's glob to an anchored RegExp (a leading dot must match literally). */
export function globToRegExp(component: string): RegExp {
  let re = "";
  for (let i = 0; i < component.length; i++) {
    const c = component[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      let j = i + 1;
      if (component[j] === "!" || component[j] === "^") j++;
      if (component[j] === "]") j++;
      while (j < component.length && component[j] !== "]") j++;
      if (j >= component.length) {
        re += "\\[";
        continue;
      }
      let body = component.slice(i + 1, j);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/[\\[\]^]/g, (m) => `\\${m}`)}]`;
      i = j;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
  }
  const dotRule = component.startsWith(".") ? "" : "(?!\\.)";
  return new RegExp(`^${dotRule}${re}$`);
}

function hasGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

async function globFiles(pattern: string): Promise<string[]> {
  const absolute = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p) => p !== "");
  let bases: string[] = [absolute ? "/" : ""];
  for (const part of parts) {
    const next: string[] = [];
    if (!hasGlob(part)) {
      for (const base of bases) next.push(joinPath(base, part));
    } else {
      const re = globToRegExp(part);
      for (const base of bases) {
        try {
          for await (const entry of Deno.readDir(base === "" ? "." : base)) {
            if (re.test(entry.name)) next.push(joinPath(base, entry.name));
          }
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) {
            throw e;
          }
        }
      }
    }
    bases = next;
  }
  const files: string[] = [];
  for (const candidate of bases) {
    const info = await statOrUndefined(candidate);
    if (info?.isFile) files.push(candidate);
  }
  return files;
}

function joinPath(base: string, name: string): string {
  if (base === "") return name;
  return base.endsWith("/") ? `${base}${name}` : `${base}/${name}`;
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw e;
  }
}

/** Reads the file's first bytes (moving its position) and returns their fingerprint. */
async function readFingerprint(file: Deno.FsFile): Promise<string> {
  const head = new Uint8Array(FINGERPRINT_BYTES);
  await file.seek(0, Deno.SeekMode.Start);
  let got = 0;
  while (got < head.length) {
    const n = await file.read(head.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return fingerprint(head.subarray(0, got));
}

function identity(info: Deno.FileInfo): FileIdentity {
  return { dev: info.dev, ino: info.ino ?? 0, size: info.size };
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer: current value is ${value}`);
  }
  return value;
}
