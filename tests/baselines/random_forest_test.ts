import assert from "node:assert/strict";
import { UserError } from "../../cli/errors.ts";
import { fitRegressionTree } from "../../nn/baselines/decision_tree.ts";
import { RANDOM_FOREST_DEFAULTS, randomForest } from "../../nn/baselines/random_forest.ts";
import { type Matrix, matrix } from "../../nn/baselines/regressor.ts";
import type { Backend } from "../../nn/backend.ts";
import { Rng } from "../../nn/random.ts";

// the tree models are plain TypeScript and never touch the engine backend
const backend = null as unknown as Backend;

/** Noiseless smooth target on seeded uniform inputs. */
function smoothData(rows: number, seed: number): { x: Matrix; y: Float64Array } {
  const rng = new Rng(seed);
  const x = matrix(rows, 3, Float64Array.from({ length: rows * 3 }, () => rng.uniform()));
  const y = Float64Array.from(
    { length: rows },
    (_, i) => Math.sin(6 * x.data[i * 3]) + 2 * x.data[i * 3 + 1] ** 2,
  );
  return { x, y };
}

const rmse = (p: Float64Array, y: Float64Array) =>
  Math.sqrt(p.reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / y.length);
const params = { ...RANDOM_FOREST_DEFAULTS, nEstimators: 25 };

Deno.test("rf: scikit-learn defaults", () => {
  assert.deepEqual(randomForest.defaults, {
    nEstimators: 100,
    maxDepth: null,
    minSamplesSplit: 2,
    minSamplesLeaf: 1,
    maxFeatures: 1.0,
    bootstrap: true,
  });
});

Deno.test("rf: same seed → identical predictions, different seed → different", async () => {
  const { x, y } = smoothData(120, 1);
  const test = smoothData(40, 2).x;
  const p = async (seed: number, extra = {}) =>
    (await (await randomForest.fit(x, y, { ...params, ...extra }, { backend, seed })).predict(test, backend))
      .mean;
  assert.deepEqual(await p(7), await p(7));
  assert.notDeepEqual(await p(7), await p(8));
  // feature subsampling alone (no bootstrap) is seeded too
  const sub = { bootstrap: false, maxFeatures: 0.34 };
  assert.deepEqual(await p(3, sub), await p(3, sub));
  assert.notDeepEqual(await p(3, sub), await p(4, sub));
});

Deno.test("rf: without bootstrap and feature sampling every tree is the plain fully grown tree", async () => {
  const { x, y } = smoothData(80, 3);
  const test = smoothData(30, 4).x;
  const rf = await randomForest.fit(x, y, { ...params, nEstimators: 3, bootstrap: false }, {
    backend,
    seed: 1,
  });
  const tree = fitRegressionTree(x, y);
  const expected = tree.predict(test);
  const got = (await rf.predict(test, backend)).mean;
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12, `row ${i}: ${v} vs ${expected[i]}`));
});

Deno.test("rf: on noiseless data the forest beats a single shallow tree and a single full tree", async () => {
  const { x, y } = smoothData(300, 5);
  const t = smoothData(200, 6);
  const rf = await randomForest.fit(x, y, params, { backend, seed: 11 });
  const forest = rmse((await rf.predict(t.x, backend)).mean, t.y);
  const shallow = rmse(fitRegressionTree(x, y, { maxDepth: 3 }).predict(t.x), t.y);
  const full = rmse(fitRegressionTree(x, y).predict(t.x), t.y);
  assert.ok(forest < 0.5 * shallow, `forest ${forest} vs depth-3 tree ${shallow}`);
  assert.ok(forest < full, `forest ${forest} vs full tree ${full}`);
});

Deno.test("rf: state() → restore() round trip predicts identically", async () => {
  const { x, y } = smoothData(100, 7);
  const rf = await randomForest.fit(x, y, { ...params, nEstimators: 10, maxDepth: 6 }, { backend, seed: 2 });
  const state = JSON.parse(JSON.stringify({ ...rf.state(), arrays: {} })); // params must survive JSON
  const back = randomForest.restore({ ...state, arrays: rf.state().arrays });
  assert.deepEqual((await back.predict(x, backend)).mean, (await rf.predict(x, backend)).mean);
  assert.throws(
    () => randomForest.restore({ ...rf.state(), params: { ...rf.state().params, nEstimators: 11 } }),
    UserError,
  );
  assert.throws(() => randomForest.restore({ ...rf.state(), kind: "gbt" }), /kind/);
});

Deno.test("rf: bad input is a UserError naming the field or row", async () => {
  const { x, y } = smoothData(10, 8);
  const ctx = { backend, seed: 1 };
  await assert.rejects(randomForest.fit(x, y, { ...params, nEstimators: 0 }, ctx), /nEstimators/);
  const bad = matrix(x.rows, x.cols, x.data.slice());
  bad.data[4 * 3 + 2] = NaN;
  await assert.rejects(randomForest.fit(bad, y, params, ctx), /row 4, column 2/);
  const rf = await randomForest.fit(x, y, { ...params, nEstimators: 2 }, ctx);
  await assert.rejects(rf.predict(matrix(1, 2), backend), /2 columns/);
});
