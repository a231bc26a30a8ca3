/**
 * Report section "Training": loss and validation MSE per epoch, β and the KL per latent dimension, and the KL of
 * every latent dimension over the epochs — all read from the CSV files `alloy train` writes. With several members
 * (folds × seeds) each quantity is averaged over the members still training at that epoch. The per-epoch attention
 * log (gate_curves.csv) is drawn here too ({@link gateEpochsFigure}) but shown in the attention section.
 * @module
 */
import { linePlot, type LineSeries } from "../../plot/line_plot.ts";
import { matrixHeatmap } from "../../plot/heatmap.ts";
import type { CurveRow, VectorCurves } from "../model_artifacts.ts";
import { figure, figureRow, missingFigure, note } from "../html.ts";
import { type ReportContext, sectionOf, type SectionResult } from "../report_context.ts";

/** Mean of `f` over the rows of each epoch (active members only when some are), sorted by epoch. */
function perEpoch(rows: readonly CurveRow[], f: (r: CurveRow) => number): { x: number[]; y: number[] } {
  const by = new Map<number, CurveRow[]>();
  for (const r of rows) by.set(r.epoch, [...(by.get(r.epoch) ?? []), r]);
  const x: number[] = [], y: number[] = [];
  for (const e of [...by.keys()].sort((a, b) => a - b)) {
    const all = by.get(e)!, act = all.filter((r) => r.active), use = act.length ? act : all;
    const v = use.map(f).filter(Number.isFinite);
    x.push(e), y.push(v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
  }
  return { x, y };
}

/** Mean vector per epoch over models; returns epochs and [epochs × names] values. */
function vectorPerEpoch(v: VectorCurves): { epochs: number[]; values: Float64Array[] } {
  const by = new Map<number, Float64Array[]>();
  for (const r of v.rows) by.set(r.epoch, [...(by.get(r.epoch) ?? []), r.values]);
  const epochs = [...by.keys()].sort((a, b) => a - b);
  const values = epochs.map((e) => {
    const rs = by.get(e)!, out = new Float64Array(v.names.length);
    for (const r of rs) for (let k = 0; k < out.length; k++) out[k] += r[k] / rs.length;
    return out;
  });
  return { epochs, values };
}

/** At most `max` evenly spaced indices of 0..n−1 (always the last). */
function thin(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>();
  for (let k = 0; k < max; k++) out.add(Math.round((k * (n - 1)) / (max - 1)));
  return [...out];
}

/**
 * The per-epoch attention log of training (gate_curves.csv) as a heatmap of the mean gate per element, or null when
 * the model directory has none.
 */
export function gateEpochsFigure(ctx: ReportContext): string | null {
  const gates = ctx.artifacts.gates;
  if (!gates || !gates.rows.length) return null;
  const { epochs, values } = vectorPerEpoch(gates);
  const last = values[values.length - 1];
  const top = gates.names.map((_, k) => k).sort((a, b) => last[b] - last[a]).slice(0, 16);
  const cols = thin(epochs.length, 120);
  const mat = new Float64Array(top.length * cols.length);
  top.forEach((k, i) => cols.forEach((c, j) => (mat[i * cols.length + j] = values[c][k])));
  return figure(
    "gate-epochs",
    matrixHeatmap(top.map((k) => gates.names[k]), cols.map((c) => String(epochs[c])), mat, {
      title: "Attention during training",
      subtitle: `mean weight per element, the ${top.length} largest at the last epoch${
        cols.length < epochs.length ? ` · ${cols.length} of ${epochs.length} epochs shown` : ""
      }`,
      xLabel: "epoch",
      yLabel: "element",
      colorLabel: "mean weight",
      width: 900,
      height: 420,
    }),
    "The per-epoch attention log of training (gate_curves.csv): the gate's (or pooled attention's) weight per " +
      "element averaged over the training rows, for the elements with the largest weight at the end.",
  );
}

/** Builds the training section. */
export function trainingSection(ctx: ReportContext): SectionResult {
  const { curves, klDims } = ctx.artifacts;
  const why = "the model directory has no training log (e.g. a model imported from Keras)";
  const models = curves ? new Set(curves.map((r) => r.model)).size : 0;
  const figs: string[] = [];
  const numbers: Record<string, unknown> = { models };
  if (curves && curves.length) {
    const loss = perEpoch(curves, (r) => r.loss), val = perEpoch(curves, (r) => r.valMse);
    const mse = perEpoch(curves, (r) => r.mse);
    const series: LineSeries[] = [
      { name: "training loss", ...loss, color: "#0072b2" },
      { name: "training MSE (standardised HV)", ...mse, color: "#56b4e9", dash: "4 3" },
      { name: "validation MSE (standardised HV)", ...val, color: "#d55e00" },
    ];
    figs.push(figure(
      "loss-curves",
      linePlot(series, { title: "Loss per epoch", xLabel: "epoch", yLabel: "loss / MSE" }),
      `Training loss (MSE + 0.5·reconstruction KL + β·KL/L) and MSEs on standardised hardness${
        models > 1 ? `, averaged over the ${models} members` : ""
      }. Early stopping restores the epoch of the lowest validation MSE.`,
    ));
    const beta = perEpoch(curves, (r) => (r.beta > 0 ? Math.log10(r.beta) : NaN));
    const kl = perEpoch(curves, (r) => r.klPerDim);
    figs.push(figureRow([
      figure(
        "beta-curve",
        linePlot([{ name: "log₁₀ β", ...beta, color: "#009e73" }], {
          title: "KL weight β",
          xLabel: "epoch",
          yLabel: "log₁₀ β",
          width: 460,
          height: 320,
          yDomain: [
            Math.min(...beta.y.filter(Number.isFinite)) - 0.2,
            Math.max(...beta.y.filter(Number.isFinite)) + 0.2,
          ],
        }),
        "β of the information bottleneck per epoch (annealed or set by the KL controller).",
      ),
      figure(
        "kl-curve",
        linePlot([{ name: "KL per latent dim", ...kl, color: "#cc79a7" }], {
          title: "KL per latent dimension",
          xLabel: "epoch",
          yLabel: "KL / L (nats)",
          width: 460,
          height: 320,
        }),
        "Mean KL(q(z|x) ‖ N(0, I)) per latent dimension; the reference controller aims at 0.15 nats.",
      ),
    ]));
    numbers.epochs = loss.x.length;
    numbers.final_val_mse = val.y[val.y.length - 1];
  } else {
    figs.push(missingFigure("loss-curves", "Loss per epoch", why));
  }
  if (klDims && klDims.rows.length) {
    const { epochs, values } = vectorPerEpoch(klDims);
    const cols = thin(epochs.length, 120);
    const D = klDims.names.length;
    const mat = new Float64Array(D * cols.length);
    for (let d = 0; d < D; d++) cols.forEach((c, j) => (mat[d * cols.length + j] = values[c][d]));
    figs.push(figure(
      "kl-dims",
      matrixHeatmap(klDims.names, cols.map((c) => String(epochs[c])), mat, {
        title: "KL per latent dimension during training",
        xLabel: "epoch",
        yLabel: "latent dimension",
        colorLabel: "KL (nats)",
        width: 900,
        height: Math.min(560, 160 + 12 * D),
      }),
      "KL divergence of each latent dimension per epoch (kl_dims.csv); dimensions near 0 are unused (collapsed).",
    ));
  }
  const body = curves ? figs : [note(`No training curves: ${why}.`), ...figs];
  return {
    section: sectionOf(
      "training",
      "Training",
      "Learning curves of the training run (loss, β, KL).",
      body,
    ),
    numbers,
  };
}
