/**
 * Gradient-boosted trees (plain TypeScript, float64), second order as XGBoost: every round fits a tree to the
 * per-row gradient g and hessian h of the loss at the current raw prediction (leaf value −G/(H+λ), split gain and
 * γ / min_child_weight as in {@link growTree}) and adds learning_rate × the tree.
 *
 * - `gradientBoosting` is the hardness regressor (`kind` "gbt"), squared loss. Its defaults are scikit-learn
 *   GradientBoostingRegressor's: 100 rounds, learning_rate 0.1, max_depth 3, subsample 1.0, min_samples_split 2,
 *   min_samples_leaf 1, all features, initial prediction = mean of y, and λ = γ = min_child_weight = 0. With h = 1
 *   and λ = 0 a round is exactly scikit-learn's (its friedman_mse split criterion ranks splits like the variance
 *   reduction used here, and its leaf values are the mean residuals).
 * - {@link fitBoostedTrees} is the reusable lower level: squared or logistic loss (raw score = log-odds, initial
 *   value the log-odds of the weighted mean label), sample weights, row subsampling without replacement
 *   (`Rng(seed, round)`), optional early stopping on a validation set. For the logistic loss set λ ≥ 1 or
 *   min_child_weight > 0 (XGBoost's defaults are λ = 1, min_child_weight = 1) — without them a leaf of
 *   confidently wrong rows takes a huge Newton step.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { Rng } from "../random.ts";
import {
  checkPredictColumns,
  checkTrainingData,
  checkTreeOptions,
  growTree,
  type MaxFeatures,
  prepareColumns,
  type RegressionTree,
  treesFromArrays,
  treesToArrays,
} from "./decision_tree.ts";
import type {
  BaselineSpec,
  BaselineState,
  Matrix,
  Regressor,
  RegressorPrediction,
  StateArray,
} from "./regressor.ts";

/** Boosting hyperparameters (scikit-learn / XGBoost names in camelCase). */
export interface BoostOptions {
  /** Boosting rounds (n_estimators); fewer when early stopping ends the fit. */
  nEstimators: number;
  /** Shrinkage applied to every tree (learning_rate / eta). */
  learningRate: number;
  /** Depth of each tree; null = unlimited. */
  maxDepth: number | null;
  /** Fraction of rows (drawn without replacement, per round) each tree is fitted on. */
  subsample: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  /** Features tried per split: fraction in (0, 1], count > 1, "sqrt", "log2" or null (all). */
  maxFeatures: MaxFeatures;
  /** L2 penalty on leaf values (XGBoost lambda). */
  lambda: number;
  /** Minimum split gain (XGBoost gamma). */
  gamma: number;
  /** Minimum hessian sum per child (XGBoost min_child_weight). */
  minChildWeight: number;
}

/** Hyperparameters of the `gbt` hardness baseline. */
export type GradientBoostingParams = BoostOptions;

/** scikit-learn GradientBoostingRegressor's defaults (λ = γ = min_child_weight = 0). */
export const GRADIENT_BOOSTING_DEFAULTS: GradientBoostingParams = {
  nEstimators: 100,
  learningRate: 0.1,
  maxDepth: 3,
  subsample: 1.0,
  minSamplesSplit: 2,
  minSamplesLeaf: 1,
  maxFeatures: null,
  lambda: 0,
  gamma: 0,
  minChildWeight: 0,
};

/** The loss boosted: squared error (regression) or logistic (binary labels in [0, 1], raw score = log-odds). */
export type BoostLoss = "squared" | "logistic";

/** Everything {@link fitBoostedTrees} takes besides the data; unset hyperparameters come from the defaults. */
export interface BoostFitOptions extends Partial<BoostOptions> {
  loss: BoostLoss;
  /** Per-row weights ≥ 0 (rows of weight 0 take no part). */
  sampleWeight?: Float64Array;
  /** Seed of the row subsample and feature draws (default 0). */
  seed?: number;
  /** Rows scored after every round (loss history; early stopping when `earlyStoppingRounds` is set). */
  validation?: { x: Matrix; y: Float64Array; sampleWeight?: Float64Array };
  /** Stop when the validation loss has not improved for this many rounds, keeping the best round's trees. */
  earlyStoppingRounds?: number;
}

/** Per-round mean losses (weighted MSE or log loss) after each tree. */
export interface BoostHistory {
  train: number[];
  validation?: number[];
}

const sigmoid = (f: number) => (f >= 0 ? 1 / (1 + Math.exp(-f)) : Math.exp(f) / (1 + Math.exp(f)));

/** Mean per-row loss of raw scores `raw` (weighted). */
function meanLoss(loss: BoostLoss, raw: Float64Array, y: Float64Array, w?: Float64Array): number {
  let s = 0, sw = 0;
  for (let i = 0; i < y.length; i++) {
    const wi = w ? w[i] : 1;
    const f = raw[i];
    // log(1 + e^f) − y·f, written so it does not overflow
    const l = loss === "squared"
      ? (y[i] - f) ** 2
      : Math.max(f, 0) + Math.log1p(Math.exp(-Math.abs(f))) - y[i] * f;
    s += wi * l;
    sw += wi;
  }
  return s / sw;
}

function checkBoostOptions(o: BoostOptions, where: string): void {
  const bad = (field: string, want: string, got: unknown) =>
    new UserError(`${where}: ${field} must be ${want} (got ${JSON.stringify(got)})`);
  if (!(Number.isInteger(o.nEstimators) && o.nEstimators >= 1)) {
    throw bad("nEstimators", "an integer ≥ 1", o.nEstimators);
  }
  if (!(typeof o.learningRate === "number" && o.learningRate > 0 && Number.isFinite(o.learningRate))) {
    throw bad("learningRate", "a finite number > 0", o.learningRate);
  }
  if (!(typeof o.subsample === "number" && o.subsample > 0 && o.subsample <= 1)) {
    throw bad("subsample", "a number in (0, 1]", o.subsample);
  }
  checkTreeOptions(o, where);
}

function checkWeights(w: Float64Array | undefined, n: number, field: string, where: string): void {
  if (!w) return;
  if (w.length !== n) throw new UserError(`${where}: ${field} has ${w.length} values for ${n} rows`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!(Number.isFinite(w[i]) && w[i] >= 0)) {
      throw new UserError(`${where}: ${field} row ${i} is ${w[i]}, not ≥ 0`);
    }
    sum += w[i];
  }
  if (!(sum > 0)) throw new UserError(`${where}: ${field} is zero for every row`);
}

function checkLabels(loss: BoostLoss, y: Float64Array, field: string, where: string): void {
  if (loss !== "logistic") return;
  for (let i = 0; i < y.length; i++) {
    if (!(y[i] >= 0 && y[i] <= 1)) {
      throw new UserError(`${where}: ${field} row ${i} is ${y[i]}, not a label in [0, 1]`);
    }
  }
}

/** A fitted boosted ensemble: raw score = init + Σ trees (tree values already include the learning rate). */
export class BoostedTrees {
  /** Losses per round of the fit that made this model (empty after {@link BoostedTrees.restore}). */
  history: BoostHistory = { train: [] };

  constructor(
    readonly loss: BoostLoss,
    /** Initial raw score (mean of y, or log-odds of the mean label). */
    readonly init: number,
    readonly trees: RegressionTree[],
    readonly nFeatures: number,
    readonly options: BoostOptions,
  ) {}

  /** Raw scores: predictions for squared loss, log-odds for logistic. */
  predictRaw(x: Matrix): Float64Array {
    checkPredictColumns(x, this.nFeatures, "boosted trees");
    const out = new Float64Array(x.rows).fill(this.init);
    for (const t of this.trees) t.addPredictions(x, out);
    return out;
  }

  /** P(y = 1) for every row (logistic loss only). */
  predictProba(x: Matrix): Float64Array {
    if (this.loss !== "logistic") throw new Error("predictProba: the model was fitted with the squared loss");
    return this.predictRaw(x).map(sigmoid);
  }

  /** JSON params (options, loss, init, nFeatures) and the packed trees. */
  state(): { params: Record<string, unknown>; arrays: Record<string, StateArray> } {
    return {
      params: { ...this.options, loss: this.loss, init: this.init, nFeatures: this.nFeatures },
      arrays: treesToArrays(this.trees),
    };
  }

  /**
   * Rebuilds a model from {@link BoostedTrees.state}.
   * @throws {UserError} naming the bad field (prefixed with `where`)
   */
  static restore(
    s: { params: Record<string, unknown>; arrays: Record<string, StateArray> },
    where = "boosted trees state",
  ): BoostedTrees {
    const p = s.params;
    const options = { ...GRADIENT_BOOSTING_DEFAULTS };
    for (const k of Object.keys(GRADIENT_BOOSTING_DEFAULTS) as (keyof BoostOptions)[]) {
      if (!(k in p)) throw new UserError(`${where}: params.${k} is missing`);
      (options as Record<string, unknown>)[k] = p[k];
    }
    checkBoostOptions(options, where);
    if (p.loss !== "squared" && p.loss !== "logistic") {
      throw new UserError(
        `${where}: params.loss must be "squared" or "logistic" (got ${JSON.stringify(p.loss)})`,
      );
    }
    if (!(typeof p.init === "number" && Number.isFinite(p.init))) {
      throw new UserError(`${where}: params.init must be a finite number (got ${JSON.stringify(p.init)})`);
    }
    const nFeatures = p.nFeatures;
    if (!(typeof nFeatures === "number" && Number.isInteger(nFeatures) && nFeatures >= 1)) {
      throw new UserError(
        `${where}: params.nFeatures must be an integer ≥ 1 (got ${JSON.stringify(nFeatures)})`,
      );
    }
    return new BoostedTrees(p.loss, p.init, treesFromArrays(s.arrays, nFeatures, where), nFeatures, options);
  }
}

/**
 * Fits boosted trees to (x, y).
 * @throws {UserError} for bad options, weights, labels or data
 * @example
 * ```ts
 * const m = fitBoostedTrees(x, labels, { loss: "logistic", lambda: 1, minChildWeight: 1, seed: 7 });
 * const p = m.predictProba(xNew);
 * ```
 */
export function fitBoostedTrees(x: Matrix, y: Float64Array, opts: BoostFitOptions): BoostedTrees {
  const where = opts.loss === "squared" ? "gbt" : "boosted trees";
  const options: BoostOptions = { ...GRADIENT_BOOSTING_DEFAULTS };
  for (const k of Object.keys(GRADIENT_BOOSTING_DEFAULTS) as (keyof BoostOptions)[]) {
    if (opts[k] !== undefined) (options as unknown as Record<string, unknown>)[k] = opts[k];
  }
  checkBoostOptions(options, where);
  if (opts.loss !== "squared" && opts.loss !== "logistic") {
    throw new UserError(`${where}: loss must be "squared" or "logistic" (got ${JSON.stringify(opts.loss)})`);
  }
  checkTrainingData(x, y, where);
  checkLabels(opts.loss, y, "y", where);
  const n = x.rows, w = opts.sampleWeight;
  checkWeights(w, n, "sampleWeight", where);
  const val = opts.validation;
  if (val) {
    checkTrainingData(val.x, val.y, `${where} validation`);
    checkPredictColumns(val.x, x.cols, `${where} validation`);
    checkLabels(opts.loss, val.y, "validation y", where);
    checkWeights(val.sampleWeight, val.x.rows, "validation sampleWeight", where);
  }
  const patience = opts.earlyStoppingRounds;
  if (patience !== undefined && !(Number.isInteger(patience) && patience >= 1)) {
    throw new UserError(
      `${where}: earlyStoppingRounds must be an integer ≥ 1 (got ${JSON.stringify(patience)})`,
    );
  }
  if (patience !== undefined && !val) {
    throw new UserError(`${where}: earlyStoppingRounds needs a validation set`);
  }
  const seed = opts.seed ?? 0;

  let sw = 0, swy = 0;
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i] : 1;
    sw += wi;
    swy += wi * y[i];
  }
  const mean = swy / sw;
  const init = opts.loss === "squared" ? mean : Math.log(Math.max(mean, 1e-15) / Math.max(1 - mean, 1e-15));

  const cols = prepareColumns(x);
  const raw = new Float64Array(n).fill(init);
  const valRaw = val ? new Float64Array(val.x.rows).fill(init) : undefined;
  const grad = new Float64Array(n), hess = new Float64Array(n), mask = new Uint8Array(n);
  const nSub = Math.max(1, Math.floor(options.subsample * n));
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const trees: RegressionTree[] = [];
  const history: BoostHistory = { train: [], validation: val ? [] : undefined };
  let best = Infinity, bestRound = -1;

  for (let round = 0; round < options.nEstimators; round++) {
    const rng = new Rng(seed, round);
    if (nSub < n) {
      // the first nSub entries of a partial Fisher–Yates shuffle are the round's rows
      mask.fill(0);
      for (let k = 0; k < nSub; k++) {
        const j = k + rng.int(n - k);
        const t = rows[k];
        rows[k] = rows[j];
        rows[j] = t;
        mask[rows[k]] = 1;
      }
    } else mask.fill(1);
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i] : 1;
      if (wi === 0) mask[i] = 0;
      if (opts.loss === "squared") {
        grad[i] = wi * (raw[i] - y[i]);
        hess[i] = wi;
      } else {
        const p = sigmoid(raw[i]);
        grad[i] = wi * (p - y[i]);
        hess[i] = wi * Math.max(p * (1 - p), 1e-16);
      }
    }
    const tree = growTree(cols, { grad, hess, mask, rng }, options);
    for (let k = 0; k < tree.value.length; k++) tree.value[k] *= options.learningRate;
    trees.push(tree);
    tree.addPredictions(x, raw);
    history.train.push(meanLoss(opts.loss, raw, y, w));
    if (val && valRaw) {
      tree.addPredictions(val.x, valRaw);
      const l = meanLoss(opts.loss, valRaw, val.y, val.sampleWeight);
      history.validation!.push(l);
      if (l < best) best = l, bestRound = round;
      if (patience !== undefined && round - bestRound >= patience) break;
    }
  }
  if (patience !== undefined) trees.length = bestRound + 1;
  const model = new BoostedTrees(opts.loss, init, trees, x.cols, options);
  model.history = history;
  return model;
}

/** The `gbt` hardness regressor: a squared-loss {@link BoostedTrees}. */
export class GradientBoostingRegressor implements Regressor {
  readonly kind = "gbt" as const;
  constructor(readonly model: BoostedTrees) {}

  async predict(x: Matrix): Promise<RegressorPrediction> {
    return await Promise.resolve({ mean: this.model.predictRaw(x) });
  }

  state(): BaselineState {
    return { kind: "gbt", ...this.model.state() };
  }
}

/** The gradient-boosted trees baseline (`kind` "gbt"). */
export const gradientBoosting: BaselineSpec<GradientBoostingParams> = {
  kind: "gbt",
  name: "gradient-boosted trees",
  defaults: GRADIENT_BOOSTING_DEFAULTS,
  // async so that bad input rejects the promise rather than throwing synchronously
  async fit(x, y, params, ctx) {
    return await Promise.resolve(
      new GradientBoostingRegressor(fitBoostedTrees(x, y, { ...params, loss: "squared", seed: ctx.seed })),
    );
  },
  restore(state) {
    if (state.kind !== "gbt") throw new UserError(`gbt state: kind is '${state.kind}', not 'gbt'`);
    const model = BoostedTrees.restore(state, "gbt state");
    if (model.loss !== "squared") throw new UserError(`gbt state: params.loss must be "squared"`);
    return new GradientBoostingRegressor(model);
  },
};
