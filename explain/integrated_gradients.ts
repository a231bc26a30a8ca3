/**
 * Integrated gradients (Sundararajan et al. 2017): the attribution of feature i for input x against a baseline x₀ is
 *
 *   IG_i = (x_i − x₀_i) · ∫₀¹ ∂f/∂x_i (x₀ + α (x − x₀)) dα,
 *
 * and the attributions sum to f(x) − f(x₀) (completeness) up to the quadrature error. The integral is evaluated on
 * `steps` intervals, every point of the path of every explained input as ONE batched forward and ONE backward
 * (the rows are independent in inference, so ∂Σf/∂X gives each row's gradient):
 * - `"trapezoid"` (default, as the original): α_k = k/steps, k = 0..steps; mean of ½(g_{k−1} + g_k). The α = 0 and
 *   α = 1 rows also give f(x₀) and f(x) in the same pass.
 * - `"midpoint"`: α_k = (k + ½)/steps, k = 0..steps−1, plus the two end points for f(x₀), f(x).
 * The completeness gap Σ IG − (f(x) − f(x₀)) is returned, so a caller can see the quadrature (and float32) error —
 * and a jump of f on the path, which no quadrature integrates (an attention model without the fraction bias jumps
 * where a fraction reaches 0, and any attention model where its token slots truncate an alloy's elements).
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { getBackend } from "../nn/device.ts";
import { gradients } from "../nn/autodiff.ts";
import { scope } from "../nn/scope.ts";
import { slice, sum } from "../nn/ops.ts";
import type { VibannBase } from "../nn/models/vibann.ts";
import type { MemberScalers } from "../nn/models/vibann_predict.ts";
import { type ExplainableModel, vibannExplainable } from "./explainable_model.ts";
import { readFloat64 } from "./read_values.ts";

/** A differentiable model of the explained features: X [N, D] → f [N]. */
export type AttributionFn = (x: Tensor) => Tensor;

/** Quadrature of the path integral. */
export type IgRule = "trapezoid" | "midpoint";

/** Options of {@link integratedGradients}. */
export interface IntegratedGradientsOptions {
  /** Intervals of the path (default 200, as the original). */
  steps?: number;
  /** Quadrature (default "trapezoid"). */
  rule?: IgRule;
  /** Backend of the input tensor (default: the current device). */
  be?: Backend;
  /** Largest number of path rows in one forward/backward (default 65 536); more inputs are split by input. */
  chunkRows?: number;
}

/** Attributions of one input. */
export interface IntegratedGradientsResult {
  /** IG_i per feature (D). */
  attributions: Float64Array;
  /** f(x). */
  fx: number;
  /** f(x₀). */
  fBaseline: number;
  /** Σ IG_i − (f(x) − f(x₀)): the quadrature (and rounding) error; 0 for an exact integral. */
  completenessGap: number;
  steps: number;
  rule: IgRule;
}

/** α values of the path points of one input, and the rows of f(x₀) and f(x) among them. */
function pathAlphas(steps: number, rule: IgRule): { alphas: Float64Array; base: number; end: number } {
  if (rule === "trapezoid") {
    return { alphas: Float64Array.from({ length: steps + 1 }, (_, k) => k / steps), base: 0, end: steps };
  }
  const a = new Float64Array(steps + 2);
  for (let k = 0; k < steps; k++) a[k] = (k + 0.5) / steps;
  a[steps] = 0;
  a[steps + 1] = 1;
  return { alphas: a, base: steps, end: steps + 1 };
}

/**
 * Integrated gradients of several inputs against one baseline, all path points in one batched forward/backward
 * (split into chunks of whole inputs only when the rows exceed `chunkRows`).
 * @param f differentiable X [N, D] → [N] (e.g. {@link vibannAttributionFn})
 * @param xs the inputs, each D values
 * @param baseline x₀ (D values)
 * @throws {RangeError} on mismatched lengths, steps < 1, or an f that does not return [N]
 */
export async function integratedGradientsMany(
  f: AttributionFn,
  xs: readonly ArrayLike<number>[],
  baseline: ArrayLike<number>,
  o: IntegratedGradientsOptions = {},
): Promise<IntegratedGradientsResult[]> {
  const steps = o.steps ?? 200, rule = o.rule ?? "trapezoid", be = o.be ?? getBackend();
  const D = baseline.length;
  if (!(Number.isInteger(steps) && steps >= 1)) {
    throw new RangeError(`integratedGradients: steps ${steps} < 1`);
  }
  if (rule !== "trapezoid" && rule !== "midpoint") {
    throw new RangeError(`integratedGradients: rule '${rule}'`);
  }
  for (const x of xs) {
    if (x.length !== D) {
      throw new RangeError(`integratedGradients: input has ${x.length} values, baseline ${D}`);
    }
  }
  const { alphas, base, end } = pathAlphas(steps, rule);
  const P = alphas.length;
  const perChunk = Math.max(1, Math.floor((o.chunkRows ?? 65536) / P));
  const out: IntegratedGradientsResult[] = [];
  for (let c0 = 0; c0 < xs.length; c0 += perChunk) {
    const chunk = xs.slice(c0, c0 + perChunk);
    const rows = chunk.length * P;
    const path = new Float64Array(rows * D);
    chunk.forEach((x, q) => {
      for (let k = 0; k < P; k++) {
        const a = alphas[k], off = (q * P + k) * D;
        for (let i = 0; i < D; i++) path[off + i] = baseline[i] + a * (x[i] - baseline[i]);
      }
    });
    const [y, g] = scope(() => {
      const X = be.fromData(path, [rows, D]);
      X.requiresGrad = true;
      const fy = f(X);
      if (fy.rank !== 1 || fy.shape[0] !== rows) {
        throw new RangeError(`integratedGradients: f returned [${fy.shape.join(", ")}], expected [${rows}]`);
      }
      const [gx] = gradients(sum(fy), [X]);
      return [fy, gx ?? be.fill([rows, D], 0)];
    });
    const [yv, gv] = await Promise.all([readFloat64(y), readFloat64(g)]);
    y.dispose(), g.dispose();
    chunk.forEach((x, q) => {
      const avg = new Float64Array(D);
      const row = (k: number) => (q * P + k) * D;
      if (rule === "trapezoid") {
        for (let k = 1; k <= steps; k++) {
          const r0 = row(k - 1), r1 = row(k);
          for (let i = 0; i < D; i++) avg[i] += 0.5 * (gv[r0 + i] + gv[r1 + i]);
        }
      } else {
        for (let k = 0; k < steps; k++) for (let i = 0; i < D; i++) avg[i] += gv[row(k) + i];
      }
      const attributions = new Float64Array(D);
      let total = 0;
      for (let i = 0; i < D; i++) {
        attributions[i] = (x[i] - baseline[i]) * avg[i] / steps;
        total += attributions[i];
      }
      const fx = yv[q * P + end], fBaseline = yv[q * P + base];
      out.push({ attributions, fx, fBaseline, completenessGap: total - (fx - fBaseline), steps, rule });
    });
  }
  return out;
}

/**
 * Integrated gradients of one input x against a baseline x₀ (see the module docs): `steps + 1` (trapezoid) or
 * `steps + 2` (midpoint) path points in one batched forward and one backward.
 * @example
 * ```ts
 * const f = vibannAttributionFn(model, memberScalers(config));
 * const ig = await integratedGradients(f, [...comp, load], [...meanComp, meanLoad], { steps: 200, be });
 * ```
 */
export async function integratedGradients(
  f: AttributionFn,
  x: ArrayLike<number>,
  baseline: ArrayLike<number>,
  o: IntegratedGradientsOptions = {},
): Promise<IntegratedGradientsResult> {
  return (await integratedGradientsMany(f, [x], baseline, o))[0];
}

/**
 * The attribution function of a hardness model over the features [composition (E)…, raw load]: X [N, E + 1] →
 * HV [N], deterministic (no dropout, z = μ), differentiable through engine ops. Attributions are w.r.t. the raw
 * composition input (before the model's simplex projection, as the original) and the raw load in N (IG is
 * invariant to the affine load standardisation).
 */
export function attributionFn(em: ExplainableModel): AttributionFn {
  const E = em.elementCount;
  return (x: Tensor) => {
    if (x.rank !== 2 || x.shape[1] !== E + 1) {
      throw new RangeError(`attributionFn: expected [N, ${E + 1}] (composition + load), got [${x.shape}]`);
    }
    const n = x.shape[0];
    return em.hardness(slice(x, [0, 0], [n, E]), slice(x, [0, E], [n, 1]));
  };
}

/** {@link attributionFn} of a VIBANN model with its per-member scalers (member average in HV). */
export function vibannAttributionFn(model: VibannBase, scalers: readonly MemberScalers[]): AttributionFn {
  return attributionFn(vibannExplainable(model, scalers));
}

/**
 * Mean training composition: the average of the rows (n × E) after projecting each onto the simplex (rows that
 * sum to 0 are skipped) — the default IG baseline, as the original (mean train_fit composition).
 * @throws {RangeError} when no row has a positive sum
 */
export function meanTrainingComposition(comp: ArrayLike<number>, n: number, E: number): Float64Array {
  if (comp.length !== n * E) {
    throw new RangeError(`meanTrainingComposition: ${comp.length} values ≠ ${n} × ${E}`);
  }
  const out = new Float64Array(E);
  let used = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < E; j++) s += Math.max(0, comp[r * E + j]);
    if (!(s > 0)) continue;
    used++;
    for (let j = 0; j < E; j++) out[j] += Math.max(0, comp[r * E + j]) / s;
  }
  if (used === 0) throw new RangeError("meanTrainingComposition: no row with a positive sum");
  for (let j = 0; j < E; j++) out[j] /= used;
  return out;
}

/** The full IG baseline [mean training composition…, mean raw training load] (E + 1 values). */
export function meanTrainingInput(
  comp: ArrayLike<number>,
  loads: ArrayLike<number>,
  E: number,
): Float64Array {
  const n = loads.length;
  const out = new Float64Array(E + 1);
  out.set(meanTrainingComposition(comp, n, E));
  let s = 0;
  for (let i = 0; i < n; i++) s += loads[i];
  out[E] = s / n;
  return out;
}
