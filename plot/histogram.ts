/**
 * Histograms: bin edges on round numbers, counts (values outside the edges are ignored, the last bin includes its
 * right edge, as `np.histogram`), and a plot of one or more series as overlapping translucent bars with optional
 * vertical marker lines (a mean, a threshold) and a horizontal reference line (density 1 of a uniform PIT).
 * @module
 */
import { el, escapeXml, line, linearScale, niceTicks, svgDocument, text } from "./svg.ts";
import { axes, legend, PALETTE, type PlotArea } from "./line_plot.ts";

/**
 * About `bins` equal bins on round numbers (a 1-2-5 step) covering every finite value.
 * @throws {RangeError} when no value is finite
 * @example
 * ```ts
 * histogramEdges([183, 1270], 10); // [100, 200, …, 1300]
 * ```
 */
export function histogramEdges(values: ArrayLike<number>, bins = 20): number[] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) lo = Math.min(lo, values[i]), hi = Math.max(hi, values[i]);
  }
  if (lo > hi) throw new RangeError("histogramEdges: no finite value");
  const t = niceTicks(lo, hi, Math.max(1, bins));
  // niceTicks widens to whole steps; a value exactly on the top edge still falls in the last bin.
  return t.values.length >= 2 ? t.values : [t.lo, t.hi];
}

/** Counts of `values` in the bins of `edges` (increasing); non-finite values and values outside are ignored. */
export function histogramCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const B = edges.length - 1;
  if (B < 1) throw new RangeError("histogramCounts: need at least 2 edges");
  for (let k = 0; k < B; k++) {
    if (!(edges[k + 1] > edges[k])) throw new RangeError("histogramCounts: edges must increase");
  }
  const counts = new Array<number>(B).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || v < edges[0] || v > edges[B]) continue;
    // Binary search for the last edge ≤ v.
    let a = 0, b = B;
    while (b - a > 1) {
      const m = (a + b) >> 1;
      if (edges[m] <= v) a = m;
      else b = m;
    }
    counts[v === edges[B] ? B - 1 : a]++;
  }
  return counts;
}

/** One series of a {@link binnedHistogramPlot}: a count (or density) per bin. */
export interface BinnedSeries {
  name: string;
  counts: readonly number[];
  color?: string;
}

/** A labelled vertical line. */
export interface VerticalMarker {
  name: string;
  x: number;
  color?: string;
  dash?: string;
}

/** Options of the histogram plots. */
export interface HistogramOptions {
  title?: string;
  subtitle?: string;
  xLabel: string;
  /** Default "count" (or "density" with `density`). */
  yLabel?: string;
  /** Figure size (default 600 × 380). */
  width?: number;
  height?: number;
  /** A dashed horizontal reference line at this y. */
  hline?: number;
  markers?: readonly VerticalMarker[];
}

/**
 * Draws pre-binned series on shared `edges` (e.g. a PIT histogram computed elsewhere).
 * @throws {RangeError} for bad edges, a series of the wrong length or a negative / non-finite count
 */
export function binnedHistogramPlot(
  edges: readonly number[],
  series: readonly BinnedSeries[],
  o: HistogramOptions,
): string {
  const B = edges.length - 1;
  if (B < 1) throw new RangeError("histogram: need at least 2 edges");
  if (series.length === 0) throw new RangeError("histogram: no series");
  for (let k = 0; k < B; k++) {
    if (!(edges[k + 1] > edges[k]) || !Number.isFinite(edges[k + 1])) {
      throw new RangeError("histogram: edges must be finite and increasing");
    }
  }
  let top = o.hline ?? 0;
  for (const s of series) {
    if (s.counts.length !== B) {
      throw new RangeError(`histogram: series '${s.name}' has ${s.counts.length} bins for ${B}`);
    }
    for (const c of s.counts) {
      if (!Number.isFinite(c) || c < 0) throw new RangeError(`histogram: series '${s.name}' has count ${c}`);
      top = Math.max(top, c);
    }
  }
  const width = o.width ?? 600, height = o.height ?? 380;
  const head = (o.title ? 30 : 12) + (o.subtitle ? 18 : 0);
  const area: PlotArea = { left: 64, top: head, width: width - 64 - 16, height: height - head - 50 };
  const xt = niceTicks(edges[0], edges[B], 8);
  const xd: [number, number] = [Math.min(edges[0], xt.lo), Math.max(edges[B], xt.hi)];
  const sx = linearScale(xd, [area.left, area.left + area.width]);
  const yt = niceTicks(0, top > 0 ? top * 1.05 : 1, 5);
  const sy = linearScale([0, yt.hi], [area.top + area.height, area.top]);
  const parts: string[] = [el("rect", { x: 0, y: 0, width, height, fill: "white" })];
  parts.push(...axes(
    area,
    xt.values.map((v) => ({ at: sx(v), label: v.toFixed(xt.decimals) })),
    yt.values.map((v) => ({ at: sy(v), label: v.toFixed(yt.decimals) })),
    o.xLabel,
    o.yLabel ?? "count",
    height,
  ));
  const colored = series.map((s, k) => ({ ...s, color: s.color ?? PALETTE[(k + 1) % PALETTE.length] }));
  const bottom = area.top + area.height;
  for (const s of colored) {
    const bars: string[] = [];
    for (let k = 0; k < B; k++) {
      const c = s.counts[k];
      if (c === 0) continue;
      const x0 = sx(edges[k]), x1 = sx(edges[k + 1]);
      bars.push(el(
        "rect",
        { x: x0 + 0.5, y: sy(c), width: Math.max(0.5, x1 - x0 - 1), height: bottom - sy(c) },
        el("title", {}, escapeXml(`${s.name}: [${edges[k]}, ${edges[k + 1]}) ${+c.toPrecision(6)}`)),
      ));
    }
    parts.push(el("g", {
      class: "bars",
      "data-name": s.name,
      fill: s.color,
      "fill-opacity": series.length > 1 ? 0.55 : 0.85,
    }, bars));
  }
  if (o.hline !== undefined) {
    parts.push(line(area.left, sy(o.hline), area.left + area.width, sy(o.hline), {
      class: "reference",
      stroke: "#333",
      "stroke-dasharray": "5 4",
    }));
  }
  const items: { name: string; color: string; dash?: string; swatch?: "line" }[] = colored.map((s) => ({
    name: s.name,
    color: s.color,
  }));
  for (const [k, m] of (o.markers ?? []).entries()) {
    if (!Number.isFinite(m.x) || m.x < xd[0] || m.x > xd[1]) continue;
    const color = m.color ?? ["#d55e00", "#000000", "#009e73"][k % 3];
    parts.push(line(sx(m.x), area.top, sx(m.x), bottom, {
      class: "marker",
      stroke: color,
      "stroke-width": 1.8,
      "stroke-dasharray": m.dash ?? "6 3",
    }));
    items.push({ name: m.name, color, dash: m.dash ?? "6 3", swatch: "line" });
  }
  parts.push(legend(area, items, "box"));
  if (o.title) {
    parts.push(text(area.left, 22, o.title, { class: "title", "font-size": 15, "font-weight": "bold" }));
  }
  if (o.subtitle) {
    parts.push(text(area.left, head - 8, o.subtitle, { class: "subtitle", "font-size": 11, fill: "#333" }));
  }
  return svgDocument(width, height, parts.filter((p) => p !== ""), o.title);
}

/** One raw series of a {@link histogramPlot}. */
export interface HistogramSeries {
  name: string;
  values: ArrayLike<number>;
  color?: string;
}

/**
 * Bins raw values (shared edges over all series, {@link histogramEdges}) and draws them.
 * @param bins about this many bins (default 20), or explicit edges
 * @example
 * ```ts
 * histogramPlot([{ name: "HV", values: hv }], { xLabel: "hardness (HV)", markers: [{ name: "mean", x: 1123 }] });
 * ```
 */
export function histogramPlot(
  series: readonly HistogramSeries[],
  o: HistogramOptions & { bins?: number | readonly number[] },
): string {
  if (series.length === 0) throw new RangeError("histogram: no series");
  const all: number[] = [];
  for (const s of series) for (let i = 0; i < s.values.length; i++) all.push(s.values[i]);
  const edges = Array.isArray(o.bins)
    ? [...o.bins as number[]]
    : histogramEdges(all, (o.bins as number) ?? 20);
  return binnedHistogramPlot(
    edges,
    series.map((s) => ({ name: s.name, color: s.color, counts: histogramCounts(s.values, edges) })),
    o,
  );
}
