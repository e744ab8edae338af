/**
 * Backend registry: kind -> factory. A new backend is one file beside ipfw.ts plus one line here.
 * @module
 */
import type { Backend, BackendKind, BackendOptions } from "./backend.ts";
import { createDryRunBackend } from "./dry_run.ts";
import { createIpfwBackend } from "./ipfw.ts";
import { createNftBackend } from "./nft.ts";
import { createPfBackend } from "./pf.ts";

/** Creates the backend of the given kind. */
export function createBackend(kind: BackendKind, options: BackendOptions): Backend {
  switch (kind) {
    case "ipfw":
      return createIpfwBackend(options);
    case "pf":
      return createPfBackend(options);
    case "nft":
      return createNftBackend(options);
    case "dry-run":
      return createDryRunBackend(options);
    default:
      throw new RangeError(`Cannot create firewall backend: unknown kind ${String(kind)}`);
  }
}
