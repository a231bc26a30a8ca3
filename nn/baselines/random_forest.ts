/**
 * Random forest regressor (plain TypeScript, float64): bootstrap-aggregated least-squares trees from
 * {@link growTree}. Defaults are scikit-learn RandomForestRegressor's: 100 trees, max_features 1.0 (all features
 * per split), bootstrap, min_samples_split 2, min_samples_leaf 1, unlimited depth. Tree t draws its bootstrap
 * sample and its per-split feature order from `Rng(seed, t)`, so a fit is a pure function of the seed. A bootstrap
 * row drawn c times has weight c (as scikit-learn); min_samples_* count distinct rows.
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
  TREE_DEFAULTS,
  treesFromArrays,
  treesToArrays,
} from "./decision_tree.ts";
import type { BaselineSpec, BaselineState, Matrix, Regressor, RegressorPrediction } from "./regressor.ts";

/** Random forest hyperparameters (scikit-learn names in camelCase). */
export interface RandomForestParams {
  /** Number of trees (n_estimators). */
  nEstimators: number;
  /** Deepest level, null = grow until pure or limited by the sample counts. */
  maxDepth: number | null;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  /** Features tried per split: fraction in (0, 1], count > 1, "sqrt", "log2" or null (all). */
  maxFeatures: MaxFeatures;
  /** Fit each tree on a bootstrap sample (n draws with replacement) instead of all rows. */
  bootstrap: boolean;
}

/** scikit-learn RandomForestRegressor's defaults. */
export const RANDOM_FOREST_DEFAULTS: RandomForestParams = {
  nEstimators: 100,
  maxDepth: null,
  minSamplesSplit: 2,
  minSamplesLeaf: 1,
  maxFeatures: 1.0,
  bootstrap: true,
};

function checkParams(p: RandomForestParams): void {
  if (!(Number.isInteger(p.nEstimators) && p.nEstimators >= 1)) {
    throw new UserError(`rf: nEstimators must be an integer ≥ 1 (got ${JSON.stringify(p.nEstimators)})`);
  }
  if (typeof p.bootstrap !== "boolean") {
    throw new UserError(`rf: bootstrap must be true or false (got ${JSON.stringify(p.bootstrap)})`);
  }
  checkTreeOptions({ ...TREE_DEFAULTS, ...treeOptions(p) }, "rf");
}

function treeOptions(p: RandomForestParams) {
  return {
    ...TREE_DEFAULTS,
    maxDepth: p.maxDepth,
    minSamplesSplit: p.minSamplesSplit,
    minSamplesLeaf: p.minSamplesLeaf,
    maxFeatures: p.maxFeatures,
  };
}

/** A fitted forest: the mean of its trees' predictions. */
export class RandomForest implements Regressor {
  readonly kind = "rf" as const;
  constructor(
    readonly trees: RegressionTree[],
    readonly nFeatures: number,
    readonly params: RandomForestParams,
  ) {}

  /** Mean prediction of the trees for every row (synchronous; {@link predict} wraps it). */
  predictMean(x: Matrix): Float64Array {
    checkPredictColumns(x, this.nFeatures, "rf");
    const out = new Float64Array(x.rows);
    for (const t of this.trees) t.addPredictions(x, out);
    for (let i = 0; i < out.length; i++) out[i] /= this.trees.length;
    return out;
  }

  async predict(x: Matrix): Promise<RegressorPrediction> {
    return await Promise.resolve({ mean: this.predictMean(x) });
  }

  state(): BaselineState {
    return {
      kind: "rf",
      params: { ...this.params, nFeatures: this.nFeatures },
      arrays: treesToArrays(this.trees),
    };
  }
}

/**
 * Fits a forest (synchronously; the spec's `fit` wraps it).
 * @throws {UserError} for bad hyperparameters or data
 */
export function fitRandomForest(
  x: Matrix,
  y: Float64Array,
  params: RandomForestParams,
  seed: number,
): RandomForest {
  checkParams(params);
  checkTrainingData(x, y, "rf");
  const n = x.rows;
  const cols = prepareColumns(x);
  const opts = treeOptions(params);
  const grad = new Float64Array(n), hess = new Float64Array(n), mask = new Uint8Array(n);
  const trees: RegressionTree[] = [];
  for (let t = 0; t < params.nEstimators; t++) {
    const rng = new Rng(seed, t);
    hess.fill(params.bootstrap ? 0 : 1);
    if (params.bootstrap) { for (let k = 0; k < n; k++) hess[rng.int(n)] += 1; }
    for (let i = 0; i < n; i++) {
      grad[i] = -y[i] * hess[i];
      mask[i] = hess[i] > 0 ? 1 : 0;
    }
    trees.push(growTree(cols, { grad, hess, mask, rng }, opts));
  }
  return new RandomForest(trees, x.cols, { ...params });
}

function paramsFromState(s: Record<string, unknown>): RandomForestParams {
  const p = { ...RANDOM_FOREST_DEFAULTS };
  for (const k of Object.keys(RANDOM_FOREST_DEFAULTS) as (keyof RandomForestParams)[]) {
    if (!(k in s)) throw new UserError(`rf state: params.${k} is missing`);
    (p as Record<string, unknown>)[k] = s[k];
  }
  checkParams(p);
  return p;
}

/** The random forest baseline (`kind` "rf"). */
export const randomForest: BaselineSpec<RandomForestParams> = {
  kind: "rf",
  name: "random forest",
  defaults: RANDOM_FOREST_DEFAULTS,
  // async so that bad input rejects the promise rather than throwing synchronously
  async fit(x, y, params, ctx) {
    return await Promise.resolve(fitRandomForest(x, y, { ...RANDOM_FOREST_DEFAULTS, ...params }, ctx.seed));
  },
  restore(state) {
    if (state.kind !== "rf") throw new UserError(`rf state: kind is '${state.kind}', not 'rf'`);
    const params = paramsFromState(state.params);
    const nFeatures = state.params.nFeatures;
    if (!(typeof nFeatures === "number" && Number.isInteger(nFeatures) && nFeatures >= 1)) {
      throw new UserError(
        `rf state: params.nFeatures must be an integer ≥ 1 (got ${JSON.stringify(nFeatures)})`,
      );
    }
    const trees = treesFromArrays(state.arrays, nFeatures, "rf state");
    if (trees.length !== params.nEstimators) {
      throw new UserError(
        `rf state: ${trees.length} trees stored but params.nEstimators is ${params.nEstimators}`,
      );
    }
    return new RandomForest(trees, nFeatures, params);
  },
};
