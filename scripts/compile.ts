// deno-lint-ignore-file no-console
/**
 * Builds the single-file binary in two steps: `deno bundle` writes dist/banwatch.js (main.ts
 * and smol-toml in one JavaScript file, the artifact the tests prove runs), then `deno compile`
 * embeds that file with exactly the flags of scripts/flags.ts (permissions, V8 flags, no code
 * cache), writing dist/banwatch.
 *
 * `deno compile` embeds a runtime (`denort`) of the same Deno version. It is taken from, in
 * order: DENORT_BIN; on FreeBSD /usr/local/bin/denort (`pkg install deno` ships it); the
 * cache `$DENO_DIR/dl/release/v<version>/denort-<target>.zip`; else deno downloads it from
 * dl.deno.land (skipped with --offline; limited by --timeout). When none works, this says
 * what is missing and how to get it, and exits 1.
 *
 * Usage: deno task compile [--offline] [--timeout SECONDS] [-o PATH] [--print]
 * @module
 */
import { parseArgs } from "node:util";
import { BUNDLE_FLAGS, PERMISSION_FLAGS, V8_FLAGS } from "./flags.ts";

/** Where `pkg install deno` puts the runtime on FreeBSD. */
export const FREEBSD_DENORT = "/usr/local/bin/denort";

const ROOT = new URL("..", import.meta.url).pathname;

/** The bundle written beside the binary (`dist/banwatch` -> `dist/banwatch.js`). */
export function bundlePath(output: string): string {
  return `${output}.js`;
}

/** The `deno bundle` argv (after the deno executable) that writes `bundle`. */
export function bundleArgs(bundle: string): string[] {
  return ["bundle", "--quiet", "--platform=deno", "-o", bundle, `${ROOT}main.ts`];
}

/** The `deno compile` argv (after the deno executable) that embeds `bundle` into `output`. */
export function compileArgs(output: string, bundle: string = bundlePath(output)): string[] {
  return ["compile", ...BUNDLE_FLAGS, ...PERMISSION_FLAGS, ...V8_FLAGS, "-o", output, bundle];
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function denoDir(): Promise<string | undefined> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir?: unknown };
    return typeof info.denoDir === "string" ? info.denoDir : undefined;
  } catch {
    return undefined;
  }
}

function howToGet(version: string, cache: string | undefined): string {
  return [
    "How to get one:",
    `  on FreeBSD: pkg install deno   (installs ${FREEBSD_DENORT}, the runtime of that deno)`,
    `  elsewhere:  DENORT_BIN=/path/to/denort deno task compile   (a denort of Deno ${version},`,
    "              the same version as the deno running this script)",
    ...(cache ? [`  or put the release's denort zip at ${cache}`] : []),
    "",
  ].join("\n");
}

/** Runs the build; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        offline: { type: "boolean" },
        timeout: { type: "string" },
        output: { type: "string", short: "o" },
        print: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`compile: ${error instanceof Error ? error.message.split(". ")[0] : error}`);
    console.error("Usage: deno task compile [--offline] [--timeout SECONDS] [-o PATH] [--print]");
    return 2;
  }
  const timeout = Number(values.timeout ?? "300");
  if (!(timeout > 0)) {
    console.error(`compile: --timeout ${values.timeout} is not a positive number of seconds`);
    return 2;
  }
  const output = values.output ?? `${ROOT}dist/banwatch`;
  const version = Deno.version.deno;
  const target = Deno.build.target;
  const env: Record<string, string> = {};
  const dir = await denoDir();
  const cache = dir ? `${dir}/dl/release/v${version}/denort-${target}.zip` : undefined;

  const denortBin = Deno.env.get("DENORT_BIN");
  let runtime: string;
  if (denortBin !== undefined && denortBin !== "") {
    if (!isFile(denortBin)) {
      console.error(`compile: DENORT_BIN=${denortBin}: no such file`);
      console.error(howToGet(version, undefined));
      return 1;
    }
    env.DENORT_BIN = denortBin;
    runtime = `DENORT_BIN=${denortBin}`;
  } else if (Deno.build.os === "freebsd" && isFile(FREEBSD_DENORT)) {
    env.DENORT_BIN = FREEBSD_DENORT;
    runtime = `DENORT_BIN=${FREEBSD_DENORT}`;
  } else if (cache && isFile(cache)) {
    runtime = `the cached ${cache}`;
  } else if (values.offline) {
    console.error(
      [
        `compile: no Deno runtime (denort ${version}, ${target}) to build ${output} from.`,
        "  DENORT_BIN is not set;",
        Deno.build.os === "freebsd"
          ? `  ${FREEBSD_DENORT} does not exist;`
          : `  ${FREEBSD_DENORT} is only used on FreeBSD;`,
        `  ${cache ?? "the deno cache directory"} does not exist;`,
        `  and --offline: not downloading it from dl.deno.land.`,
      ].join("\n"),
    );
    console.error(howToGet(version, cache));
    return 1;
  } else {
    runtime = `a download from https://dl.deno.land/release/v${version}/denort-${target}.zip`;
  }

  const bundle = bundlePath(output);
  const bundling = bundleArgs(bundle);
  const argv = compileArgs(output, bundle);
  console.error(`compile: runtime: ${runtime}`);
  console.error(`compile: deno ${bundling.join(" ")}`);
  console.error(
    `compile: ${env.DENORT_BIN ? `DENORT_BIN=${env.DENORT_BIN} ` : ""}deno ${argv.join(" ")}`,
  );
  if (values.print) return 0;

  await Deno.mkdir(output.replace(/\/[^/]*$/, "") || ".", { recursive: true });
  const bundled = await new Deno.Command(Deno.execPath(), {
    args: bundling,
    cwd: ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!bundled.success) {
    await Deno.stderr.write(bundled.stderr);
    console.error(`compile: deno bundle failed (exit ${bundled.code})`);
    return 1;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: argv,
    env,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeout * 1000);
  const result = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(result.stderr);
  if (result.success) {
    if (stderr) await Deno.stderr.write(new TextEncoder().encode(stderr));
    console.error(`compile: wrote ${output}`);
    return 0;
  }
  if (stderr) await Deno.stderr.write(new TextEncoder().encode(stderr));
  const downloading = !env.DENORT_BIN && !(cache && isFile(cache));
  if (downloading && (result.signal === "SIGKILL" || /dl\.deno\.land|download/i.test(stderr))) {
    console.error(
      [
        result.signal === "SIGKILL"
          ? `compile: no runtime: downloading denort took longer than ${timeout}s.`
          : `compile: no runtime: deno could not download denort ${version} for ${target}` +
            " (above). DENORT_BIN is not set and there is no cached copy.",
      ].join("\n"),
    );
    console.error(howToGet(version, cache));
  } else {
    console.error(`compile: deno compile failed (exit ${result.code})`);
  }
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
