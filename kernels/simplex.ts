/**
 * Simplex projection of composition rows in one dispatch: s = relu(x) / max(Σ relu(x), 1e-8) over the last axis
 * (the reference's `Comp_Simplex`), instead of four element-wise and reduction kernels.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { declareBindings, type KernelSpec } from "./kernel_spec.ts";
import { rowKernel, type RowMode, rowMode } from "./wgsl_rows.ts";

/** Spec of the simplex projection of `rows` rows of length L. Bindings: x, out. */
export function simplexSpec(rows: number, L: number, mode: RowMode = rowMode(rows, L)): KernelSpec {
  const bindings = ["read", "rw"] as const;
  const k = rowKernel({
    rows,
    L,
    mode,
    decls: declareBindings(bindings, ["x", "out"]),
    term: "acc = acc + max(x[i], 0.0);",
    // One thread per row writes the row (in group mode after the tree sum).
    post: `let d = max(s, 1e-8);
    for (var q = r * ${L}u; q < (r + 1u) * ${L}u; q++) { out[q] = max(x[q], 0.0) / d; }`,
  });
  return {
    key: `simplex:${rows}:${L}:${mode}`,
    bindings,
    uniforms: false,
    workgroups: k.workgroups,
    source: () => k.source,
  };
}

/** relu(x) / max(Σ relu(x), 1e-8) over the last axis; see {@link Backend.simplex}. One dispatch. */
export function simplex(be: WebGpuBackend, x: Tensor): Tensor {
  const L = x.rank ? x.shape[x.rank - 1] : 1;
  const out = be.alloc(x.shape);
  if (out.size === 0) return out;
  be.run(simplexSpec(out.size / L, L), [x, out]);
  return out;
}
