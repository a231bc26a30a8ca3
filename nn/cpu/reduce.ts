/** STUB: reduce kernels (cpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../backend.ts";
import type { Shape } from "../shape.ts";
import type { RngKey } from "../random.ts";

export function reduce(be: CpuBackend, op: ReduceOp, x: Tensor, axis: number): Tensor {
  throw new Error("reduce.reduce (cpu): not implemented");
}

export function softmax(be: CpuBackend, x: Tensor, axis: number, log: boolean): Tensor {
  throw new Error("reduce.softmax (cpu): not implemented");
}

export function sumSquares(be: CpuBackend, x: Tensor): Tensor {
  throw new Error("reduce.sumSquares (cpu): not implemented");
}
