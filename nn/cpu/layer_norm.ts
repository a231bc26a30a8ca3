/**
 * CPU twin of kernels/layer_norm.ts: row normalisation over the last axis and its gradient, in float64.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";

/** y = (x − mean)/√(var + ε) per row, and 1/√(var + ε). */
export function layerNorm(be: CpuBackend, x: Tensor, eps: number): { y: Tensor; invstd: Tensor } {
  const L = x.shape[x.rank - 1];
  const y = be.alloc(x.shape), invstd = be.alloc(x.shape.slice(0, -1));
  const xd = be.data(x), yd = be.data(y), id = be.data(invstd);
  for (let r = 0; L > 0 && r < x.size / L; r++) {
    const o = r * L;
    let m = 0;
    for (let j = 0; j < L; j++) m += xd[o + j];
    m /= L;
    let v = 0;
    for (let j = 0; j < L; j++) v += (xd[o + j] - m) ** 2;
    const is = 1 / Math.sqrt(v / L + eps);
    for (let j = 0; j < L; j++) yd[o + j] = (xd[o + j] - m) * is;
    id[r] = is;
  }
  return { y, invstd };
}

/** dx = invstd·(g − mean(g) − y·mean(g·y)) per row. */
export function layerNormGrad(be: CpuBackend, y: Tensor, invstd: Tensor, g: Tensor): Tensor {
  const L = y.shape[y.rank - 1];
  const dx = be.alloc(y.shape);
  const yd = be.data(y), id = be.data(invstd), gd = be.data(g), dd = be.data(dx);
  for (let r = 0; L > 0 && r < y.size / L; r++) {
    const o = r * L;
    let sg = 0, sgy = 0;
    for (let j = 0; j < L; j++) {
      sg += gd[o + j];
      sgy += gd[o + j] * yd[o + j];
    }
    for (let j = 0; j < L; j++) dd[o + j] = id[r] * (gd[o + j] - sg / L - yd[o + j] * (sgy / L));
  }
  return dx;
}
