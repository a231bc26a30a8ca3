/**
 * SMOTE (nn/baselines/smote.ts): synthetic rows lie on segments between a minority row and one of its k nearest
 * minority neighbours (checked against a brute-force neighbour search written here), the class balance reaches the
 * asked ratio, the same seed gives the same rows; and inside cross-validation (nn/train/gfa_classifier.ts) the
 * oversampling sees the training rows of its fold only: no synthetic row is built from, or lies near, a test row.
 */
import { assert, assertEquals } from "../_helpers.ts";
import { assertUserError } from "../data/_helpers.ts";
import { smote } from "../../nn/baselines/smote.ts";
import { matrix } from "../../nn/baselines/regressor.ts";
import { crossValidateGfa, type GfaTrainingSet, groupedFolds } from "../../nn/train/gfa_classifier.ts";
import { Rng } from "../../nn/random.ts";

/** n rows in D columns; rows with label 0 (the minority) around (0, 0, …), 1 around (3, 3, …); column 1 × 100. */
function twoClasses(n0: number, n1: number, D: number, seed: number) {
  const rng = new Rng(seed, 2);
  const n = n0 + n1;
  const x = new Float64Array(n * D), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i < n0 ? 0 : 1;
    for (let j = 0; j < D; j++) x[i * D + j] = (y[i] * 3 + rng.normal()) * (j === 1 ? 100 : 1);
  }
  return { x: matrix(n, D, x), y };
}

/** Brute-force k nearest minority neighbours of minority row `a` on per-column z-scores over the minority. */
function nearest(x: Float64Array, D: number, minority: number[], a: number, k: number): Set<number> {
  const mean = new Float64Array(D), sd = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    for (const r of minority) mean[j] += x[r * D + j] / minority.length;
    for (const r of minority) sd[j] += (x[r * D + j] - mean[j]) ** 2 / minority.length;
    sd[j] = Math.sqrt(sd[j]);
  }
  const dist = (p: number, q: number) => {
    let s = 0;
    for (let j = 0; j < D; j++) s += ((x[p * D + j] - x[q * D + j]) / sd[j]) ** 2;
    return s;
  };
  const others = minority.filter((r) => r !== a).sort((p, q) => dist(a, p) - dist(a, q) || p - q);
  return new Set(others.slice(0, k));
}

Deno.test("smote: synthetic rows interpolate a minority row and one of its k nearest minority neighbours", () => {
  const D = 3, { x, y } = twoClasses(12, 40, D, 4);
  const s = smote(x, y, { k: 3, seed: 7 });
  assertEquals(s.minority, 0);
  assertEquals(s.synthetic, 40 - 12);
  assertEquals(s.x.rows, 52 + 28);
  // the input rows come first, unchanged
  assertEquals(Array.from(s.x.data.subarray(0, 52 * D)), Array.from(x.data));
  const minority = Array.from({ length: 12 }, (_, i) => i);
  for (let t = 0; t < s.synthetic; t++) {
    const a = s.parents.a[t], b = s.parents.b[t], u = s.parents.u[t];
    assertEquals(y[a], 0);
    assertEquals(y[b], 0);
    assert(u >= 0 && u < 1, `u = ${u}`);
    assert(nearest(x.data, D, minority, a, 3).has(b), `row ${b} is not among the 3 nearest of row ${a}`);
    for (let j = 0; j < D; j++) {
      const want = x.data[a * D + j] + u * (x.data[b * D + j] - x.data[a * D + j]);
      assert(Math.abs(s.x.data[(52 + t) * D + j] - want) < 1e-9, `row ${t} column ${j}`);
    }
    assertEquals(s.y[52 + t], 0);
  }
  // every minority row is used as the first parent (28 rows cycle through the 12)
  assertEquals(new Set(s.parents.a).size, 12);
});

Deno.test("smote: ratio, determinism by seed, nothing to do, bad input", () => {
  const { x, y } = twoClasses(10, 30, 2, 5);
  const half = smote(x, y, { ratio: 0.5, seed: 1 });
  assertEquals(half.synthetic, 15 - 10);
  const a = smote(x, y, { seed: 3 }), b = smote(x, y, { seed: 3 }), c = smote(x, y, { seed: 4 });
  assertEquals(Array.from(a.x.data), Array.from(b.x.data));
  assert(Array.from(a.x.data).some((v, i) => v !== c.x.data[i]), "another seed gives other rows");
  const balanced = smote(x, Float64Array.from({ length: 40 }, (_, i) => i % 2));
  assertEquals(balanced.synthetic, 0);
  assertEquals(balanced.minority, null);
  assertUserError(() => smote(x, Float64Array.from({ length: 40 }, () => 2)), "not 0 or 1");
  assertUserError(() => smote(x, y, { k: 0 }), "k");
  assertUserError(() => smote(x, y, { ratio: 2 }), "ratio");
});

Deno.test("cross-validation: SMOTE in each fold is built from that fold's training rows only", () => {
  // 8 groups; group g's rows sit around (10g, 10g); 7 minority rows (label 0) of 15 in every group, so a
  // minority row's 5 nearest minority neighbours are in its own group.
  const D = 2, rng = new Rng(3, 3);
  const rows: number[] = [], labels: number[] = [], groups: string[] = [];
  for (let g = 0; g < 8; g++) {
    for (let i = 0; i < 15; i++) {
      const lab = i < 7 ? 0 : 1;
      rows.push(10 * g + rng.normal() + 2 * lab, 10 * g + rng.normal());
      labels.push(lab);
      groups.push(`G${g}`);
    }
  }
  const x = matrix(labels.length, D, Float64Array.from(rows)), y = Float64Array.from(labels);
  const folds = groupedFolds(groups, 4, 1);
  const seen: GfaTrainingSet[] = [];
  const cv = crossValidateGfa(x, y, folds, {
    boost: { nEstimators: 5, maxDepth: 2 },
    onTrainingSet: (s) => seen.push(s),
  });
  assertEquals(seen.length, 4);
  for (const s of seen) {
    const test = new Set(folds[s.fold!]);
    const train = s.rows!;
    assertEquals(train.length + test.size, x.rows);
    assert(train.every((r) => !test.has(r)), "a test row is among the training rows");
    assertEquals(s.synthetic, s.x.rows - train.length);
    assert(s.synthetic > 0, "SMOTE added rows");
    const trainGroups = new Set(train.map((r) => groups[r]));
    for (let t = 0; t < s.synthetic; t++) {
      // parents index the fold's training rows, so they are data rows outside the test fold …
      const pa = train[s.parents.a[t]], pb = train[s.parents.b[t]];
      assert(!test.has(pa) && !test.has(pb), `fold ${s.fold}: synthetic row ${t} has a test parent`);
      // … and the synthetic row lies in the region of a training group, never of a test group.
      const gx = Math.round(s.x.data[(train.length + t) * D + 1] / 10);
      assert(trainGroups.has(`G${gx}`), `fold ${s.fold}: synthetic row ${t} lies in test group G${gx}`);
    }
  }
  assertEquals(cv.folds.map((f) => f.n_synthetic), seen.map((s) => s.synthetic));
});
