/**
 * Per-row summaries of Monte-Carlo (MC-dropout) predictive samples. Samples are laid out [S, N], pass-major:
 * `samples[s * N + i]` is pass s for row i (S passes × N rows), as the model's MC loop produces them.
 * @module
 */
import { checkProbability, checkSamples } from "./_check.ts";
import { quantileSorted } from "./quantile.ts";

/** Options for {@link summarizeMcSamples}. */
export interface McSummaryOptions {
  /** Quantile levels to report per row (NumPy "linear"); default [0.05, 0.5, 0.95] (90 % central interval + median). */
  levels?: readonly number[];
  /** z of the lower confidence bound mean − z·std (default 1.645, one-sided 95 % under a normal approximation). */
  z?: number;
}

/** Result of {@link summarizeMcSamples}; every per-row array has N entries. */
export interface McSummary {
  /** S, the number of MC passes. */
  nPasses: number;
  /** N, the number of rows. */
  nRows: number;
  /** Per-row mean over the passes. */
  mean: Float64Array;
  /** Per-row population standard deviation over the passes (ddof 0, as `np.std`; 0 when S = 1). */
  std: Float64Array;
  /** The quantile levels, as requested. */
  levels: number[];
  /** `quantiles[j][i]`: the `levels[j]` quantile of row i's samples. */
  quantiles: Float64Array[];
  /** The z used for {@link McSummary.lcb}. */
  z: number;
  /** Lower confidence bound per row: mean − z·std. */
  lcb: Float64Array;
}

/**
 * Each row's S samples, sorted ascending, as an [N, S] row-major array (`out[i * S + s]`).
 * @throws {RangeError} on empty or non-finite samples, or a length that is not a multiple of `nPasses`
 */
export function sortedRowSamples(samples: ArrayLike<number>, nPasses: number): Float64Array {
  const n = checkSamples("sortedRowSamples", samples, nPasses);
  const out = new Float64Array(samples.length);
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * nPasses, (i + 1) * nPasses);
    for (let s = 0; s < nPasses; s++) row[s] = samples[s * n + i];
    row.sort();
  }
  return out;
}

/**
 * Per-row mean, population std, quantiles and lower confidence bound of MC samples laid out [S, N].
 * @param samples S·N finite values, `samples[s * N + i]`
 * @param nPasses S (≥ 1)
 * @throws {RangeError} on empty or non-finite samples, a length that is not a multiple of S, a level outside
 *   [0, 1] or a non-finite z
 * @example
 * ```ts
 * const s = summarizeMcSamples(samples, 500); // s.mean[i], s.std[i], s.quantiles[0][i] (5 %), s.lcb[i]
 * ```
 */
export function summarizeMcSamples(
  samples: ArrayLike<number>,
  nPasses: number,
  { levels = [0.05, 0.5, 0.95], z = 1.645 }: McSummaryOptions = {},
): McSummary {
  const fn = "summarizeMcSamples";
  const n = checkSamples(fn, samples, nPasses);
  for (const q of levels) checkProbability(fn, "level", q);
  if (!Number.isFinite(z)) throw new RangeError(`${fn}: z must be a finite number, got ${z}`);
  const mean = new Float64Array(n), std = new Float64Array(n), lcb = new Float64Array(n);
  const quantiles = levels.map(() => new Float64Array(n));
  const row = new Float64Array(nPasses);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let s = 0; s < nPasses; s++) sum += row[s] = samples[s * n + i];
    const m = sum / nPasses;
    let ss = 0;
    for (let s = 0; s < nPasses; s++) ss += (row[s] - m) ** 2;
    mean[i] = m;
    std[i] = Math.sqrt(ss / nPasses);
    lcb[i] = m - z * std[i];
    if (levels.length > 0) {
      row.sort();
      for (let j = 0; j < levels.length; j++) quantiles[j][i] = quantileSorted(row, levels[j]);
    }
  }
  return { nPasses, nRows: n, mean, std, levels: [...levels], quantiles, z, lcb };
}
