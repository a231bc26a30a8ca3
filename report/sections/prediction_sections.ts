/**
 * Report sections "Parity" and "Calibration". Both prefer the honest numbers a training run stored — the held-out
 * (holdout test or out-of-fold) predictions of predictions.csv with their per-member conformal intervals, and the
 * PIT histogram / raw MC coverage of metrics.json — and fall back to an in-sample MC-dropout prediction of the
 * dataset (clearly labelled) for a directory without them, e.g. an imported model.
 * @module
 */
import { regressionMetrics } from "../../nn/metrics/regression.ts";
import { gaussianCalibration, sampleCalibration } from "../../nn/metrics/calibration.ts";
import { conformalInterval } from "../../nn/metrics/conformal.ts";
import { scatterPlot } from "../../plot/scatter.ts";
import {
  coveragePlot,
  type CoverageSeries,
  pitHistogramPlot,
  sharpnessPlot,
} from "../../plot/calibration_plot.ts";
import { figure, figureRow, note, table } from "../html.ts";
import { fmt, type ReportContext, sectionOf, type SectionResult } from "../report_context.ts";
import { spreadPitHistogram } from "../../nn/metrics/pit_spread.ts";

const Z90 = 1.6448536269514722;

/** The rows the parity and calibration figures use, and how honest they are. */
interface EvalRows {
  rows: number[];
  measured: Float64Array;
  mean: Float64Array;
  std: Float64Array | null;
  lo90: Float64Array | null;
  hi90: Float64Array | null;
  heldOut: boolean;
  label: string;
}

function protocolOf(ctx: ReportContext): string {
  const p = ctx.artifacts.metrics?.protocol ?? (ctx.config.options as Record<string, unknown>).protocol;
  return typeof p === "string" ? p : "unknown";
}

function evalRows(ctx: ReportContext): EvalRows {
  // predictions.csv rows are data-file rows; keep those in the (possibly subsampled) dataset, as positions.
  const pos = new Map(Array.from(ctx.data.rowIds, (id, i) => [id, i]));
  const sameData = !ctx.config.data || ctx.config.data.sha256 === ctx.data.sha256;
  const p = !sameData
    ? null
    : ctx.artifacts.predictions?.filter((r) => pos.has(r.row)).map((r) => ({ ...r, row: pos.get(r.row)! }));
  if (p && p.length > 0) {
    const protocol = protocolOf(ctx);
    const hasStd = p.every((r) => r.hvStd !== null),
      hasCi = p.every((r) => r.lo90 !== null && r.hi90 !== null);
    return {
      rows: p.map((r) => r.row),
      measured: Float64Array.from(p, (r) => r.hvTrue),
      mean: Float64Array.from(p, (r) => r.hvMean),
      std: hasStd ? Float64Array.from(p, (r) => r.hvStd!) : null,
      lo90: hasCi ? Float64Array.from(p, (r) => r.lo90!) : null,
      hi90: hasCi ? Float64Array.from(p, (r) => r.hi90!) : null,
      heldOut: true,
      label: protocol === "cv"
        ? `${p.length} out-of-fold rows (each predicted by the model that did not train on it; first seed), from predictions.csv`
        : `${p.length} held-out test rows (${protocol} protocol), from predictions.csv`,
    };
  }
  const n = ctx.data.n, c = ctx.config.conformal;
  let lo: Float64Array | null = null, hi: Float64Array | null = null;
  if (c && c.alphas.some((a) => Math.abs(a - 0.1) < 1e-12)) {
    const iv = conformalInterval(c, ctx.mc.mean, ctx.mc.std, 0.1);
    lo = iv.lo, hi = iv.hi;
  }
  return {
    rows: Array.from({ length: n }, (_, i) => i),
    measured: ctx.data.hv,
    mean: ctx.mc.mean,
    std: ctx.mc.std,
    lo90: lo,
    hi90: hi,
    heldOut: false,
    label:
      `all ${n} dataset rows, IN-SAMPLE (the model directory stores no held-out predictions; most rows were ` +
      `training rows, so these errors are optimistic)`,
  };
}

function coverageOf(y: ArrayLike<number>, lo: ArrayLike<number>, hi: ArrayLike<number>): number {
  let k = 0;
  for (let i = 0; i < y.length; i++) if (lo[i] <= y[i] && y[i] <= hi[i]) k++;
  return k / y.length;
}

/** Builds the parity section. */
export function paritySection(ctx: ReportContext): SectionResult {
  const ev = evalRows(ctx);
  const m = regressionMetrics(ev.measured, ev.mean);
  const intervals = [];
  const numbers: Record<string, unknown> = {
    rows: ev.rows.length,
    held_out: ev.heldOut,
    rmse: m.rmse,
    mae: m.mae,
    r2: m.r2,
  };
  const covText: string[] = [];
  if (ev.lo90 && ev.hi90) {
    const cov = coverageOf(ev.measured, ev.lo90, ev.hi90);
    numbers.conformal_coverage90 = cov;
    let unbounded = 0;
    for (let i = 0; i < ev.lo90.length; i++) {
      if (!Number.isFinite(ev.lo90[i]) || !Number.isFinite(ev.hi90[i])) unbounded++;
    }
    numbers.conformal_unbounded = unbounded;
    covText.push(`conformal 90 % coverage ${fmt(cov * 100, 1)} %`);
    if (unbounded) {
      covText.push(
        `${unbounded} unbounded conformal interval(s) not drawn: the calibration set is too small for 90 %`,
      );
    }
    intervals.push({
      name: "conformal 90 % interval",
      lo: ev.lo90,
      hi: ev.hi90,
      color: "#9ec3e6",
      width: 2.2,
    });
  }
  if (ev.std) {
    const lo = ev.mean.map((v, i) => v - Z90 * ev.std![i]), hi = ev.mean.map((v, i) => v + Z90 * ev.std![i]);
    const cov = coverageOf(ev.measured, lo, hi);
    numbers.mc_coverage90 = cov;
    covText.push(`raw MC ±1.645σ coverage ${fmt(cov * 100, 1)} %`);
    // Hundreds of overlapping bars: thin and light, so the points stay readable.
    const dense = ev.rows.length > 200;
    intervals.push({
      name: "MC dropout ±1.645σ",
      lo,
      hi,
      color: dense ? "#f1a47a" : "#d55e00",
      width: dense ? 0.8 : 1.2,
    });
  }
  const svg = scatterPlot(ev.measured, ev.mean, {
    title: ev.heldOut ? "Parity on held-out rows" : "Parity (in-sample)",
    subtitle: `RMSE ${fmt(m.rmse)} HV · MAE ${fmt(m.mae)} HV · R² ${fmt(m.r2, 3)} · n = ${ev.rows.length}`,
    xLabel: "measured hardness (HV)",
    yLabel: "predicted hardness (HV)",
    identity: true,
    width: 620,
    height: 560,
    intervals,
    pointTitles: ev.rows.map((r, i) =>
      `${ctx.data.formulas[r] ?? `row ${r}`} · ${+ctx.data.load[r]?.toPrecision(4)} N · measured ${
        ev.measured[i].toFixed(0)
      }, predicted ${ev.mean[i].toFixed(0)} HV`
    ),
  });
  const body = [
    note(`Rows: ${ev.label}.`),
    figureRow([
      figure(
        "parity",
        svg,
        `Predicted (MC mean) against measured hardness; dashed: y = x. Bars: ${
          intervals.map((v) => v.name).join(" and ") || "none"
        }${covText.length ? ` (${covText.join(", ")})` : ""}.`,
      ),
    ]),
    table(
      ["rows", "RMSE (HV)", "MAE (HV)", "R²", "MAPE", "max error (HV)"],
      [[
        ev.rows.length,
        fmt(m.rmse),
        fmt(m.mae),
        fmt(m.r2, 3),
        m.mape === null ? "—" : `${fmt(m.mape * 100, 1)} %`,
        fmt(m.maxError),
      ]],
      { id: "parity-metrics" },
    ),
  ];
  return {
    section: sectionOf("parity", "Parity", "How close the predictions are to the measurements.", body),
    numbers,
  };
}

/** Builds the calibration section. */
export function calibrationSection(ctx: ReportContext): SectionResult {
  const ev = evalRows(ctx);
  const uq = ctx.artifacts.uq;
  const numbers: Record<string, unknown> = {};
  const notes: string[] = [];
  // PIT histogram.
  let pit: { edges: number[]; counts: number[] };
  if (ev.heldOut && protocolOf(ctx) === "holdout") {
    // The saved model never saw the test rows: this report's own MC samples of them give a held-out PIT, binned
    // without the aliasing of metrics.json's plain PIT (its k/S values sit on the bin edges when S ≤ 20).
    const n = ctx.data.n, S = ctx.mcPasses, m = ev.rows.length;
    const sub = new Float64Array(S * m);
    for (let s = 0; s < S; s++) ev.rows.forEach((r, i) => (sub[s * m + i] = ctx.mcSamples[s * n + r]));
    pit = spreadPitHistogram(sub, S, ev.measured, 20);
    notes.push(
      `PIT histogram: the ${m} held-out test rows, ${S} pooled MC passes of this report (randomised PIT of ` +
        "each row's rank among its samples, spread over the bins).",
    );
  } else if (uq?.pit) {
    pit = uq.pit;
    notes.push(
      `PIT histogram: metrics.json of the training run (${
        uq.mcPasses ?? "?"
      } MC passes on the held-out rows).`,
    );
  } else {
    pit = spreadPitHistogram(ctx.mcSamples, ctx.mcPasses, ctx.data.hv, 20);
    notes.push(
      `PIT histogram: IN-SAMPLE, ${ctx.mcPasses} pooled MC passes on all ${ctx.data.n} rows (randomised PIT ` +
        `of each row's rank among its ${ctx.mcPasses} samples, spread over the bins, so that the discrete ranks ` +
        "leave no empty bins).",
    );
  }
  // Coverage curves.
  const series: CoverageSeries[] = [];
  if (uq?.raw) {
    series.push({ name: "MC dropout (sample quantiles)", levels: uq.raw.levels, coverage: uq.raw.coverage });
    numbers.mc_mace = uq.raw.mace;
  } else {
    const c = sampleCalibration(ctx.mcSamples, ctx.mcPasses, ctx.data.hv);
    series.push({ name: "MC dropout (in-sample)", levels: c.levels, coverage: c.coverage });
    numbers.mc_mace = c.mace;
  }
  if (ev.std) {
    const g = gaussianCalibration(ev.measured, ev.mean, ev.std);
    series.push({ name: "Gaussian μ ± zσ", levels: g.levels, coverage: g.coverage });
    numbers.gaussian_mace = g.mace;
  }
  const conf = ctx.config.conformal;
  if (conf && ev.std) {
    const lv: number[] = [], cv: number[] = [];
    conf.alphas.map((a, j) => ({ a, q: conf.q[j] })).filter((x) => Number.isFinite(x.q)).sort((x, y) =>
      y.a - x.a
    )
      .forEach(({ a }) => {
        const iv = conformalInterval(conf, ev.mean, ev.std!, a);
        lv.push(1 - a), cv.push(coverageOf(ev.measured, iv.lo, iv.hi));
      });
    if (lv.length) {
      series.push({ name: "split conformal (saved q̂)", levels: lv, coverage: cv });
      numbers.conformal_levels = lv;
      numbers.conformal_coverage = cv;
    }
  }
  const sigma = ev.std ?? ctx.mc.std;
  let sharp = 0;
  for (const s of sigma) sharp += s / sigma.length;
  numbers.sharpness = sharp;
  const rmse = regressionMetrics(ev.measured, ev.mean).rmse;
  const body = [
    ...notes.map(note),
    note(`Coverage and sharpness: ${ev.label}.`),
    figureRow([
      figure(
        "pit-histogram",
        pitHistogramPlot(pit.edges, pit.counts, {
          title: "PIT histogram",
          subtitle: `${Math.round(pit.counts.reduce((a, b) => a + b, 0))} rows · uniform = calibrated`,
        }),
        "Probability integral transform of each measured value under its MC-dropout predictive distribution. " +
          "A U shape means the intervals are too narrow; a hump, too wide; dashed: the uniform density 1.",
      ),
      figure(
        "coverage",
        coveragePlot(series, { title: "Coverage against nominal level", subtitle: `${ev.rows.length} rows` }),
        "Fraction of measured values inside the central predictive interval at each nominal level; the diagonal is " +
          "perfect calibration. Raw MC-dropout σ is epistemic only, so its intervals are too narrow; the split-conformal " +
          "q̂ rescales them.",
      ),
      figure(
        "sharpness",
        sharpnessPlot(sigma, {
          title: "Sharpness",
          subtitle: `mean σ ${fmt(sharp)} HV · RMSE ${fmt(rmse)} HV`,
          references: [{ name: `RMSE ${fmt(rmse)} HV`, x: rmse }],
        }),
        "Distribution of the predictive standard deviation σ (MC dropout). Sharpness is its mean; a calibrated σ is " +
          "comparable to the RMSE.",
      ),
    ]),
    table(
      ["interval", ...series[0].levels.map((l) => `${fmt(l * 100, 0)} %`)],
      series.filter((s) => s.levels.length === series[0].levels.length).map((s) => [
        s.name,
        ...s.coverage.map((c) => fmt(c, 3)),
      ]),
      { id: "coverage-table", caption: "Empirical coverage per nominal level" },
    ),
  ];
  return {
    section: sectionOf(
      "calibration",
      "Calibration",
      "Whether the predicted uncertainties mean what they say: PIT, coverage against nominal level, sharpness.",
      body,
    ),
    numbers,
  };
}
