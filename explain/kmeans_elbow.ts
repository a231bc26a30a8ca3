/**
 * The elbow method for k-means: the inertia (within-cluster sum of squares) for k = 1..kMax with seeded k-means
 * (`data/kmeans.ts`, k-means++ and 10 restarts, as the original's scikit-learn KMeans), and a chosen k = the
 * "knee": the k whose point lies farthest below the straight line from (1, inertia₁) to (kMax, inertia_kMax)
 * after scaling both axes to [0, 1] (the Kneedle criterion for a decreasing convex curve).
 * @module
 */
import { kmeans } from "../data/kmeans.ts";

/** Inertia per k and the chosen elbow. */
export interface KmeansElbow {
  /** k = 1..kMax. */
  k: number[];
  /** Inertia for each k. */
  inertia: number[];
  /** The elbow (1 when kMax < 3: no knee can be told). */
  chosen: number;
  /** Cluster labels of the chosen k (n). */
  labels: Int32Array;
}

/**
 * Runs k-means for k = 1..kMax (capped at n) on the rows of `x` (n × d) and picks the elbow.
 * @throws {UserError} from k-means on non-finite data; {RangeError} on kMax < 1
 */
export function kmeansElbow(x: ArrayLike<number>, n: number, d: number, kMax: number, seed = 0): KmeansElbow {
  if (!(Number.isInteger(kMax) && kMax >= 1)) throw new RangeError(`kmeansElbow: kMax ${kMax} < 1`);
  const data = Float64Array.from(x);
  const K = Math.min(kMax, n);
  const ks: number[] = [], inertia: number[] = [];
  const labels: Int32Array[] = [];
  for (let k = 1; k <= K; k++) {
    const r = kmeans(data, n, d, { k, seed });
    ks.push(k), inertia.push(r.inertia), labels.push(r.labels);
  }
  let chosen = 1;
  const top = inertia[0], bottom = inertia[K - 1];
  if (K >= 3 && top > bottom) {
    let best = -Infinity;
    for (let i = 0; i < K; i++) {
      const xn = i / (K - 1), yn = (inertia[i] - bottom) / (top - bottom);
      const below = (1 - xn) - yn; // the line from (0, 1) to (1, 0) minus the curve
      if (below > best + 1e-12) best = below, chosen = ks[i];
    }
  }
  return { k: ks, inertia, chosen, labels: labels[chosen - 1] };
}
