/**
 * Pairwise-product dense layer without the pairwise features: y = act(pairwise(x)·W + bias), where pairwise(x) holds
 * the upper-triangle products x_a·x_b (a < b, row-major pair order) of each row of x [..., M, E] and W is
 * [..., E(E−1)/2, N]. Compositions are sparse (an alloy has 3–8 of 56 elements, so ≥ 98 % of the 1540 products are
 * zero), so the forward pass walks each row's nonzero pairs only, and the weight gradient
 * dW[q, ·] = Σ_rows x_a·x_b·g[row, ·] touches G only where a row holds both elements of pair q. Dense rows stay
 * correct (they just cost what the dense product costs). Sums run in pair order and skip exact zeros, so results
 * match matmul(pairwise(x), W) up to float summation order.
 *
 * Layouts: forward, one workgroup per row (8 invocations over consecutive outputs, so W reads are contiguous);
 * invocation 0 lists the row's nonzero entries in workgroup memory. Weight gradient, one workgroup per first
 * element of a pair (see {@link pairwiseMatmulGradSpec}).
 * @module
 */
import type { MatmulOptions } from "../nn/backend.ts";
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { broadcastShapes, broadcastStrides, type Shape, sizeOf } from "../nn/shape.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";
import { ACTIVATIONS_WGSL } from "./wgsl_prelude.ts";
import { batchOffsetWgsl, biasLayout, MATMUL_ACTIVATION_WGSL } from "./matmul.ts";
import { rowStartWgsl } from "./movement.ts";

/**
 * Invocations per workgroup of both kernels. Their pair walks are uniform over the workgroup, and llvmpipe runs a
 * workgroup as 8-wide SIMD chunks one after another, repeating uniform work per chunk: eight lanes do it once
 * (2–3× faster there than 64). Both kernels' total work is small, so GPUs lose little.
 */
const WG = 8;
/** Largest E whose nonzero list fits the 16 KiB of workgroup memory WebGPU guarantees (8 bytes per entry). */
export const PAIRWISE_MATMUL_MAX_E = 2000;

/** Everything the generated WGSL of the forward kernel depends on. */
export interface PairwiseMatmulProblem {
  /** Rows per batch entry. */
  m: number;
  /** Entries per row (elements). */
  e: number;
  /** Outputs per row. */
  n: number;
  /** Output batch shape (broadcast of the batch shapes of x and W). */
  batch: Shape;
  /** Per-batch-axis strides of x and W in whole matrices (0 on broadcast axes). */
  xStrides: number[];
  wStrides: number[];
  /** null: no bias; "flat": shape [N]; otherwise batch strides (in rows of N) of a [..., 1, N] bias. */
  bias: null | "flat" | number[];
  activation: NonNullable<MatmulOptions["activation"]>;
}

/** Describes act(pairwise(x)·W + bias) for x [..., M, E] and W [..., E(E−1)/2, N] (validated by the ops layer). */
export function pairwiseMatmulProblem(
  xShape: Shape,
  wShape: Shape,
  biasShape: Shape | null,
  activation: PairwiseMatmulProblem["activation"] = "identity",
): PairwiseMatmulProblem {
  const batch = broadcastShapes("pairwiseMatmul", xShape.slice(0, -2), wShape.slice(0, -2));
  const bias = biasLayout(biasShape, batch);
  return {
    m: xShape[xShape.length - 2],
    e: xShape[xShape.length - 1],
    n: wShape[wShape.length - 1],
    batch,
    xStrides: broadcastStrides(xShape.slice(0, -2), batch),
    wStrides: broadcastStrides(wShape.slice(0, -2), batch),
    bias,
    activation,
  };
}

/** Spec of the forward pass. Bindings: x, W, [bias], out; uniforms: the leaky-ReLU slope. */
export function pairwiseMatmulSpec(p: PairwiseMatmulProblem): KernelSpec {
  const { m, e, n } = p;
  const pairs = (e * (e - 1)) / 2;
  const nb = sizeOf(p.batch);
  const rows = nb * m;
  const bindings = p.bias === null
    ? ["read", "read", "rw"] as const
    : ["read", "read", "read", "rw"] as const;
  const names = ["X", "W", ...(p.bias === null ? [] : ["BIAS"]), "OUT"];
  const biasKey = p.bias === null ? "none" : p.bias === "flat" ? "flat" : p.bias.join(",");
  return {
    key: `pairwise-matmul:${m}x${e}x${n}:${p.batch.join("x")}:${p.xStrides.join(",")}:${
      p.wStrides.join(",")
    }:${biasKey}:${p.activation}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(rows),
    source: () => {
      const act = MATMUL_ACTIVATION_WGSL[p.activation];
      const needsPrelude = !["identity", "relu", "leaky_relu"].includes(p.activation);
      // Outputs move as vec4 when rows of N stay 16-byte aligned; each lane keeps `per` accumulators.
      const v = n % 4 === 0 ? 4 : 1, nv = n / v, ty = v === 4 ? "vec4<f32>" : "f32";
      const per = Math.ceil(nv / WG);
      const ks = Array.from({ length: per }, (_, k) => k);
      const biasOff = p.bias === null
        ? ""
        : p.bias === "flat"
        ? "0u"
        : `${batchOffsetWgsl(p.batch, p.bias, nv, "bz")}`;
      const types = ["f32", ty, ...(p.bias === null ? [] : [ty]), ty];
      return `${needsPrelude ? ACTIVATIONS_WGSL : ""}
struct Params { alpha: f32, p1: f32, p2: f32, p3: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, names, types)}
var<workgroup> nzIdx: array<u32, ${e}>;
var<workgroup> nzVal: array<f32, ${e}>;
var<workgroup> nzCount: u32;
fn act1(v: f32) -> f32 { return ${act}; }
fn act(v: ${ty}) -> ${ty} { return ${
        v === 4 ? "vec4<f32>(act1(v.x), act1(v.y), act1(v.z), act1(v.w))" : "act1(v)"
      }; }
// Pair (a, b) of the upper triangle is at row_start(a) + b − a − 1.
${rowStartWgsl(e)}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let flat = ${FLAT_WG};
  if (flat >= ${rows}u) { return; }
  let row = flat % ${m}u;
  let bz = flat / ${m}u;
  let xOff = ${batchOffsetWgsl(p.batch, p.xStrides, m * e, "bz")} + row * ${e}u;
  if (lid == 0u) {
    var c = 0u;
    for (var i = 0u; i < ${e}u; i++) {
      let v = X[xOff + i];
      if (v != 0.0) { nzIdx[c] = i; nzVal[c] = v; c++; }
    }
    nzCount = c;
  }
  workgroupBarrier();
  let cnt = nzCount;
  let wOff = ${batchOffsetWgsl(p.batch, p.wStrides, pairs * nv, "bz")};
${
        ks.map((k) =>
          `  let o${k} = min(lid + ${k * WG}u, ${nv - 1}u);
  var acc${k} = ${ty}(0.0);`
        ).join("\n")
      }
  for (var i = 0u; i < cnt; i++) {
    let a = nzIdx[i];
    let va = nzVal[i];
    let base = wOff + row_start(a) * ${nv}u;
    for (var j = i + 1u; j < cnt; j++) {
      let c = va * nzVal[j];
      let q = base + (nzIdx[j] - a - 1u) * ${nv}u;
${ks.map((k) => `      acc${k} += c * W[q + o${k}];`).join("\n")}
    }
  }
${
        ks.map((k) =>
          `  if (lid + ${k * WG}u < ${nv}u) { OUT[flat * ${nv}u + o${k}] = act(acc${k}${
            p.bias === null ? "" : ` + BIAS[${biasOff} + o${k}]`
          }); }`
        ).join("\n")
      }
}`;
    },
  };
}

/**
 * act(pairwise(x)·W + bias) for x [..., M, E], W [..., E(E−1)/2, N] (broadcast batch axes) and bias [N] or
 * [..., 1, N]; see {@link Backend.pairwiseMatmul}. One dispatch.
 */
export function pairwiseMatmul(be: WebGpuBackend, x: Tensor, w: Tensor, opts: MatmulOptions): Tensor {
  const bias = opts.bias ?? null;
  const p = pairwiseMatmulProblem(x.shape, w.shape, bias ? bias.shape : null, opts.activation ?? "identity");
  if (p.e > PAIRWISE_MATMUL_MAX_E) {
    throw new RangeError(`pairwiseMatmul: ${p.e} entries per row exceed ${PAIRWISE_MATMUL_MAX_E}`);
  }
  if (p.e < 2) {
    // No pairs: the product is zero and only the epilogue remains (a degenerate shape, so no dedicated kernel).
    const zx = be.fill([...p.batch, p.m, 1], 0), zw = be.fill([1, p.n], 0);
    const r = be.matmul(zx, zw, opts);
    zx.dispose();
    zw.dispose();
    return r;
  }
  const out = be.alloc([...p.batch, p.m, p.n]);
  if (out.size === 0) return out;
  const spec = pairwiseMatmulSpec(p);
  be.run(spec, bias ? [x, w, bias, out] : [x, w, out], packParams([["f", opts.alpha ?? 0.01]]));
  return out;
}

/**
 * Spec of the weight gradient dW [...batch, P, N] for x [...xb, M, E] and g [...batch, M, N]. One workgroup per
 * (batch entry, first element a) owns the pair rows (a, a+1..E−1) of dW: it zeroes them, then walks the rows
 * holding a and, within them, the later nonzero elements b, adding x_a·x_b·g[row] to row (a, b). Every branch is
 * uniform over the workgroup, and each output is only touched by the invocation that zeroed it (both walk a pair
 * row with the same stride), so no barrier is needed. Bindings: x, g, dW.
 */
export function pairwiseMatmulGradSpec(
  batch: Shape,
  xStrides: readonly number[],
  m: number,
  e: number,
  n: number,
): KernelSpec {
  const pairs = (e * (e - 1)) / 2;
  const nb = sizeOf(batch);
  const groups = nb * (e - 1);
  // Outputs move as vec4 when rows of N stay 16-byte aligned.
  const v = n % 4 === 0 ? 4 : 1, nv = n / v, ty = v === 4 ? "vec4<f32>" : "f32";
  const bindings = ["read", "read", "rw"] as const;
  return {
    key: `pairwise-matmul-grad:${m}x${e}x${n}:${batch.join("x")}:${xStrides.join(",")}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(groups),
    source: () =>
      `${declareBindings(bindings, ["X", "G", "DW"], ["f32", ty, ty])}
${rowStartWgsl(e)}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let flat = ${FLAT_WG};
  if (flat >= ${groups}u) { return; }
  let a = flat % ${e - 1}u;
  let bz = flat / ${e - 1}u;
  let xOff = ${batchOffsetWgsl(batch, xStrides, m * e, "bz")};
  let gOff = bz * ${m * nv}u;
  let dOff = (bz * ${pairs}u + row_start(a)) * ${nv}u;
  for (var j = 0u; j < ${e - 1}u - a; j++) {
    for (var o = lid; o < ${nv}u; o += ${WG}u) { DW[dOff + j * ${nv}u + o] = ${ty}(0.0); }
  }
  for (var r = 0u; r < ${m}u; r++) {
    let xr = xOff + r * ${e}u;
    let xa = X[xr + a];
    if (xa == 0.0) { continue; }
    for (var b = a + 1u; b < ${e}u; b++) {
      let xb = X[xr + b];
      if (xb == 0.0) { continue; }
      let c = xa * xb;
      let d = dOff + (b - a - 1u) * ${nv}u;
      let gr = gOff + r * ${nv}u;
      for (var o = lid; o < ${nv}u; o += ${WG}u) { DW[d + o] += c * G[gr + o]; }
    }
  }
}`,
  };
}

/**
 * Weight gradient of {@link pairwiseMatmul}: dW[..., q, N] = Σ_rows x_a·x_b·g for pair q = (a, b), over the output
 * batch of g [..., M, N] (the caller sums broadcast axes of W). One dispatch.
 */
export function pairwiseMatmulGradW(be: WebGpuBackend, x: Tensor, g: Tensor): Tensor {
  const e = x.shape[x.rank - 1], m = x.shape[x.rank - 2], n = g.shape[g.rank - 1];
  const batch = g.shape.slice(0, -2);
  if (m === 0) return be.fill([...batch, (e * (e - 1)) / 2, n], 0);
  const out = be.alloc([...batch, (e * (e - 1)) / 2, n]);
  if (out.size === 0) return out;
  be.run(pairwiseMatmulGradSpec(batch, broadcastStrides(x.shape.slice(0, -2), batch), m, e, n), [x, g, out]);
  return out;
}
