/**
 * The glass-forming-ability (GFA) classifier of issue 10: gradient-boosted trees (logistic loss) on composition
 * descriptors (data/bmg_descriptors.ts), glass = 1 / crystal = 0, with SMOTE oversampling of the minority class
 * inside each training fold only (followed by a prior correction of the log-odds, so P(glass) stays calibrated to
 * the real class balance), K-fold cross-validation grouped by element system (no system on both sides) or random
 * by composition, and a model directory other commands load:
 *
 *     DIR/config.json          format "alloy-gfa-classifier/1", descriptor set, element list (the D1 columns and the
 *                              only elements a composition may contain), feature names, boosting params, threshold,
 *                              data record, CV metrics, options, time, weights_sha256
 *     DIR/weights.safetensors  the packed trees (as the `alloy-baseline/1` gbt format: tree_offsets, node_*), with
 *                              the format tag in `__metadata__` and the data checksum
 *
 * The element list of a saved model is the whole element-property table (57 elements), a superset of the data's
 * elements: unseen elements have all-zero D1 columns in training (no tree splits on them) and still enter D2/D3,
 * so any composition over the hardness model's elements can be scored.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { isElementSymbol } from "../../data/elements.ts";
import { parseFormula } from "../../data/formula.ts";
import { join } from "../../data/paths.ts";
import {
  DESCRIPTOR_SETS,
  type DescriptorMatrix,
  descriptorMatrix,
  descriptorNames,
  type DescriptorSet,
  type EngineDescriptorOptions,
} from "../../data/bmg_descriptors.ts";
import {
  BoostedTrees,
  type BoostOptions,
  fitBoostedTrees,
  GRADIENT_BOOSTING_DEFAULTS,
} from "../baselines/gradient_boosting.ts";
import { type Matrix, matrix, takeRows } from "../baselines/regressor.ts";
import { smote, type SmoteOptions } from "../baselines/smote.ts";
import type { StateArray } from "../baselines/regressor.ts";
import {
  CONFIG_FILE,
  configFields,
  readConfigJson,
  readModelFile,
  WEIGHTS_FILE,
  writeModelDirAtomic,
} from "../io/model_files.ts";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../io/safetensors.ts";
import { prettyJson } from "../models/model_dir.ts";
import { Rng } from "../random.ts";

/** Format tag of a GFA classifier directory. */
export const GFA_MODEL_FORMAT = "alloy-gfa-classifier/1";

/** Boosting defaults of the classifier (XGBoost-like regularisation; see the README for how they were chosen). */
export const GFA_BOOST_DEFAULTS: BoostOptions = {
  ...GRADIENT_BOOSTING_DEFAULTS,
  nEstimators: 300,
  learningRate: 0.1,
  maxDepth: 6,
  subsample: 0.8,
  lambda: 1,
  minChildWeight: 1,
};

// ---------------------------------------------------------------------------------------------------------------
// folds

/**
 * K folds grouped by `groups` (e.g. element systems): every group lies wholly in one fold. Groups are shuffled
 * (seeded) and then assigned, largest first, to the fold with the fewest rows so far, so folds are balanced.
 * @returns the test rows of each fold (ascending)
 * @throws {UserError} when there are fewer groups than folds
 */
export function groupedFolds(groups: readonly string[], k: number, seed = 0): number[][] {
  checkK(k, groups.length);
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => {
    let rows = byGroup.get(g);
    if (!rows) byGroup.set(g, rows = []);
    rows.push(i);
  });
  if (byGroup.size < k) {
    throw new UserError(`${k} grouped folds need at least ${k} groups, found ${byGroup.size}`);
  }
  const names = [...byGroup.keys()].sort();
  new Rng(seed, 0xf01d).shuffle(names);
  // stable sort by size (descending) keeps the shuffled order among equal sizes
  names.sort((a, b) => byGroup.get(b)!.length - byGroup.get(a)!.length);
  const folds: number[][] = Array.from({ length: k }, () => []);
  for (const g of names) {
    let best = 0;
    for (let f = 1; f < k; f++) if (folds[f].length < folds[best].length) best = f;
    folds[best].push(...byGroup.get(g)!);
  }
  return folds.map((f) => f.sort((a, b) => a - b));
}

/** K random folds of n rows (seeded shuffle, sizes differ by at most one). */
export function randomFolds(n: number, k: number, seed = 0): number[][] {
  checkK(k, n);
  const idx = Array.from({ length: n }, (_, i) => i);
  new Rng(seed, 0xf01e).shuffle(idx);
  const folds: number[][] = Array.from({ length: k }, () => []);
  idx.forEach((r, i) => folds[i % k].push(r));
  return folds.map((f) => f.sort((a, b) => a - b));
}

function checkK(k: number, n: number) {
  if (!(Number.isInteger(k) && k >= 2)) throw new UserError(`--folds must be a whole number ≥ 2 (got ${k})`);
  if (n < k) throw new UserError(`${k} folds need at least ${k} compositions, found ${n}`);
}

// ---------------------------------------------------------------------------------------------------------------
// metrics

/**
 * Area under the ROC curve of `scores` for binary `labels` (Mann–Whitney U, ties counted half).
 * @returns NaN when only one class is present
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0, nPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1; // average 1-based rank of the tie block
    for (let t = i; t <= j; t++) if (labels[order[t]] === 1) rankSumPos += rank, nPos++;
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - nPos * (nPos + 1) / 2) / (nPos * nNeg);
}

/** Confusion counts at a threshold (positive = glass). */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Classification metrics of probabilities against 0/1 labels. */
export interface ClassMetrics {
  accuracy: number;
  /** null when the rows hold one class only. */
  auc: number | null;
  /** Share of the more frequent class among these rows (the accuracy of always guessing it). */
  majority_rate: number;
  confusion: Confusion;
}

/** Accuracy, AUC, majority-class rate and confusion counts of `p` (P(glass)) at `threshold`. */
export function classMetrics(p: ArrayLike<number>, y: ArrayLike<number>, threshold = 0.5): ClassMetrics {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  let pos = 0;
  for (let i = 0; i < p.length; i++) {
    const pred = p[i] >= threshold;
    if (y[i] === 1) pos++, pred ? c.tp++ : c.fn++;
    else pred ? c.fp++ : c.tn++;
  }
  const n = p.length;
  const auc = rocAuc(p, y);
  return {
    accuracy: (c.tp + c.tn) / n,
    auc: Number.isFinite(auc) ? auc : null,
    majority_rate: Math.max(pos, n - pos) / n,
    confusion: c,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// training

/** The rows one model is fitted on (for audits such as the no-leak test): the input rows, then SMOTE's. */
export interface GfaTrainingSet {
  x: Matrix;
  y: Float64Array;
  /** Synthetic rows at the end of `x`. */
  synthetic: number;
  /** For each synthetic row, its two parent rows (indices into the input rows) and position u. */
  parents: { a: Int32Array; b: Int32Array; u: Float64Array };
  /** In cross-validation: the fold and the data rows of the input rows, in order. */
  fold?: number;
  rows?: readonly number[];
}

/** Options of {@link crossValidateGfa} and {@link fitGfa}. */
export interface GfaFitOptions {
  boost?: Partial<BoostOptions>;
  /** SMOTE options, or false for none (default: balanced, k = 5). */
  smote?: SmoteOptions | false;
  seed?: number;
  /** Called with the exact rows each model is fitted on (after oversampling). */
  onTrainingSet?: (set: GfaTrainingSet) => void;
  /**
   * Undo the class-prior shift of the oversampling (default true): the fitted log-odds get
   * log(n₁/n₀) − log(n₁'/n₀') added (counts before and after SMOTE), so P(glass) is again calibrated to the
   * training rows' class balance and 0.5 stays the accuracy-optimal threshold (prior correction of Elkan, IJCAI
   * 2001; King & Zeng, Political Analysis 9 (2001) 137). AUC is unaffected (a constant shift).
   */
  priorCorrection?: boolean;
}

/** One fold's result. */
export interface FoldResult extends ClassMetrics {
  fold: number;
  n_train: number;
  n_test: number;
  /** Synthetic rows SMOTE added to this fold's training rows. */
  n_synthetic: number;
  seconds: number;
}

/** Cross-validation result: pooled out-of-fold metrics plus each fold. */
export interface CvResult extends ClassMetrics {
  folds: FoldResult[];
  /** Mean of the folds' accuracy and AUC. */
  fold_mean: { accuracy: number; auc: number | null };
  /** Out-of-fold P(glass) of every row. */
  oof: Float64Array;
  seconds: number;
}

/** Log-odds of the label-1 share of `y`. */
function labelLogOdds(y: ArrayLike<number>): number {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i];
  return Math.log(Math.max(pos, 0.5) / Math.max(y.length - pos, 0.5));
}

/** Fits one model on rows (x, y) with SMOTE applied to exactly these rows (see {@link GfaFitOptions}). */
export function fitGfa(x: Matrix, y: Float64Array, options: GfaFitOptions = {}): {
  model: BoostedTrees;
  synthetic: number;
  /** Log-odds shift of the prior correction (0 without oversampling). */
  priorShift: number;
} {
  const seed = options.seed ?? 0;
  let xs = x, ys = y, synthetic = 0;
  let parents: GfaTrainingSet["parents"] = {
    a: new Int32Array(0),
    b: new Int32Array(0),
    u: new Float64Array(0),
  };
  if (options.smote !== false) {
    const s = smote(x, y, { seed, ...(options.smote ?? {}) });
    xs = s.x, ys = s.y, synthetic = s.synthetic, parents = s.parents;
  }
  options.onTrainingSet?.({ x: xs, y: ys, synthetic, parents });
  const fitted = fitBoostedTrees(xs, ys, { ...GFA_BOOST_DEFAULTS, ...options.boost, loss: "logistic", seed });
  const priorShift = synthetic > 0 && options.priorCorrection !== false
    ? labelLogOdds(y) - labelLogOdds(ys)
    : 0;
  const model = priorShift === 0
    ? fitted
    : new BoostedTrees(fitted.loss, fitted.init + priorShift, fitted.trees, fitted.nFeatures, fitted.options);
  return { model, synthetic, priorShift };
}

/**
 * K-fold cross-validation: for each fold, SMOTE on that fold's training rows only, fit, predict the test rows.
 * @param folds test rows of each fold ({@link groupedFolds} / {@link randomFolds}); they must partition the rows
 * @param onFold progress callback after each fold
 */
export function crossValidateGfa(
  x: Matrix,
  y: Float64Array,
  folds: readonly number[][],
  options: GfaFitOptions = {},
  onFold?: (done: number, f: FoldResult) => void,
): CvResult {
  const t0 = performance.now();
  const n = x.rows;
  const foldOf = new Int32Array(n).fill(-1);
  folds.forEach((f, k) =>
    f.forEach((r) => {
      if (foldOf[r] !== -1) throw new Error(`crossValidateGfa: row ${r} is in folds ${foldOf[r]} and ${k}`);
      foldOf[r] = k;
    })
  );
  if (foldOf.includes(-1)) throw new Error("crossValidateGfa: the folds do not cover every row");
  const oof = new Float64Array(n);
  const results: FoldResult[] = [];
  folds.forEach((test, k) => {
    const t1 = performance.now();
    const train: number[] = [];
    for (let i = 0; i < n; i++) if (foldOf[i] !== k) train.push(i);
    const audit = options.onTrainingSet;
    const { model, synthetic } = fitGfa(
      takeRows(x, train),
      Float64Array.from(train, (i) => y[i]),
      {
        ...options,
        seed: (options.seed ?? 0) * 1000 + k,
        onTrainingSet: audit && ((s) => audit({ ...s, fold: k, rows: train })),
      },
    );
    const p = model.predictProba(takeRows(x, test));
    test.forEach((r, i) => oof[r] = p[i]);
    const m = classMetrics(p, Float64Array.from(test, (i) => y[i]));
    const fr: FoldResult = {
      fold: k,
      n_train: train.length,
      n_test: test.length,
      n_synthetic: synthetic,
      ...m,
      seconds: (performance.now() - t1) / 1000,
    };
    results.push(fr);
    onFold?.(k + 1, fr);
  });
  const pooled = classMetrics(oof, y);
  const aucs = results.map((r) => r.auc).filter((a): a is number => a !== null);
  return {
    ...pooled,
    folds: results,
    fold_mean: {
      accuracy: results.reduce((s, r) => s + r.accuracy, 0) / results.length,
      auc: aucs.length ? aucs.reduce((s, a) => s + a, 0) / aucs.length : null,
    },
    oof,
    seconds: (performance.now() - t0) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// the saved model

/** config.json of a GFA classifier directory. */
export interface GfaModelConfig {
  format: typeof GFA_MODEL_FORMAT;
  kind: "boosted-trees";
  descriptors: DescriptorSet;
  /** D1 element order; a composition may contain only these. */
  elements: string[];
  feature_names: string[];
  /** P(glass) ≥ threshold is called glass. */
  threshold: number;
  params: Record<string, unknown>;
  data: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
  options: Record<string, unknown>;
  created: string;
  weights_sha256: string;
}

/** A loaded (or freshly fitted) GFA classifier: P(glass) of compositions. */
export class GfaClassifier {
  constructor(readonly model: BoostedTrees, readonly config: GfaModelConfig) {}

  /** The D1 element order. */
  get elements(): readonly string[] {
    return this.config.elements;
  }

  /**
   * P(glass) of compositions given as fractions over {@link GfaClassifier.elements} (rows × E; normalised here).
   * Descriptors run on the engine (`backend`, default the current device) unless `compute: "host"`.
   */
  async predictFractions(
    fractions: ArrayLike<number>,
    options: EngineDescriptorOptions & { compute?: "engine" | "host" } = {},
  ): Promise<Float64Array> {
    if (fractions.length === 0) return new Float64Array(0);
    const d = await descriptorMatrix(this.config.descriptors, fractions, this.config.elements, options);
    return this.model.predictProba(matrix(d.rows, d.cols, d.data));
  }

  /**
   * Fractions over the model's elements of formulas.
   * @throws {UserError} naming the formula for a parse error or an element outside the model's list
   */
  formulasToFractions(formulas: readonly string[]): Float64Array {
    const E = this.elements.length, idx = new Map(this.elements.map((e, i) => [e, i]));
    const out = new Float64Array(formulas.length * E);
    formulas.forEach((f, r) => {
      const p = parseFormula(f, { elements: this.elements });
      p.elements.forEach((e, k) => out[r * E + idx.get(e)!] += p.fractions[k]);
    });
    return out;
  }

  /** P(glass) of formulas. @throws {UserError} as {@link GfaClassifier.formulasToFractions} */
  async predictFormulas(
    formulas: readonly string[],
    options: EngineDescriptorOptions & { compute?: "engine" | "host" } = {},
  ): Promise<Float64Array> {
    return await this.predictFractions(this.formulasToFractions(formulas), options);
  }
}

/** What {@link saveGfaModel} writes besides the trees. */
export interface GfaModelInput {
  descriptors: DescriptorSet;
  elements: readonly string[];
  threshold?: number;
  data?: Record<string, unknown> | null;
  metrics?: Record<string, unknown> | null;
  options?: Record<string, unknown>;
  created?: string;
}

function jsonSafe(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x)));
}

/**
 * Writes a fitted classifier as a model directory, atomically (hidden sibling folder, then rename).
 * @throws {UserError} naming `dir` when it cannot be written or holds something else
 */
export async function saveGfaModel(
  dir: string,
  model: BoostedTrees,
  input: GfaModelInput,
): Promise<GfaClassifier> {
  if (model.loss !== "logistic") {
    throw new Error("saveGfaModel: the model was not fitted with the logistic loss");
  }
  const names = descriptorNames(input.descriptors, input.elements);
  if (names.length !== model.nFeatures) {
    throw new Error(`saveGfaModel: ${names.length} descriptor columns, the model has ${model.nFeatures}`);
  }
  const state = model.state();
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, a] of Object.entries(state.arrays)) {
    tensors[name] = { dtype: a.dtype, shape: [...a.shape], data: a.data } as SafeTensor;
  }
  const weights = await encodeSafetensors(tensors, { format: GFA_MODEL_FORMAT, kind: "boosted-trees" });
  const config: GfaModelConfig = {
    format: GFA_MODEL_FORMAT,
    kind: "boosted-trees",
    descriptors: input.descriptors,
    elements: [...input.elements],
    feature_names: names,
    threshold: input.threshold ?? 0.5,
    params: state.params,
    data: jsonSafe(input.data ?? null) as Record<string, unknown> | null,
    metrics: jsonSafe(input.metrics ?? null) as Record<string, unknown> | null,
    options: jsonSafe(input.options ?? {}) as Record<string, unknown>,
    created: input.created ?? new Date().toISOString(),
    weights_sha256: await sha256Hex(weights),
  };
  await writeModelDirAtomic(dir, {
    weights,
    config: new TextEncoder().encode(prettyJson(config) + "\n"),
  }, { format: GFA_MODEL_FORMAT, what: "a GFA classifier directory" });
  return new GfaClassifier(model, config);
}

function parseGfaConfig(json: unknown, where: string): GfaModelConfig {
  const { o, bad } = configFields(
    json,
    where,
    GFA_MODEL_FORMAT,
    "(a directory written by 'alloy bmg train-classifier --out')",
  );
  if (o.kind !== "boosted-trees") bad("kind", 'must be "boosted-trees"');
  if (!(DESCRIPTOR_SETS as readonly unknown[]).includes(o.descriptors)) {
    bad("descriptors", `must be one of ${DESCRIPTOR_SETS.join(", ")}`);
  }
  if (!Array.isArray(o.elements) || o.elements.length === 0) bad("elements", "must be a non-empty list");
  const els = o.elements as unknown[];
  els.forEach((e, i) => {
    if (typeof e !== "string" || !isElementSymbol(e)) bad("elements", `item ${i} is not an element symbol`);
    if (els.indexOf(e) !== i) bad("elements", `lists ${e} twice`);
  });
  const names = descriptorNames(o.descriptors as DescriptorSet, els as string[]);
  if (JSON.stringify(o.feature_names) !== JSON.stringify(names)) {
    bad("feature_names", `do not match the '${o.descriptors}' descriptors of the element list`);
  }
  if (!(typeof o.threshold === "number" && o.threshold > 0 && o.threshold < 1)) {
    bad("threshold", "must be in (0, 1)");
  }
  if (o.params === null || typeof o.params !== "object") bad("params", "must be an object");
  if (typeof o.weights_sha256 !== "string" || !/^[0-9a-f]{64}$/.test(o.weights_sha256)) {
    bad("weights_sha256", "must be 64 lowercase hex digits");
  }
  return o as unknown as GfaModelConfig;
}

/**
 * Reads and checks a GFA classifier directory's config.json only (cheap; the weights are not read).
 * @throws {UserError} naming the file and the problem
 */
export async function readGfaModelConfig(dir: string): Promise<GfaModelConfig> {
  const { path, json } = await readConfigJson(dir);
  return parseGfaConfig(json, path);
}

/**
 * Loads a GFA classifier directory, checking the format tag, every config field and both checksums.
 * @throws {UserError} naming the file and the problem
 */
export async function loadGfaModel(dir: string): Promise<GfaClassifier> {
  const { path: cpath, json } = await readConfigJson(dir);
  const config = parseGfaConfig(json, cpath);
  const path = join(dir, WEIGHTS_FILE);
  const bytes = await readModelFile(path, "model weights");
  if ((await sha256Hex(bytes)) !== config.weights_sha256) {
    throw new UserError(
      `${path}: SHA-256 does not match weights_sha256 in ${CONFIG_FILE} (altered or replaced)`,
    );
  }
  const file = await decodeSafetensors(bytes, path, { requireChecksum: true, requireFinite: true });
  if (file.metadata.format !== GFA_MODEL_FORMAT) {
    throw new UserError(`${path}: format tag '${file.metadata.format}', expected '${GFA_MODEL_FORMAT}'`);
  }
  const arrays: Record<string, StateArray> = {};
  for (const [name, t] of Object.entries(file.tensors)) {
    if (t.dtype !== "F64" && t.dtype !== "F32" && t.dtype !== "I32") {
      throw new UserError(`${path}: array '${name}' is ${t.dtype}; expected F64, F32 or I32`);
    }
    arrays[name] = t as StateArray;
  }
  const model = BoostedTrees.restore({ params: config.params, arrays }, cpath);
  if (model.loss !== "logistic") throw new UserError(`${cpath}: params.loss must be "logistic"`);
  if (model.nFeatures !== config.feature_names.length) {
    throw new UserError(
      `${cpath}: the trees take ${model.nFeatures} features, feature_names lists ${config.feature_names.length}`,
    );
  }
  return new GfaClassifier(model, config);
}

/** Descriptor matrix → {@link Matrix} (drops the names). */
export function asMatrix(d: DescriptorMatrix): Matrix {
  return matrix(d.rows, d.cols, d.data);
}
