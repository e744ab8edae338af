/**
 * Converts every stock fail2ban filter that has an annotated sample log and prints how well
 * banwatch's filter engine agrees with the `# failJSON:` annotations, per filter and option
 * set: `filter | options | lines | agree | disagree | status`, then the overall percentage.
 *
 *   deno run --allow-read --v8-flags=--enable-experimental-regexp-engine-on-excessive-backtracks \
 *     scripts/import_agreement.ts [CONFIG_DIR] [SAMPLES_DIR] [--verbose]
 *
 * Reads fail2ban where it is installed (default /etc/fail2ban and Debian's test logs); exits 0
 * with a message when it is not.
 * @module
 */
// deno-lint-ignore-file no-console
import { denoIniIo } from "../lib/cli/mod.ts";
import { type Agreement, checkSampleAgreement } from "../lib/fail2ban/mod.ts";

const DEFAULT_CONFIG = "/etc/fail2ban";
const DEFAULT_SAMPLES = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

/** The per-filter rows and the overall result. */
export interface AgreementTable {
  /** One row per filter and option set. */
  rows: Agreement[];
  /** Filters whose every option set agrees on every line. */
  fullyAgreeing: string[];
  /** Filters whose every option set agrees on every line that is not skipped. */
  exceptSkips: string[];
  /** All filters checked. */
  filters: string[];
}

/** Runs the agreement check over every filter in `config/filter.d` with a sample log. */
export function agreementTable(config: string, samples: string): AgreementTable {
  const io = denoIniIo();
  const names = io.listDir(`${config}/filter.d`)
    .filter((f) => f.endsWith(".conf") && !f.endsWith("common.conf"))
    .map((f) => f.slice(0, -".conf".length))
    .filter((n) => io.readFile(`${samples}/${n}`) !== undefined)
    .sort();
  const rows: Agreement[] = [];
  const fully: string[] = [];
  const exceptSkips: string[] = [];
  for (const name of names) {
    const got = checkSampleAgreement(config, name, io, (f) => io.readFile(`${samples}/${f}`));
    rows.push(...got);
    if (got.length === 0) continue;
    if (got.every((a) => !a.error && a.agree === a.lines)) fully.push(name);
    if (
      got.every((a) => (!a.error || a.skipped.length === a.lines) && a.disagreements.length === 0)
    ) {
      exceptSkips.push(name);
    }
  }
  return { rows, fullyAgreeing: fully, exceptSkips, filters: names };
}

function optionsText(options: Readonly<Record<string, string>>): string {
  const parts = Object.entries(options).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(",") : "-";
}

function main(args: string[]): number {
  const verbose = args.includes("--verbose");
  const [config = DEFAULT_CONFIG, samples = DEFAULT_SAMPLES] = args.filter((a) =>
    !a.startsWith("--")
  );
  try {
    Deno.statSync(`${config}/filter.d`);
    Deno.statSync(samples);
  } catch {
    console.log(`fail2ban is not installed here (${config}/filter.d or ${samples} missing)`);
    return 0;
  }
  const table = agreementTable(config, samples);
  console.log("| filter | options | lines | agree | disagree | skipped | status |");
  console.log("|---|---|---:|---:|---:|---:|---|");
  for (const r of table.rows) {
    const disagree = r.disagreements.length;
    const skipped = r.skipped.length;
    const reasons = [...new Set(r.skipped.map((s) => s.reason))].join(", ");
    const status = r.error && skipped < r.lines
      ? `error: ${r.error}`
      : disagree > 0
      ? "DISAGREE"
      : skipped > 0
      ? `ok except skipped (${reasons})`
      : "ok";
    console.log(
      `| ${r.filter} | ${
        optionsText(r.options)
      } | ${r.lines} | ${r.agree} | ${disagree} | ${skipped} | ${status} |`,
    );
    if (verbose) {
      for (const d of r.disagreements) {
        const want = d.sample.match ? `match ${d.sample.host ?? "(any host)"}` : "no match";
        console.log(
          `    ${d.sample.file}:${d.sample.lineNo}: want ${want}, got ${d.got}: ${
            d.sample.line.slice(0, 160)
          }`,
        );
      }
      for (const d of r.skipped) {
        const want = d.sample.match ? `match ${d.sample.host ?? "(any host)"}` : "no match";
        console.log(
          `    skipped (${d.reason}) ${d.sample.file}:${d.sample.lineNo}: want ${want}, ` +
            `got ${d.got}: ${d.sample.line.slice(0, 120)}`,
        );
      }
    }
  }
  const n = table.filters.length;
  const ok = table.fullyAgreeing.length;
  const pct = n === 0 ? 0 : (100 * ok) / n;
  const lines = table.rows.reduce((s, r) => s + r.lines, 0);
  const agree = table.rows.reduce((s, r) => s + r.agree, 0);
  const skips = table.rows.flatMap((r) => r.skipped);
  const counted = lines - skips.length;
  const byReason = new Map<string, number>();
  for (const s of skips) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
  const exceptSkips = table.exceptSkips.length;
  console.log("");
  console.log(
    `${ok}/${n} stock filters fully agree (${pct.toFixed(1)}%); ` +
      `${agree}/${lines} annotated lines agree (${(100 * agree / Math.max(lines, 1)).toFixed(1)}%)`,
  );
  console.log(
    `${exceptSkips}/${n} agree on every line not skipped ` +
      `(${(100 * exceptSkips / Math.max(n, 1)).toFixed(1)}%); ${agree}/${counted} counted lines ` +
      `agree (${(100 * agree / Math.max(counted, 1)).toFixed(1)}%); skipped ${skips.length}: ` +
      [...byReason].map(([k, v]) => `${k} ${v}`).join(", "),
  );
  const failing = table.filters.filter((f) => !table.fullyAgreeing.includes(f));
  if (failing.length > 0) console.log(`not fully agreeing: ${failing.join(", ")}`);
  const failingSkips = table.filters.filter((f) => !table.exceptSkips.includes(f));
  if (failingSkips.length > 0) {
    console.log(`disagreeing on lines not skipped: ${failingSkips.join(", ")}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(main(Deno.args));
