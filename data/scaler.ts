/**
 * Standardisation `(x − mean) / scale` per column, with the population standard deviation (ddof 0, as NumPy's
 * `np.std` and scikit-learn's `StandardScaler`). Fit on training rows only; a constant column gets scale 1 (as
 * scikit-learn). Serialisable to and from JSON so a trained model carries its scalers.
 * @module
 */
import { UserError } from "../cli/errors.ts";

/** The JSON form of a {@link StandardScaler}. */
export interface StandardScalerJson {
  kind: "standard";
  mean: number[];
  scale: number[];
}

/** A fitted per-column standardiser for row-major data with `mean.length` columns. */
export class StandardScaler {
  /** Column means. */
  readonly mean: Float64Array;
  /** Column scales (population std, or 1 for constant columns, plus any epsilon). */
  readonly scale: Float64Array;

  /** Creates a scaler from known means and scales (every scale must be finite and > 0). */
  constructor(mean: ArrayLike<number>, scale: ArrayLike<number>) {
    if (mean.length !== scale.length || mean.length === 0) {
      throw new UserError(
        `scaler: mean and scale must be non-empty and equally long (${mean.length}, ${scale.length})`,
      );
    }
    for (let j = 0; j < mean.length; j++) {
      if (!Number.isFinite(mean[j]) || !(scale[j] > 0) || !Number.isFinite(scale[j])) {
        throw new UserError(
          `scaler: column ${j} has mean ${mean[j]} and scale ${scale[j]} (need finite, scale > 0)`,
        );
      }
    }
    this.mean = Float64Array.from(mean);
    this.scale = Float64Array.from(scale);
  }

  /**
   * Fits on `rows` of `x` (row-major, `nCols` columns).
   * @param rows training row indices (default: all rows)
   * @param epsilon added to every standard deviation (the reference's target scaler uses 1e-8); default 0
   * @throws {UserError} when there are no rows or a value is not finite
   * @example
   * ```ts
   * const s = StandardScaler.fit(ds.properties.HV, 1, split.train);
   * const y = s.transform(ds.properties.HV);
   * ```
   */
  static fit(x: ArrayLike<number>, nCols: number, rows?: ArrayLike<number>, epsilon = 0): StandardScaler {
    if (!Number.isInteger(nCols) || nCols < 1 || x.length % nCols !== 0) {
      throw new UserError(`scaler: ${x.length} values do not form rows of ${nCols} column(s)`);
    }
    const n = x.length / nCols;
    const idx = rows ? Array.from(rows) : Array.from({ length: n }, (_, i) => i);
    if (idx.length === 0) throw new UserError("scaler: cannot fit on 0 rows");
    const mean = new Float64Array(nCols), scale = new Float64Array(nCols);
    for (const i of idx) {
      if (!Number.isInteger(i) || i < 0 || i >= n) {
        throw new UserError(`scaler: row ${i} is out of range 0..${n - 1}`);
      }
      for (let j = 0; j < nCols; j++) {
        const v = x[i * nCols + j];
        if (!Number.isFinite(v)) {
          throw new UserError(`scaler: row ${i}, column ${j} is not a finite number (${v})`);
        }
        mean[j] += v;
      }
    }
    for (let j = 0; j < nCols; j++) mean[j] /= idx.length;
    for (const i of idx) for (let j = 0; j < nCols; j++) scale[j] += (x[i * nCols + j] - mean[j]) ** 2;
    for (let j = 0; j < nCols; j++) {
      const sd = Math.sqrt(scale[j] / idx.length);
      scale[j] = (sd > 0 ? sd : 1) + epsilon;
    }
    return new StandardScaler(mean, scale);
  }

  /** Number of columns. */
  get nCols(): number {
    return this.mean.length;
  }

  #check(x: ArrayLike<number>) {
    if (x.length % this.nCols !== 0) {
      throw new UserError(`scaler: ${x.length} values do not form rows of ${this.nCols} column(s)`);
    }
  }

  /** `(x − mean) / scale`, a new array. */
  transform(x: ArrayLike<number>): Float64Array {
    this.#check(x);
    const d = this.nCols, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (x[i] - this.mean[i % d]) / this.scale[i % d];
    return out;
  }

  /** `z · scale + mean`, a new array (the inverse of {@link StandardScaler.transform}). */
  inverseTransform(z: ArrayLike<number>): Float64Array {
    this.#check(z);
    const d = this.nCols, out = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) out[i] = z[i] * this.scale[i % d] + this.mean[i % d];
    return out;
  }

  /** The JSON form (plain numbers; round-trips exactly). */
  toJSON(): StandardScalerJson {
    return { kind: "standard", mean: Array.from(this.mean), scale: Array.from(this.scale) };
  }

  /**
   * Rebuilds a scaler from its JSON form.
   * @param where names the source in error messages (e.g. a file and field)
   * @throws {UserError} when the object is not a valid scaler
   */
  static fromJSON(obj: unknown, where = "scaler"): StandardScaler {
    const o = obj as StandardScalerJson;
    if (
      typeof o !== "object" || o === null || o.kind !== "standard" || !Array.isArray(o.mean) ||
      !Array.isArray(o.scale)
    ) {
      throw new UserError(
        `${where}: not a standard scaler (expected {"kind": "standard", "mean": [...], "scale": [...]})`,
      );
    }
    try {
      return new StandardScaler(o.mean, o.scale);
    } catch (e) {
      throw new UserError(`${where}: ${(e as Error).message}`);
    }
  }
}
