import assert from "node:assert/strict";
import { UserError } from "../../cli/errors.ts";
import {
  BoostedTrees,
  fitBoostedTrees,
  GRADIENT_BOOSTING_DEFAULTS,
  gradientBoosting,
} from "../../nn/baselines/gradient_boosting.ts";
import { type Matrix, matrix } from "../../nn/baselines/regressor.ts";
import type { Backend } from "../../nn/backend.ts";
import { Rng } from "../../nn/random.ts";

// the tree models are plain TypeScript and never touch the engine backend
const backend = null as unknown as Backend;
const col = (...v: number[]): Matrix => matrix(v.length, 1, Float64Array.from(v));
const f64 = (...v: number[]) => Float64Array.from(v);

function near(actual: ArrayLike<number>, expected: number[], tol = 1e-12): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function noisyData(rows: number, seed: number): { x: Matrix; y: Float64Array } {
  const rng = new Rng(seed);
  const x = matrix(rows, 3, Float64Array.from({ length: rows * 3 }, () => rng.uniform()));
  const y = Float64Array.from(
    { length: rows },
    (_, i) => 3 * x.data[i * 3] + Math.sin(5 * x.data[i * 3 + 1]) + rng.normal(),
  );
  return { x, y };
}

Deno.test("gbt: scikit-learn GradientBoostingRegressor defaults", () => {
  assert.deepEqual(gradientBoosting.defaults, {
    nEstimators: 100,
    learningRate: 0.1,
    maxDepth: 3,
    subsample: 1.0,
    minSamplesSplit: 2,
    minSamplesLeaf: 1,
    maxFeatures: null,
    lambda: 0,
    gamma: 0,
    minChildWeight: 0,
  });
});

Deno.test("gbt: first two rounds equal the hand computation (mean init + lr · mean residual per leaf)", async () => {
  const x = col(0, 1, 2, 3), y = f64(1, 2, 10, 11);
  const fit = (nEstimators: number, extra = {}) =>
    gradientBoosting.fit(x, y, { ...GRADIENT_BOOSTING_DEFAULTS, nEstimators, maxDepth: 1, ...extra }, {
      backend,
      seed: 0,
    });
  // init 6; residuals −5 −4 4 5; split at 1.5; leaves −4.5, 4.5 → 6 ∓ 0.45
  near((await (await fit(1)).predict(x, backend)).mean, [5.55, 5.55, 6.45, 6.45]);
  // residuals −4.55 −3.55 3.55 4.55 → leaves ∓4.05 → 5.55 − 0.405 = 5.145
  near((await (await fit(2)).predict(x, backend)).mean, [5.145, 5.145, 6.855, 6.855]);
  // λ = 2: left leaf −G/(H+λ) = 9/4 → 6 − 0.225
  near((await (await fit(1, { lambda: 2 })).predict(x, backend)).mean, [5.775, 5.775, 6.225, 6.225]);
});

Deno.test("gbt: training loss falls every round; weight 2 equals a duplicated row", () => {
  const { x, y } = noisyData(80, 1);
  const m = fitBoostedTrees(x, y, { loss: "squared", nEstimators: 30 });
  const h = m.history.train;
  for (let i = 1; i < h.length; i++) assert.ok(h[i] < h[i - 1], `round ${i}: ${h[i]} ≥ ${h[i - 1]}`);
  // duplicate row 0 vs weight 2 on row 0
  const xd = matrix(81, 3, new Float64Array([...x.data, ...x.data.subarray(0, 3)]));
  const yd = new Float64Array([...y, y[0]]);
  const w = new Float64Array(80).fill(1);
  w[0] = 2;
  const a = fitBoostedTrees(xd, yd, { loss: "squared", nEstimators: 10 }).predictRaw(x);
  const b = fitBoostedTrees(x, y, { loss: "squared", nEstimators: 10, sampleWeight: w }).predictRaw(x);
  near(b, [...a], 1e-9);
});

Deno.test("gbt: row subsampling is seeded", async () => {
  const { x, y } = noisyData(60, 2);
  const p = async (seed: number) =>
    (await (await gradientBoosting.fit(x, y, {
      ...GRADIENT_BOOSTING_DEFAULTS,
      nEstimators: 20,
      subsample: 0.5,
    }, {
      backend,
      seed,
    })).predict(x, backend)).mean;
  assert.deepEqual(await p(1), await p(1));
  assert.notDeepEqual(await p(1), await p(2));
});

Deno.test("logistic boosting separates a separable set; probabilities stay in (0, 1)", () => {
  const rng = new Rng(3);
  const n = 100;
  const x = matrix(n, 2, Float64Array.from({ length: 2 * n }, () => rng.uniform() * 2 - 1));
  const y = Float64Array.from(
    { length: n },
    (_, i) => (x.data[2 * i] + 0.3 * x.data[2 * i + 1] > 0.1 ? 1 : 0),
  );
  const m = fitBoostedTrees(x, y, {
    loss: "logistic",
    nEstimators: 50,
    lambda: 1,
    minChildWeight: 0.01,
    seed: 4,
  });
  const p = m.predictProba(x);
  p.forEach((v, i) => {
    assert.ok(v > 0 && v < 1, `p[${i}] = ${v}`);
    assert.equal(v > 0.5 ? 1 : 0, y[i], `row ${i}: p ${v}, label ${y[i]}`);
  });
  // raw scores are log-odds of the probabilities
  const raw = m.predictRaw(x);
  near(p, [...raw].map((r) => 1 / (1 + Math.exp(-r))), 1e-12);
  assert.throws(
    () => fitBoostedTrees(x, Float64Array.from(y, (v) => 2 * v), { loss: "logistic" }),
    /row \d+ is 2/,
  );
});

Deno.test("logistic boosting: init is the log-odds of the weighted mean label; one round by hand", () => {
  // y 1 1 1 0, weights 1 1 1 3 → weighted mean 0.5 → init 0, p = 0.5, g = w(p − y) = −.5 −.5 −.5 1.5, h = w/4.
  // Gains with λ = 1 (G = 0): x ≤ 0.5: .5²/1.25 + .5²/2.25 = .31; x ≤ 1.5: 2 · 1²/1.5 = 1.33;
  // x ≤ 2.5: 2 · 1.5²/1.75 = 2.57 → split there; leaves −G/(H+λ) = 1.5/1.75 and −1.5/1.75.
  const m = fitBoostedTrees(col(0, 1, 2, 3), f64(1, 1, 1, 0), {
    loss: "logistic",
    sampleWeight: f64(1, 1, 1, 3),
    nEstimators: 1,
    maxDepth: 1,
    lambda: 1,
    learningRate: 0.5,
  });
  assert.equal(m.init, 0);
  const r = 0.5 * 1.5 / 1.75;
  near(m.predictRaw(col(0, 1, 2, 3)), [r, r, r, -r]);
});

Deno.test("boosting early stopping keeps the best validation round", () => {
  const { x, y } = noisyData(120, 5);
  const v = noisyData(60, 6);
  const m = fitBoostedTrees(x, y, {
    loss: "squared",
    nEstimators: 300,
    maxDepth: 6,
    learningRate: 0.3,
    validation: { x: v.x, y: v.y },
    earlyStoppingRounds: 10,
  });
  const hist = m.history.validation!;
  assert.ok(hist.length < 300, "deep trees on noise should overfit and stop early");
  const best = hist.indexOf(Math.min(...hist));
  assert.equal(m.trees.length, best + 1);
  assert.equal(hist.length, best + 11);
  const mse = m.predictRaw(v.x).reduce((s, p, i) => s + (p - v.y[i]) ** 2, 0) / v.y.length;
  assert.ok(Math.abs(mse - hist[best]) < 1e-9);
  assert.throws(() => fitBoostedTrees(x, y, { loss: "squared", earlyStoppingRounds: 5 }), /validation/);
});

Deno.test("boosting state() → restore() round trip predicts identically (gbt spec and logistic model)", async () => {
  const { x, y } = noisyData(70, 7);
  const g = await gradientBoosting.fit(x, y, {
    ...GRADIENT_BOOSTING_DEFAULTS,
    nEstimators: 15,
    subsample: 0.7,
  }, {
    backend,
    seed: 9,
  });
  const s = g.state();
  const back = gradientBoosting.restore({
    ...JSON.parse(JSON.stringify({ ...s, arrays: {} })),
    arrays: s.arrays,
  });
  assert.deepEqual((await back.predict(x, backend)).mean, (await g.predict(x, backend)).mean);
  assert.throws(
    () => gradientBoosting.restore({ ...s, params: { ...s.params, learningRate: -1 } }),
    /learningRate/,
  );
  assert.throws(() => gradientBoosting.restore({ ...s, params: {} }), UserError);

  const labels = Float64Array.from(y, (v) => (v > 1.5 ? 1 : 0));
  const m = fitBoostedTrees(x, labels, { loss: "logistic", nEstimators: 10, lambda: 1 });
  const ms = m.state();
  const m2 = BoostedTrees.restore({ params: JSON.parse(JSON.stringify(ms.params)), arrays: ms.arrays });
  assert.deepEqual(m2.predictProba(x), m.predictProba(x));
  assert.equal(m2.loss, "logistic");
  assert.throws(() => gradientBoosting.restore({ kind: "gbt", ...m.state() }), /squared/);
});
