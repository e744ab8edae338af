/**
 * Reconciliation at start: the pure comparison of a table with the bans banwatch wants in it.
 * @module
 */
import { parseCidr } from "../core/mod.ts";

/** What {@link reconcile} asks for: canonical CIDR texts to add to and remove from a table. */
export interface ReconcilePlan {
  /** Desired entries missing from the table. */
  add: string[];
  /** Entries banwatch added that are no longer desired. */
  remove: string[];
}

/**
 * Compares a table with what banwatch wants in it. Adds desired entries that are missing;
 * removes only entries that are in `owned` (banwatch put them there) and are no longer
 * desired. Entries nobody owns (blocklistd's, an admin's) are never removed. Texts are
 * compared in canonical form; unparseable table entries are left alone.
 * @param desired entries that should be in the table (active bans)
 * @param actual what `list()` returned
 * @param owned entries banwatch added to this table (active and expired bans it applied)
 */
export function reconcile(
  desired: ReadonlySet<string>,
  actual: readonly string[],
  owned: ReadonlySet<string>,
): ReconcilePlan {
  const present = new Set<string>();
  for (const text of actual) present.add(canonical(text) ?? text);
  const want = new Set<string>();
  for (const text of desired) {
    const c = canonical(text);
    if (c !== undefined) want.add(c);
  }
  const mine = new Set<string>();
  for (const text of owned) {
    const c = canonical(text);
    if (c !== undefined) mine.add(c);
  }
  const add = [...want].filter((t) => !present.has(t)).sort();
  const remove = [...present].filter((t) => mine.has(t) && !want.has(t)).sort();
  return { add, remove };
}

function canonical(text: string): string | undefined {
  return parseCidr(text.trim())?.text;
}
