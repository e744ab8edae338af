import { assertEquals, assertMatch, assertOk, assertRejects } from "../_assert.ts";
import { createRunner } from "../../lib/core/exec.ts";
import { BackendError } from "../../lib/core/errors.ts";

Deno.test("createRunner().run() returns stdout, stderr and a non-zero exit code without throwing", async () => {
  const r = await createRunner().run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]);
  assertEquals(r, { code: 3, stdout: "out\n", stderr: "err\n" });
});

Deno.test("createRunner().run() passes arguments literally, never through a shell", async () => {
  const r = await createRunner().run(["/bin/echo", "a;b", "$(id)", "`id`", "*"]);
  assertEquals(r, { code: 0, stdout: "a;b $(id) `id` *\n", stderr: "" });
});

Deno.test("createRunner().run() writes the stdin option to the program", async () => {
  const r = await createRunner().run(["/bin/cat"], { stdin: "line 1\nline 2\n" });
  assertEquals(r, { code: 0, stdout: "line 1\nline 2\n", stderr: "" });
});

Deno.test("createRunner().run() gives the program an empty stdin by default", async () => {
  const r = await createRunner().run(["/bin/cat"], { timeout: 5 });
  assertEquals(r, { code: 0, stdout: "", stderr: "" });
});

Deno.test("createRunner().run() reports a missing program as code -1 'not found: path'", async () => {
  const r = await createRunner().run(["/nonexistent/banwatch-prog", "x"]);
  assertEquals(r, { code: -1, stdout: "", stderr: "not found: /nonexistent/banwatch-prog" });
});

Deno.test("createRunner().run() reports a program it cannot execute as code -1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/prog`, "#!/bin/sh\necho hi\n", { mode: 0o644 });
    await Deno.chmod(`${dir}/prog`, 0o644);
    const r = await createRunner().run([`${dir}/prog`]);
    assertEquals(r.code, -1);
    assertMatch(r.stderr, /prog/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createRunner().run() kills a program after the timeout and reports code -1", async () => {
  const start = performance.now();
  const r = await createRunner().run(["/bin/sleep", "30"], { timeout: 0.3 });
  const elapsed = performance.now() - start;
  assertEquals(r.code, -1);
  assertEquals(r.stderr, "timed out after 0.3s");
  assertOk(elapsed >= 250 && elapsed < 5000, `elapsed ${elapsed} ms`);
});

Deno.test("createRunner().run() does not time out a program that finishes in time", async () => {
  const r = await createRunner().run(["/bin/sh", "-c", "exit 0"], { timeout: 10 });
  assertEquals(r, { code: 0, stdout: "", stderr: "" });
});

Deno.test("createRunner().run() rejects a relative program path with BackendError", async () => {
  const e = await assertRejects(
    () => createRunner().run(["ipfw", "table", "T", "list"]),
    /absolute/,
  );
  assertOk(e instanceof BackendError);
  assertEquals(e.argv, ["ipfw", "table", "T", "list"]);
  assertEquals(e.code, -1);
  await assertRejects(() => createRunner().run([]), /absolute/);
});
