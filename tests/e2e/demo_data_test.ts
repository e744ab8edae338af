import { assertEquals } from "../_assert.ts";
import { renderDemoData } from "../../scripts/gen_demo_data.ts";
import { ROOT } from "../_helpers.ts";

Deno.test("lib/cli/demo_data.ts embeds the current jails.toml and demo logs", async () => {
  const expected = await renderDemoData();
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "-", "--ext", "ts"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = fmt.stdin.getWriter();
  await w.write(new TextEncoder().encode(expected));
  await w.close();
  const formatted = new TextDecoder().decode((await fmt.output()).stdout);
  const actual = await Deno.readTextFile(`${ROOT}lib/cli/demo_data.ts`);
  assertEquals(actual, formatted, "run: deno run -A scripts/gen_demo_data.ts");
});
