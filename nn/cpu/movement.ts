/** STUB: movement kernels (cpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../backend.ts";
import type { Shape } from "../shape.ts";
import type { RngKey } from "../random.ts";

export function permute(be: CpuBackend, x: Tensor, perm: readonly number[]): Tensor {
  throw new Error("movement.permute (cpu): not implemented");
}

export function slice(be: CpuBackend, x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  throw new Error("movement.slice (cpu): not implemented");
}

export function pad(be: CpuBackend, x: Tensor, shape: Shape, begin: readonly number[]): Tensor {
  throw new Error("movement.pad (cpu): not implemented");
}

export function concat(be: CpuBackend, xs: Tensor[], axis: number): Tensor {
  throw new Error("movement.concat (cpu): not implemented");
}

export function gather(be: CpuBackend, x: Tensor, idx: Tensor, axis: number): Tensor {
  throw new Error("movement.gather (cpu): not implemented");
}

export function scatterAdd(be: CpuBackend, src: Tensor, idx: Tensor, axis: number, dim: number): Tensor {
  throw new Error("movement.scatterAdd (cpu): not implemented");
}

export function pairwise(be: CpuBackend, x: Tensor): Tensor {
  throw new Error("movement.pairwise (cpu): not implemented");
}

export function pairwiseGrad(be: CpuBackend, x: Tensor, dy: Tensor): Tensor {
  throw new Error("movement.pairwiseGrad (cpu): not implemented");
}
