/**
 * The glass-forming-ability (GFA) filter of `alloy design --gfa-model DIR --gfa-min P` (issue 10, part 5): a GFA
 * classifier directory (`alloy bmg train-classifier --out DIR`, nn/train/gfa_classifier.ts) scores every unique
 * candidate composition of a hardness design, and only those with P(glass) ≥ P stay in the pool that is evaluated,
 * ranked and exported; the exported rows carry their P(glass) in the `p_glass` column of candidates.csv.
 *
 * Filtering happens before the selection (not after it), so `--n` candidates are still chosen when enough of the
 * pool is glass-forming, and the selection never spends a slot on a crystal-former.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import type { Backend } from "../nn/backend.ts";
import { type GfaClassifier, loadGfaModel } from "../nn/train/gfa_classifier.ts";

/** Default `--gfa-min`: the classifier's own decision threshold for "glass". */
export const DEFAULT_GFA_MIN = 0.5;

/** A loaded classifier and the smallest P(glass) a candidate must reach. */
export interface GfaFilter {
  /** The model directory (for reports). */
  dir: string;
  classifier: GfaClassifier;
  /** Smallest P(glass) kept, in [0, 1]. */
  min: number;
}

/** Result of {@link applyGfaFilter}. */
export interface GfaFilterResult {
  /** P(glass) of every row handed in. */
  p: Float64Array;
  /** Indices of the rows with P(glass) ≥ min, ascending. */
  keep: number[];
}

/**
 * Checks a `--gfa-min` value: a probability in [0, 1].
 * @throws {UserError} naming the flag
 */
export function checkGfaMin(min: number, flag = "--gfa-min"): number {
  if (!(Number.isFinite(min) && min >= 0 && min <= 1)) {
    throw new UserError(`flag ${flag}: expected a probability from 0 to 1, got '${min}'`);
  }
  return min;
}

/**
 * Loads a GFA classifier directory as a filter.
 * @throws {UserError} for an unreadable or invalid directory, or a bad threshold
 */
export async function loadGfaFilter(dir: string, min = DEFAULT_GFA_MIN): Promise<GfaFilter> {
  checkGfaMin(min);
  let classifier: GfaClassifier;
  try {
    classifier = await loadGfaModel(dir);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`flag --gfa-model: ${e.message}`);
    throw e;
  }
  return { dir, classifier, min };
}

/**
 * Checks that the classifier knows every element a candidate may contain.
 * @param elements the design model's element list
 * @param allowed per element, whether candidates may contain it (default: all)
 * @throws {UserError} naming the elements the classifier lacks
 */
export function checkGfaElements(
  filter: GfaFilter,
  elements: readonly string[],
  allowed?: readonly boolean[],
): void {
  const known = new Set(filter.classifier.elements);
  const missing = elements.filter((e, i) => (allowed ? allowed[i] : true) && !known.has(e));
  if (missing.length > 0) {
    throw new UserError(
      `flag --gfa-model: ${filter.dir} does not know element(s) ${missing.join(", ")} of the design model; ` +
        "exclude them or train the classifier with them",
    );
  }
}

/**
 * Rows over `elements` (m × E) re-indexed to the classifier's element list.
 * @throws {UserError} when a row has a non-zero fraction of an element the classifier does not know
 */
export function toClassifierFractions(
  classifier: GfaClassifier,
  rows: ArrayLike<number>,
  elements: readonly string[],
): Float64Array {
  const ce = classifier.elements, E = elements.length, m = rows.length / E;
  const col = elements.map((e) => ce.indexOf(e));
  const out = new Float64Array(m * ce.length);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < E; j++) {
      const v = rows[i * E + j];
      if (v === 0) continue;
      if (col[j] < 0) {
        throw new UserError(`GFA filter: element ${elements[j]} is not in the classifier's element list`);
      }
      out[i * ce.length + col[j]] += v;
    }
  }
  return out;
}

/**
 * Scores rows (m × E over `elements`) with the classifier and returns P(glass) and the rows that reach `min`.
 * Descriptors run on `backend` (batched; one read-back per batch).
 */
export async function applyGfaFilter(
  filter: GfaFilter,
  rows: ArrayLike<number>,
  elements: readonly string[],
  backend?: Backend,
): Promise<GfaFilterResult> {
  const m = rows.length / elements.length;
  if (m === 0) return { p: new Float64Array(0), keep: [] };
  const p = await filter.classifier.predictFractions(
    toClassifierFractions(filter.classifier, rows, elements),
    { backend },
  );
  const keep: number[] = [];
  for (let i = 0; i < m; i++) if (p[i] >= filter.min) keep.push(i);
  return { p, keep };
}
