/**
 * The SVG builder and the parity plot: well-formed XML (checked by a small strict tokenizer), escaping of titles
 * and attributes, the identity line through the plot's corners, points and error bars where the data put them, and
 * the metrics in the title.
 */
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { el, escapeXml, linearScale, niceTicks, text } from "../../plot/svg.ts";
import { parityPlot } from "../../plot/parity.ts";
import { all, byClass, parseXml, type XmlElement } from "./_xml.ts";

const n = (e: XmlElement, a: string) => Number(e.attrs[a]);

Deno.test("svg: escaping, attributes, ticks and scales", () => {
  assertEquals(escapeXml(`a < b & "c" 'd' >`), "a &lt; b &amp; &quot;c&quot; &#39;d&#39; &gt;");
  assertEquals(
    escapeXml("x\u0000y\u0007z\u{1F600}"),
    "xyz\u{1F600}",
    "control characters dropped, astral kept",
  );
  assertEquals(
    el("g", { class: "a&b", hidden: false, x: -0.004, y: 1.005, z: true }),
    `<g class="a&amp;b" x="0" y="1" z=""/>`,
  );
  assertEquals(text(1, 2, "<b>"), `<text x="1" y="2">&lt;b&gt;</text>`);
  let threw = false;
  try {
    el("g", { 'x" onload="alert(1)': 1 });
  } catch {
    threw = true;
  }
  assertTrue(threw, "attribute names are checked");
  const t = niceTicks(183, 1270, 6);
  assertEquals([t.step, t.lo, t.hi, t.decimals], [200, 0, 1400, 0]);
  assertEquals(t.values, [0, 200, 400, 600, 800, 1000, 1200, 1400]);
  assertEquals(niceTicks(0.12, 0.57, 5).values, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
  assertEquals(niceTicks(5, 5).values.length > 1, true, "a zero-width range still gets ticks");
  const s = linearScale([0, 10], [100, 0]);
  assertEquals([s(0), s(5), s(10)], [100, 50, 0]);
});

Deno.test("parity plot: well-formed SVG with the identity line, points, error bars and metrics in the title", () => {
  const measured = [200, 450, 800, 1000, 1250];
  const predicted = [260, 450, 700, 1100, 1200];
  const std = [30, 0, 50, 20, 40];
  const svg = parityPlot(measured, predicted, std, { title: `GP <test> & "quotes"` });
  const root = parseXml(svg);
  assertEquals(root.name, "svg");
  assertEquals(root.attrs.xmlns, "http://www.w3.org/2000/svg");
  // Title: escaped in the source, intact after parsing; RMSE and R² by hand.
  assertTrue(svg.includes("GP &lt;test&gt; &amp; &quot;quotes&quot;"));
  assertTrue(!svg.includes("<test>"));
  const [title] = byClass(root, "title");
  assertEquals(title.text, `GP <test> & "quotes"`);
  const sse = measured.reduce((s, y, i) => s + (y - predicted[i]) ** 2, 0);
  const mean = measured.reduce((a, b) => a + b, 0) / 5;
  const sst = measured.reduce((s, y) => s + (y - mean) ** 2, 0);
  const [sub] = byClass(root, "subtitle");
  assertTrue(sub.text.includes(`RMSE ${Math.sqrt(sse / 5).toFixed(1)} HV`), sub.text);
  assertTrue(sub.text.includes(`R² ${(1 - sse / sst).toFixed(3)}`), sub.text);
  assertTrue(sub.text.includes("n = 5"), sub.text);
  assertEquals(all(root, (e) => e.name === "title").length, 1, "one <title> for accessibility");

  // The identity line runs corner to corner of the square plot area, from bottom-left to top-right.
  const [idl] = byClass(root, "identity");
  assertEquals(idl.name, "line");
  const area = all(root, (e) => e.name === "rect" && e.attrs.fill === "none")[0];
  const [x0, y0, w, h] = ["x", "y", "width", "height"].map((a) => n(area, a));
  assertEquals(w, h, "square axes");
  assertNear(n(idl, "x1"), x0, 0.01);
  assertNear(n(idl, "y1"), y0 + h, 0.01);
  assertNear(n(idl, "x2"), x0 + w, 0.01);
  assertNear(n(idl, "y2"), y0, 0.01);

  // Points: a point with measured = predicted lies on the identity line; all inside the plot area.
  const dots = all(byClass(root, "points")[0], (e) => e.name === "circle");
  assertEquals(dots.length, 5);
  const onLine = (cx: number, cy: number) =>
    n(idl, "y1") + (cx - n(idl, "x1")) * (n(idl, "y2") - n(idl, "y1")) / (n(idl, "x2") - n(idl, "x1")) - cy;
  assertNear(onLine(n(dots[1], "cx"), n(dots[1], "cy")), 0, 0.02, "exact point on the identity line");
  assertTrue(onLine(n(dots[0], "cx"), n(dots[0], "cy")) > 1, "an over-prediction lies above the line");
  for (const d of dots) {
    assertTrue(n(d, "cx") >= x0 && n(d, "cx") <= x0 + w && n(d, "cy") >= y0 && n(d, "cy") <= y0 + h);
  }
  // Error bars: one per σ > 0, vertical through the point, ±1.645σ long (in the axis scale).
  const bars = all(byClass(root, "error-bars")[0], (e) => e.name === "line");
  assertEquals(bars.length, 4);
  const pxPerHv = (n(dots[4], "cx") - n(dots[0], "cx")) / (measured[4] - measured[0]);
  [0, 2, 3, 4].forEach((k, b) => {
    const bar = bars[b];
    assertNear(n(bar, "x1"), n(dots[k], "cx"), 0.01);
    assertNear(n(bar, "x2"), n(dots[k], "cx"), 0.01);
    assertNear((n(bar, "y1") + n(bar, "y2")) / 2, n(dots[k], "cy"), 0.02, "centred on the point");
    assertNear(Math.abs(n(bar, "y1") - n(bar, "y2")), 2 * 1.645 * std[k] * pxPerHv, 0.03, `bar ${k} length`);
  });
  // Axis labels and tick labels.
  assertTrue(byClass(root, "x-label")[0].text.startsWith("Measured"));
  assertTrue(byClass(root, "y-label")[0].text.startsWith("Predicted"));
  assertTrue(all(byClass(root, "tick-labels")[0], (e) => e.name === "text").length >= 6);
});

Deno.test("parity plot: no σ → no error bars; bad input is a RangeError", () => {
  const svg = parityPlot([1, 2, 3], [1.5, 2, 2.5]);
  const root = parseXml(svg);
  assertEquals(byClass(root, "error-bars").length, 0);
  assertEquals(byClass(root, "title").length, 0);
  for (
    const f of [() => parityPlot([], []), () => parityPlot([1], [1, 2]), () => parityPlot([1, NaN], [1, 2])]
  ) {
    let ok = false;
    try {
      f();
    } catch (e) {
      ok = e instanceof RangeError;
    }
    assertTrue(ok, "expected a RangeError");
  }
  // The checker itself rejects malformed markup (so the tests above can fail).
  for (
    const bad of [
      `<svg><g></svg>`,
      `<svg a="1&b"/>`,
      `<svg>a < b</svg>`,
      `<svg a="1" a="2"/>`,
      `<svg/><svg/>`,
    ]
  ) {
    let threw = false;
    try {
      parseXml(bad);
    } catch {
      threw = true;
    }
    assertTrue(threw, bad);
  }
});
