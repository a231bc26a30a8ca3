/**
 * Plain-text metric tables for stderr summaries (e.g. per-fold or per-split metrics).
 * @module
 */

/** One table row: a label and its flat metrics (`null`/missing print as "-"). */
export interface MetricsRow {
  label: string;
  metrics: Readonly<Record<string, number | null | undefined>>;
}

/**
 * A number in at most ~4 significant digits: integers as is, ±inf as "inf"/"-inf", very large or small magnitudes
 * in exponent form.
 */
export function formatMetric(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "-";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(3);
  return x.toPrecision(4);
}

/**
 * Aligned text table: a header of the metric names (union over rows, in first-seen order unless `columns` is
 * given), one line per row; labels left-aligned, numbers right-aligned; lines joined with "\n", no trailing newline.
 * @example
 * ```ts
 * console.error(formatMetricsTable([{ label: "test", metrics: { rmse: 51.2, r2: 0.91 } }]));
 * // label   rmse      r2
 * // test   51.20  0.9100
 * ```
 */
export function formatMetricsTable(rows: readonly MetricsRow[], columns?: readonly string[]): string {
  const cols = columns ? [...columns] : [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
  const cells = rows.map((r) => [r.label, ...cols.map((c) => formatMetric(r.metrics[c]))]);
  const header = ["label", ...cols];
  const widths = header.map((h, k) => Math.max(h.length, ...cells.map((row) => row[k].length)));
  const line = (row: string[]) =>
    row.map((cell, k) => (k === 0 ? cell.padEnd(widths[k]) : cell.padStart(widths[k]))).join("  ").trimEnd();
  return [line(header), ...cells.map(line)].join("\n");
}
