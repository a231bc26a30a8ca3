/**
 * The report's plot modules (colour scales, histogram, horizontal bars, heatmaps, scatter, calibration plots): every
 * SVG is strictly well-formed XML, and marks sit where a hand computation from the data and the drawn tick labels
 * says (tick labels give the data → pixel map the test inverts; counts, bar lengths and colours are computed here by
 * hand).
 */
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { colorScale, DIVERGING, finiteExtent, interpolateColor, VIRIDIS } from "../../plot/color_scale.ts";
import { binnedHistogramPlot, histogramCounts, histogramEdges } from "../../plot/histogram.ts";
import { hbarChart } from "../../plot/hbar_chart.ts";
import { fieldHeatmap, matrixHeatmap } from "../../plot/heatmap.ts";
import { logTicks, scatterPlot } from "../../plot/scatter.ts";
import { coveragePlot, pitHistogramPlot, sharpnessPlot } from "../../plot/calibration_plot.ts";
import { all, attrNum, byClass, byName, parseXml, textOf, type XmlElement } from "./_xml.ts";

/** Pixel ↔ value map of an axis from its numeric tick labels (least squares through the label positions). */
function axisFromTicks(
  ticks: { at: number; value: number }[],
): { px: (v: number) => number; value: (p: number) => number } {
  assertTrue(ticks.length >= 2, "at least two tick labels");
  const n = ticks.length;
  const mv = ticks.reduce((a, t) => a + t.value, 0) / n, mp = ticks.reduce((a, t) => a + t.at, 0) / n;
  let sxy = 0, sxx = 0;
  for (const t of ticks) sxy += (t.value - mv) * (t.at - mp), sxx += (t.value - mv) ** 2;
  const k = sxy / sxx, b = mp - k * mv;
  for (const t of ticks) assertNear(t.at, k * t.value + b, 0.02, `tick ${t.value} on a linear axis`);
  return { px: (v) => k * v + b, value: (p) => (p - b) / k };
}

/** X and Y axes from the `tick-labels` group of `axes()` (x labels are centred, y labels right-aligned). */
function plotAxes(root: XmlElement) {
  const labels = byName(byClass(root, "tick-labels")[0], "text");
  const num = (e: XmlElement) => Number(textOf(e).replace("−", "-"));
  const xs = labels.filter((e) => e.attrs["text-anchor"] === "middle" && Number.isFinite(num(e)));
  const ys = labels.filter((e) => e.attrs["text-anchor"] === "end" && Number.isFinite(num(e)));
  return {
    x: axisFromTicks(xs.map((e) => ({ at: attrNum(e, "x"), value: num(e) }))),
    // y label baselines sit 4 px below the tick.
    y: axisFromTicks(ys.map((e) => ({ at: attrNum(e, "y") - 4, value: num(e) }))),
  };
}

Deno.test("color scale: interpolation, clamping, domains and extents by hand", () => {
  assertEquals(interpolateColor(["#000000", "#ffffff"], 0.5), "#808080");
  assertEquals(interpolateColor(["#000000", "#ffffff"], -3), "#000000", "clamped below");
  assertEquals(interpolateColor(["#000000", "#ffffff"], 7), "#ffffff", "clamped above");
  assertEquals(
    interpolateColor(["#000000", "#ff0000", "#ffffff"], 0.75),
    "#ff8080",
    "second segment, halfway",
  );
  assertEquals(colorScale([0, 2], ["#000000", "#ff0000"])(1), "#800000");
  assertEquals(colorScale([3, 3], ["#000000", "#ffffff"])(99), "#808080", "zero-width domain → middle");
  assertEquals(interpolateColor(VIRIDIS, 0), VIRIDIS[0]);
  assertEquals(interpolateColor(VIRIDIS, 1), VIRIDIS[VIRIDIS.length - 1]);
  assertEquals(finiteExtent([NaN, 3, -1, Infinity, 2]), [-1, 3]);
  let threw = false;
  try {
    finiteExtent([NaN]);
  } catch {
    threw = true;
  }
  assertTrue(threw, "no finite value throws");
});

Deno.test("histogram: counts by hand, bars proportional and on the bins of the axis", () => {
  const edges = [0, 1, 2, 3];
  // 3 is the top edge: it falls in the last bin; −1 and NaN are ignored.
  assertEquals(histogramCounts([0.5, 1.5, 1.5, 2.5, 2.5, 2.5, 3, -1, NaN], edges), [1, 2, 4]);
  const e = histogramEdges([0.2, 9.7], 10);
  assertTrue(e[0] <= 0.2 && e[e.length - 1] >= 9.7, `edges ${e} cover the data`);
  const svg = binnedHistogramPlot(edges, [{ name: "n", counts: [1, 2, 4] }], {
    xLabel: "v",
    title: "T & <x>",
  });
  const root = parseXml(svg);
  assertEquals(byClass(root, "title").map(textOf), ["T & <x>"], "escaped title round-trips");
  const ax = plotAxes(root);
  const bars = byName(byClass(root, "bars")[0], "rect");
  assertEquals(bars.length, 3);
  bars.forEach((b, k) => {
    assertNear(ax.x.value(attrNum(b, "x") - 0.5), edges[k], 1e-3, `bar ${k} starts at its left edge`);
    assertNear(
      ax.x.value(attrNum(b, "x") + attrNum(b, "width") + 0.5),
      edges[k + 1],
      1e-3,
      `bar ${k} right edge`,
    );
    assertNear(ax.y.value(attrNum(b, "y")), [1, 2, 4][k], 1e-3, `bar ${k} top at its count`);
    assertNear(ax.y.value(attrNum(b, "y") + attrNum(b, "height")), 0, 1e-3, `bar ${k} bottom at 0`);
  });
});

Deno.test("hbar chart: bar lengths and the zero line follow the values", () => {
  const svg = hbarChart(["a", "b", "c"], [2, -1, 0.5], { xLabel: "v", errors: [0.5, 0, 0], decimals: 2 });
  const root = parseXml(svg);
  const labels = byName(byClass(root, "labels")[0], "text");
  const ticks = labels.filter((e) => e.attrs["text-anchor"] === "middle").map((e) => ({
    at: attrNum(e, "x"),
    value: Number(textOf(e)),
  }));
  const ax = axisFromTicks(ticks);
  const zero = byClass(root, "zero")[0];
  assertNear(attrNum(zero, "x1"), ax.px(0), 1e-6, "zero line at 0");
  const bars = byName(byClass(root, "bars")[0], "rect");
  const span = (
    b: XmlElement,
  ) => [ax.value(attrNum(b, "x")), ax.value(attrNum(b, "x") + attrNum(b, "width"))];
  assertEquals(span(bars[0]).map((v) => +v.toFixed(6)), [0, 2]);
  assertEquals(span(bars[1]).map((v) => +v.toFixed(6)), [-1, 0]);
  assertEquals(span(bars[2]).map((v) => +v.toFixed(6)), [0, 0.5]);
  assertTrue(bars[0].attrs.fill !== bars[1].attrs.fill, "negative bars have their own colour");
  assertTrue(attrNum(bars[0], "y") < attrNum(bars[1], "y"), "items top to bottom in order");
  const wh = byName(byClass(root, "whiskers")[0], "line");
  assertEquals(wh.length, 1, "one whisker (the others are 0)");
  assertNear(ax.value(attrNum(wh[0], "x1")), 1.5, 1e-6);
  assertNear(ax.value(attrNum(wh[0], "x2")), 2.5, 1e-6);
  const printed = labels.map(textOf);
  for (const s of ["2.00", "-1.00", "0.50"]) assertTrue(printed.includes(s), `value ${s} printed`);
  const tiny = parseXml(hbarChart(["z"], [-1e-9], { xLabel: "v", decimals: 1 }));
  const valueLabel = byName(byClass(tiny, "labels")[0], "text").filter((e) => e.attrs["font-size"] === "10");
  assertEquals(valueLabel.map(textOf), ["0.0"], "a value that rounds to zero prints as 0.0, not −0.0");
});

Deno.test("matrix heatmap: cell colours and positions by hand; symmetric scale centred on 0", () => {
  const root = parseXml(matrixHeatmap(["r0", "r1"], ["c0", "c1"], [0, 1, 2, 3], {
    xLabel: "c",
    yLabel: "r",
    colorLabel: "v",
    cellDecimals: 0,
  }));
  const cells = byName(byClass(root, "cells")[0], "rect");
  assertEquals(cells.length, 4);
  cells.forEach((c, k) => assertEquals(c.attrs.fill, interpolateColor(VIRIDIS, k / 3), `cell ${k} colour`));
  assertEquals(attrNum(cells[0], "y"), attrNum(cells[1], "y"), "row 0 cells share y");
  assertEquals(attrNum(cells[0], "x"), attrNum(cells[2], "x"), "column 0 cells share x");
  assertTrue(attrNum(cells[2], "y") > attrNum(cells[0], "y"), "row 1 below row 0");
  assertTrue(attrNum(cells[1], "x") > attrNum(cells[0], "x"), "column 1 right of column 0");
  assertEquals(textOf(byName(cells[3], "title")[0]), "r1 · c1: 3");
  const sym = parseXml(matrixHeatmap(["a"], ["x", "y", "z"], [-2, 1, NaN], {
    xLabel: "",
    yLabel: "",
    colorLabel: "v",
    symmetric: true,
  }));
  const sc = byName(byClass(sym, "cells")[0], "rect");
  assertEquals(sc[0].attrs.fill, interpolateColor(DIVERGING, 0), "−2 is the low end of ±2");
  assertEquals(sc[1].attrs.fill, interpolateColor(DIVERGING, 0.75), "1 is three quarters up ±2");
  assertEquals(sc[2].attrs.fill, "#cccccc", "non-finite cells are grey");
});

Deno.test("field heatmap: grid row 0 at the bottom, overlays on the axes", () => {
  const root = parseXml(fieldHeatmap(
    { nx: 2, ny: 2, xRange: [0, 2], yRange: [0, 2], values: [0, 1, 2, 3] },
    {
      xLabel: "x",
      yLabel: "y",
      colorLabel: "v",
      overlays: [{ name: "pts", x: [0.5, 1.5, 9], y: [1.5, 0.5, 9], shape: "circle" }],
    },
  ));
  const ax = plotAxes(root);
  const cells = byName(byClass(root, "cells")[0], "rect");
  // values[iy·nx + ix]: cell 2 is (ix 0, iy 1) — the upper left one.
  assertNear(ax.x.value(attrNum(cells[2], "x")), 0, 1e-6);
  assertNear(ax.y.value(attrNum(cells[2], "y")), 2, 1e-6, "top of the upper row at y = 2");
  assertNear(ax.y.value(attrNum(cells[0], "y")), 1, 1e-6, "top of the lower row at y = 1");
  assertEquals(cells[3].attrs.fill, interpolateColor(VIRIDIS, 1));
  const dots = byName(byClass(root, "overlay")[0], "circle");
  assertEquals(dots.length, 2, "the point outside the grid is not drawn");
  assertNear(ax.x.value(attrNum(dots[0], "cx")), 0.5, 1e-6);
  assertNear(ax.y.value(attrNum(dots[0], "cy")), 1.5, 1e-6);
});

Deno.test("scatter: points, log axis, identity line, intervals and overlays where the data put them", () => {
  assertEquals(logTicks(0.3, 20), [0.5, 1, 2, 5, 10, 20]);
  const x = [1, 2, 3, 4], y = [10, 25, 20, 40];
  const root = parseXml(scatterPlot(x, y, {
    xLabel: "x",
    yLabel: "y",
    color: { kind: "value", values: [0, 1, 2, 3], label: "c" },
    pointTitles: ["a<b", "b", "c", "d"],
    overlays: [{ name: "cand", x: [2.5], y: [30], shape: "star", labels: ["1"] }],
  }));
  const ax = plotAxes(root);
  const pts = byName(byClass(root, "points")[0], "circle");
  assertEquals(pts.length, 4);
  pts.forEach((p, i) => {
    assertNear(ax.x.value(attrNum(p, "cx")), x[i], 1e-3, `point ${i} x`);
    assertNear(ax.y.value(attrNum(p, "cy")), y[i], 0.01, `point ${i} y`);
    assertEquals(p.attrs.fill, interpolateColor(VIRIDIS, i / 3), `point ${i} colour`);
  });
  assertEquals(textOf(byName(pts[0], "title")[0]), "a<b");
  const ov = all(root, (e) => e.attrs.class === "overlay" && e.attrs["data-name"] === "cand");
  assertEquals(ov.length, 1);
  assertEquals(byName(ov[0], "text").map(textOf), ["1"], "overlay label drawn");

  // Identity: square shared domain, the line from corner to corner of the data domain.
  const id = parseXml(scatterPlot([100, 200, 300], [120, 180, 330], {
    xLabel: "m",
    yLabel: "p",
    identity: true,
    intervals: [{ name: "iv", lo: [90, 150, 300], hi: [150, 210, 900] }],
  }));
  const ia = plotAxes(id);
  const ln = byClass(id, "identity")[0];
  // (SVG coordinates are written with 2 decimals: ±0.005 px ≈ ±0.003 data units here.)
  assertNear(ia.x.value(attrNum(ln, "x1")), ia.y.value(attrNum(ln, "y1")), 0.01, "identity starts on y = x");
  assertNear(ia.x.value(attrNum(ln, "x2")), ia.y.value(attrNum(ln, "y2")), 0.01, "identity ends on y = x");
  const bars = byName(byClass(id, "intervals")[0], "line");
  assertEquals(bars.length, 3);
  const ends = [attrNum(bars[0], "y1"), attrNum(bars[0], "y2")].map(ia.y.value).sort((a, b) => a - b);
  assertNear(ends[0], 90, 0.01, "interval low end");
  assertNear(ends[1], 150, 0.01, "interval high end");

  // Log axis: equal ratios are equal distances.
  const lg = parseXml(scatterPlot([0.1, 1, 10], [1, 2, 3], { xLabel: "load", yLabel: "y", xLog: true }));
  const lp = byName(byClass(lg, "points")[0], "circle").map((p) => attrNum(p, "cx"));
  assertNear(lp[1] - lp[0], lp[2] - lp[1], 1e-6, "decades equally spaced");
});

Deno.test("scatter: overlapping overlay labels are left out, markers kept; non-negative data, no negative axis", () => {
  // Markers 1 and 2 coincide, 3 is far away: labels "1" and "3" are drawn, "2" would overlap "1".
  const root = parseXml(scatterPlot([0, 10], [0, 10], {
    xLabel: "x",
    yLabel: "y",
    overlays: [{ name: "cand", x: [5, 5, 9], y: [5, 5, 1], shape: "star", labels: ["1", "2", "3"] }],
  }));
  const ov = all(root, (e) => e.attrs.class === "overlay")[0];
  assertEquals(byName(ov, "path").length, 3, "every marker drawn");
  assertEquals(byName(ov, "text").map(textOf), ["1", "3"], "the overlapping label left out");
  assertEquals(
    byName(ov, "path").map((p) => textOf(byName(p, "title")[0])),
    ["cand 1", "cand 2", "cand 3"],
    "every marker keeps its label as a tooltip",
  );
  // Hardness from 85 to 2290: the 4 % padding would reach below 0; the axis stops at 0 instead.
  const hv = parseXml(scatterPlot([85, 1000, 2290], [85, 1200, 2290], { xLabel: "m", yLabel: "p" }));
  const ax = plotAxes(hv);
  const ticks = byName(byClass(hv, "tick-labels")[0], "text").map((e) => Number(textOf(e)));
  assertTrue(ticks.every((v) => !(v < 0)), `no negative tick: ${ticks}`);
  assertNear(ax.x.value(66), 0, 1e-6, "x axis starts at 0 (left edge of the plot area)");
});

Deno.test("calibration plots: uniform PIT on the reference line, coverage points on the axes", () => {
  const pit = parseXml(pitHistogramPlot([0, 0.5, 1], [5, 5], { title: "PIT" }));
  const ref = byClass(pit, "reference")[0];
  for (const b of byName(byClass(pit, "bars")[0], "rect")) {
    assertNear(attrNum(b, "y"), attrNum(ref, "y1"), 1e-6, "density 1 bars reach the uniform line");
  }
  const pa = plotAxes(pit);
  assertNear(pa.y.value(attrNum(ref, "y1")), 1, 1e-6, "reference line at density 1");
  const cov = parseXml(
    coveragePlot([{ name: "mc", levels: [0.9, 0.5], coverage: [0.6, 0.3] }], { title: "C" }),
  );
  const ca = plotAxes(cov);
  const dots = byName(all(cov, (e) => e.attrs.class === "coverage")[0], "circle");
  // Points are drawn in level order.
  assertNear(ca.x.value(attrNum(dots[0], "cx")), 0.5, 1e-6);
  assertNear(ca.y.value(attrNum(dots[0], "cy")), 0.3, 1e-6);
  assertNear(ca.x.value(attrNum(dots[1], "cx")), 0.9, 1e-6);
  assertNear(ca.y.value(attrNum(dots[1], "cy")), 0.6, 1e-6);
  const id = byClass(cov, "identity")[0];
  assertNear(ca.x.value(attrNum(id, "x2")), 1, 1e-6);
  assertNear(ca.y.value(attrNum(id, "y2")), 1, 1e-6);
  const sh = parseXml(sharpnessPlot([10, 20, 30], { references: [{ name: "RMSE", x: 25 }] }));
  const sa = plotAxes(sh);
  const mk = byClass(sh, "marker");
  assertTrue(mk.length >= 1, "reference marker drawn");
  assertTrue(mk.some((m) => Math.abs(sa.x.value(attrNum(m, "x1")) - 25) < 1e-6), "marker at x = 25");
});
