/**
 * Scatter plot: one point per row on linear or logarithmic axes, coloured by a value (viridis or a diverging scale,
 * with a colour bar) or by a category (palette and legend); optional vertical interval bars (e.g. conformal and
 * MC-dropout intervals of a parity plot), an identity line y = x with square shared axes, and overlay marker sets
 * (e.g. designed candidates on a latent map) drawn above the points with their own legend entries and labels.
 * @module
 */
import { el, escapeXml, line, linearScale, niceTicks, num, svgDocument, text } from "./svg.ts";
import { axes, type PlotArea } from "./line_plot.ts";
import { CATEGORY_COLORS, colorBar, colorScale, finiteExtent, VIRIDIS } from "./color_scale.ts";

/** Marker shapes of overlays. */
export type MarkerShape = "circle" | "diamond" | "star" | "square" | "cross" | "triangle";

/** Colour by a numeric value per point (continuous scale + colour bar). */
export interface ValueColoring {
  kind: "value";
  values: ArrayLike<number>;
  /** Colour-bar label, e.g. "HV". */
  label: string;
  /** Colour stops (default viridis). */
  stops?: readonly string[];
  /** Value range of the scale (default: the values' extent). */
  domain?: [number, number];
}

/** Colour by a category per point (palette + legend). */
export interface CategoryColoring {
  kind: "category";
  /** Category of each point; legend entries in order of first appearance (or `order`). */
  values: readonly string[];
  /** Legend title, e.g. "cluster". */
  label?: string;
  order?: readonly string[];
}

/** A set of markers drawn above the points. */
export interface Overlay {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  shape?: MarkerShape;
  color?: string;
  /** Short text next to each marker (e.g. candidate numbers). */
  labels?: readonly string[];
  /** Marker radius (default 7). */
  size?: number;
}

/** Vertical bars lo..hi at each point's x. */
export interface IntervalSet {
  name: string;
  lo: ArrayLike<number>;
  hi: ArrayLike<number>;
  color?: string;
  /** Stroke width (default 1.2). */
  width?: number;
}

/** Options of {@link scatterPlot}. */
export interface ScatterOptions {
  title?: string;
  /** A smaller line under the title (e.g. metrics). */
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  /** Figure size (default 600 × 480). */
  width?: number;
  height?: number;
  color?: ValueColoring | CategoryColoring;
  /** Point colour without `color` (default #1f5fa8). */
  pointColor?: string;
  pointRadius?: number;
  pointOpacity?: number;
  /** Tooltip text per point (an SVG `<title>`). */
  pointTitles?: readonly string[];
  overlays?: readonly Overlay[];
  intervals?: readonly IntervalSet[];
  /** Draw y = x and use one shared domain on both axes. */
  identity?: boolean;
  /** Logarithmic x axis (every x must be > 0). */
  xLog?: boolean;
  xDomain?: [number, number];
  yDomain?: [number, number];
}

/** Ticks of a log axis: 1-2-5 × 10^k inside [lo, hi] (just powers of ten when the range is wide). */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo)) throw new RangeError(`logTicks: [${lo}, ${hi}]`);
  const k0 = Math.floor(Math.log10(lo)), k1 = Math.ceil(Math.log10(hi));
  const mult = k1 - k0 > 4 ? [1] : [1, 2, 5];
  const out: number[] = [];
  for (let k = k0; k <= k1; k++) {
    for (const m of mult) {
      const v = +(m * 10 ** k).toPrecision(12);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

/** Path of a marker of radius r at (x, y); `children` (e.g. a `<title>` tooltip) go inside the element. */
export function marker(
  shape: MarkerShape,
  x: number,
  y: number,
  r: number,
  attrs: Record<string, string | number>,
  children = "",
) {
  switch (shape) {
    case "circle":
      return el("circle", { cx: x, cy: y, r, ...attrs }, children);
    case "square":
      return el(
        "rect",
        { x: x - r * 0.8, y: y - r * 0.8, width: r * 1.6, height: r * 1.6, ...attrs },
        children,
      );
    case "diamond":
      return el("path", {
        d: `M${num(x)} ${num(y - r)}L${num(x + r)} ${num(y)}L${num(x)} ${num(y + r)}L${num(x - r)} ${
          num(y)
        }Z`,
        ...attrs,
      }, children);
    case "triangle":
      return el("path", {
        d: `M${num(x)} ${num(y - r)}L${num(x + r * 0.87)} ${num(y + r * 0.5)}L${num(x - r * 0.87)} ${
          num(y + r * 0.5)
        }Z`,
        ...attrs,
      }, children);
    case "cross": {
      const a = r * 0.7;
      return el("path", {
        d: `M${num(x - a)} ${num(y - a)}L${num(x + a)} ${num(y + a)}M${num(x - a)} ${num(y + a)}L${
          num(x + a)
        } ${num(y - a)}`,
        ...attrs,
        stroke: attrs.stroke ?? attrs.fill,
        "stroke-width": 2.2,
        fill: "none",
      }, children);
    }
    case "star": {
      let d = "";
      for (let k = 0; k < 10; k++) {
        const rr = k % 2 === 0 ? r : r * 0.45, a = -Math.PI / 2 + (k * Math.PI) / 5;
        d += `${k === 0 ? "M" : "L"}${num(x + rr * Math.cos(a))} ${num(y + rr * Math.sin(a))}`;
      }
      return el("path", { d: d + "Z", ...attrs }, children);
    }
  }
}

function checkLength(what: string, a: ArrayLike<unknown>, n: number): void {
  if (a.length !== n) throw new RangeError(`scatterPlot: ${what} has ${a.length} values for ${n} points`);
}

/**
 * The SVG text of a scatter plot. Points with a non-finite coordinate are skipped (and counted in a note).
 * @throws {RangeError} for mismatched lengths, no finite point, or a non-positive x on a log axis
 * @example
 * ```ts
 * scatterPlot(pc1, pc2, { xLabel: "PC 1", yLabel: "PC 2", color: { kind: "value", values: hv, label: "HV" } });
 * ```
 */
export function scatterPlot(x: ArrayLike<number>, y: ArrayLike<number>, o: ScatterOptions): string {
  const n = x.length;
  checkLength("y", y, n);
  if (o.color) checkLength("color", o.color.values, n);
  if (o.pointTitles) checkLength("pointTitles", o.pointTitles, n);
  for (const iv of o.intervals ?? []) {
    checkLength(`interval '${iv.name}'`, iv.lo, n), checkLength(`interval '${iv.name}'`, iv.hi, n);
  }
  for (const ov of o.overlays ?? []) {
    if (ov.x.length !== ov.y.length) {
      throw new RangeError(`scatterPlot: overlay '${ov.name}' x/y lengths differ`);
    }
    if (ov.labels && ov.labels.length !== ov.x.length) {
      throw new RangeError(
        `scatterPlot: overlay '${ov.name}' has ${ov.labels.length} labels for ${ov.x.length} markers`,
      );
    }
  }
  const ok = (i: number) => Number.isFinite(x[i]) && Number.isFinite(y[i]) && (!o.xLog || x[i] > 0);
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < n; i++) if (ok(i)) xs.push(x[i]), ys.push(y[i]);
  // With an identity line the domain follows the points (bars are clipped), so long bars cannot squash the plot.
  for (const iv of o.identity ? [] : o.intervals ?? []) {
    for (let i = 0; i < n; i++) {
      if (ok(i) && Number.isFinite(iv.lo[i]) && Number.isFinite(iv.hi[i])) ys.push(iv.lo[i], iv.hi[i]);
    }
  }
  for (const ov of o.overlays ?? []) {
    for (let i = 0; i < ov.x.length; i++) {
      if (Number.isFinite(ov.x[i]) && Number.isFinite(ov.y[i]) && (!o.xLog || ov.x[i] > 0)) {
        xs.push(ov.x[i]), ys.push(ov.y[i]);
      }
    }
  }
  if (xs.length === 0) throw new RangeError("scatterPlot: no finite point");
  const skipped = n - Array.from({ length: n }, (_, i) => i).filter(ok).length;
  if (o.xLog) {
    for (let i = 0; i < n; i++) {
      if (Number.isFinite(x[i]) && x[i] <= 0) {
        throw new RangeError(`scatterPlot: x[${i}] = ${x[i]} on a log axis`);
      }
    }
  }

  const width = o.width ?? 600, height = o.height ?? 480;
  const legendRoom = o.color ? 96 : 0;
  const top = (o.title ? 30 : 12) + (o.subtitle ? 18 : 0);
  const area: PlotArea = { left: 66, top, width: width - 66 - 16 - legendRoom, height: height - top - 50 };

  const pad = (lo: number, hi: number): [number, number] => {
    const p = (hi - lo) * 0.04 || Math.abs(lo) * 0.1 || 1;
    // Non-negative data (hardness, loads) keep a non-negative axis: no "−500" tick below a 0 HV floor.
    return [lo >= 0 && lo - p < 0 ? 0 : lo - p, hi + p];
  };
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (o.identity) x0 = y0 = Math.min(x0, y0), x1 = y1 = Math.max(x1, y1);
  let sx: (v: number) => number, xTicks: { at: number; label: string }[];
  let xd: [number, number];
  if (o.xLog) {
    xd = o.xDomain ?? [x0 / 1.25, x1 * 1.25];
    const lx = linearScale([Math.log10(xd[0]), Math.log10(xd[1])], [area.left, area.left + area.width]);
    sx = (v) => lx(Math.log10(v));
    xTicks = logTicks(xd[0], xd[1]).map((v) => ({ at: sx(v), label: String(v) }));
  } else {
    const t = niceTicks(...(o.xDomain ?? pad(x0, x1)), 7);
    xd = o.xDomain ?? [t.lo, t.hi];
    sx = linearScale(xd, [area.left, area.left + area.width]);
    xTicks = t.values.filter((v) => v >= xd[0] - 1e-9 && v <= xd[1] + 1e-9)
      .map((v) => ({ at: sx(v), label: v.toFixed(t.decimals) }));
  }
  const yt = niceTicks(...(o.yDomain ?? (o.identity && !o.xLog ? xd : pad(y0, y1))), 6);
  const yd: [number, number] = o.yDomain ?? (o.identity && !o.xLog ? xd : [yt.lo, yt.hi]);
  const sy = linearScale(yd, [area.top + area.height, area.top]);
  const yTicks = yt.values.filter((v) => v >= yd[0] - 1e-9 && v <= yd[1] + 1e-9)
    .map((v) => ({ at: sy(v), label: v.toFixed(yt.decimals) }));
  // Clipping by hand (no clipPath id): points outside the domain are not drawn, bars are cut to the area.
  const inX = (px: number) => px >= area.left - 0.5 && px <= area.left + area.width + 0.5;
  const clampY = (py: number) => Math.min(area.top + area.height, Math.max(area.top, py));

  const parts: string[] = [el("rect", { x: 0, y: 0, width, height, fill: "white" })];
  parts.push(...axes(area, xTicks, yTicks, o.xLabel, o.yLabel, height));
  if (o.identity) {
    const a = Math.max(xd[0], yd[0]), b = Math.min(xd[1], yd[1]);
    if (b > a) {
      parts.push(line(sx(a), sy(a), sx(b), sy(b), {
        class: "identity",
        stroke: "#555",
        "stroke-width": 1.2,
        "stroke-dasharray": "6 4",
      }));
    }
  }
  const legendItems: { name: string; color: string; shape: MarkerShape | "bar" }[] = [];
  (o.intervals ?? []).forEach((iv, k) => {
    const color = iv.color ?? (k === 0 ? "#9ec3e6" : "#e6a17a");
    const bars: string[] = [];
    for (let i = 0; i < n; i++) {
      if (!ok(i) || !Number.isFinite(iv.lo[i]) || !Number.isFinite(iv.hi[i])) continue;
      const px = sx(x[i]);
      if (!inX(px)) continue;
      bars.push(line(px, clampY(sy(iv.lo[i])), px, clampY(sy(iv.hi[i]))));
    }
    parts.push(el("g", {
      class: "intervals",
      "data-name": iv.name,
      stroke: color,
      "stroke-width": iv.width ?? 1.2,
      "stroke-opacity": 0.75,
    }, bars));
    legendItems.push({ name: iv.name, color, shape: "bar" });
  });

  // Point colours.
  let colorOf: (i: number) => string = () => o.pointColor ?? "#1f5fa8";
  let side = "";
  if (o.color?.kind === "value") {
    const c = o.color;
    const domain = c.domain ?? finiteExtent(c.values);
    const stops = c.stops ?? VIRIDIS;
    const map = colorScale(domain, stops);
    colorOf = (i) => (Number.isFinite(c.values[i]) ? map(c.values[i]) : "#bbbbbb");
    side = colorBar(
      area.left + area.width + 22,
      area.top + 10,
      14,
      Math.min(240, area.height - 20),
      domain,
      stops,
      c.label,
    );
  } else if (o.color?.kind === "category") {
    const c = o.color;
    const cats = [...(c.order ?? [])];
    for (const v of c.values) if (!cats.includes(v)) cats.push(v);
    const idx = new Map(cats.map((v, k) => [v, k]));
    colorOf = (i) => CATEGORY_COLORS[idx.get(c.values[i])! % CATEGORY_COLORS.length];
    const rows = cats.slice(0, 16).map((v, k) => {
      const cy = area.top + 26 + k * 16;
      return el("circle", {
        cx: area.left + area.width + 28,
        cy,
        r: 4.5,
        fill: CATEGORY_COLORS[k % CATEGORY_COLORS.length],
      }) +
        text(area.left + area.width + 38, cy + 4, v, { "font-size": 11 });
    });
    if (cats.length > 16) {
      rows.push(
        text(area.left + area.width + 22, area.top + 26 + 16 * 16, `+${cats.length - 16} more`, {
          "font-size": 10,
        }),
      );
    }
    side = el("g", { class: "category-legend" }, [
      text(area.left + area.width + 22, area.top + 10, c.label ?? "category", {
        "font-size": 11,
        "font-weight": "bold",
      }),
      ...rows,
    ]);
  }
  const r = o.pointRadius ?? 3, opacity = o.pointOpacity ?? 0.8;
  const dots: string[] = [];
  for (let i = 0; i < n; i++) {
    if (!ok(i)) continue;
    const px = sx(x[i]), py = sy(y[i]);
    if (!inX(px) || py < area.top - 0.5 || py > area.top + area.height + 0.5) continue;
    const tip = o.pointTitles ? el("title", {}, escapeXml(o.pointTitles[i])) : "";
    dots.push(el("circle", { cx: px, cy: py, r, fill: colorOf(i) }, tip));
  }
  parts.push(el("g", { class: "points", "fill-opacity": opacity }, dots));

  (o.overlays ?? []).forEach((ov, k) => {
    const color = ov.color ?? ["#d62728", "#ff7f0e", "#000000", "#e377c2"][k % 4];
    const shape = ov.shape ?? "star", size = ov.size ?? 7;
    const marks: string[] = [], labelMarks: string[] = [];
    // Label boxes already placed: a label that would overlap one is left out (its marker stays), so a tight
    // group of candidates does not turn into a smear of digits.
    const placed: [number, number, number, number][] = [];
    for (let i = 0; i < ov.x.length; i++) {
      if (!Number.isFinite(ov.x[i]) || !Number.isFinite(ov.y[i])) continue;
      const px = sx(ov.x[i]), py = sy(ov.y[i]);
      if (!inX(px) || py < area.top - 0.5 || py > area.top + area.height + 0.5) continue;
      const tip = ov.labels ? el("title", {}, escapeXml(`${ov.name} ${ov.labels[i]}`)) : "";
      marks.push(marker(shape, px, py, size, { fill: color, stroke: "#000", "stroke-width": 0.8 }, tip));
      if (ov.labels) {
        const lx = px + size + 2, ly = py - size + 2, w = 6.2 * ov.labels[i].length, h = 10;
        const box: [number, number, number, number] = [lx - 1, ly - h, lx + w + 1, ly + 1];
        if (placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
        placed.push(box);
        labelMarks.push(text(lx, ly, ov.labels[i], { "font-size": 10, "font-weight": "bold" }));
      }
    }
    marks.push(...labelMarks);
    parts.push(el("g", { class: "overlay", "data-name": ov.name }, marks));
    legendItems.push({ name: ov.name, color, shape });
  });

  if (legendItems.length > 0 && (legendItems.length > 1 || o.color || dots.length > 0)) {
    const w = Math.min(area.width * 0.6, 40 + 6.4 * Math.max(...legendItems.map((l) => l.name.length)));
    const lx = area.left + 8, ly = area.top + 8, h = 10 + 16 * legendItems.length;
    const rows = legendItems.map((l, k) => {
      const cy = ly + 13 + 16 * k;
      const sw = l.shape === "bar"
        ? line(lx + 14, cy - 6, lx + 14, cy + 6, { stroke: l.color, "stroke-width": 3 })
        : marker(l.shape, lx + 14, cy, 5, { fill: l.color, stroke: "#000", "stroke-width": 0.6 });
      return sw + text(lx + 26, cy + 4, l.name, { "font-size": 11 });
    });
    parts.push(el("g", { class: "legend" }, [
      el("rect", { x: lx, y: ly, width: w, height: h, fill: "white", "fill-opacity": 0.85, stroke: "#bbb" }),
      ...rows,
    ]));
  }
  if (side) parts.push(side);
  if (o.title) {
    parts.push(text(area.left, 22, o.title, { class: "title", "font-size": 15, "font-weight": "bold" }));
  }
  const sub = [o.subtitle, skipped > 0 ? `${skipped} non-finite point(s) not shown` : undefined].filter(
    Boolean,
  ).join(" · ");
  if (sub) parts.push(text(area.left, top - 8, sub, { class: "subtitle", "font-size": 11, fill: "#333" }));
  return svgDocument(width, height, parts, o.title);
}
