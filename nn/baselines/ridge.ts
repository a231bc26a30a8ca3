/**
 * Ridge regression in closed form, plus the linear-model pieces Lasso shares: the centred Gram matrix built on the
 * engine and a fitted {@link LinearModel} (coefficients + intercept) with its state.
 *
 * Defaults are scikit-learn's `Ridge()`: alpha = 1.0, fit_intercept = true, the intercept not penalised. With an
 * intercept, X and y are centred on the training means; the Gram XᵀX and Xᵀy come from one engine matmul (float32,
 * one readback) and (XᵀX + αI)·w = Xᵀy is solved by a float64 Cholesky factorisation on the CPU.
 * @module
 */
import type { Backend } from "../backend.ts";
import { scope } from "../scope.ts";
import { matmul, tensor } from "../ops.ts";
import { UserError } from "../../cli/errors.ts";
import { bucketRows, padRows } from "./pairwise_distance.ts";
import { checkBoolean, checkFinite, checkNumber, checkTrainingData } from "./checks.ts";
import type {
  BaselineSpec,
  BaselineState,
  FitContext,
  Matrix,
  Regressor,
  RegressorPrediction,
} from "./regressor.ts";

/** Hyperparameters of {@link ridge} (scikit-learn `Ridge` names, camel-cased). */
export interface RidgeParams {
  /** L2 penalty α ≥ 0 on the coefficients (not on the intercept). */
  alpha: number;
  /** Fit an intercept by centring X and y on the training means. */
  fitIntercept: boolean;
}

/** The centred normal-equation pieces of a linear model: G = XcᵀXc, Xcᵀyc and the means removed. */
export interface CenteredGram {
  /** d×d row-major XcᵀXc (float64 copy of the engine's float32 result). */
  gram: Float64Array;
  /** Xcᵀyc, length d. */
  xty: Float64Array;
  /** Column means of X (zeros without an intercept). */
  xMean: Float64Array;
  /** Mean of y (0 without an intercept). */
  yMean: number;
  /** ycᵀyc in float64. */
  yty: number;
}

/**
 * Centres X and y on the host (float64) when `fitIntercept`, then computes [Xc | yc]ᵀ·[Xc | yc] with one engine matmul
 * and one readback; G and Xᵀy are its blocks.
 */
export async function centeredGram(
  x: Matrix,
  y: Float64Array,
  fitIntercept: boolean,
  backend: Backend,
): Promise<CenteredGram> {
  const { rows: n, cols: d } = x;
  const xMean = new Float64Array(d);
  let yMean = 0;
  if (fitIntercept) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) xMean[j] += x.data[i * d + j];
      yMean += y[i];
    }
    for (let j = 0; j < d; j++) xMean[j] /= n;
    yMean /= n;
  }
  const z = new Float64Array(n * (d + 1));
  let yty = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) z[i * (d + 1) + j] = x.data[i * d + j] - xMean[j];
    const yc = y[i] - yMean;
    z[i * (d + 1) + d] = yc;
    yty += yc * yc;
  }
  // Zero rows leave [Xc | yc]ᵀ[Xc | yc] unchanged; padding the row count lets CV folds share compiled kernels.
  const rows = bucketRows(n);
  const prod = scope(() => {
    const t = tensor(padRows(z, d + 1, rows), [rows, d + 1], { backend });
    return matmul(t, t, { transA: true });
  });
  const host = await prod.read();
  prod.dispose();
  const gram = new Float64Array(d * d);
  const xty = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < d; k++) gram[j * d + k] = host[j * (d + 1) + k];
    xty[j] = host[j * (d + 1) + d];
  }
  // The float32 products of Xcᵀ·Xc need not be bit-symmetric; the solvers assume symmetry.
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) gram[j * d + k] = gram[k * d + j] = 0.5 * (gram[j * d + k] + gram[k * d + j]);
  }
  return { gram, xty, xMean, yMean, yty };
}

/**
 * Solves the symmetric positive-definite system A·x = b (A d×d row-major) by Cholesky in float64.
 * @param relTol a pivot must exceed relTol·A_ii, else A counts as singular (A from float32 data: ~1e-6)
 * @returns x, or null when A is not (numerically) positive definite
 */
export function choleskySolve(a: Float64Array, b: Float64Array, d: number, relTol = 0): Float64Array | null {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(s > relTol * Math.abs(a[i * d + i])) || !(s > 0)) return null;
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j];
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < d; i++) { // L·z = b
    let s = x[i];
    for (let k = 0; k < i; k++) s -= l[i * d + k] * x[k];
    x[i] = s / l[i * d + i];
  }
  for (let i = d - 1; i >= 0; i--) { // Lᵀ·x = z
    let s = x[i];
    for (let k = i + 1; k < d; k++) s -= l[k * d + i] * x[k];
    x[i] = s / l[i * d + i];
  }
  return x;
}

/** Intercept b = ȳ − x̄·w, the value that makes the centred fit predict the uncentred data. */
export function interceptOf(g: CenteredGram, coef: Float64Array): number {
  let b = g.yMean;
  for (let j = 0; j < coef.length; j++) b -= g.xMean[j] * coef[j];
  return b;
}

/** A fitted linear model ŷ = X·w + b (Ridge or Lasso). */
export class LinearModel implements Regressor {
  constructor(
    readonly kind: "ridge" | "lasso",
    /** Hyperparameters and fit diagnostics, stored as the state's params. */
    readonly params: Record<string, unknown>,
    readonly coef: Float64Array,
    readonly intercept: number,
  ) {}

  /**
   * ŷ = X·w + b in float64 on the CPU: one dot product per row costs less than a device round trip, and keeps
   * predictions exact.
   */
  predict(x: Matrix, _backend: Backend): Promise<RegressorPrediction> {
    if (x.cols !== this.coef.length) {
      throw new UserError(
        `${this.kind}: inputs have ${x.cols} columns, the model was fitted on ${this.coef.length}`,
      );
    }
    checkFinite(this.kind, x);
    const mean = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      let s = this.intercept;
      for (let j = 0; j < x.cols; j++) s += x.data[i * x.cols + j] * this.coef[j];
      mean[i] = s;
    }
    return Promise.resolve({ mean });
  }

  state(): BaselineState {
    return {
      kind: this.kind,
      params: { ...this.params, intercept: this.intercept },
      arrays: { coef: { dtype: "F64", shape: [this.coef.length], data: Float64Array.from(this.coef) } },
    };
  }

  /** Rebuilds a linear model of `kind` from its state; throws a UserError naming the bad field. */
  static restore(kind: "ridge" | "lasso", state: BaselineState): LinearModel {
    if (state.kind !== kind) throw new UserError(`${kind} state: kind is '${state.kind}'`);
    const coef = state.arrays.coef;
    if (!coef || coef.dtype !== "F64" || coef.shape.length !== 1 || coef.data.length !== coef.shape[0]) {
      throw new UserError(`${kind} state: array 'coef' must be a 1-D F64 array`);
    }
    if (coef.data.some((v) => !Number.isFinite(v))) {
      throw new UserError(`${kind} state: 'coef' is not finite`);
    }
    const { intercept, ...params } = state.params;
    if (typeof intercept !== "number" || !Number.isFinite(intercept)) {
      throw new UserError(`${kind} state: params.intercept must be a finite number, got ${intercept}`);
    }
    return new LinearModel(kind, params, Float64Array.from(coef.data), intercept);
  }
}

/** Ridge regression (scikit-learn defaults: alpha 1.0, fit_intercept true; closed form via Cholesky). */
export const ridge: BaselineSpec<RidgeParams> = {
  kind: "ridge",
  name: "ridge regression",
  defaults: { alpha: 1.0, fitIntercept: true },
  async fit(x: Matrix, y: Float64Array, params: RidgeParams, ctx: FitContext): Promise<Regressor> {
    const alpha = checkNumber("ridge", "alpha", params.alpha, 0);
    checkBoolean("ridge", "fitIntercept", params.fitIntercept);
    checkTrainingData("ridge", x, y);
    const d = x.cols;
    const g = await centeredGram(x, y, params.fitIntercept, ctx.backend);
    const a = Float64Array.from(g.gram);
    for (let j = 0; j < d; j++) a[j * d + j] += alpha;
    // The Gram is float32-accurate: pivots below 1e-6 of their diagonal are rounding noise, i.e. singular.
    const coef = choleskySolve(a, g.xty, d, 1e-6);
    if (!coef) {
      throw new UserError(
        `ridge alpha: XᵀX + ${alpha}·I is singular (collinear columns, e.g. fractions summing to 1); use alpha > 0`,
      );
    }
    const intercept = params.fitIntercept ? interceptOf(g, coef) : 0;
    return new LinearModel("ridge", { alpha, fitIntercept: params.fitIntercept }, coef, intercept);
  },
  restore: (state: BaselineState): Regressor => LinearModel.restore("ridge", state),
};
