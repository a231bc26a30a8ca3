/** STUB: optim kernels (gpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../nn/backend.ts";
import type { Shape } from "../nn/shape.ts";
import type { RngKey } from "../nn/random.ts";

export function loss(
  be: WebGpuBackend,
  kind: LossKind,
  pred: Tensor,
  target: Tensor,
  weight: Tensor | null,
): Tensor {
  throw new Error("optim.loss (gpu): not implemented");
}

export function lossGrad(
  be: WebGpuBackend,
  kind: LossKind,
  pred: Tensor,
  target: Tensor,
  weight: Tensor | null,
  dloss: Tensor,
): Tensor {
  throw new Error("optim.lossGrad (gpu): not implemented");
}

export function adam(
  be: WebGpuBackend,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  gradNormSq: Tensor | null,
  hp: AdamParams,
): void {
  throw new Error("optim.adam (gpu): not implemented");
}
