/**
 * `alloy train`: trains the VIBANN hardness model under a protocol (holdout or K-fold CV, several seeds, optional
 * nested hyperparameter search), evaluates it with MC-dropout uncertainty and split-conformal intervals, and writes a
 * model directory. All models of a phase train together on the replica axis. Progress goes to stderr; with `--json`
 * stdout holds exactly one JSON object.
 * @module
 */
import { VIBANN_ARCHS, type VibannArch } from "../nn/models/vibann_factory.ts";
import { ATTENTION_LIMITS } from "../nn/ops/fused.ts";
import { type Command, intFlag, numberFlag, stringFlag as str, timestamp } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { Progress } from "./progress.ts";
import { loadHardnessDataset } from "../data/hardness.ts";
import { referenceSplit } from "../data/reference_split.ts";
import { type FixedSplits, loadSplitFile, splitsRecord, writeSplitsJson } from "../data/split_file.ts";
import { familyWeights, type WeightMode } from "../data/weights.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { join } from "../data/paths.ts";
import {
  type BetaSchedule,
  type EpochLog,
  type HardnessArrays,
  REFERENCE_BETA,
  trainVibann,
  type VibannTrainOptions,
} from "../nn/train/vibann_trainer.ts";
import {
  bestTrials,
  cvSplits,
  finalPlans,
  holdoutSplit,
  type OuterSplit,
  searchPlans,
  type Trial,
} from "../nn/train/vibann_protocol.ts";
import { evaluateRun } from "../nn/train/vibann_evaluate.ts";
import { predictVibann } from "../nn/models/vibann_predict.ts";
import { formatMetricsTable } from "../nn/metrics/format.ts";
import { saveModelDir, writeJsonAtomic } from "../nn/models/model_dir.ts";
import { PUBLISHED_DROPOUT } from "../nn/models/keras_import.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

function rangeFlag(flags: Flags, name: string, fallback: number, lo: number, hi: number): number {
  const v = numberFlag(flags, name, fallback);
  if (!(v >= lo && v <= hi)) {
    throw new UserError(`flag --${name}: expected a number in [${lo}, ${hi}], got '${v}'`);
  }
  return v;
}

/** Writes a CSV atomically from a header and rows. */
async function writeCsv(path: string, header: string[], rows: (string | number | null)[][]): Promise<void> {
  const cell = (
    v: string | number | null,
  ) => (v === null ? "" : typeof v === "number" ? `${+v.toPrecision(7)}` : v);
  await writeFileAtomic(
    path,
    [header.join(","), ...rows.map((r) => r.map(cell).join(","))].join("\n") + "\n",
  );
}

/** The most elements present in any row of a row-major [n, E] fraction matrix. */
function maxElementCount(fractions: ArrayLike<number>, E: number): number {
  let most = 0;
  for (let i = 0; i < fractions.length; i += E) {
    let k = 0;
    for (let e = 0; e < E; e++) if (fractions[i + e] > 0) k++;
    most = Math.max(most, k);
  }
  return most;
}

export const trainCommand: Command = {
  name: "train",
  summary: "train the VIBANN hardness model (holdout or CV, seeds, search) and write a model directory",
  usage: "[--protocol holdout|cv] [--folds K | --splits FILE] [--seeds N] [--search T] [--out DIR] [--json]",
  flags: {
    data: {
      type: "string",
      value: "PATH",
      help: "hardness CSV (default: ALLOY_DATA_DIR, cache or download)",
    },
    arch: {
      type: "string",
      value: "reference|attention",
      default: "reference",
      help: "architecture: the published gate + pairwise network, or element-token attention",
    },
    tokens: { type: "string", value: "T", default: "8", help: "attention: element-token slots per alloy" },
    "d-model": { type: "string", value: "D", default: "64", help: "attention: token width" },
    heads: { type: "string", value: "H", default: "4", help: "attention: heads (must divide --d-model)" },
    layers: { type: "string", value: "N", default: "2", help: "attention: self-attention layers" },
    "no-pairwise": { type: "boolean", help: "attention: without the pairwise-product branch (ablation)" },
    "no-fraction-bias": {
      type: "boolean",
      help:
        "attention: attention logits without log fraction of the key (ablation; not continuous at a 0 fraction)",
    },
    "no-element-features": {
      type: "boolean",
      help: "attention: tokens without element-property features (ablation)",
    },
    protocol: { type: "string", value: "holdout|cv", default: "holdout", help: "evaluation protocol" },
    folds: {
      type: "string",
      value: "K",
      default: "5",
      help: "folds for --protocol cv (plain seeded K-fold)",
    },
    splits: {
      type: "string",
      value: "FILE",
      help:
        "fixed split file (hardness_splits.json): its holdout split, or its kfold5 folds with --protocol cv",
    },
    seeds: { type: "string", value: "N", default: "1", help: "independent seeds per split (mean ± std)" },
    seed: { type: "string", value: "N", default: "1", help: "base seed" },
    search: {
      type: "string",
      value: "T",
      default: "0",
      help: "nested search trials per split and seed (latent {8,16,32,64} × dropout U[0.1,0.5]); 0 = off",
    },
    "latent-dim": { type: "string", value: "L", default: "64", help: "latent size (without --search)" },
    dropout: { type: "string", value: "P", default: String(PUBLISHED_DROPOUT), help: "MC-dropout rate" },
    epochs: { type: "string", value: "N", default: "1000", help: "maximum epochs" },
    "batch-size": { type: "string", value: "B", default: "32", help: "mini-batch size" },
    lr: { type: "string", value: "LR", default: "0.001", help: "Adam learning rate" },
    patience: { type: "string", value: "N", default: "100", help: "early-stopping patience (epochs)" },
    beta: {
      type: "string",
      value: "anneal|controller",
      default: "anneal",
      help:
        "β schedule: linear KL annealing to --beta-max (more accurate: 5-fold RMSE 132.7 vs 143.3 HV), or the reference's KL-per-dim controller",
    },
    "beta-max": { type: "string", value: "B", default: "0.001", help: "final β of --beta anneal" },
    "anneal-epochs": { type: "string", value: "N", default: "100", help: "warm-up epochs of --beta anneal" },
    "plateau-patience": {
      type: "string",
      value: "N",
      default: "40",
      help: "reduce-LR-on-plateau patience in epochs (0 = off)",
    },
    "plateau-factor": { type: "string", value: "F", default: "0.5", help: "LR factor on plateau" },
    mc: { type: "string", value: "S", default: "100", help: "MC-dropout passes for evaluation (0 = none)" },
    weights: {
      type: "string",
      value: "reference|fixed|uniform",
      default: "reference",
      help: "family debiasing weights",
    },
    out: { type: "string", value: "DIR", help: "model directory (default: runs/vibann-<time>)" },
    json: { type: "boolean", help: "print one JSON object on stdout" },
    quiet: { type: "boolean", short: "q", help: "no progress bar" },
  },
  async run(flags: Flags): Promise<number> {
    const archName = str(flags, "arch") as VibannArch;
    if (!VIBANN_ARCHS.includes(archName)) {
      throw new UserError(`flag --arch: expected ${VIBANN_ARCHS.join(" or ")}, got '${archName}'`);
    }
    const dModel = intFlag(flags, "d-model", 64, 1), heads = intFlag(flags, "heads", 4, 1);
    if (dModel % heads !== 0) {
      throw new UserError(`flag --heads: ${heads} does not divide --d-model ${dModel}`);
    }
    // The fraction bias rides on one extra head dimension (nn/models/vibann_attention.ts).
    const maxWidth = ATTENTION_LIMITS.maxHeadDim - (flags["no-fraction-bias"] ? 0 : 1);
    if (heads > ATTENTION_LIMITS.maxHeads || dModel / heads > maxWidth) {
      throw new UserError(
        `flag --heads: at most ${ATTENTION_LIMITS.maxHeads} heads of width ≤ ${maxWidth} (--d-model / --heads)`,
      );
    }
    const attention = {
      tokens: intFlag(flags, "tokens", 8, 1),
      dModel,
      heads,
      layers: intFlag(flags, "layers", 2, 1),
      ffn: 2 * dModel,
      elementFeatures: !flags["no-element-features"],
      pairwise: !flags["no-pairwise"],
      fractionBias: !flags["no-fraction-bias"],
    };
    if (attention.tokens > ATTENTION_LIMITS.maxSeq) {
      throw new UserError(`flag --tokens: at most ${ATTENTION_LIMITS.maxSeq}, got ${attention.tokens}`);
    }
    const protocol = str(flags, "protocol")!;
    if (protocol !== "holdout" && protocol !== "cv") {
      throw new UserError(`flag --protocol: expected holdout or cv, got '${protocol}'`);
    }
    const seeds = intFlag(flags, "seeds", 1, 1);
    const seed = intFlag(flags, "seed", 1, 0);
    const trials = intFlag(flags, "search", 0, 0);
    const latentDim = intFlag(flags, "latent-dim", 64, 1);
    const dropout = rangeFlag(flags, "dropout", PUBLISHED_DROPOUT, 0, 0.95);
    const mc = intFlag(flags, "mc", 100, 0);
    const weightMode = str(flags, "weights") as WeightMode;
    if (!["reference", "fixed", "uniform"].includes(weightMode)) {
      throw new UserError(`flag --weights: expected reference, fixed or uniform, got '${weightMode}'`);
    }
    const betaMode = str(flags, "beta");
    if (betaMode !== "controller" && betaMode !== "anneal") {
      throw new UserError(`flag --beta: expected controller or anneal, got '${betaMode}'`);
    }
    const beta: BetaSchedule = betaMode === "controller" ? REFERENCE_BETA : {
      mode: "anneal",
      max: rangeFlag(flags, "beta-max", 1e-3, 0, 1e3),
      warmupEpochs: intFlag(flags, "anneal-epochs", 100, 1),
    };
    const plateauPatience = intFlag(flags, "plateau-patience", 40, 0);
    const trainOpts: VibannTrainOptions = {
      epochs: intFlag(flags, "epochs", 1000, 1),
      batchSize: intFlag(flags, "batch-size", 32, 1),
      lr: rangeFlag(flags, "lr", 1e-3, 1e-9, 10),
      patience: intFlag(flags, "patience", 100, 1),
      beta,
      plateau: plateauPatience > 0
        ? { patience: plateauPatience, factor: rangeFlag(flags, "plateau-factor", 0.5, 1e-3, 1), minLr: 1e-6 }
        : null,
    };
    const outDir = str(flags, "out") ?? join("runs", `vibann-${timestamp()}`);

    const ds = await loadHardnessDataset({ dataPath: str(flags, "data") });
    for (const n of ds.notices) console.error(`notice: ${n}`);
    const be = await openDevice(flags);
    const fixed: FixedSplits | null = str(flags, "splits")
      ? await loadSplitFile(str(flags, "splits")!, { nRows: ds.nRows, sha256: ds.sha256, file: ds.file })
      : null;
    let outers: OuterSplit[];
    let splitMethod: string;
    if (protocol === "holdout") {
      outers = [holdoutSplit(fixed ?? referenceSplit(ds, ds.families, { seed }))];
      splitMethod = fixed ? "holdout (split file)" : "reference";
    } else {
      const k = fixed ? fixed.kfold.length : intFlag(flags, "folds", 5, 2);
      if (k > ds.nRows) throw new UserError(`flag --folds: ${k} folds for ${ds.nRows} rows`);
      outers = cvSplits(ds.nRows, k, seed, fixed);
      splitMethod = fixed ? `kfold${k} (split file)` : `kfold${k}`;
    }
    // The rows record of the model directory, built (and checked) before any training.
    const sets: Record<string, number[]> = {};
    if (protocol === "holdout") {
      sets.train = outers[0].fit, sets.calibration = outers[0].es, sets.test = outers[0].test;
    }
    const splitsRec = splitsRecord({
      dataFile: ds.file,
      dataSha256: ds.sha256,
      nRows: ds.nRows,
      method: splitMethod,
      seed,
      sets,
      ...(protocol === "cv" ? { folds: outers.map((o) => o.test) } : {}),
      params: {
        early_stopping: Object.fromEntries(outers.map((o) => [o.label, [...o.es].sort((a, b) => a - b)])),
      },
    });
    const trainRows = protocol === "holdout" ? [...outers[0].fit, ...outers[0].es] : undefined;
    const w = familyWeights(ds.families, { mode: weightMode, ...(trainRows ? { trainRows } : {}) });
    const E = ds.elementColumns.length;
    const maxElements = maxElementCount(ds.fractions, E);
    if (archName === "attention" && maxElements > attention.tokens) {
      console.error(
        `notice: some alloys have ${maxElements} elements but --tokens is ${attention.tokens}: their smallest fractions are not tokens`,
      );
    }
    trainOpts.arch = { arch: archName, elementSymbols: ds.elementColumns, attention };
    const data: HardnessArrays = {
      comp: Float32Array.from(ds.fractions),
      elements: E,
      load: ds.properties.Load,
      hv: ds.properties.HV,
      weight: w.weights,
    };
    const quiet = !!flags.quiet;
    const epochLogs: {
      phase: string;
      epoch: number;
      loss: number;
      val_mse: number;
      beta: number;
      active: number;
    }[] = [];
    const runPhase = async (phase: string, plans: Trial[]) => {
      const bar = new Progress(
        `${phase} (${plans.length} model${plans.length > 1 ? "s" : ""})`,
        trainOpts.epochs!,
        !quiet,
      );
      const res = await trainVibann(be, data, plans, {
        ...trainOpts,
        onEpoch: (epoch: number, logs: EpochLog[]) => {
          const act = logs.filter((l) => l.active);
          const avg = (f: (l: EpochLog) => number) => {
            const v = (act.length ? act : logs).map(f);
            return v.reduce((a, b) => a + b, 0) / v.length;
          };
          const row = {
            phase,
            epoch: epoch + 1,
            loss: avg((l) => l.loss),
            val_mse: avg((l) => l.valMse),
            beta: avg((l) => l.beta),
            active: act.length,
          };
          epochLogs.push(row);
          bar.update(
            epoch + 1,
            `loss ${row.loss.toFixed(3)} val ${row.val_mse.toFixed(3)} β ${
              row.beta.toExponential(1)
            } active ${act.length}`,
          );
        },
      }, seed);
      bar.done();
      return res;
    };

    const t0 = performance.now();
    let hp = (_o: number, _s: number) => ({ latentDim, dropout });
    let searchSummary: unknown = null;
    if (trials > 0) {
      const tPlans = searchPlans(outers, seeds, trials, seed);
      const tRes = await runPhase("search", tPlans);
      const best = bestTrials(tPlans, tRes.bestValMse);
      tRes.model.dispose();
      hp = (o, s) => {
        const b = best.get(`${o}:${s}`)!;
        return { latentDim: b.latentDim, dropout: b.dropout };
      };
      searchSummary = tPlans.map((t, i) => ({
        label: t.label,
        latent_dim: t.latentDim,
        dropout: t.dropout,
        val_mse: tRes.bestValMse[i],
        best_epoch: tRes.bestEpoch[i] + 1,
      }));
    }
    const finals = finalPlans(outers, seeds, seed, hp);
    const res = await runPhase(trials > 0 ? "final" : "train", finals);
    const trainSeconds = (performance.now() - t0) / 1000;

    // Evaluate on the union of calibration and test rows of every member.
    const members = finals.map((f) => ({ ...f, test: outers[f.outer].test }));
    const evalRows = [...new Set(members.flatMap((m) => [...m.test, ...m.val]))].sort((a, b) => a - b);
    const comp = new Float32Array(evalRows.length * E);
    evalRows.forEach((r, i) => comp.set(data.comp.subarray(r * E, (r + 1) * E), i * E));
    if (!quiet) {
      console.error(`evaluating ${members.length} model(s) on ${evalRows.length} rows, ${mc} MC passes`);
    }
    const pred = await predictVibann(be, res.model, res.scalers, comp, evalRows.map((r) => data.load[r]), {
      mc,
    });
    const ev = evaluateRun(pred, evalRows, members, data.hv, seeds);

    // The saved model: every final member (an ensemble when there are several), conformal on the pooled
    // calibration rows of all members.
    const conformal = ev.conformal;
    const loads = finals.flatMap((f) => f.train.map((r) => data.load[r]));
    const options = {
      protocol,
      split: splitMethod,
      seeds,
      seed,
      search: trials,
      epochs: trainOpts.epochs,
      batch_size: trainOpts.batchSize,
      lr: trainOpts.lr,
      patience: trainOpts.patience,
      beta,
      plateau: trainOpts.plateau,
      recon_weight: 0.5,
      weights: weightMode,
      mc,
    };
    await saveModelDir(outDir, res.model, {
      elements: ds.elementColumns,
      scalers: res.scalers,
      beta: res.bestBeta,
      options,
      data: { file: ds.file, sha256: ds.sha256, n_rows: ds.nRows },
      loadRange: [Math.min(...loads), Math.max(...loads)],
      conformal,
      source: "trained",
    });
    await writeSplitsJson(join(outDir, "splits.json"), splitsRec);
    // Training curves (one row per member and epoch) and the mean attention gate per epoch.
    const curveRows: (string | number)[][] = [];
    const gateRows: (string | number)[][] = [];
    res.curves.forEach((c, m) => {
      for (const l of c) {
        curveRows.push([
          finals[m].label,
          l.epoch + 1,
          l.loss,
          l.mse,
          l.recon,
          l.klPerDim,
          l.valMse,
          l.beta,
          l.lr,
          l.active ? 1 : 0,
          l.improved ? 1 : 0,
        ]);
        gateRows.push([finals[m].label, l.epoch + 1, ...l.gate]);
      }
    });
    await writeCsv(
      join(outDir, "curves.csv"),
      [
        "model",
        "epoch",
        "loss",
        "mse",
        "recon_kl",
        "kl_per_dim",
        "val_mse",
        "beta",
        "lr",
        "active",
        "improved",
      ],
      curveRows,
    );
    await writeCsv(join(outDir, "gate_curves.csv"), ["model", "epoch", ...ds.elementColumns], gateRows);
    await writeCsv(
      join(outDir, "kl_dims.csv"),
      [
        "model",
        "epoch",
        ...Array.from({ length: Math.max(...finals.map((f) => f.latentDim)) }, (_, d) => `z${d}`),
      ],
      res.curves.flatMap((c, m) => c.map((l) => [finals[m].label, l.epoch + 1, ...l.klDims])),
    );
    await writeCsv(
      join(outDir, "predictions.csv"),
      ["row", "hv_true", "hv_mean", "hv_std", "hv_lo90", "hv_hi90"],
      ev.predictions.map((p) => [p.row, p.hv, p.mean, p.std, p.lo90, p.hi90]),
    );
    const folds = ev.members.map((m, i) => ({
      model: m.label,
      fold: m.outer + 1,
      seed: m.seedIndex + 1,
      n_train: m.nTrain,
      n_val: m.nVal,
      n_test: m.nTest,
      latent_dim: m.latentDim,
      dropout: m.dropout,
      best_epoch: res.bestEpoch[i] + 1,
      epochs: res.curves[i].length,
      ...m.metrics,
      deterministic_rmse: m.deterministic.rmse,
      conformal_coverage90: m.conformalCoverage90,
      conformal_width90: m.conformalWidth90,
      mace: m.calibration?.mace ?? null,
    }));
    const metrics = {
      protocol,
      arch: archName,
      ...(archName === "attention" ? { attention } : {}),
      metrics: ev.metrics,
      metrics_std: ev.metricsStd,
      rmse_ci95: ev.rmseCi,
      uq: {
        mc_passes: mc,
        raw: ev.calibration
          ? {
            levels: ev.calibration.levels,
            coverage: ev.calibration.coverage,
            mean_width: ev.calibration.meanWidth,
            mace: ev.calibration.mace,
            imce: ev.calibration.imce,
            sharpness: ev.calibration.sharpness,
          }
          : null,
        pit_histogram: ev.pit,
        conformal_coverage90: ev.conformalCoverage90,
        conformal_width90: ev.conformalWidth90,
      },
      folds,
      seeds,
      search: searchSummary,
      epochs: epochLogs,
      train_seconds: +trainSeconds.toFixed(3),
      model_dir: outDir,
    };
    await writeJsonAtomic(join(outDir, "metrics.json"), metrics);

    if (flags.json) {
      console.log(JSON.stringify(metrics));
    } else {
      const rows = ev.members.map((m) => ({
        label: m.label,
        metrics: { ...m.metrics, cov90: m.conformalCoverage90 },
      }));
      rows.push({
        label: seeds > 1 ? "pooled (mean)" : "pooled",
        metrics: { ...ev.metrics, cov90: ev.conformalCoverage90 },
      });
      console.error("");
      console.error(formatMetricsTable(rows, ["n", "rmse", "mae", "r2", "mape", "tail_rmse", "cov90"]));
      if (seeds > 1) {
        console.error(
          `RMSE over ${seeds} seeds: ${ev.metrics.rmse?.toFixed(1)} ± ${ev.metricsStd.rmse?.toFixed(1)} HV`,
        );
      }
      console.error(`trained in ${trainSeconds.toFixed(1)} s on ${be.description}`);
      console.log(outDir);
    }
    res.model.dispose();
    return 0;
  },
};
