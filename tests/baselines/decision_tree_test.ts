import assert from "node:assert/strict";
import { UserError } from "../../cli/errors.ts";
import {
  fitRegressionTree,
  growTree,
  prepareColumns,
  type RegressionTree,
  resolveMaxFeatures,
  treesFromArrays,
  treesToArrays,
} from "../../nn/baselines/decision_tree.ts";
import { type Matrix, matrix } from "../../nn/baselines/regressor.ts";
import { Rng } from "../../nn/random.ts";

const col = (...v: number[]): Matrix => matrix(v.length, 1, Float64Array.from(v));

/** Seeded uniform rows × cols matrix and a nonlinear target. */
function randomData(rows: number, cols: number, seed: number): { x: Matrix; y: Float64Array } {
  const rng = new Rng(seed);
  const x = matrix(rows, cols, Float64Array.from({ length: rows * cols }, () => rng.uniform()));
  const y = Float64Array.from(
    { length: rows },
    (_, i) => Math.sin(6 * x.data[i * cols]) + x.data[i * cols + 1] ** 2,
  );
  return { x, y };
}

/** The leaf each training row lands in. */
function leafOf(tree: RegressionTree, x: Matrix, row: number): number {
  let n = 0;
  while (tree.feature[n] >= 0) {
    n = x.data[row * x.cols + tree.feature[n]] <= tree.threshold[n] ? tree.left[n] : tree.right[n];
  }
  return n;
}

Deno.test("tree: a 1-D step is recovered exactly with the midpoint threshold", () => {
  const tree = fitRegressionTree(col(0, 1, 2, 3, 4, 5), Float64Array.from([1, 1, 1, 5, 5, 5]));
  assert.equal(tree.nodeCount, 3); // root + two pure leaves, nothing more
  assert.equal(tree.feature[0], 0);
  assert.equal(tree.threshold[0], 2.5);
  assert.deepEqual([...tree.value], [3, 1, 5]); // pre-order: root (mean), left, right
  assert.deepEqual([...tree.predict(col(-10, 2, 2.5, 2.5000001, 3, 99))], [1, 1, 1, 5, 5, 5]);
});

Deno.test("tree: leaf values are the hand-computed weighted means; weight-0 rows take no part", () => {
  // x 0..3, y 1 3 10 20, w 1 3 2 2. Gains HL·HR/H·(mL − mR)²: after x=0: 7/8·(1 − 69/7)² = 68.6;
  // after x=1: 2·(2.5 − 15)² = 312.5; after x=2: 12/8·(5 − 20)² = 337.5 → threshold 2.5, leaves 30/6 = 5 and 20.
  const x = col(0, 1, 2, 3, 4), y = Float64Array.from([1, 3, 10, 20, 1e6]);
  const w = Float64Array.from([1, 3, 2, 2, 0]);
  const tree = fitRegressionTree(x, y, { sampleWeight: w, maxDepth: 1 });
  assert.equal(tree.threshold[0], 2.5);
  assert.deepEqual([...tree.value], [70 / 8, 5, 20]);
  // the same without weights picks the same split (after x=2: 3/4·(14/3 − 20)² = 176.3 > 169) with plain means
  const plain = fitRegressionTree(x, y, { sampleWeight: Float64Array.from([1, 1, 1, 1, 0]), maxDepth: 1 });
  assert.deepEqual([...plain.value], [34 / 4, 14 / 3, 20]);
});

Deno.test("tree: fully grown on distinct inputs reproduces the training targets", () => {
  const { x, y } = randomData(60, 3, 1);
  const tree = fitRegressionTree(x, y);
  assert.deepEqual([...tree.predict(x)], [...y]);
  assert.equal(tree.leafCount, 60);
});

Deno.test("tree: maxDepth, minSamplesLeaf and minSamplesSplit are respected", () => {
  const { x, y } = randomData(200, 4, 2);
  for (const maxDepth of [1, 2, 3, 5]) {
    const t = fitRegressionTree(x, y, { maxDepth });
    assert.equal(t.depth, maxDepth); // reaches the limit (200 noisy rows) but never passes it
    assert.ok(t.leafCount <= 2 ** maxDepth);
  }
  for (const minSamplesLeaf of [1, 7, 30]) {
    const t = fitRegressionTree(x, y, { minSamplesLeaf });
    const counts = new Map<number, number>();
    for (let i = 0; i < x.rows; i++) counts.set(leafOf(t, x, i), (counts.get(leafOf(t, x, i)) ?? 0) + 1);
    assert.equal(counts.size, t.leafCount);
    const smallest = Math.min(...counts.values());
    assert.ok(smallest >= minSamplesLeaf, `leaf with ${smallest} rows < ${minSamplesLeaf}`);
    if (minSamplesLeaf === 7) assert.ok(smallest < 14, "the limit should bind somewhere");
  }
  // minSamplesSplit 50: every internal node holds ≥ 50 rows, so no leaf sibling pair holds < 50 together
  const t = fitRegressionTree(x, y, { minSamplesSplit: 50 });
  const rowsAt = new Int32Array(t.nodeCount);
  for (let i = 0; i < x.rows; i++) {
    let n = 0;
    rowsAt[0]++;
    while (t.feature[n] >= 0) {
      n = x.data[i * x.cols + t.feature[n]] <= t.threshold[n] ? t.left[n] : t.right[n];
      rowsAt[n]++;
    }
  }
  for (let n = 0; n < t.nodeCount; n++) if (t.feature[n] >= 0) assert.ok(rowsAt[n] >= 50);
});

Deno.test("tree: second order leaf −G/(H+λ) and the γ threshold on the gain", () => {
  const cols = prepareColumns(col(0, 1, 2, 3, 4, 5));
  const y = [1, 1, 1, 5, 5, 5];
  const grad = Float64Array.from(y, (v) => -v), hess = new Float64Array(6).fill(1);
  const base = {
    maxDepth: null,
    minSamplesSplit: 2,
    minSamplesLeaf: 1,
    minChildWeight: 0,
    maxFeatures: null,
  };
  // λ = 2: leaves −G/(H+λ) = 3/5 and 15/5; root 18/8. Gain 3²/5 + 15²/5 − 18²/8 = 1.8 + 45 − 40.5 = 6.3.
  const t = growTree(cols, { grad, hess }, { ...base, lambda: 2, gamma: 0 });
  assert.deepEqual([...t.value], [18 / 8, 3 / 5, 3]);
  assert.equal(growTree(cols, { grad, hess }, { ...base, lambda: 2, gamma: 6.2 }).nodeCount, 3);
  assert.equal(growTree(cols, { grad, hess }, { ...base, lambda: 2, gamma: 6.4 }).nodeCount, 1);
  // λ = 0: gain 3·3/6·(1 − 5)² = 24
  assert.equal(growTree(cols, { grad, hess }, { ...base, lambda: 0, gamma: 23.9 }).nodeCount, 3);
  assert.equal(growTree(cols, { grad, hess }, { ...base, lambda: 0, gamma: 24.1 }).nodeCount, 1);
  // min_child_weight 3.5 forbids the 3 | 3 split, and every other split too
  assert.equal(
    growTree(cols, { grad, hess }, { ...base, lambda: 0, gamma: 0, minChildWeight: 3.5 }).nodeCount,
    1,
  );
});

Deno.test("tree: maxFeatures resolution and a seeded per-split feature subsample", () => {
  assert.deepEqual(
    [resolveMaxFeatures(null, 57), resolveMaxFeatures(1, 57), resolveMaxFeatures(0.5, 57)],
    [57, 57, 28],
  );
  assert.deepEqual([
    resolveMaxFeatures("sqrt", 57),
    resolveMaxFeatures("log2", 57),
    resolveMaxFeatures(3, 57),
  ], [7, 5, 3]);
  // only features 0 and 1 carry signal; with one feature per split (0.17 · 6 → 1; note 1 would mean all) the root must sometimes use noise features
  const { x, y } = randomData(100, 6, 3);
  const roots = new Set<number>();
  for (let s = 0; s < 12; s++) {
    roots.add(fitRegressionTree(x, y, { maxFeatures: 0.17, maxDepth: 1, rng: new Rng(s) }).feature[0]);
  }
  assert.ok(roots.size > 2, `root features ${[...roots]}`);
  const a = fitRegressionTree(x, y, { maxFeatures: 2, rng: new Rng(5) });
  const b = fitRegressionTree(x, y, { maxFeatures: 2, rng: new Rng(5) });
  assert.deepEqual(a, b);
});

Deno.test("tree: bad options are one-line UserErrors naming the field", () => {
  const x = col(0, 1), y = Float64Array.from([0, 1]);
  assert.throws(
    () => fitRegressionTree(x, y, { maxDepth: 0 }),
    (e: Error) => e instanceof UserError && /maxDepth/.test(e.message),
  );
  assert.throws(() => fitRegressionTree(x, y, { minSamplesLeaf: 0 }), /minSamplesLeaf/);
  assert.throws(() => fitRegressionTree(x, y, { maxFeatures: 1.5 }), /maxFeatures/);
});

Deno.test("tree: packed arrays round trip and reject a child that points backwards", () => {
  const { x, y } = randomData(50, 3, 4);
  const trees = [fitRegressionTree(x, y, { maxDepth: 3 }), fitRegressionTree(x, y, { minSamplesLeaf: 5 })];
  const arrays = treesToArrays(trees);
  const back = treesFromArrays(arrays, 3, "test");
  assert.deepEqual(back.map((t) => [...t.predict(x)]), trees.map((t) => [...t.predict(x)]));
  const left = arrays.node_left.data.slice() as Int32Array;
  left[0] = 0; // root's left child = root: a cycle
  assert.throws(
    () =>
      treesFromArrays(
        { ...arrays, node_left: { dtype: "I32", shape: [left.length], data: left } },
        3,
        "test",
      ),
    UserError,
  );
  assert.throws(() => treesFromArrays(arrays, 1, "test"), /node_feature/); // feature 1 ≥ nFeatures 1
});
