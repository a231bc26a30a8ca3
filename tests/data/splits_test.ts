import { Rng } from "../../nn/random.ts";
import {
  approximateMode,
  encodeLabels,
  foldTrain,
  kFold,
  stratifiedKFold,
  stratifiedShuffleSplit,
  testCount,
} from "../../data/splits.ts";
import { assertEquals, assertTrue, assertUserError } from "./_helpers.ts";

/** Asserts the lists are disjoint and (optionally) cover 0..n-1. */
function assertPartition(lists: number[][], n: number, cover = true) {
  const seen = new Set<number>();
  for (const l of lists) {
    for (const r of l) {
      assertTrue(!seen.has(r), `row ${r} appears twice`);
      seen.add(r);
    }
    assertEquals([...l].sort((a, b) => a - b), l, "rows are ascending");
  }
  if (cover) assertEquals(seen.size, n);
}

// 673 rows with unequal classes, like the hardness strata
const LABELS = Array.from({ length: 673 }, (_, i) => (i < 261 ? "big" : i < 489 ? "RARE" : `c${i % 7}`));

Deno.test("splits: stratified shuffle split sizes (sklearn ceil rule), allocation, determinism", () => {
  assertEquals(testCount(0.2, 673), 135);
  assertEquals(testCount(0.2, 538), 108);
  assertEquals(testCount(10, 50), 10);
  const s = stratifiedShuffleSplit(LABELS, 0.2, 1);
  assertEquals([s.train.length, s.test.length], [538, 135]);
  assertPartition([s.train, s.test], 673);
  // each class's test share is within one row of proportional
  const { codes, names } = encodeLabels(LABELS);
  names.forEach((_, c) => {
    const total = codes.filter((x) => x === c).length;
    const inTest = s.test.filter((r) => codes[r] === c).length;
    assertTrue(Math.abs(inTest - total * 135 / 673) < 1 + 1e-9, `class ${names[c]}: ${inTest} of ${total}`);
  });
  assertEquals(stratifiedShuffleSplit(LABELS, 0.2, 1), s);
  assertTrue(JSON.stringify(stratifiedShuffleSplit(LABELS, 0.2, 2)) !== JSON.stringify(s));
  // a subset of rows: labels still indexed by row
  const inner = stratifiedShuffleSplit(LABELS, 0.2, 1, s.train);
  assertEquals([inner.train.length, inner.test.length], [430, 108]);
  assertPartition([inner.train, inner.test, s.test], 673);
});

Deno.test("splits: approximate mode matches scikit-learn's allocation", () => {
  const rng = new Rng(0);
  assertEquals(approximateMode([5, 3, 2], 4, rng), [2, 1, 1]);
  assertEquals(approximateMode([10, 10], 7, rng).reduce((a, b) => a + b), 7);
  assertEquals(approximateMode([4, 4, 4], 6, rng), [2, 2, 2]);
});

Deno.test("splits: stratified K-fold deals classes like scikit-learn and partitions the rows", () => {
  const y = [...Array(6).fill(0), ...Array(4).fill(1)];
  const folds = stratifiedKFold(y, 3, 5);
  assertEquals(folds.map((f) => f.length), [4, 3, 3]);
  assertEquals(folds.map((f) => f.filter((r) => y[r] === 1).length), [2, 1, 1]);
  assertPartition(folds, 10);
  const f5 = stratifiedKFold(LABELS, 5, 1);
  assertPartition(f5, 673);
  assertTrue(f5.every((f) => f.length === 134 || f.length === 135));
  assertEquals(stratifiedKFold(LABELS, 5, 1), f5);
  assertEquals(foldTrain(f5, 2).length, 673 - f5[2].length);
  assertPartition([foldTrain(f5, 2), f5[2]], 673);
  // a subset
  const sub = stratifiedKFold(LABELS, 5, 1, [0, 1, 2, 3, 4, 300, 301, 302, 303, 304]);
  assertPartition(sub, 0, false);
  assertEquals(sub.flat().length, 10);
});

Deno.test("splits: plain K-fold sizes, partition and determinism", () => {
  const f = kFold(673, 5, 42);
  assertEquals(f.map((x) => x.length), [135, 135, 135, 134, 134]);
  assertPartition(f, 673);
  assertEquals(kFold(673, 5, 42), f);
  assertTrue(JSON.stringify(kFold(673, 5, 43)) !== JSON.stringify(f));
  assertEquals(kFold([10, 20, 30], 3, 1).map((x) => x.length), [1, 1, 1]);
});

Deno.test("splits: invalid sizes and fold counts are clear errors", () => {
  assertUserError(() => stratifiedShuffleSplit(LABELS, 1.5, 1), "test size must be a fraction in (0, 1)");
  assertUserError(() => stratifiedShuffleSplit(LABELS, 0, 1), "test size");
  assertUserError(() => stratifiedShuffleSplit(LABELS, 673, 1), "leaves no training rows");
  assertUserError(() => stratifiedShuffleSplit(["a"], 0.5, 1), "cannot split 1 row");
  assertUserError(() => kFold(10, 1, 1), "number of folds must be an integer ≥ 2");
  assertUserError(() => kFold(3, 4, 1), "cannot make 4 folds from 3 rows");
  assertUserError(() => stratifiedKFold(["a", "b", "c", "d"], 2, 1), "every class has fewer than 2 rows");
});
