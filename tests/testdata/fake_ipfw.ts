/**
 * A faithful ipfw(8) test double for lookup tables (freebsd.md §2), run as a real process:
 *
 *   deno run --allow-read --allow-write --allow-env fake_ipfw.ts [ipfw arguments]
 *
 * What it reproduces, after sbin/ipfw/main.c and tables.c (FreeBSD 13/14):
 * - argv handling: one argument is split on blanks; an argument ending in "," is joined to
 *   the next; getopt options `-abcdDefhiNqsStTv` before the command (`-q` quiet, `-f` force,
 *   `-i` values as IPv4); `N add ...` is swapped to `add N ...`; `set N` (0-31); commands and
 *   table sub-commands match as prefixes (`tab` -> `table` with a DEPRECATED warning, table
 *   sub-commands by unique prefix, else `ambiguous table command X`, like get_token());
 * - `table NAME create [type addr|iface|number|flow] [valtype ...] [algo ...] [limit N] [locked]`
 *   (the 13.x/freebsd14_vendor option set: no `missing`/`or-flush`), `destroy`, `add k [v]
 *   [k v]...`, `atomic add`, `delete k...`, `list`, `info`, `detail`, `flush`, `lookup addr`,
 *   `lock`, `unlock`; `table all list|info|detail|flush|destroy` with `--- table(NAME), set(0) ---`
 *   headers; name rule `[a-zA-Z0-9\-_.]{1,63}` and not "all";
 * - messages and exit codes of the table in freebsd.md §2.2, including `-q` (duplicate add and
 *   missing delete exit 0; `-q` also updates values), auto-create on add (with a DEPRECATED
 *   warning without `-q`), delete/lookup on a missing table exit 65 even with `-q`, first
 *   per-entry error wins, non-atomic batches still apply the other entries;
 * - keys: inet_pton (strict) IPv4 then IPv6, /32 and /128 default masks, host bits masked in
 *   the stored key, `bad IPv4/IPv6 mask width`, `Use IPv4 instead of v4-compatible`, anything
 *   else is a hostname: inet_aton forms are accepted, names are unknown (no DNS: exit 68);
 *   values: strtoul(base 0), else an IPv4 address (legacy value);
 * - IPv4 and IPv6 in one addr table; list order: IPv4 then IPv6, by address then mask length;
 * - rules, roughly: `add [N] [set S] ACTION ... from ... to ...` stored as text (a rule naming
 *   `table(T)` auto-creates T and counts as a reference: destroy then fails "Device busy"),
 *   `delete N|N-M ...` (not found: exit 69 unless -f; stdin that is not a tty implies -f),
 *   `list`/`show` print `NNNNN rule` lines and the default rule 65535.
 * Tables ignore the set number, as with the default net.inet.ip.fw.tables_sets=0.
 * Not implemented (exit 64 with a "fake ipfw:" message): command files, pipes/queues/nat,
 * `-n`, `table swap|modify`, `set` sub-commands, `enable`/`disable`.
 *
 * Environment:
 * - FAKE_IPFW_STATE: JSON state file (created when missing), the "kernel"; required.
 * - FAKE_IPFW_LOG: optional; every invocation appends one JSON array (its argv) and a newline.
 * - FAKE_IPFW_FAIL: `always` (exit 1), `every3` (every third invocation exits 1), `hang`
 *   (sleeps forever); FAKE_IPFW_FAIL_ON=<word> limits failures to invocations naming that word.
 * @module
 */

// ---------------------------------------------------------------- exit codes (sysexits)
const EX_USAGE = 64;
const EX_DATAERR = 65;
const EX_NOHOST = 68;
const EX_UNAVAILABLE = 69;
const EX_OSERR = 71;

/** errx()/err(): the process ends with this code after printing `ipfw: message`. */
class Exit extends Error {
  constructor(readonly code: number, message?: string) {
    super(message ?? "");
  }
}

// ---------------------------------------------------------------- state
interface TableState {
  type: "addr" | "iface" | "number" | "flow";
  valtype: string; // "legacy" or a comma list
  algo: string;
  limit: number;
  locked: boolean;
  kindex: number;
  /** key text ("1.2.3.0/24", "em0", "25") -> value */
  entries: Record<string, number>;
}

interface RuleState {
  num: number;
  set: number;
  text: string;
}

interface State {
  calls: number;
  tables: Record<string, TableState>;
  rules: RuleState[];
}

function loadState(path: string): State {
  try {
    const parsed = JSON.parse(Deno.readTextFileSync(path)) as Partial<State>;
    return { calls: parsed.calls ?? 0, tables: parsed.tables ?? {}, rules: parsed.rules ?? [] };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { calls: 0, tables: {}, rules: [] };
    throw e;
  }
}

function saveState(path: string, state: State): void {
  const tmp = `${path}.tmp${Deno.pid}`;
  Deno.writeTextFileSync(tmp, JSON.stringify(state));
  Deno.renameSync(tmp, path);
}

async function withLock<T>(path: string, fn: () => T): Promise<T> {
  const lock = `${path}.lock`;
  const start = Date.now();
  for (;;) {
    try {
      Deno.openSync(lock, { createNew: true, write: true }).close();
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      if (Date.now() - start > 5000) { // stale lock from a killed run
        try {
          Deno.removeSync(lock);
        } catch { /* raced */ }
        continue;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  try {
    return fn();
  } finally {
    try {
      Deno.removeSync(lock);
    } catch { /* gone */ }
  }
}

// ---------------------------------------------------------------- output
class Out {
  stdout = "";
  stderr = "";
  print(line: string): void {
    this.stdout += line + "\n";
  }
  warnx(message: string): void {
    this.stderr += `ipfw: ${message}\n`;
  }
}

// ---------------------------------------------------------------- address parsing (libc rules)
/** BIND/FreeBSD inet_pton(AF_INET): exactly four decimal octets, no leading zeros. */
function inetPton4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** BIND/FreeBSD inet_pton(AF_INET6). */
function inetPton6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let tp = 0;
  let colonp = -1;
  let i = 0;
  if (text[0] === ":") {
    if (text[1] !== ":") return undefined;
    i = 1;
  }
  let curtok = i;
  let sawXdigit = false;
  let digits = 0;
  let val = 0;
  while (i < text.length) {
    const ch = text[i++] as string;
    const d = "0123456789abcdef".indexOf(ch.toLowerCase());
    if (d >= 0 && ch !== "") {
      val = (val << 4) | d;
      if (++digits > 4) return undefined;
      sawXdigit = true;
      continue;
    }
    if (ch === ":") {
      curtok = i;
      if (!sawXdigit) {
        if (colonp >= 0) return undefined;
        colonp = tp;
        continue;
      } else if (i >= text.length) {
        return undefined;
      }
      if (tp + 2 > 16) return undefined;
      out[tp++] = (val >> 8) & 0xff;
      out[tp++] = val & 0xff;
      sawXdigit = false;
      digits = 0;
      val = 0;
      continue;
    }
    if (ch === "." && tp + 4 <= 16) {
      const v4 = inetPton4(text.slice(curtok));
      if (v4 === undefined) return undefined;
      out.set(v4, tp);
      tp += 4;
      sawXdigit = false;
      break;
    }
    return undefined;
  }
  if (sawXdigit) {
    if (tp + 2 > 16) return undefined;
    out[tp++] = (val >> 8) & 0xff;
    out[tp++] = val & 0xff;
  }
  if (colonp >= 0) {
    if (tp === 16) return undefined;
    const n = tp - colonp;
    for (let k = 1; k <= n; k++) {
      out[16 - k] = out[colonp + n - k] as number;
      out[colonp + n - k] = 0;
    }
    tp = 16;
  }
  return tp === 16 ? out : undefined;
}

/** FreeBSD inet_aton(): 1-4 parts, each decimal, 0octal or 0xhex; trailing blank allowed. */
function inetAton(text: string): Uint8Array | undefined {
  const m = /^([^\s]*)(\s.*)?$/s.exec(text);
  const body = m?.[1] ?? "";
  if (body === "") return undefined;
  const parts = body.split(".");
  if (parts.length > 4) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) v = Number(p);
    else return undefined;
    nums.push(v);
  }
  const maxLast = [0xffffffff, 0xffffff, 0xffff, 0xff][nums.length - 1] as number;
  for (let k = 0; k < nums.length - 1; k++) if ((nums[k] as number) > 255) return undefined;
  const last = nums[nums.length - 1] as number;
  if (last > maxLast) return undefined;
  let value = 0;
  for (let k = 0; k < nums.length - 1; k++) value += (nums[k] as number) * 2 ** (24 - 8 * k);
  value += last;
  return new Uint8Array([
    value >>> 24 & 0xff,
    value >>> 16 & 0xff,
    value >>> 8 & 0xff,
    value & 0xff,
  ]);
}

function ntop4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** FreeBSD inet_ntop(AF_INET6). */
function ntop6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[2 * i] as number) << 8) | (b[2 * i + 1] as number));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (cur.base === -1) cur = { base: i, len: 1 };
      else cur.len++;
    } else if (cur.base !== -1) {
      if (best.base === -1 || cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (cur.base !== -1 && (best.base === -1 || cur.len > best.len)) best = cur;
  if (best.base !== -1 && best.len < 2) best = { base: -1, len: 0 };
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) s += ":";
      continue;
    }
    if (i !== 0) s += ":";
    if (
      i === 6 && best.base === 0 &&
      (best.len === 6 || (best.len === 7 && words[7] !== 0x0001) ||
        (best.len === 5 && words[5] === 0xffff))
    ) {
      s += ntop4(b, 12);
      break;
    }
    s += (words[i] as number).toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) s += ":";
  return s;
}

function applyMask(bytes: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, len - 8 * i));
    out[i] = (out[i] as number) & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** A parsed table key (tentry_fill_key_type for addr tables). */
interface AddrKey {
  family: 4 | 6;
  bytes: Uint8Array; // as given (unmasked), printed in add/delete results
  masklen: number;
}

function keyText(k: AddrKey, masked: boolean): string {
  const b = masked ? applyMask(k.bytes, k.masklen) : k.bytes;
  return `${k.family === 4 ? ntop4(b) : ntop6(b)}/${k.masklen}`;
}

/** atoi(): optional blanks and sign, leading digits, 0 when none. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? parseInt(m[1] as string, 10) : 0;
}

function parseAddrKey(arg: string): AddrKey {
  const slash = arg.indexOf("/");
  const addr = slash < 0 ? arg : arg.slice(0, slash);
  const mask = slash < 0 ? 0 : atoi(arg.slice(slash + 1));
  const v4 = inetPton4(addr);
  if (v4 !== undefined) {
    if (slash >= 0 && mask > 32) {
      throw new Exit(EX_DATAERR, `bad IPv4 mask width: ${arg.slice(slash + 1)}`);
    }
    return { family: 4, bytes: v4, masklen: slash >= 0 ? mask : 32 };
  }
  const v6 = inetPton6(addr);
  if (v6 !== undefined) {
    if (isV4Compat(v6)) throw new Exit(EX_DATAERR, "Use IPv4 instead of v4-compatible");
    if (slash >= 0 && mask > 128) {
      throw new Exit(EX_DATAERR, `bad IPv6 mask width: ${arg.slice(slash + 1)}`);
    }
    return { family: 6, bytes: v6, masklen: slash >= 0 ? mask : 128 };
  }
  const host = inetAton(addr);
  if (host === undefined) throw new Exit(EX_NOHOST, `hostname \`\`${addr}'' unknown`);
  return { family: 4, bytes: host, masklen: 32 };
}

function isV4Compat(b: Uint8Array): boolean {
  for (let i = 0; i < 12; i++) if (b[i] !== 0) return false;
  const low = ((b[12] as number) << 24 | (b[13] as number) << 16 | (b[14] as number) << 8 |
    (b[15] as number)) >>> 0;
  return low > 1;
}

/** guess_key_type() for the add auto-create path. */
function guessKeyType(key: string): TableState["type"] | undefined {
  if (/^[0-9a-fA-F:]/.test(key)) {
    const addr = key.split("/", 1)[0] as string;
    if (inetPton4(addr) !== undefined || inetPton6(addr) !== undefined) return "addr";
    const m = /^[+-]?\d*/.exec(addr);
    const rest = addr.slice(m?.[0].length ?? 0);
    if (rest === "" && (m?.[0].length ?? 0) > 0) return "number";
    if ((m?.[0].length ?? 0) > 0 && rest.startsWith(".")) return undefined;
    if (!addr.includes(".")) return "iface";
    return inetAton(addr) !== undefined ? "addr" : undefined;
  }
  if (!key.includes(".")) return "iface";
  return inetAton(key) !== undefined ? "addr" : undefined;
}

/** strtoul(arg, &p, 0) consuming the whole string, else undefined. */
function strtoulAll(arg: string): number | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?$/.exec(arg);
  if (!m) return undefined;
  if (m[2] === undefined) return m[1] === "" ? 0 : undefined;
  const text = m[2];
  let v = /^0[xX]/.test(text)
    ? parseInt(text.slice(2), 16)
    : text.startsWith("0")
    ? parseInt(text, 8)
    : Number(text);
  if (!Number.isFinite(v) || v > 2 ** 64 - 1) v = 2 ** 64 - 1;
  if (m[1] === "-") v = -v;
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(v))));
}

function parseLegacyValue(arg: string): number {
  const n = strtoulAll(arg);
  if (n !== undefined) return n;
  const v4 = inetPton4(arg) ?? inetAton(arg);
  if (v4 !== undefined) {
    return ((v4[0] as number) * 2 ** 24) + ((v4[1] as number) << 16) + ((v4[2] as number) << 8) +
      (v4[3] as number);
  }
  throw new Exit(EX_OSERR, `Unable to parse value ${arg}`);
}

function formatValue(v: number, asIp: boolean): string {
  if (!asIp) return String(v >>> 0);
  return `${v >>> 24 & 0xff}.${v >>> 16 & 0xff}.${v >>> 8 & 0xff}.${v & 0xff}`;
}

/** Sort key for stored entries: IPv4 before IPv6, then address bytes, then mask length. */
function entryOrder(a: string, b: string): number {
  const pa = storedKeyBytes(a);
  const pb = storedKeyBytes(b);
  if (pa === undefined || pb === undefined) return a < b ? -1 : a > b ? 1 : 0;
  if (pa.bytes.length !== pb.bytes.length) return pa.bytes.length - pb.bytes.length;
  for (let i = 0; i < pa.bytes.length; i++) {
    const d = (pa.bytes[i] as number) - (pb.bytes[i] as number);
    if (d !== 0) return d;
  }
  return pa.len - pb.len;
}

function storedKeyBytes(key: string): { bytes: Uint8Array; len: number } | undefined {
  const [addr = "", len = ""] = key.split("/");
  const bytes = inetPton4(addr) ?? inetPton6(addr);
  return bytes === undefined ? undefined : { bytes, len: Number(len) };
}

/** stringnum_cmp(): shorter names first, then strcmp. */
function stringnumCmp(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------- the program
interface Options {
  quiet: boolean;
  force: boolean;
  valueAsIp: boolean;
  useSet: number; // 0 = none, else set + 1
}

const TABLE_NAME = /^[a-zA-Z0-9\-_.]{1,63}$/;

function checkName(name: string): boolean {
  return TABLE_NAME.test(name) && name !== "all";
}

/** match_token_relaxed + get_token: unique prefix; the C code always says "ambiguous". */
function getToken(list: readonly string[], word: string, what: string): string {
  const hits = word === "" ? [] : list.filter((t) => t.startsWith(word));
  if (hits.length === 1) return hits[0] as string;
  throw new Exit(EX_USAGE, `ambiguous ${what} ${word}`);
}

/** _substrcmp(): `word` equals `full` or is a prefix of it (with a DEPRECATED warning). */
function substr(out: Out, word: string, full: string): boolean {
  if (!full.startsWith(word)) return false;
  if (word.length !== full.length) {
    out.warnx(`DEPRECATED: '${word}' matched '${full}' as a sub-string`);
  }
  return true;
}

/** The argv normalisation at the top of ipfw_main(). */
function normaliseArgs(args: readonly string[]): string[] {
  if (args.length === 1) {
    const line = (args[0] as string).split("#", 1)[0] as string;
    const words = line.replace(/,[ \t\f\v\n\r]+/g, ",").split(/[ \t\f\v\n\r]+/).filter((w) =>
      w !== ""
    );
    return words;
  }
  const out: string[] = [];
  let pending = "";
  args.forEach((arg, i) => {
    pending += arg;
    if (!arg.endsWith(",") || i === args.length - 1) {
      out.push(pending);
      pending = "";
    }
  });
  return out;
}

const TABLE_CMDS = [
  "add",
  "delete",
  "create",
  "destroy",
  "flush",
  "modify",
  "swap",
  "info",
  "detail",
  "list",
  "lookup",
  "atomic",
  "lock",
  "unlock",
] as const;

const CREATE_OPTS = ["type", "valtype", "algo", "limit", "locked"] as const;
const TABLE_TYPES = ["addr", "iface", "number", "flow"] as const;
const VALTYPES = [
  "skipto",
  "pipe",
  "fib",
  "nat",
  "dscp",
  "tag",
  "divert",
  "netgraph",
  "limit",
  "ipv4",
  "ipv6",
];
const DEFAULT_ALGO: Record<TableState["type"], string> = {
  addr: "addr:radix",
  iface: "iface:array",
  number: "number:array",
  flow: "flow:hash",
};

class Ipfw {
  constructor(readonly state: State, readonly out: Out, readonly opt: Options) {}

  main(argv: string[]): void {
    let av = normaliseArgs(argv);
    if (argv.length === 0 || av.length === 0) throw usage();
    // getopt("abcdDefhinNp:qs:STtv"): options until the first non-option or "--"
    let i = 0;
    for (; i < av.length; i++) {
      const a = av[i] as string;
      if (a === "--") {
        i++;
        break;
      }
      if (!a.startsWith("-") || a === "-") break;
      for (let k = 1; k < a.length; k++) {
        const c = a[k] as string;
        if ("abcdDeNSTtv".includes(c)) continue;
        if (c === "q") this.opt.quiet = true;
        else if (c === "f") this.opt.force = true;
        else if (c === "i") this.opt.valueAsIp = true;
        else if (c === "h") {
          this.out.stderr += "ipfw syntax summary (but please do read the ipfw(8) manpage):\n";
          throw new Exit(0);
        } else if (c === "n") throw new Exit(EX_USAGE, "fake ipfw: -n is not implemented");
        else if (c === "p" || c === "s") {
          const hasArg = k + 1 < a.length || i + 1 < av.length;
          if (!hasArg) {
            this.out.stderr += `ipfw: option requires an argument -- ${c}\n`;
            throw usage();
          }
          if (c === "p") {
            throw new Exit(EX_USAGE, "An absolute pathname must be used with -p option.");
          }
          if (k + 1 === a.length) i++;
          break;
        } else {
          this.out.stderr += `ipfw: illegal option -- ${c}\n`;
          throw usage();
        }
      }
    }
    av = av.slice(i);
    if (av.length === 0) throw new Exit(EX_USAGE, "bad arguments, for usage summary ``ipfw''");
    if (av.length > 1 && /^[0-9]/.test(av[0] as string)) {
      av = [av[1] as string, av[0] as string, ...av.slice(2)];
    }
    const first = av[0] as string;
    if ("nat".startsWith(first) || "pipe".startsWith(first)) {
      throw new Exit(EX_USAGE, `fake ipfw: ${first} is not implemented`);
    }
    if (
      first.length > 0 &&
      ("queue".startsWith(first) || "flowset".startsWith(first) || "sched".startsWith(first))
    ) {
      throw new Exit(EX_USAGE, `fake ipfw: ${first} is not implemented`);
    }
    if ("set".startsWith(first) && av.length > 1 && /^[0-9]/.test(av[1] as string)) {
      const n = /^\d+$/.test(av[1] as string) ? Number(av[1]) : NaN;
      if (!(n >= 0 && n <= 31)) throw new Exit(EX_DATAERR, `invalid set number ${av[1]}\n`);
      this.opt.useSet = n + 1;
      av = av.slice(2);
    }
    if (av.length === 0) throw new Exit(EX_USAGE, "missing command");
    const cmd = av[0] as string;
    if (this.opt.useSet === 0) {
      if (substr(this.out, cmd, "add")) return this.ruleAdd(av.slice(1));
      if (substr(this.out, cmd, "set")) {
        throw new Exit(EX_USAGE, "fake ipfw: set is not implemented");
      }
      if (substr(this.out, cmd, "table")) return this.table(av.slice(1));
      if (substr(this.out, cmd, "enable") || substr(this.out, cmd, "disable")) {
        throw new Exit(EX_USAGE, `fake ipfw: ${cmd} is not implemented`);
      }
    }
    if (substr(this.out, cmd, "delete")) return this.ruleDelete(av.slice(1));
    if (substr(this.out, cmd, "print") || substr(this.out, cmd, "list")) {
      return this.ruleList(av.slice(1), false);
    }
    if (substr(this.out, cmd, "show")) return this.ruleList(av.slice(1), true);
    if (substr(this.out, cmd, "table")) return this.table(av.slice(1));
    for (const w of ["flush", "zero", "resetlog", "internal"]) {
      if (substr(this.out, cmd, w)) throw new Exit(EX_USAGE, `fake ipfw: ${w} is not implemented`);
    }
    throw new Exit(EX_USAGE, `bad command \`${cmd}'`);
  }

  // ---------------------------------------------------------------- tables
  table(av: string[]): void {
    if (av.length === 0) throw new Exit(EX_USAGE, "table needs name");
    const name = av[0] as string;
    let isAll = false;
    if (!checkName(name)) {
      if (name === "all") isAll = true;
      else throw new Exit(EX_USAGE, `table name ${name} is invalid`);
    }
    av = av.slice(1);
    if (av.length === 0) throw new Exit(EX_USAGE, "table needs command");
    let cmd = getToken(TABLE_CMDS, av[0] as string, "table command");
    let atomic = false;
    if (cmd === "atomic") {
      av = av.slice(1);
      if (av.length === 0) throw new Exit(EX_USAGE, "atomic needs command");
      cmd = getToken(TABLE_CMDS, av[0] as string, "table command");
      if (cmd !== "add") throw new Exit(EX_USAGE, `atomic is not compatible with ${av[0]}`);
      atomic = true;
    }
    if (isAll && !["list", "info", "detail", "flush", "destroy"].includes(cmd)) {
      throw new Exit(EX_USAGE, "table name required");
    }
    const rest = av.slice(1);
    switch (cmd) {
      case "add":
      case "delete":
        return this.modifyRecords(name, rest, cmd === "add", atomic);
      case "create":
        return this.create(name, rest);
      case "destroy":
        if (isAll) {
          for (const t of this.sortedTables()) {
            if (this.references(t) > 0) {
              if (!this.opt.quiet) {
                this.out.warnx(`failed to destroy table(${t}) in set 0: Device busy`);
              }
            } else delete this.state.tables[t];
          }
          return;
        }
        if (this.state.tables[name] === undefined) {
          if (!this.opt.quiet) this.out.warnx(`failed to destroy table ${name}: No such process`);
          return;
        }
        if (this.references(name) > 0) {
          throw new Exit(EX_OSERR, `failed to destroy table ${name}: Device busy`);
        }
        delete this.state.tables[name];
        return;
      case "flush":
        if (isAll) {
          for (const t of this.sortedTables()) (this.state.tables[t] as TableState).entries = {};
          return;
        }
        if (this.state.tables[name] === undefined) {
          if (!this.opt.quiet) {
            this.out.warnx(`failed to flush table ${name} info: No such process`);
          }
          return;
        }
        (this.state.tables[name] as TableState).entries = {};
        return;
      case "info":
      case "detail":
        if (isAll) {
          for (const t of this.sortedTables()) this.showInfo(t, cmd === "detail");
          return;
        }
        if (this.state.tables[name] === undefined) {
          throw new Exit(EX_OSERR, "failed to request table info: No such process");
        }
        return this.showInfo(name, cmd === "detail");
      case "list":
        if (isAll) {
          for (const t of this.sortedTables()) this.showList(t, true);
          return;
        }
        if (this.state.tables[name] === undefined) {
          throw new Exit(EX_OSERR, "failed to request table info: No such process");
        }
        return this.showList(name, false);
      case "lookup":
        return this.lookup(name, rest);
      case "lock":
      case "unlock": {
        const t = this.state.tables[name];
        if (t === undefined) {
          throw new Exit(
            EX_OSERR,
            `Table ${cmd === "lock" ? "lock" : "unlock"} failed: No such process`,
          );
        }
        t.locked = cmd === "lock";
        return;
      }
      default:
        throw new Exit(EX_USAGE, `fake ipfw: table ${cmd} is not implemented`);
    }
  }

  sortedTables(): string[] {
    return Object.keys(this.state.tables).sort(stringnumCmp);
  }

  references(table: string): number {
    const needle = new RegExp(`table\\(${table.replace(/[.\-]/g, "\\$&")}(,[^)]*)?\\)`);
    return this.state.rules.filter((r) => needle.test(r.text)).length;
  }

  create(name: string, av: string[]): void {
    let type: TableState["type"] = "addr";
    let valtype = "legacy";
    let algo = "";
    let limit = 0;
    let locked = false;
    while (av.length > 0) {
      const opt = getToken(CREATE_OPTS, av[0] as string, "option");
      av = av.slice(1);
      switch (opt) {
        case "limit":
          if (av.length === 0) throw new Exit(EX_USAGE, "limit value required");
          limit = Math.max(0, atoi(av[0] as string));
          av = av.slice(1);
          break;
        case "type": {
          if (av.length === 0) throw new Exit(EX_USAGE, "table type required");
          const word = av[0] as string;
          const base = word.split(":", 1)[0] as string;
          if (!(TABLE_TYPES as readonly string[]).includes(base)) {
            throw new Exit(
              EX_USAGE,
              `Unknown tabletype: ${base}. Supported: ${TABLE_TYPES.join(", ")}`,
            );
          }
          type = base as TableState["type"];
          if (word.includes(":") && type !== "flow") {
            throw new Exit(EX_USAGE, `Unsupported suboptions: ${word.slice(base.length + 1)}`);
          }
          av = av.slice(1);
          break;
        }
        case "valtype": {
          if (av.length === 0) throw new Exit(EX_USAGE, "table value type required");
          const bad = (av[0] as string).split(",").find((v) => !VALTYPES.includes(v));
          if (bad !== undefined) {
            throw new Exit(
              EX_USAGE,
              `Unknown value type: ${bad}. Supported: ${VALTYPES.join(", ")}`,
            );
          }
          valtype = av[0] as string;
          av = av.slice(1);
          break;
        }
        case "algo":
          if (av.length === 0) throw new Exit(EX_USAGE, "table algorithm name required");
          algo = av[0] as string;
          av = av.slice(1);
          break;
        case "locked":
          locked = true;
          break;
      }
    }
    if (this.state.tables[name] !== undefined) {
      throw new Exit(EX_OSERR, "Table creation failed: File exists");
    }
    this.state.tables[name] = {
      type,
      valtype,
      algo: algo || DEFAULT_ALGO[type],
      limit,
      locked,
      kindex: this.freeKindex(),
      entries: {},
    };
  }

  freeKindex(): number {
    const used = new Set(Object.values(this.state.tables).map((t) => t.kindex));
    let k = 1;
    while (used.has(k)) k++;
    return k;
  }

  showInfo(name: string, detail: boolean): void {
    const t = this.state.tables[name] as TableState;
    const count = Object.keys(t.entries).length;
    this.out.print(`--- table(${name}), set(0) ---`);
    this.out.print(` kindex: ${t.kindex}, type: ${t.type}${t.locked ? ", locked" : ""}`);
    this.out.print(` references: ${this.references(name)}, valtype: ${t.valtype}`);
    this.out.print(` algorithm: ${t.algo}`);
    this.out.print(` items: ${count}, size: ${count * 192}`);
    if (t.limit > 0) this.out.print(` limit: ${t.limit}`);
    if (detail && t.type === "addr") {
      const v4 = Object.keys(t.entries).filter((k) => !k.includes(":")).length;
      this.out.print(" IPv4 algorithm radix info");
      this.out.print(`  items: ${v4} itemsize: 200`);
      this.out.print(" IPv6 algorithm radix info");
      this.out.print(`  items: ${count - v4} itemsize: 200`);
    }
  }

  showList(name: string, header: boolean): void {
    const t = this.state.tables[name] as TableState;
    if (header) this.out.print(`--- table(${name}), set(0) ---`);
    const keys = Object.keys(t.entries);
    keys.sort(t.type === "addr" ? entryOrder : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const key of keys) {
      this.out.print(`${key} ${formatValue(t.entries[key] as number, this.opt.valueAsIp)}`);
    }
  }

  /** tentry_fill_key(): table info, auto-create on add, then the key for the table type. */
  fillKey(
    name: string,
    key: string,
    add: boolean,
  ): { table: TableState; stored: string; shown: string } {
    let table = this.state.tables[name];
    if (table === undefined) {
      if (!add) throw new Exit(EX_DATAERR, `Table ${name} does not exist`);
      const type = guessKeyType(key);
      if (type === undefined) {
        throw new Exit(EX_USAGE, `Table ${name} does not exist, cannot guess key '${key}' type`);
      }
      if (!this.opt.quiet) {
        this.out.warnx(
          `DEPRECATED: inserting data into non-existent table ${name}. (auto-created)`,
        );
      }
      table = {
        type,
        valtype: "legacy",
        algo: DEFAULT_ALGO[type],
        limit: 0,
        locked: false,
        kindex: this.freeKindex(),
        entries: {},
      };
      this.state.tables[name] = table;
    }
    switch (table.type) {
      case "addr": {
        const k = parseAddrKey(key);
        if (k.masklen < 0) return { table, stored: "", shown: keyText(k, false) };
        return { table, stored: keyText(k, true), shown: keyText(k, false) };
      }
      case "number": {
        if (!/^[+-]?\d+$/.test(key)) throw new Exit(EX_DATAERR, `Invalid number: ${key}`);
        const n = String(Number(BigInt.asUintN(32, BigInt(key))));
        return { table, stored: n, shown: n };
      }
      case "iface": {
        const n = key.slice(0, 15);
        return { table, stored: n, shown: n };
      }
      default:
        throw new Exit(EX_USAGE, `fake ipfw: keys of ${table.type} tables are not implemented`);
    }
  }

  /** table_modify_record() and the kernel's add/del of table entries. */
  modifyRecords(name: string, av: string[], add: boolean, atomic: boolean): void {
    if (av.length === 0) throw new Exit(EX_USAGE, "address required");
    const quiet = this.opt.quiet;
    const update = quiet;
    type Req = { stored: string; shown: string; value: number; result: string };
    const reqs: Req[] = [];
    let table: TableState | undefined;
    // An index, not av.slice(1) per argument: a 4,000-entry add would copy the argv 8,000 times.
    for (let i = 0; i < av.length;) {
      const key = av[i++] as string;
      const filled = this.fillKey(name, key, add);
      table = filled.table;
      let value = 0;
      if (add && i < av.length) value = parseLegacyValue(av[i++] as string);
      reqs.push({ stored: filled.stored, shown: filled.shown, value, result: "ignored" });
    }
    const t = table as TableState;
    let error: string | undefined;
    if (t.locked) {
      error = "table is locked";
    } else {
      const before = { ...t.entries };
      for (const r of reqs) {
        if (r.stored === "") {
          r.result = "error";
          error ??= "Invalid argument";
          continue;
        }
        const exists = Object.hasOwn(t.entries, r.stored);
        if (add) {
          if (exists && update) {
            t.entries[r.stored] = r.value;
            r.result = "updated";
          } else if (exists) {
            r.result = "exists";
            error ??= "record already exists";
          } else if (t.limit > 0 && Object.keys(t.entries).length >= t.limit) {
            r.result = "limit";
            error ??= "limit hit";
          } else {
            t.entries[r.stored] = r.value;
            r.result = "added";
          }
        } else if (exists) {
          delete t.entries[r.stored];
          r.result = "deleted";
        } else {
          r.result = "notfound";
          error ??= "record not found";
        }
      }
      if (atomic && error !== undefined) t.entries = before;
    }
    const compat = error === undefined ||
      (add && error === "record already exists") || (!add && error === "record not found");
    if (compat && quiet) return;
    for (const r of reqs) {
      const ok = r.result === "added" || r.result === "deleted" || r.result === "updated";
      const px = error !== undefined && atomic && ok ? `${r.result}(reverted)` : r.result;
      this.out.print(`${px}: ${r.shown} ${formatValue(r.value, this.opt.valueAsIp)}`);
    }
    if (error === undefined) return;
    throw new Exit(EX_OSERR, `${add ? "Adding" : "Deleting"} record failed: ${error}`);
  }

  lookup(name: string, av: string[]): void {
    if (av.length === 0) throw new Exit(EX_USAGE, "address required");
    const key = (av[0] as string).slice(0, 63);
    const { table } = this.fillKey(name, key, false);
    if (table.type !== "addr") {
      const hit = table.entries[key];
      if (hit === undefined) throw new Exit(EX_UNAVAILABLE, `Entry ${av[0]} not found`);
      this.out.print(`${key} ${formatValue(hit, this.opt.valueAsIp)}`);
      return;
    }
    const k = parseAddrKey(key);
    let best: { key: string; len: number } | undefined;
    for (const stored of Object.keys(table.entries)) {
      const s = storedKeyBytes(stored);
      if (s === undefined || s.bytes.length !== k.bytes.length) continue;
      const a = applyMask(k.bytes, s.len);
      if (a.every((v, i) => v === s.bytes[i]) && (best === undefined || s.len > best.len)) {
        best = { key: stored, len: s.len };
      }
    }
    if (best === undefined) throw new Exit(EX_UNAVAILABLE, `Entry ${av[0]} not found`);
    this.out.print(
      `${best.key} ${formatValue(table.entries[best.key] as number, this.opt.valueAsIp)}`,
    );
  }

  // ---------------------------------------------------------------- rules (approximate)
  ruleAdd(av: string[]): void {
    let num = 0;
    if (av.length > 0 && /^\d+$/.test(av[0] as string)) {
      num = Number(av[0]);
      if (num < 1 || num > 65534) throw new Exit(EX_DATAERR, `illegal rule number ${av[0]}`);
      av = av.slice(1);
    }
    let set = 0;
    if (av[0] === "set") {
      const s = av[1] ?? "";
      if (!/^\d+$/.test(s) || Number(s) > 30) throw new Exit(EX_DATAERR, `illegal set ${s}`);
      set = Number(s);
      av = av.slice(2);
    }
    if (av[0] === "prob") av = av.slice(2);
    const actions = [
      "allow",
      "accept",
      "pass",
      "permit",
      "deny",
      "drop",
      "reject",
      "reset",
      "reset6",
      "unreach",
      "unreach6",
      "count",
      "skipto",
      "check-state",
    ];
    const action = av[0];
    if (action === undefined) throw new Exit(EX_USAGE, "missing action");
    if (!actions.includes(action)) throw new Exit(EX_DATAERR, `invalid action ${action}`);
    if (action !== "check-state" && (!av.includes("from") || !av.includes("to"))) {
      throw new Exit(EX_USAGE, "missing ``to''");
    }
    for (const word of av) {
      const m = /^'?table\(([^,)]*)(,[^)]*)?\)'?$/.exec(word);
      if (!m) continue;
      const t = m[1] as string;
      if (!checkName(t)) throw new Exit(EX_DATAERR, `table name ${t} is invalid`);
      if (this.state.tables[t] === undefined) {
        this.state.tables[t] = {
          type: "addr",
          valtype: "legacy",
          algo: DEFAULT_ALGO.addr,
          limit: 0,
          locked: false,
          kindex: this.freeKindex(),
          entries: {},
        };
      }
    }
    if (num === 0) {
      const last = this.state.rules.reduce((m, r) => Math.max(m, r.num), 0);
      num = Math.min(65534, last + 100);
    }
    const text = av.join(" ").replace(/^(deny|drop)/, "deny").replace(/'/g, "");
    this.state.rules.push({ num, set, text });
    this.state.rules.sort((a, b) => a.num - b.num);
    if (!this.opt.quiet) this.out.print(`${String(num).padStart(5, "0")} ${text}`);
  }

  ruleDelete(av: string[]): void {
    if (av.length === 0) throw new Exit(EX_USAGE, "missing rule specification");
    let exitval = 0;
    for (const spec of av) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
      if (!m) throw new Exit(EX_USAGE, `invalid rule number: ${spec}`);
      const lo = Number(m[1]);
      const hi = m[2] === undefined ? lo : Number(m[2]);
      const set = this.opt.useSet - 1;
      const before = this.state.rules.length;
      this.state.rules = this.state.rules.filter((r) =>
        !(r.num >= lo && r.num <= hi && (set < 0 || r.set === set))
      );
      if (this.state.rules.length === before) {
        exitval = EX_UNAVAILABLE;
        if (this.opt.quiet) continue;
        this.out.warnx(lo === hi ? `rule ${lo} not found` : `no rules rules in ${lo}-${hi} range`);
      }
    }
    if (exitval !== 0 && !this.opt.force) throw new Exit(exitval);
  }

  ruleList(av: string[], counters: boolean): void {
    const want = av.length > 0 ? Number(av[0]) : undefined;
    const rows = [...this.state.rules, { num: 65535, set: 31, text: "deny ip from any to any" }];
    for (const r of rows) {
      if (want !== undefined && r.num !== want) continue;
      if (this.opt.useSet !== 0 && r.set !== this.opt.useSet - 1) continue;
      const num = String(r.num).padStart(5, "0");
      this.out.print(counters ? `${num} 0 0 ${r.text}` : `${num} ${r.text}`);
    }
  }
}

function usage(): Exit {
  return new Exit(EX_USAGE, 'usage: ipfw [options]\ndo "ipfw -h" or "man ipfw" for details');
}

// ---------------------------------------------------------------- entry point
async function main(args: string[]): Promise<number> {
  const statePath = Deno.env.get("FAKE_IPFW_STATE");
  const logPath = Deno.env.get("FAKE_IPFW_LOG");
  if (logPath) Deno.writeTextFileSync(logPath, JSON.stringify(args) + "\n", { append: true });
  if (!statePath) {
    await write(Deno.stderr, "fake ipfw: FAKE_IPFW_STATE is not set\n");
    return EX_OSERR;
  }
  const fail = Deno.env.get("FAKE_IPFW_FAIL") ?? "";
  const failOn = Deno.env.get("FAKE_IPFW_FAIL_ON");
  const eligible = failOn === undefined || failOn === "" || args.some((a) => a.includes(failOn));
  const out = new Out();
  let code = 0;
  const result = await withLock(statePath, () => {
    const state = loadState(statePath);
    state.calls++;
    if (eligible && (fail === "always" || (fail === "every3" && state.calls % 3 === 0))) {
      saveState(statePath, state);
      return "fail" as const;
    }
    if (eligible && fail === "hang") return "hang" as const;
    // a bare absolute path as last argument is a command file (main() in main.c)
    const last = args[args.length - 1];
    if (args.length > 0 && last !== undefined && last.startsWith("/")) {
      let readable = true;
      try {
        Deno.statSync(last);
      } catch {
        readable = false;
      }
      out.warnx(
        readable
          ? "fake ipfw: command files are not implemented"
          : `pathname: ${last}: No such file or directory`,
      );
      code = EX_USAGE;
      saveState(statePath, state);
      return "done" as const;
    }
    const opt: Options = {
      quiet: false,
      force: !Deno.stdin.isTerminal(),
      valueAsIp: false,
      useSet: 0,
    };
    const working: State = structuredClone(state);
    try {
      new Ipfw(working, out, opt).main(args);
      saveState(statePath, working);
    } catch (e) {
      if (!(e instanceof Exit)) throw e;
      code = e.code;
      if (e.message) out.warnx(e.message);
      // errx() exits mid-way: kernel changes already made stay (auto-create, applied entries)
      saveState(statePath, working);
    }
    return "done" as const;
  });
  if (result === "fail") {
    await write(Deno.stderr, `ipfw: fake failure (FAKE_IPFW_FAIL=${fail})\n`);
    return 1;
  }
  if (result === "hang") {
    await new Promise(() => setInterval(() => {}, 1 << 30));
  }
  await write(Deno.stdout, out.stdout);
  await write(Deno.stderr, out.stderr);
  return code;
}

async function write(
  stream: { write(p: Uint8Array): Promise<number> },
  text: string,
): Promise<void> {
  let data = new TextEncoder().encode(text);
  while (data.length > 0) data = data.subarray(await stream.write(data));
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
