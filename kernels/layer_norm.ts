/**
 * Row normalisation over the last axis in one dispatch each way: y = (x − mean)/√(var + ε) with the population
 * variance, saving 1/√(var + ε) per row for the backward dx = invstd·(g − mean(g) − y·mean(g·y)). One invocation
 * per row (rows are short: token features), so rows run side by side in the SIMD lanes.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";

const WG = 64;

/** Spec of the forward pass over `rows` rows of length L. Bindings: x, y, invstd; uniform: ε. */
export function layerNormSpec(rows: number, L: number): KernelSpec {
  const bindings = ["read", "rw", "rw"] as const;
  return {
    key: `layer-norm:${rows}:${L}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(rows / WG)),
    source: () =>
      `struct Params { eps: f32, p1: f32, p2: f32, p3: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, ["x", "y", "invstd"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let r = ${FLAT_WG} * ${WG}u + lid;
  if (r >= ${rows}u) { return; }
  let o = r * ${L}u;
  var s = 0.0;
  for (var j = 0u; j < ${L}u; j++) { s += x[o + j]; }
  let m = s / ${L}.0;
  var v = 0.0;
  for (var j = 0u; j < ${L}u; j++) { let d = x[o + j] - m; v += d * d; }
  let is = inverseSqrt(v / ${L}.0 + P.eps);
  for (var j = 0u; j < ${L}u; j++) { y[o + j] = (x[o + j] - m) * is; }
  invstd[r] = is;
}`,
  };
}

/** Spec of the backward pass. Bindings: y, invstd, g, dx. */
export function layerNormGradSpec(rows: number, L: number): KernelSpec {
  const bindings = ["read", "read", "read", "rw"] as const;
  return {
    key: `layer-norm-grad:${rows}:${L}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(rows / WG)),
    source: () =>
      `${declareBindings(bindings, ["y", "invstd", "g", "dx"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let r = ${FLAT_WG} * ${WG}u + lid;
  if (r >= ${rows}u) { return; }
  let o = r * ${L}u;
  var sg = 0.0;
  var sgy = 0.0;
  for (var j = 0u; j < ${L}u; j++) { sg += g[o + j]; sgy += g[o + j] * y[o + j]; }
  let mg = sg / ${L}.0;
  let mgy = sgy / ${L}.0;
  let is = invstd[r];
  for (var j = 0u; j < ${L}u; j++) { dx[o + j] = is * (g[o + j] - mg - y[o + j] * mgy); }
}`,
  };
}

/** Normalised rows and their 1/√(var + ε); see {@link Backend.layerNorm}. */
export function layerNorm(be: WebGpuBackend, x: Tensor, eps: number): { y: Tensor; invstd: Tensor } {
  const L = x.shape[x.rank - 1];
  const y = be.alloc(x.shape), invstd = be.alloc(x.shape.slice(0, -1));
  if (y.size === 0) return { y, invstd };
  be.run(layerNormSpec(y.size / L, L), [x, y, invstd], packParams([["f", eps]]));
  return { y, invstd };
}

/** Gradient of {@link layerNorm} with respect to x. */
export function layerNormGrad(be: WebGpuBackend, y: Tensor, invstd: Tensor, g: Tensor): Tensor {
  const L = y.shape[y.rank - 1];
  const dx = be.alloc(y.shape);
  if (dx.size === 0) return dx;
  be.run(layerNormGradSpec(dx.size / L, L), [y, invstd, g, dx]);
  return dx;
}
