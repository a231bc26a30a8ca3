/**
 * Seeded row splits, following scikit-learn's algorithms so sizes and per-class allocations match it (the random
 * draws come from `Rng`, so the chosen rows differ from scikit-learn's but are reproducible from the seed):
 * - {@link stratifiedShuffleSplit} — `StratifiedShuffleSplit(n_splits=1)`: test size ⌈test_size·n⌉ (the ceil
 *   rule), per-class counts by "approximate mode" (largest remainder, random tie-break).
 * - {@link stratifiedKFold} — `StratifiedKFold(shuffle=True)`: classes dealt round-robin over folds, then shuffled
 *   within each class.
 * - {@link kFold} — `KFold(shuffle=True)`: the first n mod k folds get one extra row.
 * Every function returns row indices sorted ascending.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { Rng } from "../nn/random.ts";

/** A train/test split (row indices, ascending). */
export interface TrainTest {
  train: number[];
  test: number[];
}

/** Label codes: `names[codes[i]]` is row i's label; names sorted ascending (as `np.unique`). */
export interface EncodedLabels {
  codes: Int32Array;
  names: string[];
}

/** Encodes labels (numbers or strings) as integer codes over the sorted distinct labels. */
export function encodeLabels(labels: ArrayLike<number | string>): EncodedLabels {
  const arr = Array.from(labels);
  const distinct = [...new Set(arr)];
  distinct.sort((a, b) =>
    typeof a === "number" && typeof b === "number"
      ? a - b
      : String(a) < String(b)
      ? -1
      : String(a) > String(b)
      ? 1
      : 0
  );
  const index = new Map(distinct.map((v, i) => [v, i]));
  return { codes: Int32Array.from(arr, (v) => index.get(v)!), names: distinct.map(String) };
}

function permutation(n: number, rng: Rng): number[] {
  return rng.shuffle(Array.from({ length: n }, (_, i) => i));
}

/**
 * scikit-learn's `_approximate_mode`: integer draws per class proportional to `counts`, summing to `nDraws`;
 * the remaining units go to the largest remainders, ties broken at random.
 */
export function approximateMode(counts: readonly number[], nDraws: number, rng: Rng): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const cont = counts.map((c) => (c / total) * nDraws);
  const out = cont.map(Math.floor);
  let need = nDraws - out.reduce((a, b) => a + b, 0);
  if (need > 0) {
    const rem = cont.map((c, i) => c - out[i]);
    const values = [...new Set(rem)].sort((a, b) => b - a);
    for (const v of values) {
      const inds = rem.map((r, i) => r === v ? i : -1).filter((i) => i >= 0);
      const take = Math.min(inds.length, need);
      for (const i of rng.shuffle(inds).slice(0, take)) out[i]++;
      need -= take;
      if (need === 0) break;
    }
  }
  return out;
}

/** Test-set size by scikit-learn's rule: a fraction in (0, 1) → ⌈f·n⌉; an integer ≥ 1 → itself. */
export function testCount(testSize: number, n: number, what = "test size"): number {
  let t: number;
  if (testSize > 0 && testSize < 1) t = Math.ceil(testSize * n);
  else if (Number.isInteger(testSize) && testSize >= 1) t = testSize;
  else throw new UserError(`${what} must be a fraction in (0, 1) or a whole number of rows, got ${testSize}`);
  if (t >= n) throw new UserError(`${what} ${testSize} leaves no training rows out of ${n}`);
  return t;
}

/**
 * One stratified shuffle split (scikit-learn `StratifiedShuffleSplit(n_splits=1)` algorithm).
 * @param labels one stratum label per row (numbers or strings)
 * @param testSize fraction in (0, 1) (test rows = ⌈fraction·n⌉) or a row count
 * @param seed random seed
 * @param rows optional subset of row indices to split (labels are still indexed by row); default all rows
 * @throws {UserError} for a test size that leaves no training rows, or fewer rows than 2
 */
export function stratifiedShuffleSplit(
  labels: ArrayLike<number | string>,
  testSize: number,
  seed: number,
  rows?: readonly number[],
): TrainTest {
  const idx = rows ? [...rows] : Array.from({ length: labels.length }, (_, i) => i);
  const n = idx.length;
  if (n < 2) throw new UserError(`cannot split ${n} row(s)`);
  const nTest = testCount(testSize, n);
  const nTrain = n - nTest;
  const { codes, names } = encodeLabels(idx.map((i) => labels[i]));
  const classRows: number[][] = names.map(() => []);
  idx.forEach((row, k) => classRows[codes[k]].push(row));
  const counts = classRows.map((c) => c.length);
  const rng = new Rng(seed, 0x535353);
  const nI = approximateMode(counts, nTrain, rng);
  const tI = approximateMode(counts.map((c, i) => c - nI[i]), nTest, rng);
  const train: number[] = [], test: number[] = [];
  classRows.forEach((members, c) => {
    const perm = permutation(members.length, rng).map((p) => members[p]);
    train.push(...perm.slice(0, nI[c]));
    test.push(...perm.slice(nI[c], nI[c] + tI[c]));
  });
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/**
 * Stratified K-fold (scikit-learn `StratifiedKFold(shuffle=true)` algorithm).
 * @param rows optional subset of rows to partition (default all)
 * @returns `folds[k]` = the test rows of fold k (ascending); the other folds are its training rows
 * @throws {UserError} when k < 2, k exceeds the number of rows, or every class has fewer than k members
 */
export function stratifiedKFold(
  labels: ArrayLike<number | string>,
  k: number,
  seed: number,
  rows?: readonly number[],
): number[][] {
  const idx = rows ? [...rows] : Array.from({ length: labels.length }, (_, i) => i);
  checkK(k, idx.length);
  // Classes numbered in order of first appearance, as scikit-learn does.
  const order = new Map<string, number>();
  const y = idx.map((i) => {
    const key = String(labels[i]);
    if (!order.has(key)) order.set(key, order.size);
    return order.get(key)!;
  });
  const nClasses = order.size;
  const counts = new Array(nClasses).fill(0);
  for (const c of y) counts[c]++;
  if (counts.every((c) => c < k)) {
    throw new UserError(
      `stratified ${k}-fold: every class has fewer than ${k} rows (largest: ${Math.max(...counts)})`,
    );
  }
  const sorted = [...y].sort((a, b) => a - b);
  const alloc: number[][] = Array.from({ length: k }, () => new Array(nClasses).fill(0));
  sorted.forEach((c, i) => alloc[i % k][c]++);
  const rng = new Rng(seed, 0x4b464b);
  const foldOf = new Int32Array(idx.length);
  for (let c = 0; c < nClasses; c++) {
    const folds: number[] = [];
    for (let f = 0; f < k; f++) for (let r = 0; r < alloc[f][c]; r++) folds.push(f);
    rng.shuffle(folds);
    let t = 0;
    y.forEach((cy, i) => cy === c && (foldOf[i] = folds[t++]));
  }
  const out: number[][] = Array.from({ length: k }, () => []);
  idx.forEach((row, i) => out[foldOf[i]].push(row));
  return out.map((f) => f.sort((a, b) => a - b));
}

/**
 * Plain seeded K-fold (scikit-learn `KFold(shuffle=true)`): shuffled rows cut into k consecutive folds, the first
 * n mod k folds one row larger.
 * @param n number of rows, or the row indices to partition
 * @returns `folds[k]` = the test rows of fold k (ascending)
 */
export function kFold(n: number | readonly number[], k: number, seed: number): number[][] {
  const idx = typeof n === "number" ? Array.from({ length: n }, (_, i) => i) : [...n];
  checkK(k, idx.length);
  new Rng(seed, 0x4b46).shuffle(idx);
  const out: number[][] = [];
  let start = 0;
  for (let f = 0; f < k; f++) {
    const size = Math.floor(idx.length / k) + (f < idx.length % k ? 1 : 0);
    out.push(idx.slice(start, start + size).sort((a, b) => a - b));
    start += size;
  }
  return out;
}

function checkK(k: number, n: number) {
  if (!Number.isInteger(k) || k < 2) throw new UserError(`number of folds must be an integer ≥ 2, got ${k}`);
  if (k > n) throw new UserError(`cannot make ${k} folds from ${n} rows`);
}

/** Training rows of fold `k`: every row of the other folds (ascending). */
export function foldTrain(folds: readonly (readonly number[])[], k: number): number[] {
  return folds.flatMap((f, j) => j === k ? [] : [...f]).sort((a, b) => a - b);
}
