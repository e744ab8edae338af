/**
 * The decision state container: every map the decision core keeps (address windows per jail,
 * prefix windows, active bans, ban history, refusals), its counters and dirty sets, and the
 * storage primitives of address windows that the other decide/ files build on.
 *
 * Treat {@link BanState} as opaque outside decide/: the functions mutate it in place (for speed
 * with 1,000,000 addresses) and report changes through {@link takeDirty}.
 *
 * Keys: ban targets are CIDR texts ("1.2.3.4/32", "2001:db8:1:2::/64"). Address windows live in
 * one map per jail ({@link AddressWindows}) keyed by a {@link WindowKey} (see `_keys.ts`). Texts
 * that may be slices of a log line are copied before they are kept (a V8 sliced string would
 * keep the whole 1 MiB read buffer alive).
 * @module
 */
import type { BanRecord, HistoryCount } from "../core/mod.ts";
import {
  keyOfText,
  SEP,
  splitKey,
  textOf,
  timesArray,
  timesCount,
  type WindowKey,
  type WindowTimes,
} from "./_keys.ts";

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

/** The address windows of one jail; treat as opaque outside decide/. */
export interface AddressWindows {
  /** Jail name. */
  readonly jail: string;
  /** Address key -> failure times; Map order = least recently failed first. */
  readonly times: Map<WindowKey, WindowTimes>;
  /** Keys changed since the last takeDirty() (deleted ones included). */
  readonly dirty: Set<WindowKey>;
  /** Failure times held in `times` (for status). */
  failures: number;
  /** Live iterator over `times` keys, for O(1) eviction (see peekOldest in windows.ts). */
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

/** Distinct failing addresses of one prefix in one jail: address -> last failure time. */
export interface PrefixWindow {
  /** Jail name. */
  readonly jail: string;
  /** CIDR text of the prefix. */
  readonly prefix: string;
  /** Failing address -> its last failure time. */
  readonly members: Map<string, number>;
}

/** Mutable decision state; treat as opaque outside decide/ (use the functions). */
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
  readonly history: Map<string, HistoryCount>;
  /** target -> previous bans in all jails (jail ""); least recently banned first. */
  readonly overall: Map<string, HistoryCount>;
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
  history: HistoryCount[];
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
 * The address windows of a jail, created empty when missing.
 * @param state the state (mutated when the jail is new)
 * @param jail jail name
 */
export function jailWindows(state: BanState, jail: string): AddressWindows {
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

/**
 * Removes a window without marking it dirty; returns its times (undefined when none).
 * @param state the state (mutated)
 * @param jw the jail's windows (mutated)
 * @param key the address key
 */
export function unlinkWindow(
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

/**
 * Appends a window as the most recently failed, without marking it dirty; it must not be held.
 * @param state the state (mutated)
 * @param jw the jail's windows (mutated)
 * @param key the address key
 * @param times its failure times
 */
export function linkWindow(
  state: BanState,
  jw: AddressWindows,
  key: WindowKey,
  times: WindowTimes,
): void {
  jw.times.set(key, times);
  jw.failures += timesCount(times);
  state.tracked++;
}

/**
 * Deletes an address window and marks it dirty when there was one.
 * @param state the state (mutated)
 * @param jw the jail's windows (mutated), or undefined when the jail has none
 * @param key the address key
 */
export function deleteWindow(
  state: BanState,
  jw: AddressWindows | undefined,
  key: WindowKey,
): void {
  if (jw !== undefined && unlinkWindow(state, jw, key) !== undefined) jw.dirty.add(key);
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
