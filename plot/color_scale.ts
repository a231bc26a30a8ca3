/**
 * Colour scales for figures that encode a value or a category as colour: a perceptually uniform sequential scale
 * (viridis), a diverging scale centred on zero (blue–white–red) for signed values such as correlations, a
 * categorical palette, and a colour bar drawn from plain rectangles (no gradient `id`, so any number of figures can
 * sit in one HTML page without id clashes).
 * @module
 */
import { el, linearScale, niceTicks, num, text } from "./svg.ts";

/** Viridis, sampled at 10 evenly spaced stops (matplotlib's). */
export const VIRIDIS: readonly string[] = [
  "#440154",
  "#482878",
  "#3e4989",
  "#31688e",
  "#26828e",
  "#1f9e89",
  "#35b779",
  "#6ece58",
  "#b5de2b",
  "#fde725",
];

/** Blue (negative) – white (0) – red (positive), ColorBrewer RdBu reversed. */
export const DIVERGING: readonly string[] = [
  "#2166ac",
  "#4393c3",
  "#92c5de",
  "#d1e5f0",
  "#f7f7f7",
  "#fddbc7",
  "#f4a582",
  "#d6604d",
  "#b2182b",
];

/** Category colours (Okabe–Ito without black, then greys and extra hues); repeats after its length. */
export const CATEGORY_COLORS: readonly string[] = [
  "#0072b2",
  "#d55e00",
  "#009e73",
  "#cc79a7",
  "#e69f00",
  "#56b4e9",
  "#f0e442",
  "#666666",
  "#8c564b",
  "#17becf",
  "#bcbd22",
  "#9467bd",
];

function hexRgb(hex: string): [number, number, number] {
  const h = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!h) throw new RangeError(`color: '${hex}' is not #rrggbb`);
  const v = parseInt(h[1], 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

const hex2 = (v: number) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, "0");

/**
 * The colour at t ∈ [0, 1] (clamped; NaN → the first stop) of a piecewise-linear scale through `stops`.
 * @example
 * ```ts
 * interpolateColor(["#000000", "#ffffff"], 0.5); // "#808080"
 * ```
 */
export function interpolateColor(stops: readonly string[], t: number): string {
  if (stops.length === 0) throw new RangeError("interpolateColor: no stops");
  if (stops.length === 1) return stops[0];
  const u = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const x = u * (stops.length - 1), k = Math.min(stops.length - 2, Math.floor(x)), f = x - k;
  const a = hexRgb(stops[k]), b = hexRgb(stops[k + 1]);
  return `#${hex2(a[0] + (b[0] - a[0]) * f)}${hex2(a[1] + (b[1] - a[1]) * f)}${
    hex2(a[2] + (b[2] - a[2]) * f)
  }`;
}

/** A value → colour map over `domain` (a zero-width domain maps everything to the middle colour). */
export function colorScale(
  domain: readonly [number, number],
  stops: readonly string[] = VIRIDIS,
): (v: number) => string {
  const [lo, hi] = domain;
  if (!(hi > lo)) return () => interpolateColor(stops, 0.5);
  return (v) => interpolateColor(stops, (v - lo) / (hi - lo));
}

/** [min, max] of the finite values (throws when there is none). */
export function finiteExtent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) lo = Math.min(lo, v), hi = Math.max(hi, v);
  }
  if (lo > hi) throw new RangeError("finiteExtent: no finite value");
  return [lo, hi];
}

/**
 * A vertical colour bar at (x, y) of size w × h: `stripes` rectangles from the bottom (domain[0]) to the top,
 * tick labels on the right and a rotated label.
 */
export function colorBar(
  x: number,
  y: number,
  w: number,
  h: number,
  domain: readonly [number, number],
  stops: readonly string[],
  label: string,
  stripes = 48,
): string {
  const parts: string[] = [];
  const [lo, hi] = domain[1] > domain[0] ? domain : [domain[0] - 0.5, domain[0] + 0.5];
  const color = colorScale([lo, hi], stops);
  const sh = h / stripes;
  for (let k = 0; k < stripes; k++) {
    const v = lo + ((k + 0.5) / stripes) * (hi - lo);
    parts.push(el("rect", { x, y: y + h - (k + 1) * sh, width: w, height: sh + 0.3, fill: color(v) }));
  }
  parts.push(el("rect", { x, y, width: w, height: h, fill: "none", stroke: "#444" }));
  const sy = linearScale([lo, hi], [y + h, y]);
  const t = niceTicks(lo, hi, 4);
  for (const v of t.values) {
    if (v < lo - 1e-12 || v > hi + 1e-12) continue;
    parts.push(el("line", { x1: x + w, y1: sy(v), x2: x + w + 4, y2: sy(v), stroke: "#444" }));
    parts.push(text(x + w + 6, sy(v) + 4, v.toFixed(t.decimals), { "font-size": 10 }));
  }
  const lx = x + w + 44, ly = y + h / 2;
  parts.push(text(lx, ly, label, {
    "text-anchor": "middle",
    "font-size": 11,
    transform: `rotate(-90 ${num(lx)} ${num(ly)})`,
  }));
  return el("g", { class: "color-bar" }, parts);
}
