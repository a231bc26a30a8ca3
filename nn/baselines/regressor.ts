/**
 * The contract every baseline regressor (random forest, boosted trees, SVR, KNN, Ridge, Lasso, MLP, GP) follows,
 * so one protocol runner can fit, evaluate, save and reload any of them. Inputs are row-major float64 matrices; a
 * model that computes on the engine converts to float32 tensors itself. State is split into small JSON
 * hyperparameters and named typed arrays, which the model directory stores as config.json + safetensors.
 * @module
 */
import type { Backend } from "../backend.ts";

/** A dense row-major float64 matrix (`data.length === rows * cols`). */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Builds a {@link Matrix}, checking the size. */
export function matrix(
  rows: number,
  cols: number,
  data: Float64Array = new Float64Array(rows * cols),
): Matrix {
  if (data.length !== rows * cols) throw new Error(`matrix: ${data.length} values for ${rows}×${cols}`);
  return { rows, cols, data };
}

/** Rows `idx` of `x`, as a new matrix. */
export function takeRows(x: Matrix, idx: readonly number[]): Matrix {
  const out = new Float64Array(idx.length * x.cols);
  idx.forEach((r, i) => out.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols));
  return matrix(idx.length, x.cols, out);
}

/** Predictions for n rows: the mean, and a predictive standard deviation for models that have one (GP). */
export interface RegressorPrediction {
  mean: Float64Array;
  std?: Float64Array;
}

/** What a fit may use: the engine backend for numeric work, and a seed for every random draw. */
export interface FitContext {
  backend: Backend;
  seed: number;
}

/** A named typed array with its shape, as stored in the model directory's safetensors file. */
export type StateArray =
  | { dtype: "F64"; shape: number[]; data: Float64Array }
  | { dtype: "F32"; shape: number[]; data: Float32Array }
  | { dtype: "I32"; shape: number[]; data: Int32Array };

/** Everything needed to rebuild a fitted model: JSON hyperparameters plus named arrays. */
export interface BaselineState {
  /** Model kind, e.g. "rf", "gbt", "svr", "knn", "ridge", "lasso", "mlp", "gp". */
  kind: BaselineKind;
  /** Hyperparameters and small scalars (JSON-serialisable). */
  params: Record<string, unknown>;
  /** Fitted arrays (weights, support vectors, tree nodes, training inputs …). */
  arrays: Record<string, StateArray>;
}

/** The baseline model kinds, in the order tables list them. */
export const BASELINE_KINDS = ["rf", "gbt", "svr", "knn", "ridge", "lasso", "mlp", "gp"] as const;
/** One baseline model kind. */
export type BaselineKind = typeof BASELINE_KINDS[number];

/** A fitted regressor. `predict` may run on the engine, hence async. */
export interface Regressor {
  readonly kind: BaselineKind;
  /** Predicts every row of `x` (same columns as the training matrix). */
  predict(x: Matrix, backend: Backend): Promise<RegressorPrediction>;
  /** Serialisable state; `BaselineSpec.restore(state)` must give back a model that predicts identically. */
  state(): BaselineState;
  /** Frees device memory the model caches for prediction (optional; the model stays usable). */
  dispose?(): void;
}

/** How to fit and restore one kind of baseline. */
export interface BaselineSpec<P> {
  kind: BaselineKind;
  /** Human name for tables ("random forest"). */
  name: string;
  /** Default hyperparameters (scikit-learn's defaults unless the issue says otherwise; see each file). */
  defaults: P;
  /** Fits on (x, y); `y` is raw HV. Models that standardise do so inside, from the training rows only. */
  fit(x: Matrix, y: Float64Array, params: P, ctx: FitContext): Promise<Regressor>;
  /** Rebuilds a fitted model from {@link Regressor.state}; throws a UserError naming the bad field. */
  restore(state: BaselineState): Regressor;
}
