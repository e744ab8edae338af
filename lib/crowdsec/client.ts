/**
 * The HTTP client of CrowdSec's Local API: machine login (JWT, renewed on 401), alerts pushed,
 * decisions deleted, and the bouncer's decisions stream. Each call has a timeout; failures
 * throw {@link LapiError}. The secrets are held here only and never put in a message.
 * @module
 */
import { VERSION } from "../core/mod.ts";
import type { LapiAlert } from "./alerts.ts";
import type { DecisionStream, LapiDecision } from "./decisions.ts";

/** A LAPI call that failed: no answer (status 0) or an unexpected HTTP status. */
export class LapiError extends Error {
  /** The HTTP status, 0 when LAPI did not answer. */
  readonly status: number;
  /**
   * @param message what failed
   * @param status the HTTP status, 0 when there was no answer
   */
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "LapiError";
    this.status = status;
  }
}

/** How to reach LAPI and who to be. */
export interface LapiClientOptions {
  /** Base URL without a trailing slash. */
  url: string;
  /** Machine credentials (push); undefined: no push. */
  machine?: { id: string; password: string };
  /** Bouncer API key (pull); undefined: no pull. */
  bouncerKey?: string;
  /** Seconds before a call is abandoned (default 5). */
  timeout?: number;
}

/** One LAPI, seen as a machine and/or a bouncer. */
export class LapiClient {
  #options: LapiClientOptions;
  #token: string | undefined;

  /** @param options where LAPI is and the credentials */
  constructor(options: LapiClientOptions) {
    this.#options = options;
  }

  async #call(
    method: string,
    path: string,
    init: { body?: unknown; auth: "machine" | "bouncer" | "none" },
  ): Promise<Response> {
    // LAPI refuses a machine login whose User-Agent is not exactly `name/version`.
    const headers: Record<string, string> = { "user-agent": `banwatch/${VERSION}` };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    if (init.auth === "bouncer") headers["x-api-key"] = this.#options.bouncerKey ?? "";
    if (init.auth === "machine") headers["authorization"] = `Bearer ${this.#token ?? ""}`;
    try {
      return await fetch(`${this.#options.url}${path}`, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout((this.#options.timeout ?? 5) * 1000),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
      throw new LapiError(`${method} ${path}: no answer: ${reason}`, 0, { cause: error });
    }
  }

  async #expect(response: Response, ok: number[], what: string): Promise<unknown> {
    const text = await response.text();
    if (!ok.includes(response.status)) {
      let message = text.slice(0, 200);
      try {
        message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
      } catch { /* not JSON */ }
      throw new LapiError(`${what}: HTTP ${response.status}: ${message}`, response.status);
    }
    if (text === "" || text === "null") return null;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new LapiError(`${what}: answer is not JSON`, response.status, { cause: error });
    }
  }

  /** Logs the machine in (`POST /v1/watchers/login`), keeping the JWT. */
  async login(): Promise<void> {
    const machine = this.#options.machine;
    if (!machine) throw new LapiError("no machine credentials", 0);
    const response = await this.#call("POST", "/v1/watchers/login", {
      auth: "none",
      body: { machine_id: machine.id, password: machine.password, scenarios: [] },
    });
    const body = await this.#expect(response, [200], "login") as { token?: unknown };
    if (typeof body?.token !== "string") throw new LapiError("login: no token", 200);
    this.#token = body.token;
  }

  /** A machine call: logs in first if needed and once more on 401 (expired token). */
  async #machine(method: string, path: string, body: unknown, ok: number[]): Promise<unknown> {
    if (this.#token === undefined) await this.login();
    let response = await this.#call(method, path, { auth: "machine", body });
    if (response.status === 401) {
      await response.body?.cancel();
      this.#token = undefined;
      await this.login();
      response = await this.#call(method, path, { auth: "machine", body });
    }
    return await this.#expect(response, ok, `${method} ${path}`);
  }

  /** Pushes alerts (`POST /v1/alerts`); returns their ids in order. */
  async pushAlerts(alerts: readonly LapiAlert[]): Promise<number[]> {
    const ids = await this.#machine("POST", "/v1/alerts", alerts, [200, 201]);
    if (!Array.isArray(ids)) throw new LapiError("POST /v1/alerts: no ids", 201);
    return ids.map(Number);
  }

  /** The ids of an alert's decisions (`GET /v1/alerts/ID`). */
  async alertDecisionIds(alertId: number): Promise<number[]> {
    const alert = await this.#machine("GET", `/v1/alerts/${alertId}`, undefined, [200]) as {
      decisions?: Array<{ id?: unknown }>;
    };
    return (alert?.decisions ?? []).map((d) => Number(d.id)).filter(Number.isInteger);
  }

  /** Deletes one decision (`DELETE /v1/decisions/ID`); a missing one is not an error. */
  async deleteDecision(id: number): Promise<void> {
    await this.#machine("DELETE", `/v1/decisions/${id}`, undefined, [200, 404]);
  }

  /** Reads the bouncer's decisions stream: the full set with `startup`, else the changes. */
  async stream(startup: boolean): Promise<DecisionStream> {
    const path = `/v1/decisions/stream${startup ? "?startup=true" : ""}`;
    const response = await this.#call("GET", path, { auth: "bouncer" });
    const body = await this.#expect(response, [200], "stream") as Partial<DecisionStream> | null;
    return { new: listOf(body?.new), deleted: listOf(body?.deleted) };
  }
}

function listOf(v: unknown): LapiDecision[] | null {
  if (!Array.isArray(v)) return null;
  return v.filter((d): d is LapiDecision =>
    typeof d === "object" && d !== null && Number.isInteger((d as { id?: unknown }).id)
  );
}
