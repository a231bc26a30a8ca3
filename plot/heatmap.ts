/**
 * Heatmaps: a labelled matrix (rows × columns of named categories, e.g. elements × epochs of the attention gate,
 * or latent dimensions × statistics) and a continuous 2-D field on a regular grid (e.g. a mixture density over a
 * latent map) with optional point sets drawn on top. Both use a colour scale with a colour bar (viridis, or the
 * diverging scale centred on 0 for signed values).
 * @module
 */
import { el, escapeXml, linearScale, niceTicks, num, svgDocument, text } from "./svg.ts";
import { axes, type PlotArea } from "./line_plot.ts";
import { colorBar, colorScale, DIVERGING, finiteExtent, VIRIDIS } from "./color_scale.ts";
import { marker, type Overlay } from "./scatter.ts";

/** Options shared by both heatmaps. */
export interface HeatmapOptions {
  title?: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  /** Colour-bar label. */
  colorLabel: string;
  /** Colour stops (default viridis, or the diverging scale with `symmetric`). */
  stops?: readonly string[];
  /** Value range of the scale (default: the values' extent, or ±max|v| with `symmetric`). */
  domain?: [number, number];
  /** Signed values: a diverging scale centred on 0. */
  symmetric?: boolean;
  /** Figure size (default 640 × 460). */
  width?: number;
  height?: number;
}

function scaleOf(values: ArrayLike<number>, o: HeatmapOptions) {
  let domain = o.domain;
  if (!domain) {
    const [lo, hi] = finiteExtent(values);
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    domain = o.symmetric ? [-m, m] : [lo, hi];
  }
  const stops = o.stops ?? (o.symmetric ? DIVERGING : VIRIDIS);
  return { domain, stops, color: colorScale(domain, stops) };
}

/** Options of {@link matrixHeatmap}. */
export interface MatrixHeatmapOptions extends HeatmapOptions {
  /** Print each cell's value with this many decimals (only when cells are large enough). */
  cellDecimals?: number;
  /** Label every k-th column (default: as many as fit). */
  colLabelEvery?: number;
}

/**
 * A matrix of `rows.length` × `cols.length` values (row-major) as coloured cells, row labels on the left, column
 * labels below (turned when long). Non-finite cells are grey.
 * @throws {RangeError} for a value count that does not match, or no finite value
 * @example
 * ```ts
 * matrixHeatmap(["z0", "z1"], ["Pearson", "Spearman"], [0.8, 0.7, -0.1, 0.0],
 *   { xLabel: "", yLabel: "latent dimension", colorLabel: "r", symmetric: true, cellDecimals: 2 });
 * ```
 */
export function matrixHeatmap(
  rows: readonly string[],
  cols: readonly string[],
  values: ArrayLike<number>,
  o: MatrixHeatmapOptions,
): string {
  const R = rows.length, C = cols.length;
  if (R === 0 || C === 0) throw new RangeError("matrixHeatmap: no rows or columns");
  if (values.length !== R * C) {
    throw new RangeError(`matrixHeatmap: ${values.length} values for ${R} × ${C} cells`);
  }
  const { domain, stops, color } = scaleOf(values, o);
  const width = o.width ?? 640, height = o.height ?? 460;
  const rowLabelW = Math.min(140, 14 + 6.6 * Math.max(...rows.map((r) => r.length)));
  const longCol = Math.max(...cols.map((c) => c.length));
  const head = (o.title ? 30 : 12) + (o.subtitle ? 18 : 0);
  // Room for the rotated y label left of the row labels.
  const yRoom = o.yLabel ? 18 : 0;
  const plotW = width - rowLabelW - yRoom - 16 - 96;
  const turned = longCol * 6.6 > plotW / C && longCol > 2;
  const colRoom = turned ? Math.min(90, 14 + longCol * 5.5) : 20;
  const area: PlotArea = {
    left: rowLabelW + yRoom + 8,
    top: head,
    width: plotW,
    height: height - head - colRoom - (o.xLabel ? 26 : 8),
  };
  const cw = area.width / C, ch = area.height / R;
  const parts: string[] = [el("rect", { x: 0, y: 0, width, height, fill: "white" })];
  const cells: string[] = [];
  const showText = o.cellDecimals !== undefined && cw >= 34 && ch >= 14;
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < C; j++) {
      const v = values[i * C + j];
      const x = area.left + j * cw, y = area.top + i * ch;
      const fill = Number.isFinite(v) ? color(v) : "#cccccc";
      cells.push(el(
        "rect",
        { x, y, width: cw + 0.3, height: ch + 0.3, fill },
        el(
          "title",
          {},
          escapeXml(`${rows[i]} · ${cols[j]}: ${Number.isFinite(v) ? +v.toPrecision(5) : "n/a"}`),
        ),
      ));
      if (showText && Number.isFinite(v)) {
        const t = (v - domain[0]) / ((domain[1] - domain[0]) || 1);
        const dark = o.symmetric ? Math.abs(t - 0.5) > 0.3 : t < 0.6;
        cells.push(
          text(
            x + cw / 2,
            y + ch / 2 + 4,
            (+v.toFixed(o.cellDecimals!) === 0 ? 0 : v).toFixed(o.cellDecimals!),
            {
              "text-anchor": "middle",
              "font-size": 10,
              fill: dark ? "#fff" : "#111",
            },
          ),
        );
      }
    }
  }
  parts.push(el("g", { class: "cells" }, cells));
  parts.push(
    el("rect", {
      x: area.left,
      y: area.top,
      width: area.width,
      height: area.height,
      fill: "none",
      stroke: "#444",
    }),
  );
  const rowEvery = Math.max(1, Math.ceil(12 / ch));
  const labels: string[] = [];
  for (let i = 0; i < R; i += rowEvery) {
    labels.push(text(area.left - 6, area.top + (i + 0.5) * ch + 4, rows[i], { "text-anchor": "end" }));
  }
  const every = o.colLabelEvery ?? Math.max(1, Math.ceil((turned ? 13 : longCol * 6.6 + 6) / cw));
  const by = area.top + area.height + 14;
  for (let j = 0; j < C; j += every) {
    const cx = area.left + (j + 0.5) * cw;
    labels.push(
      turned
        ? text(cx, by, cols[j], { "text-anchor": "end", transform: `rotate(-45 ${num(cx)} ${num(by)})` })
        : text(cx, by, cols[j], { "text-anchor": "middle" }),
    );
  }
  parts.push(el("g", { class: "tick-labels", fill: "#222", "font-size": 11 }, labels));
  if (o.xLabel) {
    parts.push(
      text(area.left + area.width / 2, height - 8, o.xLabel, { class: "x-label", "text-anchor": "middle" }),
    );
  }
  if (o.yLabel) {
    const yx = 12, yy = area.top + area.height / 2;
    parts.push(text(yx, yy, o.yLabel, {
      class: "y-label",
      "text-anchor": "middle",
      transform: `rotate(-90 ${num(yx)} ${num(yy)})`,
    }));
  }
  parts.push(
    colorBar(
      area.left + area.width + 18,
      area.top,
      14,
      Math.min(220, area.height),
      domain,
      stops,
      o.colorLabel,
    ),
  );
  if (o.title) parts.push(text(8, 22, o.title, { class: "title", "font-size": 15, "font-weight": "bold" }));
  if (o.subtitle) {
    parts.push(text(8, head - 8, o.subtitle, { class: "subtitle", "font-size": 11, fill: "#333" }));
  }
  return svgDocument(width, height, parts, o.title);
}

/** A regular grid of values: `values[iy * nx + ix]` at x = x-range cell ix, y = y-range cell iy (iy 0 at the bottom). */
export interface GridField {
  nx: number;
  ny: number;
  xRange: [number, number];
  yRange: [number, number];
  values: ArrayLike<number>;
}

/** Options of {@link fieldHeatmap}. */
export interface FieldHeatmapOptions extends HeatmapOptions {
  /** Point sets drawn above the field (circles by default). */
  overlays?: readonly Overlay[];
}

/**
 * A continuous field on a grid as coloured cells on numeric axes, with overlays.
 * @throws {RangeError} for a grid whose value count or ranges are wrong, or no finite value
 */
export function fieldHeatmap(field: GridField, o: FieldHeatmapOptions): string {
  const { nx, ny, xRange, yRange, values } = field;
  if (!(nx >= 1 && ny >= 1) || values.length !== nx * ny) {
    throw new RangeError(`fieldHeatmap: ${values.length} values for a ${nx} × ${ny} grid`);
  }
  if (!(xRange[1] > xRange[0]) || !(yRange[1] > yRange[0])) throw new RangeError("fieldHeatmap: empty range");
  const { domain, stops, color } = scaleOf(values, o);
  const width = o.width ?? 640, height = o.height ?? 480;
  const head = (o.title ? 30 : 12) + (o.subtitle ? 18 : 0);
  const area: PlotArea = { left: 66, top: head, width: width - 66 - 16 - 96, height: height - head - 50 };
  const sx = linearScale(xRange, [area.left, area.left + area.width]);
  const sy = linearScale(yRange, [area.top + area.height, area.top]);
  const cw = area.width / nx, ch = area.height / ny;
  const parts: string[] = [el("rect", { x: 0, y: 0, width, height, fill: "white" })];
  const cells: string[] = [];
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const v = values[iy * nx + ix];
      cells.push(el("rect", {
        x: area.left + ix * cw,
        y: area.top + area.height - (iy + 1) * ch,
        width: cw + 0.4,
        height: ch + 0.4,
        fill: Number.isFinite(v) ? color(v) : "#cccccc",
      }));
    }
  }
  parts.push(el("g", { class: "cells" }, cells));
  const inside = (v: number, [a, b]: [number, number]) => v >= a - 1e-9 && v <= b + 1e-9;
  const xt = niceTicks(xRange[0], xRange[1], 6), yt = niceTicks(yRange[0], yRange[1], 6);
  parts.push(
    ...axes(
      area,
      xt.values.filter((v) => inside(v, xRange)).map((v) => ({ at: sx(v), label: v.toFixed(xt.decimals) })),
      yt.values.filter((v) => inside(v, yRange)).map((v) => ({ at: sy(v), label: v.toFixed(yt.decimals) })),
      o.xLabel,
      o.yLabel,
      height,
    ).filter((p) => !p.startsWith('<g class="grid"')),
  );
  const legendRows: string[] = [];
  (o.overlays ?? []).forEach((ov, k) => {
    const c = ov.color ?? ["#ffffff", "#d62728", "#ff7f0e"][k % 3];
    const shape = ov.shape ?? "circle", size = ov.size ?? 2.6;
    const marks: string[] = [];
    for (let i = 0; i < ov.x.length; i++) {
      if (!Number.isFinite(ov.x[i]) || !Number.isFinite(ov.y[i])) continue;
      if (!inside(ov.x[i], xRange) || !inside(ov.y[i], yRange)) continue;
      marks.push(
        marker(shape, sx(ov.x[i]), sy(ov.y[i]), size, { fill: c, stroke: "#000", "stroke-width": 0.5 }),
      );
      if (ov.labels) {
        marks.push(text(sx(ov.x[i]) + size + 2, sy(ov.y[i]) - size, ov.labels[i], {
          "font-size": 10,
          "font-weight": "bold",
          fill: "#fff",
          stroke: "#000",
          "stroke-width": 0.3,
        }));
      }
    }
    parts.push(el("g", { class: "overlay", "data-name": ov.name, "fill-opacity": 0.85 }, marks));
    const cy = area.top + 14 + 16 * k;
    legendRows.push(
      marker(shape, area.left + 16, cy, 5, { fill: c, stroke: "#000", "stroke-width": 0.6 }) +
        text(area.left + 28, cy + 4, ov.name, { "font-size": 11 }),
    );
  });
  if (legendRows.length) {
    const w = 40 + 6.4 * Math.max(...(o.overlays ?? []).map((v) => v.name.length));
    parts.push(el("g", { class: "legend" }, [
      el("rect", {
        x: area.left + 6,
        y: area.top + 4,
        width: w,
        height: 8 + 16 * legendRows.length,
        fill: "white",
        "fill-opacity": 0.85,
        stroke: "#bbb",
      }),
      ...legendRows,
    ]));
  }
  parts.push(
    colorBar(
      area.left + area.width + 18,
      area.top + 10,
      14,
      Math.min(240, area.height - 20),
      domain,
      stops,
      o.colorLabel,
    ),
  );
  if (o.title) {
    parts.push(text(area.left, 22, o.title, { class: "title", "font-size": 15, "font-weight": "bold" }));
  }
  if (o.subtitle) {
    parts.push(text(area.left, head - 8, o.subtitle, { class: "subtitle", "font-size": 11, fill: "#333" }));
  }
  return svgDocument(width, height, parts, o.title);
}
