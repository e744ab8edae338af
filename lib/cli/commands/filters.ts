/**
 * `banwatch filters [NAME]`: the built-in filters, with descriptions, examples and patterns.
 * @module
 */
import { parseArgs } from "node:util";
import { BUILTIN_FILTERS, findBuiltinFilter } from "../../filter/mod.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../../core/mod.ts";

const HELP = `Usage: banwatch filters [NAME] [--json]

Without NAME lists the built-in filters with a description and an example line; with NAME
shows its failregex, ignoreregex and datepattern, ready to paste into jails.toml.

Options:
      --json   print JSON instead
  -h, --help   this text
`;

function runFilters(args: string[], ctx: CommandContext): Promise<number> {
  return Promise.resolve(filters(args, ctx));
}

function filters(args: string[], ctx: CommandContext): number {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  if (positionals.length > 1) throw new UsageError("filters takes at most one NAME");
  const name = positionals[0];
  if (name === undefined) {
    if (values.json) {
      ctx.io.out(`${JSON.stringify(BUILTIN_FILTERS)}\n`);
      return 0;
    }
    for (const f of BUILTIN_FILTERS) {
      ctx.io.out(`${f.name}\n    ${f.description ?? ""}\n`);
      if (f.example) ctx.io.out(`    e.g. ${f.example}\n`);
    }
    return 0;
  }
  const spec = findBuiltinFilter(name);
  if (!spec) {
    throw new UsageError(
      `no built-in filter "${name}" (one of ${BUILTIN_FILTERS.map((f) => f.name).join(", ")})`,
    );
  }
  if (values.json) {
    ctx.io.out(`${JSON.stringify(spec)}\n`);
    return 0;
  }
  const lit = (s: string) => `'${s}'`;
  const out = [`# ${spec.name}: ${spec.description ?? ""}`];
  if (spec.example) out.push(`# e.g. ${spec.example}`);
  out.push("failregex = [", ...spec.failregex.map((r) => `  ${lit(r)},`), "]");
  if (spec.ignoreregex?.length) {
    out.push("ignoreregex = [", ...spec.ignoreregex.map((r) => `  ${lit(r)},`), "]");
  }
  if (spec.prefregex !== undefined) out.push(`prefregex = ${lit(spec.prefregex)}`);
  out.push(
    `datepattern = ${spec.datepattern === undefined ? "# automatic" : lit(spec.datepattern)}`,
  );
  ctx.io.out(`${out.join("\n")}\n`);
  return 0;
}

/** The `filters` command. */
export const FILTERS_COMMAND: Command = {
  name: "filters",
  summary: "list the built-in filters, or show one",
  help: HELP,
  run: runFilters,
};
