/**
 * Installs the ipfw test double (tests/testdata/fake_ipfw.ts) as an executable `dir/ipfw`.
 * @module
 */

/** Where the installed double keeps its state and call log. */
export interface FakeIpfw {
  /** Absolute path of the executable wrapper (give it to the backend as ipfwPath). */
  path: string;
  /** The JSON "kernel" state file. */
  statePath: string;
  /** One JSON argv array per invocation. */
  logPath: string;
  /** The environment baked into the wrapper (FAKE_IPFW_STATE, FAKE_IPFW_LOG). */
  env: Record<string, string>;
}

/** The double's source file. */
export const FAKE_IPFW_SOURCE: string =
  new URL("./testdata/fake_ipfw.ts", import.meta.url).pathname;

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Writes `dir/ipfw`: a /bin/sh wrapper exec'ing the double with its state and log paths set,
 * so whatever runs it needs no extra environment. Extra `env` entries (e.g. FAKE_IPFW_FAIL)
 * are baked in too.
 * @param dir an existing directory (a test's temp dir)
 * @param options extra environment for the double
 */
export async function installFakeIpfw(
  dir: string,
  options: { env?: Record<string, string> } = {},
): Promise<FakeIpfw> {
  const path = `${dir}/ipfw`;
  const statePath = `${dir}/ipfw-state.json`;
  const logPath = `${dir}/ipfw-calls.log`;
  const env: Record<string, string> = {
    FAKE_IPFW_STATE: statePath,
    FAKE_IPFW_LOG: logPath,
    ...options.env,
  };
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(" ");
  const script = [
    "#!/bin/sh",
    `export ${assignments}`,
    `exec ${shellQuote(Deno.execPath())} run --quiet --no-lock --allow-read --allow-write ` +
    `--allow-env ${shellQuote(FAKE_IPFW_SOURCE)} "$@"`,
    "",
  ].join("\n");
  await Deno.writeTextFile(path, script, { mode: 0o755 });
  await Deno.chmod(path, 0o755);
  return { path, statePath, logPath, env };
}

/** The argv arrays the double was called with, in order. */
export async function readFakeIpfwCalls(fake: FakeIpfw): Promise<string[][]> {
  let text = "";
  try {
    text = await Deno.readTextFile(fake.logPath);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as string[]);
}

/** The double's kernel tables: name -> (key -> value). */
export async function readFakeIpfwTables(
  fake: FakeIpfw,
): Promise<Record<string, Record<string, number>>> {
  let text = "";
  try {
    text = await Deno.readTextFile(fake.statePath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
  const state = JSON.parse(text) as {
    tables?: Record<string, { entries: Record<string, number> }>;
  };
  const out: Record<string, Record<string, number>> = {};
  for (const [name, t] of Object.entries(state.tables ?? {})) out[name] = t.entries;
  return out;
}
