import { assertEquals } from "../_assert.ts";
import { coveredSeconds } from "../../scripts/_bench_util.ts";

Deno.test("coveredSeconds() counts overlapping intervals once and clips to the window", () => {
  const calls = [
    { start: 0.0, end: 0.2 }, // three tables prepared in parallel
    { start: 0.1, end: 0.3 },
    { start: 0.15, end: 0.25 }, // inside the one before
    { start: 1.0, end: 1.5 },
    { start: 2.9, end: 3.4 }, // runs past the end of the window
    { start: -1, end: -0.5 }, // before the window
  ];
  assertEquals(Math.round(coveredSeconds(calls, 0, 3) * 1000), 300 + 500 + 100);
  assertEquals(coveredSeconds([], 0, 3), 0);
  assertEquals(Math.round(coveredSeconds(calls, 0.25, 1.25) * 1000), 50 + 250);
});
