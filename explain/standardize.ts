/**
 * Column standardisation as scikit-learn's `StandardScaler` (population std; a constant column keeps scale 1), used
 * before clustering latents, as the original did.
 * @module
 */

/** Standardised copy of `x` (n × d, row-major) with the column means and scales used. */
export function standardizeColumns(
  x: ArrayLike<number>,
  n: number,
  d: number,
): { data: Float64Array; mean: Float64Array; scale: Float64Array } {
  if (x.length !== n * d) throw new RangeError(`standardizeColumns: ${x.length} values ≠ ${n} × ${d}`);
  const mean = new Float64Array(d), scale = new Float64Array(d), data = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += x[i * d + j];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i * d + j] - m) ** 2;
    const s = Math.sqrt(v / n);
    mean[j] = m;
    scale[j] = s > 0 ? s : 1;
    for (let i = 0; i < n; i++) data[i * d + j] = (x[i * d + j] - m) / scale[j];
  }
  return { data, mean, scale };
}
