import { AUTO_TEMPLATE_NAMES, createDateDetector, type FoundDate } from "../../lib/filter/dates.ts";
import { assertEquals, assertOk, assertThrows } from "../_assert.ts";

/** Epoch seconds of a UTC calendar time (month 1-12). */
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

const NOW = utc(2024, 11, 4, 12, 0, 0);
const SYSLOG = "MON Day HH:MM:SS";
const ISO = "YYYY-MM-DD[T ]HH:MM:SS[.f][zone]";
const RFC5424 = "<PRI>1 YYYY-MM-DDTHH:MM:SS[.f][zone]";

function findUtc(line: string, now = NOW, pattern?: string): FoundDate | undefined {
  return createDateDetector(pattern, { timezone: "UTC" }).find(line, now);
}

function timeOf(found: FoundDate | undefined): number | undefined {
  return found?.time;
}

Deno.test("AUTO_TEMPLATE_NAMES lists the auto-detected template names", () => {
  assertEquals(AUTO_TEMPLATE_NAMES.slice(0, 4), [SYSLOG, ISO, RFC5424, "EPOCH"]);
  assertOk(AUTO_TEMPLATE_NAMES.includes("DD/MON/YYYY:HH:MM:SS"));
  assertOk(AUTO_TEMPLATE_NAMES.includes("TAI64N"));
  assertEquals(new Set(AUTO_TEMPLATE_NAMES).size, AUTO_TEMPLATE_NAMES.length);
});

Deno.test("createDateDetector() finds a space-padded RFC 3164 syslog date", () => {
  const line = "Nov  3 20:04:17 mx sshd[30171]: Failed password for alice";
  assertEquals(findUtc(line), {
    time: utc(2024, 11, 3, 20, 4, 17),
    start: 0,
    end: 15,
    template: SYSLOG,
  });
});

Deno.test("createDateDetector() finds zero-padded, unpadded and two-digit syslog days", () => {
  assertEquals(findUtc("Nov 03 20:04:17 mx postfix/smtpd[1]: x"), {
    time: utc(2024, 11, 3, 20, 4, 17),
    start: 0,
    end: 15,
    template: SYSLOG,
  });
  assertEquals(findUtc("Nov 3 20:04:17 mx x")?.end, 14);
  assertEquals(timeOf(findUtc("Nov 3 20:04:17 mx x")), utc(2024, 11, 3, 20, 4, 17));
  assertEquals(timeOf(findUtc("Oct 28 01:02:03 mx x")), utc(2024, 10, 28, 1, 2, 3));
  assertEquals(timeOf(findUtc("NOV  3 20:04:17 mx x")), utc(2024, 11, 3, 20, 4, 17));
  assertEquals(timeOf(findUtc("Nov 28 20:01:40 auth: Info: x")), utc(2023, 11, 28, 20, 1, 40));
});

Deno.test("createDateDetector() reads a syslog weekday prefix, fraction and trailing year", () => {
  assertEquals(findUtc("Sun Nov  3 20:04:17 2019 mx x", NOW), {
    time: utc(2019, 11, 3, 20, 4, 17),
    start: 0,
    end: 24,
    template: SYSLOG,
  });
  const frac = findUtc("Nov  3 20:04:17.123456 mx x");
  assertEquals(frac?.end, 22);
  assertOk(Math.abs(frac!.time - (utc(2024, 11, 3, 20, 4, 17) + 0.123456)) < 1e-6);
  assertEquals(timeOf(findUtc("Sun Nov  3 20:04:17 mx x")), utc(2024, 11, 3, 20, 4, 17));
  // A number after the time that is not a year stays part of the message.
  assertEquals(findUtc("Nov  3 20:04:17 12345 x")?.end, 15);
});

Deno.test("createDateDetector() finds RFC 3339 dates with fractions of any length", () => {
  const line = "2026-11-28T20:04:17.065856+00:00 mx sshd[30171]: x";
  const found = findUtc(line, utc(2026, 11, 29));
  assertEquals(found?.template, ISO);
  assertEquals([found?.start, found?.end], [0, 32]);
  assertOk(Math.abs(found!.time - (utc(2026, 11, 28, 20, 4, 17) + 0.065856)) < 1e-6);
  for (const [frac, value] of [["5", 0.5], ["065", 0.065], ["123456789", 0.123456789]] as const) {
    const t = timeOf(findUtc(`2024-01-02T03:04:05.${frac}Z x`));
    assertOk(Math.abs(t! - (utc(2024, 1, 2, 3, 4, 5) + value)) < 1e-6, `fraction ${frac}`);
  }
  const long = timeOf(findUtc("2024-01-02T03:04:05.123456789012Z x"));
  assertOk(Math.abs(long! - (utc(2024, 1, 2, 3, 4, 5) + 0.123456789)) < 1e-6);
  assertEquals(timeOf(findUtc("2024-01-02T03:04:05,250Z x")), utc(2024, 1, 2, 3, 4, 5) + 0.25);
});

Deno.test("createDateDetector() reads ISO zones Z, +HH:MM, +HHMM, +HH, spaced and none", () => {
  const base = utc(2024, 1, 2, 3, 4, 5);
  const cases: [string, number, number][] = [
    ["2024-01-02T03:04:05Z host", base, 20],
    ["2024-01-02T03:04:05+09:00 host", base - 9 * 3600, 25],
    ["2024-01-02T03:04:05+0900 host", base - 9 * 3600, 24],
    ["2024-01-02T03:04:05-0530 host", base + 5.5 * 3600, 24],
    ["2024-01-02T03:04:05+09 host", base - 9 * 3600, 22],
    ["2024-01-02 03:04:05 +0100 host", base - 3600, 25],
    ["2024-01-02T03:04:05 host", base, 19],
    ["2024-01-02 03:04:05 host", base, 19],
  ];
  for (const [line, time, end] of cases) {
    const found = findUtc(line);
    assertEquals(
      [found?.time, found?.start, found?.end, found?.template],
      [time, 0, end, ISO],
      line,
    );
  }
  // A zoneless date is read in the detector's zone; an explicit zone wins over it.
  const tokyo = createDateDetector(undefined, { timezone: "Asia/Tokyo" });
  assertEquals(tokyo.find("2024-01-02 03:04:05 host", NOW)?.time, base - 9 * 3600);
  assertEquals(tokyo.find("2024-01-02T03:04:05Z host", NOW)?.time, base);
  assertEquals(tokyo.find("2024-01-02T03:04:05-05:00 host", NOW)?.time, base + 5 * 3600);
});

Deno.test("createDateDetector() finds the date after an RFC 5424 <PRI>1 prefix", () => {
  const line = "<15>1 2024-12-02T15:55:00.000000+00:00 example.test test_tag - - - msg";
  const found = findUtc(line, utc(2024, 12, 3));
  assertEquals(found, { time: utc(2024, 12, 2, 15, 55), start: 0, end: 38, template: RFC5424 });
  assertEquals(line.slice(found!.end), " example.test test_tag - - - msg");
  assertEquals(
    timeOf(findUtc("<165>1 2024-12-02T15:55:00+09:00 h t - - - m")),
    utc(2024, 12, 2, 6, 55),
  );
  assertEquals(findUtc("<15>2 2024-12-02T15:55:00Z h t"), undefined);
  assertEquals(findUtc("<1500>1 2024-12-02T15:55:00Z h t"), undefined);
});

Deno.test("createDateDetector() finds epoch seconds at the line start in a plausible range", () => {
  assertEquals(findUtc("1700000000 host sshd: x"), {
    time: 1700000000,
    start: 0,
    end: 10,
    template: "EPOCH",
  });
  const frac = findUtc("1700000000.123 host x");
  assertEquals(frac?.end, 14);
  assertOk(Math.abs(frac!.time - 1700000000.123) < 1e-6);
  assertEquals(findUtc("[1700000000] x")?.start, 1);
  assertEquals(findUtc("0700000000 x"), undefined); // below 1e9 (before 2001-09-09)
  assertEquals(findUtc("5700000000 x"), undefined); // after 2106
  assertEquals(findUtc("17000000001 x"), undefined); // 11 digits
  assertEquals(findUtc("170000000 x"), undefined); // 9 digits
  assertEquals(findUtc("1700000000abc x"), undefined);
});

Deno.test("createDateDetector() allows at most 2 leading non-word characters", () => {
  assertEquals(findUtc("[2024-01-02 03:04:05] x")?.start, 1);
  assertEquals(findUtc("[ Nov  3 20:04:17] x")?.start, 2);
  assertEquals(findUtc(" Nov  3 20:04:17 x")?.start, 1);
  assertEquals(findUtc("[[[Nov  3 20:04:17 x"), undefined);
  assertEquals(findUtc("a Nov  3 20:04:17 x"), undefined);
  assertEquals(findUtc("1 Nov  3 20:04:17 x"), undefined);
  assertEquals(findUtc(""), undefined);
});

Deno.test("createDateDetector() never takes a date from the middle of the line", () => {
  const attacks = [
    "sshd[1]: Failed password for Nov  3 20:04:17 from 1.2.3.4 port 22 ssh2",
    "mx dovecot: auth: user=<2024-01-02T03:04:05Z>, rip=1.2.3.4",
    "user 1700000000 logged in",
    "x <15>1 2024-12-02T15:55:00Z h t - - - m",
  ];
  for (const line of attacks) {
    assertEquals(findUtc(line), undefined, line);
    assertEquals(findUtc(line, NOW, "{^LN-BEG}%Y-%m-%dT%H:%M:%S%z"), undefined, line);
    assertEquals(findUtc(line, NOW, "^%b %d %H:%M:%S"), undefined, line);
    assertEquals(findUtc(line, NOW, "{^LN-BEG}"), undefined, line);
  }
  // With a header date, a date in the message does not replace it.
  const found = findUtc("Nov  3 20:04:17 mx app: user=2020-01-01T00:00:00Z");
  assertEquals([found?.time, found?.end], [utc(2024, 11, 3, 20, 4, 17), 15]);
});

Deno.test("createDateDetector() rejects invalid calendar dates and times", () => {
  const bad = [
    "Feb 30 10:00:00 mx x",
    "Nov 31 10:00:00 mx x",
    "Nov 32 10:00:00 mx x",
    "Nov  0 10:00:00 mx x",
    "Nov  3 25:00:00 mx x",
    "Nov  3 24:00:00 mx x",
    "Nov  3 10:60:00 mx x",
    "Nov  3 10:00:61 mx x",
    "Foo  3 10:00:00 mx x",
    "2024-02-30T00:00:00Z x",
    "2023-02-29T00:00:00Z x",
    "2024-13-01T00:00:00Z x",
    "2024-00-01T00:00:00Z x",
    "2024-01-01T24:00:00Z x",
    "2024-01-01T23:5:00Z x",
  ];
  for (const line of bad) {
    assertEquals(findUtc(line), undefined, line);
  }
  assertEquals(findUtc("Nov  3 25:00:00 x", NOW, "%b %d %H:%M:%S"), undefined);
  assertEquals(findUtc("2024-02-30 01:00:00 x", NOW, "%Y-%m-%d %H:%M:%S"), undefined);
  assertEquals(timeOf(findUtc("2024-02-29T00:00:00Z x")), utc(2024, 2, 29));
});

Deno.test("createDateDetector() gives a year-less date the year that puts it at most 1 day ahead", async (t) => {
  await t.step("Dec 31 read on Jan 1 is last year", () => {
    const now = utc(2025, 1, 1, 0, 0, 30);
    assertEquals(timeOf(findUtc("Dec 31 23:59:59 mx x", now)), utc(2024, 12, 31, 23, 59, 59));
  });
  await t.step("Jan 1 read at Dec 31 23:59:30 (clock skew) is next year", () => {
    const now = utc(2024, 12, 31, 23, 59, 30);
    assertEquals(timeOf(findUtc("Jan  1 00:00:05 mx x", now)), utc(2025, 1, 1, 0, 0, 5));
  });
  await t.step("a date up to 1 day ahead stays in the current year, more is last year", () => {
    const now = utc(2024, 6, 15, 12);
    assertEquals(timeOf(findUtc("Jun 16 11:00:00 x", now)), utc(2024, 6, 16, 11));
    assertEquals(timeOf(findUtc("Jun 16 13:00:00 x", now)), utc(2023, 6, 16, 13));
    assertEquals(timeOf(findUtc("Jun 14 12:00:00 x", now)), utc(2024, 6, 14, 12));
  });
  await t.step("the year is the year of now in the target zone", () => {
    // 2024-12-31 20:00Z is already 2025-01-01 05:00 in Tokyo.
    const now = utc(2024, 12, 31, 20, 0, 0);
    const tokyo = createDateDetector(undefined, { timezone: "Asia/Tokyo" });
    assertEquals(tokyo.find("Jan  1 04:59:00 mx x", now)?.time, utc(2024, 12, 31, 19, 59));
    assertEquals(tokyo.find("Dec 31 23:00:00 mx x", now)?.time, utc(2024, 12, 31, 14, 0));
  });
  await t.step("Feb 29 takes the latest leap year within the rule or is not a date", () => {
    assertEquals(timeOf(findUtc("Feb 29 10:00:00 x", utc(2025, 3, 1))), utc(2024, 2, 29, 10));
    assertEquals(findUtc("Feb 29 10:00:00 x", utc(2026, 3, 1)), undefined);
  });
});

Deno.test("createDateDetector() applies America/New_York DST including the gap and overlap", () => {
  const ny = createDateDetector(undefined, { timezone: "America/New_York" });
  const now = utc(2024, 12, 1);
  assertEquals(ny.find("Jan 15 12:00:00 x", now)?.time, utc(2024, 1, 15, 17));
  assertEquals(ny.find("Jul  1 12:00:00 x", now)?.time, utc(2024, 7, 1, 16));
  // Spring forward 2024-03-10 02:00 EST -> 03:00 EDT.
  assertEquals(ny.find("Mar 10 01:30:00 x", now)?.time, utc(2024, 3, 10, 6, 30));
  assertEquals(ny.find("Mar 10 03:30:00 x", now)?.time, utc(2024, 3, 10, 7, 30));
  assertEquals(ny.find("Mar 10 02:30:00 x", now)?.time, utc(2024, 3, 10, 7, 30)); // gap: forward
  // Fall back 2024-11-03 02:00 EDT -> 01:00 EST: 01:30 happens twice, the earlier is taken.
  assertEquals(ny.find("Nov  3 00:30:00 x", now)?.time, utc(2024, 11, 3, 4, 30));
  assertEquals(ny.find("Nov  3 01:30:00 x", now)?.time, utc(2024, 11, 3, 5, 30));
  assertEquals(ny.find("Nov  3 02:30:00 x", now)?.time, utc(2024, 11, 3, 7, 30));
  assertEquals(ny.find("2024-11-03 01:59:59 x", now)?.time, utc(2024, 11, 3, 5, 59, 59));
  assertEquals(ny.find("2024-11-03T01:30:00-05:00 x", now)?.time, utc(2024, 11, 3, 6, 30));
});

Deno.test("createDateDetector() reads Asia/Tokyo and fixed offset zones", () => {
  const now = utc(2024, 12, 1);
  for (const zone of ["Asia/Tokyo", "+0900", "+09:00", "+09"]) {
    const d = createDateDetector(undefined, { timezone: zone });
    assertEquals(d.find("Jan  1 09:00:00 x", now)?.time, utc(2024, 1, 1, 0), zone);
  }
  const west = createDateDetector("%Y-%m-%d %H:%M:%S", { timezone: "-05:00" });
  assertEquals(west.find("2024-01-01 00:00:00 x", now)?.time, utc(2024, 1, 1, 5));
  for (const zone of ["UTC", "utc", "GMT", "Etc/UTC"]) {
    const d = createDateDetector(undefined, { timezone: zone });
    assertEquals(d.find("Jan  1 09:00:00 x", now)?.time, utc(2024, 1, 1, 9), zone);
  }
  const omitted = createDateDetector(undefined, { timezone: undefined });
  assertOk(omitted.find("Jan  1 09:00:00 x", now) !== undefined);
});

Deno.test("createDateDetector() compiles strftime datepatterns", () => {
  const cases: [string, string, number, number][] = [
    ["%b %d %H:%M:%S", "Nov  3 20:04:17 mx x", utc(2024, 11, 3, 20, 4, 17), 15],
    ["%b %d %H:%M:%S", "Nov 03 20:04:17 mx x", utc(2024, 11, 3, 20, 4, 17), 15],
    ["{^LN-BEG}%b %e %H:%M:%S", "[Nov  3 20:04:17] x", utc(2024, 11, 3, 20, 4, 17), 16],
    ["%Y-%m-%dT%H:%M:%S%z", "2024-01-02T03:04:05+0900 x", utc(2024, 1, 1, 18, 4, 5), 24],
    ["%Y-%m-%dT%H:%M:%S%z", "2024-01-02T03:04:05+09:00 x", utc(2024, 1, 1, 18, 4, 5), 25],
    ["%Y-%m-%dT%H:%M:%S%z", "2024-01-02T03:04:05-05 x", utc(2024, 1, 2, 8, 4, 5), 22],
    ["%Y-%m-%dT%H:%M:%S%z", "2024-01-02T03:04:05Z x", utc(2024, 1, 2, 3, 4, 5), 20],
    ["%Y-%m-%d %H:%M:%S %Z", "2024-01-02 03:04:05 UTC x", utc(2024, 1, 2, 3, 4, 5), 23],
    ["%Y-%m-%d %H:%M:%S", "2024-01-02 03:04:05 x", utc(2024, 1, 2, 3, 4, 5), 19],
    ["{^LN-BEG}%Y-%m-%d %H:%M:%S", "2024-01-02 03:04:05 x", utc(2024, 1, 2, 3, 4, 5), 19],
    ["%ExY-%Exm-%Exd %ExH:%ExM:%ExS", "2024-01-02 03:04:05 x", utc(2024, 1, 2, 3, 4, 5), 19],
    ["%d/%b/%Y:%T %z", "02/Jan/2024:03:04:05 -0000 x", utc(2024, 1, 2, 3, 4, 5), 26],
    ["\\[%d/%B/%Y:%H:%M:%S\\]", "[02/January/2024:03:04:05] x", utc(2024, 1, 2, 3, 4, 5), 26],
    ["%a %b %d %H:%M:%S %Y", "Tue Jan 02 03:04:05 2024 x", utc(2024, 1, 2, 3, 4, 5), 24],
    [
      "%A, %d %B %y %I:%M:%S %p",
      "Tuesday, 02 January 24 03:04:05 PM x",
      utc(2024, 1, 2, 15, 4, 5),
      34,
    ],
    ["%m/%d/%y %I:%M:%S %p", "01/02/24 12:04:05 AM x", utc(2024, 1, 2, 0, 4, 5), 20],
    ["%m/%d/%y %k:%M:%S", "1/2/24  3:04:05 x", utc(2024, 1, 2, 3, 4, 5), 15],
    ["%Y%m%dT%H%M%S", "20240102T030405 x", utc(2024, 1, 2, 3, 4, 5), 15],
    ["%Y %j %H:%M:%S", "2024 060 03:04:05 x", utc(2024, 2, 29, 3, 4, 5), 17],
    ["%s", "1700000000 x", 1700000000, 10],
    ["%s.%f", "1700000000.5 x", 1700000000.5, 12],
    ["%%%Y-%m-%d %H:%M:%S", "%2024-01-02 03:04:05 x", utc(2024, 1, 2, 3, 4, 5), 20],
    ["%H:%M:%S", "11:00:00 x", utc(2024, 11, 4, 11), 8],
    ["^(?P<pre>)%Y-%m-%d %H:%M:%S", "2024-01-02 03:04:05 x", utc(2024, 1, 2, 3, 4, 5), 19],
  ];
  for (const [pattern, line, time, end] of cases) {
    const found = findUtc(line, NOW, pattern);
    const start = pattern.startsWith("{^LN-BEG}") && line.startsWith("[") ? 1 : 0;
    assertEquals(found, { time, start, end, template: pattern }, `${pattern} on ${line}`);
  }
  const frac = findUtc("2024-01-02 03:04:05.065856 x", NOW, "%Y-%m-%d %H:%M:%S.%f");
  assertOk(Math.abs(frac!.time - (utc(2024, 1, 2, 3, 4, 5) + 0.065856)) < 1e-6);
});

Deno.test("createDateDetector() resolves time-only patterns to the latest day not 1 h ahead", () => {
  const now = utc(2024, 11, 4, 0, 0, 30);
  assertEquals(timeOf(findUtc("23:59:59 x", now, "%H:%M:%S")), utc(2024, 11, 3, 23, 59, 59));
  assertEquals(timeOf(findUtc("00:00:10 x", now, "%H:%M:%S")), utc(2024, 11, 4, 0, 0, 10));
  const late = utc(2024, 11, 3, 23, 59, 50);
  assertEquals(timeOf(findUtc("00:00:10 x", late, "%H:%M:%S")), utc(2024, 11, 4, 0, 0, 10));
});

Deno.test("createDateDetector() handles the special datepatterns", () => {
  const none = createDateDetector("{NONE}", { timezone: "UTC" });
  assertEquals(none.find("anything 2024-01-02T03:04:05Z", 1234.5), {
    time: 1234.5,
    start: 0,
    end: 0,
    template: "{NONE}",
  });
  assertEquals(none.hits().get("{NONE}"), 1);
  for (const pattern of ["{^LN-BEG}", "{DEFAULT}", "{^LN-BEG}{DEFAULT}"]) {
    const d = createDateDetector(pattern, { timezone: "UTC" });
    assertEquals(d.find("Nov  3 20:04:17 mx x", NOW)?.template, SYSLOG, pattern);
    assertEquals(d.find("x Nov  3 20:04:17 mx x", NOW), undefined, pattern);
  }
  assertEquals(findUtc("1700000000 x", NOW, "Epoch"), {
    time: 1700000000,
    start: 0,
    end: 10,
    template: "Epoch",
  });
  assertEquals(timeOf(findUtc("[1700000000.250] x", NOW, "{^LN-BEG}EPOCH")), 1700000000.25);
  assertEquals(timeOf(findUtc("1700000000123 x", NOW, "LEPOCH")), 1700000000.123);
  assertEquals(timeOf(findUtc("1700000000123456 x", NOW, "LEPOCH")), 1700000000.123456);
  assertEquals(timeOf(findUtc("1700000000 x", NOW, "LEPOCH")), 1700000000);
  assertEquals(findUtc("17000000001234 x", NOW, "LEPOCH"), undefined);
  assertEquals(findUtc("2024-01-02T03:04:05+01:00 x", NOW, "ISO8601"), {
    time: utc(2024, 1, 2, 2, 4, 5),
    start: 0,
    end: 25,
    template: "ISO8601",
  });
  // One pattern per line: each is a template of its own.
  const multi = createDateDetector("%Y-%m-%d %H:%M:%S\n%b %d %H:%M:%S", { timezone: "UTC" });
  assertEquals(multi.find("Nov  3 20:04:17 x", NOW)?.template, "%b %d %H:%M:%S");
  assertEquals(multi.find("2024-01-02 03:04:05 x", NOW)?.template, "%Y-%m-%d %H:%M:%S");
});

Deno.test("DateDetector.hits() counts matches per template", () => {
  const d = createDateDetector(undefined, { timezone: "UTC" });
  d.find("Nov  3 20:04:17 mx x", NOW);
  d.find("Nov  3 20:04:18 mx x", NOW);
  d.find("2024-01-02T03:04:05Z x", NOW);
  d.find("no date here", NOW);
  d.find("Feb 30 10:00:00 x", NOW);
  assertEquals([...d.hits()], [[SYSLOG, 2], [ISO, 1]]);
});

Deno.test("DateDetector.find() stays correct when formats alternate (last template first)", () => {
  const d = createDateDetector(undefined, { timezone: "UTC" });
  const lines: [string, number | undefined, string | undefined][] = [
    ["Nov  3 20:04:17 mx x", utc(2024, 11, 3, 20, 4, 17), SYSLOG],
    ["2024-01-02T03:04:05Z x", utc(2024, 1, 2, 3, 4, 5), ISO],
    ["2024-01-02T03:04:06Z x", utc(2024, 1, 2, 3, 4, 6), ISO],
    ["<15>1 2024-12-02T15:55:00Z h t", utc(2024, 12, 2, 15, 55), RFC5424],
    ["Nov  3 20:04:18 mx x", utc(2024, 11, 3, 20, 4, 18), SYSLOG],
    ["1700000000 x", 1700000000, "EPOCH"],
    ["junk", undefined, undefined],
    ["Nov  3 20:04:19 mx x", utc(2024, 11, 3, 20, 4, 19), SYSLOG],
    ["2024-01-02 03:04:07 x", utc(2024, 1, 2, 3, 4, 7), ISO],
  ];
  for (const [line, time, template] of lines) {
    const found = d.find(line, NOW);
    assertEquals([found?.time, found?.template], [time, template], line);
  }
  assertEquals(d.hits().get(SYSLOG), 3);
  assertEquals(d.hits().get(ISO), 3);
});

Deno.test("createDateDetector() throws on an invalid datepattern", () => {
  assertThrows(() => createDateDetector("%Y-%m-%d %Q"), /unknown directive "%Q"/);
  assertThrows(() => createDateDetector("%H:%M:%"), /"%" at the end/);
  assertThrows(() => createDateDetector("%H(:%M"), /Invalid datepattern "%H\(:%M"/);
  assertThrows(() => createDateDetector("just text"), /no date or time directive/);
  assertThrows(() => createDateDetector(""), /Invalid datepattern/);
  assertThrows(() => createDateDetector("{^LN-BEG}{DATE} %H"), /\{DATE\} is not supported/);
  assertThrows(() => createDateDetector("^(x)"), /no date or time directive/);
  assertThrows(() => createDateDetector("{NONE}\n%H:%M:%S"), /cannot be combined/);
});

Deno.test("createDateDetector() throws on an invalid time zone", () => {
  assertThrows(
    () => createDateDetector(undefined, { timezone: "Mars/Olympus" }),
    /Invalid time zone "Mars\/Olympus"/,
  );
  assertThrows(
    () => createDateDetector(undefined, { timezone: "+2500" }),
    /Invalid time zone "\+2500"/,
  );
  assertThrows(() => createDateDetector(undefined, { timezone: "+09:0" }), /Invalid time zone/);
  assertThrows(() => createDateDetector(undefined, { timezone: "" }), /Invalid time zone/);
});

Deno.test("DateDetector.find() survives hostile input: 1 MB lines, NUL, CRLF, U+FFFD", () => {
  const d = createDateDetector(undefined, { timezone: "UTC" });
  const big = "9".repeat(1 << 20);
  assertEquals(d.find(big, NOW), undefined);
  assertEquals(d.find(`Nov  3 20:04:17 mx x${"A".repeat(1 << 20)}`, NOW)?.end, 15);
  assertEquals(d.find("Nov  3 20:04:17 mx x\r", NOW)?.time, utc(2024, 11, 3, 20, 4, 17));
  assertEquals(d.find("\u0000\u0000Nov  3 20:04:17 x", NOW)?.start, 2);
  assertEquals(d.find("\uFFFDNov  3 20:04:17 x", NOW), undefined);
  assertEquals(d.find("Nov", NOW), undefined);
  assertEquals(d.find("2024-01-02T03:04:0", NOW), undefined);
  const custom = createDateDetector("%Y-%m-%d %H:%M:%S", { timezone: "UTC" });
  assertEquals(custom.find(big, NOW), undefined);
});

Deno.test("createDateDetector() searches an unanchored explicit pattern as fail2ban does", () => {
  // openhab: the date follows the client address; the leftmost match wins.
  const pattern = "%d/%b[^/]*/%Y:%H:%M:%S %z";
  const line = '175.18.15.10 -  -  [02/sept./2015:00:11:31 +0200] "GET / HTTP/1.1" 401';
  assertEquals(findUtc(line, NOW, pattern), {
    time: utc(2015, 9, 1, 22, 11, 31),
    start: 20,
    end: 48,
    template: pattern,
  });
  // A word-begin boundary: no date inside a word.
  assertEquals(findUtc("x12:00:01 y", NOW, "%H:%M:%S"), undefined);
  // With a header date, the message cannot supply another one.
  const two = "2024-01-02 03:04:05 user=2020-01-01 00:00:00 x";
  assertEquals(findUtc(two, NOW, "%Y-%m-%d %H:%M:%S")?.start, 0);
  // The first plain group is the date that is cut; without one, the whole match.
  assertEquals(findUtc("<W>2024-01-02 03:04:05.123 x", NOW, "^<W>{DATE}")?.start, 0);
  const group = findUtc("1.2.3.4 - - [05/Mar/2007:14:39:21 +0100] x", NOW, "^[^\\[]*\\[({DATE})");
  assertEquals([group?.time, group?.start, group?.end], [utc(2007, 3, 5, 13, 39, 21), 13, 39]);
});

Deno.test("createDateDetector() expands {DATE} to every default format", () => {
  const d = createDateDetector('^<co ts="{DATE}"\\s+', { timezone: "UTC" });
  const found = d.find('<co ts="2017-03-30T08:05:49.123Z" x', NOW);
  assertEquals([found?.time, found?.start], [utc(2017, 3, 30, 8, 5, 49) + 0.123, 0]);
  const rfc = createDateDetector("^<\\d+>\\d+\\s+{DATE}", { timezone: "UTC" });
  assertEquals(rfc.find("<38>1 2018-03-31T00:00:00+00:00 host sshd", NOW)?.time, utc(2018, 3, 31));
  assertEquals(rfc.find("x <38>1 2018-03-31T00:00:00+00:00 host", NOW), undefined);
});

Deno.test("createDateDetector() treats an empty date group as a line without date", () => {
  const d = createDateDetector("^%b %d, %ExY %I:%M:%S %p\n^WARNING:()**", { timezone: "UTC" });
  const first = d.find("apr 15, 2013 8:34:08 PM org.x warn", NOW);
  assertEquals(first?.time, utc(2013, 4, 15, 20, 34, 8));
  // the last date is reused when it is at most 60 s old, else now; nothing is cut
  assertEquals(d.find("WARNING: attempt from 1.2.3.4", NOW), {
    time: NOW,
    start: 0,
    end: 0,
    template: "^WARNING:()**",
  });
  d.find("apr 15, 2013 8:34:08 PM org.x warn", NOW);
  assertEquals(d.find("WARNING: x", utc(2013, 4, 15, 20, 35))?.time, utc(2013, 4, 15, 20, 34, 8));
  assertEquals(d.find("other line", NOW), undefined);
});

Deno.test("createDateDetector() reads fail2ban's other default formats at the line start", () => {
  const cases: [string, number, string][] = [
    ["11-06-2013 02:09:40 +0300 PROXY", utc(2013, 6, 11, 2, 9, 40), "DD-MM-YYYY HH:MM:SS"],
    ["2012/04/09 11:53:29 [error] 2865#0", utc(2012, 4, 9, 11, 53, 29), ISO],
    ["2011.11.21 14:29:16 LOG3[28228]", utc(2011, 11, 21, 14, 29, 16), ISO],
    ["2015-10-07  8:25:38 1398 [Warning]", utc(2015, 10, 7, 8, 25, 38), ISO],
    ["130324  0:04:00 [Warning] Access", utc(2013, 3, 24, 0, 4, 0), "YYMMDD HH:MM:SS"],
    ["[Thu Jul 11 01:21:43 2013] [error]", utc(2013, 7, 11, 1, 21, 43), SYSLOG],
    [
      "11-Aug-2013 03:36:11.372 error: x",
      utc(2013, 8, 11, 3, 36, 11) + 0.372,
      "DD/MON/YYYY:HH:MM:SS",
    ],
    ["[17/May/2017 19:43:42] SMTP: x", utc(2017, 5, 17, 19, 43, 42), "DD/MON/YYYY:HH:MM:SS"],
    ["Oct 27 2015 12:35:40 host x", utc(2015, 10, 27, 12, 35, 40), "MON Day YYYY HH:MM:SS"],
    ["[PDT Apr 16 21:05:29] error", utc(2024, 4, 16, 21, 5, 29), "ZONE MON Day HH:MM:SS"],
    ["@400000004c91b044077a9e94 imap", 0x4c91b044 + 0x077a9e94 / 1e9, "TAI64N"],
  ];
  for (const [line, time, template] of cases) {
    const found = findUtc(line);
    assertEquals(found?.template, template, line);
    assertOk(Math.abs(found!.time - time) < 1e-3, `${line}: ${found?.time} != ${time}`);
  }
  // still only at the line start
  assertEquals(findUtc("x 11-06-2013 02:09:40 y"), undefined);
  // a syslog year is not taken from an address or time that follows
  assertEquals(findUtc("Nov  3 20:04:17 2001:db8::1 x")?.end, 15);
});

Deno.test("createDateDetector() finds an explicit EPOCH in an audit record", () => {
  const line = "type=USER_AUTH msg=audit(1373129280.000:9): user pid=1277";
  const found = findUtc(line, NOW, "EPOCH");
  assertEquals([found?.time, found?.start, found?.end], [1373129280, 25, 39]);
  assertEquals(findUtc(line, NOW, "{^LN-BEG}EPOCH"), undefined);
  assertEquals(findUtc("msg=audit(1373129280.000) x", NOW, "EPOCH"), undefined);
  assertEquals(findUtc(line), undefined); // auto-detection stays at the line start
});
