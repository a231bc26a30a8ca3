/**
 * The report's {@link ExplainableModel} of a loaded model directory (either architecture): the model with its
 * per-member scalers and element names from the directory's config.
 * @module
 */
import { type ExplainableModel, vibannExplainable } from "../explain/explainable_model.ts";
import type { VibannBase } from "../nn/models/vibann.ts";
import { memberScalers, type ModelDirConfig } from "../nn/models/model_dir.ts";
import type { Backend } from "../nn/backend.ts";

/**
 * The explainable view of member `member` (default 0) of a model directory's model.
 * @throws {Error} when the model does not live on `be`
 * @example
 * ```ts
 * const em = reportExplainable(model, config, be);
 * ```
 */
export function reportExplainable(
  model: VibannBase,
  config: ModelDirConfig,
  be: Backend,
  member = 0,
): ExplainableModel {
  const em = vibannExplainable(model, memberScalers(config), { elements: config.elements, member });
  if (em.backend !== be) throw new Error("report: the model is not on the report's backend");
  return em;
}
