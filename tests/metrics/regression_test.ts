import {
  bootstrapRmseCi,
  flattenRegressionMetrics,
  quantile,
  quantiles,
  regressionMetrics,
  weightedQuantile,
} from "../../nn/metrics/regression.ts";
import { Rng } from "../../nn/random.ts";
import { assertAllNear, assertEquals, assertNear, assertRangeError, assertTrue } from "./_helpers.ts";

Deno.test("quantile: bit-identical to np.quantile (method linear)", () => {
  assertEquals(quantile([1, 2, 3, 4], 0.1), 1.3); // np.quantile([1,2,3,4], 0.1) = 1.3
  // np.quantile([3,1,4,1,5,9,2,6], q) for q = 0, .1, .25, .5, .7, .85, .9, 1
  assertEquals(
    quantiles([3, 1, 4, 1, 5, 9, 2, 6], [0, 0.1, 0.25, 0.5, 0.7, 0.85, 0.9, 1]),
    [1, 1, 1.75, 3.5, 4.8999999999999995, 5.95, 6.8999999999999995, 9],
  );
  // NumPy's two-sided lerp matters for these (values from NumPy 2.4)
  const y = [0.1, 0.7, 1e8 + 0.3, -2.5, 17.25];
  assertEquals(
    [0.05, 0.3, 0.65, 0.77, 0.999].map((q) => quantile(y, q)),
    [-1.98, 0.21999999999999997, 10.63, 8000015.894000007, 99600000.3678],
  );
  // t ≥ 0.5 uses b − (b − a)(1 − t); a + (b − a)t would give −7.600020000000001 and −0.23456 here
  assertEquals(quantile([-19.016, -3.589, 3.194], 0.37), -7.600019999999999);
  assertEquals(quantile([-2.398, -1.186, 0.513], 0.78), -0.23455999999999988);
  assertEquals(quantile([7], 0.3), 7); // n = 1
  assertEquals(quantile(Float32Array.from([2, 1]), 0.5), 1.5);
});

Deno.test("weightedQuantile: as np.quantile(..., weights=w, method='inverted_cdf')", () => {
  // sorted values 1, 1.5, 3, 4, 5 with weights 2, 1, .5, 0, 1.5 → cdf .4, .6, .7, .7, 1
  const v = [3, 1, 4, 1.5, 5], w = [0.5, 2, 0, 1, 1.5];
  assertEquals(
    [0, 0.1, 0.4, 0.42, 0.5, 0.8, 0.99, 1].map((q) => weightedQuantile(v, w, q)),
    [1, 1, 1, 1.5, 1.5, 5, 5, 5],
  );
  assertEquals(weightedQuantile([10, 20, 30], [0, 1, 1], 0), 20); // leading zero weight is skipped
  assertEquals(weightedQuantile([1, 2, 3], [1, 1, 2], 0.5), 2);
  assertEquals(weightedQuantile([1, 2, 3], [10, 10, 20], 0.5), 2); // scale invariant
  assertRangeError(() => weightedQuantile([1, 2], [0, 0], 0.5), "weights are all zero");
  assertRangeError(() => weightedQuantile([1, 2], [1, -1], 0.5), "weights[1] is negative");
  assertRangeError(() => weightedQuantile([1, 2], [1], 0.5), "values has 2 values but weights has 1");
});

Deno.test("quantile: bad input is a RangeError", () => {
  assertRangeError(() => quantile([], 0.5), "quantile: values is empty");
  assertRangeError(() => quantile([1, NaN], 0.5), "values[1] is not a finite number (NaN)");
  assertRangeError(() => quantile([1], 1.5), "q must be in [0, 1], got 1.5");
});

Deno.test("regressionMetrics: hand-computed example", () => {
  // |e| = .5, 0, 1, 1: SSE 2.25 → RMSE √(2.25/4) = .75, MAE .625; mean y 2.5, SS_tot 5 → R² = 1 − 2.25/5 = .55
  // MAPE = (.5/1 + 0/2 + 1/3 + 1/4) / 4 = 13/48; NRMSE = .75 / 3; max error 1; 4 rows → no tail
  const m = regressionMetrics([1, 2, 3, 4], [1.5, 2, 2, 5]);
  assertEquals(m.n, 4);
  assertNear(m.rmse, 0.75, 1e-15);
  assertNear(m.mae, 0.625, 1e-15);
  assertNear(m.r2, 0.55, 1e-15);
  assertNear(m.mape!, 13 / 48, 1e-15);
  assertNear(m.nrmse!, 0.25, 1e-15);
  assertEquals(m.maxError, 1);
  assertEquals(m.tail, null);
});

Deno.test("regressionMetrics: tail rows at or above the NumPy quantile, at least 5", () => {
  const y = Array.from({ length: 20 }, (_, i) => i);
  const p = y.map((v) => v + (v % 2 === 1 ? 1 : -2));
  // q85 of 0..19 = 16.15 → rows 17, 18, 19: fewer than 5 → null
  assertEquals(regressionMetrics(y, p).tail, null);
  // q75 = 14.25 → rows 15..19 with errors 1, −2, 1, −2, 1: RMSE √(11/5), MAE 7/5
  const t = regressionMetrics(y, p, { tailQuantile: 0.75 }).tail!;
  assertEquals(t.threshold, 14.25);
  assertEquals(t.n, 5);
  assertNear(t.rmse, Math.sqrt(11 / 5), 1e-15);
  assertNear(t.mae, 7 / 5, 1e-15);
  const flat = flattenRegressionMetrics(regressionMetrics(y, p, { tailQuantile: 0.75 }));
  assertEquals(flat.tail_n, 5);
  assertEquals(flattenRegressionMetrics(regressionMetrics(y, p)).tail_rmse, null);
});

Deno.test("regressionMetrics: degenerate cases never give NaN", () => {
  // MAPE skips |y| ≤ 1e-6: only row 2 counts (|1|/2)
  const z = regressionMetrics([0, 2], [1, 3]);
  assertEquals(z.mape, 0.5);
  assertEquals(z.nrmse, 0.5);
  assertEquals(regressionMetrics([0, 0], [1, 1]).mape, null);
  // constant target: R² = 1 if exact, else 0 (scikit-learn force_finite); NRMSE undefined → null
  const c = regressionMetrics([3, 3, 3], [3, 3, 3]);
  assertEquals([c.r2, c.nrmse, c.rmse], [1, null, 0]);
  assertEquals(regressionMetrics([3, 3, 3], [3, 4, 3]).r2, 0);
  const one = regressionMetrics([5], [7]);
  assertEquals([one.n, one.rmse, one.mae, one.r2, one.nrmse, one.maxError], [1, 2, 2, 0, null, 2]);
  assertEquals(regressionMetrics([5], [5]).r2, 1);
  for (const v of Object.values(flattenRegressionMetrics(one))) assertTrue(!Number.isNaN(v));
});

Deno.test("regressionMetrics: bad input is a RangeError", () => {
  assertRangeError(() => regressionMetrics([], []), "regressionMetrics: yTrue is empty");
  assertRangeError(() => regressionMetrics([1, 2], [1]), "yTrue has 2 values but yPred has 1");
  assertRangeError(
    () => regressionMetrics([1, 2], [1, Infinity]),
    "yPred[1] is not a finite number (Infinity)",
  );
  assertRangeError(
    () => regressionMetrics([1], [1], { tailQuantile: -0.1 }),
    "tailQuantile must be in [0, 1]",
  );
});

Deno.test("bootstrapRmseCi: contains the point RMSE, reproducible, width matches theory", () => {
  const rng = new Rng(7);
  const n = 200;
  const y = Float64Array.from({ length: n }, () => 100 * rng.uniform());
  const p = y.map((v) => v + rng.normal()); // unit-normal errors
  const a = bootstrapRmseCi(y, p, { seed: 3 });
  assertEquals(a.rmse, regressionMetrics(y, p).rmse);
  assertTrue(a.lo < a.rmse && a.rmse < a.hi, `CI [${a.lo}, ${a.hi}] should contain ${a.rmse}`);
  assertTrue(a.lo <= a.mean && a.mean <= a.hi);
  assertEquals(bootstrapRmseCi(y, p, { seed: 3 }), a); // same seed → same numbers
  assertTrue(bootstrapRmseCi(y, p, { seed: 4 }).lo !== a.lo); // another seed → other draws
  // delta method: se(RMSE) ≈ 1/√(2n) = 0.05 for N(0,1) errors → 95 % width ≈ 3.92·0.05 ≈ 0.196
  assertTrue(a.hi - a.lo > 0.14 && a.hi - a.lo < 0.26, `width ${a.hi - a.lo}`);
  const narrow = bootstrapRmseCi(y, p, { seed: 3, level: 0.5 });
  assertTrue(narrow.hi - narrow.lo < a.hi - a.lo);
});

Deno.test("bootstrapRmseCi: hand-checkable cases", () => {
  // equal errors: every resample has RMSE 2
  assertEquals(bootstrapRmseCi([0, 0, 0], [2, -2, 2], { resamples: 50 }), { rmse: 2, mean: 2, lo: 2, hi: 2 });
  // errors 0 and 2: a resample's RMSE is 0, √2 or 2 with probability 1/4, 1/2, 1/4 → mean (2√2 + 2)/4 ≈ 1.207
  const b = bootstrapRmseCi([0, 0], [0, 2], { resamples: 4000, seed: 11 });
  assertNear(b.rmse, Math.SQRT2, 1e-15);
  assertNear(b.mean, (2 * Math.SQRT2 + 2) / 4, 0.05);
  assertEquals([b.lo, b.hi], [0, 2]);
  assertRangeError(() => bootstrapRmseCi([], []), "bootstrapRmseCi: yTrue is empty");
  assertRangeError(() => bootstrapRmseCi([1], [1], { resamples: 0 }), "resamples must be an integer ≥ 1");
  assertRangeError(() => bootstrapRmseCi([1], [1], { level: 1 }), "level must be in (0, 1)");
});

Deno.test("quantile: agrees with a brute-force order-statistic definition on random data", () => {
  const rng = new Rng(5);
  for (let t = 0; t < 50; t++) {
    const n = 1 + rng.int(30);
    const x = Array.from({ length: n }, () => Math.round(rng.normal() * 10) / 4); // ties included
    const s = [...x].sort((a, b) => a - b);
    const q = rng.uniform();
    const h = (n - 1) * q, lo = Math.floor(h), hi = Math.min(lo + 1, n - 1);
    assertAllNear([quantile(x, q)], [s[lo] + (h - lo) * (s[hi] - s[lo])], 1e-12);
  }
});
