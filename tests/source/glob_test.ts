import { expandLogPaths, globToRegExp } from "../../lib/source/glob.ts";
import { assertEquals, assertOk } from "../_assert.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bw-glob-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("globToRegExp() handles *, ?, classes, negation and leading dots", () => {
  assertOk(globToRegExp("*.log").test("mail.log"));
  assertOk(!globToRegExp("*.log").test(".hidden.log"));
  assertOk(globToRegExp(".*.log").test(".hidden.log"));
  assertOk(globToRegExp("a?c").test("abc"));
  assertOk(!globToRegExp("a?c").test("ac"));
  assertOk(globToRegExp("log[0-9]").test("log7"));
  assertOk(!globToRegExp("log[!0-9]").test("log7"));
  assertOk(globToRegExp("log[!0-9]").test("logx"));
  assertOk(globToRegExp("a+b(c).log").test("a+b(c).log"));
  assertOk(globToRegExp("x[").test("x["));
});

Deno.test("expandLogPaths() expands globs to existing files and keeps literal paths", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/vhosts/a`, { recursive: true });
    await Deno.mkdir(`${dir}/vhosts/b`, { recursive: true });
    await Deno.mkdir(`${dir}/vhosts/dir.log`);
    for (const f of ["b.log", "a.log", "c.txt", ".hidden.log", "vhosts/a/mail.log"]) {
      await Deno.writeTextFile(`${dir}/${f}`, "");
    }
    assertEquals(await expandLogPaths([`${dir}/*.log`, `${dir}/missing.log`, `${dir}/a.log`]), [
      `${dir}/a.log`,
      `${dir}/b.log`,
      `${dir}/missing.log`,
    ]);
    assertEquals(await expandLogPaths([`${dir}/vhosts/*/mail.log`, `${dir}/vhosts/*.log`]), [
      `${dir}/vhosts/a/mail.log`,
    ]);
    assertEquals(await expandLogPaths([`${dir}/nodir/*.log`]), []);
    // a file appearing later is picked up by the next expansion
    await Deno.writeTextFile(`${dir}/vhosts/b/mail.log`, "");
    assertEquals(await expandLogPaths([`${dir}/vhosts/*/mail.log`]), [
      `${dir}/vhosts/a/mail.log`,
      `${dir}/vhosts/b/mail.log`,
    ]);
  });
});
