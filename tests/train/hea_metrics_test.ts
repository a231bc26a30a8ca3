/**
 * The HEA classification metrics against independent references: AUC against the O(n²) pair count, the ROC curve
 * against thresholds applied by hand, the bootstrap interval's determinism and coverage of the point value.
 */
import { accuracy, bootstrapClassification, meanStd, rocAuc, rocCurve } from "../../nn/train/hea_metrics.ts";
import { Rng } from "../../nn/random.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";

function pairAuc(y: number[], p: number[]): number {
  let s = 0, n = 0;
  for (let i = 0; i < y.length; i++) {
    for (let j = 0; j < y.length; j++) {
      if (y[i] === 1 && y[j] === 0) s += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0, n++;
    }
  }
  return s / n;
}

function data(n: number, seed: number) {
  const rng = new Rng(seed, 1);
  const y = Array.from({ length: n }, () => (rng.uniform() < 0.4 ? 1 : 0));
  // Scores rounded to 0.1 so ties occur.
  const p = y.map((v) =>
    Math.round(10 * Math.min(1, Math.max(0, 0.5 + 0.3 * (v - 0.5) + 0.3 * rng.normal()))) / 10
  );
  return { y, p };
}

Deno.test("rocAuc equals the pair count with ties as ½; accuracy counts p > 0.5", () => {
  for (const seed of [1, 2, 3]) {
    const { y, p } = data(57, seed);
    assertNear(rocAuc(y, p), pairAuc(y, p), 1e-12, `seed ${seed}`);
    const want = y.filter((v, i) => (p[i] > 0.5 ? 1 : 0) === v).length / y.length;
    assertNear(accuracy(y, p), want, 1e-15);
  }
  assertEquals(rocAuc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]), 1);
  assertEquals(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]), 0);
  assertTrue(Number.isNaN(rocAuc([1, 1], [0.2, 0.3])), "one class → NaN");
});

Deno.test("rocCurve: each point is (FPR, TPR) of the rule p ≥ threshold; its trapezoid area is the AUC", () => {
  const { y, p } = data(40, 7);
  const c = rocCurve(y, p);
  assertEquals([c.fpr[0], c.tpr[0]], [0, 0]);
  assertEquals([c.fpr.at(-1), c.tpr.at(-1)], [1, 1]);
  const P = y.filter((v) => v === 1).length, N = y.length - P;
  for (let k = 1; k < c.fpr.length; k++) {
    const t = c.thresholds[k];
    const tp = y.filter((v, i) => v === 1 && p[i] >= t).length,
      fp = y.filter((v, i) => v === 0 && p[i] >= t).length;
    assertNear(c.tpr[k], tp / P, 1e-12);
    assertNear(c.fpr[k], fp / N, 1e-12);
  }
  let area = 0;
  for (let k = 1; k < c.fpr.length; k++) area += (c.fpr[k] - c.fpr[k - 1]) * (c.tpr[k] + c.tpr[k - 1]) / 2;
  assertNear(area, rocAuc(y, p), 1e-12);
});

Deno.test("bootstrap intervals: same seed → same interval, they bracket the value, wider for fewer rows", () => {
  const big = data(400, 4), small = { y: big.y.slice(0, 60), p: big.p.slice(0, 60) };
  const a = bootstrapClassification(big.y, big.p, { resamples: 300, seed: 5 });
  const b = bootstrapClassification(big.y, big.p, { resamples: 300, seed: 5 });
  assertEquals(a, b);
  for (const m of [a.accuracy, a.auc]) assertTrue(m.lo <= m.value && m.value <= m.hi, JSON.stringify(m));
  const s = bootstrapClassification(small.y, small.p, { resamples: 300, seed: 5 });
  assertTrue(s.accuracy.hi - s.accuracy.lo > a.accuracy.hi - a.accuracy.lo, "60 rows give a wider interval");
});

Deno.test("meanStd uses the sample standard deviation", () => {
  const r = meanStd([1, 2, 3, 4]);
  assertNear(r.mean, 2.5, 1e-15);
  assertNear(r.std, Math.sqrt(5 / 3), 1e-15);
  assertEquals(meanStd([3]), { mean: 3, std: 0 });
});
