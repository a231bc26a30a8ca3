/** STUB: random kernels (cpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../backend.ts";
import type { Shape } from "../shape.ts";
import type { RngKey } from "../random.ts";

export function reparam(
  be: CpuBackend,
  mu: Tensor,
  logvar: Tensor,
  key: RngKey,
  step: number,
): { z: Tensor; kl: Tensor; eps: Tensor } {
  throw new Error("random.reparam (cpu): not implemented");
}

export function random(
  be: CpuBackend,
  kind: "uniform" | "normal",
  shape: Shape,
  key: RngKey,
  step: number,
): Tensor {
  throw new Error("random.random (cpu): not implemented");
}

export function dropoutMask(be: CpuBackend, shape: Shape, p: number, key: RngKey, step: number): Tensor {
  throw new Error("random.dropoutMask (cpu): not implemented");
}
