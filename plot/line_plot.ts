/**
 * Line plot: one or more numeric series (x, y) on shared linear axes with nice ticks, a legend, an optional dashed
 * horizontal reference line (g(r) = 1) and optional step drawing for histograms (each y value spans its bin, the
 * bins centred on x and as wide as the spacing of x). Also holds the palette and legend the bar chart shares.
 * @module
 */
import { el, escapeXml, line, linearScale, niceTicks, num, svgDocument, text } from "./svg.ts";

/** Colours for series in order (colour-blind-safe Okabe–Ito, black first for a "total" series). */
export const PALETTE = [
  "#000000",
  "#0072b2",
  "#d55e00",
  "#009e73",
  "#cc79a7",
  "#e69f00",
  "#56b4e9",
  "#f0e442",
];

/** One series of a {@link linePlot}. */
export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Stroke colour (default: the palette in series order). */
  color?: string;
  /** Stroke dash pattern, e.g. "4 3". */
  dash?: string;
  /** Stroke width (default 1.5). */
  width?: number;
  /** Draw as a histogram: a flat step over each bin centred on x (default false). */
  step?: boolean;
}

/** Options of {@link linePlot}. */
export interface LinePlotOptions {
  title?: string;
  xLabel: string;
  yLabel: string;
  /** Figure size in user units (default 640 × 420). */
  width?: number;
  height?: number;
  /** Axis ranges (default: the data's, widened to nice ticks; y includes 0). */
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** A dashed horizontal reference line at this y. */
  hline?: number;
}

/** The rectangle the data are drawn in. */
export interface PlotArea {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * A legend box in the top-right corner of `area`: a swatch (line or square; `swatch` unless the item names its
 * own) and the name of each series.
 * Returns nothing for a single series.
 */
export function legend(
  area: PlotArea,
  items: readonly { name: string; color: string; dash?: string; swatch?: "line" | "box" }[],
  swatch: "line" | "box",
): string {
  if (items.length < 2) return "";
  const rowH = 16, pad = 6;
  const longest = Math.max(...items.map((s) => s.name.length));
  const w = Math.min(area.width * 0.6, 34 + 6.6 * longest), h = pad * 2 + rowH * items.length;
  const x = area.left + area.width - w - 8, y = area.top + 8;
  const rows = items.map((s, k) => {
    const cy = y + pad + rowH * k + rowH / 2;
    const mark = (s.swatch ?? swatch) === "line"
      ? line(x + 8, cy, x + 28, cy, { stroke: s.color, "stroke-width": 2, "stroke-dasharray": s.dash })
      : el("rect", { x: x + 12, y: cy - 5, width: 10, height: 10, fill: s.color });
    return mark + text(x + 34, cy + 4, s.name, { "font-size": 11 });
  });
  return el("g", { class: "legend" }, [
    el("rect", { x, y, width: w, height: h, fill: "white", "fill-opacity": 0.85, stroke: "#bbb" }),
    ...rows,
  ]);
}

/** Frame, grid, ticks and axis labels of a plot area for x and y ticks already mapped to pixels. */
export function axes(
  area: PlotArea,
  xTicks: readonly { at: number; label: string }[],
  yTicks: readonly { at: number; label: string }[],
  xLabel: string,
  yLabel: string,
  figureHeight: number,
): string[] {
  const { left, top, width, height } = area, bottom = top + height;
  const grid: string[] = [], marks: string[] = [], labels: string[] = [];
  for (const t of yTicks) {
    grid.push(line(left, t.at, left + width, t.at));
    marks.push(line(left - 5, t.at, left, t.at));
    labels.push(text(left - 8, t.at + 4, t.label, { "text-anchor": "end" }));
  }
  for (const t of xTicks) {
    marks.push(line(t.at, bottom, t.at, bottom + 5));
    labels.push(text(t.at, bottom + 18, t.label, { "text-anchor": "middle" }));
  }
  const yx = 16, yy = top + height / 2;
  return [
    el("g", { class: "grid", stroke: "#e6e6e6", "stroke-width": 1 }, grid),
    el("g", { class: "axes", stroke: "#222", "stroke-width": 1 }, [
      el("rect", { x: left, y: top, width, height, fill: "none" }),
      ...marks,
    ]),
    el("g", { class: "tick-labels", fill: "#222", "font-size": 11 }, labels),
    text(left + width / 2, figureHeight - 10, xLabel, { class: "x-label", "text-anchor": "middle" }),
    text(yx, yy, yLabel, {
      class: "y-label",
      "text-anchor": "middle",
      transform: `rotate(-90 ${num(yx)} ${num(yy)})`,
    }),
  ];
}

/** Path data of one series: polylines broken at non-finite points, or steps over bins. */
function pathData(s: LineSeries, sx: (v: number) => number, sy: (v: number) => number): string {
  const n = s.x.length, parts: string[] = [];
  let pen = false;
  for (let i = 0; i < n; i++) {
    const x = s.x[i], y = s.y[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    if (s.step) {
      // Bin edges halfway to the neighbouring centres (the outer bins mirror their inner half-width).
      const lo = i > 0 ? (x + s.x[i - 1]) / 2 : n > 1 ? x - (s.x[1] - x) / 2 : x - 0.5;
      const hi = i + 1 < n ? (x + s.x[i + 1]) / 2 : n > 1 ? x + (x - s.x[n - 2]) / 2 : x + 0.5;
      parts.push(`${pen ? "L" : "M"}${num(sx(lo))} ${num(sy(y))}L${num(sx(hi))} ${num(sy(y))}`);
    } else parts.push(`${pen ? "L" : "M"}${num(sx(x))} ${num(sy(y))}`);
    pen = true;
  }
  return parts.join("");
}

/**
 * The SVG text of a line plot.
 * @throws {RangeError} for no series, mismatched x/y lengths or a series without any finite point
 * @example
 * ```ts
 * linePlot([{ name: "g(r)", x: r, y: g }], { xLabel: "r (Å)", yLabel: "g(r)", hline: 1 });
 * ```
 */
export function linePlot(series: readonly LineSeries[], options: LinePlotOptions): string {
  if (series.length === 0) throw new RangeError("linePlot: no series");
  let x0 = Infinity, x1 = -Infinity, y0 = 0, y1 = -Infinity;
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw new RangeError(`linePlot: series '${s.name}' has ${s.x.length} x but ${s.y.length} y values`);
    }
    let finite = 0;
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !Number.isFinite(s.y[i])) continue;
      finite++;
      x0 = Math.min(x0, s.x[i]), x1 = Math.max(x1, s.x[i]);
      y0 = Math.min(y0, s.y[i]), y1 = Math.max(y1, s.y[i]);
    }
    if (finite === 0) throw new RangeError(`linePlot: series '${s.name}' has no finite point`);
  }
  if (options.hline !== undefined) y1 = Math.max(y1, options.hline);
  const width = options.width ?? 640, height = options.height ?? 420;
  const top = options.title ? 40 : 16;
  const area: PlotArea = { left: 64, top, width: width - 64 - 16, height: height - top - 50 };
  const xt = niceTicks(...(options.xDomain ?? [x0, x1]), 8);
  const yt = niceTicks(...(options.yDomain ?? [y0, y1 > y0 ? y1 * 1.04 : y1]), 6);
  const xd: [number, number] = options.xDomain ?? [xt.lo, xt.hi];
  const yd: [number, number] = options.yDomain ?? [yt.lo, yt.hi];
  const sx = linearScale(xd, [area.left, area.left + area.width]);
  const sy = linearScale(yd, [area.top + area.height, area.top]);
  const inside = (v: number, [a, b]: [number, number]) =>
    v >= Math.min(a, b) - 1e-9 && v <= Math.max(a, b) + 1e-9;

  const parts: string[] = [el("rect", { x: 0, y: 0, width, height, fill: "white" })];
  parts.push(
    el(
      "defs",
      {},
      el(
        "clipPath",
        { id: "line-plot-area" },
        el("rect", { x: area.left, y: area.top, width: area.width, height: area.height }),
      ),
    ),
  );
  parts.push(...axes(
    area,
    xt.values.filter((v) => inside(v, xd)).map((v) => ({ at: sx(v), label: v.toFixed(xt.decimals) })),
    yt.values.filter((v) => inside(v, yd)).map((v) => ({ at: sy(v), label: v.toFixed(yt.decimals) })),
    options.xLabel,
    options.yLabel,
    height,
  ));
  if (options.hline !== undefined && inside(options.hline, yd)) {
    parts.push(line(area.left, sy(options.hline), area.left + area.width, sy(options.hline), {
      class: "reference",
      stroke: "#888",
      "stroke-dasharray": "5 4",
    }));
  }
  const colored = series.map((s, k) => ({ ...s, color: s.color ?? PALETTE[k % PALETTE.length] }));
  parts.push(el(
    "g",
    { class: "series", fill: "none", "clip-path": "url(#line-plot-area)", "stroke-linejoin": "round" },
    colored.map((s) =>
      el("path", {
        d: pathData(s, sx, sy),
        stroke: s.color,
        "stroke-width": s.width ?? 1.5,
        "stroke-dasharray": s.dash,
      }, el("title", {}, escapeXml(s.name)))
    ),
  ));
  parts.push(legend(area, colored, "line"));
  if (options.title) {
    parts.push(
      text(area.left, 24, options.title, { class: "title", "font-size": 15, "font-weight": "bold" }),
    );
  }
  return svgDocument(width, height, parts.filter((p) => p !== ""), options.title);
}
