/**
 * Movement kernels: permute, slice, pad, concat, gather, scatter-add, and the pairwise-product feature map with its
 * gradient.
 *
 * Pure data movement (permute, slice, pad, concat, gather) binds its buffers as `array<u32>` and copies raw 32-bit
 * words, so one kernel serves f32 and i32 tensors bit-exactly (no float canonicalisation of NaN payloads or of i32
 * bit patterns that are f32 denormals) and the dtype never enters the key. Index spaces are simplified before code
 * generation (extent-1 axes dropped, axes that stay adjacent merged), so e.g. a slice of whole rows is a single
 * contiguous copy and most permutes of a rank-6 tensor become rank 2 or 3.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { type Shape, sizeOf, stridesOf } from "../nn/shape.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";

const WG = 256;

/** One axis of a strided index space: its extent and the element stride it moves by in the strided buffer. */
export interface StridedDim {
  extent: number;
  stride: number;
}

/**
 * Drops extent-1 axes and merges neighbours whose strides make them one axis (stride[d] = stride[d+1]·extent[d+1]).
 * The visiting order (row-major over the extents) and the addresses are unchanged.
 */
export function simplifyStrided(dims: readonly StridedDim[]): StridedDim[] {
  const out: StridedDim[] = [];
  for (const d of dims) {
    if (d.extent === 1) continue;
    const last = out[out.length - 1];
    if (last && last.stride === d.stride * d.extent) {
      out[out.length - 1] = { extent: last.extent * d.extent, stride: d.stride };
    } else out.push({ ...d });
  }
  return out;
}

/** WGSL expression of the strided address of flat index `i` (row-major over `dims`), excluding any base. */
function stridedAddress(dims: readonly StridedDim[], i = "i"): string {
  const flat = stridesOf(dims.map((d) => d.extent));
  const terms = dims.map((d, k) => {
    const q = flat[k] === 1 ? i : `(${i} / ${flat[k]}u)`;
    const c = k === 0 ? q : `(${q} % ${d.extent}u)`;
    return d.stride === 1 ? c : `${c} * ${d.stride}u`;
  });
  return terms.length ? terms.join(" + ") : "0u";
}

/** Spec of a strided read over `n` elements: out[i] = in[base + addr(i)] (permute, slice); `base` is `P.base`. */
export function stridedCopySpec(dims: readonly StridedDim[]): KernelSpec {
  const n = sizeOf(dims.map((d) => d.extent));
  const key = `mov:strided:${dims.map((d) => `${d.extent}*${d.stride}`).join(",")}`;
  const bindings = ["read", "rw"] as const;
  return {
    key,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () => {
      const body = `out[i] = src[P.base + ${stridedAddress(dims)}];`;
      return `struct Params { base: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, ["src", "out"], ["u32", "u32"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  ${body}
}`;
    },
  };
}

function runStrided(
  be: WebGpuBackend,
  dims: readonly StridedDim[],
  base: number,
  src: Tensor,
  out: Tensor,
): void {
  be.run(stridedCopySpec(simplifyStrided(dims)), [src, out], packParams([["u", base]]));
}

/** Permutes axes: out.shape[d] = x.shape[perm[d]]; the output is contiguous. Works for f32 and i32. */
export function permute(be: WebGpuBackend, x: Tensor, perm: readonly number[]): Tensor {
  const st = stridesOf(x.shape);
  const out = be.alloc(perm.map((p) => x.shape[p]), x.dtype);
  if (out.size === 0) return out;
  runStrided(be, perm.map((p) => ({ extent: x.shape[p], stride: st[p] })), 0, x, out);
  return out;
}

/** The block of `x` starting at `begin` with extents `size` (f32 or i32). */
export function slice(
  be: WebGpuBackend,
  x: Tensor,
  begin: readonly number[],
  size: readonly number[],
): Tensor {
  const out = be.alloc(size, x.dtype);
  if (out.size === 0) return out;
  const st = stridesOf(x.shape);
  const base = begin.reduce((acc, b, d) => acc + b * st[d], 0);
  runStrided(be, size.map((n, d) => ({ extent: n, stride: st[d] })), base, x, out);
  return out;
}

/** One axis of a pad: the output extent, where the block starts, and the block (input) extent. */
interface PadDim {
  extent: number;
  begin: number;
  size: number;
}

/** Drops extent-1 axes and merges an axis with the next one when the next is covered whole by the block. */
function simplifyPad(dims: readonly PadDim[]): PadDim[] {
  const out: PadDim[] = [];
  for (const d of dims) {
    if (d.extent === 1) continue;
    const last = out[out.length - 1];
    if (last && d.begin === 0 && d.size === d.extent) {
      out[out.length - 1] = {
        extent: last.extent * d.extent,
        begin: last.begin * d.extent,
        size: last.size * d.extent,
      };
    } else out.push({ ...d });
  }
  return out;
}

/** Spec of pad: out[i] = x[block coordinates of i] inside the block, 0 (all-zero bits) outside. */
export function padSpec(dims: readonly PadDim[]): KernelSpec {
  const n = sizeOf(dims.map((d) => d.extent));
  const key = `mov:pad:${dims.map((d) => `${d.extent}@${d.begin}+${d.size}`).join(",")}`;
  const bindings = ["read", "rw"] as const;
  return {
    key,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () => {
      const ostr = stridesOf(dims.map((d) => d.extent));
      const istr = stridesOf(dims.map((d) => d.size));
      const lines: string[] = [];
      const conds: string[] = [];
      const terms: string[] = [];
      dims.forEach((d, k) => {
        const q = ostr[k] === 1 ? "i" : `(i / ${ostr[k]}u)`;
        // u32 wrap-around: c < begin gives a huge value, so one comparison tests both bounds.
        lines.push(`let c${k} = ${k === 0 ? q : `(${q} % ${d.extent}u)`} - ${d.begin}u;`);
        if (d.begin !== 0 || d.size !== d.extent) conds.push(`c${k} < ${d.size}u`);
        terms.push(istr[k] === 1 ? `c${k}` : `c${k} * ${istr[k]}u`);
      });
      const read = `src[${terms.length ? terms.join(" + ") : "0u"}]`;
      return `${declareBindings(bindings, ["src", "out"], ["u32", "u32"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  ${lines.join("\n  ")}
  var v = 0u;
  if (${conds.length ? conds.join(" && ") : "true"}) { v = ${read}; }
  out[i] = v;
}`;
    },
  };
}

/** Places `x` at `begin` inside a zero tensor of `shape` (f32 or i32). One dispatch. */
export function pad(be: WebGpuBackend, x: Tensor, shape: Shape, begin: readonly number[]): Tensor {
  if (x.size === 0) return be.fill(shape, 0, x.dtype);
  const out = be.alloc(shape, x.dtype);
  if (out.size === 0) return out;
  const dims = simplifyPad(shape.map((e, d) => ({ extent: e, begin: begin[d], size: x.shape[d] })));
  be.run(padSpec(dims), [x, out]);
  return out;
}

/** One input of a grouped concat: its extent along the axis and where it starts in the output. */
export interface ConcatPiece {
  width: number;
  offset: number;
}

/**
 * Spec of one grouped concat dispatch: the output viewed as [outer, total, inner]; each piece k of `pieces` (an
 * input [outer, width_k, inner]) is copied to columns offset_k… of every outer row. One invocation per input
 * element, across the pieces in order (a chain of range tests picks the piece). Bindings: the pieces, then out.
 */
export function concatGroupSpec(
  outer: number,
  total: number,
  inner: number,
  pieces: readonly ConcatPiece[],
): KernelSpec {
  const sizes = pieces.map((p) => outer * p.width * inner);
  const ends = sizes.map((_, k) => sizes.slice(0, k + 1).reduce((a, b) => a + b, 0));
  const n = ends[ends.length - 1];
  const bindings = [...pieces.map(() => "read" as const), "rw" as const];
  const names = [...pieces.map((_, k) => `s${k}`), "out"];
  return {
    key: `mov:concat:${outer}:${total}:${inner}:${pieces.map((p) => `${p.width}@${p.offset}`).join(",")}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () => {
      const branches = pieces.map((p, k) => {
        const start = k === 0 ? 0 : ends[k - 1];
        const row = p.width * inner;
        const l = start === 0 ? "i" : `(i - ${start}u)`;
        const dst = `(${l} / ${row}u) * ${total * inner}u + ${p.offset * inner}u + ${l} % ${row}u`;
        return `${k === 0 ? "" : " else "}if (i < ${ends[k]}u) { out[${dst}] = s${k}[${l}]; }`;
      });
      return `${declareBindings(bindings, names, names.map(() => "u32"))}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  ${branches.join("")}
}`;
    },
  };
}

/**
 * Concatenates along `axis` (f32 or i32, all inputs alike): the non-empty inputs are copied in groups of as many as
 * a stage has storage buffers for (minus the output), one dispatch per group.
 */
export function concat(be: WebGpuBackend, xs: Tensor[], axis: number): Tensor {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((acc, t) => acc + t.shape[axis], 0);
  const out = be.alloc(shape, xs[0].dtype);
  if (out.size === 0) return out;
  const total = shape[axis];
  const outer = sizeOf(shape.slice(0, axis)), inner = sizeOf(shape.slice(axis + 1));
  const pieces: (ConcatPiece & { t: Tensor })[] = [];
  let off = 0;
  for (const t of xs) {
    if (t.size > 0) pieces.push({ width: t.shape[axis], offset: off, t });
    off += t.shape[axis];
  }
  const group = Math.max(1, (be.ctx.limits.maxStorageBuffersPerShaderStage ?? 8) - 1);
  for (let k = 0; k < pieces.length; k += group) {
    const g = pieces.slice(k, k + group);
    be.run(concatGroupSpec(outer, total, inner, g), [...g.map((p) => p.t), out]);
  }
  return out;
}

/** Spec of gather: x viewed as [outer, dim, inner], out [outer, m, inner], indices clamped to [0, dim−1]. */
export function gatherSpec(outer: number, dim: number, inner: number, m: number): KernelSpec {
  const n = outer * m * inner;
  const bindings = ["read", "read", "rw"] as const;
  return {
    key: `mov:gather:${outer}:${dim}:${inner}:${m}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `${declareBindings(bindings, ["src", "idx", "out"], ["u32", "i32", "u32"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  let o = i / ${m * inner}u;
  let j = (i / ${inner}u) % ${m}u;
  let r = i % ${inner}u;
  let k = u32(clamp(idx[j], 0i, ${dim - 1}i));
  out[i] = src[(o * ${dim}u + k) * ${inner}u + r];
}`,
  };
}

/**
 * Selects entries `idx` (i32, shape [M]) along `axis`; f32 or i32 `x` (dtype preserved). Out-of-range indices are
 * clamped to [0, dim−1] on the device (the ops layer validates host-known indices); when `x` is empty along `axis`
 * but the output is not, the output is zeros. One dispatch.
 */
export function gather(be: WebGpuBackend, x: Tensor, idx: Tensor, axis: number): Tensor {
  const m = idx.size;
  const shape = [...x.shape];
  shape[axis] = m;
  const dim = x.shape[axis];
  if (dim === 0 && sizeOf(shape) > 0) return be.fill(shape, 0, x.dtype);
  const out = be.alloc(shape, x.dtype);
  if (out.size === 0) return out;
  const outer = sizeOf(x.shape.slice(0, axis)), inner = sizeOf(x.shape.slice(axis + 1));
  be.run(gatherSpec(outer, dim, inner, m), [x, idx, out]);
  return out;
}

/**
 * Spec that links equal indices: for each position j, next[j] = the smallest j' > j with the same (clamped) index or
 * −1, and head[index] = j when j is its first occurrence. O(M²) worst case (all distinct), O(M) threads.
 */
export function scatterLinkSpec(m: number, dim: number): KernelSpec {
  const bindings = ["read", "rw", "rw"] as const;
  return {
    key: `mov:scatter_link:${m}:${dim}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(m / WG)),
    source: () =>
      `${declareBindings(bindings, ["idx", "head", "next"], ["i32", "i32", "i32"])}
fn at(j: u32) -> i32 { return clamp(idx[j], 0i, ${dim - 1}i); }
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let j = ${FLAT_WG} * ${WG}u + lid;
  if (j >= ${m}u) { return; }
  let d = at(j);
  var nxt = -1i;
  for (var k = j + 1u; k < ${m}u; k++) {
    if (at(k) == d) { nxt = i32(k); break; }
  }
  next[j] = nxt;
  var first = true;
  for (var k = 0u; k < j; k++) {
    if (at(k) == d) { first = false; break; }
  }
  // Exactly one position (the first occurrence) writes each head entry: no race.
  if (first) { head[d] = i32(j); }
}`,
  };
}

/** Largest index count linked by the one-workgroup sort (its keys fill 16 KiB, WebGPU's default workgroup storage). */
export const SORT_LINK_MAX = 4096;

/**
 * Spec that builds the same links as {@link scatterLinkSpec} by sorting: one workgroup bitonic-sorts the unique keys
 * index·M + position in workgroup memory (O(M log² M) compare-exchanges), then neighbours in the sorted order give
 * head and next. Also initialises head to −1, so it is the whole link step in one dispatch. Needs
 * M ≤ {@link SORT_LINK_MAX} and dim·M < 2³².
 */
export function scatterSortLinkSpec(m: number, dim: number): KernelSpec {
  let p2 = 2;
  while (p2 < m) p2 *= 2;
  const bindings = ["read", "rw", "rw"] as const;
  return {
    key: `mov:scatter_sort_link:${m}:${dim}`,
    bindings,
    uniforms: false,
    workgroups: [1, 1, 1],
    source: () =>
      `${declareBindings(bindings, ["idx", "head", "next"], ["i32", "i32", "i32"])}
var<workgroup> keys: array<u32, ${p2}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  for (var t = lid; t < ${dim}u; t += ${WG}u) { head[t] = -1i; }
  for (var t = lid; t < ${p2}u; t += ${WG}u) {
    var key = 0xffffffffu;
    if (t < ${m}u) { key = u32(clamp(idx[t], 0i, ${dim - 1}i)) * ${m}u + t; }
    keys[t] = key;
  }
  workgroupBarrier();
  for (var k = 2u; k <= ${p2}u; k <<= 1u) {
    for (var s = k >> 1u; s > 0u; s >>= 1u) {
      for (var t = lid; t < ${p2 / 2}u; t += ${WG}u) {
        let i = ((t & ~(s - 1u)) << 1u) | (t & (s - 1u));
        let a = keys[i];
        let b = keys[i + s];
        if ((a > b) == ((i & k) == 0u)) {
          keys[i] = b;
          keys[i + s] = a;
        }
      }
      workgroupBarrier();
    }
  }
  // Orders the head = −1 writes above before the head writes below (other invocations may own those rows).
  storageBarrier();
  for (var t = lid; t < ${m}u; t += ${WG}u) {
    let key = keys[t];
    let d = key / ${m}u;
    var nxt = -1i;
    if (t + 1u < ${m}u && keys[t + 1u] / ${m}u == d) { nxt = i32(keys[t + 1u] % ${m}u); }
    next[key % ${m}u] = nxt;
    if (t == 0u || keys[t - 1u] / ${m}u != d) { head[d] = i32(key % ${m}u); }
  }
}`,
  };
}

/** Spec of the scatter-add accumulation: out[o, d, r] = Σ over the linked list of d of src[o, j, r], j ascending. */
export function scatterSumSpec(
  outer: number,
  dim: number,
  inner: number,
  m: number,
  type: "f32" | "i32",
): KernelSpec {
  const n = outer * dim * inner;
  const bindings = ["read", "read", "read", "rw"] as const;
  return {
    key: `mov:scatter_sum:${type}:${outer}:${dim}:${inner}:${m}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `${declareBindings(bindings, ["src", "head", "next", "out"], [type, "i32", "i32", type])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  let o = i / ${dim * inner}u;
  let d = (i / ${inner}u) % ${dim}u;
  let r = i % ${inner}u;
  var acc = ${type}(0);
  var j = head[d];
  // next[] strictly increases along a list, so this runs at most M times.
  for (var guard = 0u; j >= 0i && guard < ${m}u; guard++) {
    acc += src[(o * ${m}u + u32(j)) * ${inner}u + r];
    j = next[u32(j)];
  }
  out[i] = acc;
}`,
  };
}

/** Whether scatterAdd links indices with the one-workgroup sort (else the O(M²) pairwise scan). */
export function useSortLink(m: number, dim: number): boolean {
  return m <= SORT_LINK_MAX && dim * m < 2 ** 32 - 1;
}

/**
 * Transpose of gather: out has `src`'s shape with `axis` extent `dim`, zeros, plus src slices added at `idx`
 * (duplicates accumulate; indices clamped to [0, dim−1] like gather). Deterministic without float atomics: a link
 * step chains equal indices in ascending position order (head per output row, next per position), then one thread
 * per output element sums its chain in that order (O(outer·(dim + M)·inner) loads in total). The link step is a
 * one-workgroup bitonic sort for M ≤ {@link SORT_LINK_MAX} (one dispatch, O(M log² M)); above that, a head fill and
 * an O(M²)-comparison scan over M threads. Two or three dispatches; f32 or i32 `src`.
 */
export function scatterAdd(be: WebGpuBackend, src: Tensor, idx: Tensor, axis: number, dim: number): Tensor {
  const shape = [...src.shape];
  shape[axis] = dim;
  const m = idx.size;
  if (sizeOf(shape) === 0) return be.alloc(shape, src.dtype);
  if (src.size === 0 || m === 0) return be.fill(shape, 0, src.dtype);
  const outer = sizeOf(shape.slice(0, axis)), inner = sizeOf(shape.slice(axis + 1));
  const next = be.alloc([m], "i32");
  let head: Tensor;
  if (useSortLink(m, dim)) {
    head = be.alloc([dim], "i32");
    be.run(scatterSortLinkSpec(m, dim), [idx, head, next]);
  } else {
    head = be.fill([dim], -1, "i32");
    be.run(scatterLinkSpec(m, dim), [idx, head, next]);
  }
  const out = be.alloc(shape, src.dtype);
  be.run(scatterSumSpec(outer, dim, inner, m, src.dtype), [src, head, next, out]);
  head.dispose();
  next.dispose();
  return out;
}

/** WGSL: index of the first pair of row a, a·(2n − a − 1)/2 (exact in u32: the product is even). */
export function rowStartWgsl(n: number): string {
  return `fn row_start(a: u32) -> u32 { return a * (${2 * n - 1}u - a) / 2u; }`;
}

/**
 * WGSL: `row_start` and `pair_of(q)`, the pair (a, b), a < b, at index q of the row-major upper triangle over n
 * entries (n ≥ 2).
 */
function pairOfWgsl(n: number): string {
  return `${rowStartWgsl(n)}
fn pair_of(q: u32) -> vec2<u32> {
  // Invert row_start: a = ⌊((2n−1) − √((2n−1)² − 8q)) / 2⌋ estimated in f32 (the discriminant is ≥ 1 and exact in
  // u32 for n ≤ 32768), then corrected exactly with integer steps (which also bound a to [0, n−2]). Emulation shows
  // the estimate exact up to n ≈ 4100 and off by at most one step at n = 6000–20000.
  let disc = ${
    (2 * n - 1) ** 2 < 2 ** 32
      ? `f32(${(2 * n - 1) ** 2}u - 8u * q)`
      : `max(${2 * n - 1}.0 * ${2 * n - 1}.0 - 8.0 * f32(q), 1.0)`
  };
  var a = u32(clamp(floor((${2 * n - 1}.0 - sqrt(disc)) * 0.5), 0.0, ${n - 2}.0));
  while (a > 0u && row_start(a) > q) { a--; }
  while (a + 1u < ${n - 1}u && row_start(a + 1u) <= q) { a++; }
  return vec2<u32>(a, q - row_start(a) + a + 1u);
}`;
}

/** Spec of pairwise: x [rows, n] → out [rows, n(n−1)/2], pair p = (a, b) in row-major upper-triangle order. */
export function pairwiseSpec(rows: number, n: number): KernelSpec {
  const p = (n * (n - 1)) / 2;
  const total = rows * p;
  const bindings = ["read", "rw"] as const;
  return {
    key: `mov:pairwise:${rows}:${n}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(total / WG)),
    source: () =>
      `${declareBindings(bindings, ["x", "out"])}
${pairOfWgsl(n)}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${total}u) { return; }
  let r = i / ${p}u;
  let ab = pair_of(i % ${p}u);
  out[i] = x[r * ${n}u + ab.x] * x[r * ${n}u + ab.y];
}`,
  };
}

/** Upper-triangle products x_a·x_b (a < b, row-major pair order) over the last axis. f32. One dispatch. */
export function pairwise(be: WebGpuBackend, x: Tensor): Tensor {
  const n = x.shape[x.rank - 1];
  const out = be.alloc([...x.shape.slice(0, -1), (n * (n - 1)) / 2]);
  if (out.size === 0) return out;
  be.run(pairwiseSpec(x.size / n, n), [x, out]);
  return out;
}

/** Spec of pairwiseGrad: dx[r, k] = Σ_{j≠k} dy[r, pair(min(j,k), max(j,k))]·x[r, j], one thread per (r, k). */
export function pairwiseGradSpec(rows: number, n: number): KernelSpec {
  const p = (n * (n - 1)) / 2;
  const total = rows * n;
  const bindings = ["read", "read", "rw"] as const;
  return {
    key: `mov:pairwise_grad:${rows}:${n}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(total / WG)),
    source: () =>
      `${declareBindings(bindings, ["x", "dy", "dx"])}
${rowStartWgsl(n)}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${total}u) { return; }
  let r = i / ${n}u;
  let k = i % ${n}u;
  let xr = r * ${n}u;
  let dr = r * ${p}u;
  var acc = 0.0;
  for (var j = 0u; j < k; j++) { acc += dy[dr + row_start(j) + k - j - 1u] * x[xr + j]; }
  let sk = dr + row_start(k);
  for (var j = k + 1u; j < ${n}u; j++) { acc += dy[sk + j - k - 1u] * x[xr + j]; }
  dx[i] = acc;
}`,
  };
}

/** Gradient of {@link pairwise}: dx_k = Σ_j dy_(k,j)·x_j over all pairs containing k. f32. One dispatch. */
export function pairwiseGrad(be: WebGpuBackend, x: Tensor, dy: Tensor): Tensor {
  const n = x.shape[x.rank - 1];
  if (n === 1) return be.fill(x.shape, 0);
  const out = be.alloc(x.shape);
  if (out.size === 0) return out;
  be.run(pairwiseGradSpec(x.size / n, n), [x, dy, out]);
  return out;
}
