/**
 * SHAP per latent cluster, as the original intended (reference §5 step 8, which crashed): the explained rows are
 * clustered in the model's latent space and the per-row Kernel SHAP values are summarised per cluster (mean |φ|,
 * mean φ, mean prediction, mean feature values). The clustering is seeded k-means (`data/kmeans.ts`) on the
 * standardised latents (the original used a 3-component GMM for this step and k-means with K = 3 on standardised
 * latents for its cluster maps; one clustering for both keeps the report consistent).
 * @module
 */
import { kmeans } from "../data/kmeans.ts";
import { type BatchFn, type ShapDataset, type ShapDatasetOptions, shapOverDataset } from "./kernel_shap.ts";
import { standardizeColumns } from "./standardize.ts";

/** The SHAP summary of one cluster (all zeros when it has no rows). */
export interface ShapCluster {
  cluster: number;
  /** Row indices (into the explained rows) of the cluster, ascending. */
  rows: number[];
  /** Mean |φ_j| over the cluster's rows (d). */
  meanAbs: Float64Array;
  /** Mean φ_j (d). */
  mean: Float64Array;
  /** Mean prediction f(x) of the rows. */
  meanFx: number;
  /** Mean feature values of the rows (d), when the features were given. */
  meanFeatures?: Float64Array;
}

/** Per-cluster SHAP summaries. */
export interface ShapByCluster {
  k: number;
  /** Cluster of each explained row. */
  labels: Int32Array;
  clusters: ShapCluster[];
  /** The per-row values behind the summaries. */
  shap: ShapDataset;
}

/**
 * Groups per-row SHAP values by cluster labels (0..k−1).
 * @param x the explained rows (n × d), for the per-cluster mean feature values
 */
export function groupShapByCluster(
  shap: ShapDataset,
  labels: ArrayLike<number>,
  k: number,
  x?: ArrayLike<number>,
): ShapByCluster {
  const { n, d } = shap;
  if (labels.length !== n) throw new RangeError(`groupShapByCluster: ${labels.length} labels for ${n} rows`);
  const clusters: ShapCluster[] = Array.from({ length: k }, (_, c) => ({
    cluster: c,
    rows: [],
    meanAbs: new Float64Array(d),
    mean: new Float64Array(d),
    meanFx: 0,
    ...(x ? { meanFeatures: new Float64Array(d) } : {}),
  }));
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!(Number.isInteger(c) && c >= 0 && c < k)) {
      throw new RangeError(`groupShapByCluster: label ${c} of row ${i}`);
    }
    clusters[c].rows.push(i);
  }
  for (const c of clusters) {
    const m = c.rows.length;
    if (m === 0) continue;
    for (const i of c.rows) {
      c.meanFx += shap.fx[i] / m;
      for (let j = 0; j < d; j++) {
        const v = shap.values[i * d + j];
        c.meanAbs[j] += Math.abs(v) / m;
        c.mean[j] += v / m;
        if (x) c.meanFeatures![j] += x[i * d + j] / m;
      }
    }
  }
  return { k, labels: Int32Array.from(labels), clusters, shap };
}

/** Options of {@link shapByCluster}. */
export interface ShapByClusterOptions extends ShapDatasetOptions {
  /** Number of clusters (default 3, as the original). */
  k?: number;
  /** Standardise the latent columns before k-means (default true, as the original). */
  standardize?: boolean;
}

/**
 * Kernel SHAP of every row of `x` (n × d) and its summary per k-means cluster of the rows' latents (n × L).
 * @param f batch model over the d features
 * @param background nb × d reference rows
 * @throws {UserError} from k-means (k outside 1..n, non-finite latents); {RangeError} on mismatched sizes
 */
export async function shapByCluster(
  f: BatchFn,
  x: ArrayLike<number>,
  n: number,
  d: number,
  background: ArrayLike<number>,
  latents: ArrayLike<number>,
  L: number,
  o: ShapByClusterOptions = {},
): Promise<ShapByCluster> {
  if (latents.length !== n * L) {
    throw new RangeError(`shapByCluster: ${latents.length} latent values ≠ ${n} × ${L}`);
  }
  const k = o.k ?? 3;
  const z = o.standardize === false ? Float64Array.from(latents) : standardizeColumns(latents, n, L).data;
  const { labels } = kmeans(z, n, L, { k, seed: o.seed ?? 0 });
  const shap = await shapOverDataset(f, x, n, d, background, o);
  return groupShapByCluster(shap, labels, k, x);
}
