/**
 * One daemon per state directory: `run` holds an exclusive flock(2) on `state_dir/banwatch.lock`
 * from before it reads the state until it exits. The lock dies with the process, so a daemon
 * killed with SIGKILL never leaves a stale lock; the pid written inside only names the holder
 * in the message of a second `run`.
 * @module
 */
import { RuntimeError } from "../core/mod.ts";

/** The lock file's name inside the state directory. */
export const LOCK_FILE = "banwatch.lock";

/** A held state-directory lock. */
export interface StateDirLock {
  /** The lock file's path. */
  readonly path: string;
  /** Releases the lock and closes the file (idempotent). */
  release(): void;
}

/**
 * Takes the exclusive lock on `dir` (created, mode 0700, when missing) without waiting.
 * @param dir the state directory
 * @param options the pid to write inside (default this process)
 * @throws RuntimeError `state directory DIR is in use by pid N` when another process holds it
 */
export async function lockStateDir(
  dir: string,
  options: { pid?: number } = {},
): Promise<StateDirLock> {
  const path = `${dir}/${LOCK_FILE}`;
  let file: Deno.FsFile;
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o644 });
  } catch (error) {
    throw new RuntimeError(
      `Cannot lock state directory ${dir}: ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
  let locked = false;
  try {
    locked = await file.tryLock(true);
  } catch (error) {
    file.close();
    throw new RuntimeError(
      `Cannot lock state directory ${dir}: ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
  if (!locked) {
    const holder = (await readPid(path)) ?? "unknown";
    file.close();
    throw new RuntimeError(`state directory ${dir} is in use by pid ${holder}`);
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${options.pid ?? Deno.pid}\n`));
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

async function readPid(path: string): Promise<string | undefined> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    return /^\d+$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}
