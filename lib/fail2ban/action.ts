/**
 * A jail's fail2ban actions -> banwatch's blocking: `bsd-ipfw` and `ipfw` become the ipfw
 * backend with a table and a rule banwatch manages (numbered as fail2ban's bsd-ipfw numbers its
 * own), `pf` the pf backend with its table, nftables/iptables the nft backend. Every other action
 * (mail, whois, abuse reports, cloudflare, route, ...) is named, never silently dropped.
 * Pure: action files come through an {@link IniIo}.
 * @module
 */
import { TABLE_NAME } from "../core/mod.ts";
import { readDefinition } from "./definition.ts";
import { parseFilterRef } from "./filter.ts";
import {
  type IniIo,
  joinPath,
  type NameWithOptions,
  readIniConfig,
  splitWithOptions,
} from "./ini.ts";
import { convertPorts } from "./values.ts";

/** fail2ban's bsd-ipfw `lowest_rule_num` default. */
export const FAIL2BAN_LOWEST_RULE = 111;

/** The blocking a jail's actions convert to. */
export interface Firewall {
  /** banwatch's backend. */
  backend: "ipfw" | "pf" | "nft";
  /** The table (ipfw table, pf table, nft set prefix). */
  table: string;
  /** Ports of the rule; undefined = all ports. */
  ports: number[] | undefined;
  /** Protocol of the rule. */
  protocol: "tcp" | "udp" | "all";
  /** ipfw: the lowest rule number fail2ban would start searching from (bsd-ipfw, ipfw). */
  lowestRule?: number;
  /** The action entry as the jail wrote it (after substitution), for comments. */
  entry: string;
  /** The action's name. */
  name: string;
  /** Comment lines for the jail: what differs from fail2ban's own rule. */
  notes: string[];
  /** pf: fail2ban's anchor (`f2b/NAME`). */
  anchor?: string;
}

/** The converted actions of one jail. */
export interface ConvertedActions {
  /** The firewall action, if any could be converted. */
  firewall: Firewall | undefined;
  /** Actions banwatch cannot express: `entry` and why. */
  dropped: { entry: string; why: string }[];
}

/** What convertActions() needs from the jail being converted. */
export interface ActionContext {
  /** fail2ban's configuration directory. */
  basedir: string;
  /** File access. */
  io: IniIo;
  /** The jail's name. */
  jail: string;
  /** Reports a problem on the jail's `action` option. */
  report: (message: string, severity?: "warning") => void;
}

const IPFW_ACTIONS = new Set(["bsd-ipfw", "ipfw"]);
const NFT_ACTION = /^(?:nftables|iptables)(?:-|$)/;

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function protocolOf(text: string | undefined): "tcp" | "udp" | "all" | undefined {
  const p = (text ?? "").trim().toLowerCase();
  if (p === "tcp" || p === "udp") return p;
  if (p === "ip" || p === "all" || p === "any") return "all";
  return undefined;
}

/**
 * Converts a jail's `action =` (after interpolation): the first ipfw/pf/nft action becomes the
 * jail's blocking; the rest are returned as dropped with the reason.
 */
export function convertActions(
  ctx: ActionContext,
  action: string,
  jailOpts: Record<string, string>,
): ConvertedActions {
  let firewall: Firewall | undefined;
  const dropped: { entry: string; why: string }[] = [];
  for (const raw of splitWithOptions(action).map((a) => a.trim()).filter((a) => a !== "")) {
    const entry = oneLine(raw);
    let parsed: NameWithOptions;
    try {
      parsed = parseFilterRef(raw);
    } catch (e) {
      ctx.report(`cannot parse action ${JSON.stringify(entry)}: ${String(e)}`);
      dropped.push({ entry, why: "cannot be parsed" });
      continue;
    }
    const name = parsed.name;
    const kind = IPFW_ACTIONS.has(name)
      ? "ipfw"
      : name === "pf"
      ? "pf"
      : NFT_ACTION.test(name)
      ? "nft"
      : undefined;
    if (kind === undefined) {
      const why = whyNot(name);
      ctx.report(`action "${name}" has no banwatch equivalent (${why})`);
      dropped.push({ entry, why });
      continue;
    }
    if (firewall) {
      const why = "a second firewall action: banwatch uses one per jail";
      ctx.report(`second firewall action "${name}": banwatch uses one per jail`);
      dropped.push({ entry, why });
      continue;
    }
    const cfg = readIniConfig(joinPath(ctx.basedir, "action.d"), name, ctx.io);
    const initOpts: Record<string, string> = { ...parsed.options };
    initOpts["name"] ??= ctx.jail;
    const v = readDefinition(cfg, [], initOpts, jailOpts, {
      key: `jail.${ctx.jail}.action`,
      all: false,
      ignore: ["ip", "ipmatches", "matches", "ipjailmatches", "bantime", "timeout"],
    }).values;
    const portText = v["port"] ?? "";
    const ports = convertPorts(portText.includes("<") ? "" : portText);
    if (ports.problem) ctx.report(`${ports.problem}; banning on all ports`);
    if (kind === "pf") firewall = pfFirewall(ctx, v, entry, ports.ports);
    else if (kind === "nft") firewall = nftFirewall(ctx, v, entry, name, ports.ports);
    else firewall = ipfwFirewall(ctx, v, entry, name, ports.ports);
  }
  return { firewall, dropped };
}

function ipfwFirewall(
  ctx: ActionContext,
  v: Record<string, string>,
  entry: string,
  name: string,
  ports: number[] | undefined,
): Firewall {
  const notes: string[] = [];
  let table = name === "bsd-ipfw" ? (v["table"] ?? "1").trim() : ctx.jail;
  if (!TABLE_NAME.test(table) || table === "all") {
    ctx.report(`ipfw table "${table}" is not a valid table name; using "${ctx.jail}"`);
    table = ctx.jail;
  } else if (table.endsWith(".conf")) {
    ctx.report(
      `ipfw table "${table}" ends in ".conf" (a file name, probably a typo); kept, since ` +
        `fail2ban's table has this name: rename it here and in your ipfw rules if unintended`,
      "warning",
    );
  }
  // bsd-ipfw blocks <block> (default ip, all protocols); ipfw.conf always tcp
  const block = name === "bsd-ipfw" ? protocolOf(v["block"] ?? "ip") ?? "all" : "tcp";
  let protocol = block;
  if (ports && protocol === "all") {
    // ipfw matches ports only for tcp/udp/sctp; banwatch's rule needs one of tcp, udp
    protocol = protocolOf(v["protocol"]) === "udp" ? "udp" : "tcp";
    notes.push(
      `fail2ban's rule blocked "ip" on these ports (tcp, udp and sctp); banwatch's blocks ${protocol}`,
    );
  }
  if (!ports && protocol === "all" && name === "bsd-ipfw" && v["protocol"] !== undefined) {
    notes.push(
      `fail2ban's bsd-ipfw blocks "${v["block"] ?? "ip"}" (every protocol): its protocol=${
        oneLine(v["protocol"])
      } is not used by that action`,
    );
  }
  const blocktype = oneLine(v["blocktype"] ?? "unreach port");
  if (blocktype !== "deny") {
    notes.push(`fail2ban's rule answered "${blocktype}"; banwatch's rule is "deny" (silent drop)`);
  }
  if (name === "ipfw") {
    notes.push(
      `fail2ban's ipfw action added one rule per address (to ${
        v["localhost"] ?? "127.0.0.1"
      }); banwatch uses table "${table}" and one rule`,
    );
  } else notes.push(`fail2ban's rule matched "to me"; banwatch's matches "to any"`);
  const lowest = Number(v["lowest_rule_num"] ?? FAIL2BAN_LOWEST_RULE);
  return {
    backend: "ipfw",
    table,
    ports,
    protocol,
    lowestRule: Number.isInteger(lowest) && lowest >= 1 && lowest <= 65534
      ? lowest
      : FAIL2BAN_LOWEST_RULE,
    entry,
    name,
    notes,
  };
}

function pfFirewall(
  ctx: ActionContext,
  v: Record<string, string>,
  entry: string,
  ports: number[] | undefined,
): Firewall {
  const table = `${v["tablename"] ?? "f2b"}-${v["name"] ?? ctx.jail}`;
  const actiontype = v["actiontype"] ?? "";
  const allports = actiontype.includes("any") && !actiontype.includes("port");
  return {
    backend: "pf",
    table,
    ports: allports ? undefined : ports,
    protocol: allports ? "all" : protocolOf(v["protocol"]) ?? "tcp",
    entry,
    name: "pf",
    notes: [],
    anchor: `f2b/${v["name"] ?? ctx.jail}`,
  };
}

function nftFirewall(
  ctx: ActionContext,
  v: Record<string, string>,
  entry: string,
  name: string,
  ports: number[] | undefined,
): Firewall {
  const allports = name.includes("allports");
  return {
    backend: "nft",
    table: ctx.jail.replace(/[^A-Za-z0-9_.-]/g, "_"),
    ports: allports ? undefined : ports,
    protocol: allports ? "all" : protocolOf(v["protocol"]) ?? "tcp",
    entry,
    name,
    notes: [`banwatch's nft backend drops the table's addresses in its own "banwatch" table`],
  };
}

/** Why an action has no banwatch equivalent, one phrase. */
export function whyNot(action: string): string {
  if (/^(?:sendmail|mail|smtp)/.test(action)) return "mail notifications are not sent";
  if (/whois|geoip/.test(action)) return "mail/whois reports are not sent";
  if (/^(?:firewallcmd|ufw|shorewall|apf|route|ipfilter|npf|osx)/.test(action)) {
    return "only ipfw, pf and nftables/iptables actions are converted";
  }
  if (/blocklist_de|abuseipdb|dshield|mynetwatchman|xarf|complain|ipthreat|badips/.test(action)) {
    return "reports to an external service are not sent";
  }
  if (/cloudflare|netscaler|nginx|apprise|nsupdate|symbiosis|hostsdeny/.test(action)) {
    return "only firewall tables are managed";
  }
  if (action === "dummy") return "a test action";
  return "only ipfw, bsd-ipfw, pf and nftables/iptables actions are converted";
}

/**
 * The firewall commands (or pf.conf lines) to run by hand when switching a jail from fail2ban to
 * banwatch; `rule` is the number banwatch manages (ipfw).
 */
export function firewallByHand(jail: string, fw: Firewall, rule: number | undefined): string[] {
  if (fw.backend === "ipfw") {
    const out: string[] = [];
    if (fw.name === "bsd-ipfw" && rule !== undefined) {
      out.push(
        `jail ${jail}: stop fail2ban before starting banwatch: its bsd-ipfw rule (first free ` +
          `number from ${fw.lowestRule}, ${rule} here) is deleted on stop, and banwatch adds ` +
          `its own rule ${rule} only when none references table(${fw.table}); if ` +
          `"ipfw list ${rule}" still shows fail2ban's rule: ipfw delete ${rule}`,
      );
    } else if (fw.name === "ipfw") {
      out.push(
        `jail ${jail}: fail2ban's ipfw action added one rule per banned address; after ` +
          `stopping fail2ban, delete those left (ipfw list)`,
      );
    }
    if (fw.table.endsWith(".conf")) {
      out.push(
        `jail ${jail}: if you rename table "${fw.table}": ipfw table '${fw.table}' destroy ` +
          `(after banwatch stops using it)`,
      );
    }
    return out;
  }
  if (fw.backend === "pf") {
    const proto = fw.protocol === "all" ? "" : ` proto ${fw.protocol}`;
    const port = fw.ports && fw.ports.length > 0 ? ` port { ${fw.ports.join(" ")} }` : "";
    return [
      `jail ${jail}: add to /etc/pf.conf, then pfctl -f /etc/pf.conf: table <${fw.table}> persist`,
      `jail ${jail}: add to /etc/pf.conf: block drop in quick${proto} from <${fw.table}> to any${port}`,
      `jail ${jail}: fail2ban's anchor "${fw.anchor}" is no longer filled; remove its ` +
      `anchor "f2b/*" line from /etc/pf.conf once no jail uses it`,
    ];
  }
  return [
    `jail ${jail}: fail2ban's ${fw.name} chain/set for this jail is removed when fail2ban stops; ` +
    `stop fail2ban before starting banwatch`,
  ];
}
