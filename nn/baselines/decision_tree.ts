/**
 * A regression tree grown from per-row gradients and hessians (second order, XGBoost-style), with exact splits
 * over sorted feature values. One grower serves both tree ensembles:
 * - random forest: g = −y·w, h = w, λ = 0 → the split gain is scikit-learn's weighted variance reduction and a leaf
 *   value is the weighted mean of its rows (w = bootstrap counts × sample weights);
 * - boosting: g and h of the loss at the current prediction → leaf value −G/(H+λ).
 *
 * Split rule: among the candidate features, the split maximising
 * `gain = G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)` (XGBoost's `loss_chg`, twice the paper's ½[…]) is taken when
 * `gain > γ` (pre-pruning; XGBoost prunes the grown tree bottom-up instead). Thresholds are midpoints between
 * consecutive distinct values and `x ≤ threshold` goes left, as in scikit-learn. A node whose Newton targets −g/h
 * are all equal (a pure node) is a leaf.
 *
 * Speed: each feature is sorted once per fit ({@link prepareColumns}); a tree keeps, per feature, its rows in sorted
 * order and stably partitions those index lists at every split, so nothing is re-sorted per node
 * (O(features × rows × depth) per tree).
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { Rng } from "../random.ts";
import type { Matrix, StateArray } from "./regressor.ts";

/**
 * How many features a split considers: a fraction in (0, 1] (1 = all; scikit-learn's float), an integer count
 * > 1 (scikit-learn's int), "sqrt", "log2", or null (all).
 */
export type MaxFeatures = number | "sqrt" | "log2" | null;

/** Tree growth limits and regularisation. */
export interface TreeGrowOptions {
  /** Deepest level (root = 0); null = unlimited. */
  maxDepth: number | null;
  /** A node with fewer rows than this is a leaf (rows with a zero sample mask do not count). */
  minSamplesSplit: number;
  /** Each child keeps at least this many rows. */
  minSamplesLeaf: number;
  /** Each child keeps at least this hessian sum (XGBoost's min_child_weight; 0 for scikit-learn behaviour). */
  minChildWeight: number;
  /** L2 penalty on leaf values (XGBoost's lambda; 0 for scikit-learn behaviour). */
  lambda: number;
  /** Minimum split gain (XGBoost's gamma / min_split_loss). */
  gamma: number;
  /** Features drawn (without replacement) per split; see {@link MaxFeatures}. */
  maxFeatures: MaxFeatures;
}

/** scikit-learn DecisionTreeRegressor's defaults in our terms (unlimited depth, no regularisation). */
export const TREE_DEFAULTS: TreeGrowOptions = {
  maxDepth: null,
  minSamplesSplit: 2,
  minSamplesLeaf: 1,
  minChildWeight: 0,
  lambda: 0,
  gamma: 0,
  maxFeatures: null,
};

/** A matrix prepared for growing many trees: column-major values and each column's row order (sorted once). */
export interface PreparedColumns {
  rows: number;
  cols: number;
  /** `values[f * rows + i]` = x[i, f]. */
  values: Float64Array;
  /** `sorted[f * rows + k]` = the row with the k-th smallest value of feature f (ties by row index). */
  sorted: Int32Array;
}

/** Transposes `x` and sorts every column once; pass the result to {@link growTree} for every tree of a fit. */
export function prepareColumns(x: Matrix): PreparedColumns {
  const { rows, cols } = x;
  const values = new Float64Array(rows * cols);
  const sorted = new Int32Array(rows * cols);
  const idx = Array.from({ length: rows }, (_, i) => i);
  for (let f = 0; f < cols; f++) {
    const col = values.subarray(f * rows, (f + 1) * rows);
    for (let i = 0; i < rows; i++) col[i] = x.data[i * cols + f];
    idx.sort((a, b) => col[a] - col[b] || a - b);
    sorted.set(idx, f * rows);
  }
  return { rows, cols, values, sorted };
}

/** Resolves {@link MaxFeatures} to a count in [1, nFeatures] as scikit-learn does (`max(1, int(frac · n))`). */
export function resolveMaxFeatures(maxFeatures: MaxFeatures, nFeatures: number): number {
  if (maxFeatures === null) return nFeatures;
  if (maxFeatures === "sqrt") return Math.max(1, Math.floor(Math.sqrt(nFeatures)));
  if (maxFeatures === "log2") return Math.max(1, Math.floor(Math.log2(nFeatures)));
  if (maxFeatures <= 1) return Math.max(1, Math.floor(maxFeatures * nFeatures));
  return Math.min(nFeatures, maxFeatures);
}

/**
 * Checks tree options, naming the bad field.
 * @param where prefix for messages, e.g. "rf"
 * @throws {UserError}
 */
export function checkTreeOptions(o: TreeGrowOptions, where: string): void {
  const bad = (field: string, want: string, got: unknown) =>
    new UserError(`${where}: ${field} must be ${want} (got ${JSON.stringify(got)})`);
  if (o.maxDepth !== null && !(Number.isInteger(o.maxDepth) && o.maxDepth >= 1)) {
    throw bad("maxDepth", "an integer ≥ 1 or null", o.maxDepth);
  }
  if (!(Number.isInteger(o.minSamplesSplit) && o.minSamplesSplit >= 2)) {
    throw bad("minSamplesSplit", "an integer ≥ 2", o.minSamplesSplit);
  }
  if (!(Number.isInteger(o.minSamplesLeaf) && o.minSamplesLeaf >= 1)) {
    throw bad("minSamplesLeaf", "an integer ≥ 1", o.minSamplesLeaf);
  }
  for (const k of ["minChildWeight", "lambda", "gamma"] as const) {
    if (!(typeof o[k] === "number" && Number.isFinite(o[k]) && o[k] >= 0)) {
      throw bad(k, "a finite number ≥ 0", o[k]);
    }
  }
  const mf = o.maxFeatures;
  const mfOk = mf === null || mf === "sqrt" || mf === "log2" ||
    (typeof mf === "number" && ((mf > 0 && mf <= 1) || (Number.isInteger(mf) && mf > 1)));
  if (!mfOk) {
    throw bad("maxFeatures", 'a fraction in (0, 1], an integer count > 1, "sqrt", "log2" or null', mf);
  }
}

/** A fitted tree in flat arrays; node 0 is the root, children always have larger indices than their parent. */
export class RegressionTree {
  /** Split feature per node, −1 for a leaf. */
  readonly feature: Int32Array;
  /** Split threshold (`x ≤ t` goes left); 0 for a leaf. */
  readonly threshold: Float64Array;
  /** Left child index (within this tree), −1 for a leaf. */
  readonly left: Int32Array;
  /** Right child index, −1 for a leaf. */
  readonly right: Int32Array;
  /** Node value −G/(H+λ) (for internal nodes too, as scikit-learn stores it); leaves' values are predictions. */
  readonly value: Float64Array;

  constructor(
    nodes: {
      feature: Int32Array;
      threshold: Float64Array;
      left: Int32Array;
      right: Int32Array;
      value: Float64Array;
    },
  ) {
    this.feature = nodes.feature;
    this.threshold = nodes.threshold;
    this.left = nodes.left;
    this.right = nodes.right;
    this.value = nodes.value;
  }

  /** Number of nodes. */
  get nodeCount(): number {
    return this.feature.length;
  }

  /** Number of leaves. */
  get leafCount(): number {
    let n = 0;
    for (let i = 0; i < this.feature.length; i++) if (this.feature[i] < 0) n++;
    return n;
  }

  /** Depth of the deepest leaf (a lone root has depth 0). */
  get depth(): number {
    const d = new Int32Array(this.nodeCount);
    let max = 0;
    for (let i = 0; i < this.nodeCount; i++) {
      // children come after their parent, so d[i] is final when i is reached
      if (this.feature[i] >= 0) d[this.left[i]] = d[this.right[i]] = d[i] + 1;
      max = Math.max(max, d[i]);
    }
    return max;
  }

  /** The leaf value for row `row` of a row-major array with `cols` columns. */
  predictRow(data: Float64Array, row: number, cols: number): number {
    const base = row * cols;
    let n = 0;
    while (this.feature[n] >= 0) {
      n = data[base + this.feature[n]] <= this.threshold[n] ? this.left[n] : this.right[n];
    }
    return this.value[n];
  }

  /** Adds `scale ×` this tree's prediction for every row of `x` to `out`. */
  addPredictions(x: Matrix, out: Float64Array, scale = 1): void {
    for (let i = 0; i < x.rows; i++) out[i] += scale * this.predictRow(x.data, i, x.cols);
  }

  /** Predictions for every row of `x`. */
  predict(x: Matrix): Float64Array {
    const out = new Float64Array(x.rows);
    this.addPredictions(x, out);
    return out;
  }
}

/** Inputs of {@link growTree} beyond the data. */
export interface GrowTreeInput {
  /** Per-row gradient of the loss (g = −y·w for variance reduction). */
  grad: Float64Array;
  /** Per-row hessian (h = w for variance reduction); must be ≥ 0. */
  hess: Float64Array;
  /** Rows taking part (nonzero); all rows when omitted. */
  mask?: Uint8Array;
  /** Draws the feature subsample of each split; needed only when fewer than all features are considered. */
  rng?: Rng;
}

/**
 * Grows one tree depth-first (nodes numbered in pre-order, left before right).
 * @param cols the training matrix from {@link prepareColumns}
 */
export function growTree(
  cols: PreparedColumns,
  input: GrowTreeInput,
  options: TreeGrowOptions,
): RegressionTree {
  const { rows: n, cols: p, values } = cols;
  const { grad: g, hess: h, mask } = input;
  const lambda = options.lambda, gamma = options.gamma, mcw = options.minChildWeight;
  const msl = options.minSamplesLeaf, mss = options.minSamplesSplit;
  const maxDepth = options.maxDepth ?? Infinity;
  const kFeatures = resolveMaxFeatures(options.maxFeatures, p);
  if (kFeatures < p && !input.rng) throw new Error("growTree: maxFeatures < features needs an rng");

  // Per feature, the participating rows in sorted order; a node owns the slice [start, end) of every feature.
  let m = 0;
  for (let i = 0; i < n; i++) if (!mask || mask[i]) m++;
  const order = new Int32Array(p * m);
  for (let f = 0; f < p; f++) {
    let k = f * m;
    for (let j = f * n; j < (f + 1) * n; j++) {
      const r = cols.sorted[j];
      if (!mask || mask[r]) order[k++] = r;
    }
  }
  const goesLeft = new Uint8Array(n);
  const tmp = new Int32Array(m);
  const perm = Int32Array.from({ length: p }, (_, i) => i);

  const feature: number[] = [], threshold: number[] = [], left: number[] = [], right: number[] = [];
  const value: number[] = [];
  // stack entries: start, end, depth, parent, isLeft
  const stack: [number, number, number, number, boolean][] = m > 0 ? [[0, m, 0, -1, false]] : [];
  if (m === 0) feature.push(-1), threshold.push(0), left.push(-1), right.push(-1), value.push(0);

  while (stack.length) {
    const [start, end, depth, parent, isLeft] = stack.pop()!;
    const id = feature.length;
    if (parent >= 0) (isLeft ? left : right)[parent] = id;
    const count = end - start;
    // sums, and the range of the Newton targets −g/h (a row with h = 0 and g ≠ 0 makes the node impure)
    let G = 0, H = 0, tMin = Infinity, tMax = -Infinity, tAbs = 0, pure = true;
    for (let k = start; k < end; k++) {
      const r = order[k];
      G += g[r];
      H += h[r];
      if (h[r] > 0) {
        const t = -g[r] / h[r];
        if (t < tMin) tMin = t;
        if (t > tMax) tMax = t;
        tAbs = Math.max(tAbs, Math.abs(t));
      } else if (g[r] !== 0) pure = false;
    }
    feature.push(-1), threshold.push(0), left.push(-1), right.push(-1);
    value.push(H + lambda > 0 ? -G / (H + lambda) : 0);

    if (tMax - tMin > 1e-12 * tAbs) pure = false;
    if (pure || depth >= maxDepth || count < mss || count < 2 * msl || H < 2 * mcw) continue;

    const parentScore = H + lambda > 0 ? (G * G) / (H + lambda) : 0;
    let bestGain = -Infinity, bestFeature = -1, bestPos = 0, bestThreshold = 0;
    // Features in random order (partial Fisher–Yates); features constant in this node do not count towards
    // kFeatures, so the search goes on until kFeatures non-constant ones were tried (scikit-learn does the same).
    let tried = 0;
    for (let q = 0; q < p && tried < kFeatures; q++) {
      if (kFeatures < p) {
        const j = q + input.rng!.int(p - q);
        const t = perm[q];
        perm[q] = perm[j];
        perm[j] = t;
      }
      const f = perm[q];
      const off = f * m, col = f * n;
      if (values[col + order[off + start]] === values[col + order[off + end - 1]]) continue;
      tried++;
      let GL = 0, HL = 0;
      for (let k = start; k < end - 1; k++) {
        const r = order[off + k];
        GL += g[r];
        HL += h[r];
        const nL = k - start + 1;
        if (nL < msl) continue;
        if (count - nL < msl) break;
        const xv = values[col + r], xn = values[col + order[off + k + 1]];
        if (xn <= xv) continue;
        const HR = H - HL;
        if (HL < mcw || HR < mcw) continue;
        const GR = G - GL;
        let gain: number;
        if (lambda === 0) {
          // HL·HR/H·(GL/HL − GR/HR)²: equal to the textbook form without its cancellation
          if (!(HL > 0 && HR > 0)) continue;
          const d = GL / HL - GR / HR;
          gain = (HL * HR / H) * d * d;
        } else {
          gain = (GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda) - parentScore;
          if (gain <= 1e-13 * parentScore) continue; // rounding noise, not a split
        }
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestPos = nL;
          let thr = (xv + xn) / 2;
          if (thr === xn) thr = xv; // the midpoint rounded up: keep xn on the right (as scikit-learn)
          bestThreshold = thr;
        }
      }
    }
    if (bestFeature < 0 || !(bestGain > gamma)) continue;

    // Partition every feature's slice stably into [left rows | right rows].
    const mid = start + bestPos;
    const bOff = bestFeature * m;
    for (let k = start; k < end; k++) goesLeft[order[bOff + k]] = k < mid ? 1 : 0;
    for (let f = 0; f < p; f++) {
      if (f === bestFeature) continue;
      const off = f * m;
      let l = off + start, rr = 0;
      for (let k = off + start; k < off + end; k++) {
        const r = order[k];
        if (goesLeft[r]) order[l++] = r;
        else tmp[rr++] = r;
      }
      order.set(tmp.subarray(0, rr), l);
    }
    feature[id] = bestFeature;
    threshold[id] = bestThreshold;
    stack.push([mid, end, depth + 1, id, false], [start, mid, depth + 1, id, true]);
  }
  return new RegressionTree({
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
  });
}

/**
 * Fits a least-squares regression tree (scikit-learn DecisionTreeRegressor semantics): leaf values are weighted
 * means of y. `sampleWeight` may hold bootstrap counts; rows of weight 0 take no part.
 */
export function fitRegressionTree(
  x: Matrix | PreparedColumns,
  y: Float64Array,
  options: Partial<TreeGrowOptions> & { sampleWeight?: Float64Array; rng?: Rng } = {},
): RegressionTree {
  const cols = "data" in x ? prepareColumns(x) : x;
  const opts = { ...TREE_DEFAULTS, ...options, lambda: 0 };
  checkTreeOptions(opts, "tree");
  const w = options.sampleWeight;
  const grad = new Float64Array(cols.rows), hess = new Float64Array(cols.rows);
  const mask = new Uint8Array(cols.rows);
  for (let i = 0; i < cols.rows; i++) {
    const wi = w ? w[i] : 1;
    grad[i] = -y[i] * wi;
    hess[i] = wi;
    mask[i] = wi > 0 ? 1 : 0;
  }
  return growTree(cols, { grad, hess, mask, rng: options.rng }, opts);
}

/**
 * Checks a training matrix and targets: matching sizes, at least one row, finite values.
 * @throws {UserError} naming the row and column
 */
export function checkTrainingData(x: Matrix, y: Float64Array, where: string): void {
  if (x.rows !== y.length) throw new UserError(`${where}: x has ${x.rows} rows but y has ${y.length} values`);
  if (x.rows < 1 || x.cols < 1) throw new UserError(`${where}: no training data (${x.rows}×${x.cols})`);
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i])) {
      throw new UserError(`${where}: x row ${Math.floor(i / x.cols)}, column ${i % x.cols} is ${x.data[i]}`);
    }
  }
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) throw new UserError(`${where}: y row ${i} is ${y[i]}`);
  }
}

/** Checks that `x` has the columns a model was fitted on. */
export function checkPredictColumns(x: Matrix, nFeatures: number, where: string): void {
  if (x.cols !== nFeatures) {
    throw new UserError(`${where}: x has ${x.cols} columns, the model was fitted on ${nFeatures}`);
  }
}

/** Packs trees into the named arrays of a BaselineState (child indices stay local to each tree). */
export function treesToArrays(trees: readonly RegressionTree[]): Record<string, StateArray> {
  const offsets = new Int32Array(trees.length + 1);
  trees.forEach((t, i) => (offsets[i + 1] = offsets[i] + t.nodeCount));
  const total = offsets[trees.length];
  const feature = new Int32Array(total), left = new Int32Array(total), right = new Int32Array(total);
  const threshold = new Float64Array(total), value = new Float64Array(total);
  trees.forEach((t, i) => {
    const o = offsets[i];
    feature.set(t.feature, o), left.set(t.left, o), right.set(t.right, o);
    threshold.set(t.threshold, o), value.set(t.value, o);
  });
  return {
    tree_offsets: { dtype: "I32", shape: [trees.length + 1], data: offsets },
    node_feature: { dtype: "I32", shape: [total], data: feature },
    node_threshold: { dtype: "F64", shape: [total], data: threshold },
    node_left: { dtype: "I32", shape: [total], data: left },
    node_right: { dtype: "I32", shape: [total], data: right },
    node_value: { dtype: "F64", shape: [total], data: value },
  };
}

/**
 * Unpacks and validates {@link treesToArrays} output.
 * @throws {UserError} naming the array and node that is wrong
 */
export function treesFromArrays(
  arrays: Record<string, StateArray>,
  nFeatures: number,
  where: string,
): RegressionTree[] {
  const get = <D extends StateArray["dtype"]>(name: string, dtype: D) => {
    const a = arrays[name];
    if (!a) throw new UserError(`${where}: state array '${name}' is missing`);
    if (a.dtype !== dtype) {
      throw new UserError(`${where}: state array '${name}' must be ${dtype} (got ${a.dtype})`);
    }
    return a.data as D extends "I32" ? Int32Array : Float64Array;
  };
  const offsets = get("tree_offsets", "I32");
  const feature = get("node_feature", "I32"),
    left = get("node_left", "I32"),
    right = get("node_right", "I32");
  const threshold = get("node_threshold", "F64"), value = get("node_value", "F64");
  const total = feature.length;
  for (
    const [name, a] of [["node_threshold", threshold], ["node_left", left], ["node_right", right], [
      "node_value",
      value,
    ]] as const
  ) {
    if (a.length !== total) {
      throw new UserError(`${where}: state array '${name}' has ${a.length} values, not ${total}`);
    }
  }
  if (offsets.length < 1 || offsets[0] !== 0 || offsets[offsets.length - 1] !== total) {
    throw new UserError(`${where}: state array 'tree_offsets' must run from 0 to ${total}`);
  }
  const trees: RegressionTree[] = [];
  for (let t = 0; t + 1 < offsets.length; t++) {
    const a = offsets[t], b = offsets[t + 1];
    if (!(b > a)) throw new UserError(`${where}: state array 'tree_offsets': tree ${t} has no nodes`);
    const size = b - a;
    for (let i = 0; i < size; i++) {
      const f = feature[a + i], l = left[a + i], r = right[a + i];
      const node = `tree ${t} node ${i}`;
      if (!Number.isFinite(value[a + i])) {
        throw new UserError(`${where}: node_value of ${node} is ${value[a + i]}`);
      }
      if (f === -1) continue;
      if (!(f >= 0 && f < nFeatures)) {
        throw new UserError(`${where}: node_feature of ${node} is ${f}, not in [-1, ${nFeatures})`);
      }
      if (!Number.isFinite(threshold[a + i])) {
        throw new UserError(`${where}: node_threshold of ${node} is ${threshold[a + i]}`);
      }
      // children after the parent: prediction always terminates
      if (!(l > i && l < size && r > i && r < size)) {
        throw new UserError(`${where}: children (${l}, ${r}) of ${node} are not in (${i}, ${size})`);
      }
    }
    trees.push(
      new RegressionTree({
        feature: feature.slice(a, b),
        threshold: threshold.slice(a, b),
        left: left.slice(a, b),
        right: right.slice(a, b),
        value: value.slice(a, b),
      }),
    );
  }
  return trees;
}
