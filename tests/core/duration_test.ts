import { assertEquals } from "../_assert.ts";
import { formatDuration, parseDuration } from "../../lib/core/duration.ts";

Deno.test("parseDuration() reads single units as seconds", () => {
  assertEquals(parseDuration("90s"), 90);
  assertEquals(parseDuration("20m"), 1200);
  assertEquals(parseDuration("1h"), 3600);
  assertEquals(parseDuration("1d"), 86400);
  assertEquals(parseDuration("4w"), 4 * 7 * 86400);
  assertEquals(parseDuration("500ms"), 0.5);
});

Deno.test("parseDuration() reads combinations largest unit first", () => {
  assertEquals(parseDuration("1h30m"), 5400);
  assertEquals(parseDuration("1d12h30m15s"), 86400 + 12 * 3600 + 1800 + 15);
  assertEquals(parseDuration("1w1d"), 8 * 86400);
  assertEquals(parseDuration("1s250ms"), 1.25);
});

Deno.test("parseDuration() reads integer seconds as numbers and digit strings", () => {
  assertEquals(parseDuration(1200), 1200);
  assertEquals(parseDuration(0), 0);
  assertEquals(parseDuration("86400"), 86400);
  assertEquals(parseDuration("0s"), 0);
});

Deno.test('parseDuration() reads "forever" as Infinity', () => {
  assertEquals(parseDuration("forever"), Infinity);
});

Deno.test("parseDuration() rejects negatives, floats, reordered units and garbage", () => {
  const bad: unknown[] = [
    -1,
    1.5,
    NaN,
    Infinity,
    "-5m",
    "1.5h",
    "0.5s",
    " 20m",
    "20 m ",
    "1  day",
    "1mo",
    "1 year",
    "2h 1d",
    "1 day 1d",
    "20mins1",
    "20m ",
    "",
    "m",
    "30m1h",
    "1h1h",
    "5x",
    "1y",
    "Forever",
    "1e3",
    "0x10",
    true,
    null,
    undefined,
    ["20m"],
    { m: 20 },
    "9".repeat(16),
  ];
  for (const value of bad) assertEquals(parseDuration(value), undefined, String(value));
});

Deno.test("formatDuration() prints the shortest combination", () => {
  assertEquals(formatDuration(1200), "20m");
  assertEquals(formatDuration(5400), "1h30m");
  assertEquals(formatDuration(86400), "1d");
  assertEquals(formatDuration(14 * 86400), "2w");
  assertEquals(formatDuration(30 * 86400), "30d");
  assertEquals(formatDuration(90), "1m30s");
  assertEquals(formatDuration(0), "0s");
  assertEquals(formatDuration(1.5), "1s500ms");
  assertEquals(formatDuration(Infinity), "forever");
  assertEquals(formatDuration(-60), "-1m");
});

Deno.test("formatDuration() output parses back to the same seconds", () => {
  for (const s of [1, 59, 61, 1200, 3601, 86399, 86400 * 9 + 7, 604800 * 3, 0.25, Infinity]) {
    assertEquals(parseDuration(formatDuration(s)), s, String(s));
  }
});

Deno.test("parseDuration() reads durations as fail2ban writes them, where unambiguous", () => {
  const good: [string, number][] = [
    ["20min", 1200],
    ["20 minutes", 1200],
    ["20 m", 1200],
    ["1 day", 86400],
    ["2 days", 172800],
    ["1d 2h", 93600],
    ["1h30m", 5400],
    ["1 hour 30 mins", 5400],
    ["2w", 1209600],
    ["2 weeks", 1209600],
    ["10 sec", 10],
    ["1D", 86400],
  ];
  for (const [text, seconds] of good) assertEquals(parseDuration(text), seconds, text);
});
