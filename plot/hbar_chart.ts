/**
 * Horizontal bar chart for rankings: one labelled bar per item (feature importances, attributions), signed values
 * drawn left or right of a zero line in two colours, optional whiskers (± an uncertainty) and the value printed at
 * the end of each bar.
 * @module
 */
import { el, escapeXml, line, linearScale, niceTicks, svgDocument, text } from "./svg.ts";

/** Options of {@link hbarChart}. */
export interface HbarOptions {
  title?: string;
  subtitle?: string;
  xLabel: string;
  /** Figure width (default 600); the height follows the number of bars. */
  width?: number;
  /** Bar colour for values ≥ 0 (default #0072b2) and < 0 (default #d55e00). */
  color?: string;
  negativeColor?: string;
  /** Half-width of a whisker per bar (e.g. a standard error). */
  errors?: ArrayLike<number>;
  /** Decimals of the printed values (default: 3 significant digits). */
  decimals?: number;
}

/**
 * The SVG text of a horizontal bar chart, items top to bottom in the given order.
 * @throws {RangeError} for no items, mismatched lengths or a non-finite value
 * @example
 * ```ts
 * hbarChart(["B", "Fe", "load"], [120, 40, -15], { xLabel: "mean attribution (HV)" });
 * ```
 */
export function hbarChart(labels: readonly string[], values: ArrayLike<number>, o: HbarOptions): string {
  const m = labels.length;
  if (m === 0) throw new RangeError("hbarChart: no items");
  if (values.length !== m) throw new RangeError(`hbarChart: ${values.length} values for ${m} labels`);
  if (o.errors && o.errors.length !== m) {
    throw new RangeError(`hbarChart: ${o.errors.length} errors for ${m} labels`);
  }
  let lo = 0, hi = 0;
  for (let i = 0; i < m; i++) {
    const v = values[i], e = o.errors ? Math.abs(o.errors[i]) : 0;
    if (!Number.isFinite(v) || !Number.isFinite(e)) {
      throw new RangeError(`hbarChart: '${labels[i]}' has value ${v}`);
    }
    lo = Math.min(lo, v - e), hi = Math.max(hi, v + e);
  }
  if (lo === hi) hi = 1;
  const width = o.width ?? 600, rowH = 18;
  const head = (o.title ? 30 : 12) + (o.subtitle ? 18 : 0);
  const labelW = Math.min(160, 16 + 6.8 * Math.max(...labels.map((l) => l.length)));
  const left = labelW + 6, right = 60;
  const plotH = m * rowH;
  const height = head + plotH + 48;
  const t = niceTicks(lo, hi, 5);
  const sx = linearScale([t.lo, t.hi], [left, width - right]);
  const parts: string[] = [el("rect", { x: 0, y: 0, width, height, fill: "white" })];
  const grid: string[] = [], tl: string[] = [];
  for (const v of t.values) {
    grid.push(line(sx(v), head, sx(v), head + plotH));
    tl.push(text(sx(v), head + plotH + 16, v.toFixed(t.decimals), { "text-anchor": "middle" }));
  }
  parts.push(el("g", { class: "grid", stroke: "#e6e6e6" }, grid));
  const bars: string[] = [], names: string[] = [], whiskers: string[] = [];
  // Values that round to zero print as 0, not −0.
  const fmt = (v: number) =>
    o.decimals !== undefined
      ? (+v.toFixed(o.decimals) === 0 ? 0 : v).toFixed(o.decimals)
      : String(+v.toPrecision(3) || 0);
  for (let i = 0; i < m; i++) {
    const v = values[i], y = head + i * rowH;
    const x0 = sx(Math.min(0, v)), x1 = sx(Math.max(0, v));
    bars.push(el(
      "rect",
      {
        x: x0,
        y: y + 3,
        width: Math.max(0.5, x1 - x0),
        height: rowH - 6,
        fill: v >= 0 ? o.color ?? "#0072b2" : o.negativeColor ?? "#d55e00",
      },
      el("title", {}, escapeXml(`${labels[i]}: ${fmt(v)}`)),
    ));
    names.push(text(left - 6, y + rowH / 2 + 4, labels[i], { "text-anchor": "end" }));
    const e = o.errors ? Math.abs(o.errors[i]) : 0;
    if (e > 0) {
      whiskers.push(line(sx(v - e), y + rowH / 2, sx(v + e), y + rowH / 2));
    }
    const end = v >= 0 ? sx(v + e) + 4 : sx(v - e) - 4;
    names.push(text(end, y + rowH / 2 + 4, fmt(v), {
      "text-anchor": v >= 0 ? "start" : "end",
      "font-size": 10,
      fill: "#444",
    }));
  }
  parts.push(el("g", { class: "bars" }, bars));
  if (whiskers.length) {
    parts.push(el("g", { class: "whiskers", stroke: "#222", "stroke-width": 1.2 }, whiskers));
  }
  parts.push(line(sx(0), head, sx(0), head + plotH, { class: "zero", stroke: "#222" }));
  parts.push(el("g", { class: "labels", fill: "#222", "font-size": 11 }, [...names, ...tl]));
  parts.push(
    text((left + width - right) / 2, height - 8, o.xLabel, { class: "x-label", "text-anchor": "middle" }),
  );
  if (o.title) parts.push(text(8, 22, o.title, { class: "title", "font-size": 15, "font-weight": "bold" }));
  if (o.subtitle) {
    parts.push(text(8, head - 8, o.subtitle, { class: "subtitle", "font-size": 11, fill: "#333" }));
  }
  return svgDocument(width, height, parts, o.title);
}
