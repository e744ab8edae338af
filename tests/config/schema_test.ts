import { assertEquals, assertOk } from "../_assert.ts";
import { GLOBAL_KEYS, INCREMENT_KEYS, JAIL_KEYS } from "../../lib/config/schema.ts";

Deno.test("JAIL_KEYS, GLOBAL_KEYS and INCREMENT_KEYS list what parseConfig() accepts", () => {
  for (const key of JAIL_KEYS) assertOk(!key.includes("."), key);
  assertEquals(GLOBAL_KEYS.length, 18);
  assertEquals(INCREMENT_KEYS.length, 7);
  assertEquals(JAIL_KEYS.length, 26);
});
