/**
 * Interpretation of the HEA disentangled VAE (besides kernel SHAP of the classifier, explain/kernel_shap.ts):
 * latent maps — every alloy's latent mean μ(x, φ = its label), to be coloured by label, number of elements and
 * dominant element group — and reconstructions (x → μ(x, φ) → decoded composition), with their error in at.%.
 * @module
 */
import type { HeaDesignModel } from "./hea_design_model.ts";
import { trimComposition } from "./hea_design_model.ts";

/** Element groups of the latent maps. */
export const HEA_ELEMENT_GROUPS: Readonly<Record<"magnetic" | "noble" | "refractory", readonly string[]>> =
  Object
    .freeze({
      /** Ferromagnetic 3d metals (and Mn, antiferromagnetic). */
      magnetic: ["Fe", "Co", "Ni", "Mn"],
      /** Noble and platinum-group metals. */
      noble: ["Ru", "Rh", "Pd", "Ag", "Os", "Ir", "Pt", "Au"],
      /** Refractory metals (groups 4–7, high melting point). */
      refractory: ["Ti", "Zr", "Hf", "V", "Nb", "Ta", "Cr", "Mo", "W", "Re"],
    });

/** The group holding the largest total fraction of an alloy ("other" when no group holds ≥ 50 %). */
export function dominantGroup(fractions: ArrayLike<number>, elements: readonly string[]): string {
  let best = "other", bestSum = 0.5 - 1e-12;
  for (const [g, els] of Object.entries(HEA_ELEMENT_GROUPS)) {
    let s = 0;
    elements.forEach((e, j) => els.includes(e) && (s += fractions[j]));
    if (s > bestSum) best = g, bestSum = s;
  }
  return best;
}

/** Number of elements present (fraction > 0). */
export function elementCount(fractions: ArrayLike<number>): number {
  let k = 0;
  for (let j = 0; j < fractions.length; j++) if (fractions[j] > 0) k++;
  return k;
}

/** Latent means μ(x, φ) (n × L) of `n` compositions under their labels (0/1 or probabilities). */
export function latentMap(
  model: HeaDesignModel,
  comp: Float64Array,
  n: number,
  phi: ArrayLike<number>,
): Promise<Float64Array> {
  return model.encode(comp, n, Float64Array.from(phi));
}

/** Reconstructions of `n` compositions (n × E each) and their errors. */
export interface HeaReconstruction {
  /** The decoder's softmax. */
  decoded: Float64Array;
  /** The decoded composition trimmed to an alloy. */
  trimmed: Float64Array;
  /** Per row: mean |x − x̂| over all E elements in at.% (x̂ = the untrimmed decode). */
  maeAllPct: Float64Array;
  /** Per row: mean |x − x̂| over the elements present in x or in the trimmed x̂, in at.% (x̂ = trimmed). */
  maePresentPct: Float64Array;
}

/** Reconstructs compositions: μ(x, φ) decoded under the same φ (one batched encode and decode). */
export async function reconstructHea(
  model: HeaDesignModel,
  comp: Float64Array,
  n: number,
  phi: ArrayLike<number>,
  minFraction = 0.01,
): Promise<HeaReconstruction> {
  const E = model.elements.length;
  const ph = Float64Array.from(phi);
  const z = await model.encode(comp, n, ph);
  const decoded = await model.decode(z, n, ph);
  const trimmed = trimComposition(decoded, E, minFraction);
  const maeAllPct = new Float64Array(n), maePresentPct = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let all = 0, pres = 0, k = 0;
    for (let j = 0; j < E; j++) {
      const x = comp[i * E + j];
      all += Math.abs(x - decoded[i * E + j]);
      const t = trimmed[i * E + j];
      if (x > 0 || t > 0) pres += Math.abs(x - t), k++;
    }
    maeAllPct[i] = (100 * all) / E;
    maePresentPct[i] = k ? (100 * pres) / k : 0;
  }
  return { decoded, trimmed, maeAllPct, maePresentPct };
}
