import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { lintFilter, type LintFinding } from "../../lib/filter/lint.ts";
import { BUILTIN_FILTERS } from "../../lib/filter/builtin.ts";

function lint(failregex: string, extra: { ignoreregex?: string[]; prefregex?: string } = {}) {
  return lintFilter({ name: "t", failregex: [failregex], ...extra });
}

function kinds(findings: LintFinding[]): string[] {
  return findings.map((f) => `${f.severity}:${f.key}:${f.message.split(":")[0]}`);
}

Deno.test("lintFilter() warns on each of the admin's three seed filters as unanchored", () => {
  const qpopper = lint(String.raw`.* at .* \(<HOST>\): -ERR \[AUTH\] Password supplied .*`);
  assertEquals(kinds(qpopper), [
    "warning:failregex:unanchored",
    "warning:failregex:attacker-steerable",
  ]);
  assertMatch(qpopper[0]!.message, /text an attacker writes earlier in the line can match/);
  assertMatch(qpopper[1]!.message, /^attacker-steerable: \.\* before <HOST>/);
  const inetd = lint(String.raw`refused connection from <HOST>, service qpopper \(tcp\)`);
  assertEquals(kinds(inetd), ["warning:failregex:unanchored"]);
  const postfix = lint(String.raw`warning: unknown\[<HOST>\]: SASL LOGIN authentication failed`);
  assertEquals(kinds(postfix), ["warning:failregex:unanchored"]);
  assertEquals(postfix[0]!.index, 0);
});

Deno.test("lintFilter() finds nothing to say about the built-in filters", () => {
  for (const f of BUILTIN_FILTERS) assertEquals(lintFilter(f), [], f.name);
});

Deno.test("lintFilter() accepts anchors inside a leading group and flags any open branch", () => {
  assertEquals(lint(String.raw`(?:^a|^b) <HOST>$`), []);
  assertEquals(lint(String.raw`(?i)^a <HOST>$`), []);
  const two = lint(String.raw`^a <HOST>|b <HOST>`)[0]!;
  assertEquals(two.severity, "error");
  assertMatch(two.message, /^2 address captures/);
  assertEquals(kinds(lint(String.raw`^a x|b <HOST>`)), ["warning:failregex:unanchored"]);
  assertEquals(kinds(lint(String.raw`(?:^a|b) <HOST>`)), ["warning:failregex:unanchored"]);
  assertEquals(kinds(lint(String.raw`(?:^a)? <HOST>`)), ["warning:failregex:unanchored"]);
});

Deno.test("lintFilter() flags .* and .+ before the address capture, not after it", () => {
  assertEquals(kinds(lint(String.raw`^\S+ x: .+ from <HOST>$`)), [
    "warning:failregex:attacker-steerable",
  ]);
  assertEquals(kinds(lint(String.raw`^\S+ x: (?:user (.*?) )?from <HOST>$`)), [
    "warning:failregex:attacker-steerable",
  ]);
  assertEquals(kinds(lint(String.raw`^\S+ x: .{2,} from <HOST>$`)), [
    "warning:failregex:attacker-steerable",
  ]);
  assertMatch(lint(String.raw`^x .*? <HOST>`)[0]!.message, /^attacker-steerable: \.\*\? before/);
  assertEquals(lint(String.raw`^\S+ x: from <HOST> .*$`), []);
  assertEquals(lint(String.raw`^\S+ x: .? from <HOST>`), []);
  assertEquals(lint(String.raw`^\S+ x: \S+ [^"]* from <HOST>`), []);
  assertEquals(lint(String.raw`^\S+ x: <F-USER>.*</F-USER> from (?P<host>\S+)$`).length, 1);
});

Deno.test("lintFilter() flags nested quantifiers as catastrophic backtracking", () => {
  for (
    const p of [
      String.raw`^(a+)+ <HOST>`,
      String.raw`^x (.*)* <HOST>`,
      String.raw`^x (\w+\s?)* <HOST>`,
      String.raw`^x (?:(?:a|b+){2,})+ <HOST>`,
    ]
  ) {
    const found = lint(p).filter((f) => f.message.startsWith("catastrophic backtracking"));
    assertEquals(found.length, 1, p);
  }
  assertEquals(lint(String.raw`^x (?:ab)+ (?:\d{1,3}){1,3} (?:\w+){0,8} <HOST>`), []);
});

Deno.test("lintFilter() flags backreferences and lookaround", () => {
  const named = lint(String.raw`^(?P<u>\w+) (?P=u) <HOST>`);
  assertEquals(named.length, 1);
  assertMatch(named[0]!.message, /^backreference \(\?P=u\): not supported/);
  assertMatch(lint(String.raw`^(\w+) \1 <HOST>`)[0]!.message, /^backreference \\1: not supported/);
  assertMatch(lint(String.raw`^x (?<=a)<HOST>`)[0]!.message, /^lookbehind \(\?<=a\)/);
  assertMatch(lint(String.raw`^x (?!b)<HOST>`)[0]!.message, /^lookahead \(\?!b\)/);
});

Deno.test("lintFilter() reports compile errors as errors and still lints the rest", () => {
  const found = lintFilter({
    name: "t",
    failregex: ["no capture", String.raw`.* from <HOST>`],
    ignoreregex: ["trusted"],
    prefregex: "x",
  });
  assertEquals(
    found.map((f) => [f.severity, f.key, f.index, f.message.split(":")[0]]),
    [
      [
        "error",
        "failregex",
        0,
        'no address capture in "no capture"; expected exactly one of <HOST>, <ADDR>, <IP4>, <IP6>, <SUBNET>, <F-ID>...</F-ID> or (?P<host>...)',
      ],
      ["warning", "failregex", 0, "unanchored"],
      ["warning", "failregex", 1, "unanchored"],
      ["warning", "failregex", 1, "attacker-steerable"],
      ["warning", "ignoreregex", 0, "unanchored ignoreregex"],
      ["warning", "prefregex", undefined, "unanchored prefregex"],
    ],
  );
  for (const f of found) assertOk(!f.message.includes("\n"), "one line each");
});
