import { assertEquals, assertOk } from "../_assert.ts";
import { findBuiltinFilter } from "../../lib/filter/builtin.ts";
import { compileFilter } from "../../lib/filter/compile.ts";
import { requiredLiterals } from "../../lib/filter/literals.ts";
import { matchLine } from "../../lib/filter/match.ts";
import { translatePattern } from "../../lib/filter/translate.ts";
import type { FilterSpec } from "../../lib/filter/types.ts";
import {
  createPrefilter,
  literalCursor,
  prefilteredVerdict,
  prefilterRejects,
  quickFilter,
} from "../../lib/filter/prefilter.ts";
import { generateMaillog } from "../../scripts/gen_maillog.ts";

function literals(pattern: string): string[] | undefined {
  return requiredLiterals(translatePattern(pattern));
}

const CASES: ReadonlyArray<readonly [string, string, string[] | undefined]> = [
  [
    "the longest run of plain text",
    String.raw`warning: unknown\[<HOST>\]: SASL LOGIN authentication failed`,
    ["]: SASL LOGIN authentication failed"],
  ],
  [
    "the admin's qpopper filter",
    String.raw`.* at .* \(<HOST>\): -ERR \[AUTH\] Password supplied .*`,
    ["): -ERR [AUTH] Password supplied "],
  ],
  ["escapes that stand for one character", String.raw`\x41\u0042\n\t\. <HOST>`, ["AB\n\t. "]],
  ["an octal escape", String.raw`a\101b\0c <HOST>`, ["aAb\0c "]],
  ["an astral \\U escape", String.raw`x\U0001F600y <HOST>`, ["x\u{1F600}y "]],
  ["identity escapes", String.raw`\-\"\<x <HOST>`, ['-"<x ']],
  ["a top-level alternation: one literal per branch", String.raw`foo <HOST>|bar baz <HOST>`, [
    "foo ",
    "bar baz ",
  ]],
  ["an alternation branch without literal: nothing", String.raw`foo <HOST>|<HOST>`, undefined],
  ["(?i): nothing", String.raw`(?i)Failed password from <HOST>`, undefined],
  ["(?is) with other flags: nothing", String.raw`(?is)Failed password from <HOST>`, undefined],
  ["(?s) alone keeps literals", String.raw`(?s)Failed password from <HOST>`, [
    "Failed password from ",
  ]],
  ["a scoped (?i:…) group ends the run and is not read", String.raw`abc(?i:DEFGHIJ)xy <HOST>`, [
    "abc",
  ]],
  ["fail2ban's ((?i)…) form is not read", String.raw`ab((?i)CDEFGHIJ)x <HOST>`, ["ab"]],
  ["an optional group ends the run", String.raw`user(?: invalid)? from <HOST>`, [" from "]],
  [
    "a group with alternation inside is not read",
    String.raw`Failed (?:password|publickey) for <HOST>`,
    ["Failed "],
  ],
  ["an optional literal ends the run", String.raw`abcd?efg <HOST>`, ["efg "]],
  ["a starred literal ends the run", String.raw`abc x*yz <HOST>`, ["abc "]],
  ["a repeated literal counts its minimum", String.raw`ab{3}cde <HOST>`, ["bcde "]],
  ["a repeated literal at the end of the longest run", String.raw`xyz a{4,} <HOST>`, ["xyz aaaa"]],
  ["a plus-repeated literal: its last copy starts the next run", String.raw`ab+c <HOST>`, ["bc "]],
  ["character classes end the run", String.raw`abcd[c]de[^f]gh <HOST>`, ["abcd"]],
  ["\\d, \\s, \\w and . end the run", String.raw`abcd\dcd\sef\wgh.ij <HOST>`, ["abcd"]],
  ["anchors end the run (^ may swallow blanks)", String.raw`^abcd$cd <HOST>`, ["abcd"]],
  ["a backreference ends the run", String.raw`(?P<u>\w+)xyz(?P=u) <HOST>`, ["xyz"]],
  ["a conditional anywhere: nothing", String.raw`(a)?bcdef(?(1)g|h) <HOST>`, undefined],
  ["verbose mode drops blanks and comments", "(?x) ab c  # comment\n d <HOST>", ["abcd"]],
  ["an escaped blank in verbose mode", String.raw`(?x)a\ b <HOST>`, ["a b"]],
  ["a pattern without literal text", String.raw`<HOST>`, undefined],
  ["lookaheads end the run", String.raw`abcd(?=cd)cd <HOST>`, ["abcd"]],
];

for (const [what, pattern, expected] of CASES) {
  Deno.test(`requiredLiterals() ${what}: ${JSON.stringify(pattern)}`, () => {
    assertEquals(literals(pattern), expected);
  });
}

/** Lines that each pattern must match: the literal must be in them. */
const MATCHING: ReadonlyArray<readonly [string, string]> = [
  [String.raw`abcd?efg <HOST>`, "abcefg 1.2.3.4"],
  [String.raw`ab{3}cde <HOST>`, "abbbcde 1.2.3.4"],
  [String.raw`xyz a{4,} <HOST>`, "xyz aaaaaaa 1.2.3.4"],
  [String.raw`ab+c <HOST>`, "abbbbc 1.2.3.4"],
  [String.raw`foo <HOST>|bar baz <HOST>`, "bar baz 1.2.3.4"],
  [String.raw`(?x)a\ b <HOST>`, "a b1.2.3.4"],
  ["(?x) ab c  # comment\n d <HOST>", "abcd1.2.3.4"],
  [String.raw`x\U0001F600y <HOST>`, "x\u{1F600}y 1.2.3.4"],
  [String.raw`abc(?i:DEFGHIJ)xy <HOST>`, "abcdefghijxy 1.2.3.4"],
];

for (const [pattern, line] of MATCHING) {
  Deno.test(`requiredLiterals() of ${JSON.stringify(pattern)} are in a line it matches`, () => {
    const t = translatePattern(pattern);
    assertOk(new RegExp(t.source, t.flags).test(line), "the test line must match");
    const lits = requiredLiterals(t)!;
    assertOk(lits.some((l) => line.includes(l)), `${JSON.stringify(lits)} in ${line}`);
  });
}

function spec(failregex: string[], extra: Partial<FilterSpec> = {}): FilterSpec {
  return { name: "t", failregex, timezone: "UTC", ...extra };
}

Deno.test("createPrefilter() needs a literal from every failregex", () => {
  assertEquals(
    createPrefilter(compileFilter(spec([String.raw`foo <HOST>`, String.raw`bar <HOST>`]))),
    { failregex: ["foo ", "bar "], prefregex: undefined },
  );
  assertEquals(
    createPrefilter(compileFilter(spec([String.raw`foo <HOST>`, String.raw`(?i)bar <HOST>`]))),
    undefined,
  );
});

Deno.test("createPrefilter() uses the prefregex literal alone when a failregex has none", () => {
  const p = createPrefilter(compileFilter(spec([String.raw`(?i)bar <HOST>`], {
    prefregex: String.raw`^\S+ sshd\[\d+\]: <F-CONTENT>.+</F-CONTENT>$`,
  })));
  assertEquals(p, { failregex: undefined, prefregex: [" sshd["] });
  assertOk(prefilterRejects(p!, "Feb 16 10:21:00 mx postfix[1]: bar 1.2.3.4"));
  assertOk(!prefilterRejects(p!, "Feb 16 10:21:00 mx sshd[1]: BAR 1.2.3.4"));
});

Deno.test("createPrefilter() gives a prefilter for every built-in filter", () => {
  for (const name of ["postfix-sasl", "dovecot", "qpopper", "tcp-wrappers", "sshd"]) {
    const builtin = findBuiltinFilter(name);
    assertOk(builtin, name);
    const p = createPrefilter(compileFilter(builtin));
    assertOk(p !== undefined, `${name}: no prefilter`);
  }
});

Deno.test("prefilterRejects() needs one of the failregex literals and the prefregex's", () => {
  const p = { failregex: ["foo", "bar"], prefregex: ["sshd"] };
  assertOk(prefilterRejects(p, "nothing here"));
  assertOk(prefilterRejects(p, "foo but no daemon"));
  assertOk(prefilterRejects(p, "sshd but neither"));
  assertOk(!prefilterRejects(p, "sshd: bar"));
  assertOk(!prefilterRejects({ failregex: ["foo"], prefregex: undefined }, "a foo"));
});

Deno.test("literalCursor() agrees with prefilterRejects() line by line over a block", () => {
  const p = { failregex: ["ab", "b\nc", "zzz"], prefregex: ["x"] };
  const lines = ["xab", "ab", "xb", "cx", "x zzz", "", "xa", "bx", "zz", "xzzz", "abx ab", "x"];
  const text = lines.join("\n") + "\n";
  const cursor = literalCursor(p, text);
  let start = 0;
  for (const line of lines) {
    const end = start + line.length;
    assertEquals(cursor.rejects(start, end), prefilterRejects(p, line), JSON.stringify(line));
    start = end + 1;
  }
  const noPref = literalCursor({ failregex: ["aa"], prefregex: undefined }, "aa\nba\nab\naa\n");
  assertEquals([0, 3, 6, 9].map((s) => noPref.rejects(s, s + 2)), [false, true, true, false]);
});

/** The daemon's judging (quickFilter(), prefilteredVerdict, else matchLine) vs matchLine. */
function assertSameVerdicts(f: FilterSpec, lines: readonly string[], now: number): number {
  const reference = compileFilter(f);
  const { filter: fast, dates, prefilter } = quickFilter(compileFilter(f));
  assertOk(prefilter, `${f.name}: no prefilter`);
  let quick = 0;
  for (const line of lines) {
    const shortcut = prefilteredVerdict(fast, prefilter, dates, line, now);
    if (shortcut) quick++;
    const got = shortcut ?? matchLine(fast, line, now);
    assertEquals(got, matchLine(reference, line, now), `${f.name}: ${JSON.stringify(line)}`);
  }
  return quick;
}

Deno.test("prefilteredVerdict() then matchLine() judge every line as matchLine() alone does", () => {
  const now = Date.UTC(2024, 10, 20) / 1000;
  const lines = [...generateMaillog(3000, 7, { start: now - 86400 })];
  lines.push(
    "Nov 19 10:00:00 mx sshd[12]: Failed password for root from 192.0.2.7 port 22 ssh2",
    "Nov 19 10:00:01 mx kernel: nothing to see",
    "no date at all, no literal either",
    "",
  );
  for (const name of ["postfix-sasl", "dovecot", "qpopper", "tcp-wrappers", "sshd"]) {
    const quick = assertSameVerdicts(findBuiltinFilter(name)!, lines, now);
    assertOk(quick > lines.length / 2, `${name}: only ${quick} lines took the shortcut`);
  }
});

Deno.test("prefilteredVerdict() hands a line whose date joins a literal back to matchLine()", () => {
  const now = Date.UTC(2024, 10, 20) / 1000;
  // Without its date the line reads "foo: bar 192.0.2.1": the literal exists only after the cut.
  const f = spec([String.raw`foo: bar <HOST>`], { datepattern: "%Y-%m-%dT%H:%M:%S" });
  const line = "foo:2024-11-19T10:00:00 bar 192.0.2.1";
  const compiled = compileFilter(f);
  const prefilter = createPrefilter(compiled)!;
  assertOk(prefilterRejects(prefilter, line));
  assertEquals(prefilteredVerdict(compiled, prefilter, undefined, line, now), undefined);
  assertEquals(matchLine(compiled, line, now).kind, "matched");
  assertSameVerdicts(f, [line, "foo:2024-11-19T10:00:00 baz 192.0.2.1", "plain text"], now);
});
