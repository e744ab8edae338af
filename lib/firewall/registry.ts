/**
 * Backend registry: kind -> factory, the jails.toml key of its program's path and its table-name
 * rule. A new backend is one file beside ipfw.ts plus one entry here; config asks this table
 * (through mod.ts) instead of knowing each backend.
 * @module
 */
import type { Backend, BackendKind, BackendOptions } from "./backend.ts";
import { createDryRunBackend } from "./dry_run.ts";
import { createIpfwBackend, isValidIpfwTableName } from "./ipfw.ts";
import { createNftBackend, isValidNftTableName } from "./nft.ts";
import { createPfBackend, isValidPfTableName } from "./pf.ts";

/** The `[global]` keys of jails.toml that name a firewall program. */
export type BackendPathKey = "ipfw_path" | "pfctl_path" | "nft_path";

/** What the registry holds for one kind. */
interface Registration {
  create(options: BackendOptions): Backend;
  pathKey: BackendPathKey;
  isValidTableName(name: string): boolean;
}

const BACKENDS: Readonly<Record<BackendKind, Registration>> = {
  ipfw: { create: createIpfwBackend, pathKey: "ipfw_path", isValidTableName: isValidIpfwTableName },
  pf: { create: createPfBackend, pathKey: "pfctl_path", isValidTableName: isValidPfTableName },
  nft: { create: createNftBackend, pathKey: "nft_path", isValidTableName: isValidNftTableName },
  // A dry run prints ipfw's commands (the path in them too) and builds them with ipfw's
  // builders, which refuse what ipfw refuses.
  "dry-run": {
    create: createDryRunBackend,
    pathKey: "ipfw_path",
    isValidTableName: isValidIpfwTableName,
  },
};

// The kind may come from an unchecked string at run time: only the registry's own keys count,
// not Object.prototype's.
function registration(kind: BackendKind): Registration | undefined {
  return Object.hasOwn(BACKENDS, kind) ? BACKENDS[kind] : undefined;
}

/** Creates the backend of the given kind. */
export function createBackend(kind: BackendKind, options: BackendOptions): Backend {
  const entry = registration(kind);
  if (entry === undefined) {
    throw new RangeError(`Cannot create firewall backend: unknown kind ${String(kind)}`);
  }
  return entry.create(options);
}

/**
 * The `[global]` key naming the program a backend kind runs (`ipfw_path` for ipfw and for the
 * dry run, which prints ipfw's commands), or undefined for an unknown kind.
 */
export function backendPathKey(kind: BackendKind): BackendPathKey | undefined {
  return registration(kind)?.pathKey;
}

/**
 * True when the backend kind accepts `name` as a table name: ipfw's rule for ipfw and the dry
 * run, pf's (at most 31 characters) for pf, an nft identifier for nft; false for an unknown kind.
 */
export function isValidTableName(kind: BackendKind, name: string): boolean {
  return registration(kind)?.isValidTableName(name) ?? false;
}
