import { assertEquals, assertMatch, assertOk, assertThrows } from "../_assert.ts";
import { parseFilterFile } from "../../lib/config/filter_file.ts";
import { ConfigError } from "../../lib/core/errors.ts";

const DIR = new URL("../testdata/jails/", import.meta.url);

function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(name, DIR));
}

function problems(fn: () => unknown): readonly string[] {
  const e = assertThrows(fn);
  assertOk(e instanceof ConfigError, `expected ConfigError, got ${e.name}`);
  return e.problems;
}

const FAIL = "'^\\S+ prog\\[\\d+\\]: failed from <HOST>$'";

Deno.test("parseFilterFile() reads a banwatch filter file and names it after the file", () => {
  const spec = parseFilterFile(fixture("local-qpopper.filter.toml"), "f/local-qpopper.filter.toml");
  assertEquals(spec.name, "local-qpopper");
  assertEquals(spec.ignoreregex, []);
  assertEquals(spec.datepattern, "{^LN-BEG}");
  assertOk(spec.example?.includes("qpopper[4321]"));
  assertEquals(parseFilterFile(`failregex = ${FAIL}\n`, "/x/mine.toml").name, "mine");
});

Deno.test("parseFilterFile() collects every problem of a filter file", () => {
  const got = problems(() => parseFilterFile(fixture("broken.filter.toml"), "b.toml"));
  assertEquals(got.length, 3);
  assertEquals(problems(() => parseFilterFile('description = "x"\n', "e.toml")), [
    "e.toml: failregex: missing; expected a regex string or a list of regex strings",
  ]);
  assertEquals(problems(() => parseFilterFile("failregex = []\n", "e.toml")), [
    "e.toml:1:13: failregex: is empty; expected at least one regex",
  ]);
  assertMatch(
    problems(() => parseFilterFile("failregex = [\n", "e.toml"))[0] ?? "",
    /^e\.toml:2:1: toml: /,
  );
});
