/**
 * Ban rows remember the backend and table they were applied with (schema 3): a version 2
 * database keeps its bans with no placement, setPlacement() fills it and upserts keep it.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { createLogger } from "../../lib/core/mod.ts";
import { openStore, SCHEMA_VERSION, type StoredBan } from "../../lib/state/store.ts";
import { assertEquals } from "../_assert.ts";

const BAN: StoredBan = {
  jail: "dovecot",
  target: "203.0.113.124/32",
  since: 1_700_000_000,
  until: 1_700_003_600,
  failures: 0,
  banCount: 1,
  origin: "manual",
};

Deno.test("openStore() adds backend and table to the bans of a version 2 database; setPlacement() fills them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "banwatch-placement-" });
  const path = `${dir}/state.db`;
  const logger = createLogger({ write: () => {} });
  try {
    // A version 2 database, as the previous release left it, with one applied ban.
    let store = openStore(path, { logger });
    store.upsertBan({ ...BAN, applied: true });
    store.close();
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE old AS SELECT jail, target, since, until, failures, ban_count, origin,
               line, applied FROM bans;
             DROP TABLE bans;
             CREATE TABLE bans (jail TEXT NOT NULL, target TEXT NOT NULL, since REAL NOT NULL,
               until REAL, failures INTEGER NOT NULL, ban_count INTEGER NOT NULL,
               origin TEXT NOT NULL, line TEXT, applied INTEGER NOT NULL DEFAULT 0,
               PRIMARY KEY (jail, target));
             INSERT INTO bans SELECT * FROM old;
             DROP TABLE old;
             PRAGMA user_version = 2;`);
    db.close();

    store = openStore(path, { logger });
    try {
      assertEquals(SCHEMA_VERSION >= 3, true);
      assertEquals(store.loadBans(), [{ ...BAN, applied: true }]);
      store.setPlacement(BAN.jail, BAN.target, { backend: "nft", table: "dovecot" });
      assertEquals(store.findBan(BAN.jail, BAN.target), {
        ...BAN,
        applied: true,
        backend: "nft",
        table: "dovecot",
      });
      // An upsert without a placement (a ban updated by a jail no longer running) keeps it.
      store.upsertBan({ ...BAN, until: BAN.until + 60 });
      assertEquals(store.loadBans().map((b) => [b.backend, b.table, b.applied, b.until]), [
        ["nft", "dovecot", false, BAN.until + 60],
      ]);
      store.upsertBan({ ...BAN, backend: "ipfw", table: "bw" });
      assertEquals(store.findBan(BAN.jail, BAN.target)?.table, "bw");
      assertEquals(store.findBan(BAN.jail, "192.0.2.1/32"), undefined);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
