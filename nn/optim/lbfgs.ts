/**
 * A small limited-memory BFGS minimiser over float64 vectors with optional box bounds, for smooth objectives with a
 * handful to a few hundred parameters (Gaussian-process hyperparameters). Directions come from the usual two-loop
 * recursion; bounds are handled by projection: components that would leave the box at an active bound are dropped
 * from the direction and the step is capped where the first free variable meets its bound. Step lengths satisfy the
 * strong Wolfe conditions (bracketing + safeguarded cubic zoom, Nocedal & Wright, Algorithms 3.5/3.6), except that
 * a step capped at a bound only needs sufficient decrease. The objective may return a non-finite value (e.g. a
 * matrix that is not positive definite): the line search then backs off. Stopping rules follow scipy's L-BFGS-B
 * defaults (memory 10, ∞-norm of the projected gradient ≤ 1e-5, relative decrease ≤ 2.22e-9, 15000 iterations).
 * @module
 */

/** The objective's value and gradient at one point. */
export interface ValueAndGradient {
  f: number;
  grad: Float64Array;
}

/** An objective: may be async (e.g. it reads a result back from the GPU). */
export type Objective = (x: Float64Array) => ValueAndGradient | Promise<ValueAndGradient>;

/** Options of {@link minimizeLbfgs}. */
export interface LbfgsOptions {
  /** Lower bounds (−Infinity for none), one per variable. */
  lower?: ArrayLike<number>;
  /** Upper bounds (Infinity for none), one per variable. */
  upper?: ArrayLike<number>;
  /** Number of stored correction pairs (default 10). */
  memory?: number;
  /** Iteration limit (default 15000). */
  maxIterations?: number;
  /** Objective evaluation limit (default 15000). */
  maxEvaluations?: number;
  /** Stop when the ∞-norm of the projected gradient is at most this (default 1e-5). */
  gradTol?: number;
  /** Stop when (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) is at most this (default 2.220446049250313e-9). */
  relTol?: number;
  /** Objective evaluations allowed in one line search (default 20). */
  maxLineSearch?: number;
}

/** Outcome of {@link minimizeLbfgs}: the best point found and why the search stopped. */
export interface LbfgsResult {
  x: Float64Array;
  f: number;
  grad: Float64Array;
  iterations: number;
  evaluations: number;
  /** True when a gradient or relative-decrease criterion was met (not a limit or a failed line search). */
  converged: boolean;
  /** Why the search stopped, in words. */
  message: string;
}

const C1 = 1e-4;
const C2 = 0.9;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Minimises `objective` from `x0` (clamped into the bounds).
 * @throws {Error} when the objective is not finite at the start, or the bounds are malformed
 * @example
 * ```ts
 * const r = await minimizeLbfgs((x) => ({ f: (x[0] - 3) ** 2, grad: new Float64Array([2 * (x[0] - 3)]) }),
 *   new Float64Array([0]));
 * // r.x[0] ≈ 3
 * ```
 */
export async function minimizeLbfgs(
  objective: Objective,
  x0: ArrayLike<number>,
  options: LbfgsOptions = {},
): Promise<LbfgsResult> {
  const n = x0.length;
  const lower = Float64Array.from({ length: n }, (_, i) => options.lower?.[i] ?? -Infinity);
  const upper = Float64Array.from({ length: n }, (_, i) => options.upper?.[i] ?? Infinity);
  for (let i = 0; i < n; i++) {
    if (!(lower[i] <= upper[i])) {
      throw new Error(`lbfgs: bounds of variable ${i} are [${lower[i]}, ${upper[i]}]`);
    }
  }
  const memory = options.memory ?? 10;
  const maxIter = options.maxIterations ?? 15000;
  const maxEval = options.maxEvaluations ?? 15000;
  const gradTol = options.gradTol ?? 1e-5;
  const relTol = options.relTol ?? 2.220446049250313e-9;
  const maxLs = options.maxLineSearch ?? 20;

  let evaluations = 0;
  const evaluate = async (x: Float64Array): Promise<ValueAndGradient> => {
    evaluations++;
    const r = await objective(x);
    if (r.grad.length !== n) throw new Error(`lbfgs: gradient has ${r.grad.length} values, expected ${n}`);
    return r;
  };

  let x: Float64Array = Float64Array.from(x0, (v, i) => Math.min(upper[i], Math.max(lower[i], v)));
  let { f, grad: g }: { f: number; grad: Float64Array } = await evaluate(x);
  if (!Number.isFinite(f) || !g.every(Number.isFinite)) {
    throw new Error(`lbfgs: the objective is not finite at the starting point (f = ${f})`);
  }
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];

  /** Variables pinned at a bound with the gradient pushing outward. */
  const activeMask = (xx: Float64Array, gg: Float64Array): Uint8Array =>
    Uint8Array.from(
      { length: n },
      (_, i) => (xx[i] <= lower[i] && gg[i] > 0) || (xx[i] >= upper[i] && gg[i] < 0) ? 1 : 0,
    );
  const projGradNorm = (xx: Float64Array, gg: Float64Array): number => {
    const act = activeMask(xx, gg);
    let m = 0;
    for (let i = 0; i < n; i++) if (!act[i]) m = Math.max(m, Math.abs(gg[i]));
    return m;
  };

  /** −H·g by the two-loop recursion, restricted to the free variables. */
  const direction = (xCur: Float64Array, gg: Float64Array, act: Uint8Array): Float64Array => {
    const q = Float64Array.from(gg, (v, i) => (act[i] ? 0 : v));
    const k = sList.length;
    const alpha = new Float64Array(k);
    for (let j = k - 1; j >= 0; j--) {
      alpha[j] = rhoList[j] * dot(sList[j], q);
      const yj = yList[j];
      for (let i = 0; i < n; i++) q[i] -= alpha[j] * yj[i];
    }
    if (k > 0) {
      const gamma = dot(sList[k - 1], yList[k - 1]) / dot(yList[k - 1], yList[k - 1]);
      for (let i = 0; i < n; i++) q[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const beta = rhoList[j] * dot(yList[j], q);
      const sj = sList[j];
      for (let i = 0; i < n; i++) q[i] += (alpha[j] - beta) * sj[i];
    }
    for (let i = 0; i < n; i++) {
      // Drop every component that would leave the box at once (H can mix in pinned variables).
      const out = (xCur[i] <= lower[i] && q[i] > 0) || (xCur[i] >= upper[i] && q[i] < 0);
      q[i] = act[i] || out ? 0 : -q[i];
    }
    return q;
  };

  let iterations = 0;
  let message = "";
  let converged = false;
  let failures = 0;
  while (true) {
    if (projGradNorm(x, g) <= gradTol) {
      converged = true;
      message = "projected gradient below tolerance";
      break;
    }
    if (iterations >= maxIter) {
      message = "iteration limit reached";
      break;
    }
    if (evaluations >= maxEval) {
      message = "evaluation limit reached";
      break;
    }
    const act = activeMask(x, g);
    let d = direction(x, g, act);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (stale curvature pairs): restart from steepest descent.
      sList.length = yList.length = rhoList.length = 0;
      d = direction(x, g, act);
      slope = dot(g, d);
      if (!(slope < 0)) {
        converged = true;
        message = "no descent direction inside the bounds";
        break;
      }
    }
    // Largest step that keeps every variable inside its box.
    let stepMax = Infinity;
    for (let i = 0; i < n; i++) {
      if (d[i] < 0 && lower[i] > -Infinity) stepMax = Math.min(stepMax, (lower[i] - x[i]) / d[i]);
      else if (d[i] > 0 && upper[i] < Infinity) stepMax = Math.min(stepMax, (upper[i] - x[i]) / d[i]);
    }
    const first = sList.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(d, d))) : 1;
    const xAt = (step: number): Float64Array =>
      Float64Array.from(x, (v, i) => Math.min(upper[i], Math.max(lower[i], v + step * d[i])));
    const ls = await lineSearch(
      async (step) => {
        const xs = xAt(step);
        const r = await evaluate(xs);
        return { x: xs, f: r.f, grad: r.grad, slope: dot(r.grad, d) };
      },
      f,
      slope,
      Math.min(first, stepMax),
      stepMax,
      maxLs,
    );
    if (!ls) {
      // Retry once from steepest descent with fresh memory before giving up.
      if (sList.length > 0 && failures === 0) {
        failures++;
        sList.length = yList.length = rhoList.length = 0;
        continue;
      }
      message = "line search found no sufficient decrease";
      break;
    }
    failures = 0;
    iterations++;
    const s = Float64Array.from(ls.x, (v, i) => v - x[i]);
    const y = Float64Array.from(ls.grad, (v, i) => v - g[i]);
    const sy = dot(s, y);
    // Keep the pair only with positive curvature, so H stays positive definite.
    if (sy > 1e-10 * dot(y, y)) {
      sList.push(s), yList.push(y), rhoList.push(1 / sy);
      if (sList.length > memory) sList.shift(), yList.shift(), rhoList.shift();
    }
    const fOld = f;
    x = ls.x, f = ls.f, g = ls.grad;
    if ((fOld - f) / Math.max(Math.abs(fOld), Math.abs(f), 1) <= relTol) {
      converged = true;
      message = "relative decrease below tolerance";
      break;
    }
  }
  return { x, f, grad: g, iterations, evaluations, converged, message };
}

interface Trial {
  x: Float64Array;
  f: number;
  grad: Float64Array;
  slope: number;
}

/** Minimiser of the cubic through (a, fa, da), (b, fb, db), or NaN when it does not exist. */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - 3 * (fa - fb) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - (b - a) * (db + d2 - d1) / (db - da + 2 * d2);
}

/**
 * Strong-Wolfe line search along a fixed direction, steps in (0, stepMax]. Returns the accepted trial, or null when no
 * step with sufficient decrease was found within `maxEvals` evaluations.
 */
async function lineSearch(
  phi: (step: number) => Promise<Trial>,
  f0: number,
  slope0: number,
  step0: number,
  stepMax: number,
  maxEvals: number,
): Promise<Trial | null> {
  const armijo = (t: Trial, step: number) => Number.isFinite(t.f) && t.f <= f0 + C1 * step * slope0;
  const curvature = (t: Trial) => Math.abs(t.slope) <= -C2 * slope0;
  let best: { step: number; t: Trial } | null = null;
  const note = (step: number, t: Trial) => {
    if (armijo(t, step) && (!best || t.f < best.t.f)) best = { step, t };
  };
  let evals = 0;
  let prevStep = 0, prevF = f0, prevSlope = slope0;
  let step = step0;
  // Bracketing phase: [lo, hi] ends up holding a Wolfe point.
  let lo = 0, loF = f0, loSlope = slope0, hi = NaN, hiF = NaN, hiSlope = NaN;
  while (true) {
    if (evals >= maxEvals) return best;
    const t = await phi(step);
    evals++;
    note(step, t);
    if (!armijo(t, step) || (evals > 1 && t.f >= prevF)) {
      lo = prevStep, loF = prevF, loSlope = prevSlope;
      hi = step, hiF = t.f, hiSlope = t.slope;
      break;
    }
    if (curvature(t)) return t;
    if (t.slope >= 0) {
      lo = step, loF = t.f, loSlope = t.slope;
      hi = prevStep, hiF = prevF, hiSlope = prevSlope;
      break;
    }
    if (step >= stepMax) return t; // capped at a bound: sufficient decrease is enough
    prevStep = step, prevF = t.f, prevSlope = t.slope;
    step = Math.min(stepMax, step * 4);
  }
  // Zoom phase.
  while (evals < maxEvals) {
    const width = Math.abs(hi - lo);
    if (width < 1e-16 * Math.max(1, Math.abs(lo))) break;
    let trial = Number.isFinite(hiF) && Number.isFinite(hiSlope)
      ? cubicMin(lo, loF, loSlope, hi, hiF, hiSlope)
      : NaN;
    const a = Math.min(lo, hi), b = Math.max(lo, hi);
    // Safeguard: stay well inside the bracket, else bisect (also when the far end was not finite).
    if (!(trial > a + 0.1 * width && trial < b - 0.1 * width)) trial = (lo + hi) / 2;
    const t = await phi(trial);
    evals++;
    note(trial, t);
    if (!armijo(t, trial) || t.f >= loF) {
      hi = trial, hiF = t.f, hiSlope = t.slope;
    } else {
      if (curvature(t)) return t;
      if (t.slope * (hi - lo) >= 0) hi = lo, hiF = loF, hiSlope = loSlope;
      lo = trial, loF = t.f, loSlope = t.slope;
    }
  }
  return best ? (best as { step: number; t: Trial }).t : null;
}
