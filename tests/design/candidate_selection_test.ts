import {
  applyGates,
  dedupRows,
  greedyDiverseSelect,
  leaveOneOutNearest,
  nearestDistances,
  noveltyThreshold,
  rankDescending,
  referenceSoftScore,
  selectDiverseCandidates,
} from "../../design/candidate_selection.ts";
import { Rng } from "../../nn/random.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import assert from "node:assert/strict";

const SQUARE = [0, 0, 1, 0, 0, 1, 1, 1]; // unit-square corners, 2-D

Deno.test("selection: nearest training distance on a unit square, by hand", () => {
  const q = [0.5, 0.5, 2, 0, 0.1, 0.9, 1, 1];
  const nn = nearestDistances(q, SQUARE, 2);
  assertNear(nn.distance[0], Math.SQRT1_2, 1e-15);
  assertEquals(nn.index[0], 0); // four-way tie → first reference row
  assertEquals([nn.distance[1], nn.index[1]], [1, 1]);
  assertNear(nn.distance[2], Math.sqrt(0.02), 1e-15);
  assertEquals(nn.index[2], 2);
  assertEquals([nn.distance[3], nn.index[3]], [0, 3]);
  // An empty reference gives Infinity / −1.
  const none = nearestDistances([1, 2], [], 2);
  assertEquals([none.distance[0], none.index[0]], [Infinity, -1]);
  assert.throws(() => nearestDistances([1, 2, 3], SQUARE, 2), RangeError);
  assert.throws(() => nearestDistances([NaN, 0], SQUARE, 2), RangeError);
});

Deno.test("selection: nearest distances match a brute-force reference on random data", () => {
  const rng = new Rng(3);
  const dim = 7, nq = 40, nr = 60;
  const q = Array.from({ length: nq * dim }, () => rng.uniform());
  const r = Array.from({ length: nr * dim }, () => rng.uniform());
  const nn = nearestDistances(q, r, dim);
  for (let i = 0; i < nq; i++) {
    const d = Array.from(
      { length: nr },
      (_, j) => Math.hypot(...q.slice(i * dim, (i + 1) * dim).map((v, k) => v - r[j * dim + k])),
    );
    const best = Math.min(...d);
    assertNear(nn.distance[i], best, 1e-12);
    assertEquals(nn.index[i], d.indexOf(best));
  }
});

Deno.test("selection: leave-one-out nearest neighbours and the novelty threshold (q 0.75), by hand", () => {
  // 1-D points 0, 1, 3, 7: LOO distances 1, 1, 2, 4; np.quantile([1, 1, 2, 4], 0.75) = 2 + 0.25·2 = 2.5.
  const loo = leaveOneOutNearest([0, 1, 3, 7], 1);
  assertEquals(Array.from(loo.distance), [1, 1, 2, 4]);
  assertEquals(Array.from(loo.index), [1, 0, 1, 2]);
  const t = noveltyThreshold([0, 1, 3, 7], 1);
  assertEquals(t.threshold, 2.5);
  assertEquals(t.q, 0.75);
  // A duplicate (same composition at another load) is removed first by default …
  const dup = noveltyThreshold([0, 1, 3, 3.00001, 7], 1);
  assertEquals(dup.rows, [0, 1, 2, 4]);
  assertEquals(dup.threshold, 2.5);
  // … and would otherwise pull the threshold down: LOO 1, 1, 0.00001, 0.00001, 3.99999 → q75 = 1.
  const raw = noveltyThreshold([0, 1, 3, 3.00001, 7], 1, { dedupeDecimals: null });
  assertEquals(raw.threshold, 1);
  assertEquals(noveltyThreshold([0, 1, 3, 7], 1, { q: 0.5 }).threshold, 1.5);
  // Unit square: every corner's nearest other corner is at 1.
  assertEquals(Array.from(leaveOneOutNearest(SQUARE, 2).distance), [1, 1, 1, 1]);
  assert.throws(() => noveltyThreshold([2, 2], 1), RangeError);
  assertEquals(leaveOneOutNearest([5], 1).distance[0], Infinity);
});

Deno.test("selection: gates — thresholds inclusive, NaN fails, absent threshold passes", () => {
  const g = applyGates(5, {
    logPrior: [-1, -3, -2, NaN, 0],
    novelty: [0.2, 0.3, 0.1, 0.5, 0.25],
    sigma: [100, 100, 300, 50, 250.0001],
  }, { logPriorMin: -2, noveltyMin: 0.2, sigmaMax: 250 });
  assertEquals(g.logPriorOk, [true, false, true, false, true]);
  assertEquals(g.noveltyOk, [true, true, false, true, true]);
  assertEquals(g.sigmaOk, [true, true, false, true, false]);
  assertEquals(g.accepted, [true, false, false, false, false]);
  assertEquals(g.counts, { logPrior: 3, novelty: 4, sigma: 3, accepted: 1, total: 5 });
  const onlySigma = applyGates(3, { sigma: [1, 2, 3] }, { sigmaMax: 2 });
  assertEquals(onlySigma.accepted, [true, true, false]);
  assertEquals(onlySigma.noveltyOk, [true, true, true]);
  assert.throws(() => applyGates(3, {}, { noveltyMin: 0.1 }), RangeError);
  assert.throws(() => applyGates(3, { novelty: [1, 2] }, { noveltyMin: 0.1 }), RangeError);
});

Deno.test("selection: rankDescending sorts lexicographically, NaN last, ties by index", () => {
  const accepted = [true, false, true, true, true];
  const score = [1, 5, 3, 3, NaN];
  const lcb = [0, 0, 1, 2, 9];
  assertEquals(rankDescending(accepted, score, lcb), [3, 2, 0, 4, 1]);
  assertEquals(rankDescending([2, 2, 1, 2]), [0, 1, 3, 2]);
});

Deno.test("selection: greedy diverse selection on a 1-D case with a known answer", () => {
  const points = [0, 0.1, 1, 1.05, 2, 0.5];
  const order = [0, 1, 2, 3, 4, 5]; // already best first
  assertEquals(greedyDiverseSelect(points, 1, order, { k: 3, minSep: 0.6 }), [0, 2, 4]);
  // With room for more, 0.5 is still within 0.6 of 0 → still three.
  assertEquals(greedyDiverseSelect(points, 1, order, { k: 10, minSep: 0.6 }), [0, 2, 4]);
  // Smaller separation: 0.5 now qualifies (0.5 from 0 and from 1), 1.05 does not (0.05 from 1).
  assertEquals(greedyDiverseSelect(points, 1, order, { k: 10, minSep: 0.45 }), [0, 2, 4, 5]);
  // A distance exactly equal to minSep is accepted; minSep 0 keeps duplicates.
  assertEquals(greedyDiverseSelect([0, 0.5, 0.5], 1, [0, 1, 2], { k: 5, minSep: 0.5 }), [0, 1]);
  assertEquals(greedyDiverseSelect([0, 0.5, 0.5], 1, [2, 1, 0], { k: 5, minSep: 0 }), [2, 1, 0]);
  assertEquals(greedyDiverseSelect(points, 1, order, { k: 0, minSep: 0.1 }), []);
  assert.throws(() => greedyDiverseSelect(points, 1, [9], { k: 1, minSep: 0 }), RangeError);
});

Deno.test("selection: greedy diverse selection on a 2-D case (square corners and centre)", () => {
  const points = [...SQUARE, 0.5, 0.5];
  const order = rankDescending([1, 2, 3, 4, 5]); // centre (score 5) first, then corners 3, 2, 1, 0
  assertEquals(order, [4, 3, 2, 1, 0]);
  // Corners are 0.707 from the centre: separation 0.8 leaves the centre alone; 0.7 admits every corner.
  assertEquals(greedyDiverseSelect(points, 2, order, { k: 5, minSep: 0.8 }), [4]);
  assertEquals(greedyDiverseSelect(points, 2, order, { k: 5, minSep: 0.7 }), [4, 3, 2, 1, 0]);
  // Separation 1.2: from corner 3, corners 1 and 2 are at 1 (rejected), corner 0 at 1.414 (accepted).
  assertEquals(greedyDiverseSelect(points, 2, [3, 2, 1, 0, 4], { k: 5, minSep: 1.2 }), [3, 0]);
  assertEquals(greedyDiverseSelect(points, 2, order, { k: 2, minSep: 0.7 }), [4, 3]);
});

Deno.test("selection: the reference policy — accepted rows with 0.5·thr, else top rows with 0.25·thr", () => {
  const points = [0, 0.1, 1, 1.05, 2, 0.5];
  const order = [0, 1, 2, 3, 4, 5];
  const some = selectDiverseCandidates({
    points,
    dim: 1,
    order,
    accepted: [false, true, false, true, true, true],
    noveltyThreshold: 1.2,
    k: 10,
  });
  // Pool 1, 3, 4, 5 with separation 0.6: 0.1, 1.05, 2 (0.5 is 0.4 from 0.1).
  assertEquals(some, { picked: [1, 3, 4], minSep: 0.6, fallback: false });
  const none = selectDiverseCandidates({
    points,
    dim: 1,
    order,
    accepted: new Array(6).fill(false),
    noveltyThreshold: 2,
    k: 10,
    fallbackPool: 4,
  });
  // Top 4 rows (0, 0.1, 1, 1.05) with separation 0.5: 0 and 1.
  assertEquals(none, { picked: [0, 2], minSep: 0.5, fallback: true });
});

Deno.test("selection: de-duplication by rounding to 4 decimals keeps first occurrences", () => {
  const rows = [
    0.12344,
    0.5, // 0
    0.12341,
    0.5, // 1: same as 0 at 4 decimals
    0.12346,
    0.5, // 2: rounds to 0.1235
    0.5,
    0.12344, // 3: permuted, distinct
    0.12343,
    0.50004, // 4: same as 0
  ];
  assertEquals(dedupRows(rows, 2), [0, 2, 3]);
  assertEquals(dedupRows(rows, 2, 5), [0, 1, 2, 3, 4]);
  // NumPy rounds halves to even: 2.5 → 2 and 1.5 → 2; −0 equals 0.
  assertEquals(dedupRows([2, 2.5, 1.5, 3.5], 1, 0), [0, 3]);
  assertEquals(dedupRows([0, -0.00001], 1), [0]);
});

Deno.test("selection: reference soft score, by hand", () => {
  const s = referenceSoftScore([1000, 1000], [0.1, 0.2], [-10, 0], [100, 150], 140);
  // 1000 + 25 − 0.3 − 0 and 1000 + 50 + 0 − 0.2·10².
  assertTrue(Math.abs(s[0] - 1024.7) < 1e-9 && Math.abs(s[1] - 1030) < 1e-9, String(s));
});
