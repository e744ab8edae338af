/**
 * The per-line verdict: matchLine() says whether a line is a failure, ignored, or why it
 * missed. Pure: no `Deno.*`, no clock (`now`, epoch seconds, is a parameter), no I/O; the
 * filter comes compiled from compile.ts.
 *
 * Per line (as fail2ban does): one trailing `\r` is stripped; the date is found (dates.ts)
 * and CUT from the line; the prefregex, if any, must match the rest (its `<F-CONTENT>` group,
 * if present, becomes the text the failregex sees); then each failregex is SEARCHED (not
 * anchored unless it starts with `^`) in that text, in order, and the first that matches
 * decides; a matching line that also matches an ignoreregex is "ignored"; otherwise the
 * captured host text must be an IP address.
 *
 * Differences from fail2ban (documented for README / banwatch(8)):
 * - `<HOST>` never yields a hostname unless the filter sets `usedns`: the capture is broad
 *   (`[\w.:%-]+`, optionally in `[ ]`) so a hostname in that position is SEEN, but the line is
 *   a miss with reason "not-an-address" unless the text parses as an IPv4/IPv6 address. With
 *   `usedns` a syntactically valid hostname is reported with `addr` undefined (the caller
 *   resolves it — unsafe where the attacker controls reverse DNS). `<ADDR>`, `<IP4>`, `<IP6>`,
 *   `<SUBNET>` never accept a hostname, even with `usedns`.
 * - The address is normalised: `::ffff:1.2.3.4` -> `1.2.3.4`, IPv6 compressed (RFC 5952);
 *   leading zeros in IPv4 (`010.1.1.1`, `192.030.0.6`: octal or decimal?) and zone ids
 *   (`fe80::1%em0`) are "not-an-address". `<HOST>` tries an IPv4 address first, so a port
 *   after it is left to the rest of the pattern as with fail2ban's narrower address patterns
 *   (`<HOST>:\d+` takes 1.2.3.4 from `1.2.3.4:5060`; plain `<HOST>` then finds `1.2.3.4:5060`,
 *   which is not an address). An IPv6 address with a 5-digit port (`2001:db8::1:58430`: a
 *   group has at most 4 digits) yields the address. Like fail2ban, `<HOST>` and `<ADDR>`
 *   accept an address in optional `[brackets]`; built-in filters use `<F-HOST>…</F-HOST>`
 *   where a daemon never writes brackets.
 * - The first regex match decides: when its host text is not an address the line is a miss;
 *   banwatch does not retry the search further along the line.
 * - Exactly one address capture per failregex (fail2ban tolerates none with `<F-ID>` bans;
 *   banwatch bans addresses only, so `<F-ID>` text must be an address too).
 * - Auto-detected dates are only accepted at the line start; explicit datepatterns are
 *   searched as in fail2ban (see dates.ts). As in fail2ban, the text
 *   after the cut keeps the blank that followed the date (`" mx sshd[1]: …"`). Unlike
 *   fail2ban, a `^` (or `\A`) that starts a top-level branch and is followed by something that
 *   cannot match a blank (`^\S+ sshd`, `^mail`) skips those blanks, so both `^\S+ prog: ` and
 *   fail2ban's `^\s*…` / `^ …` / `%(__prefix_line)s` styles work.
 * - The address capture may sit in the prefregex instead of the failregex (fail2ban's apache
 *   filters do this); prefregex and failregex together need exactly one.
 * - ignoreregex is consulted only for lines that matched a failregex (an ignoreregex-only line
 *   is a plain miss, as fail2ban-regex counts it).
 * - Numbered backreferences `\1` count the user's own groups: fail2ban's `<HOST>` opens three
 *   Python groups (ip4, ip6, dns), banwatch's one, so `\N` is mapped to the N-th group the
 *   pattern itself opens (named groups are the portable choice).
 * - Regexes are JavaScript (V8) regexes: `\d` and `\w` are ASCII (Python's are Unicode);
 *   unsupported and rejected with a FilterError: atomic groups `(?>…)`, possessive
 *   quantifiers, `\N{name}`, `(?L)`, global flags after the start (except fail2ban's
 *   `((?i)…)` form), `<SKIPLINES>` (no `maxlines`), and unknown upper-case tags (`<USER>`).
 * - Python conditionals `(?(g)yes|no)` are emulated by expanding the pattern into one
 *   alternative per combination of the tested groups (at most 4 groups; not together with
 *   numbered backreferences), preferring "g took part"; exotic uses may differ from Python.
 * - matchLine() judges one line: a match in which `<F-NOFAIL>` or `<F-MLFGAINED>` took part
 *   is not a failure (a "no-failregex" miss with its regex index), as a lone such line is in
 *   fail2ban. As in fail2ban, a failregex without address capture is accepted when the
 *   prefregex has `<F-MLFID>`; its matches are such misses too. When a match captured
 *   `<F-MLFID>`, the verdict carries `session` facts; sessions.ts correlates them across
 *   lines as fail2ban does (a failure whose address is on another line of the connection).
 *   `maxlines` > 1 and `<SKIPLINES>` (buffered multi-line matching) are not supported.
 * - `<CIDR>` / `<SUBNET>` masks are reported in `fields.cidr`; the ban width comes from the
 *   jail (`ipv4_prefix` / `ipv6_prefix`), not from the log.
 * - Lines may hold NUL, U+FFFD, a trailing CR and be megabytes long: matchLine() never throws
 *   (a regex engine failure is a "no-failregex" miss).
 * @module
 */

import { parseIp } from "../core/mod.ts";
import type { FoundDate } from "./dates.ts";
import { containsAny } from "./literals.ts";
import type { CompiledFilter, LineVerdict, SessionFacts } from "./types.ts";

const HOSTNAME_RE =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;
const NUMERIC_RE = /^[\d.]+$/;

function isHostname(text: string): boolean {
  return HOSTNAME_RE.test(text) && !NUMERIC_RE.test(text) && !text.includes("_");
}

/**
 * The line without one trailing "\r" (explain.ts reads the same text).
 * @param line one log line
 */
export function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

/**
 * The line without its date, as fail2ban builds it: text before + text after the date.
 * @param text the line (CR stripped)
 * @param d the date found in it
 */
export function cutDate(text: string, d: FoundDate): string {
  if (d.start === 0) return d.end === 0 ? text : text.slice(d.end);
  return text.slice(0, d.start) + text.slice(d.end);
}

const IP6_PORT_RE = /^([0-9A-Fa-f:]*::?[0-9A-Fa-f]{1,4}):\d{5}$/;

/**
 * An IPv6 address followed by a 5-digit port (`2001:db8::1:58430`) yields the address: an
 * IPv6 group has at most 4 digits, so fail2ban's pattern stops before it too.
 */
function trimHostText(h: string): string {
  const m6 = h.length > 8 ? IP6_PORT_RE.exec(h) : null;
  return m6 && parseIp(m6[1]!) ? m6[1]! : h;
}

function hostOf(m: RegExpExecArray): string {
  const h = m.groups?.["host"] ?? "";
  return h.length > 2 && h.charCodeAt(0) === 91 && h.charCodeAt(h.length - 1) === 93
    ? h.slice(1, -1)
    : h;
}

function findFailure(
  filter: CompiledFilter,
  subject: string,
): { index: number; m: RegExpExecArray } | undefined {
  const list = filter.failregex;
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    if (r.literals !== undefined && !containsAny(subject, r.literals)) continue;
    const m = r.regex.exec(subject);
    if (m) return { index: i, m };
  }
  return undefined;
}

function findIgnore(filter: CompiledFilter, subject: string): number {
  const list = filter.ignoreregex;
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    if (r.literals !== undefined && !containsAny(subject, r.literals)) continue;
    if (r.regex.test(subject)) return i;
  }
  return -1;
}

/**
 * What matchLine() does first: the line without one trailing "\r", and the date the filter's
 * detector finds in it (undefined when none, or when the detector throws).
 * @param filter the compiled filter (its date detector counts the hit)
 * @param line one log line without its "\n"
 * @param now epoch seconds
 */
export function findLineDate(
  filter: CompiledFilter,
  line: string,
  now: number,
): { text: string; date: FoundDate | undefined } {
  const text = stripCr(line);
  try {
    return { text, date: filter.dates.find(text, now) };
  } catch {
    return { text, date: undefined };
  }
}

function matchLineUnsafe(filter: CompiledFilter, line: string, now: number): LineVerdict {
  const { text, date } = findLineDate(filter, line, now);
  if (!date) return { kind: "missed", reason: "no-date" };
  const time = date.time;
  const template = date.template;
  let subject = cutDate(text, date);
  const pref = filter.prefregex;
  let prefMatch: RegExpExecArray | null = null;
  if (pref) {
    prefMatch = pref.regex.exec(subject);
    if (!prefMatch) return { kind: "missed", reason: "no-failregex", time, template };
    const content = prefMatch.groups?.["content"];
    if (content !== undefined) subject = content;
  }
  const hit = findFailure(filter, subject);
  if (!hit) return { kind: "missed", reason: "no-failregex", time, template };
  const regex = hit.index;
  const compiled = filter.failregex[regex]!;
  const hostFromPref = prefMatch !== null && compiled.translated.hostCaptures === 0 &&
    pref!.translated.hostCaptures > 0;
  const hostText = trimHostText(hostOf(hostFromPref ? prefMatch! : hit.m));
  if (filter.ignoreregex.length > 0) {
    const ig = findIgnore(filter, subject);
    if (ig >= 0) return { kind: "ignored", time, template, regex, ignoreRegex: ig, host: hostText };
  }
  const fields: Record<string, string> = {};
  if (prefMatch?.groups) {
    for (const name of pref!.translated.fields) {
      const v = prefMatch.groups[name];
      if (v !== undefined && name !== "content") fields[name] = v;
    }
  }
  const groups = hit.m.groups;
  if (groups) {
    for (const name of compiled.translated.fields) {
      const v = groups[name];
      if (v !== undefined) fields[name] = v;
    }
  }
  mergeAltFields(fields);
  const addr = parseIp(hostText);
  const hostKind = hostFromPref ? pref!.translated.hostKind : compiled.translated.hostKind;
  const hostname = addr === undefined && filter.spec.usedns === true && hostKind === "host" &&
    isHostname(hostText);
  const mlfid = fields["mlfid"];
  const session: SessionFacts | undefined = mlfid === undefined ? undefined : {
    id: mlfid,
    nofail: fields["nofail"] !== undefined,
    gained: fields["mlfgained"] !== undefined,
    forget: fields["mlfforget"] !== undefined,
    ...(fields["user"] ? { user: fields["user"] } : {}),
    ...(addr ? { host: addr.text } : hostname ? { host: hostText } : {}),
  };
  const withSession = session ? { session } : {};
  if (
    fields["nofail"] !== undefined || fields["mlfgained"] !== undefined ||
    (hostText === "" && !hostFromPref && compiled.translated.hostCaptures === 0)
  ) {
    // fail2ban's <F-NOFAIL> / <F-MLFGAINED> ("Accepted …"): matched, but not a failure (unless
    // a session says otherwise: sessions.ts).
    return {
      kind: "missed",
      reason: "no-failregex",
      time,
      template,
      regex,
      host: hostText,
      ...withSession,
    };
  }
  if (addr) {
    return {
      kind: "matched",
      time,
      template,
      regex,
      addr,
      host: addr.text,
      fields,
      ...withSession,
    };
  }
  if (hostname) {
    return {
      kind: "matched",
      time,
      template,
      regex,
      addr: undefined,
      host: hostText,
      fields,
      ...withSession,
    };
  }
  return { kind: "missed", reason: "not-an-address", time, template, regex, host: hostText };
}

/**
 * fail2ban's alternative fields: `<F-ALT_USER>` / `<F-ALT_USER1>` give `user` when that is
 * missing or empty (the first non-empty alternative in name order wins).
 */
function mergeAltFields(fields: Record<string, string>): void {
  let alts: string[] | undefined;
  for (const k in fields) if (k.startsWith("alt_") && k.length > 4) (alts ??= []).push(k);
  if (!alts) return;
  for (const k of alts.sort()) {
    const name = k.slice(4).replace(/_\d+$/, "");
    const v = fields[k];
    if (v && !fields[name]) fields[name] = v;
  }
}

/**
 * The verdict on one log line; never throws.
 * @param filter the compiled filter (its date detector counts the hit)
 * @param line one log line without its "\n" (one trailing "\r" is ignored)
 * @param now epoch seconds, for the missing-year rule and `{NONE}`
 */
export function matchLine(filter: CompiledFilter, line: string, now: number): LineVerdict {
  try {
    return matchLineUnsafe(filter, line, now);
  } catch {
    return { kind: "missed", reason: "no-failregex" };
  }
}

/**
 * Date template hits so far (template name -> lines), as fail2ban-regex prints them.
 * @param filter the compiled filter
 */
export function dateHits(filter: CompiledFilter): ReadonlyMap<string, number> {
  return filter.dates.hits();
}
