/**
 * The reference pipeline's train / calibration / test scheme (vibann-reference.md §1.4–1.5):
 * 1. k-means (k = 4) on the normalised compositions of all rows → cluster labels;
 * 2. stratum of each row = `"<cluster>|<family key>"`; strata with fewer than 5 rows are merged into `"RARE"`;
 * 3. test = stratified shuffle split of all rows, test size 0.2 (⌈0.2·n⌉ rows);
 * 4. calibration = stratified shuffle split of the remaining rows (same strata), size 0.2; the rest is train_fit.
 * On the 673-row hardness data: 430 train / 108 calibration / 135 test. The rows differ from the reference's (its
 * split depends on scikit-learn's random generator and version and cannot be recovered) but are fixed by the seed.
 * @module
 */
import type { CompositionTable } from "./composition_table.ts";
import { kmeans } from "./kmeans.ts";
import { stratifiedShuffleSplit } from "./splits.ts";

/** Options for {@link referenceSplit}. */
export interface ReferenceSplitOptions {
  /** Seed for k-means and both splits (default 1, the reference's random_state). */
  seed?: number;
  /** Test fraction or count (default 0.2). */
  testSize?: number;
  /** Calibration fraction (of the non-test rows) or count (default 0.2). */
  calSize?: number;
  /** k-means clusters (default 4). */
  nClusters?: number;
  /** k-means restarts (default 10). */
  nInit?: number;
  /** Strata with fewer rows than this are merged into "RARE" (default 5). */
  minStratum?: number;
}

/** The three-way split and the labels it was stratified on. */
export interface ReferenceSplit {
  /** train_fit rows (ascending). */
  train: number[];
  calibration: number[];
  test: number[];
  /** k-means cluster of every row. */
  clusters: Int32Array;
  /** Stratum label of every row (`"<cluster>|<family>"` or `"RARE"`). */
  strata: string[];
}

/**
 * Stratum labels `"<cluster>|<family>"`, with labels of fewer than `minCount` rows replaced by `"RARE"`.
 */
export function combinedStrata(
  clusters: ArrayLike<number>,
  families: readonly string[],
  minCount = 5,
): string[] {
  const raw = families.map((f, i) => `${clusters[i]}|${f}`);
  const count = new Map<string, number>();
  for (const s of raw) count.set(s, (count.get(s) ?? 0) + 1);
  return raw.map((s) => (count.get(s)! < minCount ? "RARE" : s));
}

/**
 * Computes the reference's train / calibration / test split.
 * @param table the composition table (its normalised fractions are clustered)
 * @param families family key of each row (`familyKeys(table)`)
 */
export function referenceSplit(
  table: CompositionTable,
  families: readonly string[],
  options: ReferenceSplitOptions = {},
): ReferenceSplit {
  const seed = options.seed ?? 1;
  const E = table.elementColumns.length;
  const km = kmeans(table.fractions, table.nRows, E, {
    k: options.nClusters ?? 4,
    seed,
    nInit: options.nInit ?? 10,
  });
  const strata = combinedStrata(km.labels, families, options.minStratum ?? 5);
  const outer = stratifiedShuffleSplit(strata, options.testSize ?? 0.2, seed);
  const inner = stratifiedShuffleSplit(strata, options.calSize ?? 0.2, seed, outer.train);
  return { train: inner.train, calibration: inner.test, test: outer.test, clusters: km.labels, strata };
}
