import { assertEquals, assertThrows } from "../_assert.ts";
import type { Runner } from "../../lib/core/exec.ts";
import {
  type BackendKind,
  backendPathKey,
  createBackend,
  isValidTableName,
} from "../../lib/firewall/mod.ts";

const NO_RUN: Runner = { run: () => Promise.reject(new Error("nothing should run")) };

Deno.test("createBackend() builds each registered kind and refuses an unknown one", () => {
  for (const kind of ["ipfw", "pf", "nft", "dry-run"] as const) {
    assertEquals(createBackend(kind, { runner: NO_RUN }).kind, kind);
  }
  const unknown = assertThrows(
    () => createBackend("iptables" as BackendKind, { runner: NO_RUN }),
    /^Cannot create firewall backend: unknown kind iptables$/,
  );
  assertEquals(unknown instanceof RangeError, true);
  // a name on Object.prototype is not a registered kind either
  assertThrows(() => createBackend("toString" as BackendKind, { runner: NO_RUN }), /unknown kind/);
});

Deno.test("backendPathKey() names the [global] key of each kind's program", () => {
  assertEquals(backendPathKey("ipfw"), "ipfw_path");
  assertEquals(backendPathKey("pf"), "pfctl_path");
  assertEquals(backendPathKey("nft"), "nft_path");
  assertEquals(backendPathKey("dry-run"), "ipfw_path");
  assertEquals(backendPathKey("constructor" as BackendKind), undefined);
});

Deno.test("isValidTableName() applies the kind's own rule", () => {
  const long = "t".repeat(40); // over pf's 31, within ipfw's 63
  assertEquals(isValidTableName("ipfw", long), true);
  assertEquals(isValidTableName("dry-run", long), true);
  assertEquals(isValidTableName("pf", long), false);
  assertEquals(isValidTableName("ipfw", "all"), false);
  assertEquals(isValidTableName("pf", "all"), true);
  assertEquals(isValidTableName("nft", "1abc"), false); // an nft identifier starts with a letter
  assertEquals(isValidTableName("ipfw", "1abc"), true);
  assertEquals(isValidTableName("iptables" as BackendKind, "abc"), false);
});
