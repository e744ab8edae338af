/** Where a command writes its output: injected so tests and the daemon can capture it. */
export interface Io {
  /** Writes text to standard output (no newline added). */
  out(text: string): void;
  /** Writes text to standard error (no newline added). */
  err(text: string): void;
}

/** An Io writing to the process's stdout and stderr. */
export function processIo(): Io {
  const enc = new TextEncoder();
  return {
    out: (text) => writeAll(Deno.stdout, enc.encode(text)),
    err: (text) => writeAll(Deno.stderr, enc.encode(text)),
  };
}

function writeAll(file: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let off = 0;
  try {
    while (off < data.length) off += file.writeSync(data.subarray(off));
  } catch (error) {
    // A reader that went away (`banwatch filters | head`) is not an error of ours.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}
