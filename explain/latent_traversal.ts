/**
 * Latent traversal (the original's §5 step 9): move one latent dimension of an anchor z₀ through a list of values,
 * keep the others fixed, and read the hardness head's HV at a fixed load and the decoder's composition at each
 * step — all steps in one batched forward.
 * @module
 */
import { noGrad } from "../nn/autodiff.ts";
import { scope } from "../nn/scope.ts";
import type { ExplainableModel } from "./explainable_model.ts";
import { readFloat64 } from "./read_values.ts";

/** One step of a traversal. */
export interface TraversalStep {
  /** Value of the traversed dimension. */
  value: number;
  /** Predicted HV at the traversal load. */
  hv: number;
  /** The decoded composition's largest fractions, descending (element symbol, or `#j` when unknown). */
  top: { element: string; fraction: number }[];
  /** The whole decoded composition (E). */
  composition: Float64Array;
}

/** Options of {@link latentTraversal}. */
export interface LatentTraversalOptions {
  /** Decoded elements listed per step (default 3). */
  top?: number;
}

/**
 * Traverses latent dimension `dim` of `z0` through `values` at raw load `load` (N).
 * @throws {RangeError} when z0 does not have L values or dim is not in 0..L−1
 */
export async function latentTraversal(
  em: ExplainableModel,
  z0: ArrayLike<number>,
  dim: number,
  values: ArrayLike<number>,
  load: number,
  o: LatentTraversalOptions = {},
): Promise<TraversalStep[]> {
  const L = em.latentDim, E = em.elementCount, m = values.length, be = em.backend;
  if (z0.length !== L) throw new RangeError(`latentTraversal: z0 has ${z0.length} values, the latent ${L}`);
  if (!(Number.isInteger(dim) && dim >= 0 && dim < L)) {
    throw new RangeError(`latentTraversal: dim ${dim} ∉ 0..${L - 1}`);
  }
  if (m === 0) return [];
  const z = new Float64Array(m * L);
  for (let s = 0; s < m; s++) {
    for (let j = 0; j < L; j++) z[s * L + j] = z0[j];
    z[s * L + dim] = values[s];
  }
  const [hvT, compT] = scope(() =>
    noGrad(() => {
      const zt = be.fromData(z, [m, L]);
      return [em.head(zt, be.fill([m, 1], load)), em.decode(zt)];
    })
  );
  const [hv, comp] = await Promise.all([readFloat64(hvT), readFloat64(compT)]);
  hvT.dispose(), compT.dispose();
  const topN = Math.min(o.top ?? 3, E);
  return Array.from({ length: m }, (_, s) => {
    const c = comp.slice(s * E, (s + 1) * E);
    const order = Array.from({ length: E }, (_, j) => j).sort((a, b) => c[b] - c[a] || a - b);
    return {
      value: values[s],
      hv: hv[s],
      top: order.slice(0, topN).map((j) => ({ element: em.elements[j] ?? `#${j}`, fraction: c[j] })),
      composition: c,
    };
  });
}

/** `steps` evenly spaced values from lo to hi (inclusive), e.g. a dimension's 1 %–99 % quantile range. */
export function linspace(lo: number, hi: number, steps: number): Float64Array {
  if (steps === 1) return Float64Array.of(lo);
  return Float64Array.from({ length: steps }, (_, i) => lo + ((hi - lo) * i) / (steps - 1));
}
