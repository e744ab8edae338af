import {
  checkImports,
  checkSource,
  findCycles,
  stripComments,
} from "../../scripts/check_layout.ts";
import { assertEquals } from "../_assert.ts";

function graph(edges: Record<string, string[]>): { edges: Map<string, string[]> } {
  return { edges: new Map(Object.entries(edges)) };
}

Deno.test("checkImports() accepts mod.ts imports along the allowed direction", () => {
  assertEquals(
    checkImports(graph({
      "main.ts": ["lib/cli/mod.ts", "lib/core/mod.ts"],
      "lib/cli/dispatch.ts": ["lib/daemon/mod.ts", "lib/cli/io.ts"],
      "lib/daemon/daemon.ts": ["lib/state/mod.ts", "lib/firewall/mod.ts"],
      "lib/firewall/ipfw.ts": ["lib/core/mod.ts", "lib/firewall/backend.ts"],
    })),
    [],
  );
});

Deno.test("checkImports() reports an inner file of another folder and a wrong direction", () => {
  const problems = checkImports(graph({
    "lib/daemon/enforce.ts": ["lib/firewall/ipfw.ts"],
    "lib/state/store.ts": ["lib/decide/mod.ts"],
    "lib/core/address.ts": ["lib/filter/mod.ts"],
    "main.ts": ["lib/daemon/mod.ts"],
  }));
  assertEquals(problems.map((p) => `${p.file}: ${p.message}`), [
    "lib/daemon/enforce.ts: imports lib/firewall/ipfw.ts: use lib/firewall/mod.ts",
    "lib/state/store.ts: state/ must not import decide/ " +
    "(allowed: core, source, filter, firewall, control, config)",
    "lib/core/address.ts: core/ must not import filter/ (allowed: nothing in lib/)",
    "main.ts: main.ts must not import daemon/ (allowed: cli, core)",
  ]);
});

Deno.test("findCycles() finds a cycle between files and none in a tree", () => {
  assertEquals(findCycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", []]])), []);
  assertEquals(findCycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]])), [[
    "a",
    "b",
    "c",
    "a",
  ]]);
});

Deno.test("checkSource() flags long files, a long Daemon class and Deno. in a pure stage", () => {
  const long = "x\n".repeat(801);
  assertEquals(checkSource("lib/daemon/x.ts", long).map((p) => p.message), [
    "801 lines (at most 800)",
  ]);
  const daemon = `export class Daemon {\n${"  a;\n".repeat(260)}}\n`;
  assertEquals(checkSource("lib/daemon/daemon.ts", daemon).map((p) => p.message), [
    "class Daemon is 262 lines (at most 250)",
  ]);
  assertEquals(
    checkSource("lib/filter/match.ts", "// Deno.readFile in a comment\nconst a = 1;\n"),
    [],
  );
  assertEquals(
    checkSource("lib/filter/match.ts", "const a = 1;\nawait Deno.readFile(p);\n").map((p) =>
      p.message
    ),
    ["line 2: Deno. in the pure filter/ stage"],
  );
  assertEquals(checkSource("lib/core/exec.ts", "new Deno.Command(p);\n"), []);
  assertEquals(checkSource("lib/daemon/loop.ts", "Deno.addSignalListener();\n"), []);
});

Deno.test("stripComments() blanks comments but keeps strings that look like them", () => {
  assertEquals(stripComments('a /* b */ "//c" // d\n'), 'a         "//c"     \n');
});
