/**
 * CPU reference movement ops (independent of the WGSL): permute, slice, pad, concat, gather, scatter-add, pairwise
 * products and their gradient. Copies preserve the dtype (f32 values or i32 indices); sums accumulate in float64.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";
import { type Shape, sizeOf, stridesOf } from "../shape.ts";

/** Visits every multi-index of `shape` in row-major order (the flat index is the visit count). */
function forEachIndex(shape: Shape, fn: (i: number, coord: readonly number[]) => void): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const c = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    fn(i, c);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
}

/** Permutes axes: out.shape[d] = x.shape[perm[d]]. */
export function permute(be: CpuBackend, x: Tensor, perm: readonly number[]): Tensor {
  const out = be.alloc(perm.map((p) => x.shape[p]), x.dtype);
  const xs = stridesOf(x.shape);
  const xd = be.data(x), od = be.data(out);
  forEachIndex(out.shape, (i, c) => {
    let src = 0;
    for (let d = 0; d < c.length; d++) src += c[d] * xs[perm[d]];
    od[i] = xd[src];
  });
  return out;
}

/** The block of `x` starting at `begin` with extents `size`. */
export function slice(be: CpuBackend, x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const out = be.alloc(size, x.dtype);
  const xs = stridesOf(x.shape);
  const xd = be.data(x), od = be.data(out);
  forEachIndex(size, (i, c) => {
    let src = 0;
    for (let d = 0; d < c.length; d++) src += (c[d] + begin[d]) * xs[d];
    od[i] = xd[src];
  });
  return out;
}

/** Places `x` at `begin` inside a zero tensor of `shape`. */
export function pad(be: CpuBackend, x: Tensor, shape: Shape, begin: readonly number[]): Tensor {
  const out = be.alloc(shape, x.dtype);
  const os = stridesOf(shape);
  const xd = be.data(x), od = be.data(out);
  forEachIndex(x.shape, (i, c) => {
    let dst = 0;
    for (let d = 0; d < c.length; d++) dst += (c[d] + begin[d]) * os[d];
    od[dst] = xd[i];
  });
  return out;
}

/** Concatenates along `axis` (inputs may be empty along it). */
export function concat(be: CpuBackend, xs: Tensor[], axis: number): Tensor {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((acc, t) => acc + t.shape[axis], 0);
  const out = be.alloc(shape, xs[0].dtype);
  const od = be.data(out);
  const outer = sizeOf(shape.slice(0, axis)), inner = sizeOf(shape.slice(axis + 1));
  const rowOut = shape[axis] * inner;
  let off = 0;
  for (const t of xs) {
    const xd = be.data(t);
    const rowIn = t.shape[axis] * inner;
    for (let o = 0; o < outer; o++) {
      od.set(xd.subarray(o * rowIn, (o + 1) * rowIn), o * rowOut + off);
    }
    off += rowIn;
  }
  return out;
}

/** Clamps an index to [0, dim−1], matching the GPU kernels. */
function clampIndex(k: number, dim: number): number {
  return k < 0 ? 0 : k >= dim ? dim - 1 : k;
}

/**
 * Selects entries `idx` (i32, 1-D) along `axis`, preserving x's dtype. Out-of-range indices are clamped to
 * [0, dim−1] like on the GPU; an axis of extent 0 with a non-empty output gives zeros.
 */
export function gather(be: CpuBackend, x: Tensor, idx: Tensor, axis: number): Tensor {
  const shape = [...x.shape];
  const m = idx.size, dim = x.shape[axis];
  shape[axis] = m;
  const out = be.alloc(shape, x.dtype);
  if (dim === 0) return out;
  const outer = sizeOf(x.shape.slice(0, axis)), inner = sizeOf(x.shape.slice(axis + 1));
  const xd = be.data(x), id = be.data(idx), od = be.data(out);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const k = clampIndex(id[j], dim);
      od.set(xd.subarray((o * dim + k) * inner, (o * dim + k + 1) * inner), (o * m + j) * inner);
    }
  }
  return out;
}

/**
 * Transpose of gather: zeros with `axis` extent `dim`, plus `src` slices added at `idx` (duplicates accumulate in
 * float64; indices clamped like gather).
 */
export function scatterAdd(be: CpuBackend, src: Tensor, idx: Tensor, axis: number, dim: number): Tensor {
  const shape = [...src.shape];
  shape[axis] = dim;
  const out = be.alloc(shape, src.dtype);
  const m = idx.size;
  if (out.size === 0 || m === 0) return out;
  const outer = sizeOf(shape.slice(0, axis)), inner = sizeOf(shape.slice(axis + 1));
  const sd = be.data(src), id = be.data(idx), od = be.data(out);
  const acc = new Float64Array(out.size);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const dst = (o * dim + clampIndex(id[j], dim)) * inner, s = (o * m + j) * inner;
      for (let r = 0; r < inner; r++) acc[dst + r] += sd[s + r];
    }
  }
  od.set(acc);
  return out;
}

/** Upper-triangle products x_a·x_b (a < b, row-major pair order) over the last axis. */
export function pairwise(be: CpuBackend, x: Tensor): Tensor {
  const n = x.shape[x.rank - 1];
  const p = (n * (n - 1)) / 2;
  const out = be.alloc([...x.shape.slice(0, -1), p]);
  if (out.size === 0) return out;
  const rows = x.size / n;
  const xd = be.data(x), od = be.data(out);
  for (let r = 0; r < rows; r++) {
    let q = r * p;
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) od[q++] = xd[r * n + a] * xd[r * n + b];
    }
  }
  return out;
}

/** Gradient of pairwise: dx_k = Σ_j dy_(pair of k and j)·x_j. */
export function pairwiseGrad(be: CpuBackend, x: Tensor, dy: Tensor): Tensor {
  const n = x.shape[x.rank - 1];
  const p = (n * (n - 1)) / 2;
  const out = be.alloc(x.shape);
  if (out.size === 0 || p === 0) return out;
  const rows = x.size / n;
  const xd = be.data(x), gd = be.data(dy), od = be.data(out);
  const acc = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    // Walk the pairs in output order; each pair (a, b) feeds both of its members.
    let q = r * p;
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++, q++) {
        acc[a] += gd[q] * xd[r * n + b];
        acc[b] += gd[q] * xd[r * n + a];
      }
    }
    od.set(acc, r * n);
  }
  return out;
}
