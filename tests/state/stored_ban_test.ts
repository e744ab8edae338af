import { banOriginOf, foreverToNull, nullToForever, toBanRecord } from "../../lib/core/mod.ts";
import type { StoredBan } from "../../lib/state/mod.ts";
import { assertEquals } from "../_assert.ts";

// The conversions of core/ban.ts that the store relies on; they live in core so that state/
// and decide/ share one ban shape.

Deno.test("toBanRecord() drops a stored ban's applied flag and keeps an absent line absent", () => {
  const stored: StoredBan = {
    jail: "sshd",
    target: "192.0.2.7/32",
    since: 100,
    until: Infinity,
    failures: 3,
    banCount: 2,
    origin: "manual",
    applied: true,
  };
  const ban = toBanRecord(stored);
  assertEquals(ban, {
    jail: "sshd",
    target: "192.0.2.7/32",
    since: 100,
    until: Infinity,
    failures: 3,
    banCount: 2,
    origin: "manual",
  });
  assertEquals("line" in ban, false);
  assertEquals(toBanRecord({ ...stored, line: "x" }).line, "x");
});

Deno.test("foreverToNull() and nullToForever() map Infinity to null and back", () => {
  assertEquals(foreverToNull(3600), 3600);
  assertEquals(foreverToNull(Infinity), null);
  assertEquals(nullToForever(null), Infinity);
  assertEquals(nullToForever(3600), 3600);
  assertEquals(nullToForever(foreverToNull(Infinity)), Infinity);
});

Deno.test("banOriginOf() keeps a known origin and reads an unknown one as restored", () => {
  assertEquals(banOriginOf("auto"), "auto");
  assertEquals(banOriginOf("manual"), "manual");
  assertEquals(banOriginOf("filter"), "restored");
  assertEquals(banOriginOf(null), "restored");
});
