/**
 * `deno task builtin-agreement`: each built-in filter against fail2ban's stock filter for the
 * same service (converted with banwatch's own fail2ban import, as `import-agreement` does), over
 * fail2ban's sample log for that service and the project's sample logs (tests/testdata/filters/,
 * tests/testdata/demo/). Prints, per built-in, the lines only one of the two matches (and the
 * lines both match with a different address); a line only fail2ban matches is followed by the
 * built-in's documented exclusion it falls under, if any. Then every line fail2ban matches in
 * its RFC 3164 form is rewritten into the other syslog forms FreeBSD writes (`syslogd -v`
 * `<4.6>`, `-vv` `<auth.info>`, `-O rfc5424`) and the RFC 3339 form, and the built-in must
 * give the same address on each.
 *
 *   deno run --allow-read --v8-flags=--enable-experimental-regexp-engine-on-excessive-backtracks \
 *     scripts/builtin_agreement.ts [CONFIG_DIR] [SAMPLES_DIR] [--verbose]
 *
 * CONFIG_DIR is a fail2ban configuration (default /etc/fail2ban; a checkout's `config/` for
 * upstream), SAMPLES_DIR its sample logs (default Debian's). Exits 0 with a message when they
 * are missing; exits 1 when fail2ban matches a line the built-in misses (or gives another
 * address) that no documented exclusion explains.
 * @module
 */
// deno-lint-ignore-file no-console
import { parse as parseToml } from "smol-toml";
import { denoIniIo } from "../lib/cli/mod.ts";
import { parseFilterFile } from "../lib/config/mod.ts";
import { importFail2banFilter } from "../lib/fail2ban/mod.ts";
import {
  BUILTIN_FILTERS,
  type CompiledFilter,
  compileFilter,
  createLineJudge,
  type FilterSpec,
  findBuiltinFilter,
  type LineVerdict,
  matchLine,
} from "../lib/filter/mod.ts";

const DEFAULT_CONFIG = "/etc/fail2ban";
const DEFAULT_SAMPLES = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";
const ROOT = new URL("../", import.meta.url);
/** fail2ban's clock in its sample tests (2005-08-14 10:00 UTC), for year-less dates. */
const NOW = 1124013600;

/** A built-in and the stock filter (with options) it stands in for. */
export interface Pairing {
  /** The built-in's name. */
  builtin: string;
  /** fail2ban's filter as a jail names it (`postfix[mode=auth]`), or undefined: none. */
  stock?: string;
  /** fail2ban's sample logs for the service (files under SAMPLES_DIR). */
  samples: readonly string[];
}

/** The built-ins and their fail2ban counterparts (qpopper and inetd have none in fail2ban). */
export const PAIRINGS: readonly Pairing[] = [
  { builtin: "postfix-sasl", stock: "postfix[mode=auth]", samples: ["postfix"] },
  { builtin: "dovecot", stock: "dovecot", samples: ["dovecot"] },
  { builtin: "sshd", stock: "sshd", samples: ["sshd"] },
  { builtin: "qpopper", samples: [] },
  { builtin: "tcp-wrappers", samples: [] },
];

/**
 * Lines fail2ban's filter matches that a built-in leaves out on purpose, with the reason the
 * built-in's description (`banwatch filters NAME`) and man/banwatch.8 give. `test` sees the
 * line and the host fail2ban found.
 */
interface Exclusion {
  reason: string;
  test: (line: string, host: string) => boolean;
}

/** The address every injected line of the project's samples tries to get banned. */
const VICTIM = "198.51.100.66";

const COMMON_EXCLUSIONS: readonly Exclusion[] = [
  {
    reason: `injected line: the address ${VICTIM} is attacker text (tests/testdata/filters/)`,
    test: (_l, host) => host.startsWith(VICTIM),
  },
  {
    reason: `hostile sample: attacker text after the address holds a second one (${VICTIM}); ` +
      "the built-in matches neither rather than guess which one the daemon wrote",
    test: (line) => line.includes(VICTIM),
  },
  {
    reason:
      "syslog header FreeBSD does not write (no hostname, Solaris `[ID n fac.pri]`, daemontools TAI64N)",
    test: (line) => {
      const rest = line.replace(/^(?:[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d|@[0-9a-f]{24}) /, "");
      return /^(?:\[[\w-]+\]|[\w-]+(?:\[\d+\])?:)/.test(rest) || /\]: \[ID \d+ \S+\] /.test(rest);
    },
  },
  {
    reason: "hostname in the address position (banned only with usedns)",
    test: (_l, host) => !/^[0-9.]+$/.test(host) && !host.includes(":"),
  },
  { reason: "IPv6 zone id", test: (_l, host) => host.includes("%") },
  { reason: "leading-zero IPv4", test: (_l, host) => /(?:^|\.)0\d/.test(host) },
];

const EXCLUSIONS: Readonly<Record<string, readonly Exclusion[]>> = {
  "sshd": [
    {
      reason: "libwrap refusal, not a credential failure: the tcp-wrappers built-in counts it",
      test: (line) => / refused connect from \S+ \([^()]*\)\s*$/.test(line),
    },
    {
      reason:
        "SSH-1 `ssh1: ruser …` suffix: gone since OpenSSH 7.4; attacker text after the address",
      test: (line) => / ssh1: ruser /.test(line),
    },
  ],
};

/** One judged line. */
interface Judged {
  source: string;
  line: string;
  stock: string | undefined;
  /** Whether the stock filter matches the line alone, with the same host (no session). */
  alone: boolean;
  builtin: string | undefined;
}

/** The result for one pairing. */
export interface PairingResult {
  /** The pairing. */
  pairing: Pairing;
  /** Lines judged. */
  lines: number;
  /** Lines both match with the same address. */
  both: number;
  /** Lines only fail2ban matches (or with another address), with the exclusion if any. */
  onlyStock: { source: string; line: string; host: string; excluded?: string }[];
  /** Lines only the built-in matches. */
  onlyBuiltin: { source: string; line: string; host: string }[];
  /** Lines fail2ban matches that the built-in misses in another syslog form. */
  formatMisses: { source: string; line: string; form: string; want: string; got: string }[];
  /** Why the stock filter could not be used. */
  error?: string;
  /** How it was run, when banwatch's engine needed help. */
  note?: string;
}

/** Log lines of a file: comments, annotations and blank lines left out; CR kept. */
function logLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
}

function read(path: string | URL): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: false }).decode(Deno.readFileSync(path));
  } catch {
    return undefined;
  }
}

/** The project's sample lines: tests/testdata/filters/*.log and tests/testdata/demo/*. */
function projectSamples(): { source: string; line: string }[] {
  const out: { source: string; line: string }[] = [];
  for (const dir of ["tests/testdata/filters/", "tests/testdata/demo/"]) {
    const url = new URL(dir, ROOT);
    const names = [...Deno.readDirSync(url)].filter((e) => e.isFile).map((e) => e.name).sort();
    for (const name of names) {
      logLines(read(new URL(name, url)) ?? "").forEach((line, i) =>
        out.push({ source: `${dir}${name}#${i + 1}`, line })
      );
    }
  }
  return out;
}

/** fail2ban's filter as banwatch judges it: each line alone, or in order with sessions. */
interface Stock {
  judge(line: string): LineVerdict;
  lineJudge(): (line: string) => LineVerdict;
  /** Set when banwatch's engine needed help to run it (see {@link stockFilter}). */
  note?: string;
}

/** fail2ban's address tags, made non-capturing (the forms its sample logs use). */
function uncaptured(regex: string): string {
  return regex.replace(/<(?:ADDR|HOST|IP4|IP6)>/g, String.raw`\[?[0-9A-Fa-f:.]+\]?`);
}

/**
 * The stock filter converted by banwatch's import, as `banwatch import-fail2ban` writes it.
 * banwatch rejects a failregex that captures the address when the prefregex does too (upstream
 * dovecot.conf since 1.1); fail2ban then takes the failregex's address when its group took
 * part, else the prefregex's. That is emulated with two filters: the failregex's address (the
 * prefregex's made non-capturing), else the prefregex's (the failregex's made non-capturing).
 */
function stockFilter(config: string, ref: string): Stock {
  const got = importFail2banFilter(config, ref, denoIniIo());
  if (got.toml === "") throw new Error(got.problems.map((p) => p.message).join("; "));
  let parsed: FilterSpec;
  let rejected: unknown;
  try {
    parsed = parseFilterFile(got.toml, `${ref}.toml`);
  } catch (e) {
    // the same file, unvalidated: the workaround below may still run it
    rejected = e;
    const t = parseToml(got.toml) as Record<string, unknown>;
    const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
    parsed = { name: ref, failregex: list(t["failregex"]) };
    if (t["ignoreregex"]) parsed.ignoreregex = list(t["ignoreregex"]);
    if (typeof t["prefregex"] === "string") parsed.prefregex = t["prefregex"];
    if (typeof t["datepattern"] === "string") parsed.datepattern = t["datepattern"];
  }
  const spec: FilterSpec = { ...parsed, usedns: true, timezone: "UTC" };
  const plain = (f: CompiledFilter): Stock => ({
    judge: (line) => createLineJudge(f)(line, NOW),
    lineJudge: () => {
      const j = createLineJudge(f);
      return (line) => j(line, NOW);
    },
  });
  if (rejected === undefined) {
    try {
      return plain(compileFilter(spec));
    } catch (e) {
      rejected = e;
    }
  }
  const why = rejected instanceof Error ? rejected.message : String(rejected);
  if (!spec.prefregex || !/captured in both the prefregex/.test(why)) throw rejected;
  const fromFail = compileFilter({ ...spec, prefregex: uncaptured(spec.prefregex) });
  const fromPref = compileFilter({ ...spec, failregex: spec.failregex.map(uncaptured) });
  const pick = (a: LineVerdict, b: LineVerdict) => (a.kind === "matched" ? a : b);
  return {
    judge: (line) => pick(matchLine(fromFail, line, NOW), matchLine(fromPref, line, NOW)),
    lineJudge: () => {
      const a = createLineJudge(fromFail);
      const b = createLineJudge(fromPref);
      return (line) => pick(a(line, NOW), b(line, NOW));
    },
    note: "address in both the prefregex and a failregex: fail2ban's merge emulated",
  };
}

function hostOf(v: LineVerdict): string | undefined {
  return v.kind === "matched" ? v.host : undefined;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const RFC3164 =
  /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d\d:\d\d:\d\d) ([\w.-]+) ([\w./-]+)(?:\[(\d+)\])?: (.*)$/;

/**
 * The other syslog forms of an RFC 3164 line `Mon dd hh:mm:ss host prog[pid]: msg`, as
 * FreeBSD's syslogd (-v, -vv, -O rfc5424) and RFC 3339 syslog daemons write it.
 */
export function otherForms(line: string): { form: string; line: string }[] {
  const m = RFC3164.exec(line);
  if (!m) return [];
  const [, mon = "", day = "", time = "", host = "", prog = "", pid, msg = ""] = m;
  const month = String(MONTHS.indexOf(mon) + 1).padStart(2, "0");
  const iso = `2005-${month}-${day.trim().padStart(2, "0")}T${time}`;
  const tag = pid === undefined ? `${prog}:` : `${prog}[${pid}]:`;
  const date = `${mon} ${day} ${time}`;
  return [
    { form: "-v", line: `${date} <4.6> ${host} ${tag} ${msg}` },
    { form: "-vv", line: `${date} <auth.info> ${host} ${tag} ${msg}` },
    { form: "rfc5424", line: `<38>1 ${iso}.123456+00:00 ${host} ${prog} ${pid ?? "-"} - - ${msg}` },
    { form: "rfc3339", line: `${iso}.123456+00:00 ${host} ${tag} ${msg}` },
  ];
}

/** Runs one pairing. */
export function comparePairing(
  pairing: Pairing,
  config: string,
  samples: string,
  project: readonly { source: string; line: string }[],
): PairingResult {
  const result: PairingResult = {
    pairing,
    lines: 0,
    both: 0,
    onlyStock: [],
    onlyBuiltin: [],
    formatMisses: [],
  };
  const spec = findBuiltinFilter(pairing.builtin);
  if (!spec) throw new Error(`no built-in ${pairing.builtin}`);
  const builtin = compileFilter({ ...spec, timezone: "UTC" });
  let stock: Stock | undefined;
  if (pairing.stock !== undefined) {
    try {
      stock = stockFilter(config, pairing.stock);
      if (stock.note) result.note = stock.note;
    } catch (e) {
      result.error = e instanceof Error ? e.message : String(e);
    }
  }
  const others = BUILTIN_FILTERS.filter((f) => f.name !== spec.name).map((f) => ({
    name: f.name,
    filter: compileFilter({ ...f, timezone: "UTC" }),
  }));
  const exclusions = [...COMMON_EXCLUSIONS, ...(EXCLUSIONS[spec.name] ?? [])];
  const groups: { source: string; lines: { source: string; line: string }[] }[] = [];
  for (const name of pairing.samples) {
    const text = read(`${samples}/${name}`);
    if (text === undefined) continue;
    groups.push({
      source: name,
      lines: logLines(text).map((line, i) => ({ source: `fail2ban:${name}#${i + 1}`, line })),
    });
  }
  groups.push({ source: "project", lines: [...project] });
  const judged: Judged[] = [];
  for (const g of groups) {
    // each file in order through one judge, as fail2ban's tests feed it (sessions span lines)
    const judgeStock = stock?.lineJudge();
    const judgeBuiltin = createLineJudge(builtin);
    for (const { source, line } of g.lines) {
      const host = judgeStock && hostOf(judgeStock(line));
      judged.push({
        source,
        line,
        stock: host,
        alone: host !== undefined && stock !== undefined && hostOf(stock.judge(line)) === host,
        builtin: hostOf(judgeBuiltin(line, NOW)),
      });
    }
  }
  for (const j of judged) {
    result.lines++;
    if (j.stock !== undefined && j.stock === j.builtin) {
      result.both++;
    } else if (j.stock !== undefined) {
      const host = j.stock;
      let excluded = exclusions.find((e) => e.test(j.line, host))?.reason;
      if (excluded === undefined && !j.alone) {
        excluded = "multi-line: fail2ban infers it from other lines of the same process " +
          "(<F-MLFID>); the built-ins judge each line alone";
      }
      if (
        excluded === undefined && j.builtin !== undefined &&
        j.line.lastIndexOf(j.builtin) > j.line.lastIndexOf(host)
      ) {
        excluded = "the user name holds a second address: the built-in takes the one the " +
          "daemon wrote after it, fail2ban the first";
      }
      if (excluded === undefined && j.builtin === undefined) {
        const other = others.find((o) => hostOf(createLineJudge(o.filter)(j.line, NOW)) === host);
        if (other) excluded = `matched by the ${other.name} built-in`;
      }
      result.onlyStock.push({
        source: j.source,
        line: j.line,
        host: j.builtin === undefined ? host : `${host} (built-in: ${j.builtin})`,
        ...(excluded === undefined ? {} : { excluded }),
      });
    } else if (j.builtin !== undefined && stock !== undefined) {
      result.onlyBuiltin.push({ source: j.source, line: j.line, host: j.builtin });
    }
    // the same failure in the other syslog forms: the built-in must give the same address
    if (j.stock !== undefined && j.stock === j.builtin) {
      for (const f of otherForms(j.line.replace(/\r$/, ""))) {
        const got = hostOf(createLineJudge(builtin)(f.line, NOW));
        if (got !== j.builtin) {
          result.formatMisses.push({
            source: j.source,
            line: f.line,
            form: f.form,
            want: j.builtin,
            got: got ?? "no match",
          });
        }
      }
    }
  }
  return result;
}

function clip(s: string, n = 150): string {
  const t = JSON.stringify(s).slice(1, -1);
  return t.length > n ? `${t.slice(0, n)}…` : t;
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
  console.log(`fail2ban filters: ${config}/filter.d; samples: ${samples}`);
  const project = projectSamples();
  const results = PAIRINGS.map((p) => comparePairing(p, config, samples, project));
  let unexplained = 0;
  for (const r of results) {
    const p = r.pairing;
    console.log("");
    console.log(`== ${p.builtin} vs ${p.stock ? `fail2ban ${p.stock}` : "(no stock filter)"}`);
    if (r.error) console.log(`   stock filter not usable: ${r.error}`);
    if (r.note) console.log(`   note: ${r.note}`);
    for (const s of r.onlyStock) {
      if (s.excluded === undefined) unexplained++;
      if (s.excluded !== undefined && !verbose) continue;
      console.log(`   only fail2ban  ${s.source}: ${s.host}: ${clip(s.line)}`);
      if (s.excluded) console.log(`                  excluded: ${s.excluded}`);
    }
    for (const s of r.onlyBuiltin) {
      console.log(`   only built-in  ${s.source}: ${s.host}: ${clip(s.line)}`);
    }
    for (const s of r.formatMisses) {
      unexplained++;
      console.log(
        `   other form     ${s.source} (${s.form}): want ${s.want}, got ${s.got}: ${clip(s.line)}`,
      );
    }
  }
  console.log("");
  console.log(
    "| built-in | fail2ban filter | lines | both | only fail2ban | excluded | only built-in | other-form misses |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    const excluded = r.onlyStock.filter((s) => s.excluded !== undefined).length;
    console.log(
      `| ${r.pairing.builtin} | ${r.pairing.stock ?? "-"} | ${r.lines} | ${r.both} | ${
        r.onlyStock.length - excluded
      } | ${excluded} | ${r.onlyBuiltin.length} | ${r.formatMisses.length} |`,
    );
  }
  console.log("");
  console.log(
    unexplained === 0
      ? "Every line fail2ban matches is matched by the built-in with the same address, in every syslog form, or is a documented exclusion."
      : `${unexplained} line(s) fail2ban matches that the built-in misses, without a documented exclusion.`,
  );
  return unexplained === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(main(Deno.args));
