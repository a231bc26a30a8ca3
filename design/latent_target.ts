/**
 * The model side of inverse design: a VIBANN model seen as a map from latents to compositions to hardness, batched
 * on the device ({@link DesignModel}), the utility that scores a predicted (μ, σ) ({@link utilityValue}), the
 * batched log-target of the MCMC sampler ({@link makeLatentTarget}) and the per-start loss of the gradient stage
 * ({@link makeGradientLoss}).
 *
 * Choices (see also design/design_run.ts):
 * - **Latent space = member 0.** A model directory may hold R members (an ensemble of seeds or folds); each has its
 *   own encoder and decoder, so their latent spaces are unrelated. Design runs in member 0's latent space (its first
 *   `latent_dims[0]` dimensions): decoding and the prior use member 0 only. Hardness is predicted by ALL members
 *   (each encodes the composition itself), MC passes pooled over members × passes as `alloy predict --mc` does, so
 *   the utility and the reported numbers include the ensemble spread.
 * - **The model is evaluated on the composition**, not on the latent (reference §6.4): z → decoder (dropout off) →
 *   composition → encoder → μ_z → hardness head at the design load. For the sampler the composition is the SAME
 *   constraint projection that is exported (`CompositionConstraints.constrainRows`, on the host: not differentiable,
 *   which a random walk does not need), so a chain's log-target is the log-target of what would be exported.
 * - **Common random numbers.** MC dropout uses fixed masks for a whole run: before every batched forward all dropout
 *   layers are reset to the same RNG step (`maskStep`), so a chain's utility is a deterministic function of its
 *   state (the MH ratio compares like with like) and the gradient stage minimises a deterministic loss (its
 *   convergence test is meaningful). Masks differ between rows (chains) and passes, and the final evaluation draws
 *   fresh ones.
 * - **The sampler's model evaluation runs on the host** (design/host_forward.ts, float64, the same weights and
 *   masks): a step needs its proposals' log-target before it can propose again, and every device read costs
 *   ≥ 10 ms in Deno's WebGPU, so one device evaluation per step could never make 700 steps faster than 7 s. On the
 *   host, with the structure of the network (the deterministic prefix once per composition, sparse compositions,
 *   masked shared inputs through their dropped entries only, fixed masks precomputed), a step of 25 chains × 20
 *   passes of the published model costs ~3 ms and no dispatch (it was ~29 ms, 63 dispatches and one read). Prior
 *   log-densities are computed on the host in float64 (K·d²/2 per chain); rows outside the prior support skip the
 *   MC work. `forward: "device"` keeps the batched device evaluation (one read per call).
 * - **Batched MC forwards on the device** ({@link DesignModel.hvSamples}: calibration, the gradient stage) compute
 *   the deterministic prefix once per composition and stack only what follows the first dropout layers.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { type VibannBase, VibannReference } from "../nn/models/vibann.ts";
import type { MemberScalers } from "../nn/models/vibann_predict.ts";
import { Dropout } from "../nn/layers/dropout.ts";
import { noGrad } from "../nn/autodiff.ts";
import { keep, scope } from "../nn/scope.ts";
import {
  add,
  addScalar,
  affine,
  broadcastTo,
  concat,
  div,
  matmul,
  mean,
  mul,
  mulScalar,
  pairwiseMatmul,
  reshape,
  simplex,
  slice,
  softmax,
  sqrt,
  square,
  sub,
  sum,
  tensor,
  zeros,
} from "../nn/ops.ts";
import type { GaussianMixture, GaussianMixtureTensors } from "./gaussian_mixture.ts";
import type { CompositionConstraints } from "./composition_constraints.ts";
import type { BatchedLogTarget, TargetValue } from "./mcmc.ts";
import { bandLoss, type LatentLoss, priorBarrier, repulsion } from "./latent_optimizer.ts";
import { choleskyFactor, lowerInverse } from "../nn/baselines/cholesky.ts";
import { HostDesignForward } from "./host_forward.ts";

/** z of the lower confidence bound LCB = μ − z·σ everywhere in design (one-sided 95 %, as `alloy predict`). */
export const DESIGN_LCB_Z = 1.645;
/** Floor of a predicted σ (HV), so a degenerate MC spread never divides by zero. */
export const SIGMA_FLOOR = 1e-6;

/**
 * A VIBANN model (all members) with its scalers, as batched device functions of latents and compositions. Rows are
 * on the first axis of every input and output; member 0's latent space is the design space (see the module doc).
 */
export class DesignModel {
  readonly backend: Backend;
  readonly model: VibannBase;
  readonly scalers: readonly MemberScalers[];
  /** Members R. */
  readonly members: number;
  /** Elements E (composition width). */
  readonly elements: number;
  /** Design latent size d = member 0's latent size. */
  readonly latentDim: number;
  /** Width L of the model's latent tensors (≥ d). */
  readonly fullLatent: number;
  readonly #dropouts: Dropout[];
  /** [R, 1, L] 0/1 mask of each member's latent dimensions (as the model's own), or null when all use L. */
  readonly #latentMask: Float32Array | null;

  constructor(backend: Backend, model: VibannBase, scalers: readonly MemberScalers[]) {
    if (scalers.length !== model.replicas) {
      throw new RangeError(`DesignModel: ${scalers.length} scalers for ${model.replicas} members`);
    }
    this.backend = backend;
    this.model = model;
    this.scalers = scalers;
    this.members = model.replicas;
    this.elements = model.elements;
    this.latentDim = model.latentDims[0];
    this.fullLatent = model.latentDim;
    this.#dropouts = model.modules().filter((m): m is Dropout => m instanceof Dropout);
    const L = model.latentDim;
    if (model.latentDims.some((l) => l !== L)) {
      const mask = new Float32Array(this.members * L);
      model.latentDims.forEach((l, r) => mask.fill(1, r * L, r * L + l));
      this.#latentMask = mask;
    } else this.#latentMask = null;
  }

  /** Sets every dropout layer's RNG step, so the next MC forward uses the masks of that step (common random numbers). */
  setMaskStep(step: number): void {
    for (const d of this.#dropouts) d.calls = step;
  }

  /** [B, F] → the model's input layout ([B, F] for one member, [R, B, F] broadcast for R). */
  #perMember(x: Tensor): Tensor {
    if (this.members === 1) return x;
    const [b, f] = x.shape;
    return broadcastTo(reshape(x, [1, b, f]), [this.members, b, f]);
  }

  /** Member 0's rows of a [R, B, F] (or [B, F]) output, as [B, F]. */
  #member0(y: Tensor): Tensor {
    if (this.members === 1) return y;
    const [, b, f] = y.shape;
    return reshape(slice(y, [0, 0, 0], [1, b, f]), [b, f]);
  }

  /**
   * Member 0's decoder, dropout off: latents z [B, d] → softmax composition [B, E]. Differentiable in z.
   */
  decode(z: Tensor): Tensor {
    const [b, d] = z.shape;
    if (z.rank !== 2 || d !== this.latentDim) {
      throw new RangeError(`DesignModel.decode: expected [batch, ${this.latentDim}], got [${z.shape}]`);
    }
    this.model.eval(false);
    const full = d === this.fullLatent
      ? z
      : concat([z, zeros([b, this.fullLatent - d], { backend: this.backend })], 1);
    return this.#member0(this.model.decode(this.#perMember(full)));
  }

  /** Member 0's latent mean μ_z of compositions [B, E] (deterministic) → [B, d]. */
  encodeMu(comp: Tensor): Tensor {
    this.model.eval(false);
    const mu = this.#member0(this.model.encode(this.#perMember(comp)).mu);
    const [b] = comp.shape;
    return this.latentDim === this.fullLatent ? mu : slice(mu, [0, 0], [b, this.latentDim]);
  }

  /**
   * Hardness samples in HV of compositions [B, E] at one raw load: S MC-dropout passes of every member, stacked on
   * the batch axis (slot j of a member = pass ⌊j / B⌋, row j mod B), dropout masks of RNG step `maskStep` — the
   * model's forward on the S stacked copies, as nn/models/vibann_predict.ts. The deterministic prefix (simplex,
   * gate, the encoder and pairwise blocks up to their dropout) is computed once per composition and broadcast to
   * the S passes: its masks come after it, so this equals the stacked forward, at 1/S of the prefix's cost (the
   * 1540-wide pairwise block is most of the encoder). With `passes` = 0 the deterministic prediction (dropout off)
   * is returned as one "pass" per member. Differentiable in `comp`.
   * @returns [R·max(S, 1), B], row r·S + s = member r, pass s
   */
  hvSamples(comp: Tensor, load: number, passes: number, maskStep = 0): Tensor {
    const [b, e] = comp.shape;
    if (comp.rank !== 2 || e !== this.elements) {
      throw new RangeError(`DesignModel.hvSamples: expected [batch, ${this.elements}], got [${comp.shape}]`);
    }
    const R = this.members, S = Math.max(1, passes), be = this.backend, m = this.model;
    m.eval(passes > 0);
    if (passes > 0) this.setMaskStep(maskStep);
    const lead = R === 1 ? [] : [R];
    const x = this.#perMember(comp);
    const stack = (t: Tensor) => {
      if (S === 1) return t;
      const f = t.shape[t.rank - 1];
      return reshape(broadcastTo(reshape(t, [...lead, 1, b, f]), [...lead, S, b, f]), [...lead, S * b, f]);
    };
    let mu: Tensor;
    if (m instanceof VibannReference) {
      // The reference's encode, split at the first dropout layers (nn/models/vibann.ts).
      const axis = x.rank - 1;
      const sx = simplex(x);
      const gate = softmax(m.gate.forward(sx), axis);
      const e0 = m.enc1.bn.forward(m.enc1.dense.forward(mul(sx, gate)));
      const d1 = m.pair1.dense;
      const p0 = m.pair1.bn.forward(pairwiseMatmul(sx, d1.weight, { bias: d1.bias, activation: "relu" }));
      const enc = m.enc1.drop.forward(stack(e0));
      const pair = m.pair2.forward(m.pair1.drop.forward(stack(p0)), null);
      mu = m.zMu.forward(m.fuse1.forward(concat([enc, pair], axis), null));
      if (this.#latentMask) mu = mul(mu, tensor(this.#latentMask, [R, 1, m.latentDim], { backend: be }));
    } else {
      // Other architectures: the plain encoder on the S stacked copies (it applies the latent mask itself).
      mu = m.encode(stack(x)).mu;
    }
    const loads = new Float32Array(R * S * b);
    this.scalers.forEach((sc, k) =>
      loads.fill((load - sc.loadMean) / sc.loadScale, k * S * b, (k + 1) * S * b)
    );
    const loadT = tensor(loads, [...lead, S * b, 1], { backend: be });
    const y = m.head(mu, loadT); // [.., S·B, 1]
    m.eval(false);
    if (R === 1) {
      const s0 = this.scalers[0];
      return reshape(affine(y, s0.yScale, s0.yMean), [S, b]);
    }
    const scale = tensor(this.scalers.map((sc) => sc.yScale), [R, 1, 1], { backend: be });
    const shift = tensor(this.scalers.map((sc) => sc.yMean), [R, 1, 1], { backend: be });
    return reshape(add(mul(y, scale), shift), [R * S, b]);
  }
}

/** What the design optimises: the LCB as high as possible, or the LCB close to a target hardness. */
export type DesignGoal = { kind: "maximize" } | { kind: "target"; hv: number };

/** The utility's settings. */
export interface UtilitySettings {
  goal: DesignGoal;
  /** HV scale of the utility (the run uses σ_ref, the q75 of the training rows' MC σ at the design load). */
  scale: number;
  /** LCB multiplier z ({@link DESIGN_LCB_Z}). */
  z?: number;
}

/**
 * The utility of a prediction, in units of `scale`: `maximize` → LCB / scale; `target` → −((LCB − target) /
 * scale)², with LCB = μ − z·σ. A log-target adds τ times this to the log prior.
 */
export function utilityValue(mu: number, sigma: number, u: UtilitySettings): number {
  const lcb = mu - (u.z ?? DESIGN_LCB_Z) * sigma;
  if (u.goal.kind === "maximize") return lcb / u.scale;
  const t = (lcb - u.goal.hv) / u.scale;
  return -t * t;
}

/** Per-row mean and population std (ddof 0, floored at {@link SIGMA_FLOOR}) of samples laid out [P, B]. */
export function sampleMoments(
  samples: ArrayLike<number>,
  passes: number,
): { mu: Float64Array; sigma: Float64Array } {
  const b = samples.length / passes;
  const mu = new Float64Array(b), sigma = new Float64Array(b);
  for (let i = 0; i < b; i++) {
    let s = 0;
    for (let p = 0; p < passes; p++) s += samples[p * b + i];
    const m = s / passes;
    let v = 0;
    for (let p = 0; p < passes; p++) v += (samples[p * b + i] - m) ** 2;
    mu[i] = m;
    sigma[i] = Math.max(Math.sqrt(v / passes), SIGMA_FLOOR);
  }
  return { mu, sigma };
}

/** Options of {@link makeLatentTarget}. */
export interface LatentTargetOptions {
  /** The latent prior (host, float64). */
  mixture: GaussianMixture;
  /** log p below this → log-target −∞ (for the state and for its re-encoded composition). */
  threshold: number;
  /** The export projection applied to every decoded composition. */
  constraints: CompositionConstraints;
  /** Raw design load. */
  load: number;
  /** MC passes per member per evaluation. */
  passes: number;
  /** Fixed RNG step of the dropout masks (common random numbers). */
  maskStep: number;
  utility: UtilitySettings;
  /** Weight τ of the utility. */
  tau: number;
  /**
   * Where the model is evaluated: `"host"` (default) in float64 by {@link HostDesignForward} (the same function
   * with the same masks, no device read per call: see design/host_forward.ts for why that is faster on every
   * adapter), or `"device"`: batched engine forwards on `dm`'s backend.
   */
  forward?: "host" | "device";
  /**
   * `"device"` only: the model that decodes (default `dm`); a copy on the CPU saves the device a read per call.
   * Must hold the same weights.
   */
  decoder?: DesignModel;
}

/** One evaluation of a {@link makeLatentTarget} target (for start selection, diagnostics and tests). */
export interface LatentTargetEvaluation {
  /** log p(z) of the states. */
  logPrior: Float64Array;
  /** log p(ẑ) of the re-encoded projected compositions (NaN where no chain was inside the prior support). */
  logPriorExport: Float64Array;
  /** Pooled MC mean and std (NaN where skipped: on the host, rows outside either prior gate). */
  mu: Float64Array;
  sigma: Float64Array;
  /** Projected decoded compositions, C × E (NaN rows where no chain was inside the prior support). */
  comp: Float64Array;
  logTarget: Float64Array;
}

/**
 * The batched log-target of the sampler: for C latents z (C × d, chain-major), with x = the constraint projection
 * of the decoded composition and ẑ = member 0's latent mean of x (the latent of what would be exported),
 *
 *   log π(z) = log p(z) + τ·U(μ(x), σ(x))   if log p(z) ≥ threshold and log p(ẑ) ≥ threshold,   −∞ otherwise,
 *
 * with p the GMM prior and μ, σ the pooled MC mean and std of the model on x at the design load. The density term
 * is the prior at the state (so π is proper: bounded by p(z)·e^{τ·max U}); the second condition is the export's
 * prior gate, so every kept state exports a composition that passes it (the decoder/encoder round trip moves
 * points, and a tight prior would otherwise reject most exports). Deterministic in z (fixed masks; the masks of a
 * row depend on its position and on C, as in {@link DesignModel.hvSamples}).
 *
 * Cost per call with the default host forward: the decoder, the projection, ẑ and the MC samples of the rows that
 * pass both prior gates (the others are −∞ whatever the utility; their μ, σ are NaN), all on the host (a few ms for
 * 25 chains × 20 passes of the published model). With `forward: "device"`: decoder forward + read of C × E (none
 * with a host `decoder`), host projection, one forward of C × S MC rows plus a deterministic encoder forward of the
 * C compositions, read back together.
 * @returns the target, its detailed `evaluate`, the number of calls, and `decode` (the decoder the target uses,
 *   for exporting states exactly as the target saw them)
 */
export function makeLatentTarget(
  dm: DesignModel,
  o: LatentTargetOptions,
): {
  target: BatchedLogTarget;
  evaluate: (z: Float64Array) => Promise<LatentTargetEvaluation>;
  calls: () => number;
  decode: (z: Float64Array) => Promise<Float64Array>;
} {
  const d = dm.latentDim, E = dm.elements, be = dm.backend;
  // The float64 host twin mirrors the reference architecture; other architectures evaluate on the device.
  const onHost = (o.forward ?? "host") === "host" && dm.model instanceof VibannReference &&
    (o.decoder ?? dm).model instanceof VibannReference;
  let calls = 0;
  let host: Promise<HostDesignForward> | null = null;
  // The host copy reads the weights once, from the CPU decoder copy when there is one (no device reads).
  const hostForward = () =>
    host ??= HostDesignForward.create((o.decoder ?? dm).model as VibannReference, (o.decoder ?? dm).scalers);
  const dec = o.decoder ?? dm;
  const decode = async (z: Float64Array): Promise<Float64Array> => {
    if (onHost) return (await hostForward()).decode(z);
    const C = z.length / d;
    const decoded = scope(() => noGrad(() => dec.decode(dec.backend.fromData(Float32Array.from(z), [C, d]))));
    const raw = await decoded.read();
    decoded.dispose();
    return Float64Array.from(raw);
  };
  const evaluate = async (z: Float64Array): Promise<LatentTargetEvaluation> => {
    calls++;
    const C = z.length / d;
    const logPrior = o.mixture.logDensities({ rows: C, cols: d, data: z });
    const logTarget = new Float64Array(C).fill(-Infinity);
    const nan = () => new Float64Array(C).fill(NaN);
    const mu = nan(), sigma = nan(), logPriorExport = nan();
    const comp = new Float64Array(C * E).fill(NaN);
    const out = { logPrior, logPriorExport, mu, sigma, comp, logTarget };
    if (!logPrior.some((l) => l >= o.threshold)) return out;
    comp.set(o.constraints.constrainRows(await decode(z)));
    let samples: Float64Array;
    if (onHost) {
      // ẑ first (cheap); MC samples only for the rows that pass both prior gates.
      samples = (await hostForward()).forward(comp, o.load, o.passes, o.maskStep, (zh) => {
        logPriorExport.set(o.mixture.logDensities({ rows: C, cols: d, data: zh }));
        return Array.from(
          { length: C },
          (_, c) => logPrior[c] >= o.threshold && logPriorExport[c] >= o.threshold,
        );
      }).samples;
    } else {
      const packed = scope(() =>
        noGrad(() => {
          const x = be.fromData(Float32Array.from(comp), [C, E]);
          const zh = dm.encodeMu(x);
          const y = dm.hvSamples(x, o.load, o.passes, o.maskStep);
          return concat([reshape(zh, [C * d]), reshape(y, [y.size])], 0);
        })
      );
      const v = await packed.read();
      packed.dispose();
      samples = Float64Array.from(v.subarray(C * d));
      logPriorExport.set(
        o.mixture.logDensities({ rows: C, cols: d, data: Float64Array.from(v.subarray(0, C * d)) }),
      );
    }
    const m = sampleMoments(samples, samples.length / C);
    for (let c = 0; c < C; c++) {
      if (logPrior[c] >= o.threshold && logPriorExport[c] >= o.threshold) {
        mu[c] = m.mu[c];
        sigma[c] = m.sigma[c];
        logTarget[c] = logPrior[c] + o.tau * utilityValue(mu[c], sigma[c], o.utility);
      } else if (!onHost) {
        mu[c] = m.mu[c];
        sigma[c] = m.sigma[c];
      }
    }
    return out;
  };
  const target: BatchedLogTarget = async (z: Float64Array): Promise<TargetValue> => ({
    logp: (await evaluate(z)).logTarget,
  });
  return { target, evaluate, calls: () => calls, decode };
}

/**
 * An affine whitening of latents, z = m + L·u with L·Lᵀ = Σ (the weighted covariance of the training latents plus
 * `reg`·I): the gradient stage optimises u, whose directions all have unit scale. Without it Adam's per-coordinate
 * steps (lr in every coordinate) are huge in the collapsed latent directions of a VIB (variance ~1e-6), and one
 * step leaves the prior.
 */
export class LatentWhitening {
  readonly d: number;
  readonly mean: Float64Array;
  /** L, lower triangular, d × d row-major. */
  readonly cholesky: Float64Array;
  readonly #inverse: Float64Array;

  /**
   * @param z training latents, n × d row-major
   * @param weights per-row weights (all 1 when omitted)
   * @param reg added to the covariance diagonal [1e-6]
   */
  constructor(z: Float64Array, d: number, weights?: ArrayLike<number>, reg = 1e-6) {
    const n = z.length / d;
    const w = weights ?? new Float64Array(n).fill(1);
    let ws = 0;
    for (let i = 0; i < n; i++) ws += w[i];
    const m = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[j] += (w[i] * z[i * d + j]) / ws;
    const cov = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < d; a++) {
        const da = w[i] * (z[i * d + a] - m[a]);
        for (let b = 0; b <= a; b++) cov[a * d + b] += (da * (z[i * d + b] - m[b])) / ws;
      }
    }
    for (let a = 0; a < d; a++) {
      cov[a * d + a] += reg;
      for (let b = 0; b < a; b++) cov[b * d + a] = cov[a * d + b];
    }
    const f = choleskyFactor(cov, d);
    this.d = d;
    this.mean = m;
    this.cholesky = f.l;
    this.#inverse = lowerInverse(f);
  }

  /** u = L⁻¹(z − m), rows × d. */
  toWhite(z: ArrayLike<number>): Float64Array {
    const d = this.d, out = new Float64Array(z.length), li = this.#inverse;
    for (let i = 0; i < z.length / d; i++) {
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b <= a; b++) s += li[a * d + b] * (z[i * d + b] - this.mean[b]);
        out[i * d + a] = s;
      }
    }
    return out;
  }

  /** z = m + L·u, rows × d. */
  fromWhite(u: ArrayLike<number>): Float64Array {
    const d = this.d, out = new Float64Array(u.length), l = this.cholesky;
    for (let i = 0; i < u.length / d; i++) {
      for (let a = 0; a < d; a++) {
        let s = this.mean[a];
        for (let b = 0; b <= a; b++) s += l[a * d + b] * u[i * d + b];
        out[i * d + a] = s;
      }
    }
    return out;
  }
}

/** Options of {@link makeGradientLoss}. */
export interface GradientLossOptions {
  /** The prior as engine ops (differentiable log-density). */
  prior: GaussianMixtureTensors;
  /** Log-density threshold of the barrier. */
  threshold: number;
  /** Per element: may it be present (`CompositionConstraints.allowed`)? Disallowed elements are masked out. */
  allowed: readonly boolean[];
  load: number;
  passes: number;
  maskStep: number;
  utility: UtilitySettings;
  /** Weight of the prior barrier (nats) [1]. */
  priorWeight?: number;
  /** Weight of the repulsion between starts [0.1]. */
  repulsionWeight?: number;
  /** Repulsion kernel width h (squared distance in the optimised coordinates) [d]. */
  repulsionBandwidth?: number;
  /** Optimise whitened coordinates u (z = m + L·u); the loss then takes u. */
  whitening?: LatentWhitening;
}

/**
 * The per-start loss of the gradient stage, z [S, d] (or whitened u, see {@link LatentWhitening}) → [S] (`dispose`
 * frees its constants):
 *
 *   loss = bandLoss(μ, σ) + w_p·[softplus(thr − log p(z)) + softplus(thr − log p(ẑ))] + w_r·repulsion(z),
 *
 * ẑ = member 0's latent mean of the composition (the export's prior gate, differentiable here),
 * bandLoss on the LCB in units of `utility.scale` (−LCB/scale for maximize, ((LCB − target)/scale)² for a target:
 * the negative of {@link utilityValue}). μ, σ are the pooled MC moments (fixed masks) of the model on the decoded
 * softmax composition with the disallowed elements masked out and the rest renormalised — the exported composition
 * up to the non-differentiable part of the projection (max elements, min fraction, at.% rounding), which the export
 * applies before re-predicting.
 */
export function makeGradientLoss(
  dm: DesignModel,
  o: GradientLossOptions,
): { loss: LatentLoss; dispose: () => void } {
  const be = dm.backend, E = dm.elements;
  const restrict = o.allowed.some((a) => !a);
  const mask = restrict
    ? keep(tensor(o.allowed.map((a) => (a ? 1 : 0)), [1, E], { backend: be, name: "allowed_elements" }))
    : null;
  const wp = o.priorWeight ?? 1, wr = o.repulsionWeight ?? 0.1;
  const wh = o.whitening;
  const whT = wh
    ? {
      l: keep(tensor(wh.cholesky, [wh.d, wh.d], { backend: be, name: "whitening_l" })),
      m: keep(tensor(wh.mean, [1, wh.d], { backend: be, name: "whitening_mean" })),
    }
    : null;
  const zc = o.utility.z ?? DESIGN_LCB_Z;
  const band = o.utility.goal.kind === "maximize"
    ? { scale: o.utility.scale, z: zc, maximize: true }
    : { scale: o.utility.scale, z: zc, target: o.utility.goal.hv };
  const loss: LatentLoss = (x: Tensor) => {
    const [S] = x.shape;
    // z = m + L·u for every row: u·Lᵀ + m.
    const z = whT ? add(matmul(x, whT.l, { transB: true }), whT.m) : x;
    let comp = dm.decode(z);
    if (mask) {
      const m = mul(comp, mask);
      comp = div(m, addScalar(sum(m, 1, true), 1e-12));
    }
    const y = dm.hvSamples(comp, o.load, o.passes, o.maskStep); // [P, S]
    const mu = mean(y, 0, true); // [1, S]
    const sigma = sqrt(addScalar(mean(square(sub(y, mu)), 0), SIGMA_FLOOR * SIGMA_FLOOR));
    let loss = bandLoss(reshape(mu, [S]), sigma, band);
    const barrier = add(
      priorBarrier(o.prior.logDensity(z), o.threshold),
      priorBarrier(o.prior.logDensity(dm.encodeMu(comp)), o.threshold),
    );
    loss = add(loss, mulScalar(barrier, wp));
    if (wr > 0 && S > 1) {
      loss = add(loss, mulScalar(repulsion(x, { bandwidth: o.repulsionBandwidth }), wr));
    }
    return loss;
  };
  return {
    loss,
    dispose: () => {
      mask?.dispose();
      whT?.l.dispose();
      whT?.m.dispose();
    },
  };
}
