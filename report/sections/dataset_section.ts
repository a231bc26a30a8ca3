/**
 * Report section "Dataset": the distribution of measured hardness, hardness against indentation load (log axis,
 * coloured by the number of elements in the alloy) and a summary table.
 * @module
 */
import { histogramPlot } from "../../plot/histogram.ts";
import { scatterPlot } from "../../plot/scatter.ts";
import { figure, figureRow, keyValues } from "../html.ts";
import { fmt, type ReportContext, sectionOf, type SectionResult } from "../report_context.ts";

/** Builds the dataset section. */
export function datasetSection(ctx: ReportContext): SectionResult {
  const { data } = ctx;
  const E = ctx.config.elements.length, n = data.n;
  const nElements: string[] = [];
  const present = new Set<string>();
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let j = 0; j < E; j++) {
      if (data.comp[i * E + j] > 0) k++, present.add(ctx.config.elements[j]);
    }
    nElements.push(k >= 6 ? "6+" : String(k));
  }
  let mean = 0;
  for (const v of data.hv) mean += v / n;
  const sorted = Float64Array.from(data.hv).sort();
  const median = sorted[Math.floor((n - 1) / 2)] / 2 + sorted[Math.ceil((n - 1) / 2)] / 2;
  const loads = new Set(Array.from(data.load, (v) => +v.toPrecision(6)));
  const hist = histogramPlot([{ name: "measured HV", values: data.hv }], {
    title: "Hardness distribution",
    subtitle: `${n} rows · mean ${fmt(mean)} HV · median ${fmt(median)} HV`,
    xLabel: "Vickers hardness (HV)",
    bins: 30,
    markers: [{ name: "mean", x: mean }, { name: "median", x: median, dash: "2 3" }],
  });
  const order = ["1", "2", "3", "4", "5", "6+"].filter((c) => nElements.includes(c));
  const scatter = scatterPlot(data.load, data.hv, {
    title: "Hardness against indentation load",
    subtitle: `${loads.size} distinct loads · log load axis`,
    xLabel: "indentation load (N, log scale)",
    yLabel: "Vickers hardness (HV)",
    xLog: true,
    // Hardness is positive: the axis starts at 0 rather than at a padded negative tick.
    yDomain: [0, sorted[n - 1] * 1.05],
    color: { kind: "category", values: nElements, label: "elements", order },
    pointTitles: data.formulas.map((f, i) =>
      `${f} · ${+data.load[i].toPrecision(4)} N · ${data.hv[i].toFixed(0)} HV`
    ),
  });
  const families = new Set(data.families);
  const body = [
    figureRow([
      figure(
        "hv-histogram",
        hist,
        "Measured Vickers hardness of every row, 30 bins; dashed lines: mean and median.",
      ),
      figure(
        "load-vs-hv",
        scatter,
        "Measured hardness against indentation load (log scale); colour: number of elements in the alloy. " +
          "Hover a point for its formula.",
      ),
    ]),
    keyValues([
      ["file", data.file],
      ["SHA-256", data.sha256],
      ["rows", n],
      ["alloy families (same element set)", families.size],
      ["elements present", `${present.size} of ${E} model inputs`],
      ["load range (N)", `${fmt(Math.min(...data.load), 3)} – ${fmt(Math.max(...data.load), 2)}`],
      ["HV range", `${fmt(sorted[0], 0)} – ${fmt(sorted[n - 1], 0)}`],
    ], "dataset-summary"),
  ];
  return {
    section: sectionOf(
      "dataset",
      "Dataset",
      "The measured hardness the model was trained and is evaluated on.",
      body,
    ),
    numbers: { rows: n, families: families.size, hv_mean: mean, hv_median: median },
  };
}
