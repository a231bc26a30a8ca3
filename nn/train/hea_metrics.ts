/**
 * Binary-classification metrics for the HEA phase classifier: accuracy at 0.5, ROC-AUC (Mann–Whitney, ties count
 * ½), the ROC curve, percentile-bootstrap intervals (same resampling scheme as nn/metrics/regression.ts's
 * bootstrapRmseCi: n rows drawn with replacement by a seeded {@link Rng}), and mean ± std over replicas.
 * @module
 */
import { Rng } from "../random.ts";
import { quantileSorted } from "../metrics/quantile.ts";

function check(fn: string, y: ArrayLike<number>, p: ArrayLike<number>): number {
  if (y.length !== p.length) throw new RangeError(`${fn}: ${y.length} labels for ${p.length} scores`);
  if (y.length === 0) throw new RangeError(`${fn}: no rows`);
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`${fn}: label ${i} is ${y[i]}, not 0 or 1`);
    if (!Number.isFinite(p[i])) throw new RangeError(`${fn}: score ${i} is ${p[i]}`);
  }
  return y.length;
}

/** Fraction of rows with (p > threshold) = y. */
export function accuracy(y: ArrayLike<number>, p: ArrayLike<number>, threshold = 0.5): number {
  const n = check("accuracy", y, p);
  let c = 0;
  for (let i = 0; i < n; i++) c += (p[i] > threshold ? 1 : 0) === y[i] ? 1 : 0;
  return c / n;
}

/** Mid-ranks (1-based) of `v`, ties sharing their mean rank. */
function midRanks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a] - v[b]);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && v[idx[j + 1]] === v[idx[i]]) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]] = mid;
    i = j + 1;
  }
  return r;
}

/**
 * ROC-AUC = P(score of a random positive > score of a random negative) + ½ P(tie), from the rank sum. NaN when one
 * class is absent.
 */
export function rocAuc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = check("rocAuc", y, p);
  const r = midRanks(p);
  let n1 = 0, s = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) n1++, s += r[i];
  const n0 = n - n1;
  if (n1 === 0 || n0 === 0) return NaN;
  return (s - (n1 * (n1 + 1)) / 2) / (n1 * n0);
}

/** One ROC curve: false/true positive rates at each distinct threshold (descending), from (0,0) to (1,1). */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Threshold of each point (score ≥ threshold is called positive); the first is +∞. */
  thresholds: number[];
}

/** The ROC curve of scores `p` against labels `y`. */
export function rocCurve(y: ArrayLike<number>, p: ArrayLike<number>): RocCurve {
  const n = check("rocCurve", y, p);
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[b] - p[a]);
  let P = 0;
  for (let i = 0; i < n; i++) P += y[i];
  const N = n - P;
  const out: RocCurve = { fpr: [0], tpr: [0], thresholds: [Infinity] };
  let tp = 0, fp = 0;
  for (let k = 0; k < n;) {
    const t = p[idx[k]];
    while (k < n && p[idx[k]] === t) (y[idx[k]] === 1 ? tp++ : fp++), k++;
    out.fpr.push(N ? fp / N : 0);
    out.tpr.push(P ? tp / P : 0);
    out.thresholds.push(t);
  }
  return out;
}

/** A point estimate with its percentile-bootstrap interval. */
export interface BootstrapInterval {
  value: number;
  lo: number;
  hi: number;
}

/** Options of {@link bootstrapClassification}. */
export interface ClassificationBootstrapOptions {
  /** Resamples (1000). */
  resamples?: number;
  /** Confidence level (0.95). */
  level?: number;
  seed?: number;
  stream?: number;
}

/**
 * Accuracy and ROC-AUC with percentile-bootstrap intervals over the rows (the same resamples for both; a resample
 * with one class only is skipped for the AUC).
 */
export function bootstrapClassification(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  { resamples = 1000, level = 0.95, seed = 1, stream = 0 }: ClassificationBootstrapOptions = {},
): { accuracy: BootstrapInterval; auc: BootstrapInterval } {
  const n = check("bootstrapClassification", y, p);
  if (!(Number.isInteger(resamples) && resamples >= 1)) {
    throw new RangeError(`bootstrap: resamples ${resamples}`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level ${level} is not in (0, 1)`);
  const rng = new Rng(seed, stream);
  const accs: number[] = [], aucs: number[] = [];
  const yb = new Float64Array(n), pb = new Float64Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      yb[k] = y[i];
      pb[k] = p[i];
    }
    accs.push(accuracy(yb, pb));
    const a = rocAuc(yb, pb);
    if (Number.isFinite(a)) aucs.push(a);
  }
  const tail = (1 - level) / 2;
  const interval = (value: number, v: number[]): BootstrapInterval => {
    const s = Float64Array.from(v).sort();
    return s.length
      ? { value, lo: quantileSorted(s, tail), hi: quantileSorted(s, 1 - tail) }
      : { value, lo: NaN, hi: NaN };
  };
  return { accuracy: interval(accuracy(y, p), accs), auc: interval(rocAuc(y, p), aucs) };
}

/** Mean and sample standard deviation (ddof 1; 0 for one value). */
export function meanStd(v: readonly number[]): { mean: number; std: number } {
  const n = v.length;
  if (!n) return { mean: NaN, std: NaN };
  const m = v.reduce((a, b) => a + b, 0) / n;
  const s = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1)) : 0;
  return { mean: m, std: s };
}
