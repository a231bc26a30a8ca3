/**
 * Applicability domain of a model in descriptor space (a k = 1 nearest-neighbour domain): a candidate is inside the
 * domain when its distance to the nearest training row, in descriptors standardised by the training rows' own
 * mean and standard deviation, is no larger than the `quantile` (default 0.95) of the training rows' own
 * leave-one-out nearest-neighbour distances. So about 5 % of the training rows themselves would sit just outside,
 * and a candidate far from every alloy the model has seen (a dilute binary when the training set holds
 * equiatomic quaternaries) is flagged, however confident the classifier is.
 *
 * Host-side float64: it serves the few candidates a screening keeps, not the whole enumeration.
 * @module
 */

/** The verdict on one candidate. */
export interface DomainVerdict {
  /** Standardised Euclidean distance to the nearest training row. */
  distance: number;
  /** Index (into the rows given to {@link DescriptorDomain.fit}) of that nearest row; −1 for non-finite input. */
  nearest: number;
  /** distance ≤ the domain's threshold. */
  inDomain: boolean;
}

/** A nearest-neighbour applicability domain over descriptor rows. */
export class DescriptorDomain {
  /** Descriptors per row. */
  readonly features: number;
  /** Number of training rows. */
  readonly rows: number;
  /** Distance threshold: the `quantile` of the training rows' leave-one-out nearest-neighbour distances. */
  readonly threshold: number;
  /** The quantile the threshold was taken at. */
  readonly quantile: number;
  readonly #z: Float64Array;
  readonly #mean: Float64Array;
  readonly #scale: Float64Array;

  private constructor(
    z: Float64Array,
    mean: Float64Array,
    scale: Float64Array,
    rows: number,
    threshold: number,
    quantile: number,
  ) {
    this.#z = z, this.#mean = mean, this.#scale = scale;
    this.features = mean.length, this.rows = rows, this.threshold = threshold, this.quantile = quantile;
  }

  /**
   * Fits the domain on `n` training rows of `f` descriptors (row-major `x`). A descriptor that is constant over
   * the rows is left unscaled (only its offset is removed).
   * @throws {RangeError} with fewer than 2 rows, a bad shape, a non-finite value or a quantile outside (0, 1]
   */
  static fit(x: ArrayLike<number>, f: number, o: { quantile?: number } = {}): DescriptorDomain {
    const q = o.quantile ?? 0.95;
    if (!(q > 0 && q <= 1)) throw new RangeError(`DescriptorDomain: quantile ${q} is not in (0, 1]`);
    if (!(Number.isInteger(f) && f >= 1) || x.length % f !== 0) {
      throw new RangeError(`DescriptorDomain: ${x.length} values are not rows of ${f} descriptors`);
    }
    const n = x.length / f;
    if (n < 2) throw new RangeError(`DescriptorDomain: needs at least 2 training rows, got ${n}`);
    const mean = new Float64Array(f), scale = new Float64Array(f);
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) {
        throw new RangeError(
          `DescriptorDomain: training row ${Math.floor(i / f)} has a non-finite descriptor`,
        );
      }
      mean[i % f] += x[i] / n;
    }
    for (let i = 0; i < x.length; i++) scale[i % f] += (x[i] - mean[i % f]) ** 2 / n;
    for (let j = 0; j < f; j++) scale[j] = Math.sqrt(scale[j]) > 1e-12 ? 1 / Math.sqrt(scale[j]) : 1;
    const z = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) z[i] = (x[i] - mean[i % f]) * scale[i % f];
    const loo = new Float64Array(n);
    for (let r = 0; r < n; r++) loo[r] = nearestOf(z, f, z.subarray(r * f, (r + 1) * f), r).distance;
    loo.sort();
    // The smallest distance d with at least ⌈q·n⌉ rows at or below it.
    const threshold = loo[Math.max(0, Math.ceil(q * n) - 1)];
    return new DescriptorDomain(z, mean, scale, n, threshold, q);
  }

  /**
   * Judges one candidate's descriptors (length {@link features}, raw, unstandardised).
   * @throws {RangeError} on a wrong length
   */
  assess(descriptors: ArrayLike<number>): DomainVerdict {
    const f = this.features;
    if (descriptors.length !== f) {
      throw new RangeError(`DescriptorDomain: expected ${f} descriptors, got ${descriptors.length}`);
    }
    const q = new Float64Array(f);
    for (let j = 0; j < f; j++) q[j] = (descriptors[j] - this.#mean[j]) * this.#scale[j];
    const { distance, nearest } = nearestOf(this.#z, f, q, -1);
    // A non-finite descriptor is never inside.
    return { distance, nearest, inDomain: distance <= this.threshold };
  }
}

/** The nearest row of `z` (rows of `f`) to `q`, skipping row `skip`; ties go to the lower index. */
function nearestOf(z: Float64Array, f: number, q: ArrayLike<number>, skip: number) {
  let best = Infinity, nearest = -1;
  for (let r = 0, n = z.length / f; r < n; r++) {
    if (r === skip) continue;
    let d = 0;
    for (let j = 0, o = r * f; j < f && d < best; j++) d += (z[o + j] - q[j]) ** 2;
    if (d < best) best = d, nearest = r;
  }
  return { distance: nearest < 0 ? Infinity : Math.sqrt(best), nearest };
}
