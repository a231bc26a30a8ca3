/**
 * A tiny SVG builder for hand-written figures: elements as strings with escaped text and attribute values,
 * compact coordinates, a linear scale and "nice" axis ticks. Output is standalone SVG 1.1 (XML with the SVG
 * namespace), viewable in any browser and embeddable in Markdown.
 * @module
 */

/** Attribute values; `undefined`, `null` and `false` leave the attribute out, `true` writes it empty. */
export type Attrs = Record<string, string | number | boolean | null | undefined>;

const ATTR_NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*$/;
const TAG_NAME = /^[A-Za-z_][-A-Za-z0-9_:.]*$/;

/** Whether XML 1.0 allows code point `c` (C0 controls other than tab/LF/CR, lone surrogates and U+FFFE/U+FFFF not). */
function xmlAllowed(c: number): boolean {
  return c === 9 || c === 10 || c === 13 || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
    c >= 0x10000;
}

/**
 * Escapes text for XML character data and attribute values (`& < > " '`), dropping characters XML cannot hold.
 * @example
 * ```ts
 * escapeXml(`R² <5 & "x"`); // "R² &lt;5 &amp; &quot;x&quot;"
 * ```
 */
export function escapeXml(text: string): string {
  let clean = "";
  for (const ch of text) if (xmlAllowed(ch.codePointAt(0)!)) clean += ch;
  return clean.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A coordinate or length with at most 2 decimals and no `-0`. */
export function num(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`svg: coordinate ${x} is not finite`);
  const r = Math.round(x * 100) / 100;
  return String(r === 0 ? 0 : r);
}

function attrText(attrs: Attrs): string {
  let out = "";
  for (const [k, v] of Object.entries(attrs)) {
    if (!ATTR_NAME.test(k)) throw new Error(`svg: bad attribute name '${k}'`);
    if (v === undefined || v === null || v === false) continue;
    const s = v === true ? "" : typeof v === "number" ? num(v) : escapeXml(v);
    out += ` ${k}="${s}"`;
  }
  return out;
}

/**
 * One element: `<name attrs>children</name>`, or self-closing without children. Children are markup (already
 * built elements); use {@link text} or {@link escapeXml} for text.
 */
export function el(name: string, attrs: Attrs = {}, children: string | readonly string[] = ""): string {
  if (!TAG_NAME.test(name)) throw new Error(`svg: bad element name '${name}'`);
  const inner = typeof children === "string" ? children : children.join("");
  return inner === "" ? `<${name}${attrText(attrs)}/>` : `<${name}${attrText(attrs)}>${inner}</${name}>`;
}

/** A `<text>` element with escaped content. */
export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el("text", { x, y, ...attrs }, escapeXml(content));
}

/** A `<line>`. */
export function line(x1: number, y1: number, x2: number, y2: number, attrs: Attrs = {}): string {
  return el("line", { x1, y1, x2, y2, ...attrs });
}

/** A complete standalone SVG document of `width` × `height` user units holding `children`. */
export function svgDocument(
  width: number,
  height: number,
  children: readonly string[],
  title?: string,
): string {
  const head = title !== undefined ? el("title", {}, escapeXml(title)) : "";
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    el("svg", {
      xmlns: "http://www.w3.org/2000/svg",
      width,
      height,
      viewBox: `0 0 ${num(width)} ${num(height)}`,
      "font-family": "Helvetica, Arial, sans-serif",
      "font-size": 12,
    }, [head, ...children].map((c) => `\n${c}`).join("") + "\n") + "\n";
}

/** A linear map from `domain` to `range` (either may be reversed, e.g. for a y axis pointing up). */
export function linearScale(
  domain: readonly [number, number],
  range: readonly [number, number],
): (v: number) => number {
  const [d0, d1] = domain, [r0, r1] = range;
  if (!(d1 !== d0) || !Number.isFinite(d0) || !Number.isFinite(d1)) {
    throw new RangeError(`linearScale: bad domain [${d0}, ${d1}]`);
  }
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Axis ticks: a round step (1, 2 or 5 × 10^k), the domain widened to whole steps, and the tick values. */
export interface Ticks {
  step: number;
  lo: number;
  hi: number;
  values: number[];
  /** Decimals needed to print the values. */
  decimals: number;
}

/**
 * "Nice" ticks covering [lo, hi] with about `target` intervals; the returned domain is widened to whole steps.
 * @example
 * ```ts
 * niceTicks(183, 1270).values; // [0, 200, 400, …, 1400]
 * ```
 */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new RangeError(`niceTicks: [${lo}, ${hi}]`);
  }
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const a = Math.floor(lo / step + 1e-9), b = Math.ceil(hi / step - 1e-9);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values = Array.from({ length: b - a + 1 }, (_, i) => +((a + i) * step).toFixed(decimals));
  return { step, lo: values[0], hi: values[values.length - 1], values, decimals };
}
