import { assertEquals, assertMatch } from "../_assert.ts";
import { BUNDLE_RUN_FLAGS } from "../../scripts/flags.ts";
import { bundleArgs } from "../../scripts/compile.ts";
import { ROOT } from "../_helpers.ts";
import { VERSION } from "../../lib/core/version.ts";

/** Runs the bundle as the compiled binary runs it (the compile's flags, no code cache), from a
 * directory without deno.json. */
async function runBundle(bundle: string, args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...BUNDLE_RUN_FLAGS, bundle, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the bundle scripts/compile.ts embeds is self-contained and runs --version, check and the demo", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "bw-bundle-" });
  try {
    const bundle = `${dir}/banwatch.js`;
    const build = await new Deno.Command(Deno.execPath(), {
      args: bundleArgs(bundle),
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(build.code, 0, new TextDecoder().decode(build.stderr));

    await t.step("--version", async () => {
      const r = await runBundle(bundle, ["--version"], dir);
      assertEquals([r.code, r.stdout], [0, `banwatch ${VERSION}\n`]);
    });
    await t.step("check on the example config", async () => {
      const r = await runBundle(bundle, ["check", "-c", `${ROOT}jails.toml`], dir);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /jails\.toml: OK: 3 jails \(3 enabled\)/);
    });
    await t.step("demo replay", async () => {
      const r = await runBundle(bundle, ["demo"], dir);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /event=ban jail=qpopperauth addr=192\.0\.2\.77/);
      assertMatch(r.stdout, /event=dry-run argv="\/sbin\/ipfw -q table qpopperauth add/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
