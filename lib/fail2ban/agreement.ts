/**
 * Agreement with fail2ban's annotated sample logs (tests/files/logs/NAME, `# failJSON:` lines):
 * each stock filter is converted and banwatch's verdict on every annotated line is compared
 * with fail2ban's. Used by the tests and scripts/import_agreement.ts, not by the daemon.
 * @module
 */
import { parseIp } from "../core/mod.ts";
import {
  compileFilter,
  createDateDetector,
  createLineJudge,
  type FilterSpec,
} from "../filter/mod.ts";
import { FAIL2BAN_TEST_NOW, readFail2banFilter } from "./filter.ts";
import type { IniIo } from "./ini.ts";

/** One annotated sample line. */
export interface SampleLine {
  /** The sample file's name. */
  readonly file: string;
  /** Its 1-based line number. */
  readonly lineNo: number;
  /** The log line (with a journal prefix when the options ask for one). */
  readonly line: string;
  /** Whether fail2ban finds a failure on it. */
  readonly match: boolean;
  /** The host fail2ban reports, when the annotation names one. */
  readonly host?: string;
}

/** The sample lines checked under one filter-options combination. */
export interface SampleGroup {
  /** The options (`{ mode: "aggressive" }`; `test.*` keys kept). */
  readonly options: Readonly<Record<string, string>>;
  /** The lines, in file order. */
  readonly lines: SampleLine[];
}

/** Evaluates the simple Python expressions fail2ban's samples use as constraints. */
function evalConstraint(
  expr: string,
  name: string,
  opts: Readonly<Record<string, string>>,
): boolean | undefined {
  const m = /^\s*(name|opts\.get\(\s*'([^']*)'\s*\))\s*(==|!=)\s*'([^']*)'\s*$/.exec(expr);
  if (!m) return undefined;
  const left = m[1] === "name" ? name : opts[m[2] ?? ""];
  return m[3] === "==" ? left === m[4] : left !== m[4];
}

const ANNOTATION_RE = /^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$/;

/**
 * Reads fail2ban's annotated sample log for a filter (following `# addFILE:`), as fail2ban's
 * samplestestcase does: `# failJSON:` describes the next line, `# filterOptions:` starts a
 * block checked under each listed option set, `# fileOptions:` is merged into them, lines with
 * a constraint that cannot be evaluated are skipped.
 */
export function parseFail2banSamples(
  name: string,
  readSample: (file: string) => string | undefined,
): SampleGroup[] {
  const groups = new Map<string, SampleGroup>();
  const files = [name];
  let common: Record<string, string> = {};
  let current: Record<string, string>[] | undefined;
  let ignoreBlock = false;
  for (let f = 0; f < files.length; f++) {
    const file = files[f] ?? "";
    const text = readSample(file);
    if (text === undefined) continue;
    const all = text.split("\n");
    if (all[all.length - 1] === "") all.pop();
    for (let i = 0; i < all.length; i++) {
      let line = (all[i] ?? "").replace(/\r$/, "");
      let lineNo = i + 1;
      let data: Record<string, unknown> = {};
      const ann = ANNOTATION_RE.exec(line);
      if (ann) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(ann[2] ?? "");
        } catch {
          continue;
        }
        if (ann[1] === "fileOptions") {
          common = stringRecord(parsed);
          continue;
        }
        if (ann[1] === "filterOptions") {
          current = [];
          ignoreBlock = false;
          for (const one of Array.isArray(parsed) ? parsed : [parsed]) {
            const opts = { ...common, ...stringRecord(one) };
            const cond = opts["test.condition"];
            if (cond) {
              const ok = evalConstraint(cond.replace(/==/, " == "), name, opts);
              ignoreBlock = ok !== true;
            }
            if (!ignoreBlock) current.push(opts);
          }
          continue;
        }
        if (ann[1] === "addFILE") {
          if (typeof parsed === "string") files.push(parsed);
          continue;
        }
        data = typeof parsed === "object" && parsed !== null
          ? parsed as Record<string, unknown>
          : {};
        i++;
        lineNo = i + 1;
        line = (all[i] ?? "").replace(/\r$/, "");
      } else if (ignoreBlock || line.startsWith("#") || line.trim() === "") {
        continue;
      }
      if (ignoreBlock) continue;
      current ??= [{}];
      for (const opts of current) {
        const constraint = data["constraint"];
        if (typeof constraint === "string" && constraint !== "") {
          if (evalConstraint(constraint, name, opts) !== true) continue;
        }
        const key = JSON.stringify(opts);
        let group = groups.get(key);
        if (!group) {
          group = { options: opts, lines: [] };
          groups.set(key, group);
        }
        const prefix = opts["logtype"] === "journal" ? opts["test.prefix-line"] ?? "" : "";
        const sample: SampleLine = {
          file,
          lineNo,
          line: prefix + line,
          match: data["match"] === true,
          ...(typeof data["host"] === "string" ? { host: data["host"] } : {}),
        };
        group.lines.push(sample);
      }
    }
  }
  return [...groups.values()];
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== "object" || v === null) return out;
  for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

/** A sample line banwatch's converted filter judged differently from fail2ban. */
export interface Disagreement {
  /** The sample line. */
  readonly sample: SampleLine;
  /** What banwatch found: a host, or the kind of miss. */
  readonly got: string;
}

/** Why a disagreeing sample line is not counted: a documented, deliberate difference. */
export type SkipReason =
  | "multi-line"
  | "leading-zero-ipv4"
  | "date-not-at-line-start";

/** A sample line left out of the comparison, with the reason. */
export interface Skipped {
  /** The sample line. */
  readonly sample: SampleLine;
  /** What banwatch found. */
  readonly got: string;
  /** Why it is not counted. */
  readonly reason: SkipReason;
}

/** The agreement of one converted filter (under one option set) with fail2ban's samples. */
export interface Agreement {
  /** The filter name. */
  readonly filter: string;
  /** The option set (`test.*` keys removed). */
  readonly options: Readonly<Record<string, string>>;
  /** Lines checked. */
  readonly lines: number;
  /** Lines judged as fail2ban does (same match, same host). */
  readonly agree: number;
  /** The others, except the skipped ones. */
  readonly disagreements: readonly Disagreement[];
  /**
   * Disagreeing lines explained by a deliberate difference, not counted in `agree` nor in
   * `disagreements`: "multi-line" (fail2ban matches a buffer of lines: maxlines > 1 or
   * <SKIPLINES>; banwatch matches one line at a time, correlating only <F-MLFID> sessions,
   * lib/filter/sessions.ts), "leading-zero-ipv4" (`192.030.0.6` is ambiguous, banwatch
   * rejects it), "date-not-at-line-start" (no datepattern: fail2ban searches the whole line
   * for a date, banwatch's auto-detection only accepts one at the line start).
   */
  readonly skipped: readonly Skipped[];
  /** Why the filter could not be used at all (conversion or compile problem). */
  readonly error?: string;
}

/** The same address (`2001:DB8::1` = `2001:db8::1`), or the same text. */
function sameHost(want: string, got: string): boolean {
  if (want === got) return true;
  const a = parseIp(want);
  return a !== undefined && a.text === parseIp(got)?.text;
}

/** How a fail2ban filter correlates lines, if it does. */
function multiLineKind(
  values: Readonly<Record<string, string>>,
  spec: FilterSpec,
): "skiplines" | "maxlines" | undefined {
  const all = [...spec.failregex, ...(spec.ignoreregex ?? []), spec.prefregex ?? ""];
  if (all.some((r) => r.includes("<SKIPLINES>"))) return "skiplines";
  const maxlines = Number(values["maxlines"] ?? "1");
  if (maxlines > 1) return "maxlines";
  return undefined;
}

/**
 * Converts a stock filter under each option set its sample log uses and compares banwatch's
 * verdict on every annotated line with fail2ban's (match or not, and the host).
 */
export function checkSampleAgreement(
  basedir: string,
  name: string,
  io: IniIo,
  readSample: (file: string) => string | undefined,
  now: number = FAIL2BAN_TEST_NOW,
): Agreement[] {
  const out: Agreement[] = [];
  for (const group of parseFail2banSamples(name, readSample)) {
    const options = Object.fromEntries(
      Object.entries(group.options).filter(([k]) => !k.startsWith("test.")),
    );
    const f = readFail2banFilter(basedir, { name, options }, io);
    const spec: FilterSpec = { ...f.spec, usedns: true };
    // the journal backend gives the time; fail2ban does not look for a date in the line
    if (options["logtype"] === "journal") spec.datepattern = "{NONE}";
    let compiled: ReturnType<typeof compileFilter> | undefined;
    let error: string | undefined;
    if (f.files.length === 0) error = `filter ${name} not found`;
    else {
      try {
        compiled = compileFilter(spec);
      } catch (e) {
        error = e instanceof Error ? e.message.split("\n")[0] : String(e);
      }
    }
    const disagreements: Disagreement[] = [];
    const skipped: Skipped[] = [];
    const multi = multiLineKind(f.values, spec);
    const skipLines = error !== undefined && multi === "skiplines";
    let auto: ReturnType<typeof createDateDetector> | undefined;
    let agree = 0;
    // fail2ban's test feeds the sample lines in order to one filter: sessions span lines.
    const judge = compiled && createLineJudge(compiled);
    for (const sample of group.lines) {
      let got = "error";
      let ok = false;
      let reason: SkipReason | undefined;
      if (judge) {
        try {
          const v = judge(sample.line, now);
          if (v.kind === "matched") {
            got = v.host;
            ok = sample.match &&
              (sample.host === undefined || sameHost(sample.host, v.host));
          } else {
            got = v.kind === "missed" ? `missed (${v.reason})` : "ignored";
            ok = !sample.match;
            if (!ok && v.kind === "missed") {
              if (v.reason === "not-an-address" && /(?:^|\.)0\d/.test(sample.host ?? "")) {
                reason = "leading-zero-ipv4";
              } else if (v.reason === "no-date" && spec.datepattern === undefined) {
                // fail2ban would search the whole line: is there a date further on?
                auto ??= createDateDetector("{DATE}");
                if (auto.find(sample.line, now)) reason = "date-not-at-line-start";
              } else if (multi === "maxlines") {
                reason = "multi-line";
              }
            }
          }
        } catch (e) {
          got = `error: ${e instanceof Error ? e.message : String(e)}`;
        }
      } else if (skipLines) {
        reason = "multi-line";
      }
      if (ok) agree++;
      else if (reason) skipped.push({ sample, got, reason });
      else disagreements.push({ sample, got });
    }
    out.push({
      filter: name,
      options,
      lines: group.lines.length,
      agree,
      disagreements,
      skipped,
      ...(error === undefined ? {} : { error }),
    });
  }
  return out;
}
