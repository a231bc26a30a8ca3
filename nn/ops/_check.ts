/**
 * Input validation shared by the ops: every check runs before any GPU work and names the op and the shapes.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { DType, Tensor } from "../tensor.ts";
import { ShapeError, shapeStr } from "../shape.ts";

/**
 * Checks that every tensor is alive, lives on one backend and has the expected dtype; returns that backend.
 * `null`/undefined entries are skipped.
 */
export function check(
  op: string,
  tensors: readonly (Tensor | null | undefined)[],
  dtype: DType | null = "f32",
): Backend {
  let be: Backend | null = null;
  let first: Tensor | null = null;
  for (const t of tensors) {
    if (!t) continue;
    if (t.disposed) {
      throw new ShapeError(`${op}: use after free: ${t.toString()} was disposed`);
    }
    if (dtype && t.dtype !== dtype) {
      throw new ShapeError(`${op}: expected ${dtype} input, got ${t.dtype}${shapeStr(t.shape)}`);
    }
    if (!be) {
      be = t.backend;
      first = t;
    } else if (t.backend !== be) {
      throw new ShapeError(
        `${op}: tensors on different devices: ${first!.toString()} and ${t.toString()}`,
      );
    }
  }
  if (!be) throw new ShapeError(`${op}: no tensor inputs`);
  return be;
}
