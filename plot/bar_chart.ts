/**
 * Bar chart: named categories along x (coordination numbers, Voronoi indices), one or more series drawn as grouped
 * vertical bars from 0, nice y ticks, a legend for several series and x labels thinned or turned when crowded.
 * @module
 */
import { el, escapeXml, linearScale, niceTicks, svgDocument, text } from "./svg.ts";
import { axes, legend, PALETTE, type PlotArea } from "./line_plot.ts";

/** One series of a {@link barChart}: a value per category. */
export interface BarSeries {
  name: string;
  values: ArrayLike<number>;
  /** Fill colour (default: the palette in series order, skipping black). */
  color?: string;
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  title?: string;
  xLabel: string;
  yLabel: string;
  /** Figure size in user units (default 640 × 420). */
  width?: number;
  height?: number;
  /** Label every k-th category (default: as many as fit). */
  labelEvery?: number;
}

/**
 * The SVG text of a bar chart.
 * @throws {RangeError} for no categories or series, a series of the wrong length, or a negative or non-finite value
 * @example
 * ```ts
 * barChart(["10", "11", "12"], [{ name: "all", values: [0.2, 0.5, 0.3] }], { xLabel: "CN", yLabel: "fraction" });
 * ```
 */
export function barChart(
  categories: readonly string[],
  series: readonly BarSeries[],
  options: BarChartOptions,
): string {
  const m = categories.length;
  if (m === 0) throw new RangeError("barChart: no categories");
  if (series.length === 0) throw new RangeError("barChart: no series");
  let top = 0;
  for (const s of series) {
    if (s.values.length !== m) {
      throw new RangeError(`barChart: series '${s.name}' has ${s.values.length} values for ${m} categories`);
    }
    for (let i = 0; i < m; i++) {
      const v = s.values[i];
      if (!Number.isFinite(v) || v < 0) {
        throw new RangeError(`barChart: series '${s.name}' has value ${v} at '${categories[i]}'`);
      }
      top = Math.max(top, v);
    }
  }
  const width = options.width ?? 640, height = options.height ?? 420;
  const longest = Math.max(...categories.map((c) => c.length));
  const slot0 = (width - 80) / m;
  // Turn labels by 40° when they would overlap upright.
  const turned = longest * 6.6 > slot0 * (options.labelEvery ?? 1) && longest > 3;
  const labelRoom = turned ? Math.min(110, 14 + longest * 5) : 22;
  const headroom = options.title ? 40 : 16;
  const area: PlotArea = {
    left: 64,
    top: headroom,
    width: width - 64 - 16,
    height: height - headroom - 28 - labelRoom,
  };
  const slot = area.width / m;
  const every = options.labelEvery ?? Math.max(1, Math.ceil((turned ? 14 : longest * 6.6 + 6) / slot));
  const yt = niceTicks(0, top > 0 ? top * 1.05 : 1, 6);
  const sy = linearScale([0, yt.hi], [area.top + area.height, area.top]);
  const bottom = area.top + area.height;

  const parts: string[] = [el("rect", { x: 0, y: 0, width, height, fill: "white" })];
  parts.push(...axes(
    area,
    [],
    yt.values.map((v) => ({ at: sy(v), label: v.toFixed(yt.decimals) })),
    options.xLabel,
    options.yLabel,
    height,
  ));
  const colored = series.map((s, k) => ({
    ...s,
    color: s.color ?? (series.length === 1 ? PALETTE[1] : PALETTE[(k + 1) % PALETTE.length]),
  }));
  const groupW = slot * 0.8, barW = groupW / series.length;
  colored.forEach((s, k) => {
    const bars: string[] = [];
    for (let i = 0; i < m; i++) {
      const v = s.values[i];
      if (v === 0) continue;
      const x = area.left + slot * i + (slot - groupW) / 2 + barW * k;
      bars.push(
        el(
          "rect",
          { x, y: sy(v), width: Math.max(barW, 0.5), height: bottom - sy(v) },
          el("title", {}, escapeXml(`${s.name} ${categories[i]}: ${v}`)),
        ),
      );
    }
    parts.push(el("g", { class: "bars", fill: s.color }, bars));
  });
  const labels: string[] = [];
  for (let i = 0; i < m; i += every) {
    const cx = area.left + slot * (i + 0.5), y = bottom + 16;
    labels.push(
      turned
        ? text(cx, y, categories[i], { "text-anchor": "end", transform: `rotate(-40 ${cx.toFixed(2)} ${y})` })
        : text(cx, y, categories[i], { "text-anchor": "middle" }),
    );
  }
  parts.push(el("g", { class: "category-labels", fill: "#222", "font-size": 11 }, labels));
  parts.push(legend(area, colored, "box"));
  if (options.title) {
    parts.push(
      text(area.left, 24, options.title, { class: "title", "font-size": 15, "font-weight": "bold" }),
    );
  }
  return svgDocument(width, height, parts.filter((p) => p !== ""), options.title);
}
