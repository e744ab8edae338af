import { assertEquals, assertMatch, assertOk, assertRejects, assertThrows } from "../_assert.ts";
import { createRunner } from "../../lib/core/exec.ts";
import { BackendError } from "../../lib/core/errors.ts";
import { createLogger } from "../../lib/core/log.ts";
import { chunk, chunkArgv, groupChanges } from "../../lib/firewall/batch.ts";
import {
  createIpfwBackend,
  IPFW_ARGV_BYTES,
  ipfwAddArgs,
  ipfwCreateArgs,
  ipfwDeleteArgs,
  ipfwInfoArgs,
  ipfwListArgs,
  ipfwRuleArgs,
  ipfwRuleDeleteArgs,
  isValidIpfwTableName,
  parseIpfwInfoType,
  parseIpfwList,
  planIpfw,
} from "../../lib/firewall/ipfw.ts";
import {
  type Backend,
  createBackend,
  type FirewallChange,
  reconcile,
} from "../../lib/firewall/mod.ts";
import {
  type FakeIpfw,
  installFakeIpfw,
  readFakeIpfwCalls,
  readFakeIpfwTables,
} from "../_fake_ipfw.ts";

// ---------------------------------------------------------------- pure argv builders
Deno.test("ipfwInfoArgs()/ipfwCreateArgs()/ipfwListArgs() build the documented argv", () => {
  assertEquals(ipfwInfoArgs("bw_smtp"), ["table", "bw_smtp", "info"]);
  assertEquals(ipfwCreateArgs("bw_smtp"), ["-q", "table", "bw_smtp", "create", "type", "addr"]);
  assertEquals(ipfwListArgs("bw_smtp"), ["table", "bw_smtp", "list"]);
});

Deno.test("ipfwAddArgs() passes KEY VALUE pairs and ipfwDeleteArgs() keys only", () => {
  assertEquals(
    ipfwAddArgs("T", ["1.2.3.4/32", "2001:db8::/64"]),
    ["-q", "table", "T", "add", "1.2.3.4/32", "0", "2001:db8::/64", "0"],
  );
  assertEquals(
    ipfwDeleteArgs("T", ["1.2.3.4/32", "5.6.7.8/32"]),
    ["-q", "table", "T", "delete", "1.2.3.4/32", "5.6.7.8/32"],
  );
});

Deno.test("ipfwRuleArgs() builds a deny rule on table(T), `to any` by default", () => {
  assertEquals(
    ipfwRuleArgs("bw_smtp", { rule: 2100, protocol: "tcp", ports: [25, 465, 587] }),
    [
      "-q",
      "add",
      "2100",
      "deny",
      "tcp",
      "from",
      "table(bw_smtp)",
      "to",
      "any",
      "dst-port",
      "25,465,587",
    ],
  );
  assertEquals(
    ipfwRuleArgs("bw", { rule: 100, protocol: "all", ports: [25], to: "me" }),
    ["-q", "add", "100", "deny", "ip", "from", "table(bw)", "to", "me"],
  );
  assertEquals(ipfwRuleDeleteArgs(2100), ["-q", "delete", "2100"]);
  assertThrows(() => ipfwRuleArgs("bw", { rule: 65535, protocol: "tcp", ports: [] }), /1-65534/);
  assertThrows(() => ipfwRuleArgs("bw", { rule: 10, protocol: "tcp", ports: [0] }), /port/);
});

Deno.test("isValidIpfwTableName() follows [a-zA-Z0-9-_.]{1,63} and reserves `all`; builders refuse others", () => {
  assertOk(isValidIpfwTableName("banwatch_smtp-1.x"));
  assertOk(!isValidIpfwTableName("all"));
  assertOk(!isValidIpfwTableName(""));
  assertOk(!isValidIpfwTableName("a".repeat(64)));
  assertOk(!isValidIpfwTableName("x y"));
  assertThrows(() => ipfwListArgs("a/b"), /Cannot use ipfw table/);
  assertThrows(() => ipfwAddArgs("all", []), /Cannot use ipfw table/);
});

// ---------------------------------------------------------------- planning
Deno.test("groupChanges() canonicalises targets, lets the last op win and skips non-CIDRs", () => {
  const { groups, skipped } = groupChanges([
    { op: "add", table: "A", target: "1.2.3.4" },
    { op: "add", table: "B", target: "2001:DB8::1/128" },
    { op: "add", table: "A", target: "5.6.7.8/32" },
    { op: "delete", table: "A", target: "1.2.3.4/32" },
    { op: "add", table: "A", target: "example.org" },
  ]);
  assertEquals(groups, [
    { table: "A", add: ["5.6.7.8/32"], delete: ["1.2.3.4/32"] },
    { table: "B", add: ["2001:db8::1/128"], delete: [] },
  ]);
  assertEquals(skipped.map((s) => s.change.target), ["example.org"]);
});

Deno.test("planIpfw() batches 2,500 changes into 3 invocations and skips v4-compatible keys", () => {
  const changes: FirewallChange[] = [];
  for (let i = 0; i < 2500; i++) {
    changes.push({ op: "add", table: "T", target: `10.${i >> 8}.${i & 255}.1/32` });
  }
  changes.push({ op: "delete", table: "T", target: "192.0.2.1/32" });
  changes.push({ op: "add", table: "T", target: "::102:304/128" });
  const { steps, skipped } = planIpfw(changes, { batchSize: 1000 });
  assertEquals(planIpfw(changes).steps.length, 2, "the default batch takes all 2,500 adds at once");
  assertEquals(steps.map((s) => [s.op, s.args.length]), [
    ["delete", 5],
    ["add", 4 + 2000],
    ["add", 4 + 2000],
    ["add", 4 + 1000],
  ]);
  assertEquals(skipped.length, 1);
  assertMatch(skipped[0]?.reason ?? "", /v4-compatible/);
  assertEquals(planIpfw(changes.slice(0, 10), { batchSize: 4 }).steps.length, 3);
  assertEquals(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
});

Deno.test("planIpfw() cuts chunks by argv bytes: 20,000 IPv4 adds in 2 runs, long IPv6 keys in more", () => {
  const v4: FirewallChange[] = [];
  const v6: FirewallChange[] = [];
  for (let i = 0; i < 20_000; i++) {
    v4.push({ op: "add", table: "T", target: `203.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32` });
    const h = (0x1000 + i).toString(16);
    v6.push({ op: "delete", table: "T", target: `2001:db8:${h}:${h}:${h}:${h}:${h}:${h}/128` });
  }
  const bytes = (args: readonly string[]) =>
    ["/sbin/ipfw", ...args].reduce((n, w) => n + w.length + 1, 0);
  const plan4 = planIpfw(v4).steps;
  assertEquals(plan4.length, 2);
  assertEquals(plan4.reduce((n, s) => n + (s.args.length - 4) / 2, 0), 20_000);
  const plan6 = planIpfw(v6).steps;
  assertEquals(plan6.length, 5);
  for (const step of [...plan4, ...plan6]) assertOk(bytes(step.args) <= IPFW_ARGV_BYTES);
  // batchSize still caps the entries of a chunk
  assertEquals(planIpfw(v4, { batchSize: 4000 }).steps.length, 5);
  assertEquals(chunkArgv(["aa", "b", "cc", "d"], { budget: 6, perWord: 0 }), [["aa", "b"], [
    "cc",
    "d",
  ]]);
  assertEquals(chunkArgv(["toolong"], { budget: 2, perWord: 0 }), [["toolong"]]);
  assertEquals(chunkArgv(["a", "b", "c"], { budget: 100, perWord: 2, size: 2 }), [["a", "b"], [
    "c",
  ]]);
});

Deno.test("parseIpfwList() reads `addr/len value` lines and skips headers, blanks and foreign keys", () => {
  const out = "--- table(bw), set(0) ---\n37.139.129.4/32 0\n\n10.0.0.0/8 5\n" +
    "2001:db8::1/128 0\n::ffff:1.2.3.4/128 0\n--- table(other), set(0) ---\nem0 0\n";
  assertEquals(parseIpfwList(out), ["37.139.129.4/32", "10.0.0.0/8", "2001:db8::1/128"]);
  assertEquals(parseIpfwList(""), []);
});

Deno.test("parseIpfwInfoType() reads the type from `table T info`", () => {
  assertEquals(
    parseIpfwInfoType("--- table(T), set(0) ---\n kindex: 3, type: iface, locked\n"),
    "iface",
  );
  assertEquals(parseIpfwInfoType("--- table(T), set(0) ---\n kindex: 1, type: addr\n"), "addr");
  assertEquals(parseIpfwInfoType("garbage"), undefined);
});

// ---------------------------------------------------------------- reconcile
Deno.test("reconcile() adds missing desired entries and removes expired owned ones", () => {
  const plan = reconcile(
    new Set(["1.1.1.1/32", "2.2.2.2/32"]),
    ["1.1.1.1/32", "3.3.3.3/32"],
    new Set(["1.1.1.1/32", "3.3.3.3/32"]),
  );
  assertEquals(plan, { add: ["2.2.2.2/32"], remove: ["3.3.3.3/32"] });
});

Deno.test("reconcile() never removes entries banwatch did not add", () => {
  const plan = reconcile(
    new Set(["1.1.1.1/32"]),
    ["1.1.1.1/32", "9.9.9.9/32", "10.0.0.0/8", "2001:db8::/32", "em0"],
    new Set(["1.1.1.1/32", "4.4.4.4/32"]),
  );
  assertEquals(plan, { add: [], remove: [] });
});

Deno.test("reconcile() compares canonical texts (bare addresses, IPv6 spelling)", () => {
  const plan = reconcile(
    new Set(["2001:DB8:0::1", "5.5.5.5"]),
    ["2001:db8::1/128", "6.6.6.6/32"],
    new Set(["6.6.6.6"]),
  );
  assertEquals(plan, { add: ["5.5.5.5/32"], remove: ["6.6.6.6/32"] });
});

// ---------------------------------------------------------------- backend against the double
async function withIpfw(
  fn: (backend: Backend, fake: FakeIpfw, logs: string[]) => Promise<void>,
  options: { env?: Record<string, string>; timeout?: number; batchSize?: number } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "banwatch-ipfw-" });
  try {
    const fake = await installFakeIpfw(dir, options.env === undefined ? {} : { env: options.env });
    const logs: string[] = [];
    const backend = createBackend("ipfw", {
      runner: createRunner(),
      ipfwPath: fake.path,
      timeout: options.timeout ?? 30,
      ...(options.batchSize === undefined ? {} : { ipfwBatchSize: options.batchSize }),
      logger: createLogger({ level: "debug", write: (l) => logs.push(l) }),
    });
    await fn(backend, fake, logs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("createIpfwBackend().prepare() creates missing tables and accepts existing ones", async () => {
  await withIpfw(async (backend, fake) => {
    await backend.prepare(["bw_smtp", "bw_pop"]);
    await backend.prepare(["bw_smtp"]);
    assertEquals(await readFakeIpfwTables(fake), { bw_smtp: {}, bw_pop: {} });
    assertEquals(await readFakeIpfwCalls(fake), [
      ["table", "bw_smtp", "info"],
      ["-q", "table", "bw_smtp", "create", "type", "addr"],
      ["table", "bw_pop", "info"],
      ["-q", "table", "bw_pop", "create", "type", "addr"],
      ["table", "bw_smtp", "info"],
    ]);
  });
});

Deno.test("createIpfwBackend().prepare() refuses a table of another type", async () => {
  await withIpfw(async (backend, fake) => {
    await createRunner().run([fake.path, "table", "ifs", "create", "type", "iface"]);
    const e = await assertRejects(() => backend.prepare(["ifs"]), /type iface/);
    assertOk(e instanceof BackendError);
  });
});

Deno.test("createIpfwBackend().apply() sends 2,000 changes in few ipfw invocations", async () => {
  await withIpfw(async (backend, fake) => {
    await backend.prepare(["T"]);
    const changes: FirewallChange[] = [];
    for (let i = 0; i < 1500; i++) {
      changes.push({ op: "add", table: "T", target: `10.1.${i >> 8}.${i & 255}` });
    }
    for (let i = 0; i < 500; i++) {
      changes.push({ op: "add", table: "T", target: `2001:db8::${i.toString(16)}/128` });
    }
    await backend.apply(changes);
    const calls = await readFakeIpfwCalls(fake);
    assertEquals(calls.length, 2 + 2); // info + create, then 2 add batches
    const listed = await backend.list("T");
    assertEquals(listed.length, 2000);
    assertOk(listed.includes("10.1.5.219/32"));
    assertOk(listed.includes("2001:db8::1f3/128"));
    // unban half in one call
    await backend.apply(changes.slice(0, 1000).map((c) => ({ ...c, op: "delete" as const })));
    assertEquals((await readFakeIpfwCalls(fake)).length, 4 + 1 + 1);
    assertEquals((await backend.list("T")).length, 1000);
  }, { batchSize: 1000 });
});

Deno.test("createIpfwBackend().apply() is idempotent: re-adding and re-deleting succeed", async () => {
  await withIpfw(async (backend, fake) => {
    const batch: FirewallChange[] = [
      { op: "add", table: "T", target: "192.0.2.1/32" },
      { op: "add", table: "T", target: "2001:db8::/64" },
    ];
    await backend.apply(batch);
    await backend.apply(batch);
    assertEquals(await readFakeIpfwTables(fake), { T: { "192.0.2.1/32": 0, "2001:db8::/64": 0 } });
    const unban = batch.map((c) => ({ ...c, op: "delete" as const }));
    await backend.apply(unban);
    await backend.apply(unban);
    assertEquals(await backend.list("T"), []);
  });
});

Deno.test("createIpfwBackend().apply() treats a delete on a missing table (exit 65) as done", async () => {
  await withIpfw(async (backend, fake) => {
    await backend.apply([{ op: "delete", table: "gone", target: "192.0.2.1/32" }]);
    assertEquals(await readFakeIpfwCalls(fake), [[
      "-q",
      "table",
      "gone",
      "delete",
      "192.0.2.1/32",
    ]]);
  });
});

Deno.test("createIpfwBackend().apply() skips v4-compatible and non-address targets with a warning", async () => {
  await withIpfw(async (backend, fake, logs) => {
    await backend.apply([
      { op: "add", table: "T", target: "::1.2.3.4" },
      { op: "add", table: "T", target: "evil -q" },
      { op: "add", table: "T", target: "192.0.2.9" },
    ]);
    assertEquals(await readFakeIpfwTables(fake), { T: { "192.0.2.9/32": 0 } });
    assertEquals(logs.length, 2);
    assertMatch(
      logs[0] ?? "",
      /level=warn event=firewall-skip backend=ipfw table=T target=::1\.2\.3\.4/,
    );
  });
});

Deno.test("createIpfwBackend().list() parses the table and returns [] for a missing one", async () => {
  await withIpfw(async (backend, fake) => {
    assertEquals(await backend.list("T"), []);
    const run = createRunner();
    await run.run([
      fake.path,
      "-q",
      "table",
      "T",
      "add",
      "198.51.100.0/24",
      "0",
      "2001:DB8::7",
      "3",
    ]);
    assertEquals(await backend.list("T"), ["198.51.100.0/24", "2001:db8::7/128"]);
  });
});

Deno.test("createIpfwBackend() throws BackendError with argv, code and stderr when ipfw fails", async () => {
  await withIpfw(async (backend, fake) => {
    const e = await assertRejects(
      () => backend.apply([{ op: "add", table: "T", target: "192.0.2.1/32" }]),
      /fake failure/,
    );
    assertOk(e instanceof BackendError);
    assertEquals(e.argv, [fake.path, "-q", "table", "T", "add", "192.0.2.1/32", "0"]);
    assertEquals(e.code, 1);
    assertEquals(e.stderr, "ipfw: fake failure (FAKE_IPFW_FAIL=always)");
    await assertRejects(() => backend.list("T"), /exited 1/);
    await assertRejects(() => backend.prepare(["T"]), /exited 1/);
  }, { env: { FAKE_IPFW_FAIL: "always" } });
});

Deno.test("createIpfwBackend().apply() runs every batch and throws the first failure", async () => {
  await withIpfw(async (backend, fake) => {
    const e = await assertRejects(() =>
      backend.apply([
        { op: "add", table: "A", target: "192.0.2.1/32" },
        { op: "add", table: "B", target: "192.0.2.2/32" },
      ])
    );
    assertOk(e instanceof BackendError);
    assertEquals(e.argv.slice(1, 4), ["-q", "table", "A"]);
    assertEquals(await readFakeIpfwTables(fake), { B: { "192.0.2.2/32": 0 } });
  }, { env: { FAKE_IPFW_FAIL: "always", FAKE_IPFW_FAIL_ON: "A" } });
});

Deno.test("createIpfwBackend() reports a hanging ipfw as BackendError code -1 after the timeout", async () => {
  await withIpfw(async (backend) => {
    const e = await assertRejects(() => backend.list("T"), /timed out after 1s/);
    assertOk(e instanceof BackendError);
    assertEquals(e.code, -1);
  }, { env: { FAKE_IPFW_FAIL: "hang" }, timeout: 1 });
});

Deno.test("createIpfwBackend() reports a missing ipfw as BackendError code -1", async () => {
  const backend = createIpfwBackend({ runner: createRunner(), ipfwPath: "/nonexistent/ipfw" });
  const e = await assertRejects(() => backend.list("T"), /not found: \/nonexistent\/ipfw/);
  assertOk(e instanceof BackendError);
  assertEquals(e.code, -1);
});

Deno.test("reconcile() with the ipfw backend restores bans and leaves foreign entries alone", async () => {
  await withIpfw(async (backend, fake) => {
    await backend.prepare(["T"]);
    const run = createRunner();
    // blocklistd/admin entry, one expired banwatch ban, one still active
    await run.run([
      fake.path,
      "-q",
      "table",
      "T",
      "add",
      "203.0.113.5",
      "0",
      "192.0.2.1",
      "0",
      "192.0.2.2",
      "0",
    ]);
    const desired = new Set(["192.0.2.2/32", "192.0.2.3/32", "2001:db8::/64"]);
    const owned = new Set(["192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32", "2001:db8::/64"]);
    const plan = reconcile(desired, await backend.list("T"), owned);
    await backend.apply([
      ...plan.add.map((target) => ({ op: "add" as const, table: "T", target })),
      ...plan.remove.map((target) => ({ op: "delete" as const, table: "T", target })),
    ]);
    assertEquals((await backend.list("T")).sort(), [
      "192.0.2.2/32",
      "192.0.2.3/32",
      "2001:db8::/64",
      "203.0.113.5/32",
    ]);
  });
});
