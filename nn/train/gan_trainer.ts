/**
 * Trains a {@link Gan} on a table of samples with the standard alternating scheme: per step one discriminator update
 * on a real batch and a generated batch, then one generator update, both with Adam (lr 1e-3, β1 0.5 — the paper
 * states Adam and 1e-3 but not β1; 0.5 is the DCGAN value that keeps GAN training stable). Losses are the
 * non-saturating ones, computed from the discriminator's logits by the fused, stable `bce_logits` loss:
 *
 *   L_D = BCE(D(x), 1) + BCE(D(G(z)), 0),   L_G = BCE(D(G(z)), 1)   (batch means).
 *
 * Every column is min-max scaled to [0, 1] on the training data (the generator ends in a sigmoid); samples are mapped
 * back with the same {@link MinMaxScaler}.
 *
 * Device work: an epoch's real batches are uploaded as one buffer, latent draws come from the Philox kernels (a pure
 * function of (seed, step)), every step is recorded into the open command stream, and the host reads ONE row per
 * epoch — the epoch's mean losses and mean discriminator outputs, plus, on monitored epochs, a batch of generated
 * samples for the mode-collapse indicators. The read of epoch e is awaited only after epoch e + 1 is recorded.
 *
 * Selection (`select: "w2"`): GANs drift into partial mode collapse as training goes on, so the last generator is not
 * the best one. On every monitored epoch the generator's weights are copied on the device into one of two candidate
 * slots (the verdict arrives one epoch later, with the read) and the Sinkhorn W₂ of its samples to the training
 * rows is computed on the host; the candidate with the smallest W₂ is promoted and restored at the end. Only
 * training data is used, so held-out evaluations stay honest.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { gradients, noGrad } from "../autodiff.ts";
import { keep, scope } from "../scope.ts";
import { Adam } from "../optim/adam.ts";
import { Gan, type GanOptions } from "../models/gan.ts";
import { add, affine, sigmoid } from "../ops/elementwise.ts";
import { mean } from "../ops/reduce.ts";
import { concat } from "../ops/movement.ts";
import { loss } from "../ops/fused.ts";
import { Rng, type RngKey } from "../random.ts";
import { sinkhornCpu } from "../metrics/sinkhorn.ts";

/** Per-column min-max scaling to [0, 1]; a constant column maps to 0. */
export interface MinMaxScaler {
  min: number[];
  max: number[];
}

/** Fits a {@link MinMaxScaler} on the rows of x [n, d]. */
export function fitMinMax(x: ArrayLike<number>, n: number, d: number): MinMaxScaler {
  const min = new Array(d).fill(Infinity), max = new Array(d).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j];
      if (v < min[j]) min[j] = v;
      if (v > max[j]) max[j] = v;
    }
  }
  return { min, max };
}

/** x → (x − min)/(max − min), as float32 (constant columns → 0). */
export function scaleMinMax(s: MinMaxScaler, x: ArrayLike<number>, n: number): Float32Array {
  const d = s.min.length, out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const r = s.max[j] - s.min[j];
      out[i * d + j] = r > 0 ? (x[i * d + j] - s.min[j]) / r : 0;
    }
  }
  return out;
}

/** Inverse of {@link scaleMinMax}, in float64. */
export function unscaleMinMax(s: MinMaxScaler, x: ArrayLike<number>, n: number): Float64Array {
  const d = s.min.length, out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) out[i * d + j] = s.min[j] + x[i * d + j] * (s.max[j] - s.min[j]);
  }
  return out;
}

/** Mode-collapse indicators of a generated batch against the (scaled) training data. */
export interface ModeIndicators {
  /**
   * Mean pairwise Euclidean distance of generated samples over that of the data (≈ 1 healthy, ≪ 1 collapse), in the
   * scaled space.
   */
  spreadRatio: number;
  /**
   * Coverage (Naeem et al. 2020, k = 5): share of data points whose k-nearest-neighbour ball (radius = distance to
   * their k-th nearest other data point) holds at least one generated sample. Low coverage = missed modes.
   */
  coverage: number;
  /** Improved precision (Kynkäänniemi et al. 2019): share of generated samples inside some data point's k-NN ball. */
  precision: number;
  /** Problem-specific extras from {@link GanTrainOptions.indicators} (e.g. distinct element systems). */
  extra: Record<string, number>;
  /**
   * Sinkhorn W₂ (scaled feature space) between the generated samples and the indicator's training rows; present
   * when the run selects on it (`select: "w2"`).
   */
  w2Train?: number;
}

/** One epoch's log. */
export interface GanEpochLog {
  epoch: number;
  /** Mean discriminator loss over the epoch's steps. */
  lossD: number;
  /** Mean (non-saturating) generator loss. */
  lossG: number;
  /** Mean D(x) on real batches (probability). */
  dReal: number;
  /** Mean D(G(z)) on the discriminator step's fakes. */
  dFake: number;
  /** Present on monitored epochs. */
  indicators?: ModeIndicators;
}

/** Training options. */
export interface GanTrainOptions {
  epochs?: number;
  /** Batch size (default 64); the last partial batch of an epoch is dropped. */
  batchSize?: number;
  lr?: number;
  beta1?: number;
  beta2?: number;
  /** Seed of initialisation, shuffles and latent draws. */
  seed?: number;
  /** Monitor the mode-collapse indicators every this many epochs (and always at the last); 0 = last only. */
  monitorEvery?: number;
  /** Generated samples per monitored epoch (default 256). */
  monitorSamples?: number;
  /** Most data rows the indicators compare against (a seeded subsample; default 1000). */
  monitorDataRows?: number;
  /** Extra indicators computed from generated samples in the original (unscaled) units, [m, d] row-major. */
  indicators?: (samples: Float64Array, m: number) => Record<string, number>;
  /**
   * Wall-time budget in seconds: training stops after the first epoch that ends past it (that epoch is monitored).
   * Which epoch that is depends on the machine's speed; `curves.length` of the result says how many ran.
   */
  maxSeconds?: number;
  /**
   * Which generator is returned: `"last"` (default) the final one, or `"w2"` the monitored epoch's generator whose
   * samples lie closest (Sinkhorn W₂, scaled features) to the training rows. See the module documentation.
   */
  select?: "last" | "w2";
  /** Called once per epoch, in order, at most one epoch behind the device. */
  onEpoch?: (log: GanEpochLog) => void;
}

/** What {@link trainGan} returns. */
export interface GanTrainResult {
  gan: Gan;
  scaler: MinMaxScaler;
  curves: GanEpochLog[];
  /** Generator updates performed. */
  steps: number;
  /** Whether {@link GanTrainOptions.maxSeconds} ended training before `epochs`. */
  stoppedEarly: boolean;
  /** The epoch (0-based) whose generator was returned: the last one, or the selected one with `select: "w2"`. */
  selectedEpoch: number;
  seconds: number;
}

/** Stream ids of the latent draws (keyed by the run seed). */
const STREAM_TRAIN = 0x6741;
const STREAM_SAMPLE = 0x6742;

/**
 * Trains a GAN on `x` [n, d] (row-major, original units). Same seed, same data and same backend → same result.
 * @throws RangeError when there are fewer rows than one batch
 */
export async function trainGan(
  be: Backend,
  x: ArrayLike<number>,
  n: number,
  d: number,
  model: Omit<GanOptions, "features" | "backend" | "seed"> = {},
  o: GanTrainOptions = {},
): Promise<GanTrainResult> {
  const t0 = performance.now();
  const epochs = o.epochs ?? 100, B = o.batchSize ?? 64, seed = o.seed ?? 0;
  if (x.length !== n * d) throw new RangeError(`trainGan: ${x.length} values for ${n}×${d}`);
  if (n < B) throw new RangeError(`trainGan: ${n} rows are fewer than one batch of ${B}`);
  const scaler = fitMinMax(x, n, d);
  const xs = scaleMinMax(scaler, x, n);
  const gan = new Gan({ ...model, features: d, seed, backend: be });
  const G = gan.generator, D = gan.discriminator, L = gan.shape.latent;
  const gParams = G.parameters(), dParams = D.parameters();
  const adamOpts = { lr: o.lr ?? 1e-3, beta1: o.beta1 ?? 0.5, beta2: o.beta2 ?? 0.999 };
  const adamG = new Adam(gParams, adamOpts), adamD = new Adam(dParams, adamOpts);
  const key: RngKey = { seed: seed >>> 0, stream: STREAM_TRAIN };
  const stepsPerEpoch = Math.floor(n / B);
  const slot = Math.ceil((B * d) / 64) * 64; // subview offsets must be multiples of 64 elements
  const epochBuf = keep(be.empty([stepsPerEpoch * slot]));
  const host = new Float32Array(stepsPerEpoch * slot);
  const ones = keep(be.fill([B, 1], 1)), zeros = keep(be.fill([B, 1], 0));
  const acc = keep(be.fill([4], 0));
  const M = o.monitorSamples ?? 256;
  const monitorEvery = o.monitorEvery ?? 0;
  const rng = new Rng(seed, 0x6743);
  const order = Array.from({ length: n }, (_, i) => i);
  // Reference rows for the indicators: a seeded subsample of the scaled data.
  const ref = subsampleRows(xs, n, d, o.monitorDataRows ?? 1000, new Rng(seed, 0x6744));
  const refStats = referenceStats(ref.rows, ref.n, d, 5);
  const curves: GanEpochLog[] = [];
  const pending: {
    epoch: number;
    monitored: boolean;
    slot: number;
    read: Promise<Float32Array | Int32Array>;
  }[] = [];
  let step = 0;
  // Selection on W₂ to the training rows: two candidate snapshots of G's arena (a verdict arrives one epoch after
  // its snapshot) and the best one so far.
  const select = o.select ?? "last";
  if (select !== "last" && select !== "w2") throw new RangeError(`trainGan: unknown select '${select}'`);
  const snaps = select === "w2" ? [0, 1, 2].map(() => keep(be.empty([adamG.arenaSize]))) : [];
  let monitoredCount = 0, bestW2 = Infinity, selectedEpoch = -1;

  const consume = (epoch: number, monitored: boolean, slot: number, v: Float32Array | Int32Array) => {
    const log: GanEpochLog = { epoch, lossD: v[0], lossG: v[1], dReal: v[2], dFake: v[3] };
    if (monitored) {
      const gen = Float64Array.from(v.subarray(4, 4 + M * d));
      log.indicators = {
        ...modeIndicators(gen, M, ref.rows, ref.n, d, refStats),
        extra: o.indicators ? o.indicators(unscaleMinMax(scaler, gen, M), M) : {},
      };
      if (select === "w2") {
        const w2 = trainingW2(gen, M, ref.rows, ref.n, d);
        log.indicators.w2Train = w2;
        // Strictly smaller: ties keep the earlier generator. A non-finite W₂ never wins.
        if (w2 < bestW2) {
          bestW2 = w2, selectedEpoch = epoch;
          be.copyInto(snaps[2], snaps[slot]);
        }
      }
    }
    curves.push(log);
    o.onEpoch?.(log);
  };

  for (let epoch = 0; epoch < epochs; epoch++) {
    rng.shuffle(order);
    for (let k = 0; k < stepsPerEpoch; k++) {
      for (let r = 0; r < B; r++) {
        host.set(xs.subarray(order[k * B + r] * d, (order[k * B + r] + 1) * d), k * slot + r * d);
      }
    }
    be.write(epochBuf, host);
    for (let k = 0; k < stepsPerEpoch; k++) {
      scope(() => {
        const real = be.subview(epochBuf, k * slot, [B, d]);
        // Discriminator step: fakes carry no graph back into G.
        const fake = noGrad(() => G.forward(be.random("normal", [B, L], key, 2 * step)));
        const lReal = D.logits(real), lFake = D.logits(fake);
        const lossD = add(mean(loss("bce_logits", lReal, ones)), mean(loss("bce_logits", lFake, zeros)));
        adamD.update(gradients(lossD, dParams));
        // Generator step: D's weights are frozen so no weight gradient of D is computed.
        for (const p of dParams) p.requiresGrad = false;
        let lossG: Tensor;
        try {
          const lGen = D.logits(G.forward(be.random("normal", [B, L], key, 2 * step + 1)));
          lossG = mean(loss("bce_logits", lGen, ones));
          adamG.update(gradients(lossG, gParams));
        } finally {
          for (const p of dParams) p.requiresGrad = true;
        }
        noGrad(() => {
          const row = concat([
            lossD.view([1]),
            lossG.view([1]),
            mean(sigmoid(lReal)).view([1]),
            mean(sigmoid(lFake)).view([1]),
          ], 0);
          be.copyInto(acc, k === 0 ? row : add(acc, row));
        });
        step++;
      });
    }
    const overBudget = o.maxSeconds !== undefined && performance.now() - t0 > o.maxSeconds * 1000;
    const last = epoch === epochs - 1 || overBudget;
    const monitored = last || (monitorEvery > 0 && (epoch + 1) % monitorEvery === 0);
    const row = scope(() =>
      noGrad(() => {
        const means = affine(acc, 1 / stepsPerEpoch);
        if (!monitored) return means;
        const gen = G.forward(
          be.random("normal", [M, L], { seed: seed >>> 0, stream: STREAM_SAMPLE }, epoch),
        );
        return concat([means, gen.view([M * d])], 0);
      })
    );
    const snapSlot = monitored ? monitoredCount++ % 2 : -1;
    if (monitored && select === "w2") be.copyInto(snaps[snapSlot], adamG.arena);
    pending.push({ epoch, monitored, slot: snapSlot, read: be.read(row) });
    row.dispose();
    while (pending.length > 1) {
      const p = pending.shift()!;
      consume(p.epoch, p.monitored, p.slot, await p.read);
    }
    if (last) break;
  }
  while (pending.length) {
    const p = pending.shift()!;
    consume(p.epoch, p.monitored, p.slot, await p.read);
  }
  if (select === "w2" && selectedEpoch >= 0) be.copyInto(adamG.arena, snaps[2]);
  else selectedEpoch = curves.length - 1;
  for (const t of [epochBuf, ones, zeros, acc, ...snaps]) t.dispose();
  adamG.dispose(), adamD.dispose();
  gan.eval();
  return {
    gan,
    scaler,
    curves,
    steps: step,
    stoppedEarly: curves.length < epochs,
    selectedEpoch,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Sinkhorn W₂ between generated rows and reference rows (both scaled to [0, 1] per column): float64 host
 * transport, ε = 10⁻³ of the largest possible cost, 100 iterations after ε-scaling.
 */
function trainingW2(gen: Float64Array, m: number, ref: Float64Array, n: number, d: number): number {
  const [r] = sinkhornCpu([{ x: gen, n: m, y: ref, m: n, d }], { iterations: 100 });
  return r.distance;
}

/**
 * Draws `m` samples from the generator in the original units, [m, d] row-major (one batched forward, one read).
 * Deterministic in (weights, seed).
 */
export async function generateSamples(
  gan: Gan,
  scaler: MinMaxScaler,
  m: number,
  seed: number,
): Promise<Float64Array> {
  const be = gan.generator.hidden.weight.backend;
  const y = scope(() =>
    noGrad(() =>
      gan.generator.forward(
        be.random("normal", [m, gan.shape.latent], { seed: seed >>> 0, stream: 0x6745 }, 0),
      )
    )
  );
  const v = await be.read(y);
  y.dispose();
  return unscaleMinMax(scaler, v, m);
}

/** Up to `max` rows of x [n, d] chosen without replacement by a seeded shuffle (all rows when n ≤ max). */
function subsampleRows(
  x: Float32Array,
  n: number,
  d: number,
  max: number,
  rng: Rng,
): { rows: Float64Array; n: number } {
  if (n <= max) return { rows: Float64Array.from(x), n };
  const idx = rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, max);
  const rows = new Float64Array(max * d);
  idx.forEach((r, i) => {
    for (let j = 0; j < d; j++) rows[i * d + j] = x[r * d + j];
  });
  return { rows, n: max };
}

/** Per data point, the distance to its k-th nearest other data point, and the data's mean pairwise distance. */
export interface ReferenceStats {
  kthRadius: Float64Array;
  meanPairwise: number;
}

function dist(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  let s = 0;
  for (let q = 0; q < d; q++) {
    const t = a[i * d + q] - b[j * d + q];
    s += t * t;
  }
  return Math.sqrt(s);
}

/** k-NN radii and mean pairwise distance of reference rows [n, d] (k is capped at n − 1). */
export function referenceStats(x: ArrayLike<number>, n: number, d: number, k: number): ReferenceStats {
  const kk = Math.max(1, Math.min(k, n - 1));
  const kthRadius = new Float64Array(n);
  let total = 0;
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) row[j] = i === j ? Infinity : dist(x, i, x, j, d);
    for (let j = i + 1; j < n; j++) total += row[j];
    kthRadius[i] = n > 1 ? Float64Array.from(row).sort()[kk - 1] : 0;
  }
  return { kthRadius, meanPairwise: n > 1 ? total / (n * (n - 1) / 2) : 0 };
}

/** Mean pairwise distance of the rows of x [n, d]. */
export function meanPairwiseDistance(x: ArrayLike<number>, n: number, d: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) total += dist(x, i, x, j, d);
  return n > 1 ? total / (n * (n - 1) / 2) : 0;
}

/**
 * Spread ratio, coverage and precision of generated rows `gen` [m, d] against reference rows `ref` [n, d] (same
 * units) with the reference's {@link ReferenceStats}.
 */
export function modeIndicators(
  gen: ArrayLike<number>,
  m: number,
  ref: ArrayLike<number>,
  n: number,
  d: number,
  stats: ReferenceStats,
): Omit<ModeIndicators, "extra"> {
  const covered = new Uint8Array(n);
  let inside = 0;
  for (let g = 0; g < m; g++) {
    let hit = false;
    for (let i = 0; i < n; i++) {
      if (dist(gen, g, ref, i, d) <= stats.kthRadius[i]) {
        covered[i] = 1;
        hit = true;
      }
    }
    if (hit) inside++;
  }
  const cov = covered.reduce((s, v) => s + v, 0);
  const spread = meanPairwiseDistance(gen, m, d);
  return {
    spreadRatio: stats.meanPairwise > 0 ? spread / stats.meanPairwise : 0,
    coverage: n ? cov / n : 0,
    precision: m ? inside / m : 0,
  };
}
