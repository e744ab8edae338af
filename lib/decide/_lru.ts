/**
 * Least-recently-used eviction over a Map or Set in insertion order, private to decide/: an
 * entry touched is deleted and re-inserted, so the first key is always the least recently used.
 * @module
 */

/**
 * A live key iterator per LRU map, reused across evictions. A fresh `keys().next()` would skip
 * every deleted slot at the front of V8's hash table (O(n) per eviction); a live iterator resumes
 * where it stopped. Everything before its position has been returned (evicted) or deleted, and
 * re-inserted keys move to the end, so its next key is always the least recently used one.
 */
const CURSORS = new WeakMap<Map<string, unknown> | Set<string>, Iterator<string>>();

/**
 * The least recently used key of an LRU map or set (which must not be empty).
 * @param map the map or set, least recently used first
 */
export function oldestKey(map: Map<string, unknown> | Set<string>): string {
  let it = CURSORS.get(map);
  let r = it?.next();
  if (it === undefined || r === undefined || r.done) {
    it = map.keys();
    CURSORS.set(map, it);
    r = it.next();
  }
  return r.value as string;
}

/**
 * Drops the least recently used entries of an LRU map above the cap; calls onEvict for each.
 * Returns how many went.
 * @param map the map (mutated), least recently used first
 * @param cap entries to keep at most
 * @param onEvict called with each evicted key
 */
export function evictOver<V>(
  map: Map<string, V>,
  cap: number,
  onEvict: (key: string) => void,
): number {
  let evicted = 0;
  while (map.size > cap) {
    const oldest = oldestKey(map);
    map.delete(oldest);
    onEvict(oldest);
    evicted++;
  }
  return evicted;
}
