/**
 * One inverse-design run (`alloy design`), from a model directory to selected, gated, constrained candidates:
 *
 * 0. **Constraints** (design/composition_constraints.ts) from the caller, with a default minimum fraction of
 *    0.5 at.% (`minFraction: 0` disables it): the decoder's softmax gives every element some mass, and without a
 *    minimum the 0.1 at.% grid would export dozens of trace elements no one can weigh in.
 * 1. **Training compositions.** The hardness dataset (`--data`, else the usual resolution, data/dataset.ts) mapped
 *    onto the model's element list. Rows: `sets.train` of the model directory's splits.json when it has one (a
 *    holdout model: the rows it was fitted on), otherwise every row (cross-validated ensembles, whose members
 *    together saw every row, and imported models without a record), with a notice.
 * 2. **Latent prior.** Member 0's latent means μ_z of the DISTINCT training compositions (the encoder ignores the
 *    load, so one alloy measured at several loads is one point; duplicates would fake a tighter density), weighted
 *    by the family debiasing weights (data/weights.ts, the mode the model was trained with, else "fixed", counted
 *    over the training rows). Weighted-EM Gaussian mixture with full covariances, K by BIC within 1..`kMax` (or
 *    fixed `k`), and the log-density threshold = weighted 10 % quantile of the training log-densities (§6.2).
 * 3. **Calibration at the design load** (§6.3): `calibrationMc` MC passes of every distinct training composition →
 *    σ_ref = q75 of the σ (the utility's HV scale, and 2.5·σ_ref is the σ gate), the training labels' maximum (extrapolation report),
 *    and the novelty threshold (q75 of the leave-one-out nearest-neighbour distances of the distinct training
 *    compositions).
 * 4. **Starts.** C training latents drawn without replacement ∝ exp(log π) among those with a finite log-target
 *    (state and re-encoded export inside the prior support), log π evaluated as below (chooseStarts): an importance
 *    resample of the target on the training latents, so chains start where the target has its mass. Seeded.
 * 5. **Search.** The utility U (in σ_ref units) is LCB/σ_ref for `maximize` and −((LCB − target)/σ_ref)² for a
 *    target, with LCB = μ − 1.645σ (the number that is reported and ranked; the reference's MCMC used μ − σ).
 *    - `mcmc`: C chains of design/mcmc.ts on log π(z) = log p(z) + τ·U, −∞ when z or the latent of its exported
 *      composition is below the prior threshold (design/latent_target.ts: MC dropout with fixed masks on the
 *      projected decoded composition, evaluated on the host by design/host_forward.ts: no device read per step,
 *      ~3 ms a step for 25 chains × 20 passes of the published model; the exported states are decoded by the
 *      same decoder). Random walk with the covariance of the most responsible GMM component at the current
 *      state (exact Hastings term), step size adapted in burn-in, T = 2 in the first half of burn-in, repulsion
 *      between chains during burn-in only (so the kept states are samples of π). Burn-in = round(steps·250/700)
 *      (the reference's 250 of 700); every `thin`-th later state is kept, with no per-chain cap (the reference
 *      stopped at 60), so the run lasts until the last keepable state (696 of 700 steps at the defaults).
 *      τ defaults to 30 (DESIGN_DEFAULTS.tau explains why).
 *    - `gradient`: the same starts optimised at once by design/latent_optimizer.ts (Adam, per-start clipping,
 *      convergence test, at most `steps` steps) in whitened coordinates u = L⁻¹(z − m) of the training latents'
 *      weighted covariance, so every direction has unit scale (a VIB's collapsed directions would otherwise take
 *      lr-sized steps of ~1000 standard deviations), on bandLoss + prior barriers on z and on the re-encoded
 *      composition + repulsion (makeGradientLoss); the loss sees the decoded composition restricted to the allowed
 *      elements, the rest of the projection (max elements, min fraction, rounding) happens at export.
 *    - `gpbo`: the GP-BO comparator (design/gp_bo.ts, reference §7.2) on a Gaussian-process baseline directory
 *      (`gpDir`), `steps` rounds (default 200), under the same constraints. Its proposals then go through the SAME
 *      candidate evaluation as the latent methods (our model's μ, σ, gates, selection), so the methods compare
 *      like for like; the GP's own prediction is reported as the judge unless another judge is given.
 * 6. **Candidates** (design/candidates.ts): every kept state (mcmc) or optimised latent (gradient) decoded,
 *    projected onto the constraints (gpbo proposals are already projected), de-duplicated, evaluated with `evalMc`
 *    passes, gated, ranked, `n` selected diversely and re-predicted for export. With `gfaModelDir` the unique
 *    rows are first filtered by a glass-forming-ability classifier (P(glass) ≥ `gfaMin`, design/gfa_filter.ts).
 *
 * Everything random comes from the run's seed: the model's dropout streams (the model is loaded with it, so
 * `alloy predict --seed` reproduces the exported numbers), the chains' Rng streams, and the GMM's k-means++.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { noGrad } from "../nn/autodiff.ts";
import { scope } from "../nn/scope.ts";
import { loadModelDir, memberScalers, readModelConfig } from "../nn/models/model_dir.ts";
import type { ConformalModel } from "../nn/metrics/conformal.ts";
import { quantile } from "../nn/metrics/quantile.ts";
import { loadBaselineDir, type LoadedBaseline, readBaselineConfig } from "../nn/baselines/baseline_dir.ts";
import { baselineSpecFor } from "../nn/baselines/registry.ts";
import { loadHardnessDataset } from "../data/hardness.ts";
import { familyWeights, type WeightMode } from "../data/weights.ts";
import { readSplitsRecord } from "../data/split_file.ts";
import { join } from "../data/paths.ts";
import { UserError } from "../cli/errors.ts";
import {
  type BicScore,
  fitGaussianMixture,
  type GaussianMixture,
  logDensityThreshold,
  selectGaussianMixtureByBic,
} from "./gaussian_mixture.ts";
import { type CompositionConstraintOptions, CompositionConstraints } from "./composition_constraints.ts";
import { dedupRows, noveltyThreshold } from "./candidate_selection.ts";
import { Rng } from "../nn/random.ts";
import { runChains } from "./mcmc.ts";
import { runGpBo } from "./gp_bo.ts";
import { GaussianProcessModel } from "../nn/baselines/gaussian_process.ts";
import { optimizeLatents } from "./latent_optimizer.ts";
import {
  DESIGN_LCB_Z,
  type DesignGoal,
  DesignModel,
  type LatentTargetEvaluation,
  LatentWhitening,
  makeGradientLoss,
  makeLatentTarget,
  sampleMoments,
  type UtilitySettings,
} from "./latent_target.ts";
import { type CandidateEvaluation, evaluateCandidates } from "./candidates.ts";
import { checkGfaElements, DEFAULT_GFA_MIN, type GfaFilter, loadGfaFilter } from "./gfa_filter.ts";

/** Rng stream of the start selection. */
const START_STREAM = 0x53545254;

/** Design methods: latent MCMC, latent gradient optimisation, or the GP-BO comparator (design/gp_bo.ts). */
export type DesignMethod = "mcmc" | "gradient" | "gpbo";

/** Defaults of {@link DesignOptions}. */
export const DESIGN_DEFAULTS = {
  n: 20,
  chains: 25,
  /** Sampler steps (reference 700). */
  mcmcSteps: 700,
  /** Largest number of gradient steps (the convergence test usually stops earlier). */
  gradientSteps: 1000,
  /** GP-BO rounds (reference 200). */
  gpboRounds: 200,
  thin: 5,
  /** MC passes per member inside the search (reference T_MC_IN_MCMC = 20). */
  mc: 20,
  /** MC passes per member of the candidate evaluation and export. */
  evalMc: 200,
  /** MC passes per member of the training-row calibration (σ_ref). */
  calibrationMc: 100,
  seed: 1,
  kMax: 8,
  /**
   * Utility weight τ: a gain of one σ_ref in LCB multiplies the target density by e^τ. 30 ≈ the reference's
   * 0.25 per HV at σ_ref ≈ 130 HV: the GMM log-density of a 64-d VIB latent differs by ~100 nats between alloy
   * families, and a smaller τ lets the prior, not the hardness, decide where the chains go.
   */
  tau: 30,
  /**
   * MCMC: probability per chain and step of a jump (an independence proposal drawn from the latent prior, with
   * its exact Hastings term): the move that lets a chain leave one alloy family for another.
   */
  jump: 0.1,
  /** Smallest atomic fraction of an exported element unless the caller sets one (0.5 at.%; 0 disables). */
  minFraction: 0.005,
  /** Gradient stage: Adam learning rate. */
  lr: 0.01,
  /** Weighted quantile of the training log-densities used as the prior threshold (LOGP_Q). */
  priorQuantile: 0.10,
} as const;

/** Everything a design run takes. */
export interface DesignOptions {
  modelDir: string;
  /** Hardness CSV (default: the usual resolution). */
  dataPath?: string;
  backend: Backend;
  /** Raw design load (N). */
  load: number;
  goal: DesignGoal;
  method: DesignMethod;
  constraints?: CompositionConstraintOptions;
  n?: number;
  chains?: number;
  /** MCMC steps, or the gradient stage's step limit. */
  steps?: number;
  thin?: number;
  mc?: number;
  evalMc?: number;
  calibrationMc?: number;
  seed?: number;
  /** Fixed number of mixture components (else BIC within 1..kMax). */
  k?: number;
  kMax?: number;
  tau?: number;
  /** MCMC: jump probability (see {@link DESIGN_DEFAULTS}.jump; 0 = local moves only). */
  jump?: number;
  lr?: number;
  /** A baseline model directory whose prediction is reported beside ours (with gpbo: default the GP's). */
  judgeDir?: string;
  /** gpbo: the Gaussian-process baseline directory (`alloy baselines --save`) that proposes. */
  gpDir?: string;
  /** A GFA classifier directory (`alloy bmg train-classifier --out`): keep only candidates it calls glass-forming. */
  gfaModelDir?: string;
  /** Smallest P(glass) kept with {@link DesignOptions.gfaModelDir} (default 0.5). */
  gfaMin?: number;
  /** Progress of the long stages (`stage` names it; `done` of `total`). */
  onProgress?: (stage: string, done: number, total: number, status: string) => void;
  /** Informational lines (data resolution, fallbacks). */
  notice?: (line: string) => void;
}

/** How far the run reaches beyond the data. */
export interface Extrapolation {
  /** Largest HV label among the training rows. */
  maxTrainingLabel: number;
  /** target − max label when the target is above every training label, else null. */
  targetAboveMaxLabel: number | null;
  /** Largest exported hv_mean − max label when positive, else null. */
  bestMeanAboveMaxLabel: number | null;
  /** Whether the design load lies outside the model's training load range. */
  loadOutsideRange: boolean;
  loadRange: [number, number];
}

/** Result of {@link runDesign}. */
export interface DesignResult {
  params: {
    model: string;
    method: DesignMethod;
    load: number;
    goal: DesignGoal;
    n: number;
    chains: number;
    steps: number;
    burnIn: number | null;
    thin: number | null;
    mc: number;
    evalMc: number;
    calibrationMc: number;
    seed: number;
    tau: number;
    /** MCMC jump probability (null for the other methods). */
    jump: number | null;
    constraints: {
      allowed: string[];
      maxElements: number | null;
      minFraction: number;
      precision: number;
    };
    judge: string | null;
    /** The GFA filter, or null. */
    gfa: { model: string; min: number } | null;
  };
  members: number;
  latentDim: number;
  elements: string[];
  data: { file: string; rows: number; trainRows: number; distinctCompositions: number; rowSource: string };
  prior: { k: number; bic: BicScore[] | null; threshold: number; weights: WeightMode };
  calibration: { sigmaRef: number; noveltyThreshold: number; maxTrainingLabel: number; lcbZ: number };
  gpbo: { iterations: number; proposals: number; seconds: number } | null;
  mcmc: {
    acceptance: number;
    burnInAcceptance: number;
    stepsRun: number;
    targetCalls: number;
    kept: number;
    /** Jumps between families (independence proposals from the prior) proposed and accepted. */
    jumps: { proposed: number; accepted: number };
    seconds: number;
  } | null;
  gradient: {
    initialLoss: Float64Array;
    finalLoss: Float64Array;
    steps: number;
    converged: number;
    seconds: number;
  } | null;
  evaluation: CandidateEvaluation;
  constraints: CompositionConstraints;
  extrapolation: Extrapolation;
  /** Lines worth showing the user (extrapolation, fallbacks). */
  warnings: string[];
  seconds: number;
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) {
    throw new UserError(`flag --${name}: expected a whole number ≥ ${min}, got '${v}'`);
  }
  return v;
}

/** Rows of `m` (rows × w) picked by `idx`. */
function pick(m: ArrayLike<number>, w: number, idx: readonly number[]): Float64Array {
  const out = new Float64Array(idx.length * w);
  idx.forEach((r, k) => {
    for (let j = 0; j < w; j++) out[k * w + j] = m[r * w + j];
  });
  return out;
}

/** Member 0's latent means of compositions `comp` (rows × E), in chunks, as float64. */
async function encodeRows(dm: DesignModel, comp: Float64Array, chunk = 4096): Promise<Float64Array> {
  const E = dm.elements, d = dm.latentDim, n = comp.length / E;
  const out = new Float64Array(n * d);
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const t = scope(() =>
      noGrad(() =>
        dm.encodeMu(dm.backend.fromData(Float32Array.from(comp.subarray(s * E, (s + m) * E)), [m, E]))
      )
    );
    out.set(await t.read(), s * d);
    t.dispose();
  }
  return out;
}

/** Member 0's decoded compositions of latents `z` (rows × d), in chunks. */
async function decodeRows(dm: DesignModel, z: Float64Array, chunk = 4096): Promise<Float64Array> {
  const E = dm.elements, d = dm.latentDim, n = z.length / d;
  const out = new Float64Array(n * E);
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const t = scope(() =>
      noGrad(() => dm.decode(dm.backend.fromData(Float32Array.from(z.subarray(s * d, (s + m) * d)), [m, d])))
    );
    out.set(await t.read(), s * E);
    t.dispose();
  }
  return out;
}

/** Pooled MC moments of compositions (rows × E) at one load, chunked so a forward holds ≤ ~16k rows. */
async function mcMoments(
  dm: DesignModel,
  comp: Float64Array,
  load: number,
  passes: number,
  maskStep: number,
): Promise<{ mu: Float64Array; sigma: Float64Array }> {
  const E = dm.elements, n = comp.length / E;
  const chunk = Math.max(1, Math.floor(16384 / (passes * dm.members)));
  const mu = new Float64Array(n), sigma = new Float64Array(n);
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const t = scope(() =>
      noGrad(() =>
        dm.hvSamples(
          dm.backend.fromData(Float32Array.from(comp.subarray(s * E, (s + m) * E)), [m, E]),
          load,
          passes,
          maskStep,
        )
      )
    );
    const v = await t.read();
    t.dispose();
    const r = sampleMoments(v, v.length / m);
    mu.set(r.mu, s);
    sigma.set(r.sigma, s);
  }
  return { mu, sigma };
}

/** The model's training rows and where they came from. */
async function trainingRows(
  dir: string,
  ds: { nRows: number; sha256: string; file: string },
): Promise<{ rows: number[]; source: string }> {
  const path = join(dir, "splits.json");
  let exists = true;
  try {
    await Deno.stat(path);
  } catch {
    exists = false;
  }
  const all = Array.from({ length: ds.nRows }, (_, i) => i);
  if (!exists) return { rows: all, source: "all rows (the model directory has no splits.json)" };
  const rec = await readSplitsRecord(path, ds);
  if (rec.sets.train && rec.sets.train.length > 0) {
    return { rows: rec.sets.train, source: "splits.json sets.train" };
  }
  return { rows: all, source: "all rows (splits.json has no train set: cross-validated model)" };
}

/**
 * The training compositions over the model's element list (rows × E).
 * @throws {UserError} when a data element with a non-zero amount is not among the model's inputs
 */
function mapToModelElements(
  ds: { elementColumns: string[]; fractions: Float64Array; nRows: number; file: string },
  elements: readonly string[],
): Float64Array {
  const E = elements.length, De = ds.elementColumns.length;
  const col = ds.elementColumns.map((e) => elements.indexOf(e));
  const out = new Float64Array(ds.nRows * E);
  for (let i = 0; i < ds.nRows; i++) {
    for (let j = 0; j < De; j++) {
      const v = ds.fractions[i * De + j];
      if (v === 0) continue;
      if (col[j] < 0) {
        throw new UserError(
          `${ds.file}: element ${ds.elementColumns[j]} (row ${
            i + 1
          }) is not an input of the model; use the data the model was trained on (--data)`,
        );
      }
      out[i * E + col[j]] = v;
    }
  }
  return out;
}

/**
 * `k` start rows drawn WITHOUT replacement with probability ∝ exp(log π) among the rows with a finite log-target
 * (Gumbel-top-k: the k largest log π_i + Gumbel_i, Gumbel noise from `rng`) — an importance resample of the target
 * restricted to the training latents, so the chains start where π has its mass (chains rarely cross the low-density
 * gaps between alloy families; starting them in a family π does not favour would waste them). Repeated cyclically
 * when fewer than `k` rows are usable.
 * @returns indices into `logTarget`
 */
export function chooseStarts(logTarget: Float64Array, k: number, rng: Rng): number[] {
  const keys: [number, number][] = [];
  logTarget.forEach((l, i) => {
    if (!Number.isFinite(l)) return;
    const u = (rng.nextU32() + 0.5) / 4294967296;
    keys.push([l - Math.log(-Math.log(u)), i]);
  });
  keys.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  const picked = keys.slice(0, k).map(([, i]) => i);
  const base = picked.slice();
  while (picked.length < k && base.length > 0) picked.push(base[picked.length % base.length]);
  return picked;
}

/** {@link makeLatentTarget}'s evaluate over many latents (rows × d), in chunks of ≤ ~16k forward rows. */
async function evaluateChunked(
  evaluate: (z: Float64Array) => Promise<LatentTargetEvaluation>,
  z: Float64Array,
  d: number,
  E: number,
  rowsPerLatent: number,
): Promise<LatentTargetEvaluation> {
  const n = z.length / d;
  const chunk = Math.max(1, Math.floor(16384 / rowsPerLatent));
  const out: LatentTargetEvaluation = {
    logPrior: new Float64Array(n),
    logPriorExport: new Float64Array(n),
    mu: new Float64Array(n),
    sigma: new Float64Array(n),
    comp: new Float64Array(n * E),
    logTarget: new Float64Array(n),
  };
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const r = await evaluate(z.slice(s * d, (s + m) * d));
    for (const k of ["logPrior", "logPriorExport", "mu", "sigma", "logTarget"] as const) out[k].set(r[k], s);
    out.comp.set(r.comp, s * E);
  }
  return out;
}

/** Validates a design load. */
function checkLoad(load: number): number {
  if (!(Number.isFinite(load) && load > 0)) {
    throw new UserError(`flag --load: the indentation load must be a number > 0 (N), got '${load}'`);
  }
  return load;
}

/**
 * Runs a design (see the module doc for the pipeline and every choice).
 * @throws {UserError} for bad options, a model/data mismatch, an unreadable judge, or no training latent inside
 *   the prior support
 */
export async function runDesign(o: DesignOptions): Promise<DesignResult> {
  const t0 = performance.now();
  const D = DESIGN_DEFAULTS;
  const notice = o.notice ?? (() => {});
  const progress = o.onProgress ?? (() => {});
  const load = checkLoad(o.load);
  const n = positiveInt("n", o.n ?? D.n);
  const C = positiveInt("chains", o.chains ?? D.chains);
  const defaultSteps = { mcmc: D.mcmcSteps, gradient: D.gradientSteps, gpbo: D.gpboRounds }[o.method];
  if (defaultSteps === undefined) {
    throw new UserError(`flag --method: expected mcmc, gradient or gpbo, got '${o.method}'`);
  }
  const steps = positiveInt("steps", o.steps ?? defaultSteps, 2);
  const thin = positiveInt("thin", o.thin ?? D.thin);
  const mc = positiveInt("mc", o.mc ?? D.mc, 2);
  const evalMc = positiveInt("eval-mc", o.evalMc ?? D.evalMc, 2);
  const calibrationMc = positiveInt("calibration-mc", o.calibrationMc ?? D.calibrationMc, 2);
  const seed = o.seed ?? D.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new UserError(`flag --seed: expected a whole number from 0 to 4294967295, got '${seed}'`);
  }
  const tau = o.tau ?? D.tau;
  if (!(Number.isFinite(tau) && tau >= 0)) {
    throw new UserError(`flag --tau: expected a number ≥ 0, got '${tau}'`);
  }
  const jump = o.jump ?? D.jump;
  if (!(Number.isFinite(jump) && jump >= 0 && jump < 1)) {
    throw new UserError(`flag --jump: expected a probability in [0, 1), got '${jump}'`);
  }
  const lr = o.lr ?? D.lr;
  if (o.goal.kind === "target" && !Number.isFinite(o.goal.hv)) {
    throw new UserError(`flag --target: expected a hardness in HV, got '${o.goal.hv}'`);
  }
  const be = o.backend;

  // ---- model config, constraints, judge (cheap checks before the data and the device work) ----
  const cfg = await readModelConfig(o.modelDir);
  const constraints = new CompositionConstraints(cfg.elements, {
    ...o.constraints,
    minFraction: o.constraints?.minFraction ?? D.minFraction,
  });
  let gp: LoadedBaseline | null = null;
  if (o.method === "gpbo") {
    if (!o.gpDir) throw new UserError("--method gpbo needs --gp DIR (a Gaussian-process baseline directory)");
    const gc = await readBaselineConfig(o.gpDir);
    if (gc.kind !== "gp") {
      throw new UserError(`flag --gp: ${o.gpDir} is a '${gc.kind}' baseline, not a Gaussian process ('gp')`);
    }
    if (gc.elements.join(",") !== cfg.elements.join(",")) {
      throw new UserError(`flag --gp: ${o.gpDir} has another element list than the model ${o.modelDir}`);
    }
  } else if (o.gpDir) throw new UserError("flag --gp: only used with --method gpbo");
  const judgeDir = o.judgeDir ?? (o.method === "gpbo" ? o.gpDir : undefined);
  let judge: LoadedBaseline | null = null;
  if (judgeDir) {
    const jc = await readBaselineConfig(judgeDir);
    const missing = cfg.elements.filter((e, i) => constraints.allowed[i] && !jc.elements.includes(e));
    if (missing.length > 0) {
      throw new UserError(
        `flag --judge: ${judgeDir} does not know element(s) ${
          missing.join(", ")
        } of the model; exclude them or use another judge`,
      );
    }
    judge = await loadBaselineDir(judgeDir, baselineSpecFor);
  }
  if (o.method === "gpbo") {
    gp = judgeDir === o.gpDir ? judge : await loadBaselineDir(o.gpDir!, baselineSpecFor);
  }
  let gfa: GfaFilter | null = null;
  if (o.gfaModelDir !== undefined) {
    gfa = await loadGfaFilter(o.gfaModelDir, o.gfaMin ?? DEFAULT_GFA_MIN);
    checkGfaElements(gfa, cfg.elements, constraints.allowed);
  } else if (o.gfaMin !== undefined) throw new UserError("flag --gfa-min: only used with --gfa-model DIR");
  const warnings: string[] = [];
  const [lo, hi] = cfg.load_range;
  const loadOutsideRange = load < lo || load > hi;
  if (loadOutsideRange) {
    warnings.push(
      `the design load ${load} N is outside the model's training range [${lo}, ${hi}] N (extrapolation)`,
    );
  }

  // ---- data and training rows ----
  const ds = await loadHardnessDataset({ dataPath: o.dataPath });
  for (const line of ds.notices) notice(line);
  if (cfg.data && cfg.data.sha256 !== ds.sha256) {
    notice(
      `the model was trained on ${cfg.data.file} (another SHA-256 than ${ds.file}); designing against ${ds.file}`,
    );
  }
  const E = cfg.elements.length;
  const allComp = mapToModelElements(ds, cfg.elements);
  const tr = await trainingRows(o.modelDir, ds);
  notice(`training compositions: ${tr.rows.length} rows, ${tr.source}`);
  const modeOpt = cfg.options.weights;
  const weightMode: WeightMode = modeOpt === "reference" || modeOpt === "uniform" || modeOpt === "fixed"
    ? modeOpt
    : "fixed";
  const rowWeights = familyWeights(ds.families, { mode: weightMode, trainRows: tr.rows }).weights;
  const trainComp = pick(allComp, E, tr.rows);
  const distinct = dedupRows(trainComp, E, 6).map((k) => tr.rows[k]);
  const distinctComp = pick(allComp, E, distinct);
  const distinctWeights = Float64Array.from(distinct, (r) => rowWeights[r]);
  const hv = ds.properties.HV;
  const maxTrainingLabel = Math.max(...tr.rows.map((r) => hv[r]));

  // ---- model and latent prior ----
  const { model, config } = await loadModelDir(o.modelDir, be, { seed });
  try {
    const dm = new DesignModel(be, model, memberScalers(config));
    const d = dm.latentDim;
    const zTrain = await encodeRows(dm, distinctComp);
    const zm = { rows: distinct.length, cols: d, data: zTrain };
    let mixture: GaussianMixture, bic: BicScore[] | null = null;
    if (o.k !== undefined) {
      mixture = fitGaussianMixture(zm, { k: positiveInt("k", o.k), weights: distinctWeights, seed }).mixture;
    } else {
      const sel = selectGaussianMixtureByBic(zm, {
        kMax: positiveInt("k-max", o.kMax ?? D.kMax),
        weights: distinctWeights,
        seed,
        onFit: (s) => progress("prior", s.k, o.kMax ?? D.kMax, `K=${s.k} BIC ${s.bic.toFixed(0)}`),
      });
      mixture = sel.best.mixture;
      bic = sel.scores;
    }
    const threshold = logDensityThreshold(mixture, zm, distinctWeights, D.priorQuantile);
    const logpTrain = mixture.logDensities(zm);

    // ---- calibration at the design load ----
    progress("calibration", 0, 1, `${distinct.length} compositions × ${calibrationMc} MC passes`);
    const cal = await mcMoments(dm, distinctComp, load, calibrationMc, 5_000_000);
    progress("calibration", 1, 1, "");
    const sigmaRef = quantile(cal.sigma, 0.75);
    if (!(sigmaRef > 0)) {
      throw new Error("design: the training rows' MC σ is zero (is the model's dropout 0?)");
    }
    const novelty = noveltyThreshold(distinctComp, E);
    const utility: UtilitySettings = { goal: o.goal, scale: sigmaRef, z: DESIGN_LCB_Z };
    if (o.goal.kind === "target" && o.goal.hv > maxTrainingLabel) {
      warnings.push(
        `the target ${o.goal.hv} HV is ${
          (o.goal.hv - maxTrainingLabel).toFixed(1)
        } HV above every training label ` +
          `(max ${maxTrainingLabel.toFixed(1)} HV, ${
            ((o.goal.hv - maxTrainingLabel) / sigmaRef).toFixed(2)
          } σ_ref): ` +
          `the model extrapolates`,
      );
    }

    // ---- starts: training latents whose state and export pass the prior gate, best utility first ----
    const target = makeLatentTarget(dm, {
      mixture,
      threshold,
      constraints,
      load,
      passes: mc,
      maskStep: 1_000_000,
      utility,
      tau,
    });
    const feasible: number[] = [];
    logpTrain.forEach((l, i) => l >= threshold && feasible.push(i));
    const startEval = await evaluateChunked(
      target.evaluate,
      pick(zTrain, d, feasible),
      d,
      E,
      mc * dm.members,
    );
    if (!startEval.logTarget.some(Number.isFinite)) {
      throw new UserError(
        "design: no training latent has a decoded, constrained composition inside the prior support; " +
          "loosen the constraints (--elements, --exclude, --max-elements, --min-fraction)",
      );
    }
    const starts = chooseStarts(startEval.logTarget, C, new Rng(seed, START_STREAM)).map((j) => feasible[j]);
    const init = pick(zTrain, d, starts);

    // ---- search ----
    let candidatesComp: Float64Array;
    let mcmcInfo: DesignResult["mcmc"] = null, gradInfo: DesignResult["gradient"] = null;
    let gpboInfo: DesignResult["gpbo"] = null;
    let burnIn: number | null = null;
    const tSearch = performance.now();
    if (o.method === "mcmc") {
      burnIn = Math.min(steps - 1, Math.round((steps * 250) / 700));
      // Repulsion bandwidth: a quarter of the RMS distance between two training latents.
      let tv = 0;
      for (let j = 0; j < d; j++) {
        let s = 0, s2 = 0;
        for (let i = 0; i < zm.rows; i++) s += zTrain[i * d + j], s2 += zTrain[i * d + j] ** 2;
        tv += s2 / zm.rows - (s / zm.rows) ** 2;
      }
      const covariances = Array.from(
        { length: mixture.k },
        (_, k) => mixture.covariances.slice(k * d * d, (k + 1) * d * d),
      );
      let accSum = 0;
      const res = await runChains(target.target, init, {
        dim: d,
        proposal: {
          kind: "rw",
          covariances,
          component: mixture.k > 1 ? (z, c) => mixture.predict({ rows: c, cols: d, data: z }) : undefined,
        },
        steps,
        burnIn,
        thin,
        seed,
        repulsion: { strength: 1, bandwidth: Math.max(1e-6, 0.25 * Math.sqrt(2 * tv)) },
        // Jumps: q = the latent prior itself, so their log α reduces to the utility difference.
        jump: jump > 0
          ? {
            probability: jump,
            sample: (rng, out, off) => out.set(mixture.sample(1, rng).z.data, off),
            logDensity: (z, off) => mixture.logDensity(z.subarray(off, off + d)),
          }
          : undefined,
        onStep: (info) => {
          accSum += info.accepted.reduce((a, b) => a + b, 0) / C;
          let best = -Infinity;
          for (const l of info.logp) if (l > best) best = l;
          progress(
            "mcmc",
            info.step + 1,
            steps,
            `acc ${(accSum / (info.step + 1)).toFixed(2)} best log π ${best.toFixed(1)}${
              info.phase.burnIn ? " (burn-in)" : ""
            }`,
          );
        },
      });
      const kept = res.samples.length / d;
      // Decoded by the target's own decoder: the exported compositions are the ones the chains were scored on.
      candidatesComp = constraints.constrainRows(await target.decode(res.samples));
      const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
      mcmcInfo = {
        acceptance: mean(res.acceptance),
        burnInAcceptance: mean(res.burnInAcceptance),
        stepsRun: res.stepsRun,
        targetCalls: res.targetCalls,
        kept,
        jumps: res.jumps,
        seconds: (performance.now() - tSearch) / 1000,
      };
    } else if (o.method === "gpbo") {
      if (!(gp!.model instanceof GaussianProcessModel)) {
        throw new UserError(`flag --gp: ${o.gpDir} is not a GP`);
      }
      const iterations = steps;
      const res = await runGpBo({
        backend: be,
        gp: gp!.model,
        loadScaler: gp!.loadScaler,
        elements: cfg.elements,
        designLoad: load,
        constraints,
        train: {
          comp: trainComp,
          load: Float64Array.from(tr.rows, (r) => ds.properties.Load[r]),
          hv: Float64Array.from(tr.rows, (r) => hv[r]),
        },
        iterations,
        seed,
        onIteration: (e) => progress("gpbo", e.iter + 1, iterations, `LCB ${e.lcb.toFixed(0)} HV`),
      });
      candidatesComp = res.proposals;
      gpboInfo = {
        iterations,
        proposals: res.proposals.length / E,
        seconds: (performance.now() - tSearch) / 1000,
      };
    } else {
      const prior = mixture.onDevice(be);
      const whitening = new LatentWhitening(zTrain, d, distinctWeights);
      const white0 = whitening.toWhite(init);
      const gl = makeGradientLoss(dm, {
        whitening,
        prior,
        threshold,
        allowed: constraints.allowed,
        load,
        passes: mc,
        maskStep: 2_000_000,
        utility,
      });
      try {
        const l0 = scope(() => noGrad(() => gl.loss(be.fromData(Float32Array.from(white0), [C, d]), 0)));
        const initialLoss = Float64Array.from(await l0.read());
        l0.dispose();
        const res = await optimizeLatents(be, white0, d, gl.loss, {
          lr,
          maxSteps: steps,
          checkEvery: Math.min(25, steps),
          tol: 1e-4,
          patience: 2,
          onCheck: (c) => {
            const m = c.loss.reduce((a, b) => a + b, 0) / c.loss.length;
            progress("gradient", c.step, steps, `loss ${m.toFixed(3)} active ${c.active}`);
          },
        });
        candidatesComp = constraints.constrainRows(await decodeRows(dm, whitening.fromWhite(res.z)));
        gradInfo = {
          initialLoss,
          finalLoss: res.loss,
          steps: res.totalSteps,
          converged: res.converged.filter((c) => c).length,
          seconds: (performance.now() - tSearch) / 1000,
        };
      } finally {
        gl.dispose();
        prior.dispose();
      }
    }

    // ---- candidates ----
    progress("evaluation", 0, 1, "");
    const evaluation = await evaluateCandidates(candidatesComp, {
      dm,
      mixture,
      logPriorThreshold: threshold,
      constraints,
      trainComp: distinctComp,
      novelty,
      sigmaRef,
      load,
      goal: o.goal,
      evalMc,
      prescreenMc: mc,
      prescreenKeep: Math.max(200, 10 * n),
      n,
      conformal: config.conformal as ConformalModel | null,
      judge,
      gfa,
    });
    progress("evaluation", 1, 1, "");
    if (evaluation.fallback) {
      warnings.push(
        "no candidate passed every gate; the selection shows the best rows anyway (accepted = 0)",
      );
    }
    if (evaluation.candidates.length < n) {
      warnings.push(
        `only ${evaluation.candidates.length} of the ${n} requested candidates are at least ` +
          `${evaluation.minSep.toFixed(4)} apart (composition L2) among the ${
            evaluation.fallback ? "best" : "accepted"
          } rows; more chains or steps, or other constraints, explore more`,
      );
    }
    const bestMean = Math.max(...evaluation.candidates.map((c) => c.hvMean));
    if (bestMean > maxTrainingLabel) {
      warnings.push(
        `the best exported hv_mean ${bestMean.toFixed(1)} HV is ${
          (bestMean - maxTrainingLabel).toFixed(1)
        } HV ` +
          `above every training label (max ${maxTrainingLabel.toFixed(1)} HV): extrapolation`,
      );
    }
    const allowedList = cfg.elements.filter((_, i) => constraints.allowed[i]);
    return {
      params: {
        model: o.modelDir,
        method: o.method,
        load,
        goal: o.goal,
        n,
        chains: C,
        steps,
        burnIn,
        thin: o.method === "mcmc" ? thin : null,
        mc,
        evalMc,
        calibrationMc,
        seed,
        tau,
        jump: o.method === "mcmc" ? jump : null,
        constraints: {
          allowed: allowedList,
          maxElements: Number.isFinite(constraints.maxElements) ? constraints.maxElements : null,
          minFraction: constraints.minFraction,
          precision: constraints.precision,
        },
        judge: judgeDir ?? null,
        gfa: gfa ? { model: gfa.dir, min: gfa.min } : null,
      },
      members: dm.members,
      latentDim: d,
      elements: [...cfg.elements],
      data: {
        file: ds.file,
        rows: ds.nRows,
        trainRows: tr.rows.length,
        distinctCompositions: distinct.length,
        rowSource: tr.source,
      },
      prior: { k: mixture.k, bic, threshold, weights: weightMode },
      calibration: { sigmaRef, noveltyThreshold: novelty.threshold, maxTrainingLabel, lcbZ: DESIGN_LCB_Z },
      gpbo: gpboInfo,
      mcmc: mcmcInfo,
      gradient: gradInfo,
      evaluation,
      constraints,
      extrapolation: {
        maxTrainingLabel,
        targetAboveMaxLabel: o.goal.kind === "target" && o.goal.hv > maxTrainingLabel
          ? o.goal.hv - maxTrainingLabel
          : null,
        bestMeanAboveMaxLabel: bestMean > maxTrainingLabel ? bestMean - maxTrainingLabel : null,
        loadOutsideRange,
        loadRange: [lo, hi],
      },
      warnings,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    model.dispose();
    judge?.model.dispose?.();
    if (gp && gp !== judge) gp.model.dispose?.();
  }
}
