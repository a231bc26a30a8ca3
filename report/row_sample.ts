/**
 * Seeded row subsamples of the report (which rows IG, SHAP and t-SNE explain): drawn from the counter-based
 * generator, so the same seed picks the same rows.
 * @module
 */
import { Rng } from "../nn/random.ts";

/**
 * `k` distinct indices of 0..n−1 in ascending order (all of them when k ≥ n), drawn with seed `seed` on stream
 * `stream` (one stream per use, so the samples of different sections are independent).
 */
export function sampleRows(n: number, k: number, seed: number, stream: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (k >= n) return all;
  return new Rng(seed, stream).shuffle(all).slice(0, Math.max(0, k)).sort((a, b) => a - b);
}
