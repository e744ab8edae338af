import { assertEquals, assertMatch, assertOk, assertThrows } from "../_assert.ts";
import { findBuiltinFilter } from "../../lib/filter/builtin.ts";
import { compileFilter, validateFilter } from "../../lib/filter/compile.ts";
import { explainMiss } from "../../lib/filter/explain.ts";
import { dateHits, matchLine } from "../../lib/filter/match.ts";
import { translatePattern } from "../../lib/filter/translate.ts";
import {
  type CompiledFilter,
  FilterError,
  type FilterSpec,
  type LineVerdict,
} from "../../lib/filter/types.ts";

/** 2024-06-15T00:00:00Z. */
const NOW = Date.UTC(2024, 5, 15) / 1000;
const DATE = "Feb 16 10:21:00";
const FEB16 = Date.UTC(2024, 1, 16, 10, 21, 0) / 1000;

function filter(failregex: string | string[], extra: Partial<FilterSpec> = {}): CompiledFilter {
  return compileFilter({
    name: "t",
    failregex: Array.isArray(failregex) ? failregex : [failregex],
    timezone: "UTC",
    ...extra,
  });
}

function match(f: CompiledFilter, line: string): LineVerdict {
  return matchLine(f, line, NOW);
}

function hostOf(v: LineVerdict): string | undefined {
  return v.kind === "matched" ? v.host : undefined;
}

function filterError(fn: () => unknown, re?: RegExp): FilterError {
  const e = assertThrows(fn, re);
  assertOk(e instanceof FilterError, `expected a FilterError, got ${e.name}`);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Translation

Deno.test("translatePattern() turns Python named groups and backreferences into JS syntax", () => {
  const t = translatePattern(String.raw`(?P<user>\w+) again (?P=user) from <HOST>`);
  assertMatch(t.source, /^\(\?<user>\\w\+\) again \\k<user> from /);
  assertEquals(t.fields, ["user"]);
  assertEquals(t.hostCaptures, 1);
  assertEquals(t.hostKind, "host");
  const f = filter(String.raw`(?P<user>\w+) again (?P=user) from <HOST>`);
  assertEquals(hostOf(match(f, `${DATE} bob again bob from 192.0.2.1`)), "192.0.2.1");
  assertEquals(match(f, `${DATE} bob again eve from 192.0.2.1`).kind, "missed");
});

Deno.test("translatePattern() moves leading inline flags to JS flags", () => {
  assertEquals(translatePattern("(?i)foo <HOST>").flags, "i");
  assertEquals(translatePattern("(?is)(?m)foo <HOST>").flags, "ism");
  const f = filter("(?i)^\\s*HOST x FAILED from <HOST>$");
  assertEquals(hostOf(match(f, `${DATE} host X failed FROM 192.0.2.7`)), "192.0.2.7");
});

Deno.test("translatePattern() accepts scoped flags, comments, verbose mode and Python escapes", () => {
  const f = filter(
    String.raw`(?x) ^ \s* \S+ \s prog: (?#the message) \  (?i:failed) \  from \  <HOST> \Z`,
  );
  assertEquals(hostOf(match(f, `${DATE} mx prog: FAILED from 192.0.2.8`)), "192.0.2.8");
  assertEquals(translatePattern(String.raw`\A\s*a{,3}b<HOST>`).source.slice(0, 11), "^\\s*a{0,3}b");
  // A "]" first in a class is literal in Python.
  const g = filter(String.raw`x[]y]+ <HOST>`);
  assertEquals(hostOf(match(g, `${DATE} x]y] 192.0.2.9`)), "192.0.2.9");
  // \U, \x, octal and \a.
  const h = filter(String.raw`\U0001F600\x41\101\0 <HOST>`);
  assertEquals(hostOf(match(h, `${DATE} \u{1F600}AA\0 192.0.2.10`)), "192.0.2.10");
  // Python identity escapes that V8's unicode mode would reject.
  const k = filter(String.raw`\"\-\<\ \: <HOST>`);
  assertEquals(hostOf(match(k, `${DATE} "-< : 192.0.2.11`)), "192.0.2.11");
});

Deno.test("translatePattern() maps every fail2ban tag to one capture", () => {
  for (const tag of ["<HOST>", "<ADDR>", "<IP4>", "<IP6>", "<DNS>", "<SUBNET>", "<F-ID/>"]) {
    const t = translatePattern(`from ${tag} x`);
    assertEquals(t.hostCaptures, 1, tag);
    assertMatch(t.source, /\(\?<host>/, tag);
  }
  assertEquals(translatePattern("<ADDR>").hostKind, "address");
  assertEquals(translatePattern("<HOST>").hostKind, "host");
  assertEquals(translatePattern("<ADDR>/<CIDR>").fields, ["cidr"]);
  assertEquals(translatePattern(String.raw`<F-USER>\S+</F-USER> <F-ALT_USER1/> <F-PORT>`).fields, [
    "user",
    "alt_user1",
    "port",
  ]);
});

Deno.test("translatePattern() numbers backreferences by the user's own groups", () => {
  // fail2ban's <HOST> opens 3 Python groups, banwatch's 1: \\1 means the user's first group.
  const f = filter(String.raw`<HOST> (\w+) (?P<x>\w+) <F-Y>\w+</F-Y> (\w+) \1 \2 \3`);
  assertEquals(hostOf(match(f, `${DATE} 192.0.2.1 a b c d a b d`)), "192.0.2.1");
  assertEquals(match(f, `${DATE} 192.0.2.1 a b c d a b c`).kind, "missed");
});

Deno.test("translatePattern() lets a leading ^ skip the blank left by the date cut", () => {
  const src = (p: string): string => translatePattern(p).source;
  assertMatch(src(String.raw`^\S+ sshd <HOST>`), /^\^\\s\*\\S\+ sshd/);
  assertMatch(src(String.raw`^mail|^(?:<x> )?\w+ <HOST>`), /^\^\\s\*mail\|\^\\s\*\(\?:<x> \)\?/);
  // Patterns that can match the blank themselves keep fail2ban's meaning.
  for (
    const p of [
      String.raw`^\s*x <HOST>`,
      String.raw`^ x <HOST>`,
      String.raw`^.*<HOST>`,
      String.raw`^(?: \w+)? <HOST>`,
    ]
  ) {
    assertEquals(src(p).startsWith("^\\s*") && !p.startsWith("^\\s*"), false, p);
  }
});

Deno.test("translatePattern() keeps lower-case angle brackets literal", () => {
  const f = filter(String.raw`user=<\S+>, rip=<HOST>`);
  assertEquals(hostOf(match(f, `${DATE} user=<bob>, rip=192.0.2.12`)), "192.0.2.12");
});

// ---------------------------------------------------------------------------------------------
// Errors

Deno.test("compileFilter() rejects a regex that does not compile with a FilterError", () => {
  const e = filterError(() => filter("from (<HOST>"), /missing \), unterminated subpattern/);
  assertEquals(e.key, "failregex");
  assertEquals(e.index, 0);
  filterError(() => filter("from <HOST>)"), /unbalanced parenthesis/);
  filterError(() => filter("from <HOST> [abc"), /unterminated character set/);
  filterError(() => filter("from <HOST> x**"), /multiple repeat/);
  filterError(() => filter(String.raw`from <HOST> \q`), /bad escape \\q/);
  filterError(() => filter(String.raw`from <HOST> a{3,1}`), /min repeat greater than max/);
  filterError(() => filter(String.raw`from <HOST> \1`), /invalid group reference 1/);
  filterError(() => filter(String.raw`from <HOST> (?P=nope)`), /unknown group name/);
});

Deno.test("compileFilter() requires exactly one address capture per failregex", () => {
  const none = filterError(() => filter("authentication failed"), /no address capture/);
  assertMatch(none.message, /; expected exactly one of <HOST>/);
  filterError(() => filter("from <HOST> to <HOST>"), /2 address captures/);
  filterError(() => filter("from <HOST> (?P<ip4>\\S+)"), /2 address captures/);
  filterError(() => filter("from <CIDR> x"), /no address capture/);
  // ignoreregex and prefregex need none.
  assertOk(filter("from <HOST>", { ignoreregex: ["harmless"], prefregex: "^\\S+ x: " }));
});

Deno.test("compileFilter() rejects unsupported fail2ban and Python constructs", () => {
  filterError(() => filter("<SKIPLINES>from <HOST>"), /<SKIPLINES> is not supported/);
  filterError(() => filter("<USER> from <HOST>"), /unknown tag <USER>/);
  filterError(() => filter("(?>a+) <HOST>"), /atomic groups/);
  filterError(() => filter("a++ <HOST>"), /possessive quantifier/);
  filterError(() => filter("(?(nope)b|c) <HOST>"), /unknown group "nope"/);
  filterError(() => filter("(a)?(?(1)b|c|d) <HOST>"), /more than two branches/);
  filterError(() => filter(String.raw`(a)?(?(1)b|c) \1 <HOST>`), /numbered backreferences/);
  filterError(() => filter("x (?i)<HOST>"), /must be at the start/);
  filterError(() => filter(String.raw`\N{DIGIT ONE} <HOST>`), /named characters/);
  filterError(() => filter("<HOST> </F-USER>"), /no matching opening tag/);
  filterError(() => filter(String.raw`(?P<user>\S+) (?P<user>\S+) <HOST>`), /redefinition/);
});

Deno.test("validateFilter() reports every problem with its key and index", () => {
  const errors = validateFilter({
    name: "bad",
    failregex: ["from <HOST>", "no capture here", "(<HOST>"],
    ignoreregex: ["ok", "[unterminated"],
    prefregex: "(",
    datepattern: "%Q nonsense %",
  });
  assertEquals(
    errors.map((e) => [e.key, e.index]),
    [["failregex", 1], ["failregex", 2], ["ignoreregex", 1], ["prefregex", undefined], [
      "datepattern",
      undefined,
    ]],
  );
  for (const e of errors) assertOk(!e.message.includes("\n"), "one-line messages");
  assertEquals(validateFilter({ name: "ok", failregex: ["from <HOST>"] }), []);
  assertEquals(validateFilter({ name: "empty", failregex: [] }).map((e) => e.key), ["failregex"]);
  assertEquals(validateFilter({ name: "blank", failregex: ["  "] }).map((e) => e.index), [0]);
});

Deno.test("compileFilter() throws the first problem validateFilter() finds", () => {
  const e = filterError(() =>
    compileFilter({ name: "x", failregex: ["from <HOST>"], ignoreregex: ["("] })
  );
  assertEquals([e.key, e.index], ["ignoreregex", 0]);
  const tz = filterError(() =>
    compileFilter({ name: "x", failregex: ["from <HOST>"], timezone: "Mars/Olympus" })
  );
  assertEquals(tz.key, "datepattern");
  assertMatch(tz.message, /^timezone "Mars\/Olympus"/);
});

// ---------------------------------------------------------------------------------------------
// Matching

Deno.test("matchLine() cuts the date and searches the failregex in the rest", () => {
  const f = filter("refused connection from <HOST>, service qpopper \\(tcp\\)");
  const v = match(
    f,
    `${DATE} mail inetd[1234]: refused connection from 203.0.113.9, service qpopper (tcp)`,
  );
  assertEquals(v, {
    kind: "matched",
    time: FEB16,
    template: "MON Day HH:MM:SS",
    regex: 0,
    addr: (v as { addr: unknown }).addr,
    host: "203.0.113.9",
    fields: {},
  });
  // As in fail2ban only the date is cut: the blank after it stays. A "^" followed by
  // something that cannot match a blank skips it; patterns that match it themselves work too.
  const strict = filter(String.raw`^mail inetd\[\d+\]: refused connection from <HOST>,`);
  assertEquals(
    hostOf(match(strict, `${DATE} mail inetd[1]: refused connection from 192.0.2.1, x`)),
    "192.0.2.1",
  );
  const exim = filter(
    String.raw`^(?: \[\d+\]| \w+ exim\[\d+\]:)? \w+ authenticator failed for \[<HOST>\]`,
  );
  assertEquals(
    hostOf(match(exim, "2013-01-04 17:03:46 login authenticator failed for [192.0.2.3]: 535")),
    "192.0.2.3",
  );
  const space = filter(String.raw`^ mail inetd\[1\]: \S+ \S+ from <HOST>,`);
  assertEquals(
    hostOf(match(space, `${DATE} mail inetd[1]: refused connection from 192.0.2.1, x`)),
    "192.0.2.1",
  );
  const g = filter(String.raw`^\s*mail inetd\[\d+\]: refused connection from <HOST>,`);
  assertEquals(
    hostOf(match(g, `Feb  6 10:21:00 mail inetd[1]: refused connection from 192.0.2.1, x`)),
    "192.0.2.1",
  );
  assertEquals(
    match(g, `${DATE} x mail inetd[1]: refused connection from 192.0.2.1, x`).kind,
    "missed",
  );
});

Deno.test("matchLine() says why a line missed: no date, no failregex, not an address", () => {
  const f = filter("from <HOST> port");
  assertEquals(match(f, "no date here from 192.0.2.1 port"), { kind: "missed", reason: "no-date" });
  assertEquals(match(f, `${DATE} mx sshd[1]: something else`), {
    kind: "missed",
    reason: "no-failregex",
    time: FEB16,
    template: "MON Day HH:MM:SS",
  });
  assertEquals(match(f, `${DATE} mx sshd[1]: from evil.example.com port 22`), {
    kind: "missed",
    reason: "not-an-address",
    time: FEB16,
    template: "MON Day HH:MM:SS",
    regex: 0,
    host: "evil.example.com",
  });
});

Deno.test("matchLine() normalises <HOST> and rejects what is not an address", () => {
  const f = filter("from <HOST> port");
  const cases: [string, string | undefined][] = [
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["::FFFF:192.0.2.1", "192.0.2.1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8::1", "2001:db8::1"],
    ["[2001:db8::2]", "2001:db8::2"],
    ["192.0.2.255", "192.0.2.255"],
    ["fe80::1%em0", undefined],
    ["192.0.2.256", undefined],
    ["010.0.2.1", undefined],
    ["1.2.3.4.5", undefined],
    ["1.2.3", undefined],
    ["::ffff:999.1.1.1", undefined],
    ["host.example.com", undefined],
    ["192.0.2.1.evil.example", undefined],
  ];
  for (const [text, want] of cases) {
    const v = match(f, `${DATE} mx d: from ${text} port 1`);
    if (want) {
      assertEquals(hostOf(v), want, text);
    } else {
      assertEquals(v.kind === "missed" ? v.reason : v.kind, "not-an-address", text);
    }
  }
});

Deno.test("matchLine() yields a hostname only with usedns and only for <HOST>", () => {
  const line =
    `${DATE} mail inetd[1]: refused connection from scanner.example.com, service x (tcp)`;
  const plain = filter("refused connection from <HOST>, service");
  assertEquals(match(plain, line).kind, "missed");
  const dns = filter("refused connection from <HOST>, service", { usedns: true });
  const v = match(dns, line);
  assertEquals(v.kind, "matched");
  assertOk(v.kind === "matched");
  assertEquals(v.addr, undefined);
  assertEquals(v.host, "scanner.example.com");
  // An address still comes back parsed with usedns.
  const w = match(dns, `${DATE} mail inetd[1]: refused connection from 192.0.2.5, service x (tcp)`);
  assertEquals(w.kind === "matched" ? w.addr?.text : undefined, "192.0.2.5");
  // Garbage is never a hostname.
  const g = match(dns, `${DATE} mail inetd[1]: refused connection from 1.2.3.4.5, service x`);
  assertEquals(g.kind === "missed" ? g.reason : g.kind, "not-an-address");
  // <ADDR> and <DNS>: only <DNS>/<HOST> accept a name.
  const addr = filter("refused connection from <ADDR>, service", { usedns: true });
  assertEquals(match(addr, line).kind, "missed");
  const dnsTag = filter("refused connection from <DNS>, service", { usedns: true });
  assertEquals(hostOf(match(dnsTag, line)), "scanner.example.com");
});

Deno.test("matchLine() supports <ADDR>, <IP4>, <IP6>, <SUBNET>, <CIDR> and <F-ID>", () => {
  assertEquals(hostOf(match(filter("at <ADDR>:"), `${DATE} x at [2001:db8::3]:22`)), "2001:db8::3");
  assertEquals(hostOf(match(filter("at <ADDR> "), `${DATE} x at 192.0.2.3 y`)), "192.0.2.3");
  assertEquals(hostOf(match(filter("at <IP4> "), `${DATE} x at 192.0.2.4 y`)), "192.0.2.4");
  assertEquals(match(filter("at <IP4> "), `${DATE} x at 2001:db8::4 y`).kind, "missed");
  assertEquals(hostOf(match(filter("at <IP6> "), `${DATE} x at 2001:db8::4 y`)), "2001:db8::4");
  const sub = match(filter("net <SUBNET> "), `${DATE} x net 192.0.2.0/24 y`);
  assertEquals(sub.kind === "matched" ? [sub.host, sub.fields] : sub, ["192.0.2.0", {
    cidr: "24",
  }]);
  const cidr = match(filter("net <ADDR>/<CIDR> "), `${DATE} x net 2001:db8::/32 y`);
  assertEquals(cidr.kind === "matched" ? [cidr.host, cidr.fields] : cidr, ["2001:db8::", {
    cidr: "32",
  }]);
  const fid = filter(String.raw`id <F-ID>[\d.]+</F-ID> end`);
  assertEquals(hostOf(match(fid, `${DATE} x id 192.0.2.6 end`)), "192.0.2.6");
  const py = filter(String.raw`ip=(?P<host>[^ ]+) end`);
  assertEquals(hostOf(match(py, `${DATE} x ip=::ffff:192.0.2.7 end`)), "192.0.2.7");
});

Deno.test("matchLine() returns named fields lowercased", () => {
  const f = filter(String.raw`user <F-USER>\S+</F-USER> (?P<Port>\d+) <F-ALT_USER/> from <HOST>`);
  const v = match(f, `${DATE} x user Bob 22 alt from 192.0.2.8`);
  assertEquals(v.kind === "matched" ? v.fields : v, { user: "Bob", Port: "22", alt_user: "alt" });
  const lone = filter("user <F-USER> from <HOST>");
  const w = match(lone, `${DATE} x user eve from 192.0.2.9`);
  assertEquals(w.kind === "matched" ? w.fields : w, { user: "eve" });
  const optional = filter(String.raw`(?:user <F-USER>\S+</F-USER> )?from <HOST>`);
  const o = match(optional, `${DATE} x from 192.0.2.10`);
  assertEquals(o.kind === "matched" ? o.fields : o, {});
});

Deno.test("matchLine() fills a missing or empty field from its <F-ALT_…> alternative", () => {
  const f = filter(
    String.raw`ruser=<F-ALT_USER>\S*</F-ALT_USER> rhost=<HOST>(?: user=<F-USER>\S*</F-USER>)?$`,
  );
  const fieldsOf = (line: string) => {
    const v = match(f, `${DATE} x ${line}`);
    return v.kind === "matched" ? v.fields : v;
  };
  assertEquals(fieldsOf("ruser=root rhost=192.0.2.1"), { alt_user: "root", user: "root" });
  assertEquals(fieldsOf("ruser=root rhost=192.0.2.1 user="), { alt_user: "root", user: "root" });
  assertEquals(fieldsOf("ruser=root rhost=192.0.2.1 user=eve"), { alt_user: "root", user: "eve" });
  assertEquals(fieldsOf("ruser= rhost=192.0.2.1"), { alt_user: "" });
  // As in fail2ban, `_N` numbers alternatives of one name (`ALT_USER1` names "user1").
  const numbered = filter(
    String.raw`a=<F-ALT_USER_2>\S*</F-ALT_USER_2> b=<F-ALT_USER_1>\S*</F-ALT_USER_1> <HOST>`,
  );
  const v = match(numbered, `${DATE} x a=two b=one 192.0.2.2`);
  assertEquals(v.kind === "matched" ? v.fields["user"] : v, "one");
  const w = match(numbered, `${DATE} x a=two b= 192.0.2.2`);
  assertEquals(w.kind === "matched" ? w.fields["user"] : w, "two");
});

Deno.test("matchLine() reports the first failregex that matches", () => {
  const f = filter(["first <HOST>$", "second <HOST>$", "<HOST>$"]);
  assertEquals((match(f, `${DATE} x second 192.0.2.1`) as { regex: number }).regex, 1);
  assertEquals((match(f, `${DATE} x first 192.0.2.1`) as { regex: number }).regex, 0);
  assertEquals((match(f, `${DATE} x 192.0.2.1`) as { regex: number }).regex, 2);
});

Deno.test("matchLine() marks a failregex match that also matches an ignoreregex as ignored", () => {
  const f = filter("from <HOST>", { ignoreregex: ["never", "from 192\\.0\\.2\\.\\d+ trusted"] });
  assertEquals(match(f, `${DATE} x from 192.0.2.1 trusted`), {
    kind: "ignored",
    time: FEB16,
    template: "MON Day HH:MM:SS",
    regex: 0,
    ignoreRegex: 1,
    host: "192.0.2.1",
  });
  assertEquals(match(f, `${DATE} x from 192.0.2.1`).kind, "matched");
  // An ignoreregex-only line is a plain miss.
  assertEquals(match(f, `${DATE} x trusted`).kind, "missed");
});

Deno.test("matchLine() requires the prefregex and searches its <F-CONTENT>", () => {
  const f = filter("^failed from <HOST>$", {
    prefregex: String.raw`^\s*\S+ app\[\d+\]: <F-CONTENT>.+</F-CONTENT>$`,
  });
  assertEquals(hostOf(match(f, `${DATE} mx app[1]: failed from 192.0.2.1`)), "192.0.2.1");
  const v = match(f, `${DATE} mx other[1]: failed from 192.0.2.1`);
  assertEquals(v.kind === "missed" ? v.reason : v.kind, "no-failregex");
  const plain = filter("failed from <HOST>", { prefregex: String.raw`^\s*\S+ app: ` });
  assertEquals(hostOf(match(plain, `${DATE} mx app: failed from 192.0.2.2`)), "192.0.2.2");
  assertEquals(match(plain, `${DATE} mx bad: failed from 192.0.2.2`).kind, "missed");
});

Deno.test("matchLine() copes with CR, NUL, U+FFFD and 1 MB lines without throwing", () => {
  const f = filter("^\\s*mx d: from <HOST>$");
  assertEquals(hostOf(match(f, `${DATE} mx d: from 192.0.2.1\r`)), "192.0.2.1");
  assertEquals(match(f, `${DATE} mx d: from 192.0.2.1\r\r`).kind, "missed");
  assertEquals(hostOf(match(filter("\0 from <HOST>"), `${DATE} a\0 from 192.0.2.2`)), "192.0.2.2");
  assertEquals(match(f, `${DATE} mx d: from \ufffd192.0.2.3`).kind, "missed");
  assertEquals(match(f, "").kind, "missed");
  assertEquals(match(f, "\r").kind, "missed");
  const big = "a".repeat(1 << 20);
  const greedy = filter(String.raw`(a+)+b <HOST>`);
  const started = performance.now();
  assertEquals(match(greedy, `${DATE} ${big}`).kind, "missed");
  assertEquals(hostOf(match(filter("x <HOST>$"), `${DATE} ${big} x 192.0.2.4`)), "192.0.2.4");
  assertOk(performance.now() - started < 10_000, "bounded time");
});

Deno.test("matchLine() with datepattern {NONE} uses now and the whole line", () => {
  const f = filter("^from <HOST>$", { datepattern: "{NONE}" });
  const v = match(f, "from 192.0.2.1");
  assertEquals(v.kind === "matched" ? [v.time, v.host] : v, [NOW, "192.0.2.1"]);
});

Deno.test("dateHits() counts the date templates matchLine() used", () => {
  const f = filter("from <HOST>");
  match(f, `${DATE} x from 192.0.2.1`);
  match(f, "Feb  6 10:21:00 x nothing");
  match(f, "2024-02-16T10:21:00Z x from 192.0.2.1");
  match(f, "no date");
  assertEquals(Object.fromEntries(dateHits(f)), {
    "MON Day HH:MM:SS": 2,
    "YYYY-MM-DD[T ]HH:MM:SS[.f][zone]": 1,
  });
});

// ---------------------------------------------------------------------------------------------
// explainMiss

Deno.test("explainMiss() shows the longest matching pattern prefix and where the line diverged", () => {
  const pattern = String
    .raw`^\s*\S+ qpopper\[\d+\]: \S+ at \S+ \(<HOST>\): -ERR \[AUTH\] Password supplied`;
  const f = filter(pattern);
  const line =
    `${DATE} mail qpopper[1]: bob at h (192.0.2.1): -ERR [AUTH] PAM authentication failed`;
  assertEquals(match(f, line).kind, "missed");
  const [near, ...rest] = explainMiss(f, line, NOW);
  assertEquals(rest, []);
  assertOk(near);
  assertEquals(near.regex, 0);
  assertEquals(near.pattern, pattern);
  assertEquals(
    near.matchedPattern,
    String.raw`^\s*\S+ qpopper\[\d+\]: \S+ at \S+ \(<HOST>\): -ERR \[AUTH\] P`,
  );
  assertEquals(near.remainingPattern, "assword supplied");
  assertEquals(
    line.slice(0, near.linePos),
    `${DATE} mail qpopper[1]: bob at h (192.0.2.1): -ERR [AUTH] P`,
  );
  assertEquals(near.lineRest, "AM authentication failed");
});

Deno.test("explainMiss() keeps the pattern's anchoring and splits at groups and classes", () => {
  const f = filter([
    "^mx sshd(?:\\[\\d+\\])?: Failed [a-z]+ for <HOST>",
    "unanchored (x|y)+ <HOST>",
  ]);
  const line = `${DATE} other mx sshd[1]: Failed password for 192.0.2.1 unanchored xyz 192.0.2.2`;
  const [a, b] = explainMiss(f, line, NOW);
  assertEquals(a?.matchedPattern, "^");
  assertEquals(a?.remainingPattern, "mx sshd(?:\\[\\d+\\])?: Failed [a-z]+ for <HOST>");
  assertEquals(a?.linePos, DATE.length + 1);
  assertEquals(b?.matchedPattern, "unanchored (x|y)+");
  assertEquals(b?.remainingPattern, " <HOST>");
  assertEquals(b?.lineRest, "z 192.0.2.2");
});

Deno.test("explainMiss() explains each top-level alternative and reports the best one", () => {
  const f = filter("^ alpha beta gamma|^ gamma delta <HOST> end");
  const [near] = explainMiss(f, `${DATE} gamma delta 192.0.2.1 x`, NOW);
  assertEquals(near?.matchedPattern, "^ gamma delta <HOST> ");
  assertEquals(near?.remainingPattern, "end");
  assertEquals(near?.lineRest, "x");
});

Deno.test("explainMiss() works on lines without a date and does not count date hits", () => {
  const f = filter("^mx d: from <HOST>");
  const [near] = explainMiss(f, "mx d: from !", NOW);
  assertEquals(near?.matchedPattern, "^mx d: from ");
  assertEquals(near?.linePos, "mx d: from ".length);
  explainMiss(f, `${DATE} mx d: from nowhere`, NOW);
  assertEquals(dateHits(f).size, 0);
});

Deno.test("explainMiss() reports the full pattern when the regex matched", () => {
  const f = filter("from <HOST> port");
  const [near] = explainMiss(f, `${DATE} x from evil.example port 1`, NOW);
  assertEquals(near?.remainingPattern, "");
  assertEquals(near?.matchedPattern, "from <HOST> port");
  assertEquals(near?.lineRest, " 1");
});

// ---------------------------------------------------------------------------------------------
// The admin's seed filters (../shared/seed) on the seed's log lines

Deno.test("compileFilter() runs the admin's three fail2ban filters on the seed's lines", () => {
  const qpopper = filter(String.raw`.* at .* \(<HOST>\): -ERR \[AUTH\] Password supplied .*`, {
    datepattern: "{^LN-BEG}",
  });
  const inetd = filter(String.raw`refused connection from <HOST>, service qpopper \(tcp\)`, {
    datepattern: "{^LN-BEG}",
  });
  const postfix = filter(String.raw`warning: unknown\[<HOST>\]: SASL LOGIN authentication failed`, {
    datepattern: "{^LN-BEG}",
  });
  // The seed's own qpopper line has the address masked: no address, so no match.
  const masked =
    `Feb 16 10:21:00 hostname qpopper[25932]: foo@example.com at xxx.yyy.zzz.*** (xx.yyy.zzz.***): -ERR [AUTH] Password supplied for "foo@example.com" is incorrect.`;
  assertEquals(match(qpopper, masked).kind, "missed");
  const real = masked.replace("xxx.yyy.zzz.***", "h.example.net").replace(
    "xx.yyy.zzz.***",
    "203.0.113.9",
  );
  assertEquals(hostOf(match(qpopper, real)), "203.0.113.9");
  assertEquals(
    hostOf(
      match(
        inetd,
        "Feb 16 10:21:00 hostname inetd[1234]: refused connection from 203.0.113.10, service qpopper (tcp)",
      ),
    ),
    "203.0.113.10",
  );
  assertEquals(
    hostOf(
      match(
        postfix,
        "Jan 20 08:53:48 hoge postfix/smtpd[7395]: warning: unknown[194.33.191.13]: SASL LOGIN authentication failed: authentication failure, sasl_username=ishoika@mail.kuji-clinic.info",
      ),
    ),
    "194.33.191.13",
  );
  assertEquals(
    hostOf(
      match(
        postfix,
        "Oct 26 10:21:21 hoge postfix/smtpd[4911]: warning: unknown[94.156.102.204]: SASL LOGIN authentication failed: authentication failure",
      ),
    ),
    "94.156.102.204",
  );
  // And why the built-ins exist: the seed's unanchored qpopper filter is steerable.
  const user = "x at y (198.51.100.66): -ERR [AUTH] Password supplied for";
  const injected =
    `Feb 16 10:21:00 mail qpopper[1]: ${user} at evil (203.0.113.70): -ERR [AUTH] Password supplied for "${user}" is incorrect.`;
  assertEquals(hostOf(match(qpopper, injected)), "198.51.100.66");
});

Deno.test("translatePattern() rewrites ((?i)x) and (?:(?i)x) to scoped flags as fail2ban does", () => {
  const f = filter(String.raw`\[<HOST>\]: SASL ((?i)LOGIN|PLAIN) (?:(?i)auth) failed`);
  assertEquals(hostOf(match(f, `${DATE} x [192.0.2.1]: SASL login AUTH failed`)), "192.0.2.1");
  assertEquals(hostOf(match(f, `${DATE} x [192.0.2.1]: SASL Plain auth failed`)), "192.0.2.1");
  assertEquals(match(f, `${DATE} x [192.0.2.1]: SASL login auth FAILED`).kind, "missed");
  assertMatch(translatePattern("((?i)a)").source, /^\(\?i:a\)$/);
});

Deno.test("matchLine() takes the address from the prefregex when the failregex has none", () => {
  const f = filter(["^denied$", "^failed for <F-USER>\\S+</F-USER>$"], {
    prefregex: String.raw`^\s*\S+ web: \[client <HOST>\] <F-CONTENT>.+</F-CONTENT>$`,
  });
  assertEquals(hostOf(match(f, `${DATE} mx web: [client 192.0.2.1] denied`)), "192.0.2.1");
  const v = match(f, `${DATE} mx web: [client ::ffff:192.0.2.2] failed for bob`);
  assertEquals(v.kind === "matched" ? [v.host, v.fields] : v, ["192.0.2.2", { user: "bob" }]);
  filterError(
    () => filter("from <HOST>", { prefregex: "^\\s*client <HOST> " }),
    /address captured in both the prefregex and "from <HOST>"/,
  );
  const twice = validateFilter({ name: "t", failregex: ["x"], prefregex: "^<HOST> <ADDR>" });
  assertEquals(twice.map((e) => e.key), ["failregex", "prefregex"]);
  assertMatch(twice[1]!.message, /^2 address captures in "\^<HOST> <ADDR>"; expected at most one/);
});

Deno.test("matchLine() emulates Python conditional groups like fail2ban's sshd filter uses", () => {
  const f = filter(
    String
      .raw`^Failed \S+ for (?P<cond_inv>invalid user )?<F-USER>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)</F-USER> from <HOST>(?: port \d+)?(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`,
  );
  const fields = (line: string): unknown => {
    const v = match(f, `${DATE} ${line}`);
    return v.kind === "matched" ? [v.host, v.fields["user"]] : v.kind;
  };
  assertEquals(fields("Failed password for root from 192.0.2.1 port 22 ssh2"), [
    "192.0.2.1",
    "root",
  ]);
  assertEquals(fields("Failed password for invalid user a b from 192.0.2.2 port 2 ssh2"), [
    "192.0.2.2",
    "a b",
  ]);
  assertEquals(fields("Failed publickey for root from 192.0.2.3 port 22 ssh2: RSA SHA256:x"), [
    "192.0.2.3",
    "root",
  ]);
  const numbered = filter(String.raw`^(x)?(?(1)a|b) <HOST>$`);
  assertEquals(hostOf(match(numbered, `${DATE} xa 192.0.2.4`)), "192.0.2.4");
  assertEquals(hostOf(match(numbered, `${DATE} b 192.0.2.5`)), "192.0.2.5");
  assertEquals(match(numbered, `${DATE} xb 192.0.2.6`).kind, "missed");
  assertEquals(match(numbered, `${DATE} a 192.0.2.7`).kind, "missed");
});

Deno.test("matchLine() treats a match through <F-NOFAIL> as no failure and MLF tags as fields", () => {
  const f = filter(
    String.raw`^(?:<F-NOFAIL>Accepted</F-NOFAIL>|Failed) \w+ for \S+ from <HOST>`,
    { prefregex: String.raw`^<F-MLFID>\s*\S+ sshd\[\d+\]:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$` },
  );
  const ok = match(f, `${DATE} mx sshd[1]: Accepted password for bob from 192.0.2.1 port 1`);
  assertEquals(ok.kind === "missed" ? [ok.reason, ok.regex] : ok.kind, ["no-failregex", 0]);
  const bad = match(f, `${DATE} mx sshd[1]: Failed password for bob from 192.0.2.1 port 1`);
  assertEquals(bad.kind === "matched" ? bad.fields : bad.kind, { mlfid: " mx sshd[1]:" });
});

Deno.test("explainMiss() reports positions in the line when a prefregex cuts <F-CONTENT>", () => {
  const f = filter("^failed for \\S+ from <HOST>$", {
    prefregex: String.raw`^\s*\S+ app\[\d+\]: <F-CONTENT>.+</F-CONTENT>$`,
  });
  const line = `${DATE} mx app[7]: failed for bob at 192.0.2.1`;
  const [near] = explainMiss(f, line, NOW);
  assertEquals(near?.matchedPattern, "^failed for \\S+ ");
  assertEquals(near?.lineRest, "at 192.0.2.1");
  assertEquals(line.slice(near?.linePos), "at 192.0.2.1");
});

Deno.test("matchLine() lets (?P=user) refer to the <F-USER> group as in fail2ban", () => {
  const f = filter(String.raw`for <F-USER>\S+</F-USER> from <HOST>(?: user=(?P=user))?$`);
  const v = match(f, `${DATE} mx rc: Login failed for bob from 192.0.2.1 user=bob`);
  assertEquals(v.kind === "matched" ? [v.host, v.fields["user"]] : v, ["192.0.2.1", "bob"]);
  assertEquals(
    match(f, `${DATE} mx rc: Login failed for bob from 192.0.2.1 user=eve`).kind,
    "missed",
  );
});

Deno.test("matchLine() takes the address from <HOST> text only where fail2ban's address pattern would", () => {
  const cases: [string, string, string | undefined][] = [
    [String.raw`\[client <HOST>(:\d{1,5})?\]`, "[client 192.0.2.1:58585] x", "192.0.2.1"],
    ["for '<HOST>:\\d+'", "for '192.0.2.2:5060'", "192.0.2.2"],
    // Without a port in the pattern, "addr:port" or "addr." is not an address (nor in fail2ban).
    ["for '<HOST>'", "for '192.0.2.2:5060'", undefined],
    ["address <HOST>$", "address 192.0.2.3.", undefined],
    [
      String.raw`^\s*\S+ h\[1\]: <HOST>:\d+ \[`,
      "x h[1]: 2001:db8::1234:58430 [y",
      "2001:db8::1234",
    ],
    ["address <HOST>$", "address 192.0.2.4.evil.example", undefined],
    ["address <HOST>$", "address 192.0.2.4:99999x", undefined],
  ];
  for (const [regex, text, want] of cases) {
    const v = match(filter(regex), `${DATE} ${text}`);
    if (want) assertEquals(hostOf(v), want, text);
    else assertEquals(v.kind === "matched" ? v.host : "missed", "missed", text);
  }
});

Deno.test("matchLine() leaves a port after <HOST> to the pattern and never bans addr:port text", () => {
  const now = Date.parse("2026-03-01T00:00:00Z") / 1000;
  const withPort = compileFilter({
    name: "t",
    failregex: ["^\\S+ x\\[\\d+\\]: from <HOST>(?::\\d+)?$"],
  });
  const a = matchLine(withPort, "Feb 16 10:30:00 mx x[1]: from 203.0.113.5:5060", now);
  assertEquals(a.kind === "matched" && a.addr?.text, "203.0.113.5");
  const noPort = compileFilter({
    name: "t",
    failregex: ["^\\S+ x\\[\\d+\\]: from <HOST>, service$"],
  });
  const b = matchLine(noPort, "Feb 16 10:30:00 mx x[1]: from 198.51.100.66:110, service", now);
  assertEquals([b.kind, b.kind === "missed" && b.reason], ["missed", "not-an-address"]);
});

Deno.test("matchLine() with the tcp-wrappers filter never takes a bracketed address from inetd", () => {
  const f = compileFilter(findBuiltinFilter("tcp-wrappers")!);
  const now = Date.parse("2026-03-01T00:00:00Z") / 1000;
  const v = matchLine(
    f,
    "Feb 16 10:30:00 mx inetd[1]: refused connection from [198.51.100.66], service qpopper (tcp)",
    now,
  );
  assertEquals(v.kind, "missed");
});
