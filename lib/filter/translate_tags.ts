/**
 * fail2ban's tags (`<HOST>`, `<ADDR>`, `<F-ID>`…) and raw group names (`host`, `ip4`…) as the
 * translator sees them: the JavaScript each tag becomes and which of them are the address
 * capture. Data only.
 * @module
 */

const IP4_JS = String.raw`\d{1,3}(?:\.\d{1,3}){3}`;
const IP6_JS = String.raw`[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*(?:%[\w.-]+)?`;
const HOST_TEXT_JS = String.raw`[\w.:%-]+`;
const DNS_JS = String.raw`[\w.-]*\w`;
const ADDR_JS = `(?:${IP6_JS}|${IP4_JS})`;

/** What a plain tag (`<HOST>`, `<CIDR>`…) becomes. */
export interface TagDef {
  /** JS source with `(?<host>` for the address capture. */
  js: string;
  /** The kind of address the tag captures, undefined when it captures none. */
  host: "address" | "host" | undefined;
  /** The field it reports (`cidr`), if any. */
  field?: string;
}

/** The plain tags by name (also the default content of `<F-IP4>` and the like). */
export const TAGS: Record<string, TagDef> = {
  // IPv4 first, so a following `:port` is left to the rest of the pattern (as fail2ban's
  // narrower address patterns do) instead of being swallowed by the broad host text.
  HOST: {
    js: String.raw`\[?(?<host>(?:::[fF]{4}:)?${IP4_JS}|${HOST_TEXT_JS})\]?`,
    host: "host",
  },
  ADDR: { js: String.raw`\[?(?<host>(?:::[fF]{4}:)?${IP4_JS}|${IP6_JS})\]?`, host: "address" },
  IP4: { js: `(?<host>${IP4_JS})`, host: "address" },
  IP6: { js: `(?<host>${IP6_JS})`, host: "address" },
  DNS: { js: `(?<host>${DNS_JS})`, host: "host" },
  SUBNET: {
    js: String.raw`\[?(?<host>${ADDR_JS})(?:\/(?<cidr>\d{1,3}))?\]?`,
    host: "address",
    field: "cidr",
  },
  CIDR: { js: String.raw`(?<cidr>\d{1,3})`, host: undefined, field: "cidr" },
};

/** F- tags whose content is the address capture, and the kind of address. */
export const HOST_FIELD_TAGS: Record<string, "address" | "host"> = {
  "F-ID": "host",
  "F-HOST": "host",
  "F-DNS": "host",
  "F-ADDR": "address",
  "F-IP4": "address",
  "F-IP6": "address",
  "F-SUBNET": "address",
};

/** Python named groups that are the address capture (fail2ban's raw group names). */
export const HOST_GROUP_NAMES: Record<string, "address" | "host"> = {
  host: "host",
  dns: "host",
  fid: "host",
  ip4: "address",
  ip6: "address",
  addr: "address",
};

/** Tags rejected with a reason: banwatch matches one line at a time. */
export const UNSUPPORTED_TAGS: ReadonlySet<string> = new Set(["SKIPLINES"]);

/**
 * Number of capture groups a translated tag opens.
 * @param js the tag's JavaScript text
 */
export function countGroups(js: string): number {
  return js.split("(?<").length - 1 - (js.split("(?<=").length - 1) - (js.split("(?<!").length - 1);
}
