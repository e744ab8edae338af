/**
 * source/: log files -> lines, each exactly once: tails with byte offsets and fingerprints
 * across rotation and restarts (poller.ts), globs, and the UTF-8 line splitter and block reader.
 * @module
 */
export { forEachLine } from "./blocks.ts";
export { readLineBlocks } from "./line_source.ts";
export { expandLogPaths, globToRegExp } from "./glob.ts";
export { LogTail } from "./poller.ts";
export type { Batch, LogTailOptions, SavedPosition } from "./poller.ts";
export { createLineSplitter, DEFAULT_MAX_LINE_BYTES } from "./splitter.ts";
