/**
 * A deterministic generator of a FreeBSD mail log (/var/log/maillog) for benchmarks: RFC 3164
 * headers with space-padded days and non-decreasing times, postfix smtpd/qmgr/cleanup/smtp/local
 * traffic, postfix SASL failures (`unknown[IP]` and `host.name[IP]`, LOGIN and PLAIN, with and
 * without `sasl_username`), qpopper failures and sessions, inetd refusals, dovecot logins and
 * sshd lines. About 9% of the lines are failures from a few thousand attacker addresses
 * (IPv4 and some IPv6, skewed so that a few attackers dominate, as in real logs).
 *
 *   deno run --allow-write scripts/gen_maillog.ts [--lines N] [--seed S] [--start EPOCH] -o FILE
 *
 * Without `-o` the log goes to standard output. The same seed gives the same file.
 * @module
 */
import { parseArgs } from "node:util";

/** The default number of lines of the generated log. */
export const DEFAULT_LINES = 1_000_000;

/** The default seed. */
export const DEFAULT_SEED = 1;

/** The default first line time: 2025-11-01T00:00:00Z (epoch seconds). */
export const DEFAULT_START = Date.UTC(2025, 10, 1) / 1000;

/** The syslog host name in every generated header. */
export const LOG_HOST = "mx1";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A seeded PRNG returning floats in [0, 1): mulberry32 (Tommy Ettinger, public domain). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An RFC 3164 header for `seconds` in UTC, e.g. `Nov  3 20:04:17 mx1`.
 * @param seconds epoch seconds
 * @param host the syslog host field
 */
export function syslogHeader(seconds: number, host: string = LOG_HOST): string {
  const d = new Date(Math.floor(seconds) * 1000);
  const day = String(d.getUTCDate()).padStart(2, " ");
  const time = d.toISOString().slice(11, 19);
  return `${MONTHS[d.getUTCMonth()]} ${day} ${time} ${host}`;
}

/**
 * A postfix SASL LOGIN failure from `unknown[addr]` (what the admin's postfix filter matches).
 * @param addr the client address
 * @param seconds epoch seconds of the line
 */
export function saslFailureLine(addr: string, seconds: number): string {
  return `${syslogHeader(seconds)} postfix/smtpd[${4000 + (Math.floor(seconds) % 50000)}]: ` +
    `warning: unknown[${addr}]: SASL LOGIN authentication failed: authentication failure`;
}

/**
 * The `i`-th of 2^24 distinct public-looking IPv4 addresses (for logs of many distinct
 * attackers): spreads `i` over the first octets 11..222 (skipping 127) without repeats.
 * @param i an index in [0, 2^24 * 200)
 */
export function distinctIpv4(i: number): string {
  const low = i % 0x1000000;
  let first = 11 + Math.floor(i / 0x1000000);
  if (first >= 127) first++;
  // Multiplying by an odd constant permutes 24-bit values, so neighbours look unrelated.
  const mixed = Math.imul(low, 0x9e3779) & 0xffffff;
  return `${first}.${mixed >>> 16}.${(mixed >>> 8) & 0xff}.${mixed & 0xff}`;
}

/** What {@link generateMaillog} can be told besides the line count and seed. */
export interface MaillogOptions {
  /** Epoch seconds of the first line (default {@link DEFAULT_START}). */
  start?: number;
  /** Mean seconds between lines (default 0.25: a million lines span about three days). */
  meanGap?: number;
  /** Distinct attacker IPv4 addresses (default 3000). */
  attackersV4?: number;
  /** Distinct attacker IPv6 addresses (default 200). */
  attackersV6?: number;
}

// deno-fmt-ignore
const USERS = [
  "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
  "oscar", "peggy", "trent", "victor", "walter", "kenji", "yuki", "sato", "tanaka",
];
// deno-fmt-ignore
const GUESSES = [
  "admin", "info", "test", "sales", "support", "office", "user", "root", "postmaster",
  "webmaster", "contact", "mail", "backup", "guest", "alice@example.jp", "bob@example.jp",
  "scanner", "marketing", "hr", "noreply",
];
const DOMAINS = ["example.jp", "example.com", "example.net", "example.org", "mail.example.co.jp"];
const TLDS = ["net", "com", "jp", "ru", "cn", "br", "vn", "in", "de", "nl"];

/** A random integer in [lo, hi]. */
function intIn(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function randomIpv4(rand: () => number): string {
  for (;;) {
    const a = intIn(rand, 1, 223);
    // Skip this-network, private, loopback, link-local and CGNAT ranges.
    if (a === 10 || a === 127 || a === 0) continue;
    const b = intIn(rand, 0, 255);
    if ((a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 169 && b === 254)) {
      continue;
    }
    if (a === 100 && b >= 64 && b < 128) continue;
    return `${a}.${b}.${intIn(rand, 0, 255)}.${intIn(rand, 1, 254)}`;
  }
}

/** A random global unicast IPv6 address in RFC 5952 text (groups never zero). */
function randomIpv6(rand: () => number): string {
  const hex = () => intIn(rand, 1, 0xffff).toString(16);
  const prefix = pick(rand, ["2001", "2400", "2a01", "2a02", "2804", "240e", "2600", "2406"]);
  if (rand() < 0.5) return `${prefix}:${hex()}:${hex()}:${hex()}::${hex()}`;
  return `${prefix}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`;
}

interface Peer {
  addr: string;
  /** The name postfix shows: a verified rDNS name or "unknown". */
  name: string;
}

function makePeers(
  rand: () => number,
  count: number,
  family: 4 | 6,
  resolvedShare: number,
  kind: "client" | "attacker" | "relay",
): Peer[] {
  const seen = new Set<string>();
  const out: Peer[] = [];
  while (out.length < count) {
    const addr = family === 4 ? randomIpv4(rand) : randomIpv6(rand);
    if (seen.has(addr)) continue;
    seen.add(addr);
    let name = "unknown";
    if (rand() < resolvedShare) {
      if (kind === "attacker") {
        const tag = family === 4 ? addr.replaceAll(".", "-") : `v6-${intIn(rand, 1, 99999)}`;
        name = `${tag}.dyn.isp${intIn(rand, 1, 40)}.${pick(rand, TLDS)}`;
      } else if (kind === "relay") {
        name = `mx${intIn(rand, 1, 9)}.${pick(rand, DOMAINS).replace(/^mail\./, "")}`;
      } else {
        name = `host${intIn(rand, 1, 999)}.customer${intIn(rand, 1, 200)}.example.jp`;
      }
    }
    out.push({ addr, name });
  }
  return out;
}

/** One kind of log line, with its relative weight (per mille). */
interface LineKind {
  weight: number;
  make: (ctx: LineContext) => string;
}

interface LineContext {
  rand: () => number;
  attacker: () => Peer;
  client: () => Peer;
  relay: () => Peer;
  pid: () => number;
  queueId: () => string;
  user: () => string;
  guess: () => string;
  local: string;
}

function smtpd(c: LineContext): string {
  return `postfix/smtpd[${c.pid()}]:`;
}

const LINE_KINDS: readonly LineKind[] = [
  // ---- ordinary postfix traffic
  { weight: 125, make: (c) => `${smtpd(c)} connect from ${peerText(pickPeer(c))}` },
  {
    weight: 120,
    make: (c) =>
      `${smtpd(c)} disconnect from ${
        peerText(pickPeer(c))
      } ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5`,
  },
  {
    weight: 30,
    make: (c) =>
      `${smtpd(c)} lost connection after ${
        pick(c.rand, ["AUTH", "CONNECT", "EHLO", "DATA", "RCPT"])
      } from ${peerText(c.attacker())}`,
  },
  {
    weight: 60,
    make: (c) => {
      const p = c.client();
      const sasl = c.rand() < 0.5 ? `, sasl_method=PLAIN, sasl_username=${c.user()}` : "";
      return `${smtpd(c)} ${c.queueId()}: client=${peerText(p)}${sasl}`;
    },
  },
  {
    weight: 35,
    make: (c) => {
      const p = c.attacker();
      return `${smtpd(c)} NOQUEUE: reject: RCPT from ${
        peerText(p)
      }: 554 5.7.1 <${c.guess()}@${c.local}>: Relay access denied; from=<spam@${
        pick(c.rand, DOMAINS)
      }> to=<victim@${pick(c.rand, TLDS)}.example> proto=ESMTP helo=<${
        pick(c.rand, ["User", "ylmf-pc", "localhost", "WIN-2K3"])
      }>`;
    },
  },
  {
    weight: 12,
    make: (c) => {
      const p = c.attacker();
      return `${smtpd(c)} warning: hostname ${p.name === "unknown" ? "bogus.example" : p.name} ` +
        `does not resolve to address ${p.addr}: hostname nor servname provided, or not known`;
    },
  },
  {
    weight: 60,
    make: (c) =>
      `postfix/cleanup[${c.pid()}]: ${c.queueId()}: message-id=<${intIn(c.rand, 1e8, 9e8)}.${
        intIn(c.rand, 1000, 9999)
      }@${pick(c.rand, DOMAINS)}>`,
  },
  {
    weight: 60,
    make: (c) =>
      `postfix/qmgr[1234]: ${c.queueId()}: from=<${c.user()}@${pick(c.rand, DOMAINS)}>, size=${
        intIn(c.rand, 900, 250000)
      }, nrcpt=${intIn(c.rand, 1, 3)} (queue active)`,
  },
  { weight: 55, make: (c) => `postfix/qmgr[1234]: ${c.queueId()}: removed` },
  {
    weight: 55,
    make: (c) => {
      const r = c.relay();
      const sent = c.rand() < 0.9;
      const delay = (c.rand() * 3).toFixed(1);
      return `postfix/smtp[${c.pid()}]: ${c.queueId()}: to=<${c.user()}@${
        pick(c.rand, DOMAINS)
      }>, relay=${r.name === "unknown" ? "none" : r.name}[${r.addr}]:25, delay=${delay}, ` +
        `delays=0.1/0/0.3/${delay}, dsn=${sent ? "2.0.0" : "4.4.1"}, status=${
          sent ? "sent (250 2.0.0 Ok: queued)" : "deferred (connect to relay: Connection timed out)"
        }`;
    },
  },
  {
    weight: 30,
    make: (c) =>
      `postfix/local[${c.pid()}]: ${c.queueId()}: to=<${c.user()}@${c.local}>, orig_to=<${c.user()}>, ` +
      `relay=local, delay=0.02, delays=0.01/0/0/0.01, dsn=2.0.0, status=sent (delivered to mailbox)`,
  },
  {
    weight: 4,
    make: (c) =>
      `postfix/anvil[${c.pid()}]: statistics: max connection rate ${
        intIn(c.rand, 1, 30)
      }/60s for (smtp:${c.attacker().addr}) at ${syslogTime(c)}`,
  },
  // ---- failures: postfix SASL
  {
    weight: 22,
    make: (c) =>
      `${
        smtpd(c)
      } warning: unknown[${c.attacker().addr}]: SASL LOGIN authentication failed: authentication failure`,
  },
  {
    weight: 8,
    make: (c) =>
      `${smtpd(c)} warning: unknown[${c.attacker().addr}]: SASL LOGIN authentication failed: ` +
      `authentication failure, sasl_username=${c.guess()}`,
  },
  {
    weight: 6,
    make: (c) => {
      const p = c.attacker();
      const name = p.name === "unknown"
        ? `${p.addr.replaceAll(/[.:]/g, "-")}.static.example`
        : p.name;
      return `${
        smtpd(c)
      } warning: ${name}[${p.addr}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6`;
    },
  },
  {
    weight: 5,
    make: (c) =>
      `${smtpd(c)} warning: ${
        peerText(c.attacker())
      }: SASL PLAIN authentication failed: authentication failure`,
  },
  // ---- qpopper
  {
    weight: 18,
    make: (c) => {
      const p = c.attacker();
      const u = c.guess();
      return `qpopper[${c.pid()}]: ${u} at ${
        p.name === "unknown" ? p.addr : p.name
      } (${p.addr}): ` +
        `-ERR [AUTH] Password supplied for "${u}" is incorrect.`;
    },
  },
  {
    weight: 2,
    make: (c) => {
      const p = c.attacker();
      return `qpopper[${c.pid()}]: root at ${p.addr} (${p.addr}): -ERR [AUTH] "root": access denied.`;
    },
  },
  {
    weight: 35,
    make: (c) => {
      const p = c.client();
      return `qpopper[${c.pid()}]: Stats: ${c.user()} ${intIn(c.rand, 0, 5)} ${
        intIn(c.rand, 0, 90000)
      } ${intIn(c.rand, 0, 40)} ${intIn(c.rand, 0, 900000)} ${
        p.name === "unknown" ? p.addr : p.name
      } ${p.addr}`;
    },
  },
  {
    weight: 8,
    make: (c) =>
      `qpopper[${c.pid()}]: (v4.1.4) Unable to get canonical name of client ${
        pickPeer(c).addr
      }: Unknown host (-1) [pop_init.c:1163]`,
  },
  // ---- inetd
  {
    weight: 6,
    make: (c) =>
      `inetd[${c.pid()}]: refused connection from ${c.attacker().addr}, service qpopper (tcp)`,
  },
  // ---- dovecot
  {
    weight: 55,
    make: (c) => {
      const p = c.client();
      return `dovecot: imap-login: Login: user=<${c.user()}>, method=PLAIN, rip=${p.addr}, ` +
        `lip=192.0.2.25, mpid=${c.pid()}, TLS, session=<${session(c)}>`;
    },
  },
  {
    weight: 35,
    make: (c) =>
      `dovecot: imap(${c.user()})<${c.pid()}><${session(c)}>: Disconnected: Logged out in=${
        intIn(c.rand, 50, 9000)
      } out=${
        intIn(c.rand, 300, 900000)
      } deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0`,
  },
  {
    weight: 8,
    make: (c) => {
      const p = c.attacker();
      return `dovecot: imap-login: Disconnected: Connection closed (auth failed, ${
        intIn(c.rand, 1, 3)
      } attempts in ${
        intIn(c.rand, 2, 12)
      } secs): user=<${c.guess()}>, method=PLAIN, rip=${p.addr}, ` +
        `lip=192.0.2.25, TLS, session=<${session(c)}>`;
    },
  },
  // ---- sshd
  {
    weight: 6,
    make: (c) =>
      `sshd[${c.pid()}]: Failed password for ${
        c.rand() < 0.5 ? "root" : `invalid user ${c.guess()}`
      } from ${c.attacker().addr} port ${intIn(c.rand, 1024, 65535)} ssh2`,
  },
  {
    weight: 4,
    make: (c) =>
      `sshd[${c.pid()}]: Invalid user ${c.guess()} from ${c.attacker().addr} port ${
        intIn(c.rand, 1024, 65535)
      }`,
  },
  {
    weight: 6,
    make: (c) =>
      `sshd[${c.pid()}]: Connection closed by ${c.attacker().addr} port ${
        intIn(c.rand, 1024, 65535)
      } [preauth]`,
  },
  {
    weight: 3,
    make: (c) =>
      `sshd[${c.pid()}]: Accepted publickey for ${c.user()} from ${c.client().addr} port ${
        intIn(c.rand, 1024, 65535)
      } ssh2: ED25519 SHA256:${session(c)}${session(c)}`,
  },
  // ---- syslogd
  { weight: 4, make: (c) => `syslogd: last message repeated ${intIn(c.rand, 2, 9)} times` },
];

function pickPeer(c: LineContext): Peer {
  return c.rand() < 0.35 ? c.attacker() : c.client();
}

function peerText(p: Peer): string {
  return `${p.name}[${p.addr}]`;
}

function session(c: LineContext): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let s = "";
  for (let i = 0; i < 16; i++) s += chars[Math.floor(c.rand() * 64)];
  return s;
}

function syslogTime(c: LineContext): string {
  return `${pick(c.rand, MONTHS)} ${String(intIn(c.rand, 1, 28)).padStart(2, " ")} ${
    String(intIn(c.rand, 0, 23)).padStart(2, "0")
  }:${String(intIn(c.rand, 0, 59)).padStart(2, "0")}:${
    String(intIn(c.rand, 0, 59)).padStart(2, "0")
  }`;
}

/**
 * Yields exactly `lines` lines (without newlines) of a realistic FreeBSD maillog; the same
 * `seed` and options give the same lines. The first line is newsyslog's rotation notice.
 * @param lines how many lines
 * @param seed the PRNG seed
 */
export function* generateMaillog(
  lines: number,
  seed: number,
  options: MaillogOptions = {},
): Generator<string> {
  if (!Number.isInteger(lines) || lines < 0) throw new RangeError(`lines must be >= 0: ${lines}`);
  const rand = mulberry32(seed);
  const attackers = [
    ...makePeers(rand, options.attackersV4 ?? 3000, 4, 0.3, "attacker"),
    ...makePeers(rand, options.attackersV6 ?? 200, 6, 0.1, "attacker"),
  ];
  // Shuffle so IPv6 attackers are spread over the skewed ranks.
  for (let i = attackers.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [attackers[i], attackers[j]] = [attackers[j]!, attackers[i]!];
  }
  const clients = [
    ...makePeers(rand, 400, 4, 0.6, "client"),
    ...makePeers(rand, 40, 6, 0.5, "client"),
  ];
  const relays = makePeers(rand, 50, 4, 0.95, "relay");
  const ctx: LineContext = {
    rand,
    // u^3 skews towards the first attackers: the top 1% send about a fifth of the failures.
    attacker: () => attackers[Math.floor(attackers.length * rand() ** 3)]!,
    client: () => pick(rand, clients),
    relay: () => pick(rand, relays),
    pid: () => intIn(rand, 1000, 99999),
    queueId: () => intIn(rand, 0x1000000000, 0xffffffffff).toString(16).toUpperCase(),
    user: () => pick(rand, USERS),
    guess: () => pick(rand, GUESSES),
    local: "example.jp",
  };
  const cumulative: number[] = [];
  let total = 0;
  for (const kind of LINE_KINDS) cumulative.push(total += kind.weight);
  const meanGap = options.meanGap ?? 0.25;
  let t = options.start ?? DEFAULT_START;
  for (let n = 0; n < lines; n++) {
    if (n === 0) {
      yield `${syslogHeader(t)} newsyslog[${intIn(rand, 100, 9999)}]: logfile turned over`;
      continue;
    }
    t += -Math.log(1 - rand()) * meanGap;
    const r = rand() * total;
    let k = 0;
    while (cumulative[k]! <= r) k++;
    yield `${syslogHeader(t)} ${LINE_KINDS[k]!.make(ctx)}`;
  }
}

/**
 * Writes `lines` generated lines to `path`; resolves to the bytes written.
 * @param path the output file (created or truncated)
 * @param options line count, seed and generator options
 */
export async function writeMaillog(
  path: string,
  options: MaillogOptions & { lines?: number; seed?: number } = {},
): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    return await writeLines(
      file,
      generateMaillog(options.lines ?? DEFAULT_LINES, options.seed ?? DEFAULT_SEED, options),
    );
  } finally {
    file.close();
  }
}

/**
 * Writes lines (each followed by a newline) to `out` in 1 MiB chunks; resolves to the bytes.
 * @param out where to write
 * @param lines the lines, without newlines
 */
export async function writeLines(
  out: { write(p: Uint8Array): Promise<number> },
  lines: Iterable<string>,
): Promise<number> {
  const enc = new TextEncoder();
  let bytes = 0;
  let parts: string[] = [];
  let size = 0;
  const flush = async () => {
    const data = enc.encode(parts.join(""));
    let off = 0;
    while (off < data.length) off += await out.write(data.subarray(off));
    bytes += data.length;
    parts = [];
    size = 0;
  };
  for (const line of lines) {
    parts.push(line, "\n");
    size += line.length + 1;
    if (size >= 1 << 20) await flush();
  }
  if (size > 0) await flush();
  return bytes;
}

function numberArg(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replaceAll("_", ""));
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`--${name}: "${text}" is not a number`);
  return n;
}

async function cli(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      lines: { type: "string" },
      seed: { type: "string" },
      start: { type: "string" },
      output: { type: "string", short: "o" },
    },
  });
  const lines = numberArg("lines", values.lines, DEFAULT_LINES);
  const seed = numberArg("seed", values.seed, DEFAULT_SEED);
  const start = numberArg("start", values.start, DEFAULT_START);
  if (values.output === undefined) {
    await writeLines(Deno.stdout, generateMaillog(lines, seed, { start }));
    return;
  }
  const bytes = await writeMaillog(values.output, { lines, seed, start });
  const msg = `gen_maillog: wrote ${lines} lines (${
    (bytes / 1e6).toFixed(1)
  } MB) to ${values.output}\n`;
  await Deno.stderr.write(new TextEncoder().encode(msg));
}

if (import.meta.main) await cli(Deno.args);
