/** STUB: optim kernels (cpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../backend.ts";
import type { Shape } from "../shape.ts";
import type { RngKey } from "../random.ts";

export function loss(
  be: CpuBackend,
  kind: LossKind,
  pred: Tensor,
  target: Tensor,
  weight: Tensor | null,
): Tensor {
  throw new Error("optim.loss (cpu): not implemented");
}

export function lossGrad(
  be: CpuBackend,
  kind: LossKind,
  pred: Tensor,
  target: Tensor,
  weight: Tensor | null,
  dloss: Tensor,
): Tensor {
  throw new Error("optim.lossGrad (cpu): not implemented");
}

export function adam(
  be: CpuBackend,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  gradNormSq: Tensor | null,
  hp: AdamParams,
): void {
  throw new Error("optim.adam (cpu): not implemented");
}
