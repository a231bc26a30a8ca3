/**
 * Every baseline model kind and the spec that fits and restores it ({@link BASELINE_KINDS} order: the order tables
 * list them). The CLI picks models from here and the model-directory loader restores them.
 * @module
 */
import type { BaselineKind, BaselineSpec } from "./regressor.ts";
import { randomForest } from "./random_forest.ts";
import { gradientBoosting } from "./gradient_boosting.ts";
import { svr } from "./svr.ts";
import { knn } from "./knn.ts";
import { ridge } from "./ridge.ts";
import { lasso } from "./lasso.ts";
import { mlp } from "./mlp.ts";
import { gaussianProcess } from "./gaussian_process.ts";

/** The spec of each kind (the type requires one for every kind). */
export const BASELINE_SPECS: Readonly<Record<BaselineKind, BaselineSpec<any>>> = Object.freeze({
  rf: randomForest,
  gbt: gradientBoosting,
  svr,
  knn,
  ridge,
  lasso,
  mlp,
  gp: gaussianProcess,
});

/** The spec of `kind` (for `loadBaselineDir`); undefined for a name that is not a kind. */
export function baselineSpecFor(kind: BaselineKind): BaselineSpec<unknown> | undefined {
  return Object.hasOwn(BASELINE_SPECS, kind) ? BASELINE_SPECS[kind] : undefined;
}
