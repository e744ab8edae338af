/**
 * nft backend: pure script builders, and end to end against the real kernel inside two network
 * namespaces made by the test (10.200.N.0/24 on a veth pair; no traffic leaves them).
 */
import { assertEquals, assertOk } from "../_assert.ts";
import { createRunner, type Runner, type RunOptions } from "../../lib/core/exec.ts";
import { createBackend } from "../../lib/firewall/mod.ts";
import {
  nftApplyScript,
  nftElement,
  nftPrepareScript,
  nftRuleLines,
  parseNftSets,
} from "../../lib/firewall/nft.ts";

const IP = "/usr/sbin/ip";
const NFT = "/usr/sbin/nft";

Deno.test("nftPrepareScript() declares the inet table, the input chain and four sets per table", () => {
  assertEquals(
    nftPrepareScript(["bw"]),
    [
      "add table inet banwatch",
      "add chain inet banwatch input { type filter hook input priority -10; policy accept; }",
      "add set inet banwatch bw_v4 { type ipv4_addr; }",
      "add set inet banwatch bw_v6 { type ipv6_addr; }",
      "add set inet banwatch bw_v4net { type ipv4_addr; flags interval; }",
      "add set inet banwatch bw_v6net { type ipv6_addr; flags interval; }",
      "",
    ].join("\n"),
  );
  assertEquals(nftRuleLines("bw").map((r) => r.line), [
    "add rule inet banwatch input ip saddr @bw_v4 drop",
    "add rule inet banwatch input ip saddr @bw_v4net drop",
    "add rule inet banwatch input ip6 saddr @bw_v6 drop",
    "add rule inet banwatch input ip6 saddr @bw_v6net drop",
  ]);
});

Deno.test("nftElement() puts hosts and prefixes in separate sets", () => {
  assertEquals(nftElement("bw", "192.0.2.1/32"), { set: "bw_v4", element: "192.0.2.1" });
  assertEquals(nftElement("bw", "192.0.2.0/24"), { set: "bw_v4net", element: "192.0.2.0/24" });
  assertEquals(nftElement("bw", "2001:db8::1/128"), { set: "bw_v6", element: "2001:db8::1" });
  assertEquals(nftElement("bw", "2001:db8::/64"), { set: "bw_v6net", element: "2001:db8::/64" });
});

Deno.test("nftApplyScript() groups elements per set, deletes first, and can drop absent deletes", () => {
  const changes = [
    { op: "add" as const, table: "bw", target: "192.0.2.1" },
    { op: "add" as const, table: "bw", target: "192.0.2.2/32" },
    { op: "delete" as const, table: "bw", target: "2001:db8::/64" },
    { op: "delete" as const, table: "bw", target: "198.51.100.1/32" },
  ];
  assertEquals(
    nftApplyScript(changes),
    "delete element inet banwatch bw_v6net { 2001:db8::/64 }\n" +
      "delete element inet banwatch bw_v4 { 198.51.100.1 }\n" +
      "add element inet banwatch bw_v4 { 192.0.2.1, 192.0.2.2 }\n",
  );
  assertEquals(
    nftApplyScript(changes, { skipDelete: (_t, cidr) => cidr === "2001:db8::/64" }),
    "delete element inet banwatch bw_v4 { 198.51.100.1 }\n" +
      "add element inet banwatch bw_v4 { 192.0.2.1, 192.0.2.2 }\n",
  );
  assertEquals(nftApplyScript([]), "");
});

Deno.test("parseNftSets() reads `nft -j` elements: addresses, prefixes and timeout wrappers", () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: "1.0.6" } },
      { set: { name: "bw_v4", elem: ["192.0.2.1", { elem: { val: "192.0.2.2", timeout: 60 } }] } },
      {
        set: {
          name: "bw_v6net",
          elem: [{ prefix: { addr: "2001:db8::", len: 64 } }, { range: ["10.0.0.1", "10.0.0.9"] }],
        },
      },
      { set: { name: "empty" } },
    ],
  });
  const sets = parseNftSets(json);
  assertEquals(sets.get("bw_v4"), ["192.0.2.1/32", "192.0.2.2/32"]);
  assertEquals(sets.get("bw_v6net"), ["2001:db8::/64"]);
  assertEquals(sets.get("empty"), []);
  assertEquals(parseNftSets("not json").size, 0);
});

// ---------------------------------------------------------------- end to end in namespaces
async function sh(
  argv: string[],
  options: RunOptions = {},
): Promise<{ code: number; stderr: string; stdout: string }> {
  return await createRunner().run(argv, { timeout: 20, ...options });
}

async function probeNetns(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  try {
    if (Deno.uid() !== 0) return "not root";
  } catch {
    return "cannot read uid (needs --allow-sys)";
  }
  for (const p of [IP, NFT]) {
    try {
      await Deno.stat(p);
    } catch {
      return `${p} is missing`;
    }
  }
  const name = `bwtest-probe-${crypto.randomUUID().slice(0, 8)}`;
  const add = await sh([IP, "netns", "add", name]);
  if (add.code !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
  const nft = await sh([IP, "netns", "exec", name, NFT, "list", "ruleset"]);
  await sh([IP, "netns", "del", name]);
  if (nft.code !== 0) return `nft does not work in a namespace: ${nft.stderr.trim()}`;
  return undefined;
}

const skipReason = await probeNetns();
if (skipReason !== undefined) {
  // deno-lint-ignore no-console
  console.warn(`nft_test.ts: skipping the network-namespace test: ${skipReason}`);
}

const SERVER = `
const [host, port] = Deno.args;
const listener = Deno.listen({ hostname: host, port: Number(port) });
console.log("ready");
for await (const conn of listener) {
  conn.write(new TextEncoder().encode("hi\\n")).finally(() => conn.close());
}
`;

const CLIENT = `
const [host, port] = Deno.args;
const timer = setTimeout(() => { console.log("timeout"); Deno.exit(2); }, 1000);
try {
  const conn = await Deno.connect({ hostname: host, port: Number(port) });
  const buf = new Uint8Array(3);
  await conn.read(buf);
  conn.close();
  clearTimeout(timer);
  console.log(new TextDecoder().decode(buf).trim() === "hi" ? "connected" : "bad reply");
} catch (e) {
  clearTimeout(timer);
  console.log("error " + e.message);
}
`;

Deno.test({
  name:
    "createNftBackend() drops a banned client's TCP connections in a network namespace and unbans it",
  ignore: skipReason !== undefined,
  fn: async () => {
    const id = crypto.randomUUID().slice(0, 8);
    const octet = 1 + Math.floor(Math.random() * 250);
    const srv = `bwtest-srv-${id}`;
    const cli = `bwtest-cli-${id}`;
    const srvAddr = `10.200.${octet}.1`;
    const cliAddr = `10.200.${octet}.2`;
    const dir = await Deno.makeTempDir({ prefix: "banwatch-nft-" });
    let server: Deno.ChildProcess | undefined;
    try {
      await Deno.writeTextFile(`${dir}/server.ts`, SERVER);
      await Deno.writeTextFile(`${dir}/client.ts`, CLIENT);
      for (
        const argv of [
          [IP, "netns", "add", srv],
          [IP, "netns", "add", cli],
          [
            IP,
            "-n",
            srv,
            "link",
            "add",
            "bws0",
            "type",
            "veth",
            "peer",
            "name",
            "bwc0",
            "netns",
            cli,
          ],
          [IP, "-n", srv, "addr", "add", `${srvAddr}/24`, "dev", "bws0"],
          [IP, "-n", cli, "addr", "add", `${cliAddr}/24`, "dev", "bwc0"],
          [IP, "-n", srv, "link", "set", "bws0", "up"],
          [IP, "-n", cli, "link", "set", "bwc0", "up"],
          [IP, "-n", srv, "link", "set", "lo", "up"],
          [IP, "-n", cli, "link", "set", "lo", "up"],
        ]
      ) {
        const r = await sh(argv);
        assertEquals(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
      }
      server = new Deno.Command(IP, {
        args: [
          "netns",
          "exec",
          srv,
          Deno.execPath(),
          "run",
          "--quiet",
          "--allow-net",
          `${dir}/server.ts`,
          srvAddr,
          "7777",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = server.stdout.getReader();
      const first = await reader.read();
      reader.releaseLock();
      assertEquals(new TextDecoder().decode(first.value ?? new Uint8Array()).trim(), "ready");

      const connect = async (): Promise<string> => {
        const r = await sh([
          IP,
          "netns",
          "exec",
          cli,
          Deno.execPath(),
          "run",
          "--quiet",
          "--allow-net",
          `${dir}/client.ts`,
          srvAddr,
          "7777",
        ]);
        return r.stdout.trim();
      };
      const inner = createRunner();
      const nsRunner: Runner = {
        run: (argv, options) => inner.run([IP, "netns", "exec", srv, ...argv], options),
      };
      const backend = createBackend("nft", { runner: nsRunner, nftPath: NFT, timeout: 20 });
      assertEquals(backend.kind, "nft");

      await backend.prepare(["bwtest"]);
      await backend.prepare(["bwtest"]); // idempotent: no duplicate rules
      const chain = await sh([
        IP,
        "netns",
        "exec",
        srv,
        NFT,
        "list",
        "chain",
        "inet",
        "banwatch",
        "input",
      ]);
      assertEquals(chain.stdout.match(/saddr @bwtest_/g)?.length, 4);
      assertEquals(await connect(), "connected");

      await backend.apply([{ op: "add", table: "bwtest", target: `${cliAddr}/32` }]);
      assertEquals(await backend.list("bwtest"), [`${cliAddr}/32`]);
      assertEquals(await connect(), "timeout");

      // a prefix ban overlapping the host ban, then unban the host: still blocked
      await backend.apply([
        { op: "add", table: "bwtest", target: `10.200.${octet}.0/24` },
        { op: "delete", table: "bwtest", target: `${cliAddr}/32` },
        { op: "delete", table: "bwtest", target: "192.0.2.77/32" }, // absent: must not fail the batch
      ]);
      assertEquals(await backend.list("bwtest"), [`10.200.${octet}.0/24`]);
      assertEquals(await connect(), "timeout");

      await backend.apply([{ op: "delete", table: "bwtest", target: `10.200.${octet}.0/24` }]);
      assertEquals(await backend.list("bwtest"), []);
      assertEquals(await connect(), "connected");
      assertOk(true);
    } finally {
      if (server !== undefined) {
        try {
          server.kill("SIGKILL");
        } catch { /* exited */ }
        await server.stdout.cancel().catch(() => {});
        await server.status;
      }
      await sh([IP, "netns", "del", srv]);
      await sh([IP, "netns", "del", cli]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
