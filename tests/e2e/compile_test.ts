import { assertEquals, assertMatch, assertOk, assertRejects } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";
import { bundleArgs, compileArgs } from "../../scripts/compile.ts";
import { BUNDLE_RUN_FLAGS, PERMISSION_FLAGS, V8_FLAGS } from "../../scripts/flags.ts";

interface Result {
  code: number;
  stderr: string;
}

/** Runs scripts/compile.ts as `deno task compile` does, with only the given environment. */
async function compile(args: string[], env: Record<string, string>): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      `${ROOT}scripts/compile.ts`,
      ...args,
    ],
    cwd: ROOT,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bwcompile" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("compileArgs() embeds the bundle with exactly the flags of scripts/flags.ts", () => {
  assertEquals(compileArgs("dist/banwatch"), [
    "compile",
    "--no-config",
    "--no-code-cache",
    ...PERMISSION_FLAGS,
    ...V8_FLAGS,
    "-o",
    "dist/banwatch",
    "dist/banwatch.js",
  ]);
  // The tests and benchmarks that run the bundle "as the binary does" use the same flags.
  assertEquals(compileArgs("x", "x.js").slice(1, -3), [...BUNDLE_RUN_FLAGS]);
  assertEquals(bundleArgs("dist/banwatch.js").slice(-3), [
    "-o",
    "dist/banwatch.js",
    `${ROOT}main.ts`,
  ]);
});

Deno.test("scripts/compile.ts with DENORT_BIN naming a missing file exits 1 and says how to get one", async () => {
  await withDir(async (dir) => {
    const r = await compile(["-o", `${dir}/banwatch`], {
      DENORT_BIN: `${dir}/no/denort`,
      HOME: dir,
    });
    assertEquals(r.code, 1);
    assertMatch(r.stderr, new RegExp(`^compile: DENORT_BIN=${dir}/no/denort: no such file$`, "m"));
    assertMatch(r.stderr, /on FreeBSD: pkg install deno .*\/usr\/local\/bin\/denort/);
    assertMatch(
      r.stderr,
      new RegExp(`DENORT_BIN=/path/to/denort .*Deno ${Deno.version.deno}`, "s"),
    );
    await Deno.stat(`${dir}/banwatch`).then(
      () => assertOk(false, "nothing written"),
      () => {},
    );
  });
});

Deno.test("scripts/compile.ts with no runtime anywhere names what is missing and exits 1", async () => {
  await withDir(async (dir) => {
    const r = await compile(["--offline", "-o", `${dir}/banwatch`], {
      DENO_DIR: `${dir}/deno`,
      HOME: dir,
    });
    assertEquals(r.code, 1);
    const cache = `${dir}/deno/dl/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
    assertMatch(r.stderr, /^compile: no Deno runtime \(denort /m);
    assertMatch(r.stderr, /DENORT_BIN is not set/);
    assertOk(r.stderr.includes(`${cache} does not exist`), r.stderr);
    assertMatch(r.stderr, /pkg install deno/);
    assertOk(r.stderr.includes(`or put the release's denort zip at ${cache}`), r.stderr);
  });
});

Deno.test("scripts/compile.ts --print shows the deno bundle and compile commands it would run", async () => {
  await withDir(async (dir) => {
    const denort = `${dir}/denort`;
    await Deno.writeTextFile(denort, "");
    const r = await compile(["--print", "-o", `${dir}/banwatch`], {
      DENORT_BIN: denort,
      HOME: dir,
    });
    assertEquals(r.code, 0, r.stderr);
    assertOk(
      r.stderr.includes(
        `compile: deno ${bundleArgs(`${dir}/banwatch.js`).join(" ")}\n` +
          `compile: DENORT_BIN=${denort} deno ${compileArgs(`${dir}/banwatch`).join(" ")}\n`,
      ),
      r.stderr,
    );
    await assertRejects(() => Deno.stat(`${dir}/banwatch.js`)); // --print builds nothing
  });
});

Deno.test("scripts/compile.ts builds with DENORT_BIN and writes the output", async () => {
  await withDir(async (dir) => {
    // Any ELF executable serves as the base for the Linux code path; the result is not run.
    const base = "/bin/true";
    try {
      await Deno.stat(base);
    } catch {
      // deno-lint-ignore no-console
      console.warn(`${base} is missing; compile build test skipped`);
      return;
    }
    const r = await compile(["--timeout", "240", "-o", `${dir}/out/banwatch`], {
      DENORT_BIN: base,
      HOME: dir,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    });
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, new RegExp(`compile: wrote ${dir}/out/banwatch`));
    const size = (await Deno.stat(`${dir}/out/banwatch`)).size;
    assertOk(size > (await Deno.stat(base)).size, "payload appended");
    // What it embedded is the bundle: one self-contained file, written beside the binary.
    const bundle = await Deno.readTextFile(`${dir}/out/banwatch.js`);
    assertOk(!/from\s+["'](?:npm:|\.\/|smol-toml)/.test(bundle), "no import left but node: ones");
  });
});
