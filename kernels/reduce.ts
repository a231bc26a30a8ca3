/**
 * Reduction kernels: single-axis sum/max/min/logsumexp, softmax / log-softmax along any axis with the softmax
 * backward, and the global sum of squares. The input is viewed as [outer, n, inner] around the reduced axis.
 *
 * Short axes (n < {@link SMALL_N}) run one thread per output. Long axes use a workgroup-cooperative kernel: each
 * workgroup folds a chunk of at most {@link PER_THREAD} elements per thread, then combines the threads' values with
 * a shared-memory tree. When one chunk does not cover the axis, the chunk results form a new [outer, chunks, inner]
 * tensor that is reduced again (sum of sums, max of maxes, logsumexp of logsumexps). No f32 accumulator therefore
 * ever folds more than a few dozen values serially, so sums over millions of elements stay accurate.
 *
 * In both kernels consecutive threads handle consecutive `inner` indices (coalesced loads); with inner = 1 they
 * handle consecutive elements of the axis. ±Infinity reach the WGSL as uniforms (an infinite WGSL constant is a
 * shader-creation error).
 * @module
 */
import type { ReduceOp } from "../nn/backend.ts";
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { broadcastStrides, type Shape, splitAxis, stridesOf } from "../nn/shape.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";
import { mapSpec } from "./elementwise.ts";

const WG = 256;
/** Axes shorter than this are reduced by one thread per output; longer ones by the cooperative tree kernel. */
export const SMALL_N = 256;
/** Elements each thread of the cooperative kernel folds serially before the tree. */
export const PER_THREAD = 16;
/** Widest tile of consecutive inner indices one cooperative workgroup covers. */
const MAX_TX = 64;

/** What each element contributes: itself, its square, or exp(x − shift[row]) (softmax denominators). */
export type ReduceLoad = "x" | "sq" | "expshift";

/** Value of a reduction over an empty axis. */
export const EMPTY_VALUE: Record<ReduceOp, number> = {
  sum: 0,
  max: -Infinity,
  min: Infinity,
  logsumexp: -Infinity,
};

const PARAMS_WGSL = `struct Params { ninf: f32, pinf: f32, p2: f32, p3: f32 }
@group(0) @binding(0) var<uniform> P: Params;`;

function infParams(): ArrayBuffer {
  return packParams([["f", -Infinity], ["f", Infinity]]);
}

function identity(op: ReduceOp): string {
  return op === "sum" ? "0.0" : op === "min" ? "P.pinf" : "P.ninf";
}

/** WGSL producing `v` from the element at flat index `idx` (`row` = o·inner + j indexes the shift). */
function loadExpr(load: ReduceLoad, idx: string): string {
  if (load === "sq") return `let xv = x[${idx}];\n      let v = xv * xv;`;
  if (load === "expshift") return `let v = exp(x[${idx}] - shift[row]);`;
  return `let v = x[${idx}];`;
}

function bindingsFor(load: ReduceLoad): ("read" | "rw")[] {
  return load === "expshift" ? ["read", "read", "rw"] : ["read", "rw"];
}

function namesFor(load: ReduceLoad): string[] {
  return load === "expshift" ? ["x", "shift", "out"] : ["x", "out"];
}

/** Shared WGSL: lse = m + log(s), with −inf for an empty/all −inf row and +inf when the max is +inf. */
const LSE_FINAL_WGSL = `
fn lse_final(m: f32, s: f32) -> f32 {
  if (m <= P.ninf) { return P.ninf; }
  if (m >= P.pinf) { return P.pinf; }
  return m + log(s);
}`;

/**
 * Spec of the one-thread-per-output reduction of an [outer, n, inner] view (n ≥ 1). Sums are accumulated in blocks
 * of 16 so the serial f32 error grows like n/16 + 16 rather than n; logsumexp takes the max first, then the shifted
 * sum.
 */
export function smallReduceSpec(
  op: ReduceOp,
  load: ReduceLoad,
  outer: number,
  n: number,
  inner: number,
): KernelSpec {
  const total = outer * inner;
  const bindings = bindingsFor(load);
  const elem = (k: string) => `base + ${k} * ${inner}u`;
  let body: string;
  if (op === "sum") {
    body = `var acc = 0.0;
  var blk = 0.0;
  for (var k = 0u; k < ${n}u; k++) {
      ${loadExpr(load, elem("k"))}
      blk += v;
      if ((k & 15u) == 15u) { acc += blk; blk = 0.0; }
  }
  out[i] = acc + blk;`;
  } else if (op === "max" || op === "min") {
    body = `var acc = ${identity(op)};
  for (var k = 0u; k < ${n}u; k++) {
      ${loadExpr(load, elem("k"))}
      acc = ${op}(acc, v);
  }
  out[i] = acc;`;
  } else {
    body = `var m = P.ninf;
  for (var k = 0u; k < ${n}u; k++) {
      ${loadExpr(load, elem("k"))}
      m = max(m, v);
  }
  if (m <= P.ninf || m >= P.pinf) { out[i] = lse_final(m, 0.0); return; }
  var acc = 0.0;
  var blk = 0.0;
  for (var k = 0u; k < ${n}u; k++) {
      ${loadExpr(load, elem("k"))}
      blk += exp(v - m);
      if ((k & 15u) == 15u) { acc += blk; blk = 0.0; }
  }
  out[i] = lse_final(m, acc + blk);`;
  }
  return {
    key: `reduce:small:${op}:${load}:${outer}x${n}x${inner}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(total / WG)),
    source: () =>
      `${PARAMS_WGSL}
${declareBindings(bindings, namesFor(load))}
${LSE_FINAL_WGSL}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${total}u) { return; }
  let o = i / ${inner}u;
  let j = i % ${inner}u;
  let row = i;
  let base = o * ${n * inner}u + j;
  ${body}
}`,
  };
}

/** Layout of the cooperative kernel for an [outer, n, inner] view. */
export interface TreePlan {
  /** Threads along inner (consecutive inner indices) and along the axis; TX·TY = 256. */
  tx: number;
  ty: number;
  /** Axis elements one workgroup covers, and the number of such chunks. */
  chunk: number;
  chunks: number;
  /** Workgroups along inner. */
  tiles: number;
}

/** Chooses the cooperative kernel's thread layout and chunking. */
export function treePlan(n: number, inner: number): TreePlan {
  let tx = 1;
  while (tx < inner && tx < MAX_TX) tx *= 2;
  const ty = WG / tx;
  const chunk = PER_THREAD * ty;
  return { tx, ty, chunk, chunks: Math.ceil(n / chunk), tiles: Math.ceil(inner / tx) };
}

/**
 * Spec of the cooperative reduction: workgroup (o, c, t) reduces elements [c·chunk, (c+1)·chunk) of the axis for
 * inner indices [t·tx, (t+1)·tx) and writes out[(o·chunks + c)·inner + j]; with one chunk that is the final output.
 * logsumexp keeps an online (max, scaled sum) pair per thread and merges pairs in the tree.
 */
export function treeReduceSpec(
  op: ReduceOp,
  load: ReduceLoad,
  outer: number,
  n: number,
  inner: number,
): KernelSpec {
  const { tx, ty, chunk, chunks, tiles } = treePlan(n, inner);
  const total = outer * chunks * tiles;
  const bindings = bindingsFor(load);
  const lse = op === "logsumexp";
  const fold = lse
    ? `if (v > m) {
          s = select(0.0, s * exp(m - v), m > P.ninf) + 1.0;
          m = v;
        } else if (v > P.ninf) {
          s += exp(v - m);
        }`
    : op === "sum"
    ? "m += v;"
    : `m = ${op}(m, v);`;
  const merge = lse
    ? `let m2 = sm[lid + h * ${tx}u];
      let s2 = ss[lid + h * ${tx}u];
      let m1 = sm[lid];
      let mm = max(m1, m2);
      if (mm > P.ninf && mm < P.pinf) {
        ss[lid] = select(0.0, ss[lid] * exp(m1 - mm), m1 > P.ninf) + select(0.0, s2 * exp(m2 - mm), m2 > P.ninf);
      }
      sm[lid] = mm;`
    : op === "sum"
    ? `sm[lid] = sm[lid] + sm[lid + h * ${tx}u];`
    : `sm[lid] = ${op}(sm[lid], sm[lid + h * ${tx}u]);`;
  return {
    key: `reduce:tree:${op}:${load}:${outer}x${n}x${inner}:${tx}x${ty}x${PER_THREAD}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(total),
    source: () =>
      `${PARAMS_WGSL}
${declareBindings(bindings, namesFor(load))}
${LSE_FINAL_WGSL}
var<workgroup> sm: array<f32, ${WG}>;
${lse ? `var<workgroup> ss: array<f32, ${WG}>;` : ""}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let w = ${FLAT_WG};
  if (w >= ${total}u) { return; }
  let t = w % ${tiles}u;
  let c = (w / ${tiles}u) % ${chunks}u;
  let o = w / ${tiles * chunks}u;
  let tx = lid % ${tx}u;
  let ty = lid / ${tx}u;
  let j = t * ${tx}u + tx;
  let valid = j < ${inner}u;
  let row = o * ${inner}u + j;
  let base = o * ${n * inner}u + j;
  var m = ${identity(op)};
  var s = 0.0;
  if (valid) {
    for (var r = 0u; r < ${PER_THREAD}u; r++) {
      let k = c * ${chunk}u + r * ${ty}u + ty;
      if (k >= ${n}u) { break; }
      ${loadExpr(load, `base + k * ${inner}u`)}
      ${fold}
    }
  }
  sm[lid] = m;
  ${lse ? "ss[lid] = s;" : ""}
  workgroupBarrier();
  for (var h = ${ty / 2}u; h > 0u; h = h >> 1u) {
    if (ty < h) {
      ${merge}
    }
    workgroupBarrier();
  }
  if (ty == 0u && valid) {
    out[(o * ${chunks}u + c) * ${inner}u + j] = ${lse ? "lse_final(sm[lid], ss[lid])" : "sm[lid]"};
  }
}`,
  };
}

/**
 * Reduces the [outer, n, inner] view of `x` over n into a new tensor of `outShape` (size outer·inner). `shift`
 * (size outer·inner) is required for the "expshift" load.
 */
function reduceView(
  be: WebGpuBackend,
  op: ReduceOp,
  load: ReduceLoad,
  x: Tensor,
  shift: Tensor | null,
  [outer, n, inner]: [number, number, number],
  outShape: Shape,
): Tensor {
  if (outer * inner === 0) return be.alloc(outShape);
  if (n === 0) return be.fill(outShape, EMPTY_VALUE[op]);
  const ins = shift ? [x, shift] : [x];
  if (n < SMALL_N) {
    const out = be.alloc(outShape);
    be.run(smallReduceSpec(op, load, outer, n, inner), [...ins, out], infParams());
    return out;
  }
  const { chunks } = treePlan(n, inner);
  const spec = treeReduceSpec(op, load, outer, n, inner);
  if (chunks === 1) {
    const out = be.alloc(outShape);
    be.run(spec, [...ins, out], infParams());
    return out;
  }
  // Chunk results, reduced again: squares and exps were already applied, so the next level loads plain values.
  const part = be.alloc([outer, chunks, inner]);
  be.run(spec, [...ins, part], infParams());
  const out = reduceView(be, op, "x", part, null, [outer, chunks, inner], outShape);
  part.dispose();
  return out;
}

function checkF32(op: string, x: Tensor): void {
  if (x.dtype !== "f32") throw new Error(`${op}: only f32 tensors are supported, got ${x.dtype}`);
}

/**
 * Reduces `axis` of `x` (removed from the shape). An empty axis gives the op's identity: sum 0, max −∞, min +∞,
 * logsumexp −∞. logsumexp is max-shifted; a row of −∞ gives −∞ and a row containing +∞ gives +∞.
 */
export function reduce(be: WebGpuBackend, op: ReduceOp, x: Tensor, axis: number): Tensor {
  checkF32(op, x);
  const outShape = x.shape.filter((_, i) => i !== axis);
  return reduceView(be, op, "x", x, null, splitAxis(x.shape, axis), outShape);
}

/** Spec of the one-thread-per-row softmax (n < {@link SMALL_N}): max, shifted sum, then the normalised values. */
export function smallSoftmaxSpec(outer: number, n: number, inner: number, log: boolean): KernelSpec {
  const total = outer * inner;
  const bindings = ["read", "rw"] as const;
  const write = log ? "(v - m) - ls" : "exp(v - m) / s";
  return {
    key: `softmax:small:${log ? "log" : "exp"}:${outer}x${n}x${inner}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(total / WG)),
    source: () =>
      `${PARAMS_WGSL}
${declareBindings(bindings, ["x", "out"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${total}u) { return; }
  let base = (i / ${inner}u) * ${n * inner}u + i % ${inner}u;
  var m = P.ninf;
  for (var k = 0u; k < ${n}u; k++) { m = max(m, x[base + k * ${inner}u]); }
  var acc = 0.0;
  var blk = 0.0;
  for (var k = 0u; k < ${n}u; k++) {
    blk += exp(x[base + k * ${inner}u] - m);
    if ((k & 15u) == 15u) { acc += blk; blk = 0.0; }
  }
  let s = acc + blk;
  let ls = log(s);
  for (var k = 0u; k < ${n}u; k++) {
    let idx = base + k * ${inner}u;
    let v = x[idx];
    out[idx] = ${write};
  }
}`,
  };
}

/**
 * Softmax (or log-softmax) along `axis`, max-shifted: softmax = exp(x − m) / Σexp(x − m), log-softmax =
 * (x − m) − log Σexp(x − m). Long axes take three dispatches: the row max and the shifted sum (both cooperative
 * reductions), then an elementwise normalisation. A row that is entirely −∞ gives NaN (as in PyTorch).
 */
export function softmax(be: WebGpuBackend, x: Tensor, axis: number, log: boolean): Tensor {
  checkF32("softmax", x);
  const [outer, n, inner] = splitAxis(x.shape, axis);
  const out = be.alloc(x.shape);
  if (out.size === 0) return out;
  if (n < SMALL_N) {
    be.run(smallSoftmaxSpec(outer, n, inner, log), [x, out], infParams());
    return out;
  }
  const rowShape = [outer, 1, inner];
  const m = reduceView(be, "max", "x", x, null, [outer, n, inner], rowShape);
  const s = reduceView(be, "sum", "expshift", x, m, [outer, n, inner], rowShape);
  const full = [outer, n, inner];
  const rowStrides = broadcastStrides(rowShape, full);
  const spec = mapSpec(log ? "logsoftmax" : "softmax", log ? "(x - m) - log(s)" : "exp(x - m) / s", full, [
    { name: "x", strides: stridesOf(full) },
    { name: "m", strides: rowStrides },
    { name: "s", strides: rowStrides },
  ]);
  be.run(spec, [x, m, s, out], packParams([["f", 0], ["f", 0]]));
  m.dispose();
  s.dispose();
  return out;
}

/**
 * Spec of the softmax backward dx = y ⊙ (g − Σ_axis g ⊙ y) over an [outer, n, inner] view, one dispatch. Axes
 * shorter than {@link SMALL_N} run a thread per row (the row sum blocked by 16 as in the small reduction); longer
 * ones a 256-thread workgroup per row: strided partial sums, a shared-memory tree, then every thread writes its
 * elements. Bindings: y, g, dx.
 */
export function softmaxGradSpec(outer: number, n: number, inner: number): KernelSpec {
  const total = outer * inner;
  const bindings = ["read", "read", "rw"] as const;
  const decls = declareBindings(bindings, ["y", "g", "dx"]);
  if (n < SMALL_N) {
    return {
      key: `softmax-grad:small:${outer}x${n}x${inner}`,
      bindings,
      uniforms: false,
      workgroups: grid1d(Math.ceil(total / WG)),
      source: () =>
        `${decls}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${total}u) { return; }
  let base = (i / ${inner}u) * ${n * inner}u + i % ${inner}u;
  var acc = 0.0;
  var blk = 0.0;
  for (var k = 0u; k < ${n}u; k++) {
    let idx = base + k * ${inner}u;
    blk += g[idx] * y[idx];
    if ((k & 15u) == 15u) { acc += blk; blk = 0.0; }
  }
  let s = acc + blk;
  for (var k = 0u; k < ${n}u; k++) {
    let idx = base + k * ${inner}u;
    dx[idx] = y[idx] * (g[idx] - s);
  }
}`,
    };
  }
  const tree: string[] = [];
  for (let o = WG >> 1; o > 0; o >>= 1) {
    tree.push(`if (lid < ${o}u) { red[lid] = red[lid] + red[lid + ${o}u]; }`, "workgroupBarrier();");
  }
  return {
    key: `softmax-grad:group:${outer}x${n}x${inner}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(total),
    source: () =>
      `${decls}
var<workgroup> red: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let r = ${FLAT_WG};
  if (r >= ${total}u) { return; }
  let base = (r / ${inner}u) * ${n * inner}u + r % ${inner}u;
  var acc = 0.0;
  for (var k = lid; k < ${n}u; k += ${WG}u) {
    let idx = base + k * ${inner}u;
    acc += g[idx] * y[idx];
  }
  red[lid] = acc;
  workgroupBarrier();
  ${tree.join("\n  ")}
  let s = red[0];
  for (var k = lid; k < ${n}u; k += ${WG}u) {
    let idx = base + k * ${inner}u;
    dx[idx] = y[idx] * (g[idx] - s);
  }
}`,
  };
}

/** Backward of {@link softmax} from its output y: dx = y ⊙ (g − Σ_axis g ⊙ y), one dispatch for any axis. */
export function softmaxGrad(be: WebGpuBackend, y: Tensor, g: Tensor, axis: number): Tensor {
  checkF32("softmaxGrad", y);
  const [outer, n, inner] = splitAxis(y.shape, axis);
  const out = be.alloc(y.shape);
  if (out.size === 0) return out;
  be.run(softmaxGradSpec(outer, n, inner), [y, g, out]);
  return out;
}

/** Σx² over all elements as a [1] tensor (0 for an empty tensor); cooperative and chunked for large buffers. */
export function sumSquares(be: WebGpuBackend, x: Tensor): Tensor {
  checkF32("sumSquares", x);
  return reduceView(be, "sum", "sq", x, null, [1, x.size, 1], [1]);
}
