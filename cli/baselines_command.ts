/**
 * `alloy baselines`: fits the conventional regressors (random forest, boosted trees, SVR, KNN, Ridge, Lasso, MLP,
 * Gaussian process) on the same rows, inputs and metrics as the VIBANN model and reports them side by side.
 *
 * - `--protocol cv` (default): the split file's fixed `kfold5` folds, or plain seeded K-fold (`--folds`) without
 *   one; `--protocol holdout`: the split file's train/test rows, or the reference split (train + calibration rows
 *   train, test rows test). See `nn/baselines/protocol.ts`.
 * - Writes into `--out` (default runs/baselines-<time>): `parity_<kind>.svg` per model, `predictions.csv` (the
 *   out-of-fold predictions of every model, one row per predicted data row), `metrics.json` (the `--json` object)
 *   and `splits.json` (the exact rows); with `--save` also one model directory per model, `<out>/<kind>`, fitted on
 *   every training row of the protocol (cv: all rows; holdout: the train rows), usable by `alloy predict --model`.
 * - Progress goes to stderr; stdout holds the table, or with `--json` exactly one JSON object.
 * @module
 */
import { type Command, intFlag, stringFlag, timestamp } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { Progress } from "./progress.ts";
import { loadHardnessDataset } from "../data/hardness.ts";
import { referenceSplit } from "../data/reference_split.ts";
import { type FixedSplits, loadSplitFile, splitsRecord, writeSplitsJson } from "../data/split_file.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { sha256Hex } from "../data/checksum.ts";
import { fileErrorText } from "../data/csv.ts";
import { join } from "../data/paths.ts";
import { writeJsonAtomic } from "../nn/models/model_dir.ts";
import { formatMetric } from "../nn/metrics/format.ts";
import { BASELINE_KINDS, type BaselineKind } from "../nn/baselines/regressor.ts";
import { BASELINE_SPECS } from "../nn/baselines/registry.ts";
import {
  type BaselineData,
  type BaselineMetrics,
  type BaselineResult,
  cvFolds,
  fitBaseline,
  holdoutFold,
  type ProtocolFold,
  runBaselines,
} from "../nn/baselines/protocol.ts";
import { saveBaselineDir } from "../nn/baselines/baseline_dir.ts";
import { parityPlot } from "../plot/parity.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `--models rf,gbt,…` into kinds in the order given.
 * @throws {UserError} naming the flag for an empty list, an unknown kind, or a repeat
 */
export function parseModelList(text: string): BaselineKind[] {
  const names = text.split(",").map((s) => s.trim());
  if (names.length === 0 || names.some((n) => n === "")) {
    throw new UserError(
      `flag --models: expected a comma-separated list of ${BASELINE_KINDS.join(",")}, got '${text}'`,
    );
  }
  const out: BaselineKind[] = [];
  for (const n of names) {
    const kind = n.toLowerCase() as BaselineKind;
    if (!BASELINE_KINDS.includes(kind)) {
      throw new UserError(`flag --models: unknown model '${n}' (choose from ${BASELINE_KINDS.join(", ")})`);
    }
    if (out.includes(kind)) throw new UserError(`flag --models: '${n}' is listed twice`);
    out.push(kind);
  }
  return out;
}

const round = (x: number, d = 4) => +x.toFixed(d);

/** Metrics as JSON (non-finite → null, as JSON.stringify would). */
function metricsJson(m: BaselineMetrics): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(m)) {
    if (v !== undefined) out[k] = typeof v === "number" && Number.isFinite(v) ? v : null;
  }
  return out;
}

/** One model's entry of the JSON summary. */
function modelJson(r: BaselineResult): Record<string, unknown> {
  return {
    name: r.name,
    params: r.params,
    metrics: metricsJson(r.metrics),
    fold_mean: r.foldMean,
    folds: r.folds.map((f) => ({
      fold: f.label,
      n_train: f.nTrain,
      n_test: f.nTest,
      ...metricsJson(f.metrics),
      fit_seconds: round(f.fitSeconds),
      predict_seconds: round(f.predictSeconds),
    })),
    fit_seconds: round(r.fitSeconds),
    predict_seconds: round(r.predictSeconds),
  };
}

/** The human-readable table: one line per model. */
function resultTable(results: readonly BaselineResult[]): string {
  const withStd = results.some((r) => r.metrics.nlpd !== undefined);
  const header = ["model", "RMSE", "MAE", "R²", ...(withStd ? ["NLPD"] : []), "fit s", "predict s"];
  const rows = results.map((r) => [
    r.kind,
    formatMetric(r.metrics.rmse),
    formatMetric(r.metrics.mae),
    formatMetric(r.metrics.r2),
    ...(withStd ? [formatMetric(r.metrics.nlpd)] : []),
    r.fitSeconds.toFixed(2),
    r.predictSeconds.toFixed(2),
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k].length)));
  const line = (row: string[]) =>
    row.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * The out-of-fold predictions of every model as CSV, one line per predicted data row (ascending): row, fold, hv_true,
 * one column per model (+ `<kind>_std` for models with σ).
 */
function predictionsCsv(
  results: readonly BaselineResult[],
  folds: readonly ProtocolFold[],
  hv: ArrayLike<number>,
): string {
  const cell = (v: number) => `${+v.toPrecision(7)}`;
  const first = results[0].predictions;
  const cols = results.flatMap((r) => (r.predictions.std ? [r.kind, `${r.kind}_std`] : [r.kind]));
  const lines = [["row", "fold", "hv_true", ...cols].join(",")];
  const index = results.map((r) => new Map(r.predictions.rows.map((row, i) => [row, i])));
  const order = first.rows.map((_, i) => i).sort((a, b) => first.rows[a] - first.rows[b]);
  order.forEach((i) => {
    const row = first.rows[i];
    const cells = [String(row), folds[first.fold[i]].label, cell(hv[row])];
    results.forEach((r, m) => {
      const j = index[m].get(row)!;
      cells.push(cell(r.predictions.mean[j]));
      if (r.predictions.std) cells.push(cell(r.predictions.std[j]));
    });
    lines.push(cells.join(","));
  });
  return lines.join("\n") + "\n";
}

/** `alloy baselines`. */
export const baselinesCommand: Command = {
  name: "baselines",
  summary:
    "fit and compare the baseline regressors (RF, GBT, SVR, KNN, Ridge, Lasso, MLP, GP) on the same splits",
  usage:
    "[--models rf,gbt,svr,knn,ridge,lasso,mlp,gp] [--protocol cv|holdout] [--splits FILE] [--out DIR] [--save] [--json]",
  flags: {
    models: {
      type: "string",
      value: "LIST",
      help: `comma-separated models, any of ${BASELINE_KINDS.join(",")} (default: all)`,
    },
    protocol: { type: "string", value: "cv|holdout", default: "cv", help: "evaluation protocol" },
    splits: {
      type: "string",
      value: "FILE",
      help:
        "fixed split file (hardness_splits.json): its kfold5 folds, or its holdout split with --protocol holdout",
    },
    folds: { type: "string", value: "K", default: "5", help: "folds for --protocol cv without --splits" },
    data: {
      type: "string",
      value: "PATH",
      help: "hardness CSV (default: ALLOY_DATA_DIR, cache or download)",
    },
    seed: {
      type: "string",
      value: "N",
      default: "1",
      help: "seed of the models and of K-fold / reference split",
    },
    out: { type: "string", value: "DIR", help: "output folder (default: runs/baselines-<time>)" },
    save: {
      type: "boolean",
      help: "also fit each model on all training rows and write a model directory <out>/<kind>",
    },
    json: { type: "boolean", help: "print one JSON object on stdout" },
    quiet: { type: "boolean", short: "q", help: "no progress on stderr" },
  },
  async run(flags: Flags, positionals: string[]): Promise<number> {
    if (positionals.length > 0) throw new UserError(`baselines: unexpected argument '${positionals[0]}'`);
    const kinds = stringFlag(flags, "models") !== undefined
      ? parseModelList(stringFlag(flags, "models")!)
      : [...BASELINE_KINDS];
    const protocol = stringFlag(flags, "protocol")!;
    if (protocol !== "cv" && protocol !== "holdout") {
      throw new UserError(`flag --protocol: expected cv or holdout, got '${protocol}'`);
    }
    const seed = intFlag(flags, "seed", 1, 0);
    const k = intFlag(flags, "folds", 5, 2);
    const splitsPath = stringFlag(flags, "splits");
    const outDir = stringFlag(flags, "out") ?? join("runs", `baselines-${timestamp()}`);
    const quiet = !!flags.quiet, json = !!flags.json;

    const ds = await loadHardnessDataset({ dataPath: stringFlag(flags, "data") });
    for (const n of ds.notices) console.error(`notice: ${n}`);
    let fixed: FixedSplits | null = null, splitsSha: string | null = null;
    if (splitsPath) {
      fixed = await loadSplitFile(splitsPath, { nRows: ds.nRows, sha256: ds.sha256, file: ds.file });
      try {
        splitsSha = await sha256Hex(await Deno.readFile(splitsPath));
      } catch (e) {
        throw new UserError(`${splitsPath}: ${fileErrorText(e)}`);
      }
    }
    let folds: ProtocolFold[], split: string;
    if (protocol === "cv") {
      if (!fixed && k > ds.nRows) throw new UserError(`flag --folds: ${k} folds for ${ds.nRows} rows`);
      folds = cvFolds(ds.nRows, k, seed, fixed);
      split = fixed ? `kfold${fixed.kfold.length} (split file)` : `kfold${k}`;
    } else {
      folds = [holdoutFold(fixed ?? referenceSplit(ds, ds.families, { seed }))];
      split = fixed ? "holdout (split file)" : "reference";
    }
    const be = await openDevice(flags);
    const data: BaselineData = {
      fractions: ds.fractions,
      elements: ds.elementColumns.length,
      load: ds.properties.Load,
      hv: ds.properties.HV,
    };

    const bar = new Progress(`baselines (${kinds.join(",")})`, kinds.length * folds.length, !quiet);
    const results = await runBaselines(data, folds, kinds.map((kind) => ({ spec: BASELINE_SPECS[kind] })), {
      backend: be,
      seed,
      onFold: ({ kind, fold, folds: nf, done }) =>
        bar.update(done, `${kind} ${folds[fold].label} (${fold + 1}/${nf})`),
    });
    bar.done();

    const dataRecord = { file: ds.file, sha256: ds.sha256, n_rows: ds.nRows };
    const models: Record<string, Record<string, unknown>> = {};
    for (const r of results) {
      const entry = modelJson(r);
      const svg = join(outDir, `parity_${r.kind}.svg`);
      const rows = r.predictions.rows;
      await writeFileAtomic(
        svg,
        parityPlot(
          Float64Array.from(rows, (row) => data.hv[row]),
          r.predictions.mean,
          r.predictions.std,
          {
            title: `${r.name} — ${
              protocol === "cv" ? `${folds.length}-fold CV (out-of-fold)` : "holdout test"
            }`,
          },
        ),
      );
      entry.parity_svg = svg;
      models[r.kind] = entry;
    }
    await writeFileAtomic(join(outDir, "predictions.csv"), predictionsCsv(results, folds, data.hv));
    const sets: Record<string, number[]> = protocol === "holdout"
      ? { train: folds[0].train, test: folds[0].test }
      : {};
    await writeSplitsJson(
      join(outDir, "splits.json"),
      splitsRecord({
        dataFile: ds.file,
        dataSha256: ds.sha256,
        nRows: ds.nRows,
        method: split,
        seed,
        sets,
        ...(protocol === "cv" ? { folds: folds.map((f) => f.test) } : {}),
      }),
    );

    if (flags.save) {
      const trainRows = protocol === "cv" ? Array.from({ length: ds.nRows }, (_, i) => i) : folds[0].train;
      for (const r of results) {
        if (!quiet) {
          console.error(`fitting ${r.kind} on ${trainRows.length} rows for ${join(outDir, r.kind)}`);
        }
        const fitted = await fitBaseline(data, trainRows, { spec: BASELINE_SPECS[r.kind] }, {
          backend: be,
          seed,
        });
        const dir = join(outDir, r.kind);
        await saveBaselineDir(dir, fitted.model, {
          name: r.name,
          elements: ds.elementColumns,
          loadScaler: fitted.loadScaler,
          loadRange: fitted.loadRange,
          data: dataRecord,
          metrics: { protocol, split, ...metricsJson(r.metrics), fold_mean: r.foldMean },
          options: { protocol, split, seed, train_rows: trainRows.length, splits_file: splitsPath ?? null },
        });
        models[r.kind].model_dir = dir;
        models[r.kind].final_fit_seconds = round(fitted.fitSeconds);
        fitted.model.dispose?.();
      }
    }

    const summary = {
      protocol,
      split,
      splits_file: splitsPath ?? null,
      splits_sha256: splitsSha,
      data: dataRecord,
      n: results[0].metrics.n,
      folds: folds.length,
      seed,
      device: be.description,
      models,
      out: outDir,
      predictions_csv: join(outDir, "predictions.csv"),
    };
    await writeJsonAtomic(join(outDir, "metrics.json"), summary);
    if (json) {
      console.log(JSON.stringify(summary));
    } else {
      console.log(resultTable(results));
      if (!quiet) {
        console.error(
          `${split}, ${results[0].metrics.n} predicted rows, on ${be.description}; wrote ${outDir}`,
        );
      }
    }
    return 0;
  },
};
