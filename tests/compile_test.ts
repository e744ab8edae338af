import { assertEquals, assertMatch, assertOk } from "./_assert.ts";
import { ROOT } from "./_helpers.ts";
import { compileArgs } from "../scripts/compile.ts";
import { PERMISSION_FLAGS, V8_FLAGS } from "../scripts/flags.ts";

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

Deno.test("compileArgs() passes exactly the flags of scripts/flags.ts", () => {
  assertEquals(compileArgs("dist/banwatch"), [
    "compile",
    ...PERMISSION_FLAGS,
    ...V8_FLAGS,
    "-o",
    "dist/banwatch",
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

Deno.test("scripts/compile.ts --print shows the deno compile command it would run", async () => {
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
        `compile: DENORT_BIN=${denort} deno ${compileArgs(`${dir}/banwatch`).join(" ")}\n`,
      ),
      r.stderr,
    );
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
  });
});
