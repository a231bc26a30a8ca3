/** STUB: matmul kernels (gpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../nn/backend.ts";
import type { Shape } from "../nn/shape.ts";
import type { RngKey } from "../nn/random.ts";

export function matmul(be: WebGpuBackend, a: Tensor, b: Tensor, opts: MatmulOptions): Tensor {
  throw new Error("matmul.matmul (gpu): not implemented");
}
