/**
 * PIT histogram of an ensemble of S samples per row without binning artefacts.
 *
 * Why: with S samples the plain PIT (#below + ½·#equal) / S only takes the values k/(2S); with S = 20 passes and
 * 20 bins those values fall exactly on the bin edges, so floating-point rounding decides the bin and the histogram
 * shows empty bins next to doubled ones even for a perfectly calibrated model. Here each row's PIT is the
 * randomised PIT of the rank histogram — uniform on [b/(S+1), (b+e+1)/(S+1)] for b samples below and e equal to
 * the target — and its unit mass is spread over the bins in proportion to overlap: the expected histogram of the
 * randomised PIT, deterministic, and exactly uniform in expectation when the target is exchangeable with the
 * samples.
 * @module
 */

/** Spread PIT histogram: B + 1 edges on [0, 1] and B (fractional) counts summing to the number of rows. */
export interface SpreadPitHistogram {
  edges: number[];
  counts: number[];
}

/**
 * The spread PIT histogram of `y` under its samples.
 * @param samples S·N values laid out [S, N] (sample s of row i at s·N + i)
 * @param passes S
 * @param y N targets
 * @param bins B equal bins on [0, 1] (default 20)
 * @throws {RangeError} on mismatched sizes, fewer than 1 pass or bin, or non-finite values
 * @example
 * ```ts
 * spreadPitHistogram([1, 3], 2, [2], 3).counts; // one row, rank 1 of 3 → [0, 1, 0]
 * ```
 */
export function spreadPitHistogram(
  samples: ArrayLike<number>,
  passes: number,
  y: ArrayLike<number>,
  bins = 20,
): SpreadPitHistogram {
  const n = y.length;
  if (!(Number.isInteger(passes) && passes >= 1)) {
    throw new RangeError(`spreadPitHistogram: ${passes} passes`);
  }
  if (!(Number.isInteger(bins) && bins >= 1)) throw new RangeError(`spreadPitHistogram: ${bins} bins`);
  if (samples.length !== passes * n) {
    throw new RangeError(`spreadPitHistogram: ${samples.length} samples ≠ ${passes} passes × ${n} rows`);
  }
  const edges = Array.from({ length: bins + 1 }, (_, k) => k / bins);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const t = y[i];
    if (!Number.isFinite(t)) throw new RangeError(`spreadPitHistogram: target ${i} is ${t}`);
    let below = 0, equal = 0;
    for (let s = 0; s < passes; s++) {
      const v = samples[s * n + i];
      if (!Number.isFinite(v)) throw new RangeError(`spreadPitHistogram: sample ${s} of row ${i} is ${v}`);
      if (v < t) below++;
      else if (v === t) equal++;
    }
    const a = below / (passes + 1), b = (below + equal + 1) / (passes + 1);
    // Mass 1 spread uniformly over [a, b]: bin k gets |[a, b] ∩ [k/B, (k+1)/B]| / (b − a).
    const k0 = Math.min(bins - 1, Math.floor(a * bins)), k1 = Math.min(bins - 1, Math.floor(b * bins));
    for (let k = k0; k <= k1; k++) {
      const overlap = Math.min(b, (k + 1) / bins) - Math.max(a, k / bins);
      if (overlap > 0) counts[k] += overlap / (b - a);
    }
  }
  return { edges, counts };
}
