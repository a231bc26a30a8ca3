/**
 * The line plot and the bar chart: well-formed SVG (balanced tags, quoted attributes), data mapped to the exact pixel
 * positions of the plot area, polylines broken at non-finite points, histogram steps over bin edges, the reference
 * line, legend and escaping, grouped bars with heights proportional to the values, thinned and turned category
 * labels, and RangeErrors for bad input.
 */
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { linePlot } from "../../plot/line_plot.ts";
import { barChart } from "../../plot/bar_chart.ts";

interface Tag {
  name: string;
  attrs: Record<string, string>;
  /** Names of the enclosing elements, outermost first. */
  path: string[];
  /** Index of the parent element in the list (−1 for the root). */
  parent: number;
}

/** Every element of an SVG document, checking that tags balance and attributes are double-quoted and unique. */
function elements(svg: string): Tag[] {
  assertTrue(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg '), "XML declaration and svg root");
  const out: Tag[] = [], stack: string[] = [], open: number[] = [];
  const body = svg.replace(/^<\?xml[^>]*\?>/, "");
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      assertEquals(stack.pop(), name, `closing </${name}>`);
      open.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:.-]+)="([^"]*)"/g)) {
      assertTrue(!(a[1] in attrs), `duplicate attribute ${a[1]}`);
      attrs[a[1]] = a[2];
    }
    out.push({ name, attrs, path: [...stack], parent: open.at(-1) ?? -1 });
    if (!selfClose) stack.push(name), open.push(out.length - 1);
  }
  assertEquals(stack, [], "every element closed");
  // Nothing but tags, text and whitespace: no stray '<' or bare '&'.
  const text = body.replace(/<[^>]*>/g, "");
  assertTrue(!text.includes("<") && !/&(?!(amp|lt|gt|quot|#39);)/.test(text), "text is escaped");
  return out;
}

/** Numbers of a path's `d`, grouped per command letter. */
function commands(d: string): [string, number, number][] {
  return [...d.matchAll(/([ML])(-?[\d.]+) (-?[\d.]+)/g)].map((m) => [m[1], +m[2], +m[3]]);
}

// Plot area of a 640 × 420 figure without a title: left 64, top 16, 560 wide, 354 high.
const X = (v: number, lo = 0, hi = 10) => 64 + (v - lo) / (hi - lo) * 560;
const Y = (v: number, lo = 0, hi = 2) => 370 - (v - lo) / (hi - lo) * 354;

Deno.test("line plot: points at their pixels, breaks at NaN, steps over bins, reference line, legend", () => {
  const svg = linePlot([
    { name: "g(r)", x: [0, 5, 10], y: [0, 2, 1] },
    { name: "B–B <a&b>", x: [1, 2, 3, 4], y: [1, NaN, 0.5, 1.5] },
    { name: "hist", x: [1, 2, 3], y: [0.2, 0.4, 0.6], step: true },
  ], { xLabel: "r (Å)", yLabel: "g(r)", xDomain: [0, 10], yDomain: [0, 2], hline: 1 });
  const els = elements(svg);
  const paths = els.filter((e) => e.name === "path");
  assertEquals(paths.length, 3);
  const near = (got: [string, number, number][], want: [string, number, number][]) => {
    assertEquals(got.map((c) => c[0]), want.map((c) => c[0]));
    got.forEach((c, k) => {
      assertNear(c[1], want[k][1], 0.006, `x of command ${k}`);
      assertNear(c[2], want[k][2], 0.006, `y of command ${k}`);
    });
  };
  near(commands(paths[0].attrs.d), [["M", X(0), Y(0)], ["L", X(5), Y(2)], ["L", X(10), Y(1)]]);
  // NaN lifts the pen: a second M.
  near(commands(paths[1].attrs.d), [["M", X(1), Y(1)], ["M", X(3), Y(0.5)], ["L", X(4), Y(1.5)]]);
  // Steps: each value spans its bin [x − ½, x + ½].
  near(commands(paths[2].attrs.d), [
    ["M", X(0.5), Y(0.2)],
    ["L", X(1.5), Y(0.2)],
    ["L", X(1.5), Y(0.4)],
    ["L", X(2.5), Y(0.4)],
    ["L", X(2.5), Y(0.6)],
    ["L", X(3.5), Y(0.6)],
  ]);
  const ref = els.find((e) => e.attrs.class === "reference")!;
  assertNear(+ref.attrs.y1, Y(1), 0.006);
  assertEquals([+ref.attrs.x1, +ref.attrs.x2], [64, 624]);
  // Default colours differ; the legend names every series, escaped.
  assertEquals(new Set(paths.map((p) => p.attrs.stroke)).size, 3);
  assertTrue(els.some((e) => e.attrs.class === "legend"));
  assertTrue(svg.includes("B–B &lt;a&amp;b&gt;"));
  // One series: no legend; a title moves the area down.
  const one = elements(
    linePlot([{ name: "g", x: [0, 1], y: [0, 1] }], { xLabel: "x", yLabel: "y", title: "T" }),
  );
  assertTrue(!one.some((e) => e.attrs.class === "legend"));
  assertTrue(one.some((e) => e.name === "title"));
});

Deno.test("line plot: automatic domains cover the data and 0", () => {
  const svg = linePlot([{ name: "a", x: [2, 7.3], y: [0.5, 3.2] }], { xLabel: "x", yLabel: "y" });
  const [, x0, y0] = commands(elements(svg).find((e) => e.name === "path")!.attrs.d)[0];
  // x ticks widen [2, 7.3] to whole steps, y starts at 0: every point lies inside the area.
  assertTrue(x0 >= 64 && x0 <= 624 && y0 >= 16 && y0 <= 370, `${x0}, ${y0}`);
  const labels = elements(svg).filter((e) => e.path.includes("g") && e.name === "text");
  assertTrue(labels.length > 4);
});

Deno.test("line plot: bad input is a RangeError", () => {
  const throws = (fn: () => unknown, part: string) => {
    try {
      fn();
    } catch (e) {
      assertTrue(e instanceof RangeError && e.message.includes(part), String(e));
      return;
    }
    throw new Error(`expected a RangeError with ${part}`);
  };
  throws(() => linePlot([], { xLabel: "x", yLabel: "y" }), "no series");
  throws(
    () => linePlot([{ name: "s", x: [1, 2], y: [1] }], { xLabel: "x", yLabel: "y" }),
    "'s' has 2 x but 1 y",
  );
  throws(() => linePlot([{ name: "s", x: [NaN], y: [1] }], { xLabel: "x", yLabel: "y" }), "no finite point");
  throws(() => barChart([], [{ name: "s", values: [] }], { xLabel: "x", yLabel: "y" }), "no categories");
  throws(
    () => barChart(["a"], [{ name: "s", values: [1, 2] }], { xLabel: "x", yLabel: "y" }),
    "2 values for 1",
  );
  throws(
    () => barChart(["a"], [{ name: "s", values: [-1] }], { xLabel: "x", yLabel: "y" }),
    "value -1 at 'a'",
  );
});

Deno.test("bar chart: heights proportional to values, grouped series side by side, labels thinned or turned", () => {
  const svg = barChart(["8", "9", "10"], [
    { name: "all", values: [1, 2, 0] },
    { name: "B", values: [0.5, 1, 3] },
  ], { xLabel: "CN", yLabel: "count" });
  const els = elements(svg);
  const groups = els.flatMap((e, i) => (e.name === "g" && e.attrs.class === "bars" ? [i] : []));
  assertEquals(groups.length, 2);
  const [all, b] = groups.map((g) => els.filter((e) => e.name === "rect" && e.parent === g));
  assertEquals([all.length, b.length], [2, 3], "zero values draw no bar");
  const bottom = +all[0].attrs.y + +all[0].attrs.height;
  for (const r of [...all, ...b]) assertNear(+r.attrs.y + +r.attrs.height, bottom, 0.02, "bars stand on 0");
  assertNear(+all[1].attrs.height / +all[0].attrs.height, 2, 1e-3);
  assertNear(+b[2].attrs.height / +b[0].attrs.height, 6, 1e-3);
  // Within a category the first series is left of the second, and categories run left to right.
  assertTrue(+all[0].attrs.x < +b[0].attrs.x && +b[0].attrs.x < +all[1].attrs.x);
  assertTrue(els.some((e) => e.attrs.class === "legend"));

  // 181 one-degree categories: labels thinned.
  const many = elements(barChart(
    Array.from({ length: 181 }, (_, k) => String(k)),
    [{ name: "a", values: Array.from({ length: 181 }, (_, k) => k) }],
    { xLabel: "x", yLabel: "y" },
  ));
  const labelCount =
    many.filter((e) => e.path.at(-1) === "g" && e.name === "text" && !("transform" in e.attrs))
      .length;
  assertTrue(labelCount < 60, `${labelCount} labels`);
  // Long labels are turned.
  const long = barChart(Array.from({ length: 10 }, (_, k) => `<0,2,8,${k}>`), [
    { name: "a", values: Array(10).fill(1) },
  ], { xLabel: "x", yLabel: "y" });
  assertTrue(/transform="rotate\(-40 /.test(long));
  assertTrue(long.includes("&lt;0,2,8,3&gt;"));
});
