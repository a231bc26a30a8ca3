/**
 * Gradient importance of the latent dimensions (the original's §5 step 12): importance_j = mean over rows of
 * |∂HV/∂z_j| through the deterministic hardness head, in HV per latent unit — one batched forward and one
 * backward (rows are independent in inference, so ∂(Σ HV)/∂Z holds every row's gradient).
 * @module
 */
import { gradients } from "../nn/autodiff.ts";
import { scope } from "../nn/scope.ts";
import { sum } from "../nn/ops.ts";
import type { ExplainableModel } from "./explainable_model.ts";
import { readFloat64 } from "./read_values.ts";

/** Importance per latent dimension and the per-row gradients behind it. */
export interface LatentGradientImportance {
  /** Mean |∂HV/∂z_j| (L). */
  importance: Float64Array;
  /** Mean ∂HV/∂z_j (L): the direction in which a dimension raises hardness on average. */
  meanGradient: Float64Array;
  /** n × L gradients. */
  gradients: Float64Array;
}

/**
 * Mean |∂HV/∂z_j| over the latents `Z` (n × L) at raw load(s) `load` (one number, or one per row).
 * @throws {RangeError} on mismatched sizes
 */
export async function latentGradientImportance(
  em: ExplainableModel,
  Z: ArrayLike<number>,
  load: number | ArrayLike<number>,
): Promise<LatentGradientImportance> {
  const L = em.latentDim, be = em.backend;
  const n = Z.length / L;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`latentGradientImportance: ${Z.length} values ≠ n × ${L}`);
  }
  const loads = typeof load === "number" ? new Float64Array(n).fill(load) : Float64Array.from(load);
  if (loads.length !== n) {
    throw new RangeError(`latentGradientImportance: ${loads.length} loads for ${n} rows`);
  }
  const g = scope(() => {
    const z = be.fromData(Z, [n, L]);
    z.requiresGrad = true;
    const [gz] = gradients(sum(em.head(z, be.fromData(loads, [n, 1]))), [z]);
    return gz ?? be.fill([n, L], 0);
  });
  const grads = await readFloat64(g);
  g.dispose();
  const importance = new Float64Array(L), meanGradient = new Float64Array(L);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < L; j++) {
      importance[j] += Math.abs(grads[i * L + j]) / n;
      meanGradient[j] += grads[i * L + j] / n;
    }
  }
  return { importance, meanGradient, gradients: grads };
}
