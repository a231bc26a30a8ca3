/**
 * Generation (strategy (b) of the HEA study): decode latent points z chosen around a point of the 2-D latent
 * space under a chosen single-phase probability φ, trim the decoded softmax to an alloy, and re-check every
 * generated composition with the classifier. A generation whose classifier verdict disagrees with the requested φ
 * (φ ≥ 0.5 but q(φ=1|x) ≤ 0.5, or the reverse) is flagged inconsistent: the decoder and the classifier see the
 * label differently there.
 * @module
 */
import { Rng } from "../nn/random.ts";
import { UserError } from "../cli/errors.ts";
import { type HeaDesignModel, trimComposition } from "./hea_design_model.ts";

/** Options of {@link generateHea}. */
export interface HeaGenerationOptions {
  /** Centre of the latent region (length = latent size; default the origin). */
  center?: readonly number[];
  /** Radius of the region: points are drawn uniformly in the ball (0: the centre only; default 0). */
  radius?: number;
  /** Number of latent points (1). */
  count?: number;
  /** φ given to the decoder: the requested probability of a single phase (1). */
  phi?: number;
  /** Fractions below this are dropped before re-classification (0.01 = 1 at.%). */
  minFraction?: number;
  seed?: number;
}

/** One generated alloy. */
export interface GeneratedHea {
  /** The latent point decoded. */
  z: number[];
  /** The trimmed composition (fractions, sum 1), E values. */
  fractions: Float64Array;
  /** The untrimmed decoder output (softmax), E values. */
  decoded: Float64Array;
  /** q(φ = 1|x) of the trimmed composition. */
  pSingle: number;
  /** Whether the classifier's verdict disagrees with the requested φ. */
  inconsistent: boolean;
}

/** Uniform point in the L-ball of radius `r` (direction from a normal vector, radius ∝ u^{1/L}). */
function ballPoint(rng: Rng, L: number, r: number): number[] {
  const v = Array.from({ length: L }, () => rng.normal());
  const norm = Math.hypot(...v) || 1;
  const rad = r * rng.uniform() ** (1 / L);
  return v.map((x) => (x / norm) * rad);
}

/**
 * Generates `count` alloys (one batched decode and one batched classification).
 * @throws {UserError} on a centre of the wrong length, a negative radius, a count < 1 or φ outside [0, 1]
 */
export async function generateHea(
  model: HeaDesignModel,
  o: HeaGenerationOptions = {},
): Promise<GeneratedHea[]> {
  const L = model.latentDim, E = model.elements.length;
  const center = o.center ?? new Array(L).fill(0);
  if (center.length !== L || !center.every(Number.isFinite)) {
    throw new UserError(`--z: expected ${L} finite numbers (the latent size), got '${center.join(",")}'`);
  }
  const radius = o.radius ?? 0, count = o.count ?? 1, phi = o.phi ?? 1;
  if (!(radius >= 0 && Number.isFinite(radius))) {
    throw new UserError(`--radius: expected a number ≥ 0, got ${radius}`);
  }
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new UserError(`--count: expected a whole number ≥ 1, got ${count}`);
  }
  if (!(phi >= 0 && phi <= 1)) throw new UserError(`--phi: expected a probability in [0, 1], got ${phi}`);
  const rng = new Rng(o.seed ?? 0, 0x6e7);
  const zs = Array.from(
    { length: count },
    (_, i) => i === 0 || radius === 0 ? [...center] : ballPoint(rng, L, radius).map((d, k) => d + center[k]),
  );
  const decoded = await model.decode(Float64Array.from(zs.flat()), count, new Float64Array(count).fill(phi));
  const trimmed = trimComposition(decoded, E, o.minFraction ?? 0.01);
  const p = await model.classify(trimmed, count);
  return zs.map((z, i) => ({
    z,
    fractions: trimmed.slice(i * E, (i + 1) * E),
    decoded: decoded.slice(i * E, (i + 1) * E),
    pSingle: p[i],
    inconsistent: (phi >= 0.5) !== (p[i] > 0.5),
  }));
}
