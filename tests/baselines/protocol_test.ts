/**
 * The baseline protocol: folds (disjoint, covering every row once; the split file's rows), the input matrix (the
 * load scaler fit on training rows only, fractions renormalised), and per-fold and pooled out-of-fold metrics
 * against hand computations with fake models (a mean predictor, exact least squares, a constant σ).
 */
import { cpu } from "../_helpers.ts";
import { assertEquals, assertNear, assertTrue, assertUserError } from "../data/_helpers.ts";
import { Rng } from "../../nn/random.ts";
import type { FixedSplits } from "../../data/split_file.ts";
import type { ReferenceSplit } from "../../data/reference_split.ts";
import type { Matrix } from "../../nn/baselines/regressor.ts";
import { featureMatrix, fitLoadScaler } from "../../nn/baselines/features.ts";
import {
  type BaselineData,
  cvFolds,
  fitBaseline,
  gaussianNlpd,
  holdoutFold,
  type ProtocolFold,
  runBaselines,
} from "../../nn/baselines/protocol.ts";
import { leastSquaresSpec, meanSpec, sigmaSpec } from "./_fake_specs.ts";

const E = 3;

/** n rows of E random fractions (rows sum to 1), loads in [0.1, 10), HV exactly linear in fractions and load. */
function synthetic(n: number, seed = 3): BaselineData {
  const rng = new Rng(seed, 7);
  const fractions = new Float64Array(n * E), load = new Float64Array(n), hv = new Float64Array(n);
  const a = [300, 900, 550], b = 12;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < E; j++) s += fractions[i * E + j] = 0.05 + rng.uniform();
    for (let j = 0; j < E; j++) fractions[i * E + j] /= s;
    load[i] = 0.1 + 9.9 * rng.uniform();
    hv[i] = b * load[i];
    for (let j = 0; j < E; j++) hv[i] += a[j] * fractions[i * E + j];
  }
  return { fractions, elements: E, load, hv };
}

function checkPartition(folds: ProtocolFold[], n: number) {
  const count = new Array(n).fill(0);
  for (const f of folds) {
    for (const r of f.test) count[r]++;
    const test = new Set(f.test);
    assertTrue(f.train.every((r) => !test.has(r)), `${f.label}: train and test overlap`);
    assertEquals(f.train.length + f.test.length, n, `${f.label}: train = every other row`);
    assertEquals([...f.train].sort((x, y) => x - y), f.train, "train ascending");
    assertEquals([...f.test].sort((x, y) => x - y), f.test, "test ascending");
  }
  assertEquals(count, new Array(n).fill(1), "every row is tested exactly once");
}

Deno.test("protocol: plain K-fold and split-file folds are disjoint and test every row exactly once", () => {
  const plain = cvFolds(23, 5, 1);
  assertEquals(plain.map((f) => f.test.length), [5, 5, 5, 4, 4]);
  assertEquals(plain.map((f) => f.label), ["fold1", "fold2", "fold3", "fold4", "fold5"]);
  checkPartition(plain, 23);
  assertEquals(cvFolds(23, 5, 1), plain, "deterministic by seed");
  assertTrue(JSON.stringify(cvFolds(23, 5, 2)) !== JSON.stringify(plain), "another seed, other folds");

  const fixed: FixedSplits = {
    file: "s.json",
    holdout: { train: [5, 0, 1, 2, 3], test: [6, 4], earlyStoppingVal: [5] },
    kfold: [[6, 0], [1, 4, 5], [2, 3]],
  };
  const f = cvFolds(7, 5, 1, fixed);
  assertEquals(f.map((x) => x.test), [[0, 6], [1, 4, 5], [2, 3]], "the file's folds, not k");
  assertEquals(f[0].train, [1, 2, 3, 4, 5]);
  checkPartition(f, 7);

  const h = holdoutFold(fixed);
  assertEquals(h, { label: "holdout", train: [0, 1, 2, 3, 5], test: [4, 6] }, "early-stopping rows train");
  const ref = { train: [4, 1], calibration: [3], test: [0, 2] } as unknown as ReferenceSplit;
  assertEquals(holdoutFold(ref), { label: "holdout", train: [1, 3, 4], test: [0, 2] }, "train + calibration");
});

Deno.test("protocol: per-fold and pooled out-of-fold metrics of a mean predictor match a hand computation", async () => {
  const data = synthetic(23);
  const folds = cvFolds(23, 4, 5);
  const calls: string[] = [];
  const [r] = await runBaselines(data, folds, [{ spec: meanSpec }], {
    backend: cpu,
    seed: 1,
    onFold: (i) => calls.push(`${i.kind}:${i.fold}/${i.folds}:${i.done}/${i.total}`),
  });
  assertEquals(calls, ["ridge:0/4:1/4", "ridge:1/4:2/4", "ridge:2/4:3/4", "ridge:3/4:4/4"]);
  // By hand: each test row is predicted by the mean HV of its fold's training rows.
  const pred = new Float64Array(23);
  let sse = 0, sae = 0;
  folds.forEach((f, k) => {
    const m = f.train.reduce((s, i) => s + data.hv[i], 0) / f.train.length;
    let fsse = 0, fsae = 0, fmean = 0;
    for (const i of f.test) {
      pred[i] = m;
      fsse += (data.hv[i] - m) ** 2;
      fsae += Math.abs(data.hv[i] - m);
      fmean += data.hv[i] / f.test.length;
    }
    sse += fsse, sae += fsae;
    const fsst = f.test.reduce((s, i) => s + (data.hv[i] - fmean) ** 2, 0);
    const fm = r.folds[k];
    assertEquals([fm.label, fm.nTrain, fm.nTest], [f.label, f.train.length, f.test.length]);
    assertNear(fm.metrics.rmse, Math.sqrt(fsse / f.test.length), 1e-9, `fold ${k} rmse`);
    assertNear(fm.metrics.mae, fsae / f.test.length, 1e-9, `fold ${k} mae`);
    assertNear(fm.metrics.r2, 1 - fsse / fsst, 1e-9, `fold ${k} r2`);
    assertTrue(fm.fitSeconds >= 0 && fm.predictSeconds >= 0);
  });
  const ybar = Array.from(data.hv).reduce((a, b) => a + b, 0) / 23;
  const sst = Array.from(data.hv).reduce((s, y) => s + (y - ybar) ** 2, 0);
  assertEquals(r.metrics.n, 23);
  assertNear(r.metrics.rmse, Math.sqrt(sse / 23), 1e-9, "pooled rmse");
  assertNear(r.metrics.mae, sae / 23, 1e-9, "pooled mae");
  assertNear(r.metrics.r2, 1 - sse / sst, 1e-9, "pooled r2 (against the pooled mean)");
  assertTrue(r.metrics.r2 < 0, "a mean predictor out of fold has R² < 0");
  assertNear(r.foldMean.rmse, r.folds.reduce((s, f) => s + f.metrics.rmse, 0) / 4, 1e-12);
  assertEquals(r.metrics.nlpd, undefined, "no σ, no NLPD");
  // Out-of-fold predictions: every row once, from its own fold.
  assertEquals([...r.predictions.rows].sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
  r.predictions.rows.forEach((row, i) => {
    assertEquals(r.predictions.mean[i], pred[row]);
    assertTrue(folds[r.predictions.fold[i]].test.includes(row));
  });
  assertEquals(r.predictions.std, null);
  assertNear(r.fitSeconds, r.folds.reduce((s, f) => s + f.fitSeconds, 0), 1e-12);
});

Deno.test("protocol: the load scaler is fit on each fold's training rows only; fractions are renormalised", async () => {
  const data = synthetic(20, 9);
  // Scale one row's fractions by 3: the matrix must still hold fractions summing to 1.
  for (let j = 0; j < E; j++) (data.fractions as Float64Array)[7 * E + j] *= 3;
  const seen: Matrix[] = [];
  const folds = cvFolds(20, 4, 2);
  const [r] = await runBaselines(data, folds, [{ spec: leastSquaresSpec(seen) }], { backend: cpu, seed: 1 });
  assertEquals(seen.length, 8, "one fit and one predict matrix per fold");
  folds.forEach((f, k) => {
    const fit = seen[2 * k], test = seen[2 * k + 1];
    assertEquals([fit.rows, fit.cols, test.rows, test.cols], [f.train.length, E + 1, f.test.length, E + 1]);
    // By hand: mean and population std of the training loads.
    const m = f.train.reduce((s, i) => s + data.load[i], 0) / f.train.length;
    const sd = Math.sqrt(f.train.reduce((s, i) => s + (data.load[i] - m) ** 2, 0) / f.train.length);
    const col = (x: Matrix, j: number) => Array.from({ length: x.rows }, (_, i) => x.data[i * x.cols + j]);
    const z = col(fit, E);
    assertNear(z.reduce((a, b) => a + b, 0) / z.length, 0, 1e-12, "training loads centred");
    assertNear(Math.sqrt(z.reduce((s, v) => s + v * v, 0) / z.length), 1, 1e-12, "training loads unit std");
    col(test, E).forEach((v, i) =>
      assertNear(v, (data.load[f.test[i]] - m) / sd, 1e-12, `test row ${f.test[i]}`)
    );
    for (const x of [fit, test]) {
      for (let i = 0; i < x.rows; i++) {
        let s = 0;
        for (let j = 0; j < E; j++) s += x.data[i * x.cols + j];
        assertNear(s, 1, 1e-12, "fractions sum to 1");
      }
    }
  });
  // HV is exactly linear in fractions and load, so exact least squares is exact out of fold: this only holds when
  // training and test rows go through the same scaler.
  assertTrue(r.metrics.rmse < 1e-8, `rmse ${r.metrics.rmse}`);
  assertNear(r.metrics.r2, 1, 1e-12);

  const fitted = await fitBaseline(data, folds[0].train, { spec: leastSquaresSpec() }, {
    backend: cpu,
    seed: 1,
  });
  const loads = folds[0].train.map((i) => data.load[i]);
  assertEquals(fitted.loadRange, [Math.min(...loads), Math.max(...loads)]);
  assertEquals(fitted.loadScaler.toJSON(), fitLoadScaler(data.load, folds[0].train).toJSON());
});

Deno.test("protocol: models with σ get NLPD, 90 % coverage, MACE and mean σ; overrides reach fit", async () => {
  const data = synthetic(30, 4);
  const folds = cvFolds(30, 3, 1);
  const sigma = 120;
  const [r] = await runBaselines(data, folds, [{ spec: sigmaSpec, params: { sigma } }], {
    backend: cpu,
    seed: 1,
  });
  assertEquals(r.params, { sigma });
  const y: number[] = [], mu: number[] = [];
  for (const f of folds) {
    const m = f.train.reduce((s, i) => s + data.hv[i], 0) / f.train.length;
    for (const i of f.test) y.push(data.hv[i]), mu.push(m);
  }
  const nlpd = y.reduce(
    (s, v, i) => s + 0.5 * Math.log(2 * Math.PI * sigma * sigma) + (v - mu[i]) ** 2 / (2 * sigma ** 2),
    0,
  ) /
    y.length;
  const inside = y.filter((v, i) => Math.abs(v - mu[i]) <= 1.6448536269514722 * sigma).length / y.length;
  assertNear(r.metrics.nlpd!, nlpd, 1e-9, "nlpd");
  assertNear(r.metrics.coverage90!, inside, 1e-12, "coverage90");
  assertTrue(inside > 0 && inside < 1, `the test needs a coverage strictly inside (0, 1), got ${inside}`);
  assertNear(r.metrics.mean_std!, sigma, 1e-12);
  assertTrue(r.metrics.mace! >= 0 && r.metrics.mace! <= 1);
  assertEquals(r.predictions.std!.length, 30);
  assertEquals(r.folds[0].metrics.nlpd !== undefined, true);
  assertEquals(gaussianNlpd([1], [1], [0]), null, "σ = 0 has no finite density");
});

Deno.test("protocol: inconsistent folds are refused; bad fraction rows are one-line user errors", async () => {
  const data = synthetic(6);
  const run = (folds: ProtocolFold[]) =>
    runBaselines(data, folds, [{ spec: meanSpec }], { backend: cpu, seed: 1 });
  const expectError = async (folds: ProtocolFold[], part: string) => {
    let msg = "";
    await run(folds).catch((e) => (msg = (e as Error).message));
    assertTrue(msg.includes(part), `expected '${part}', got '${msg}'`);
  };
  await expectError([{ label: "a", train: [0, 1], test: [1, 2] }], "trains and tests on row 1");
  await expectError(
    [{ label: "a", train: [0], test: [2] }, { label: "b", train: [0], test: [2] }],
    "tested by two folds",
  );
  await expectError([{ label: "a", train: [0], test: [9] }], "row 9");
  await expectError([{ label: "a", train: [], test: [1] }], "0 training");
  const zero = { fractions: new Float64Array(6), elements: 3, load: [1, 2] };
  assertUserError(() => featureMatrix(zero, fitLoadScaler([1, 2], [0, 1])), "row 0", "sum to 0");
});
