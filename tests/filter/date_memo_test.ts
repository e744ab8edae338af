import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { createDateMemo, memoApplies, SYSLOG_TEMPLATE } from "../../lib/filter/date_memo.ts";
import {
  AUTO_TEMPLATE_NAMES,
  createDateDetector,
  type DateDetector,
  type FoundDate,
} from "../../lib/filter/dates.ts";
import { generateMaillog } from "../../scripts/gen_maillog.ts";

/** 2025-11-05T00:00:00Z. */
const NOW = Date.UTC(2025, 10, 5) / 1000;

/** Runs the same lines through a plain detector and a memoised one: every result and the hits. */
function compare(
  lines: readonly string[],
  options: { datepattern?: string; timezone?: string; nows?: readonly number[] } = {},
): number {
  const plain = createDateDetector(options.datepattern, { timezone: options.timezone ?? "UTC" });
  const memo = createDateMemo(
    createDateDetector(options.datepattern, { timezone: options.timezone ?? "UTC" }),
  );
  lines.forEach((line, i) => {
    const now = options.nows?.[i % options.nows.length] ?? NOW;
    assertEquals(memo.find(line, now), plain.find(line, now), `line ${i + 1}: ${line}`);
  });
  assertEquals([...memo.hits()], [...plain.hits()]);
  return memo.memoHits;
}

Deno.test("SYSLOG_TEMPLATE is the first auto-detected template of lib/dates.ts", () => {
  assertEquals(AUTO_TEMPLATE_NAMES[0], SYSLOG_TEMPLATE);
});

Deno.test("memoApplies() only to auto-detection", () => {
  assertOk(memoApplies(undefined));
  assertOk(memoApplies(" {^LN-BEG} "));
  assertOk(!memoApplies("{DATE}"));
  assertOk(!memoApplies("%b %d %H:%M:%S"));
  assertOk(!memoApplies("{^LN-BEG}\n%Y-%m-%d"));
});

Deno.test("createDateMemo() finds what the detector finds on a generated maillog", () => {
  const lines = [...generateMaillog(20_000, 7)];
  const hits = compare(lines);
  assertOk(hits > lines.length / 2, `the memo served only ${hits} of ${lines.length} lines`);
});

Deno.test("createDateMemo() tells apart lines that differ after the date", () => {
  const lines = [
    "Nov  1 00:00:00 mx1 a",
    "Nov  1 00:00:00 mx1 b", // memo
    "Nov  1 00:00:00 2024 mx1 year", // a year after the date
    "Nov  1 00:00:00 2024 mx1 again", // memo (same year token)
    "Nov  1 00:00:00 2023 mx1 other year",
    "Nov  1 00:00:00 20245 mx1 not a year",
    "Nov  1 00:00:00 1999: not a year either",
    "Nov  1 00:00:00 1999 mx",
    "Nov  1 00:00:00 1999 mx",
    "Nov  1 00:00:00.25 mx1 fraction",
    "Nov  1 00:00:00.25 mx1 fraction again",
    "Nov  1 00:00:00.5 mx1 other fraction",
    "Nov  1 00:00:00  mx1 two blanks",
    "Nov  1 00:00:00  mx1 two blanks",
    "Nov  1 00:00:00\tmx1 tab",
    "Nov  1 00:00:00\tmx1 tab",
    "Nov  1 00:00:001 mx1 digit after",
    "Nov  1 00:00:00 mx1",
    "Nov  1 00:00:00 mx1",
    "Sat Nov  1 00:00:00 mx1 weekday",
    "Sat Nov  1 00:00:00 mx1 weekday",
    "Nov  1 00:00:00 mx1 back",
    "Nov  1 00:00:01 mx1 next second",
    "Nov  1 00:00:01 mx2 other host",
    "Nov  1 00:00:01 mx2x longer host",
    "Feb 30 00:00:00 mx1 no such day",
    "Feb 30 00:00:00 mx1 no such day",
    "2025-11-01 00:00:02 mx1 iso",
    "Nov  1 00:00:03 mx1 syslog again after another template",
    "Nov  1 00:00:03 mx1 memo",
    "[Nov  1 00:00:03] mx1 bracketed (not at 0)",
    "[Nov  1 00:00:03] mx1 bracketed",
    "no date at all",
    "Nov  1 00:00:03 mx1 after a miss",
    "Nov  1 00:00:03 mx1 memo",
    "",
    "Nov  1 00:00:03 mx1 ",
    "Nov  1 00:00:03 mx1 \r",
  ];
  const hits = compare(lines);
  assertOk(hits >= 8, `memo hits ${hits}`);
  // The same lines read at other clock values: the memo never mixes them up.
  compare(lines, { nows: [NOW, NOW + 86400 * 200, NOW - 86400 * 300] });
  compare(lines, { timezone: "Asia/Tokyo" });
  compare(lines, { datepattern: "{^LN-BEG}" });
});

Deno.test("createDateMemo() with a template that competes with the syslog one", () => {
  // "MON Day HH:MM:SS" and a datepattern's own template can both match: which one answers
  // depends on the detector's state, which the memo must not bypass.
  const lines = [
    "Nov  1 00:00:00 mx1 a",
    "Nov  1 00:00:00 mx1 a",
    "Nov  1 2025 00:00:00 mx1 b",
    "Nov  1 00:00:00 mx1 c",
    "Nov  1 00:00:00 mx1 c",
  ];
  compare(lines, { datepattern: "{^LN-BEG}%b %d %Y %H:%M:%S\n{^LN-BEG}" });
  compare(lines, { datepattern: "{DATE}" });
  compare(lines, { datepattern: "%b %d %H:%M:%S" });
});

Deno.test("createDateMemo() counts memo hits in hits() in the detector's order", () => {
  const memo = createDateMemo(createDateDetector(undefined, { timezone: "UTC" }));
  memo.find("2025-11-01 00:00:00 iso", NOW);
  memo.find("Nov  1 00:00:00 mx1 a", NOW);
  memo.find("Nov  1 00:00:00 mx1 b", NOW);
  memo.find("Nov  1 00:00:00 mx1 c", NOW);
  assertEquals(memo.memoHits, 2);
  assertEquals([...memo.hits()], [[AUTO_TEMPLATE_NAMES[1], 1], [SYSLOG_TEMPLATE, 3]]);
  // hits() may be read at any time.
  memo.find("Nov  1 00:00:00 mx1 d", NOW);
  assertEquals(memo.hits().get(SYSLOG_TEMPLATE), 4);
});

Deno.test("createDateMemo() hitAt() reads a line inside a block of text", () => {
  const memo = createDateMemo(createDateDetector(undefined, { timezone: "UTC" }));
  const text = "Nov  1 00:00:00 mx1 a\nNov  1 00:00:00 mx1 b\nNov  1 00:00:01 mx1 c\n";
  assertEquals(memo.hitAt(text, 0, NOW), undefined); // nothing known yet: nothing counted
  const first = memo.find("Nov  1 00:00:00 mx1 a", NOW);
  assertOk(first);
  assertEquals(memo.hitAt(text, 22, NOW), first);
  assertEquals(memo.hitAt(text, 22, NOW + 1), undefined); // another clock value
  assertEquals(memo.hitAt(text, 44, NOW), undefined); // another second
  assertEquals(memo.hits().get(SYSLOG_TEMPLATE), 2);
});

Deno.test("createDateMemo() memo: false only replays", () => {
  const memo = createDateMemo(createDateDetector(undefined, { timezone: "UTC" }), {
    memo: false,
  });
  memo.find("Nov  1 00:00:00 mx1 a", NOW);
  memo.find("Nov  1 00:00:00 mx1 b", NOW);
  assertEquals(memo.memoHits, 0);
  assertEquals(memo.hits().get(SYSLOG_TEMPLATE), 2);
});

Deno.test("createDateMemo() replayOnce() answers the next find() of that line only", () => {
  let calls = 0;
  const fake: DateDetector = {
    find(line: string): FoundDate | undefined {
      calls++;
      return line === "" ? undefined : { time: calls, start: 1, end: 2, template: "fake" };
    },
    hits: () => new Map([["fake", calls]]),
  };
  const memo = createDateMemo(fake);
  const found = memo.find("x date y", NOW)!;
  memo.replayOnce("x date y", found);
  assertEquals(memo.find("x date y", NOW), found);
  assertEquals(calls, 1);
  assertEquals(memo.find("x date y", NOW)?.time, 2); // only once
  memo.replayOnce("x date y", found);
  assertEquals(memo.find("another line", NOW)?.time, 3); // another line: not replayed…
  assertEquals(memo.find("x date y", NOW)?.time, 4); // …and the replay is dropped
});

Deno.test("createDateMemo() passes on the detector's errors and forgets its key", () => {
  let fail = false;
  const inner = createDateDetector(undefined, { timezone: "UTC" });
  const flaky: DateDetector = {
    find(line: string, now: number): FoundDate | undefined {
      if (fail) throw new Error("boom");
      return inner.find(line, now);
    },
    hits: () => inner.hits(),
  };
  const memo = createDateMemo(flaky);
  memo.find("Nov  1 00:00:00 mx1 a", NOW);
  fail = true;
  assertThrows(() => memo.find("Nov  1 00:00:01 mx1 a", NOW), /boom/);
  assertThrows(() => memo.find("Nov  1 00:00:00 mx1 a", NOW), /boom/);
});
