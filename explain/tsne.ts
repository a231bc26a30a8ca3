/**
 * Exact t-SNE (van der Maaten & Hinton 2008) in float64 on the host, following scikit-learn's `TSNE(method="exact")`
 * step by step so its plots read the same:
 *
 * - affinities: squared Euclidean distances; per row a binary search on the Gaussian precision until the entropy of
 *   P(·|i) equals log(perplexity) (tolerance 1e-5, ≤ 100 steps); P = (P + Pᵀ) / Σ, floored at machine ε;
 * - embedding kernel: Student t with one degree of freedom, q_ij ∝ (1 + ‖y_i − y_j‖²)⁻¹;
 * - optimisation: 250 iterations with early exaggeration 12 and momentum 0.5, then momentum 0.8 up to `iterations`
 *   in total; learning rate "auto" = max(n / 12 / 4, 50); delta-bar-delta gains (+0.2 / ×0.8, floor 0.01), reset
 *   between the two stages; stops early when the gradient norm falls below 1e-7 or the KL divergence (checked every
 *   50 iterations) has not improved for 300 iterations;
 * - initialisation: "pca" (default, as the original): the first two principal components scaled so the first has
 *   standard deviation 1e-4; or "random": N(0, 1e-4²) from the seeded {@link Rng}.
 *
 * O(n²) memory and time per iteration: fine for the ≤ ~1000 latents of the hardness data set (673 rows: a few
 * seconds). Deterministic: the same input, options and seed give the same embedding bit for bit.
 * @module
 */
import { Rng } from "../nn/random.ts";
import { pca } from "./pca.ts";

/** Options of {@link tsne}. */
export interface TsneOptions {
  /** Perplexity (default 30; must be < n). */
  perplexity?: number;
  /** Total iterations (default 1000, scikit-learn's `max_iter`). */
  iterations?: number;
  /** Seed of the random initialisation (default 0). */
  seed?: number;
  /** Initialisation (default "pca"). */
  init?: "pca" | "random";
  /** Early exaggeration (default 12). */
  earlyExaggeration?: number;
  /** Learning rate (default "auto"). */
  learningRate?: number | "auto";
}

/** An embedding and how the optimisation ended. */
export interface TsneResult {
  /** n × 2 coordinates, row-major. */
  embedding: Float64Array;
  /** KL(P ‖ Q) of the final embedding. */
  klDivergence: number;
  /** Iterations run. */
  iterations: number;
}

const MACHINE_EPSILON = 2.220446049250313e-16;
const EXPLORATION_ITERATIONS = 250;
const CHECK_EVERY = 50;
const NO_PROGRESS_ITERATIONS = 300;
const MIN_GRAD_NORM = 1e-7;

/**
 * Conditional probabilities P(j|i) (row i, n × n, zero diagonal) of the rows of `x`: Gaussian kernels whose
 * precision is binary-searched so each row's entropy is log(perplexity).
 */
export function tsneConditional(
  x: ArrayLike<number>,
  n: number,
  d: number,
  perplexity: number,
): Float64Array {
  const dist = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x[i * d + k] - x[j * d + k]) ** 2;
      dist[i * n + j] = dist[j * n + i] = s;
    }
  }
  const cond = new Float64Array(n * n);
  const desired = Math.log(perplexity);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Distances shifted by the row's smallest one: P(·|i) and its entropy are unchanged, exp cannot underflow.
    let dmin = Infinity;
    for (let j = 0; j < n; j++) if (j !== i && dist[i * n + j] < dmin) dmin = dist[i * n + j];
    let beta = 1, lo = -Infinity, hi = Infinity;
    for (let step = 0; step < 100; step++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += row[j] = j === i ? 0 : Math.exp(-(dist[i * n + j] - dmin) * beta);
      if (sum === 0) sum = 1e-8;
      let dp = 0;
      for (let j = 0; j < n; j++) {
        row[j] /= sum;
        dp += (dist[i * n + j] - dmin) * row[j];
      }
      const diff = Math.log(sum) + beta * dp - desired;
      if (Math.abs(diff) <= 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
    cond.set(row, i * n);
  }
  return cond;
}

/** Joint probabilities P (n × n, symmetric, zero diagonal, summing to 1) of the rows of `x` at a perplexity. */
export function tsneAffinities(x: ArrayLike<number>, n: number, d: number, perplexity: number): Float64Array {
  const cond = tsneConditional(x, n, d, perplexity);
  const P = new Float64Array(n * n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) total += 2 * (cond[i * n + j] + cond[j * n + i]);
  }
  total = Math.max(total, MACHINE_EPSILON);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      P[i * n + j] = P[j * n + i] = Math.max((cond[i * n + j] + cond[j * n + i]) / total, MACHINE_EPSILON);
    }
  }
  return P;
}

/**
 * Gradient (into `grad`, n × 2) of the KL divergence of an embedding under the Student-t kernel, and the divergence
 * itself when `withKl` (NaN otherwise: its n² logarithms cost as much as the gradient). `q` is an n × n buffer.
 */
function klGradient(
  P: Float64Array,
  y: Float64Array,
  n: number,
  exaggeration: number,
  grad: Float64Array,
  q: Float64Array,
  withKl: boolean,
): number {
  let qsum = 0;
  for (let i = 0; i < n; i++) {
    const yi0 = y[2 * i], yi1 = y[2 * i + 1];
    for (let j = i + 1; j < n; j++) {
      const a = yi0 - y[2 * j], b = yi1 - y[2 * j + 1];
      const v = 1 / (1 + a * a + b * b);
      q[i * n + j] = v;
      qsum += 2 * v;
    }
  }
  grad.fill(0);
  let kl = withKl ? 0 : NaN;
  for (let i = 0; i < n; i++) {
    const yi0 = y[2 * i], yi1 = y[2 * i + 1];
    for (let j = i + 1; j < n; j++) {
      const v = q[i * n + j], p = exaggeration * P[i * n + j];
      const Q = Math.max(v / qsum, MACHINE_EPSILON);
      if (withKl) kl += 2 * p * Math.log(Math.max(p, MACHINE_EPSILON) / Q);
      const c = 4 * (p - Q) * v;
      const g0 = c * (yi0 - y[2 * j]), g1 = c * (yi1 - y[2 * j + 1]);
      grad[2 * i] += g0, grad[2 * i + 1] += g1;
      grad[2 * j] -= g0, grad[2 * j + 1] -= g1;
    }
  }
  return kl;
}

/** One stage of gradient descent with momentum and gains; returns the iteration reached and the last KL. */
function descend(
  P: Float64Array,
  y: Float64Array,
  n: number,
  from: number,
  to: number,
  momentum: number,
  lr: number,
  exaggeration: number,
): { it: number; kl: number } {
  const update = new Float64Array(2 * n),
    gains = new Float64Array(2 * n).fill(1),
    grad = new Float64Array(2 * n);
  const q = new Float64Array(n * n);
  let bestKl = Infinity, bestIt = from, kl = NaN, it = from;
  for (; it < to; it++) {
    const check = (it + 1) % CHECK_EVERY === 0 || it === to - 1;
    kl = klGradient(P, y, n, exaggeration, grad, q, check);
    let norm = 0;
    for (let k = 0; k < 2 * n; k++) {
      const inc = update[k] * grad[k] < 0;
      gains[k] = Math.max(0.01, inc ? gains[k] + 0.2 : gains[k] * 0.8);
      grad[k] *= gains[k];
      norm += grad[k] * grad[k];
      update[k] = momentum * update[k] - lr * grad[k];
      y[k] += update[k];
    }
    if (check) {
      if (kl < bestKl) bestKl = kl, bestIt = it;
      else if (it - bestIt > NO_PROGRESS_ITERATIONS) return { it: it + 1, kl };
      if (Math.sqrt(norm) <= MIN_GRAD_NORM) return { it: it + 1, kl };
    }
  }
  return { it, kl };
}

/**
 * Exact t-SNE of the rows of `x` (n × d) to 2-D, with the KL divergence reached (see the module docs).
 * @throws {RangeError} on bad sizes, n < 2, a non-finite value, or perplexity outside (0, n)
 */
export function tsneRun(x: ArrayLike<number>, n: number, d: number, o: TsneOptions = {}): TsneResult {
  const perplexity = o.perplexity ?? 30, iterations = o.iterations ?? 1000;
  const ex = o.earlyExaggeration ?? 12;
  if (x.length !== n * d) throw new RangeError(`tsne: ${x.length} values ≠ ${n} × ${d}`);
  if (n < 2) throw new RangeError(`tsne: needs at least 2 rows, got ${n}`);
  if (!(perplexity > 0 && perplexity < n)) {
    throw new RangeError(`tsne: perplexity ${perplexity} must be in (0, ${n}) (the number of rows)`);
  }
  if (!(Number.isInteger(iterations) && iterations >= 1)) {
    throw new RangeError(`tsne: iterations ${iterations}`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new RangeError(`tsne: value ${i} is ${x[i]}`);
  }
  const lr = o.learningRate === undefined || o.learningRate === "auto"
    ? Math.max(n / ex / 4, 50)
    : o.learningRate;

  const y = new Float64Array(2 * n);
  if ((o.init ?? "pca") === "pca" && d >= 2) {
    const s = pca(x, n, d, 2).scores;
    let m = 0, v = 0;
    for (let i = 0; i < n; i++) m += s[2 * i] / n;
    for (let i = 0; i < n; i++) v += (s[2 * i] - m) ** 2 / n;
    const scale = v > 0 ? 1e-4 / Math.sqrt(v) : 1;
    for (let k = 0; k < 2 * n; k++) y[k] = s[k] * scale;
  } else {
    const rng = new Rng(o.seed ?? 0, 0x74736e65);
    for (let k = 0; k < 2 * n; k++) y[k] = 1e-4 * rng.normal();
  }
  const P = tsneAffinities(x, n, d, perplexity);
  const first = descend(P, y, n, 0, Math.min(EXPLORATION_ITERATIONS, iterations), 0.5, lr, ex);
  let last = first;
  if (iterations > EXPLORATION_ITERATIONS) last = descend(P, y, n, first.it, iterations, 0.8, lr, 1);
  return { embedding: y, klDivergence: last.kl, iterations: last.it };
}

/**
 * Exact t-SNE of the rows of `x` (n × d) to 2-D: n × 2 coordinates, row-major (see the module docs).
 * @example
 * ```ts
 * const xy = tsne(standardizeColumns(latents, n, L).data, n, L, { perplexity: 30, seed: 1 });
 * ```
 */
export function tsne(x: ArrayLike<number>, n: number, d: number, o: TsneOptions = {}): Float64Array {
  return tsneRun(x, n, d, o).embedding;
}
