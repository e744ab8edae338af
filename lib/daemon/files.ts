/**
 * One bad log file does not stop the others: opening or reading a file can fail (permissions,
 * a directory, I/O errors). Such a file is logged once per change of state (`log_error` with
 * its jails and path, `log_readable` when it can be read again), its tail is closed, and it is
 * opened again every poll from its last committed position, while the other files go on.
 * @module
 */
import type { FileState, JailFileStatus } from "../control/mod.ts";
import { type Batch, globToRegExp, LogTail, type LogTailOptions } from "../source/mod.ts";
import type { DaemonContext, JailRuntime, TailRuntime } from "./context.ts";

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function jailNames(rt: { jails: readonly JailRuntime[] }): string {
  return rt.jails.map((j) => j.config.name).join(",");
}

/** Records a failure of the file: logged when the error is new, the tail closed. */
function failed(ctx: DaemonContext, path: string, rt: TailRuntime, error: unknown): void {
  const text = message(error);
  if (rt.error !== text) {
    ctx.logger.error("log_error", {
      jail: jailNames(rt),
      path,
      error: text,
      detail: "retried every poll; the other logs are read meanwhile",
    });
  }
  rt.error = text;
  rt.tail.close();
}

/** Opens `path` at its saved position; a file that cannot be opened is recorded, not thrown. */
export async function openTail(
  ctx: DaemonContext,
  path: string,
  jails: JailRuntime[],
): Promise<TailRuntime> {
  const rt: TailRuntime = {
    tail: new LogTail(path, tailOptions(ctx)),
    jails,
    lastRead: undefined,
  };
  try {
    checkRegular(path);
    await rt.tail.open(ctx.positions.get(path));
  } catch (error) {
    failed(ctx, path, rt, error);
  }
  return rt;
}

/**
 * Throws for a path that exists but is no regular file: a directory fails only on its first
 * read, and opening a FIFO would block the poll until something writes to it.
 */
/** How every tail of this daemon handles rotation (`rotation_wait`). */
function tailOptions(ctx: DaemonContext): LogTailOptions {
  return { logger: ctx.logger, rotationQuietSeconds: ctx.config.global.rotationWait };
}

function checkRegular(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return; // missing: the tail waits for it
    }
    throw error;
  }
  if (info.isFile) return;
  const kind = info.isDirectory
    ? "a directory"
    : info.isFifo
    ? "a FIFO"
    : info.isSocket
    ? "a socket"
    : info.isCharDevice || info.isBlockDevice
    ? "a device"
    : "a special file";
  throw new Error(`${path} is ${kind}, not a regular log file`);
}

/**
 * Polls one file. A file in error is opened again first (from its last committed position);
 * an error now closes it and returns no batch.
 */
export async function pollTail(
  ctx: DaemonContext,
  path: string,
  rt: TailRuntime,
): Promise<Batch[]> {
  try {
    if (rt.error !== undefined) {
      checkRegular(path);
      rt.tail = new LogTail(path, tailOptions(ctx));
      await rt.tail.open(ctx.positions.get(path));
    }
    const batches = await rt.tail.poll();
    if (rt.error !== undefined) {
      ctx.logger.info("log_readable", { jail: jailNames(rt), path, was: rt.error });
      rt.error = undefined;
    }
    return batches;
  } catch (error) {
    failed(ctx, path, rt, error);
    return [];
  }
}

/** The state of one followed file for `status`. */
export function fileState(rt: TailRuntime | undefined): { state: FileState; error?: string } {
  if (rt === undefined) return { state: "missing" };
  if (rt.error !== undefined) return { state: "unreadable", error: rt.error };
  return { state: rt.tail.hasFile ? "ok" : "missing" };
}

/** The `status` entries of a jail's logpath globs that match no file now (state `waiting`). */
export function waitingGlobs(jail: JailRuntime): JailFileStatus[] {
  const out: JailFileStatus[] = [];
  for (const pattern of jail.config.logPaths) {
    if (!/[*?[]/.test(pattern)) continue;
    if ([...jail.paths].some((p) => p === pattern || globCovers(pattern, p))) continue;
    out.push({ path: pattern, offset: 0, lastRead: undefined, state: "waiting" });
  }
  return out;
}

function globCovers(pattern: string, path: string): boolean {
  const a = pattern.split("/");
  const b = path.split("/");
  return a.length === b.length &&
    a.every((part, i) => /[*?[]/.test(part) ? globToRegExp(part).test(b[i]!) : part === b[i]);
}
