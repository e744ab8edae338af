import { assertEquals } from "../_assert.ts";
import type { Runner } from "../../lib/core/exec.ts";
import { createLogger } from "../../lib/core/log.ts";
import { createDryRunBackend } from "../../lib/firewall/dry_run.ts";
import { createBackend } from "../../lib/firewall/mod.ts";

const NO_RUN: Runner = {
  run: () => Promise.reject(new Error("dry-run must not run anything")),
};

Deno.test("createDryRunBackend() logs the ipfw argv it would run and runs nothing", async () => {
  const lines: string[] = [];
  const backend = createBackend("dry-run", {
    runner: NO_RUN,
    ipfwPath: "/sbin/ipfw",
    logger: createLogger({ write: (l) => lines.push(l) }),
  });
  assertEquals(backend.kind, "dry-run");
  await backend.prepare(["bw_smtp"]);
  await backend.prepare(["bw_smtp"]);
  await backend.apply([
    { op: "add", table: "bw_smtp", target: "192.0.2.1" },
    { op: "add", table: "bw_smtp", target: "2001:db8::/64" },
    { op: "delete", table: "bw_smtp", target: "198.51.100.7/32" },
  ]);
  assertEquals(lines, [
    'level=info event=dry-run argv="/sbin/ipfw -q table bw_smtp create type addr"',
    'level=info event=dry-run argv="/sbin/ipfw -q table bw_smtp delete 198.51.100.7/32"',
    'level=info event=dry-run argv="/sbin/ipfw -q table bw_smtp add 192.0.2.1/32 0 2001:db8::/64 0"',
  ]);
});

Deno.test("createDryRunBackend().list() reflects what apply() pretended to do", async () => {
  const lines: string[] = [];
  const backend = createDryRunBackend({ logger: createLogger({ write: (l) => lines.push(l) }) });
  assertEquals(await backend.list("T"), []);
  await backend.apply([
    { op: "add", table: "T", target: "192.0.2.1/32" },
    { op: "add", table: "T", target: "192.0.2.2/32" },
  ]);
  await backend.apply([{ op: "delete", table: "T", target: "192.0.2.1/32" }]);
  assertEquals(await backend.list("T"), ["192.0.2.2/32"]);
  assertEquals(await backend.list("other"), []);
  assertEquals(lines.length, 2);
});

Deno.test("createDryRunBackend().apply() warns about targets it skips", async () => {
  const lines: string[] = [];
  const backend = createDryRunBackend({ logger: createLogger({ write: (l) => lines.push(l) }) });
  await backend.apply([{ op: "add", table: "T", target: "not-an-ip" }]);
  assertEquals(lines, [
    'level=warn event=firewall-skip backend=dry-run table=T target=not-an-ip reason="not an address or CIDR"',
  ]);
  assertEquals(await backend.list("T"), []);
});
