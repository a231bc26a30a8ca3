/**
 * ε-support-vector regression with an RBF kernel K(a, b) = exp(−γ‖a − b‖²). The kernel matrices come from the engine
 * ({@link distanceTensor} then exp, one readback); the dual is solved in float64 on the CPU by SMO as in libsvm
 * (second-order working-set selection, Fan, Chen & Lin 2005; no shrinking, which changes the path, not the optimum):
 *
 *   min ½(α − α*)ᵀK(α − α*) + ε·Σ(α + α*) − yᵀ(α − α*)  s.t.  Σ(α − α*) = 0,  0 ≤ α, α* ≤ C,
 *
 * stopping when the maximal KKT violation m(α) − M(α) < tol. Prediction: f(x) = Σ (α_i − α*_i)·K(x_i, x) + b.
 *
 * Defaults are scikit-learn's `SVR()`: C = 1.0, epsilon = 0.1, gamma = "scale" = 1/(n_features·Var(X)), tol = 1e-3,
 * except that inputs and target are standardised on the training rows first (`standardize: true`; the issue asks
 * for it: on an unscaled HV target scikit-learn's defaults predict nearly a constant). ε and C therefore act in
 * units of the target's standard deviation, and gamma "scale" sees the standardised X.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { scope } from "../scope.ts";
import { exp, matmul, mulScalar, tensor } from "../ops.ts";
import { UserError } from "../../cli/errors.ts";
import type {
  BaselineSpec,
  BaselineState,
  FitContext,
  Matrix,
  Regressor,
  RegressorPrediction,
  StateArray,
} from "./regressor.ts";
import { bucketRows, distanceTensor, padRows } from "./pairwise_distance.ts";
import { checkBoolean, checkFinite, checkNumber, checkTrainingData } from "./checks.ts";

/** Hyperparameters of {@link svr} (scikit-learn `SVR` names, camel-cased). */
export interface SvrParams {
  /** Box constraint C > 0 (in standardised target units when `standardize`). */
  C: number;
  /** Half-width ε ≥ 0 of the insensitive tube (in standardised target units when `standardize`). */
  epsilon: number;
  /** RBF γ: "scale" = 1/(d·Var(X)), "auto" = 1/d, or a positive number. */
  gamma: "scale" | "auto" | number;
  /** SMO stopping tolerance on the maximal KKT violation (libsvm's eps). */
  tol: number;
  /** Maximum SMO iterations (libsvm's cap is max(10⁷, 100·n)). */
  maxIter: number;
  /** Standardise inputs (per column) and target on the training rows before fitting. */
  standardize: boolean;
}

/** The solution of the ε-SVR dual. */
export interface SvrDualSolution {
  /** α_i − α*_i for every training row (|coef| ≤ C). */
  coef: Float64Array;
  /** Bias b = −ρ. */
  intercept: number;
  /** SMO iterations run. */
  nIter: number;
  /** Whether the KKT violation fell below tol within maxIter. */
  converged: boolean;
}

const TAU = 1e-12;

/**
 * Solves the ε-SVR dual for a precomputed kernel matrix `k` (n×n row-major, symmetric) by libsvm's SMO with
 * second-order working-set selection, over the 2n variables (α, α*) with signs s = (+1…, −1…) and linear term
 * (ε − y, ε + y). The bias is the mean of s_t·G_t over free variables, or the midpoint of its bounds when none is free.
 */
export function solveEpsilonSvr(
  k: Float64Array,
  y: Float64Array,
  C: number,
  epsilon: number,
  tol: number,
  maxIter: number,
): SvrDualSolution {
  const n = y.length;
  const l = 2 * n;
  const sgn = new Int8Array(l);
  const alpha = new Float64Array(l);
  const grad = new Float64Array(l); // G = Q·α + p; α = 0 at the start
  const qd = new Float64Array(l);
  for (let t = 0; t < l; t++) {
    const i = t % n;
    sgn[t] = t < n ? 1 : -1;
    grad[t] = t < n ? epsilon - y[i] : epsilon + y[i];
    qd[t] = k[i * n + i];
  }
  const upper = (t: number) => alpha[t] >= C;
  const lower = (t: number) => alpha[t] <= 0;
  /** Q_ts = s_t·s_s·K(t mod n, s mod n). */
  const q = (t: number, s: number) => sgn[t] * sgn[s] * k[(t % n) * n + (s % n)];

  let iter = 0, converged = false;
  while (iter < maxIter) {
    // Working set: i maximises −s_t·G_t over the up-set; j minimises the second-order decrease.
    let gmax = -Infinity, gmax2 = -Infinity, iSel = -1, jSel = -1, objMin = Infinity;
    for (let t = 0; t < l; t++) {
      if (sgn[t] === 1) {
        if (!upper(t) && -grad[t] >= gmax) {
          gmax = -grad[t];
          iSel = t;
        }
      } else if (!lower(t) && grad[t] >= gmax) {
        gmax = grad[t];
        iSel = t;
      }
    }
    const i = iSel;
    for (let t = 0; t < l; t++) {
      if (sgn[t] === 1) {
        if (lower(t)) continue;
        const diff = gmax + grad[t];
        if (grad[t] >= gmax2) gmax2 = grad[t];
        if (i >= 0 && diff > 0) {
          const quad = qd[i] + qd[t] - 2 * sgn[i] * q(i, t);
          const obj = -(diff * diff) / (quad > 0 ? quad : TAU);
          if (obj <= objMin) {
            jSel = t;
            objMin = obj;
          }
        }
      } else {
        if (upper(t)) continue;
        const diff = gmax - grad[t];
        if (-grad[t] >= gmax2) gmax2 = -grad[t];
        if (i >= 0 && diff > 0) {
          const quad = qd[i] + qd[t] + 2 * sgn[i] * q(i, t);
          const obj = -(diff * diff) / (quad > 0 ? quad : TAU);
          if (obj <= objMin) {
            jSel = t;
            objMin = obj;
          }
        }
      }
    }
    if (gmax + gmax2 < tol || jSel === -1) {
      converged = true;
      break;
    }
    iter++;
    const j = jSel;
    const oldI = alpha[i], oldJ = alpha[j];
    const qij = q(i, j);
    if (sgn[i] !== sgn[j]) {
      let quad = qd[i] + qd[j] + 2 * qij;
      if (quad <= 0) quad = TAU;
      const delta = (-grad[i] - grad[j]) / quad;
      const diff = alpha[i] - alpha[j];
      alpha[i] += delta;
      alpha[j] += delta;
      if (diff > 0) {
        if (alpha[j] < 0) {
          alpha[j] = 0;
          alpha[i] = diff;
        }
      } else if (alpha[i] < 0) {
        alpha[i] = 0;
        alpha[j] = -diff;
      }
      if (diff > 0) { // C_i = C_j = C, so libsvm's "diff > C_i − C_j" is "diff > 0"
        if (alpha[i] > C) {
          alpha[i] = C;
          alpha[j] = C - diff;
        }
      } else if (alpha[j] > C) {
        alpha[j] = C;
        alpha[i] = C + diff;
      }
    } else {
      let quad = qd[i] + qd[j] - 2 * qij;
      if (quad <= 0) quad = TAU;
      const delta = (grad[i] - grad[j]) / quad;
      const sum = alpha[i] + alpha[j];
      alpha[i] -= delta;
      alpha[j] += delta;
      if (sum > C) {
        if (alpha[i] > C) {
          alpha[i] = C;
          alpha[j] = sum - C;
        }
      } else if (alpha[j] < 0) {
        alpha[j] = 0;
        alpha[i] = sum;
      }
      if (sum > C) {
        if (alpha[j] > C) {
          alpha[j] = C;
          alpha[i] = sum - C;
        }
      } else if (alpha[i] < 0) {
        alpha[i] = 0;
        alpha[j] = sum;
      }
    }
    const dI = alpha[i] - oldI, dJ = alpha[j] - oldJ;
    const ri = (i % n) * n, rj = (j % n) * n;
    for (let t = 0; t < l; t++) {
      const c = t % n;
      grad[t] += sgn[t] * (sgn[i] * k[ri + c] * dI + sgn[j] * k[rj + c] * dJ);
    }
  }

  // ρ: mean of s_t·G_t over free variables, else the midpoint of the feasible interval.
  let ub = Infinity, lb = -Infinity, sumFree = 0, nFree = 0;
  for (let t = 0; t < l; t++) {
    const yg = sgn[t] * grad[t];
    if (upper(t)) {
      if (sgn[t] === -1) ub = Math.min(ub, yg);
      else lb = Math.max(lb, yg);
    } else if (lower(t)) {
      if (sgn[t] === 1) ub = Math.min(ub, yg);
      else lb = Math.max(lb, yg);
    } else {
      nFree++;
      sumFree += yg;
    }
  }
  const rho = nFree > 0 ? sumFree / nFree : (ub + lb) / 2;
  const coef = new Float64Array(n);
  for (let i = 0; i < n; i++) coef[i] = alpha[i] - alpha[i + n];
  return { coef, intercept: -rho, nIter: iter, converged };
}

/** Per-column mean and population standard deviation (a zero deviation scales by 1, as scikit-learn's scaler). */
function columnScaler(x: Matrix): { mean: Float64Array; scale: Float64Array } {
  const { rows, cols } = x;
  const mean = new Float64Array(cols), scale = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let c = 0; c < cols; c++) mean[c] += x.data[i * cols + c];
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < cols; c++) scale[c] += (x.data[i * cols + c] - mean[c]) ** 2;
  }
  for (let c = 0; c < cols; c++) {
    const sd = Math.sqrt(scale[c] / rows);
    scale[c] = sd > 0 ? sd : 1;
  }
  return { mean, scale };
}

function standardized(x: Matrix, mean: Float64Array, scale: Float64Array): Float64Array {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (x.data[i] - mean[i % x.cols]) / scale[i % x.cols];
  return out;
}

/** RBF kernel exp(−γ‖a − b‖²) between the rows of two engine tensors, on their backend. */
function rbfKernel(a: Tensor, b: Tensor, gamma: number): Tensor {
  return exp(mulScalar(distanceTensor(a, b, 2, { squared: true }), -gamma));
}

/** γ for the standardised training inputs. */
function resolveGamma(spec: SvrParams["gamma"], xs: Float64Array, d: number): number {
  if (spec === "auto") return 1 / d;
  if (spec === "scale") {
    let s = 0, s2 = 0;
    for (const v of xs) {
      s += v;
      s2 += v * v;
    }
    const m = s / xs.length;
    const v = s2 / xs.length - m * m;
    return v > 0 ? 1 / (d * v) : 1;
  }
  return spec;
}

function checkParams(p: SvrParams): void {
  checkNumber("svr", "C", p.C, 0, true);
  checkNumber("svr", "epsilon", p.epsilon, 0);
  checkNumber("svr", "tol", p.tol, 0, true);
  checkNumber("svr", "maxIter", p.maxIter, 1);
  if (!Number.isInteger(p.maxIter)) throw new UserError(`svr maxIter: expected an integer, got ${p.maxIter}`);
  checkBoolean("svr", "standardize", p.standardize);
  if (p.gamma !== "scale" && p.gamma !== "auto") checkNumber("svr", "gamma", p.gamma, 0, true);
}

/** What a fitted SVR keeps. */
interface SvrFitted {
  params: SvrParams;
  /** The γ actually used. */
  gammaValue: number;
  /** Support vectors (standardised inputs), s×d. */
  supportVectors: Matrix;
  /** α − α* of each support vector. */
  dualCoef: Float64Array;
  intercept: number;
  xMean: Float64Array;
  xScale: Float64Array;
  yMean: number;
  yScale: number;
  nIter: number;
  converged: boolean;
}

class SvrModel implements Regressor {
  readonly kind = "svr" as const;
  constructor(readonly m: SvrFitted) {}

  async predict(x: Matrix, backend: Backend): Promise<RegressorPrediction> {
    const { m } = this;
    const d = m.xMean.length;
    if (x.cols !== d) throw new UserError(`svr: inputs have ${x.cols} columns, the model was fitted on ${d}`);
    checkFinite("svr", x);
    const f = new Float64Array(x.rows).fill(m.intercept);
    const s = m.dualCoef.length;
    if (s > 0 && x.rows > 0) {
      // Padded rows: zero test rows are dropped after the read, zero support vectors carry a zero coefficient.
      const rows = bucketRows(x.rows), sPad = bucketRows(s);
      const xs = padRows(standardized(x, m.xMean, m.xScale), d, rows);
      const out = scope(() => {
        const kt = rbfKernel(
          tensor(xs, [rows, d], { backend }),
          tensor(padRows(m.supportVectors.data, d, sPad), [sPad, d], { backend }),
          m.gammaValue,
        );
        return matmul(kt, tensor(padRows(m.dualCoef, 1, sPad), [sPad, 1], { backend }));
      });
      const host = await out.read();
      out.dispose();
      for (let i = 0; i < x.rows; i++) f[i] += host[i];
    }
    const mean = f.map((v) => m.yMean + m.yScale * v);
    return { mean };
  }

  state(): BaselineState {
    const { m } = this;
    const s = m.dualCoef.length, d = m.xMean.length;
    return {
      kind: "svr",
      params: {
        ...m.params,
        gammaValue: m.gammaValue,
        intercept: m.intercept,
        yMean: m.yMean,
        yScale: m.yScale,
        nIter: m.nIter,
        converged: m.converged,
      },
      arrays: {
        supportVectors: { dtype: "F64", shape: [s, d], data: Float64Array.from(m.supportVectors.data) },
        dualCoef: { dtype: "F64", shape: [s], data: Float64Array.from(m.dualCoef) },
        xMean: { dtype: "F64", shape: [d], data: Float64Array.from(m.xMean) },
        xScale: { dtype: "F64", shape: [d], data: Float64Array.from(m.xScale) },
      },
    };
  }
}

function f64Array(state: BaselineState, name: string, shape: (number | null)[]): Float64Array {
  const a: StateArray | undefined = state.arrays[name];
  const ok = a && a.dtype === "F64" && a.shape.length === shape.length &&
    a.shape.every((v, i) => shape[i] === null || v === shape[i]) &&
    a.data.length === a.shape.reduce((p, q) => p * q, 1) && a.data.every((v) => Number.isFinite(v));
  if (!ok) throw new UserError(`svr state: array '${name}' must be a finite F64 array of shape [${shape}]`);
  return Float64Array.from(a.data as Float64Array);
}

function finiteParam(state: BaselineState, name: string): number {
  const v = state.params[name];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new UserError(`svr state: params.${name} must be a finite number, got ${v}`);
  }
  return v;
}

/**
 * ε-SVR with an RBF kernel (scikit-learn defaults C 1.0, epsilon 0.1, gamma "scale", tol 1e-3, on standardised
 * inputs and target; see the module doc).
 */
export const svr: BaselineSpec<SvrParams> = {
  kind: "svr",
  name: "support vector regression",
  defaults: { C: 1.0, epsilon: 0.1, gamma: "scale", tol: 1e-3, maxIter: 10_000_000, standardize: true },
  async fit(x: Matrix, y: Float64Array, params: SvrParams, ctx: FitContext): Promise<Regressor> {
    checkParams(params);
    checkTrainingData("svr", x, y);
    const { rows: n, cols: d } = x;
    const xScaler = params.standardize
      ? columnScaler(x)
      : { mean: new Float64Array(d), scale: new Float64Array(d).fill(1) };
    let yMean = 0, yScale = 1;
    if (params.standardize) {
      yMean = y.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(y.reduce((a, b) => a + (b - yMean) ** 2, 0) / n);
      yScale = sd > 0 ? sd : 1;
    }
    const xs = standardized(x, xScaler.mean, xScaler.scale);
    const ys = y.map((v) => (v - yMean) / yScale);
    const gammaValue = resolveGamma(params.gamma, xs, d);
    // Rows padded to a shape bucket so CV folds share compiled kernels; the padding is dropped on the host.
    const nPad = bucketRows(n);
    const kt = scope(() => {
      const t = tensor(padRows(xs, d, nPad), [nPad, d], { backend: ctx.backend });
      return rbfKernel(t, t, gammaValue);
    });
    const kPad = await kt.read();
    kt.dispose();
    const k = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[i * n + j] = kPad[i * nPad + j];
    // Exact symmetry and K(x, x) = 1, which float32 rounding of ‖a‖² + ‖b‖² − 2ab only approximates.
    for (let i = 0; i < n; i++) {
      k[i * n + i] = 1;
      for (let j = 0; j < i; j++) k[i * n + j] = k[j * n + i] = 0.5 * (k[i * n + j] + k[j * n + i]);
    }
    const sol = solveEpsilonSvr(k, ys, params.C, params.epsilon, params.tol, Math.max(params.maxIter, 1));
    const sv: number[] = [];
    sol.coef.forEach((c, i) => c !== 0 && sv.push(i));
    const supportVectors = new Float64Array(sv.length * d);
    sv.forEach((r, i) => supportVectors.set(xs.subarray(r * d, (r + 1) * d), i * d));
    return new SvrModel({
      params: { ...params },
      gammaValue,
      supportVectors: { rows: sv.length, cols: d, data: supportVectors },
      dualCoef: Float64Array.from(sv, (i) => sol.coef[i]),
      intercept: sol.intercept,
      xMean: xScaler.mean,
      xScale: xScaler.scale,
      yMean,
      yScale,
      nIter: sol.nIter,
      converged: sol.converged,
    });
  },
  restore(state: BaselineState): Regressor {
    if (state.kind !== "svr") throw new UserError(`svr state: kind is '${state.kind}'`);
    const { C, epsilon, gamma, tol, maxIter, standardize } = state.params as Record<string, unknown>;
    const params = { C, epsilon, gamma, tol, maxIter, standardize } as SvrParams;
    checkParams(params);
    const xMean = f64Array(state, "xMean", [null]);
    const d = xMean.length;
    const xScale = f64Array(state, "xScale", [d]);
    const dualCoef = f64Array(state, "dualCoef", [null]);
    const sv = f64Array(state, "supportVectors", [dualCoef.length, d]);
    const gammaValue = finiteParam(state, "gammaValue");
    if (!(gammaValue > 0)) throw new UserError(`svr state: params.gammaValue must be > 0, got ${gammaValue}`);
    const yScale = finiteParam(state, "yScale");
    if (!(yScale > 0)) throw new UserError(`svr state: params.yScale must be > 0, got ${yScale}`);
    if (xScale.some((v) => !(v > 0))) throw new UserError(`svr state: array 'xScale' must be > 0`);
    return new SvrModel({
      params,
      gammaValue,
      supportVectors: { rows: dualCoef.length, cols: d, data: sv },
      dualCoef,
      intercept: finiteParam(state, "intercept"),
      xMean,
      xScale,
      yMean: finiteParam(state, "yMean"),
      yScale,
      nIter: typeof state.params.nIter === "number" ? state.params.nIter : 0,
      converged: state.params.converged === true,
    });
  },
};
