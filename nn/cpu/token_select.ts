/**
 * CPU twin of kernels/token_select.ts: one-hot selection [..., T, E] of the T largest positive fractions of each
 * row (ties → lower element index), written independently as a sort of (value, index) pairs.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";

/** Selection matrices [..., T, E] of the rows of `comp` [..., E]. */
export function tokenSelect(be: CpuBackend, comp: Tensor, tokens: number): Tensor {
  const E = comp.shape[comp.rank - 1], rows = E === 0 ? 0 : comp.size / E;
  const out = be.alloc([...comp.shape.slice(0, -1), tokens, E]);
  const c = be.data(comp), o = be.data(out);
  for (let r = 0; r < rows; r++) {
    const present: number[] = [];
    for (let k = 0; k < E; k++) if (c[r * E + k] > 0) present.push(k);
    present.sort((a, b) => c[r * E + b] - c[r * E + a] || a - b);
    present.slice(0, tokens).forEach((k, t) => (o[(r * tokens + t) * E + k] = 1));
  }
  return out;
}
