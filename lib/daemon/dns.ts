/**
 * Host names in `usedns` jails: the system resolver the daemon uses unless given another
 * (tests pass a fake, as they pass a fake process runner), and the bounded cache in front of it
 * so an attacker repeating one name costs one lookup an hour.
 * @module
 */
import { type IpAddress, parseIp } from "../core/mod.ts";
import type { DaemonContext } from "./context.ts";

/** Seconds a lookup may take. */
const DNS_TIMEOUT = 2;
/** Seconds a result is kept. */
const DNS_TTL = 3600;
/** Names kept; the oldest goes first. */
const DNS_CACHE_MAX = 10_000;

/**
 * Resolves a host name with the system's DNS (`Deno.resolveDns`, A then AAAA), each lookup
 * limited to {@link DNS_TIMEOUT} seconds. Never throws: NXDOMAIN or a timeout gives nothing.
 */
export async function resolveHost(host: string): Promise<IpAddress[]> {
  const addrs: IpAddress[] = [];
  for (const type of ["A", "AAAA"] as const) {
    try {
      const signal = AbortSignal.timeout(DNS_TIMEOUT * 1000);
      for (const text of await Deno.resolveDns(host, type, { signal })) {
        const ip = parseIp(text);
        if (ip) addrs.push(ip);
      }
    } catch {
      // NXDOMAIN, timeout: nothing to ban for this name.
    }
  }
  return addrs;
}

/** A host name's addresses through the context's resolver, cached and bounded; logs new names. */
export async function resolveCached(ctx: DaemonContext, host: string): Promise<IpAddress[]> {
  const now = ctx.options.now();
  const cached = ctx.dns.get(host);
  if (cached && cached.until > now) return cached.addrs;
  let addrs: IpAddress[] = [];
  try {
    addrs = await ctx.resolve(host);
  } catch {
    // A resolver that throws (an injected one) is a name that does not resolve, as for ours.
  }
  if (ctx.dns.size >= DNS_CACHE_MAX) ctx.dns.delete(ctx.dns.keys().next().value!);
  ctx.dns.set(host, { addrs, until: now + DNS_TTL });
  ctx.logger.info("dns_resolved", { host, addrs: addrs.map((a) => a.text).join(",") });
  return addrs;
}
