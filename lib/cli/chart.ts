/**
 * Sparkline charts for the terminal: one character per column, its height the column's value
 * against the row's largest. Unicode block characters, or plain ASCII (`NO_COLOR`, `--ascii`,
 * root's mail). Pure.
 * @module
 */

/** Heights 1..8 in Unicode blocks (0 is a blank). */
const BLOCKS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
/** Heights 1..8 in ASCII (0 is a blank); no `+` or `-`, which diff(1) output starts lines with. */
const ASCII_LEVELS = [".", ",", ":", ";", "i", "x", "X", "#"];

/**
 * One sparkline: a blank for 0, else one of 8 heights scaled to the largest value, so that
 * any value above 0 stays visible.
 * @param values the columns, non-negative
 * @param options `ascii` for plain ASCII characters
 */
export function sparkline(values: readonly number[], options: { ascii?: boolean } = {}): string {
  const levels = options.ascii ? ASCII_LEVELS : BLOCKS;
  const max = Math.max(0, ...values);
  return values.map((v) => {
    if (!(v > 0) || max === 0) return " ";
    const i = Math.min(levels.length - 1, Math.ceil((v / max) * levels.length) - 1);
    return levels[Math.max(0, i)]!;
  }).join("");
}

/**
 * Sums consecutive values into at most `width` columns, each summing 1, 2, 3, 4, 6, 8 or 12
 * values or a multiple of 24 (hours: a column is a clean part of a day).
 * @param values the values
 * @param width the most columns wanted (>= 1)
 * @returns the columns and how many values each one sums
 */
export function bucket(
  values: readonly number[],
  width: number,
): { columns: number[]; per: number } {
  const need = Math.max(1, Math.ceil(values.length / Math.max(1, Math.floor(width))));
  // Round up to a size that divides a day or is whole days: 1, 2, 3, 4, 6, 8, 12, 24, 48, ...
  const per = [1, 2, 3, 4, 6, 8, 12].find((n) => n >= need) ?? Math.ceil(need / 24) * 24;
  const columns: number[] = [];
  for (let i = 0; i < values.length; i += per) {
    let sum = 0;
    for (let j = i; j < Math.min(values.length, i + per); j++) sum += values[j]!;
    columns.push(sum);
  }
  return { columns, per };
}

/** One row of {@link renderChart}. */
export interface ChartRow {
  /** The row's label ("failures"). */
  label: string;
  /** One value per slot, all rows the same length. */
  values: readonly number[];
}

/**
 * Rows of sparklines under one time axis:
 * `failures |▁▃█ ▂| max 40/h` then an axis line naming the first and last slot.
 * @param rows the rows (same number of values each)
 * @param options the most columns, ASCII or not, the slot's unit ("h"), and the axis text of
 * the first and last slot
 */
export function renderChart(
  rows: readonly ChartRow[],
  options: { width: number; ascii?: boolean; unit: string; first: string; last: string },
): string {
  const labelWidth = Math.max(...rows.map((r) => r.label.length), 0);
  const out: string[] = [];
  let per = 1;
  for (const row of rows) {
    const b = bucket(row.values, options.width);
    per = b.per;
    const max = Math.max(0, ...b.columns);
    const unit = per === 1 ? options.unit : `${per}${options.unit}`;
    out.push(
      `${row.label.padEnd(labelWidth)} |${
        sparkline(b.columns, { ascii: options.ascii ?? false })
      }| max ${max}/${unit}`,
    );
  }
  const pad = " ".repeat(labelWidth + 2);
  const span = `${options.first} .. ${options.last}`;
  out.push(`${pad}${span} (1 column = ${per}${options.unit})`);
  return out.join("\n") + "\n";
}
