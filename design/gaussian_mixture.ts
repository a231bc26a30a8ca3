/**
 * The latent prior of inverse design: a Gaussian mixture with full covariances over the training latents,
 *
 *   p(z) = Σ_k π_k · N(z; μ_k, Σ_k),
 *
 * fitted by **weighted** expectation–maximisation (each row's E/M contributions scaled by its sample weight — the
 * original could not pass weights to scikit-learn and fitted a weighted bootstrap instead, reference §6.2), with
 * scikit-learn's `GaussianMixture` conventions: `reg_covar` (1e-6) added to every covariance diagonal, 10·ε added
 * to each component's weight sum, a k-means initialisation (greedy k-means++ seeding from our {@link Rng}, then
 * Lloyd iterations) and `n_init` restarts (10) keeping the best weighted log-likelihood, convergence when the mean
 * weighted log-likelihood changes by less than `tol` (1e-3) within `max_iter` (100) iterations. The number of
 * components is chosen by BIC ({@link selectGaussianMixtureByBic}).
 *
 * Weights are frequency-like: a row of weight 2 counts as that row twice (the fit equals the fit on the duplicated
 * rows, up to rounding), a row of weight 0 as absent, and scaling all weights changes nothing.
 *
 * Numerics: float64 on the host; each component keeps L_k⁻¹ (the inverse of the Cholesky factor of Σ_k) and
 * log π_k − ½(d·log 2π + log det Σ_k), so a log-density costs K·d²/2 multiply–adds per point with no solves.
 * {@link GaussianMixtureTensors} evaluates the same log-density (and the hybrid Mahalanobis distance) as
 * differentiable engine ops, so samplers and gradient stages keep their state on the device.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { Rng } from "../nn/random.ts";
import {
  choleskyFactor,
  choleskyLogDet,
  lowerInverse,
  NotPositiveDefiniteError,
} from "../nn/baselines/cholesky.ts";
import type { Matrix } from "../nn/baselines/regressor.ts";
import { weightedQuantile } from "../nn/metrics/quantile.ts";
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { keep } from "../nn/scope.ts";
import {
  addScalar,
  clamp,
  div,
  exp,
  matmul,
  mul,
  mulScalar,
  powScalar,
  reduce,
  reshape,
  square,
  sub,
  tensor,
} from "../nn/ops.ts";

export type { Matrix };

/** The JSON format tag written by {@link GaussianMixture.toJSON}. */
export const GAUSSIAN_MIXTURE_FORMAT = "alloy-gmm/1";

const LOG_2PI = Math.log(2 * Math.PI);
/** scikit-learn adds 10·machine-ε to every component's weight sum so an empty component does not divide by zero. */
const NK_FLOOR = 10 * Number.EPSILON;
/** Rng stream of a K-component fit: its own stream per K, so a fit inside a BIC sweep equals the fit alone. */
const GMM_STREAM = 0x474d4d00;

/** The fit settings and their defaults (scikit-learn's, reference §6.1). */
export const GAUSSIAN_MIXTURE_DEFAULTS = {
  /** Added to every covariance diagonal (scikit-learn `reg_covar`). */
  regCovar: 1e-6,
  /** Restarts from independent k-means initialisations; the best weighted log-likelihood wins (`n_init`). */
  nInit: 10,
  /** EM iterations per restart (`max_iter`). */
  maxIter: 100,
  /** Convergence: change of the mean weighted log-likelihood per iteration below this (`tol`). */
  tol: 1e-3,
  /** Seed of every random draw (k-means++ seeding). */
  seed: 1,
} as const;

/** The JSON form of a mixture (what a design run saves as its prior). */
export interface GaussianMixtureJson {
  format: typeof GAUSSIAN_MIXTURE_FORMAT;
  k: number;
  d: number;
  /** Mixing weights π_k (K, summing to 1). */
  weights: number[];
  /** Means μ_k (K × d). */
  means: number[][];
  /** Covariances Σ_k (K × d × d), regularisation included, as scikit-learn's `covariances_`. */
  covariances: number[][][];
}

/** Options of {@link GaussianMixture.hybridMahalanobis2} (reference §6.1: `RESP_TAU`, `D2_EPS`). */
export interface HybridMahalanobisOptions {
  /** Responsibility sharpening exponent τ (2). */
  tau?: number;
  /** Added to the normaliser Σ r'_k (1e-12). */
  eps?: number;
}

/** Floor of the clipped responsibilities before sharpening (reference §6.2: clip(r, 1e-12, 1)). */
const RESP_FLOOR = 1e-12;

/** The user's value echoed in single quotes for an error message (so NaN shows as input, not as a bug). */
function badNumber(v: unknown): string {
  const text = typeof v === "number" || typeof v === "string" ? String(v) : JSON.stringify(v) ?? String(v);
  return `'${text}'`;
}

/** Checks that `z` is a well-formed finite matrix with `d` columns (when given). */
function checkRows(z: Matrix, what: string, d?: number): void {
  if (!Number.isInteger(z.rows) || !Number.isInteger(z.cols) || z.rows < 0 || z.cols < 1) {
    throw new UserError(`${what}: expected an n × d matrix, got ${z.rows} × ${z.cols}`);
  }
  if (z.data.length !== z.rows * z.cols) {
    throw new UserError(`${what}: ${z.data.length} values do not make ${z.rows} × ${z.cols}`);
  }
  if (d !== undefined && z.cols !== d) {
    throw new UserError(`${what}: the rows have ${z.cols} columns but the mixture has dimension ${d}`);
  }
  const data = z.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const r = Math.floor(i / z.cols), c = i % z.cols;
      throw new UserError(`${what}: row ${r} column ${c} is ${badNumber(data[i])}, not a finite number`);
    }
  }
}

/** Validated sample weights (all ones when omitted): finite, ≥ 0, not all zero. */
function checkWeights(weights: ArrayLike<number> | undefined, n: number, what: string): Float64Array {
  if (weights === undefined) return new Float64Array(n).fill(1);
  if (weights.length !== n) {
    throw new UserError(`${what}: ${weights.length} weights for ${n} rows`);
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (!Number.isFinite(w) || w < 0) {
      throw new UserError(`${what}: weights[${i}] is ${badNumber(w)}; weights must be finite and ≥ 0`);
    }
    total += w;
  }
  if (!(total > 0)) throw new UserError(`${what}: the weights are all zero`);
  return Float64Array.from(weights);
}

function checkInteger(what: string, name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) {
    throw new UserError(`${what}: ${name} must be an integer ≥ ${min}, got ${badNumber(v)}`);
  }
  return v;
}

function checkNonNegative(what: string, name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) {
    throw new UserError(`${what}: ${name} must be a finite number ≥ 0, got ${badNumber(v)}`);
  }
  return v;
}

/** log Σ exp(a[off .. off + k)) without overflow. */
function logSumExp(a: Float64Array, off: number, k: number): number {
  let m = -Infinity;
  for (let j = 0; j < k; j++) if (a[off + j] > m) m = a[off + j];
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let j = 0; j < k; j++) s += Math.exp(a[off + j] - m);
  return m + Math.log(s);
}

/**
 * A Gaussian mixture with full covariances, ready to evaluate: the constructor validates the parameters and
 * factors every covariance once. Points are rows of a {@link Matrix} (m × d, float64).
 */
export class GaussianMixture {
  /** Number of components K. */
  readonly k: number;
  /** Dimension d. */
  readonly d: number;
  /** Mixing weights π (K). */
  readonly weights: Float64Array;
  /** Means, row k = μ_k (K × d, row-major). */
  readonly means: Float64Array;
  /** Covariances, block k = Σ_k (K × d × d, row-major). */
  readonly covariances: Float64Array;
  /** Block k = L_k⁻¹, lower triangular, where Σ_k = L_k·L_kᵀ (K × d × d). */
  readonly precisionCholesky: Float64Array;
  /** log π_k − ½(d·log 2π + log det Σ_k) (K). */
  readonly logNormalizers: Float64Array;
  /** Block k = L_k (K × d × d), for sampling. */
  readonly #chol: Float64Array;

  /**
   * @param k number of components (≥ 1)
   * @param d dimension (≥ 1)
   * @param weights π (K values ≥ 0 summing to 1 within 1e-6)
   * @param means K × d values
   * @param covariances K × d × d values, each block symmetric positive definite
   * @param what what to name in error messages
   * @throws {UserError} on a malformed, non-finite or non-positive-definite parameter
   */
  constructor(
    k: number,
    d: number,
    weights: ArrayLike<number>,
    means: ArrayLike<number>,
    covariances: ArrayLike<number>,
    what = "gaussian mixture",
  ) {
    checkInteger(what, "k", k, 1);
    checkInteger(what, "d", d, 1);
    const sizes: [string, ArrayLike<number>, number][] = [
      ["weights", weights, k],
      ["means", means, k * d],
      ["covariances", covariances, k * d * d],
    ];
    for (const [name, a, n] of sizes) {
      if (a.length !== n) throw new UserError(`${what}: "${name}" has ${a.length} values, expected ${n}`);
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(a[i])) {
          throw new UserError(`${what}: "${name}" value ${i} is ${badNumber(a[i])}, not a finite number`);
        }
      }
    }
    let sum = 0;
    for (let j = 0; j < k; j++) {
      if (weights[j] < 0) throw new UserError(`${what}: "weights" value ${j} is negative (${weights[j]})`);
      sum += weights[j];
    }
    if (Math.abs(sum - 1) > 1e-6) throw new UserError(`${what}: "weights" sum to ${sum}, not 1`);
    this.k = k;
    this.d = d;
    this.weights = Float64Array.from(weights);
    this.means = Float64Array.from(means);
    this.covariances = Float64Array.from(covariances);
    this.precisionCholesky = new Float64Array(k * d * d);
    this.logNormalizers = new Float64Array(k);
    this.#chol = new Float64Array(k * d * d);
    for (let j = 0; j < k; j++) {
      const block = this.covariances.subarray(j * d * d, (j + 1) * d * d);
      for (let r = 0; r < d; r++) {
        for (let c = 0; c < r; c++) {
          const a = block[r * d + c], b = block[c * d + r];
          if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))) {
            throw new UserError(`${what}: covariance ${j} is not symmetric at (${r}, ${c}): ${a} vs ${b}`);
          }
        }
      }
      let f;
      try {
        f = choleskyFactor(Float64Array.from(block), d, { jitterRetries: 0 });
      } catch (e) {
        if (!(e instanceof NotPositiveDefiniteError)) throw e;
        throw new UserError(
          `${what}: covariance ${j} is not positive definite (too few or collinear rows for K = ${k} ` +
            `in ${d} dimensions; use fewer components or a larger regCovar)`,
        );
      }
      this.#chol.set(f.l, j * d * d);
      this.precisionCholesky.set(lowerInverse(f), j * d * d);
      this.logNormalizers[j] = Math.log(this.weights[j]) - 0.5 * (d * LOG_2PI + choleskyLogDet(f));
    }
  }

  /** Free parameters: K·d·(d+1)/2 covariance + K·d mean + K − 1 weight values (scikit-learn `_n_parameters`). */
  get parameterCount(): number {
    return this.k * (this.d * (this.d + 1)) / 2 + this.k * this.d + this.k - 1;
  }

  /**
   * Per-component terms for every row: `out[i·K + k] = log π_k + log N(z_i; μ_k, Σ_k)`, and, when `maha` is
   * given, `maha[i·K + k] = (z_i − μ_k)ᵀ Σ_k⁻¹ (z_i − μ_k)`. No validation (hot path).
   */
  #componentTerms(z: Matrix, maha?: Float64Array): Float64Array {
    const { k: K, d } = this;
    const m = z.rows, x = z.data, mu = this.means, pc = this.precisionCholesky, ln = this.logNormalizers;
    const out = new Float64Array(m * K);
    const diff = new Float64Array(d);
    for (let i = 0; i < m; i++) {
      const xo = i * d;
      for (let j = 0; j < K; j++) {
        const mo = j * d, po = j * d * d;
        for (let c = 0; c < d; c++) diff[c] = x[xo + c] - mu[mo + c];
        // y = L⁻¹(z − μ): row r of L⁻¹ is contiguous and zero beyond the diagonal.
        let q = 0;
        for (let r = 0; r < d; r++) {
          const ro = po + r * d;
          let s = 0;
          for (let c = 0; c <= r; c++) s += pc[ro + c] * diff[c];
          q += s * s;
        }
        out[i * K + j] = ln[j] - 0.5 * q;
        if (maha) maha[i * K + j] = q;
      }
    }
    return out;
  }

  /**
   * log p(z) for every row of `z` (m × d), by log-sum-exp over the components. Cost m·K·d²/2; use this batched
   * form inside samplers.
   * @throws {UserError} when `z` has the wrong width or a non-finite value
   */
  logDensities(z: Matrix): Float64Array {
    checkRows(z, "gaussian mixture log-density", this.d);
    const comp = this.#componentTerms(z);
    const out = new Float64Array(z.rows);
    for (let i = 0; i < z.rows; i++) out[i] = logSumExp(comp, i * this.k, this.k);
    return out;
  }

  /** log p(z) of one point (d values). */
  logDensity(z: ArrayLike<number>): number {
    return this.logDensities({ rows: 1, cols: z.length, data: Float64Array.from(z) })[0];
  }

  /**
   * Component log-densities `out[i·K + k] = log π_k + log N(z_i; μ_k, Σ_k)` (m × K); their log-sum-exp along a row
   * is {@link logDensities}.
   */
  componentLogDensities(z: Matrix): Float64Array {
    checkRows(z, "gaussian mixture log-density", this.d);
    return this.#componentTerms(z);
  }

  /** Posterior component probabilities r_ik = π_k N(z_i; k) / p(z_i) (m × K, rows sum to 1). */
  responsibilities(z: Matrix): Float64Array {
    checkRows(z, "gaussian mixture responsibilities", this.d);
    const comp = this.#componentTerms(z);
    const K = this.k;
    for (let i = 0; i < z.rows; i++) {
      const l = logSumExp(comp, i * K, K);
      for (let j = 0; j < K; j++) comp[i * K + j] = Math.exp(comp[i * K + j] - l);
    }
    return comp;
  }

  /** The most responsible component of every row (scikit-learn `predict`; ties go to the lower index). */
  predict(z: Matrix): Int32Array {
    checkRows(z, "gaussian mixture predict", this.d);
    const comp = this.#componentTerms(z);
    const K = this.k;
    const out = new Int32Array(z.rows);
    for (let i = 0; i < z.rows; i++) {
      let best = 0;
      for (let j = 1; j < K; j++) if (comp[i * K + j] > comp[i * K + best]) best = j;
      out[i] = best;
    }
    return out;
  }

  /** Squared Mahalanobis distances to every component, `out[i·K + k] = (z_i − μ_k)ᵀ Σ_k⁻¹ (z_i − μ_k)` (m × K). */
  mahalanobis2(z: Matrix): Float64Array {
    checkRows(z, "gaussian mixture mahalanobis", this.d);
    const maha = new Float64Array(z.rows * this.k);
    this.#componentTerms(z, maha);
    return maha;
  }

  /**
   * The hybrid Mahalanobis distance of reference §6.2: sharpened responsibilities r'_k = clip(r_k, 1e-12, 1)^τ,
   * normalised by Σ r' + ε, weight the squared distances, d²(z) = Σ_k r'_k (z − μ_k)ᵀ Σ_k⁻¹ (z − μ_k). Σ_k is the
   * regularised covariance as stored (the original added another 1e-6 to it; negligible).
   */
  hybridMahalanobis2(z: Matrix, options: HybridMahalanobisOptions = {}): Float64Array {
    const tau = options.tau ?? 2, eps = options.eps ?? 1e-12;
    checkRows(z, "gaussian mixture mahalanobis", this.d);
    const K = this.k;
    const maha = new Float64Array(z.rows * K);
    const comp = this.#componentTerms(z, maha);
    const out = new Float64Array(z.rows);
    for (let i = 0; i < z.rows; i++) {
      const l = logSumExp(comp, i * K, K);
      let norm = 0, acc = 0;
      for (let j = 0; j < K; j++) {
        const r = Math.min(1, Math.max(RESP_FLOOR, Math.exp(comp[i * K + j] - l))) ** tau;
        norm += r;
        acc += r * maha[i * K + j];
      }
      out[i] = acc / (norm + eps);
    }
    return out;
  }

  /**
   * log p(z) and its gradient ∇_z log p(z) = −Σ_k r_k Σ_k⁻¹ (z − μ_k) for every row (for MALA/HMC on the host).
   * @returns `logDensity` (m) and `grad` (m × d)
   */
  logDensityGradients(z: Matrix): { logDensity: Float64Array; grad: Float64Array } {
    checkRows(z, "gaussian mixture gradient", this.d);
    const { k: K, d } = this;
    const comp = this.#componentTerms(z);
    const m = z.rows, x = z.data, mu = this.means, pc = this.precisionCholesky;
    const logDensity = new Float64Array(m);
    const grad = new Float64Array(m * d);
    const diff = new Float64Array(d), y = new Float64Array(d);
    for (let i = 0; i < m; i++) {
      const l = logSumExp(comp, i * K, K);
      logDensity[i] = l;
      for (let j = 0; j < K; j++) {
        const r = Math.exp(comp[i * K + j] - l);
        if (r === 0) continue;
        const mo = j * d, po = j * d * d;
        for (let c = 0; c < d; c++) diff[c] = x[i * d + c] - mu[mo + c];
        for (let a = 0; a < d; a++) {
          let s = 0;
          for (let c = 0; c <= a; c++) s += pc[po + a * d + c] * diff[c];
          y[a] = s;
        }
        // Σ⁻¹(z − μ) = L⁻ᵀ y: column c of L⁻¹ is read down its rows a ≥ c.
        for (let a = 0; a < d; a++) {
          const ya = r * y[a];
          const ro = po + a * d;
          for (let c = 0; c <= a; c++) grad[i * d + c] -= pc[ro + c] * ya;
        }
      }
    }
    return { logDensity, grad };
  }

  /**
   * `n` independent draws: a component by its weight, then μ_k + L_k·ε with ε standard normal, all from `rng`.
   * @returns the points (n × d) and the component each came from
   */
  sample(n: number, rng: Rng): { z: Matrix; component: Int32Array } {
    checkInteger("gaussian mixture sample", "n", n, 0);
    const { k: K, d } = this;
    const data = new Float64Array(n * d);
    const component = new Int32Array(n);
    const eps = new Float64Array(d);
    const L = this.#chol;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      let j = 0, acc = this.weights[0];
      while (j < K - 1 && u >= acc) acc += this.weights[++j];
      component[i] = j;
      for (let c = 0; c < d; c++) eps[c] = rng.normal();
      const po = j * d * d;
      for (let r = 0; r < d; r++) {
        let s = this.means[j * d + r];
        for (let c = 0; c <= r; c++) s += L[po + r * d + c] * eps[c];
        data[i * d + r] = s;
      }
    }
    return { z: { rows: n, cols: d, data }, component };
  }

  /** The JSON form (numbers round-trip exactly through `JSON.stringify` / {@link GaussianMixture.fromJSON}). */
  toJSON(): GaussianMixtureJson {
    const { k: K, d } = this;
    const row = (a: Float64Array, o: number) => Array.from(a.subarray(o, o + d));
    return {
      format: GAUSSIAN_MIXTURE_FORMAT,
      k: K,
      d,
      weights: Array.from(this.weights),
      means: Array.from({ length: K }, (_, j) => row(this.means, j * d)),
      covariances: Array.from(
        { length: K },
        (_, j) => Array.from({ length: d }, (_, r) => row(this.covariances, (j * d + r) * d)),
      ),
    };
  }

  /**
   * A mixture from its JSON form (the parsed object).
   * @param where what to name in error messages (e.g. the file)
   * @throws {UserError} naming the field that is missing or malformed
   */
  static fromJSON(json: unknown, where = "gaussian mixture"): GaussianMixture {
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new UserError(`${where}: expected a JSON object with "weights", "means" and "covariances"`);
    }
    const o = json as Record<string, unknown>;
    if (o.format !== GAUSSIAN_MIXTURE_FORMAT) {
      throw new UserError(
        `${where}: "format" is ${badNumber(o.format)}, expected '${GAUSSIAN_MIXTURE_FORMAT}'`,
      );
    }
    const k = o.k, d = o.d;
    if (typeof k !== "number" || !Number.isInteger(k) || k < 1) {
      throw new UserError(`${where}: "k" must be an integer ≥ 1, got ${badNumber(k)}`);
    }
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1) {
      throw new UserError(`${where}: "d" must be an integer ≥ 1, got ${badNumber(d)}`);
    }
    const flat = (v: unknown, shape: number[], name: string): number[] => {
      const out: number[] = [];
      const walk = (x: unknown, level: number, path: string): void => {
        if (level === shape.length) {
          if (typeof x !== "number") {
            throw new UserError(`${where}: "${name}"${path} is ${badNumber(x)}, not a number`);
          }
          out.push(x);
          return;
        }
        if (!Array.isArray(x) || x.length !== shape[level]) {
          throw new UserError(
            `${where}: "${name}"${path} must be an array of ${shape[level]} (shape ${shape.join(" × ")})`,
          );
        }
        x.forEach((e, i) => walk(e, level + 1, `${path}[${i}]`));
      };
      walk(v, 0, "");
      return out;
    };
    return new GaussianMixture(
      k,
      d,
      flat(o.weights, [k], "weights"),
      flat(o.means, [k, d], "means"),
      flat(o.covariances, [k, d, d], "covariances"),
      where,
    );
  }

  /** The same mixture as differentiable engine ops on `backend` (see {@link GaussianMixtureTensors}). */
  onDevice(backend: Backend): GaussianMixtureTensors {
    return new GaussianMixtureTensors(this, backend);
  }
}

/**
 * A {@link GaussianMixture} as constant tensors on one backend (uploaded once, kept out of every scope until
 * {@link dispose}), with its log-density and hybrid Mahalanobis distance as differentiable ops on a batch of points
 * `z` [m, d]. Per call: one broadcast subtraction [K, m, d], one batched matmul with (L_k⁻¹)ᵀ, a square-sum and a
 * log-sum-exp over K — no host round trip, so gradients flow from a sampler's or optimiser's loss into z.
 */
export class GaussianMixtureTensors {
  /** Dimension d. */
  readonly d: number;
  /** Number of components K. */
  readonly k: number;
  readonly backend: Backend;
  /** μ as [K, 1, d]. */
  readonly #means: Tensor;
  /** (L_k⁻¹)ᵀ as [K, d, d] (upper triangular blocks). */
  readonly #precT: Tensor;
  /** log π_k − ½(d·log 2π + log det Σ_k) as [K, 1]. */
  readonly #logNorm: Tensor;

  constructor(mixture: GaussianMixture, backend: Backend) {
    const { k: K, d } = mixture;
    this.k = K;
    this.d = d;
    this.backend = backend;
    const pt = new Float64Array(K * d * d);
    const pc = mixture.precisionCholesky;
    for (let j = 0; j < K; j++) {
      for (let r = 0; r < d; r++) {
        for (let c = 0; c <= r; c++) pt[j * d * d + c * d + r] = pc[j * d * d + r * d + c];
      }
    }
    this.#means = keep(tensor(mixture.means, [K, 1, d], { backend, name: "gmm_means" }));
    this.#precT = keep(tensor(pt, [K, d, d], { backend, name: "gmm_precision_cholesky_t" }));
    this.#logNorm = keep(tensor(mixture.logNormalizers, [K, 1], { backend, name: "gmm_log_norm" }));
  }

  #check(z: Tensor): void {
    if (z.rank !== 2 || z.shape[1] !== this.d) {
      throw new UserError(`gaussian mixture: points must be [m, ${this.d}], got [${z.shape.join(", ")}]`);
    }
    if (z.backend !== this.backend) {
      throw new Error("gaussian mixture: the points live on another backend than the mixture's tensors");
    }
  }

  /** Squared Mahalanobis distances [K, m] and component log-densities log π_k + log N [K, m]. */
  #terms(z: Tensor): { maha: Tensor; comp: Tensor } {
    this.#check(z);
    const [m, d] = z.shape;
    const diff = sub(reshape(z, [1, m, d]), this.#means); // [K, m, d]
    const y = matmul(diff, this.#precT); // row i of block k: L_k⁻¹ (z_i − μ_k)
    const maha = reduce("sum", square(y), 2); // [K, m]
    const comp = sub(this.#logNorm, mulScalar(maha, 0.5));
    return { maha, comp };
  }

  /** log p(z) for each row of `z` [m, d] → [m]; differentiable in z. */
  logDensity(z: Tensor): Tensor {
    return reduce("logsumexp", this.#terms(z).comp, 0);
  }

  /** The hybrid Mahalanobis distance of {@link GaussianMixture.hybridMahalanobis2} → [m]; differentiable in z. */
  hybridMahalanobis2(z: Tensor, options: HybridMahalanobisOptions = {}): Tensor {
    const tau = options.tau ?? 2, eps = options.eps ?? 1e-12;
    const { maha, comp } = this.#terms(z);
    const lse = reduce("logsumexp", comp, 0, true); // [1, m]
    const r = powScalar(clamp(exp(sub(comp, lse)), RESP_FLOOR, 1), tau);
    const w = div(r, addScalar(reduce("sum", r, 0, true), eps));
    return reduce("sum", mul(w, maha), 0);
  }

  /** Frees the constant tensors. */
  dispose(): void {
    this.#means.dispose();
    this.#precT.dispose();
    this.#logNorm.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Fitting
// ---------------------------------------------------------------------------------------------------------------

/** Settings of {@link fitGaussianMixture} (defaults in {@link GAUSSIAN_MIXTURE_DEFAULTS}). */
export interface GaussianMixtureFitOptions {
  /** Number of components K. */
  k: number;
  /** Per-row sample weights (finite, ≥ 0, not all zero); all ones when omitted. */
  weights?: ArrayLike<number>;
  regCovar?: number;
  nInit?: number;
  maxIter?: number;
  tol?: number;
  seed?: number;
}

/** A fitted mixture and how the fit went (of the restart that was kept). */
export interface GaussianMixtureFit {
  mixture: GaussianMixture;
  /** Mean weighted log-likelihood Σ w_i log p(z_i) / Σ w_i of the final parameters. */
  logLikelihood: number;
  /** Whether EM met `tol` before `maxIter`. */
  converged: boolean;
  /** EM iterations run. */
  iterations: number;
}

interface FitSettings {
  regCovar: number;
  nInit: number;
  maxIter: number;
  tol: number;
  seed: number;
}

function fitSettings(o: Partial<FitSettings>, what: string): FitSettings {
  const D = GAUSSIAN_MIXTURE_DEFAULTS;
  const seed = o.seed ?? D.seed;
  if (!Number.isInteger(seed)) {
    throw new UserError(`${what}: seed must be an integer, got ${badNumber(seed)}`);
  }
  return {
    regCovar: checkNonNegative(what, "regCovar", o.regCovar ?? D.regCovar),
    nInit: checkInteger(what, "nInit", o.nInit ?? D.nInit, 1),
    maxIter: checkInteger(what, "maxIter", o.maxIter ?? D.maxIter, 1),
    tol: checkNonNegative(what, "tol", o.tol ?? D.tol),
    seed,
  };
}

/** Number of distinct rows with positive weight (the most components the data can initialise). */
function distinctPositiveRows(z: Matrix, w: Float64Array): number {
  const seen = new Set<string>();
  for (let i = 0; i < z.rows; i++) {
    if (w[i] > 0) seen.add(Array.from(z.data.subarray(i * z.cols, (i + 1) * z.cols)).join(","));
  }
  return seen.size;
}

function squaredDistance(x: Float64Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let a = 0; a < d; a++) {
    const t = x[i * d + a] - c[j * d + a];
    s += t * t;
  }
  return s;
}

/** Index drawn with probability ∝ p[i] (inverse CDF with one uniform); −1 when all p are zero. */
function drawIndex(p: Float64Array, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += p[i];
  if (!(total > 0)) return -1;
  const t = rng.uniform() * total;
  let acc = 0, last = -1;
  for (let i = 0; i < p.length; i++) {
    if (p[i] <= 0) continue;
    acc += p[i];
    last = i;
    if (acc > t) return i;
  }
  return last;
}

/**
 * Weighted k-means labels: greedy k-means++ seeding (each new centre the best of 2 + ⌊ln K⌋ candidates drawn
 * ∝ w·D², as scikit-learn) then Lloyd iterations with weighted centroids until the labels stop changing.
 */
function kMeansLabels(z: Matrix, w: Float64Array, K: number, rng: Rng): Int32Array {
  const { rows: n, cols: d, data: x } = z;
  const centres = new Float64Array(K * d);
  const first = drawIndex(w, rng);
  centres.set(x.subarray(first * d, (first + 1) * d), 0);
  const closest = new Float64Array(n);
  for (let i = 0; i < n; i++) closest[i] = squaredDistance(x, i, centres, 0, d);
  const trials = 2 + Math.floor(Math.log(K));
  const p = new Float64Array(n);
  for (let c = 1; c < K; c++) {
    for (let i = 0; i < n; i++) p[i] = w[i] * closest[i];
    let best = -1, bestPot = Infinity, bestD: Float64Array | null = null;
    for (let t = 0; t < trials; t++) {
      const cand = drawIndex(p, rng);
      if (cand < 0) throw new Error("k-means++: no distinct row left (checked by the caller)");
      const dist = new Float64Array(n);
      let pot = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let a = 0; a < d; a++) {
          const u = x[i * d + a] - x[cand * d + a];
          s += u * u;
        }
        dist[i] = Math.min(closest[i], s);
        pot += w[i] * dist[i];
      }
      if (pot < bestPot) best = cand, bestPot = pot, bestD = dist;
    }
    centres.set(x.subarray(best * d, (best + 1) * d), c * d);
    closest.set(bestD!);
  }
  // Lloyd iterations.
  const labels = new Int32Array(n).fill(-1);
  const sums = new Float64Array(K * d), mass = new Float64Array(K);
  for (let it = 0; it < 300; it++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let bj = 0, bd = Infinity;
      for (let j = 0; j < K; j++) {
        const s = squaredDistance(x, i, centres, j, d);
        if (s < bd) bd = s, bj = j;
      }
      if (labels[i] !== bj) labels[i] = bj, changed = true;
    }
    if (!changed) break;
    sums.fill(0), mass.fill(0);
    for (let i = 0; i < n; i++) {
      if (!(w[i] > 0)) continue;
      const j = labels[i];
      mass[j] += w[i];
      for (let a = 0; a < d; a++) sums[j * d + a] += w[i] * x[i * d + a];
    }
    const taken = new Set<number>();
    for (let j = 0; j < K; j++) {
      if (mass[j] > 0) {
        for (let a = 0; a < d; a++) centres[j * d + a] = sums[j * d + a] / mass[j];
        continue;
      }
      // An empty cluster moves to the positive-weight row farthest from its own centre (as scikit-learn).
      let far = -1, fd = -1;
      for (let i = 0; i < n; i++) {
        if (!(w[i] > 0) || taken.has(i)) continue;
        const s = squaredDistance(x, i, centres, labels[i], d);
        if (s > fd) fd = s, far = i;
      }
      taken.add(far);
      centres.set(x.subarray(far * d, (far + 1) * d), j * d);
    }
  }
  return labels;
}

/** The M step: mixture parameters from responsibilities `resp` (n × K) and sample weights. */
function mStep(z: Matrix, w: Float64Array, resp: Float64Array, K: number, regCovar: number): GaussianMixture {
  const { rows: n, cols: d, data: x } = z;
  const nk = new Float64Array(K).fill(NK_FLOOR);
  const means = new Float64Array(K * d);
  const covs = new Float64Array(K * d * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < K; j++) {
      const a = w[i] * resp[i * K + j];
      if (a === 0) continue;
      nk[j] += a;
      for (let c = 0; c < d; c++) means[j * d + c] += a * x[i * d + c];
    }
  }
  for (let j = 0; j < K; j++) for (let c = 0; c < d; c++) means[j * d + c] /= nk[j];
  const diff = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < K; j++) {
      const a = w[i] * resp[i * K + j];
      if (a === 0) continue;
      for (let c = 0; c < d; c++) diff[c] = x[i * d + c] - means[j * d + c];
      const o = j * d * d;
      for (let r = 0; r < d; r++) {
        const ar = a * diff[r];
        for (let c = 0; c <= r; c++) covs[o + r * d + c] += ar * diff[c];
      }
    }
  }
  let total = 0;
  for (let j = 0; j < K; j++) total += nk[j];
  const weights = new Float64Array(K);
  for (let j = 0; j < K; j++) {
    weights[j] = nk[j] / total;
    const o = j * d * d;
    for (let r = 0; r < d; r++) {
      for (let c = 0; c <= r; c++) {
        const v = covs[o + r * d + c] / nk[j] + (r === c ? regCovar : 0);
        covs[o + r * d + c] = v;
        covs[o + c * d + r] = v;
      }
    }
  }
  return new GaussianMixture(K, d, weights, means, covs, "gaussian mixture fit");
}

/** The E step: responsibilities (in place into `resp`) and the mean weighted log-likelihood. */
function eStep(mix: GaussianMixture, z: Matrix, w: Float64Array, wSum: number, resp: Float64Array): number {
  const comp = mix.componentLogDensities(z);
  const K = mix.k;
  let ll = 0;
  for (let i = 0; i < z.rows; i++) {
    const l = logSumExp(comp, i * K, K);
    if (w[i] > 0) ll += w[i] * l;
    for (let j = 0; j < K; j++) resp[i * K + j] = Math.exp(comp[i * K + j] - l);
  }
  return ll / wSum;
}

/** One restart: k-means labels → M step → EM until the mean log-likelihood changes by less than tol. */
function fitOnce(
  z: Matrix,
  w: Float64Array,
  wSum: number,
  K: number,
  s: FitSettings,
  rng: Rng,
): GaussianMixtureFit {
  const n = z.rows;
  const labels = kMeansLabels(z, w, K, rng);
  const resp = new Float64Array(n * K);
  for (let i = 0; i < n; i++) resp[i * K + labels[i]] = 1;
  let mix = mStep(z, w, resp, K, s.regCovar);
  let lower = -Infinity, converged = false, iterations = 0;
  for (let it = 1; it <= s.maxIter; it++) {
    iterations = it;
    const prev = lower;
    lower = eStep(mix, z, w, wSum, resp);
    mix = mStep(z, w, resp, K, s.regCovar);
    if (Math.abs(lower - prev) < s.tol) {
      converged = true;
      break;
    }
  }
  // The log-likelihood of the parameters returned (scikit-learn reports the one before the last M step).
  const logLikelihood = eStep(mix, z, w, wSum, resp);
  return { mixture: mix, logLikelihood, converged, iterations };
}

/** Validated inputs shared by the fit and the BIC sweep; weights normalised to mean 1 (scale-free). */
function prepare(z: Matrix, weights: ArrayLike<number> | undefined, what: string) {
  checkRows(z, what);
  if (z.rows < 1) throw new UserError(`${what}: no latent rows to fit`);
  const raw = checkWeights(weights, z.rows, what);
  let sum = 0;
  for (let i = 0; i < raw.length; i++) sum += raw[i];
  const w = raw.map((v) => v / (sum / raw.length));
  let wSum = 0;
  for (let i = 0; i < w.length; i++) wSum += w[i];
  return { raw, w, wSum, distinct: distinctPositiveRows(z, raw) };
}

/**
 * Fits a K-component Gaussian mixture to the rows of `z` by weighted EM (see the module doc), keeping the best of
 * `nInit` restarts by weighted log-likelihood. Deterministic for a given seed; the Rng stream depends on K only, so
 * the fit equals the K-component fit inside {@link selectGaussianMixtureByBic}.
 * @param z latent vectors, n × d, finite
 * @throws {UserError} on non-finite rows, bad weights or settings, or K above the number of distinct rows with
 *   positive weight
 * @example
 * ```ts
 * const { mixture } = fitGaussianMixture(z, { k: 3, weights: w, seed: 1 });
 * const logp = mixture.logDensities(candidates);
 * ```
 */
export function fitGaussianMixture(z: Matrix, options: GaussianMixtureFitOptions): GaussianMixtureFit {
  const what = "gaussian mixture fit";
  const s = fitSettings(options, what);
  const K = checkInteger(what, "k", options.k, 1);
  const { w, wSum, distinct } = prepare(z, options.weights, what);
  return fitPrepared(z, w, wSum, distinct, K, s, what);
}

function fitPrepared(
  z: Matrix,
  w: Float64Array,
  wSum: number,
  distinct: number,
  K: number,
  s: FitSettings,
  what: string,
): GaussianMixtureFit {
  if (K > distinct) {
    throw new UserError(
      `${what}: k = ${K} components need at least ${K} distinct latent rows with positive weight, got ${distinct}`,
    );
  }
  const rng = new Rng(s.seed, GMM_STREAM + K);
  let best: GaussianMixtureFit | null = null;
  for (let r = 0; r < s.nInit; r++) {
    const fit = fitOnce(z, w, wSum, K, s, rng);
    if (best === null || fit.logLikelihood > best.logLikelihood) best = fit;
  }
  return best!;
}

// ---------------------------------------------------------------------------------------------------------------
// Model selection and the density threshold
// ---------------------------------------------------------------------------------------------------------------

/**
 * How BIC counts the sample size n of weighted data:
 * - `"kish"` (default): Kish's effective sample size (Σw)²/Σw² — the information in importance-weighted rows
 *   (debiasing weights), invariant to scaling the weights, n for equal weights (then BIC equals scikit-learn's);
 * - `"weightSum"`: Σw, for frequency weights (a weight of 2 is a duplicated row).
 */
export type BicSampleSize = "kish" | "weightSum";

/** The sample size n of {@link BicSampleSize} for `weights` (all ones for n rows when omitted). */
export function bicSampleSize(weights: ArrayLike<number>, kind: BicSampleSize = "kish"): number {
  let s = 0, s2 = 0;
  for (let i = 0; i < weights.length; i++) s += weights[i], s2 += weights[i] * weights[i];
  return kind === "kish" ? (s * s) / s2 : s;
}

/**
 * Bayesian information criterion of `mixture` on weighted rows (lower is better):
 *
 *   BIC = −2 · n · ℓ̄ + p · ln n,   ℓ̄ = Σ w_i log p(z_i) / Σ w_i,
 *
 * with p = {@link GaussianMixture.parameterCount} and n from {@link bicSampleSize} — the weighted log-likelihood is
 * the mean per row scaled to the effective sample size, so unweighted data give scikit-learn's `bic` exactly.
 */
export function gaussianMixtureBic(
  mixture: GaussianMixture,
  z: Matrix,
  weights?: ArrayLike<number>,
  sampleSize: BicSampleSize = "kish",
): number {
  const w = checkWeights(weights, z.rows, "gaussian mixture bic");
  const lp = mixture.logDensities(z);
  let ll = 0, ws = 0;
  for (let i = 0; i < z.rows; i++) if (w[i] > 0) ll += w[i] * lp[i], ws += w[i];
  return bicFrom(ll / ws, mixture.parameterCount, bicSampleSize(w, sampleSize));
}

function bicFrom(meanLogLik: number, params: number, n: number): number {
  return -2 * n * meanLogLik + params * Math.log(n);
}

/** Settings of {@link selectGaussianMixtureByBic}: those of the fit (but K) plus the range of K. */
export interface GaussianMixtureSelectOptions extends Omit<GaussianMixtureFitOptions, "k"> {
  /** Smallest K tried (1). */
  kMin?: number;
  /** Largest K tried (8); lowered to the number of distinct rows with positive weight. */
  kMax?: number;
  /** Sample size in the BIC penalty ("kish"). */
  sampleSize?: BicSampleSize;
  /** Called after each K is fitted (progress). */
  onFit?: (score: BicScore) => void;
}

/** One candidate K of a BIC sweep. */
export interface BicScore {
  k: number;
  bic: number;
  /** Mean weighted log-likelihood of the fit. */
  logLikelihood: number;
  /** Free parameters. */
  parameters: number;
  converged: boolean;
}

/** The result of a BIC sweep. */
export interface GaussianMixtureSelection {
  /** The fit with the lowest BIC (ties: the smaller K). */
  best: GaussianMixtureFit;
  k: number;
  /** Every K tried, in order. */
  scores: BicScore[];
  /** The n of the BIC penalty. */
  sampleSize: number;
}

/**
 * Fits K = kMin … kMax components (each as {@link fitGaussianMixture}) and keeps the lowest BIC
 * ({@link gaussianMixtureBic}). Note that with full covariances p grows as K·d²/2: in 64 dimensions one component
 * already has 2 144 parameters, so a few hundred latents select K = 1 unless the clusters are far apart.
 * @throws {UserError} as {@link fitGaussianMixture}, or when kMin > kMax
 */
export function selectGaussianMixtureByBic(
  z: Matrix,
  options: GaussianMixtureSelectOptions = {},
): GaussianMixtureSelection {
  const what = "gaussian mixture bic";
  const s = fitSettings(options, what);
  const kMin = checkInteger(what, "kMin", options.kMin ?? 1, 1);
  const kMaxAsked = checkInteger(what, "kMax", options.kMax ?? 8, 1);
  if (kMin > kMaxAsked) throw new UserError(`${what}: kMin = ${kMin} is above kMax = ${kMaxAsked}`);
  const { raw, w, wSum, distinct } = prepare(z, options.weights, what);
  if (kMin > distinct) {
    throw new UserError(
      `${what}: kMin = ${kMin} components need at least ${kMin} distinct latent rows with positive weight, ` +
        `got ${distinct}`,
    );
  }
  const kMax = Math.min(kMaxAsked, distinct);
  const n = bicSampleSize(raw, options.sampleSize ?? "kish");
  const scores: BicScore[] = [];
  let best: GaussianMixtureFit | null = null, bestK = 0, bestBic = Infinity;
  for (let K = kMin; K <= kMax; K++) {
    const fit = fitPrepared(z, w, wSum, distinct, K, s, what);
    const parameters = fit.mixture.parameterCount;
    const bic = bicFrom(fit.logLikelihood, parameters, n);
    const score = { k: K, bic, logLikelihood: fit.logLikelihood, parameters, converged: fit.converged };
    scores.push(score);
    options.onFit?.(score);
    if (bic < bestBic) best = fit, bestK = K, bestBic = bic;
  }
  return { best: best!, k: bestK, scores, sampleSize: n };
}

/**
 * The density gate of reference §6.2: the weighted q-quantile of the training log-densities log p(z_i), as
 * {@link weightedQuantile} (NumPy's inverted-CDF weighted quantile: the smallest log-density whose normalised
 * cumulative weight reaches q — always one of the training values; the original interpolated with `np.interp`
 * between them, a difference of at most one order-statistic gap). Points with log p(z) ≥ the threshold pass.
 * @param q level in [0, 1] (0.10 as `LOGP_Q`)
 * @throws {UserError} on bad rows, weights or q
 */
export function logDensityThreshold(
  mixture: GaussianMixture,
  z: Matrix,
  weights?: ArrayLike<number>,
  q = 0.10,
): number {
  const what = "gaussian mixture log-density threshold";
  if (!(q >= 0 && q <= 1)) throw new UserError(`${what}: q must be in [0, 1], got ${badNumber(q)}`);
  if (z.rows < 1) throw new UserError(`${what}: no training rows`);
  const w = checkWeights(weights, z.rows, what);
  return weightedQuantile(mixture.logDensities(z), w, q);
}
