import { assertEquals } from "../_assert.ts";
import { openStore } from "../../lib/state/store.ts";
import { openCrowdsecStore, savedCrowdsecStatus } from "../../lib/state/crowdsec_store.ts";
import { savedStatus } from "../../lib/cli/commands/control.ts";
import { formatStatus } from "../../lib/cli/format.ts";
import { createLogger } from "../../lib/core/mod.ts";

Deno.test("openCrowdsecStore() keeps a bounded queue, pushed ids and decisions across reopen", async () => {
  const dir = await Deno.makeTempDir();
  const logger = createLogger({ level: "error", write: () => {} });
  try {
    const path = `${dir}/state.db`;
    let store = openStore(path, { logger, now: () => 100 });
    let cs = openCrowdsecStore(store);
    for (let i = 0; i < 3; i++) {
      assertEquals(
        cs.enqueue({ jail: "j", target: `192.0.2.${i}/32`, alert: "{}" }, 2),
        i < 2 ? 0 : 1,
      );
    }
    cs.count("dropped", 1);
    assertEquals(cs.peek(10).map((q) => q.target), ["192.0.2.1/32", "192.0.2.2/32"]);
    cs.failed([cs.peek(1)[0]!.id]);
    assertEquals(cs.peek(1)[0]!.attempts, 1);
    cs.savePushed("j", "192.0.2.1/32", [4, 5], 200);
    cs.saveDecision({
      id: 9,
      target: "198.51.100.9/32",
      until: 300,
      scenario: "s",
      origin: "cscli",
    });
    store.close();

    store = openStore(path, { logger, now: () => 100 });
    cs = openCrowdsecStore(store);
    assertEquals(cs.queued(), 2);
    assertEquals(cs.counter("dropped"), 1);
    assertEquals([...cs.pushedIds(150)], [4, 5]);
    assertEquals([...cs.pushedIds(250)], []);
    assertEquals(cs.loadDecisions().map((d) => d.id), [9]);
    assertEquals(cs.takePushed("j", "192.0.2.1/32"), [4, 5]);
    assertEquals(cs.takePushed("j", "192.0.2.1/32"), []);
    assertEquals(cs.unqueue("j", "192.0.2.2/32"), 1);
    cs.dequeue(cs.peek(10).map((q) => q.id));
    cs.deleteDecision(9);
    assertEquals([cs.queued(), cs.loadDecisions().length], [0, 0]);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openCrowdsecStore() keeps a bounded queue of decision deletes across reopen", async () => {
  const dir = await Deno.makeTempDir();
  const logger = createLogger({ level: "error", write: () => {} });
  try {
    const path = `${dir}/state.db`;
    let store = openStore(path, { logger, now: () => 100 });
    let cs = openCrowdsecStore(store);
    assertEquals(cs.queueDeletes([], 3), 0);
    assertEquals(cs.queueDeletes([4, 5], 3), 0);
    // over the bound: the oldest go, and are counted
    assertEquals(cs.queueDeletes([6, 7], 3), 1);
    assertEquals(cs.peekDeletes(10), [5, 6, 7]);
    store.close();

    store = openStore(path, { logger, now: () => 100 });
    cs = openCrowdsecStore(store);
    assertEquals(cs.queuedDeletes(), 3);
    assertEquals(cs.peekDeletes(1), [5]);
    cs.deleted(5);
    assertEquals(cs.peekDeletes(10), [6, 7]);
    cs.deleted(6);
    cs.deleted(7);
    assertEquals(cs.queuedDeletes(), 0);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("savedCrowdsecStatus() reads queue, drops and stored decisions from a read-only store; status shows them", async () => {
  const dir = await Deno.makeTempDir();
  const logger = createLogger({ level: "error", write: () => {} });
  try {
    const path = `${dir}/state.db`;
    let store = openStore(path, { logger, now: () => 100 });
    assertEquals(savedCrowdsecStatus(store, 100), undefined, "never ran: no section");
    const cs = openCrowdsecStore(store);
    cs.enqueue({ jail: "j", target: "192.0.2.1/32", alert: "{}" }, 10);
    cs.count("dropped", 2);
    cs.count("refused", 3);
    store.setMeta("crowdsec.lapi_url", "http://127.0.0.1:8080");
    for (const [id, until] of [[1, 300], [2, 50]]) {
      cs.saveDecision({
        id: id!,
        target: `198.51.100.${id}/32`,
        until: until!,
        scenario: "s",
        origin: "cscli",
      });
    }
    store.close();
    store = openStore(path, { logger, readonly: true });
    const expected = {
      lapiUrl: "http://127.0.0.1:8080",
      queued: 1,
      dropped: 2,
      applied: 1,
      refused: 3,
    };
    assertEquals(savedCrowdsecStatus(store, 100), expected);
    const report = savedStatus(store, undefined, { configFile: "jails.toml", now: 100 });
    store.close();
    assertEquals(report.crowdsec, { ...expected, state: "stopped" });
    const text = formatStatus(report, { now: 100 });
    assertEquals(
      text.split("\n").filter((l) => l.startsWith("crowdsec")),
      [
        "crowdsec http://127.0.0.1:8080: stopped",
        "crowdsec alerts queued 1, dropped 2; remote decisions stored 1, refused 3",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
