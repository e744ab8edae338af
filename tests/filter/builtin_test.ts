import { assertEquals, assertOk } from "../_assert.ts";
import {
  BUILTIN_FILTERS,
  type CompiledFilter,
  compileFilter,
  findBuiltinFilter,
  type LineVerdict,
  matchLine,
} from "../../lib/filter/mod.ts";

const SAMPLES = new URL("../testdata/filters/", import.meta.url);
/** The address every injected sample line tries to get banned. */
const VICTIM = "198.51.100.66";
/** 2026-12-01T00:00:00Z: year-less syslog dates resolve to 2026. */
const NOW = Date.UTC(2026, 11, 1) / 1000;

interface Expectation {
  match: boolean;
  host?: string;
  user?: string;
  reason?: string;
  ignored?: boolean;
  time?: string;
}

interface Sample {
  file: string;
  lineNo: number;
  text: string;
  expect: Expectation;
}

/** Reads an annotated sample file: bytes decoded as UTF-8 with U+FFFD for invalid bytes. */
function readSamples(name: string): Sample[] {
  const bytes = Deno.readFileSync(new URL(`${name}.log`, SAMPLES));
  const lines = new TextDecoder("utf-8", { fatal: false }).decode(bytes).split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const out: Sample[] = [];
  let pending: Expectation | undefined;
  lines.forEach((text, i) => {
    if (text.startsWith("# expect:")) {
      assertOk(pending === undefined, `${name}.log:${i + 1}: two expectations in a row`);
      pending = JSON.parse(text.slice("# expect:".length)) as Expectation;
      return;
    }
    if (text.startsWith("#") || text.trim() === "") return;
    assertOk(pending !== undefined, `${name}.log:${i + 1}: log line without "# expect:"`);
    out.push({ file: `${name}.log`, lineNo: i + 1, text, expect: pending });
    pending = undefined;
  });
  assertOk(pending === undefined, `${name}.log: dangling "# expect:" at the end`);
  return out;
}

function compileUtc(name: string): CompiledFilter {
  const spec = findBuiltinFilter(name);
  assertOk(spec, `built-in ${name}`);
  return compileFilter({ ...spec, timezone: "UTC" });
}

function describe(v: LineVerdict): string {
  return JSON.stringify(v, (k, val) => (k === "addr" ? val?.text : val));
}

function checkSample(filter: CompiledFilter, s: Sample): void {
  const where = `${s.file}:${s.lineNo}`;
  const v = matchLine(filter, s.text, NOW);
  const e = s.expect;
  if (e.match) {
    assertEquals(v.kind, "matched", `${where}: expected a match, got ${describe(v)}`);
    if (v.kind !== "matched") return;
    if (e.host !== undefined) assertEquals(v.host, e.host, `${where}: host`);
    assertOk(v.addr !== undefined, `${where}: an address`);
    assertEquals(v.addr.text, v.host, `${where}: host is the normalised address`);
    if (e.user !== undefined) assertEquals(v.fields["user"], e.user, `${where}: user`);
    if (e.time !== undefined) {
      const want = Date.parse(e.time) / 1000;
      assertOk(Math.abs(v.time - want) < 0.001, `${where}: time ${v.time}, expected ${want}`);
    }
  } else {
    assertOk(v.kind !== "matched", `${where}: expected no match, got ${describe(v)}`);
    if (e.ignored) assertEquals(v.kind, "ignored", `${where}: expected ignored`);
    if (e.reason !== undefined) {
      assertEquals(v.kind === "missed" ? v.reason : v.kind, e.reason, `${where}: reason`);
    }
  }
}

const NAMES = BUILTIN_FILTERS.map((f) => f.name);

Deno.test("BUILTIN_FILTERS has the five documented filters with description and example", () => {
  assertEquals(NAMES, ["postfix-sasl", "dovecot", "qpopper", "tcp-wrappers", "sshd"]);
  for (const f of BUILTIN_FILTERS) {
    assertOk(f.description && f.description.length > 10, `${f.name}: description`);
    assertOk(f.example, `${f.name}: example`);
    assertOk(f.failregex.length > 0, `${f.name}: failregex`);
    assertEquals(f.datepattern, undefined, `${f.name}: auto date detection`);
  }
});

Deno.test("findBuiltinFilter() finds each built-in by name and nothing else", () => {
  for (const name of NAMES) assertEquals(findBuiltinFilter(name)?.name, name);
  assertEquals(findBuiltinFilter("nope"), undefined);
  assertEquals(findBuiltinFilter("SSHD"), undefined);
});

Deno.test("BUILTIN_FILTERS each match their own example line", () => {
  for (const f of BUILTIN_FILTERS) {
    const v = matchLine(compileUtc(f.name), f.example!, NOW);
    assertEquals(v.kind, "matched", `${f.name}: ${describe(v)}`);
  }
});

for (const name of NAMES) {
  Deno.test(`BUILTIN_FILTERS ${name} matches its annotated samples`, () => {
    const samples = readSamples(name);
    assertOk(samples.length >= 20, `${name}: at least 20 samples, got ${samples.length}`);
    const filter = compileUtc(name);
    for (const s of samples) checkSample(filter, s);
  });

  Deno.test(`BUILTIN_FILTERS ${name} has a matching sample for every failregex`, () => {
    const filter = compileUtc(name);
    const hits = filter.failregex.map(() => 0);
    for (const s of readSamples(name)) {
      const v = matchLine(filter, s.text, NOW);
      if (v.kind === "matched") hits[v.regex]!++;
    }
    hits.forEach((n, i) => assertOk(n > 0, `${name}: failregex ${i} has no sample`));
  });

  Deno.test(`BUILTIN_FILTERS ${name} samples include injected lines and bad input`, () => {
    const samples = readSamples(name);
    const injected = samples.filter((s) => s.text.includes(VICTIM));
    assertOk(injected.length >= 3, `${name}: at least 3 injected lines, got ${injected.length}`);
    assertOk(samples.some((s) => s.text.includes("\0")), `${name}: a line with NUL`);
    assertOk(samples.some((s) => s.text.endsWith("\r")), `${name}: a CRLF line`);
    assertOk(samples.some((s) => s.text.includes("\ufffd")), `${name}: invalid UTF-8`);
    assertOk(samples.some((s) => s.expect.match && s.expect.host?.includes(":")), `${name}: IPv6`);
    assertOk(samples.some((s) => s.text.includes("::ffff:") && s.expect.match), `${name}: mapped`);
  });
}

Deno.test("BUILTIN_FILTERS never match the injected victim address in any sample file", () => {
  const filters = NAMES.map(compileUtc);
  let checked = 0;
  for (const file of NAMES) {
    for (const s of readSamples(file)) {
      for (const [i, filter] of filters.entries()) {
        const v = matchLine(filter, s.text, NOW);
        checked++;
        assertOk(
          !(v.kind === "matched" && v.host === VICTIM),
          `${s.file}:${s.lineNo}: ${NAMES[i]} matched the victim: ${describe(v)}`,
        );
        // A failure annotated for one filter must not be matched by another one.
        if (NAMES[i] !== file && s.expect.match) {
          assertOk(v.kind !== "matched", `${s.file}:${s.lineNo}: also matched by ${NAMES[i]}`);
        }
      }
    }
  }
  assertOk(checked > 500);
});

Deno.test("BUILTIN_FILTERS handle 1 MB lines quickly without matching the victim", () => {
  const big = `x from ${VICTIM} port 1 (${VICTIM}): -ERR [AUTH] rip=${VICTIM}, lip=1.2.3.4> `;
  const filler = big.repeat(Math.ceil(1_048_576 / big.length));
  const lines = [
    `Nov 28 20:04:17 mx sshd[1]: Invalid user ${filler} from 203.0.113.90 port 1`,
    `Nov 28 20:04:17 mx sshd[1]: Failed password for ${filler}`,
    `Nov 28 20:04:17 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts): user=<${filler}`,
    `Nov 28 20:04:17 mx dovecot: auth: passwd-file(${filler},203.0.113.91): unknown user`,
    `Nov 28 20:04:17 mx qpopper[1]: ${filler} at h (203.0.113.92): -ERR [AUTH] "${filler}": access denied.`,
    `Nov 28 20:04:17 mx postfix/smtpd[1]: warning: unknown[203.0.113.93]: SASL LOGIN authentication failed: ${filler}`,
    `Nov 28 20:04:17 mx inetd[1]: refused connection from ${filler}`,
    `Nov 28 20:04:17 ${filler}`,
    filler,
  ];
  const filters = NAMES.map(compileUtc);
  const started = performance.now();
  const hosts = new Set<string>();
  for (const line of lines) {
    for (const filter of filters) {
      const v = matchLine(filter, line, NOW);
      if (v.kind === "matched") hosts.add(v.host);
    }
  }
  const elapsed = performance.now() - started;
  assertEquals([...hosts].sort(), ["203.0.113.90", "203.0.113.91", "203.0.113.92", "203.0.113.93"]);
  assertOk(elapsed < 5000, `1 MB lines took ${elapsed.toFixed(0)} ms`);
});
