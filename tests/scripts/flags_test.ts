import { assertEquals, assertOk } from "../_assert.ts";
import { RUN_FLAGS } from "../../scripts/flags.ts";
import { ROOT } from "../_helpers.ts";

Deno.test("deno.json run tasks use exactly the flags the compile bakes in", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const tasks = config.tasks as Record<string, string>;
  for (const name of ["demo"]) {
    const task = tasks[name];
    assertOk(task, `task ${name} exists`);
    const words = task.split(/\s+/);
    const flags = words.filter((w) => w.startsWith("--allow-") || w.startsWith("--v8-flags"));
    assertEquals(flags, [...RUN_FLAGS], `task ${name}`);
  }
});
