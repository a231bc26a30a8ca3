/** STUB: matmul kernels (cpu). To be implemented. */
// deno-lint-ignore-file no-unused-vars
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";
import type { AdamParams, LossKind, MatmulOptions, ReduceOp } from "../backend.ts";
import type { Shape } from "../shape.ts";
import type { RngKey } from "../random.ts";

export function matmul(be: CpuBackend, a: Tensor, b: Tensor, opts: MatmulOptions): Tensor {
  throw new Error("matmul.matmul (cpu): not implemented");
}
