/**
 * A batch function that always runs the model on blocks of the same number of rows.
 *
 * Why: Kernel SHAP calls the model once per explained row with a different number of distinct coalition rows each
 * time, and on WebGPU every new input shape costs a round of pipeline set-up (measured ≈ 1.4 s per new shape on
 * llvmpipe for the published model, against 0.08 s to evaluate 1500 rows once the shape is known). Padding every
 * call up to whole blocks (repeating its first row) makes every forward the same shape. On the CPU backend the
 * padding would be pure extra work, so the report uses this only on WebGPU.
 * @module
 */
import type { BatchFn } from "../explain/kernel_shap.ts";

/**
 * Wraps `f` (which must itself evaluate in chunks of exactly `block` rows, e.g. `hardnessBatchFn(em, { chunkRows:
 * block })`) so that it is always called with a whole number of blocks: the rows are padded with copies of the first
 * row and the padding's outputs are dropped.
 * @param d features per row
 * @throws {RangeError} for a block below 1 or rows that do not fit m × d
 * @example
 * ```ts
 * const g = fixedShapeBatchFn(hardnessBatchFn(em, { chunkRows: 1024 }), 1024, em.elementCount + 1);
 * ```
 */
export function fixedShapeBatchFn(f: BatchFn, block: number, d: number): BatchFn {
  if (!(Number.isInteger(block) && block >= 1)) throw new RangeError(`fixedShapeBatchFn: block ${block}`);
  return async (rows: Float64Array, m: number) => {
    if (rows.length !== m * d) throw new RangeError(`fixedShapeBatchFn: ${rows.length} values ≠ ${m} × ${d}`);
    if (m === 0) return new Float64Array(0);
    const padded = Math.ceil(m / block) * block;
    if (padded === m) return await f(rows, m);
    const x = new Float64Array(padded * d);
    x.set(rows);
    for (let i = m; i < padded; i++) x.copyWithin(i * d, 0, d);
    const y = await f(x, padded);
    if (y.length !== padded) {
      throw new RangeError(`fixedShapeBatchFn: ${y.length} outputs for ${padded} rows`);
    }
    return y.slice(0, m);
  };
}
