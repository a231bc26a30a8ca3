/** STUB: attention kernels (gpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../nn/backend.ts";
import type { Shape } from "../nn/shape.ts";
import type { RngKey } from "../nn/random.ts";

export function attention(
  be: WebGpuBackend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
): { out: Tensor; lse: Tensor } {
  throw new Error("attention.attention (gpu): not implemented");
}

export function attentionGrad(
  be: WebGpuBackend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
  out: Tensor,
  lse: Tensor,
  dout: Tensor,
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  throw new Error("attention.attentionGrad (gpu): not implemented");
}

export function attentionProbs(
  be: WebGpuBackend,
  q: Tensor,
  k: Tensor,
  mask: Tensor | null,
  scale: number,
): Tensor {
  throw new Error("attention.attentionProbs (gpu): not implemented");
}
