/**
 * Correlation coefficients (float64): Pearson's r and Spearman's ρ (Pearson's r of the ranks, ties given their
 * average rank, as SciPy's `spearmanr`), and both per latent dimension against hardness.
 * A coefficient is NaN when either variable is constant (undefined correlation), as in SciPy.
 * @module
 */

function checkPair(what: string, x: ArrayLike<number>, y: ArrayLike<number>): void {
  if (x.length !== y.length) throw new RangeError(`${what}: lengths ${x.length} and ${y.length} differ`);
  if (x.length < 2) throw new RangeError(`${what}: needs at least 2 points, got ${x.length}`);
}

/** Pearson's correlation coefficient of x and y (NaN when either is constant). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair("pearson", x, y);
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) mx += x[i], my += y[i];
  mx /= n, my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i] - mx, b = y[i] - my;
    sxy += a * b, sxx += a * a, syy += b * b;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Ranks 1..n of the values, ties sharing their average rank. */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b] || a - b);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]] === x[order[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation of x and y (average ranks for ties; NaN when either is constant). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair("spearman", x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Per-dimension correlations of latents with hardness. */
export interface LatentCorrelations {
  /** Pearson's r per latent dimension (L). */
  pearson: Float64Array;
  /** Spearman's ρ per latent dimension (L). */
  spearman: Float64Array;
}

/**
 * Pearson and Spearman correlation of every latent dimension with hardness (the original's §5 step 10, which used
 * the predicted HV of each row at its own load).
 * @param Z n × L latents, row-major, with n = hv.length
 * @param hv n hardness values
 */
export function latentCorrelations(Z: ArrayLike<number>, hv: ArrayLike<number>): LatentCorrelations {
  const n = hv.length;
  const L = Z.length / n;
  if (!Number.isInteger(L) || L < 1) {
    throw new RangeError(`latentCorrelations: ${Z.length} values for ${n} rows`);
  }
  const out = { pearson: new Float64Array(L), spearman: new Float64Array(L) };
  const col = new Float64Array(n);
  const hvRanks = averageRanks(hv);
  for (let j = 0; j < L; j++) {
    for (let i = 0; i < n; i++) col[i] = Z[i * L + j];
    out.pearson[j] = pearson(col, hv);
    out.spearman[j] = pearson(averageRanks(col), hvRanks);
  }
  return out;
}
