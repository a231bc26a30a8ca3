/** STUB: attention kernels (cpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../backend.ts";
import type { Shape } from "../shape.ts";
import type { RngKey } from "../random.ts";

export function attention(
  be: CpuBackend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
): { out: Tensor; lse: Tensor } {
  throw new Error("attention.attention (cpu): not implemented");
}

export function attentionGrad(
  be: CpuBackend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
  out: Tensor,
  lse: Tensor,
  dout: Tensor,
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  throw new Error("attention.attentionGrad (cpu): not implemented");
}

export function attentionProbs(
  be: CpuBackend,
  q: Tensor,
  k: Tensor,
  mask: Tensor | null,
  scale: number,
): Tensor {
  throw new Error("attention.attentionProbs (cpu): not implemented");
}
