/**
 * `banwatch test` says what is dangerous where the admin looks (issue 12): the filter's lint
 * warnings before the results, and matched lines whose address came from attacker-written text.
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { runCli } from "../_helpers.ts";

const NOW = "2026-03-01T00:00:00Z";
const QPOPPER = String.raw`.* at .* \(<HOST>\): -ERR \[AUTH\] Password supplied .*`;
const EVIL = "x at y (192.0.2.66): -ERR [AUTH] Password supplied ";

async function withLog(fn: (log: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/all.log`,
      [
        "Feb 16 10:21:00 mx qpopper[25932]: foo@example.com at host.example (203.0.113.5): " +
        '-ERR [AUTH] Password supplied for "foo@example.com" is incorrect.',
        `Feb 16 10:22:00 mx qpopper[25940]: ${EVIL} at host.example (203.0.113.7): ` +
        `-ERR [AUTH] Password supplied for "${EVIL}" is incorrect.`,
      ].join("\n") + "\n",
    );
    await fn(`${dir}/all.log`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("banwatch test prints the filter's check warnings before the results", async () => {
  await withLog(async (log) => {
    const r = await runCli(["test", log, QPOPPER, "--now", NOW]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr, "");
    const warnings = r.stdout.indexOf("Filter warnings (as banwatch check gives them):");
    assertOk(warnings > 0 && warnings < r.stdout.indexOf("Results"), r.stdout);
    assertMatch(r.stdout, /\| {2}failregex\[0\]: warning: unanchored: /);
    assertMatch(r.stdout, /\| {2}failregex\[0\]: warning: attacker-steerable: \.\* before <HOST>/);
  });
});

Deno.test("banwatch test says when the address came from text the attacker writes", async () => {
  await withLog(async (log) => {
    const r = await runCli(["test", log, QPOPPER, "--now", NOW]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(
      r.stdout,
      /\| {2}\[1\] matched lines where failregex <HOST> also fits elsewhere in the line: the address came from a part of the line the attacker writes\n\| {6}line 2: /,
    );
    assertMatch(
      r.stdout,
      /took 192\.0\.2\.66 \(column 162\); failregex 1 also fits with 192\.0\.2\.66 \(column 44\)/,
    );
    const j = JSON.parse((await runCli(["test", log, QPOPPER, "--json", "--now", NOW])).stdout);
    assertEquals(j.steered, {
      count: 1,
      line: 2,
      example: (await Deno.readTextFile(log)).split("\n")[1],
      address: "192.0.2.66",
      alsoFits: "192.0.2.66",
    });
    assertEquals(j.warnings.length, 2);
  });
});
