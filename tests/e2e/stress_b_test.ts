/**
 * The quick subset of the hostile-input, fuzzing, backtracking, botnet and load scenarios of
 * `deno task stress` (scripts/stress/*.ts): each scenario's `run({ quick: true })` must pass.
 * @module
 */
import { assertEquals, assertOk } from "../_assert.ts";
import { formatResults, type StressResult } from "../../scripts/stress/_common_b.ts";
import { run as runBotnet } from "../../scripts/stress/botnet.ts";
import { hasLocation, mutate, run as runConfigFuzz } from "../../scripts/stress/config_fuzz.ts";
import { buildCorpus, run as runHostile, truncationLines } from "../../scripts/stress/hostile.ts";
import { run as runLoad } from "../../scripts/stress/load.ts";
import { run as runRegex } from "../../scripts/stress/regex.ts";
import { run as runSocketFuzz } from "../../scripts/stress/socket_fuzz.ts";

function assertAllPass(results: readonly StressResult[]): void {
  assertOk(results.length > 0, "the scenario reported no figures");
  const failed = results.filter((r) => !r.pass);
  assertEquals(failed.length, 0, `failed figures:\n${formatResults(failed)}`);
}

Deno.test("truncationLines() cuts exactly on a forged victim failure at the 64 KiB line limit", () => {
  const enc = new TextEncoder();
  for (const line of truncationLines()) {
    const head = new TextDecoder().decode(enc.encode(line).subarray(0, 64 * 1024));
    assertOk(
      /198\.51\.100\.66(?: port 22(?: ssh2)?|, lip=192\.0\.2\.1|.*is incorrect\.)$/.test(head),
      head.slice(-80),
    );
  }
});

Deno.test("buildCorpus() ends with the control failures and holds the 1 MB lines", async () => {
  const corpus = await buildCorpus(1);
  assertOk(corpus.length > 6 * 1024 * 1024);
  const tail = new TextDecoder().decode(corpus.subarray(corpus.length - 2000));
  assertOk(tail.includes("unknown[203.0.113.9]"));
});

Deno.test("mutate() is deterministic and hasLocation() requires file:line", () => {
  const a = mutate("[global]\nmaxretry = 3\n", 7);
  const b = mutate("[global]\nmaxretry = 3\n", 7);
  assertEquals(a.how, b.how);
  assertEquals(a.bytes, b.bytes);
  assertOk(hasLocation("/x/j.toml:3:7: global.maxretry: bad; expected int"));
  assertOk(hasLocation("/x/f.filter.toml:1: failregex: bad"));
  assertOk(!hasLocation("/x/j.toml: cannot read: not valid UTF-8"));
  assertOk(!hasLocation("/x/j.toml:3: a\nb"));
});

Deno.test("hostile run() gets no victim address banned or matched by any built-in filter or example jail", async () => {
  assertAllPass(await runHostile({ quick: true }));
});

Deno.test("config_fuzz run() rejects mutated configs with located one-line problems and reload keeps the config", async () => {
  assertAllPass(await runConfigFuzz({ quick: true }));
});

Deno.test("socket_fuzz run() keeps the daemon serving and banning under malformed, huge, partial and idle clients", async () => {
  assertAllPass(await runSocketFuzz({ quick: true }));
});

Deno.test("regex run() keeps catastrophic patterns bounded with the V8 linear-engine fallback", async () => {
  assertAllPass(await runRegex({ quick: true }));
});

Deno.test("botnet run() stays under 300 MB RSS and counts evictions in status", async () => {
  assertAllPass(await runBotnet({ quick: true }));
});

Deno.test("load run() keeps up with mixed traffic and bans every attacker", async () => {
  assertAllPass(await runLoad({ quick: true }));
});
