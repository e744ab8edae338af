/**
 * The ipfw test double against freebsd.md §2 (one test per row of the §2.2 table, then the
 * formats of §2.3, the key/value batches of §2.4 and the mixed tables of §2.5). Real processes.
 */
import { assertEquals, assertOk } from "../_assert.ts";
import { createRunner, type RunResult } from "../../lib/core/exec.ts";
import {
  type FakeIpfw,
  installFakeIpfw,
  readFakeIpfwCalls,
  readFakeIpfwTables,
} from "../_fake_ipfw.ts";

const runner = createRunner();

async function withFake(
  fn: (ipfw: (...args: string[]) => Promise<RunResult>, fake: FakeIpfw) => Promise<void>,
  env?: Record<string, string>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "banwatch-fake-ipfw-" });
  try {
    const fake = await installFakeIpfw(dir, env === undefined ? {} : { env });
    await fn((...args) => runner.run([fake.path, ...args], { timeout: 30 }), fake);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function expect(r: RunResult, code: number, stdout: string, stderr: string): void {
  assertEquals({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code, stdout, stderr });
}

Deno.test("fake ipfw: `add` OK prints `added:` without -q and nothing with -q (§2.2 row 1)", async () => {
  await withFake(async (ipfw) => {
    await ipfw("-q", "table", "T", "create", "type", "addr");
    expect(await ipfw("table", "T", "add", "1.2.3.4"), 0, "added: 1.2.3.4/32 0\n", "");
    expect(await ipfw("-q", "table", "T", "add", "5.6.7.8/32"), 0, "", "");
    expect(await ipfw("table", "T", "list"), 0, "1.2.3.4/32 0\n5.6.7.8/32 0\n", "");
  });
});

Deno.test("fake ipfw: `add` of an existing key exits 71, or 0 and updates the value with -q (§2.2 row 2)", async () => {
  await withFake(async (ipfw) => {
    await ipfw("-q", "table", "T", "create");
    await ipfw("-q", "table", "T", "add", "1.2.3.4", "0");
    expect(
      await ipfw("table", "T", "add", "1.2.3.4", "0"),
      71,
      "exists: 1.2.3.4/32 0\n",
      "ipfw: Adding record failed: record already exists\n",
    );
    expect(await ipfw("-q", "table", "T", "add", "1.2.3.4", "7"), 0, "", "");
    expect(await ipfw("table", "T", "list"), 0, "1.2.3.4/32 7\n", "");
  });
});

Deno.test("fake ipfw: `add` to a missing table auto-creates it, warning only without -q (§2.2 row 3)", async () => {
  await withFake(async (ipfw) => {
    expect(
      await ipfw("table", "T", "add", "10.0.0.1"),
      0,
      "added: 10.0.0.1/32 0\n",
      "ipfw: DEPRECATED: inserting data into non-existent table T. (auto-created)\n",
    );
    expect(await ipfw("-q", "table", "U", "add", "10.0.0.2"), 0, "", "");
    expect(await ipfw("table", "U", "list"), 0, "10.0.0.2/32 0\n", "");
    const info = await ipfw("table", "U", "info");
    assertEquals(info.stdout.split("\n")[1], " kindex: 2, type: addr");
  });
});

Deno.test("fake ipfw: `delete` OK prints `deleted:` without -q and nothing with -q (§2.2 row 4)", async () => {
  await withFake(async (ipfw) => {
    await ipfw("-q", "table", "T", "add", "1.2.3.4", "0", "5.6.7.8", "0");
    expect(await ipfw("table", "T", "delete", "1.2.3.4"), 0, "deleted: 1.2.3.4/32 0\n", "");
    expect(await ipfw("-q", "table", "T", "delete", "5.6.7.8/32"), 0, "", "");
    expect(await ipfw("table", "T", "list"), 0, "", "");
  });
});

Deno.test("fake ipfw: `delete` of a missing key exits 71, or 0 silently with -q (§2.2 row 5)", async () => {
  await withFake(async (ipfw) => {
    await ipfw("-q", "table", "T", "create");
    expect(
      await ipfw("table", "T", "delete", "1.2.3.4"),
      71,
      "notfound: 1.2.3.4/32 0\n",
      "ipfw: Deleting record failed: record not found\n",
    );
    expect(await ipfw("-q", "table", "T", "delete", "1.2.3.4"), 0, "", "");
  });
});

Deno.test("fake ipfw: `delete` on a missing table exits 65 even with -q (§2.2 row 6)", async () => {
  await withFake(async (ipfw) => {
    expect(await ipfw("table", "T", "delete", "1.2.3.4"), 65, "", "ipfw: Table T does not exist\n");
    expect(
      await ipfw("-q", "table", "T", "delete", "1.2.3.4"),
      65,
      "",
      "ipfw: Table T does not exist\n",
    );
  });
});

Deno.test("fake ipfw: `create` of an existing table exits 71 `File exists` with or without -q (§2.2 row 7)", async () => {
  await withFake(async (ipfw) => {
    expect(await ipfw("table", "T", "create", "type", "addr"), 0, "", "");
    const msg = "ipfw: Table creation failed: File exists\n";
    expect(await ipfw("table", "T", "create", "type", "addr"), 71, "", msg);
    expect(await ipfw("-q", "table", "T", "create", "type", "addr"), 71, "", msg);
    // the 13.x/freebsd14_vendor option set has no `missing` (freebsd.md §2.1 version note)
    expect(
      await ipfw("table", "T", "create", "missing"),
      64,
      "",
      "ipfw: ambiguous option missing\n",
    );
  });
});

Deno.test("fake ipfw: `flush` on a missing table warns and exits 0; -q is silent (§2.2 row 8)", async () => {
  await withFake(async (ipfw) => {
    expect(
      await ipfw("table", "T", "flush"),
      0,
      "",
      "ipfw: failed to flush table T info: No such process\n",
    );
    expect(await ipfw("-q", "table", "T", "flush"), 0, "", "");
    await ipfw("-q", "table", "T", "add", "1.2.3.4");
    expect(await ipfw("table", "T", "flush"), 0, "", "");
    expect(await ipfw("table", "T", "list"), 0, "", "");
  });
});

Deno.test("fake ipfw: `list`/`info` on a missing table exit 71 with or without -q (§2.2 row 9)", async () => {
  await withFake(async (ipfw) => {
    const msg = "ipfw: failed to request table info: No such process\n";
    expect(await ipfw("table", "T", "list"), 71, "", msg);
    expect(await ipfw("table", "T", "info"), 71, "", msg);
    expect(await ipfw("-q", "table", "T", "list"), 71, "", msg);
    expect(await ipfw("-q", "table", "T", "info"), 71, "", msg);
  });
});

Deno.test("fake ipfw: `lookup` prints the most specific entry, misses exit 69, missing table 65 (§2.2 rows 10-12)", async () => {
  await withFake(async (ipfw) => {
    expect(await ipfw("table", "T", "lookup", "1.2.3.4"), 65, "", "ipfw: Table T does not exist\n");
    await ipfw("-q", "table", "T", "add", "1.2.0.0/16", "1", "1.2.3.0/24", "2");
    expect(await ipfw("table", "T", "lookup", "1.2.3.4"), 0, "1.2.3.0/24 2\n", "");
    expect(await ipfw("table", "T", "lookup", "1.2.9.9"), 0, "1.2.0.0/16 1\n", "");
    expect(
      await ipfw("table", "T", "lookup", "8.8.8.8"),
      69,
      "",
      "ipfw: Entry 8.8.8.8 not found\n",
    );
  });
});

Deno.test("fake ipfw: `list` prints `addr/len value` with no header; `table all list` adds headers (§2.3)", async () => {
  await withFake(async (ipfw) => {
    await ipfw(
      "-q",
      "table",
      "bw_smtp",
      "add",
      "2001:db8::1",
      "0",
      "37.139.129.4",
      "0",
      "10.0.0.0/8",
      "0",
    );
    await ipfw("-q", "table", "a", "create");
    expect(
      await ipfw("table", "bw_smtp", "list"),
      0,
      "10.0.0.0/8 0\n37.139.129.4/32 0\n2001:db8::1/128 0\n",
      "",
    );
    expect(await ipfw("table", "a", "list"), 0, "", "");
    expect(
      await ipfw("table", "all", "list"),
      0,
      "--- table(a), set(0) ---\n--- table(bw_smtp), set(0) ---\n" +
        "10.0.0.0/8 0\n37.139.129.4/32 0\n2001:db8::1/128 0\n",
      "",
    );
    expect(
      await ipfw("table", "bw_smtp", "info"),
      0,
      "--- table(bw_smtp), set(0) ---\n kindex: 1, type: addr\n references: 0, valtype: legacy\n" +
        " algorithm: addr:radix\n items: 3, size: 576\n",
      "",
    );
  });
});

Deno.test("fake ipfw: `add` reads KEY VALUE pairs, so a second address is a value (§2.4)", async () => {
  await withFake(async (ipfw) => {
    expect(await ipfw("table", "T", "create"), 0, "", "");
    expect(
      await ipfw("table", "T", "add", "1.2.3.4", "5.6.7.8"),
      0,
      "added: 1.2.3.4/32 84281096\n",
      "",
    );
    expect(await ipfw("-i", "table", "T", "list"), 0, "1.2.3.4/32 5.6.7.8\n", "");
    expect(
      await ipfw("table", "T", "add", "9.9.9.9", "0", "8.8.8.8", "0x10"),
      0,
      "added: 9.9.9.9/32 0\nadded: 8.8.8.8/32 16\n",
      "",
    );
    expect(
      await ipfw("table", "T", "add", "7.7.7.7", "nonsense"),
      71,
      "",
      "ipfw: Unable to parse value nonsense\n",
    );
  });
});

Deno.test("fake ipfw: a non-atomic batch applies the other entries and returns the first error (§2.4)", async () => {
  await withFake(async (ipfw) => {
    await ipfw("-q", "table", "T", "add", "1.1.1.1", "0");
    expect(
      await ipfw("table", "T", "add", "1.1.1.1", "0", "2.2.2.2", "0"),
      71,
      "exists: 1.1.1.1/32 0\nadded: 2.2.2.2/32 0\n",
      "ipfw: Adding record failed: record already exists\n",
    );
    expect(
      await ipfw("table", "T", "atomic", "add", "3.3.3.3", "0", "2.2.2.2", "0"),
      71,
      "added(reverted): 3.3.3.3/32 0\nexists: 2.2.2.2/32 0\n",
      "ipfw: Adding record failed: record already exists\n",
    );
    expect(await ipfw("table", "T", "list"), 0, "1.1.1.1/32 0\n2.2.2.2/32 0\n", "");
    expect(await ipfw("-q", "table", "T", "delete", "1.1.1.1", "4.4.4.4", "2.2.2.2"), 0, "", "");
    expect(await ipfw("table", "T", "list"), 0, "", "");
  });
});

Deno.test("fake ipfw: IPv4 and IPv6 share an addr table with default masks and masked host bits (§2.5)", async () => {
  await withFake(async (ipfw) => {
    await ipfw("-q", "table", "T", "create", "type", "addr");
    expect(
      await ipfw(
        "-q",
        "table",
        "T",
        "add",
        "192.0.2.77/24",
        "0",
        "2001:DB8:0:0:1::5/64",
        "0",
        "2001:db8::1",
        "0",
      ),
      0,
      "",
      "",
    );
    expect(
      await ipfw("table", "T", "list"),
      0,
      "192.0.2.0/24 0\n2001:db8::/64 0\n2001:db8::1/128 0\n",
      "",
    );
    expect(
      await ipfw("table", "T", "add", "1.2.3.4/33"),
      65,
      "",
      "ipfw: bad IPv4 mask width: 33\n",
    );
    expect(
      await ipfw("table", "T", "add", "2001:db8::/129"),
      65,
      "",
      "ipfw: bad IPv6 mask width: 129\n",
    );
    expect(
      await ipfw("table", "T", "add", "::1.2.3.4"),
      65,
      "",
      "ipfw: Use IPv4 instead of v4-compatible\n",
    );
    expect(
      await ipfw("table", "T", "add", "mail.example.org"),
      68,
      "",
      "ipfw: hostname ``mail.example.org'' unknown\n",
    );
    expect(await ipfw("table", "T", "add", "01.2.3.4"), 0, "added: 1.2.3.4/32 0\n", ""); // inet_aton
  });
});

Deno.test("fake ipfw: table names follow [a-zA-Z0-9-_.]{1,63} and `all` is reserved (§2.1)", async () => {
  await withFake(async (ipfw) => {
    expect(
      await ipfw("table", "bad/name", "list"),
      64,
      "",
      "ipfw: table name bad/name is invalid\n",
    );
    expect(
      await ipfw("table", "x".repeat(64), "list"),
      64,
      "",
      `ipfw: table name ${"x".repeat(64)} is invalid\n`,
    );
    expect(await ipfw("table", "all", "add", "1.2.3.4"), 64, "", "ipfw: table name required\n");
    expect(await ipfw("table", "ok.name-1_x", "create"), 0, "", "");
  });
});

Deno.test("fake ipfw: unknown grammar exits 64 with an `ipfw:` usage error", async () => {
  await withFake(async (ipfw) => {
    expect(
      await ipfw("table", "T", "frobnicate"),
      64,
      "",
      "ipfw: ambiguous table command frobnicate\n",
    );
    expect(await ipfw("table", "T", "add"), 64, "", "ipfw: address required\n");
    expect(await ipfw("table", "T"), 64, "", "ipfw: table needs command\n");
    expect(await ipfw("frobnicate"), 64, "", "ipfw: bad command `frobnicate'\n");
    const r = await ipfw("-Z", "table", "T", "list");
    assertEquals(r.code, 64);
    assertEquals(r.stderr.split("\n")[0], "ipfw: illegal option -- Z");
    expect(await ipfw("-q"), 64, "", "ipfw: bad arguments, for usage summary ``ipfw''\n");
  });
});

Deno.test("fake ipfw: rules naming table(T) are stored and keep the table from being destroyed", async () => {
  await withFake(async (ipfw) => {
    expect(
      await ipfw(
        "add",
        "2100",
        "deny",
        "tcp",
        "from",
        "table(bw)",
        "to",
        "any",
        "dst-port",
        "25,465",
      ),
      0,
      "02100 deny tcp from table(bw) to any dst-port 25,465\n",
      "",
    );
    expect(await ipfw("table", "bw", "list"), 0, "", ""); // auto-created by the rule
    expect(
      await ipfw("table", "bw", "destroy"),
      71,
      "",
      "ipfw: failed to destroy table bw: Device busy\n",
    );
    expect(
      await ipfw("list"),
      0,
      "02100 deny tcp from table(bw) to any dst-port 25,465\n65535 deny ip from any to any\n",
      "",
    );
    expect(await ipfw("-q", "delete", "2100"), 0, "", "");
    expect(await ipfw("table", "bw", "destroy"), 0, "", "");
    expect(
      await ipfw("table", "bw", "destroy"),
      0,
      "",
      "ipfw: failed to destroy table bw: No such process\n",
    );
  });
});

Deno.test("fake ipfw: state survives between processes and every call is logged", async () => {
  await withFake(async (ipfw, fake) => {
    await ipfw("-q", "table", "T", "add", "1.2.3.4", "0");
    await ipfw("table", "T", "list");
    assertEquals(await readFakeIpfwTables(fake), { T: { "1.2.3.4/32": 0 } });
    assertEquals(await readFakeIpfwCalls(fake), [
      ["-q", "table", "T", "add", "1.2.3.4", "0"],
      ["table", "T", "list"],
    ]);
  });
});

Deno.test("fake ipfw: FAKE_IPFW_FAIL=always fails every call with exit 1", async () => {
  await withFake(async (ipfw) => {
    expect(await ipfw("table", "T", "list"), 1, "", "ipfw: fake failure (FAKE_IPFW_FAIL=always)\n");
  }, { FAKE_IPFW_FAIL: "always" });
});

Deno.test("fake ipfw: FAKE_IPFW_FAIL=every3 fails the third call only", async () => {
  await withFake(async (ipfw) => {
    const codes = [];
    for (let i = 0; i < 4; i++) {
      codes.push((await ipfw("-q", "table", "T", "add", `10.0.0.${i}`)).code);
    }
    assertEquals(codes, [0, 0, 1, 0]);
  }, { FAKE_IPFW_FAIL: "every3" });
});

Deno.test("fake ipfw: FAKE_IPFW_FAIL=hang never exits (the runner's timeout kills it)", async () => {
  await withFake(async (_ipfw, fake) => {
    const start = performance.now();
    const r = await runner.run([fake.path, "table", "T", "list"], { timeout: 1.5 });
    assertEquals(r.code, -1);
    assertEquals(r.stderr, "timed out after 1.5s");
    assertOk(performance.now() - start < 10_000);
  }, { FAKE_IPFW_FAIL: "hang" });
});
