/**
 * The evaluation protocol of the baselines: the same rows, inputs and metrics as the VIBANN model.
 * - `cv`: K folds (the fixed `kfold5` folds of a split file, or plain seeded K-fold over all rows); each fold's
 *   model fits on every row of the other folds and predicts the fold, so every row is predicted exactly once
 *   (out-of-fold).
 * - `holdout`: one fold: train = the split file's `holdout.train` (its early-stopping rows included) or the
 *   reference split's train + calibration rows; test = the held-out test rows.
 * Per fold the load scaler is fit on the training rows only ({@link fitLoadScaler}); models that standardise their
 * target do so inside `fit`, also from the training rows. Metrics: RMSE / MAE / R² per fold and pooled over all
 * out-of-fold predictions ({@link regressionMetrics}); for models with a predictive σ also the mean Gaussian
 * negative log predictive density (NLPD, in nats, HV units), the coverage of the central 90 % Gaussian interval
 * μ ∓ 1.645σ, MACE over the default levels and the mean σ ({@link gaussianCalibration}).
 * @module
 */
import type { Backend } from "../backend.ts";
import type { StandardScaler } from "../../data/scaler.ts";
import type { FixedSplits } from "../../data/split_file.ts";
import type { ReferenceSplit } from "../../data/reference_split.ts";
import { foldTrain, kFold } from "../../data/splits.ts";
import { regressionMetrics } from "../metrics/regression.ts";
import { gaussianCalibration } from "../metrics/calibration.ts";
import type { BaselineKind, BaselineSpec, Regressor, RegressorPrediction } from "./regressor.ts";
import { type CompositionLoads, featureMatrix, fitLoadScaler } from "./features.ts";

/** The protocols. */
export type ProtocolName = "cv" | "holdout";

/** One fold: the rows a model fits on and the rows it predicts. */
export interface ProtocolFold {
  /** `fold1` … or `holdout`. */
  label: string;
  /** Training rows (ascending). */
  train: number[];
  /** Test rows (ascending). */
  test: number[];
}

/** The data of a run: every row's composition, load and measured hardness. */
export interface BaselineData extends CompositionLoads {
  /** Measured hardness (HV) per row. */
  hv: ArrayLike<number>;
}

/** A model to run: its spec and hyperparameters overriding the spec's defaults. */
export interface ModelRun {
  spec: BaselineSpec<any>;
  params?: Record<string, unknown>;
}

/** Metrics of a set of predictions. The σ fields are present only for models that predict a σ. */
export interface BaselineMetrics {
  n: number;
  rmse: number;
  mae: number;
  r2: number;
  /** Mean Gaussian negative log predictive density (nats); null when some σ is 0 (infinite density). */
  nlpd?: number | null;
  /** Fraction of rows inside μ ∓ 1.645σ. */
  coverage90?: number;
  /** Mean |coverage − level| over the levels 0.05, 0.15, …, 0.95. */
  mace?: number;
  /** Mean predictive σ (HV). */
  mean_std?: number;
}

/** One fold's outcome for one model. */
export interface FoldResult {
  label: string;
  nTrain: number;
  nTest: number;
  metrics: BaselineMetrics;
  fitSeconds: number;
  predictSeconds: number;
}

/** Out-of-fold predictions, one entry per predicted row (in fold order, then row order). */
export interface OutOfFold {
  rows: number[];
  /** Index of the fold that predicted each row. */
  fold: number[];
  mean: Float64Array;
  std: Float64Array | null;
}

/** One model's outcome over all folds. */
export interface BaselineResult {
  kind: BaselineKind;
  name: string;
  /** The hyperparameters used (defaults merged with the overrides). */
  params: Record<string, unknown>;
  folds: FoldResult[];
  /** Metrics of the pooled out-of-fold predictions. */
  metrics: BaselineMetrics;
  /** Mean over folds of RMSE / MAE / R². */
  foldMean: { rmse: number; mae: number; r2: number };
  /** Total seconds over folds. */
  fitSeconds: number;
  predictSeconds: number;
  predictions: OutOfFold;
}

/** Options of {@link runBaselines}. */
export interface RunOptions {
  backend: Backend;
  /** Seed of every model's random draws (the same for every fold, as scikit-learn's random_state). */
  seed: number;
  /** Called after each fit + predict (for progress bars). */
  onFold?: (info: { kind: BaselineKind; fold: number; folds: number; done: number; total: number }) => void;
}

/** z of the central 90 % Gaussian interval. */
export const Z90 = 1.6448536269514722;

/**
 * The CV folds: the split file's fixed folds when given, else plain seeded K-fold over all rows (`kFold`).
 * Training rows of each fold are all rows of the other folds.
 * @throws {UserError} for an impossible k (from `kFold`)
 */
export function cvFolds(
  nRows: number,
  k: number,
  seed: number,
  fixed: FixedSplits | null = null,
): ProtocolFold[] {
  const folds = fixed ? fixed.kfold : kFold(nRows, k, seed);
  return folds.map((test, f) => ({
    label: `fold${f + 1}`,
    train: foldTrain(folds, f),
    test: [...test].sort((a, b) => a - b),
  }));
}

/**
 * The holdout fold: the split file's `holdout.train` / `holdout.test`, or the reference split's train +
 * calibration rows / test rows.
 */
export function holdoutFold(split: FixedSplits | ReferenceSplit): ProtocolFold {
  const asc = (r: readonly number[]) => [...r].sort((a, b) => a - b);
  if ("holdout" in split) {
    return { label: "holdout", train: asc(split.holdout.train), test: asc(split.holdout.test) };
  }
  return { label: "holdout", train: asc([...split.train, ...split.calibration]), test: asc(split.test) };
}

/** Checks folds: non-empty, rows in range, train and test disjoint, test sets disjoint across folds. */
function checkFolds(folds: readonly ProtocolFold[], nRows: number): void {
  if (folds.length === 0) throw new Error("runBaselines: no folds");
  const tested = new Set<number>();
  for (const f of folds) {
    if (f.train.length === 0 || f.test.length === 0) {
      throw new Error(
        `runBaselines: ${f.label} has ${f.train.length} training and ${f.test.length} test rows`,
      );
    }
    const train = new Set(f.train);
    for (const r of [...f.train, ...f.test]) {
      if (!Number.isInteger(r) || r < 0 || r >= nRows) throw new Error(`runBaselines: ${f.label} row ${r}`);
    }
    for (const r of f.test) {
      if (train.has(r)) throw new Error(`runBaselines: ${f.label} trains and tests on row ${r}`);
      if (tested.has(r)) throw new Error(`runBaselines: row ${r} is tested by two folds`);
      tested.add(r);
    }
  }
}

/** Mean Gaussian negative log predictive density; null when a σ is 0 or the result is not finite. */
export function gaussianNlpd(
  y: ArrayLike<number>,
  mean: ArrayLike<number>,
  std: ArrayLike<number>,
): number | null {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const v = std[i] * std[i];
    s += 0.5 * Math.log(2 * Math.PI * v) + (y[i] - mean[i]) ** 2 / (2 * v);
  }
  const out = s / y.length;
  return Number.isFinite(out) ? out : null;
}

/** RMSE / MAE / R² (and, with `std`, NLPD, 90 % coverage, MACE, mean σ) of predictions. */
export function baselineMetrics(
  y: ArrayLike<number>,
  mean: ArrayLike<number>,
  std?: ArrayLike<number> | null,
): BaselineMetrics {
  const m = regressionMetrics(y, mean);
  const out: BaselineMetrics = { n: m.n, rmse: m.rmse, mae: m.mae, r2: m.r2 };
  if (std) {
    const c90 = gaussianCalibration(y, mean, std, { levels: [0.9] });
    out.nlpd = gaussianNlpd(y, mean, std);
    out.coverage90 = c90.coverage[0];
    out.mace = gaussianCalibration(y, mean, std).mace;
    out.mean_std = c90.sharpness;
  }
  return out;
}

/** A model fitted on some rows, with the load scaler of its inputs. */
export interface FittedBaseline {
  model: Regressor;
  loadScaler: StandardScaler;
  /** Hyperparameters used. */
  params: Record<string, unknown>;
  /** [min, max] of the raw training loads. */
  loadRange: [number, number];
  fitSeconds: number;
}

/**
 * Fits one model on `trainRows`: the load scaler from those rows, then `spec.fit` on their feature matrix and raw HV.
 */
export async function fitBaseline(
  data: BaselineData,
  trainRows: readonly number[],
  run: ModelRun,
  ctx: { backend: Backend; seed: number },
): Promise<FittedBaseline> {
  const loadScaler = fitLoadScaler(data.load, trainRows);
  const x = featureMatrix(data, loadScaler, trainRows);
  const y = Float64Array.from(trainRows, (r) => data.hv[r]);
  const params = { ...run.spec.defaults, ...run.params };
  const t0 = performance.now();
  const model = await run.spec.fit(x, y, params, ctx);
  const fitSeconds = (performance.now() - t0) / 1000;
  let lo = Infinity, hi = -Infinity;
  for (const r of trainRows) lo = Math.min(lo, data.load[r]), hi = Math.max(hi, data.load[r]);
  return { model, loadScaler, params, loadRange: [lo, hi], fitSeconds };
}

/** Predicts `rows` with a fitted baseline, checking the result's length and finiteness. */
export async function predictRows(
  fitted: { model: Regressor; loadScaler: StandardScaler },
  data: CompositionLoads,
  rows: readonly number[] | undefined,
  backend: Backend,
): Promise<RegressorPrediction> {
  const x = featureMatrix(data, fitted.loadScaler, rows);
  const p = await fitted.model.predict(x, backend);
  const kind = fitted.model.kind;
  for (const [name, v] of [["mean", p.mean], ["std", p.std]] as const) {
    if (!v) continue;
    if (v.length !== x.rows) {
      throw new Error(`${kind}: predicted ${v.length} ${name} values for ${x.rows} rows`);
    }
    const bad = v.findIndex((t) => !Number.isFinite(t) || (name === "std" && t < 0));
    if (bad >= 0) throw new Error(`${kind}: predicted ${name} ${v[bad]} for input row ${bad}`);
  }
  return p;
}

/**
 * Runs every model on every fold: fit on the fold's training rows, predict its test rows, time both, and collect
 * per-fold metrics, pooled out-of-fold metrics and the out-of-fold predictions.
 * @throws {Error} for inconsistent folds (overlapping test sets, train/test overlap, rows out of range)
 * @example
 * ```ts
 * const folds = cvFolds(ds.nRows, 5, 1, fixedSplits);
 * const [rf] = await runBaselines(data, folds, [{ spec: randomForest }], { backend, seed: 1 });
 * console.log(rf.metrics.rmse, rf.fitSeconds);
 * ```
 */
export async function runBaselines(
  data: BaselineData,
  folds: readonly ProtocolFold[],
  models: readonly ModelRun[],
  options: RunOptions,
): Promise<BaselineResult[]> {
  checkFolds(folds, data.load.length);
  const ctx = { backend: options.backend, seed: options.seed };
  const total = folds.length * models.length;
  let done = 0;
  const results: BaselineResult[] = [];
  for (const run of models) {
    const foldResults: FoldResult[] = [];
    const rows: number[] = [], foldOf: number[] = [], means: number[] = [], stds: number[] = [];
    let hasStd: boolean | null = null;
    let params: Record<string, unknown> = {};
    for (let f = 0; f < folds.length; f++) {
      const fold = folds[f];
      const fitted = await fitBaseline(data, fold.train, run, ctx);
      params = fitted.params;
      const t0 = performance.now();
      const p = await predictRows(fitted, data, fold.test, options.backend);
      const predictSeconds = (performance.now() - t0) / 1000;
      fitted.model.dispose?.();
      if (hasStd !== null && hasStd !== !!p.std) {
        throw new Error(`${run.spec.kind}: predicts a σ on some folds only`);
      }
      hasStd = !!p.std;
      const y = Float64Array.from(fold.test, (r) => data.hv[r]);
      foldResults.push({
        label: fold.label,
        nTrain: fold.train.length,
        nTest: fold.test.length,
        metrics: baselineMetrics(y, p.mean, p.std),
        fitSeconds: fitted.fitSeconds,
        predictSeconds,
      });
      fold.test.forEach((r, i) => {
        rows.push(r);
        foldOf.push(f);
        means.push(p.mean[i]);
        if (p.std) stds.push(p.std[i]);
      });
      options.onFold?.({ kind: run.spec.kind, fold: f, folds: folds.length, done: ++done, total });
    }
    const mean = Float64Array.from(means), std = hasStd ? Float64Array.from(stds) : null;
    const avg = (g: (m: BaselineMetrics) => number) =>
      foldResults.reduce((s, r) => s + g(r.metrics), 0) / foldResults.length;
    results.push({
      kind: run.spec.kind,
      name: run.spec.name,
      params,
      folds: foldResults,
      metrics: baselineMetrics(Float64Array.from(rows, (r) => data.hv[r]), mean, std),
      foldMean: { rmse: avg((m) => m.rmse), mae: avg((m) => m.mae), r2: avg((m) => m.r2) },
      fitSeconds: foldResults.reduce((s, r) => s + r.fitSeconds, 0),
      predictSeconds: foldResults.reduce((s, r) => s + r.predictSeconds, 0),
      predictions: { rows, fold: foldOf, mean, std },
    });
  }
  return results;
}
