/**
 * The 2-D latent density map (the original's §5 step 7): a Gaussian mixture (design/gaussian_mixture.ts: full
 * covariances, k-means initialisation, 10 restarts, seeded) FITTED ON THE 2-D PCA SCORES of the latents — as the
 * original did (PCA(2) of the training latents, GMM K = 3 on those points) — and its log-density evaluated on a
 * regular grid spanning the scores' range ± a margin (1, as the original). This is the density of the projected
 * points, not a slice of a density in the full latent space: a map a reader can compare with the scatter directly.
 * @module
 */
import { fitGaussianMixture, type GaussianMixtureJson } from "../design/gaussian_mixture.ts";

/** Options of {@link gmmDensityGrid}. */
export interface GmmDensityGridOptions {
  /** Mixture components (default 3, as the original). */
  k?: number;
  /** Grid points per axis (default 100, as the original). */
  gridSize?: number;
  /** Margin added on each side of the data range, in score units (default 1, as the original). */
  margin?: number;
  /** Seed of the mixture fit (default 1). */
  seed?: number;
}

/** A log-density map over the PCA plane. */
export interface GmmDensityGrid {
  /** Grid coordinates along PC1 (gridSize). */
  xs: Float64Array;
  /** Grid coordinates along PC2 (gridSize). */
  ys: Float64Array;
  /** log p at (xs[i], ys[j]) stored at j · gridSize + i (rows follow PC2). */
  logDensity: Float64Array;
  /** The fitted mixture (2-D). */
  mixture: GaussianMixtureJson;
  /** Mean log-likelihood of the fitted points. */
  logLikelihood: number;
}

/**
 * Fits a k-component mixture to 2-D scores (n × 2) and evaluates its log-density on a grid.
 * @throws {UserError} from the mixture fit (too few distinct points for k, non-finite scores)
 */
export function gmmDensityGrid(
  scores: ArrayLike<number>,
  n: number,
  o: GmmDensityGridOptions = {},
): GmmDensityGrid {
  if (scores.length !== n * 2) throw new RangeError(`gmmDensityGrid: ${scores.length} values ≠ ${n} × 2`);
  const G = o.gridSize ?? 100, margin = o.margin ?? 1;
  if (!(Number.isInteger(G) && G >= 2)) throw new RangeError(`gmmDensityGrid: gridSize ${G} < 2`);
  const data = Float64Array.from(scores);
  const fit = fitGaussianMixture({ rows: n, cols: 2, data }, { k: o.k ?? 3, seed: o.seed ?? 1 });
  const range = (c: number) => {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) lo = Math.min(lo, data[2 * i + c]), hi = Math.max(hi, data[2 * i + c]);
    lo -= margin, hi += margin;
    return Float64Array.from({ length: G }, (_, i) => lo + ((hi - lo) * i) / (G - 1));
  };
  const xs = range(0), ys = range(1);
  const grid = new Float64Array(G * G * 2);
  for (let j = 0; j < G; j++) {
    for (let i = 0; i < G; i++) grid[2 * (j * G + i)] = xs[i], grid[2 * (j * G + i) + 1] = ys[j];
  }
  const logDensity = fit.mixture.logDensities({ rows: G * G, cols: 2, data: grid });
  return { xs, ys, logDensity, mixture: fit.mixture.toJSON(), logLikelihood: fit.logLikelihood };
}
