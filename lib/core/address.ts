/**
 * IP addresses and CIDR blocks: a strict, hand-written parser (never throws on garbage),
 * RFC 5952 canonical text, prefix masking and a matcher for ignore lists. Pure, no I/O.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, in any text form) are IPv4 addresses: one
 * attacker is one key whatever the socket family of the logging daemon.
 * IPv6 text is always written in hexadecimal (RFC 5952 §4: lowercase, no leading zeros,
 * the longest run of two or more zero groups compressed, the first such run on a tie).
 * @module
 */

/** Address family: 4 or 6. */
export type IpFamily = 4 | 6;

/** A parsed address: 4 or 16 network-order bytes and its canonical text. */
export interface IpAddress {
  /** 4 or 6. */
  readonly family: IpFamily;
  /** 4 bytes (IPv4) or 16 bytes (IPv6), network order; may be a view of a shared buffer: do not mutate. */
  readonly bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 IPv6. */
  readonly text: string;
}

/** A network block: masked bytes, prefix length and canonical text ("1.2.3.0/24"). */
export interface Cidr {
  /** 4 or 6. */
  readonly family: IpFamily;
  /** Network bytes with the host bits cleared; may be a view of a shared buffer: do not mutate. */
  readonly bytes: Uint8Array;
  /** Prefix length, 0-32 or 0-128. */
  readonly prefix: number;
  /** Canonical text, always with the prefix: "1.2.3.4/32", "2001:db8::/32". */
  readonly text: string;
}

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_COLON = 58;
const CH_LOWER_A = 97;
const CH_LOWER_F = 102;
const CH_UPPER_A = 65;
const CH_UPPER_F = 70;
/** Longest valid IPv6 text: 6 full groups and a dotted quad. */
const MAX_IPV6_TEXT = 45;

/**
 * Allocating an ArrayBuffer costs about a microsecond, so address bytes are views into shared
 * 4 KiB slabs (about 25 ns each). A slab is freed when no view of it is left.
 */
const SLAB_SIZE = 4096;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/** A fresh zero-filled view of n (4 or 16) bytes. */
function alloc(n: number): Uint8Array {
  if (slabUsed + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return view;
}

/** Scratch space of the IPv6 parser (single-threaded, not re-entrant). */
const WORDS = new Uint16Array(8);
const TAIL = new Uint8Array(4);

/** Parses a dotted quad in s[start, end) into out[off..off+3]; false when invalid. */
function parseIpv4Into(
  s: string,
  start: number,
  end: number,
  out: Uint8Array,
  off: number,
): boolean {
  let i = start;
  let parts = 0;
  for (;;) {
    const first = i;
    let v = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < CH_0 || c > CH_9) break;
      v = v * 10 + (c - CH_0);
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || v > 255) return false;
    if (digits > 1 && s.charCodeAt(first) === CH_0) return false; // leading zero (octal ambiguity)
    out[off + parts] = v;
    parts++;
    if (i === end) return parts === 4;
    if (parts === 4 || s.charCodeAt(i) !== CH_DOT) return false;
    i++;
  }
}

/** Value of a hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  if (c >= CH_LOWER_A && c <= CH_LOWER_F) return c - CH_LOWER_A + 10;
  if (c >= CH_UPPER_A && c <= CH_UPPER_F) return c - CH_UPPER_A + 10;
  return -1;
}

/** Parses any RFC 4291 IPv6 text form (no zone, no brackets) into 16 bytes. */
function parseIpv6Bytes(s: string): Uint8Array | undefined {
  const n = s.length;
  if (n < 2 || n > MAX_IPV6_TEXT) return undefined;
  const words = WORDS;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === CH_COLON) {
    if (s.charCodeAt(1) !== CH_COLON) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let v = 0;
    while (i < n) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      i++;
    }
    if (i < n && s.charCodeAt(i) === CH_DOT) {
      // Embedded IPv4: must be the last 32 bits.
      if (count > 6) return undefined;
      const tail = TAIL;
      if (!parseIpv4Into(s, start, n, tail, 0)) return undefined;
      words[count++] = (tail[0]! << 8) | tail[1]!;
      words[count++] = (tail[2]! << 8) | tail[3]!;
      i = n;
      break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4 || count === 8) return undefined;
    words[count++] = v;
    if (i === n) break;
    if (s.charCodeAt(i) !== CH_COLON) return undefined;
    i++;
    if (i === n) return undefined; // trailing single colon
    if (s.charCodeAt(i) === CH_COLON) {
      if (gap >= 0) return undefined; // a second "::"
      gap = count;
      i++;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return undefined;
  const bytes = alloc(16);
  const after = gap < 0 ? 0 : count - gap;
  const before = count - after;
  for (let w = 0; w < before; w++) {
    bytes[w * 2] = words[w]! >> 8;
    bytes[w * 2 + 1] = words[w]! & 0xff;
  }
  for (let w = 0; w < after; w++) {
    const at = 8 - after + w;
    bytes[at * 2] = words[before + w]! >> 8;
    bytes[at * 2 + 1] = words[before + w]! & 0xff;
  }
  return bytes;
}

/** True for ::ffff:0:0/96 (IPv4-mapped). */
function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Dotted-quad text of 4 bytes starting at off. */
function formatIpv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text of 16 bytes. */
function formatIpv6(b: Uint8Array): string {
  const words = WORDS;
  for (let w = 0; w < 8; w++) words[w] = (b[w * 2]! << 8) | b[w * 2 + 1]!;
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed
  for (let w = 0; w < 8;) {
    if (words[w] !== 0) {
      w++;
      continue;
    }
    const start = w;
    while (w < 8 && words[w] === 0) w++;
    if (w - start > bestLen) {
      bestStart = start;
      bestLen = w - start;
    }
  }
  let out = "";
  for (let w = 0; w < 8; w++) {
    if (w === bestStart) {
      out += "::";
      w += bestLen - 1;
      continue;
    }
    if (out !== "" && !out.endsWith(":")) out += ":";
    out += words[w]!.toString(16);
  }
  return out;
}

/** Builds an IpAddress from 16 bytes, turning IPv4-mapped ones into IPv4. */
function fromIpv6Bytes(bytes: Uint8Array): IpAddress {
  if (isMapped(bytes)) {
    const v4 = alloc(4);
    v4.set(bytes.subarray(12, 16));
    return { family: 4, bytes: v4, text: formatIpv4(v4, 0) };
  }
  return { family: 6, bytes, text: formatIpv6(bytes) };
}

/**
 * Parses an IPv4 dotted quad (strict: 4 parts, 0-255, no leading zeros) or any RFC 4291 IPv6
 * text form; returns undefined for anything else (zone ids, brackets, whitespace, junk).
 * @param text the address text
 */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== "string") return undefined;
  if (text.indexOf(":") < 0) {
    const n = text.length;
    if (n < 7 || n > 15) return undefined;
    if (!parseIpv4Into(text, 0, n, TAIL, 0)) return undefined;
    const bytes = alloc(4);
    bytes.set(TAIL);
    return { family: 4, bytes, text }; // strict input is already canonical
  }
  const bytes = parseIpv6Bytes(text);
  return bytes === undefined ? undefined : fromIpv6Bytes(bytes);
}

/** Copies bytes with every bit after `prefix` cleared. */
function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = alloc(bytes.length);
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) out[i] = bytes[i]!;
  const rem = prefix & 7;
  if (rem !== 0) out[full] = bytes[full]! & (0xff << (8 - rem));
  return out;
}

/** Builds a Cidr from unmasked bytes (family from their length). */
function makeCidr(bytes: Uint8Array, prefix: number): Cidr {
  const masked = maskBytes(bytes, prefix);
  if (masked.length === 4) {
    return { family: 4, bytes: masked, prefix, text: `${formatIpv4(masked, 0)}/${prefix}` };
  }
  return { family: 6, bytes: masked, prefix, text: `${formatIpv6(masked)}/${prefix}` };
}

/** Parses a decimal prefix length without sign or leading zeros; -1 when invalid. */
function parsePrefix(s: string, max: number): number {
  const n = s.length;
  if (n === 0 || n > 3 || (n > 1 && s.charCodeAt(0) === CH_0)) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < CH_0 || c > CH_9) return -1;
    v = v * 10 + (c - CH_0);
  }
  return v <= max ? v : -1;
}

/**
 * Parses "addr/len" or a bare address (-> /32 or /128); host bits are masked off.
 * "::ffff:a.b.c.d/len" with len >= 96 becomes the IPv4 block of len - 96.
 * @param text the CIDR text
 */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== "string") return undefined;
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  if (addrText.indexOf(":") < 0) {
    const ip = parseIp(addrText);
    if (ip === undefined) return undefined;
    const prefix = slash < 0 ? 32 : parsePrefix(text.slice(slash + 1), 32);
    return prefix < 0 ? undefined : makeCidr(ip.bytes, prefix);
  }
  const bytes = parseIpv6Bytes(addrText);
  if (bytes === undefined) return undefined;
  const prefix = slash < 0 ? 128 : parsePrefix(text.slice(slash + 1), 128);
  if (prefix < 0) return undefined;
  if (prefix >= 96 && isMapped(bytes)) return makeCidr(bytes.subarray(12, 16), prefix - 96);
  return makeCidr(bytes, prefix);
}

/**
 * The block of `prefix` bits containing `addr`; throws RangeError for a prefix outside 0-32/0-128.
 * @param addr the address
 * @param prefix the prefix length
 */
export function cidrOf(addr: IpAddress, prefix: number): Cidr {
  const max = addr.family === 4 ? 32 : 128;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new RangeError(
      `Cannot build an IPv${addr.family} block: prefix must be an integer 0-${max}: current value is ${prefix}`,
    );
  }
  return makeCidr(addr.bytes, prefix);
}

/**
 * True when `addr` lies inside `cidr`; always false across families.
 * @param cidr the block
 * @param addr the address
 */
export function cidrContains(cidr: Cidr, addr: IpAddress): boolean {
  if (cidr.family !== addr.family) return false;
  const a = addr.bytes;
  const c = cidr.bytes;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== c[i]) return false;
  const rem = cidr.prefix & 7;
  if (rem === 0) return true;
  return (a[full]! & (0xff << (8 - rem)) & 0xff) === c[full];
}

/**
 * True for 127.0.0.0/8 and ::1.
 * @param addr the address
 */
export function isLoopback(addr: IpAddress): boolean {
  const b = addr.bytes;
  if (addr.family === 4) return b[0] === 127;
  for (let i = 0; i < 15; i++) if (b[i] !== 0) return false;
  return b[15] === 1;
}

/** Lists at most this long are scanned linearly; longer ones are hashed per prefix length. */
const LINEAR_MATCH_LIMIT = 16;

/** Hash key of the first `prefix` bits of bytes (prefix length included). */
function prefixKey(bytes: Uint8Array, prefix: number): string {
  const full = prefix >> 3;
  let key = `${prefix}/`;
  for (let i = 0; i < full; i++) key += String.fromCharCode(bytes[i]!);
  const rem = prefix & 7;
  if (rem !== 0) key += String.fromCharCode(bytes[full]! & (0xff << (8 - rem)) & 0xff);
  return key;
}

/**
 * Builds a matcher returning the first CIDR of `cidrs` (in list order) containing an address.
 * @param cidrs the blocks, in priority order
 */
export function createIpMatcher(cidrs: readonly Cidr[]): (addr: IpAddress) => Cidr | undefined {
  const list = cidrs.slice();
  if (list.length <= LINEAR_MATCH_LIMIT) {
    return (addr) => {
      for (const c of list) if (cidrContains(c, addr)) return c;
      return undefined;
    };
  }
  // Per family: the distinct prefix lengths, and masked-prefix -> index of the first block.
  const tables = { 4: new Map<string, number>(), 6: new Map<string, number>() };
  const lengths: Record<IpFamily, number[]> = { 4: [], 6: [] };
  list.forEach((c, index) => {
    const key = prefixKey(c.bytes, c.prefix);
    const table = tables[c.family];
    if (!table.has(key)) table.set(key, index);
    if (!lengths[c.family].includes(c.prefix)) lengths[c.family].push(c.prefix);
  });
  return (addr) => {
    const table = tables[addr.family];
    let best = -1;
    for (const p of lengths[addr.family]) {
      const index = table.get(prefixKey(addr.bytes, p));
      if (index !== undefined && (best < 0 || index < best)) best = index;
    }
    return best < 0 ? undefined : list[best];
  };
}

/** A target's text for people: a single address without its /32 or /128, a network as is. */
export function displayTarget(cidrText: string): string {
  return cidrText.replace(/\/(32|128)$/, "");
}
