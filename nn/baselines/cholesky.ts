/**
 * Dense float64 Cholesky factorisation A = L·Lᵀ on the host, with triangular solves, log-determinant and inverses,
 * for the Gaussian process (whose matrices are a few hundred rows: O(n³) in plain TypeScript is tens of ms).
 * Matrices are row-major `Float64Array`s; only the lower triangle of A is read. A factorisation that meets a
 * non-positive pivot retries with a growing jitter on the diagonal and, when that does not help, throws a
 * {@link NotPositiveDefiniteError} that says which pivot failed.
 * @module
 */

/** The matrix handed to {@link choleskyFactor} is not (numerically) positive definite, even with jitter. */
export class NotPositiveDefiniteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotPositiveDefiniteError";
  }
}

/** A Cholesky factor: `l` is the n×n lower-triangular L (row-major, zeros above the diagonal) of A + jitter·I. */
export interface CholeskyFactor {
  n: number;
  l: Float64Array;
  /** What was added to the diagonal to make the factorisation succeed (0 when A itself was fine). */
  jitter: number;
}

/** How hard {@link choleskyFactor} tries before giving up. */
export interface CholeskyOptions {
  /**
   * Retries after a failed factorisation (default 4). Retry k adds `firstJitter · 10^k` times the mean absolute
   * diagonal to the diagonal. 0: fail at once.
   */
  jitterRetries?: number;
  /** The first relative jitter (default 1e-10). */
  firstJitter?: number;
}

/** Factors A + jitter·I in place into `l`; returns the failing pivot index or −1 on success. */
function factorInto(a: Float64Array, n: number, jitter: number, l: Float64Array): number {
  l.fill(0);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j];
      // Row i and row j of L are contiguous: a cache-friendly dot product.
      for (let k = 0; k < j; k++) s -= l[ri + k] * l[rj + k];
      if (i === j) {
        s += jitter;
        if (!(s > 0)) return i;
        l[ri + i] = Math.sqrt(s);
      } else {
        l[ri + j] = s / l[rj + j];
      }
    }
  }
  return -1;
}

/**
 * Cholesky factor of the symmetric n×n matrix `a` (row-major, lower triangle read), retrying with jitter.
 * @throws {NotPositiveDefiniteError} when even the largest jitter leaves a non-positive pivot, or `a` holds a
 *   non-finite value
 * @example
 * ```ts
 * const f = choleskyFactor(new Float64Array([4, 2, 2, 3]), 2); // L = [[2, 0], [1, √2]]
 * ```
 */
export function choleskyFactor(a: Float64Array, n: number, options: CholeskyOptions = {}): CholeskyFactor {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new Error(`cholesky: ${a.length} values do not make a ${n}×${n} matrix`);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      if (!Number.isFinite(a[i * n + j])) {
        throw new NotPositiveDefiniteError(
          `cholesky: entry (${i}, ${j}) of the ${n}×${n} matrix is ${a[i * n + j]}, not a finite number`,
        );
      }
    }
  }
  const retries = options.jitterRetries ?? 4;
  const first = options.firstJitter ?? 1e-10;
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += Math.abs(a[i * n + i]);
  meanDiag = n ? meanDiag / n : 0;
  const scale = meanDiag > 0 ? meanDiag : 1;
  const l = new Float64Array(n * n);
  let jitter = 0;
  let bad = -1;
  for (let attempt = 0; attempt <= retries; attempt++) {
    jitter = attempt === 0 ? 0 : first * 10 ** (attempt - 1) * scale;
    bad = factorInto(a, n, jitter, l);
    if (bad < 0) return { n, l, jitter };
  }
  throw new NotPositiveDefiniteError(
    `cholesky: the ${n}×${n} matrix is not positive definite (pivot ${bad} is not > 0${
      retries > 0 ? ` even with ${jitter.toExponential(1)} added to the diagonal` : ""
    })`,
  );
}

/** Solves L·x = b (forward substitution) for one right-hand side. */
export function solveLower(f: CholeskyFactor, b: ArrayLike<number>): Float64Array {
  const { n, l } = f;
  if (b.length !== n) {
    throw new Error(`cholesky solve: right-hand side has ${b.length} values, expected ${n}`);
  }
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    const ri = i * n;
    for (let k = 0; k < i; k++) s -= l[ri + k] * x[k];
    x[i] = s / l[ri + i];
  }
  return x;
}

/** Solves Lᵀ·x = b (back substitution) for one right-hand side. */
export function solveLowerTransposed(f: CholeskyFactor, b: ArrayLike<number>): Float64Array {
  const { n, l } = f;
  if (b.length !== n) {
    throw new Error(`cholesky solve: right-hand side has ${b.length} values, expected ${n}`);
  }
  const x = Float64Array.from(b);
  // Column-oriented: once x[i] is final, remove its contribution from the rows above (row i of L is contiguous).
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    x[i] /= l[ri + i];
    const xi = x[i];
    for (let k = 0; k < i; k++) x[k] -= l[ri + k] * xi;
  }
  return x;
}

/** Solves A·x = b with A = L·Lᵀ. */
export function choleskySolve(f: CholeskyFactor, b: ArrayLike<number>): Float64Array {
  return solveLowerTransposed(f, solveLower(f, b));
}

/** log det A = 2 Σ log L_ii. */
export function choleskyLogDet(f: CholeskyFactor): number {
  let s = 0;
  for (let i = 0; i < f.n; i++) s += Math.log(f.l[i * f.n + i]);
  return 2 * s;
}

/** L⁻¹ (lower triangular, row-major). */
export function lowerInverse(f: CholeskyFactor): Float64Array {
  const { n, l } = f;
  const x = new Float64Array(n * n);
  // Row i of X = L⁻¹: (e_i − Σ_{k<i} L_ik · X_k) / L_ii, as contiguous row updates.
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let k = 0; k < i; k++) {
      const lik = l[ri + k];
      if (lik === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) x[ri + j] -= lik * x[rk + j];
    }
    x[ri + i] += 1;
    const inv = 1 / l[ri + i];
    for (let j = 0; j <= i; j++) x[ri + j] *= inv;
  }
  return x;
}

/** A⁻¹ = L⁻ᵀ·L⁻¹ (full symmetric matrix, row-major). */
export function choleskyInverse(f: CholeskyFactor): Float64Array {
  const { n } = f;
  const li = lowerInverse(f);
  // U = (L⁻¹)ᵀ is upper triangular; (A⁻¹)_ij = Σ_{k ≥ max(i,j)} U_ik·U_jk: contiguous row dot products.
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u[j * n + i] = li[i * n + j];
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = i; j < n; j++) {
      const rj = j * n;
      let s = 0;
      for (let k = j; k < n; k++) s += u[ri + k] * u[rj + k];
      out[ri + j] = s;
      out[rj + i] = s;
    }
  }
  return out;
}
