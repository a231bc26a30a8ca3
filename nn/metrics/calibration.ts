/**
 * Calibration of predictive distributions (vibann-reference.md §4.3): PIT values and their histogram, empirical
 * coverage of central intervals at nominal levels, interval width, and the summary errors MACE and IMCE. Intervals
 * come either from MC samples (laid out [S, N], `samples[s * N + i]`) or from Gaussian (mean, σ) predictions.
 *
 * Definitions (the reference's, kept so numbers are comparable):
 * - central interval at level c: [quantile (1 − c)/2, quantile 1 − (1 − c)/2] of the predictive distribution (NumPy
 *   "linear" sample quantiles, or mean ∓ Φ⁻¹((1 + c)/2)·σ); a row is covered when lo ≤ y ≤ hi (inclusive);
 * - MACE = mean over levels of |coverage − c|;
 * - IMCE = trapezoid integral of |coverage − c| over the level grid, NOT divided by the grid's span (as the
 *   reference's `np.trapz(abs_err, levels)`). On the default grid 0.05…0.95 the span is 0.9, so IMCE ≤ 0.9 and
 *   IMCE / 0.9 is the level-averaged error comparable to MACE. With a single level IMCE is 0.
 * - sharpness = mean predictive standard deviation (population std of the samples, ddof 0; or mean σ).
 * @module
 */
import { checkFinite, checkInteger, checkPair, checkProbability, checkSamples } from "./_check.ts";
import { sortedRowSamples } from "./mc_summary.ts";
import { normalQuantile } from "./normal.ts";
import { quantileSorted } from "./quantile.ts";

/** `num` evenly spaced values from `start` to `stop` inclusive, computed as `np.linspace` does. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** The reference's nominal levels: `np.linspace(0.05, 0.95, 10)` = 0.05, 0.15, …, 0.95. */
export const DEFAULT_LEVELS: readonly number[] = Object.freeze(linspace(0.05, 0.95, 10));

/**
 * Probability integral transform of each target under its MC sample distribution:
 * PIT_i = (#{s : sample < y_i} + 0.5·#{s : sample = y_i}) / S, in [0, 1]. For a calibrated predictor the PIT values
 * are uniform.
 * @param samples S·N finite values laid out [S, N]
 * @param nPasses S
 * @param yTrue N targets
 * @throws {RangeError} on empty, non-finite or mismatched input
 */
export function pitValues(
  samples: ArrayLike<number>,
  nPasses: number,
  yTrue: ArrayLike<number>,
): Float64Array {
  const fn = "pitValues";
  const n = checkSamples(fn, samples, nPasses);
  checkFinite(fn, "yTrue", yTrue);
  if (yTrue.length !== n) throw new RangeError(`${fn}: samples have ${n} rows but yTrue has ${yTrue.length}`);
  const pit = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = yTrue[i];
    let below = 0, equal = 0;
    for (let s = 0; s < nPasses; s++) {
      const v = samples[s * n + i];
      if (v < y) below++;
      else if (v === y) equal++;
    }
    pit[i] = (below + 0.5 * equal) / nPasses;
  }
  return pit;
}

/** Result of {@link pitHistogram}. */
export interface PitHistogram {
  /** B + 1 bin edges from 0 to 1 (`np.linspace(0, 1, B + 1)`). */
  edges: number[];
  /** Values per bin; bins are [e_k, e_{k+1}) except the last, which includes 1 (as `np.histogram`). */
  counts: number[];
  /** counts / (n · bin width): 1 everywhere for perfectly uniform PIT values. */
  density: number[];
}

/**
 * Histogram of PIT values on [0, 1] with `bins` equal bins, binned exactly as `np.histogram(pit, bins, (0, 1))`.
 * @throws {RangeError} when `pit` is empty or has a value outside [0, 1], or `bins` < 1
 */
export function pitHistogram(pit: ArrayLike<number>, bins = 20): PitHistogram {
  const fn = "pitHistogram";
  const n = checkFinite(fn, "pit", pit);
  checkInteger(fn, "bins", bins, 1);
  const edges = linspace(0, 1, bins + 1);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const x = pit[i];
    if (x < 0 || x > 1) throw new RangeError(`${fn}: pit[${i}] = ${x} is outside [0, 1]`);
    let k = Math.trunc(x * bins);
    if (k === bins) k--;
    // NumPy's correction for rounding within an ulp of an edge.
    if (x < edges[k]) k--;
    else if (x >= edges[k + 1] && k !== bins - 1) k++;
    counts[k]++;
  }
  return { edges, counts, density: counts.map((c, k) => c / (n * (edges[k + 1] - edges[k]))) };
}

/** Summary calibration errors of a coverage curve; see the module docs for the definitions. */
export interface CalibrationErrors {
  /** Mean |coverage − c| over the levels. */
  mace: number;
  /** Trapezoid ∫|coverage − c| dc over the level grid (not divided by its span). */
  imce: number;
}

/** Result of {@link sampleCalibration} and {@link gaussianCalibration}; per-level arrays align with `levels`. */
export interface CalibrationCurve extends CalibrationErrors {
  /** Number of rows. */
  n: number;
  /** Nominal central-interval levels c. */
  levels: number[];
  /** Fraction of rows with lo ≤ y ≤ hi at each level. */
  coverage: number[];
  /** |coverage − c| at each level. */
  absMiscalibration: number[];
  /** Mean interval width hi − lo at each level (in the target's units). */
  meanWidth: number[];
  /** Mean predictive standard deviation (population std of the samples, or mean σ). */
  sharpness: number;
}

/** Options for the calibration curves. */
export interface CalibrationOptions {
  /** Nominal levels, strictly increasing, each in (0, 1); default {@link DEFAULT_LEVELS}. */
  levels?: readonly number[];
}

function checkLevels(fn: string, levels: readonly number[]): void {
  if (levels.length === 0) throw new RangeError(`${fn}: levels is empty (need at least 1 level)`);
  levels.forEach((c, j) => {
    checkProbability(fn, "level", c, true);
    if (j > 0 && !(c > levels[j - 1])) {
      throw new RangeError(`${fn}: levels must be strictly increasing (${levels[j - 1]} then ${c})`);
    }
  });
}

/**
 * MACE and IMCE of a coverage curve (see the module docs).
 * @param levels nominal levels, strictly increasing, in (0, 1)
 * @param coverage empirical coverage per level, in [0, 1]
 * @throws {RangeError} on empty or mismatched arrays, or levels that are not strictly increasing
 * @example
 * ```ts
 * calibrationErrors([0.5, 0.9], [0.4, 0.9]); // { mace: 0.05, imce: 0.4 · (0.1 + 0) / 2 = 0.02 }
 * ```
 */
export function calibrationErrors(levels: readonly number[], coverage: ArrayLike<number>): CalibrationErrors {
  const fn = "calibrationErrors";
  checkPair(fn, "levels", levels, "coverage", coverage);
  checkLevels(fn, levels);
  let sum = 0, imce = 0;
  for (let j = 0; j < levels.length; j++) {
    const e = Math.abs(coverage[j] - levels[j]);
    sum += e;
    if (j > 0) imce += (levels[j] - levels[j - 1]) * (e + Math.abs(coverage[j - 1] - levels[j - 1])) / 2;
  }
  return { mace: sum / levels.length, imce };
}

function curve(
  levels: readonly number[],
  n: number,
  sharpness: number,
  bounds: (j: number, i: number) => [number, number],
  yTrue: ArrayLike<number>,
): CalibrationCurve {
  const coverage: number[] = [], meanWidth: number[] = [];
  for (let j = 0; j < levels.length; j++) {
    let hits = 0, width = 0;
    for (let i = 0; i < n; i++) {
      const [lo, hi] = bounds(j, i);
      if (lo <= yTrue[i] && yTrue[i] <= hi) hits++;
      width += hi - lo;
    }
    coverage.push(hits / n);
    meanWidth.push(width / n);
  }
  return {
    n,
    levels: [...levels],
    coverage,
    absMiscalibration: coverage.map((v, j) => Math.abs(v - levels[j])),
    meanWidth,
    sharpness,
    ...calibrationErrors(levels, coverage),
  };
}

/**
 * Coverage curve of the central intervals of MC samples (bounds = per-row NumPy "linear" sample quantiles
 * (1 − c)/2 and 1 − (1 − c)/2), with MACE, IMCE and sharpness.
 * @param samples S·N finite values laid out [S, N]
 * @param nPasses S
 * @param yTrue N targets
 * @throws {RangeError} on empty, non-finite or mismatched input, or bad levels
 */
export function sampleCalibration(
  samples: ArrayLike<number>,
  nPasses: number,
  yTrue: ArrayLike<number>,
  { levels = DEFAULT_LEVELS }: CalibrationOptions = {},
): CalibrationCurve {
  const fn = "sampleCalibration";
  checkLevels(fn, levels);
  const sorted = sortedRowSamples(samples, nPasses);
  const n = sorted.length / nPasses;
  checkFinite(fn, "yTrue", yTrue);
  if (yTrue.length !== n) throw new RangeError(`${fn}: samples have ${n} rows but yTrue has ${yTrue.length}`);
  const rows = Array.from({ length: n }, (_, i) => sorted.subarray(i * nPasses, (i + 1) * nPasses));
  let sharp = 0;
  for (const row of rows) {
    let m = 0;
    for (const v of row) m += v;
    m /= nPasses;
    let ss = 0;
    for (const v of row) ss += (v - m) ** 2;
    sharp += Math.sqrt(ss / nPasses);
  }
  const tails = levels.map((c) => (1 - c) / 2);
  return curve(
    levels,
    n,
    sharp / n,
    (j, i) => [quantileSorted(rows[i], tails[j]), quantileSorted(rows[i], 1 - tails[j])],
    yTrue,
  );
}

/**
 * Coverage curve of Gaussian central intervals mean ∓ Φ⁻¹((1 + c)/2)·σ, with MACE, IMCE and sharpness (mean σ).
 * @param yTrue targets
 * @param mean predictive means, one per target
 * @param sigma predictive standard deviations (finite, ≥ 0), one per target
 * @throws {RangeError} on empty, non-finite or mismatched input, a negative σ, or bad levels
 */
export function gaussianCalibration(
  yTrue: ArrayLike<number>,
  mean: ArrayLike<number>,
  sigma: ArrayLike<number>,
  { levels = DEFAULT_LEVELS }: CalibrationOptions = {},
): CalibrationCurve {
  const fn = "gaussianCalibration";
  checkLevels(fn, levels);
  const n = checkPair(fn, "yTrue", yTrue, "mean", mean);
  checkPair(fn, "yTrue", yTrue, "sigma", sigma);
  let sharp = 0;
  for (let i = 0; i < n; i++) {
    if (sigma[i] < 0) throw new RangeError(`${fn}: sigma[${i}] is negative (${sigma[i]})`);
    sharp += sigma[i];
  }
  const z = levels.map((c) => normalQuantile((1 + c) / 2));
  return curve(levels, n, sharp / n, (j, i) => [mean[i] - z[j] * sigma[i], mean[i] + z[j] * sigma[i]], yTrue);
}
