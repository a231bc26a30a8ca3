/**
 * Calibration figures of a predictive distribution (definitions in `nn/metrics/calibration.ts`): the PIT histogram
 * as a density with the uniform reference at 1, empirical coverage of central intervals against their nominal
 * level with the diagonal of perfect calibration (several curves: raw MC dropout, Gaussian, conformal), and the
 * sharpness figure — the distribution of the predictive σ with its mean (the sharpness number) marked.
 * @module
 */
import { el, escapeXml, line, linearScale, svgDocument, text } from "./svg.ts";
import { axes, legend, PALETTE, type PlotArea } from "./line_plot.ts";
import { binnedHistogramPlot, histogramPlot } from "./histogram.ts";

/**
 * PIT histogram as a density (1 everywhere for perfectly uniform PIT values).
 * @param edges B + 1 bin edges on [0, 1]
 * @param counts B counts
 * @throws {RangeError} for mismatched or empty input
 */
export function pitHistogramPlot(
  edges: readonly number[],
  counts: readonly number[],
  o: { title?: string; subtitle?: string; width?: number; height?: number } = {},
): string {
  if (counts.length !== edges.length - 1 || counts.length === 0) {
    throw new RangeError(`pitHistogramPlot: ${counts.length} counts for ${edges.length} edges`);
  }
  const n = counts.reduce((a, b) => a + b, 0);
  if (!(n > 0)) throw new RangeError("pitHistogramPlot: no values");
  const density = counts.map((c, k) => c / (n * (edges[k + 1] - edges[k])));
  return binnedHistogramPlot(edges, [{ name: "PIT density", counts: density, color: PALETTE[1] }], {
    ...o,
    xLabel: "PIT value",
    yLabel: "density",
    hline: 1,
  });
}

/** One coverage curve. */
export interface CoverageSeries {
  name: string;
  /** Nominal central-interval levels in (0, 1). */
  levels: readonly number[];
  /** Empirical coverage per level, in [0, 1]. */
  coverage: readonly number[];
  color?: string;
}

/**
 * Empirical coverage against nominal level on [0, 1]², with the diagonal; each series as a line with dots.
 * @throws {RangeError} for no series, mismatched lengths or values outside [0, 1]
 */
export function coveragePlot(
  series: readonly CoverageSeries[],
  o: { title?: string; subtitle?: string; size?: number } = {},
): string {
  if (series.length === 0) throw new RangeError("coveragePlot: no series");
  for (const s of series) {
    if (s.levels.length !== s.coverage.length || s.levels.length === 0) {
      throw new RangeError(
        `coveragePlot: series '${s.name}' has ${s.levels.length} levels, ${s.coverage.length} values`,
      );
    }
    for (const v of [...s.levels, ...s.coverage]) {
      if (!(v >= 0 && v <= 1)) {
        throw new RangeError(`coveragePlot: series '${s.name}' has value ${v} outside [0, 1]`);
      }
    }
  }
  const size = o.size ?? 440;
  const head = (o.title ? 30 : 12) + (o.subtitle ? 18 : 0);
  const side = size - 66 - 16;
  const width = size, height = head + side + 50;
  const area: PlotArea = { left: 66, top: head, width: side, height: side };
  const sx = linearScale([0, 1], [area.left, area.left + side]);
  const sy = linearScale([0, 1], [area.top + side, area.top]);
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const parts: string[] = [el("rect", { x: 0, y: 0, width, height, fill: "white" })];
  parts.push(...axes(
    area,
    ticks.map((v) => ({ at: sx(v), label: v.toFixed(1) })),
    ticks.map((v) => ({ at: sy(v), label: v.toFixed(1) })),
    "nominal level of the central interval",
    "empirical coverage",
    height,
  ));
  parts.push(line(sx(0), sy(0), sx(1), sy(1), {
    class: "identity",
    stroke: "#555",
    "stroke-dasharray": "6 4",
  }));
  const colored = series.map((s, k) => ({ ...s, color: s.color ?? PALETTE[(k + 1) % PALETTE.length] }));
  for (const s of colored) {
    const order = s.levels.map((_, j) => j).sort((a, b) => s.levels[a] - s.levels[b]);
    const d = order.map((j, k) =>
      `${k ? "L" : "M"}${sx(s.levels[j]).toFixed(2)} ${sy(s.coverage[j]).toFixed(2)}`
    ).join("");
    const dots = order.map((j) =>
      el(
        "circle",
        { cx: sx(s.levels[j]), cy: sy(s.coverage[j]), r: 3.5 },
        el(
          "title",
          {},
          escapeXml(`${s.name}: nominal ${+s.levels[j].toFixed(3)} → ${+s.coverage[j].toFixed(3)}`),
        ),
      )
    );
    parts.push(el("g", { class: "coverage", "data-name": s.name, fill: s.color, stroke: s.color }, [
      s.levels.length > 1 ? el("path", { d, fill: "none", "stroke-width": 1.8 }) : "",
      ...dots,
    ]));
  }
  parts.push(legend({ ...area, top: area.top + area.height - 16 * colored.length - 24 }, colored, "line"));
  if (o.title) {
    parts.push(text(area.left, 22, o.title, { class: "title", "font-size": 15, "font-weight": "bold" }));
  }
  if (o.subtitle) {
    parts.push(text(area.left, head - 8, o.subtitle, { class: "subtitle", "font-size": 11, fill: "#333" }));
  }
  return svgDocument(width, height, parts.filter((p) => p !== ""), o.title);
}

/**
 * Sharpness: histogram of predictive σ with the mean σ (the sharpness number) and, optionally, other reference
 * values (e.g. the RMSE, which a calibrated σ should match on average) as vertical lines.
 */
export function sharpnessPlot(
  sigma: ArrayLike<number>,
  o: { title?: string; subtitle?: string; units?: string; references?: { name: string; x: number }[] } = {},
): string {
  let sum = 0, n = 0;
  for (let i = 0; i < sigma.length; i++) if (Number.isFinite(sigma[i])) sum += sigma[i], n++;
  if (n === 0) throw new RangeError("sharpnessPlot: no finite σ");
  const units = o.units ?? "HV";
  return histogramPlot([{ name: "predictive σ", values: sigma }], {
    title: o.title,
    subtitle: o.subtitle,
    xLabel: `predictive standard deviation σ (${units})`,
    bins: 24,
    markers: [
      { name: `mean σ (sharpness) ${(sum / n).toFixed(1)} ${units}`, x: sum / n },
      ...(o.references ?? []),
    ],
  });
}
