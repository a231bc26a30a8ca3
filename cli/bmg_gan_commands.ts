/**
 * `alloy bmg train-gan | generate | evaluate`: the composition GAN of the bulk-metallic-glass work (issue 10, parts
 * 3 and 4). The `bmg` command group (cli/bmg_command.ts) includes these three commands ({@link BMG_GAN_SUBCOMMANDS}).
 *
 * - `train-gan` trains the GAN (design/bmg_generation.ts, nn/train/gan_trainer.ts) on the Zr-, La-, Fe- and
 *   Ti-based compositions with Tg, Tx, Tl, holding out a seeded share of compositions for evaluation, and writes a
 *   GAN directory (design/bmg_gan_dir.ts) with curves.csv (losses and mode-collapse indicators per epoch);
 * - `generate` draws compositions from a GAN directory, scores them with a GFA classifier directory (P(glass)),
 *   measures novelty against the training compositions, optionally selects by targeted properties (`--target
 *   tl:max,trg:min`, property-augmented GANs), prints formulas and writes a CSV;
 * - `evaluate` measures the share classified as glass, the Sinkhorn (entropic Wasserstein) distances of generated
 *   vs held-out literature against literature-half vs literature-half, novelty and collapse indicators, and writes
 *   the PCA density maps as SVG (design/bmg_evaluation.ts).
 *
 * Progress goes to stderr; with `--json` stdout holds exactly one JSON object. Bad input is one `error:` line naming
 * the flag or file; every file is written atomically.
 * @module
 */
import { type Command, type FlagSpec, intFlag, numberFlag, stringFlag, timestamp } from "./args.ts";
import { flagSubcommand, type Subcommand } from "./command_group.ts";
import { openDevice } from "./device_flags.ts";
import { UserError } from "./errors.ts";
import { Progress } from "./progress.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { join } from "../data/paths.ts";
import { isElementSymbol } from "../data/elements.ts";
import {
  bmgElementList,
  bmgThermalSets,
  elementSystem,
  loadBmgSources,
  parseBmgSourceList,
  type ThermalComposition,
} from "../data/bmg_dataset.ts";
import type { DescriptorSet } from "../data/bmg_descriptors.ts";
import { loadGfaModel } from "../nn/train/gfa_classifier.ts";
import { type GanEpochLog, trainGan } from "../nn/train/gan_trainer.ts";
import { loadBmgGan, saveBmgGan } from "../design/bmg_gan_dir.ts";
import {
  compositionIndicators,
  decodeSamples,
  DEFAULT_MIN_FRACTION,
  ganFeatureMatrix,
  generateCompositions,
  type GlassClassifier,
  glassProbabilities,
  keysToFractions,
  parseTargets,
  scoreCompositions,
  type ScoredComposition,
  type SelectedComposition,
  selectTargeted,
  splitByComposition,
  targetValue,
} from "../design/bmg_generation.ts";
import {
  DEFAULT_EVAL_EPS,
  DEFAULT_EVAL_ITERATIONS,
  evaluateGenerated,
  pcaDensityMaps,
  randomCompositionsLike,
} from "../design/bmg_evaluation.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

function s(help: string, value: string, def?: string | number): FlagSpec {
  return { type: "string", value, help, ...(def !== undefined ? { default: String(def) } : {}) };
}

const JSON_FLAG: FlagSpec = {
  type: "boolean",
  help: "print one JSON object on stdout (progress stays on stderr)",
};

/** The GAN variants of `--descriptors`: the descriptor set and whether Tg, Tx, Tl are appended. */
export const GAN_VARIANTS: Readonly<Record<string, { set: DescriptorSet; properties: boolean }>> = {
  d1: { set: "d1", properties: false },
  cd1: { set: "cd1", properties: false },
  cd2: { set: "cd2", properties: false },
  cd1p: { set: "cd1", properties: true },
};

/** Parses `--descriptors D1|CD1|CD2|CD1P` (case-insensitive). @throws {UserError} naming the flag */
export function parseGanVariant(value: string): { set: DescriptorSet; properties: boolean } {
  const v = GAN_VARIANTS[value.trim().toLowerCase()];
  if (!v) throw new UserError(`--descriptors: expected D1, CD1, CD2 or CD1P, got '${value}'`);
  return v;
}

/** Parses `--bases Zr,La,Fe,Ti`. @throws {UserError} naming the flag and the bad item */
export function parseBases(value: string): string[] {
  const items = value.split(",").map((x) => x.trim()).filter((x) => x !== "");
  if (!items.length) throw new UserError("--bases: empty list (e.g. Zr,La,Fe,Ti)");
  for (const e of items) {
    if (!isElementSymbol(e)) throw new UserError(`--bases: '${e}' is not an element symbol`);
  }
  return [...new Set(items)];
}

function fractionFlag(flags: Flags, name: string, fallback: number, lo: number, hi: number): number {
  const v = numberFlag(flags, name, fallback);
  if (!(v >= lo && v < hi)) {
    throw new UserError(`flag --${name}: expected a number in [${lo}, ${hi}), got '${flags[name]}'`);
  }
  return v;
}

function positiveFlag(flags: Flags, name: string, fallback: number): number {
  const v = numberFlag(flags, name, fallback);
  if (!(v > 0)) throw new UserError(`flag --${name}: expected a positive number, got '${flags[name]}'`);
  return v;
}

/** Rounds for JSON/CSV output (non-finite → null). */
function r6(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 1e6) / 1e6;
}

// ---------------------------------------------------------------------------------------------------------------
// train-gan

/** Training data of the GAN: the thermal compositions of the chosen bases, and the seeded split. */
async function loadGanData(flags: Flags, bases: readonly string[], heldOut: number, seed: number) {
  const sources = parseBmgSourceList(stringFlag(flags, "sources") ?? "all");
  const src = await loadBmgSources({ sources, dataDir: stringFlag(flags, "data") });
  const th = bmgThermalSets(src.records, bases);
  const comps: ThermalComposition[] = bases.flatMap((b) => th.sets[b] ?? []);
  const split = splitByComposition(comps.length, heldOut, seed);
  return {
    comps,
    perBase: Object.fromEntries(bases.map((b) => [b, th.sets[b]?.length ?? 0])),
    inconsistent: th.inconsistent.length,
    train: split.train.map((i) => comps[i]),
    heldOut: split.heldOut.map((i) => comps[i]),
  };
}

function curvesCsv(curves: readonly GanEpochLog[]): string {
  const extraNames = [...new Set(curves.flatMap((c) => Object.keys(c.indicators?.extra ?? {})))];
  const head = [
    "epoch",
    "loss_d",
    "loss_g",
    "d_real",
    "d_fake",
    "spread_ratio",
    "coverage",
    "precision",
    "w2_train",
    ...extraNames,
  ];
  const lines = [head.join(",")];
  for (const c of curves) {
    const i = c.indicators;
    const cell = (v: number | undefined) => (v === undefined ? "" : String(r6(v) ?? ""));
    lines.push([
      String(c.epoch + 1),
      cell(c.lossD),
      cell(c.lossG),
      cell(c.dReal),
      cell(c.dFake),
      cell(i?.spreadRatio),
      cell(i?.coverage),
      cell(i?.precision),
      cell(i?.w2Train),
      ...extraNames.map((n) => cell(i?.extra[n])),
    ].join(","));
  }
  return lines.join("\n") + "\n";
}

/** `alloy bmg train-gan`. */
export const bmgTrainGanCommand: Command = {
  name: "bmg train-gan",
  summary:
    "train the composition GAN on the Zr/La/Fe/Ti-based glasses with Tg, Tx, Tl; write a GAN directory",
  usage: "[--descriptors D1|CD1|CD2|CD1P] [--epochs N] [--out DIR] [--json]",
  flags: {
    descriptors: s("features: D1 fractions, CD1 = D1+D3, CD2 = D1+D2, CD1P = CD1 + Tg,Tx,Tl", "SET", "D1"),
    bases: s("base elements of the training sets (largest fraction)", "A,B,…", "Zr,La,Fe,Ti"),
    sources: s("glass data sources (all or a list)", "LIST", "all"),
    data: s("folder holding the bmg/ data (default: ALLOY_DATA_DIR)", "DIR"),
    "held-out": s("share of compositions held out for `bmg evaluate`", "F", 0.2),
    epochs: s("training epochs", "N", 500),
    "batch-size": s("batch size", "B", 64),
    lr: s("Adam learning rate", "LR", 1e-3),
    beta1: s("Adam β1", "B1", 0.5),
    latent: s("generator latent size", "L", 100),
    hidden: s("hidden width of both networks", "H", 1000),
    "monitor-every": s("mode-collapse indicators every N epochs (and at the last)", "N", 25),
    "monitor-samples": s("generated samples per indicator check", "M", 500),
    select: s(
      "which generator to keep: w2 = the monitored epoch whose samples are closest to the training rows " +
        "(Sinkhorn W₂), or last",
      "w2|last",
      "w2",
    ),
    seed: s("seed of split, initialisation, shuffles and latent draws", "S", 0),
    "max-minutes": s("stop after the epoch that ends past this wall time (the epochs run are reported)", "M"),
    out: s("GAN directory (default: runs/bmg-gan-<descriptors>-<time>)", "DIR"),
    json: JSON_FLAG,
  },
  async run(flags) {
    const variant = parseGanVariant(stringFlag(flags, "descriptors") ?? "D1");
    const bases = parseBases(stringFlag(flags, "bases") ?? "Zr,La,Fe,Ti");
    const heldOutShare = fractionFlag(flags, "held-out", 0.2, 0, 0.9);
    const epochs = intFlag(flags, "epochs", 500, 1, 1_000_000);
    const batchSize = intFlag(flags, "batch-size", 64, 2, 65536);
    const lr = positiveFlag(flags, "lr", 1e-3);
    const beta1 = fractionFlag(flags, "beta1", 0.5, 0, 1);
    const latent = intFlag(flags, "latent", 100, 1, 4096);
    const hidden = intFlag(flags, "hidden", 1000, 1, 16384);
    const monitorEvery = intFlag(flags, "monitor-every", 25, 0, 1_000_000);
    const monitorSamples = intFlag(flags, "monitor-samples", 500, 2, 100_000);
    const select = stringFlag(flags, "select") ?? "w2";
    if (select !== "last" && select !== "w2") {
      throw new UserError(`flag --select: expected 'last' or 'w2', got '${select}'`);
    }
    const seed = intFlag(flags, "seed", 0, 0, 2 ** 31 - 1);
    const maxMinutes = flags["max-minutes"] === undefined ? undefined : positiveFlag(flags, "max-minutes", 1);
    const json = flags.json === true;
    const tag = `${variant.set}${variant.properties ? "p" : ""}`;
    const out = stringFlag(flags, "out") ?? join("runs", `bmg-gan-${tag}-${timestamp()}`);
    const be = await openDevice(flags);

    const data = await loadGanData(flags, bases, heldOutShare, seed);
    if (data.train.length < batchSize) {
      throw new UserError(
        `--bases ${
          bases.join(",")
        }: ${data.train.length} training compositions with Tg, Tx, Tl are fewer than ` +
          `one batch (--batch-size ${batchSize})`,
      );
    }
    const elements = bmgElementList(data.comps);
    const feats = await ganFeatureMatrix(variant.set, data.train, elements, variant.properties, be);
    const trainKeys = data.train.map((c) => c.key), heldKeys = data.heldOut.map((c) => c.key);
    const trainSystems = new Set(data.train.map((c) => elementSystem(c.elements)));
    const decodeCfg = { elements, feature_names: feats.names, properties: variant.properties };
    if (!json) {
      console.error(
        `bmg train-gan: ${data.train.length} training + ${data.heldOut.length} held-out compositions ` +
          `(${
            Object.entries(data.perBase).map(([b, n]) => `${b} ${n}`).join(", ")
          }), ${elements.length} elements, ` +
          `${feats.cols} features (${tag})`,
      );
    }
    const bar = new Progress("bmg train-gan", epochs);
    const res = await trainGan(be, feats.data, feats.rows, feats.cols, { latent, hidden }, {
      epochs,
      batchSize,
      lr,
      beta1,
      seed,
      monitorEvery,
      monitorSamples,
      select,
      maxSeconds: maxMinutes === undefined ? undefined : maxMinutes * 60,
      indicators: (samples, m) => compositionIndicators(decodeSamples(samples, m, decodeCfg), trainSystems),
      onEpoch: (l) =>
        bar.update(
          l.epoch + 1,
          `L_D ${l.lossD.toFixed(3)} L_G ${l.lossG.toFixed(3)} D(x) ${l.dReal.toFixed(2)}`,
        ),
    });
    bar.done();
    const last = res.curves[res.curves.length - 1];
    const chosen = res.curves[res.selectedEpoch];
    const finite = res.curves.every((c) => Number.isFinite(c.lossD) && Number.isFinite(c.lossG));
    if (!finite) throw new UserError("bmg train-gan: the losses became non-finite (try a smaller --lr)");
    const training = {
      epochs,
      epochs_run: res.curves.length,
      stopped_early: res.stoppedEarly,
      batch_size: batchSize,
      lr,
      beta1,
      seed,
      held_out: heldOutShare,
      steps: res.steps,
      seconds: r6(res.seconds),
      n_train: data.train.length,
      n_held_out: data.heldOut.length,
      per_base: data.perBase,
      final: {
        loss_d: r6(last.lossD),
        loss_g: r6(last.lossG),
        d_real: r6(last.dReal),
        d_fake: r6(last.dFake),
        indicators: last.indicators ?? null,
      },
      select,
      selected: { epoch: res.selectedEpoch + 1, indicators: chosen.indicators ?? null },
    };
    const config = await saveBmgGan(out, res.gan, {
      descriptors: variant.set,
      properties: variant.properties,
      elements,
      scaler: res.scaler,
      training,
      train_keys: trainKeys,
      held_out_keys: heldKeys,
      bases,
      created: new Date().toISOString(),
    });
    await writeFileAtomic(join(out, "curves.csv"), curvesCsv(res.curves));
    res.gan.dispose();
    const summary = {
      model_dir: out,
      descriptors: tag.toUpperCase(),
      features: config.feature_names.length,
      elements: elements.length,
      device: be.kind,
      ...training,
    };
    if (json) console.log(JSON.stringify(summary));
    else {
      const ind = last.indicators;
      console.log(
        `GAN (${tag.toUpperCase()}, ${config.feature_names.length} features) trained on ${data.train.length} ` +
          `compositions in ${res.seconds.toFixed(1)} s (${res.curves.length} epochs, ${res.steps} steps` +
          `${res.stoppedEarly ? ", stopped by --max-minutes" : ""}) → ${out}\n` +
          `final L_D ${last.lossD.toFixed(4)}, L_G ${last.lossG.toFixed(4)}, D(x) ${
            last.dReal.toFixed(3)
          }, ` +
          `D(G(z)) ${last.dFake.toFixed(3)}` +
          (ind
            ? `\nmode indicators: spread ratio ${ind.spreadRatio.toFixed(3)}, coverage ${
              ind.coverage.toFixed(3)
            }, ` +
              `precision ${ind.precision.toFixed(3)}, distinct systems ${ind.extra.distinctSystems}`
            : "") +
          (select === "w2"
            ? `\nkept the generator of epoch ${res.selectedEpoch + 1} (W₂ to the training rows ${
              chosen.indicators?.w2Train?.toFixed(4)
            }; last epoch ${last.indicators?.w2Train?.toFixed(4)})`
            : ""),
      );
    }
    return 0;
  },
};

// ---------------------------------------------------------------------------------------------------------------
// generate

async function openClassifier(flags: Flags): Promise<(GlassClassifier & { threshold: number }) | null> {
  const dir = stringFlag(flags, "gfa-model");
  if (dir === undefined) return null;
  const c = await loadGfaModel(dir);
  return {
    elements: c.elements,
    threshold: c.config.threshold,
    predictFractions: (f, o) => c.predictFractions(f, o),
  };
}

/** Draws, decodes and scores `n` compositions from the GAN directory of `--gan`. */
async function generateScored(flags: Flags, n: number, seed: number, stage: string) {
  const dir = stringFlag(flags, "gan");
  if (dir === undefined) {
    throw new UserError("missing required flag --gan DIR (a directory from `bmg train-gan`)");
  }
  const minFraction = fractionFlag(flags, "min-fraction", DEFAULT_MIN_FRACTION, 0, 0.5);
  const be = await openDevice(flags);
  const classifier = await openClassifier(flags);
  const { gan, config } = await loadBmgGan(dir, be);
  const bar = new Progress(stage, 3);
  bar.update(0, "sampling");
  const gen = await generateCompositions(gan, config, n, seed, minFraction);
  gan.dispose();
  bar.update(1, classifier ? "classifying" : "novelty");
  const scored = await scoreCompositions(gen, config.elements, config.train_keys, classifier, be);
  bar.update(3, "done");
  bar.done();
  return { be, dir, config, classifier, scored, minFraction };
}

function thermal(c: ScoredComposition) {
  return c.tg === undefined ? {} : {
    tg: r6(c.tg),
    tx: r6(c.tx),
    tl: r6(c.tl),
    trg: r6(targetValue(c, "trg")),
    dtx: r6(targetValue(c, "dtx")),
    gamma: r6(targetValue(c, "gamma")),
  };
}

function compositionRecord(c: ScoredComposition | SelectedComposition) {
  return {
    ...("rank" in c ? { rank: c.rank, score: r6(c.score) } : {}),
    formula: c.formula,
    system: c.system,
    p_glass: r6(c.glassProbability),
    novelty: r6(c.novelty),
    nearest_training: c.nearestTraining,
    in_training: c.inTraining,
    ...thermal(c),
  };
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return v ? "1" : "0";
  const t = String(v);
  return /[",\n]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
}

/** CSV text of composition records (columns of the first record). */
export function compositionsCsv(records: readonly Record<string, unknown>[]): string {
  if (!records.length) return "formula\n";
  const cols = Object.keys(records[0]);
  return [cols.join(","), ...records.map((r) => cols.map((c) => csvCell(r[c])).join(","))].join("\n") + "\n";
}

/** `alloy bmg generate`. */
export const bmgGenerateCommand: Command = {
  name: "bmg generate",
  summary: "generate glass compositions from a GAN directory, score P(glass) and novelty, select by target",
  usage: "--gan DIR [--gfa-model DIR] [--n N] [--target tl:max,trg:min] [--out FILE.csv] [--json]",
  flags: {
    gan: s("GAN directory (from `bmg train-gan`)", "DIR"),
    "gfa-model": s("GFA classifier directory (from `bmg train-classifier`) for P(glass)", "DIR"),
    n: s("compositions to draw", "N", 1000),
    seed: s("seed of the latent draws", "S", 0),
    "min-fraction": s("drop elements below this atomic fraction, renormalise", "F", DEFAULT_MIN_FRACTION),
    target: s("select by targets on tg, tx, tl, trg, dtx, gamma (CD1P GANs), e.g. tl:max,trg:min", "LIST"),
    top: s("with --target: how many to keep", "K", 10),
    "gfa-min": s("with --target: smallest P(glass) (needs --gfa-model; 0 = no filter)", "P", 0.5),
    "include-training": { type: "boolean", help: "with --target: keep compositions of the training set" },
    out: s("write the compositions (or the selection) as CSV", "FILE"),
    json: JSON_FLAG,
  },
  async run(flags) {
    const n = intFlag(flags, "n", 1000, 1, 1_000_000);
    const seed = intFlag(flags, "seed", 0, 0, 2 ** 31 - 1);
    const targetText = stringFlag(flags, "target");
    const targets = targetText === undefined ? null : parseTargets(targetText);
    const top = intFlag(flags, "top", 10, 1, 1_000_000);
    const gfaMin = fractionFlag(flags, "gfa-min", 0.5, 0, 1);
    const json = flags.json === true;
    const { config, classifier, scored, dir } = await generateScored(flags, n, seed, "bmg generate");
    if (targets && !config.properties) {
      throw new UserError(`--target: ${dir} was trained without Tg, Tx, Tl (train with --descriptors CD1P)`);
    }
    if (targets && gfaMin > 0 && !classifier) {
      throw new UserError("--target with --gfa-min > 0 needs --gfa-model DIR (or pass --gfa-min 0)");
    }
    const selected = targets
      ? selectTargeted(scored, targets, {
        top,
        minGlassProbability: gfaMin,
        novelOnly: flags["include-training"] !== true,
      })
      : null;
    const thr = classifier?.threshold ?? 0.5;
    const probs = scored.map((c) => c.glassProbability).filter((p): p is number => p !== null);
    const rows = (selected ?? scored).map(compositionRecord);
    const out = stringFlag(flags, "out");
    if (out !== undefined) await writeFileAtomic(out, compositionsCsv(rows));
    const summary = {
      gan: dir,
      descriptors: `${config.descriptors}${config.properties ? "p" : ""}`.toUpperCase(),
      n,
      seed,
      unique: new Set(scored.map((c) => c.key)).size,
      in_training: scored.filter((c) => c.inTraining).length,
      glass_share: classifier && probs.length
        ? r6(probs.filter((p) => p >= thr).length / probs.length)
        : null,
      classified: classifier ? probs.length : 0,
      targets: targets?.map((t) => `${t.property}:${t.goal}`) ?? null,
      out: out ?? null,
      compositions: rows,
    };
    if (json) console.log(JSON.stringify(summary));
    else {
      const head = selected
        ? `${selected.length} selected of ${n} generated (targets ${targetText})`
        : `${n} generated compositions (${summary.unique} unique, ${summary.in_training} in the training set)` +
          (summary.glass_share !== null
            ? `, ${(100 * summary.glass_share).toFixed(1)} % classified as glass`
            : "");
      const shown = rows.slice(0, selected ? rows.length : 20).map((r) =>
        `  ${r.formula.padEnd(34)} P(glass) ${r.p_glass === null ? "  –  " : r.p_glass.toFixed(3)}  novelty ${
          r.novelty?.toFixed(3)
        }` + (r.tg !== undefined
          ? `  Tg ${r.tg?.toFixed(0)} Tx ${r.tx?.toFixed(0)} Tl ${r.tl?.toFixed(0)} K`
          : "")
      );
      console.log(
        [head, ...shown, ...(rows.length > shown.length ? [`  … ${rows.length - shown.length} more`] : [])]
          .concat(out !== undefined ? [`written: ${out}`] : [])
          .join("\n"),
      );
    }
    return 0;
  },
};

// ---------------------------------------------------------------------------------------------------------------
// evaluate

/** `alloy bmg evaluate`. */
export const bmgEvaluateCommand: Command = {
  name: "bmg evaluate",
  summary:
    "evaluate a GAN: share classified as glass, Sinkhorn distances vs literature, novelty, PCA maps (SVG)",
  usage: "--gan DIR [--gfa-model DIR] [--n N] [--out DIR] [--json]",
  flags: {
    gan: s("GAN directory (from `bmg train-gan`)", "DIR"),
    "gfa-model": s("GFA classifier directory for the glass share", "DIR"),
    n: s("compositions to draw", "N", 1000),
    seed: s("seed of the latent draws and the Sinkhorn subsamples", "S", 0),
    "min-fraction": s("drop elements below this atomic fraction, renormalise", "F", DEFAULT_MIN_FRACTION),
    eps: s("Sinkhorn ε (squared atomic-fraction units)", "E", DEFAULT_EVAL_EPS),
    iterations: s("Sinkhorn iterations at ε (after ε-scaling)", "N", DEFAULT_EVAL_ITERATIONS),
    repeats: s("independent draws of the literature halves and subsamples", "R", 5),
    out: s("folder for evaluation.json, pca_generated.svg, pca_literature.svg, generated.csv", "DIR"),
    json: JSON_FLAG,
  },
  async run(flags) {
    const n = intFlag(flags, "n", 1000, 4, 1_000_000);
    const seed = intFlag(flags, "seed", 0, 0, 2 ** 31 - 1);
    const eps = positiveFlag(flags, "eps", DEFAULT_EVAL_EPS);
    const iterations = intFlag(flags, "iterations", DEFAULT_EVAL_ITERATIONS, 1, 100_000);
    const repeats = intFlag(flags, "repeats", 5, 1, 1000);
    const json = flags.json === true;
    const out = stringFlag(flags, "out");
    const t0 = performance.now();
    const { be, config, classifier, scored, dir } = await generateScored(flags, n, seed, "bmg evaluate");
    if (config.held_out_keys.length < 4) {
      throw new UserError(
        `${dir}: only ${config.held_out_keys.length} held-out compositions (train with --held-out)`,
      );
    }
    const t1 = performance.now();
    const ev = await evaluateGenerated(be, scored, config.elements, config.train_keys, config.held_out_keys, {
      eps,
      seed,
      iterations,
      repeats,
      threshold: classifier?.threshold,
    });
    const sinkhornSeconds = (performance.now() - t1) / 1000;
    const E = config.elements.length;
    const gen = new Float64Array(scored.length * E);
    scored.forEach((c, r) => gen.set(c.fractions, r * E));
    // What the classifier says of held-out literature glasses and of random compositions with as many elements as
    // the generated ones: the ceiling and floor the generated share sits between.
    let reference: { held_out_literature: number | null; random_compositions: number | null } | null = null;
    if (classifier) {
      const share = (p: (number | null)[]) => {
        const q = p.filter((v): v is number => v !== null);
        return q.length ? r6(q.filter((v) => v >= classifier.threshold).length / q.length) : null;
      };
      const nHeld = config.held_out_keys.length;
      const held = keysToFractions(config.held_out_keys, config.elements);
      const rand = randomCompositionsLike(gen, scored.length, E, seed);
      reference = {
        held_out_literature: share(await glassProbabilities(classifier, held, nHeld, config.elements, be)),
        random_compositions: share(
          await glassProbabilities(classifier, rand, scored.length, config.elements, be),
        ),
      };
    }
    const summary = {
      gan: dir,
      descriptors: `${config.descriptors}${config.properties ? "p" : ""}`.toUpperCase(),
      classifier: stringFlag(flags, "gfa-model") ?? null,
      device: be.kind,
      n_train: config.train_keys.length,
      n_held_out: config.held_out_keys.length,
      ...ev,
      reference_glass_share: reference,
      sinkhorn_seconds: r6(sinkhornSeconds),
      seconds: r6((performance.now() - t0) / 1000),
      files: out === undefined
        ? null
        : ["evaluation.json", "pca_generated.svg", "pca_literature.svg", "generated.csv"],
    };
    if (out !== undefined) {
      const litKeys = [...config.train_keys, ...config.held_out_keys];
      const maps = pcaDensityMaps(
        gen,
        scored.length,
        keysToFractions(litKeys, config.elements),
        litKeys.length,
        E,
        `BMG GAN (${summary.descriptors})`,
      );
      await Deno.mkdir(out, { recursive: true }).catch((e) => {
        throw new UserError(`--out ${out}: ${(e as Error).message}`);
      });
      await writeFileAtomic(join(out, "pca_generated.svg"), maps.generatedSvg);
      await writeFileAtomic(join(out, "pca_literature.svg"), maps.literatureSvg);
      await writeFileAtomic(join(out, "generated.csv"), compositionsCsv(scored.map(compositionRecord)));
      await writeFileAtomic(
        join(out, "evaluation.json"),
        JSON.stringify({ ...summary, pca_explained_ratio: maps.explainedRatio }, null, 2) + "\n",
      );
    }
    if (json) console.log(JSON.stringify(summary));
    else console.log(evaluationText(summary, out));
    return 0;
  },
};

function evaluationText(
  e: Awaited<ReturnType<typeof evaluateGenerated>> & {
    gan: string;
    descriptors: string;
    reference_glass_share: { held_out_literature: number | null; random_compositions: number | null } | null;
  },
  out: string | undefined,
): string {
  const pct = (x: number | null) => (x === null ? "–" : `${(100 * x).toFixed(1)} %`);
  const lines = [
    `GAN ${e.gan} (${e.descriptors}): ${e.samples} samples`,
    `  classified as glass: ${pct(e.glassShare)} of ${e.classified} scored` +
    (e.meanGlassProbability !== null
      ? ` (mean P ${e.meanGlassProbability.toFixed(3)})`
      : " (no --gfa-model)") +
    (e.reference_glass_share
      ? `; held-out literature ${pct(e.reference_glass_share.held_out_literature)}, random compositions ${
        pct(e.reference_glass_share.random_compositions)
      }`
      : ""),
    `  unique ${pct(e.uniqueShare)}, in training set ${pct(e.inTrainingShare)}, median novelty ${
      e.medianNovelty.toFixed(4)
    }`,
    `  element systems: ${e.distinctSystems} generated (literature ${e.literatureSystems}), known-system share ${
      pct(e.knownSystemShare)
    }`,
  ];
  const sk = e.sinkhorn;
  if (sk) {
    const row = (name: string, r: typeof sk.literatureHalves) =>
      `    ${name.padEnd(28)} W2 ≈ ${r.distance.toFixed(4)} ± ${r.distanceSd.toFixed(4)}   S_ε ${
        r.divergence.toFixed(5)
      } ± ${r.divergenceSd.toFixed(5)}`;
    lines.push(
      `  Sinkhorn vs held-out half (h = ${sk.h} per side, ε = ${sk.eps}, ${sk.repeats} repeats):`,
      row("generated", sk.generatedVsHeldOut),
      row("literature half (reference)", sk.literatureHalves),
      row("training subsample", sk.trainingVsHeldOut),
    );
    const worst = Math.max(
      ...[sk.generatedVsHeldOut, sk.literatureHalves, sk.trainingVsHeldOut].map((r) => r.marginalError),
    );
    if (worst > 0.01) {
      lines.push(
        `  warning: Sinkhorn row-marginal error ${worst.toFixed(3)} > 0.01 (raise --iterations or --eps)`,
      );
    }
  }
  if (out !== undefined) {
    lines.push(`written: ${out}/{evaluation.json,pca_generated.svg,pca_literature.svg,generated.csv}`);
  }
  return lines.join("\n");
}

/** The three GAN subcommands, for the `bmg` command group (cli/bmg_command.ts). */
export const BMG_GAN_SUBCOMMANDS: Subcommand[] = [
  flagSubcommand("train-gan", bmgTrainGanCommand),
  flagSubcommand("generate", bmgGenerateCommand),
  flagSubcommand("evaluate", bmgEvaluateCommand),
];
