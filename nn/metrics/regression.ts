/**
 * Point-prediction metrics (vibann-reference.md §4.2 step 6) and the bootstrap RMSE confidence interval
 * (§4.2 step 5), in float64. Undefined cases return `null` or a documented value, never NaN.
 *
 * Differences from the reference, on purpose: NRMSE divides by the exact range (the reference adds 1e-12; the
 * difference is invisible for hardness data) and is `null` for a constant target; the bootstrap uses our seeded
 * counter-based {@link Rng}, so its resamples differ from NumPy's `default_rng(1)` (same estimator, other draws).
 * @module
 */
import { Rng } from "../random.ts";
import { checkInteger, checkPair, checkProbability } from "./_check.ts";
import { quantileSorted, sortedCopy } from "./quantile.ts";

export { quantile, quantiles, quantileSorted, weightedQuantile } from "./quantile.ts";

/** Metrics on the rows whose target is at or above a high quantile of the target. */
export interface TailMetrics {
  /** The target quantile defining the tail (NumPy "linear" quantile of `yTrue`). */
  threshold: number;
  /** Rows with `yTrue ≥ threshold`. */
  n: number;
  rmse: number;
  mae: number;
}

/** Result of {@link regressionMetrics}. */
export interface RegressionMetrics {
  /** Number of rows. */
  n: number;
  /** Root mean squared error. */
  rmse: number;
  /** Mean absolute error. */
  mae: number;
  /**
   * Coefficient of determination 1 − SS_res / SS_tot. For a constant `yTrue` (SS_tot = 0, including n = 1) it is
   * 1 when every prediction is exact and 0 otherwise, as scikit-learn's `r2_score` (force_finite=True).
   */
  r2: number;
  /**
   * Mean absolute percentage error as a fraction (0.05 = 5 %), over the rows with |y| > 1e-6 only; `null` when no
   * row qualifies.
   */
  mape: number | null;
  /** RMSE / (max(yTrue) − min(yTrue)); `null` when `yTrue` is constant. */
  nrmse: number | null;
  /** Largest absolute error. */
  maxError: number;
  /** Metrics on rows with y ≥ the `tailQuantile` quantile of y; `null` when fewer than 5 such rows. */
  tail: TailMetrics | null;
}

/** Options for {@link regressionMetrics}. */
export interface RegressionMetricOptions {
  /** Level of the target quantile that starts the tail (default 0.85, the reference's q85). */
  tailQuantile?: number;
}

/** Rows with |y| at or below this are left out of MAPE (the reference's mask). */
const MAPE_MIN_ABS = 1e-6;
/** Fewest tail rows for which tail metrics are reported (the reference's rule). */
const MIN_TAIL_ROWS = 5;

/**
 * RMSE, MAE, R², MAPE, NRMSE, max error and tail metrics of predictions against targets.
 * @param yTrue targets (finite, non-empty)
 * @param yPred predictions, one per target
 * @throws {RangeError} on empty, non-finite or mismatched input, or a tail quantile outside [0, 1]
 * @example
 * ```ts
 * const m = regressionMetrics([1, 2, 3], [1, 2, 5]); // m.rmse = 2/√3, m.mae = 2/3, m.r2 = -1
 * ```
 */
export function regressionMetrics(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  { tailQuantile = 0.85 }: RegressionMetricOptions = {},
): RegressionMetrics {
  const fn = "regressionMetrics";
  const n = checkPair(fn, "yTrue", yTrue, "yPred", yPred);
  checkProbability(fn, "tailQuantile", tailQuantile);
  let sumSq = 0, sumAbs = 0, maxError = 0, sumY = 0, min = Infinity, max = -Infinity;
  let sumPct = 0, nPct = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i], e = Math.abs(y - yPred[i]);
    sumSq += e * e;
    sumAbs += e;
    if (e > maxError) maxError = e;
    sumY += y;
    if (y < min) min = y;
    if (y > max) max = y;
    if (Math.abs(y) > MAPE_MIN_ABS) {
      sumPct += e / Math.abs(y);
      nPct++;
    }
  }
  const meanY = sumY / n;
  let ssTot = 0;
  for (let i = 0; i < n; i++) ssTot += (yTrue[i] - meanY) ** 2;
  const rmse = Math.sqrt(sumSq / n);
  const r2 = ssTot > 0 ? 1 - sumSq / ssTot : sumSq === 0 ? 1 : 0;
  return {
    n,
    rmse,
    mae: sumAbs / n,
    r2,
    mape: nPct > 0 ? sumPct / nPct : null,
    nrmse: max > min ? rmse / (max - min) : null,
    maxError,
    tail: tailMetrics(yTrue, yPred, tailQuantile),
  };
}

function tailMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, level: number): TailMetrics | null {
  const threshold = quantileSorted(sortedCopy(yTrue), level);
  let n = 0, sumSq = 0, sumAbs = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] < threshold) continue;
    const e = Math.abs(yTrue[i] - yPred[i]);
    n++;
    sumSq += e * e;
    sumAbs += e;
  }
  if (n < MIN_TAIL_ROWS) return null;
  return { threshold, n, rmse: Math.sqrt(sumSq / n), mae: sumAbs / n };
}

/**
 * The metrics as one flat record (tail fields prefixed `tail_`, `null` where undefined), for tables and CSV/JSON
 * export.
 */
export function flattenRegressionMetrics(m: RegressionMetrics): Record<string, number | null> {
  return {
    n: m.n,
    rmse: m.rmse,
    mae: m.mae,
    r2: m.r2,
    mape: m.mape,
    nrmse: m.nrmse,
    maxError: m.maxError,
    tail_threshold: m.tail?.threshold ?? null,
    tail_n: m.tail?.n ?? null,
    tail_rmse: m.tail?.rmse ?? null,
    tail_mae: m.tail?.mae ?? null,
  };
}

/** Options for {@link bootstrapRmseCi}. */
export interface BootstrapOptions {
  /** Number of bootstrap resamples (default 1000, as the reference). */
  resamples?: number;
  /** Confidence level of the percentile interval (default 0.95). */
  level?: number;
  /** Seed of the {@link Rng} (default 1, as the reference's `default_rng(1)`). */
  seed?: number;
  /** Rng stream id (default 0). */
  stream?: number;
}

/** Result of {@link bootstrapRmseCi}. */
export interface BootstrapRmseCi {
  /** RMSE on all rows (the point estimate). */
  rmse: number;
  /** Mean of the resampled RMSEs. */
  mean: number;
  /** Lower percentile bound: NumPy "linear" quantile (1 − level)/2 of the resampled RMSEs. */
  lo: number;
  /** Upper percentile bound: quantile 1 − (1 − level)/2. */
  hi: number;
}

/**
 * Percentile-bootstrap confidence interval of the RMSE: `resamples` times, draw n row indices with replacement
 * (`rng.int(n)`), compute the RMSE of those rows; the interval is the central `level` range of those RMSEs.
 * Deterministic for a given seed and stream.
 * @throws {RangeError} on bad arrays (as {@link regressionMetrics}), `resamples` < 1 or `level` outside (0, 1)
 * @example
 * ```ts
 * const ci = bootstrapRmseCi(yTest, yMean, { seed: 1 }); // { rmse, mean, lo, hi }
 * ```
 */
export function bootstrapRmseCi(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  { resamples = 1000, level = 0.95, seed = 1, stream = 0 }: BootstrapOptions = {},
): BootstrapRmseCi {
  const fn = "bootstrapRmseCi";
  const n = checkPair(fn, "yTrue", yTrue, "yPred", yPred);
  checkInteger(fn, "resamples", resamples, 1);
  checkProbability(fn, "level", level, true);
  const sq = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += sq[i] = (yTrue[i] - yPred[i]) ** 2;
  const rng = new Rng(seed, stream);
  const rmses = new Float64Array(resamples);
  let sum = 0;
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += sq[rng.int(n)];
    sum += rmses[b] = Math.sqrt(s / n);
  }
  rmses.sort();
  const tail = (1 - level) / 2;
  return {
    rmse: Math.sqrt(total / n),
    mean: sum / resamples,
    lo: quantileSorted(rmses, tail),
    hi: quantileSorted(rmses, 1 - tail),
  };
}
