/**
 * Stress scenario "control socket fuzzing": against a running daemon's socket, malformed JSON,
 * invalid UTF-8, huge (> 64 KiB) and partial requests, 200 idle connections and a client that
 * pipelines requests and never reads the answers. The daemon must keep answering `status` and
 * keep banning from its log throughout.
 * @module
 */
import {
  percentile,
  runStandalone,
  sleep,
  stackTraceLines,
  statusJails,
  STRESS_DAEMON,
  type StressOptions,
  type StressResult,
  trace,
} from "./_common_b.ts";
import { globalSection, saslFailure, startDaemon, withTempDir } from "../daemon_harness.ts";

const ENCODER = new TextEncoder();

/** Malformed or hostile request lines (each is sent with a trailing newline). */
export const MALFORMED_REQUESTS: readonly (string | Uint8Array)[] = [
  "{",
  "}",
  "null",
  "[]",
  '"status"',
  "42",
  "{}",
  '{"v":1}',
  '{"v":2,"cmd":"status"}',
  '{"v":"1","cmd":"status"}',
  '{"v":1,"cmd":"nope"}',
  '{"v":1,"cmd":"__proto__"}',
  '{"v":1,"cmd":"constructor"}',
  '{"v":1,"cmd":"status","jail":"__proto__"}',
  '{"v":1,"cmd":"status","jail":{"a":1}}',
  '{"v":1,"cmd":"status","id":{"a":1}}',
  '{"v":1,"cmd":"status","extra":true}',
  '{"v":1,"cmd":"ban"}',
  '{"v":1,"cmd":"ban","jail":"mail","addr":"not-an-address"}',
  '{"v":1,"cmd":"ban","jail":"nojail","addr":"192.0.2.200"}',
  '{"v":1,"cmd":"ban","jail":"mail","addr":"192.0.2.200","duration":-1}',
  '{"v":1,"cmd":"ban","jail":"mail","addr":"192.0.2.200","duration":"1h"}',
  '{"v":1,"cmd":"ban","jail":"mail","addr":"192.0.2.200","duration":1e999}',
  '{"v":1,"cmd":"unban","all":"yes"}',
  '{"v":1,"cmd":"unban"}',
  '{"v":1,"cmd":"flush"}',
  '{"v":1,"cmd":"status"',
  '{"v":1,"cmd":"status"}}',
  "\u0000\u0000\u0000",
  '{"v":1,"cmd":"st\u0000atus"}',
  '\uFEFF{"v":1,"cmd":"status"}x',
  '{"v":1,"cmd":"status","id":"' + "i".repeat(10_000) + '"}',
  "[".repeat(50_000) + "]".repeat(50_000),
  '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000),
  new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]),
  new Uint8Array([
    0x7b,
    0x22,
    0x76,
    0x22,
    0x3a,
    0x31,
    0x2c,
    0x22,
    0x63,
    0x6d,
    0x64,
    0x22,
    0x3a,
    0x22,
    0xc3,
    0x22,
    0x7d,
  ]),
];

function toBytes(x: string | Uint8Array): Uint8Array {
  return typeof x === "string" ? ENCODER.encode(x) : x;
}

/** Reads from `conn` until it closes, `lines` newlines or `maxBytes` arrive, or `timeout` seconds pass. */
async function readSome(
  conn: Deno.Conn,
  timeout: number,
  options: { lines?: number; maxBytes?: number } = {},
): Promise<string> {
  const maxBytes = options.maxBytes ?? 1 << 20;
  const wanted = options.lines ?? Infinity;
  let newlines = 0;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const buf = new Uint8Array(64 * 1024);
  const deadline = performance.now() + timeout * 1000;
  while (size < maxBytes) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = conn.read(buf).catch(() => null);
    const n = await Promise.race([
      read,
      new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left)),
    ]);
    clearTimeout(timer);
    if (n === "timeout") {
      // Unblock the pending read before the caller closes the connection.
      break;
    }
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    size += n;
    for (let i = 0; i < n; i++) if (buf[i] === 10) newlines++;
    if (newlines >= wanted) break;
  }
  return new TextDecoder().decode(
    chunks.reduce((acc, c) => {
      const out = new Uint8Array(acc.length + c.length);
      out.set(acc);
      out.set(c, acc.length);
      return out;
    }, new Uint8Array(0)),
  );
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Writes everything, ignoring a peer that closed first; returns the bytes written. */
async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<number> {
  let offset = 0;
  try {
    while (offset < data.length) offset += await conn.write(data.subarray(offset));
  } catch {
    // the daemon closed the connection (e.g. after refusing a huge request)
  }
  return offset;
}

/** One request line on a fresh connection; the daemon's answer lines (until it closes or 5 s). */
async function exchange(socket: string, data: Uint8Array, expectLines = 1): Promise<string[]> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    await writeAll(conn, data);
    const text = await readSome(conn, 5, { lines: expectLines, maxBytes: 64 << 20 });
    return text.split("\n").filter((l) => l !== "");
  } finally {
    closeQuietly(conn);
  }
}

/** Times one `status` request (ms); throws when it fails. */
async function timedStatus(socket: string): Promise<number> {
  const t0 = performance.now();
  await statusJails(socket, 5);
  return performance.now() - t0;
}

/** Runs the scenario. */
export function run(options: StressOptions): Promise<StressResult[]> {
  const idleCount = 200;
  const rounds = options.quick ? 1 : 10;
  return withTempDir("bw-sockfuzz-", async (dir) => {
    const results: StressResult[] = [];
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "");
    const config = `${dir}/jails.toml`;
    const socket = `${dir}/banwatch.sock`;
    await Deno.writeTextFile(
      config,
      `${globalSection(dir)}
[jail.mail]
enabled = true
logpath = "${log}"
filter = "postfix-sasl"
maxretry = 3
findtime = "1h"
bantime = "1h"
table = "bw-mail"
`,
    );
    const daemon = startDaemon(config, ["--dry-run"], STRESS_DAEMON);
    const idle: Deno.Conn[] = [];
    const statusMs: number[] = [];
    const statusFailures: string[] = [];
    const probe = async (when: string) => {
      try {
        statusMs.push(await timedStatus(socket));
      } catch (error) {
        statusFailures.push(`${when}: ${(error as Error).message.split("\n")[0]}`);
      }
    };
    let banAddr = 0;
    const bansSeen: string[] = [];
    const banProblems: string[] = [];
    const banOnce = async (when: string) => {
      const addr = `203.0.113.${100 + banAddr++}`;
      await Deno.writeTextFile(log, saslFailure(addr, Date.now() / 1000).repeat(3), {
        append: true,
      });
      const re = new RegExp(`event=ban jail=mail addr=${addr.replaceAll(".", "\\.")} `);
      try {
        await daemon.waitFor(re, 15);
        bansSeen.push(addr);
      } catch {
        banProblems.push(`no ban of ${addr} ${when}`);
      }
    };
    try {
      await daemon.waitFor(/event=started/, 30);
      await probe("at start");

      trace("// 1. Malformed");
      // 1. Malformed requests, each on its own connection, then all pipelined on one.
      let answered = 0;
      let unanswered = 0;
      const badAnswers: string[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const req of MALFORMED_REQUESTS) {
          const bytes = toBytes(req);
          const data = new Uint8Array(bytes.length + 1);
          data.set(bytes);
          data[bytes.length] = 10;
          trace(`request ${String(req).slice(0, 40)}`);
          const lines = await exchange(socket, data);
          if (lines.length === 0) {
            unanswered++;
            continue;
          }
          answered++;
          try {
            const resp = JSON.parse(lines[0]!) as { ok?: boolean; error?: string };
            if (resp.ok !== false) {
              badAnswers.push(`${String(req).slice(0, 60)} -> ${lines[0]!.slice(0, 120)}`);
            }
          } catch {
            badAnswers.push(`${String(req).slice(0, 60)} -> not JSON: ${lines[0]!.slice(0, 120)}`);
          }
        }
      }
      const pipelined = MALFORMED_REQUESTS.filter((r) => typeof r === "string" && r.length < 1000)
        .map((r) => `${r}\n`).join("") + '{"v":1,"cmd":"ping"}\n';
      const pipeCount = MALFORMED_REQUESTS.filter((r) => typeof r === "string" && r.length < 1000)
        .length + 1;
      const pipeLines = await exchange(socket, ENCODER.encode(pipelined), pipeCount);
      const pingAnswered = pipeLines.some((l) => l.includes('"ok":true'));
      await probe("after malformed requests");
      await banOnce("after malformed requests");
      results.push({
        name: "socket fuzz: malformed requests",
        figure: `${answered} of ${answered + unanswered} answered with ok:false; ` +
          `pipelined: ${pipeLines.length} of ${pipeCount} answers, ping ${
            pingAnswered ? "answered" : "NOT answered"
          }`,
        pass: badAnswers.length === 0 && unanswered === 0 && pingAnswered &&
          pipeLines.length === pipeCount,
        ...(badAnswers.length > 0 || unanswered > 0
          ? { detail: [...badAnswers.slice(0, 5), `${unanswered} without an answer`].join("\n") }
          : {}),
      });

      trace("// 2. Huge");
      // 2. Huge requests: 1 MiB without a newline, 100 KiB with one, 8 MiB streamed.
      const hugeProblems: string[] = [];
      for (const size of [100 * 1024, 1024 * 1024, 8 * 1024 * 1024]) {
        const conn = await Deno.connect({ transport: "unix", path: socket });
        try {
          const body = new Uint8Array(size).fill(0x61);
          body.set(ENCODER.encode('{"v":1,"cmd":"status","id":"'));
          const [written, answer] = await Promise.all([
            writeAll(conn, body),
            readSome(conn, 5, { lines: 1 }),
          ]);
          if (!/request longer than/.test(answer)) {
            hugeProblems.push(
              `${size} bytes (${written} written): answer ${JSON.stringify(answer.slice(0, 100))}`,
            );
          }
        } finally {
          closeQuietly(conn);
        }
      }
      await probe("after huge requests");
      await banOnce("after huge requests");

      trace("// 3. Partial");
      // 3. Partial requests: half a line then end of input; half a line left open.
      const partial = await Deno.connect({ transport: "unix", path: socket });
      await writeAll(partial, ENCODER.encode('{"v":1,"cmd":"sta'));
      await partial.closeWrite();
      const partialAnswer = await readSome(partial, 5, { lines: 1 });
      closeQuietly(partial);
      if (!/incomplete request/.test(partialAnswer)) {
        hugeProblems.push(
          `partial request then EOF: answer ${JSON.stringify(partialAnswer.slice(0, 100))}`,
        );
      }
      const dangling = await Deno.connect({ transport: "unix", path: socket });
      await writeAll(dangling, ENCODER.encode('{"v":1,"cmd":"status"'));
      idle.push(dangling);
      await probe("with a dangling partial request");
      results.push({
        name: "socket fuzz: huge and partial requests",
        figure: `${hugeProblems.length} problems (100 KiB, 1 MiB, 8 MiB refused; partial answered)`,
        pass: hugeProblems.length === 0,
        ...(hugeProblems.length > 0 ? { detail: hugeProblems.join("\n") } : {}),
      });

      trace("// 4. A client");
      // 4. A client that pipelines requests and never reads the answers.
      const deaf = await Deno.connect({ transport: "unix", path: socket });
      const flood = ENCODER.encode('{"v":1,"cmd":"status"}\n'.repeat(50_000));
      const deafWrite = writeAll(deaf, flood);
      await sleep(1);
      await probe("while a client does not read");
      await banOnce("while a client does not read");
      idle.push(deaf);

      trace("// 5. Many idle");
      // 5. Many idle connections.
      let opened = 0;
      for (let i = 0; i < idleCount; i++) {
        try {
          idle.push(await Deno.connect({ transport: "unix", path: socket }));
          opened++;
        } catch {
          break;
        }
      }
      await sleep(0.5);
      const statusBefore = statusFailures.length;
      for (let i = 0; i < 5; i++) await probe(`with ${opened} idle connections`);
      await banOnce(`with ${opened} idle connections`);
      const idleRefused = statusFailures.length - statusBefore;
      results.push({
        name: "socket fuzz: idle connections",
        figure: `status ${5 - idleRefused} of 5 answered with ${opened} idle connections open`,
        pass: idleRefused === 0,
        ...(idleRefused > 0
          ? { detail: statusFailures.slice(statusBefore, statusBefore + 2).join("\n") }
          : {}),
      });
      for (const c of idle) closeQuietly(c);
      idle.length = 0;
      await deafWrite;
      await sleep(0.5);
      await probe("after the idle clients left");
      await banOnce("at the end");
      const bigStderr = stackTraceLines(daemon.lines().join("\n"));
      results.push({
        name: "socket fuzz: daemon keeps serving and banning",
        figure:
          `${statusMs.length} of ${statusMs.length + statusFailures.length} status answered ` +
          `(p99 ${percentile(statusMs, 99).toFixed(0)} ms), ${bansSeen.length} of ${banAddr} bans`,
        pass: statusFailures.length === 0 && banProblems.length === 0 && bigStderr.length === 0,
        ...(statusFailures.length + banProblems.length + bigStderr.length > 0
          ? { detail: [...statusFailures, ...banProblems, ...bigStderr].slice(0, 6).join("\n") }
          : {}),
      });
    } finally {
      for (const c of idle) closeQuietly(c);
      const code = await daemon.stop();
      if (code !== 0) {
        results.push({
          name: "socket fuzz: daemon exit",
          figure: `exit ${code}`,
          pass: false,
          detail: daemon.lines().slice(-10).join("\n"),
        });
      }
    }
    return results;
  });
}

if (import.meta.main) await runStandalone(run);
