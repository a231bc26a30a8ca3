/**
 * Gaussian-process regression baseline, as scikit-learn's `GaussianProcessRegressor(kernel=ConstantKernel() *
 * Matern(nu=2.5) + WhiteKernel(), normalize_y=True)`:
 *
 *   k(x, x') = c · (1 + t + t²/3) · e^(−t) + σ²_n · [x = x'],   t = √5 · ‖(x − x') / ℓ‖
 *
 * with one length-scale ℓ (isotropic, scikit-learn's default scalar `length_scale`) or one per input column (`ard`).
 * The hyperparameters θ = (log c, log ℓ…, log σ²_n) — scikit-learn's order and parametrisation, so c is the squared
 * amplitude and σ²_n the noise variance — maximise the log marginal likelihood, by L-BFGS ({@link minimizeLbfgs})
 * within scikit-learn's default bounds 1e-5 … 1e5 on c, ℓ and σ²_n, starting from c = ℓ = σ²_n = 1, with no extra
 * random restarts by default (`n_restarts_optimizer = 0`) and 1e-10 added to the training diagonal (`alpha`).
 *
 * Numerics: the marginal likelihood and its Cholesky factor are float64 on the host (nn/baselines/cholesky.ts).
 * Its gradient comes from our autodiff: K(θ) is built from differentiable engine ops ({@link maternKernelTensor}) on
 * the fit's backend and dNLML/dK = ½(K⁻¹ − ααᵀ) is pushed back through that graph as the seed of `gradients`.
 * Predictions run on the engine too ({@link gpPredictTensors}, differentiable in the query inputs for Bayesian
 * optimisation). Inputs are used as given; they are only centred on the training mean inside (distances do not
 * change, and float32 ‖a‖² + ‖b‖² − 2a·b loses less to cancellation).
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { CpuBackend } from "../cpu_backend.ts";
import { gradients, noGrad } from "../autodiff.ts";
import { keep, scope } from "../scope.ts";
import {
  add,
  addScalar,
  affine,
  clamp,
  concat,
  exp,
  matmul,
  mul,
  mulScalar,
  neg,
  reshape,
  sqrt,
  square,
  sub,
  sum,
  tensor,
} from "../ops.ts";
import { Rng } from "../random.ts";
import { minimizeLbfgs } from "../optim/lbfgs.ts";
import { UserError } from "../../cli/errors.ts";
import {
  type CholeskyFactor,
  choleskyFactor,
  choleskyInverse,
  choleskyLogDet,
  choleskySolve,
  lowerInverse,
  NotPositiveDefiniteError,
} from "./cholesky.ts";
import type {
  BaselineSpec,
  BaselineState,
  FitContext,
  Matrix,
  Regressor,
  RegressorPrediction,
  StateArray,
} from "./regressor.ts";

/** Hyperparameters of the Gaussian process (defaults: scikit-learn's, see the module doc). */
export interface GaussianProcessParams {
  /** One length-scale per input column (automatic relevance determination) instead of one shared (false). */
  ard: boolean;
  /** Standardise y on the training rows (scikit-learn `normalize_y`; true as the issue asks). */
  normalizeY: boolean;
  /** Maximise the marginal likelihood (true); false keeps the initial values (scikit-learn `optimizer=None`). */
  optimize: boolean;
  /** Extra L-BFGS runs from θ drawn log-uniformly within the bounds (scikit-learn `n_restarts_optimizer`, 0). */
  restarts: number;
  /** Initial c, the squared amplitude (ConstantKernel `constant_value`, 1). */
  initConstant: number;
  /** Initial length-scale(s) (Matern `length_scale`, 1). */
  initLengthScale: number;
  /** Initial noise variance σ²_n (WhiteKernel `noise_level`, 1). */
  initNoise: number;
  /** Bounds on c ([1e-5, 1e5]). */
  constantBounds: [number, number];
  /** Bounds on every length-scale ([1e-5, 1e5]). */
  lengthScaleBounds: [number, number];
  /** Bounds on σ²_n ([1e-5, 1e5]). */
  noiseBounds: [number, number];
  /** Added to the training kernel's diagonal, not to predictive variances (scikit-learn `alpha`, 1e-10). */
  diagonalJitter: number;
}

const DEFAULTS: GaussianProcessParams = {
  ard: false,
  normalizeY: true,
  optimize: true,
  restarts: 0,
  initConstant: 1,
  initLengthScale: 1,
  initNoise: 1,
  constantBounds: [1e-5, 1e5],
  lengthScaleBounds: [1e-5, 1e5],
  noiseBounds: [1e-5, 1e5],
  diagonalJitter: 1e-10,
};

/** Random stream of the restart draws ("gp"). */
const RESTART_STREAM = 0x6770;
/** Lower clamp of 5·r² before the square root: keeps √ differentiable at r = 0 (k changes by < 1e-12 there). */
const DIST_FLOOR = 1e-12;
/** Rows per predict batch on the engine. */
const PREDICT_BATCH = 4096;

// ---- kernel ---------------------------------------------------------------------------------------------------

/** Matérn-5/2 correlation at 5·r² = `s5`: (1 + t + t²/3)·e^(−t) with t = √s5. */
function matern52(s5: number): number {
  const t = Math.sqrt(s5);
  return (1 + t + t * t / 3) * Math.exp(-t);
}

/**
 * c · Matérn-5/2 between the rows of `a` (n×d) and `b` (m×d) in float64, length-scales `lengthScales` (1 or d
 * values). Returns the n×m matrix, row-major.
 */
export function maternMatrix(
  a: Matrix,
  b: Matrix,
  lengthScales: ArrayLike<number>,
  constant: number,
): Float64Array {
  const d = a.cols;
  if (b.cols !== d) throw new Error(`maternMatrix: ${a.cols} vs ${b.cols} columns`);
  const inv = Float64Array.from({ length: d }, (_, j) => 1 / lengthScales[lengthScales.length === 1 ? 0 : j]);
  const out = new Float64Array(a.rows * b.rows);
  const symmetric = a === b; // a Gram matrix: compute the lower triangle and mirror it
  for (let i = 0; i < a.rows; i++) {
    const ra = i * d;
    for (let j = 0; j < (symmetric ? i + 1 : b.rows); j++) {
      const rb = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const z = (a.data[ra + k] - b.data[rb + k]) * inv[k];
        s += z * z;
      }
      const v = constant * matern52(5 * s);
      out[i * b.rows + j] = v;
      if (symmetric) out[j * b.rows + i] = v;
    }
  }
  return out;
}

/**
 * exp(logConstant) · Matérn-5/2 between the rows of `a` [n, d] and `b` [m, d] as engine ops, differentiable in all
 * four inputs; `logLengthScales` is [1] (isotropic) or [d] (ARD), `logConstant` is [1]. Squared distances come from
 * ‖a‖² + ‖b‖² − 2a·bᵀ (one matmul) and are floored before the square root, so the gradient is finite at r = 0.
 * Pass the same tensor as `a` and `b` for a training Gram matrix.
 */
export function maternKernelTensor(
  a: Tensor,
  b: Tensor,
  logLengthScales: Tensor,
  logConstant: Tensor,
): Tensor {
  const inv = exp(neg(logLengthScales));
  const as = mul(a, inv);
  const na = sum(square(as), 1, true); // [n, 1]
  const bs = b === a ? as : mul(b, inv);
  const nb = b === a ? reshape(na, [1, a.shape[0]]) : reshape(sum(square(bs), 1), [1, b.shape[0]]);
  const cross = matmul(as, bs, { transB: true }); // [n, m]
  const s5 = affine(sub(add(na, nb), mulScalar(cross, 2)), 5);
  const t = sqrt(clamp(s5, DIST_FLOOR, 1e30));
  const poly = add(addScalar(t, 1), mulScalar(square(t), 1 / 3));
  return mul(mul(poly, exp(neg(t))), exp(logConstant));
}

/** Values of `t` as float64 (exact on a float64 CPU backend; one read elsewhere). */
async function readF64(t: Tensor): Promise<Float64Array> {
  if (t.backend instanceof CpuBackend) return Float64Array.from(t.backend.data(t));
  return Float64Array.from(await t.read());
}

// ---- marginal likelihood --------------------------------------------------------------------------------------

/** The pieces of one marginal-likelihood evaluation. */
export interface MarginalLikelihoodValue {
  /** Negative log marginal likelihood ½yᵀα + ½log det K + (n/2) log 2π. */
  nlml: number;
  /** Cholesky factor of K = c·M + (σ²_n + jitter)·I. */
  factor: CholeskyFactor;
  /** α = K⁻¹y. */
  alpha: Float64Array;
}

/**
 * The negative log marginal likelihood of targets `y` at inputs `x` as a function of θ = (log c, log ℓ…, log σ²_n),
 * valued in float64 on the host and differentiated through the engine. Call {@link GpMarginalLikelihood.dispose}
 * to free the engine tensors.
 */
export class GpMarginalLikelihood {
  readonly n: number;
  /** Number of length-scales (1, or the number of columns with ARD). */
  readonly lengthScales: number;
  #x: Matrix;
  #y: Float64Array;
  #jitter: number;
  #backend: Backend;
  #xt: Tensor | null = null;
  #eye: Tensor | null = null;

  constructor(x: Matrix, y: Float64Array, ard: boolean, diagonalJitter: number, backend: Backend) {
    this.n = x.rows;
    this.lengthScales = ard ? x.cols : 1;
    this.#x = x;
    this.#y = y;
    this.#jitter = diagonalJitter;
    this.#backend = backend;
  }

  /** Length of θ. */
  get size(): number {
    return this.lengthScales + 2;
  }

  /** K(θ) in float64 (row-major n×n, noise and jitter on the diagonal). */
  gram(theta: ArrayLike<number>): Float64Array {
    const ls = Array.from({ length: this.lengthScales }, (_, i) => Math.exp(theta[1 + i]));
    const k = maternMatrix(this.#x, this.#x, ls, Math.exp(theta[0]));
    const noise = Math.exp(theta[this.size - 1]) + this.#jitter;
    for (let i = 0; i < this.n; i++) k[i * this.n + i] += noise;
    return k;
  }

  /**
   * The NLML at θ with its factor and α.
   * @throws {NotPositiveDefiniteError} when K(θ) is not positive definite (with `jitterRetries` 0, the default
   *   here, as scikit-learn, which scores such θ as −∞ log-likelihood)
   */
  value(theta: ArrayLike<number>, jitterRetries = 0): MarginalLikelihoodValue {
    const factor = choleskyFactor(this.gram(theta), this.n, { jitterRetries });
    const alpha = choleskySolve(factor, this.#y);
    let fit = 0;
    for (let i = 0; i < this.n; i++) fit += this.#y[i] * alpha[i];
    const nlml = 0.5 * fit + 0.5 * choleskyLogDet(factor) + 0.5 * this.n * Math.log(2 * Math.PI);
    return { nlml, factor, alpha };
  }

  /** The NLML and dNLML/dθ: the host gives dNLML/dK = ½(K⁻¹ − ααᵀ), the engine graph of K(θ) the rest. */
  async valueAndGradient(theta: ArrayLike<number>): Promise<{ nlml: number; grad: Float64Array }> {
    const { nlml, factor, alpha } = this.value(theta);
    const n = this.n;
    const seed = choleskyInverse(factor);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) seed[i * n + j] = 0.5 * (seed[i * n + j] - alpha[i] * alpha[j]);
    }
    const be = this.#backend;
    this.#xt ??= keep(be.fromData(this.#x.data, [n, this.#x.cols]));
    this.#eye ??= keep(be.fromData(identity(n), [n, n]));
    const xt = this.#xt, eye = this.#eye;
    const g = scope(() => {
      const opt = { backend: be, requiresGrad: true };
      const lc = tensor([theta[0]], [1], opt);
      const ll = tensor(Array.from({ length: this.lengthScales }, (_, i) => theta[1 + i]), [
        this.lengthScales,
      ], opt);
      const ln = tensor([theta[this.size - 1]], [1], opt);
      const k = add(maternKernelTensor(xt, xt, ll, lc), mul(eye, exp(ln)));
      const seedT = be.fromData(seed, [n, n]);
      const gs = gradients(k, [lc, ll, ln], seedT);
      return concat(gs.map((gi, i) => gi ?? be.fill([i === 1 ? this.lengthScales : 1], 0)), 0);
    });
    const grad = await readF64(g);
    g.dispose();
    return { nlml, grad };
  }

  /** Frees the engine tensors. */
  dispose(): void {
    this.#xt?.dispose(), this.#eye?.dispose();
    this.#xt = this.#eye = null;
  }
}

function identity(n: number): Float64Array {
  const e = new Float64Array(n * n);
  for (let i = 0; i < n; i++) e[i * n + i] = 1;
  return e;
}

// ---- the fitted model -----------------------------------------------------------------------------------------

/** Everything a fitted GP holds. */
interface GpFitted {
  params: GaussianProcessParams;
  /** Training inputs as given (n×d). */
  xTrain: Matrix;
  /** θ = (log c, log ℓ…, log σ²_n). */
  theta: Float64Array;
  yMean: number;
  yStd: number;
  /** α = K⁻¹ y (normalised targets). */
  alpha: Float64Array;
  /** Cholesky factor L of the training K (n×n, row-major). */
  l: Float64Array;
  /** NLML at θ (normalised targets). */
  nlml: number;
  /** One entry per L-BFGS run of the fit (absent for a restored model). */
  runs?: OptimizerRun[];
}

/** How one L-BFGS run of a fit went (diagnostics; not part of the saved state). */
export interface OptimizerRun {
  /** Final NLML of the run. */
  nlml: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  message: string;
}

/** Engine copies of what prediction needs, per backend. */
interface GpTensors {
  center: Tensor;
  xCentered: Tensor;
  logLengthScales: Tensor;
  logConstant: Tensor;
  alpha: Tensor;
  lowerInv: Tensor;
}

function columnMeans(x: Matrix): Float64Array {
  const m = new Float64Array(x.cols);
  for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) m[j] += x.data[i * x.cols + j];
  return m.map((v) => v / Math.max(1, x.rows));
}

function centered(x: Matrix, center: Float64Array): Matrix {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) out[i * x.cols + j] = x.data[i * x.cols + j] - center[j];
  }
  return { rows: x.rows, cols: x.cols, data: out };
}

/** A fitted Gaussian process. */
export class GaussianProcessModel implements Regressor {
  readonly kind = "gp" as const;
  readonly params: GaussianProcessParams;
  readonly xTrain: Matrix;
  readonly theta: Float64Array;
  readonly yMean: number;
  readonly yStd: number;
  readonly alpha: Float64Array;
  readonly l: Float64Array;
  readonly nlml: number;
  readonly center: Float64Array;
  /** The fit's L-BFGS runs (initial θ first, then the restarts); empty after restore or without optimisation. */
  readonly runs: OptimizerRun[];
  #tensors = new Map<Backend, GpTensors>();
  #lowerInv: Float64Array | null = null;

  constructor(f: GpFitted) {
    this.params = f.params;
    this.xTrain = f.xTrain;
    this.theta = f.theta;
    this.yMean = f.yMean;
    this.yStd = f.yStd;
    this.alpha = f.alpha;
    this.l = f.l;
    this.nlml = f.nlml;
    this.center = columnMeans(f.xTrain);
    this.runs = f.runs ?? [];
  }

  /** Squared amplitude c. */
  get constant(): number {
    return Math.exp(this.theta[0]);
  }
  /** Length-scale(s) ℓ. */
  get lengthScales(): Float64Array {
    return this.theta.slice(1, this.theta.length - 1).map(Math.exp);
  }
  /** Noise variance σ²_n (in normalised target units when `normalizeY`). */
  get noise(): number {
    return Math.exp(this.theta[this.theta.length - 1]);
  }

  /** The engine tensors prediction needs on `be` (made once per backend; free them with {@link disposeTensors}). */
  tensorsOn(be: Backend): GpTensors {
    let t = this.#tensors.get(be);
    if (t) return t;
    const n = this.xTrain.rows, d = this.xTrain.cols;
    this.#lowerInv ??= lowerInverse({ n, l: this.l, jitter: 0 });
    const ls = this.theta.slice(1, this.theta.length - 1);
    t = {
      center: keep(be.fromData(this.center, [d])),
      xCentered: keep(be.fromData(centered(this.xTrain, this.center).data, [n, d])),
      logLengthScales: keep(be.fromData(ls, [ls.length])),
      logConstant: keep(be.fromData([this.theta[0]], [1])),
      alpha: keep(be.fromData(this.alpha, [n, 1])),
      lowerInv: keep(be.fromData(this.#lowerInv, [n, n])),
    };
    this.#tensors.set(be, t);
    return t;
  }

  /** Frees the cached engine tensors (they are rebuilt on the next prediction). */
  /** Same as {@link disposeTensors} (the {@link Regressor} hook). */
  dispose(): void {
    this.disposeTensors();
  }

  disposeTensors(): void {
    for (const t of this.#tensors.values()) for (const v of Object.values(t)) v.dispose();
    this.#tensors.clear();
  }

  async predict(x: Matrix, backend: Backend): Promise<RegressorPrediction> {
    checkInputs("gp predict", x, this.xTrain.cols);
    const mean = new Float64Array(x.rows), std = new Float64Array(x.rows);
    for (let start = 0; start < x.rows; start += PREDICT_BATCH) {
      const m = Math.min(PREDICT_BATCH, x.rows - start);
      const rows = x.data.subarray(start * x.cols, (start + m) * x.cols);
      const out = noGrad(() =>
        scope(() => {
          const r = gpPredictTensors(this, tensor(rows, [m, x.cols], { backend }));
          return [r.mean, r.std];
        })
      );
      const [mu, sd] = [await readF64(out[0]), await readF64(out[1])];
      out.forEach((t) => t.dispose());
      mean.set(mu, start), std.set(sd, start);
    }
    return { mean, std };
  }

  state(): BaselineState {
    const n = this.xTrain.rows, d = this.xTrain.cols;
    const f64 = (shape: number[], data: Float64Array): StateArray => ({
      dtype: "F64",
      shape,
      data: data.slice(),
    });
    return {
      kind: "gp",
      params: { ...this.params, yMean: this.yMean, yStd: this.yStd, nlml: this.nlml },
      arrays: {
        x_train: f64([n, d], this.xTrain.data),
        theta: f64([this.theta.length], this.theta),
        alpha: f64([n], this.alpha),
        cholesky_l: f64([n, n], this.l),
      },
    };
  }
}

/**
 * Predictive mean and standard deviation (HV units, σ including the white noise, as scikit-learn's
 * `predict(return_std=True)` with a WhiteKernel) of `model` at the rows of `xQuery` [m, d], as engine tensors [m]
 * on `xQuery`'s backend, differentiable with respect to `xQuery` (for Bayesian optimisation). The caller owns the
 * results (use inside a {@link scope}).
 */
export function gpPredictTensors(model: GaussianProcessModel, xQuery: Tensor): { mean: Tensor; std: Tensor } {
  const d = model.xTrain.cols;
  if (xQuery.rank !== 2 || xQuery.shape[1] !== d) {
    throw new UserError(`gp predict: query has shape [${xQuery.shape}], expected [rows, ${d}]`);
  }
  const t = model.tensorsOn(xQuery.backend);
  const m = xQuery.shape[0];
  const ks = maternKernelTensor(sub(xQuery, t.center), t.xCentered, t.logLengthScales, t.logConstant); // [m, n]
  const meanN = reshape(matmul(ks, t.alpha), [m]);
  // var = k(x, x) + σ²_n − ‖L⁻¹k*‖², clipped at (almost) 0 as scikit-learn clips negative variances.
  const w = matmul(ks, t.lowerInv, { transB: true });
  const variance = affine(sum(square(w), 1), -1, model.constant + model.noise);
  const stdN = sqrt(clamp(variance, 1e-30, 1e30));
  return { mean: affine(meanN, model.yStd, model.yMean), std: mulScalar(stdN, model.yStd) };
}

// ---- validation -----------------------------------------------------------------------------------------------

function checkInputs(what: string, x: Matrix, cols?: number): void {
  if (x.data.length !== x.rows * x.cols) {
    throw new UserError(`${what}: x has ${x.data.length} values for ${x.rows}×${x.cols}`);
  }
  if (cols !== undefined && x.cols !== cols) {
    throw new UserError(`${what}: x has ${x.cols} columns, the model was fitted on ${cols}`);
  }
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i])) {
      throw new UserError(`${what}: x row ${Math.floor(i / x.cols)}, column ${i % x.cols} is ${x.data[i]}`);
    }
  }
}

function checkParams(p: GaussianProcessParams): GaussianProcessParams {
  const q = { ...DEFAULTS, ...p };
  const positive = (name: keyof GaussianProcessParams) => {
    const v = q[name];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
      throw new UserError(`gp: ${name} must be a positive number, got ${JSON.stringify(v)}`);
    }
  };
  const bounds = (name: keyof GaussianProcessParams, init: keyof GaussianProcessParams) => {
    const b = q[name] as unknown;
    if (
      !Array.isArray(b) || b.length !== 2 ||
      !b.every((v) => typeof v === "number" && v > 0 && Number.isFinite(v)) ||
      !(b[0] <= b[1])
    ) {
      throw new UserError(`gp: ${name} must be [low, high] with 0 < low ≤ high, got ${JSON.stringify(b)}`);
    }
    const v = q[init] as number;
    if (q.optimize && (v < b[0] || v > b[1])) {
      throw new UserError(`gp: ${init} ${v} lies outside ${name} [${b[0]}, ${b[1]}]`);
    }
  };
  for (const k of ["ard", "normalizeY", "optimize"] as const) {
    if (typeof q[k] !== "boolean") {
      throw new UserError(`gp: ${k} must be true or false, got ${JSON.stringify(q[k])}`);
    }
  }
  if (!Number.isInteger(q.restarts) || q.restarts < 0) {
    throw new UserError(`gp: restarts must be a non-negative integer, got ${JSON.stringify(q.restarts)}`);
  }
  positive("initConstant"), positive("initLengthScale"), positive("initNoise");
  bounds("constantBounds", "initConstant");
  bounds("lengthScaleBounds", "initLengthScale");
  bounds("noiseBounds", "initNoise");
  if (
    typeof q.diagonalJitter !== "number" || !(q.diagonalJitter >= 0) || !Number.isFinite(q.diagonalJitter)
  ) {
    throw new UserError(`gp: diagonalJitter must be a number ≥ 0, got ${JSON.stringify(q.diagonalJitter)}`);
  }
  return q;
}

// ---- fit ------------------------------------------------------------------------------------------------------

async function fitGaussianProcess(
  x: Matrix,
  y: Float64Array,
  params: GaussianProcessParams,
  ctx: FitContext,
): Promise<GaussianProcessModel> {
  const p = checkParams(params);
  checkInputs("gp fit", x);
  if (y.length !== x.rows) throw new UserError(`gp fit: ${y.length} targets for ${x.rows} rows`);
  if (x.rows < 1) throw new UserError("gp fit: no training rows");
  y.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new UserError(`gp fit: target of row ${i} is ${v}`);
  });
  const n = x.rows;
  let yMean = 0, yStd = 1;
  if (p.normalizeY) {
    yMean = y.reduce((s, v) => s + v, 0) / n;
    const v = y.reduce((s, q) => s + (q - yMean) ** 2, 0) / n; // population std, as numpy's default
    yStd = v > 0 ? Math.sqrt(v) : 1;
  }
  const yn = y.map((v) => (v - yMean) / yStd);
  const xc = centered(x, columnMeans(x));
  const ml = new GpMarginalLikelihood(xc, yn, p.ard, p.diagonalJitter, ctx.backend);
  const L = ml.lengthScales;
  const logBounds = [p.constantBounds, ...Array(L).fill(p.lengthScaleBounds), p.noiseBounds]
    .map(([a, b]) => [Math.log(a), Math.log(b)]);
  const lower = logBounds.map((b) => b[0]), upper = logBounds.map((b) => b[1]);
  const theta0 = Float64Array.from([
    Math.log(p.initConstant),
    ...Array(L).fill(Math.log(p.initLengthScale)),
    Math.log(p.initNoise),
  ]);
  try {
    let best: Float64Array = theta0;
    const runs: OptimizerRun[] = [];
    if (p.optimize) {
      const objective = async (theta: Float64Array) => {
        try {
          const r = await ml.valueAndGradient(theta);
          return { f: r.nlml, grad: r.grad };
        } catch (e) {
          if (e instanceof NotPositiveDefiniteError) {
            return { f: Infinity, grad: new Float64Array(theta.length) };
          }
          throw e;
        }
      };
      const rng = new Rng(ctx.seed, RESTART_STREAM);
      const starts = [theta0];
      for (let r = 0; r < p.restarts; r++) {
        starts.push(Float64Array.from(logBounds, ([a, b]) => a + (b - a) * rng.uniform()));
      }
      let bestF = Infinity;
      for (const start of starts) {
        let res;
        try {
          res = await minimizeLbfgs(objective, start, { lower, upper });
        } catch (e) {
          // A random start where K is not positive definite: skip it (scikit-learn would fail the same way).
          if (start !== theta0 && /not finite at the starting point/.test((e as Error).message)) continue;
          throw e;
        }
        const { f, iterations, evaluations, converged, message } = res;
        runs.push({ nlml: f, iterations, evaluations, converged, message });
        if (res.f < bestF) bestF = res.f, best = res.x;
      }
      if (!Number.isFinite(bestF)) {
        throw new UserError("gp fit: the marginal likelihood is not finite at any start");
      }
    }
    let fitted: MarginalLikelihoodValue;
    try {
      fitted = ml.value(best, 4);
    } catch (e) {
      if (e instanceof NotPositiveDefiniteError) {
        throw new UserError(`gp fit: the training kernel matrix is not positive definite (${e.message})`);
      }
      throw e;
    }
    return new GaussianProcessModel({
      params: p,
      xTrain: { rows: n, cols: x.cols, data: x.data.slice() },
      theta: Float64Array.from(best),
      yMean,
      yStd,
      alpha: fitted.alpha,
      l: fitted.factor.l,
      nlml: fitted.nlml,
      runs,
    });
  } finally {
    ml.dispose();
  }
}

// ---- restore --------------------------------------------------------------------------------------------------

function restoreGaussianProcess(state: BaselineState): GaussianProcessModel {
  if (state.kind !== "gp") throw new UserError(`gp state: kind is '${state.kind}', expected 'gp'`);
  const { yMean, yStd, nlml, ...rest } = state.params as Record<string, unknown>;
  for (const [k, v] of Object.entries({ yMean, yStd, nlml })) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new UserError(`gp state: params.${k} must be a finite number, got ${JSON.stringify(v)}`);
    }
  }
  if (!((yStd as number) > 0)) throw new UserError(`gp state: params.yStd must be > 0, got ${yStd}`);
  let params: GaussianProcessParams;
  try {
    params = checkParams({ ...DEFAULTS, ...(rest as Partial<GaussianProcessParams>) });
  } catch (e) {
    throw e instanceof UserError ? new UserError(`gp state: ${e.message.replace(/^gp: /, "params.")}`) : e;
  }
  const arr = (name: string, shape: (number | null)[]): StateArray & { dtype: "F64" } => {
    const a = state.arrays[name];
    if (!a) throw new UserError(`gp state: missing array '${name}'`);
    if (a.dtype !== "F64") throw new UserError(`gp state: array '${name}' is ${a.dtype}, expected F64`);
    if (a.shape.length !== shape.length || shape.some((s, i) => s !== null && s !== a.shape[i])) {
      throw new UserError(
        `gp state: array '${name}' has shape [${a.shape}], expected [${shape.map((s) => s ?? "?")}]`,
      );
    }
    if (a.data.length !== a.shape.reduce((p, q) => p * q, 1) || !a.data.every(Number.isFinite)) {
      throw new UserError(`gp state: array '${name}' has a wrong length or non-finite values`);
    }
    return a;
  };
  const xt = arr("x_train", [null, null]);
  const [n, d] = xt.shape;
  const theta = arr("theta", [(params.ard ? d : 1) + 2]);
  const alpha = arr("alpha", [n]);
  const l = arr("cholesky_l", [n, n]);
  for (let i = 0; i < n; i++) {
    if (!(l.data[i * n + i] > 0)) throw new UserError(`gp state: cholesky_l has diagonal entry ${i} ≤ 0`);
  }
  return new GaussianProcessModel({
    params,
    xTrain: { rows: n, cols: d, data: xt.data.slice() },
    theta: theta.data.slice(),
    yMean: yMean as number,
    yStd: yStd as number,
    alpha: alpha.data.slice(),
    l: l.data.slice(),
    nlml: nlml as number,
  });
}

/** The Gaussian-process baseline (`gp`). */
export const gaussianProcess: BaselineSpec<GaussianProcessParams> = {
  kind: "gp",
  name: "Gaussian process",
  defaults: DEFAULTS,
  fit: fitGaussianProcess,
  restore: restoreGaussianProcess,
};
