/**
 * Exactly-once tailing of log files across newsyslog rotation, truncation and restarts.
 *
 * Pure part: {@link detectChange} and {@link fingerprint}. Shell part: {@link LogTail}, which
 * keeps files open between polls and returns {@link Batch}es whose `position` is safe to
 * persist in the same transaction as whatever the batch's lines produced.
 *
 * Rotation (freebsd.md §4.3): newsyslog shifts `log.N` to `log.N+1`, links `log` to `log.0`,
 * renames a fresh file onto `log`, SIGHUPs syslogd (which writes to the old inode until then)
 * and compresses `log.0` ~10 s later. A tail therefore holds a short list of *generations*,
 * oldest first, each an open descriptor (which pins its inode):
 *
 * - When the path shows a new inode, the new file is opened at once (it cannot be rotated away
 *   unseen any more), and `log.0`, `log.1`, … are scanned for regular files not seen yet (files
 *   rotated in AND out between two polls), stopping at the first one already held or consumed.
 * - Generations are read strictly in age order: only the oldest one is read; newer ones are
 *   pinned but untouched until every older one is finished. syslogd writes into a rotated
 *   inode until newsyslog signals it, which is only after every entry is rotated (a second
 *   between daemons), and newsyslog compresses `log.0` 10 s after that. So a rotated
 *   generation is finished, read to its end, only when the name it was rotated to (`log.0`)
 *   no longer refers to its inode (compressed or removed), or when it has not grown for
 *   `rotationQuietSeconds` (15 s) and `rotationGrace` polls since the rotation was seen (or
 *   after `rotationMaxPolls` of growth). Lines written meanwhile are read. Its grace runs while
 *   it waits, so a backlog of finished files is read in one poll.
 * - So a {@link Batch}'s `position` always names the oldest generation not fully consumed, and
 *   every line before it (older generations included) has been returned. On restart,
 *   {@link LogTail.open} finds that inode at the path or among the uncompressed `log.N`, finishes
 *   it, then reads the newer generations (`log.N-1` … `log.0`, then `log`) from 0.
 *
 * Limit: a generation rotated AND compressed (or removed) before any poll saw it cannot be
 * read by anyone; when a rotation shows that the previous file is already gone, a
 * `log_rotation_gap` warning (with a running count) says lines may have been lost.
 * @module
 */
import { createLineSplitter, type LineSplitter } from "./splitter.ts";
import type { Logger } from "../core/mod.ts";

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

/** One line read from a log (the line splitter's own objects: they may carry more fields). */
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
  /** Polls without growth after which a rotated-away file is finished (default 2). */
  rotationGrace?: number;
  /** Polls after which a rotated-away file is finished even if it still grows (default 30). */
  rotationMaxPolls?: number;
  /**
   * Seconds a rotated-away file must stay without growth, after the rotation was seen, before
   * it is finished while its rotated name still refers to it (default 15: newsyslog signals
   * syslogd only after all its entries, and compresses `log.0` 10 s later).
   */
  rotationQuietSeconds?: number;
  /** Monotonic clock in seconds for the quiet time (default `performance.now() / 1000`). */
  clock?: () => number;
  /** Wall clock in milliseconds, to age a file by its mtime (default `Date.now`). */
  wallClock?: () => number;
  /**
   * Rotated-away files kept waiting for their grace at most (default 8); beyond that the oldest
   * are finished as soon as they are read to their end. Also how many `log.N` names a rotation
   * scans.
   */
  maxRotatedFiles?: number;
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
export async function fingerprint(head: Uint8Array): Promise<string> {
  const nl = head.indexOf(0x0a);
  let length: number;
  if (nl >= 0 && nl < FINGERPRINT_BYTES) length = nl + 1;
  else if (head.length >= FINGERPRINT_BYTES) length = FINGERPRINT_BYTES;
  else return "";
  // Web Crypto, not node:crypto: the same SHA-256, without loading Node's crypto layer (~5 MB
  // of RSS and start-up time in every process).
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", head.slice(0, length)));
  let hex = "";
  for (const b of digest.subarray(0, 8)) hex += b.toString(16).padStart(2, "0");
  return hex;
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

/** One open file of the tail: the file at the path, or one rotated away and not finished. */
interface Generation {
  file: Deno.FsFile;
  /** Where it was found (the path or `path.N`), for the log. */
  name: string;
  dev: number;
  ino: number;
  birth: number | undefined;
  fingerprint: string;
  splitter: LineSplitter;
  /** Size seen at the last poll: growth resets `quiet`, and the path's fingerprint is re-checked. */
  lastSize: number;
  /** No longer the file at the path. */
  rotated: boolean;
  /** Rotated during this poll: its grace starts counting at the next one. */
  fresh: boolean;
  /** Polls without growth since it was rotated. */
  quiet: number;
  /** Polls since it was rotated. */
  polls: number;
  /** Finished as soon as it is read to its end (too many rotated files wait). */
  forced: boolean;
  /** Clock reading of the rotation or of the last growth since, whichever is later. */
  quietSince: number;
  /** The rotated name that last referred to this inode (`log.0`), while it still does. */
  linkName: string | undefined;
  /** Its rotated name was seen referring to it and no longer does: compressed or removed. */
  unlinked: boolean;
  /** Its rotated name was seen referring to it. */
  seenLinked: boolean;
}

/** A finished generation, to recognise it under a rotated name (inodes are reused). */
interface Consumed {
  size: number;
  birth: number | undefined;
  /** The last bytes before `size`. */
  tail: Uint8Array;
}

/** Finished generations remembered. */
const CONSUMED_MAX = 64;
/** Bytes of a finished generation's end compared to recognise it. */
const TAIL_BYTES = 64;
/** Rotated names `open()` looks at, at most, for the saved file. */
const RESTART_SCAN_MAX = 64;

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
  #quietSeconds: number;
  #clock: () => number;
  #wall: () => number;
  #maxRotated: number;
  #startAtEnd: boolean;
  /** Oldest first; only the first is read; all but the last are rotated away. */
  #gens: Generation[] = [];
  #consumed = new Map<string, Consumed>();
  #opened = false;
  /** The path was missing at the last poll (a file appearing there is no rotation). */
  #pathGone = false;
  #warnedMissing = false;
  #announce = false;
  #behind = false;
  #gaps = 0;
  /** Bytes the current poll may still read. */
  #budget = 0;

  /** Creates a tail for `path`; call {@link LogTail.open} before polling. */
  constructor(path: string, options: LogTailOptions) {
    this.path = path;
    this.#logger = options.logger;
    this.#maxLineBytes = options.maxLineBytes;
    this.#buf = new Uint8Array(positiveInt(options.chunkBytes ?? 1024 * 1024, "chunkBytes"));
    this.#maxPerPoll = positiveInt(options.maxBytesPerPoll ?? 4 * 1024 * 1024, "maxBytesPerPoll");
    this.#grace = Math.max(0, Math.floor(options.rotationGrace ?? 2));
    this.#maxDrainPolls = Math.max(this.#grace, Math.floor(options.rotationMaxPolls ?? 30));
    this.#quietSeconds = Math.max(0, options.rotationQuietSeconds ?? 15);
    this.#clock = options.clock ?? (() => performance.now() / 1000);
    this.#wall = options.wallClock ?? Date.now;
    this.#maxRotated = positiveInt(options.maxRotatedFiles ?? 8, "maxRotatedFiles");
    this.#startAtEnd = options.startAtEnd ?? false;
  }

  /** True when the last poll stopped at maxBytesPerPoll with more data waiting: poll again now. */
  get behind(): boolean {
    return this.#behind;
  }

  /** True while a file is open (false while the path is missing and waited for). */
  get hasFile(): boolean {
    return this.#gens.length > 0;
  }

  /**
   * The position after the last complete line returned (in the oldest generation not finished),
   * or undefined while no file is open.
   */
  get position(): SavedPosition | undefined {
    const head = this.#gens[0];
    return head ? this.#positionOf(head, head.splitter.lineStart) : undefined;
  }

  /**
   * Opens the path, resuming from `saved` when it still describes the file, or a rotated
   * `path.N` (uncompressed) after rotations while stopped: that file is finished first, then
   * the newer `path.N-1` … `path.0` and the path itself are read from 0. Without `saved`, starts
   * at 0 (or the end, with startAtEnd). A missing file is waited for by {@link LogTail.poll}.
   */
  async open(saved?: SavedPosition): Promise<void> {
    if (this.#opened) throw new Error(`LogTail for ${this.path} is already open`);
    this.#opened = true;
    const file = await this.#openFile(this.path);
    if (!saved) {
      if (!file) return this.#warnMissing();
      return await this.#push(file, this.path, this.#startAtEnd ? (await file.stat()).size : 0);
    }
    let info: Deno.FileInfo | undefined;
    if (file) {
      info = await file.stat();
      const kind = detectChange(saved, identity(info), await readFingerprint(file));
      if (kind === "same" || kind === "grown") {
        return await this.#push(file, this.path, saved.offset);
      }
      if (kind === "truncated") {
        this.#logger.info("log_truncated", {
          path: this.path,
          offset: saved.offset,
          size: info.size,
        });
        return await this.#push(file, this.path, 0);
      }
    }
    // The saved file is no longer at the path: look for it among the rotated names.
    const rotated = await this.#scanRotated(RESTART_SCAN_MAX, info);
    let found = -1;
    for (const [i, r] of rotated.entries()) {
      const kind = detectChange(saved, identity(r.info), await readFingerprint(r.file));
      if (kind === "same" || kind === "grown") {
        found = i;
        break;
      }
    }
    if (found >= 0) {
      this.#logger.info("log_resume_rotated", { path: rotated[found]!.name, offset: saved.offset });
      for (const r of rotated.splice(found + 1)) r.file.close(); // older: consumed before the crash
    } else {
      this.#logger.warn("log_rotated_while_stopped", {
        path: this.path,
        detail:
          "the saved file is gone; lines written to it after the last saved position are lost",
      });
    }
    for (const [i, r] of rotated.reverse().entries()) {
      await this.#push(r.file, r.name, i === 0 && found >= 0 ? saved.offset : 0);
      const gen = this.#gens.at(-1)!;
      this.#markRotated(gen);
      // Rotated while banwatch was stopped: its quiet time began at its last write, not now
      // (a restart must not wait rotationQuietSeconds again for a file long finished).
      const mtime = (await r.file.stat()).mtime?.getTime();
      if (mtime !== undefined) {
        gen.quietSince = Math.min(gen.quietSince, this.#clock() - (this.#wall() - mtime) / 1000);
      }
    }
    if (file) await this.#push(file, this.path, 0);
    this.#bound();
    if (this.#gens.length === 0) this.#warnMissing();
  }

  /**
   * Reads what is new since the last poll and returns it as batches (possibly none). Persist
   * each batch's position together with what its lines produced, in order. Do not call it
   * again before the previous call has settled.
   */
  async poll(): Promise<Batch[]> {
    if (!this.#opened) throw new Error(`LogTail for ${this.path} is not open`);
    const out: Batch[] = [];
    // Catch-up polls follow each other without a pause: they do not count as quiet ones.
    const counting = !this.#behind;
    this.#behind = false;
    this.#budget = this.#maxPerPoll;
    // An idle poll costs one stat of the path and no read; one fstat per rotated file waiting.
    const pathSize = await this.#checkPath(out);
    for (const gen of this.#gens) if (gen.rotated) this.#age(gen, counting);
    while (this.#gens.length > 0) {
      const head = this.#gens[0]!;
      if (this.#announce) {
        out.push({ lines: [], position: this.#positionOf(head, head.splitter.lineStart) });
        this.#announce = false;
      }
      await this.#read(head, out, head.rotated ? head.lastSize : pathSize);
      if (this.#behind || !head.rotated) break;
      const quietFor = this.#clock() - head.quietSince;
      const done = head.forced || head.unlinked ||
        (head.quiet >= this.#grace && quietFor >= this.#quietSeconds) ||
        (head.polls >= this.#maxDrainPolls && quietFor >= this.#quietSeconds);
      if (!done) break;
      // A last read right before closing: whatever was written up to now is not lost.
      await this.#read(head, out, Infinity);
      if (this.#behind) break;
      this.#finish(head, out);
      await this.#remember(head);
      head.file.close();
      this.#gens.shift();
      this.#announce = this.#gens.length > 0;
    }
    return out;
  }

  /** Closes the open file(s); the tail cannot be polled afterwards. */
  close(): void {
    for (const gen of this.#gens) gen.file.close();
    this.#gens = [];
    this.#opened = false;
  }

  /**
   * Stats the path: an inode change opens the new file at once (and the rotated names are
   * scanned for files rotated in and out since the last poll), removal marks the file rotated,
   * truncation of the file being read restarts it at 0. Returns the size of the file at the
   * path when it is the newest generation already open.
   */
  async #checkPath(out: Batch[]): Promise<number | undefined> {
    const newest = this.#gens.at(-1);
    const info = statSyncOrUndefined(this.path);
    if (!info) {
      if (newest && !newest.rotated) {
        this.#logger.info("log_removed", { path: this.path, offset: newest.splitter.offset });
        this.#markRotated(newest);
      }
      if (!newest) this.#warnMissing();
      this.#pathGone = true;
      return undefined;
    }
    if (newest && !newest.rotated && info.dev === newest.dev && (info.ino ?? 0) === newest.ino) {
      if (this.#gens.length > 1) return info.size; // not read yet: nothing to check
      return await this.#checkSameFile(newest, info, out);
    }
    const file = await this.#openFile(this.path);
    if (!file) return undefined; // removed between stat and open: the next poll sees it
    const scan = newest !== undefined && !this.#pathGone;
    if (newest && !newest.rotated) {
      this.#logger.info("log_rotated", { path: this.path, offset: newest.splitter.offset });
      this.#markRotated(newest);
    } else if (!newest) this.#logger.info("log_opened", { path: this.path });
    this.#pathGone = false;
    const pathInfo = await file.stat();
    const rotated = scan ? await this.#scanRotated(this.#maxRotated, pathInfo, newest) : [];
    // rotated is newest first; the file just opened at the path is the newest of all, unless
    // it was itself rotated during the scan (then it sits among them at its place).
    let placed = false;
    const ordered: Array<{ file: Deno.FsFile; name: string; rotated: boolean }> = [];
    for (const r of rotated) {
      if (r.isPath) {
        placed = true;
        ordered.push({ file, name: this.path, rotated: true });
      } else ordered.push({ file: r.file, name: r.name, rotated: true });
    }
    if (!placed) ordered.unshift({ file, name: this.path, rotated: false });
    for (const o of ordered.reverse()) {
      await this.#push(o.file, o.name, 0);
      if (o.rotated) this.#markRotated(this.#gens.at(-1)!);
    }
    this.#bound();
    return undefined;
  }

  /** Checks the file being read, still at the path, for truncation or a rewrite. */
  async #checkSameFile(
    cur: Generation,
    info: Deno.FileInfo,
    out: Batch[],
  ): Promise<number> {
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
   * Opens `path.0`, `path.1`, … (regular files, at most `limit` names, stopping at the first
   * missing one) and returns them newest first. At run time (`previous` given) the scan stops
   * at the first file already held or consumed: older ones were handled before. The file open
   * at the path (`pathInfo`) is returned as an `isPath` entry where it is found. When the scan
   * ends without meeting a held file and `previous` is gone, files may have been rotated in
   * and out unseen: a `log_rotation_gap` warning is counted.
   */
  async #scanRotated(
    limit: number,
    pathInfo: Deno.FileInfo | undefined,
    previous?: Generation,
  ): Promise<Array<{ file: Deno.FsFile; name: string; info: Deno.FileInfo; isPath: boolean }>> {
    const found: Array<{ file: Deno.FsFile; name: string; info: Deno.FileInfo; isPath: boolean }> =
      [];
    const same = (a: Deno.FileInfo, dev: number, ino: number): boolean =>
      a.dev === dev && (a.ino ?? 0) === ino;
    let metKnown = false;
    for (let n = 0; n < limit; n++) {
      const name = `${this.path}.${n}`;
      const file = await this.#openFile(name);
      if (!file) break;
      const info = await file.stat();
      if (!info.isFile || found.some((f) => same(f.info, info.dev, info.ino ?? 0))) {
        // not a log, or met again after a shift during the scan
        file.close();
        if (!info.isFile) break;
        continue;
      }
      if (pathInfo && same(info, pathInfo.dev, pathInfo.ino ?? 0)) {
        file.close(); // the caller holds the path's own handle; only its place matters
        if (previous) found.push({ file, name, info, isPath: true });
        continue;
      }
      if (previous) {
        const held = this.#gens.some((g) => same(info, g.dev, g.ino));
        if (held || await this.#wasConsumed(file, info)) {
          file.close();
          metKnown = true;
          break;
        }
      }
      found.push({ file, name, info, isPath: false });
    }
    if (previous && !metKnown && (await previous.file.stat()).nlink === 0) {
      this.#gaps++;
      if ((this.#gaps & (this.#gaps - 1)) === 0) {
        this.#logger.warn("log_rotation_gap", {
          path: this.path,
          count: this.#gaps,
          detail: "the previous file was already compressed or removed when its rotation was " +
            "seen: files rotated in and out between two polls, if any, are lost (poll more often)",
        });
      }
    }
    for (const f of found) {
      if (!f.isPath) this.#logger.debug("log_rotated_found", { path: f.name });
    }
    return found;
  }

  /**
   * One fstat of a rotated file (growth resets its quiet count and time) and one stat of the
   * name it was rotated to (once that no longer refers to it, syslogd is done with it).
   */
  #age(gen: Generation, counting: boolean): void {
    const size = gen.file.statSync().size;
    const grew = size !== gen.lastSize;
    gen.lastSize = size;
    this.#checkLink(gen);
    if (gen.fresh) {
      gen.fresh = false;
      return;
    }
    if (grew) {
      gen.quiet = 0;
      gen.quietSince = this.#clock();
    } else if (counting) gen.quiet++;
    if (counting) gen.polls++;
  }

  #markRotated(gen: Generation): void {
    gen.rotated = true;
    gen.fresh = true;
    gen.quiet = 0;
    gen.polls = 0;
    gen.quietSince = this.#clock();
    // newsyslog links the live file to `log.0` before renaming a new one onto `log`; a file
    // found under a rotated name is watched under that name.
    gen.linkName = gen.name === this.path ? `${this.path}.0` : gen.name;
    this.#checkLink(gen);
  }

  /**
   * Follows the rotated name: while it refers to the inode nothing changes; once it did and
   * no longer does (compressed, removed, shifted to `log.1` by the next rotation), the file
   * is unlinked and finished once read. A name that never referred to it proves nothing.
   */
  #checkLink(gen: Generation): void {
    if (gen.linkName === undefined || gen.unlinked) return;
    const info = statSyncOrUndefined(gen.linkName);
    const same = info !== undefined && info.dev === gen.dev && (info.ino ?? 0) === gen.ino;
    if (same) gen.seenLinked = true;
    else if (gen.seenLinked) gen.unlinked = true;
  }

  /** Beyond maxRotatedFiles rotated files waiting, the oldest are finished once read. */
  #bound(): void {
    let waiting = this.#gens.filter((g) => g.rotated && !g.forced).length;
    for (const gen of this.#gens) {
      if (waiting <= this.#maxRotated) return;
      if (gen.rotated && !gen.forced) {
        gen.forced = true;
        waiting--;
      }
    }
  }

  /** Emits a finished generation's partial last line, if any. */
  #finish(gen: Generation, out: Batch[]): void {
    const last = gen.splitter.flush();
    if (last) {
      out.push({
        lines: [{ text: last.text, truncated: last.truncated }],
        position: this.#positionOf(gen, last.end),
      });
    }
  }

  /** Remembers a finished generation, to skip it when a scan meets it under a rotated name. */
  async #remember(gen: Generation): Promise<void> {
    const size = gen.splitter.offset;
    const tail = await readAt(gen.file, Math.max(0, size - TAIL_BYTES), Math.min(size, TAIL_BYTES));
    const key = `${gen.dev}:${gen.ino}`;
    this.#consumed.delete(key);
    this.#consumed.set(key, { size, birth: gen.birth, tail });
    if (this.#consumed.size > CONSUMED_MAX) {
      this.#consumed.delete(this.#consumed.keys().next().value!);
    }
  }

  /** True when `file` is a finished generation: same inode, birth time and last bytes. */
  async #wasConsumed(file: Deno.FsFile, info: Deno.FileInfo): Promise<boolean> {
    const done = this.#consumed.get(`${info.dev}:${info.ino ?? 0}`);
    if (!done || info.size < done.size) return false;
    const birth = info.birthtime?.getTime();
    if (done.birth !== undefined && birth !== undefined && birth !== done.birth) return false;
    const tail = await readAt(file, done.size - done.tail.length, done.tail.length);
    return tail.length === done.tail.length && tail.every((b, i) => b === done.tail[i]);
  }

  /**
   * Reads from the file's current offset up to EOF or what is left of the poll's budget; nothing (no read
   * call) when `size`, or an fstat when it is undefined, shows no byte past the offset.
   */
  async #read(cur: Generation, out: Batch[], size: number | undefined): Promise<number> {
    if ((size ?? cur.file.statSync().size) <= cur.splitter.offset) return 0;
    if (cur.fingerprint === "") {
      cur.fingerprint = await readFingerprint(cur.file);
      await cur.file.seek(cur.splitter.offset, Deno.SeekMode.Start);
    }
    let total = 0;
    while (this.#budget > 0) {
      // Synchronous: a regular file's read takes well under a millisecond, less than the
      // round trip through a blocking thread that an async read costs.
      const n = cur.file.readSync(
        this.#budget < this.#buf.length ? this.#buf.subarray(0, this.#budget) : this.#buf,
      );
      if (n === null || n === 0) return total;
      total += n;
      this.#budget -= n;
      const lines = cur.splitter.push(this.#buf.subarray(0, n));
      const last = lines.at(-1);
      if (last) {
        // The splitter's lines are TailLines already (plus their end offset): no copy per line.
        out.push({ lines, position: this.#positionOf(cur, last.end) });
      }
    }
    this.#behind = true;
    return total;
  }

  /** Adds a generation (newest) reading `file` from `offset`. */
  async #push(file: Deno.FsFile, name: string, offset: number): Promise<void> {
    const info = await file.stat();
    const gen: Generation = {
      file,
      name,
      dev: info.dev,
      ino: info.ino ?? 0,
      birth: info.birthtime?.getTime(),
      fingerprint: await readFingerprint(file),
      splitter: createLineSplitter({
        offset,
        ...(this.#maxLineBytes === undefined ? {} : { maxLineBytes: this.#maxLineBytes }),
      }),
      lastSize: info.size,
      rotated: false,
      fresh: false,
      quiet: 0,
      polls: 0,
      forced: false,
      quietSince: 0,
      linkName: undefined,
      unlinked: false,
      seenLinked: false,
    };
    await file.seek(offset, Deno.SeekMode.Start);
    if (this.#gens.length === 0) this.#announce = true;
    this.#gens.push(gen);
    this.#warnedMissing = false;
  }

  async #openFile(name: string): Promise<Deno.FsFile | undefined> {
    try {
      return await Deno.open(name, { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
        return undefined;
      }
      throw e;
    }
  }

  #warnMissing(): void {
    if (this.#warnedMissing) return;
    this.#warnedMissing = true;
    this.#logger.warn("log_missing", { path: this.path, detail: "waiting for it to appear" });
  }

  #positionOf(gen: Generation, offset: number): SavedPosition {
    return { path: this.path, dev: gen.dev, ino: gen.ino, offset, fingerprint: gen.fingerprint };
  }
}

/**
 * The every-poll stat, synchronous: an async one is a hop to a blocking thread and back (two
 * thread wake-ups per file per poll on an idle daemon) for a call that takes microseconds.
 */
function statSyncOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
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
  return await fingerprint(head.subarray(0, got));
}

/** Reads up to `length` bytes at `offset` (moving the file's position). */
async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(out.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return out.subarray(0, got);
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
