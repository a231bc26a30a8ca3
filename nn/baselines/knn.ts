/**
 * k-nearest-neighbour regression. The test×train distance matrix is computed on the engine
 * ({@link distanceTensor}) and read back once per row chunk; neighbour selection runs on the CPU. Because the engine
 * is float32, the candidates within a rounding bound of the k-th distance are re-ranked by their exact float64
 * distance (ties broken by training index), so the neighbours, the exact-match rule and the weights are those of a
 * float64 brute-force search, on every backend.
 *
 * Defaults are scikit-learn's `KNeighborsRegressor()`: n_neighbors = 5, weights = "uniform", p = 2 (Euclidean).
 * With weights = "distance" each neighbour weighs 1/d, and when some neighbours are at distance 0 they share all the
 * weight equally (scikit-learn's rule). Inputs are used as given (no scaling, as in scikit-learn).
 * @module
 */
import type { Backend } from "../backend.ts";
import { scope } from "../scope.ts";
import { tensor } from "../ops.ts";
import { UserError } from "../../cli/errors.ts";
import type {
  BaselineSpec,
  BaselineState,
  FitContext,
  Matrix,
  Regressor,
  RegressorPrediction,
  StateArray,
} from "./regressor.ts";
import { matrix } from "./regressor.ts";
import { bucketRows, distanceTensor, type MinkowskiP, padRows, ROW_BUCKET } from "./pairwise_distance.ts";
import { checkFinite, checkTrainingData } from "./checks.ts";

/** Hyperparameters of {@link knn} (scikit-learn `KNeighborsRegressor` names, camel-cased). */
export interface KnnParams {
  /** Number of neighbours k (capped at the training-set size, which scikit-learn rejects instead). */
  nNeighbors: number;
  /** "uniform": plain mean of the neighbours' targets; "distance": weights 1/d. */
  weights: "uniform" | "distance";
  /** Minkowski exponent: 1 = Manhattan, 2 = Euclidean. */
  p: MinkowskiP;
}

/** Largest test×train block read back at once, in elements. */
const READ_BLOCK = 1 << 22;
/** Relative float32 rounding bound used to widen the candidate set (generous: d·2⁻²³ for d ≤ ~80). */
const ROUNDING = 1e-5;

function checkParams(p: KnnParams): void {
  if (!Number.isInteger(p.nNeighbors) || p.nNeighbors < 1) {
    throw new UserError(`knn nNeighbors: expected an integer ≥ 1, got ${p.nNeighbors}`);
  }
  if (p.weights !== "uniform" && p.weights !== "distance") {
    throw new UserError(`knn weights: expected 'uniform' or 'distance', got '${p.weights}'`);
  }
  if (p.p !== 1 && p.p !== 2) throw new UserError(`knn p: expected 1 or 2, got ${p.p}`);
}

/** Exact float64 distance (squared for p = 2) between test row `a` and training row `j`. */
function exactDistance(a: Float64Array, train: Matrix, j: number, p: MinkowskiP): number {
  const off = j * train.cols;
  let s = 0;
  for (let c = 0; c < train.cols; c++) {
    const diff = a[c] - train.data[off + c];
    s += p === 2 ? diff * diff : Math.abs(diff);
  }
  return s;
}

/** A fitted KNN regressor: the training rows and targets. */
class KnnModel implements Regressor {
  readonly kind = "knn" as const;
  /** Per training row: ‖x‖² (p = 2) or ‖x‖₁ (p = 1) about the training mean, for the rounding bound. */
  readonly #trainNorm: Float64Array;
  readonly #mean: Float64Array;

  constructor(readonly params: KnnParams, readonly x: Matrix, readonly y: Float64Array) {
    const { rows, cols } = x;
    this.#mean = new Float64Array(cols);
    if (params.p === 2) {
      for (let i = 0; i < rows; i++) {
        for (let c = 0; c < cols; c++) this.#mean[c] += x.data[i * cols + c] / rows;
      }
    }
    this.#trainNorm = new Float64Array(rows);
    for (let i = 0; i < rows; i++) this.#trainNorm[i] = this.#norm(x.data.subarray(i * cols, (i + 1) * cols));
  }

  /** Norm about the training mean (p = 2 distances are computed on mean-shifted data, see pairwiseDistances). */
  #norm(row: ArrayLike<number>): number {
    let s = 0;
    for (let c = 0; c < row.length; c++) {
      const v = row[c] - this.#mean[c];
      s += this.params.p === 2 ? v * v : Math.abs(v);
    }
    return s;
  }

  async predict(x: Matrix, backend: Backend): Promise<RegressorPrediction> {
    if (x.cols !== this.x.cols) {
      throw new UserError(`knn: inputs have ${x.cols} columns, the model was fitted on ${this.x.cols}`);
    }
    checkFinite("knn", x);
    const { p } = this.params;
    const n = this.x.rows, d = x.cols;
    const k = Math.min(this.params.nNeighbors, n);
    const mean = new Float64Array(x.rows);
    const maxTrainNorm = this.#trainNorm.reduce((a, b) => Math.max(a, b), 0);
    const shift = (data: Float64Array) => {
      const out = new Float64Array(data.length);
      for (let i = 0; i < out.length; i++) out[i] = data[i] - this.#mean[i % d];
      return out;
    };
    // Row counts are padded to shape buckets (zero rows, ignored below) so folds share compiled kernels.
    const nPad = bucketRows(n);
    const train = tensor(padRows(shift(this.x.data), d, nPad), [nPad, d], { backend });
    try {
      const blockRows = Math.max(ROW_BUCKET, Math.floor(READ_BLOCK / nPad / ROW_BUCKET) * ROW_BUCKET);
      for (let r0 = 0; r0 < x.rows; r0 += blockRows) {
        const rows = Math.min(blockRows, x.rows - r0), rowsPad = bucketRows(rows);
        const test = padRows(shift(x.data.subarray(r0 * d, (r0 + rows) * d)), d, rowsPad);
        const dist = scope(() =>
          distanceTensor(tensor(test, [rowsPad, d], { backend }), train, p, { squared: true })
        );
        const host = await dist.read();
        dist.dispose();
        for (let i = 0; i < rows; i++) {
          const a = x.data.subarray((r0 + i) * d, (r0 + i + 1) * d);
          const row = host.subarray(i * nPad, i * nPad + n);
          mean[r0 + i] = this.#predictRow(a, row, k, ROUNDING * (this.#norm(a) + maxTrainNorm) + 1e-30);
        }
      }
    } finally {
      train.dispose();
    }
    return { mean };
  }

  /** Prediction for one test row from its engine distances (squared for p = 2). */
  #predictRow(a: Float64Array, approx: ArrayLike<number>, k: number, slack: number): number {
    const n = approx.length;
    // k-th smallest engine distance (partial insertion sort of the k best values).
    const best: number[] = [];
    for (let j = 0; j < n; j++) {
      const v = approx[j];
      if (best.length < k || v < best[k - 1]) {
        let pos = best.length < k ? best.length : k - 1;
        while (pos > 0 && best[pos - 1] > v) {
          best[pos] = best[pos - 1];
          pos--;
        }
        best[pos] = v;
      }
    }
    const limit = best[k - 1] + 2 * slack;
    const cand: { j: number; dist: number }[] = [];
    for (let j = 0; j < n; j++) {
      if (approx[j] <= limit) cand.push({ j, dist: exactDistance(a, this.x, j, this.params.p) });
    }
    cand.sort((u, v) => u.dist - v.dist || u.j - v.j);
    const nbrs = cand.slice(0, k);
    if (this.params.weights === "uniform") return nbrs.reduce((s, c) => s + this.y[c.j], 0) / k;
    const exact = nbrs.filter((c) => c.dist === 0);
    if (exact.length) return exact.reduce((s, c) => s + this.y[c.j], 0) / exact.length;
    let sw = 0, swy = 0;
    for (const c of nbrs) {
      const w = 1 / (this.params.p === 2 ? Math.sqrt(c.dist) : c.dist);
      sw += w;
      swy += w * this.y[c.j];
    }
    return swy / sw;
  }

  state(): BaselineState {
    return {
      kind: "knn",
      params: { ...this.params },
      arrays: {
        x: { dtype: "F64", shape: [this.x.rows, this.x.cols], data: Float64Array.from(this.x.data) },
        y: { dtype: "F64", shape: [this.y.length], data: Float64Array.from(this.y) },
      },
    };
  }
}

function f64Array(state: BaselineState, name: string, rank: number): StateArray & { dtype: "F64" } {
  const a = state.arrays[name];
  if (
    !a || a.dtype !== "F64" || a.shape.length !== rank ||
    a.data.length !== a.shape.reduce((p, q) => p * q, 1) ||
    a.data.some((v) => !Number.isFinite(v))
  ) {
    throw new UserError(`${state.kind} state: array '${name}' must be a finite ${rank}-D F64 array`);
  }
  return a as StateArray & { dtype: "F64" };
}

/** K-nearest-neighbour regression (scikit-learn defaults: n_neighbors 5, weights uniform, p 2). */
export const knn: BaselineSpec<KnnParams> = {
  kind: "knn",
  name: "k-nearest neighbours",
  defaults: { nNeighbors: 5, weights: "uniform", p: 2 },
  fit(x: Matrix, y: Float64Array, params: KnnParams, _ctx: FitContext): Promise<Regressor> {
    checkParams(params);
    checkTrainingData("knn", x, y);
    const p = { nNeighbors: params.nNeighbors, weights: params.weights, p: params.p };
    return Promise.resolve(
      new KnnModel(p, matrix(x.rows, x.cols, Float64Array.from(x.data)), Float64Array.from(y)),
    );
  },
  restore(state: BaselineState): Regressor {
    if (state.kind !== "knn") throw new UserError(`knn state: kind is '${state.kind}'`);
    const params = state.params as unknown as KnnParams;
    checkParams(params);
    const xs = f64Array(state, "x", 2), ys = f64Array(state, "y", 1);
    if (xs.shape[0] !== ys.shape[0] || xs.shape[0] < 1) {
      throw new UserError(`knn state: arrays 'x' (${xs.shape[0]} rows) and 'y' (${ys.shape[0]}) disagree`);
    }
    const p = { nNeighbors: params.nNeighbors, weights: params.weights, p: params.p };
    return new KnnModel(
      p,
      matrix(xs.shape[0], xs.shape[1], Float64Array.from(xs.data)),
      Float64Array.from(ys.data),
    );
  },
};
