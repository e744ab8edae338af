import { assertEquals, assertOk } from "../_assert.ts";
import { saslFailure, startDaemon, withDaemonFixture } from "../../scripts/daemon_harness.ts";
import { sendRequest } from "../../lib/control/client.ts";
import type { StatusReport } from "../../lib/control/mod.ts";
import { createLogger } from "../../lib/core/log.ts";
import { openStore } from "../../lib/state/store.ts";

Deno.test("run: during a long catch-up status is answered and SIGTERM stops it, position saved mid-file", async () => {
  await withDaemonFixture({}, async ({ dir, log, config }) => {
    // ~64 MB of failures two days old: each is read and matched but not counted (findtime 1h).
    const line = saslFailure("192.0.2.1", Date.now() / 1000 - 2 * 86400);
    const block = new TextEncoder().encode(line.repeat(Math.ceil(1024 * 1024 / line.length)));
    const file = await Deno.open(log, { write: true, truncate: true });
    try {
      for (let i = 0; i < 64; i++) {
        for (let at = 0; at < block.length;) at += await file.write(block.subarray(at));
      }
    } finally {
      file.close();
    }
    const size = (await Deno.stat(log)).size;
    const daemon = startDaemon(config);
    await daemon.waitFor(/event=started/, 30);
    // The control socket is served between two polls of the catch-up, too.
    const res = await sendRequest(`${dir}/banwatch.sock`, { v: 1, cmd: "status" }, { timeout: 30 });
    assertOk(res.ok, JSON.stringify(res));
    const read = (res.result as StatusReport).jails[0]?.files[0]?.offset ?? 0;
    assertOk(read < size, `status answered only after the catch-up: ${read} of ${size} bytes`);
    assertEquals(await daemon.stop("SIGTERM"), 0, daemon.stderr());
    assertOk(/event=stopping/.test(daemon.stderr()), daemon.stderr());
    // The reads are synchronous: the loop must still let the signal in between two polls.
    const store = openStore(`${dir}/state/state.db`, { logger: createLogger(), readonly: true });
    try {
      const offset = store.loadPositions()[0]?.offset ?? 0;
      assertOk(offset > 0 && offset < size, `stopped at ${offset} of ${size} bytes`);
    } finally {
      store.close();
    }
  });
});

Deno.test("run: gives the heap back once the start-up catch-up is read", async () => {
  await withDaemonFixture({}, async ({ log, config }) => {
    const now = Date.now() / 1000;
    const lines: string[] = [];
    for (let i = 0; i < 20000; i++) {
      lines.push(saslFailure(`198.51.100.${i % 200 + 1}`, now - 7200));
    }
    await Deno.writeTextFile(log, lines.join(""));
    const daemon = startDaemon(config, ["--no-socket", "--log-level", "debug"]);
    try {
      const line = await daemon.waitFor(/event=heap_compacted/, 30);
      const before = Number(/heap_before=(\d+)/.exec(line)?.[1]);
      const after = Number(/heap_after=(\d+)/.exec(line)?.[1]);
      assertOk(after > 0 && after < before, line);
      // Idle polls after that (poll_interval 1 s) do not compact again.
      await new Promise((resolve) => setTimeout(resolve, 3000));
    } finally {
      assertEquals(await daemon.stop(), 0, daemon.stderr());
    }
    assertEquals(daemon.stderr().match(/event=heap_compacted/g)?.length, 1, daemon.stderr());
  });
});
