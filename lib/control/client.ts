/**
 * The client side of the control socket: one request, one response, then close.
 * @module
 */
import {
  type ControlRequest,
  type ControlResponse,
  formatRequest,
  parseResponse,
} from "./protocol.ts";
import { RuntimeError } from "../core/mod.ts";

/** The daemon's socket cannot be connected to (no socket, refused, no permission). */
export class DaemonUnreachableError extends RuntimeError {
  /** The socket's path. */
  readonly socketPath: string;
  /** Why, in a few words ("no such socket", "connection refused", ...). */
  readonly reason: string;
  /** Builds the error from the path and the reason. */
  constructor(socketPath: string, reason: string, options?: ErrorOptions) {
    super(`cannot reach the daemon at ${socketPath}: ${reason} (is banwatch running?)`, options);
    this.name = "DaemonUnreachableError";
    this.socketPath = socketPath;
    this.reason = reason;
  }
}

/** Options of {@link sendRequest}. */
export interface SendRequestOptions {
  /** Seconds to wait for the whole exchange (default 30). */
  timeout?: number;
  /** Longest response accepted in bytes (default 64 MiB). */
  maxResponseBytes?: number;
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such socket";
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.PermissionDenied) {
    return "permission denied (the socket is mode 0600: run as root)";
  }
  if (error instanceof Deno.errors.NotCapable) {
    return "this program lacks the net permission for the socket (--allow-net)";
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n", 1)[0] ?? message;
}

/**
 * Sends one request to the daemon's socket and resolves to its response.
 * An unreachable daemon (DaemonUnreachableError), a timeout or a garbled answer throw RuntimeError naming the path.
 * @param socketPath the daemon's socket
 * @param request the request
 */
export async function sendRequest(
  socketPath: string,
  request: ControlRequest,
  options: SendRequestOptions = {},
): Promise<ControlResponse> {
  const timeout = options.timeout ?? 30;
  const maxBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (error) {
    throw new DaemonUnreachableError(socketPath, describe(error), { cause: error });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  }, timeout * 1000);
  try {
    const data = new TextEncoder().encode(formatRequest(request));
    let offset = 0;
    while (offset < data.length) offset += await conn.write(data.subarray(offset));
    const chunks: Uint8Array[] = [];
    let size = 0;
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      const piece = buffer.slice(0, n);
      chunks.push(piece);
      size += n;
      if (piece.includes(10)) break;
      if (size > maxBytes) {
        throw new RuntimeError(
          `the daemon at ${socketPath} sent a response longer than ${maxBytes} bytes`,
        );
      }
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    const end = all.indexOf(10);
    if (end < 0) {
      throw new RuntimeError(
        `the daemon at ${socketPath} closed the connection without an answer`,
      );
    }
    const line = new TextDecoder().decode(all.subarray(0, end));
    const response = parseResponse(line);
    if ("error" in response && !("ok" in response)) {
      throw new RuntimeError(`bad answer from the daemon at ${socketPath}: ${response.error}`);
    }
    return response;
  } catch (error) {
    if (timedOut) {
      throw new RuntimeError(
        `no answer from the daemon at ${socketPath} within ${timeout}s (is banwatch busy?)`,
        { cause: error },
      );
    }
    if (error instanceof RuntimeError) throw error;
    throw new RuntimeError(
      `lost the connection to the daemon at ${socketPath}: ${describe(error)}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
    if (!timedOut) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
}
