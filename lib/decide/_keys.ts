/**
 * Keys and texts of the decision state, private to decide/: the `jail\0rest` map keys, the
 * compact address-window keys and times, and {@link detach}, which copies texts out of log
 * lines before they are kept.
 *
 * An IPv4 address is keyed by its 32 bits as a signed integer (a small integer in V8, no string
 * kept), an IPv6 address by its canonical text; a window with one failure holds a bare number,
 * only longer ones an array. With no per-window object or `jail\0addr` string, 1,000,000 windows
 * take ~45 MB of heap instead of ~330 MB.
 * @module
 */
import { type IpAddress, parseIp } from "../core/mod.ts";

/** Separator of the two parts of a `jail\0target` (or `jail\0addr`, `jail\0prefix`) key. */
export const SEP = "\u0000";

/** An address window's key: IPv4 as its 32 bits in a signed integer, IPv6 as canonical text. */
export type WindowKey = number | string;

/** An address window's failure times: one time, or two or more ascending. */
export type WindowTimes = number | number[];

/**
 * A copy of a string that shares no memory with it. V8 keeps a substring of 13+ characters
 * as a slice of its parent (a log line, itself a slice of the 1 MiB read buffer); keeping
 * that slice would keep the whole buffer alive. Flattening a fresh concatenation copies it.
 * @param text the text to copy
 */
export function detach(text: string): string {
  return (" " + text).slice(1);
}

/**
 * Splits a "jail\0rest" key.
 * @param key a key made with {@link SEP}
 */
export function splitKey(key: string): [string, string] {
  const at = key.indexOf(SEP);
  return [key.slice(0, at), key.slice(at + 1)];
}

/**
 * The window key of an address (see {@link WindowKey}).
 * @param addr the address
 */
export function keyOf(addr: IpAddress): WindowKey {
  if (addr.family === 4) {
    const b = addr.bytes;
    return (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!;
  }
  return addr.text;
}

/**
 * The window key of an address text; a text that is no address is its own key.
 * @param text canonical address text
 */
export function keyOfText(text: string): WindowKey {
  const addr = parseIp(text);
  return addr === undefined ? detach(text) : addr.family === 4 ? keyOf(addr) : detach(addr.text);
}

/**
 * The canonical address text of a window key.
 * @param key the window key
 */
export function textOf(key: WindowKey): string {
  if (typeof key === "string") return key;
  return `${key >>> 24}.${(key >>> 16) & 255}.${(key >>> 8) & 255}.${key & 255}`;
}

/**
 * A fresh array of a window's times.
 * @param times the window's times, or undefined for none
 */
export function timesArray(times: WindowTimes | undefined): number[] {
  return times === undefined ? [] : typeof times === "number" ? [times] : [...times];
}

/**
 * How many failure times a window holds.
 * @param times the window's times
 */
export function timesCount(times: WindowTimes): number {
  return typeof times === "number" ? 1 : times.length;
}

/**
 * The newest failure time of a window.
 * @param times the window's times
 */
export function newestOf(times: WindowTimes): number {
  return typeof times === "number" ? times : times[times.length - 1]!;
}

/**
 * Inserts t into the ascending array.
 * @param times ascending times (mutated)
 * @param t the time to add
 */
export function insertSorted(times: number[], t: number): void {
  let i = times.length;
  while (i > 0 && times[i - 1]! > t) i--;
  times.splice(i, 0, t);
}

/**
 * Host target text of an address: "1.2.3.4/32", "2001:db8::1/128".
 * @param addr the address
 */
export function hostTarget(addr: IpAddress): string {
  return addr.family === 4 ? `${addr.text}/32` : `${addr.text}/128`;
}
