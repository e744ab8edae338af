import { assertEquals } from "../_assert.ts";
import { openStore } from "../../lib/state/mod.ts";
import { createLogger } from "../../lib/core/mod.ts";

const quiet = { logger: createLogger({ write: () => {} }) };

Deno.test("Store.events keeps bans, unbans, firewall errors and failures per hour; purgeHistory() purges them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = openStore(`${dir}/state.db`, quiet);
    store.transaction(() => {
      store.events.addEvents([
        {
          time: 7300,
          kind: "ban",
          jail: "a",
          target: "192.0.2.1/32",
          failures: 3,
          banCount: 2,
          bantime: Infinity,
          origin: "auto",
        },
        { time: 7400, kind: "unban", jail: "a", target: "192.0.2.1/32", detail: "manual" },
        { time: 7500, kind: "firewall_error", jail: "", target: "", detail: "apply: boom" },
        { time: 100, kind: "unban", jail: "b", target: "192.0.2.9/32", detail: "expired" },
      ]);
      store.events.addFailures([
        { hour: 7200, jail: "a", addr: "192.0.2.1", count: 2 },
        { hour: 7200, jail: "a", addr: "192.0.2.1", count: 1 },
        { hour: 10800, jail: "b", addr: "192.0.2.1", count: 1 },
        { hour: 10800, jail: "b", addr: "192.0.2.7", count: 5 },
        { hour: 0, jail: "a", addr: "192.0.2.8", count: 9 },
      ]);
    });
    store.close();
    const ro = openStore(`${dir}/state.db`, { ...quiet, readonly: true });
    try {
      assertEquals(ro.events.loadEvents(7000, { jail: "b" }).map((e) => e.kind), [
        "firewall_error",
      ]);
      const [ban] = ro.events.loadEvents(7000);
      assertEquals(ban, {
        time: 7300,
        kind: "ban",
        jail: "a",
        target: "192.0.2.1/32",
        failures: 3,
        banCount: 2,
        bantime: Infinity,
        origin: "auto",
      });
      assertEquals(ro.events.failuresPerHour(7300), [
        { hour: 7200, jail: "a", addr: "", count: 3 },
        { hour: 10800, jail: "b", addr: "", count: 6 },
      ]);
      assertEquals(ro.events.topFailing(7200, { limit: 2 }), [
        { addr: "192.0.2.7", count: 5, jails: ["b"] },
        { addr: "192.0.2.1", count: 4, jails: ["a", "b"] },
      ]);
    } finally {
      ro.close();
    }
    const rw = openStore(`${dir}/state.db`, quiet);
    try {
      rw.purgeHistory(3600);
      assertEquals(rw.events.loadEvents(0).length, 3);
      assertEquals(rw.events.topFailing(0, { limit: 10 }).map((t) => t.addr), [
        "192.0.2.7",
        "192.0.2.1",
      ]);
    } finally {
      rw.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
