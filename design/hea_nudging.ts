/**
 * Iterative nudging (strategy (c) of the HEA study): move a given alloy toward the single-phase class through the
 * disentangled latent space. Each step encodes the alloy under the label it does not yet have (φ = 1 − target),
 * keeps z, decodes under the target label (the "inverted" φ), trims the softmax to an alloy and re-classifies it;
 * it repeats until q(φ = target|x) exceeds the cutoff, the step budget is spent, or the composition stops changing.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { type HeaDesignModel, trimComposition } from "./hea_design_model.ts";

/** Options of {@link nudgeHea}. */
export interface HeaNudgeOptions {
  /** Stop as soon as the probability of the target class exceeds this (0.5). */
  cutoff?: number;
  /** Maximum number of encode–decode steps (20). */
  maxSteps?: number;
  /** Target class: 1 = single phase (default), 0 = multi-phase. */
  target?: 0 | 1;
  /** Fractions below this are dropped after each decode (0.01). */
  minFraction?: number;
  /** Two compositions closer than this (max |Δ fraction|) count as unchanged (1e-4). */
  tolerance?: number;
}

/** One point of the trajectory. */
export interface HeaNudgeStep {
  step: number;
  fractions: Float64Array;
  /** q(φ = 1|x). */
  pSingle: number;
  /** The latent point the next composition was decoded from (null for the last point). */
  z: number[] | null;
}

/** A nudging run. */
export interface HeaNudgeResult {
  /** Step 0 is the starting alloy. */
  steps: HeaNudgeStep[];
  /** Whether the last composition is past the cutoff. */
  reached: boolean;
  stop: "cutoff" | "max-steps" | "fixed-point";
}

/**
 * Nudges one alloy (E fractions; need not be normalised).
 * @throws {UserError} on a bad cutoff, step budget or composition
 */
export async function nudgeHea(
  model: HeaDesignModel,
  start: ArrayLike<number>,
  o: HeaNudgeOptions = {},
): Promise<HeaNudgeResult> {
  const E = model.elements.length;
  const cutoff = o.cutoff ?? 0.5, maxSteps = o.maxSteps ?? 20, target = o.target ?? 1;
  const tol = o.tolerance ?? 1e-4, minFraction = o.minFraction ?? 0.01;
  if (!(cutoff >= 0 && cutoff < 1)) {
    throw new UserError(`--cutoff: expected a number in [0, 1), got ${cutoff}`);
  }
  if (!(Number.isInteger(maxSteps) && maxSteps >= 0)) {
    throw new UserError(`--max-steps: expected a whole number ≥ 0, got ${maxSteps}`);
  }
  if (start.length !== E) throw new UserError(`nudge: the composition has ${start.length} values, not ${E}`);
  let x: Float64Array = Float64Array.from(start);
  const total = x.reduce((a, b) => a + b, 0);
  if (!(total > 0) || x.some((v) => !(v >= 0))) {
    throw new UserError("nudge: the composition needs amounts ≥ 0, not all 0");
  }
  x = x.map((v) => v / total);
  const score = (p: number) => (target === 1 ? p : 1 - p);
  const steps: HeaNudgeStep[] = [];
  let p = (await model.classify(x, 1))[0];
  for (let step = 0;; step++) {
    const cur: HeaNudgeStep = { step, fractions: x, pSingle: p, z: null };
    steps.push(cur);
    if (score(p) > cutoff) return { steps, reached: true, stop: "cutoff" };
    if (step >= maxSteps) return { steps, reached: false, stop: "max-steps" };
    const z = await model.encode(x, 1, Float64Array.of(1 - target));
    cur.z = Array.from(z);
    const next = trimComposition(await model.decode(z, 1, Float64Array.of(target)), E, minFraction);
    const moved = next.some((v, j) => Math.abs(v - x[j]) > tol);
    if (!moved) return { steps, reached: false, stop: "fixed-point" };
    x = next;
    p = (await model.classify(x, 1))[0];
  }
}
