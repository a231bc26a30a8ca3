/**
 * Trains R replicas of the semi-supervised disentangled VAE (nn/models/hea_dvae.ts) as one batched program: seeds,
 * splits or labelled-set sizes on the leading replica axis. Every step of an epoch draws, per replica, the next
 * `batchSize` labelled rows and the next `batchSize` unlabelled rows from the replica's own reshuffled streams; the
 * whole epoch's batches are packed on the host and uploaded with one write. Losses, validation accuracy,
 * best-model snapshots (on validation accuracy, ties broken by validation cross-entropy) and the
 * reduce-LR-on-plateau schedule stay on the device; the host reads one small log row per epoch, pipelined one epoch
 * behind.
 *
 * Defaults are the reference's: Adam lr 1e-4 (β1 0.9, β2 0.999), batch 32, γ = 10, LR × 0.5 after 200 epochs
 * without improvement.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { gradients, noGrad } from "../autodiff.ts";
import { keep, scope } from "../scope.ts";
import { Adam } from "../optim/adam.ts";
import { BestSnapshot } from "./best_snapshot.ts";
import { Rng } from "../random.ts";
import { replicaSeed } from "../layers/dense.ts";
import { HeaDvae, type HeaDvaeOptions } from "../models/hea_dvae.ts";
import { type HeaBatch, heaObjective, OBJECTIVE_COLUMNS } from "../models/hea_elbo.ts";
import { add, affine, mul } from "../ops/elementwise.ts";
import { sum } from "../ops/reduce.ts";
import { concat } from "../ops/movement.ts";
import { loss } from "../ops/fused.ts";
import { StandardScaler } from "../../data/scaler.ts";

/** The data of a run: every alloy's composition, raw descriptors and label (replicas pick rows by index). */
export interface HeaArrays {
  /** Number of alloys. */
  n: number;
  /** Composition width (30). */
  elements: number;
  /** Atomic fractions, row-major n × elements. */
  comp: ArrayLike<number>;
  /** Raw (unstandardised) descriptors, row-major n × 8. */
  desc: ArrayLike<number>;
  /** 1 = single phase, 0 = multi-phase. */
  label: ArrayLike<number>;
}

/** One replica: its rows and seed. */
export interface HeaReplicaPlan {
  /** Short label for logs (`paper/seed0`, `split3`, `n247/seed1`). */
  label: string;
  /** Labelled training rows (labels used). */
  labelled: readonly number[];
  /** Unlabelled training rows (labels never read); may be empty. */
  unlabelled: readonly number[];
  /** Model-selection rows. */
  validation: readonly number[];
  /** Seed of the initialisation, shuffles and latent samples. */
  seed: number;
}

/** Training options (defaults: the reference recipe). */
export interface HeaTrainOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  beta1?: number;
  beta2?: number;
  /** Decoupled (AdamW) weight decay on every parameter (0). */
  weightDecay?: number;
  /** Weight γ of the supervised term (10). */
  gamma?: number;
  /** Weight of the ELBO terms (1); 0 trains the classifier alone (the supervised-only network). */
  elboWeight?: number;
  /** T of the multinomial likelihood (100 = at.%). */
  countScale?: number;
  /** Halve the learning rate after this many epochs without improvement (200; null = off). */
  plateauPatience?: number | null;
  plateauFactor?: number;
  /** Stop a replica after this many epochs without improvement (null = never, the default). */
  earlyStopPatience?: number | null;
  /** Architecture (elements/descriptors come from the data). */
  arch?: Omit<HeaDvaeOptions, "replicas" | "seed" | "backend" | "elements">;
  /** Per-epoch callback (in order, one epoch behind the device). */
  onEpoch?: (epoch: number, logs: HeaEpochLog[]) => void;
}

/** One replica's numbers for one epoch. */
export interface HeaEpochLog {
  epoch: number;
  /** Mean over steps of the replica's loss. */
  loss: number;
  /** −mean labelled ELBO. */
  negElboLabelled: number;
  /** Mean supervised cross-entropy. */
  ce: number;
  /** −mean unlabelled ELBO. */
  negElboUnlabelled: number;
  /** Mean KL of z (labelled rows). */
  kl: number;
  /** Validation accuracy and cross-entropy (deterministic classifier). */
  valAccuracy: number;
  valCe: number;
  lr: number;
  active: boolean;
  improved: boolean;
}

/** Result: the model with every replica's best weights restored. */
export interface HeaTrainResult {
  model: HeaDvae;
  /** Descriptor standardiser of each replica (fit on its labelled + unlabelled rows). */
  scalers: StandardScaler[];
  curves: HeaEpochLog[][];
  bestEpoch: number[];
  bestValAccuracy: number[];
  epochsRun: number;
  seconds: number;
}

/** Number of descriptors. */
const F = 8;

/** A replica's row stream: consecutive reshuffles of its rows, so every step gets a full batch. */
class RowStream {
  #order: number[] = [];
  #pos = 0;
  #round = 0;
  constructor(readonly rows: readonly number[], readonly seed: number, readonly stream: number) {}
  next(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      if (this.#pos >= this.#order.length) {
        this.#order = new Rng(this.seed, this.stream + 2 * this.#round++).shuffle([...this.rows]);
        this.#pos = 0;
      }
      out.push(this.#order[this.#pos++]);
    }
    return out;
  }
}

/** Standardised descriptors of every row for one replica (float32, n × 8). */
function scaledDescriptors(data: HeaArrays, s: StandardScaler): Float32Array {
  return Float32Array.from(s.transform(data.desc));
}

/** Trains every replica of `plans` together and returns the restored best models. */
export async function trainHeaDvae(
  be: Backend,
  data: HeaArrays,
  plans: readonly HeaReplicaPlan[],
  o: HeaTrainOptions = {},
  seed = 0,
): Promise<HeaTrainResult> {
  const t0 = performance.now();
  const R = plans.length;
  if (R === 0) throw new RangeError("trainHeaDvae: no replicas");
  const epochs = o.epochs ?? 1000, B = o.batchSize ?? 32, lr = o.lr ?? 1e-4;
  const gamma = o.gamma ?? 10, elboWeight = o.elboWeight ?? 1, countScale = o.countScale ?? 100;
  const plateau = o.plateauPatience === undefined ? 200 : o.plateauPatience;
  const factor = o.plateauFactor ?? 0.5;
  const early = o.earlyStopPatience ?? null;
  const E = data.elements;
  const useUnl = elboWeight !== 0 && plans.every((p) => p.unlabelled.length > 0);
  for (const p of plans) {
    if (!p.labelled.length) throw new RangeError(`trainHeaDvae: replica ${p.label} has no labelled rows`);
    if (!p.validation.length) throw new RangeError(`trainHeaDvae: replica ${p.label} has no validation rows`);
  }
  const scalers = plans.map((p) => StandardScaler.fit(data.desc, F, [...p.labelled, ...p.unlabelled]));
  const descR = scalers.map((s) => scaledDescriptors(data, s));
  const model = new HeaDvae({ ...o.arch, elements: E, descriptors: F, replicas: R, seed, backend: be });
  const lead = R > 1 ? [R] : [];
  const params = model.parameters();
  const adam = new Adam(params, {
    lr,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.999,
    eps: 1e-8,
    weightDecay: o.weightDecay ?? 0,
    replicas: R,
  });
  const streams = plans.map((p, r) => {
    const s = replicaSeed(p.seed, r);
    return { lab: new RowStream(p.labelled, s, 0x100), unl: new RowStream(p.unlabelled, s, 0x101) };
  });
  const steps = Math.max(...plans.map((p) => Math.ceil(p.labelled.length / B)));

  // Validation rows, padded to the largest count (padding rows get weight 0); uploaded once.
  const V = Math.max(...plans.map((p) => p.validation.length));
  const vX = new Float32Array(R * V * E), vF = new Float32Array(R * V * F), vY = new Float32Array(R * V);
  const vW = new Float32Array(R * V);
  plans.forEach((p, r) => {
    for (let i = 0; i < V; i++) {
      const row = p.validation[Math.min(i, p.validation.length - 1)];
      for (let j = 0; j < E; j++) vX[(r * V + i) * E + j] = data.comp[row * E + j];
      vF.set(descR[r].subarray(row * F, row * F + F), (r * V + i) * F);
      vY[r * V + i] = data.label[row];
      vW[r * V + i] = i < p.validation.length ? 1 / p.validation.length : 0;
    }
  });
  const val = {
    x: keep(be.fromData(vX, [...lead, V, E])),
    f: keep(be.fromData(vF, [...lead, V, F])),
    y: keep(be.fromData(vY, [...lead, V, 1])),
    w: keep(be.fromData(vW, [R, V])),
  };
  const fill = (v: number) => keep(be.fill([R], v));
  const st = {
    bestAcc: fill(-1),
    bestCe: fill(3e38),
    bestEpoch: fill(-1),
    wait: fill(0),
    pwait: fill(0),
    lrScale: fill(1),
    active: fill(1),
  };
  const best = new BestSnapshot(be, model.namedTensors().map((n) => n.tensor), adam, R);

  // Epoch buffer layout: per step, labelled x, f, φ then unlabelled x, f (each block 64-aligned).
  const align = (n: number) => Math.ceil(n / 64) * 64;
  const blk = {
    lx: R * B * E,
    lf: R * B * F,
    ly: R * B,
    ux: useUnl ? R * B * E : 0,
    uf: useUnl ? R * B * F : 0,
  };
  const offs: Record<keyof typeof blk, number> = { lx: 0, lf: 0, ly: 0, ux: 0, uf: 0 };
  let per = 0;
  for (const k of Object.keys(blk) as (keyof typeof blk)[]) offs[k] = per, per += align(blk[k]);
  const epochHost = new Float32Array(per * steps);
  const epochBuf = keep(be.empty([epochHost.length]));
  const stepAcc = keep(be.fill([R, OBJECTIVE_COLUMNS], 0));
  const curves: HeaEpochLog[][] = plans.map(() => []);
  const K = OBJECTIVE_COLUMNS + 6;
  const pending: { epoch: number; read: Promise<Float32Array | Int32Array> }[] = [];
  let stopAll = false, epochsRun = 0, sampleStep = 0;

  const pack = () => {
    for (let s = 0; s < steps; s++) {
      const base = s * per;
      for (let r = 0; r < R; r++) {
        const put = (rows: number[], xo: number, fo: number, yo: number) => {
          rows.forEach((row, i) => {
            const k = r * B + i;
            for (let j = 0; j < E; j++) epochHost[base + xo + k * E + j] = data.comp[row * E + j];
            epochHost.set(descR[r].subarray(row * F, row * F + F), base + fo + k * F);
            if (yo >= 0) epochHost[base + yo + k] = data.label[row];
          });
        };
        put(streams[r].lab.next(B), offs.lx, offs.lf, offs.ly);
        if (useUnl) put(streams[r].unl.next(B), offs.ux, offs.uf, -1);
      }
    }
  };

  const parseLog = (epoch: number, v: Float32Array | Int32Array) => {
    const logs = plans.map((_, r): HeaEpochLog => {
      const a = r * K, c = OBJECTIVE_COLUMNS;
      return {
        epoch,
        loss: v[a],
        negElboLabelled: v[a + 1],
        ce: v[a + 2],
        negElboUnlabelled: v[a + 3],
        kl: v[a + 4],
        valAccuracy: v[a + c],
        valCe: v[a + c + 1],
        lr: lr * v[a + c + 2],
        active: v[a + c + 3] > 0.5,
        improved: v[a + c + 4] > 0.5,
      };
    });
    logs.forEach((l, r) => curves[r].push(l));
    o.onEpoch?.(epoch, logs);
    if (plans.every((_, r) => v[r * K + OBJECTIVE_COLUMNS + 5] < 0.5)) stopAll = true;
  };

  for (let epoch = 0; epoch < epochs && !stopAll; epoch++) {
    pack();
    be.write(epochBuf, epochHost);
    model.train();
    for (let s = 0; s < steps; s++) {
      scope(() => {
        const v = (off: number, shape: number[]) => be.subview(epochBuf, s * per + off, [...lead, ...shape]);
        const batch: HeaBatch = {
          labelled: { x: v(offs.lx, [B, E]), f: v(offs.lf, [B, F]), phi: v(offs.ly, [B, 1]) },
          unlabelled: useUnl ? { x: v(offs.ux, [B, E]), f: v(offs.uf, [B, F]) } : null,
        };
        const obj = heaObjective(model, batch, {
          gamma,
          elboWeight,
          countScale,
          sample: true,
          key: { seed: seed >>> 0, stream: 0x4ea },
          step: sampleStep++,
        });
        // A replica that stopped early keeps training, but its snapshot no longer changes.
        const grads = gradients(obj.total, params);
        adam.update(grads);
        noGrad(() => be.copyInto(stepAcc, s === 0 ? obj.terms : add(stepAcc, obj.terms)));
      });
    }
    const logRow = scope(() => noGrad(() => epochEnd(epoch)));
    pending.push({ epoch, read: be.read(logRow) });
    logRow.dispose();
    epochsRun = epoch + 1;
    while (pending.length > 1) {
      const p = pending.shift()!;
      parseLog(p.epoch, await p.read);
    }
  }
  while (pending.length) {
    const p = pending.shift()!;
    parseLog(p.epoch, await p.read);
  }

  function epochEnd(epoch: number): Tensor {
    const m = affine(stepAcc, 1 / steps);
    model.eval();
    const logit = model.classifierLogit(val.f, model.arch.compositionBranch ? val.x : null);
    const correct = be.binary("eq", be.binary("gt", logit, be.fill([1], 0)), val.y); // [.., V, 1]
    const acc = sum(mul(correct.view([R, V]), val.w), 1); // [R]
    const ce = sum(mul(loss("bce_logits", logit, val.y).view([R, V]), val.w), 1);
    const zeros = be.fill([R], 0);
    const better = be.binary("gt", acc, affine(st.bestAcc, 1, 1e-6));
    const tie = mul(be.binary("ge", acc, affine(st.bestAcc, 1, -1e-6)), be.binary("lt", ce, st.bestCe));
    const improved = mul(be.binary("max", better, tie), st.active);
    const activeBefore = st.active;
    const wait = be.where(improved, zeros, affine(st.wait, 1, 1));
    const activeNext = early === null
      ? activeBefore
      : mul(activeBefore, be.binary("lt", wait, be.fill([R], early)));
    const log = concat(
      [m, ...[acc, ce, st.lrScale, activeBefore, improved, activeNext].map((t) => t.view([R, 1]))],
      1,
    );
    best.update(improved);
    be.copyInto(st.bestAcc, be.where(improved, acc, st.bestAcc));
    be.copyInto(st.bestCe, be.where(improved, ce, st.bestCe));
    be.copyInto(st.bestEpoch, be.where(improved, be.fill([R], epoch), st.bestEpoch));
    if (plateau !== null) {
      const pw = be.where(improved, zeros, affine(st.pwait, 1, 1));
      const fire = be.binary("ge", pw, be.fill([R], plateau));
      be.copyInto(st.lrScale, be.where(fire, affine(st.lrScale, factor), st.lrScale));
      be.copyInto(st.pwait, be.where(fire, zeros, pw));
      adam.setReplicaLrScale(st.lrScale);
    }
    be.copyInto(st.wait, wait);
    if (activeNext !== activeBefore) be.copyInto(st.active, activeNext);
    return log;
  }

  noGrad(() => best.restore());
  const [be0, ba] = await Promise.all([be.read(st.bestEpoch), be.read(st.bestAcc)]);
  best.dispose();
  for (const t of [...Object.values(val), ...Object.values(st), epochBuf, stepAcc]) t.dispose();
  adam.dispose();
  model.eval();
  return {
    model,
    scalers,
    curves,
    bestEpoch: Array.from(be0),
    bestValAccuracy: Array.from(ba),
    epochsRun,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * q(φ = 1 | x) of every requested row for every replica, [R][rows.length], in one forward pass and one read.
 * @param rows dataset rows to classify (default: all)
 */
export async function predictSinglePhase(
  model: HeaDvae,
  scalers: readonly StandardScaler[],
  data: HeaArrays,
  rows?: readonly number[],
): Promise<Float64Array[]> {
  const be = model.parameters()[0].backend;
  const R = model.replicas, E = data.elements;
  const idx = rows ?? Array.from({ length: data.n }, (_, i) => i);
  const N = idx.length;
  const x = new Float32Array(R * N * E), f = new Float32Array(R * N * F);
  for (let r = 0; r < R; r++) {
    const d = scalers[r].transform(
      Float64Array.from(idx.flatMap((i) => Array.from({ length: F }, (_, j) => data.desc[i * F + j]))),
    );
    f.set(d, r * N * F);
    idx.forEach((i, k) => {
      for (let j = 0; j < E; j++) x[(r * N + k) * E + j] = data.comp[i * E + j];
    });
  }
  const lead = R > 1 ? [R] : [];
  const p = scope(() =>
    noGrad(() => {
      model.eval();
      const logit = model.classifierLogit(
        be.fromData(f, [...lead, N, F]),
        model.arch.compositionBranch ? be.fromData(x, [...lead, N, E]) : null,
      );
      return be.unary("sigmoid", logit);
    })
  );
  const v = await be.read(p);
  p.dispose();
  return Array.from({ length: R }, (_, r) => Float64Array.from(v.subarray(r * N, (r + 1) * N)));
}
