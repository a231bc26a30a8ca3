/**
 * One GFA-classifier training run (`alloy bmg train-classifier`): read the metallic-glass sources, merge equal
 * compositions across sources BEFORE any split (data/bmg_dataset.ts), compute the descriptor set on the engine in
 * batches (data/bmg_descriptors.ts), cross-validate grouped by element system (headline) and, beside it, with
 * random folds over compositions, then fit the final model on every composition (nn/train/gfa_classifier.ts).
 *
 * The D1 element list is the whole element-property table (by atomic number), so the saved model scores any
 * composition over those elements (the hardness designer's included). SMOTE runs inside each training fold only.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import {
  type BmgSkippedRow,
  type BmgSourceName,
  type ConflictRule,
  dedupBmg,
  fractionMatrix,
  loadBmgSources,
} from "../../data/bmg_dataset.ts";
import { descriptorMatrix, type DescriptorSet } from "../../data/bmg_descriptors.ts";
import { TABLE_ELEMENTS } from "../../data/element_properties.ts";
import { sortByAtomicNumber } from "../../data/elements.ts";
import type { Backend } from "../backend.ts";
import type { BoostedTrees, BoostOptions } from "../baselines/gradient_boosting.ts";
import type { SmoteOptions } from "../baselines/smote.ts";
import {
  asMatrix,
  crossValidateGfa,
  type CvResult,
  fitGfa,
  GFA_BOOST_DEFAULTS,
  groupedFolds,
  randomFolds,
} from "./gfa_classifier.ts";

/** Defaults of {@link GfaRunOptions}. */
export const GFA_RUN_DEFAULTS = {
  descriptors: "cd2" as DescriptorSet,
  folds: 10,
  seed: 0,
  conflict: "majority" as ConflictRule,
};

/** Everything a training run takes. */
export interface GfaRunOptions {
  /** Sources to merge (default all five). */
  sources?: readonly BmgSourceName[];
  /** Explicit data folder (`--data`; the `bmg/` folder or the folder holding it). */
  dataDir?: string;
  descriptors?: DescriptorSet;
  folds?: number;
  seed?: number;
  conflict?: ConflictRule;
  boost?: Partial<BoostOptions>;
  /** SMOTE options inside each training fold, or false for none. */
  smote?: SmoteOptions | false;
  /** Also run random-by-composition folds (default true). */
  randomCv?: boolean;
  /** Fit and return the final model on every composition (default true). */
  fitFinal?: boolean;
  /** Backend of the descriptor computation (default: the current device). */
  backend?: Backend;
  /** Progress: stage name, done, total. */
  onProgress?: (stage: string, done: number, total: number, status: string) => void;
}

/** Counts of the data that went in. */
export interface GfaRunData {
  sources: BmgSourceName[];
  files: Partial<Record<BmgSourceName, string>>;
  /** Rows read (labelled, usable). */
  records: number;
  /** Rows skipped, in total, per source, and every one of them. */
  skipped: number;
  skipped_by_source: Partial<Record<BmgSourceName, number>>;
  skipped_rows: BmgSkippedRow[];
  /** Rows merged into an earlier row of the same normalised composition. */
  duplicates: number;
  /** Compositions whose rows disagree on the label. */
  conflicts: number;
  conflict_rule: ConflictRule;
  n_compositions: number;
  n_glass: number;
  n_crystal: number;
  n_systems: number;
}

/** Result of {@link runGfaTraining}. */
export interface GfaRunResult {
  data: GfaRunData;
  /** D1 element list (the whole element-property table). */
  elements: string[];
  descriptors: DescriptorSet;
  nFeatures: number;
  /** Grouped-by-element-system CV. */
  grouped: CvResult;
  /** Random-by-composition CV (null when not asked for). */
  random: CvResult | null;
  /** Model fitted on every composition (null when `fitFinal` is false). */
  model: BoostedTrees | null;
  /** Synthetic rows SMOTE added to the final fit. */
  finalSynthetic: number;
  boost: BoostOptions;
  seconds: {
    data: number;
    descriptors: number;
    grouped: number;
    random: number;
    final: number;
    total: number;
  };
}

/**
 * Runs the whole training (see the module doc).
 * @throws {UserError} for missing data files, too few compositions or element systems for the folds
 */
export async function runGfaTraining(o: GfaRunOptions = {}): Promise<GfaRunResult> {
  const t0 = performance.now();
  const progress = o.onProgress ?? (() => {});
  const set = o.descriptors ?? GFA_RUN_DEFAULTS.descriptors;
  const k = o.folds ?? GFA_RUN_DEFAULTS.folds;
  const seed = o.seed ?? GFA_RUN_DEFAULTS.seed;
  const rule = o.conflict ?? GFA_RUN_DEFAULTS.conflict;
  const boost: BoostOptions = { ...GFA_BOOST_DEFAULTS, ...o.boost };

  progress("data", 0, 1, "");
  const src = await loadBmgSources({ sources: o.sources, dataDir: o.dataDir });
  const dd = dedupBmg(src.records, rule);
  const comps = dd.compositions;
  if (comps.length < k) {
    throw new UserError(`${k} folds need at least ${k} compositions, the data hold ${comps.length}`);
  }
  const y = Float64Array.from(comps, (c) => (c.glass ? 1 : 0));
  const nGlass = comps.filter((c) => c.glass).length;
  if (nGlass === 0 || nGlass === comps.length) {
    throw new UserError(
      `the data hold only ${nGlass === 0 ? "crystal" : "glass"} labels; a classifier needs both`,
    );
  }
  const systems = comps.map((c) => c.system);
  const bySource: Partial<Record<BmgSourceName, number>> = {};
  for (const s of src.skipped) bySource[s.source] = (bySource[s.source] ?? 0) + 1;
  const sources = (o.sources ?? Object.keys(src.files)) as BmgSourceName[];
  const data: GfaRunData = {
    sources: [...sources],
    files: src.files,
    records: src.records.length,
    skipped: src.skipped.length,
    skipped_by_source: bySource,
    skipped_rows: src.skipped,
    duplicates: dd.duplicates,
    conflicts: dd.conflicts,
    conflict_rule: rule,
    n_compositions: comps.length,
    n_glass: nGlass,
    n_crystal: comps.length - nGlass,
    n_systems: new Set(systems).size,
  };
  progress("data", 1, 1, `${comps.length} compositions`);
  const tData = performance.now();

  const elements = sortByAtomicNumber(new Set(TABLE_ELEMENTS));
  const fractions = fractionMatrix(comps, elements);
  const batch = 1024;
  const nBatches = Math.ceil(comps.length / batch);
  progress("descriptors", 0, nBatches, set);
  const desc = await descriptorMatrix(set, fractions, elements, { backend: o.backend, batchSize: batch });
  progress("descriptors", nBatches, nBatches, set);
  const x = asMatrix(desc);
  const tDesc = performance.now();

  const fit = { boost, smote: o.smote, seed };
  const folds = groupedFolds(systems, k, seed);
  const grouped = crossValidateGfa(
    x,
    y,
    folds,
    fit,
    (d, f) => progress("grouped CV", d, k, `acc ${f.accuracy.toFixed(3)} auc ${f.auc?.toFixed(3) ?? "-"}`),
  );
  const tGrouped = performance.now();
  let random: CvResult | null = null;
  if (o.randomCv !== false) {
    random = crossValidateGfa(
      x,
      y,
      randomFolds(comps.length, k, seed),
      fit,
      (d, f) => progress("random CV", d, k, `acc ${f.accuracy.toFixed(3)} auc ${f.auc?.toFixed(3) ?? "-"}`),
    );
  }
  const tRandom = performance.now();
  let model: BoostedTrees | null = null, finalSynthetic = 0;
  if (o.fitFinal !== false) {
    progress("final fit", 0, 1, "");
    const f = fitGfa(x, y, { ...fit, seed: seed * 1000 + k });
    model = f.model, finalSynthetic = f.synthetic;
    progress("final fit", 1, 1, "");
  }
  const tEnd = performance.now();
  return {
    data,
    elements,
    descriptors: set,
    nFeatures: desc.cols,
    grouped,
    random,
    model,
    finalSynthetic,
    boost,
    seconds: {
      data: (tData - t0) / 1000,
      descriptors: (tDesc - tData) / 1000,
      grouped: (tGrouped - tDesc) / 1000,
      random: (tRandom - tGrouped) / 1000,
      final: (tEnd - tRandom) / 1000,
      total: (tEnd - t0) / 1000,
    },
  };
}
