import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import {
  type Cidr,
  cidrContains,
  cidrOf,
  createIpMatcher,
  displayTarget,
  type IpAddress,
  isLoopback,
  parseCidr,
  parseIp,
} from "../../lib/core/address.ts";

function ip(text: string): IpAddress {
  const a = parseIp(text);
  assertOk(a, `expected ${JSON.stringify(text)} to parse`);
  return a;
}

function cidr(text: string): Cidr {
  const c = parseCidr(text);
  assertOk(c, `expected ${JSON.stringify(text)} to parse as a CIDR`);
  return c;
}

Deno.test("parseIp() accepts strict IPv4 dotted quads", () => {
  for (const t of ["0.0.0.0", "1.2.3.4", "255.255.255.255", "192.168.0.1", "10.0.100.20"]) {
    const a = ip(t);
    assertEquals(a.family, 4);
    assertEquals(a.text, t);
  }
  assertEquals([...ip("192.0.2.200").bytes], [192, 0, 2, 200]);
});

Deno.test("parseIp() rejects IPv4 with leading zeros, values over 255 and wrong part counts", () => {
  for (
    const t of [
      "01.2.3.4",
      "1.2.3.04",
      "1.2.3.00",
      "010.0.0.1",
      "256.1.1.1",
      "1.2.3.999",
      "1.2.3.1000",
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.",
      ".1.2.3",
      "1..2.3",
      "1.2.3.4.",
      "",
      "1",
      "-1.2.3.4",
      "+1.2.3.4",
      "1.2.3.0x4",
      "1.2.3.4 ",
      " 1.2.3.4",
      "1.2.3 .4",
      "1.2.3.4/32",
      "a.b.c.d",
      "１.2.3.4",
      "1.2.3.4\n",
      "999999999999.1.1.1",
    ]
  ) {
    assertEquals(parseIp(t), undefined, `expected ${JSON.stringify(t)} to be rejected`);
  }
});

Deno.test("parseIp() accepts every IPv6 compression form and prints RFC 5952 text", () => {
  const cases: Array<[string, string]> = [
    ["2001:db8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:DB8::1", "2001:db8::1"],
    ["::", "::"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["::1", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1::", "1::"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"], // a single zero group is not compressed
    ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
    ["1:2:3::5:6:7:8", "1:2:3:0:5:6:7:8"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // tie: the first run
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run
    ["fe80::1:0:0:0:0", "fe80:0:0:1::"],
    ["2001:db8::abcd:ef01", "2001:db8::abcd:ef01"],
    ["ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"],
    ["0001:0002::0003", "1:2::3"],
  ];
  for (const [input, text] of cases) {
    const a = ip(input);
    assertEquals(a.family, 6, input);
    assertEquals(a.text, text, input);
    assertEquals(a.bytes.length, 16);
  }
  assertEquals([...ip("2001:db8::1").bytes], [
    0x20,
    0x01,
    0x0d,
    0xb8,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
  ]);
});

Deno.test("parseIp() accepts embedded IPv4 in IPv6 and maps ::ffff:a.b.c.d to IPv4", () => {
  const mapped = ip("::ffff:1.2.3.4");
  assertEquals(mapped.family, 4);
  assertEquals(mapped.text, "1.2.3.4");
  assertEquals([...mapped.bytes], [1, 2, 3, 4]);
  assertEquals(ip("::FFFF:192.0.2.1").text, "192.0.2.1");
  assertEquals(ip("::ffff:c000:201").text, "192.0.2.1"); // same address in hex
  assertEquals(ip("0:0:0:0:0:ffff:10.0.0.1").text, "10.0.0.1");
  const compat = ip("::1.2.3.4");
  assertEquals(compat.family, 6);
  assertEquals(compat.text, "::102:304");
  assertEquals(ip("64:ff9b::192.0.2.33").text, "64:ff9b::c000:221");
  assertEquals(ip("1:2:3:4:5:6:1.2.3.4").text, "1:2:3:4:5:6:102:304");
});

Deno.test("parseIp() rejects malformed IPv6, zone ids, brackets and junk", () => {
  for (
    const t of [
      ":",
      ":::",
      "1:::2",
      "1::2::3",
      ":1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:",
      ":1::2",
      "1::2:",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7:8::",
      "::1:2:3:4:5:6:7:8",
      "12345::1",
      "g::1",
      "fe80::1%eth0",
      "fe80::1%1",
      "[::1]",
      "[2001:db8::1]:22",
      " ::1",
      "::1 ",
      "::1\t",
      "2001:db8::1/64",
      "::ffff:1.2.3",
      "::ffff:1.2.3.4.5",
      "::ffff:01.2.3.4",
      "::ffff:256.2.3.4",
      "::1.2.3.4:5",
      "1:2:3:4:5:6:7:1.2.3.4",
      "1.2.3.4::",
      "::.1.2.3",
      "0x1::1",
      "1:2:3:4:5:6:7:8:1.2.3.4",
      "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555",
      "x".repeat(10000),
      ":".repeat(100),
      "unknown",
      "localhost",
    ]
  ) {
    assertEquals(parseIp(t), undefined, `expected ${JSON.stringify(t)} to be rejected`);
  }
});

Deno.test("parseIp() never throws on random garbage", () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = "0123456789abcdefABCDEF:.%/[] xg\u0000\u00e9";
  const seeds = ["1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "::", "fe80::1:2"];
  let accepted = 0;
  for (let k = 0; k < 20000; k++) {
    let s = "";
    if (k % 2 === 0) {
      const len = rand(50);
      for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
    } else {
      // A mutation of a valid address: replace, insert or delete one character.
      s = seeds[rand(seeds.length)]!;
      const at = rand(s.length + 1);
      const c = alphabet[rand(alphabet.length)]!;
      const op = rand(3);
      s = op === 0
        ? s.slice(0, at) + c + s.slice(at + 1)
        : op === 1
        ? s.slice(0, at) + c + s.slice(at)
        : s.slice(0, at) + s.slice(at + 1);
    }
    const a = parseIp(s);
    if (a !== undefined) {
      accepted++;
      // Whatever parses must round-trip through its canonical text.
      assertEquals(parseIp(a.text)?.text, a.text, s);
    }
  }
  assertOk(accepted > 1000, `only ${accepted} mutated inputs parsed`);
});

/** RFC 5952 4.2: "::" hides the longest zero run (>= 2 groups), the first on a tie. */
function assertZeroRunsCompressedPerRfc5952(text: string): void {
  const [head = "", tail] = text.split("::");
  const runs = (part: string): number[] => {
    const out: number[] = [];
    let run = 0;
    for (const g of part === "" ? [] : part.split(":")) {
      if (g === "0") run++;
      else {
        if (run > 0) out.push(run);
        run = 0;
      }
    }
    if (run > 0) out.push(run);
    return out;
  };
  if (tail === undefined) {
    assertOk(runs(head).every((r) => r < 2), `uncompressed zero run in ${text}`);
    return;
  }
  const shown = (head === "" ? 0 : head.split(":").length) +
    (tail === "" ? 0 : tail.split(":").length);
  const hidden = 8 - shown;
  assertOk(hidden >= 2, `"::" hides a single group in ${text}`);
  assertOk(runs(head).every((r) => r < hidden), `an earlier zero run is as long in ${text}`);
  assertOk(runs(tail).every((r) => r <= hidden), `a later zero run is longer in ${text}`);
}

Deno.test("parseIp() canonical text round-trips for every IPv6 zero pattern", () => {
  // All 256 patterns of zero/non-zero groups.
  for (let mask = 0; mask < 256; mask++) {
    const groups: string[] = [];
    for (let g = 0; g < 8; g++) groups.push(mask & (1 << g) ? (g + 0xa).toString(16) : "0");
    const a = ip(groups.join(":"));
    if (a.family === 4) continue; // ::ffff:x:y patterns cannot occur: "ffff" is never generated
    assertEquals(ip(a.text).text, a.text);
    assertEquals([...ip(a.text).bytes], [...a.bytes]);
    assertOk(a.text.split("::").length <= 2, a.text);
    assertZeroRunsCompressedPerRfc5952(a.text);
  }
});

Deno.test("parseCidr() masks host bits and prints the prefix", () => {
  assertEquals(cidr("1.2.3.4/24").text, "1.2.3.0/24");
  assertEquals(cidr("1.2.3.4").text, "1.2.3.4/32");
  assertEquals(cidr("1.2.3.4").prefix, 32);
  assertEquals(cidr("10.255.255.255/8").text, "10.0.0.0/8");
  assertEquals(cidr("1.2.3.4/0").text, "0.0.0.0/0");
  assertEquals(cidr("192.168.1.129/25").text, "192.168.1.128/25");
  assertEquals(cidr("192.168.1.255/31").text, "192.168.1.254/31");
  assertEquals(cidr("2001:db8:1:2:3:4:5:6/64").text, "2001:db8:1:2::/64");
  assertEquals(cidr("2001:db8::1").text, "2001:db8::1/128");
  assertEquals(cidr("2001:db8::1").prefix, 128);
  assertEquals(cidr("2001:db8:ffff::/33").text, "2001:db8:8000::/33");
  assertEquals(cidr("::/0").text, "::/0");
  assertEquals(cidr("::ffff:1.2.3.4/120").text, "1.2.3.0/24");
  assertEquals(cidr("::ffff:1.2.3.4").text, "1.2.3.4/32");
  assertEquals(cidr("::ffff:1.2.3.4/120").family, 4);
  assertEquals([...cidr("1.2.3.4/20").bytes], [1, 2, 0, 0]);
});

Deno.test("parseCidr() rejects bad prefixes and bad addresses", () => {
  for (
    const t of [
      "1.2.3.4/33",
      "1.2.3.4/",
      "1.2.3.4/-1",
      "1.2.3.4/024",
      "1.2.3.4/2 ",
      "1.2.3.4/ 2",
      "1.2.3.4/2/3",
      "1.2.3.4/x",
      "::/129",
      "::/1000",
      "2001:db8::/064",
      "01.2.3.4/8",
      "/8",
      "",
      "fe80::1%eth0/64",
    ]
  ) {
    assertEquals(parseCidr(t), undefined, `expected ${JSON.stringify(t)} to be rejected`);
  }
});

Deno.test("cidrOf() builds the containing block and rejects bad prefixes", () => {
  assertEquals(cidrOf(ip("1.2.3.4"), 24).text, "1.2.3.0/24");
  assertEquals(cidrOf(ip("1.2.3.4"), 32).text, "1.2.3.4/32");
  assertEquals(cidrOf(ip("2001:db8:1:2:3:4:5:6"), 64).text, "2001:db8:1:2::/64");
  assertEquals(cidrOf(ip("2001:db8:1:2:3:4:5:6"), 48).text, "2001:db8:1::/48");
  assertEquals(cidrOf(ip("2001:db8::1"), 128).text, "2001:db8::1/128");
  const a = ip("9.8.7.6");
  cidrOf(a, 8);
  assertEquals([...a.bytes], [9, 8, 7, 6], "the address is not mutated");
  assertThrows(() => cidrOf(ip("1.2.3.4"), 33), /prefix must be an integer 0-32/);
  assertThrows(() => cidrOf(ip("::1"), 129), /0-128/);
  assertThrows(() => cidrOf(ip("::1"), 64.5), /0-128/);
});

Deno.test("cidrContains() tests membership and is false across families", () => {
  assertOk(cidrContains(cidr("10.0.0.0/8"), ip("10.200.1.2")));
  assertOk(!cidrContains(cidr("10.0.0.0/8"), ip("11.0.0.1")));
  assertOk(cidrContains(cidr("192.168.1.128/25"), ip("192.168.1.200")));
  assertOk(!cidrContains(cidr("192.168.1.128/25"), ip("192.168.1.127")));
  assertOk(cidrContains(cidr("0.0.0.0/0"), ip("1.2.3.4")));
  assertOk(cidrContains(cidr("1.2.3.4/32"), ip("1.2.3.4")));
  assertOk(!cidrContains(cidr("1.2.3.4/32"), ip("1.2.3.5")));
  assertOk(cidrContains(cidr("2001:db8::/32"), ip("2001:db8:ffff::1")));
  assertOk(!cidrContains(cidr("2001:db8::/32"), ip("2001:db9::1")));
  assertOk(cidrContains(cidr("2001:db8:8000::/33"), ip("2001:db8:8001::1")));
  assertOk(!cidrContains(cidr("2001:db8:8000::/33"), ip("2001:db8:7fff::1")));
  assertOk(!cidrContains(cidr("::/0"), ip("1.2.3.4")));
  assertOk(!cidrContains(cidr("0.0.0.0/0"), ip("::1")));
  assertOk(cidrContains(cidr("1.2.3.0/24"), ip("::ffff:1.2.3.9")));
});

Deno.test("isLoopback() is true for 127.0.0.0/8 and ::1 only", () => {
  assertOk(isLoopback(ip("127.0.0.1")));
  assertOk(isLoopback(ip("127.255.0.9")));
  assertOk(isLoopback(ip("::1")));
  assertOk(isLoopback(ip("::ffff:127.0.0.1")));
  assertOk(!isLoopback(ip("128.0.0.1")));
  assertOk(!isLoopback(ip("::")));
  assertOk(!isLoopback(ip("::2")));
  assertOk(!isLoopback(ip("1::1")));
});

Deno.test("createIpMatcher() returns the first containing block in list order", () => {
  const list = [cidr("10.1.0.0/16"), cidr("10.0.0.0/8"), cidr("2001:db8::/32"), cidr("::1")];
  const match = createIpMatcher(list);
  assertEquals(match(ip("10.1.2.3"))?.text, "10.1.0.0/16");
  assertEquals(match(ip("10.2.2.3"))?.text, "10.0.0.0/8");
  assertEquals(match(ip("2001:db8::5"))?.text, "2001:db8::/32");
  assertEquals(match(ip("::1"))?.text, "::1/128");
  assertEquals(match(ip("11.0.0.1")), undefined);
  assertEquals(match(ip("2001:db9::5")), undefined);
  assertEquals(createIpMatcher([])(ip("1.2.3.4")), undefined);
});

Deno.test("createIpMatcher() with a long list agrees with a linear scan", () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const list: Cidr[] = [];
  for (let i = 0; i < 300; i++) {
    if (i % 3 === 0) {
      list.push(cidr(`2001:db8:${rand(4).toString(16)}:${rand(4).toString(16)}::/${rand(129)}`));
    } else {
      list.push(cidr(`10.${rand(4)}.${rand(4)}.${rand(256)}/${8 + rand(25)}`));
    }
  }
  const match = createIpMatcher(list);
  for (let k = 0; k < 3000; k++) {
    const a = k % 2 === 0
      ? ip(`10.${rand(4)}.${rand(4)}.${rand(256)}`)
      : ip(`2001:db8:${rand(4).toString(16)}:${rand(4).toString(16)}::${rand(65536).toString(16)}`);
    const expected = list.find((c) => cidrContains(c, a));
    assertEquals(match(a), expected, a.text);
  }
  assertEquals(match(ip("192.0.2.1")), undefined);
});

Deno.test("parseIp() results keep their own bytes after many more parses", () => {
  const first = ip("203.0.113.7");
  const six = ip("2001:db8::7");
  const kept: IpAddress[] = [];
  for (let i = 0; i < 5000; i++) kept.push(ip(`10.0.${i >> 8}.${i & 255}`));
  assertEquals([...first.bytes], [203, 0, 113, 7]);
  assertEquals(six.text, "2001:db8::7");
  assertEquals([...six.bytes.subarray(14)], [0, 7]);
  assertEquals([...kept[4999]!.bytes], [10, 0, 19, 135]);
  assertEquals([...kept[0]!.bytes], [10, 0, 0, 0]);
});

Deno.test("displayTarget() drops /32 and /128 but keeps network prefixes", () => {
  assertEquals(displayTarget("203.0.113.5/32"), "203.0.113.5");
  assertEquals(displayTarget("2001:db8::1/128"), "2001:db8::1");
  assertEquals(displayTarget("2001:db8:1:2::/64"), "2001:db8:1:2::/64");
  assertEquals(displayTarget("198.51.100.0/24"), "198.51.100.0/24");
});
