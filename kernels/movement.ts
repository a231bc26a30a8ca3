/** STUB: movement kernels (gpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../nn/backend.ts";
import type { Shape } from "../nn/shape.ts";
import type { RngKey } from "../nn/random.ts";

export function permute(be: WebGpuBackend, x: Tensor, perm: readonly number[]): Tensor {
  throw new Error("movement.permute (gpu): not implemented");
}

export function slice(
  be: WebGpuBackend,
  x: Tensor,
  begin: readonly number[],
  size: readonly number[],
): Tensor {
  throw new Error("movement.slice (gpu): not implemented");
}

export function pad(be: WebGpuBackend, x: Tensor, shape: Shape, begin: readonly number[]): Tensor {
  throw new Error("movement.pad (gpu): not implemented");
}

export function concat(be: WebGpuBackend, xs: Tensor[], axis: number): Tensor {
  throw new Error("movement.concat (gpu): not implemented");
}

export function gather(be: WebGpuBackend, x: Tensor, idx: Tensor, axis: number): Tensor {
  throw new Error("movement.gather (gpu): not implemented");
}

export function scatterAdd(be: WebGpuBackend, src: Tensor, idx: Tensor, axis: number, dim: number): Tensor {
  throw new Error("movement.scatterAdd (gpu): not implemented");
}

export function pairwise(be: WebGpuBackend, x: Tensor): Tensor {
  throw new Error("movement.pairwise (gpu): not implemented");
}

export function pairwiseGrad(be: WebGpuBackend, x: Tensor, dy: Tensor): Tensor {
  throw new Error("movement.pairwiseGrad (gpu): not implemented");
}
