/**
 * Linux nftables backend (for development and Linux hosts): an `inet` table `banwatch` with an
 * input chain (`type filter hook input priority -10; policy accept;`) and, per banwatch table T,
 * four sets and four drop rules:
 * - `T_v4` (ipv4_addr) and `T_v6` (ipv6_addr): single addresses (/32, /128);
 * - `T_v4net` and `T_v6net` (`flags interval`): prefixes.
 * Hosts and prefixes live in different sets because the kernel refuses an interval element that
 * overlaps another ("interval overlaps with an existing one"): a banned /64 and a banned /128
 * inside it must coexist, so that unbanning one leaves the other. Two prefixes of different
 * lengths that overlap still fail (only ipv6_prefix/ipv4_prefix lengths are used per jail).
 *
 * apply() sends one `nft -f -` script on stdin (a single atomic transaction). nft 1.0.6 (Debian
 * 12) has no `destroy element`, and `delete element` of a missing element fails the whole
 * transaction; so when a script with deletes fails, the sets are listed once, deletes of absent
 * elements are dropped and the script is sent again (3 invocations instead of one per element).
 * Elements carry no kernel timeout: banwatch expires bans itself and reconciles at start.
 * @module
 */
import { parseCidr, type RunResult } from "../core/mod.ts";
import type { Backend, BackendOptions, FirewallChange } from "./backend.ts";
import { firewallProgram, groupChanges, reportSkipped } from "./batch.ts";

/** Where nft lives on Debian. */
export const NFT_DEFAULT_PATH = "/usr/sbin/nft";

/** The nftables table banwatch owns. */
export const NFT_TABLE = "banwatch";

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,55}$/;

/** True when `name` can be used as a set-name prefix (nft identifier rules). */
export function isValidNftTableName(name: string): boolean {
  return NAME.test(name);
}

/** The four set names of a banwatch table. */
export function nftSetNames(
  table: string,
): { v4: string; v6: string; v4net: string; v6net: string } {
  if (!isValidNftTableName(table)) {
    throw new RangeError(
      `Cannot use nft table "${table}": a name starts with a letter or _ and has only [A-Za-z0-9_.-]`,
    );
  }
  return { v4: `${table}_v4`, v6: `${table}_v6`, v4net: `${table}_v4net`, v6net: `${table}_v6net` };
}

/** The script creating the table, chain and sets (idempotent: `add` of an existing object is a no-op). */
export function nftPrepareScript(tables: readonly string[]): string {
  const lines = [
    `add table inet ${NFT_TABLE}`,
    `add chain inet ${NFT_TABLE} input { type filter hook input priority -10; policy accept; }`,
  ];
  for (const table of tables) {
    const s = nftSetNames(table);
    lines.push(
      `add set inet ${NFT_TABLE} ${s.v4} { type ipv4_addr; }`,
      `add set inet ${NFT_TABLE} ${s.v6} { type ipv6_addr; }`,
      `add set inet ${NFT_TABLE} ${s.v4net} { type ipv4_addr; flags interval; }`,
      `add set inet ${NFT_TABLE} ${s.v6net} { type ipv6_addr; flags interval; }`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The drop rules for a table, one per set (`ip saddr @T_v4 drop`, ...). */
export function nftRuleLines(table: string): { set: string; line: string }[] {
  const s = nftSetNames(table);
  const rule = (proto: "ip" | "ip6", set: string) => ({
    set,
    line: `add rule inet ${NFT_TABLE} input ${proto} saddr @${set} drop`,
  });
  return [rule("ip", s.v4), rule("ip", s.v4net), rule("ip6", s.v6), rule("ip6", s.v6net)];
}

/** Which set of `table` holds a canonical CIDR, and the element text nft expects. */
export function nftElement(table: string, cidr: string): { set: string; element: string } {
  const c = parseCidr(cidr);
  if (c === undefined) throw new RangeError(`Cannot use nft element "${cidr}": not a CIDR`);
  const s = nftSetNames(table);
  const host = c.prefix === (c.family === 4 ? 32 : 128);
  const address = c.text.slice(0, c.text.indexOf("/"));
  if (host) return { set: c.family === 4 ? s.v4 : s.v6, element: address };
  return { set: c.family === 4 ? s.v4net : s.v6net, element: c.text };
}

/** The `nft -f -` script for a batch: one `add element`/`delete element` line per set and op. */
export function nftApplyScript(
  changes: readonly FirewallChange[],
  options: { skipDelete?: (table: string, cidr: string) => boolean } = {},
): string {
  const { groups } = groupChanges(changes);
  const lines: string[] = [];
  for (const group of groups) {
    for (const op of ["delete", "add"] as const) {
      const bySet = new Map<string, string[]>();
      for (const cidr of group[op]) {
        if (op === "delete" && options.skipDelete?.(group.table, cidr)) continue;
        const { set, element } = nftElement(group.table, cidr);
        let list = bySet.get(set);
        if (list === undefined) bySet.set(set, list = []);
        list.push(element);
      }
      for (const [set, elements] of bySet) {
        lines.push(`${op} element inet ${NFT_TABLE} ${set} { ${elements.join(", ")} }`);
      }
    }
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Elements of `nft -j list table|set` output, as canonical CIDRs per set name. */
export function parseNftSets(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let doc: Json;
  try {
    doc = JSON.parse(stdout) as Json;
  } catch {
    return out;
  }
  const items = isObject(doc) && Array.isArray(doc.nftables) ? doc.nftables : [];
  for (const item of items) {
    if (!isObject(item) || !isObject(item.set)) continue;
    const set = item.set;
    if (typeof set.name !== "string") continue;
    const texts: string[] = [];
    for (const elem of Array.isArray(set.elem) ? set.elem : []) {
      const text = elementText(elem);
      if (text !== undefined) texts.push(text);
    }
    out.set(set.name, texts);
  }
  return out;
}

function elementText(elem: Json): string | undefined {
  if (typeof elem === "string") return parseCidr(elem)?.text;
  if (!isObject(elem)) return undefined;
  if (isObject(elem.elem)) return elementText(elem.elem.val ?? null);
  if (isObject(elem.prefix)) {
    const { addr, len } = elem.prefix;
    if (typeof addr === "string" && typeof len === "number") {
      return parseCidr(`${addr}/${len}`)?.text;
    }
  }
  return undefined; // ranges that are not prefixes are not banwatch's
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Creates the nft backend. */
export function createNftBackend(options: BackendOptions): Backend {
  const { run, fail } = firewallProgram(options.nftPath ?? NFT_DEFAULT_PATH, options);
  const script = async (text: string): Promise<RunResult> => await run(["-f", "-"], text);
  const listJson = async (): Promise<string | undefined> => {
    const args = ["-j", "list", "table", "inet", NFT_TABLE];
    const r = await run(args);
    if (r.code === 0) return r.stdout;
    if (/No such file or directory/.test(r.stderr)) return undefined;
    throw fail(args, r);
  };
  const listTable = async (): Promise<Map<string, string[]>> => {
    const json = await listJson();
    return json === undefined ? new Map() : parseNftSets(json);
  };

  return {
    kind: "nft",
    async prepare(tables: readonly string[]): Promise<void> {
      const created = await script(nftPrepareScript(tables));
      if (created.code !== 0) throw fail(["-f", "-"], created);
      const args = ["-j", "list", "chain", "inet", NFT_TABLE, "input"];
      const chain = await run(args);
      if (chain.code !== 0) throw fail(args, chain);
      const used = new Set(chain.stdout.match(/"@[A-Za-z0-9_.-]+"/g)?.map((s) => s.slice(2, -1)));
      const missing = tables.flatMap(nftRuleLines).filter((r) => !used.has(r.set));
      if (missing.length === 0) return;
      const rules = await script(missing.map((r) => r.line).join("\n") + "\n");
      if (rules.code !== 0) throw fail(["-f", "-"], rules);
    },
    async apply(changes: readonly FirewallChange[]): Promise<void> {
      const { skipped } = groupChanges(changes);
      reportSkipped(options.logger, "nft", skipped);
      const text = nftApplyScript(changes);
      if (text === "") return;
      const first = await script(text);
      if (first.code === 0) return;
      if (!changes.some((c) => c.op === "delete")) throw fail(["-f", "-"], first);
      // a delete of an absent element fails the transaction: drop those and try once more
      const present = await listTable();
      const retry = nftApplyScript(changes, {
        skipDelete: (table, cidr) => {
          const { set } = nftElement(table, cidr);
          return !(present.get(set) ?? []).includes(cidr);
        },
      });
      if (retry === "") return;
      const second = await script(retry);
      if (second.code !== 0) throw fail(["-f", "-"], second);
    },
    async missing(tables: readonly string[]): Promise<string[]> {
      const json = await listJson();
      if (json === undefined) return [...tables];
      const sets = parseNftSets(json);
      const used = new Set(json.match(/"@[A-Za-z0-9_.-]+"/g)?.map((s) => s.slice(2, -1)));
      return tables.filter((table) =>
        nftRuleLines(table).some((r) => !sets.has(r.set) || !used.has(r.set))
      );
    },
    async list(table: string): Promise<string[]> {
      const s = nftSetNames(table);
      const sets = await listTable();
      return [s.v4, s.v4net, s.v6, s.v6net].flatMap((name) => sets.get(name) ?? []);
    },
  };
}
