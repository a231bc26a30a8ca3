/**
 * Evaluation of a composition GAN against the literature (issue 10, "Evaluation"):
 *
 * - share of generated compositions the GFA classifier calls glass (P ≥ its threshold), among those it can score;
 * - Wasserstein distances in composition space (atomic fractions over the GAN's element list, cost ‖x − y‖², so the
 *   reported distance ≈ W₂) by Sinkhorn iterations, all transports in ONE batched run with a common ε: the held-out
 *   compositions are split (seeded) into halves A and B of h points each, and B is compared with (i) h generated
 *   compositions, (ii) half A of the literature (the literature-vs-literature reference: what two samples of the
 *   same distribution score at this size) and (iii) h training compositions. Both the entropic transport distance
 *   and the debiased Sinkhorn divergence are reported;
 * - novelty (distance to the nearest training composition), collapse indicators on compositions;
 * - PCA maps (2 components fitted on the literature fractions) with Gaussian kernel density estimates (Scott's
 *   bandwidth) of the generated and literature scores, as SVG heat maps with the other set drawn on top.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { Rng } from "../nn/random.ts";
import { sinkhorn, type SinkhornProblem, type SinkhornResult } from "../nn/metrics/sinkhorn.ts";
import { pca, pcaTransform } from "../explain/pca.ts";
import { fieldHeatmap } from "../plot/heatmap.ts";
import { elementSystem } from "../data/bmg_dataset.ts";
import { parseFormula } from "../data/formula.ts";
import { compositionIndicators, keysToFractions, type ScoredComposition } from "./bmg_generation.ts";

/**
 * Default ε of the composition-space Sinkhorn runs (squared atomic-fraction units; blur √ε ≈ 0.055). Measured on the
 * 687 Zr/La/Fe/Ti-based compositions: at ε = 1e-3 the literature-half transports (well separated base clusters)
 * still had a 6 % row-marginal error after 300 iterations and needed ~3000; at 3e-3, 1000 iterations reach ~0.2 %.
 */
export const DEFAULT_EVAL_EPS = 3e-3;
/** Default iterations at ε (after the ε-scaling phase) of the evaluation's Sinkhorn runs. */
export const DEFAULT_EVAL_ITERATIONS = 1000;

/** The distances of one comparison against held-out half B, as mean and standard deviation over the repeats. */
export interface DistanceRow {
  /** ≈ W₂ from the entropic plan (√⟨P, C⟩), mean over repeats. */
  distance: number;
  /** Standard deviation of `distance` over repeats (0 for one repeat). */
  distanceSd: number;
  /** Debiased Sinkhorn divergence S_ε (squared-fraction units), mean over repeats. */
  divergence: number;
  divergenceSd: number;
  /** Largest row-marginal error of the x–B transports (convergence check). */
  marginalError: number;
}

/** Everything {@link evaluateGenerated} measures. */
export interface GanEvaluation {
  samples: number;
  /** Compositions the classifier could score, and the share of those called glass. */
  classified: number;
  glassShare: number | null;
  meanGlassProbability: number | null;
  /** Share of samples that are training compositions, and the median novelty distance. */
  inTrainingShare: number;
  medianNovelty: number;
  distinctSystems: number;
  /** Element systems in the literature (training + held-out) set, for comparison. */
  literatureSystems: number;
  knownSystemShare: number;
  uniqueShare: number;
  sinkhorn: SinkhornComparison | null;
}

/** The Sinkhorn comparison of {@link sinkhornComparison}. */
export interface SinkhornComparison {
  eps: number;
  /** Points per side (half of the held-out set, at most the generated and training counts). */
  h: number;
  /** Independent draws of the halves and subsamples (all transports of all repeats run as one batch). */
  repeats: number;
  generatedVsHeldOut: DistanceRow;
  literatureHalves: DistanceRow;
  trainingVsHeldOut: DistanceRow;
}

/** Options of {@link sinkhornComparison}. */
export interface SinkhornComparisonOptions {
  /** Entropic ε in squared-fraction units (default {@link DEFAULT_EVAL_EPS}). */
  eps?: number;
  seed?: number;
  /** Iterations at ε after the ε-scaling phase (default {@link DEFAULT_EVAL_ITERATIONS}). */
  iterations?: number;
  /** Independent draws of halves and subsamples (default 5). */
  repeats?: number;
}

/**
 * Sinkhorn comparison of generated fractions with the held-out literature ([·, E] row-major each), as described in
 * the module documentation, repeated over `repeats` seeded draws of the halves and subsamples; the 7 transports per
 * repeat (three x–B transports and the four self-transports of the debiased divergence) all run as ONE batch.
 * Null when there are fewer than 4 held-out compositions.
 */
export async function sinkhornComparison(
  be: Backend,
  gen: Float64Array,
  m: number,
  train: Float64Array,
  nTrain: number,
  heldOut: Float64Array,
  nHeld: number,
  E: number,
  o: SinkhornComparisonOptions = {},
): Promise<SinkhornComparison | null> {
  const h = Math.min(Math.floor(nHeld / 2), m, nTrain);
  if (h < 2) return null;
  const R = o.repeats ?? 5;
  if (!(Number.isInteger(R) && R >= 1)) {
    throw new RangeError(`sinkhornComparison: repeats must be ≥ 1, got ${R}`);
  }
  const rng = new Rng(o.seed ?? 0, 0x51e7);
  const rows = (x: Float64Array, idx: readonly number[]) => {
    const out = new Float64Array(h * E);
    for (let i = 0; i < h; i++) out.set(x.subarray(idx[i] * E, (idx[i] + 1) * E), i * E);
    return out;
  };
  const shuffled = (n: number) => rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const pr = (x: Float64Array, y: Float64Array): SinkhornProblem => ({ x, n: h, y, m: h, d: E });
  const problems: SinkhornProblem[] = [];
  for (let k = 0; k < R; k++) {
    const order = shuffled(nHeld);
    const A = rows(heldOut, order), B = rows(heldOut, order.slice(h));
    const G = rows(gen, shuffled(m)), T = rows(train, shuffled(nTrain));
    problems.push(pr(G, B), pr(A, B), pr(T, B), pr(G, G), pr(A, A), pr(T, T), pr(B, B));
  }
  const eps = o.eps ?? DEFAULT_EVAL_EPS;
  const r = await sinkhorn(be, problems, { p: 2, eps, iterations: o.iterations ?? DEFAULT_EVAL_ITERATIONS });
  const stats = (v: number[]) => {
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const sd = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
    return [mean, sd];
  };
  // Comparison c (0 generated, 1 literature half A, 2 training) of repeat k: transport 7k + c, self-transport
  // 7k + 3 + c, and B's self-transport 7k + 6.
  const row = (c: number): DistanceRow => {
    const xy = (k: number): SinkhornResult => r[7 * k + c];
    const ks = Array.from({ length: R }, (_, k) => k);
    const [distance, distanceSd] = stats(ks.map((k) => xy(k).distance));
    const [divergence, divergenceSd] = stats(
      ks.map((k) => xy(k).dual - 0.5 * (r[7 * k + 3 + c].dual + r[7 * k + 6].dual)),
    );
    return {
      distance,
      distanceSd,
      divergence,
      divergenceSd,
      marginalError: Math.max(...ks.map((k) => xy(k).marginalError)),
    };
  };
  return {
    eps,
    h,
    repeats: R,
    generatedVsHeldOut: row(0),
    literatureHalves: row(1),
    trainingVsHeldOut: row(2),
  };
}

/** Summary numbers of scored compositions plus the Sinkhorn comparison. */
export async function evaluateGenerated(
  be: Backend,
  scored: readonly ScoredComposition[],
  elements: readonly string[],
  trainKeys: readonly string[],
  heldOutKeys: readonly string[],
  o: SinkhornComparisonOptions & { threshold?: number } = {},
): Promise<GanEvaluation> {
  const E = elements.length, m = scored.length;
  const probs = scored.map((s) => s.glassProbability).filter((p): p is number => p !== null);
  const thr = o.threshold ?? 0.5;
  const nov = scored.map((s) => s.novelty).sort((a, b) => a - b);
  const trainSystems = new Set(trainKeys.map((k) => elementSystem(parseFormula(k).elements)));
  const litSystems = new Set([
    ...trainSystems,
    ...heldOutKeys.map((k) => elementSystem(parseFormula(k).elements)),
  ]);
  const ind = compositionIndicators(scored, trainSystems);
  const gen = new Float64Array(m * E);
  scored.forEach((s, r) => gen.set(s.fractions, r * E));
  return {
    samples: m,
    classified: probs.length,
    glassShare: probs.length ? probs.filter((p) => p >= thr).length / probs.length : null,
    meanGlassProbability: probs.length ? probs.reduce((s, p) => s + p, 0) / probs.length : null,
    inTrainingShare: m ? scored.filter((s) => s.inTraining).length / m : 0,
    medianNovelty: m ? nov[Math.floor((m - 1) / 2)] : NaN,
    distinctSystems: ind.distinctSystems,
    literatureSystems: litSystems.size,
    knownSystemShare: ind.knownSystemShare,
    uniqueShare: ind.uniqueShare,
    sinkhorn: await sinkhornComparison(
      be,
      gen,
      m,
      keysToFractions(trainKeys, elements),
      trainKeys.length,
      keysToFractions(heldOutKeys, elements),
      heldOutKeys.length,
      E,
      o,
    ),
  };
}

/**
 * A reference for the glass share: for each row of `fractions` [m, E], a random composition with the same number
 * of elements, drawn uniformly from the E elements, with flat-Dirichlet fractions (−log U normalised). Seeded.
 */
export function randomCompositionsLike(
  fractions: ArrayLike<number>,
  m: number,
  E: number,
  seed: number,
): Float64Array {
  const rng = new Rng(seed, 0x7a4d), out = new Float64Array(m * E);
  for (let r = 0; r < m; r++) {
    let k = 0;
    for (let j = 0; j < E; j++) if (fractions[r * E + j] > 0) k++;
    const pick = rng.shuffle(Array.from({ length: E }, (_, j) => j)).slice(0, Math.max(1, k));
    const w = pick.map(() => -Math.log(rng.uniform()));
    const s = w.reduce((a, b) => a + b, 0);
    pick.forEach((j, i) => out[r * E + j] = w[i] / s);
  }
  return out;
}

/** A Gaussian kernel density estimate of 2-D points on a regular grid. */
export interface KdeGrid {
  nx: number;
  ny: number;
  xRange: [number, number];
  yRange: [number, number];
  /** Density at cell (ix, iy) stored at iy·nx + ix (iy 0 at the bottom). */
  values: Float64Array;
  /** Bandwidths (Scott's rule, σ_k·n^(−1/6)). */
  bandwidth: [number, number];
}

/**
 * Product-Gaussian KDE of points [n, 2] on an nx × ny grid over the given ranges; bandwidth by Scott's rule for two
 * dimensions (h_k = σ_k·n^(−1/6), floored at 1e-3 of the range).
 */
export function kdeGrid(
  pts: ArrayLike<number>,
  n: number,
  xRange: [number, number],
  yRange: [number, number],
  nx = 80,
  ny = 80,
): KdeGrid {
  const sd = (c: number) => {
    let m = 0, s = 0;
    for (let i = 0; i < n; i++) m += pts[2 * i + c] / n;
    for (let i = 0; i < n; i++) s += (pts[2 * i + c] - m) ** 2;
    return Math.sqrt(s / Math.max(1, n - 1));
  };
  const f = n ** (-1 / 6);
  const hx = Math.max(sd(0) * f, 1e-3 * (xRange[1] - xRange[0])),
    hy = Math.max(sd(1) * f, 1e-3 * (yRange[1] - yRange[0]));
  const values = new Float64Array(nx * ny);
  const norm = 1 / (n * 2 * Math.PI * hx * hy);
  for (let iy = 0; iy < ny; iy++) {
    const y = yRange[0] + ((iy + 0.5) * (yRange[1] - yRange[0])) / ny;
    for (let ix = 0; ix < nx; ix++) {
      const x = xRange[0] + ((ix + 0.5) * (xRange[1] - xRange[0])) / nx;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const dx = (x - pts[2 * i]) / hx, dy = (y - pts[2 * i + 1]) / hy;
        s += Math.exp(-0.5 * (dx * dx + dy * dy));
      }
      values[iy * nx + ix] = s * norm;
    }
  }
  return { nx, ny, xRange, yRange, values, bandwidth: [hx, hy] };
}

/** The two PCA density maps as SVG documents, and the PCA's explained-variance ratios. */
export interface PcaMaps {
  generatedSvg: string;
  literatureSvg: string;
  explainedRatio: [number, number];
}

/**
 * PCA (2 components, fitted on the literature fractions) maps: the KDE of the generated compositions with the
 * literature on top, and the KDE of the literature with the generated compositions on top (same axes).
 */
export function pcaDensityMaps(
  gen: Float64Array,
  m: number,
  lit: Float64Array,
  n: number,
  E: number,
  title: string,
): PcaMaps {
  const p = pca(lit, n, E, 2);
  const gs = pcaTransform(p, gen, m), ls = p.scores;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [s, k] of [[gs, m], [ls, n]] as const) {
    for (let i = 0; i < k; i++) {
      x0 = Math.min(x0, s[2 * i]), x1 = Math.max(x1, s[2 * i]);
      y0 = Math.min(y0, s[2 * i + 1]), y1 = Math.max(y1, s[2 * i + 1]);
    }
  }
  const px = 0.05 * (x1 - x0 || 1), py = 0.05 * (y1 - y0 || 1);
  const xr: [number, number] = [x0 - px, x1 + px], yr: [number, number] = [y0 - py, y1 + py];
  const ratio: [number, number] = [p.explainedRatio[0], p.explainedRatio[1]];
  const lab = (k: number) => `PC${k + 1} (${(100 * ratio[k]).toFixed(1)} % of variance)`;
  const cols = (s: Float64Array, k: number, c: number) =>
    Float64Array.from({ length: k }, (_, i) => s[2 * i + c]);
  const map = (
    pts: Float64Array,
    k: number,
    over: Float64Array,
    ko: number,
    what: string,
    other: string,
    color: string,
  ) =>
    fieldHeatmap(kdeGrid(pts, k, xr, yr), {
      title: `${title}: ${what}`,
      subtitle: `kernel density of ${k} ${what} compositions; ${ko} ${other} compositions on top`,
      xLabel: lab(0),
      yLabel: lab(1),
      colorLabel: "density",
      overlays: [{
        name: other,
        x: cols(over, ko, 0),
        y: cols(over, ko, 1),
        shape: "circle",
        color,
        size: 2.5,
      }],
    });
  return {
    generatedSvg: map(gs, m, ls, n, "generated", "literature", "#ffffff"),
    literatureSvg: map(ls, n, gs, m, "literature", "generated", "#ff7f0e"),
    explainedRatio: ratio,
  };
}
