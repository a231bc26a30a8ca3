/**
 * CPU twin of kernels/simplex.ts: relu(x) / max(Σ relu(x), 1e-8) over the last axis, summing in float64.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";

/** Simplex projection of the rows of `x`. */
export function simplex(be: CpuBackend, x: Tensor): Tensor {
  const L = x.rank ? x.shape[x.rank - 1] : 1;
  const out = be.alloc(x.shape);
  const xd = be.data(x), od = be.data(out);
  for (let r = 0; r * L < x.size; r++) {
    let s = 0;
    for (let j = r * L; j < (r + 1) * L; j++) s += Math.max(xd[j], 0);
    const d = Math.max(s, 1e-8);
    for (let j = r * L; j < (r + 1) * L; j++) od[j] = Math.max(xd[j], 0) / d;
  }
  return out;
}
