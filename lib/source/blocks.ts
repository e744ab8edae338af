/**
 * Splits byte chunks into blocks of text lines for reading a whole file fast (pure: no I/O).
 *
 * The lines are exactly those of lib/line_splitter.ts (same UTF-8 decoding, same one trailing
 * `\r` stripped, same cut of over-long lines), but the complete lines inside a chunk come out
 * as one decoded string instead of one object and one copied string per line: a line that
 * starts and ends inside a chunk no longer than `maxLineBytes` + 1 bytes cannot be too long.
 * The other lines (the one joined across chunks, and those of a longer chunk) are split by the
 * line splitter itself. Decoding a run of lines at once equals decoding them one by one: a
 * newline byte is never part of a UTF-8 sequence, and ends an invalid one.
 * @module
 */
import {
  createLineSplitter,
  DEFAULT_MAX_LINE_BYTES,
  type LineSplitterOptions,
  type SplitLine,
} from "./splitter.ts";

/** Complete lines, or one line from the line splitter. */
export type LineBlock =
  | {
    /** One or more complete lines. */
    readonly kind: "lines";
    /** The decoded lines, each ending with "\n" (a `\r` before it is still there). */
    readonly text: string;
  }
  | {
    /** One line split by the line splitter (it may be `truncated`). */
    readonly kind: "line";
    /** The line. */
    readonly line: SplitLine;
  };

/** A stateful block splitter; feed it chunks in file order. */
export interface BlockSplitter {
  /** Consumes a chunk (it is not retained) and returns the blocks it completed. */
  push(chunk: Uint8Array): LineBlock[];
  /** Emits the pending partial line, if any. */
  flush(): LineBlock | undefined;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/** Creates a {@link BlockSplitter}; `offset` is not used. */
export function createBlockSplitter(
  options: Omit<LineSplitterOptions, "offset"> = {},
): BlockSplitter {
  const splitter = createLineSplitter(options);
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  const single = (lines: SplitLine[], out: LineBlock[]): void => {
    for (const line of lines) out.push({ kind: "line", line });
  };
  return {
    push(chunk: Uint8Array): LineBlock[] {
      const out: LineBlock[] = [];
      const first = chunk.indexOf(NEWLINE);
      if (first < 0) {
        single(splitter.push(chunk), out);
        return out;
      }
      let from = 0;
      if (splitter.pendingBytes > 0) {
        single(splitter.push(chunk.subarray(0, first + 1)), out);
        from = first + 1;
      }
      const last = chunk.lastIndexOf(NEWLINE);
      if (last >= from) {
        const body = chunk.subarray(from, last + 1);
        if (body.length - 1 <= max) {
          out.push({ kind: "lines", text: decoder.decode(body) });
          splitter.reset(splitter.offset + body.length);
        } else {
          single(splitter.push(body), out);
        }
      }
      if (last + 1 < chunk.length) single(splitter.push(chunk.subarray(last + 1)), out);
      return out;
    },
    flush(): LineBlock | undefined {
      const line = splitter.flush();
      return line === undefined ? undefined : { kind: "line", line };
    },
  };
}

/**
 * Calls `fn` with the span of each line of a "lines" block's text, in order: `end` excludes the
 * "\n" and one "\r" before it (as the line splitter strips it).
 * @param text a "lines" block's text
 * @param fn called once per line with `text.slice(start, end)`'s bounds
 */
export function forEachLine(text: string, fn: (start: number, end: number) => void): void {
  let s = 0;
  while (s < text.length) {
    let nl = text.indexOf("\n", s);
    if (nl < 0) nl = text.length;
    fn(s, nl > s && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl);
    s = nl + 1;
  }
}
