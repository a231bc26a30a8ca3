/**
 * Sample quantiles with NumPy's definitions, so our numbers match `np.quantile` bit for bit (float64):
 * - {@link quantile}: `np.quantile(x, q)` (method "linear", the default; also `np.percentile(x, 100·q)`),
 * - {@link weightedQuantile}: `np.quantile(x, q, weights=w, method="inverted_cdf")` (NumPy ≥ 2.0; the only
 *   weighted method NumPy offers).
 * @module
 */
import { checkFinite, checkPair, checkProbability } from "./_check.ts";

/** Sorted float64 copy of `values` (ascending). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * NumPy "linear" quantile of an already ascending-sorted, non-empty array: position h = (n − 1)·q, linear
 * interpolation between the neighbours, with NumPy's two-sided lerp (`b − (b − a)(1 − t)` for t ≥ 0.5) so results
 * agree to the last bit. No validation (hot path); use {@link quantile} for checked input.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const h = (n - 1) * q;
  if (h >= n - 1) return sorted[n - 1];
  if (h <= 0) return sorted[0];
  const lo = Math.floor(h);
  const t = h - lo;
  const a = sorted[lo], b = sorted[lo + 1];
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/**
 * The q-quantile of `values` as `np.quantile(values, q)` (method "linear": h = (n − 1)·q, interpolate between the
 * order statistics around h).
 * @param values at least one finite number (any order)
 * @param q level in [0, 1]
 * @throws {RangeError} when `values` is empty or not finite, or `q` is outside [0, 1]
 * @example
 * ```ts
 * quantile([1, 2, 3, 4], 0.1); // 1.3, as np.quantile([1, 2, 3, 4], 0.1)
 * ```
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  checkFinite("quantile", "values", values);
  checkProbability("quantile", "q", q);
  return quantileSorted(sortedCopy(values), q);
}

/**
 * Several quantiles of `values` at once (one sort), as `np.quantile(values, qs)`.
 * @throws {RangeError} as {@link quantile}
 */
export function quantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  checkFinite("quantiles", "values", values);
  for (const q of qs) checkProbability("quantiles", "q", q);
  const s = sortedCopy(values);
  return qs.map((q) => quantileSorted(s, q));
}

/**
 * Weighted q-quantile as `np.quantile(values, q, weights=weights, method="inverted_cdf")`: the smallest value whose
 * normalised cumulative weight reaches q (no interpolation; the result is always one of `values`). With integer
 * weights this equals the inverted-CDF quantile of the data with each value repeated `weight` times; scaling all
 * weights by a constant changes nothing; zero-weight values are never returned. Note that with equal weights this
 * is NumPy's "inverted_cdf" method, not the interpolating "linear" method of {@link quantile}.
 * @param values finite numbers (any order)
 * @param weights non-negative finite weights, one per value, not all zero
 * @param q level in [0, 1]
 * @throws {RangeError} on empty or mismatched input, negative weights, all-zero weights or `q` outside [0, 1]
 * @example
 * ```ts
 * weightedQuantile([1, 2, 3], [1, 1, 2], 0.5); // 2 (cumulative weights 0.25, 0.5, 1)
 * ```
 */
export function weightedQuantile(values: ArrayLike<number>, weights: ArrayLike<number>, q: number): number {
  const fn = "weightedQuantile";
  const n = checkPair(fn, "values", values, "weights", weights);
  checkProbability(fn, "q", q);
  for (let i = 0; i < n; i++) {
    if (weights[i] < 0) throw new RangeError(`${fn}: weights[${i}] is negative (${weights[i]})`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let k = 0; k < n; k++) cdf[k] = acc += weights[order[k]];
  if (!(acc > 0)) throw new RangeError(`${fn}: weights are all zero`);
  for (let k = 0; k < n; k++) cdf[k] /= acc;
  // First k with cdf[k] ≥ q; cdf[k] = 0 (leading zero weights) never qualifies, as in NumPy.
  for (let k = 0; k < n; k++) {
    if (cdf[k] >= q && cdf[k] > 0) return values[order[k]];
  }
  return values[order[n - 1]];
}
