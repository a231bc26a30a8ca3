/**
 * Trains R VIBANN replicas as one batched program (folds × seeds × search trials on the replica axis). Every step of
 * an epoch is recorded into the open command encoder; losses, metrics and the whole epoch-end control (β controller
 * or KL annealing, early stopping with restore-best — β included —, reduce-LR-on-plateau) run on the device. The host
 * reads one small log row per epoch, pipelined: it waits for epoch e's log only after epoch e + 1 is recorded, so the
 * ~10 ms readback never stalls the device.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { gradients, noGrad } from "../autodiff.ts";
import { keep, scope } from "../scope.ts";
import { Adam } from "../optim/adam.ts";
import { BestSnapshot } from "./best_snapshot.ts";
import { replicaSeed } from "../layers/dense.ts";
import type { VibannBase } from "../models/vibann.ts";
import { type ArchSpec, buildVibann } from "../models/vibann_factory.ts";
import { add, affine, exp, mul, square, sub } from "../ops/elementwise.ts";
import { sum } from "../ops/reduce.ts";
import { concat } from "../ops/movement.ts";
import { matmul } from "../ops/matmul.ts";
import { loss } from "../ops/fused.ts";
import { vibObjective } from "../ops/vib_objective.ts";
import { packEpoch, type PackSource, type StepLayout } from "./epoch_batches.ts";

/** The data a run trains on (all rows of the dataset; replicas pick rows by index). */
export interface HardnessArrays {
  /** Simplex-normalised compositions [N, E] (float32). */
  comp: Float32Array;
  elements: number;
  /** Raw indentation load per row. */
  load: Float64Array;
  /** Raw hardness (HV) per row. */
  hv: Float64Array;
  /** Sample weight per row (family debiasing). */
  weight: Float64Array;
}

/** One replica of a run. */
export interface ReplicaPlan {
  /** Short label for logs, e.g. `fold2/seed1`. */
  label: string;
  /** Training rows. */
  train: readonly number[];
  /** Early-stopping (validation) rows; never trained on. */
  val: readonly number[];
  latentDim: number;
  dropout: number;
  /** Seed of initialisation, shuffles, dropout masks and latent samples. */
  seed: number;
}

/** β schedule: the reference's KL-per-dimension controller, or linear KL annealing to `max`. */
export type BetaSchedule =
  | { mode: "controller"; init: number; target: number; factor: number; min: number; max: number }
  | { mode: "anneal"; max: number; warmupEpochs: number };

/** The reference's β controller (§3.2). */
export const REFERENCE_BETA: BetaSchedule = {
  mode: "controller",
  init: 1e-3,
  target: 0.15,
  factor: 1.05,
  min: 1e-6,
  max: 100,
};

/** Training options (defaults: the reference protocol, plus reduce-LR-on-plateau). */
export interface VibannTrainOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Early-stopping patience in epochs (100). */
  patience?: number;
  beta?: BetaSchedule;
  /** Reduce-LR-on-plateau: multiply lr by `factor` after `patience` epochs without improvement (null = off). */
  plateau?: { patience: number; factor: number; minLr: number } | null;
  /** Weight of the composition-reconstruction KL (0.5). */
  reconWeight?: number;
  /** Per-epoch callback with one log per replica (called in order, at most one epoch behind the device). */
  onEpoch?: (epoch: number, logs: EpochLog[]) => void;
  /** Architecture (default: `reference`). */
  arch?: ArchSpec;
}

/** One replica's numbers for one epoch. */
export interface EpochLog {
  epoch: number;
  /** Mean over steps of the total training loss. */
  loss: number;
  /** Weighted MSE on standardised HV (training batches, sampled z, dropout on). */
  mse: number;
  /** Weighted composition KL (reconstruction). */
  recon: number;
  /** KL per latent dimension (mean over batches) — what the β controller targets. */
  klPerDim: number;
  /** Weighted MSE on the validation rows (deterministic), the early-stopping monitor. */
  valMse: number;
  /** β used during the epoch. */
  beta: number;
  /** Learning rate used during the epoch. */
  lr: number;
  /** Whether the replica was still training (not early-stopped) during this epoch. */
  active: boolean;
  /** Whether the validation loss improved (best weights snapshotted). */
  improved: boolean;
  /** KL per latent dimension, per dimension (length = replica's latent size). */
  klDims: number[];
  /** Mean attention gate over the training rows (length E). */
  gate: number[];
}

/** Standardisation constants of one replica (population std; the target's has +1e-8 as the reference). */
export interface ReplicaScalers {
  loadMean: number;
  loadScale: number;
  yMean: number;
  yScale: number;
}

/** Result of a run: the model with every replica's best weights restored. */
export interface VibannTrainResult {
  model: VibannBase;
  scalers: ReplicaScalers[];
  curves: EpochLog[][];
  bestEpoch: number[];
  bestValMse: number[];
  /** β restored with the best weights. */
  bestBeta: number[];
  epochsRun: number;
  seconds: number;
}

function meanStd(v: Float64Array, rows: readonly number[]): [number, number] {
  let m = 0;
  for (const i of rows) m += v[i];
  m /= rows.length;
  let s = 0;
  for (const i of rows) s += (v[i] - m) ** 2;
  return [m, Math.sqrt(s / rows.length)];
}

/** Scalers fit on a replica's training rows, as the reference does per fold. */
export function fitScalers(data: HardnessArrays, train: readonly number[]): ReplicaScalers {
  const [loadMean, ls] = meanStd(data.load, train);
  const [yMean, ys] = meanStd(data.hv, train);
  return { loadMean, loadScale: ls > 0 ? ls : 1, yMean, yScale: ys + 1e-8 };
}

const BIG = 3e38;

/** Trains every replica of `plans` together and returns the restored best models. */
export async function trainVibann(
  be: Backend,
  data: HardnessArrays,
  plans: readonly ReplicaPlan[],
  o: VibannTrainOptions = {},
  seed = 0,
): Promise<VibannTrainResult> {
  const t0 = performance.now();
  const R = plans.length;
  if (R === 0) throw new RangeError("trainVibann: no replicas");
  for (const p of plans) {
    if (p.train.length === 0) throw new RangeError(`trainVibann: replica ${p.label} has no training rows`);
    if (p.val.length === 0) throw new RangeError(`trainVibann: replica ${p.label} has no validation rows`);
  }
  const epochs = o.epochs ?? 1000, B = o.batchSize ?? 32, lr = o.lr ?? 1e-3, patience = o.patience ?? 100;
  const beta = o.beta ?? REFERENCE_BETA;
  const plateau = o.plateau === undefined ? null : o.plateau;
  const reconWeight = o.reconWeight ?? 0.5;
  const E = data.elements;
  const lead = R > 1 ? [R] : [];
  const scalers = plans.map((p) => fitScalers(data, p.train));
  const src: PackSource = {
    comp: data.comp,
    elements: E,
    loadScaled: scalers.map((s) => Float32Array.from(data.load, (v) => (v - s.loadMean) / s.loadScale)),
    yScaled: scalers.map((s) => Float32Array.from(data.hv, (v) => (v - s.yMean) / s.yScale)),
    weight: Float32Array.from(data.weight),
  };
  const arch = o.arch ?? { arch: "reference", elementSymbols: Array.from({ length: E }, (_, i) => `e${i}`) };
  if (arch.elementSymbols.length !== E) {
    throw new RangeError(
      `trainVibann: ${arch.elementSymbols.length} element symbols for ${E} composition columns`,
    );
  }
  const model = buildVibann(arch, {
    latentDim: plans.map((p) => p.latentDim),
    dropout: plans.map((p) => p.dropout),
    replicas: R,
    seed,
    backend: be,
  });
  const L = model.latentDim;
  const named = model.namedTensors();
  const params = model.parameters();
  const adam = new Adam(params, { lr, replicas: R });
  const replicas = plans.map((p, r) => ({ train: p.train, seed: replicaSeed(p.seed, r) }));
  // Validation set, padded to the largest replica's count; uploaded once.
  const V = Math.max(...plans.map((p) => p.val.length));
  const vComp = new Float32Array(R * V * E), vLoad = new Float32Array(R * V), vY = new Float32Array(R * V);
  const vWm = new Float32Array(R * V), vInvN = new Float32Array(R);
  plans.forEach((p, r) => {
    p.val.forEach((row, i) => {
      vComp.set(data.comp.subarray(row * E, (row + 1) * E), (r * V + i) * E);
      vLoad[r * V + i] = src.loadScaled[r][row];
      vY[r * V + i] = src.yScaled[r][row];
      vWm[r * V + i] = src.weight[row];
    });
    for (let i = p.val.length; i < V; i++) vComp.set(data.comp.subarray(0, E), (r * V + i) * E);
    vInvN[r] = 1 / p.val.length;
  });
  const val = {
    comp: keep(be.fromData(vComp, [...lead, V, E])),
    load: keep(be.fromData(vLoad, [...lead, V, 1])),
    y: keep(be.fromData(vY, [...lead, V, 1])),
    wm: keep(be.fromData(vWm, [...lead, V])),
    invN: keep(be.fromData(vInvN, [R])),
  };
  // Controller state, all [R].
  const fill = (v: number) => keep(be.fill([R], v));
  const st = {
    beta: fill(beta.mode === "controller" ? beta.init : 0),
    best: fill(BIG),
    bestEpoch: fill(-1),
    bestBeta: fill(beta.mode === "controller" ? beta.init : 0),
    wait: fill(0),
    active: fill(1),
    lrScale: fill(1),
    pwait: fill(0),
  };
  const invL = keep(be.fromData(plans.map((p) => 1 / p.latentDim), [R]));
  const best = new BestSnapshot(be, named.map((n) => n.tensor), adam, R);
  // Per-epoch buffer: the layout depends only on row counts, so it is allocated once.
  let epochBuf: Tensor | null = null;
  let stepAcc: Tensor | null = null;
  // Metric and loss row weights 1/b of steps without padding rows, one kept constant per batch width.
  const widthWeights = new Map<number, Tensor>();
  // Backward seed of the per-replica step sums [.., 1, 4] of the objective's stats: the loss column only.
  const lossSeed = keep(be.fromData(Array.from({ length: R }, () => [1, 0, 0, 0]).flat(), [...lead, 1, 4]));
  const rowWeights = (b: number) => {
    let t = widthWeights.get(b);
    if (!t) widthWeights.set(b, t = keep(be.fill([...lead, b], 1 / b)));
    return t;
  };
  const curves: EpochLog[][] = plans.map(() => []);
  const K = 10; // scalar columns of the log row
  const pending: { epoch: number; read: Promise<Float32Array | Int32Array> }[] = [];
  let stopAll = false, epochsRun = 0;

  const parseLog = (epoch: number, v: Float32Array | Int32Array) => {
    const W = K + L + E;
    const logs: EpochLog[] = plans.map((p, r) => {
      const o = r * W;
      return {
        epoch,
        loss: v[o],
        mse: v[o + 1],
        recon: v[o + 2],
        klPerDim: v[o + 3],
        valMse: v[o + 4],
        beta: v[o + 5],
        lr: lr * v[o + 6],
        active: v[o + 7] > 0.5,
        improved: v[o + 8] > 0.5,
        klDims: Array.from(v.subarray(o + K, o + K + p.latentDim)),
        gate: Array.from(v.subarray(o + K + L, o + K + L + E)),
      };
    });
    logs.forEach((l, r) => curves[r].push(l));
    o.onEpoch?.(epoch, logs);
    // Column 9: whether the replica is still active after this epoch's early-stopping update.
    if (plans.every((_, r) => v[r * W + 9] < 0.5)) stopAll = true;
  };

  const zerosR = () => be.fill([R], 0);
  const fullR = (v: number) => be.fill([R], v);
  const lessThan = (a: Tensor, b: Tensor) => be.binary("lt", a, b);
  const greaterEq = (a: Tensor, b: Tensor) => be.binary("ge", a, b);
  const where = (c: Tensor, a: Tensor, b: Tensor) => be.where(c, a, b);
  const maxT = (a: Tensor, b: Tensor) => be.binary("max", a, b);
  const clampT = (a: Tensor, lo: number, hi: number) => be.unary("clamp", a, lo, hi);

  for (let epoch = 0; epoch < epochs && !stopAll; epoch++) {
    const packed = packEpoch(src, replicas, B, epoch);
    if (!epochBuf) epochBuf = keep(be.empty([packed.data.length]));
    be.write(epochBuf, packed.data);
    if (beta.mode === "anneal") {
      const b = beta.max * Math.min(1, (epoch + 1) / Math.max(1, beta.warmupEpochs));
      const t = be.fill([R], b);
      be.copyInto(st.beta, t);
      t.dispose();
    }
    model.train();
    // Each step in its own scope, summing its metrics into a kept accumulator: the step frees everything it
    // allocated, so every step reuses the same pool buffers (and cached bind groups).
    stepAcc ??= keep(be.empty([R, stepColumns(L, E)]));
    // β_r / L_r for the epoch (β changes only at its end).
    const klScale = keep(noGrad(() => mul(st.beta, invL)));
    packed.steps.forEach((lay, k) =>
      scope(() => {
        const m = trainStep(
          be,
          model,
          adam,
          params,
          epochBuf!,
          lay,
          lead,
          E,
          klScale,
          rowWeights,
          reconWeight,
          lossSeed,
        );
        noGrad(() => be.copyInto(stepAcc!, k === 0 ? m : add(stepAcc!, m)));
      })
    );
    klScale.dispose();
    const logRow = scope(() => {
      const S = packed.steps.length;
      const m = noGrad(() => affine(stepAcc!, 1 / S)); // [R, stepColumns(L, E)] means over steps
      // Validation (deterministic: BN running statistics, no dropout, z = μ).
      model.eval();
      const valMse = noGrad(() => {
        const out = model.forward(val.comp, val.load);
        const r = loss("weighted_mse", out.y, val.y, val.wm);
        return mul(sum(r, -1, false).view([R]), val.invN);
      });
      return noGrad(() => epochEnd(epoch, m, valMse));
    });
    const read = be.read(logRow);
    logRow.dispose();
    pending.push({ epoch, read });
    epochsRun = epoch + 1;
    // Pipelining: consume the previous epoch's log now that this one is recorded and submitted.
    while (pending.length > 1) {
      const p = pending.shift()!;
      parseLog(p.epoch, await p.read);
    }
  }
  while (pending.length) {
    const p = pending.shift()!;
    parseLog(p.epoch, await p.read);
  }

  function epochEnd(epoch: number, m: Tensor, valMse: Tensor): Tensor {
    const col = (j: number) => sliceCol(m, j);
    // KL per latent dimension: column 3 holds the per-row KL sum, divided by each replica's L.
    const klEpoch = mul(col(3), invL);
    const betaUsed = st.beta;
    const activeBefore = st.active;
    const improved = mul(lessThan(valMse, st.best), activeBefore);
    const logCols = [col(0), col(1), col(2), klEpoch, valMse, betaUsed, st.lrScale, activeBefore, improved];
    const waitNext = where(improved, zerosR(), affine(st.wait, 1, 1));
    const activeNext = mul(activeBefore, lessThan(waitNext, fullR(patience)));
    const head = concat([...logCols, activeNext].map((t) => t.view([R, 1])), 1);
    // Per-dimension KL ½(E[σ²] + E[μ²] − E[logσ²] − 1) from the step means (a masked dimension gives 0).
    const klDims = affine(
      sub(add(sliceCols(m, 4, L), sliceCols(m, 4 + L, L)), sliceCols(m, 4 + 2 * L, L)),
      0.5,
      -0.5,
    );
    const log = concat([head, klDims, sliceCols(m, 4 + 3 * L, E)], 1);
    // Snapshot the improved replicas' weights, state and β.
    const imp = improved;
    best.update(imp);
    assign(st.bestBeta, where(imp, betaUsed, st.bestBeta));
    assign(st.bestEpoch, where(imp, fullR(epoch), st.bestEpoch));
    assign(st.best, where(imp, valMse, st.best));
    if (beta.mode === "controller") {
      const up = affine(betaUsed, beta.factor, 0), down = affine(betaUsed, 1 / beta.factor, 0);
      const nb = clampT(where(lessThan(klEpoch, fullR(beta.target)), down, up), beta.min, beta.max);
      assign(st.beta, nb);
    }
    if (plateau) {
      const pw = where(improved, zerosR(), affine(st.pwait, 1, 1));
      const fire = mul(greaterEq(pw, fullR(plateau.patience)), activeBefore);
      const reduced = maxT(affine(st.lrScale, plateau.factor, 0), fullR(plateau.minLr / lr));
      assign(st.lrScale, where(fire, reduced, st.lrScale));
      assign(st.pwait, where(fire, zerosR(), pw));
      adam.setReplicaLrScale(st.lrScale);
    }
    assign(st.wait, waitNext);
    assign(st.active, activeNext);
    return log;
  }
  function assign(dst: Tensor, src: Tensor) {
    be.copyInto(dst, src);
  }
  function sliceCol(m: Tensor, j: number): Tensor {
    return be.slice(m, [0, j], [R, 1]).view([R]);
  }
  function sliceCols(m: Tensor, j: number, n: number): Tensor {
    return be.slice(m, [0, j], [R, n]);
  }
  // Restore every replica's best weights (and β); replicas that never improved keep their last weights.
  noGrad(() => best.restore());
  const [bestEpochV, bestV, bestBetaV] = await Promise.all([
    be.read(st.bestEpoch),
    be.read(st.best),
    be.read(st.bestBeta),
  ]);
  best.dispose();
  for (const t of [...Object.values(val), ...Object.values(st), ...widthWeights.values(), lossSeed, invL]) {
    t.dispose();
  }
  epochBuf?.dispose();
  stepAcc?.dispose();
  adam.dispose();
  model.eval();
  return {
    model,
    scalers,
    curves,
    bestEpoch: Array.from(bestEpochV),
    bestValMse: Array.from(bestV, (v) => (v >= BIG ? Infinity : v)),
    bestBeta: Array.from(bestBetaV),
    epochsRun,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Records one training step and returns its metrics [R, stepColumns(L, E)], row means over the step's real rows:
 * total loss, weighted MSE, weighted reconstruction KL, latent KL, E[σ²], E[μ²], E[logσ²] per dimension, mean gate.
 */
function trainStep(
  be: Backend,
  model: VibannBase,
  adam: Adam,
  params: Tensor[],
  buf: Tensor,
  lay: StepLayout,
  lead: number[],
  E: number,
  klScale: Tensor,
  rowWeights: (width: number) => Tensor,
  reconWeight: number,
  seed: Tensor,
): Tensor {
  const R = model.replicas, b = lay.width, L = model.latentDim;
  const v = (off: number, shape: number[]) => be.subview(buf, off, [...lead, ...shape]);
  const comp = v(lay.comp, [b, E]), load = v(lay.load, [b, 1]), y = v(lay.y, [b, 1]);
  const wm = v(lay.wm, [b]), invN = v(lay.invN, [1]);
  const mask = lay.masked ? v(lay.mask, [b, 1]) : null;
  const maskRows = lay.masked ? v(lay.mask, [b]) : null;
  const out = model.forward(comp, load, mask);
  // κ = β_r / L_r per replica, or per row with padding rows at 0.
  const kappa = noGrad(() => maskRows ? mul(maskRows, klScale.view([...lead, 1])) : klScale);
  // Per row (loss, weighted MSE, weighted reconstruction KL, latent KL) in one kernel: [.., b, 4].
  const stats = vibObjective(
    { pred: out.y, target: y, weight: wm, recon: out.recon, comp, kl: out.kl, kappa },
    reconWeight,
  );
  // Row weights mask/n: a cached constant 1/b when every row is real.
  const w = noGrad(() => maskRows ? mul(maskRows, invN) : rowWeights(b)).view([...lead, 1, b]);
  // Per replica Σ_rows w·stats as one matmul; the seed (1, 0, 0, 0) back-propagates the loss column, so each
  // replica gets its own loss's gradient.
  adam.update(gradients(matmul(w, stats), params, seed));
  return noGrad(() => {
    // Row means of every logged per-row quantity as ONE weighted row-sum (a matmul with the same row weights):
    // the four stats, then σ², μ² and logσ² per latent dimension and the gate per element. The epoch end turns
    // the σ², μ², logσ² means into per-dimension KL.
    const rows = concat([stats, exp(out.logvar), square(out.mu), out.logvar, out.gate], -1);
    return matmul(w, rows).view([R, stepColumns(L, E)]);
  });
}

/** Columns of a step's metrics row: 4 scalars, σ², μ², logσ² per latent dimension, gate per element. */
function stepColumns(L: number, E: number): number {
  return 4 + 3 * L + E;
}
