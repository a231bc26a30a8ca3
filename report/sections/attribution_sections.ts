/**
 * Report sections "Integrated gradients" and "SHAP": attributions of the predicted hardness to the composition
 * (one feature per element) and the indentation load, on seeded row subsamples.
 *
 * - Integrated gradients against the mean training composition at the mean training load (the original's baseline),
 *   every path point of every explained row in one batched forward/backward; the completeness gap
 *   Σ IG − (f(x) − f(x₀)) is reported.
 * - Kernel SHAP with a background sample of training rows, one batched model call per explained row, summarised
 *   globally (mean |φ|) and per k-means cluster of the rows' latent means (k = 3, as the original intended).
 * @module
 */
import {
  attributionFn,
  integratedGradientsMany,
  meanTrainingComposition,
} from "../../explain/integrated_gradients.ts";
import { hardnessBatchFn } from "../../explain/hardness_batch_fn.ts";
import { shapByCluster } from "../../explain/shap_by_cluster.ts";
import { hbarChart } from "../../plot/hbar_chart.ts";
import { matrixHeatmap } from "../../plot/heatmap.ts";
import { collapsible, figure, figureRow, note, table } from "../html.ts";
import { fmt, type ReportContext, sectionOf, type SectionResult } from "../report_context.ts";
import { reportExplainable } from "../report_explainable.ts";
import { sampleRows } from "../row_sample.ts";
import { fixedShapeBatchFn } from "../fixed_shape_batch.ts";

/** Features shown in the rankings. */
const TOP_FEATURES = 15;

/** Rows per SHAP forward on WebGPU (one input shape for every explained row; see fixed_shape_batch.ts). */
const SHAP_BLOCK = 1024;

/** Dataset rows (indices into ctx.data) the model was trained on: splits.json `train` when it fits, else all. */
export function trainingRows(ctx: ReportContext): { rows: number[]; source: string } {
  const sets = (ctx.artifacts.splits?.sets ?? null) as Record<string, unknown> | null;
  const train = sets?.train;
  const sameData = !ctx.config.data || ctx.config.data.sha256 === ctx.data.sha256;
  if (sameData && Array.isArray(train) && train.every((v) => Number.isInteger(v))) {
    const pos = new Map(Array.from(ctx.data.rowIds, (id, i) => [id, i]));
    const rows = (train as number[]).map((id) => pos.get(id)).filter((i): i is number => i !== undefined);
    if (rows.length >= 2) return { rows, source: `the ${rows.length} training rows of splits.json` };
  }
  return { rows: Array.from({ length: ctx.data.n }, (_, i) => i), source: `all ${ctx.data.n} dataset rows` };
}

/** Feature names: the model's elements, then "load". */
function featureNames(ctx: ReportContext): string[] {
  return [...ctx.config.elements, "load"];
}

/** Rows × (E + 1) raw features (fractions, load in N) of the given dataset rows. */
function featureRows(ctx: ReportContext, rows: readonly number[]): Float64Array {
  const E = ctx.config.elements.length, D = E + 1;
  const x = new Float64Array(rows.length * D);
  rows.forEach((r, i) => {
    for (let j = 0; j < E; j++) x[i * D + j] = ctx.data.comp[r * E + j];
    x[i * D + E] = ctx.data.load[r];
  });
  return x;
}

/** Indices of the `k` largest values, descending. */
function topIndices(v: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: v.length }, (_, i) => i).filter((i) => Number.isFinite(v[i]))
    .sort((a, b) => v[b] - v[a]).slice(0, k);
}

/** Relative completeness gap above which the section warns that the attributions do not add up. */
const IG_GAP_WARN = 0.05;

/** Why IG does not add up for this model, in words (shown when the gap exceeds {@link IG_GAP_WARN}). */
function igGapWarning(ctx: ReportContext, baseComp: ArrayLike<number>, rel: number): string {
  const head =
    `Warning: the attributions miss f(x) − f(x₀) by up to ${fmt(rel * 100, 0)} %, so they do not add ` +
    "up and should be read as indicative only (the SHAP section below is exact in this respect). ";
  const T = ctx.config.arch === "attention" ? ctx.config.attention?.tokens : undefined;
  if (T !== undefined) {
    let present = 0;
    for (let j = 0; j < baseComp.length; j++) if (baseComp[j] > 0) present++;
    return head +
      `Cause: the attention architecture keeps only the ${T} largest fractions of an alloy as tokens, ` +
      `and the baseline (the mean composition) contains ${present} elements, so elements swap in and out of the ` +
      "token slots along the straight path and the prediction jumps there; integrated gradients only integrate " +
      "the smooth stretches between the jumps.";
  }
  return head + "Cause: the prediction changes abruptly along the path (more --ig-steps may help).";
}

/** Builds the integrated-gradients section. */
export async function igSection(ctx: ReportContext): Promise<SectionResult> {
  const { sizes } = ctx;
  const E = ctx.config.elements.length, D = E + 1, names = featureNames(ctx);
  const train = trainingRows(ctx);
  const baseComp = meanTrainingComposition(
    featureRows(ctx, train.rows).filter((_, k) => k % D !== E),
    train.rows.length,
    E,
  );
  let meanLoad = 0;
  for (const r of train.rows) meanLoad += ctx.data.load[r] / train.rows.length;
  const baseline = [...baseComp, meanLoad];
  const rows = sampleRows(ctx.data.n, sizes.igRows, ctx.seed, 31);
  if (rows.length === 0) {
    return {
      section: sectionOf("ig", "Integrated gradients", "Skipped (--ig-rows 0).", [
        note("No rows explained."),
      ]),
      numbers: { rows: 0 },
    };
  }
  const em = reportExplainable(ctx.model, ctx.config, ctx.be);
  const x = featureRows(ctx, rows);
  const xs = rows.map((_, i) => x.subarray(i * D, (i + 1) * D));
  const res = await integratedGradientsMany(attributionFn(em), xs, baseline, {
    steps: sizes.igSteps,
    be: ctx.be,
  });
  const meanAbs = new Float64Array(D), meanSigned = new Float64Array(D);
  let maxGap = 0, maxRel = 0;
  for (const r of res) {
    for (let j = 0; j < D; j++) {
      meanAbs[j] += Math.abs(r.attributions[j]) / res.length;
      meanSigned[j] += r.attributions[j] / res.length;
    }
    maxGap = Math.max(maxGap, Math.abs(r.completenessGap));
    maxRel = Math.max(maxRel, Math.abs(r.completenessGap) / Math.max(1, Math.abs(r.fx - r.fBaseline)));
  }
  const top = topIndices(meanAbs, TOP_FEATURES);
  const incomplete = maxRel > IG_GAP_WARN ? igGapWarning(ctx, baseComp, maxRel) : null;
  // The explained row with the highest predicted hardness, as a worked example.
  const ex = res.reduce((b, r, i) => (r.fx > res[b].fx ? i : b), 0);
  const exTop = topIndices(res[ex].attributions.map(Math.abs), 12);
  const exRow = rows[ex];
  const fBase = res[0].fBaseline;
  const body = [
    note(
      `Baseline: the mean composition of ${train.source} at their mean load ${fmt(meanLoad, 3)} N ` +
        `(predicted ${
          fmt(fBase)
        } HV). ${rows.length} seeded rows, ${sizes.igSteps} trapezoid steps, all path points ` +
        `in one batched forward/backward. Completeness: max |Σ IG − (f(x) − f(x₀))| = ${fmt(maxGap, 3)} HV ` +
        `(${fmt(maxRel * 100, 3)} % of |f(x) − f(x₀)|).`,
    ),
    ...(incomplete ? [note(incomplete)] : []),
    figureRow([
      figure(
        "ig-global",
        hbarChart(top.map((j) => names[j]), top.map((j) => meanAbs[j]), {
          title: "Integrated gradients: global importance",
          subtitle: `mean |IG| over ${rows.length} rows`,
          xLabel: "mean |attribution| (HV)",
          width: 560,
          decimals: 1,
        }),
        `The ${top.length} features with the largest mean |IG| over the explained rows (the signed means are in ` +
          "the table below: a feature can raise hardness in some alloys and lower it in others).",
      ),
      figure(
        "ig-example",
        hbarChart(exTop.map((j) => names[j]), exTop.map((j) => res[ex].attributions[j]), {
          title: `IG of ${ctx.data.formulas[exRow]}`,
          subtitle: `${fmt(ctx.data.load[exRow], 3)} N · f(x) ${fmt(res[ex].fx)} HV · f(x₀) ${fmt(fBase)} HV`,
          xLabel: "attribution (HV)",
          width: 560,
          decimals: 1,
        }),
        "Attributions of the explained alloy with the highest predicted hardness; they add up to f(x) − f(x₀). " +
          "Elements the alloy does not contain can carry attribution too: the path starts at the mean " +
          "composition, which contains them, and removing them changes the prediction.",
      ),
    ]),
    collapsible(
      "Integrated gradients per feature",
      table(
        ["feature", "mean |IG| (HV)", "mean IG (HV)"],
        top.map((j) => [names[j], fmt(meanAbs[j], 2), fmt(meanSigned[j], 2)]),
        { id: "ig-table", caption: "Integrated gradients per feature (largest mean |IG| first)" },
      ),
    ),
  ];
  return {
    section: sectionOf(
      "ig",
      "Integrated gradients",
      "Which elements and how much load move the predicted hardness away from an average training alloy.",
      body,
    ),
    numbers: {
      rows: rows.length,
      steps: sizes.igSteps,
      baseline_hv: fBase,
      max_completeness_gap: maxGap,
      max_relative_gap: maxRel,
      ...(incomplete ? { warning: incomplete } : {}),
      top: top.slice(0, 5).map((j) => ({ feature: names[j], mean_abs: meanAbs[j] })),
    },
  };
}

/** Builds the SHAP section. */
export async function shapSection(ctx: ReportContext): Promise<SectionResult> {
  const { sizes } = ctx;
  const E = ctx.config.elements.length, D = E + 1, names = featureNames(ctx);
  const rows = sampleRows(ctx.data.n, sizes.shapRows, ctx.seed, 41);
  if (rows.length < 3) {
    return {
      section: sectionOf("shap", "SHAP", "Skipped (--shap-rows below 3).", [note("No rows explained.")]),
      numbers: { rows: rows.length },
    };
  }
  const train = trainingRows(ctx);
  const bg = sampleRows(train.rows.length, sizes.shapBackground, ctx.seed, 43).map((i) => train.rows[i]);
  const em = reportExplainable(ctx.model, ctx.config, ctx.be);
  const Lmax = ctx.model.latentDim, L = em.latentDim;
  const latents = new Float64Array(rows.length * L);
  rows.forEach((r, i) => {
    for (let j = 0; j < L; j++) latents[i * L + j] = ctx.pred.mu[r * Lmax + j]; // member 0 comes first
  });
  const k = Math.min(3, rows.length);
  const f = ctx.be.kind === "webgpu"
    ? fixedShapeBatchFn(hardnessBatchFn(em, { chunkRows: SHAP_BLOCK }), SHAP_BLOCK, D)
    : hardnessBatchFn(em);
  const res = await shapByCluster(
    f,
    featureRows(ctx, rows),
    rows.length,
    D,
    featureRows(ctx, bg),
    latents,
    L,
    { k, samples: sizes.shapSamples, seed: ctx.seed },
  );
  const shap = res.shap;
  let maxGap = 0;
  for (let i = 0; i < shap.n; i++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += shap.values[i * D + j];
    maxGap = Math.max(maxGap, Math.abs(s - (shap.fx[i] - shap.base)));
  }
  const top = topIndices(shap.meanAbs, TOP_FEATURES);
  const clusters = res.clusters.filter((c) => c.rows.length > 0);
  const mat = new Float64Array(top.length * clusters.length);
  top.forEach((j, a) => clusters.forEach((c, b) => (mat[a * clusters.length + b] = c.mean[j])));
  const clusterLabel = (c: (typeof clusters)[number]) => `cluster ${c.cluster + 1} (${c.rows.length})`;
  const body = [
    note(
      `Kernel SHAP on ${rows.length} seeded rows with ${bg.length} background rows from ${train.source}, ` +
        `${sizes.shapSamples} coalitions per row${shap.exact ? " (exact: every coalition)" : ""}; E f = ` +
        `${fmt(shap.base)} HV. Efficiency: max |Σφ − (f(x) − E f)| = ${
          fmt(maxGap, 4)
        } HV. Clusters: k-means ` +
        `(k = ${k}) of the rows' standardised latent means (member 0).`,
    ),
    figureRow([
      figure(
        "shap-global",
        hbarChart(top.map((j) => names[j]), top.map((j) => shap.meanAbs[j]), {
          title: "SHAP: global importance",
          subtitle: `mean |φ| over ${rows.length} rows`,
          xLabel: "mean |SHAP value| (HV)",
          width: 560,
          decimals: 1,
        }),
        `The ${top.length} features with the largest mean |SHAP value|.`,
      ),
      figure(
        "shap-clusters",
        matrixHeatmap(top.map((j) => names[j]), clusters.map(clusterLabel), mat, {
          title: "SHAP per latent cluster",
          subtitle: "mean signed φ per cluster (rows in brackets)",
          xLabel: "latent cluster",
          yLabel: "feature",
          colorLabel: "mean φ (HV)",
          symmetric: true,
          cellDecimals: 0,
          width: 520,
          height: Math.max(320, 120 + 22 * top.length),
        }),
        "Mean SHAP value of each feature within each k-means cluster of the latent space: how the drivers of " +
          "hardness differ between regions of the latent space.",
      ),
    ]),
    table(
      ["cluster", "rows", "mean f(x) (HV)", "top features (mean φ, HV)"],
      clusters.map((c) => {
        let f = 0;
        for (const i of c.rows) f += shap.fx[i] / c.rows.length;
        const t = topIndices(c.meanAbs, 4).map((j) =>
          `${names[j]} ${c.mean[j] >= 0 ? "+" : ""}${fmt(c.mean[j], 0)}`
        );
        return [`cluster ${c.cluster + 1}`, c.rows.length, fmt(f), t.join(", ")];
      }),
      { id: "shap-cluster-table", caption: "SHAP summary per latent cluster" },
    ),
  ];
  return {
    section: sectionOf(
      "shap",
      "SHAP",
      "Model-agnostic Shapley attributions of the prediction to each element and the load.",
      body,
    ),
    numbers: {
      rows: rows.length,
      background: bg.length,
      coalitions: sizes.shapSamples,
      base_hv: shap.base,
      max_efficiency_gap: maxGap,
      top: top.slice(0, 5).map((j) => ({ feature: names[j], mean_abs: shap.meanAbs[j] })),
      clusters: clusters.map((c) => c.rows.length),
    },
  };
}
