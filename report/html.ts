/**
 * A small builder for ONE self-contained HTML report: escaped text everywhere, inline SVG figures (each figure's
 * element ids prefixed so many figures can share a page), inline CSS, no scripts, no external resources. The markup
 * is also well-formed XML (every element closed, attributes quoted), so tests can parse the whole page strictly.
 * @module
 */
import { escapeXml } from "../plot/svg.ts";

/** Markup that is already safe to insert (built by this module's functions). */
export type Html = string;

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): Html {
  return escapeXml(text);
}

const ID = /^[A-Za-z][-A-Za-z0-9_]*$/;

function checkId(id: string): string {
  if (!ID.test(id)) throw new Error(`report html: bad id '${id}'`);
  return id;
}

/** `<tag attrs>children</tag>` with escaped attribute values (children are markup). */
export function tag(
  name: string,
  attrs: Record<string, string | number | undefined> = {},
  children: Html | readonly Html[] = "",
): Html {
  if (!/^[a-z][a-z0-9]*$/.test(name)) throw new Error(`report html: bad tag '${name}'`);
  let a = "";
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (!/^[a-z][-a-z0-9]*$/.test(k)) throw new Error(`report html: bad attribute '${k}'`);
    a += ` ${k}="${escapeHtml(String(v))}"`;
  }
  const inner = typeof children === "string" ? children : children.join("");
  return `<${name}${a}>${inner}</${name}>`;
}

/** A paragraph of plain text. */
export function paragraph(text: string, cls?: string): Html {
  return tag("p", { class: cls }, escapeHtml(text));
}

/** A highlighted note (e.g. "computed in-sample"), plain text. */
export function note(text: string): Html {
  return tag("p", { class: "note" }, escapeHtml(text));
}

/**
 * Prepares a standalone SVG document for inlining: drops the XML declaration, prefixes every `id` and its
 * `url(#…)` / `href="#…"` references with `prefix-`, and marks the root with `id` and an accessible label.
 * @throws {Error} when the text is not an `<svg>` document
 */
export function inlineSvg(svg: string, id: string, label: string): Html {
  checkId(id);
  const body = svg.replace(/^\s*<\?xml[^?]*\?>\s*/, "").trim();
  if (!body.startsWith("<svg")) throw new Error(`inlineSvg: figure ${id} is not an <svg> document`);
  const prefixed = body
    .replace(/\sid="([^"]+)"/g, (_, v: string) => ` id="${id}-${v}"`)
    .replace(/url\(#([^)]+)\)/g, (_, v: string) => `url(#${id}-${v})`)
    .replace(/href="#([^"]+)"/g, (_, v: string) => `href="#${id}-${v}"`);
  return prefixed.replace(
    /^<svg/,
    `<svg id="${id}" class="chart" role="img" aria-label="${escapeHtml(label)}"`,
  );
}

/**
 * One figure: the inlined SVG (root id `svg-<id>`) in a `<figure id="fig-<id>">` with a plain-text caption.
 */
export function figure(id: string, svg: string, caption: string): Html {
  checkId(id);
  // The figure is as wide as the drawing (its caption wraps under it) and shrinks with the window: a flex item
  // sized by content would otherwise collapse to the SVG's min-content width, which is 0 for `max-width: 100%`.
  const w = /^\s*(?:<\?xml[^?]*\?>\s*)?<svg\b[^>]*?\swidth="([0-9.]+)"/.exec(svg)?.[1];
  return tag("figure", { id: `fig-${id}`, class: "figure", style: w ? `width:${w}px` : undefined }, [
    inlineSvg(svg, `svg-${id}`, caption),
    tag("figcaption", {}, escapeHtml(caption)),
  ]);
}

/** A placeholder where a figure could not be made, with the reason (keeps the page's structure). */
export function missingFigure(id: string, title: string, reason: string): Html {
  checkId(id);
  return tag("figure", { id: `fig-${id}`, class: "figure missing" }, [
    tag("div", { class: "missing-box" }, escapeHtml(`${title}: not available — ${reason}`)),
  ]);
}

/** A cell that reads as a number ("12", "-3.5", "1500.6", "9.7 %"): right-aligned like numbers. */
const NUMERIC_TEXT = /^[-+−]?\d+(?:\.\d+)?(?: %)?$/;

/**
 * A table of plain-text cells; numbers (and text that is a formatted number) are right-aligned, printed as given
 * (format them first).
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
  o: { id?: string; caption?: string } = {},
): Html {
  const cell = (v: string | number | null, th = false) =>
    tag(
      th ? "th" : "td",
      !th && (typeof v === "number" || (typeof v === "string" && NUMERIC_TEXT.test(v)))
        ? { class: "num" }
        : {},
      escapeHtml(v === null ? "—" : String(v)),
    );
  return tag(
    "div",
    { class: "table-wrap" },
    tag("table", { id: o.id ? checkId(o.id) : undefined }, [
      o.caption ? tag("caption", {}, escapeHtml(o.caption)) : "",
      tag("thead", {}, tag("tr", {}, headers.map((h) => cell(h, true)))),
      tag("tbody", {}, rows.map((r) => tag("tr", {}, r.map((v) => cell(v))))),
    ]),
  );
}

/** Content folded under a one-line summary (`<details>`: opens without scripts). */
export function collapsible(summary: string, content: Html): Html {
  return tag("details", {}, [tag("summary", {}, escapeHtml(summary)), content]);
}

/** A two-column key/value table. */
export function keyValues(pairs: readonly (readonly [string, string | number | null])[], id?: string): Html {
  return tag(
    "div",
    { class: "table-wrap" },
    tag(
      "table",
      { class: "kv", id: id ? checkId(id) : undefined },
      tag(
        "tbody",
        {},
        pairs.map(([k, v]) =>
          tag("tr", {}, [
            tag("th", {}, escapeHtml(k)),
            tag("td", {}, escapeHtml(v === null ? "—" : String(v))),
          ])
        ),
      ),
    ),
  );
}

/** One report section. */
export interface Section {
  /** Element id (`section-<id>` in the page). */
  id: string;
  title: string;
  /** Plain-text lead paragraph. */
  intro?: string;
  body: Html[];
}

const CSS = `
:root{--fg:#1d2125;--muted:#5b6570;--line:#dde1e6;--accent:#1f5fa8;--bg:#fbfbfc}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header.top{padding:28px 40px 18px;background:#fff;border-bottom:1px solid var(--line)}
header.top h1{margin:0 0 4px;font-size:26px}
header.top p{margin:2px 0;color:var(--muted)}
nav.toc{position:sticky;top:0;z-index:1;padding:8px 40px;background:#fff;border-bottom:1px solid var(--line);font-size:13px}
nav.toc a{margin-right:14px;color:var(--accent);text-decoration:none;white-space:nowrap}
main{padding:8px 40px 40px;max-width:1500px}
section{margin:26px 0;padding:18px 22px;background:#fff;border:1px solid var(--line);border-radius:8px}
section h2{margin:0 0 6px;font-size:20px}
section p.intro{margin:4px 0 12px;color:var(--muted)}
.figures{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
figure.figure{margin:0;flex:0 1 auto;max-width:100%}
figure.figure svg.chart{display:block;width:100%;height:auto;border:1px solid #eef0f2;background:#fff}
figcaption{font-size:13px;color:var(--muted);margin-top:4px}
.missing-box{width:420px;max-width:100%;padding:40px 16px;border:1px dashed #b9c0c8;color:var(--muted);text-align:center}
p.note{margin:8px 0;padding:6px 10px;border-left:3px solid #e69f00;background:#fff8e8;font-size:13px}
.table-wrap{overflow-x:auto;margin:10px 0}
table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:#f3f5f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{font-weight:600;color:var(--muted);width:1%;white-space:nowrap}
details{margin:10px 0}
details>summary{cursor:pointer;color:var(--accent);font-size:13px}
footer{padding:16px 40px;color:var(--muted);font-size:12px}
@media print{nav.toc{display:none}section{break-inside:avoid}}
`;

/**
 * The complete page: header, table of contents, sections and footer. Contains no script, no external reference.
 * @param meta header lines (plain text)
 */
export function htmlDocument(
  title: string,
  meta: readonly string[],
  sections: readonly Section[],
  footer: string,
): Html {
  const toc = sections.map((s) => tag("a", { href: `#section-${checkId(s.id)}` }, escapeHtml(s.title)));
  const body = sections.map((s) =>
    tag("section", { id: `section-${s.id}` }, [
      tag("h2", {}, escapeHtml(s.title)),
      s.intro ? paragraph(s.intro, "intro") : "",
      ...s.body,
    ])
  );
  return "<!DOCTYPE html>\n" + tag("html", { lang: "en" }, [
    tag("head", {}, [
      `<meta charset="utf-8"/>`,
      `<meta name="viewport" content="width=device-width, initial-scale=1"/>`,
      tag("title", {}, escapeHtml(title)),
      tag("style", {}, CSS),
    ]),
    tag("body", {}, [
      tag("header", { class: "top" }, [tag("h1", {}, escapeHtml(title)), ...meta.map((m) => paragraph(m))]),
      tag("nav", { class: "toc" }, toc),
      tag("main", {}, body),
      tag("footer", {}, escapeHtml(footer)),
    ]),
  ]) + "\n";
}

/** A row of figures side by side (wrapping on narrow screens). */
export function figureRow(figures: readonly Html[]): Html {
  return tag("div", { class: "figures" }, figures);
}

/**
 * External references a self-contained page must not have: `src`/`href` values that are not `#fragments` or
 * `data:` URIs, `<script>`, `<link>`, `<iframe>`, `<object>`, `<embed>`, and `url(` / `@import` in CSS pointing
 * anywhere but a fragment. Returns each offending snippet (empty for a self-contained page).
 */
export function externalReferences(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/\s(?:src|href|xlink:href|srcset|action|poster)\s*=\s*"([^"]*)"/gi)) {
    if (!m[1].startsWith("#") && !m[1].startsWith("data:")) out.push(m[0].trim());
  }
  for (const m of html.matchAll(/<(script|link|iframe|object|embed|img|audio|video|source)\b[^>]*>/gi)) {
    out.push(m[0]);
  }
  for (const m of html.matchAll(/url\(\s*['"]?([^'")]*)/gi)) if (!m[1].startsWith("#")) out.push(m[0]);
  for (const m of html.matchAll(/@import[^;]*/gi)) out.push(m[0]);
  return out;
}
