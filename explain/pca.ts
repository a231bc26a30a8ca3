/**
 * Principal component analysis (float64): eigen-decomposition of the sample covariance (denominator n − 1, as
 * scikit-learn's `explained_variance_`). Sign convention (deterministic, as scikit-learn ≥ 1.5's `svd_flip` on the
 * components): in every component the entry of largest magnitude is positive (the first such entry on ties).
 * @module
 */
import { symmetricEigen } from "./symmetric_eigen.ts";

/** A fitted PCA. */
export interface Pca {
  /** Column means (d). */
  mean: Float64Array;
  /** Principal axes, k × d, row-major, unit length. */
  components: Float64Array;
  /** Variance along each axis (k), denominator n − 1. */
  explainedVariance: Float64Array;
  /** Share of the total variance (k). */
  explainedRatio: Float64Array;
  /** Coordinates of the fitted rows, n × k. */
  scores: Float64Array;
  n: number;
  d: number;
  k: number;
}

/**
 * Fits PCA with k components to the rows of `x` (n × d, row-major).
 * @throws {RangeError} when n < 2, k is not in 1..d, sizes mismatch or a value is not finite
 */
export function pca(x: ArrayLike<number>, n: number, d: number, k: number): Pca {
  if (x.length !== n * d) throw new RangeError(`pca: ${x.length} values ≠ ${n} × ${d}`);
  if (n < 2) throw new RangeError(`pca: needs at least 2 rows, got ${n}`);
  if (!(Number.isInteger(k) && k >= 1 && k <= d)) throw new RangeError(`pca: k = ${k} is not in 1..${d}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j];
      if (!Number.isFinite(v)) throw new RangeError(`pca: value (${i}, ${j}) is ${v}`);
      mean[j] += v / n;
    }
  }
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) cov[b * d + a] = cov[a * d + b] /= n - 1;
  }
  const eig = symmetricEigen(cov, d);
  let total = 0;
  for (let a = 0; a < d; a++) total += cov[a * d + a];
  const components = eig.vectors.slice(0, k * d);
  for (let c = 0; c < k; c++) {
    let big = 0;
    for (let j = 1; j < d; j++) {
      if (Math.abs(components[c * d + j]) > Math.abs(components[c * d + big])) big = j;
    }
    if (components[c * d + big] < 0) { for (let j = 0; j < d; j++) components[c * d + j] *= -1; }
  }
  const explainedVariance = Float64Array.from(eig.values.slice(0, k), (v) => Math.max(0, v));
  const explainedRatio = explainedVariance.map((v) => (total > 0 ? v / total : 0));
  const out: Pca = {
    mean,
    components,
    explainedVariance,
    explainedRatio,
    scores: new Float64Array(0),
    n,
    d,
    k,
  };
  out.scores = pcaTransform(out, x, n);
  return out;
}

/** Coordinates (m × k) of the rows of `x` (m × d) in a fitted PCA, e.g. designed candidates' latents. */
export function pcaTransform(p: Pca, x: ArrayLike<number>, m: number): Float64Array {
  const { d, k } = p;
  if (x.length !== m * d) throw new RangeError(`pcaTransform: ${x.length} values ≠ ${m} × ${d}`);
  const out = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (x[i * d + j] - p.mean[j]) * p.components[c * d + j];
      out[i * k + c] = s;
    }
  }
  return out;
}

/** Maps PCA coordinates (m × k) back to the original space (m × d): mean + scores · components. */
export function pcaInverse(p: Pca, scores: ArrayLike<number>, m: number): Float64Array {
  const { d, k } = p;
  if (scores.length !== m * k) throw new RangeError(`pcaInverse: ${scores.length} values ≠ ${m} × ${k}`);
  const out = new Float64Array(m * d);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < d; j++) {
      let s = p.mean[j];
      for (let c = 0; c < k; c++) s += scores[i * k + c] * p.components[c * d + j];
      out[i * d + j] = s;
    }
  }
  return out;
}
