/**
 * Eigen-decomposition of a real symmetric matrix by cyclic Jacobi rotations (float64, deterministic, accurate to
 * rounding for the d ≤ a few hundred of latent covariances).
 * @module
 */

/** Eigenvalues (descending) and the matching unit eigenvectors (row k = vector k, d × d). */
export interface SymmetricEigen {
  values: Float64Array;
  vectors: Float64Array;
}

/**
 * Eigen-decomposition of the symmetric d × d matrix `a` (row-major; only symmetry up to rounding is assumed, the
 * mean of a_ij and a_ji is used). Eigenvector signs are as the rotations leave them; callers fix a convention.
 * @throws {RangeError} on a size mismatch or a non-finite entry
 */
export function symmetricEigen(a: ArrayLike<number>, d: number): SymmetricEigen {
  if (a.length !== d * d) throw new RangeError(`symmetricEigen: ${a.length} values ≠ ${d} × ${d}`);
  const m = new Float64Array(d * d), v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    v[i * d + i] = 1;
    for (let j = 0; j < d; j++) {
      const x = 0.5 * (a[i * d + j] + a[j * d + i]);
      if (!Number.isFinite(x)) throw new RangeError(`symmetricEigen: entry (${i}, ${j}) is ${x}`);
      m[i * d + j] = x;
    }
  }
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let i = 0; i < d; i++) {
      diag += m[i * d + i] ** 2;
      for (let j = i + 1; j < d; j++) off += m[i * d + j] ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (apq === 0) continue;
        const app = m[p * d + p], aqq = m[q * d + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const mkp = m[k * d + p], mkq = m[k * d + q];
          m[k * d + p] = c * mkp - s * mkq;
          m[k * d + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < d; k++) {
          const mpk = m[p * d + k], mqk = m[q * d + k];
          m[p * d + k] = c * mpk - s * mqk;
          m[q * d + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  // Columns of v are the eigenvectors; sort by eigenvalue, descending (ties: lower index first).
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => m[j * d + j] - m[i * d + i] || i - j);
  const values = Float64Array.from(order, (i) => m[i * d + i]);
  const vectors = new Float64Array(d * d);
  order.forEach((col, k) => {
    for (let r = 0; r < d; r++) vectors[k * d + r] = v[r * d + col];
  });
  return { values, vectors };
}
