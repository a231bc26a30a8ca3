/**
 * Family-aware debiasing sample weights (vibann-reference.md §1.3): rows of over-represented element families
 * (B–Fe–Nb is 39 % of the hardness data) count less.
 *
 * Definition, per row i with family key f(i) (sorted present elements):
 *   w_base(i) = factor(f(i)) / sqrt(count(f(i)))        factor = 0.35 for exactly {B, Fe, Nb}, else 1
 *   w(i)      = clip(w_base(i) / mean(w_base), 0.25, 4)
 *
 * Modes:
 * - `"fixed"` (default) — the reference's two defects fixed: family counts and the mean come from the training
 *   rows only (no information from validation/test rows), and after clipping the weights are renormalised to mean 1
 *   over the training rows (so the weighted loss keeps the scale of the unweighted one; after this renormalisation
 *   the clip bounds hold only up to that factor). A family absent from the training rows counts as 1.
 * - `"reference"` — exactly as the reference: counts and mean over all rows, `+ 1e-12` in the divisor, clipped,
 *   not renormalised (on the public data: mean(w_base) = 0.3391, singletons 2.949, B–Fe–Nb 0.25, mean 1.072).
 *   Training rows are ignored.
 * - `"uniform"` — every weight 1 (weighting disabled).
 * @module
 */
import { UserError } from "../cli/errors.ts";

/** Weighting modes; see the module docs. */
export type WeightMode = "fixed" | "reference" | "uniform";

/** Options for {@link familyWeights}. */
export interface FamilyWeightOptions {
  /** Default `"fixed"`. */
  mode?: WeightMode;
  /** Training rows (indices into `families`): counted and averaged over in `"fixed"` mode. Default: all rows. */
  trainRows?: ArrayLike<number>;
  /** Extra factor per family key (default `{"B,Fe,Nb": 0.35}`, the reference's BFeNb_ONLY_FACTOR). */
  factors?: Record<string, number>;
  /** Lower clip bound (default 0.25). */
  min?: number;
  /** Upper clip bound (default 4). */
  max?: number;
}

/** Weights for every row plus the quantities behind them (for summaries and audits). */
export interface FamilyWeights {
  mode: WeightMode;
  /** One weight per row of `families` (test rows included, computed from the training counts). */
  weights: Float64Array;
  /** Family counts used (over the training rows in `"fixed"` mode, all rows in `"reference"` mode). */
  counts: Map<string, number>;
  /** Mean of w_base over the counted rows (NaN-free; 1 in `"uniform"` mode). */
  meanBase: number;
}

/** The reference's default per-family factors. */
export const DEFAULT_FAMILY_FACTORS: Readonly<Record<string, number>> = Object.freeze({ "B,Fe,Nb": 0.35 });

/**
 * Computes family-aware sample weights.
 * @param families one family key per row (see `familyKeys` in `data/composition_table.ts`)
 * @throws {UserError} for an empty training set, an out-of-range training row, or invalid clip bounds
 * @example
 * ```ts
 * const { weights } = familyWeights(ds.families, { trainRows: split.train });
 * ```
 */
export function familyWeights(families: readonly string[], options: FamilyWeightOptions = {}): FamilyWeights {
  const mode = options.mode ?? "fixed";
  const n = families.length;
  if (mode === "uniform") {
    return { mode, weights: new Float64Array(n).fill(1), counts: new Map(), meanBase: 1 };
  }
  if (mode !== "fixed" && mode !== "reference") {
    throw new UserError(`unknown weight mode '${mode}' (expected fixed, reference or uniform)`);
  }
  const lo = options.min ?? 0.25, hi = options.max ?? 4;
  if (!(lo > 0 && hi >= lo)) {
    throw new UserError(`weight clip bounds must satisfy 0 < min ≤ max (got ${lo}, ${hi})`);
  }
  const factors = options.factors ?? DEFAULT_FAMILY_FACTORS;
  let rows: number[];
  if (mode === "fixed" && options.trainRows !== undefined) {
    rows = Array.from(options.trainRows);
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= n) {
        throw new UserError(`training row ${r} is out of range 0..${n - 1}`);
      }
    }
  } else rows = Array.from({ length: n }, (_, i) => i);
  if (rows.length === 0) throw new UserError("cannot compute sample weights: no training rows");

  const counts = new Map<string, number>();
  for (const r of rows) counts.set(families[r], (counts.get(families[r]) ?? 0) + 1);
  const base = new Float64Array(n);
  for (let i = 0; i < n; i++) base[i] = (factors[families[i]] ?? 1) / Math.sqrt(counts.get(families[i]) ?? 1);
  let meanBase = 0;
  for (const r of rows) meanBase += base[r];
  meanBase /= rows.length;

  const weights = new Float64Array(n);
  const div = mode === "reference" ? meanBase + 1e-12 : meanBase;
  for (let i = 0; i < n; i++) weights[i] = Math.min(hi, Math.max(lo, base[i] / div));
  if (mode === "fixed") {
    let m = 0;
    for (const r of rows) m += weights[r];
    m /= rows.length;
    for (let i = 0; i < n; i++) weights[i] /= m;
  }
  return { mode, weights, counts, meanBase };
}
