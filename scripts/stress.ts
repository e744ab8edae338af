// deno-lint-ignore-file no-console
/**
 * `deno task stress`: the full figures of issue #5 (crash consistency, rotation storm, hostile
 * lines, config and socket fuzzing, firewall and disk faults, backtracking regexes, botnet
 * memory, load). `--quick` runs the fast subset the test suite also runs. Prints one row per
 * figure and exits 1 when any figure misses its target.
 * @module
 */

/** One measured figure. */
interface StressResult {
  name: string;
  figure: string;
  pass: boolean;
  detail?: string;
}

type Scenario = { run(options: { quick: boolean }): Promise<StressResult[]> };

const SCENARIOS = [
  "crash",
  "rotation",
  "faults",
  "hostile",
  "config_fuzz",
  "socket_fuzz",
  "regex",
  "botnet",
  "load",
];

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const only = Deno.args.filter((a) => !a.startsWith("--"));
  const rows: StressResult[] = [];
  for (const name of SCENARIOS) {
    if (only.length > 0 && !only.includes(name)) continue;
    const started = performance.now();
    console.log(`== ${name}${quick ? " (quick)" : ""}`);
    try {
      const mod = await import(`./stress/${name}.ts`) as Scenario;
      for (const r of await mod.run({ quick })) {
        rows.push(r);
        console.log(`   ${r.pass ? "PASS" : "FAIL"}  ${r.name}: ${r.figure}`);
        if (r.detail) console.log(`         ${r.detail}`);
      }
    } catch (error) {
      rows.push({ name, figure: "crashed", pass: false, detail: String(error) });
      console.log(`   FAIL  ${name}: ${error instanceof Error ? error.stack : error}`);
    }
    console.log(`   (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  console.log("\n| scenario | figure | result |\n| --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.name} | ${r.figure} | ${r.pass ? "PASS" : "FAIL"} |`);
  const failed = rows.filter((r) => !r.pass).length;
  console.log(`\nstress: ${rows.length - failed} passed, ${failed} failed`);
  Deno.exit(failed === 0 ? 0 : 1);
}
