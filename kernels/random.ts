/** STUB: random kernels (gpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../nn/backend.ts";
import type { Shape } from "../nn/shape.ts";
import type { RngKey } from "../nn/random.ts";

export function reparam(
  be: WebGpuBackend,
  mu: Tensor,
  logvar: Tensor,
  key: RngKey,
  step: number,
): { z: Tensor; kl: Tensor; eps: Tensor } {
  throw new Error("random.reparam (gpu): not implemented");
}

export function random(
  be: WebGpuBackend,
  kind: "uniform" | "normal",
  shape: Shape,
  key: RngKey,
  step: number,
): Tensor {
  throw new Error("random.random (gpu): not implemented");
}

export function dropoutMask(be: WebGpuBackend, shape: Shape, p: number, key: RngKey, step: number): Tensor {
  throw new Error("random.dropoutMask (gpu): not implemented");
}
