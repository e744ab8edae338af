/**
 * The control socket's listener, the shell half of the protocol (protocol.ts): a Unix socket
 * (mode 0600) where each connection sends request lines and gets one response line each,
 * with limits on request size, connections, idle and write time.
 * @module
 */
import { type Logger, RuntimeError } from "../core/mod.ts";
import {
  type ControlHandler,
  type ControlResponse,
  failureResponse,
  formatResponse,
  handleRequest,
  parseRequest,
} from "./protocol.ts";

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A running control socket. */
export interface ControlServer {
  /** The socket's path. */
  readonly path: string;
  /** Stops accepting, closes every connection, waits for them and removes the socket file. */
  close(): Promise<void>;
}

/** Options of {@link serveControl}. */
export interface ServeControlOptions {
  /** Where events go. */
  logger: Logger;
  /** Longest request line in bytes (default 64 KiB). */
  maxRequestBytes?: number;
  /** Most connections served at once (default 64); at the limit the longest-idle one is closed. */
  maxConnections?: number;
  /** Seconds a connection may stay silent before it is closed (default 60). */
  idleTimeout?: number;
  /** Seconds a response may take to be written before the connection is dropped (default 5). */
  writeTimeout?: number;
}

const ENCODER = new TextEncoder();

/** Removes a socket file left by a dead daemon; refuses when something answers or it is no socket. */
async function clearStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new RuntimeError(`cannot inspect ${path}: ${errorMessage(error)}`, { cause: error });
  }
  if (info.isSocket !== true) {
    throw new RuntimeError(
      `${path} exists and is not a socket; remove it or set another [global] socket`,
    );
  }
  let conn: Deno.UnixConn | undefined;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    if (
      error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.NotFound
    ) {
      try {
        await Deno.remove(path);
      } catch (removeError) {
        if (!(removeError instanceof Deno.errors.NotFound)) {
          throw new RuntimeError(
            `cannot remove the stale socket ${path}: ${errorMessage(removeError)}`,
            { cause: removeError },
          );
        }
      }
      return;
    }
    throw new RuntimeError(`cannot check the existing socket ${path}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  conn.close();
  throw new RuntimeError(`another process is listening on ${path} (is banwatch already running?)`);
}

/** Resolves after `seconds`, or never if `seconds` is not finite; cancel with the returned function. */
function timer(seconds: number): { done: Promise<"timeout">; cancel: () => void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<"timeout">((resolve) => {
    if (Number.isFinite(seconds)) id = setTimeout(() => resolve("timeout"), seconds * 1000);
  });
  return { done, cancel: () => clearTimeout(id) };
}

/** Reads once; "timeout" after `seconds` of silence, null at end of input. */
async function readWithTimeout(
  conn: Deno.Conn,
  buffer: Uint8Array,
  seconds: number,
): Promise<number | null | "timeout"> {
  const read = conn.read(buffer);
  read.catch(() => {});
  const t = timer(seconds);
  try {
    return await Promise.race([read, t.done]);
  } finally {
    t.cancel();
  }
}

/** Writes everything within `seconds`; false when it could not (the caller closes). */
async function writeWithTimeout(
  conn: Deno.Conn,
  data: Uint8Array,
  seconds: number,
): Promise<boolean> {
  const t = timer(seconds);
  try {
    let offset = 0;
    while (offset < data.length) {
      const write = conn.write(data.subarray(offset));
      write.catch(() => {});
      const n = await Promise.race([write, t.done]);
      if (n === "timeout") return false;
      offset += n;
    }
    return true;
  } catch {
    return false;
  } finally {
    t.cancel();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

interface ConnectionLimits {
  maxRequestBytes: number;
  idleTimeout: number;
  writeTimeout: number;
}

/** What the accept loop knows of a live connection, to evict the idlest one when full. */
interface ConnectionActivity {
  /** performance.now() of the last byte read or response written. */
  lastActive: number;
  /** True while a request is being handled. */
  busy: boolean;
}

/** Serves one connection: one response per request line, in order. */
async function serveConnection(
  conn: Deno.Conn,
  handler: ControlHandler,
  limits: ConnectionLimits,
  logger: Logger,
  activity: ConnectionActivity = { lastActive: 0, busy: false },
): Promise<void> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const chunk = new Uint8Array(16 * 1024);
  let pending: Uint8Array = new Uint8Array(0);
  const reply = (response: ControlResponse): Promise<boolean> =>
    writeWithTimeout(conn, ENCODER.encode(formatResponse(response)), limits.writeTimeout);
  const refuse = async (reason: string): Promise<void> => {
    logger.warn("control.bad_request", { reason });
    await reply(failureResponse("usage", reason));
  };
  try {
    while (true) {
      let newline: number;
      while ((newline = pending.indexOf(10)) >= 0) {
        const bytes = pending.subarray(0, newline);
        pending = pending.subarray(newline + 1);
        if (bytes.length > limits.maxRequestBytes) {
          return await refuse(`request longer than ${limits.maxRequestBytes} bytes`);
        }
        let text: string;
        try {
          text = decoder.decode(bytes);
        } catch {
          return await refuse("the request is not valid UTF-8");
        }
        if (text.endsWith("\r")) text = text.slice(0, -1);
        if (text.trim() === "") continue;
        const parsed = parseRequest(text);
        activity.busy = true;
        let response: ControlResponse;
        if ("error" in parsed) {
          logger.warn("control.bad_request", { reason: parsed.error });
          response = failureResponse("usage", parsed.error, { id: parsed.id });
        } else {
          logger.debug("control.request", { cmd: parsed.cmd });
          response = await handleRequest(handler, parsed, { pid: Deno.pid });
          if (!response.ok) {
            logger.info("control.refused", { cmd: parsed.cmd, error: response.error });
          }
        }
        const written = await reply(response);
        activity.busy = false;
        activity.lastActive = performance.now();
        if (!written) {
          logger.warn("control.write_timeout", {});
          return;
        }
      }
      if (pending.length > limits.maxRequestBytes) {
        return await refuse(`request longer than ${limits.maxRequestBytes} bytes`);
      }
      const n = await readWithTimeout(conn, chunk, limits.idleTimeout);
      if (n === "timeout") {
        logger.debug("control.idle_timeout", {});
        return;
      }
      if (n === null) {
        if (pending.some((b) => b !== 32 && b !== 9 && b !== 13)) {
          await refuse("incomplete request: the connection ended before a newline");
        }
        return;
      }
      activity.lastActive = performance.now();
      pending = concat(pending, chunk.subarray(0, n));
    }
  } catch (error) {
    // A reset or a close by server.close(): nothing to answer.
    logger.debug("control.connection_error", { error: errorMessage(error) });
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Listens on a Unix socket (mode 0600) and answers requests with `handler`. A stale socket
 * file is removed only when nothing answers on it. Needs read, write and net permission on the
 * path (`--allow-net=unix:<path>` or `--allow-net`).
 * @param path the socket's path
 * @param handler the daemon's implementation
 */
export async function serveControl(
  path: string,
  handler: ControlHandler,
  options: ServeControlOptions,
): Promise<ControlServer> {
  const { logger } = options;
  const limits: ConnectionLimits = {
    maxRequestBytes: options.maxRequestBytes ?? 64 * 1024,
    idleTimeout: options.idleTimeout ?? 60,
    writeTimeout: options.writeTimeout ?? 5,
  };
  const maxConnections = options.maxConnections ?? 64;
  await clearStaleSocket(path);
  let listener: Deno.UnixListener;
  const oldMask = Deno.umask(0o177);
  try {
    listener = Deno.listen({ transport: "unix", path });
  } catch (error) {
    throw new RuntimeError(`cannot listen on ${path}: ${errorMessage(error)}`, { cause: error });
  } finally {
    Deno.umask(oldMask);
  }
  try {
    await Deno.chmod(path, 0o600);
  } catch (error) {
    listener.close();
    throw new RuntimeError(`cannot set mode 0600 on ${path}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  logger.info("control.listening", { path });

  const connections = new Map<Deno.Conn, ConnectionActivity>();
  const tasks = new Set<Promise<void>>();
  let closing = false;
  const track = (task: Promise<void>): void => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };
  const acceptLoop = (async () => {
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closing) return;
        if (error instanceof Deno.errors.BadResource) return;
        logger.warn("control.accept_failed", { error: errorMessage(error) });
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (closing) {
        conn.close();
        return;
      }
      if (connections.size >= maxConnections) {
        // Full: drop the connection idle the longest, so silent clients cannot lock out root.
        let idlest: [Deno.Conn, ConnectionActivity] | undefined;
        for (const entry of connections) {
          if (!entry[1].busy && (!idlest || entry[1].lastActive < idlest[1].lastActive)) {
            idlest = entry;
          }
        }
        if (idlest) {
          logger.warn("control.too_many_connections", {
            limit: maxConnections,
            action: "closed the idlest",
          });
          connections.delete(idlest[0]);
          try {
            idlest[0].close();
          } catch {
            // already closed
          }
        } else {
          logger.warn("control.too_many_connections", { limit: maxConnections });
          track((async () => {
            await writeWithTimeout(
              conn,
              ENCODER.encode(formatResponse(failureResponse(
                "runtime",
                `too many control connections (limit ${maxConnections}); try again`,
              ))),
              1,
            );
            try {
              conn.close();
            } catch {
              // already closed
            }
          })());
          continue;
        }
      }
      const activity: ConnectionActivity = { lastActive: performance.now(), busy: false };
      connections.set(conn, activity);
      track(
        serveConnection(conn, handler, limits, logger, activity).finally(() =>
          connections.delete(conn)
        ),
      );
    }
  })();

  return {
    path,
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      for (const conn of connections.keys()) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await acceptLoop;
      await Promise.allSettled([...tasks]);
      try {
        await Deno.remove(path);
      } catch {
        // Deno removes the file when the listener closes
      }
      logger.info("control.closed", { path });
    },
  };
}
