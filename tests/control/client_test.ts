import { assertEquals, assertMatch, assertOk, assertRejects } from "../_assert.ts";
import type { ControlHandler } from "../../lib/control/protocol.ts";
import { serveControl } from "../../lib/control/server.ts";
import { sendRequest } from "../../lib/control/client.ts";
import { RuntimeError } from "../../lib/core/errors.ts";
import { createLogger } from "../../lib/core/log.ts";

const quiet = createLogger({ write: () => {} });

const handler: ControlHandler = {
  status: () => {
    throw new Error("not used");
  },
  banned: (jail) => [{
    jail: jail ?? "sshd",
    target: "192.0.2.1",
    since: 1,
    until: null,
    failures: 3,
    banCount: 2,
    origin: "filter",
  }],
  ban: () => Promise.reject(new Error("not used")),
  unban: (options) => Promise.resolve({ removed: options.all ? 5 : 1 }),
  reload: () => Promise.resolve({ ok: false, problems: ["j.toml:1: x: bad"] }),
  flush: () => Promise.resolve({ forgotten: 0 }),
};

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bwcli" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sendRequest() gets the daemon's response, success or failure", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/s.sock`;
    const server = await serveControl(path, handler, { logger: quiet });
    try {
      assertEquals(await sendRequest(path, { v: 1, id: "7", cmd: "banned", jail: "mail" }), {
        v: 1,
        id: "7",
        ok: true,
        result: {
          bans: [{
            jail: "mail",
            target: "192.0.2.1",
            since: 1,
            until: null,
            failures: 3,
            banCount: 2,
            origin: "filter",
          }],
        },
      });
      assertEquals(await sendRequest(path, { v: 1, cmd: "unban", all: true }), {
        v: 1,
        ok: true,
        result: { removed: 5 },
      });
      assertEquals(await sendRequest(path, { v: 1, cmd: "reload" }), {
        v: 1,
        ok: false,
        error: "the configuration has 1 problem; the running configuration stays",
        kind: "config",
        problems: ["j.toml:1: x: bad"],
      });
    } finally {
      await server.close();
    }
  });
});

Deno.test("sendRequest() to a missing socket throws RuntimeError naming the path", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/none.sock`;
    const error = await assertRejects(() => sendRequest(path, { v: 1, cmd: "ping" }));
    assertOk(error instanceof RuntimeError);
    assertEquals(
      error.message,
      `cannot reach the daemon at ${path}: no such socket (is banwatch running?)`,
    );
  });
});

Deno.test("sendRequest() to a socket nobody listens on says connection refused", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/dead.sock`;
    const tmp = Deno.listen({ transport: "unix", path: `${dir}/t.sock` });
    await Deno.rename(`${dir}/t.sock`, path);
    tmp.close();
    await assertRejects(
      () => sendRequest(path, { v: 1, cmd: "ping" }),
      /^cannot reach the daemon at .*dead\.sock: connection refused \(is banwatch running\?\)$/,
    );
  });
});

Deno.test("sendRequest() gives up after its timeout when the daemon does not answer", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/mute.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    const accepted: Deno.Conn[] = [];
    const loop = (async () => {
      for await (const conn of listener) accepted.push(conn);
    })();
    try {
      await assertRejects(
        () => sendRequest(path, { v: 1, cmd: "ping" }, { timeout: 0.2 }),
        /^no answer from the daemon at .*mute\.sock within 0\.2s/,
      );
    } finally {
      listener.close();
      await loop;
      for (const c of accepted) c.close();
    }
  });
});

Deno.test("sendRequest() rejects a garbled or missing answer", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/bad.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    const answers = ["hello\n", ""];
    const loop = (async () => {
      for await (const conn of listener) {
        const answer = answers.shift() ?? "";
        await conn.read(new Uint8Array(1024));
        if (answer) await conn.write(new TextEncoder().encode(answer));
        conn.close();
      }
    })();
    try {
      const error = await assertRejects(() => sendRequest(path, { v: 1, cmd: "ping" }));
      assertMatch(
        error.message,
        /^bad answer from the daemon at .*: the response is not valid JSON$/,
      );
      await assertRejects(
        () => sendRequest(path, { v: 1, cmd: "ping" }),
        /closed the connection without an answer/,
      );
    } finally {
      listener.close();
      await loop;
    }
  });
});
