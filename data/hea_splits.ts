/**
 * Data splits for the HEA study: the paper's exact split (from `hea_split_membership.csv`: 864 labelled, 296
 * unlabelled, 75 validation, 138 test of 1373 alloys), seeded random re-splits with the same proportions, and the
 * seeded labelled subsample (247 rows) of the data-efficiency table.
 *
 * The proportions follow the paper's three nested `train_test_split` calls with scikit-learn's ceil rule: test =
 * ⌈0.1·n⌉, unlabelled pool = ⌈0.3·(n − test)⌉, validation = ⌈0.2·pool⌉; the rest of the pool is unlabelled and the
 * rest of the data labelled. For n = 1373 this gives exactly 138 / 371 (75 + 296) / 864.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { Rng } from "../nn/random.ts";
import { HEA_SPLIT_NAMES, type HeaDataset } from "./hea_dataset.ts";

/** Row indices of the four parts (into the dataset's rows). */
export interface HeaSplit {
  labelled: number[];
  unlabelled: number[];
  validation: number[];
  test: number[];
}

/** The paper's split sizes for 1373 alloys. */
export const PAPER_SPLIT_SIZES = Object.freeze({ labelled: 864, unlabelled: 296, validation: 75, test: 138 });

/** The labelled-subset size of the paper's data-efficiency comparison. */
export const SMALL_LABELLED_SIZE = 247;

/**
 * The paper's split, each part in the row order of the authors' pickles (`order_in_split`).
 * @throws {UserError} when the dataset was loaded without the membership file, or a part's order is not 0..m−1
 */
export function paperSplit(ds: HeaDataset): HeaSplit {
  if (!ds.split || !ds.orderInSplit) {
    throw new UserError("paper split: the dataset was loaded without hea_split_membership.csv");
  }
  const out: HeaSplit = { labelled: [], unlabelled: [], validation: [], test: [] };
  for (const name of HEA_SPLIT_NAMES) {
    const rows = ds.split.flatMap((s, i) => (s === name ? [i] : []));
    rows.sort((a, b) => ds.orderInSplit![a] - ds.orderInSplit![b]);
    rows.forEach((r, k) => {
      if (ds.orderInSplit![r] !== k) {
        throw new UserError(
          `${ds.files.splitMembership}: split '${name}' has order_in_split ${
            ds.orderInSplit![r]
          } where ${k} ` +
            `was expected (orders must be 0..${rows.length - 1})`,
        );
      }
    });
    out[name] = rows;
  }
  return out;
}

/** The part sizes of a split of `n` rows with the paper's proportions (see the module docs). */
export function heaSplitSizes(
  n: number,
): { labelled: number; unlabelled: number; validation: number; test: number } {
  if (!Number.isInteger(n) || n < 4) throw new UserError(`split: need at least 4 rows, got ${n}`);
  const test = Math.ceil(0.1 * n - 1e-9);
  const pool = Math.ceil(0.3 * (n - test) - 1e-9);
  const validation = Math.ceil(0.2 * pool - 1e-9);
  return { labelled: n - test - pool, unlabelled: pool - validation, validation, test };
}

/**
 * A seeded random split of `n` rows with the paper's proportions (unstratified, like the paper). Same seed → same
 * split; the four parts are disjoint and cover all rows; each part is sorted ascending.
 */
export function randomHeaSplit(n: number, seed: number): HeaSplit {
  const sizes = heaSplitSizes(n);
  const perm = new Rng(seed, 0x4ea5).shuffle(Array.from({ length: n }, (_, i) => i));
  let off = 0;
  const take = (m: number) => perm.slice(off, off += m).sort((a, b) => a - b);
  const test = take(sizes.test), validation = take(sizes.validation), unlabelled = take(sizes.unlabelled);
  return { labelled: take(sizes.labelled), unlabelled, validation, test };
}

/** `count` random re-splits, seeds `seed`, `seed + 1`, … (the protocol's 5 re-splits). */
export function randomHeaSplits(n: number, count = 5, seed = 0): HeaSplit[] {
  return Array.from({ length: count }, (_, i) => randomHeaSplit(n, seed + i));
}

/**
 * A seeded subsample of `size` labelled rows (default 247, the data-efficiency table), sorted ascending; the rest
 * of the labelled rows are not used (callers may move them to the unlabelled pool for the semi-supervised model).
 * @throws {UserError} when `size` exceeds the labelled part
 */
export function subsampleLabelled(split: HeaSplit, size = SMALL_LABELLED_SIZE, seed = 0): number[] {
  if (!Number.isInteger(size) || size < 1 || size > split.labelled.length) {
    throw new UserError(`labelled subsample: size ${size} is not in 1..${split.labelled.length}`);
  }
  const pick = new Rng(seed, 0x5ab).shuffle([...split.labelled]).slice(0, size);
  return pick.sort((a, b) => a - b);
}
