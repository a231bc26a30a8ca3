/**
 * Lasso regression by cyclic coordinate descent on the centred Gram matrix (built on the engine, see
 * {@link centeredGram}), in float64 on the CPU. It minimises 1/(2n)·‖y − X·w − b‖² + α·‖w‖₁ with the intercept
 * unpenalised, and follows scikit-learn's `enet_coordinate_descent` step for step: the same cyclic soft-thresholding
 * updates, and the same stopping rule (when the largest weight change of a sweep is below tol·max|w|, stop if the
 * duality gap is below tol·‖yc‖²). With the Gram precomputed each sweep costs O(d²), independent of the row count.
 *
 * Defaults are scikit-learn's `Lasso()`: alpha = 1.0, fit_intercept = true, tol = 1e-4, max_iter = 1000.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { BaselineSpec, BaselineState, FitContext, Matrix, Regressor } from "./regressor.ts";
import { checkBoolean, checkNumber, checkTrainingData } from "./checks.ts";
import { type CenteredGram, centeredGram, interceptOf, LinearModel } from "./ridge.ts";

/** Hyperparameters of {@link lasso} (scikit-learn `Lasso` names, camel-cased). */
export interface LassoParams {
  /** L1 penalty α ≥ 0 (objective 1/(2n)·‖y − Xw − b‖² + α‖w‖₁). */
  alpha: number;
  /** Fit an unpenalised intercept by centring X and y. */
  fitIntercept: boolean;
  /** Maximum number of coordinate-descent sweeps. */
  maxIter: number;
  /** Stopping tolerance (relative weight change, then duality gap relative to ‖yc‖²). */
  tol: number;
}

/** Outcome of {@link lassoCoordinateDescent}. */
export interface LassoSolution {
  coef: Float64Array;
  /** Sweeps run. */
  nIter: number;
  /** Duality gap of the unnormalised problem ½‖yc − Xc·w‖² + nα‖w‖₁ at the last check. */
  dualGap: number;
  /** Whether the gap fell below tol·‖yc‖² within maxIter sweeps. */
  converged: boolean;
}

/** Duality gap of ½‖r‖² + l1·‖w‖₁ from Gram quantities (r = yc − Xc·w, q = G·w), as scikit-learn computes it. */
function dualityGap(g: CenteredGram, w: Float64Array, q: Float64Array, l1: number): number {
  const d = w.length;
  let wXty = 0, wq = 0, l1Norm = 0, dualNorm = 0;
  for (let j = 0; j < d; j++) {
    wXty += w[j] * g.xty[j];
    wq += w[j] * q[j];
    l1Norm += Math.abs(w[j]);
    dualNorm = Math.max(dualNorm, Math.abs(g.xty[j] - q[j])); // |Xᵀr|_∞
  }
  const rNorm2 = Math.max(0, g.yty - 2 * wXty + wq);
  const rTy = g.yty - wXty;
  let gap: number, scale: number;
  if (dualNorm > l1) {
    scale = l1 / dualNorm;
    gap = 0.5 * rNorm2 * (1 + scale * scale);
  } else {
    scale = 1;
    gap = rNorm2;
  }
  return gap + l1 * l1Norm - scale * rTy;
}

/**
 * Cyclic coordinate descent for ½‖yc − Xc·w‖² + n·α·‖w‖₁ given G = XcᵀXc and Xcᵀyc (scikit-learn's algorithm).
 * A column with G_jj = 0 keeps w_j = 0.
 */
export function lassoCoordinateDescent(
  g: CenteredGram,
  nRows: number,
  alpha: number,
  maxIter: number,
  tol: number,
): LassoSolution {
  const d = g.xty.length;
  const l1 = alpha * nRows;
  const gapTol = tol * g.yty;
  const w = new Float64Array(d);
  const q = new Float64Array(d); // G·w, kept up to date
  let gap = Infinity, nIter = 0, converged = false;
  for (let iter = 0; iter < maxIter; iter++) {
    nIter = iter + 1;
    let wMax = 0, dwMax = 0;
    for (let j = 0; j < d; j++) {
      const gjj = g.gram[j * d + j];
      if (gjj === 0) continue;
      const old = w[j];
      const rho = g.xty[j] - q[j] + gjj * old; // X_jᵀ(r + X_j·w_j)
      const next = Math.sign(rho) * Math.max(Math.abs(rho) - l1, 0) / gjj;
      if (next !== old) {
        const dw = next - old;
        for (let k = 0; k < d; k++) q[k] += g.gram[k * d + j] * dw;
        w[j] = next;
      }
      dwMax = Math.max(dwMax, Math.abs(next - old));
      wMax = Math.max(wMax, Math.abs(next));
    }
    if (wMax === 0 || dwMax / wMax < tol || iter === maxIter - 1) {
      gap = dualityGap(g, w, q, l1);
      if (gap < gapTol) {
        converged = true;
        break;
      }
    }
  }
  return { coef: w, nIter, dualGap: gap, converged };
}

/**
 * Lasso regression (scikit-learn defaults: alpha 1.0, fit_intercept true, max_iter 1000, tol 1e-4; coordinate descent).
 * Like scikit-learn, a fit that reaches maxIter keeps its last weights; the state records `converged: false`.
 */
export const lasso: BaselineSpec<LassoParams> = {
  kind: "lasso",
  name: "lasso",
  defaults: { alpha: 1.0, fitIntercept: true, maxIter: 1000, tol: 1e-4 },
  async fit(x: Matrix, y: Float64Array, params: LassoParams, ctx: FitContext): Promise<Regressor> {
    const alpha = checkNumber("lasso", "alpha", params.alpha, 0);
    const tol = checkNumber("lasso", "tol", params.tol, 0);
    const maxIter = checkNumber("lasso", "maxIter", params.maxIter, 1);
    if (!Number.isInteger(maxIter)) throw new UserError(`lasso maxIter: expected an integer, got ${maxIter}`);
    const fitIntercept = checkBoolean("lasso", "fitIntercept", params.fitIntercept);
    checkTrainingData("lasso", x, y);
    const g = await centeredGram(x, y, fitIntercept, ctx.backend);
    const sol = lassoCoordinateDescent(g, x.rows, alpha, maxIter, tol);
    const intercept = fitIntercept ? interceptOf(g, sol.coef) : 0;
    const stored = {
      alpha,
      fitIntercept,
      maxIter,
      tol,
      nIter: sol.nIter,
      dualGap: sol.dualGap,
      converged: sol.converged,
    };
    return new LinearModel("lasso", stored, sol.coef, intercept);
  },
  restore: (state: BaselineState): Regressor => LinearModel.restore("lasso", state),
};
