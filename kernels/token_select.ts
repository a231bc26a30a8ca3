/**
 * Element-token selection for the attention hardness model: for each composition row [E] the (at most) T
 * elements with the largest positive fractions, as a one-hot selection matrix [T, E] (ties broken by the lower
 * element index; unused slots are all-zero rows). With S the selection, token fractions are S·c and token
 * embeddings S·table, so gathering tokens is a plain (differentiable) matmul and the kernel itself needs no
 * backward. One thread per row: T passes of a lexicographic argmax strictly below the previous pick, no local
 * arrays.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec } from "./kernel_spec.ts";

const WG = 64;

/** Spec of {@link tokenSelect} for `rows` rows of `elements` fractions and `tokens` slots. Bindings: comp, sel. */
export function tokenSelectSpec(rows: number, elements: number, tokens: number): KernelSpec {
  const bindings = ["read", "rw"] as const;
  return {
    key: `token-select:${rows}x${elements}x${tokens}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(rows / WG)),
    source: () =>
      `${declareBindings(bindings, ["comp", "sel"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let row = ${FLAT_WG} * ${WG}u + lid;
  if (row >= ${rows}u) { return; }
  let base = row * ${elements}u;
  let out = row * ${tokens * elements}u;
  for (var i = 0u; i < ${tokens * elements}u; i++) { sel[out + i] = 0.0; }
  // Previous pick (value, index); the next pick is the largest (value, -index) strictly below it.
  var pv = 3.4e38;
  var pk = -1;
  for (var t = 0u; t < ${tokens}u; t++) {
    var bv = 0.0;
    var bk = -1;
    for (var k = 0; k < ${elements}; k++) {
      let v = comp[base + u32(k)];
      let below = v < pv || (v == pv && k > pk);
      if (v > 0.0 && below && (bk < 0 || v > bv)) { bv = v; bk = k; }
    }
    if (bk < 0) { return; }
    sel[out + t * ${elements}u + u32(bk)] = 1.0;
    pv = bv;
    pk = bk;
  }
}`,
  };
}

/** Selection matrices [..., T, E] of the rows of `comp` [..., E] (see the module comment). */
export function tokenSelect(be: WebGpuBackend, comp: Tensor, tokens: number): Tensor {
  const E = comp.shape[comp.rank - 1], rows = comp.size / Math.max(1, E);
  const out = be.alloc([...comp.shape.slice(0, -1), tokens, E]);
  if (out.size === 0) return out;
  be.run(tokenSelectSpec(rows, E, tokens), [comp, out]);
  return out;
}
