/**
 * A {@link BatchFn} over the features [composition (E)…, raw load] of an {@link ExplainableModel}: host rows in,
 * HV out, deterministic, evaluated on the device in chunks (no gradients recorded), one read per chunk.
 * @module
 */
import { noGrad } from "../nn/autodiff.ts";
import { scope } from "../nn/scope.ts";
import { slice } from "../nn/ops.ts";
import type { ExplainableModel } from "./explainable_model.ts";
import type { BatchFn } from "./kernel_shap.ts";
import { readFloat64 } from "./read_values.ts";

/** Options of {@link hardnessBatchFn}. */
export interface HardnessBatchOptions {
  /** Largest number of rows in one forward (default 8192). */
  chunkRows?: number;
  /** Called as each chunk's predictions arrive: rows done so far, rows of the call. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The model as a batch function for Kernel SHAP: m rows × (E + 1) values → m HV predictions (float64 copies of
 * the device values).
 */
export function hardnessBatchFn(em: ExplainableModel, o: HardnessBatchOptions = {}): BatchFn {
  const E = em.elementCount, D = E + 1, be = em.backend;
  const chunk = Math.max(1, o.chunkRows ?? 8192);
  return async (rows: Float64Array, m: number) => {
    if (rows.length !== m * D) throw new RangeError(`hardnessBatchFn: ${rows.length} values ≠ ${m} × ${D}`);
    const out = new Float64Array(m);
    const reads: Promise<void>[] = [];
    let done = 0;
    for (let r0 = 0; r0 < m; r0 += chunk) {
      const c = Math.min(chunk, m - r0);
      const y = scope(() =>
        noGrad(() => {
          const x = be.fromData(rows.subarray(r0 * D, (r0 + c) * D), [c, D]);
          return em.hardness(slice(x, [0, 0], [c, E]), slice(x, [0, E], [c, 1]));
        })
      );
      reads.push(
        readFloat64(y).then((v) => {
          y.dispose();
          for (let i = 0; i < c; i++) out[r0 + i] = v[i];
          o.onProgress?.(done += c, m);
        }),
      );
      be.flush();
    }
    await Promise.all(reads);
    return out;
  };
}
