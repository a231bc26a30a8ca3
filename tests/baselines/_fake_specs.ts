/**
 * Tiny stand-in baselines for the protocol, model-directory and plot tests (independent of the real models): a
 * mean predictor, an exact least-squares fit (normal equations, no intercept) that also records what it saw, and a
 * mean predictor with a constant σ. Each borrows a real kind, since kinds are a closed set.
 */
import { UserError } from "../../cli/errors.ts";
import type {
  BaselineKind,
  BaselineSpec,
  BaselineState,
  Matrix,
  Regressor,
  RegressorPrediction,
} from "../../nn/baselines/regressor.ts";

/** Mean of `y`. */
function meanOf(y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i];
  return s / y.length;
}

class ConstantModel implements Regressor {
  constructor(readonly kind: BaselineKind, readonly mean: number, readonly sigma: number | null) {}
  predict(x: Matrix): Promise<RegressorPrediction> {
    const mean = new Float64Array(x.rows).fill(this.mean);
    return Promise.resolve(
      this.sigma === null ? { mean } : { mean, std: new Float64Array(x.rows).fill(this.sigma) },
    );
  }
  state(): BaselineState {
    return {
      kind: this.kind,
      params: this.sigma === null ? { mean: this.mean } : { mean: this.mean, sigma: this.sigma },
      arrays: {},
    };
  }
}

function restoreConstant(state: BaselineState, withSigma: boolean): Regressor {
  const { mean, sigma } = state.params as { mean: unknown; sigma: unknown };
  if (typeof mean !== "number" || !Number.isFinite(mean)) {
    throw new UserError("mean predictor: params.mean must be a finite number");
  }
  if (withSigma && !(typeof sigma === "number" && sigma > 0)) {
    throw new UserError("mean predictor: params.sigma must be a number > 0");
  }
  return new ConstantModel(state.kind, mean, withSigma ? sigma as number : null);
}

/** Predicts the training mean (kind "ridge"). */
export const meanSpec: BaselineSpec<Record<string, never>> = {
  kind: "ridge",
  name: "mean predictor",
  defaults: {},
  fit: (_x, y) => Promise.resolve(new ConstantModel("ridge", meanOf(y), null)),
  restore: (s) => restoreConstant(s, false),
};

/** Predicts the training mean with a constant σ (kind "gp"). */
export const sigmaSpec: BaselineSpec<{ sigma: number }> = {
  kind: "gp",
  name: "mean ± constant σ",
  defaults: { sigma: 10 },
  fit: (_x, y, p) => Promise.resolve(new ConstantModel("gp", meanOf(y), p.sigma)),
  restore: (s) => restoreConstant(s, true),
};

/** Solves the square system a·w = b (n × n, row-major) by Gaussian elimination with partial pivoting. */
export function solveSquare(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a), v = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    for (let k = 0; k < n; k++) [m[c * n + k], m[p * n + k]] = [m[p * n + k], m[c * n + k]];
    [v[c], v[p]] = [v[p], v[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      v[r] -= f * v[c];
    }
  }
  const w = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = v[r];
    for (let k = r + 1; k < n; k++) s -= m[r * n + k] * w[k];
    w[r] = s / m[r * n + r];
  }
  return w;
}

class LinearNoIntercept implements Regressor {
  readonly kind = "lasso" as const;
  constructor(readonly coef: Float64Array, readonly seen?: Matrix[]) {}
  predict(x: Matrix): Promise<RegressorPrediction> {
    this.seen?.push(x);
    if (x.cols !== this.coef.length) {
      throw new UserError(`least squares: ${x.cols} columns, fitted on ${this.coef.length}`);
    }
    const mean = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      for (let j = 0; j < x.cols; j++) mean[i] += x.data[i * x.cols + j] * this.coef[j];
    }
    return Promise.resolve({ mean });
  }
  state(): BaselineState {
    const d = this.coef.length;
    // Three dtypes on purpose, so the model directory round trip covers F64, F32 and I32.
    return {
      kind: "lasso",
      params: { columns: d, note: "normal equations" },
      arrays: {
        coef: { dtype: "F64", shape: [d], data: Float64Array.from(this.coef) },
        coef_f32: { dtype: "F32", shape: [d], data: Float32Array.from(this.coef) },
        order: { dtype: "I32", shape: [d], data: Int32Array.from({ length: d }, (_, i) => i) },
      },
    };
  }
}

/**
 * Exact least squares without intercept (kind "lasso"). `seen`, when given, receives every matrix passed to fit
 * and predict, in call order.
 */
export function leastSquaresSpec(seen?: Matrix[]): BaselineSpec<Record<string, never>> {
  return {
    kind: "lasso",
    name: "least squares",
    defaults: {},
    fit(x, y) {
      seen?.push(x);
      const d = x.cols, a = new Float64Array(d * d), b = new Float64Array(d);
      for (let i = 0; i < x.rows; i++) {
        for (let j = 0; j < d; j++) {
          const xij = x.data[i * d + j];
          b[j] += xij * y[i];
          for (let k = 0; k < d; k++) a[j * d + k] += xij * x.data[i * d + k];
        }
      }
      return Promise.resolve(new LinearNoIntercept(solveSquare(a, b, d), seen));
    },
    restore(s) {
      const c = s.arrays.coef, cols = s.params.columns;
      if (!c || c.dtype !== "F64") throw new UserError("least squares: array 'coef' must be F64");
      if (c.shape.length !== 1 || c.shape[0] !== cols) {
        throw new UserError(`least squares: array 'coef' has shape [${c.shape}], expected [${cols}]`);
      }
      return new LinearNoIntercept(Float64Array.from(c.data));
    },
  };
}
