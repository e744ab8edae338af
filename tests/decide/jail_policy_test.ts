import { assertEquals } from "../_assert.ts";
import { parseCidr, parseIp } from "../../lib/core/address.ts";
import { createIgnoreChecks } from "../../lib/decide/jail_policy.ts";

const cidrs = (...texts: string[]) => texts.map((t) => parseCidr(t)!);
const ip = (t: string) => parseIp(t)!;

Deno.test("createIgnoreChecks() refuses loopback, own addresses, global and jail ignoreip", () => {
  const { ignore } = createIgnoreChecks(
    { ignoreIp: cidrs("192.0.2.0/24"), ignoreSelf: true },
    { ignoreIp: cidrs("2001:db8::/32") },
    cidrs("203.0.113.1"),
  );
  assertEquals(ignore(ip("127.0.0.5")), "loopback");
  assertEquals(ignore(ip("::1")), "loopback");
  assertEquals(ignore(ip("203.0.113.1")), "own address 203.0.113.1/32");
  assertEquals(ignore(ip("192.0.2.77")), "ignoreip 192.0.2.0/24");
  assertEquals(ignore(ip("2001:db8::5")), "jail ignoreip 2001:db8::/32");
  assertEquals(ignore(ip("::ffff:192.0.2.1")), "ignoreip 192.0.2.0/24");
  assertEquals(ignore(ip("198.51.100.1")), undefined);
});

Deno.test("createIgnoreChecks() ignores own addresses only while ignoreself is on", () => {
  const { ignore } = createIgnoreChecks(
    { ignoreIp: [], ignoreSelf: false },
    undefined,
    cidrs("203.0.113.1"),
  );
  assertEquals(ignore(ip("203.0.113.1")), undefined);
});

Deno.test("createIgnoreChecks() refuses a prefix that holds a protected address", () => {
  const { ignorePrefix } = createIgnoreChecks(
    { ignoreIp: cidrs("2001:db8:1:2::10"), ignoreSelf: true },
    undefined,
    cidrs("198.51.100.20"),
  );
  assertEquals(ignorePrefix(parseCidr("2001:db8:1:2::/64")!), "ignoreip 2001:db8:1:2::10/128");
  assertEquals(ignorePrefix(parseCidr("198.51.100.0/24")!), "own address 198.51.100.20/32");
  assertEquals(ignorePrefix(parseCidr("127.0.0.0/24")!), "loopback");
  assertEquals(ignorePrefix(parseCidr("2001:db8:1:3::/64")!), undefined);
});
