/**
 * Seeded k-means (squared Euclidean): k-means++ seeding ("greedy" variant with 2 + ⌊ln k⌋ candidates per step, as in
 * scikit-learn) followed by Lloyd iterations; `nInit` restarts keep the lowest inertia. All random draws come from
 * `Rng` (nn/random.ts), so a seed gives the same labels on every machine. Used for stratification labels.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { Rng } from "../nn/random.ts";

/** Options for {@link kmeans}. */
export interface KMeansOptions {
  /** Number of clusters (1 ≤ k ≤ rows). */
  k: number;
  /** Seed (default 0). */
  seed?: number;
  /** Restarts; the run with the lowest inertia wins (default 10, scikit-learn < 1.4's default). */
  nInit?: number;
  /** Lloyd iterations per run (default 300). */
  maxIter?: number;
  /** Convergence: total squared centre shift ≤ tol × mean per-column variance (default 1e-4, as scikit-learn). */
  tol?: number;
}

/** A clustering. */
export interface KMeansResult {
  /** Cluster of each row (0..k-1). */
  labels: Int32Array;
  /** Centres, k × d, row-major. */
  centers: Float64Array;
  /** Sum of squared distances of rows to their centre. */
  inertia: number;
  /** Lloyd iterations of the winning run. */
  iterations: number;
}

function dist2(x: Float64Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const z = x[i * d + t] - c[j * d + t];
    s += z * z;
  }
  return s;
}

/** Draws an index with probability ∝ weights (uniformly when all weights are 0). */
function drawWeighted(w: Float64Array, total: number, rng: Rng): number {
  if (!(total > 0)) return rng.int(w.length);
  let u = rng.uniform() * total;
  for (let i = 0; i < w.length; i++) {
    u -= w[i];
    if (u <= 0) return i;
  }
  for (let i = w.length - 1; i >= 0; i--) if (w[i] > 0) return i;
  return w.length - 1;
}

/** k-means++ seeding (greedy): returns k × d initial centres. */
export function kmeansPlusPlus(x: Float64Array, n: number, d: number, k: number, rng: Rng): Float64Array {
  const centers = new Float64Array(k * d);
  const first = rng.int(n);
  centers.set(x.subarray(first * d, first * d + d), 0);
  const closest = new Float64Array(n);
  for (let i = 0; i < n; i++) closest[i] = dist2(x, i, centers, 0, d);
  let pot = closest.reduce((a, b) => a + b, 0);
  const trials = 2 + Math.floor(Math.log(k));
  const cand = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let bestPot = Infinity, best = -1;
    let bestClosest: Float64Array | undefined;
    for (let t = 0; t < trials; t++) {
      const idx = drawWeighted(closest, pot, rng);
      let p = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let u = 0; u < d; u++) {
          const z = x[i * d + u] - x[idx * d + u];
          s += z * z;
        }
        cand[i] = Math.min(closest[i], s);
        p += cand[i];
      }
      if (p < bestPot) bestPot = p, best = idx, bestClosest = Float64Array.from(cand);
    }
    centers.set(x.subarray(best * d, best * d + d), c * d);
    closest.set(bestClosest!);
    pot = bestPot;
  }
  return centers;
}

function assign(x: Float64Array, n: number, d: number, centers: Float64Array, k: number, labels: Int32Array) {
  let inertia = 0;
  const dmin = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let b = 0, bd = Infinity;
    for (let j = 0; j < k; j++) {
      const s = dist2(x, i, centers, j, d);
      if (s < bd) bd = s, b = j;
    }
    labels[i] = b;
    dmin[i] = bd;
    inertia += bd;
  }
  return { inertia, dmin };
}

function lloyd(
  x: Float64Array,
  n: number,
  d: number,
  k: number,
  init: Float64Array,
  maxIter: number,
  tolAbs: number,
) {
  const centers = Float64Array.from(init);
  const labels = new Int32Array(n);
  let it = 0;
  for (; it < maxIter; it++) {
    const { dmin } = assign(x, n, d, centers, k, labels);
    const sums = new Float64Array(k * d);
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      counts[labels[i]]++;
      for (let t = 0; t < d; t++) sums[labels[i] * d + t] += x[i * d + t];
    }
    // Empty clusters take the rows farthest from their centres (as scikit-learn relocates them).
    const empty = [...counts.keys()].filter((j) => counts[j] === 0);
    if (empty.length > 0) {
      const far = [...dmin.keys()].sort((a, b) => dmin[b] - dmin[a] || a - b);
      empty.forEach((j, e) => {
        const i = far[e], old = labels[i];
        counts[old]--, counts[j]++;
        for (let t = 0; t < d; t++) sums[old * d + t] -= x[i * d + t], sums[j * d + t] += x[i * d + t];
        labels[i] = j;
      });
    }
    let shift = 0;
    for (let j = 0; j < k; j++) {
      for (let t = 0; t < d; t++) {
        const v = counts[j] > 0 ? sums[j * d + t] / counts[j] : centers[j * d + t];
        shift += (v - centers[j * d + t]) ** 2;
        centers[j * d + t] = v;
      }
    }
    if (shift <= tolAbs) {
      it++;
      break;
    }
  }
  const { inertia } = assign(x, n, d, centers, k, labels);
  return { labels, centers, inertia, iterations: it };
}

/**
 * Clusters the rows of `x` (n × d, row-major).
 * @throws {UserError} when k is not an integer in 1..n or the data contain a non-finite value
 */
export function kmeans(x: Float64Array, n: number, d: number, options: KMeansOptions): KMeansResult {
  const { k } = options;
  const nInit = options.nInit ?? 10, maxIter = options.maxIter ?? 300, tol = options.tol ?? 1e-4;
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new UserError(`k-means: k must be an integer from 1 to the number of rows (${n}), got ${k}`);
  }
  if (!Number.isInteger(nInit) || nInit < 1) throw new UserError(`k-means: nInit must be ≥ 1, got ${nInit}`);
  if (x.length !== n * d) throw new UserError(`k-means: data length ${x.length} is not ${n} × ${d}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new UserError(`k-means: non-finite value in row ${Math.floor(i / d)}`);
  }
  let varSum = 0;
  for (let t = 0; t < d; t++) {
    let m = 0, s = 0;
    for (let i = 0; i < n; i++) m += x[i * d + t];
    m /= n;
    for (let i = 0; i < n; i++) s += (x[i * d + t] - m) ** 2;
    varSum += s / n;
  }
  const tolAbs = d > 0 ? tol * varSum / d : 0;
  const rng = new Rng(options.seed ?? 0, 0x6b6d);
  let best: KMeansResult | undefined;
  for (let r = 0; r < nInit; r++) {
    const res = lloyd(x, n, d, k, kmeansPlusPlus(x, n, d, k, rng), maxIter, tolAbs);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return best!;
}
