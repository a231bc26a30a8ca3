/**
 * GP-BO comparator (inverse design, issue 7 deliverable 6; reference §7.2): sequential Bayesian optimisation of the
 * lower confidence bound LCB = μ − z·σ of a fitted Gaussian-process baseline at the design load, under the same
 * composition constraints as the latent-space designers.
 *
 * Each of the `iterations` rounds:
 * 1. All `restarts` starts form ONE logits tensor u [S, A] (A = allowed elements) optimised together with Adam
 *    through {@link gpPredictTensors} (our autodiff; elementwise Adam, so the starts do not interact). Steps record
 *    device work only; every `checkEvery` steps one read of the per-start objective decides whether the round is
 *    over: it is when the BEST start stopped improving (only the best is used), or after `maxSteps`.
 *    Composition x = embed(renormalise(max(softmax(u), 1e-6))): disallowed elements (whitelist/exclude) are not
 *    parameters at all, so they are exactly 0 throughout. Starts: the anchor logits log(max(a, 1e-6)) and noisy
 *    copies (N(0, 0.3²) logit noise on a randomly chosen anchor), fresh noise every round.
 * 2. Per-start objective (HV units, the original's constants): −LCB + 1e4·(d_anchor − R_trust)₊² +
 *    2e4·(R_rep − d_prev)₊², d_anchor = L2 distance to the nearest anchor (the top-HV training rows among those with
 *    load closest to the design load), d_prev = distance to the nearest earlier proposal.
 * 3. The best start's composition is projected by {@link CompositionConstraints.constrain} (max elements, min
 *    fraction, at.% grid); that exported point is the proposal. A fantasy observation y ~ N(μ, σ) of the current GP
 *    at the proposal is appended and the GP is conditioned on it with its hyperparameters and target normalisation
 *    FIXED ({@link conditionGp}: an exact block-Cholesky update, equal to a refit with fixed θ).
 *
 * Finally the distinct proposals are re-scored by the ORIGINAL GP (never conditioned on fantasies — the reference
 * re-predicted them with the fantasy-augmented GP, whose σ had shrunk at exactly those points: §10 item 32) and
 * sorted by LCB.
 *
 * Differences from the reference: Adam with autodiff gradients on all starts at once instead of 100 sequential
 * L-BFGS-B runs with finite differences; the optimiser works on the allowed elements only and the proposal is the
 * constrained (exported) composition, so the fantasy, the repulsion and the trace refer to what is exported; the
 * target normalisation is not re-estimated when fantasies are added (scikit-learn's refit with `normalize_y` would
 * rescale the prior amplitude every round).
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { keep, scope } from "../nn/scope.ts";
import { gradients, noGrad } from "../nn/autodiff.ts";
import { Adam } from "../nn/optim/adam.ts";
import {
  add,
  addScalar,
  clamp,
  concat,
  div,
  matmul,
  min,
  mulScalar,
  neg,
  relu,
  softmax,
  sqrt,
  square,
  sub,
  sum,
} from "../nn/ops.ts";
import { Rng } from "../nn/random.ts";
import { GaussianProcessModel, gpPredictTensors, maternMatrix } from "../nn/baselines/gaussian_process.ts";
import {
  choleskyFactor,
  choleskyLogDet,
  choleskySolve,
  NotPositiveDefiniteError,
  solveLower,
  solveLowerTransposed,
} from "../nn/baselines/cholesky.ts";
import { type Matrix, matrix } from "../nn/baselines/regressor.ts";
import type { StandardScaler } from "../data/scaler.ts";
import { UserError } from "../cli/errors.ts";
import type { CompositionConstraints } from "./composition_constraints.ts";
import { nearestDistances } from "./candidate_selection.ts";

/** Probability floor after the softmax (reference: 1e-6). */
export const GPBO_FLOOR = 1e-6;
/** Weight of the trust-region penalty (HV per unit distance², reference 1e4). */
export const TRUST_WEIGHT = 1e4;
/** Weight of the repulsion penalty (reference 2e4). */
export const REPULSE_WEIGHT = 2e4;
/** Standard deviation of the logit noise of the noisy restarts (reference 0.30). */
export const START_NOISE = 0.3;
/** Smallest anchor pool: max(POOL_MIN, ⌊POOL_FRACTION · n⌋) training rows with load closest to the design load. */
export const POOL_MIN = 50;
/** See {@link POOL_MIN}. */
export const POOL_FRACTION = 0.2;

/** Random streams: start noise and anchor choice ("gpbs"), fantasy draws ("gpbf"). */
const START_STREAM = 0x67706273;
const FANTASY_STREAM = 0x67706266;
/** Squared-distance floor before √ (keeps the gradient finite at distance 0). */
const DIST2_FLOOR = 1e-12;

/** Training rows: compositions (any positive scale, renormalised here), raw loads, and measured HV if known. */
export interface GpBoTrainingRows {
  /** n × E element amounts, row-major, in the order of `elements`. */
  comp: Float64Array;
  /** n raw loads (N). */
  load: Float64Array;
  /**
   * n measured hardness values, to rank anchor candidates (the reference ranks by measured HV). Without it the
   * anchors are ranked by the GP's posterior mean at each row's own composition and load.
   */
  hv?: Float64Array;
}

/** Options of {@link runGpBo}. Defaults in brackets. */
export interface GpBoOptions {
  /** Engine backend for the GP and the optimiser. */
  backend: Backend;
  /** The fitted GP baseline; inputs [E renormalised fractions, standardised load]. Not modified. */
  gp: GaussianProcessModel;
  /** The GP's load scaler (from its model directory). */
  loadScaler: StandardScaler;
  /** Element order of the GP's input columns (must equal `constraints.elements`). */
  elements: readonly string[];
  /** Design load, raw units (N). */
  designLoad: number;
  /** Constraints every proposal satisfies; disallowed elements are excluded from the optimisation itself. */
  constraints: CompositionConstraints;
  /** Training rows (anchors and novelty). */
  train: GpBoTrainingRows;
  /** Sequential rounds, one proposal each [200]. */
  iterations?: number;
  /** Starts per round, optimised as one batch [100]. */
  restarts?: number;
  /** Number of anchors K [15]. */
  anchors?: number;
  /** Trust radius around the anchors, L2 in composition space [0.12]. */
  trustRadius?: number;
  /** Repulsion radius around earlier proposals [0.02]; 0 disables repulsion. */
  repulseRadius?: number;
  /** LCB multiplier [1.645]. */
  z?: number;
  /** Seed of the start noise and the fantasy draws [1]. */
  seed?: number;
  /** Adam steps per round at most [300]. */
  maxSteps?: number;
  /** Adam learning rate on the logits [0.05]. */
  lr?: number;
  /** Steps between convergence checks (one read each) [25]. */
  checkEvery?: number;
  /** A round stops when the best start's objective improved by less than tol·max(1, |best|) over a check window [1e-5]. */
  tol?: number;
  /** Called after every round (progress). */
  onIteration?: (entry: GpBoTraceEntry) => void;
}

/** One round of the sequential loop. */
export interface GpBoTraceEntry {
  /** 0-based round. */
  iter: number;
  /** Mean, std and LCB of the proposal under the GP conditioned on the earlier fantasies (HV). */
  mu: number;
  std: number;
  lcb: number;
  /** The fantasy observation drawn at the proposal. */
  fantasy: number;
  /** L2 distance of the proposal to the nearest anchor. */
  minDistAnchor: number;
  /** L2 distance of the proposal to the nearest training composition. */
  novelty: number;
  /** Best objective of the round (at the optimiser's composition, before projection). */
  objective: number;
  /** The proposal: the constrained (exported) composition, length E. */
  composition: Float64Array;
  /** The optimiser's composition before projection, length E (disallowed elements exactly 0). */
  raw: Float64Array;
  /** Adam steps the round took. */
  steps: number;
}

/** Result of {@link runGpBo}. */
export interface GpBoResult {
  /** m distinct proposals, m × E row-major, constrained, sorted by `lcb` descending. */
  proposals: Float64Array;
  /** Per proposal: mean, std and LCB from the ORIGINAL GP (not conditioned on fantasies). */
  mu: Float64Array;
  std: Float64Array;
  lcb: Float64Array;
  /** Per proposal: L2 distance to the nearest training composition. */
  novelty: Float64Array;
  /** Per proposal: the first round that proposed it. */
  iteration: Int32Array;
  /** Training row indices of the anchors (best first). */
  anchorRows: number[];
  /** One entry per round. */
  trace: GpBoTraceEntry[];
}

// ---- fantasy conditioning --------------------------------------------------------------------------------------

/**
 * A copy of `gp` conditioned on extra observations with its hyperparameters θ AND its target normalisation
 * (yMean, yStd) fixed: the exact GP posterior given the old and the new rows, as a refit with `optimize: false`
 * would give if it kept the normalisation. The Cholesky factor is extended block-wise (O(n²m)) and
 * α' = K'⁻¹y' is updated through the Schur complement, so the old targets are not needed. New rows get the model's
 * noise variance and diagonal jitter.
 * @param xNew m × d new inputs (the model's input columns)
 * @param yNew m new targets in HV units
 * @throws {UserError} on a shape mismatch or non-finite values
 */
export function conditionGp(
  gp: GaussianProcessModel,
  xNew: Matrix,
  yNew: ArrayLike<number>,
): GaussianProcessModel {
  const n = gp.xTrain.rows, d = gp.xTrain.cols, m = xNew.rows;
  if (xNew.cols !== d) {
    throw new UserError(`conditionGp: new rows have ${xNew.cols} columns, the GP has ${d}`);
  }
  if (yNew.length !== m) throw new UserError(`conditionGp: ${yNew.length} targets for ${m} rows`);
  if (!xNew.data.every(Number.isFinite) || !Array.from(yNew).every(Number.isFinite)) {
    throw new UserError("conditionGp: new rows or targets are not finite");
  }
  if (m === 0) return gp;
  const ls = gp.lengthScales, c = gp.constant;
  const diag = gp.noise + gp.params.diagonalJitter;
  const old = { n, l: gp.l, jitter: 0 };
  // B = L⁻¹K₁₂ (n × m, column by column) and the Schur complement S = K₂₂ − BᵀB.
  const k12 = maternMatrix(gp.xTrain, xNew, ls, c); // n × m
  const bCols: Float64Array[] = [];
  for (let j = 0; j < m; j++) {
    bCols.push(solveLower(old, Float64Array.from({ length: n }, (_, i) => k12[i * m + j])));
  }
  const s = maternMatrix(xNew, xNew, ls, c);
  for (let i = 0; i < m; i++) {
    s[i * m + i] += diag;
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += bCols[i][k] * bCols[j][k];
      s[i * m + j] -= dot;
    }
  }
  let cf;
  try {
    cf = choleskyFactor(s, m, { jitterRetries: 4 });
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) {
      throw new UserError(
        `conditionGp: the conditioned kernel matrix is not positive definite (${e.message})`,
      );
    }
    throw e;
  }
  const N = n + m;
  const l = new Float64Array(N * N);
  for (let i = 0; i < n; i++) l.set(gp.l.subarray(i * n, i * n + i + 1), i * N);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < n; k++) l[(n + i) * N + k] = bCols[i][k];
    for (let k = 0; k <= i; k++) l[(n + i) * N + n + k] = cf.l[i * m + k];
  }
  // α₂ = S⁻¹(y₂ − K₂₁α), α₁ = α − K₁₁⁻¹K₁₂α₂ = α − L⁻ᵀ(Bα₂).
  const y2 = Float64Array.from(yNew, (v) => (v - gp.yMean) / gp.yStd);
  const r = y2.map((v, j) => {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += k12[i * m + j] * gp.alpha[i];
    return v - dot;
  });
  const alpha2 = choleskySolve(cf, r);
  const bAlpha = new Float64Array(n);
  for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) bAlpha[i] += bCols[j][i] * alpha2[j];
  const corr = solveLowerTransposed(old, bAlpha);
  const alpha = new Float64Array(N);
  for (let i = 0; i < n; i++) alpha[i] = gp.alpha[i] - corr[i];
  alpha.set(alpha2, n);
  // NLML of the augmented data (for the record): y₁ = K₁₁α = L(Lᵀα).
  const y1 = lowerTimes(old, upperTimes(old, gp.alpha));
  let fit = 0;
  for (let i = 0; i < n; i++) fit += y1[i] * alpha[i];
  for (let j = 0; j < m; j++) fit += y2[j] * alpha2[j];
  const nlml = 0.5 * fit + 0.5 * choleskyLogDet({ n: N, l, jitter: 0 }) + 0.5 * N * Math.log(2 * Math.PI);
  const x = new Float64Array(N * d);
  x.set(gp.xTrain.data), x.set(xNew.data, n * d);
  return new GaussianProcessModel({
    params: gp.params,
    xTrain: matrix(N, d, x),
    theta: gp.theta.slice(),
    yMean: gp.yMean,
    yStd: gp.yStd,
    alpha,
    l,
    nlml,
  });
}

/** L·v for a lower-triangular factor. */
function lowerTimes(f: { n: number; l: Float64Array }, v: Float64Array): Float64Array {
  const out = new Float64Array(f.n);
  for (let i = 0; i < f.n; i++) {
    let s = 0;
    for (let k = 0; k <= i; k++) s += f.l[i * f.n + k] * v[k];
    out[i] = s;
  }
  return out;
}

/** Lᵀ·v for a lower-triangular factor. */
function upperTimes(f: { n: number; l: Float64Array }, v: Float64Array): Float64Array {
  const out = new Float64Array(f.n);
  for (let k = 0; k < f.n; k++) {
    const vk = v[k];
    for (let i = 0; i <= k; i++) out[i] += f.l[k * f.n + i] * vk;
  }
  return out;
}

// ---- anchors and parameterisation ------------------------------------------------------------------------------

/**
 * The anchor rows (reference §7.2): the pool of max(50, ⌊0.2·n⌋) rows (at most n) whose load is closest to the
 * design load (ties: lower index first), then the `k` of them with the highest score, best first (ties: lower
 * index first).
 * @param score per-row ranking value (measured HV, or a prediction)
 */
export function selectAnchorRows(
  load: ArrayLike<number>,
  score: ArrayLike<number>,
  designLoad: number,
  k: number,
): number[] {
  const n = load.length;
  const poolSize = Math.min(n, Math.max(POOL_MIN, Math.floor(POOL_FRACTION * n)));
  const byLoad = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => Math.abs(load[a] - designLoad) - Math.abs(load[b] - designLoad) || a - b);
  return byLoad.slice(0, poolSize).sort((a, b) => score[b] - score[a] || a - b).slice(
    0,
    Math.min(k, poolSize),
  );
}

/**
 * The composition the optimiser sees and exports, on the host in float64 (the engine computes the same in the
 * objective): softmax over the allowed elements' logits, floored at {@link GPBO_FLOOR}, renormalised, and placed in
 * the allowed columns of an E-vector (disallowed columns 0).
 * @param u logits of the allowed elements (length = number of allowed elements)
 * @param allowed per element of the model's list
 */
export function compositionFromLogits(u: ArrayLike<number>, allowed: readonly boolean[]): Float64Array {
  let top = -Infinity;
  for (let j = 0; j < u.length; j++) top = Math.max(top, u[j]);
  const p = Float64Array.from(u, (v) => Math.exp(v - top));
  let s = p.reduce((a, b) => a + b, 0);
  for (let j = 0; j < p.length; j++) p[j] = Math.max(p[j] / s, GPBO_FLOOR);
  s = p.reduce((a, b) => a + b, 0);
  const out = new Float64Array(allowed.length);
  let k = 0;
  allowed.forEach((a, i) => {
    if (a) out[i] = p[k++] / s;
  });
  if (k !== u.length) {
    throw new RangeError(`compositionFromLogits: ${u.length} logits for ${k} allowed elements`);
  }
  return out;
}

/** Engine version of {@link compositionFromLogits} for logits u [S, A]; `embed` is the [A, E] 0/1 placement. */
function compositionTensor(u: Tensor, embed: Tensor): Tensor {
  const p = clamp(softmax(u, 1), GPBO_FLOOR, 1);
  return matmul(div(p, sum(p, 1, true)), embed);
}

/** Distance from each row of x [S, E] to the nearest row of ref [R, E] ([S]), ‖x‖² + ‖r‖² − 2x·r on the device. */
function nearestDistanceTensor(x: Tensor, ref: Tensor, refSq: Tensor): Tensor {
  const xs = sum(square(x), 1, true); // [S, 1]
  const d2 = sub(add(xs, refSq), mulScalar(matmul(x, ref, { transB: true }), 2)); // [S, R]
  return sqrt(clamp(min(d2, 1), DIST2_FLOOR, 1e30));
}

// ---- batched multi-start minimisation -------------------------------------------------------------------------

/** What {@link minimiseStarts} returns (values through `Backend.read`: float32 resolution). */
interface StartsResult {
  /** Final parameters, row-major [S, dim]. */
  u: Float64Array;
  /** Objective of each start at the final parameters. */
  loss: Float64Array;
  /** Adam steps taken. */
  steps: number;
}

/**
 * Minimises a per-start objective from S starts at once: one [S, dim] tensor, one forward/backward and one fused
 * Adam update per step, nothing read inside a step. Every `checkEvery` steps one read of the step's losses; the run
 * ends when the smallest finite loss improved by less than tol·max(1, |best|) since the previous check, or after
 * `maxSteps`. A final read returns the parameters and the loss there. Reads: ⌈steps / checkEvery⌉ + 1.
 */
async function minimiseStarts(
  be: Backend,
  u0: Float64Array,
  dim: number,
  objective: (u: Tensor) => Tensor,
  o: { lr: number; maxSteps: number; checkEvery: number; tol: number },
): Promise<StartsResult> {
  const S = u0.length / dim;
  const u = keep(be.fromData(u0, [S, dim]));
  u.requiresGrad = true;
  const adam = new Adam([u], { lr: o.lr });
  const seed = keep(be.fill([S], 1));
  const bestOf = (l: ArrayLike<number>) => {
    let b = Infinity;
    for (let i = 0; i < l.length; i++) if (l[i] < b) b = l[i]; // NaN never wins
    return b;
  };
  try {
    let t = 0, prevBest = Infinity;
    while (t < o.maxSteps) {
      const check = (t + 1) % o.checkEvery === 0;
      const seen = scope(() => {
        const L = objective(u);
        const [g] = gradients(L, [u], seed);
        adam.update([g]);
        return check ? noGrad(() => L.view([S])) : null;
      });
      be.flush();
      t++;
      if (!seen) continue;
      const best = bestOf(await be.read(seen));
      seen.dispose();
      if (prevBest - best < o.tol * Math.max(1, Math.abs(best))) break;
      prevBest = best;
    }
    const final = scope(() => noGrad(() => concat([u.view([S * dim]), objective(u)], 0)));
    const host = await be.read(final);
    final.dispose();
    return {
      u: Float64Array.from(host.subarray(0, S * dim)),
      loss: Float64Array.from(host.subarray(S * dim)),
      steps: t,
    };
  } finally {
    adam.dispose();
    u.dispose(), seed.dispose();
  }
}

// ---- the loop --------------------------------------------------------------------------------------------------

function checkNumber(name: string, v: number, lo: number, integer = false, strict = true): number {
  if (
    typeof v !== "number" || !Number.isFinite(v) || (strict ? !(v > lo) : !(v >= lo)) ||
    (integer && !Number.isInteger(v))
  ) {
    throw new UserError(
      `gp-bo: ${name} must be ${integer ? "a whole number" : "a number"} ${
        strict ? ">" : "≥"
      } ${lo}, got ${v}`,
    );
  }
  return v;
}

function renormalisedRows(comp: Float64Array, n: number, E: number): Float64Array {
  const out = new Float64Array(n * E);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < E; j++) s += comp[i * E + j];
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new UserError(
        `gp-bo: training row ${i}: element fractions sum to ${s}, expected a positive number`,
      );
    }
    for (let j = 0; j < E; j++) out[i * E + j] = comp[i * E + j] / s;
  }
  return out;
}

/** Host L2 distance between two E-vectors. */
function dist(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, E: number): number {
  let s = 0;
  for (let j = 0; j < E; j++) s += (a[aOff + j] - b[bOff + j]) ** 2;
  return Math.sqrt(s);
}

/**
 * Runs the sequential GP-BO design loop (see the module doc) and returns the distinct proposals scored by the
 * original GP, best LCB first.
 * @throws {UserError} one line on inconsistent inputs (element lists, GP input width, training rows) or bad options
 * @example
 * ```ts
 * const { model, loadScaler, config } = await loadBaselineDir("runs/gp", baselineSpecFor);
 * const res = await runGpBo({ backend, gp: model as GaussianProcessModel, loadScaler, elements: config.elements,
 *   designLoad: 0.98, constraints: new CompositionConstraints(config.elements), train: { comp, load, hv } });
 * ```
 */
export async function runGpBo(o: GpBoOptions): Promise<GpBoResult> {
  const be = o.backend;
  const E = o.elements.length;
  const cons = o.constraints;
  if (cons.elements.length !== E || cons.elements.some((e, i) => e !== o.elements[i])) {
    throw new UserError("gp-bo: the constraints' element list differs from the GP's elements");
  }
  if (o.gp.xTrain.cols !== E + 1) {
    throw new UserError(
      `gp-bo: the GP has ${o.gp.xTrain.cols} input columns, expected ${E + 1} (${E} elements + load)`,
    );
  }
  if (o.loadScaler.nCols !== 1) {
    throw new UserError(`gp-bo: the load scaler has ${o.loadScaler.nCols} columns`);
  }
  if (!Number.isFinite(o.designLoad)) {
    throw new UserError(`gp-bo: design load must be a finite number, got ${o.designLoad}`);
  }
  const n = o.train.load.length;
  if (n < 1) throw new UserError("gp-bo: no training rows");
  if (o.train.comp.length !== n * E) {
    throw new UserError(`gp-bo: ${o.train.comp.length} training fractions for ${n} rows of ${E} elements`);
  }
  if (o.train.hv && o.train.hv.length !== n) {
    throw new UserError(`gp-bo: ${o.train.hv.length} HV values for ${n} rows`);
  }
  const iterations = checkNumber("iterations", o.iterations ?? 200, 0, true);
  const restarts = checkNumber("restarts", o.restarts ?? 100, 0, true);
  const nAnchors = checkNumber("anchors", o.anchors ?? 15, 0, true);
  const trustR = checkNumber("trustRadius", o.trustRadius ?? 0.12, 0);
  const repR = checkNumber("repulseRadius", o.repulseRadius ?? 0.02, 0, false, false);
  const zc = checkNumber("z", o.z ?? 1.645, 0, false, false);
  const seed = checkNumber("seed", o.seed ?? 1, 0, true, false);
  const maxSteps = checkNumber("maxSteps", o.maxSteps ?? 300, 0, true);
  const lr = checkNumber("lr", o.lr ?? 0.05, 0);
  const checkEvery = checkNumber("checkEvery", o.checkEvery ?? 25, 0, true);
  const tol = checkNumber("tol", o.tol ?? 1e-5, 0, false, false);

  const loadScaled = (o.designLoad - o.loadScaler.mean[0]) / o.loadScaler.scale[0];
  const trainComp = renormalisedRows(o.train.comp, n, E);
  let score: ArrayLike<number>;
  if (o.train.hv) score = o.train.hv;
  else {
    const xs = new Float64Array(n * (E + 1));
    for (let i = 0; i < n; i++) {
      xs.set(trainComp.subarray(i * E, (i + 1) * E), i * (E + 1));
      xs[i * (E + 1) + E] = (o.train.load[i] - o.loadScaler.mean[0]) / o.loadScaler.scale[0];
    }
    score = (await o.gp.predict(matrix(n, E + 1, xs), be)).mean;
  }
  const anchorRows = selectAnchorRows(o.train.load, score, o.designLoad, nAnchors);
  const K = anchorRows.length;
  const anchorComp = new Float64Array(K * E);
  anchorRows.forEach((r, k) => anchorComp.set(trainComp.subarray(r * E, (r + 1) * E), k * E));

  const allowedIdx = cons.allowed.flatMap((a, i) => (a ? [i] : []));
  const A = allowedIdx.length;
  const anchorLogits = new Float64Array(K * A);
  for (let k = 0; k < K; k++) {
    allowedIdx.forEach((i, j) =>
      anchorLogits[k * A + j] = Math.log(Math.max(anchorComp[k * E + i], GPBO_FLOOR))
    );
  }
  const embedData = new Float64Array(A * E);
  allowedIdx.forEach((i, j) => embedData[j * E + i] = 1);

  const startRng = new Rng(seed, START_STREAM), fantasyRng = new Rng(seed, FANTASY_STREAM);
  const sqNorms = (rows: Float64Array, r: number) =>
    Float64Array.from({ length: r }, (_, i) => {
      let s = 0;
      for (let j = 0; j < E; j++) s += rows[i * E + j] ** 2;
      return s;
    });
  const consts: Tensor[] = [];
  const constant = (data: Float64Array, shape: number[]) => {
    const t = keep(be.fromData(data, shape));
    consts.push(t);
    return t;
  };
  const embed = constant(embedData, [A, E]);
  const anchorsT = constant(anchorComp, [K, E]);
  const anchorsSq = constant(sqNorms(anchorComp, K), [1, K]);
  const loadCol = constant(new Float64Array(restarts).fill(loadScaled), [restarts, 1]);

  const proposals: Float64Array[] = [];
  const trace: GpBoTraceEntry[] = [];
  let current = o.gp;
  /** The earlier proposals [t, E] and their squared norms [1, t] on the device (repulsion). */
  const earlier: { rows: Tensor | null; sq: Tensor | null } = { rows: null, sq: null };
  try {
    for (let it = 0; it < iterations; it++) {
      // Starts: the anchors, then noisy copies of random anchors (fresh noise every round).
      const u0 = new Float64Array(restarts * A);
      for (let s = 0; s < restarts; s++) {
        const k = s < K ? s : startRng.int(K);
        for (let j = 0; j < A; j++) {
          u0[s * A + j] = anchorLogits[k * A + j] + (s < K ? 0 : START_NOISE * startRng.normal());
        }
      }
      const gpNow = current, prev = earlier.rows, prevSq = earlier.sq;
      const objective = (u: Tensor) => {
        const x = compositionTensor(u, embed); // [S, E]
        const { mean, std } = gpPredictTensors(gpNow, concat([x, loadCol], 1));
        let obj = neg(sub(mean, mulScalar(std, zc))); // −LCB
        const dA = nearestDistanceTensor(x, anchorsT, anchorsSq);
        obj = add(obj, mulScalar(square(relu(addScalar(dA, -trustR))), TRUST_WEIGHT));
        if (prev && repR > 0) {
          const dP = nearestDistanceTensor(x, prev, prevSq!);
          obj = add(obj, mulScalar(square(relu(addScalar(neg(dP), repR))), REPULSE_WEIGHT));
        }
        return obj;
      };
      const res = await minimiseStarts(be, u0, A, objective, { lr, maxSteps, checkEvery, tol });
      let best = -1;
      for (let s = 0; s < restarts; s++) {
        if (Number.isFinite(res.loss[s]) && (best < 0 || res.loss[s] < res.loss[best])) best = s;
      }
      if (best < 0) throw new Error(`gp-bo: round ${it}: the objective is not finite at any start`);
      const raw = compositionFromLogits(res.u.subarray(best * A, (best + 1) * A), cons.allowed);
      const composition = cons.constrain(raw);
      const q = new Float64Array(E + 1);
      q.set(composition), q[E] = loadScaled;
      const pred = await current.predict(matrix(1, E + 1, q), be);
      const mu = pred.mean[0], sd = pred.std![0];
      const fantasy = mu + sd * fantasyRng.normal();
      let minDistAnchor = Infinity;
      for (let k = 0; k < K; k++) {
        minDistAnchor = Math.min(minDistAnchor, dist(composition, 0, anchorComp, k * E, E));
      }
      const entry: GpBoTraceEntry = {
        iter: it,
        mu,
        std: sd,
        lcb: mu - zc * sd,
        fantasy,
        minDistAnchor,
        novelty: nearestDistances(composition, trainComp, E).distance[0],
        objective: res.loss[best],
        composition,
        raw,
        steps: res.steps,
      };
      trace.push(entry);
      proposals.push(composition);

      // Condition on the fantasy (fixed θ) and refresh the repulsion set.
      const next = conditionGp(current, matrix(1, E + 1, q), [fantasy]);
      if (current !== o.gp) current.disposeTensors();
      current = next;
      earlier.rows?.dispose(), earlier.sq?.dispose();
      const flat = new Float64Array(proposals.length * E);
      proposals.forEach((p, i) => flat.set(p, i * E));
      earlier.rows = keep(be.fromData(flat, [proposals.length, E]));
      earlier.sq = keep(be.fromData(sqNorms(flat, proposals.length), [1, proposals.length]));
      o.onIteration?.(entry);
    }
  } finally {
    if (current !== o.gp) current.disposeTensors();
    earlier.rows?.dispose(), earlier.sq?.dispose();
    consts.forEach((t) => t.dispose());
  }

  // Distinct proposals (exact: they lie on the at.% grid), scored by the ORIGINAL GP, best LCB first.
  const seen = new Map<string, number>();
  const firstIter: number[] = [];
  proposals.forEach((p, it) => {
    const key = Array.from(p, (v) => Math.round(v * cons.gridUnits)).join(",");
    if (!seen.has(key)) seen.set(key, it), firstIter.push(it);
  });
  const m = firstIter.length;
  const xs = new Float64Array(m * (E + 1));
  firstIter.forEach((it, i) => {
    xs.set(proposals[it], i * (E + 1));
    xs[i * (E + 1) + E] = loadScaled;
  });
  const pred = await o.gp.predict(matrix(m, E + 1, xs), be);
  const lcbAll = pred.mean.map((v, i) => v - zc * pred.std![i]);
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => lcbAll[b] - lcbAll[a] || a - b);
  const out = new Float64Array(m * E);
  order.forEach((i, r) => out.set(proposals[firstIter[i]], r * E));
  const novelty = nearestDistances(out, trainComp, E).distance;
  return {
    proposals: out,
    mu: Float64Array.from(order, (i) => pred.mean[i]),
    std: Float64Array.from(order, (i) => pred.std![i]),
    lcb: Float64Array.from(order, (i) => lcbAll[i]),
    novelty,
    iteration: Int32Array.from(order, (i) => firstIter[i]),
    anchorRows,
    trace,
  };
}
