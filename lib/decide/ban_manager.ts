/**
 * The ban decision core: sliding failure windows per jail and address (and per IPv6/IPv4
 * prefix), bans with `bantime.increment`, expiry, manual bans, bounded memory.
 *
 * Pure and deterministic: no I/O, no clock, no `Deno.*`. Every function takes `now` (epoch
 * seconds) where time matters, mutates the {@link BanState} it is handed (for speed with
 * 1,000,000 addresses) and returns the actions the shell must carry out.
 *
 * Time policy:
 * - Windows use the failure's own (log line) time, clamped to `now` when it lies in the future.
 * - A failure counts while `time >= newest - findTime` (the edge is inclusive, as in fail2ban);
 *   a failure with `time < now - findTime` is not counted at all (catching up an old log).
 * - A ban starts at `now` (not at the line's time): `since = now`, `until = now + duration`.
 *   It is active while `now < until`; `until = Infinity` is forever.
 *
 * Keys: ban targets are CIDR texts ("1.2.3.4/32", "2001:db8:1:2::/64"). Address windows live in
 * one map per jail ({@link AddressWindows}) keyed by a {@link WindowKey}: an IPv4 address is its
 * 32 bits as a signed integer (a small integer in V8, no string kept), an IPv6 address its
 * canonical text; a window with one failure holds a bare number, only longer ones an array. With
 * no per-window object or `jail\0addr` string, 1,000,000 windows take ~45 MB of heap instead of
 * ~330 MB. Texts that may be slices of a log line are copied before they are kept (a V8 sliced
 * string would keep the whole 1 MiB read buffer alive).
 *
 * Memory bound: at most `maxTracked` address windows over all jails. Each jail's map is in least
 * recently failed order; over the cap, the window evicted is the least recently failed one of
 * the jail whose least recently failed window has the oldest newest failure time (exact LRU for
 * one jail, and O(number of jails) per eviction without a per-window sequence number).
 * @module
 */
import { type Cidr, cidrOf, type IpAddress, parseIp } from "../core/mod.ts";

/** Bantime increment settings of one jail (fail2ban's `bantime.increment`). */
export interface BanIncrement {
  /** Off: every ban lasts `banTime`. */
  enabled: boolean;
  /** Used when `multipliers` is empty: banTime * factor * 2^min(previousBans, 20). */
  factor: number;
  /** When not empty: banTime * multipliers[min(previousBans, length - 1)]. */
  multipliers: readonly number[];
  /** Upper bound of an incremented ban in seconds; <= 0 means no bound. */
  maxtime: number;
  /** Count previous bans of the target in every jail, not only this one. */
  overalljails: boolean;
}

/** One jail's counting and banning policy, built by the daemon from its JailConfig. */
export interface BanPolicy {
  /** Jail name. */
  jail: string;
  /** Failures within findTime that trigger a ban (>= 1). */
  maxRetry: number;
  /** Window length in seconds. */
  findTime: number;
  /** Ban length in seconds; Infinity = forever. */
  banTime: number;
  /** Longer bans for repeat offenders. */
  increment: BanIncrement;
  /** IPv6 prefix length counted together (default 64). */
  ipv6Prefix: number;
  /** Distinct failing addresses of one IPv6 prefix within findTime that ban the prefix; undefined = off. */
  ipv6PrefixMaxRetry: number | undefined;
  /** IPv4 prefix length counted together (e.g. 24); undefined = off. */
  ipv4Prefix: number | undefined;
  /** Distinct failing addresses of one IPv4 prefix that ban the prefix; undefined = off. */
  ipv4PrefixMaxRetry: number | undefined;
}

/** Returns why an address must never be banned ("loopback", "ignoreip 10.0.0.0/8"), or undefined. */
export type IgnoreCheck = (addr: IpAddress) => string | undefined;

/** Returns why a prefix must never be banned (it contains an ignored address), or undefined. */
export type IgnorePrefixCheck = (cidr: Cidr) => string | undefined;

/** An active ban. */
export interface BanRecord {
  /** Jail name. */
  jail: string;
  /** CIDR text: "1.2.3.4/32", "2001:db8:1:2::/64". */
  target: string;
  /** Epoch seconds the ban started. */
  since: number;
  /** Epoch seconds it ends; Infinity = forever. */
  until: number;
  /** Failures (or distinct addresses, for a prefix) that triggered it; 0 for manual bans. */
  failures: number;
  /** 1 for a first ban, 2 for the second of this target, ... (counts used for increments). */
  banCount: number;
  /** Who made it. */
  origin: "auto" | "manual" | "restored";
  /** The log line of the failure that triggered it. */
  line?: string;
}

/** What the shell must do. */
export type BanAction =
  /** Add `ban.target` to the firewall; `update` when it was already banned (new `until`). */
  | { kind: "ban"; ban: BanRecord; update?: true }
  /** Remove `target` from the firewall. */
  | { kind: "unban"; jail: string; target: string; reason: "expired" | "manual" }
  /** A ban refused for an ignored address or prefix; emitted once per (jail, addr). */
  | { kind: "refused"; jail: string; addr: string; reason: string };

/** Counters for `status`. */
export interface BanCounters {
  /** Failures counted into a window. */
  counted: number;
  /** Failures older than now - findTime, not counted. */
  stale: number;
  /** Failures with a time in the future, clamped to now. */
  future: number;
  /** Failures of an address already banned in the jail, not counted. */
  whileBanned: number;
  /** Failures of an ignored address, not counted. */
  ignored: number;
  /** Bans made by recordFailure and manualBan. */
  bans: number;
  /** Unbans (expired or manual). */
  unbans: number;
  /** Windows, prefix windows and history entries dropped because maxTracked was reached. */
  evictions: number;
}

/** A failure window of one address in one jail (the row shape of restoreWindow/takeDirty). */
export interface FailureWindow {
  /** Jail name. */
  readonly jail: string;
  /** Canonical address text. */
  readonly addr: string;
  /** Failure times, ascending, at most maxRetry - 1 between calls. */
  times: number[];
}

/** An address window's key: IPv4 as its 32 bits in a signed integer, IPv6 as canonical text. */
export type WindowKey = number | string;

/** An address window's failure times: one time, or two or more ascending. */
export type WindowTimes = number | number[];

/** The address windows of one jail; treat as opaque outside this module. */
export interface AddressWindows {
  /** Jail name. */
  readonly jail: string;
  /** Address key -> failure times; Map order = least recently failed first. */
  readonly times: Map<WindowKey, WindowTimes>;
  /** Keys changed since the last takeDirty() (deleted ones included). */
  readonly dirty: Set<WindowKey>;
  /** Failure times held in `times` (for status). */
  failures: number;
  /** Live iterator over `times` keys, for O(1) eviction (see peekOldest). */
  cursor: Iterator<WindowKey> | undefined;
  /** True when `head` holds the key the cursor returned last and it is still the oldest. */
  peeked: boolean;
  /** The oldest key, valid while `peeked`. */
  head: WindowKey;
}

/**
 * Read-only view of every address window with `jail\0addr` keys, built on demand.
 * @deprecated kept for lib/daemon.ts until it uses windowStats() and forgetWindows().
 */
export interface WindowsView {
  /** Windows held in all jails. */
  readonly size: number;
  /** Every window as a fresh row. */
  values(): IterableIterator<FailureWindow>;
  /** Every window with its `jail\0addr` key. */
  [Symbol.iterator](): IterableIterator<[string, FailureWindow]>;
  /** Forgets the window of a `jail\0addr` key (reported by takeDirty()); true when it existed. */
  delete(key: string): boolean;
}

/** Failing addresses and their failure count in one jail. */
export interface WindowStats {
  /** Addresses with an open window. */
  addrs: number;
  /** Failures in those windows. */
  failures: number;
}

/** Distinct failing addresses of one prefix in one jail: address -> last failure time. */
export interface PrefixWindow {
  /** Jail name. */
  readonly jail: string;
  /** CIDR text of the prefix. */
  readonly prefix: string;
  /** Failing address -> its last failure time. */
  readonly members: Map<string, number>;
}

/** Previous bans of one target (in one jail, or overall). */
export interface HistoryEntry {
  /** Jail name ("" in the all-jails map). */
  readonly jail: string;
  /** Ban target (CIDR text). */
  readonly target: string;
  /** Bans made so far. */
  count: number;
  /** Epoch seconds of the last one. */
  last: number;
}

/** Mutable decision state; treat as opaque outside this module (use the functions). */
export interface BanState {
  /** Cap of windows, prefix windows, history entries and refused pairs (each). */
  readonly maxTracked: number;
  /** jail -> its address windows (created on the jail's first failure or restore). */
  readonly jails: Map<string, AddressWindows>;
  /** Address windows held in all jails (<= maxTracked after every call). */
  tracked: number;
  /** @deprecated a view for lib/daemon.ts until it uses windowStats() and forgetWindows(). */
  readonly windows: WindowsView;
  /** jail\0prefix -> prefix window; least recently failed first. */
  readonly prefixes: Map<string, PrefixWindow>;
  /** jail\0target -> active ban (never evicted). */
  readonly bans: Map<string, BanRecord>;
  /** jail\0target -> previous bans in that jail; least recently banned first. */
  readonly history: Map<string, HistoryEntry>;
  /** target -> previous bans in all jails; least recently banned first. */
  readonly overall: Map<string, HistoryEntry>;
  /** jail\0addr pairs already reported as refused. */
  readonly refused: Set<string>;
  /** Keys changed since the last takeDirty() (address windows: per jail, in `jails`). */
  readonly dirty: {
    prefixes: Set<string>;
    bans: Set<string>;
    history: Set<string>;
  };
  /** Counters for `status`. */
  readonly counters: BanCounters;
  /** Cached earliest `until`; undefined = recompute. */
  nextExpiry: number | undefined;
}

/** Changes since the previous takeDirty(), to persist in one transaction. */
export interface DirtyState {
  /** Windows to upsert; empty `times` = delete the row. */
  windows: Array<{ jail: string; addr: string; times: number[] }>;
  /** Prefix windows to upsert; empty `members` = delete the row. */
  prefixes: Array<{ jail: string; prefix: string; members: Array<{ addr: string; time: number }> }>;
  /** Bans to upsert; `ban` undefined = delete the row. */
  bans: Array<{ jail: string; target: string; ban: BanRecord | undefined }>;
  /** Per-jail ban history to upsert; count 0 = delete the row. */
  history: Array<{ jail: string; target: string; count: number; last: number }>;
}

/** Summary numbers for `status`. */
export interface BanStats extends BanCounters {
  /** Address windows held. */
  tracked: number;
  /** Prefix windows held. */
  trackedPrefixes: number;
  /** Active bans. */
  active: number;
  /** Per-jail history entries held. */
  historyEntries: number;
}

const SEP = "\u0000";

/**
 * Creates an empty state; `maxTracked` bounds windows, prefix windows, history and refused pairs.
 * @param options the cap (>= 1)
 */
export function createBanState(options: { maxTracked: number }): BanState {
  if (!Number.isInteger(options.maxTracked) || options.maxTracked < 1) {
    throw new RangeError(
      `Cannot create ban state: maxTracked must be an integer >= 1: current value is ${options.maxTracked}`,
    );
  }
  const state: BanState = {
    maxTracked: options.maxTracked,
    jails: new Map(),
    tracked: 0,
    get windows(): WindowsView {
      return windowsView(state);
    },
    prefixes: new Map(),
    bans: new Map(),
    history: new Map(),
    overall: new Map(),
    refused: new Set(),
    dirty: { prefixes: new Set(), bans: new Set(), history: new Set() },
    counters: {
      counted: 0,
      stale: 0,
      future: 0,
      whileBanned: 0,
      ignored: 0,
      bans: 0,
      unbans: 0,
      evictions: 0,
    },
    nextExpiry: Infinity,
  };
  return state;
}

/**
 * A copy of a string that shares no memory with it. V8 keeps a substring of 13+ characters
 * as a slice of its parent (a log line, itself a slice of the 1 MiB read buffer); keeping
 * that slice would keep the whole buffer alive. Flattening a fresh concatenation copies it.
 */
function detach(text: string): string {
  return (" " + text).slice(1);
}

/** The window key of an address (see {@link WindowKey}). */
function keyOf(addr: IpAddress): WindowKey {
  if (addr.family === 4) {
    const b = addr.bytes;
    return (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!;
  }
  return addr.text;
}

/** The window key of an address text; a text that is no address is its own key. */
function keyOfText(text: string): WindowKey {
  const addr = parseIp(text);
  return addr === undefined ? detach(text) : addr.family === 4 ? keyOf(addr) : detach(addr.text);
}

/** The canonical address text of a window key. */
function textOf(key: WindowKey): string {
  if (typeof key === "string") return key;
  return `${key >>> 24}.${(key >>> 16) & 255}.${(key >>> 8) & 255}.${key & 255}`;
}

/** A fresh array of a window's times. */
function timesArray(times: WindowTimes | undefined): number[] {
  return times === undefined ? [] : typeof times === "number" ? [times] : [...times];
}

/** How many failure times a window holds. */
function timesCount(times: WindowTimes): number {
  return typeof times === "number" ? 1 : times.length;
}

/** The newest failure time of a window. */
function newestOf(times: WindowTimes): number {
  return typeof times === "number" ? times : times[times.length - 1]!;
}

/** The address windows of a jail, created empty when missing. */
function jailWindows(state: BanState, jail: string): AddressWindows {
  let jw = state.jails.get(jail);
  if (jw === undefined) {
    jw = {
      jail,
      times: new Map(),
      dirty: new Set(),
      failures: 0,
      cursor: undefined,
      peeked: false,
      head: 0,
    };
    state.jails.set(jail, jw);
  }
  return jw;
}

/** Removes a window without marking it dirty; returns its times (undefined when none). */
function unlinkWindow(
  state: BanState,
  jw: AddressWindows,
  key: WindowKey,
): WindowTimes | undefined {
  const times = jw.times.get(key);
  if (times === undefined) return undefined;
  jw.times.delete(key);
  if (jw.peeked && jw.head === key) jw.peeked = false;
  jw.failures -= timesCount(times);
  state.tracked--;
  return times;
}

/** Appends a window (as the most recently failed) and marks it dirty; it must not be held. */
function linkWindow(
  state: BanState,
  jw: AddressWindows,
  key: WindowKey,
  times: WindowTimes,
): void {
  jw.times.set(key, times);
  jw.failures += timesCount(times);
  state.tracked++;
}

/** Deletes an address window and marks it dirty when there was one. */
function deleteWindow(state: BanState, jw: AddressWindows | undefined, key: WindowKey): void {
  if (jw !== undefined && unlinkWindow(state, jw, key) !== undefined) jw.dirty.add(key);
}

/**
 * The least recently failed key of a jail's non-empty windows, without removing it. The live
 * iterator works as in {@link oldestKey}; `head` remembers the key it returned until that key
 * is deleted or moved to the end (unlinkWindow clears `peeked`).
 */
function peekOldest(jw: AddressWindows): WindowKey {
  if (jw.peeked) return jw.head;
  let r = jw.cursor?.next();
  if (jw.cursor === undefined || r === undefined || r.done) {
    jw.cursor = jw.times.keys();
    r = jw.cursor.next();
  }
  jw.head = r.value as WindowKey;
  jw.peeked = true;
  return jw.head;
}

/** Evicts address windows over the cap (see the module doc for the choice across jails). */
function evictWindows(state: BanState): void {
  while (state.tracked > state.maxTracked) {
    let victim: AddressWindows | undefined;
    let victimTime = Infinity;
    for (const jw of state.jails.values()) {
      if (jw.times.size === 0) continue;
      const t = newestOf(jw.times.get(peekOldest(jw))!);
      if (victim === undefined || t < victimTime) {
        victim = jw;
        victimTime = t;
      }
    }
    if (victim === undefined) return;
    deleteWindow(state, victim, peekOldest(victim));
    state.counters.evictions++;
  }
}

/** Builds the deprecated `state.windows` view. */
function windowsView(state: BanState): WindowsView {
  function* entries(): IterableIterator<[string, FailureWindow]> {
    for (const jw of state.jails.values()) {
      for (const [key, times] of jw.times) {
        const addr = textOf(key);
        yield [jw.jail + SEP + addr, { jail: jw.jail, addr, times: timesArray(times) }];
      }
    }
  }
  return {
    get size(): number {
      return state.tracked;
    },
    *values(): IterableIterator<FailureWindow> {
      for (const [, w] of entries()) yield w;
    },
    [Symbol.iterator]: entries,
    delete(key: string): boolean {
      const at = key.indexOf(SEP);
      const jw = state.jails.get(key.slice(0, at));
      if (jw === undefined) return false;
      const k = keyOfText(key.slice(at + 1));
      if (!jw.times.has(k)) return false;
      deleteWindow(state, jw, k);
      return true;
    },
  };
}

/** Host target text of an address: "1.2.3.4/32", "2001:db8::1/128". */
function hostTarget(addr: IpAddress): string {
  return addr.family === 4 ? `${addr.text}/32` : `${addr.text}/128`;
}

/** The prefix an address is aggregated into under a policy, or undefined when that is off. */
function prefixOf(
  policy: BanPolicy,
  addr: IpAddress,
): { cidr: Cidr; maxRetry: number } | undefined {
  if (addr.family === 6) {
    if (policy.ipv6PrefixMaxRetry === undefined || policy.ipv6Prefix >= 128) return undefined;
    return { cidr: cidrOf(addr, policy.ipv6Prefix), maxRetry: policy.ipv6PrefixMaxRetry };
  }
  if (
    policy.ipv4Prefix === undefined || policy.ipv4PrefixMaxRetry === undefined ||
    policy.ipv4Prefix >= 32
  ) return undefined;
  return { cidr: cidrOf(addr, policy.ipv4Prefix), maxRetry: policy.ipv4PrefixMaxRetry };
}

/**
 * A live key iterator per LRU map, reused across evictions. A fresh `keys().next()` would skip
 * every deleted slot at the front of V8's hash table (O(n) per eviction); a live iterator resumes
 * where it stopped. Everything before its position has been returned (evicted) or deleted, and
 * re-inserted keys move to the end, so its next key is always the least recently used one.
 */
const CURSORS = new WeakMap<Map<string, unknown> | Set<string>, Iterator<string>>();

/** The least recently used key of an LRU map or set (which must not be empty). */
function oldestKey(map: Map<string, unknown> | Set<string>): string {
  let it = CURSORS.get(map);
  let r = it?.next();
  if (it === undefined || r === undefined || r.done) {
    it = map.keys();
    CURSORS.set(map, it);
    r = it.next();
  }
  return r.value as string;
}

/** Drops the least recently used entries of an LRU map above the cap; calls onEvict for each. */
function evictOver<V>(map: Map<string, V>, cap: number, onEvict: (key: string) => void): number {
  let evicted = 0;
  while (map.size > cap) {
    const oldest = oldestKey(map);
    map.delete(oldest);
    onEvict(oldest);
    evicted++;
  }
  return evicted;
}

/** Inserts t into the ascending array. */
function insertSorted(times: number[], t: number): void {
  let i = times.length;
  while (i > 0 && times[i - 1]! > t) i--;
  times.splice(i, 0, t);
}

/** Duration of the banCount-th ban of a target under a policy. */
function banDuration(policy: BanPolicy, banCount: number): number {
  const base = policy.banTime;
  const inc = policy.increment;
  if (!inc.enabled || base === Infinity) return base;
  const previous = banCount - 1;
  const raw = inc.multipliers.length > 0
    ? base * inc.multipliers[Math.min(previous, inc.multipliers.length - 1)]!
    : base * inc.factor * 2 ** Math.min(previous, 20);
  return inc.maxtime > 0 ? Math.min(raw, inc.maxtime) : raw;
}

/** Number of previous bans of a target that count for the policy. */
function previousBans(state: BanState, policy: BanPolicy, target: string): number {
  const entry = policy.increment.overalljails
    ? state.overall.get(target)
    : state.history.get(policy.jail + SEP + target);
  return entry?.count ?? 0;
}

/** Adds one ban to the per-jail and overall history (LRU, capped). */
function addHistory(state: BanState, jail: string, target: string, now: number): void {
  const key = jail + SEP + target;
  const entry = state.history.get(key) ?? { jail, target, count: 0, last: now };
  state.history.delete(key);
  entry.count++;
  entry.last = now;
  state.history.set(key, entry);
  state.dirty.history.add(key);
  const all = state.overall.get(target) ?? { jail: "", target, count: 0, last: now };
  state.overall.delete(target);
  all.count++;
  all.last = now;
  state.overall.set(target, all);
  evictHistory(state);
}

/** Keeps both history maps within the cap. */
function evictHistory(state: BanState): void {
  state.counters.evictions += evictOver(
    state.history,
    state.maxTracked,
    (k) => state.dirty.history.add(k),
  );
  state.counters.evictions += evictOver(state.overall, state.maxTracked, () => {});
}

/** Stores a ban and returns its action. */
function putBan(state: BanState, ban: BanRecord): BanAction {
  const key = ban.jail + SEP + ban.target;
  const update = state.bans.has(key);
  state.bans.set(key, ban);
  state.dirty.bans.add(key);
  if (update) state.nextExpiry = undefined;
  else if (state.nextExpiry !== undefined && ban.until < state.nextExpiry) {
    state.nextExpiry = ban.until;
  }
  return update ? { kind: "ban", ban, update: true } : { kind: "ban", ban };
}

/** Removes a ban; true when there was one. */
function dropBan(state: BanState, key: string): boolean {
  const ban = state.bans.get(key);
  if (ban === undefined) return false;
  state.bans.delete(key);
  state.dirty.bans.add(key);
  if (state.nextExpiry !== undefined && ban.until <= state.nextExpiry) {
    state.nextExpiry = undefined;
  }
  state.counters.unbans++;
  return true;
}

/** Makes an automatic ban of target now. */
function autoBan(
  state: BanState,
  policy: BanPolicy,
  target: string,
  failures: number,
  now: number,
  line: string | undefined,
): BanAction {
  target = detach(target);
  const banCount = previousBans(state, policy, target) + 1;
  const ban: BanRecord = {
    jail: policy.jail,
    target,
    since: now,
    until: now + banDuration(policy, banCount),
    failures,
    banCount,
    origin: "auto",
  };
  if (line !== undefined) ban.line = detach(line);
  addHistory(state, policy.jail, target, now);
  state.counters.bans++;
  return putBan(state, ban);
}

/** Reports a refusal once per (jail, addr). */
function refuse(state: BanState, jail: string, addr: string, reason: string): BanAction[] {
  const key = jail + SEP + addr;
  if (state.refused.has(key)) return [];
  state.refused.add(detach(key));
  if (state.refused.size > state.maxTracked) {
    state.refused.delete(oldestKey(state.refused));
  }
  return [{ kind: "refused", jail, addr, reason }];
}

/**
 * Counts one failure of `failure.addr` in `policy.jail`; returns a ban when maxRetry failures
 * (or ipv*PrefixMaxRetry distinct addresses of a prefix) fall within findTime.
 * Not counted: failures older than now - findTime, failures of an address already banned in the
 * jail (or inside a banned prefix), and ignored addresses (one `refused` action per pair).
 * When a prefix ban triggers, the address itself is not banned separately.
 * @param state the state (mutated)
 * @param policy the jail's policy
 * @param failure the failing address, its log time (epoch s) and the log line
 * @param options now, the never-ban check, and an optional check that refuses prefix bans
 */
export function recordFailure(
  state: BanState,
  policy: BanPolicy,
  failure: { addr: IpAddress; time: number; line?: string },
  options: { now: number; ignore: IgnoreCheck; ignorePrefix?: IgnorePrefixCheck },
): BanAction[] {
  const now = options.now;
  const addr = failure.addr;
  let t = failure.time;
  if (t > now) {
    t = now;
    state.counters.future++;
  }
  if (t < now - policy.findTime) {
    state.counters.stale++;
    return [];
  }
  const jail = policy.jail;
  if (state.bans.size > 0 && state.bans.has(jail + SEP + hostTarget(addr))) {
    state.counters.whileBanned++;
    return [];
  }
  const reason = options.ignore(addr);
  if (reason !== undefined) {
    state.counters.ignored++;
    return refuse(state, jail, addr.text, reason);
  }
  const prefix = prefixOf(policy, addr);
  if (prefix !== undefined && state.bans.has(jail + SEP + prefix.cidr.text)) {
    state.counters.whileBanned++;
    return [];
  }
  state.counters.counted++;
  const actions: BanAction[] = [];
  const jw = jailWindows(state, jail);
  const key = keyOf(addr);

  if (prefix !== undefined) {
    const pText = prefix.cidr.text;
    const pKey = jail + SEP + pText;
    let pw = state.prefixes.get(pKey);
    if (pw === undefined) pw = { jail, prefix: pText, members: new Map() };
    else state.prefixes.delete(pKey);
    const previous = pw.members.get(addr.text);
    if (previous === undefined) pw.members.set(detach(addr.text), t);
    else if (previous < t) pw.members.set(addr.text, t);
    let newest = t;
    for (const time of pw.members.values()) if (time > newest) newest = time;
    for (const [member, time] of pw.members) {
      if (time < newest - policy.findTime) pw.members.delete(member);
    }
    state.dirty.prefixes.add(pKey);
    if (pw.members.size >= prefix.maxRetry) {
      const refusal = options.ignorePrefix?.(prefix.cidr);
      if (refusal === undefined) {
        const distinct = pw.members.size;
        deleteWindow(state, jw, key);
        actions.push(autoBan(state, policy, pText, distinct, now, failure.line));
        return actions;
      }
      actions.push(...refuse(state, jail, pText, refusal));
    }
    state.prefixes.set(pKey, pw);
    state.counters.evictions += evictOver(
      state.prefixes,
      state.maxTracked,
      (k) => state.dirty.prefixes.add(k),
    );
  }

  const old = unlinkWindow(state, jw, key);
  let times: WindowTimes;
  if (old === undefined) {
    times = t;
  } else {
    const list = typeof old === "number" ? [old] : old;
    insertSorted(list, t);
    const oldest = list[list.length - 1]! - policy.findTime;
    let drop = 0;
    while (drop < list.length && list[drop]! < oldest) drop++;
    if (drop > 0) list.splice(0, drop);
    times = list.length === 1 ? list[0]! : list;
  }
  const count = timesCount(times);
  if (count >= policy.maxRetry) {
    if (old !== undefined) jw.dirty.add(key); // the window is cleared: reported as deleted
    actions.push(autoBan(state, policy, hostTarget(addr), count, now, failure.line));
    return actions;
  }
  const stored = old === undefined && typeof key === "string" ? detach(key) : key;
  linkWindow(state, jw, stored, times);
  jw.dirty.add(stored);
  evictWindows(state);
  return actions;
}

/**
 * Removes every ban with `until <= now` and returns their `unban` actions (reason "expired").
 * @param state the state (mutated)
 * @param now epoch seconds
 */
export function expireBans(state: BanState, now: number): BanAction[] {
  const next = nextExpiry(state);
  if (next === undefined || next > now) return [];
  const actions: BanAction[] = [];
  for (const [key, ban] of state.bans) {
    if (ban.until <= now && dropBan(state, key)) {
      actions.push({ kind: "unban", jail: ban.jail, target: ban.target, reason: "expired" });
    }
  }
  return actions;
}

/**
 * The earliest `until` among active bans, or undefined when none expires (none, or all forever).
 * @param state the state
 */
export function nextExpiry(state: BanState): number | undefined {
  if (state.nextExpiry === undefined) {
    let min = Infinity;
    for (const ban of state.bans.values()) if (ban.until < min) min = ban.until;
    state.nextExpiry = min;
  }
  return state.nextExpiry === Infinity ? undefined : state.nextExpiry;
}

/**
 * Bans a target by hand for `banTime` seconds from now (Infinity = forever); replaces an existing
 * ban of it in the jail (action with `update: true`). Counts in the ban history.
 * @param state the state (mutated)
 * @param jail jail name
 * @param options the target block, the length and now
 */
export function manualBan(
  state: BanState,
  jail: string,
  options: { target: Cidr; banTime: number; now: number },
): BanAction[] {
  const target = options.target.text;
  const banCount = (state.history.get(jail + SEP + target)?.count ?? 0) + 1;
  addHistory(state, jail, target, options.now);
  state.counters.bans++;
  return [putBan(state, {
    jail,
    target,
    since: options.now,
    until: options.now + options.banTime,
    failures: 0,
    banCount,
    origin: "manual",
  })];
}

/**
 * Lifts a ban by hand (reason "manual") and forgets the failure window of that address;
 * returns no action when the target is not banned in the jail.
 * @param state the state (mutated)
 * @param jail jail name
 * @param target the banned block
 */
export function manualUnban(state: BanState, jail: string, target: Cidr): BanAction[] {
  const key = jail + SEP + target.text;
  if (!dropBan(state, key)) return [];
  if ((target.family === 4 && target.prefix === 32) || target.prefix === 128) {
    const addr = target.text.slice(0, target.text.lastIndexOf("/"));
    deleteWindow(state, state.jails.get(jail), keyOfText(addr));
  } else {
    const pKey = jail + SEP + target.text;
    if (state.prefixes.delete(pKey)) state.dirty.prefixes.add(pKey);
  }
  return [{ kind: "unban", jail, target: target.text, reason: "manual" }];
}

/**
 * Lifts every ban (of one jail, or of all jails) with reason "manual".
 * @param state the state (mutated)
 * @param jail only this jail; all jails when undefined
 */
export function unbanAll(state: BanState, jail?: string): BanAction[] {
  const actions: BanAction[] = [];
  for (const [key, ban] of state.bans) {
    if (jail !== undefined && ban.jail !== jail) continue;
    if (dropBan(state, key)) {
      actions.push({ kind: "unban", jail: ban.jail, target: ban.target, reason: "manual" });
    }
  }
  return actions;
}

/**
 * Forgets a jail (removed on reload): lifts its bans (returned as unban actions) and drops its
 * windows, prefix windows and refusals. Its ban history is kept for increments.
 * @param state the state (mutated)
 * @param jail jail name
 */
export function flushJail(state: BanState, jail: string): BanAction[] {
  const actions = unbanAll(state, jail);
  const prefix = jail + SEP;
  forgetWindows(state, jail);
  for (const [key, p] of state.prefixes) {
    if (p.jail === jail && state.prefixes.delete(key)) state.dirty.prefixes.add(key);
  }
  for (const key of state.refused) if (key.startsWith(prefix)) state.refused.delete(key);
  return actions;
}

/**
 * Puts a ban loaded from the database back (no action, not dirty); the shell reconciles the
 * firewall itself. An expired one is returned by the next expireBans().
 * @param state the state (mutated)
 * @param ban the stored ban
 */
export function restoreBan(state: BanState, ban: BanRecord): void {
  const key = ban.jail + SEP + ban.target;
  const had = state.bans.has(key);
  state.bans.set(key, { ...ban });
  if (had) state.nextExpiry = undefined;
  else if (state.nextExpiry !== undefined && ban.until < state.nextExpiry) {
    state.nextExpiry = ban.until;
  }
}

/**
 * Puts a stored failure window back (not dirty); the row shape is takeDirty()'s. Restore in
 * order of last failure, oldest first: that order is the eviction order. Evictions over the cap
 * are reported by takeDirty().
 * @param state the state (mutated)
 * @param window jail, canonical address text and failure times (epoch s)
 */
export function restoreWindow(
  state: BanState,
  window: { jail: string; addr: string; times: readonly number[] },
): void {
  const { jail, addr, times } = window;
  if (times.length === 0) return;
  const jw = jailWindows(state, jail);
  const key = keyOfText(addr);
  unlinkWindow(state, jw, key);
  const sorted = [...times].sort((a, b) => a - b);
  linkWindow(state, jw, key, sorted.length === 1 ? sorted[0]! : sorted);
  evictWindows(state);
}

/**
 * Forgets every address window of a jail (its bans and prefix windows stay); takeDirty()
 * reports them as deleted. Returns how many there were.
 * @param state the state (mutated)
 * @param jail jail name
 */
export function forgetWindows(state: BanState, jail: string): number {
  const jw = state.jails.get(jail);
  if (jw === undefined) return 0;
  const count = jw.times.size;
  for (const key of jw.times.keys()) jw.dirty.add(key);
  jw.times.clear();
  jw.failures = 0;
  jw.cursor = undefined;
  jw.peeked = false;
  state.tracked -= count;
  return count;
}

/**
 * Failing addresses and failures per jail (jails without windows are left out), for `status`.
 * @param state the state
 */
export function windowStats(state: BanState): Map<string, WindowStats> {
  const out = new Map<string, WindowStats>();
  for (const jw of state.jails.values()) {
    if (jw.times.size > 0) out.set(jw.jail, { addrs: jw.times.size, failures: jw.failures });
  }
  return out;
}

/**
 * Puts a stored prefix window back (not dirty); the row shape is takeDirty()'s.
 * @param state the state (mutated)
 * @param window jail, CIDR text of the prefix, failing addresses with their last failure time
 */
export function restorePrefix(
  state: BanState,
  window: { jail: string; prefix: string; members: ReadonlyArray<{ addr: string; time: number }> },
): void {
  const { jail, prefix, members } = window;
  if (members.length === 0) return;
  const key = jail + SEP + prefix;
  state.prefixes.delete(key);
  state.prefixes.set(key, { jail, prefix, members: new Map(members.map((m) => [m.addr, m.time])) });
  state.counters.evictions += evictOver(
    state.prefixes,
    state.maxTracked,
    (k) => state.dirty.prefixes.add(k),
  );
}

/**
 * Puts stored ban history back (not dirty); the overall (all jails) count is the sum.
 * @param state the state (mutated)
 * @param entry previous bans of a target in a jail, and when the last one was made
 */
export function restoreHistory(
  state: BanState,
  entry: { jail: string; target: string; count: number; last: number },
): void {
  if (entry.count <= 0) return;
  const key = entry.jail + SEP + entry.target;
  const old = state.history.get(key)?.count ?? 0;
  state.history.delete(key);
  state.history.set(key, { ...entry });
  const all = state.overall.get(entry.target) ??
    { jail: "", target: entry.target, count: 0, last: entry.last };
  state.overall.delete(entry.target);
  all.count += entry.count - old;
  all.last = Math.max(all.last, entry.last);
  state.overall.set(entry.target, all);
  evictHistory(state);
}

/**
 * Drops windows whose newest failure is older than now - findTime of their jail (jails without
 * a policy are left alone); returns how many went. Call now and then to free memory and rows.
 * @param state the state (mutated)
 * @param options the policies of the running jails, and now (epoch s)
 */
export function pruneWindows(
  state: BanState,
  options: { policies: readonly BanPolicy[]; now: number },
): number {
  const { policies, now } = options;
  const findTimes = new Map(policies.map((p) => [p.jail, p.findTime]));
  let dropped = 0;
  for (const jw of state.jails.values()) {
    const findTime = findTimes.get(jw.jail);
    if (findTime === undefined) continue;
    const oldest = now - findTime;
    for (const [key, times] of jw.times) {
      if (newestOf(times) < oldest) {
        deleteWindow(state, jw, key);
        dropped++;
      }
    }
  }
  for (const [key, p] of state.prefixes) {
    const findTime = findTimes.get(p.jail);
    if (findTime === undefined) continue;
    for (const [member, time] of p.members) {
      if (time < now - findTime) p.members.delete(member);
    }
    if (p.members.size === 0) {
      state.prefixes.delete(key);
      state.dirty.prefixes.add(key);
      dropped++;
    }
  }
  return dropped;
}

/** Splits a "jail\0rest" key. */
function splitKey(key: string): [string, string] {
  const at = key.indexOf(SEP);
  return [key.slice(0, at), key.slice(at + 1)];
}

/**
 * Returns what changed since the previous call (deleted entries as empty rows) and resets the
 * dirty sets, so the shell can persist exactly that in the transaction that saves file positions.
 * @param state the state (dirty sets cleared)
 */
export function takeDirty(state: BanState): DirtyState {
  const out: DirtyState = { windows: [], prefixes: [], bans: [], history: [] };
  for (const jw of state.jails.values()) {
    for (const key of jw.dirty) {
      out.windows.push({ jail: jw.jail, addr: textOf(key), times: timesArray(jw.times.get(key)) });
    }
    jw.dirty.clear();
  }
  for (const key of state.dirty.prefixes) {
    const p = state.prefixes.get(key);
    const [jail, prefix] = splitKey(key);
    const members = p === undefined ? [] : [...p.members].map(([addr, time]) => ({ addr, time }));
    out.prefixes.push({ jail, prefix, members });
  }
  for (const key of state.dirty.bans) {
    const ban = state.bans.get(key);
    const [jail, target] = splitKey(key);
    out.bans.push({ jail, target, ban: ban === undefined ? undefined : { ...ban } });
  }
  for (const key of state.dirty.history) {
    const h = state.history.get(key);
    const [jail, target] = splitKey(key);
    out.history.push({ jail, target, count: h?.count ?? 0, last: h?.last ?? 0 });
  }
  state.dirty.prefixes.clear();
  state.dirty.bans.clear();
  state.dirty.history.clear();
  return out;
}

/**
 * The active bans (of one jail, or all), in the order they were made.
 * @param state the state
 * @param jail only this jail when given
 */
export function activeBans(state: BanState, jail?: string): BanRecord[] {
  const out: BanRecord[] = [];
  for (const ban of state.bans.values()) {
    if (jail === undefined || ban.jail === jail) out.push({ ...ban });
  }
  return out;
}

/**
 * The failure times currently counted for an address in a jail (empty when none).
 * @param state the state
 * @param jail jail name
 * @param addr canonical address text
 */
export function windowOf(state: BanState, jail: string, addr: string): number[] {
  return timesArray(state.jails.get(jail)?.times.get(keyOfText(addr)));
}

/**
 * Counters and sizes for `status`.
 * @param state the state
 */
export function banStats(state: BanState): BanStats {
  return {
    ...state.counters,
    tracked: state.tracked,
    trackedPrefixes: state.prefixes.size,
    active: state.bans.size,
    historyEntries: state.history.size,
  };
}
