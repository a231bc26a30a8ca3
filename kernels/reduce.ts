/** STUB: reduce kernels (gpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../nn/backend.ts";
import type { Shape } from "../nn/shape.ts";
import type { RngKey } from "../nn/random.ts";

export function reduce(be: WebGpuBackend, op: ReduceOp, x: Tensor, axis: number): Tensor {
  throw new Error("reduce.reduce (gpu): not implemented");
}

export function softmax(be: WebGpuBackend, x: Tensor, axis: number, log: boolean): Tensor {
  throw new Error("reduce.softmax (gpu): not implemented");
}

export function sumSquares(be: WebGpuBackend, x: Tensor): Tensor {
  throw new Error("reduce.sumSquares (gpu): not implemented");
}
