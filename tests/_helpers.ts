import { RUN_FLAGS } from "../scripts/flags.ts";

/** The repository root. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** What a finished banwatch process printed. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns `deno run <RUN_FLAGS> main.ts ...args` as the compiled binary would run. */
export async function runCli(
  args: readonly string[],
  options: { stdin?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...RUN_FLAGS, `${ROOT}main.ts`, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
  });
  const child = cmd.spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
