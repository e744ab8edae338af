/**
 * Whether a converted fail2ban filter may be replaced by one of banwatch's built-in filters:
 * the same verdict, host included, on fail2ban's sample lines and the built-in's own example.
 * @module
 */
import { BUILTIN_FILTERS, compileFilter, createLineJudge, type FilterSpec } from "../filter/mod.ts";
import { FAIL2BAN_TEST_NOW } from "./filter.ts";

/** Options for deciding whether a converted filter may point to a built-in one. */
export interface BuiltinCheck {
  /** Sample log lines for a fail2ban filter name (e.g. from fail2ban's test logs). */
  samples?: (filter: string) => readonly string[] | undefined;
  /** The clock used for year-less dates while comparing (default {@link FAIL2BAN_TEST_NOW}). */
  now?: number;
}

/** Judges lines in order (sessions correlated) and names each verdict. */
function verdictKeys(spec: ReturnType<typeof compileFilter>, now: number) {
  const judge = createLineJudge(spec);
  return (line: string): string => {
    const v = judge(line, now);
    return v.kind === "matched" ? `m:${v.host}` : v.kind;
  };
}

/**
 * The built-in filter that matches exactly the same lines with the same host as `spec` on the
 * given samples plus the built-in's own example (at least one matched line), if any.
 */
export function equivalentBuiltin(
  spec: FilterSpec,
  samples: readonly string[],
  now: number = FAIL2BAN_TEST_NOW,
): FilterSpec | undefined {
  let mine: ReturnType<typeof compileFilter>;
  try {
    mine = compileFilter(spec);
  } catch {
    return undefined;
  }
  for (const builtin of BUILTIN_FILTERS) {
    const lines = [...samples, ...(builtin.example ?? "").split("\n")].filter((l) =>
      l.trim() !== "" && !l.startsWith("#")
    );
    let theirs: ReturnType<typeof compileFilter>;
    try {
      theirs = compileFilter(builtin);
    } catch {
      continue;
    }
    let matched = 0;
    let same = lines.length > 0;
    const mineKey = verdictKeys(mine, now);
    const theirKey = verdictKeys(theirs, now);
    for (const line of lines) {
      const a = mineKey(line);
      if (a !== theirKey(line)) {
        same = false;
        break;
      }
      if (a.startsWith("m:")) matched++;
    }
    if (same && matched > 0) return builtin;
  }
  return undefined;
}
