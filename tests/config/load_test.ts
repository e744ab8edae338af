import { assertEquals, assertMatch, assertOk, assertRejects } from "../_assert.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { ConfigError } from "../../lib/core/errors.ts";

const FILTER = `description = "site filter"
failregex = '^\\S+ prog\\[\\d+\\]: failed from <HOST>$'
`;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "banwatch_config_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function configProblems(path: string): Promise<readonly string[]> {
  const e = await assertRejects(() => loadConfig(path));
  assertOk(e instanceof ConfigError, `expected ConfigError, got ${e.name}: ${e.message}`);
  return e.problems;
}

Deno.test("loadConfig() reads a filter file relative to the config file's directory", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/etc/filters`, { recursive: true });
    await Deno.writeTextFile(`${dir}/etc/filters/site.toml`, FILTER);
    await Deno.writeTextFile(
      `${dir}/etc/jails.toml`,
      `[jail.site]\nenabled = true\nlogpath = "logs/site.log"\nfilter = "filters/site.toml"\n`,
    );
    const config = await loadConfig(`${dir}/etc/jails.toml`);
    assertEquals(config.file, `${dir}/etc/jails.toml`);
    const [site] = config.jails;
    assertEquals(site?.filterSource, `${dir}/etc/filters/site.toml`);
    assertEquals(site?.filter.name, "site");
    assertEquals(site?.filter.description, "site filter");
    assertEquals(site?.logPaths, [`${dir}/etc/logs/site.log`]);
  });
});

Deno.test("loadConfig() reports a missing config file as one cannot-read line", async () => {
  await withTempDir(async (dir) => {
    assertEquals(await configProblems(`${dir}/nope.toml`), [
      `${dir}/nope.toml: cannot read: no such file`,
    ]);
    assertEquals(await configProblems(dir), [`${dir}: cannot read: is a directory`]);
  });
});

Deno.test("loadConfig() rejects a config file that is not UTF-8", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/bin.toml`, new Uint8Array([0x5b, 0xff, 0xfe, 0x5d, 0x0a]));
    assertEquals(await configProblems(`${dir}/bin.toml`), [
      `${dir}/bin.toml: cannot read: not valid UTF-8`,
    ]);
  });
});

Deno.test("loadConfig() names a missing or unreadable filter file at the filter key", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/dir.toml`);
    await Deno.writeTextFile(
      `${dir}/jails.toml`,
      [
        "[jail.a]",
        "enabled = true",
        'logpath = "/var/log/a.log"',
        'filter = "gone.toml"',
        "",
        "[jail.b]",
        "enabled = true",
        'logpath = "/var/log/b.log"',
        'filter = "./dir.toml"',
      ].join("\n"),
    );
    assertEquals(await configProblems(`${dir}/jails.toml`), [
      `${dir}/jails.toml:4:10: jail.a.filter: cannot read filter file "${dir}/gone.toml": no such file; expected a readable banwatch filter file (TOML)`,
      `${dir}/jails.toml:9:10: jail.b.filter: cannot read filter file "${dir}/dir.toml": is a directory; expected a readable banwatch filter file (TOML)`,
    ]);
  });
});

Deno.test("loadConfig() passes parse problems of the file through with its path", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/j.toml`, `[jail.x]\nmaxretry = "two"\n`);
    const got = await configProblems(`${dir}/j.toml`);
    assertEquals(got.length, 1);
    assertMatch(
      got[0] ?? "",
      new RegExp(`^${dir}/j\\.toml:2:12: jail\\.x\\.maxretry: "two" is not an integer;`),
    );
  });
});
