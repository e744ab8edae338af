import { assertEquals } from "../_assert.ts";
import { compileFilter, createSteerCheck, steeredHost } from "../../lib/filter/mod.ts";

const NOW = Date.UTC(2024, 5, 15) / 1000;
const QPOPPER = String.raw`.* at .* \(<HOST>\): -ERR \[AUTH\] Password supplied .*`;
const EVIL = "x at y (192.0.2.66): -ERR [AUTH] Password supplied ";

Deno.test("steeredHost() finds a line whose user name holds another address", () => {
  const f = compileFilter({ name: "q", failregex: [QPOPPER] });
  const check = createSteerCheck(f)!;
  const honest = "Feb 16 10:21:00 mx qpopper[1]: foo at h.example (203.0.113.5): " +
    '-ERR [AUTH] Password supplied for "foo" is incorrect.';
  assertEquals(steeredHost(check, honest, 0, NOW), undefined);
  const evil = `Feb 16 10:22:00 mx qpopper[2]: ${EVIL} at h.example (203.0.113.7): ` +
    `-ERR [AUTH] Password supplied for "${EVIL}" is incorrect.`;
  const found = steeredHost(check, evil, 0, NOW)!;
  assertEquals([found.host, found.other], ["192.0.2.66", "192.0.2.66"]);
  assertEquals(evil.slice(found.at, found.at + 10), "192.0.2.66");
  assertEquals(found.otherAt, evil.indexOf("192.0.2.66"));
  assertEquals(found.at, evil.lastIndexOf("192.0.2.66"));
});

Deno.test("createSteerCheck() is undefined without a wildcard before <HOST>", () => {
  const f = compileFilter({ name: "p", failregex: [String.raw`^\S+ x\[\d+\]: from <HOST>$`] });
  assertEquals(createSteerCheck(f), undefined);
});
