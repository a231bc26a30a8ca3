/**
 * Evaluation of trained VIBANN members on their held-out rows: accuracy of the MC-mean (and deterministic)
 * predictor, raw MC-dropout calibration (PIT, coverage at 10 levels, MACE/IMCE, sharpness), split-conformal intervals
 * fitted on each member's calibration (early-stopping) rows and checked on its test rows, bootstrap RMSE CI, and the
 * pooled numbers: per seed, the test (holdout) or out-of-fold (CV) predictions of all members of that seed form one
 * prediction per row; metrics are then averaged over seeds (mean ± std).
 * @module
 */
import { bootstrapRmseCi, flattenRegressionMetrics, regressionMetrics } from "../metrics/regression.ts";
import { type CalibrationCurve, sampleCalibration } from "../metrics/calibration.ts";
import { spreadPitHistogram } from "../metrics/pit_spread.ts";
import { conformalInterval, type ConformalModel, fitConformal } from "../metrics/conformal.ts";
import { summarizeMcSamples } from "../metrics/mc_summary.ts";
import type { VibannPrediction } from "../models/vibann_predict.ts";
import type { Trial } from "./vibann_protocol.ts";

/** Miscoverage levels stored in a saved model's conformal calibration. */
export const SAVED_ALPHAS = [0.1, 0.05, 0.2, 0.32] as const;

/** Evaluation of one member on its test rows. */
export interface MemberEvaluation {
  label: string;
  outer: number;
  seedIndex: number;
  nTrain: number;
  nVal: number;
  nTest: number;
  latentDim: number;
  dropout: number;
  /** Metrics of the MC-mean predictor (deterministic predictor when no MC passes). */
  metrics: Record<string, number | null>;
  /** Metrics of the deterministic predictor (dropout off, z = μ). */
  deterministic: Record<string, number | null>;
  /** Raw MC-dropout calibration on the test rows (null without MC). */
  calibration: CalibrationCurve | null;
  /** Conformal model fitted on the calibration rows (null without MC). */
  conformal: ConformalModel | null;
  /** Empirical coverage of the 90 % conformal interval on the test rows. */
  conformalCoverage90: number | null;
  /** Mean width of the 90 % conformal interval (HV). */
  conformalWidth90: number | null;
}

/** Pooled evaluation of a run. */
export interface RunEvaluation {
  members: MemberEvaluation[];
  /** Conformal model fitted on the pooled calibration rows of all members (null without MC). */
  conformal: ConformalModel | null;
  /** Mean over seeds of the pooled metrics. */
  metrics: Record<string, number | null>;
  /** Standard deviation over seeds (ddof 1; 0 with one seed). */
  metricsStd: Record<string, number | null>;
  /** Per seed pooled metrics. */
  perSeed: Record<string, number | null>[];
  /** Bootstrap 95 % CI of the first seed's pooled RMSE. */
  rmseCi: { rmse: number; mean: number; lo: number; hi: number };
  /** Pooled raw MC calibration over every member's test rows (null without MC). */
  calibration: CalibrationCurve | null;
  /** PIT histogram (20 bins) of the pooled test rows (null without MC). */
  pit: { edges: number[]; counts: number[] } | null;
  conformalCoverage90: number | null;
  conformalWidth90: number | null;
  /** Out-of-fold / test predictions of the first seed, for export. */
  predictions: {
    row: number;
    hv: number;
    mean: number;
    std: number | null;
    lo90: number | null;
    hi90: number | null;
  }[];
}

/**
 * Evaluates members. `pred` covers the dataset rows `rows` (dataset indices) for every member, in the order of
 * `members`; `hv` holds the true values of every dataset row.
 */
export function evaluateRun(
  pred: VibannPrediction,
  rows: readonly number[],
  members: readonly (Trial & { test: readonly number[] })[],
  hv: ArrayLike<number>,
  seedCount: number,
): RunEvaluation {
  const n = rows.length, S = pred.mc;
  const pos = new Map(rows.map((r, i) => [r, i]));
  // Per member: MC mean and std of every evaluated row, computed once.
  const stats = members.map((_, m) =>
    pred.samples
      ? summarizeMcSamples(pred.samples.subarray(m * S * n, (m + 1) * S * n), S, { levels: [] })
      : null
  );
  const memberRows = (m: number, which: readonly number[]) => {
    const st = stats[m];
    const idx = which.map((row) => pos.get(row)!);
    const det = idx.map((i) => pred.det[m * n + i]);
    const mean = st ? idx.map((i) => st.mean[i]) : det;
    const std = st ? idx.map((i) => st.std[i]) : [];
    const y = which.map((row) => hv[row]);
    // [S, rows] layout for the calibration helpers.
    const flat = new Float64Array(S * which.length);
    if (pred.samples) {
      idx.forEach((i, j) => {
        for (let k = 0; k < S; k++) flat[k * which.length + j] = pred.samples![(m * S + k) * n + i];
      });
    }
    return { det, mean, std, y, flat };
  };
  const tests = members.map((mb, m) => memberRows(m, mb.test));
  const cals = members.map((mb, m) => memberRows(m, mb.val));
  const pooledY: number[] = [], pooledFlat: number[][] = [];
  let covSum = 0, widthSum = 0, covN = 0;
  const perRow = new Map<
    string,
    { mean: number; std: number | null; lo: number | null; hi: number | null }
  >();
  const memberEvals = members.map((mb, m): MemberEvaluation => {
    const t = tests[m];
    let calibration: CalibrationCurve | null = null, conformal: ConformalModel | null = null;
    let cov: number | null = null, width: number | null = null;
    const lo: number[] = [], hi: number[] = [];
    if (pred.samples) {
      calibration = sampleCalibration(t.flat, S, t.y);
      const c = cals[m];
      conformal = fitConformal(c.y, c.mean, c.std, { alphas: [0.1] });
      let inside = 0, w = 0;
      t.mean.forEach((mu, j) => {
        const iv = conformalInterval(conformal!, mu, t.std[j], 0.1) as { lo: number; hi: number };
        lo.push(iv.lo), hi.push(iv.hi);
        if (t.y[j] >= iv.lo && t.y[j] <= iv.hi) inside++;
        w += iv.hi - iv.lo;
      });
      cov = inside / t.y.length;
      width = w / t.y.length;
      covSum += inside, widthSum += w, covN += t.y.length;
      pooledY.push(...t.y);
      pooledFlat.push(
        ...t.mean.map((_, j) => Array.from({ length: S }, (_, k) => t.flat[k * t.y.length + j])),
      );
    }
    if (mb.seedIndex === 0) {
      mb.test.forEach((row, j) =>
        perRow.set(`${row}`, {
          mean: t.mean[j],
          std: pred.samples ? t.std[j] : null,
          lo: lo[j] ?? null,
          hi: hi[j] ?? null,
        })
      );
    }
    return {
      label: mb.label,
      outer: mb.outer,
      seedIndex: mb.seedIndex,
      nTrain: mb.train.length,
      nVal: mb.val.length,
      nTest: mb.test.length,
      latentDim: mb.latentDim,
      dropout: mb.dropout,
      metrics: flattenRegressionMetrics(regressionMetrics(t.y, t.mean)),
      deterministic: flattenRegressionMetrics(regressionMetrics(t.y, t.det)),
      calibration,
      conformal,
      conformalCoverage90: cov,
      conformalWidth90: width,
    };
  });
  // Pooled per seed: each member predicts its own test rows; rows predicted by several members of one seed (none in
  // CV or holdout) are averaged.
  const perSeed: Record<string, number | null>[] = [];
  let ci = { rmse: 0, mean: 0, lo: 0, hi: 0 };
  for (let s = 0; s < seedCount; s++) {
    const acc = new Map<number, { sum: number; k: number }>();
    members.forEach((mb, m) => {
      if (mb.seedIndex !== s) return;
      const t = tests[m];
      mb.test.forEach((row, j) => {
        const a = acc.get(row) ?? { sum: 0, k: 0 };
        a.sum += t.mean[j], a.k++;
        acc.set(row, a);
      });
    });
    const ys: number[] = [], ps: number[] = [];
    for (const [row, a] of [...acc].sort((x, y) => x[0] - y[0])) ys.push(hv[row]), ps.push(a.sum / a.k);
    perSeed.push(flattenRegressionMetrics(regressionMetrics(ys, ps)));
    if (s === 0) ci = bootstrapRmseCi(ys, ps, { seed: 1 });
  }
  const keys = Object.keys(perSeed[0]);
  const agg = (f: (v: number[]) => number) =>
    Object.fromEntries(keys.map((k) => {
      const v = perSeed.map((m) => m[k]).filter((x): x is number => x !== null);
      return [k, v.length ? f(v) : null];
    }));
  const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const stdOf = (v: number[]) => {
    if (v.length < 2) return 0;
    const m = meanOf(v);
    return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
  };
  let calibration: CalibrationCurve | null = null, pit: RunEvaluation["pit"] = null;
  if (pred.samples && pooledY.length) {
    const N = pooledY.length, flat = new Float64Array(S * N);
    pooledFlat.forEach((col, j) => col.forEach((v, k) => (flat[k * N + j] = v)));
    calibration = sampleCalibration(flat, S, pooledY);
    // The spread (randomised-rank) PIT: with S ≤ 20 passes the plain PIT k/S sits on the 20 bin edges and
    // rounding decides its bin (empty bins beside doubled ones even for a calibrated model).
    const h = spreadPitHistogram(flat, S, pooledY, 20);
    pit = { edges: h.edges, counts: h.counts.map((c) => Number(c.toFixed(6))) };
  }
  // The saved model's calibration: normalised scores pooled over every member's calibration rows.
  const conformal = pred.samples
    ? fitConformal(
      cals.flatMap((c) => c.y),
      cals.flatMap((c) => c.mean),
      cals.flatMap((c) => c.std),
      { alphas: [...SAVED_ALPHAS] },
    )
    : null;
  return {
    members: memberEvals,
    conformal,
    metrics: agg(meanOf),
    metricsStd: agg(stdOf),
    perSeed,
    rmseCi: ci,
    calibration,
    pit,
    conformalCoverage90: covN ? covSum / covN : null,
    conformalWidth90: covN ? widthSum / covN : null,
    predictions: [...perRow].map(([row, v]) => ({
      row: +row,
      hv: hv[+row],
      mean: v.mean,
      std: v.std,
      lo90: v.lo,
      hi90: v.hi,
    })).sort((a, b) => a.row - b.row),
  };
}
