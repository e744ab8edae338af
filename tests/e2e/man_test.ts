import { assertEquals, assertOk } from "../_assert.ts";
import { ROOT } from "../_helpers.ts";
import { COMMANDS } from "../../lib/cli/registry.ts";
import { CROWDSEC_KEYS } from "../../lib/config/crowdsec.ts";
import {
  FILTER_FILE_KEYS,
  GLOBAL_KEYS,
  INCREMENT_KEYS,
  JAIL_KEYS,
} from "../../lib/config/schema.ts";

const PAGES = ["man/banwatch.8", "man/jails.toml.5"];

async function mandoc(args: string[]): Promise<Deno.CommandOutput | undefined> {
  try {
    return await new Deno.Command("mandoc", {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

Deno.test("man pages are mandoc -Tlint -Wwarning clean", async () => {
  for (const page of PAGES) {
    const out = await mandoc(["-Tlint", "-Wwarning", page]);
    if (out === undefined) {
      // deno-lint-ignore no-console
      console.warn("mandoc is not installed (apt-get install mandoc); lint skipped");
      return;
    }
    const dec = new TextDecoder();
    assertEquals(dec.decode(out.stdout) + dec.decode(out.stderr), "", page);
    assertEquals(out.code, 0, page);
  }
});

/** Long options named in a help text. */
function longOptions(help: string): string[] {
  return [...new Set(help.match(/--[a-z][a-z0-9-]*/g) ?? [])];
}

Deno.test("banwatch.8 documents every command and every long option the --help texts name", async () => {
  const source = await Deno.readTextFile(`${ROOT}man/banwatch.8`);
  const missing: string[] = [];
  assertOk(COMMANDS.length > 0, "commands are registered");
  for (const command of COMMANDS) {
    if (!new RegExp(`^\\.Cm ${command.name}$`, "m").test(source)) {
      missing.push(`command ${command.name}`);
    }
    for (const option of longOptions(command.help)) {
      const mdoc = new RegExp(`Fl -${option.slice(2)}(?![a-z0-9-])`);
      if (!mdoc.test(source)) missing.push(`${command.name} ${option}`);
    }
  }
  for (const option of ["--help", "--version"]) {
    if (!new RegExp(`Fl -${option.slice(2)}(?![a-z0-9-])`).test(source)) missing.push(option);
  }
  assertEquals(missing, [], "not in man/banwatch.8");
});

Deno.test("banwatch.8 has the sections an admin looks for", async () => {
  const source = await Deno.readTextFile(`${ROOT}man/banwatch.8`);
  for (
    const section of [
      "SYNOPSIS",
      "DESCRIPTION",
      "COMMANDS",
      "SIGNALS",
      "FILES",
      "EXIT STATUS",
      "EXAMPLES",
      "SEE ALSO",
    ]
  ) {
    assertOk(source.includes(`\n.Sh ${section}\n`), section);
  }
  for (const see of ["ipfw 8", "daemon 8", "newsyslog 8", "jails.toml 5"]) {
    assertOk(source.includes(`.Xr ${see}`), see);
  }
  assertOk(source.includes("ipfw add 100 deny tcp from 'table(postfix-auth)' to me 25,587,465"));
});

Deno.test("jails.toml.5 documents every key the config parser accepts", async () => {
  const source = await Deno.readTextFile(`${ROOT}man/jails.toml.5`);
  const keys = [
    ...GLOBAL_KEYS,
    ...JAIL_KEYS,
    ...INCREMENT_KEYS,
    ...FILTER_FILE_KEYS,
    ...CROWDSEC_KEYS,
  ];
  const missing = [...new Set(keys)].filter((key) =>
    !new RegExp(`\\.It Ic ${key}\\b|Ic ${key}\\b`).test(source)
  );
  assertEquals(missing, []);
  const documented = [...source.matchAll(/^\.It Ic ([a-z_0-9]+)/gm)].map((m) => m[1]);
  const unknown = documented.filter((key) => !keys.includes(key as string));
  assertEquals(unknown, [], "documented keys the parser does not know");
});
