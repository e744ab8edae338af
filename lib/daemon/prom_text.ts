/**
 * The Prometheus text exposition format (version 0.0.4), pure: metric families in, the text
 * node_exporter's textfile collector reads out. Each family gets its `# HELP` and `# TYPE`
 * lines; names and label names are checked, label values and help texts escaped.
 * @module
 */

/** Valid metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export const METRIC_NAME: RegExp = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Valid label names: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved). */
export const LABEL_NAME: RegExp = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One sample of a family: its labels (possibly none) and value. */
export interface Sample {
  /** Label name -> value. */
  labels?: Readonly<Record<string, string>>;
  /** The value (NaN and ±Infinity are written as Prometheus spells them). */
  value: number;
}

/** A metric family: one name, one help text, one type, its samples. */
export interface MetricFamily {
  /** The metric name, e.g. `banwatch_bans_total`. */
  name: string;
  /** One line of help. */
  help: string;
  /** `counter` or `gauge` (banwatch writes no histograms). */
  type: "counter" | "gauge";
  /** The samples; a family without samples still gets its HELP and TYPE lines. */
  samples: readonly Sample[];
}

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escapes a HELP text: backslash and newline. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value as the format spells it (`NaN`, `+Inf`, `-Inf`, or the number). */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * Formats metric families as Prometheus text; throws RangeError for an invalid metric or label
 * name, or a family name given twice (a programmer error: the names are constants).
 */
export function formatPrometheus(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new RangeError(`invalid metric name "${f.name}"`);
    if (seen.has(f.name)) throw new RangeError(`metric "${f.name}" given twice`);
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels ?? {});
      let text = f.name;
      if (labels.length > 0) {
        for (const [name] of labels) {
          if (!LABEL_NAME.test(name)) throw new RangeError(`invalid label name "${name}"`);
        }
        text += `{${labels.map(([n, v]) => `${n}="${escapeLabelValue(v)}"`).join(",")}}`;
      }
      out.push(`${text} ${formatSampleValue(s.value)}`);
    }
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
