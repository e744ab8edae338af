/**
 * fail2ban option values -> banwatch values: durations (MyTime.str2seconds), booleans, word
 * lists and `port =` service names.
 * @module
 */

/** A multi-line option (failregex, ignoreregex) as its non-empty lines. */
export function nonEmptyLines(value: string | undefined): string[] {
  return (value ?? "").split("\n").filter((l) => l !== "");
}

/** fail2ban's time abbreviations (MyTime.str2seconds) -> seconds; -1 (any negative) -> Infinity. */
export function fail2banSeconds(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "") return undefined;
  if (/^-\d+(\.\d+)?$/.test(t)) return Infinity;
  const unit = (u: string): number | undefined => {
    if (u === "") return 1;
    if (/^(?:years?|yea?|yy?)$/.test(u)) return 365.25 * 86400;
    if (/^(?:months?|mon?)$/.test(u)) return (365.25 * 86400) / 12;
    if (/^(?:weeks?|wee?|ww?)$/.test(u)) return 7 * 86400;
    if (/^(?:days?|da|dd?)$/.test(u)) return 86400;
    if (/^(?:hours?|hou?|hh?)$/.test(u)) return 3600;
    if (/^(?:minutes?|min?|mm?)$/.test(u)) return 60;
    if (/^(?:seconds?|sec?|ss?)$/.test(u)) return 1;
    return undefined;
  };
  let total = 0;
  // terms joined by "+" or juxtaposed ("1d12h 30m"); a term may be a product ("60*60")
  const token = /\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*/y;
  let at = 0;
  let product: number | undefined;
  while (at < t.length) {
    token.lastIndex = at;
    const m = token.exec(t);
    if (!m) return undefined;
    const u = unit(m[2] ?? "");
    if (u === undefined) return undefined;
    const value = Number(m[1]) * u;
    product = product === undefined ? value : product * value;
    at = token.lastIndex;
    if (t[at] === "*") {
      at++;
      continue;
    }
    if (t[at] === "+") at++;
    total += product;
    product = undefined;
  }
  if (product !== undefined) return undefined;
  return Math.round(total * 1000) / 1000;
}

/** fail2ban's boolean words (1, on, true, yes; anything else is false); undefined stays so. */
export function asBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  return ["1", "on", "true", "yes"].includes(v.trim().toLowerCase());
}

/** fail2ban's splitwords: on commas, spaces and new lines. */
export function splitWords(v: string | undefined): string[] {
  return (v ?? "").split(/[ ,\n]+/).map((s) => s.trim()).filter((s) => s !== "");
}

/** Well-known service names fail2ban jails use for `port =` (FreeBSD's /etc/services). */
const SERVICES: Readonly<Record<string, number>> = {
  "ftp-data": 20,
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  http: 80,
  www: 80,
  kerberos: 88,
  pop3: 110,
  nntp: 119,
  ntp: 123,
  imap: 143,
  imap2: 143,
  snmp: 161,
  ldap: 389,
  https: 443,
  smtps: 465,
  submissions: 465,
  urd: 465,
  submission: 587,
  ldaps: 636,
  rsync: 873,
  ftps: 990,
  imaps: 993,
  pop3s: 995,
  "ms-sql-s": 1433,
  openvpn: 1194,
  pptp: 1723,
  mysql: 3306,
  sieve: 4190,
  sip: 5060,
  sips: 5061,
  "xmpp-client": 5222,
  "xmpp-server": 5269,
  postgresql: 5432,
  "http-alt": 8080,
  webcache: 8080,
  "http-proxy": 3128,
  squid: 3128,
  ipp: 631,
  mumble: 64738,
  irc: 6667,
};

/** A converted `port =` value. */
export interface PortResult {
  /** The port numbers; undefined = all ports. */
  ports: number[] | undefined;
  /** Why the value could not be converted (then all ports are banned). */
  problem?: string;
}

/** fail2ban's `port = ssh,smtp,465,1000:1010` -> port numbers; 0:65535 or "" -> all ports. */
export function convertPorts(text: string): PortResult {
  const ports: number[] = [];
  for (const item of text.split(/[\s,]+/).filter((s) => s !== "")) {
    const range = /^(\d+):(\d+)$/.exec(item);
    if (range) {
      const lo = Number(range[1]);
      const hi = Number(range[2]);
      if (lo <= 1 && hi >= 65535) return { ports: undefined };
      if (hi < lo || hi - lo > 63) {
        return { ports: undefined, problem: `port range ${item} is too wide to list` };
      }
      for (let p = Math.max(lo, 1); p <= hi; p++) ports.push(p);
      continue;
    }
    if (/^\d+$/.test(item)) {
      const n = Number(item);
      if (n < 1 || n > 65535) return { ports: undefined, problem: `port ${item} out of range` };
      ports.push(n);
      continue;
    }
    const known = SERVICES[item.toLowerCase()];
    if (known === undefined) {
      return { ports: undefined, problem: `unknown service name "${item}" in port = ${text}` };
    }
    ports.push(known);
  }
  if (ports.length === 0) return { ports: undefined };
  return { ports: [...new Set(ports)] };
}
