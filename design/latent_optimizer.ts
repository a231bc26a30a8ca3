/**
 * Gradient optimisation of many latent starts at once (inverse design, issue 7 deliverable 3), plus the standard loss
 * terms it is used with.
 *
 * All S starts form ONE batched problem: z is a single engine tensor [S, d], the caller's loss maps it to one value
 * per start ([S]), and every step is one forward, one backward and one fused Adam update on the device. Each start
 * is its own Adam "replica" (nn/optim/adam.ts with `replicas: S`), so gradient-norm clipping is per start and a
 * start's trajectory does not depend on the others unless the loss couples them (repulsion).
 *
 * Nothing is read back inside a step: a step only records device work (`optimizeLatents` awaits nothing between
 * two `checkEvery` boundaries). Every `checkEvery` steps ONE read brings back the per-start mean loss over the window
 * and the per-start gradient norm of the window's last step; starts that meet the convergence test are frozen by
 * setting their learning-rate multiplier to 0 on the device, and the run stops when every start is frozen or after
 * `maxSteps`. A final read returns z and the loss at the returned z. So a run costs ⌈steps / checkEvery⌉ + 1 reads.
 *
 * The optimiser never transforms z: whatever decoding (softmax, simplex projection) the exported composition uses
 * must happen inside the loss, so the loss sees exactly what will be exported (the original pipeline optimised a
 * softplus-flattened composition and exported another one — reference §6.8).
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { Adam } from "../nn/optim/adam.ts";
import { gradients, noGrad } from "../nn/autodiff.ts";
import { keep, scope } from "../nn/scope.ts";
import { ShapeError, shapeStr } from "../nn/shape.ts";
import {
  add,
  affine,
  concat,
  exp,
  matmul,
  mul,
  mulScalar,
  relu,
  reshape,
  softplus,
  square,
  sub,
  sum,
  tensor,
} from "../nn/ops.ts";
import { UserError } from "../cli/errors.ts";

/**
 * The objective: maps the latents z [S, d] to one loss per start [S], differentiable through nn/ops. `step` is the
 * 0-based optimisation step (the final evaluation gets the total step count), e.g. to key fresh MC-dropout masks.
 * It runs inside a scope: tensors it creates are freed after the step; constants it captures must be made outside.
 */
export type LatentLoss = (z: Tensor, step: number) => Tensor;

/** Options of {@link optimizeLatents}. Defaults in brackets. */
export interface LatentOptimizerOptions {
  /** Adam learning rate [0.01]. */
  lr?: number;
  /** Per-start learning-rate multipliers (length S) [all 1]. */
  lrScale?: ArrayLike<number>;
  /** Adam β1 [0.9]. */
  beta1?: number;
  /** Adam β2 [0.999]. */
  beta2?: number;
  /** Adam ε [1e-7]. */
  eps?: number;
  /** Per-start gradient-norm clip: g ← g·min(1, clipNorm / (‖g‖ + 1e-6)) [5, the original's value]; ∞ disables. */
  clipNorm?: number;
  /** Largest number of steps [5000]. */
  maxSteps?: number;
  /** Steps between convergence checks (each costs one read) [50]. */
  checkEvery?: number;
  /**
   * Relative-improvement tolerance [1e-5]: a start converges when (L_prev − L_cur) / max(|L_prev|, |L_cur|,
   * lossFloor) < tol, with L the start's mean loss over a check window (so a loss that went up also counts).
   */
  tol?: number;
  /** Floor of the denominator above, so losses near 0 are judged on an absolute scale [1]. */
  lossFloor?: number;
  /** A start also converges when its (unclipped) gradient norm at a check is below gtol [1e-6]. */
  gtol?: number;
  /** Consecutive checks that must pass the loss test before a start is frozen [1]. */
  patience?: number;
  /** Called after every check (progress bars, logging). */
  onCheck?: (check: LatentCheck) => void;
}

/** What one convergence check saw. */
export interface LatentCheck {
  /** Steps taken so far. */
  step: number;
  /** Per-start mean loss over the window that just ended. */
  loss: Float64Array;
  /** Per-start gradient norm (before clipping) at the window's last step. */
  gradNorm: Float64Array;
  /** Number of starts still moving after this check. */
  active: number;
}

/** Why a start stopped: loss test, gradient test, step budget, or a non-finite loss/gradient (start frozen). */
export type LatentStopReason = "tol" | "gtol" | "maxSteps" | "nonFinite";

/** Result of {@link optimizeLatents}. Values come through `Backend.read`, so they have float32 resolution. */
export interface LatentOptimizerResult {
  /** Final latents, row-major [S, d]. */
  z: Float64Array;
  /** Loss of each start at the returned z (one extra forward pass at step `totalSteps`). */
  loss: Float64Array;
  /** Number of Adam updates each start received. */
  steps: number[];
  /** Whether each start met the convergence test (tol or gtol). */
  converged: boolean[];
  /** Why each start stopped. */
  reason: LatentStopReason[];
  /** One entry per check. */
  history: LatentCheck[];
  /** Steps the batched run took (= max of `steps`). */
  totalSteps: number;
}

function positive(name: string, v: number, integer = false): number {
  if (!(typeof v === "number" && v > 0 && (integer ? Number.isInteger(v) : !Number.isNaN(v)))) {
    throw new UserError(
      `latent optimiser: ${name} must be a positive ${integer ? "integer" : "number"}, got ${v}`,
    );
  }
  return v;
}

function nonNegative(name: string, v: number): number {
  if (!(typeof v === "number" && v >= 0)) {
    throw new UserError(`latent optimiser: ${name} must be a number ≥ 0, got ${v}`);
  }
  return v;
}

function checkedLoss(loss: LatentLoss, z: Tensor, step: number): Tensor {
  const L = loss(z, step);
  const S = z.shape[0];
  if (L.rank !== 1 || L.shape[0] !== S || L.backend !== z.backend) {
    throw new ShapeError(
      `latent optimiser: the loss must be a [${S}] tensor on the latents' device, got ${L.toString()}`,
    );
  }
  return L;
}

/**
 * Minimises `loss` from S starts at once with per-start Adam, per-start clipping and a windowed convergence test;
 * converged starts are frozen on the device. See the module notes for the read-back schedule.
 * @param be backend that holds z
 * @param z0 initial latents, row-major [S, d] (length a multiple of `dim`)
 * @param dim latent dimension d
 * @param loss objective: z [S, d] → per-start loss [S]
 * @example
 * ```ts
 * const target = tensor([1, 2, 3, 4], [2, 2], { backend: cpu });
 * const res = await optimizeLatents(cpu, new Float64Array(4), 2, (z) => sum(square(sub(z, target)), 1));
 * ```
 */
export async function optimizeLatents(
  be: Backend,
  z0: ArrayLike<number>,
  dim: number,
  loss: LatentLoss,
  o: LatentOptimizerOptions = {},
): Promise<LatentOptimizerResult> {
  positive("dim", dim, true);
  if (z0.length === 0 || z0.length % dim !== 0) {
    throw new UserError(`latent optimiser: ${z0.length} start values do not fill rows of dimension ${dim}`);
  }
  for (let i = 0; i < z0.length; i++) {
    if (!Number.isFinite(z0[i])) throw new UserError(`latent optimiser: start value ${i} is ${z0[i]}`);
  }
  const S = z0.length / dim;
  const lr = positive("lr", o.lr ?? 0.01);
  const clipNorm = positive("clipNorm", o.clipNorm ?? 5);
  const maxSteps = positive("maxSteps", o.maxSteps ?? 5000, true);
  const checkEvery = positive("checkEvery", o.checkEvery ?? 50, true);
  const tol = nonNegative("tol", o.tol ?? 1e-5);
  const gtol = nonNegative("gtol", o.gtol ?? 1e-6);
  const lossFloor = positive("lossFloor", o.lossFloor ?? 1);
  const patience = positive("patience", o.patience ?? 1, true);
  const lrScale = Float64Array.from(o.lrScale ?? new Array<number>(S).fill(1));
  if (lrScale.length !== S) {
    throw new UserError(`latent optimiser: lrScale has ${lrScale.length} entries for ${S} starts`);
  }
  lrScale.forEach((v, i) => nonNegative(`lrScale[${i}]`, v));

  const z = keep(be.fromData(z0, [S, dim]));
  z.requiresGrad = true;
  z.name = "latents";
  const adam = new Adam([z], {
    lr,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.999,
    eps: o.eps ?? 1e-7,
    clipNorm,
    replicas: S,
  });
  // Device buffers that live across steps: the gradient seed, the window's loss sum, the last gradient norm².
  const seed = keep(be.fill([S], 1));
  const windowSum = keep(be.fill([S], 0));
  const gradNormSq = keep(be.fill([S], 0));

  const active = new Array<boolean>(S).fill(true);
  const reason = new Array<LatentStopReason>(S).fill("maxSteps");
  const steps = new Array<number>(S).fill(0);
  const passes = new Array<number>(S).fill(0);
  const prevMean = new Float64Array(S).fill(NaN);
  const history: LatentCheck[] = [];
  /** Device lr multipliers = lrScale on moving starts, 0 on frozen ones. */
  const pushLrScale = () =>
    scope(() => adam.setReplicaLrScale(be.fromData(lrScale.map((v, i) => (active[i] ? v : 0)), [S])));

  try {
    if (o.lrScale) pushLrScale();
    let t = 0, windowStart = 0, nActive = S;
    while (t < maxSteps && nActive > 0) {
      const step = t;
      const endsWindow = (step + 1 - windowStart) === checkEvery || step + 1 === maxSteps;
      // ---- one step: device work only, nothing awaited ----
      scope(() => {
        const L = checkedLoss(loss, z, step);
        const [g] = gradients(L, [z], seed);
        noGrad(() => {
          const acc = be.binary("add", windowSum, L);
          be.copyInto(windowSum, acc);
          if (endsWindow) {
            const n2 = g ? sum(square(g), 1) : be.fill([S], 0);
            be.copyInto(gradNormSq, n2);
          }
        });
        adam.update([g]);
      });
      be.flush();
      t++;
      for (let i = 0; i < S; i++) if (active[i]) steps[i]++;
      if (!endsWindow) continue;

      // ---- convergence check: one read per window ----
      const packed = scope(() => noGrad(() => concat([windowSum, gradNormSq], 0)));
      const host = await be.read(packed);
      packed.dispose();
      const n = t - windowStart;
      windowStart = t;
      be.write(windowSum, new Float32Array(S));
      const mean = new Float64Array(S), gnorm = new Float64Array(S);
      let changed = false;
      for (let i = 0; i < S; i++) {
        mean[i] = host[i] / n;
        gnorm[i] = Math.sqrt(host[S + i]);
        if (!active[i]) continue;
        let stop: LatentStopReason | null = null;
        if (!Number.isFinite(mean[i]) || !Number.isFinite(gnorm[i])) stop = "nonFinite";
        else if (gnorm[i] < gtol) stop = "gtol";
        else if (Number.isFinite(prevMean[i])) {
          const denom = Math.max(Math.abs(prevMean[i]), Math.abs(mean[i]), lossFloor);
          passes[i] = (prevMean[i] - mean[i]) / denom < tol ? passes[i] + 1 : 0;
          if (passes[i] >= patience) stop = "tol";
        }
        prevMean[i] = mean[i];
        if (stop) {
          active[i] = false;
          reason[i] = stop;
          nActive--;
          changed = true;
        }
      }
      if (changed && nActive > 0) pushLrScale();
      const check: LatentCheck = { step: t, loss: mean, gradNorm: gnorm, active: nActive };
      history.push(check);
      o.onCheck?.(check);
    }

    // ---- final read: z and the loss at z ----
    const totalSteps = t;
    const final = scope(() =>
      noGrad(() => {
        const L = checkedLoss(loss, z, totalSteps);
        return concat([reshape(z, [S * dim]), L], 0);
      })
    );
    const host = await be.read(final);
    final.dispose();
    return {
      z: Float64Array.from(host.subarray(0, S * dim)),
      loss: Float64Array.from(host.subarray(S * dim)),
      steps,
      converged: reason.map((r) => r === "tol" || r === "gtol"),
      reason,
      history,
      totalSteps,
    };
  } finally {
    adam.dispose();
    for (const x of [z, seed, windowSum, gradNormSq]) x.dispose();
  }
}

// ---- standard loss terms ---------------------------------------------------------------------------------------

/** Options of {@link bandLoss}. At least one of `maximize`, `target`, `lo`, `hi` is required. */
export interface BandLossOptions {
  /** The HV scale every term is measured in (e.g. σ_ref or the label std): keeps terms comparable. */
  scale: number;
  /** LCB multiplier: the loss sees LCB = μ − z·σ [1.645]; 0 makes it act on the mean. */
  z?: number;
  /** Add −LCB/scale (push the LCB up). */
  maximize?: boolean;
  /** Add ((LCB − target)/scale)². */
  target?: number;
  /** Add bandWeight·(relu(lo − LCB)/scale)²: zero inside the band, quadratic below it. */
  lo?: number;
  /** Add bandWeight·(relu(LCB − hi)/scale)². */
  hi?: number;
  /** Weight of the two band hinges [1]. */
  bandWeight?: number;
}

/**
 * Per-start utility loss on the lower confidence bound LCB = μ − z·σ, every term in units of `scale` so a target,
 * a band and a maximisation term are of comparable size (the original mixed a raw HV² target term with HV-sized
 * hinges, §6.8). Squared hinges keep the loss smooth at the band edges.
 * @param mu predictive mean [S]
 * @param sigma predictive standard deviation [S]
 * @returns the loss [S]
 */
export function bandLoss(mu: Tensor, sigma: Tensor, o: BandLossOptions): Tensor {
  const s = o.scale;
  if (!(s > 0 && Number.isFinite(s))) {
    throw new UserError(`bandLoss: scale must be a positive number, got ${s}`);
  }
  const zc = o.z ?? 1.645;
  if (!(zc >= 0 && Number.isFinite(zc))) throw new UserError(`bandLoss: z must be a number ≥ 0, got ${zc}`);
  for (const k of ["target", "lo", "hi"] as const) {
    if (o[k] !== undefined && !Number.isFinite(o[k])) {
      throw new UserError(`bandLoss: ${k} must be a finite number, got ${o[k]}`);
    }
  }
  if (o.lo !== undefined && o.hi !== undefined && o.lo > o.hi) {
    throw new UserError(`bandLoss: lo (${o.lo}) is above hi (${o.hi})`);
  }
  if (!o.maximize && o.target === undefined && o.lo === undefined && o.hi === undefined) {
    throw new UserError("bandLoss: give maximize, target, lo or hi");
  }
  const w = o.bandWeight ?? 1;
  if (!(w >= 0 && Number.isFinite(w))) throw new UserError(`bandLoss: bandWeight must be ≥ 0, got ${w}`);
  const lcb = zc === 0 ? mu : sub(mu, mulScalar(sigma, zc));
  const terms: Tensor[] = [];
  if (o.maximize) terms.push(mulScalar(lcb, -1 / s));
  if (o.target !== undefined) terms.push(square(affine(lcb, 1 / s, -o.target / s)));
  if (o.lo !== undefined) terms.push(mulScalar(square(relu(affine(lcb, -1 / s, o.lo / s))), w));
  if (o.hi !== undefined) terms.push(mulScalar(square(relu(affine(lcb, 1 / s, -o.hi / s))), w));
  return terms.reduce((a, b) => add(a, b));
}

/**
 * Smooth one-sided barrier keeping starts inside the prior's density-feasible set: softplus(k·(thr − logp))/k per
 * start. Large sharpness k approaches relu(thr − logp); k = 1 is the plain softplus(thr − logp). Never infinite,
 * unlike the sampler's hard −∞ cut, so starts that begin outside the set still get a gradient back into it.
 * @param logp prior log-density per start [S]
 * @param thr log-density threshold (e.g. the weighted 10 % quantile of the training latents)
 * @returns the barrier [S]
 */
export function priorBarrier(logp: Tensor, thr: number, o: { sharpness?: number } = {}): Tensor {
  const k = o.sharpness ?? 1;
  if (!(k > 0 && Number.isFinite(k))) {
    throw new UserError(`priorBarrier: sharpness must be a positive number, got ${k}`);
  }
  if (!Number.isFinite(thr)) throw new UserError(`priorBarrier: threshold must be finite, got ${thr}`);
  const b = softplus(affine(logp, -k, k * thr));
  return k === 1 ? b : mulScalar(b, 1 / k);
}

/**
 * Pairwise Gaussian-kernel repulsion between starts: r_i = ½ Σ_{j≠i} exp(−‖z_i − z_j‖² / h), so Σ_i r_i is the
 * energy Σ_{i<j} k_ij and its gradient pushes each pair apart. Distances come from one matmul on the device:
 * ‖z_i − z_j‖² = ‖z_i‖² + ‖z_j‖² − 2 z_i·z_j (clamped at 0 against rounding).
 * @param z latents [S, d]
 * @param o.bandwidth kernel width h [d, so unit-variance latents a typical distance apart (E‖Δ‖² = 2d) interact
 *   with weight e⁻²]
 * @returns the repulsion [S] (zeros for S = 1)
 */
export function repulsion(z: Tensor, o: { bandwidth?: number } = {}): Tensor {
  if (z.rank !== 2) throw new ShapeError(`repulsion: z must have shape [S, d], got ${shapeStr(z.shape)}`);
  const [S, d] = z.shape;
  const h = o.bandwidth ?? d;
  if (!(h > 0 && Number.isFinite(h))) {
    throw new UserError(`repulsion: bandwidth must be a positive number, got ${h}`);
  }
  const offDiag = new Float32Array(S * S).fill(1);
  for (let i = 0; i < S; i++) offDiag[i * S + i] = 0;
  const mask = tensor(offDiag, [S, S], { backend: z.backend });
  const sq = sum(square(z), 1, true); // [S, 1]
  const gram = matmul(z, z, { transB: true }); // [S, S]
  const d2 = relu(sub(add(sq, reshape(sq, [1, S])), mulScalar(gram, 2)));
  const k = mul(exp(mulScalar(d2, -1 / h)), mask);
  return mulScalar(sum(k, 1), 0.5);
}
