/**
 * Splits byte chunks into text lines with bounded memory (pure: no I/O).
 *
 * A partial last line is kept until its newline arrives. Bytes are decoded as UTF-8 leniently
 * (invalid sequences become U+FFFD), one trailing `\r` is stripped. A line longer than
 * `maxLineBytes` is cut: its first `maxLineBytes` bytes are emitted flagged `truncated` once its
 * newline arrives, and the rest is discarded without being buffered.
 * @module
 */

/** One complete line. */
export interface SplitLine {
  /** The decoded text without its line terminator. */
  text: string;
  /** True when the line was longer than `maxLineBytes` and its tail was dropped. */
  truncated: boolean;
  /** Absolute byte offset just past this line's `\n`: everything before `end` is done. */
  end: number;
}

/** Options of {@link createLineSplitter}. */
export interface LineSplitterOptions {
  /** Longest line kept, in bytes (default 64 KiB). */
  maxLineBytes?: number;
  /** Absolute offset of the first byte that will be pushed (default 0). */
  offset?: number;
}

/** A stateful splitter; feed it chunks in file order. */
export interface LineSplitter {
  /** Consumes a chunk (it is not retained) and returns the lines it completed. */
  push(chunk: Uint8Array): SplitLine[];
  /** Emits the pending partial line, if any, as if it ended at the current offset. */
  flush(): SplitLine | undefined;
  /** Forgets any partial line and continues at `offset`. */
  reset(offset: number): void;
  /** Absolute offset of the next byte to be pushed. */
  readonly offset: number;
  /** Absolute offset where the pending partial line starts (== offset when none is pending). */
  readonly lineStart: number;
  /** Bytes held for the pending partial line (never more than maxLineBytes). */
  readonly pendingBytes: number;
}

/** Default longest line, in bytes. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;
/** Bytes decoded at once at most (unless one line is longer): see createLineSplitter's body(). */
const DECODE_PIECE = 64 * 1024;
const CR = 0x0d;

/** Creates a {@link LineSplitter} starting at `options.offset`. */
export function createLineSplitter(options: LineSplitterOptions = {}): LineSplitter {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`maxLineBytes must be a positive integer: current value is ${max}`);
  }
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  let offset = options.offset ?? 0;
  let lineStart = offset;
  let parts: Uint8Array[] = [];
  let held = 0;
  let overflow = false;

  const decodeLine = (bytes: Uint8Array, truncated: boolean, end: number): SplitLine => {
    let len = bytes.length;
    if (truncated) len = utf8Boundary(bytes, len);
    else if (len > 0 && bytes[len - 1] === CR) len--;
    return { text: decoder.decode(bytes.subarray(0, len)), truncated, end };
  };

  const take = (): Uint8Array => {
    const joined = parts.length === 1 ? parts[0]! : concat(parts, held);
    parts = [];
    held = 0;
    return joined;
  };

  const hold = (bytes: Uint8Array): void => {
    if (overflow || bytes.length === 0) return;
    const room = max - held;
    if (bytes.length > room) {
      if (room > 0) parts.push(bytes.slice(0, room));
      held = max;
      overflow = true;
    } else {
      parts.push(bytes.slice());
      held += bytes.length;
    }
  };

  /**
   * Emits the complete lines of `chunk[from, to)` (`to` is just past a newline), decoded a piece
   * of at most DECODE_PIECE bytes (or one longer line) at a time. A piece ends just past a
   * newline, where a UTF-8 decoder starts afresh anyway: the text is the same as decoding the
   * whole range at once. A small piece is allocated in V8's young generation, where a piece of
   * megabytes would take fresh (page-faulting) large-object pages each time: a third of the
   * cost of reading a log.
   */
  const body = (chunk: Uint8Array, from: number, to: number, lines: SplitLine[]): void => {
    let at = from;
    while (at < to) {
      let end = to;
      if (to - at > DECODE_PIECE) {
        // Searched in the window only: a longer line must not cost a scan back to the start.
        const nl = chunk.subarray(at, at + DECODE_PIECE).lastIndexOf(NEWLINE);
        end = nl >= 0 ? at + nl + 1 : chunk.indexOf(NEWLINE, at + DECODE_PIECE) + 1;
      }
      piece(chunk, at, end, lines);
      at = end;
    }
  };

  /** Emits the complete lines of `chunk[from, to)` (`to` is just past a newline), decoded at once. */
  const piece = (chunk: Uint8Array, from: number, to: number, lines: SplitLine[]): void => {
    const bytes = chunk.subarray(from, to);
    const text = decoder.decode(bytes);
    // One UTF-16 unit per byte means string index == byte offset (ASCII, or lone invalid bytes);
    // otherwise newlines are found in both, in step: the k-th "\n" of text is the k-th 0x0a byte.
    const sameIndex = text.length === bytes.length;
    let s = 0;
    let b = 0;
    while (s < text.length) {
      const sNl = text.indexOf("\n", s);
      const bNl = sameIndex ? sNl : bytes.indexOf(NEWLINE, b);
      const end = offset + from + bNl + 1;
      if (bNl - b > max) {
        lines.push(decodeLine(bytes.subarray(b, b + max), true, end));
      } else {
        const cut = sNl > s && text.charCodeAt(sNl - 1) === CR ? sNl - 1 : sNl;
        lines.push({ text: detach(text.slice(s, cut)), truncated: false, end });
      }
      s = sNl + 1;
      b = bNl + 1;
    }
  };

  const push = (chunk: Uint8Array): SplitLine[] => {
    const lines: SplitLine[] = [];
    let pos = 0;
    if (held > 0 || overflow) {
      // Finish the pending partial line first (it is the only line that needs joining).
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        hold(chunk);
        offset += chunk.length;
        return lines;
      }
      hold(chunk.subarray(0, nl));
      const truncated = overflow;
      lines.push(decodeLine(take(), truncated, offset + nl + 1));
      overflow = false;
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= pos) {
      body(chunk, pos, last + 1, lines);
      pos = last + 1;
    }
    if (lines.length > 0) lineStart = lines[lines.length - 1]!.end;
    if (pos < chunk.length) hold(chunk.subarray(pos));
    offset += chunk.length;
    return lines;
  };

  const flush = (): SplitLine | undefined => {
    if (lineStart === offset) return undefined;
    const truncated = overflow;
    const line = decodeLine(take(), truncated, offset);
    overflow = false;
    lineStart = offset;
    return line;
  };

  const reset = (at: number): void => {
    parts = [];
    held = 0;
    overflow = false;
    offset = at;
    lineStart = at;
  };

  return {
    push,
    flush,
    reset,
    get offset(): number {
      return offset;
    },
    get lineStart(): number {
      return lineStart;
    },
    get pendingBytes(): number {
      return held;
    },
  };
}

/** Length of `bytes` without a trailing incomplete UTF-8 sequence (a cut never splits a character). */
function utf8Boundary(bytes: Uint8Array, len: number): number {
  for (let i = len - 1; i >= 0 && i >= len - 4; i--) {
    const b = bytes[i] ?? 0;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return len - i < need ? i : len;
  }
  return len;
}

/**
 * A copy of a line sliced out of a chunk's text that does not keep the whole chunk alive: V8
 * slices of 13+ characters point into their parent string, and a consumer that keeps a line or a
 * match from it (a host name, an example line) would otherwise pin the entire chunk.
 */
function detach(slice: string): string {
  return slice.length < 13 ? slice : (slice + "\n").slice(0, -1);
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
