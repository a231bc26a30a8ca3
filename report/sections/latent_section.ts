/**
 * Report section "Latent space": maps of the latent means μ(x) of every dataset row (member 0; every member has its
 * own latent space) — PCA coloured by hardness, k-means clusters with the elbow curve, a 3-component Gaussian-mixture
 * density over the PCA plane, t-SNE of a seeded subsample — with designed candidates overlaid when given; then how
 * the latent dimensions relate to hardness: Pearson/Spearman correlations, gradient importance |∂HV/∂z|, and
 * traversals of the most important dimensions (predicted hardness and decoded composition along each).
 * @module
 */
import { pca, pcaTransform } from "../../explain/pca.ts";
import { kmeansElbow } from "../../explain/kmeans_elbow.ts";
import { gmmDensityGrid } from "../../explain/gmm_density_grid.ts";
import { tsneRun } from "../../explain/tsne.ts";
import { latentCorrelations } from "../../explain/correlation.ts";
import { latentGradientImportance } from "../../explain/latent_gradient_importance.ts";
import { latentTraversal, linspace } from "../../explain/latent_traversal.ts";
import { standardizeColumns } from "../../explain/standardize.ts";
import { readFloat64 } from "../../explain/read_values.ts";
import { noGrad } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import type { ExplainableModel } from "../../explain/explainable_model.ts";
import { type Overlay, scatterPlot } from "../../plot/scatter.ts";
import { fieldHeatmap } from "../../plot/heatmap.ts";
import { matrixHeatmap } from "../../plot/heatmap.ts";
import { hbarChart } from "../../plot/hbar_chart.ts";
import { linePlot } from "../../plot/line_plot.ts";
import { niceTicks } from "../../plot/svg.ts";
import { figure, figureRow, missingFigure, note, table } from "../html.ts";
import { fmt, type ReportContext, sectionOf, type SectionResult } from "../report_context.ts";
import { reportExplainable } from "../report_explainable.ts";
import { sampleRows } from "../row_sample.ts";

/** Candidates overlaid on the maps (the first ones of the file). */
const MAX_OVERLAY = 100;
/** Latent dimensions traversed. */
const TRAVERSED = 3;
/** Dimensions shown in the importance ranking. */
const TOP_DIMS = 16;

/** Latent means [m, L] of compositions [m, E] (float32 fractions). */
export async function encodeRows(em: ExplainableModel, comp: Float32Array, m: number): Promise<Float64Array> {
  const be = em.backend, E = em.elementCount;
  const z = scope(() => noGrad(() => em.encode(be.fromData(comp, [m, E]))));
  const v = await readFloat64(z);
  z.dispose();
  return v;
}

/** Member 0's latent means of every dataset row [n, L] from the context's prediction. */
function datasetLatents(ctx: ReportContext, L: number): Float64Array {
  const n = ctx.data.n, Lmax = ctx.model.latentDim;
  const Z = new Float64Array(n * L);
  for (let i = 0; i < n; i++) for (let j = 0; j < L; j++) Z[i * L + j] = ctx.pred.mu[i * Lmax + j];
  return Z;
}

/** Builds the latent-space section. */
export async function latentSection(ctx: ReportContext): Promise<SectionResult> {
  const em = reportExplainable(ctx.model, ctx.config, ctx.be);
  const n = ctx.data.n, L = em.latentDim, hv = ctx.data.hv;
  const Z = datasetLatents(ctx, L);
  const cand = ctx.candidates;
  const mc = cand ? Math.min(cand.n, MAX_OVERLAY) : 0;
  const Zc = cand
    ? await encodeRows(em, cand.comp.subarray(0, mc * em.elementCount), mc)
    : new Float64Array(0);
  const candLabels = Array.from({ length: mc }, (_, i) => String(i + 1));
  const overlay = (x: ArrayLike<number>, y: ArrayLike<number>): Overlay[] =>
    cand && mc
      ? [{ name: "designed candidates", x, y, shape: "star", color: "#d62728", labels: candLabels }]
      : [];
  const titles = ctx.data.formulas.map((f, i) =>
    `${f} · ${+ctx.data.load[i].toPrecision(4)} N · ${hv[i].toFixed(0)} HV`
  );
  const numbers: Record<string, unknown> = { latent_dim: L, rows: n, candidates_overlaid: mc };
  const maps: string[] = [];
  const candNote = cand
    ? ` Red stars: the first ${mc} designed candidates of ${cand.file} (numbers as in the candidate table).`
    : "";

  // PCA, clusters, density.
  if (L >= 2) {
    const p = pca(Z, n, L, 2);
    const pc = (k: number, s: Float64Array, m: number) =>
      Float64Array.from({ length: m }, (_, i) => s[i * 2 + k]);
    const s1 = pc(0, p.scores, n), s2 = pc(1, p.scores, n);
    const cs = mc ? pcaTransform(p, Zc, mc) : new Float64Array(0);
    const c1 = pc(0, cs, mc), c2 = pc(1, cs, mc);
    const var1 = `PC 1 (${fmt(p.explainedRatio[0] * 100, 1)} %)`,
      var2 = `PC 2 (${fmt(p.explainedRatio[1] * 100, 1)} %)`;
    numbers.pca_explained = Array.from(p.explainedRatio);
    maps.push(figure(
      "latent-pca",
      scatterPlot(s1, s2, {
        title: "Latent space: PCA",
        subtitle: `${n} rows · member 0 · ${L} latent dimensions`,
        xLabel: var1,
        yLabel: var2,
        color: { kind: "value", values: hv, label: "measured HV" },
        pointTitles: titles,
        overlays: overlay(c1, c2),
      }),
      `First two principal components of the latent means, coloured by measured hardness.${candNote}`,
    ));
    const zs = standardizeColumns(Z, n, L).data;
    const elbow = kmeansElbow(zs, n, L, Math.min(ctx.sizes.kmeansMaxK, n), ctx.seed);
    numbers.kmeans = { k: elbow.k, inertia: elbow.inertia, chosen: elbow.chosen };
    maps.push(figure(
      "kmeans-elbow",
      linePlot([{ name: "inertia", x: elbow.k, y: elbow.inertia, color: "#0072b2" }], {
        title: `k-means elbow (chosen k = ${elbow.chosen})`,
        xLabel: "k (clusters)",
        yLabel: "inertia (standardised latents)",
        width: 460,
        height: 340,
      }),
      "Within-cluster sum of squares of k-means on the standardised latent means for k = 1…" +
        `${elbow.k.length}; the elbow (largest distance below the chord) is k = ${elbow.chosen}.`,
    ));
    maps.push(figure(
      "latent-clusters",
      scatterPlot(s1, s2, {
        title: `Latent clusters (k = ${elbow.chosen})`,
        xLabel: var1,
        yLabel: var2,
        color: {
          kind: "category",
          values: Array.from(elbow.labels, (c) => `cluster ${c + 1}`),
          order: Array.from({ length: elbow.chosen }, (_, c) => `cluster ${c + 1}`),
          label: "k-means",
        },
        pointTitles: titles,
        overlays: overlay(c1, c2),
      }),
      "The PCA map coloured by the k-means cluster at the elbow." + candNote,
    ));
    const G = 60;
    const grid = gmmDensityGrid(p.scores, n, { k: 3, gridSize: G, seed: ctx.seed });
    numbers.gmm_log_likelihood = grid.logLikelihood;
    maps.push(figure(
      "gmm-density",
      fieldHeatmap(
        {
          nx: G,
          ny: G,
          xRange: [grid.xs[0], grid.xs[G - 1]],
          yRange: [grid.ys[0], grid.ys[G - 1]],
          values: grid.logDensity.map((v) => Math.max(v, -12)),
        },
        {
          title: "Gaussian-mixture density of the latent PCA plane",
          subtitle: `3 components · mean log-likelihood ${fmt(grid.logLikelihood, 2)}`,
          xLabel: var1,
          yLabel: var2,
          colorLabel: "log density (floored at −12)",
          overlays: [
            { name: "dataset rows", x: s1, y: s2, shape: "circle", color: "#ffffff", size: 2 },
            ...overlay(c1, c2),
          ],
        },
      ),
      "Log-density of a 3-component Gaussian mixture fitted to the PCA scores (white dots: the dataset); " +
        "a candidate in a dark region lies where the model has seen no alloys." + candNote,
    ));
  } else {
    maps.push(missingFigure("latent-pca", "Latent PCA", `the latent has ${L} dimension`));
  }

  // t-SNE of a seeded subsample (plus the overlaid candidates).
  const rows = sampleRows(n, ctx.sizes.tsneRows, ctx.seed, 51);
  const m = rows.length + mc;
  if (rows.length >= 5) {
    const X = new Float64Array(m * L);
    rows.forEach((r, i) => X.set(Z.subarray(r * L, (r + 1) * L), i * L));
    X.set(Zc, rows.length * L);
    const perplexity = Math.min(ctx.sizes.tsnePerplexity, Math.floor((m - 1) / 3));
    const t = tsneRun(X, m, L, { perplexity, iterations: ctx.sizes.tsneIterations, seed: ctx.seed });
    const e = t.embedding, k = rows.length;
    numbers.tsne = { rows: rows.length, perplexity, iterations: t.iterations, kl: t.klDivergence };
    maps.push(figure(
      "latent-tsne",
      scatterPlot(
        Float64Array.from(rows, (_, i) => e[2 * i]),
        Float64Array.from(rows, (_, i) => e[2 * i + 1]),
        {
          title: "Latent space: t-SNE",
          subtitle:
            `${rows.length} seeded rows · perplexity ${perplexity} · ${t.iterations} iterations · KL ${
              fmt(t.klDivergence, 3)
            }`,
          xLabel: "t-SNE 1",
          yLabel: "t-SNE 2",
          color: { kind: "value", values: rows.map((r) => hv[r]), label: "measured HV" },
          pointTitles: rows.map((r) => titles[r]),
          overlays: overlay(
            Float64Array.from({ length: mc }, (_, i) => e[2 * (k + i)]),
            Float64Array.from({ length: mc }, (_, i) => e[2 * (k + i) + 1]),
          ),
        },
      ),
      "Exact t-SNE (seeded) of the latent means of a row subsample, coloured by measured hardness; " +
        "distances between far-apart groups are not meaningful." +
        (mc ? " Candidates are embedded together with the rows." : ""),
    ));
  } else {
    maps.push(missingFigure("latent-tsne", "Latent t-SNE", "fewer than 5 rows to embed (--tsne-rows)"));
  }

  // Latent dimensions and hardness.
  const corr = latentCorrelations(Z, hv);
  const loads = ctx.data.load;
  const imp = await latentGradientImportance(em, Z, loads);
  const dims = Array.from({ length: L }, (_, j) => j);
  const byImp = [...dims].sort((a, b) => imp.importance[b] - imp.importance[a]);
  const shown = byImp.slice(0, TOP_DIMS).sort((a, b) => a - b);
  const corrMat = new Float64Array(shown.length * 2);
  shown.forEach((j, i) => (corrMat[2 * i] = corr.pearson[j], corrMat[2 * i + 1] = corr.spearman[j]));
  numbers.correlations = dims.map((j) => ({ dim: j, pearson: corr.pearson[j], spearman: corr.spearman[j] }));
  numbers.gradient_importance = Array.from(imp.importance);
  const dimFigs = [
    figure(
      "latent-correlations",
      matrixHeatmap(shown.map((j) => `z${j}`), ["Pearson r", "Spearman ρ"], corrMat, {
        title: "Latent–hardness correlations",
        subtitle: L > shown.length
          ? `the ${shown.length} most important of ${L} dimensions`
          : `${L} dimensions`,
        xLabel: "",
        yLabel: "latent dimension",
        colorLabel: "correlation",
        symmetric: true,
        domain: [-1, 1],
        cellDecimals: 2,
        width: 420,
        height: Math.max(300, 120 + 24 * shown.length),
      }),
      "Correlation of each latent mean with the measured hardness over all rows.",
    ),
    figure(
      "latent-importance",
      hbarChart(
        byImp.slice(0, TOP_DIMS).map((j) => `z${j}`),
        byImp.slice(0, TOP_DIMS).map((j) => imp.importance[j]),
        {
          title: "Gradient importance of latent dimensions",
          subtitle: "mean |∂HV/∂z| over all rows at their loads",
          xLabel: "mean |∂HV/∂z| (HV per latent unit)",
          width: 520,
          decimals: 1,
        },
      ),
      "How strongly the hardness head responds to each latent dimension (mean absolute gradient).",
    ),
  ];

  // Traversals of the most important dimensions around the mean latent.
  const z0 = new Float64Array(L), sd = new Float64Array(L);
  for (let i = 0; i < n; i++) for (let j = 0; j < L; j++) z0[j] += Z[i * L + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < L; j++) sd[j] += (Z[i * L + j] - z0[j]) ** 2 / n;
  const sortedLoads = Float64Array.from(loads).sort();
  const load = sortedLoads[Math.floor(n / 2)];
  const steps = linspace(-2.5, 2.5, 21);
  const trav = byImp.slice(0, Math.min(TRAVERSED, L));
  const series = [], travRows: (string | number)[][] = [];
  for (const j of trav) {
    const s = Math.sqrt(sd[j]) || 1;
    const res = await latentTraversal(em, z0, j, steps.map((t) => z0[j] + t * s), load);
    series.push({ name: `z${j}`, x: Array.from(steps), y: res.map((r) => r.hv) });
    for (const q of [0, 10, 20]) {
      travRows.push([
        `z${j}`,
        `${steps[q] >= 0 ? "+" : ""}${fmt(steps[q], 1)} σ`,
        fmt(res[q].hv),
        res[q].top.map((t) => `${t.element} ${fmt(t.fraction * 100, 1)} %`).join(", "),
      ]);
    }
  }
  // The y axis follows the curves (a 0 HV floor would flatten changes of a few per cent).
  const ys = series.flatMap((q) => q.y).filter(Number.isFinite);
  const [ylo, yhi] = [Math.min(...ys), Math.max(...ys)];
  const yPad = Math.max((yhi - ylo) * 0.1, 0.02 * Math.abs(yhi), 1);
  const yt = niceTicks(Math.max(0, ylo - yPad), yhi + yPad, 6);
  dimFigs.push(figure(
    "latent-traversal",
    linePlot(series, {
      title: "Latent traversals",
      yDomain: [yt.lo, yt.hi],
      xLabel: "offset from the mean latent (standard deviations)",
      yLabel: `predicted HV at ${+load.toPrecision(4)} N`,
      width: 520,
      height: 360,
    }),
    `Predicted hardness while one of the ${trav.length} most important dimensions moves from −2.5σ to +2.5σ around ` +
      "the mean latent (the others held at their mean).",
  ));
  const body = [
    note(
      `Latent means μ(x) of member 0${
        ctx.config.members > 1 ? ` (of ${ctx.config.members}; each member has its own latent space)` : ""
      }, ` +
        `${L} dimensions, all ${n} rows unless stated.`,
    ),
    figureRow(maps),
    figureRow(dimFigs),
    table(["dimension", "offset", "predicted HV", "decoded composition (top 3)"], travRows, {
      id: "traversal-table",
      caption: "Decoded compositions along the traversals",
    }),
  ];
  return {
    section: sectionOf(
      "latent",
      "Latent space",
      "Where alloys lie in the model's information bottleneck, and how the latent dimensions drive hardness.",
      body,
    ),
    numbers,
  };
}
