/**
 * Parity plot: measured against predicted values (hardness in HV by default), one dot per row, the identity line
 * y = x, optional vertical error bars ±z·σ (default z = 1.645, the central 90 % Gaussian interval), square axes with
 * the same nice ticks on both, and a title with RMSE and R² computed from the points ({@link regressionMetrics}).
 * @module
 */
import { regressionMetrics } from "../nn/metrics/regression.ts";
import { el, line, linearScale, niceTicks, num, svgDocument, text } from "./svg.ts";

/** Options of {@link parityPlot}. */
export interface ParityPlotOptions {
  /** First title line, e.g. "random forest — 5-fold CV" (the metrics line is added below it). */
  title?: string;
  /** Unit of the values (default "HV"). */
  units?: string;
  /** Quantity name in the axis labels (default "hardness"). */
  quantity?: string;
  /** Figure size in user units (default 520). */
  size?: number;
  /** Error bar half-width in σ (default 1.645). */
  z?: number;
}

/**
 * The SVG text of a parity plot.
 * @param measured measured values (x axis)
 * @param predicted predicted values (y axis), one per measured value
 * @param std optional predictive σ per row (error bars); σ ≤ 0 draws no bar
 * @throws {RangeError} for empty, mismatched or non-finite input
 * @example
 * ```ts
 * await Deno.writeTextFile("parity_gp.svg", parityPlot(hv, mean, std, { title: "Gaussian process — 5-fold CV" }));
 * ```
 */
export function parityPlot(
  measured: ArrayLike<number>,
  predicted: ArrayLike<number>,
  std: ArrayLike<number> | null = null,
  options: ParityPlotOptions = {},
): string {
  const n = measured.length;
  if (n === 0) throw new RangeError("parityPlot: no points");
  if (predicted.length !== n) {
    throw new RangeError(`parityPlot: ${n} measured but ${predicted.length} predicted`);
  }
  if (std && std.length !== n) throw new RangeError(`parityPlot: ${n} points but ${std.length} σ values`);
  for (let i = 0; i < n; i++) {
    if (
      !Number.isFinite(measured[i]) || !Number.isFinite(predicted[i]) || (std && !Number.isFinite(std[i]))
    ) {
      throw new RangeError(`parityPlot: point ${i} is not finite`);
    }
  }
  const units = options.units ?? "HV", quantity = options.quantity ?? "hardness";
  const z = options.z ?? 1.645, size = options.size ?? 520;
  const m = regressionMetrics(measured, predicted);

  // Square plotting area; both axes share the domain of all points (error bars are clipped to it).
  const left = 72, right = 20, top = options.title ? 58 : 40, bottom = 56;
  const side = size - left - right;
  const width = size, height = top + side + bottom;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, measured[i], predicted[i]);
    hi = Math.max(hi, measured[i], predicted[i]);
  }
  const pad = (hi - lo) * 0.04;
  // Padding never pushes an all-positive axis below 0 (hardness is positive; a -500 tick would waste space).
  const ticks = niceTicks(lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad, 6);
  const sx = linearScale([ticks.lo, ticks.hi], [left, left + side]);
  const sy = linearScale([ticks.lo, ticks.hi], [top + side, top]);

  const parts: string[] = [];
  parts.push(el("rect", { x: 0, y: 0, width, height, fill: "white" }));
  parts.push(
    el(
      "defs",
      {},
      el("clipPath", { id: "plot-area" }, el("rect", { x: left, y: top, width: side, height: side })),
    ),
  );
  // Grid and ticks.
  const grid: string[] = [], tickMarks: string[] = [], labels: string[] = [];
  for (const v of ticks.values) {
    const x = sx(v), y = sy(v), label = v.toFixed(ticks.decimals);
    grid.push(line(x, top, x, top + side), line(left, y, left + side, y));
    tickMarks.push(line(x, top + side, x, top + side + 5), line(left - 5, y, left, y));
    labels.push(
      text(x, top + side + 18, label, { "text-anchor": "middle" }),
      text(left - 8, y + 4, label, { "text-anchor": "end" }),
    );
  }
  parts.push(el("g", { class: "grid", stroke: "#e4e4e4", "stroke-width": 1 }, grid));
  // Identity line y = x across the whole domain.
  parts.push(line(sx(ticks.lo), sy(ticks.lo), sx(ticks.hi), sy(ticks.hi), {
    class: "identity",
    stroke: "#555",
    "stroke-width": 1.2,
    "stroke-dasharray": "6 4",
  }));
  if (std) {
    const bars: string[] = [];
    for (let i = 0; i < n; i++) {
      if (!(std[i] > 0)) continue;
      const x = sx(measured[i]);
      bars.push(line(x, sy(predicted[i] - z * std[i]), x, sy(predicted[i] + z * std[i])));
    }
    parts.push(el("g", {
      class: "error-bars",
      stroke: "#8fb3d9",
      "stroke-width": 1,
      "stroke-opacity": 0.6,
      "clip-path": "url(#plot-area)",
    }, bars));
  }
  const dots: string[] = [];
  for (let i = 0; i < n; i++) dots.push(el("circle", { cx: sx(measured[i]), cy: sy(predicted[i]), r: 2.6 }));
  parts.push(el("g", { class: "points", fill: "#1f5fa8", "fill-opacity": 0.7 }, dots));
  // Axes, ticks, labels.
  parts.push(el("g", { class: "axes", stroke: "#222", "stroke-width": 1 }, [
    el("rect", { x: left, y: top, width: side, height: side, fill: "none" }),
    ...tickMarks,
  ]));
  parts.push(el("g", { class: "tick-labels", fill: "#222", "font-size": 11 }, labels));
  parts.push(text(left + side / 2, height - 14, `Measured ${quantity} (${units})`, {
    class: "x-label",
    "text-anchor": "middle",
  }));
  const yx = 18, yy = top + side / 2;
  parts.push(text(yx, yy, `Predicted ${quantity} (${units})`, {
    class: "y-label",
    "text-anchor": "middle",
    transform: `rotate(-90 ${num(yx)} ${num(yy)})`,
  }));
  const stats =
    `RMSE ${m.rmse.toFixed(1)} ${units} · MAE ${m.mae.toFixed(1)} ${units} · R² ${
      m.r2.toFixed(3)
    } · n = ${n}` + (std ? ` · bars ±${z}σ` : "");
  if (options.title) {
    parts.push(text(left, 22, options.title, { class: "title", "font-size": 15, "font-weight": "bold" }));
  }
  parts.push(text(left, top - 12, stats, { class: "subtitle", "font-size": 12, fill: "#333" }));
  return svgDocument(width, height, parts, options.title ? `${options.title} — ${stats}` : stats);
}
