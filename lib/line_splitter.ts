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

  const push = (chunk: Uint8Array): SplitLine[] => {
    const lines: SplitLine[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl < 0) {
        hold(chunk.subarray(pos));
        break;
      }
      const end = offset + nl + 1;
      if (held === 0 && !overflow) {
        const line = chunk.subarray(pos, nl);
        if (line.length > max) lines.push(decodeLine(line.subarray(0, max), true, end));
        else lines.push(decodeLine(line, false, end));
      } else {
        hold(chunk.subarray(pos, nl));
        const truncated = overflow;
        lines.push(decodeLine(take(), truncated, end));
        overflow = false;
      }
      lineStart = end;
      pos = nl + 1;
    }
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

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
