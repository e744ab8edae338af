/**
 * createDateDetector()'s local zone follows TZ: checked in a fresh deno per zone (moved here from
 * tests/filter/dates_test.ts, whose other tests spawn nothing).
 * @module
 */
import { assertEquals } from "../_assert.ts";
import { evalDeno } from "../_helpers.ts";

/** Epoch seconds of a UTC calendar time (month 1-12). */
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

/** Runs `code` in a fresh deno with `TZ` set; asserts it wrote no error, returns its output. */
async function evalWithTz(code: string, tz: string): Promise<string> {
  const out = await evalDeno(code, { env: { TZ: tz } });
  assertEquals(out.stderr, "");
  return out.stdout.trim();
}

Deno.test("createDateDetector() defaults to the local zone, which follows TZ", async () => {
  const code = `import { createDateDetector } from ${
    JSON.stringify(import.meta.resolve("../../lib/filter/dates.ts"))
  };
const d = createDateDetector(undefined);
console.log(d.find("Jan  1 09:00:00 x", ${utc(2024, 12, 1)})?.time);`;
  assertEquals(await evalWithTz(code, "Asia/Tokyo"), String(utc(2024, 1, 1, 0)));
});

Deno.test("the local zone agrees with the same IANA zone across DST changes", async () => {
  // Berlin 2024: the gap is Mar 31 02:00-03:00, the repeated hour Oct 27 02:00-03:00.
  const lines = [
    "Jan 15 12:00:00 x",
    "Mar 31 01:59:59 x",
    "Mar 31 02:30:00 x",
    "Mar 31 03:00:00 x",
    "Jul  1 12:00:00 x",
    "Oct 27 01:59:59 x",
    "Oct 27 02:30:00 x",
    "Oct 27 03:00:00 x",
    "Dec 31 23:59:59 x",
  ];
  const code = `import { createDateDetector } from ${
    JSON.stringify(import.meta.resolve("../../lib/filter/dates.ts"))
  };
const local = createDateDetector(undefined);
const berlin = createDateDetector(undefined, { timezone: "Europe/Berlin" });
const now = ${utc(2025, 1, 10)};
for (const line of ${JSON.stringify(lines)}) {
  console.log(local.find(line, now)?.time, berlin.find(line, now)?.time);
}`;
  const out = await evalWithTz(code, "Europe/Berlin");
  const rows = out.split("\n").map((r) => r.split(" "));
  assertEquals(rows.map((r) => r[0]), rows.map((r) => r[1]));
  assertEquals(rows.map((r) => Number(r[0])), [
    utc(2024, 1, 15, 11),
    utc(2024, 3, 31, 0, 59, 59),
    utc(2024, 3, 31, 1, 30), // in the gap: moved forward by an hour (03:30 CEST)
    utc(2024, 3, 31, 1),
    utc(2024, 7, 1, 10),
    utc(2024, 10, 26, 23, 59, 59),
    utc(2024, 10, 27, 0, 30), // repeated: the earlier instant (02:30 CEST)
    utc(2024, 10, 27, 2),
    utc(2024, 12, 31, 22, 59, 59),
  ]);
});
