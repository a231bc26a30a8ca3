/**
 * The baselines' input matrix, built from the same inputs as the VIBANN model: the E element fractions of each row
 * (renormalised to sum 1, as the composition table delivers them to the VIBANN trainer) followed by one column of
 * indentation load standardised with a {@link StandardScaler} fit on the training rows only (population std, as
 * the VIBANN trainer's load scaler and scikit-learn's `StandardScaler`). Column order: fractions in the table's
 * element order, then load (E + 1 columns).
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { StandardScaler } from "../../data/scaler.ts";
import { type Matrix, matrix } from "./regressor.ts";

/** Compositions and loads of some rows (all rows of a dataset, or the rows to predict). */
export interface CompositionLoads {
  /** Atomic fractions, rows × `elements`, row-major. */
  fractions: ArrayLike<number>;
  /** Number of element columns E. */
  elements: number;
  /** Raw indentation load per row (N). */
  load: ArrayLike<number>;
}

/**
 * Fits the load scaler on the training rows only (so no test-row statistics leak into the inputs).
 * @throws {UserError} when there are no rows or a load is not finite
 */
export function fitLoadScaler(load: ArrayLike<number>, trainRows: readonly number[]): StandardScaler {
  return StandardScaler.fit(load, 1, trainRows);
}

/** Number of feature columns for E elements: E fractions + the load. */
export function featureCount(elements: number): number {
  return elements + 1;
}

/**
 * The baseline input matrix of `rows` (default: every row): renormalised fractions, then the scaled load.
 * @throws {UserError} naming the row when its fractions do not sum to a positive finite number
 */
export function featureMatrix(
  src: CompositionLoads,
  loadScaler: StandardScaler,
  rows?: readonly number[],
): Matrix {
  const E = src.elements, n = src.load.length;
  if (src.fractions.length !== n * E) {
    throw new Error(`featureMatrix: ${src.fractions.length} fractions for ${n} rows of ${E} elements`);
  }
  if (loadScaler.nCols !== 1) {
    throw new Error(`featureMatrix: the load scaler has ${loadScaler.nCols} columns`);
  }
  const idx = rows ?? Array.from({ length: n }, (_, i) => i);
  const D = featureCount(E), out = new Float64Array(idx.length * D);
  const mean = loadScaler.mean[0], scale = loadScaler.scale[0];
  idx.forEach((r, i) => {
    let sum = 0;
    for (let j = 0; j < E; j++) sum += src.fractions[r * E + j];
    if (!(sum > 0) || !Number.isFinite(sum)) {
      throw new UserError(`row ${r}: element fractions sum to ${sum}, expected a positive number`);
    }
    for (let j = 0; j < E; j++) out[i * D + j] = src.fractions[r * E + j] / sum;
    out[i * D + E] = (src.load[r] - mean) / scale;
  });
  return matrix(idx.length, D, out);
}
