/**
 * Both explanations of one alloy at one load, over the features [composition (E)…, raw load (N)]:
 * integrated gradients against a baseline (every path point in one batched forward and one backward) and Kernel
 * SHAP against a background sample (every coalition × background row in one batched, chunked forward).
 * @module
 */
import type { ExplainableModel } from "./explainable_model.ts";
import {
  attributionFn,
  type IgRule,
  integratedGradients,
  type IntegratedGradientsResult,
} from "./integrated_gradients.ts";
import { kernelShap, type KernelShapResult } from "./kernel_shap.ts";
import { hardnessBatchFn } from "./hardness_batch_fn.ts";

/** Options of {@link explainAlloy}. */
export interface ExplainAlloyOptions {
  /** IG intervals (default 200). */
  steps?: number;
  /** IG quadrature (default "trapezoid"). */
  rule?: IgRule;
  /** SHAP coalition budget (default: Kernel SHAP's 2M + 2048, capped at the 2^M − 2 that exist). */
  samples?: number;
  /** Seed of the SHAP coalition sampling (default 0). */
  seed?: number;
  /** Largest number of rows in one SHAP forward (default 8192). */
  chunkRows?: number;
  /** SHAP progress: model rows evaluated so far, rows in all. */
  onShapProgress?: (done: number, total: number) => void;
}

/** IG and SHAP of one input. */
export interface AlloyExplanation {
  /** Feature names: the element symbols (`#j` where unknown), then `load`. */
  features: string[];
  /** The explained input (E + 1). */
  x: Float64Array;
  /** The IG baseline (E + 1). */
  baseline: Float64Array;
  ig: IntegratedGradientsResult;
  shap: KernelShapResult;
  /** Rows of the SHAP background. */
  backgroundRows: number;
}

/**
 * Integrated gradients and Kernel SHAP of `x` = [composition…, load].
 * @param baseline IG baseline x₀ (E + 1 values), e.g. `meanTrainingInput(...)`
 * @param background SHAP background rows (nb × (E + 1), row-major), e.g. `backgroundSample(...)`
 * @throws {RangeError} on mismatched sizes or non-finite inputs
 * @example
 * ```ts
 * const r = await explainAlloy(em, [...comp, 2.94], meanTrainingInput(train.comp, train.load, E),
 *   backgroundSample(train.comp, train.load, 50, 0));
 * // Σ r.ig.attributions ≈ r.ig.fx − r.ig.fBaseline; Σ r.shap.values = r.shap.fx − r.shap.base
 * ```
 */
export async function explainAlloy(
  em: ExplainableModel,
  x: ArrayLike<number>,
  baseline: ArrayLike<number>,
  background: ArrayLike<number>,
  o: ExplainAlloyOptions = {},
): Promise<AlloyExplanation> {
  const E = em.elementCount, D = E + 1;
  if (x.length !== D) {
    throw new RangeError(`explainAlloy: x has ${x.length} values, expected ${D} (E + load)`);
  }
  if (baseline.length !== D) {
    throw new RangeError(`explainAlloy: baseline has ${baseline.length} values, not ${D}`);
  }
  for (let i = 0; i < D; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(baseline[i])) {
      throw new RangeError(`explainAlloy: feature ${i} is not finite (x ${x[i]}, baseline ${baseline[i]})`);
    }
  }
  const ig = await integratedGradients(attributionFn(em), x, baseline, {
    steps: o.steps ?? 200,
    rule: o.rule,
    be: em.backend,
  });
  const shap = await kernelShap(
    hardnessBatchFn(em, { chunkRows: o.chunkRows, onProgress: o.onShapProgress }),
    x,
    background,
    {
      samples: o.samples,
      seed: o.seed,
    },
  );
  const features = [...Array.from({ length: E }, (_, j) => em.elements[j] ?? `#${j}`), "load"];
  return {
    features,
    x: Float64Array.from(x),
    baseline: Float64Array.from(baseline),
    ig,
    shap,
    backgroundRows: background.length / D,
  };
}
