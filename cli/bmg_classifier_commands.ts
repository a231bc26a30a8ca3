/**
 * The glass-forming-ability (GFA) classifier subcommands of `alloy bmg` (issue 10, part 2):
 * - `bmg train-classifier`: merges the metallic-glass sources (deduplicated by normalised composition before any
 *   split), computes the descriptor set on the device, cross-validates boosted trees with SMOTE inside the training
 *   folds (10 folds grouped by element system; random-by-composition folds beside), fits the final model on every
 *   composition and writes it as a model directory (`--out`, default runs/gfa-classifier). With `--json`, stdout is
 *   `{"metrics":{"accuracy","auc","majority_rate","confusion","folds":[…]},"random_cv":{…},"n_compositions",
 *   "model_dir",…}`. Bad data rows (an unparsable formula, an element without properties, …) are skipped and
 *   counted (`skipped`, `skipped_by_source`, the first rows in `skipped_examples`).
 * - `bmg classify`: P(glass) of formulas (arguments, `--formula`, or a CSV's `formula` column) with a saved model.
 *
 * The pipeline is nn/train/gfa_training_run.ts; the model directory format nn/train/gfa_classifier.ts.
 * @module
 */
import { type Command, intFlag, rangeFlag, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { Progress } from "./progress.ts";
import { readCsvFile } from "../data/csv.ts";
import { basename } from "../data/paths.ts";
import { type ConflictRule, parseBmgSourceList } from "../data/bmg_dataset.ts";
import { parseDescriptorSet } from "../data/bmg_descriptors.ts";
import { formatFormula, parseFormula } from "../data/formula.ts";
import type { BoostOptions } from "../nn/baselines/gradient_boosting.ts";
import { type CvResult, GFA_BOOST_DEFAULTS, loadGfaModel, saveGfaModel } from "../nn/train/gfa_classifier.ts";
import { GFA_RUN_DEFAULTS, type GfaRunResult, runGfaTraining } from "../nn/train/gfa_training_run.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** Default `--out` of `bmg train-classifier`. */
export const DEFAULT_GFA_OUT = "runs/gfa-classifier";
/** Skipped rows listed in the JSON (all are counted). */
const SKIPPED_EXAMPLES = 20;

function r4(x: number | null | undefined): number | null {
  return x !== null && x !== undefined && Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null;
}

/** The JSON form of a cross-validation result (per-fold rows without the out-of-fold vector). */
export function cvJson(cv: CvResult, kind: string): Record<string, unknown> {
  return {
    cv: kind,
    accuracy: r4(cv.accuracy),
    auc: r4(cv.auc),
    majority_rate: r4(cv.majority_rate),
    confusion: cv.confusion,
    fold_mean: { accuracy: r4(cv.fold_mean.accuracy), auc: r4(cv.fold_mean.auc) },
    folds: cv.folds.map((f) => ({
      fold: f.fold,
      n_train: f.n_train,
      n_test: f.n_test,
      n_synthetic: f.n_synthetic,
      accuracy: r4(f.accuracy),
      auc: r4(f.auc),
      majority_rate: r4(f.majority_rate),
      confusion: f.confusion,
      seconds: r4(f.seconds),
    })),
    seconds: r4(cv.seconds),
  };
}

/** The `--json` object of `bmg train-classifier`. */
export function trainClassifierJson(r: GfaRunResult, modelDir: string | null): Record<string, unknown> {
  const d = r.data;
  return {
    metrics: cvJson(r.grouped, "grouped by element system"),
    random_cv: r.random ? cvJson(r.random, "random by composition") : null,
    n_compositions: d.n_compositions,
    n_glass: d.n_glass,
    n_crystal: d.n_crystal,
    n_systems: d.n_systems,
    model_dir: modelDir,
    descriptors: r.descriptors,
    n_features: r.nFeatures,
    data: {
      sources: d.sources,
      files: d.files,
      records: d.records,
      duplicates: d.duplicates,
      conflicts: d.conflicts,
      conflict_rule: d.conflict_rule,
      skipped: d.skipped,
      skipped_by_source: d.skipped_by_source,
      skipped_examples: d.skipped_rows.slice(0, SKIPPED_EXAMPLES).map((s) => ({
        file: basename(s.file),
        line: s.line,
        reason: s.reason,
      })),
    },
    params: { ...r.boost, smote_synthetic_final: r.finalSynthetic },
    seconds: Object.fromEntries(Object.entries(r.seconds).map(([k, v]) => [k, r4(v)])),
  };
}

function pct(x: number | null): string {
  return x === null ? "-" : x.toFixed(4);
}

/** The human-readable summary of a training run. */
export function trainClassifierSummary(r: GfaRunResult, modelDir: string | null): string {
  const d = r.data, g = r.grouped, c = g.confusion;
  const bySrc = Object.entries(d.skipped_by_source).map(([s, n]) => `${s} ${n}`).join(", ");
  const lines = [
    `gfa classifier: ${d.n_compositions} compositions (${d.n_glass} glass, ${d.n_crystal} crystal, ${d.n_systems} ` +
    `element systems) from ${d.records} rows of ${
      d.sources.join(", ")
    }; ${d.duplicates} duplicate rows merged, ` +
    `${d.conflicts} conflicting compositions (${d.conflict_rule})`,
    `skipped rows: ${d.skipped}${bySrc ? ` (${bySrc})` : ""}`,
    `descriptors: ${r.descriptors} (${r.nFeatures} columns); boosted trees ${r.boost.nEstimators} × depth ` +
    `${r.boost.maxDepth}, learning rate ${r.boost.learningRate}; SMOTE in the training folds`,
    `${g.folds.length}-fold CV grouped by element system: accuracy ${pct(g.accuracy)}, AUC ${pct(g.auc)} ` +
    `(majority rate ${pct(g.majority_rate)}); confusion tp ${c.tp} fp ${c.fp} tn ${c.tn} fn ${c.fn}`,
  ];
  if (r.random) {
    lines.push(
      `${r.random.folds.length}-fold CV random by composition: accuracy ${pct(r.random.accuracy)}, ` +
        `AUC ${pct(r.random.auc)}`,
    );
  }
  lines.push(
    "",
    "fold  n_test  accuracy  AUC     majority",
    ...g.folds.map((f) =>
      `${String(f.fold).padStart(4)}  ${String(f.n_test).padStart(6)}  ${pct(f.accuracy).padStart(8)}  ` +
      `${pct(f.auc).padStart(6)}  ${pct(f.majority_rate)}`
    ),
    "",
    modelDir ? `wrote ${modelDir}` : "no model written (--no-save)",
    `time: ${r.seconds.total.toFixed(1)} s`,
  );
  return lines.join("\n");
}

/** Parses the boosting flags over {@link GFA_BOOST_DEFAULTS}. */
function boostFlags(flags: Flags): Partial<BoostOptions> {
  const D = GFA_BOOST_DEFAULTS;
  return {
    nEstimators: intFlag(flags, "trees", D.nEstimators, 1, 100_000),
    maxDepth: intFlag(flags, "depth", D.maxDepth ?? 6, 1, 64),
    learningRate: rangeFlag(flags, "learning-rate", D.learningRate, 1e-6, 1),
    subsample: rangeFlag(flags, "subsample", D.subsample, 0.01, 1),
  };
}

/** `alloy bmg train-classifier`. */
export const trainClassifierCommand: Command = {
  name: "bmg train-classifier",
  summary: "train the glass-forming-ability classifier (boosted trees, grouped CV, SMOTE) and save it",
  usage:
    "[--sources all|forrest,dmref,ward,bajpai,bajpai_thermal] [--descriptors cd2] [--folds 10] [--out DIR] " +
    "[--json]",
  flags: {
    data: {
      type: "string",
      value: "DIR",
      help: "data folder holding bmg/ (default: ALLOY_DATA_DIR or the cache)",
    },
    sources: {
      type: "string",
      value: "LIST",
      default: "all",
      help: "sources to merge: all, or a comma list of forrest, dmref, ward, bajpai, bajpai_thermal",
    },
    descriptors: {
      type: "string",
      value: "SET",
      default: GFA_RUN_DEFAULTS.descriptors,
      help: "d1, d2, d3, cd1 (D1+D3), cd2 (D1+D2), all (D1+D2+D3)",
    },
    folds: { type: "string", value: "K", default: String(GFA_RUN_DEFAULTS.folds), help: "CV folds" },
    "no-random-cv": {
      type: "boolean",
      help: "skip the random-by-composition CV reported beside the grouped one",
    },
    "no-smote": { type: "boolean", help: "no minority oversampling in the training folds" },
    conflict: {
      type: "string",
      value: "majority|any-glass",
      default: GFA_RUN_DEFAULTS.conflict,
      help: "label of a composition whose rows disagree (majority: ties count as glass)",
    },
    trees: {
      type: "string",
      value: "N",
      default: String(GFA_BOOST_DEFAULTS.nEstimators),
      help: "boosting rounds",
    },
    depth: { type: "string", value: "D", default: String(GFA_BOOST_DEFAULTS.maxDepth), help: "tree depth" },
    "learning-rate": {
      type: "string",
      value: "LR",
      default: String(GFA_BOOST_DEFAULTS.learningRate),
      help: "shrinkage of every tree",
    },
    subsample: {
      type: "string",
      value: "F",
      default: String(GFA_BOOST_DEFAULTS.subsample),
      help: "row fraction per tree",
    },
    seed: {
      type: "string",
      value: "S",
      default: String(GFA_RUN_DEFAULTS.seed),
      help: "seed of folds, SMOTE, trees",
    },
    out: {
      type: "string",
      value: "DIR",
      default: DEFAULT_GFA_OUT,
      help: "model directory to write (atomically)",
    },
    "no-save": { type: "boolean", help: "cross-validate only; fit and write no model" },
    json: { type: "boolean", help: "print one JSON object on stdout" },
    quiet: { type: "boolean", short: "q", help: "no progress bars" },
  },
  async run(flags: Flags, positionals: string[]): Promise<number> {
    if (positionals.length > 0) {
      throw new UserError(`bmg train-classifier: unexpected argument '${positionals[0]}'`);
    }
    const sources = parseBmgSourceList(stringFlag(flags, "sources") ?? "all");
    const descriptors = parseDescriptorSet(stringFlag(flags, "descriptors") ?? GFA_RUN_DEFAULTS.descriptors);
    const folds = intFlag(flags, "folds", GFA_RUN_DEFAULTS.folds, 2, 1000);
    const conflict = stringFlag(flags, "conflict") ?? GFA_RUN_DEFAULTS.conflict;
    if (conflict !== "majority" && conflict !== "any-glass") {
      throw new UserError(`flag --conflict: expected majority or any-glass, got '${conflict}'`);
    }
    const boost = boostFlags(flags);
    const seed = intFlag(flags, "seed", GFA_RUN_DEFAULTS.seed, 0, 0xffff_ffff);
    const save = flags["no-save"] !== true;
    const out = save ? (stringFlag(flags, "out") ?? DEFAULT_GFA_OUT) : null;
    const quiet = flags.quiet === true, json = flags.json === true;

    const be = await openDevice(flags);
    let bar: Progress | null = null, stage = "";
    const result = await runGfaTraining({
      sources,
      dataDir: stringFlag(flags, "data"),
      descriptors,
      folds,
      seed,
      conflict: conflict as ConflictRule,
      boost,
      smote: flags["no-smote"] === true ? false : undefined,
      randomCv: flags["no-random-cv"] !== true,
      fitFinal: save,
      backend: be,
      onProgress: (s, done, total, status) => {
        if (quiet) return;
        if (s !== stage) {
          bar?.done();
          bar = new Progress(s, total);
          stage = s;
        }
        bar!.update(done, status);
      },
    });
    (bar as Progress | null)?.done();
    if (out && result.model) {
      await saveGfaModel(out, result.model, {
        descriptors: result.descriptors,
        elements: result.elements,
        data: {
          ...trainClassifierJson(result, out).data as Record<string, unknown>,
          n_compositions: result.data.n_compositions,
        },
        metrics: {
          grouped: cvJson(result.grouped, "grouped by element system"),
          random: result.random ? cvJson(result.random, "random by composition") : null,
        },
        options: { folds, seed, conflict, smote: flags["no-smote"] !== true, sources },
      });
    }
    if (json) console.log(JSON.stringify(trainClassifierJson(result, out)));
    else console.log(trainClassifierSummary(result, out));
    return 0;
  },
};

/** Formulas from the positional arguments, `--formula`, and a CSV's `formula` column. */
async function classifyInputs(flags: Flags, positionals: string[]): Promise<string[]> {
  const f = flags.formula;
  const list = [...positionals, ...(f === undefined ? [] : typeof f === "string" ? [f] : f as string[])];
  const csv = stringFlag(flags, "csv");
  if (csv) {
    const t = await readCsvFile(csv);
    const j = t.header.indexOf("formula");
    if (j < 0) throw new UserError(`${csv}: no 'formula' column`);
    for (const r of t.records) {
      const v = (r.cells[j] ?? "").trim();
      if (v === "") throw new UserError(`${csv}: line ${r.line}: empty formula`);
      list.push(v);
    }
  }
  if (list.length === 0) {
    throw new UserError("bmg classify: give formulas as arguments, --formula F or --csv FILE");
  }
  return list;
}

/** `alloy bmg classify`. */
export const classifyCommand: Command = {
  name: "bmg classify",
  summary: "P(glass) of compositions with a saved GFA classifier",
  usage: "--model DIR [FORMULA …] [--formula F] [--csv FILE] [--json]",
  flags: {
    model: { type: "string", value: "DIR", help: "GFA classifier directory (bmg train-classifier --out)" },
    formula: {
      type: "string",
      value: "F",
      multiple: true,
      help: "a formula, e.g. Zr65Cu17.5Ni10Al7.5 (repeatable)",
    },
    csv: {
      type: "string",
      value: "FILE",
      help: "CSV with a 'formula' column (e.g. a design's candidates.csv)",
    },
    json: { type: "boolean", help: "print one JSON object on stdout" },
  },
  async run(flags: Flags, positionals: string[]): Promise<number> {
    const dir = stringFlag(flags, "model");
    if (!dir) throw new UserError("bmg classify: missing required flag --model DIR");
    const formulas = await classifyInputs(flags, positionals);
    const model = await loadGfaModel(dir);
    // Parse every formula first: a bad one fails before the device is opened.
    const fractions = model.formulasToFractions(formulas);
    const be = await openDevice(flags);
    const p = await model.predictFractions(fractions, { backend: be });
    const t = model.config.threshold;
    const rows = formulas.map((f, i) => {
      const parsed = parseFormula(f);
      const canonical = formatFormula(
        parsed.elements.map((e, k) => [e, parsed.fractions[k]] as [string, number]),
        {
          precision: 2,
        },
      );
      return { formula: canonical, input: f, p_glass: r4(p[i]), glass: p[i] >= t };
    });
    if (flags.json === true) {
      console.log(JSON.stringify({ model: dir, threshold: t, predictions: rows }));
    } else {
      const w = Math.max(7, ...rows.map((r) => r.formula.length));
      console.log(`${"formula".padEnd(w)}  P(glass)  call`);
      for (const r of rows) {
        console.log(
          `${r.formula.padEnd(w)}  ${(r.p_glass ?? 0).toFixed(4).padStart(8)}  ${
            r.glass ? "glass" : "crystal"
          }`,
        );
      }
    }
    return 0;
  },
};
