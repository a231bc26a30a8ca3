/**
 * Batched Metropolis–Hastings sampler: C chains in a d-dimensional space advanced in lockstep, with ONE call
 * of the target per step for all chains (the target is meant to be one batched model forward of chains ×
 * MC-dropout passes). Generic over the target: it only sees `Float64Array`s.
 *
 * Proposals (both with an exact Metropolis–Hastings ratio):
 * - `"rw"`: Gaussian random walk z' = z + s_c·L_k·ε with Σ_k = L_k·L_kᵀ. The covariance index k is either
 *   fixed per chain (then the proposal is symmetric and needs no Hastings term) or a deterministic function
 *   of the state (e.g. the GMM component with the largest responsibility); then q is not symmetric and the
 *   sampler adds the exact term log q(z | z') − log q(z' | z), each side with the covariance chosen at ITS
 *   starting point (the original pipeline's term left out two of its three proposal branches, reference
 *   §6.5).
 * - `"mala"`: Metropolis-adjusted Langevin, z' = z + (h/2)·M·∇log π̃(z) + √h·L·ε with a fixed per-chain
 *   preconditioner M = L·Lᵀ, and the exact Langevin Hastings term. State-dependent preconditioners are not
 *   offered (they would need the position-dependent manifold-MALA correction).
 *
 * Schedule: steps t = 0 … steps−1; t < burnIn is burn-in. For t < temperSteps (≤ burnIn) the chains target
 * π^(1/T) with T = burnInTemperature. The step size of every chain adapts during burn-in only (Robbins–Monro
 * on log s towards the target acceptance, restarting when tempering ends so that the final sizes fit T = 1)
 * and is frozen afterwards, so the post-burn-in chains are time-homogeneous Markov chains that leave π
 * invariant. A state is kept at t ≥ burnIn when (t − burnIn) % thin = 0, until every chain holds keepPerChain
 * samples (then the run stops).
 *
 * The target may depend on the phase it is handed (e.g. a utility weight that differs in burn-in). The stored
 * log-target of the current states is therefore re-evaluated (one extra batched call) whenever `burnIn` or
 * `tempered` changes, instead of comparing values of two different targets (the original pipeline's
 * stale-value bug). The target must otherwise be a deterministic function of (z, phase.burnIn,
 * phase.tempered): with MC dropout, fix the dropout masks for the whole run (common random numbers),
 * otherwise every comparison is noisy.
 *
 * −∞ (and NaN) proposals are always rejected and counted; initial states must have a finite log-target. Chain
 * repulsion (optional) adds −γ·mean_{j≠c} exp(−‖z − z_j‖² / 2ℓ²) to chain c's log-target, computed from the
 * other chains' states at the start of the step. That makes the joint target non-product and the simultaneous
 * update only approximately invariant, so by default it acts during burn-in only (exploration); with
 * `afterBurnIn: true` it stays on and the kept samples are NOT samples of π.
 *
 * All randomness comes from {@link Rng}: chain c draws from `Rng(seed, stream + c)` (per step: d normals by
 * Box–Muller from ⌈d/2⌉ pairs of 32-bit words, then one `uniform()` for the accept test), so a run is
 * reproducible from its seed and, without repulsion, chain c's path does not depend on the number of chains.
 *
 * Cost on the host per step: O(C·d²) for the proposals and ratios (about 7 µs per chain-step at d = 64 once
 * the JIT is warm), plus O(C²·d) when repulsion is on; the target evaluation is expected to dominate.
 * @module
 */
import { Rng } from "../nn/random.ts";
import { choleskyFactor, choleskyLogDet, NotPositiveDefiniteError } from "../nn/baselines/cholesky.ts";
import { UserError } from "../cli/errors.ts";

/** What the target is told about the step it is evaluated for. */
export interface TargetPhase {
  /** The step (0-based) whose states are evaluated; the initial states are evaluated with step 0. */
  step: number;
  /** t < burnIn. */
  burnIn: boolean;
  /** t < temperSteps: the sampler uses logp / temperature (the target returns the untempered value). */
  tempered: boolean;
  /** The temperature the sampler applies at this step (1 when not tempered). */
  temperature: number;
}

/** One batched evaluation: `logp[c]` (untempered, may be −∞) and, for MALA, `grad` = ∇logp laid out C × d. */
export interface TargetValue {
  logp: Float64Array;
  grad?: Float64Array;
}

/** Evaluates ALL chains at once: `z` is C × d row-major (chain-major). Must not keep or modify `z`. */
export type BatchedLogTarget = (z: Float64Array, phase: TargetPhase) => TargetValue | Promise<TargetValue>;

/** Picks a covariance index per chain from the states (C × d); must be deterministic. */
export type CovarianceSelector = (z: Float64Array, chains: number) => Int32Array;

/** Gaussian random-walk proposal z' = z + s_c·L_k·ε. */
export interface RandomWalkProposal {
  kind: "rw";
  /** K symmetric positive-definite d × d covariances (row-major). Default: one identity. */
  covariances?: readonly Float64Array[];
  /**
   * Which covariance each chain uses: fixed per chain (C indices; symmetric proposal, no Hastings term), or a
   * deterministic function of the state (exact Hastings term). Default: all chains use covariance 0.
   */
  component?: Int32Array | CovarianceSelector;
  /** Initial step scale s (one for all chains or one per chain). Default 2.38 / √d. */
  scale?: number | Float64Array;
}

/** Metropolis-adjusted Langevin proposal with a fixed per-chain preconditioner M_k. */
export interface MalaProposal {
  kind: "mala";
  /** K symmetric positive-definite preconditioners d × d. Default: one identity. */
  covariances?: readonly Float64Array[];
  /** Fixed preconditioner index per chain (C indices). Default: all 0. */
  component?: Int32Array;
  /** Initial step size h (one or per chain). Default 1 / d^(1/3). */
  stepSize?: number | Float64Array;
}

/**
 * Chain repulsion: −strength · mean_{j≠c} exp(−‖z − z_j‖² / (2·bandwidth²)) added to chain c's log-target.
 */
export interface RepulsionOptions {
  strength: number;
  bandwidth: number;
  /** Keep repelling after burn-in (kept samples are then not samples of the target). Default false. */
  afterBurnIn?: boolean;
}

/** What {@link runChains} reports after every step (for progress bars and diagnostics). */
export interface StepInfo {
  step: number;
  phase: TargetPhase;
  /** Current states C × d (a live view: copy what you keep). */
  z: Float64Array;
  /** Untempered log-target of the current states (live view). */
  logp: Float64Array;
  /** The proposals of this step, C × d (live view). */
  proposal: Float64Array;
  /** log of the Metropolis–Hastings acceptance ratio of each chain's proposal (−∞ when rejected outright). */
  logAlpha: Float64Array;
  /** Which chains accepted at this step. */
  accepted: Uint8Array;
  /** Which chains proposed a jump (independence proposal) at this step. */
  jumped: Uint8Array;
  /** Samples kept so far per chain (the same for every chain). */
  kept: number;
}

/**
 * Independence proposals ("jumps") mixed into the local moves: at each step a chain proposes, with probability
 * `probability`, a draw z' ~ q that does not depend on its state, with the Hastings term log q(z) − log q(z').
 * With q a global density (the latent prior) a chain can leave a basin (an alloy family) that the local moves
 * cannot cross; a mixture of kernels that each leave the target invariant leaves it invariant too.
 */
export interface JumpProposal {
  /** Probability of a jump per chain and step, in [0, 1). */
  probability: number;
  /** Writes one draw of q into out[offset .. offset + d). */
  sample(rng: Rng, out: Float64Array, offset: number): void;
  /** log q of the state z[offset .. offset + d). */
  logDensity(z: Float64Array, offset: number): number;
}

/** Options of {@link runChains}. */
export interface McmcOptions {
  /** Dimension d of a state. */
  dim: number;
  proposal: RandomWalkProposal | MalaProposal;
  /** Total steps including burn-in (an upper bound: the run stops once every chain is full). */
  steps: number;
  /** Burn-in steps (0 ≤ burnIn < steps): tempering, adaptation and (default) repulsion happen only here. */
  burnIn: number;
  /** Tempered steps at the start of burn-in (default ⌊burnIn / 2⌋; ≤ burnIn). */
  temperSteps?: number;
  /** Temperature T ≥ 1 of the tempered steps (default 2). */
  burnInTemperature?: number;
  /** Keep every thin-th post-burn-in state (default 1). */
  thin?: number;
  /** Samples kept per chain (default: all). */
  keepPerChain?: number;
  seed: number;
  /** First Rng stream id; chain c uses stream + c (default 0x4d430000). */
  stream?: number;
  /** Adapt the step sizes during burn-in (default true). */
  adapt?: boolean;
  /** Acceptance the adaptation aims at (default 0.3 for "rw", 0.57 for "mala"). */
  targetAcceptance?: number;
  repulsion?: RepulsionOptions;
  /** Independence jumps mixed into the local moves (default none); never adapt the step size. */
  jump?: JumpProposal;
  /** Re-evaluate the current states when phase.burnIn / phase.tempered change (default true). */
  reevaluateOnPhaseChange?: boolean;
  onStep?: (info: StepInfo) => void | Promise<void>;
}

/** Per-step diagnostics of a run (length stepsRun). */
export interface McmcTrace {
  /** Fraction of chains that accepted. */
  acceptRate: Float64Array;
  /** Mean untempered log-target over the chains with a finite value. */
  meanLogp: Float64Array;
  temperature: Float64Array;
  /** Mean step scale (RW) / step size (MALA) over chains. */
  meanStepSize: Float64Array;
  /** Proposals rejected because their log-target was −∞ or NaN. */
  nonFinite: Int32Array;
}

/** Result of {@link runChains}. */
export interface McmcResult {
  chains: number;
  dim: number;
  /** Samples kept per chain (the same for all chains). */
  kept: number;
  /** Kept states, chains × kept × d (chain-major). */
  samples: Float64Array;
  /** Untempered, repulsion-free log-target of the kept states, chains × kept. */
  logp: Float64Array;
  /** Post-burn-in acceptance rate per chain. */
  acceptance: Float64Array;
  /** Burn-in acceptance rate per chain (0 when burnIn = 0). */
  burnInAcceptance: Float64Array;
  /** Frozen step scale (RW) or step size (MALA) per chain. */
  stepSize: Float64Array;
  /** Final states C × d and their log-target. */
  final: { z: Float64Array; logp: Float64Array };
  /** Jumps proposed and accepted over the run (0 without {@link McmcOptions.jump}). */
  jumps: { proposed: number; accepted: number };
  /** Steps actually run (≤ steps). */
  stepsRun: number;
  /** Number of target calls (1 initial + stepsRun + phase-change re-evaluations). */
  targetCalls: number;
  trace: McmcTrace;
}

/** A factorised covariance: lower Cholesky factor and ½·log det. */
interface Factor {
  l: Float64Array;
  halfLogDet: number;
}

function int(name: string, v: number | undefined, lo: number, hi = Infinity): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    const range = hi === Infinity ? `≥ ${lo}` : `in [${lo}, ${hi}]`;
    throw new UserError(`mcmc option ${name} must be an integer ${range}, got ${v}`);
  }
  return v;
}

function positive(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) {
    throw new UserError(`mcmc option ${name} must be a positive number, got ${v}`);
  }
  return v;
}

function factorAll(covs: readonly Float64Array[] | undefined, d: number): Factor[] {
  const list = covs ?? [identity(d)];
  if (list.length === 0) {
    throw new UserError("mcmc option proposal.covariances must hold at least one matrix");
  }
  return list.map((a, k) => {
    if (a.length !== d * d) {
      throw new UserError(
        `mcmc option proposal.covariances[${k}] has ${a.length} values, expected ${d}×${d}`,
      );
    }
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) {
        const x = a[i * d + j], y = a[j * d + i];
        if (Math.abs(x - y) > 1e-12 * (Math.abs(x) + Math.abs(y) + 1e-300)) {
          throw new UserError(`mcmc option proposal.covariances[${k}] is not symmetric at (${i}, ${j})`);
        }
      }
    }
    try {
      const f = choleskyFactor(a, d, { jitterRetries: 0 });
      return { l: f.l, halfLogDet: 0.5 * choleskyLogDet(f) };
    } catch (e) {
      if (e instanceof NotPositiveDefiniteError) {
        throw new UserError(`mcmc option proposal.covariances[${k}] is not positive definite`);
      }
      throw e;
    }
  });
}

function identity(d: number): Float64Array {
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) a[i * d + i] = 1;
  return a;
}

function checkComponents(idx: Int32Array, chains: number, k: number, what: string): Int32Array {
  if (idx.length !== chains) {
    throw new Error(`mcmc: ${what} returned ${idx.length} indices for ${chains} chains`);
  }
  for (let c = 0; c < chains; c++) {
    if (!(idx[c] >= 0 && idx[c] < k)) {
      throw new UserError(`mcmc: ${what} gives chain ${c} covariance ${idx[c]}, but there are ${k}`);
    }
  }
  return idx;
}

/** out = L·v for lower-triangular L (row-major d × d), reading v[vo…] and writing out[oo…]. */
function lowerMul(
  l: Float64Array,
  d: number,
  v: ArrayLike<number>,
  vo: number,
  out: Float64Array,
  oo: number,
) {
  for (let i = d - 1; i >= 0; i--) {
    let s = 0;
    const ri = i * d;
    for (let k = 0; k <= i; k++) s += l[ri + k] * v[vo + k];
    out[oo + i] = s;
  }
}

/** out = Lᵀ·v. */
function lowerTMul(l: Float64Array, d: number, v: ArrayLike<number>, vo: number, out: Float64Array) {
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let k = i; k < d; k++) s += l[k * d + i] * v[vo + k];
    out[i] = s;
  }
}

/** out = L⁻¹·v (forward substitution). */
function lowerSolve(l: Float64Array, d: number, v: ArrayLike<number>, out: Float64Array) {
  for (let i = 0; i < d; i++) {
    let s = v[i];
    const ri = i * d;
    for (let k = 0; k < i; k++) s -= l[ri + k] * out[k];
    out[i] = s / l[ri + i];
  }
}

/**
 * log N(to; from + shift, s²·L·Lᵀ) up to the −(d/2)·log 2π constant: −½‖L⁻¹(to − from − shift)‖²/s²
 * − d·log s − ½·log det(L·Lᵀ). `shift` may be null (zero).
 */
function gaussianProposalLogDensity(
  to: ArrayLike<number>,
  from: ArrayLike<number>,
  shift: ArrayLike<number> | null,
  l: Float64Array,
  s: number,
  d: number,
): number {
  const diff = new Float64Array(d);
  for (let i = 0; i < d; i++) diff[i] = to[i] - from[i] - (shift ? shift[i] : 0);
  const u = new Float64Array(d);
  lowerSolve(l, d, diff, u);
  let q = 0, logDiag = 0;
  for (let i = 0; i < d; i++) {
    q += u[i] * u[i];
    logDiag += Math.log(l[i * d + i]);
  }
  return -0.5 * q / (s * s) - d * Math.log(s) - logDiag;
}

/**
 * The exact MALA Hastings term log q(z | z') − log q(z' | z) for q(b | a) = N(b; a + (h/2)·M·g(a), h·M),
 * M = L·Lᵀ, where g is the gradient of the (tempered) log-target. Exported for tests and diagnostics.
 */
export function malaLogHastings(
  z: ArrayLike<number>,
  g: ArrayLike<number>,
  zp: ArrayLike<number>,
  gp: ArrayLike<number>,
  l: Float64Array,
  h: number,
  d: number,
): number {
  const mg = new Float64Array(d), mgp = new Float64Array(d);
  const tmp = new Float64Array(d);
  lowerTMul(l, d, g, 0, tmp);
  lowerMul(l, d, tmp, 0, mg, 0);
  lowerTMul(l, d, gp, 0, tmp);
  lowerMul(l, d, tmp, 0, mgp, 0);
  const half = h / 2;
  for (let i = 0; i < d; i++) mg[i] *= half, mgp[i] *= half;
  const sq = Math.sqrt(h);
  return gaussianProposalLogDensity(z, zp, mgp, l, sq, d) - gaussianProposalLogDensity(zp, z, mg, l, sq, d);
}

/**
 * Box–Muller with both outputs: d standard normals from `rng` into out[o…], pair p from two 32-bit words
 * (u = (w + ½) / 2³², never 0 or 1; the pair's second value is dropped when d is odd).
 */
function normals(rng: Rng, out: Float64Array, o: number, d: number) {
  for (let i = 0; i < d; i += 2) {
    const r = Math.sqrt(-2 * Math.log((rng.nextU32() + 0.5) / 4294967296));
    const a = 2 * Math.PI * ((rng.nextU32() + 0.5) / 4294967296);
    out[o + i] = r * Math.cos(a);
    if (i + 1 < d) out[o + i + 1] = r * Math.sin(a);
  }
}

/**
 * Repulsion value and gradient for every chain: x (C × d) evaluated against the reference states ref (C × d),
 * skipping j = c: value[c] = −γ·mean_{j≠c} k_j with k_j = exp(−‖x_c − ref_j‖² / 2ℓ²), and (when `grad` is
 * given) grad[c] = γ·mean_{j≠c} k_j·(x_c − ref_j)/ℓ², the gradient of value[c] in x_c.
 */
export function repulsionTerm(
  x: Float64Array,
  ref: Float64Array,
  chains: number,
  d: number,
  rep: RepulsionOptions,
  value: Float64Array,
  grad: Float64Array | null,
): void {
  const inv2l2 = 1 / (2 * rep.bandwidth * rep.bandwidth);
  const w = rep.strength / Math.max(1, chains - 1);
  if (grad) grad.fill(0);
  for (let c = 0; c < chains; c++) {
    let v = 0;
    const xo = c * d;
    for (let j = 0; j < chains; j++) {
      if (j === c) continue;
      const ro = j * d;
      let r2 = 0;
      for (let i = 0; i < d; i++) {
        const t = x[xo + i] - ref[ro + i];
        r2 += t * t;
      }
      const k = Math.exp(-r2 * inv2l2);
      v += k;
      if (grad) {
        const gk = w * k * 2 * inv2l2;
        for (let i = 0; i < d; i++) grad[xo + i] += gk * (x[xo + i] - ref[ro + i]);
      }
    }
    value[c] = -w * v;
  }
}

/**
 * Runs C Metropolis–Hastings chains in lockstep (see the module documentation for the schedule and
 * exactness).
 * @param target batched log-target, called once per step for all chains
 * @param init initial states, C × d row-major; every one must have a finite log-target
 * @param options proposal, schedule, seed
 * @throws {UserError} on bad options, or an initial state with a non-finite log-target
 * @example
 * ```ts
 * // 8 chains on a 1-D standard normal: logp of chain c is −z_c²/2.
 * const target = (z: Float64Array) => ({ logp: z.map((x) => -0.5 * x * x) });
 * const res = await runChains(target, new Float64Array(8), {
 *   dim: 1,
 *   proposal: { kind: "rw" },
 *   steps: 600,
 *   burnIn: 100,
 *   seed: 1,
 * });
 * // res.samples: 8 chains × 500 kept states.
 * ```
 */
export async function runChains(
  target: BatchedLogTarget,
  init: Float64Array,
  options: McmcOptions,
): Promise<McmcResult> {
  const d = int("dim", options.dim, 1);
  if (init.length === 0 || init.length % d !== 0) {
    throw new UserError(
      `mcmc: initial states hold ${init.length} values, not a positive multiple of dim ${d}`,
    );
  }
  const C = init.length / d;
  for (let i = 0; i < init.length; i++) {
    if (!Number.isFinite(init[i])) {
      throw new UserError(`mcmc: initial state of chain ${Math.floor(i / d)} holds ${init[i]}`);
    }
  }
  const steps = int("steps", options.steps, 1);
  const burnIn = int("burnIn", options.burnIn, 0, steps - 1);
  const temperSteps = int("temperSteps", options.temperSteps ?? Math.floor(burnIn / 2), 0, burnIn);
  const tBurn = options.burnInTemperature ?? 2;
  if (!(Number.isFinite(tBurn) && tBurn >= 1)) {
    throw new UserError(`mcmc option burnInTemperature must be a number ≥ 1, got ${tBurn}`);
  }
  const thin = int("thin", options.thin ?? 1, 1);
  const keepMax = options.keepPerChain === undefined
    ? Infinity
    : int("keepPerChain", options.keepPerChain, 1);
  const seed = int("seed", options.seed, 0, 0xffffffff);
  const stream0 = int("stream", options.stream ?? 0x4d430000, 0, 0xffffffff);
  const adapt = options.adapt ?? true;
  const prop = options.proposal;
  const mala = prop.kind === "mala";
  if (prop.kind !== "rw" && prop.kind !== "mala") {
    throw new UserError(`mcmc option proposal.kind must be "rw" or "mala", got ${(prop as any).kind}`);
  }
  const aStar = options.targetAcceptance ?? (mala ? 0.57 : 0.3);
  if (!(aStar > 0 && aStar < 1)) {
    throw new UserError(`mcmc option targetAcceptance must be in (0, 1), got ${aStar}`);
  }
  const rep = options.repulsion;
  if (rep) {
    positive("repulsion.bandwidth", rep.bandwidth);
    if (!(Number.isFinite(rep.strength) && rep.strength >= 0)) {
      throw new UserError(`mcmc option repulsion.strength must be a number ≥ 0, got ${rep.strength}`);
    }
  }
  const jump = options.jump;
  if (jump && !(jump.probability >= 0 && jump.probability < 1)) {
    throw new UserError(`mcmc option jump.probability must be in [0, 1), got ${jump.probability}`);
  }
  const factors = factorAll(prop.covariances, d);
  const K = factors.length;
  const selector = typeof prop.component === "function" ? prop.component : null;
  if (mala && typeof prop.component === "function") {
    throw new UserError("mcmc option proposal.component must be fixed per chain for MALA");
  }
  const fixed = prop.component instanceof Int32Array
    ? checkComponents(prop.component, C, K, "proposal.component")
    : new Int32Array(C);

  // Step sizes (RW scale s or MALA h) per chain, adapted on the log scale.
  const s0 = prop.kind === "mala" ? prop.stepSize ?? 1 / Math.cbrt(d) : prop.scale ?? 2.38 / Math.sqrt(d);
  const stepSize = new Float64Array(C);
  if (typeof s0 === "number") stepSize.fill(positive(mala ? "proposal.stepSize" : "proposal.scale", s0));
  else {
    if (s0.length !== C) {
      throw new UserError(`mcmc option proposal step sizes: ${s0.length} values for ${C} chains`);
    }
    s0.forEach((
      v,
      c,
    ) => (stepSize[c] = positive(`${mala ? "proposal.stepSize" : "proposal.scale"}[${c}]`, v)));
  }
  const logStep = stepSize.map(Math.log);

  const rngs = Array.from({ length: C }, (_, c) => new Rng(seed, (stream0 + c) >>> 0));
  const phaseAt = (t: number): TargetPhase => {
    const tempered = t < temperSteps;
    return { step: t, burnIn: t < burnIn, tempered, temperature: tempered ? tBurn : 1 };
  };

  let targetCalls = 0;
  const evaluate = async (z: Float64Array, phase: TargetPhase): Promise<TargetValue> => {
    targetCalls++;
    const v = await target(z, phase);
    if (!v || !(v.logp instanceof Float64Array) || v.logp.length !== C) {
      throw new Error(`mcmc: the target must return logp as a Float64Array of ${C} values`);
    }
    if (mala && (!(v.grad instanceof Float64Array) || v.grad.length !== C * d)) {
      throw new Error(`mcmc: MALA needs the target's grad as a Float64Array of ${C}×${d} values`);
    }
    return v;
  };

  // Current state.
  const z = Float64Array.from(init);
  let phase = phaseAt(0);
  let evalPhase = phase;
  const first = await evaluate(z.slice(), phase);
  const lp = Float64Array.from(first.logp);
  for (let c = 0; c < C; c++) {
    if (!(lp[c] > -Infinity && lp[c] < Infinity)) {
      throw new UserError(
        `mcmc: initial state of chain ${c} has log-target ${lp[c]}; start every chain inside the support`,
      );
    }
  }
  const g = mala ? Float64Array.from(first.grad!) : null;
  if (g) {
    const bad = g.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new UserError(`mcmc: initial state of chain ${Math.floor(bad / d)} has a non-finite gradient`);
    }
  }
  const comp = selector ? checkComponents(selector(z.slice(), C), C, K, "proposal.component") : fixed;

  // Work buffers.
  const zp = new Float64Array(C * d);
  const eps = new Float64Array(C * d);
  const drift = mala ? new Float64Array(C * d) : null; // (h/2)·M·∇log π̃ at the current state
  const repCur = new Float64Array(C), repProp = new Float64Array(C);
  const repGradCur = rep && mala ? new Float64Array(C * d) : null;
  const repGradProp = rep && mala ? new Float64Array(C * d) : null;
  const tmp = new Float64Array(d), tmp2 = new Float64Array(d), gTot = new Float64Array(d);
  const accepted = new Uint8Array(C);
  const logAlphas = new Float64Array(C);
  const accBurn = new Float64Array(C), accPost = new Float64Array(C);
  const jumping = new Uint8Array(C);
  let jumpsProposed = 0, jumpsAccepted = 0;

  const keepCap = Math.min(keepMax, Math.floor((steps - 1 - burnIn) / thin) + 1);
  const samples = new Float64Array(C * keepCap * d);
  const keptLogp = new Float64Array(C * keepCap);
  let kept = 0;

  const trace: McmcTrace = {
    acceptRate: new Float64Array(steps),
    meanLogp: new Float64Array(steps),
    temperature: new Float64Array(steps),
    meanStepSize: new Float64Array(steps),
    nonFinite: new Int32Array(steps),
  };

  let t = 0;
  for (; t < steps && kept < keepCap; t++) {
    phase = phaseAt(t);
    const T = phase.temperature;
    if (
      (options.reevaluateOnPhaseChange ?? true) &&
      (phase.burnIn !== evalPhase.burnIn || phase.tempered !== evalPhase.tempered)
    ) {
      // The target may change with the phase: compare like with like (a −∞ here is allowed; any finite
      // proposal is then accepted).
      const v = await evaluate(z.slice(), phase);
      lp.set(v.logp);
      if (g) g.set(v.grad!);
    }
    evalPhase = phase;
    const repOn = !!rep && rep.strength > 0 && C > 1 && (phase.burnIn || !!rep.afterBurnIn);
    if (repOn) repulsionTerm(z, z, C, d, rep!, repCur, repGradCur);

    // Propose.
    for (let c = 0; c < C; c++) {
      const o = c * d;
      // The jump draw comes first and only with jumps on, so runs without them keep their random streams.
      jumping[c] = jump && jump.probability > 0 && rngs[c].uniform() < jump.probability ? 1 : 0;
      if (jumping[c]) {
        jump!.sample(rngs[c], zp, o);
        jumpsProposed++;
        continue;
      }
      normals(rngs[c], eps, o, d);
      const f = factors[comp[c]];
      if (mala) {
        const h = stepSize[c];
        for (let i = 0; i < d; i++) {
          const gi = g![o + i];
          gTot[i] = (Number.isFinite(gi) ? gi : 0) / T + (repOn && repGradCur ? repGradCur[o + i] : 0);
        }
        lowerTMul(f.l, d, gTot, 0, tmp);
        lowerMul(f.l, d, tmp, 0, drift!, o);
        const sq = Math.sqrt(h);
        lowerMul(f.l, d, eps, o, tmp2, 0);
        for (let i = 0; i < d; i++) {
          drift![o + i] *= h / 2;
          zp[o + i] = z[o + i] + drift![o + i] + sq * tmp2[i];
        }
      } else {
        lowerMul(f.l, d, eps, o, tmp2, 0);
        const s = stepSize[c];
        for (let i = 0; i < d; i++) zp[o + i] = z[o + i] + s * tmp2[i];
      }
    }
    const v = await evaluate(zp.slice(), phase);
    const lpp = v.logp, gp = v.grad ?? null;
    const compP = selector ? checkComponents(selector(zp.slice(), C), C, K, "proposal.component") : fixed;
    if (repOn) repulsionTerm(zp, z, C, d, rep!, repProp, repGradProp);

    // Accept / reject.
    let nAcc = 0, nBad = 0;
    for (let c = 0; c < C; c++) {
      const o = c * d;
      const u = rngs[c].uniform();
      const lpc = lpp[c];
      if (lpc === Infinity) throw new Error(`mcmc: the target returned +∞ for chain ${c} at step ${t}`);
      let logAlpha: number;
      if (!(lpc > -Infinity)) {
        nBad++;
        logAlpha = -Infinity;
      } else if (!(lp[c] > -Infinity)) {
        logAlpha = Infinity; // leaving an impossible state (possible only after a phase-change re-evaluation)
      } else {
        logAlpha = (lpc - lp[c]) / T + (repOn ? repProp[c] - repCur[c] : 0);
        if (jumping[c]) {
          logAlpha += jump!.logDensity(z, o) - jump!.logDensity(zp, o);
        } else if (mala) {
          // Reverse move from z': u = L⁻¹(z − z') − (h/2)·Lᵀ·∇log π̃(z'); forward residual is √h·L·ε.
          const h = stepSize[c], l = factors[comp[c]].l;
          let bad = false;
          for (let i = 0; i < d; i++) {
            const gi = gp![o + i];
            if (!Number.isFinite(gi)) bad = true;
            gTot[i] = gi / T + (repOn && repGradProp ? repGradProp[o + i] : 0);
            tmp[i] = z[o + i] - zp[o + i];
          }
          if (bad) {
            nBad++;
            logAlpha = -Infinity;
          } else {
            lowerSolve(l, d, tmp, tmp2);
            lowerTMul(l, d, gTot, 0, tmp);
            let rev = 0, fwd = 0;
            for (let i = 0; i < d; i++) {
              const r = tmp2[i] - (h / 2) * tmp[i];
              rev += r * r;
              fwd += eps[o + i] * eps[o + i];
            }
            logAlpha += -rev / (2 * h) + 0.5 * fwd;
          }
        } else if (selector) {
          // Exact Hastings term for a state-dependent covariance:
          // log N(z; z', s²Σ_k(z')) − log N(z'; z, s²Σ_k(z)).
          const s = stepSize[c], fr = factors[compP[c]], ff = factors[comp[c]];
          for (let i = 0; i < d; i++) tmp[i] = z[o + i] - zp[o + i];
          lowerSolve(fr.l, d, tmp, tmp2);
          let rev = 0, fwd = 0;
          for (let i = 0; i < d; i++) {
            rev += tmp2[i] * tmp2[i];
            fwd += eps[o + i] * eps[o + i];
          }
          logAlpha += -0.5 * rev / (s * s) - fr.halfLogDet + 0.5 * fwd + ff.halfLogDet;
        }
      }
      if (Number.isNaN(logAlpha)) logAlpha = -Infinity;
      logAlphas[c] = logAlpha;
      const acc = Math.log(u) < logAlpha;
      accepted[c] = acc ? 1 : 0;
      if (acc) {
        nAcc++;
        if (jumping[c]) jumpsAccepted++;
        z.set(zp.subarray(o, o + d), o);
        lp[c] = lpc;
        if (g) g.set(gp!.subarray(o, o + d), o);
        if (selector) comp[c] = compP[c];
      }
      if (phase.burnIn) {
        accBurn[c] += accepted[c];
        if (adapt && !jumping[c]) {
          // Robbins–Monro on log step size, gain restarting when tempering ends.
          const t0 = phase.tempered ? 0 : temperSteps;
          const gain = Math.pow(1 + (t - t0) / 10, -0.6);
          const a = logAlpha >= 0 ? 1 : Math.exp(logAlpha);
          logStep[c] += gain * (a - aStar);
          stepSize[c] = Math.exp(logStep[c]);
        }
      } else accPost[c] += accepted[c];
    }

    if (!phase.burnIn && (t - burnIn) % thin === 0) {
      for (let c = 0; c < C; c++) {
        samples.set(z.subarray(c * d, c * d + d), (c * keepCap + kept) * d);
        keptLogp[c * keepCap + kept] = lp[c];
      }
      kept++;
    }

    let sLp = 0, nLp = 0, sSt = 0;
    for (let c = 0; c < C; c++) {
      if (Number.isFinite(lp[c])) sLp += lp[c], nLp++;
      sSt += stepSize[c];
    }
    trace.acceptRate[t] = nAcc / C;
    trace.meanLogp[t] = nLp ? sLp / nLp : -Infinity;
    trace.temperature[t] = T;
    trace.meanStepSize[t] = sSt / C;
    trace.nonFinite[t] = nBad;
    if (options.onStep) {
      await options.onStep({
        step: t,
        phase,
        z,
        logp: lp,
        proposal: zp,
        logAlpha: logAlphas,
        accepted,
        jumped: jumping,
        kept,
      });
    }
  }

  const stepsRun = t;
  const postSteps = stepsRun - burnIn;
  // keepCap never exceeds what the schedule can keep, so every chain is full here (kept === keepCap).
  const sliceTrace = (a: Float64Array | Int32Array) => a.slice(0, stepsRun);
  return {
    chains: C,
    dim: d,
    kept,
    samples,
    logp: keptLogp,
    acceptance: accPost.map((a) => a / postSteps),
    burnInAcceptance: accBurn.map((a) => (burnIn ? a / burnIn : 0)),
    stepSize,
    final: { z, logp: lp },
    jumps: { proposed: jumpsProposed, accepted: jumpsAccepted },
    stepsRun,
    targetCalls,
    trace: {
      acceptRate: sliceTrace(trace.acceptRate) as Float64Array,
      meanLogp: sliceTrace(trace.meanLogp) as Float64Array,
      temperature: sliceTrace(trace.temperature) as Float64Array,
      meanStepSize: sliceTrace(trace.meanStepSize) as Float64Array,
      nonFinite: sliceTrace(trace.nonFinite) as Int32Array,
    },
  };
}
