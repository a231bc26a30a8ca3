/**
 * CPU reference matmul (independent of the WGSL): batched over NumPy-broadcast leading axes, transpose flags, bias
 * and activation epilogue. Float64 accumulation whatever the backend precision.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { MatmulOptions } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { broadcastShapes, broadcastStrides, type Shape, sizeOf, stridesOf } from "../shape.ts";
import { unaryScalar } from "./elementwise.ts";

/** Offset (in whole batch entries) of batch entry `idx` of `outBatch` in an operand with batch `shape`. */
export function batchIndex(idx: number, outBatch: Shape, outStrides: number[], strides: number[]): number {
  let o = 0, rem = idx;
  for (let d = 0; d < outBatch.length; d++) {
    const q = Math.floor(rem / outStrides[d]);
    rem -= q * outStrides[d];
    o += q * strides[d];
  }
  return o;
}

/** act(op(a)·op(b) + bias); see {@link Backend.matmul}. */
export function matmul(be: CpuBackend, a: Tensor, b: Tensor, opts: MatmulOptions): Tensor {
  if (a.dtype !== "f32" || b.dtype !== "f32") throw new Error("matmul: only f32 tensors are supported");
  const transA = !!opts.transA, transB = !!opts.transB;
  const as = a.shape, bs = b.shape;
  const m = transA ? as[as.length - 1] : as[as.length - 2];
  const k = transA ? as[as.length - 2] : as[as.length - 1];
  const n = transB ? bs[bs.length - 2] : bs[bs.length - 1];
  const batch = broadcastShapes("matmul", as.slice(0, -2), bs.slice(0, -2));
  const out = be.alloc([...batch, m, n]);
  const nb = sizeOf(batch);
  const od = be.data(out), ad = be.data(a), bd = be.data(b);
  const bias = opts.bias ?? null;
  const biasD = bias ? be.data(bias) : null;
  const act = opts.activation ?? "identity";
  const alpha = opts.alpha ?? 0.01;
  const ost = stridesOf(batch);
  const ast = broadcastStrides(as.slice(0, -2), batch);
  const bst = broadcastStrides(bs.slice(0, -2), batch);
  const biasSt = bias && bias.rank > 1 ? broadcastStrides(bias.shape.slice(0, -2), batch) : null;
  // Element strides of op(A) (rows i, inner p) and op(B) (inner p, columns j).
  const [aRow, aIn] = transA ? [1, m] : [k, 1];
  const [bIn, bCol] = transB ? [1, k] : [n, 1];
  const acc = new Float64Array(n);
  for (let z = 0; z < nb; z++) {
    const aBase = batchIndex(z, batch, ost, ast) * m * k;
    const bBase = batchIndex(z, batch, ost, bst) * k * n;
    const biasBase = biasSt ? batchIndex(z, batch, ost, biasSt) * n : 0;
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      // i-p-j order: the inner loop walks a row of B (contiguous unless transB).
      for (let p = 0; p < k; p++) {
        const av = ad[aBase + i * aRow + p * aIn];
        const bRow = bBase + p * bIn;
        for (let j = 0; j < n; j++) acc[j] += av * bd[bRow + j * bCol];
      }
      const oRow = (z * m + i) * n;
      for (let j = 0; j < n; j++) {
        const v = acc[j] + (biasD ? biasD[biasBase + j] : 0);
        od[oRow + j] = act === "identity" ? v : unaryScalar(act, v, alpha, 0);
      }
    }
  }
  return out;
}
