/**
 * A real CrowdSec Local API for tests: scripts/crowdsec/lapi.sh installs Debian's package
 * (offline) if needed and starts it API-only on a private port with its own database in a
 * temp dir. No mock: tests talk to the engine itself.
 * @module
 */
import { ROOT } from "./_helpers.ts";

const SCRIPT = `${ROOT}scripts/crowdsec/lapi.sh`;

/** A running private LAPI. */
export interface Lapi {
  /** Its directory (config, database, logs). */
  dir: string;
  /** Its port on 127.0.0.1. */
  port: number;
  /** Its base URL. */
  url: string;
  /** Runs `cscli` against it; throws with stderr on failure. */
  cscli(...args: string[]): Promise<string>;
  /** Adds a validated machine. */
  machine(name: string, password: string): Promise<void>;
  /** Adds a bouncer with that key. */
  bouncer(name: string, key: string): Promise<void>;
  /** Stops it (its database stays). */
  stop(): Promise<void>;
  /** Starts it again on the same port and database. */
  start(): Promise<void>;
}

async function script(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const result = await new Deno.Command(SCRIPT, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: result.code, out: dec.decode(result.stdout), err: dec.decode(result.stderr) };
}

async function must(...args: string[]): Promise<string> {
  const r = await script(...args);
  if (r.code !== 0) throw new Error(`lapi.sh ${args.join(" ")}: exit ${r.code}: ${r.err}`);
  return r.out;
}

/**
 * Why no LAPI can run here (crowdsec cannot be installed), or undefined when it can. The
 * install is tried once per process.
 */
let installed: Promise<string | undefined> | undefined;
export function lapiUnavailable(): Promise<string | undefined> {
  installed ??= script("install").then((r) =>
    r.code === 0 ? undefined : `crowdsec cannot be installed here: ${r.err.trim()}`
  );
  return installed;
}

/** Starts a private LAPI in a fresh temp dir; call `stop()` and remove `dir` afterwards. */
export async function startLapi(): Promise<Lapi> {
  const dir = await Deno.makeTempDir({ prefix: "bw-lapi-" });
  const port = 20000 + Math.floor(Math.random() * 20000);
  const lapi: Lapi = {
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    cscli: (...args) => must("cscli", dir, ...args),
    machine: async (name, password) => void await must("machine", dir, name, password),
    bouncer: async (name, key) => void await must("bouncer", dir, name, key),
    stop: async () => void await must("stop", dir),
    start: async () => void await must("start", dir, String(port)),
  };
  await lapi.start();
  return lapi;
}

/** Decisions LAPI holds now (`cscli decisions list -o json`), flattened. */
export async function lapiDecisions(
  lapi: Lapi,
): Promise<Array<{ id: number; value: string; scenario: string; origin: string }>> {
  const text = await lapi.cscli("decisions", "list", "-o", "json");
  const alerts = JSON.parse(text || "null") as
    | Array<{ decisions?: Array<{ id: number; value: string; scenario: string; origin: string }> }>
    | null;
  return (alerts ?? []).flatMap((a) => a.decisions ?? []);
}
