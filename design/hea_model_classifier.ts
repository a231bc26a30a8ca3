/**
 * The classifier head of a trained HEA model directory (nn/models/hea_model_dir.ts) as a screening classifier
 * (design/hea_screening.ts `HeaClassifier`): raw descriptors → each member's standardiser → q(φ = 1 | f(x)) =
 * σ(classifier logit). A directory with R > 1 members runs them as one batched program ([R, N, 8]) and returns the
 * mean of their probabilities. Also builds the descriptor tables the model was trained with.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { LoadedHeaModel } from "../nn/models/hea_model_dir.ts";
import { add, broadcastTo, mean, mul, reshape, sigmoid, tensor } from "../nn/ops.ts";
import { keep } from "../nn/scope.ts";
import { type HeaTables, paperTables, physicalTables } from "../data/hea_tables.ts";
import type { HeaResolveOptions } from "../data/hea_dataset.ts";
import type { HeaClassifier } from "./hea_screening.ts";

/** A model directory's classifier, ready for `screenHea`. */
export interface HeaModelClassifier {
  classify: HeaClassifier;
  /** Whether `classify` needs the compositions (the model has a composition branch). */
  needsComposition: boolean;
  /** Number of members averaged. */
  members: number;
}

/**
 * Wraps the loaded model's classifier head.
 * @param be the backend the model was loaded on
 */
export function heaModelClassifier(loaded: LoadedHeaModel, be: Backend): HeaModelClassifier {
  const { model, scalers } = loaded;
  const R = model.replicas, C = model.arch.descriptors, E = model.arch.elements;
  // (x − mean)/scale = x·a + b per member, as [R, 1, C] (or [1, C]) so one broadcast covers the batch.
  const a = new Float64Array(R * C), b = new Float64Array(R * C);
  scalers.forEach((s, r) => {
    for (let j = 0; j < C; j++) a[r * C + j] = 1 / s.scale[j], b[r * C + j] = -s.mean[j] / s.scale[j];
  });
  const shape = R > 1 ? [R, 1, C] : [1, C];
  const A = keep(tensor(a, shape, { backend: be })), B = keep(tensor(b, shape, { backend: be }));
  const needsComposition = model.arch.compositionBranch;
  const classify: HeaClassifier = (desc: Tensor, comp?: Tensor) => {
    const N = desc.shape[0];
    const x = needsComposition ? comp! : null;
    if (R === 1) return reshape(sigmoid(model.classifierLogit(add(mul(desc, A), B), x)), [N]);
    const f = add(mul(reshape(desc, [1, N, C]), A), B); // [R, N, C]
    const xr = x ? broadcastTo(reshape(x, [1, N, E]), [R, N, E]) : null;
    return reshape(mean(sigmoid(model.classifierLogit(f, xr)), 0), [N]);
  };
  return { classify, needsComposition, members: R };
}

/**
 * The descriptor tables a model directory was trained with, in its element order (`paper` needs the data folder).
 * @param data where the paper's tables are (see `resolveHeaFile`)
 */
export async function heaModelTables(
  loaded: LoadedHeaModel,
  data: HeaResolveOptions = {},
): Promise<HeaTables> {
  const els = loaded.config.elements;
  return loaded.config.tables === "paper" ? await paperTables(data, els) : physicalTables(els);
}
