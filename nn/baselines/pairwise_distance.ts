/**
 * Distance matrices between the rows of two matrices, computed on the engine (shared by KNN, SVR and the GP):
 * Euclidean (p = 2) as ‖a‖² + ‖b‖² − 2·a·bᵀ clamped at 0, so the work is one matmul; Manhattan (p = 1) as
 * Σ|a − b| over a broadcast [rows, n, d] block. Both run in row chunks so no intermediate exceeds a fixed element
 * budget, and the chunks are joined on the device, so the host reads the result once.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { scope } from "../scope.ts";
import {
  abs,
  add,
  concat,
  matmul,
  mulScalar,
  relu,
  reshape,
  slice,
  sqrt,
  square,
  sub,
  sum,
  tensor,
} from "../ops.ts";
import { type Matrix, matrix } from "./regressor.ts";

/** Minkowski exponent of a distance: 1 = Manhattan, 2 = Euclidean. */
export type MinkowskiP = 1 | 2;

/** Options of {@link distanceTensor} and {@link pairwiseDistances}. */
export interface DistanceOptions {
  /** p = 2 only: return squared distances (what an RBF kernel needs). */
  squared?: boolean;
  /** Largest intermediate, in elements, one row chunk may create (default 2²² = 16 MiB of float32). */
  chunkElements?: number;
}

const DEFAULT_CHUNK_ELEMENTS = 1 << 22;

/** Row counts sent to the engine are rounded up to a multiple of this (see {@link bucketRows}). */
export const ROW_BUCKET = 64;

/**
 * `n` rounded up to a multiple of {@link ROW_BUCKET}. Engine kernels are compiled per shape, so padding row counts
 * lets the folds of a cross-validation (train sizes 538, 539, …) share compiled pipelines instead of compiling anew.
 */
export function bucketRows(n: number): number {
  return Math.ceil(n / ROW_BUCKET) * ROW_BUCKET;
}

/** The row-major `data` (its length a multiple of `cols`) followed by zero rows up to `rows` rows. */
export function padRows(data: ArrayLike<number>, cols: number, rows: number): Float64Array {
  const out = new Float64Array(rows * cols);
  out.set(data);
  return out;
}

/** Rows of `a` per chunk so that the biggest intermediate of one chunk stays within the budget. */
function chunkRows(rows: number, perRow: number, budget: number): number {
  return Math.max(1, Math.min(rows, Math.floor(budget / Math.max(1, perRow))));
}

/**
 * Distances between every row of `a` [m, d] and every row of `b` [n, d], as an engine tensor [m, n] on their backend.
 * Synchronous: intermediates are freed chunk by chunk; the caller owns (and disposes) the result.
 * @example
 * ```ts
 * const d2 = scope(() => distanceTensor(xTest, xTrain, 2, { squared: true }));
 * ```
 */
export function distanceTensor(a: Tensor, b: Tensor, p: MinkowskiP, opts: DistanceOptions = {}): Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[1]) {
    throw new Error(`distanceTensor: expected [m, d] and [n, d], got [${a.shape}] and [${b.shape}]`);
  }
  const [m, d] = a.shape;
  const n = b.shape[0];
  const budget = opts.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  const squared = p === 2 && !!opts.squared;
  const bNorms = p === 2 ? scope(() => reshape(sum(square(b), 1), [1, n])) : null;
  const step = chunkRows(m, p === 2 ? n : n * d, budget);
  const parts: Tensor[] = [];
  for (let r0 = 0; r0 < m; r0 += step) {
    const rows = Math.min(step, m - r0);
    parts.push(scope(() => {
      const ac = rows === m ? a : slice(a, [r0, 0], [rows, d]);
      if (p === 1) {
        const diff = sub(reshape(ac, [rows, 1, d]), reshape(b, [1, n, d]));
        return sum(abs(diff), 2);
      }
      const aNorms = sum(square(ac), 1, true); // [rows, 1]
      const cross = matmul(ac, b, { transB: true }); // [rows, n]
      // Rounding can make the difference slightly negative for (near-)identical rows: clamp at 0.
      const d2 = relu(sub(add(aNorms, bNorms!), mulScalar(cross, 2)));
      return squared ? d2 : sqrt(d2);
    }));
  }
  bNorms?.dispose();
  if (parts.length === 1) return parts[0];
  const out = concat(parts, 0);
  for (const t of parts) t.dispose();
  return out;
}

/** Column means of `b` (what both inputs are shifted by before a p = 2 distance, to limit cancellation). */
function columnMeans(b: Matrix): Float64Array {
  const mu = new Float64Array(b.cols);
  for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) mu[j] += b.data[i * b.cols + j];
  for (let j = 0; j < b.cols; j++) mu[j] /= Math.max(1, b.rows);
  return mu;
}

function shifted(x: Matrix, mu: Float64Array): Float64Array {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) out[i * x.cols + j] = x.data[i * x.cols + j] - mu[j];
  }
  return out;
}

/**
 * Distances between the rows of two host matrices, computed on `backend` with one readback: an [a.rows, b.rows]
 * float64 matrix holding float32-accurate values. For p = 2 both inputs are first shifted by the column means of
 * `b` (distances are translation invariant) so that ‖a‖² + ‖b‖² − 2ab cancels less. Row counts are padded to
 * {@link bucketRows} on the device and trimmed on the host.
 */
export async function pairwiseDistances(
  a: Matrix,
  b: Matrix,
  p: MinkowskiP,
  backend: Backend,
  opts: DistanceOptions = {},
): Promise<Matrix> {
  if (a.cols !== b.cols) throw new Error(`pairwiseDistances: ${a.cols} vs ${b.cols} columns`);
  if (a.rows === 0 || b.rows === 0) return matrix(a.rows, b.rows);
  const mu = p === 2 ? columnMeans(b) : null;
  const ma = bucketRows(a.rows), nb = bucketRows(b.rows);
  const out = scope(() => {
    const ta = tensor(padRows(mu ? shifted(a, mu) : a.data, a.cols, ma), [ma, a.cols], { backend });
    const tb = tensor(padRows(mu ? shifted(b, mu) : b.data, b.cols, nb), [nb, b.cols], { backend });
    return distanceTensor(ta, tb, p, opts);
  });
  const host = await out.read();
  out.dispose();
  const result = matrix(a.rows, b.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) result.data[i * b.rows + j] = host[i * nb + j];
  }
  return result;
}
