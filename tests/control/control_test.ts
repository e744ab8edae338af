import { assertEquals, assertMatch, assertOk, assertRejects } from "../_assert.ts";
import {
  type BannedEntry,
  type ControlHandler,
  type ControlRequest,
  type ControlResponse,
  failureResponse,
  formatRequest,
  formatResponse,
  handleRequest,
  oneLine,
  parseRequest,
  parseResponse,
  type StatusReport,
  successResponse,
} from "../../lib/control/protocol.ts";
import { serveControl } from "../../lib/control/server.ts";
import { ConfigError, UsageError } from "../../lib/core/errors.ts";
import { createLogger } from "../../lib/core/log.ts";
import { VERSION } from "../../lib/core/version.ts";

/** A status report with one jail. */
function sampleStatus(overrides: Partial<StatusReport> = {}): StatusReport {
  return {
    version: VERSION,
    pid: 4242,
    running: true,
    configFile: "/usr/local/etc/banwatch/jails.toml",
    configLoadedAt: 1_700_000_000,
    startedAt: 1_699_999_000,
    jails: [{
      name: "postfix-auth",
      enabled: true,
      backend: "ipfw",
      table: "postfix-auth",
      files: [{ path: "/var/log/maillog", offset: 1234, lastRead: 1_700_000_100 }],
      failing: 3,
      failures: 7,
      banned: 2,
      totalBanned: 10,
      totalUnbanned: 8,
      pending: 0,
      evictions: 0,
    }],
    ...overrides,
  };
}

/** A ban entry. */
function sampleBan(overrides: Partial<BannedEntry> = {}): BannedEntry {
  return {
    jail: "postfix-auth",
    target: "192.0.2.7",
    since: 1_700_000_000,
    until: 1_700_003_600,
    failures: 5,
    banCount: 1,
    origin: "filter",
    ...overrides,
  };
}

/** A handler that records its calls and answers from fixed data. */
function fakeHandler(
  overrides: Partial<ControlHandler> = {},
): ControlHandler & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    status(jail?: string) {
      calls.push(["status", jail]);
      return sampleStatus();
    },
    banned(jail?: string) {
      calls.push(["banned", jail]);
      return [sampleBan()];
    },
    ban(jail, addr, options) {
      calls.push(["ban", jail, addr, options]);
      return Promise.resolve(sampleBan({ jail, target: addr, origin: "manual" }));
    },
    unban(options) {
      calls.push(["unban", options]);
      return Promise.resolve({ removed: 1 });
    },
    reload() {
      calls.push(["reload"]);
      return Promise.resolve({ ok: true as const });
    },
    flush(jail) {
      calls.push(["flush", jail]);
      return Promise.resolve({ forgotten: 3 });
    },
    ...overrides,
  };
}

const quiet = createLogger({ write: () => {} });

Deno.test("parseRequest() accepts every command with its arguments", () => {
  const cases: Array<[string, ControlRequest]> = [
    ['{"v":1,"cmd":"status"}', { v: 1, cmd: "status" }],
    ['{"v":1,"id":"a1","cmd":"status","jail":"sshd"}', {
      v: 1,
      id: "a1",
      cmd: "status",
      jail: "sshd",
    }],
    ['{"v":1,"cmd":"banned","jail":"sshd"}', { v: 1, cmd: "banned", jail: "sshd" }],
    ['{"v":1,"cmd":"ban","jail":"sshd","addr":"192.0.2.1","duration":60,"force":true}', {
      v: 1,
      cmd: "ban",
      jail: "sshd",
      addr: "192.0.2.1",
      duration: 60,
      force: true,
    }],
    ['{"v":1,"cmd":"ban","jail":"sshd","addr":"192.0.2.1","duration":null}', {
      v: 1,
      cmd: "ban",
      jail: "sshd",
      addr: "192.0.2.1",
      duration: Infinity,
    }],
    ['{"v":1,"cmd":"unban","addr":"2001:db8::1"}', { v: 1, cmd: "unban", addr: "2001:db8::1" }],
    ['{"v":1,"cmd":"unban","all":true,"jail":"sshd"}', {
      v: 1,
      cmd: "unban",
      all: true,
      jail: "sshd",
    }],
    ['{"v":1,"cmd":"reload"}', { v: 1, cmd: "reload" }],
    ['{"v":1,"cmd":"flush","jail":"sshd"}', { v: 1, cmd: "flush", jail: "sshd" }],
    ['{"v":1,"cmd":"ping"}', { v: 1, cmd: "ping" }],
  ];
  for (const [line, expected] of cases) assertEquals(parseRequest(line), expected, line);
});

Deno.test("parseRequest() rejects malformed requests with a one-line reason", () => {
  const cases: Array<[string, RegExp]> = [
    ["not json", /not valid JSON/],
    ["[1,2]", /must be a JSON object/],
    ["null", /must be a JSON object/],
    ['{"cmd":"status"}', /"v" is missing/],
    ['{"v":2,"cmd":"status"}', /unsupported protocol version 2/],
    ['{"v":"1","cmd":"status"}', /unsupported protocol version "1"/],
    ['{"v":1}', /"cmd" must be a string/],
    ['{"v":1,"cmd":"explode"}', /unknown command "explode"; expected one of status, banned/],
    ['{"v":1,"cmd":"status","verbose":true}', /unknown key "verbose" for command "status"/],
    ['{"v":1,"cmd":"reload","jail":"x"}', /unknown key "jail" for command "reload"/],
    ['{"v":1,"cmd":"status","jail":5}', /"jail" must be a string/],
    ['{"v":1,"cmd":"status","jail":""}', /"jail" must not be empty/],
    ['{"v":1,"cmd":"status","jail":"a\\u0000b"}', /control characters/],
    ['{"v":1,"cmd":"ban","addr":"192.0.2.1"}', /"jail" is missing/],
    ['{"v":1,"cmd":"ban","jail":"sshd"}', /"addr" is missing/],
    ['{"v":1,"cmd":"ban","jail":"s","addr":"a","duration":-5}', /"duration" must be a positive/],
    ['{"v":1,"cmd":"ban","jail":"s","addr":"a","duration":"1h"}', /"duration" must be/],
    ['{"v":1,"cmd":"ban","jail":"s","addr":"a","duration":0}', /"duration" must be/],
    ['{"v":1,"cmd":"ban","jail":"s","addr":"a","force":"yes"}', /"force" must be a boolean/],
    ['{"v":1,"cmd":"unban"}', /"addr" is missing \(or set "all": true\)/],
    ['{"v":1,"cmd":"unban","all":false}', /"addr" is missing/],
    ['{"v":1,"cmd":"unban","all":true,"addr":"192.0.2.1"}', /either "addr" or "all", not both/],
    ['{"v":1,"cmd":"unban","all":1}', /"all" must be a boolean/],
    ['{"v":1,"cmd":"flush"}', /"jail" is missing/],
    ['{"v":1,"id":7,"cmd":"ping"}', /"id" must be a string/],
  ];
  for (const [line, re] of cases) {
    const result = parseRequest(line);
    assertOk("error" in result, `${line} should be rejected`);
    assertMatch(result.error, re, line);
    assertOk(!result.error.includes("\n"), "one line");
  }
});

Deno.test("parseRequest() keeps the id of a rejected request so the reply can echo it", () => {
  assertEquals(parseRequest('{"v":1,"id":"x9","cmd":"nope"}'), {
    error:
      'unknown command "nope"; expected one of status, banned, ban, unban, reload, flush, ping',
    id: "x9",
  });
});

Deno.test("formatRequest() writes one line that parseRequest() reads back, forever as null", () => {
  const request: ControlRequest = {
    v: 1,
    id: "r",
    cmd: "ban",
    jail: "sshd",
    addr: "192.0.2.9",
    duration: Infinity,
  };
  const line = formatRequest(request);
  assertEquals(
    line,
    '{"v":1,"id":"r","cmd":"ban","jail":"sshd","addr":"192.0.2.9","duration":null}\n',
  );
  assertEquals(parseRequest(line.trimEnd()), request);
});

Deno.test("parseResponse() reads what formatResponse() writes and rejects bad envelopes", () => {
  const ok = successResponse({ removed: 2 }, "id1");
  assertEquals(parseResponse(formatResponse(ok).trimEnd()), ok);
  const bad = failureResponse("config", "2 problems", { problems: ["a: b", "c: d"] });
  assertEquals(parseResponse(formatResponse(bad).trimEnd()), bad);
  assertMatch((parseResponse('{"v":2,"ok":true,"result":1}') as { error: string }).error, /2/);
  assertMatch((parseResponse('{"v":1,"ok":true}') as { error: string }).error, /no result/);
  assertMatch(
    (parseResponse('{"v":1,"ok":false,"error":"x","kind":"weird"}') as { error: string }).error,
    /kind/,
  );
  assertMatch((parseResponse("{") as { error: string }).error, /not valid JSON/);
});

Deno.test("failureResponse() and oneLine() keep an error message to one clean line", () => {
  assertEquals(oneLine("first\nsecond"), "first");
  assertEquals(oneLine("tab\there"), "tab?here");
  assertEquals(oneLine("x".repeat(2000)).length, 1003);
  assertEquals(failureResponse("runtime", "a\nb"), {
    v: 1,
    ok: false,
    error: "a",
    kind: "runtime",
  });
});

Deno.test("handleRequest() dispatches each command to the handler", async () => {
  const handler = fakeHandler();
  const run = (line: string): Promise<ControlResponse> =>
    handleRequest(handler, parseRequest(line) as ControlRequest, { pid: 99 });
  assertEquals(await run('{"v":1,"cmd":"status","jail":"j"}'), {
    v: 1,
    ok: true,
    result: sampleStatus(),
  });
  assertEquals(await run('{"v":1,"id":"b","cmd":"banned"}'), {
    v: 1,
    id: "b",
    ok: true,
    result: { bans: [sampleBan()] },
  });
  const ban = await run('{"v":1,"cmd":"ban","jail":"j","addr":"192.0.2.3","duration":null}');
  assertEquals(
    ban.ok && ban.result,
    sampleBan({ jail: "j", target: "192.0.2.3", origin: "manual" }),
  );
  assertEquals(await run('{"v":1,"cmd":"unban","all":true,"jail":"j"}'), {
    v: 1,
    ok: true,
    result: { removed: 1 },
  });
  assertEquals(await run('{"v":1,"cmd":"reload"}'), {
    v: 1,
    ok: true,
    result: { reloaded: true },
  });
  assertEquals(await run('{"v":1,"cmd":"flush","jail":"j"}'), {
    v: 1,
    ok: true,
    result: { forgotten: 3 },
  });
  assertEquals(await run('{"v":1,"cmd":"ping"}'), {
    v: 1,
    ok: true,
    result: { version: VERSION, pid: 99 },
  });
  assertEquals(handler.calls, [
    ["status", "j"],
    ["banned", undefined],
    ["ban", "j", "192.0.2.3", { duration: Infinity }],
    ["unban", { all: true, jail: "j" }],
    ["reload"],
    ["flush", "j"],
  ]);
});

Deno.test("handleRequest() turns handler errors into usage, config and runtime failures", async () => {
  const handler = fakeHandler({
    ban: () => Promise.reject(new UsageError("192.0.2.1 is in ignoreip (192.0.2.0/24)\nmore")),
    flush: () => Promise.reject(new Error('unknown jail "nope"')),
    status: () => {
      throw new ConfigError(["a.toml:1: x: bad", "a.toml:2: y: bad"]);
    },
    reload: () => Promise.resolve({ ok: false as const, problems: ["j.toml:3: maxretry: bad"] }),
  });
  const ban = await handleRequest(handler, {
    v: 1,
    id: "q",
    cmd: "ban",
    jail: "j",
    addr: "192.0.2.1",
  });
  assertEquals(ban, {
    v: 1,
    id: "q",
    ok: false,
    error: "192.0.2.1 is in ignoreip (192.0.2.0/24)",
    kind: "usage",
  });
  assertEquals(await handleRequest(handler, { v: 1, cmd: "flush", jail: "nope" }), {
    v: 1,
    ok: false,
    error: 'unknown jail "nope"',
    kind: "runtime",
  });
  const status = await handleRequest(handler, { v: 1, cmd: "status" });
  assertEquals(!status.ok && status.kind, "config");
  assertEquals(!status.ok && status.problems, ["a.toml:1: x: bad", "a.toml:2: y: bad"]);
  assertEquals(await handleRequest(handler, { v: 1, cmd: "reload" }), {
    v: 1,
    ok: false,
    error: "the configuration has 1 problem; the running configuration stays",
    kind: "config",
    problems: ["j.toml:3: maxretry: bad"],
  });
});

// ---------------------------------------------------------------------------------------------
// The server, over real sockets.

/** Opens a raw connection to `path`. */
function connect(path: string): Promise<Deno.UnixConn> {
  return Deno.connect({ transport: "unix", path });
}

/** Writes text to a connection. */
async function send(conn: Deno.Conn, text: string | Uint8Array): Promise<void> {
  const data = typeof text === "string" ? new TextEncoder().encode(text) : text;
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Reads one line (without the newline), or null at end of input. */
async function readLine(
  conn: Deno.Conn,
  state: { rest: string } = { rest: "" },
): Promise<string | null> {
  const buf = new Uint8Array(65536);
  const dec = new TextDecoder();
  while (!state.rest.includes("\n")) {
    const n = await conn.read(buf);
    if (n === null) {
      if (state.rest === "") return null;
      const out = state.rest;
      state.rest = "";
      return out;
    }
    state.rest += dec.decode(buf.subarray(0, n), { stream: true });
  }
  const i = state.rest.indexOf("\n");
  const line = state.rest.slice(0, i);
  state.rest = state.rest.slice(i + 1);
  return line;
}

/** Reads until end of input, discarding. */
async function drain(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(65536);
  while (await conn.read(buf) !== null) {
    // discard
  }
}

async function withServer(
  options: {
    handler?: ControlHandler;
    maxRequestBytes?: number;
    maxConnections?: number;
    idleTimeout?: number;
    writeTimeout?: number;
    logLines?: string[];
  },
  fn: (path: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bwctl" });
  const path = `${dir}/b.sock`;
  const logger = createLogger({ level: "debug", write: (l) => options.logLines?.push(l) });
  const { handler = fakeHandler(), logLines: _, ...limits } = options;
  const server = await serveControl(path, handler, { logger, ...limits });
  try {
    await fn(path, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serveControl() listens with mode 0600 and answers several requests per connection", async () => {
  await withServer({}, async (path) => {
    const info = await Deno.lstat(path);
    assertEquals((info.mode ?? 0) & 0o777, 0o600);
    const conn = await connect(path);
    const state = { rest: "" };
    try {
      await send(conn, '{"v":1,"id":"1","cmd":"ping"}\n{"v":1,"id":"2","cmd":"status"}\n');
      const first = JSON.parse((await readLine(conn, state))!);
      assertEquals(first.id, "1");
      assertEquals(first.result.version, VERSION);
      assertEquals(first.result.pid, Deno.pid);
      const second = JSON.parse((await readLine(conn, state))!);
      assertEquals(second, { v: 1, id: "2", ok: true, result: sampleStatus() });
    } finally {
      conn.close();
    }
  });
});

Deno.test("serveControl() answers a malformed line with an error and keeps the connection", async () => {
  const logLines: string[] = [];
  await withServer({ logLines }, async (path) => {
    const conn = await connect(path);
    const state = { rest: "" };
    try {
      await send(conn, 'garbage\n\n{"v":1,"id":"z","cmd":"status","x":1}\n{"v":1,"cmd":"ping"}\n');
      assertEquals(JSON.parse((await readLine(conn, state))!), {
        v: 1,
        ok: false,
        error: "the request is not valid JSON",
        kind: "usage",
      });
      assertEquals(JSON.parse((await readLine(conn, state))!), {
        v: 1,
        id: "z",
        ok: false,
        error: 'unknown key "x" for command "status"',
        kind: "usage",
      });
      assertEquals(JSON.parse((await readLine(conn, state))!).ok, true);
    } finally {
      conn.close();
    }
  });
  assertOk(logLines.some((l) => l.includes("event=control.bad_request")));
});

Deno.test("serveControl() rejects invalid UTF-8 and closes the connection", async () => {
  await withServer({}, async (path) => {
    const conn = await connect(path);
    try {
      await send(conn, new Uint8Array([0xff, 0xfe, 0x7b, 10]));
      const reply = JSON.parse((await readLine(conn))!);
      assertEquals(reply.error, "the request is not valid UTF-8");
      assertEquals(await readLine(conn), null);
    } finally {
      conn.close();
    }
  });
});

Deno.test("serveControl() answers an oversized request with an error and closes", async () => {
  await withServer({ maxRequestBytes: 1024 }, async (path) => {
    const conn = await connect(path);
    try {
      await send(conn, "x".repeat(5000));
      const reply = JSON.parse((await readLine(conn))!);
      assertEquals(reply, {
        v: 1,
        ok: false,
        error: "request longer than 1024 bytes",
        kind: "usage",
      });
      assertEquals(await readLine(conn), null);
    } finally {
      conn.close();
    }
    // The server still answers others.
    const other = await connect(path);
    try {
      await send(other, '{"v":1,"cmd":"ping"}\n');
      assertEquals(JSON.parse((await readLine(other))!).ok, true);
    } finally {
      other.close();
    }
  });
});

Deno.test("serveControl() answers a request cut off before its newline", async () => {
  await withServer({}, async (path) => {
    const conn = await connect(path);
    try {
      await send(conn, '{"v":1,"cmd":"pi');
      await conn.closeWrite();
      const reply = JSON.parse((await readLine(conn))!);
      assertEquals(reply.error, "incomplete request: the connection ended before a newline");
    } finally {
      conn.close();
    }
  });
});

Deno.test("serveControl() closes a connection that stays idle past idleTimeout", async () => {
  await withServer({ idleTimeout: 0.2 }, async (path) => {
    const conn = await connect(path);
    try {
      const start = performance.now();
      assertEquals(await readLine(conn), null);
      assertOk(performance.now() - start >= 150, "closed only after the timeout");
    } finally {
      conn.close();
    }
  });
});

Deno.test("serveControl() at maxConnections closes the idlest connection and serves the new one", async () => {
  await withServer({ maxConnections: 1 }, async (path) => {
    const first = await connect(path);
    try {
      await send(first, '{"v":1,"cmd":"ping"}\n');
      assertEquals(JSON.parse((await readLine(first))!).ok, true);
      // The first client now sits idle; a second one must still get an answer.
      const second = await connect(path);
      try {
        await send(second, '{"v":1,"cmd":"ping"}\n');
        assertEquals(JSON.parse((await readLine(second))!).ok, true);
        assertEquals(await readLine(first), null);
      } finally {
        second.close();
      }
    } finally {
      first.close();
    }
  });
});

Deno.test("serveControl() keeps serving others while a client never reads its answers", async () => {
  const big = sampleStatus({
    jails: Array.from({ length: 20000 }, (_, i) => ({
      ...sampleStatus().jails[0]!,
      name: `jail-${i}-${"x".repeat(50)}`,
    })),
  });
  const logLines: string[] = [];
  const handler = fakeHandler({ status: () => big });
  await withServer({ handler, writeTimeout: 0.3, logLines }, async (path) => {
    const stuck = await connect(path);
    try {
      // Ask for ~5 MB many times and never read.
      await send(stuck, '{"v":1,"cmd":"status"}\n'.repeat(5));
      const other = await connect(path);
      try {
        const start = performance.now();
        await send(other, '{"v":1,"cmd":"ping"}\n');
        assertEquals(JSON.parse((await readLine(other))!).ok, true);
        assertOk(performance.now() - start < 2000, "answered promptly");
      } finally {
        other.close();
      }
      // The stuck client is dropped after the write timeout.
      await new Promise((r) => setTimeout(r, 600));
      await drain(stuck);
    } finally {
      stuck.close();
    }
  });
  assertOk(logLines.some((l) => l.includes("event=control.write_timeout")), logLines.join("\n"));
});

Deno.test("serveControl() removes a stale socket file nobody answers on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bwctl" });
  try {
    const path = `${dir}/b.sock`;
    // Make a socket file with no listener: listen elsewhere, move the file, close.
    const tmp = Deno.listen({ transport: "unix", path: `${dir}/tmp.sock` });
    await Deno.rename(`${dir}/tmp.sock`, path);
    tmp.close();
    assertOk((await Deno.lstat(path)).isSocket, "stale socket present");
    await assertRejects(() => connect(path), /refused/i);
    const server = await serveControl(path, fakeHandler(), { logger: quiet });
    try {
      const conn = await connect(path);
      await send(conn, '{"v":1,"cmd":"ping"}\n');
      assertEquals(JSON.parse((await readLine(conn))!).ok, true);
      conn.close();
    } finally {
      await server.close();
    }
    await assertRejects(() => Deno.lstat(path), /No such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveControl() refuses a path where another server answers or a regular file sits", async () => {
  await withServer({}, async (path, dir) => {
    await assertRejects(
      () => serveControl(path, fakeHandler(), { logger: quiet }),
      /another process is listening on .*b\.sock \(is banwatch already running\?\)/,
    );
    const file = `${dir}/plain`;
    await Deno.writeTextFile(file, "keep me");
    await assertRejects(
      () => serveControl(file, fakeHandler(), { logger: quiet }),
      /exists and is not a socket/,
    );
    assertEquals(await Deno.readTextFile(file), "keep me");
    await assertRejects(
      () => serveControl(`${dir}/missing/dir/s.sock`, fakeHandler(), { logger: quiet }),
      /cannot listen on .*missing\/dir\/s\.sock/,
    );
  });
});

Deno.test("ControlServer.close() ends open connections and removes the socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bwctl" });
  try {
    const path = `${dir}/b.sock`;
    const server = await serveControl(path, fakeHandler(), { logger: quiet, idleTimeout: 60 });
    const conn = await connect(path);
    try {
      await server.close();
      assertEquals(await readLine(conn), null);
      await assertRejects(() => Deno.lstat(path), /No such file/);
      await server.close(); // twice is harmless
    } finally {
      conn.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the unban request's covering field is parsed, formatted and passed on", async () => {
  const line = '{"v":1,"cmd":"unban","addr":"2001:db8:cafe:1::b","covering":true}';
  const request = parseRequest(line);
  assertEquals(request, { v: 1, cmd: "unban", covering: true, addr: "2001:db8:cafe:1::b" });
  assertEquals(parseRequest(formatRequest(request as ControlRequest).trimEnd()), request);
  // false is the default and is left out; anything else than a boolean is refused.
  assertEquals(parseRequest('{"v":1,"cmd":"unban","addr":"2001:db8::1","covering":false}'), {
    v: 1,
    cmd: "unban",
    addr: "2001:db8::1",
  });
  assertEquals(
    parseRequest('{"v":1,"cmd":"unban","addr":"2001:db8::1","covering":"yes"}'),
    { error: '"covering" must be a boolean' },
  );

  const prefix = sampleBan({ target: "2001:db8:cafe:1::/64", failures: 2 });
  const handler = fakeHandler({
    unban(options) {
      handler.calls.push(["unban", options]);
      return Promise.resolve(
        options.covering ? { removed: 1 } : { removed: 0, covering: [prefix] },
      );
    },
  });
  const named = await handleRequest(handler, { v: 1, cmd: "unban", addr: "2001:db8:cafe:1::b" }, {
    pid: 1,
  });
  assertEquals(named, { v: 1, ok: true, result: { removed: 0, covering: [prefix] } });
  assertEquals(parseResponse(formatResponse(named).trimEnd()), named);
  const lifted = await handleRequest(
    handler,
    parseRequest(line) as ControlRequest,
    { pid: 1 },
  );
  assertEquals(lifted, { v: 1, ok: true, result: { removed: 1 } });
  assertEquals(handler.calls, [
    ["unban", { addr: "2001:db8:cafe:1::b" }],
    ["unban", { covering: true, addr: "2001:db8:cafe:1::b" }],
  ]);
});
