/**
 * Streams the lines of a file or of standard input in constant memory (the shell half of
 * `banwatch test`): chunks go through the bounded line splitter and come out as batches.
 * @module
 */
import { createLineSplitter, type SplitLine } from "./line_splitter.ts";
import { RuntimeError } from "./errors.ts";

/** Bytes per read call: few enough calls that op overhead stays small. */
const READ_BYTES = 256 * 1024;
/**
 * Bytes split per batch: what is alive while a batch is handled. Smaller batches mean fewer
 * objects survive each young-generation GC, which keeps V8 from growing its young generation
 * (peak RSS) with the length of the file.
 */
const BATCH_BYTES = 64 * 1024;

/** Yields the lines of `path` (or stdin for `-`) in batches, the last partial line included. */
export async function* readLineBatches(
  path: string,
  options: { maxLineBytes?: number } = {},
): AsyncGenerator<SplitLine[]> {
  const splitter = createLineSplitter(
    options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes },
  );
  let file: Deno.FsFile | undefined;
  try {
    file = path === "-" ? undefined : await Deno.open(path, { read: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split(":")[0] : String(error);
    throw new RuntimeError(`cannot read ${path}: ${reason}`, { cause: error });
  }
  const reader = file ?? Deno.stdin;
  const buf = new Uint8Array(READ_BYTES);
  try {
    while (true) {
      const n = await reader.read(buf);
      if (n === null) break;
      for (let at = 0; at < n; at += BATCH_BYTES) {
        const lines = splitter.push(buf.subarray(at, Math.min(n, at + BATCH_BYTES)));
        if (lines.length > 0) yield lines;
      }
    }
    const last = splitter.flush();
    if (last) yield [last];
  } finally {
    file?.close();
  }
}
