/**
 * CPU reference reductions (independent of the WGSL): single-axis sum/max/min/logsumexp, softmax / log-softmax and
 * the global sum of squares. Accumulation is in float64 (JS numbers) whatever the backend precision.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { ReduceOp } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { splitAxis } from "../shape.ts";

/** logsumexp of `n` values read by `at`, max-shifted: −∞ when empty or all −∞, +∞ when any value is +∞. */
function logsumexp(n: number, at: (k: number) => number): number {
  let m = -Infinity;
  for (let k = 0; k < n; k++) m = Math.max(m, at(k));
  if (m === -Infinity || m === Infinity) return m;
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.exp(at(k) - m);
  return m + Math.log(s);
}

/**
 * Reduces `axis` of `x` (removed from the shape). An empty axis gives the op's identity: sum 0, max −∞, min +∞,
 * logsumexp −∞.
 */
export function reduce(be: CpuBackend, op: ReduceOp, x: Tensor, axis: number): Tensor {
  const [outer, n, inner] = splitAxis(x.shape, axis);
  const out = be.alloc(x.shape.filter((_, i) => i !== axis));
  const xd = be.data(x), od = be.data(out);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      const at = (k: number) => xd[base + k * inner];
      let r: number;
      switch (op) {
        case "sum":
          r = 0;
          for (let k = 0; k < n; k++) r += at(k);
          break;
        case "max":
          r = -Infinity;
          for (let k = 0; k < n; k++) r = Math.max(r, at(k));
          break;
        case "min":
          r = Infinity;
          for (let k = 0; k < n; k++) r = Math.min(r, at(k));
          break;
        case "logsumexp":
          r = logsumexp(n, at);
          break;
      }
      od[o * inner + j] = r;
    }
  }
  return out;
}

/**
 * Softmax (or log-softmax) along `axis`, max-shifted. Rows of length 0 have nothing to compute; a row that is
 * entirely −∞ gives NaN.
 */
export function softmax(be: CpuBackend, x: Tensor, axis: number, log: boolean): Tensor {
  const [outer, n, inner] = splitAxis(x.shape, axis);
  const out = be.alloc(x.shape);
  const xd = be.data(x), od = be.data(out);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, xd[base + k * inner]);
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(xd[base + k * inner] - m);
      const ls = Math.log(s);
      for (let k = 0; k < n; k++) {
        const i = base + k * inner;
        od[i] = log ? (xd[i] - m) - ls : Math.exp(xd[i] - m) / s;
      }
    }
  }
  return out;
}

/** Σx² over all elements as a [1] tensor (0 for an empty tensor). */
export function sumSquares(be: CpuBackend, x: Tensor): Tensor {
  const xd = be.data(x);
  let s = 0;
  for (let i = 0; i < xd.length; i++) s += xd[i] * xd[i];
  const out = be.alloc([1]);
  be.data(out)[0] = s;
  return out;
}

/** Backward of softmax along `axis` from its output y: dx = y ⊙ (g − Σ_axis g ⊙ y), the sum in float64. */
export function softmaxGrad(be: CpuBackend, y: Tensor, g: Tensor, axis: number): Tensor {
  const [outer, n, inner] = splitAxis(y.shape, axis);
  const out = be.alloc(y.shape);
  const yd = be.data(y), gd = be.data(g), od = be.data(out);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let s = 0;
      for (let k = 0; k < n; k++) s += gd[base + k * inner] * yd[base + k * inner];
      for (let k = 0; k < n; k++) {
        const i = base + k * inner;
        od[i] = yd[i] * (gd[i] - s);
      }
    }
  }
  return out;
}
