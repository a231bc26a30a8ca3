/**
 * CPU twin of kernels/pairwise_matmul.ts: act(pairwise(x)·W + bias) and its weight gradient, walking each row's
 * nonzero entries (compositions are sparse) with float64 accumulation.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { MatmulOptions } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { broadcastShapes, broadcastStrides, sizeOf, stridesOf } from "../shape.ts";
import { unaryScalar } from "./elementwise.ts";
import { batchIndex } from "./matmul.ts";

/** Index of pair (a, a + 1) in the row-major upper triangle over e entries. */
const rowStart = (a: number, e: number) => (a * (2 * e - a - 1)) / 2;

/** The nonzero entries of row `off` of `xd` (length e). */
function nonzeros(xd: ArrayLike<number>, off: number, e: number): { idx: number[]; val: number[] } {
  const idx: number[] = [], val: number[] = [];
  for (let i = 0; i < e; i++) {
    const v = xd[off + i];
    if (v !== 0) {
      idx.push(i);
      val.push(v);
    }
  }
  return { idx, val };
}

/** act(pairwise(x)·W + bias); see {@link Backend.pairwiseMatmul}. */
export function pairwiseMatmul(be: CpuBackend, x: Tensor, w: Tensor, opts: MatmulOptions): Tensor {
  const e = x.shape[x.rank - 1], m = x.shape[x.rank - 2], n = w.shape[w.rank - 1];
  const pairs = (e * (e - 1)) / 2;
  const batch = broadcastShapes("pairwiseMatmul", x.shape.slice(0, -2), w.shape.slice(0, -2));
  const out = be.alloc([...batch, m, n]);
  const od = be.data(out), xd = be.data(x), wd = be.data(w);
  const bias = opts.bias ?? null;
  const bd = bias ? be.data(bias) : null;
  const act = opts.activation ?? "identity", alpha = opts.alpha ?? 0.01;
  const ost = stridesOf(batch);
  const xst = broadcastStrides(x.shape.slice(0, -2), batch);
  const wst = broadcastStrides(w.shape.slice(0, -2), batch);
  const bst = bias && bias.rank > 1 ? broadcastStrides(bias.shape.slice(0, -2), batch) : null;
  const acc = new Float64Array(n);
  for (let z = 0; z < sizeOf(batch); z++) {
    const xBase = batchIndex(z, batch, ost, xst) * m * e;
    const wBase = batchIndex(z, batch, ost, wst) * pairs * n;
    const bBase = bst ? batchIndex(z, batch, ost, bst) * n : 0;
    for (let r = 0; r < m; r++) {
      acc.fill(0);
      const { idx, val } = nonzeros(xd, xBase + r * e, e);
      for (let i = 0; i < idx.length; i++) {
        for (let j = i + 1; j < idx.length; j++) {
          const c = val[i] * val[j];
          const wRow = wBase + (rowStart(idx[i], e) + idx[j] - idx[i] - 1) * n;
          for (let o = 0; o < n; o++) acc[o] += c * wd[wRow + o];
        }
      }
      const oRow = (z * m + r) * n;
      for (let o = 0; o < n; o++) {
        const v = acc[o] + (bd ? bd[bBase + o] : 0);
        od[oRow + o] = act === "identity" ? v : unaryScalar(act, v, alpha, 0);
      }
    }
  }
  return out;
}

/** Weight gradient of {@link pairwiseMatmul} over the output batch of g [..., M, N]; see the WebGPU twin. */
export function pairwiseMatmulGradW(be: CpuBackend, x: Tensor, g: Tensor): Tensor {
  const e = x.shape[x.rank - 1], m = x.shape[x.rank - 2], n = g.shape[g.rank - 1];
  const pairs = (e * (e - 1)) / 2;
  const batch = g.shape.slice(0, -2);
  const out = be.alloc([...batch, pairs, n]);
  const od = be.data(out), xd = be.data(x), gd = be.data(g);
  const ost = stridesOf(batch);
  const xst = broadcastStrides(x.shape.slice(0, -2), batch);
  const acc = new Float64Array(pairs * n);
  for (let z = 0; z < sizeOf(batch); z++) {
    acc.fill(0);
    const xBase = batchIndex(z, batch, ost, xst) * m * e;
    for (let r = 0; r < m; r++) {
      const { idx, val } = nonzeros(xd, xBase + r * e, e);
      const gRow = (z * m + r) * n;
      for (let i = 0; i < idx.length; i++) {
        for (let j = i + 1; j < idx.length; j++) {
          const c = val[i] * val[j];
          const q = (rowStart(idx[i], e) + idx[j] - idx[i] - 1) * n;
          for (let o = 0; o < n; o++) acc[q + o] += c * gd[gRow + o];
        }
      }
    }
    od.set(acc, z * pairs * n);
  }
  return out;
}
