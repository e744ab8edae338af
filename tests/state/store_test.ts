import { DatabaseSync } from "node:sqlite";
import { RuntimeError } from "../../lib/core/errors.ts";
import { createLogger } from "../../lib/core/log.ts";
import { openStore, SCHEMA_VERSION, type Store, type StoredBan } from "../../lib/state/store.ts";
import { assertEquals, assertMatch, assertOk, assertThrows } from "../_assert.ts";

async function withDir(fn: (dir: string, logs: string[]) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "banwatch-store-" });
  const logs: string[] = [];
  try {
    await fn(dir, logs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function open(
  path: string,
  logs: string[],
  extra: { readonly?: boolean; now?: number } = {},
): Store {
  const logger = createLogger({ level: "debug", write: (l) => logs.push(l) });
  return openStore(path, {
    logger,
    now: () => extra.now ?? 1_700_000_000,
    ...(extra.readonly === undefined ? {} : { readonly: extra.readonly }),
  });
}

function use<T>(store: Store, fn: (s: Store) => T): T {
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

const BAN: StoredBan = {
  jail: "postfix",
  target: "192.0.2.7/32",
  since: 1_700_000_000.5,
  until: 1_700_003_600.5,
  failures: 5,
  banCount: 1,
  origin: "auto",
  line: "Jan  1 00:00:00 mx postfix/smtpd[1]: warning: unknown[192.0.2.7]: SASL LOGIN failed",
};

Deno.test("openStore() creates the directory (0700) and a WAL database at the schema version", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state/sub/state.db`;
    use(open(path, logs), (store) => {
      assertEquals(store.recovery, { recovered: false });
      assertEquals(store.readonly, false);
    });
    assertEquals((Deno.statSync(`${dir}/state/sub`).mode ?? 0) & 0o777, 0o700);
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      assertEquals(db.prepare("PRAGMA user_version").get()?.user_version, SCHEMA_VERSION);
      assertEquals(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all().map((r) => r.name);
      assertEquals(tables, [
        "bans",
        "events",
        "failure_counts",
        "history",
        "meta",
        "positions",
        "prefix_windows",
        "window_log",
      ]);
      const views = db.prepare("SELECT name FROM sqlite_master WHERE type = 'view'").all();
      assertEquals(views.map((r) => r.name), ["windows"]);
    } finally {
      db.close();
    }
    // reopening an up-to-date database changes nothing
    use(open(path, logs), (store) => assertEquals(store.recovery.recovered, false));
    assertEquals(logs, []);
  });
});

Deno.test("Store.transaction() commits, and rolls back everything when fn throws", async () => {
  await withDir((dir, logs) => {
    use(open(`${dir}/state.db`, logs), (store) => {
      const result = store.transaction(() => {
        store.setMeta("a", "1");
        return 42;
      });
      assertEquals(result, 42);
      assertThrows(() =>
        store.transaction(() => {
          store.setMeta("b", "2");
          store.upsertBan(BAN);
          store.savePosition({
            path: "/var/log/maillog",
            dev: 1,
            ino: 2,
            offset: 3,
            fingerprint: "",
          });
          store.transaction(() => store.saveWindow("postfix", "192.0.2.7", [1, 2]));
          throw new Error("boom");
        }), /boom/);
      assertEquals(store.getMeta("a"), "1");
      assertEquals(store.getMeta("b"), undefined);
      assertEquals(store.loadBans(), []);
      assertEquals(store.loadPositions(), []);
      assertEquals(store.loadWindows(), []);
      // still usable after a rollback
      store.transaction(() => store.setMeta("c", "3"));
      assertEquals(store.getMeta("c"), "3");
    });
  });
});

Deno.test("Store.savePosition() round-trips and replaces positions per path", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state.db`;
    use(open(path, logs), (store) => {
      store.savePosition({
        path: "/var/log/maillog",
        dev: 1,
        ino: 2,
        offset: 3,
        fingerprint: "ab",
      });
      store.savePosition({ path: "/var/log/auth.log", dev: 1, ino: 9, offset: 0, fingerprint: "" });
      store.savePosition({
        path: "/var/log/maillog",
        dev: 1,
        ino: 5,
        offset: 2 ** 40,
        fingerprint: "cd",
      });
    });
    use(open(path, logs), (store) => {
      assertEquals(store.loadPositions(), [
        { path: "/var/log/auth.log", dev: 1, ino: 9, offset: 0, fingerprint: "" },
        { path: "/var/log/maillog", dev: 1, ino: 5, offset: 2 ** 40, fingerprint: "cd" },
      ]);
      store.deletePosition("/var/log/auth.log");
      assertEquals(store.loadPositions().length, 1);
    });
  });
});

Deno.test("Store.saveWindow() round-trips, deletes on empty, and deletes per jail", async () => {
  await withDir((dir, logs) => {
    use(open(`${dir}/state.db`, logs), (store) => {
      store.saveWindow("postfix", "192.0.2.7", [100.25, 200]);
      store.saveWindow("postfix", "2001:db8::/64", [150]);
      store.saveWindow("dovecot", "192.0.2.7", [300]);
      store.saveWindow("postfix", "192.0.2.7", [200, 250]);
      // least recently saved first
      assertEquals(store.loadWindows(), [
        { jail: "postfix", addr: "2001:db8::/64", times: [150] },
        { jail: "dovecot", addr: "192.0.2.7", times: [300] },
        { jail: "postfix", addr: "192.0.2.7", times: [200, 250] },
      ]);
      store.saveWindow("postfix", "2001:db8::/64", []);
      assertEquals(store.loadWindows().length, 2);
      store.savePrefixWindow("postfix", "2001:db8::/64", [
        { addr: "2001:db8::1", time: 10 },
        { addr: "2001:db8::2", time: 11.5 },
      ]);
      store.savePrefixWindow("dovecot", "2001:db8::/64", [{ addr: "2001:db8::3", time: 12 }]);
      store.savePrefixWindow("dovecot", "2001:db8::/64", []);
      assertEquals(store.loadPrefixWindows(), [{
        jail: "postfix",
        prefix: "2001:db8::/64",
        members: [{ addr: "2001:db8::1", time: 10 }, { addr: "2001:db8::2", time: 11.5 }],
      }]);
      assertEquals(store.deleteWindowsForJail("postfix"), 2);
      assertEquals(store.loadPrefixWindows(), []);
      assertEquals(store.loadWindows(), [{ jail: "dovecot", addr: "192.0.2.7", times: [300] }]);
    });
  });
});

Deno.test("Store.saveWindow() compacts its log and the windows view shows the newest rows", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state.db`;
    use(open(path, logs), (store) => {
      store.transaction(() => {
        for (let i = 0; i < 120_000; i++) {
          store.saveWindow("postfix", `10.0.${i & 7}.1`, [i]);
          if (i % 2 === 1) store.saveWindow("postfix", `10.1.${i & 7}.1`, []);
        }
        store.saveWindow("postfix", "10.0.7.1", []);
      });
      assertEquals(store.loadWindows().map((w) => `${w.addr} ${w.times}`), [
        "10.0.0.1 119992",
        "10.0.1.1 119993",
        "10.0.2.1 119994",
        "10.0.3.1 119995",
        "10.0.4.1 119996",
        "10.0.5.1 119997",
        "10.0.6.1 119998",
      ]);
    });
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const logged = Number(db.prepare("SELECT count(*) AS n FROM window_log").get()?.n);
      assertOk(logged < 100_000, `window_log holds ${logged} rows`); // 180,001 appended
      const view = db.prepare("SELECT addr, times FROM windows WHERE addr = '10.0.3.1'").all();
      assertEquals(view.map((r) => ({ ...r })), [{ addr: "10.0.3.1", times: "[119995]" }]);
      assertEquals(db.prepare("SELECT count(*) AS n FROM windows").get()?.n, 7);
    } finally {
      db.close();
    }
  });
});

Deno.test("openStore() migrates windows of a version 1 database into the window log", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state.db`;
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE windows (jail TEXT NOT NULL, addr TEXT NOT NULL, times TEXT NOT NULL,
               PRIMARY KEY (jail, addr));
             INSERT INTO windows VALUES ('postfix', '192.0.2.7', '[1,2]');
             CREATE TABLE bans (jail TEXT NOT NULL, target TEXT NOT NULL, since REAL NOT NULL,
               until REAL, failures INTEGER NOT NULL, ban_count INTEGER NOT NULL,
               origin TEXT NOT NULL, line TEXT, applied INTEGER NOT NULL DEFAULT 0,
               PRIMARY KEY (jail, target));
             PRAGMA user_version = 1;`);
    db.close();
    // (the other version 1 tables are left out: the migrations only read `windows`, `bans`)
    use(open(path, logs), (store) => {
      assertEquals(store.loadWindows(), [{ jail: "postfix", addr: "192.0.2.7", times: [1, 2] }]);
      store.saveWindow("postfix", "192.0.2.7", [3]);
      assertEquals(store.loadWindows(), [{ jail: "postfix", addr: "192.0.2.7", times: [3] }]);
    });
    assertEquals(logs, []);
  });
});

Deno.test("Store.upsertBan() round-trips bans incl. forever, pending and applied", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state.db`;
    const forever: StoredBan = {
      jail: "sshd",
      target: "2001:db8::/64",
      since: 1_700_000_100,
      until: Infinity,
      failures: 3,
      banCount: 4,
      origin: "manual",
    };
    use(open(path, logs), (store) => {
      store.upsertBan(BAN);
      store.upsertBan({ ...forever, applied: true });
    });
    use(open(path, logs), (store) => {
      assertEquals(store.loadBans(), [{ ...BAN, applied: false }, { ...forever, applied: true }]);
      assertEquals(store.pendingBans(), [{ ...BAN, applied: false }]);
      store.markApplied(BAN.jail, BAN.target, true);
      assertEquals(store.pendingBans(), []);
      store.upsertBan({ ...BAN, until: 1_700_009_999, banCount: 2, applied: true });
      assertEquals(store.loadBans()[0]?.until, 1_700_009_999);
      assertEquals(store.loadBans()[0]?.banCount, 2);
      assertEquals(store.deleteBan(BAN.jail, BAN.target), true);
      assertEquals(store.deleteBan(BAN.jail, BAN.target), false);
      assertEquals(store.loadBans(), [{ ...forever, applied: true }]);
    });
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      assertEquals(db.prepare("SELECT until FROM bans").get()?.until, null);
    } finally {
      db.close();
    }
  });
});

Deno.test("Store.addHistory() counts past bans and purgeHistory() removes old ones", async () => {
  await withDir((dir, logs) => {
    use(open(`${dir}/state.db`, logs), (store) => {
      store.addHistory("postfix", "192.0.2.7/32", 1000, 600);
      store.addHistory("dovecot", "192.0.2.7/32", 2000, 1200);
      store.addHistory("postfix", "192.0.2.7/32", 3000, Infinity);
      store.addHistory("postfix", "198.51.100.1/32", 3500, 600);
      assertEquals(store.historyCount("192.0.2.7/32"), 3);
      assertEquals(store.historyCount("192.0.2.7/32", { jail: "postfix" }), 2);
      assertEquals(store.historyCount("192.0.2.7/32", { since: 1500 }), 2);
      assertEquals(store.historyCount("203.0.113.1/32"), 0);
      assertEquals(store.loadHistory(2500), [
        { jail: "postfix", target: "192.0.2.7/32", time: 3000, bantime: Infinity },
        { jail: "postfix", target: "198.51.100.1/32", time: 3500, bantime: 600 },
      ]);
      assertEquals(store.loadHistoryCounts(), [
        { jail: "dovecot", target: "192.0.2.7/32", count: 1, last: 2000 },
        { jail: "postfix", target: "192.0.2.7/32", count: 2, last: 3000 },
        { jail: "postfix", target: "198.51.100.1/32", count: 1, last: 3500 },
      ]);
      assertEquals(store.loadHistoryCounts(1500).map((h) => h.count), [1, 1, 1]);
      assertEquals(store.purgeHistory(2500), 2);
      assertEquals(store.loadHistory().length, 2);
      assertEquals(store.historyCount("192.0.2.7/32"), 1);
    });
  });
});

Deno.test("openStore() moves a file that is not SQLite aside and starts a fresh database", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state.db`;
    Deno.writeFileSync(path, new TextEncoder().encode("garbage ".repeat(1000)));
    Deno.writeTextFileSync(`${path}-wal`, "stale wal");
    use(open(path, logs, { now: 1_700_000_123.9 }), (store) => {
      assertEquals(store.recovery.recovered, true);
      assertEquals(store.recovery.movedTo, `${path}.corrupt-1700000123`);
      store.upsertBan(BAN);
      assertEquals(store.loadBans().length, 1);
    });
    assertEquals(Deno.readTextFileSync(`${path}.corrupt-1700000123`).slice(0, 8), "garbage ");
    // the stale WAL never reaches the fresh database (SQLite drops it or it moved aside)
    const wal = (name: string) => {
      try {
        return Deno.readTextFileSync(name);
      } catch {
        return undefined;
      }
    };
    assertOk(wal(`${path}-wal`) !== "stale wal");
    assertEquals(logs.length, 1);
    assertMatch(logs[0]!, /^level=error event=state_db_corrupt /);
    assertMatch(logs[0]!, /moved_to=\S+state\.db\.corrupt-1700000123 /);
    assertMatch(logs[0]!, /file is not a database/);
    // a second corruption in the same second gets a distinct name
    Deno.writeTextFileSync(path, "more garbage ".repeat(500));
    use(open(path, logs, { now: 1_700_000_123 }), (store) => {
      assertEquals(store.recovery.movedTo, `${path}.corrupt-1700000123-2`);
    });
  });
});

Deno.test("openStore() moves aside a database that fails its integrity check", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state.db`;
    use(open(path, logs), (store) => {
      store.transaction(() => {
        for (let i = 0; i < 2000; i++) {
          store.upsertBan({ ...BAN, target: `10.0.${i >> 8}.${i & 255}/32` });
        }
      });
    });
    // overwrite a page in the middle of the file (keeping the valid header)
    const bytes = Deno.readFileSync(path);
    assertOk(bytes.length > 8192 * 2);
    bytes.fill(0xa5, 4096 + 100, bytes.length - 100);
    Deno.writeFileSync(path, bytes);
    use(open(path, logs), (store) => {
      assertEquals(store.recovery.recovered, true);
      assertEquals(store.loadBans(), []);
    });
    assertMatch(logs.join("\n"), /event=state_db_corrupt/);
  });
});

Deno.test("openStore() moves aside a database with a newer schema version", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state.db`;
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    use(open(path, logs), (store) => {
      assertEquals(store.recovery.recovered, true);
      assertMatch(
        store.recovery.reason ?? "",
        new RegExp(`schema version ${SCHEMA_VERSION + 1} is newer`),
      );
    });
  });
});

Deno.test("openStore() with readonly reads a closed database and refuses writes", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state.db`;
    use(open(path, logs), (store) => {
      store.upsertBan({ ...BAN, until: Infinity });
      store.setMeta("started", "1700000000");
    });
    use(open(path, logs, { readonly: true }), (store) => {
      assertEquals(store.readonly, true);
      assertEquals(store.loadBans().map((b) => b.until), [Infinity]);
      assertEquals(store.getMeta("started"), "1700000000");
      assertThrows(() => store.setMeta("x", "y"), /readonly/);
    });
    // readonly never creates or recovers
    const missing = assertThrows(() => open(`${dir}/none/state.db`, logs, { readonly: true }));
    assertOk(missing instanceof RuntimeError);
    assertMatch(missing.message, /No state database/);
    assertOk(!Deno.statSync(dir).isFile);
    Deno.writeTextFileSync(`${dir}/bad.db`, "not sqlite at all ".repeat(100));
    const bad = assertThrows(() => open(`${dir}/bad.db`, logs, { readonly: true }));
    assertOk(bad instanceof RuntimeError);
    assertEquals(Deno.readTextFileSync(`${dir}/bad.db`).slice(0, 3), "not");
  });
});

Deno.test("openStore() with readonly reads while a writer holds the database open", async () => {
  await withDir((dir, logs) => {
    const path = `${dir}/state.db`;
    use(open(path, logs), (writer) => {
      writer.upsertBan(BAN);
      use(open(path, logs, { readonly: true }), (reader) => {
        assertEquals(reader.loadBans().length, 1);
        writer.deleteBan(BAN.jail, BAN.target);
        assertEquals(reader.loadBans().length, 0);
      });
    });
  });
});

Deno.test("openStore() throws RuntimeError when the database cannot be opened at all", async () => {
  await withDir((dir, logs) => {
    Deno.mkdirSync(`${dir}/state.db`);
    const e = assertThrows(() => open(`${dir}/state.db`, logs));
    assertOk(e instanceof RuntimeError);
    assertMatch(e.message, /Cannot open state database/);
    assertOk(Deno.statSync(`${dir}/state.db`).isDirectory); // not moved aside
  });
});
