/**
 * Split-conformal prediction intervals (Vovk et al.; Lei et al. 2018). On a calibration set disjoint from the
 * training rows, scores are the normalised residuals |y − μ| / max(σ, floor) ("normalized", with σ e.g. the
 * MC-dropout std) or the absolute residuals |y − μ| ("absolute"). For miscoverage α, q̂ is the ⌈(n + 1)(1 − α)⌉-th
 * smallest of the n scores; then for a new exchangeable row, P(y ∈ μ ∓ q̂·σ) ≥ 1 − α (marginally over calibration
 * and test draws). When ⌈(n + 1)(1 − α)⌉ > n (too few calibration rows for that α), q̂ = +∞ and the interval is the
 * whole line — stored as `null` in JSON.
 *
 * The reference applies no recalibration at all (vibann-reference.md §4.3); this is our addition.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { checkFinite, checkPair, checkProbability } from "./_check.ts";
import { normalQuantile } from "./normal.ts";

/** Score type: residuals divided by the predictive σ, or plain absolute residuals. */
export type ConformalKind = "normalized" | "absolute";

/** A fitted split-conformal calibration; plain data, JSON-serialisable (∞ in `q` becomes `null` in JSON). */
export interface ConformalModel {
  kind: ConformalKind;
  /** Number of calibration rows. */
  n: number;
  /** Miscoverage levels α (interval level 1 − α), in the order given to {@link fitConformal}. */
  alphas: number[];
  /** q̂ per α (a σ multiplier for "normalized", a half-width for "absolute"); `Infinity` when n is too small. */
  q: number[];
  /** σ floor used in the scores and the intervals (only meaningful for "normalized"). */
  sigmaFloor: number;
}

/** Default σ floor: keeps scores finite when a row's predictive σ is 0. */
export const DEFAULT_SIGMA_FLOOR = 1e-6;

/** Options for {@link fitConformal}. */
export interface ConformalOptions {
  /** Miscoverage levels α, each in (0, 1), distinct (e.g. [0.1] for 90 % intervals). */
  alphas: readonly number[];
  /** σ floor (> 0, default {@link DEFAULT_SIGMA_FLOOR}), in the units of σ. */
  sigmaFloor?: number;
}

/**
 * Rank of q̂ among the sorted scores: ⌈(n + 1)(1 − α)⌉ (1-based). A 1e-9 slack keeps float noise from rounding an
 * exact integer product up (e.g. (9 + 1)·0.9 must give 9, not 10).
 */
export function conformalRank(n: number, alpha: number): number {
  return Math.max(1, Math.ceil((n + 1) * (1 - alpha) - 1e-9));
}

/**
 * The conformal quantile of scores: the {@link conformalRank}-th smallest, or `Infinity` when that rank exceeds n.
 * @throws {RangeError} on empty or non-finite scores or α outside (0, 1)
 * @example
 * ```ts
 * conformalQuantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.2); // 9 (rank ⌈11 · 0.8⌉ = 9)
 * ```
 */
export function conformalQuantile(scores: ArrayLike<number>, alpha: number): number {
  const n = checkFinite("conformalQuantile", "scores", scores);
  checkProbability("conformalQuantile", "alpha", alpha, true);
  const k = conformalRank(n, alpha);
  return k > n ? Infinity : Float64Array.from(scores).sort()[k - 1];
}

function checkSigma(fn: string, sigma: ArrayLike<number>): void {
  for (let i = 0; i < sigma.length; i++) {
    if (sigma[i] < 0) throw new RangeError(`${fn}: sigma[${i}] is negative (${sigma[i]})`);
  }
}

/**
 * Fits split-conformal quantiles on calibration rows.
 * @param yCal calibration targets
 * @param muCal point predictions for them (e.g. the MC mean)
 * @param sigmaCal predictive σ per row (≥ 0; floored at `sigmaFloor`) for normalised scores, or `null` for
 *   absolute residuals
 * @throws {RangeError} on empty, non-finite or mismatched input, negative σ, bad α or a non-positive floor
 * @example
 * ```ts
 * const cal = fitConformal(yCal, mean, std, { alphas: [0.1] });
 * await writeFileAtomic(join(modelDir, "conformal.json"), JSON.stringify(cal));
 * ```
 */
export function fitConformal(
  yCal: ArrayLike<number>,
  muCal: ArrayLike<number>,
  sigmaCal: ArrayLike<number> | null,
  { alphas, sigmaFloor = DEFAULT_SIGMA_FLOOR }: ConformalOptions,
): ConformalModel {
  const fn = "fitConformal";
  const n = checkPair(fn, "yCal", yCal, "muCal", muCal);
  if (!(sigmaFloor > 0) || !Number.isFinite(sigmaFloor)) {
    throw new RangeError(`${fn}: sigmaFloor must be a finite number > 0, got ${sigmaFloor}`);
  }
  if (alphas.length === 0) throw new RangeError(`${fn}: alphas is empty (need at least 1 level)`);
  alphas.forEach((a, j) => {
    checkProbability(fn, "alpha", a, true);
    if (alphas.indexOf(a) !== j) throw new RangeError(`${fn}: alpha ${a} is given twice`);
  });
  const scores = new Float64Array(n);
  if (sigmaCal) {
    checkPair(fn, "yCal", yCal, "sigmaCal", sigmaCal);
    checkSigma(fn, sigmaCal);
    for (let i = 0; i < n; i++) scores[i] = Math.abs(yCal[i] - muCal[i]) / Math.max(sigmaCal[i], sigmaFloor);
  } else {
    for (let i = 0; i < n; i++) scores[i] = Math.abs(yCal[i] - muCal[i]);
  }
  scores.sort();
  const q = alphas.map((a) => {
    const k = conformalRank(n, a);
    return k > n ? Infinity : scores[k - 1];
  });
  return { kind: sigmaCal ? "normalized" : "absolute", n, alphas: [...alphas], q, sigmaFloor };
}

function qFor(fn: string, model: ConformalModel, alpha: number): number {
  const j = model.alphas.findIndex((a) => Math.abs(a - alpha) <= 1e-12);
  if (j < 0) {
    throw new RangeError(`${fn}: alpha ${alpha} was not calibrated (available: ${model.alphas.join(", ")})`);
  }
  return model.q[j];
}

/**
 * Conformal interval(s) μ ∓ q̂·max(σ, floor) ("normalized") or μ ∓ q̂ ("absolute", σ ignored, may be null).
 * Infinite q̂ gives (−∞, +∞).
 * @param alpha one of `model.alphas`
 * @throws {RangeError} when α was not calibrated, σ is missing for a normalised model, or inputs are bad
 */
export function conformalInterval(
  model: ConformalModel,
  mu: number,
  sigma: number | null,
  alpha: number,
): { lo: number; hi: number };
export function conformalInterval(
  model: ConformalModel,
  mu: ArrayLike<number>,
  sigma: ArrayLike<number> | null,
  alpha: number,
): { lo: Float64Array; hi: Float64Array };
export function conformalInterval(
  model: ConformalModel,
  mu: number | ArrayLike<number>,
  sigma: number | ArrayLike<number> | null,
  alpha: number,
): { lo: number | Float64Array; hi: number | Float64Array } {
  const fn = "conformalInterval";
  const q = qFor(fn, model, alpha);
  const scalar = typeof mu === "number";
  const m: ArrayLike<number> = scalar ? [mu] : mu;
  const s: ArrayLike<number> | null = sigma === null ? null : typeof sigma === "number" ? [sigma] : sigma;
  const n = checkFinite(fn, "mu", m);
  if (model.kind === "normalized") {
    if (!s) throw new RangeError(`${fn}: a normalized conformal model needs sigma`);
    checkPair(fn, "mu", m, "sigma", s);
    checkSigma(fn, s);
  }
  const lo = new Float64Array(n), hi = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const half = model.kind === "normalized" ? q * Math.max(s![i], model.sigmaFloor) : q;
    lo[i] = m[i] - half;
    hi[i] = m[i] + half;
  }
  return scalar ? { lo: lo[0], hi: hi[0] } : { lo, hi };
}

/**
 * The factor by which to multiply the predictive σ so that the Gaussian interval μ ∓ Φ⁻¹(1 − α/2)·σ·factor equals
 * the conformal interval: q̂_α / Φ⁻¹(1 − α/2). For α = 0.1 this is q̂ / 1.6449 ("calibrated σ" = σ·factor).
 * `Infinity` when q̂ is infinite.
 * @throws {RangeError} for an "absolute" model (no σ to scale) or an α that was not calibrated
 */
export function conformalSigmaScale(model: ConformalModel, alpha = 0.1): number {
  const fn = "conformalSigmaScale";
  if (model.kind !== "normalized") throw new RangeError(`${fn}: needs a normalized conformal model`);
  return qFor(fn, model, alpha) / normalQuantile(1 - alpha / 2);
}

/**
 * Validates a parsed JSON conformal model (e.g. from a model directory) and restores `null` quantiles to ∞.
 * @param where names the source in error messages (e.g. "model/conformal.json")
 * @throws {UserError} naming `where` and the bad field
 */
export function conformalModelFromJSON(json: unknown, where: string): ConformalModel {
  const bad = (what: string): never => {
    throw new UserError(`${where}: conformal model: ${what}`);
  };
  if (typeof json !== "object" || json === null) return bad("not a JSON object");
  const o = json as Record<string, unknown>;
  if (o.kind !== "normalized" && o.kind !== "absolute") bad(`kind must be "normalized" or "absolute"`);
  if (!Number.isInteger(o.n) || (o.n as number) < 1) bad("n must be a positive integer");
  if (!Array.isArray(o.alphas) || o.alphas.length === 0) bad("alphas must be a non-empty array");
  if (!Array.isArray(o.q) || o.q.length !== (o.alphas as unknown[]).length) {
    bad("q must be an array as long as alphas");
  }
  const alphas = (o.alphas as unknown[]).map((a, j) =>
    typeof a === "number" && a > 0 && a < 1 ? a : bad(`alphas[${j}] must be a number in (0, 1)`)
  );
  alphas.forEach((a, j) => alphas.indexOf(a) !== j && bad(`alpha ${a} is given twice`));
  const q = (o.q as unknown[]).map((v, j) =>
    v === null ? Infinity : typeof v === "number" && v >= 0 && Number.isFinite(v) ? v : bad(
      `q[${j}] must be a finite number ≥ 0 or null`,
    )
  );
  const sigmaFloor = o.sigmaFloor ?? DEFAULT_SIGMA_FLOOR;
  if (typeof sigmaFloor !== "number" || !(sigmaFloor > 0) || !Number.isFinite(sigmaFloor)) {
    bad("sigmaFloor must be a finite number > 0");
  }
  return { kind: o.kind as ConformalKind, n: o.n as number, alphas, q, sigmaFloor: sigmaFloor as number };
}
