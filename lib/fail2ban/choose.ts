/**
 * Which filter a converted jail uses, and the evidence written next to it: the admin's own
 * filter by default; a built-in when it matched fail2ban's samples for a stock filter, or with
 * --prefer-builtin when it matched every line the admin's filter matched on the jail's logs.
 * The comparison and the lint warnings (with an anchored rewrite) go to the report and into
 * comments. Pure.
 * @module
 */
import type { FilterSpec } from "../filter/mod.ts";
import { type BuiltinCheck, equivalentBuiltin } from "./builtin.ts";
import { filterSpecLines, tomlArray, tomlComment, tomlString } from "./emit.ts";
import {
  closestBuiltin,
  compareFilters,
  describeComparison,
  lintNotes,
  type LogSample,
} from "./evidence.ts";
import type { Fail2banFilter } from "./filter.ts";

/** How the filter is chosen, and where its report lines go. */
export interface FilterChoice extends BuiltinCheck {
  /** Use the closest built-in when it matched every line the admin's filter matched. */
  preferBuiltin?: boolean;
  /** Reports one line about the jail's filter (a "note" or a "warning"). */
  report: (message: string, severity: "warning" | "note") => void;
}

/** `NAME[k=v, ...]` of a filter as the jail named it. */
export function label(filter: Fail2banFilter): string {
  const opts = Object.entries(filter.options).map(([k, v]) => `${k}=${v}`);
  return `${filter.name}${opts.length > 0 ? `[${opts.join(", ")}]` : ""}`;
}

/**
 * The filter lines of a jail: the admin's filter converted, or a built-in with its evidence
 * (fail2ban's samples for a stock filter; the jail's logs with --prefer-builtin); the
 * comparison on the logs and the lint warnings as comments and in the report.
 */
export function emitFilter(
  what: { filter: Fail2banFilter; spec: FilterSpec; logs: readonly LogSample[]; now: number },
  check: FilterChoice,
): string[] {
  const { filter, spec, logs, now } = what;
  const out: string[] = [];
  const name = `fail2ban's ${label(filter)}`;
  const paths = logs.map((l) => l.path).join(", ");
  let use: string | undefined;
  let why = "";
  const samples = check.samples?.(filter.name);
  if (samples && samples.length > 0) {
    const stock = equivalentBuiltin(spec, samples, check.now);
    if (stock?.name) {
      use = stock.name;
      why = `same verdicts as ${name} on its ${samples.length} sample lines (fail2ban's tests)`;
    }
  }
  if (logs.length > 0) {
    const c = closestBuiltin(spec, { logs, now });
    if (c) {
      const text = describeComparison(c, name);
      check.report(`measured on ${paths}: ${text.join("; ")}`, "note");
      out.push(tomlComment(`measured on ${paths}:
${text.join("\n")}`));
      const covers = c.onlyMine.count === 0 && c.mine > 0;
      if (use === undefined && check.preferBuiltin && covers) {
        use = c.other;
        why = `--prefer-builtin: it matched all ${c.mine} lines ${name} matched on ${paths}`;
      } else if (use === undefined) {
        out.push(tomlComment(
          covers
            ? `filter = '${c.other}' covers every line ${name} matched (--prefer-builtin uses it)`
            : `filter = '${c.other}' misses ${c.onlyMine.count} lines ${name} matched: not offered`,
        ));
      }
    } else {
      const self = compareFilters(spec, spec, { logs, now });
      const text = `measured on ${paths}: ${self?.lines ?? 0} log lines, ${name} matched ` +
        `${self?.mine ?? 0}; no built-in filter matched any of them`;
      check.report(text, self?.mine ? "note" : "warning");
      out.push(tomlComment(text));
    }
  }
  if (use !== undefined) {
    out.push(`filter = ${tomlString(use)}  # ${why}`);
    out.push(tomlComment(`${name} was (${filter.files.join(", ")}):`));
    out.push(tomlComment(filterSpecLines(spec).join("\n")));
    return out;
  }
  for (const n of lintNotes(spec, { logs, now })) {
    let text = `${n.key}: ${n.message}`;
    const lines = [`check: ${n.key}: ${n.message}`];
    if (n.rewrite !== undefined) {
      const m = n.measured;
      const measured = m === undefined
        ? "not measured: no log read"
        : m.onlyMine.count === 0 && m.onlyTheirs.count === 0
        ? `matches the same ${m.both} of ${m.lines} lines of ${paths}`
        : describeComparison(m, "the original").join("; ");
      text += `; anchored rewrite: ${n.rewrite} (${measured})`;
      lines.push(`anchored rewrite (${measured}):`, `failregex = ${tomlArray([n.rewrite])}`);
    }
    check.report(text, "warning");
    out.push(tomlComment(lines.join("\n")));
  }
  out.push(`# ${name}: ${filter.files.join(", ")}`);
  out.push(...filterSpecLines(spec));
  return out;
}
