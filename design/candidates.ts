/**
 * Candidate evaluation and export after either design method (reference §6.7, corrected):
 *
 * 1. **De-duplicate** the constrained compositions (they lie on the at.% grid, so equal rows are equal exactly).
 *    With a GFA filter (`--gfa-model`, design/gfa_filter.ts) the unique rows whose P(glass) is below its minimum
 *    are dropped here, before anything is ranked, and the exported rows carry P(glass) (`p_glass`).
 * 2. **Prescreen** (only when there are more than `prescreenKeep` unique rows): `prescreenMc` MC passes each,
 *    gates and ranking as below, keep the best `prescreenKeep`.
 * 3. **Evaluate** with `evalMc` MC passes per member (pooled over members × passes, as `alloy predict --mc`): μ, σ,
 *    LCB = μ − 1.645σ; the log prior of the RE-ENCODED latent (member 0's μ_z of the exported composition, not the
 *    sampler's latent: the plausibility of what is exported); novelty = L2 distance to the nearest training
 *    composition.
 * 4. **Gates** (candidate_selection.ts): log prior ≥ the prior's 10 % threshold, novelty ≥ the novelty threshold
 *    (q75 of the training set's leave-one-out distances), σ ≤ 2.5·σ_ref (σ_ref = q75 of the training rows' σ).
 * 5. **Rank** by (accepted, score, LCB, log prior), score = the reference's soft score
 *    LCB + 250·novelty + 0.03·log p − 0.2·max(0, σ − σ_ref)² (for a target, LCB is replaced by
 *    target − |LCB − target|), and **select** `n` greedily with a minimum separation of 0.5·novelty threshold among
 *    the accepted (0.25· among the top 200 when none is accepted).
 * 6. **Re-predict** the selected rows, in export order, with fresh masks (dropout RNG step 0, the model loaded with
 *    the run's seed): these are the reported numbers, so `alloy predict --model DIR --csv candidates.csv --mc
 *    <evalMc> --seed <seed>` reproduces hv_mean/hv_std/hv_lcb, and the selection (made on the step-3 numbers) does
 *    not bias the reported ones (winner's curse). The σ gate and `accepted` are recomputed on them.
 *
 * `hv_lo`/`hv_hi`: the model's split-conformal 90 % interval when its config carries a finite calibration at α = 0.1
 * (as `alloy predict`'s hv_lo90/hv_hi90), otherwise the 5 % / 95 % quantiles of the pooled MC samples.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { noGrad } from "../nn/autodiff.ts";
import { scope } from "../nn/scope.ts";
import { predictVibann } from "../nn/models/vibann_predict.ts";
import { summarizeMcSamples } from "../nn/metrics/mc_summary.ts";
import { conformalInterval, type ConformalModel } from "../nn/metrics/conformal.ts";
import type { LoadedBaseline } from "../nn/baselines/baseline_dir.ts";
import { predictRows } from "../nn/baselines/protocol.ts";
import type { GaussianMixture } from "./gaussian_mixture.ts";
import type { CompositionConstraints } from "./composition_constraints.ts";
import {
  applyGates,
  dedupRows,
  nearestDistances,
  type NoveltyThreshold,
  rankDescending,
  referenceSoftScore,
  selectDiverseCandidates,
} from "./candidate_selection.ts";
import { DESIGN_LCB_Z, type DesignGoal, type DesignModel } from "./latent_target.ts";
import { applyGfaFilter, type GfaFilter } from "./gfa_filter.ts";
import { UserError } from "../cli/errors.ts";

/** σ gate: σ ≤ this multiple of σ_ref (reference SIGMA_MAX = 2.5·SIGMA_REF_Q75). */
export const SIGMA_GATE_FACTOR = 2.5;
/** Miscoverage of the conformal interval used for hv_lo/hv_hi. */
const CONFORMAL_ALPHA = 0.1;
/** MC quantile levels of hv_lo/hv_hi without a conformal calibration. */
const MC_LEVELS = [0.05, 0.95] as const;
/** Dropout RNG steps of the prescreen and the pool evaluation (the export re-prediction uses step 0). */
const PRESCREEN_MASK_STEP = 3_000_000;
const POOL_MASK_STEP = 4_000_000;

/** What the evaluation needs from the run. */
export interface CandidateContext {
  dm: DesignModel;
  mixture: GaussianMixture;
  /** Log-density threshold of the prior gate. */
  logPriorThreshold: number;
  constraints: CompositionConstraints;
  /** Training compositions (novelty reference), rows × E. */
  trainComp: Float64Array;
  novelty: NoveltyThreshold;
  /** q75 of the training rows' MC σ at the design load. */
  sigmaRef: number;
  load: number;
  goal: DesignGoal;
  /** MC passes per member of the evaluation and the export re-prediction. */
  evalMc: number;
  /** MC passes per member of the prescreen. */
  prescreenMc: number;
  /** Most unique rows evaluated with evalMc passes (more are prescreened). */
  prescreenKeep: number;
  /** Candidates to select. */
  n: number;
  conformal: ConformalModel | null;
  /** Optional judge: a baseline model directory, predicted beside ours. */
  judge?: LoadedBaseline | null;
  /** Optional GFA filter (design/gfa_filter.ts): unique rows with P(glass) below its minimum are dropped first. */
  gfa?: GfaFilter | null;
}

/** One exported candidate. */
export interface Candidate {
  /** Atomic fractions over the model's elements (on the at.% grid, summing to 1). */
  comp: Float64Array;
  formula: string;
  hvMean: number;
  hvStd: number;
  hvLcb: number;
  hvLo: number;
  hvHi: number;
  logPrior: number;
  novelty: number;
  gates: { logPrior: boolean; novelty: boolean; sigma: boolean };
  accepted: boolean;
  judgeMean?: number;
  judgeStd?: number;
  /** P(glass) from the GFA filter's classifier (only with a filter). */
  pGlass?: number;
}

/** Result of {@link evaluateCandidates}. */
export interface CandidateEvaluation {
  /** The selected candidates in export order. */
  candidates: Candidate[];
  counts: {
    /** Compositions handed in. */
    generated: number;
    /** After de-duplication. */
    unique: number;
    /** With a GFA filter: unique rows scored and rows with P(glass) ≥ its minimum (the rest are dropped). */
    gfa?: { scored: number; kept: number; min: number };
    /** Evaluated with evalMc passes (after the prescreen). */
    evaluated: number;
    /** Gate counts over the evaluated rows. */
    gates: { logPrior: number; novelty: number; sigma: number; accepted: number; total: number };
    selected: number;
    /** Selected and accepted after the export re-prediction. */
    selectedAccepted: number;
  };
  /** True when no evaluated row passed every gate (the selection then used the fallback pool). */
  fallback: boolean;
  minSep: number;
  /** What hv_lo/hv_hi are. */
  interval: "conformal90" | "mc5-95";
}

/** Pooled MC prediction of `rows` (m × E) at the design load, masks from RNG step `maskStep`. */
async function predictPooled(
  ctx: CandidateContext,
  rows: Float64Array,
  passes: number,
  maskStep: number,
): Promise<{ mean: Float64Array; std: Float64Array; lo: Float64Array; hi: Float64Array; lcb: Float64Array }> {
  const { dm, load } = ctx;
  const m = rows.length / dm.elements;
  dm.setMaskStep(maskStep);
  const p = await predictVibann(
    dm.backend,
    dm.model,
    dm.scalers,
    Float32Array.from(rows),
    new Float64Array(m).fill(load),
    { mc: passes },
  );
  const s = summarizeMcSamples(p.samples!, p.members * p.mc, { levels: [...MC_LEVELS], z: DESIGN_LCB_Z });
  return { mean: s.mean, std: s.std, lcb: s.lcb, lo: s.quantiles[0], hi: s.quantiles[1] };
}

/** The conformal model to use for hv_lo/hv_hi, or null (none, no α = 0.1, or an infinite q̂). */
function usableConformal(c: ConformalModel | null): ConformalModel | null {
  if (!c) return null;
  const j = c.alphas.findIndex((a) => Math.abs(a - CONFORMAL_ALPHA) <= 1e-12);
  return j >= 0 && Number.isFinite(c.q[j]) ? c : null;
}

/** Log prior density of the re-encoded latents (member 0's μ_z) of compositions `rows` (m × E). */
export async function reencodedLogPrior(
  dm: DesignModel,
  mixture: GaussianMixture,
  rows: Float64Array,
): Promise<Float64Array> {
  const m = rows.length / dm.elements;
  if (m === 0) return new Float64Array(0);
  const mu = scope(() =>
    noGrad(() => dm.encodeMu(dm.backend.fromData(Float32Array.from(rows), [m, dm.elements])))
  );
  const z = await mu.read();
  mu.dispose();
  return mixture.logDensities({ rows: m, cols: dm.latentDim, data: Float64Array.from(z) });
}

/** The ranking score of {@link evaluateCandidates} (see the module doc). */
export function candidateScore(
  goal: DesignGoal,
  lcb: ArrayLike<number>,
  novelty: ArrayLike<number>,
  logPrior: ArrayLike<number>,
  sigma: ArrayLike<number>,
  sigmaRef: number,
): Float64Array {
  const closeness = goal.kind === "maximize"
    ? lcb
    : Float64Array.from(lcb, (l) => goal.hv - Math.abs(l - goal.hv));
  return referenceSoftScore(closeness, novelty, logPrior, sigma, sigmaRef);
}

/** Gates, score and ranking of evaluated rows. */
function rankRows(
  ctx: CandidateContext,
  p: { std: Float64Array; lcb: Float64Array },
  logPrior: Float64Array,
  novelty: Float64Array,
) {
  const n = logPrior.length;
  const gates = applyGates(n, { logPrior, novelty, sigma: p.std }, {
    logPriorMin: ctx.logPriorThreshold,
    noveltyMin: ctx.novelty.threshold,
    sigmaMax: SIGMA_GATE_FACTOR * ctx.sigmaRef,
  });
  const score = candidateScore(ctx.goal, p.lcb, novelty, logPrior, p.std, ctx.sigmaRef);
  const order = rankDescending(gates.accepted, score, p.lcb, logPrior);
  return { gates, order };
}

function pickRows(rows: Float64Array, idx: readonly number[], e: number): Float64Array {
  const out = new Float64Array(idx.length * e);
  idx.forEach((r, k) => out.set(rows.subarray(r * e, (r + 1) * e), k * e));
  return out;
}

/**
 * Evaluates, gates, ranks and selects candidates (see the module doc for every step).
 * @param comps constrained compositions, m × E row-major (each must already satisfy the constraints)
 * @throws {Error} when a composition violates the constraints (a bug upstream) or there is none
 */
export async function evaluateCandidates(
  comps: Float64Array,
  ctx: CandidateContext,
): Promise<CandidateEvaluation> {
  const E = ctx.dm.elements;
  const generated = comps.length / E;
  if (generated === 0) throw new Error("evaluateCandidates: no candidate compositions");
  const bad = ctx.constraints.rowViolations(comps);
  if (bad.length > 0) {
    throw new Error(`evaluateCandidates: row ${bad[0].row} violates a constraint: ${bad[0].message}`);
  }
  let pool = pickRows(comps, dedupRows(comps, E), E);
  const unique = pool.length / E;
  // GFA filter: drop the rows the classifier does not call glass-forming before anything is ranked.
  let pGlass: Float64Array | null = null, gfaCounts: CandidateEvaluation["counts"]["gfa"];
  if (ctx.gfa) {
    const f = await applyGfaFilter(ctx.gfa, pool, ctx.constraints.elements, ctx.dm.backend);
    gfaCounts = { scored: unique, kept: f.keep.length, min: ctx.gfa.min };
    if (f.keep.length === 0) {
      // rounded down, so the message never shows a value that looks like it passes
      const best = (Math.floor(Math.max(...f.p) * 1e4) / 1e4).toFixed(4);
      throw new UserError(
        `--gfa-min ${ctx.gfa.min}: none of the ${unique} unique candidates reaches P(glass) ≥ ${ctx.gfa.min} ` +
          `(highest ${best}); lower --gfa-min, run more chains or steps, or change the constraints`,
      );
    }
    pool = pickRows(pool, f.keep, E);
    pGlass = Float64Array.from(f.keep, (i) => f.p[i]);
  }

  let logPrior = await reencodedLogPrior(ctx.dm, ctx.mixture, pool);
  let novelty = nearestDistances(pool, ctx.trainComp, E).distance;
  if (unique > ctx.prescreenKeep) {
    const p0 = await predictPooled(ctx, pool, ctx.prescreenMc, PRESCREEN_MASK_STEP);
    const keepIdx = rankRows(ctx, p0, logPrior, novelty).order.slice(0, ctx.prescreenKeep).sort((a, b) =>
      a - b
    );
    pool = pickRows(pool, keepIdx, E);
    if (pGlass) pGlass = Float64Array.from(keepIdx, (i) => pGlass![i]);
    logPrior = Float64Array.from(keepIdx, (i) => logPrior[i]);
    novelty = Float64Array.from(keepIdx, (i) => novelty[i]);
  }
  const evaluated = pool.length / E;
  const p1 = await predictPooled(ctx, pool, ctx.evalMc, POOL_MASK_STEP);
  const { gates, order } = rankRows(ctx, p1, logPrior, novelty);
  const sel = selectDiverseCandidates({
    points: pool,
    dim: E,
    order,
    accepted: gates.accepted,
    noveltyThreshold: ctx.novelty.threshold,
    k: ctx.n,
  });

  // Export re-prediction of the selected rows in export order, fresh masks (step 0, as `alloy predict`).
  const chosen = pickRows(pool, sel.picked, E);
  const p2 = await predictPooled(ctx, chosen, ctx.evalMc, 0);
  const conf = usableConformal(ctx.conformal);
  const band = conf ? conformalInterval(conf, p2.mean, p2.std, CONFORMAL_ALPHA) : { lo: p2.lo, hi: p2.hi };
  let judge: { mean: Float64Array; std?: Float64Array } | null = null;
  if (ctx.judge) {
    judge = await judgePredict(ctx.judge, chosen, ctx.constraints.elements, ctx.load, ctx.dm.backend);
  }
  const sigmaMax = SIGMA_GATE_FACTOR * ctx.sigmaRef;
  const candidates = sel.picked.map((r, k): Candidate => {
    const comp = chosen.slice(k * E, (k + 1) * E);
    const g = {
      logPrior: gates.logPriorOk[r],
      novelty: gates.noveltyOk[r],
      sigma: p2.std[k] <= sigmaMax,
    };
    const c: Candidate = {
      comp,
      formula: ctx.constraints.formula(comp),
      hvMean: p2.mean[k],
      hvStd: p2.std[k],
      hvLcb: p2.lcb[k],
      hvLo: band.lo[k],
      hvHi: band.hi[k],
      logPrior: logPrior[r],
      novelty: novelty[r],
      gates: g,
      accepted: g.logPrior && g.novelty && g.sigma,
    };
    if (judge) {
      c.judgeMean = judge.mean[k];
      if (judge.std) c.judgeStd = judge.std[k];
    }
    if (pGlass) c.pGlass = pGlass[r];
    return c;
  });
  return {
    candidates,
    counts: {
      generated,
      unique,
      ...(gfaCounts ? { gfa: gfaCounts } : {}),
      evaluated,
      gates: gates.counts,
      selected: candidates.length,
      selectedAccepted: candidates.filter((c) => c.accepted).length,
    },
    fallback: sel.fallback,
    minSep: sel.minSep,
    interval: conf ? "conformal90" : "mc5-95",
  };
}

/** The judge's prediction of `rows` (over the model's `elements`) at the design load. */
async function judgePredict(
  judge: LoadedBaseline,
  rows: Float64Array,
  elements: readonly string[],
  load: number,
  be: Backend,
): Promise<{ mean: Float64Array; std?: Float64Array }> {
  const je = judge.config.elements;
  const E = elements.length, m = rows.length / E;
  const col = elements.map((e) => je.indexOf(e));
  const fractions = new Float64Array(m * je.length);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < E; j++) {
      const v = rows[i * E + j];
      if (v === 0) continue;
      if (col[j] < 0) throw new Error(`judge: element ${elements[j]} is not in the judge's element list`);
      fractions[i * je.length + col[j]] = v;
    }
  }
  const p = await predictRows(
    judge,
    { fractions, elements: je.length, load: new Float64Array(m).fill(load) },
    undefined,
    be,
  );
  return { mean: p.mean, std: p.std };
}

/**
 * The contract's columns of candidates.csv for an element list (judge columns when `judge`, then `p_glass` when
 * a GFA filter was used).
 */
export function candidateColumns(elements: readonly string[], judge: boolean, gfa = false): string[] {
  return [
    "formula",
    ...elements,
    "load",
    "hv_mean",
    "hv_std",
    "hv_lcb",
    "hv_lo",
    "hv_hi",
    "log_prior",
    "novelty",
    "accepted",
    "method",
    ...(judge ? ["judge_hv_mean", "judge_hv_std"] : []),
    ...(gfa ? ["p_glass"] : []),
  ];
}

/** A number cell: fixed decimals, `inf`/`-inf` for infinities, empty for NaN/undefined. */
function num(x: number | undefined, decimals: number): string {
  if (x === undefined || Number.isNaN(x)) return "";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return x.toFixed(decimals);
}

/** A fraction on the at.% grid as a short exact decimal (0.175, not 0.17500000000000002). */
function fraction(x: number): string {
  return x === 0 ? "0" : String(+x.toFixed(10));
}

/**
 * candidates.csv text: exactly {@link candidateColumns}, one row per candidate in export order. Fractions as short
 * decimals, HV values with 4 decimals (as `alloy predict`), log prior and novelty with 6, accepted as 1/0.
 * @throws {Error} when a candidate violates the constraints (checked again before writing)
 */
export function candidatesCsv(
  candidates: readonly Candidate[],
  o: { constraints: CompositionConstraints; load: number; method: string; judge: boolean; gfa?: boolean },
): string {
  const elements = o.constraints.elements;
  const E = elements.length;
  const all = new Float64Array(candidates.length * E);
  candidates.forEach((c, i) => all.set(c.comp, i * E));
  const bad = o.constraints.rowViolations(all);
  if (bad.length > 0) {
    throw new Error(`candidates.csv: row ${bad[0].row + 1} violates a constraint: ${bad[0].message}`);
  }
  const lines = [candidateColumns(elements, o.judge, o.gfa).join(",")];
  for (const c of candidates) {
    const cells = [
      c.formula,
      ...Array.from(c.comp, fraction),
      String(o.load),
      num(c.hvMean, 4),
      num(c.hvStd, 4),
      num(c.hvLcb, 4),
      num(c.hvLo, 4),
      num(c.hvHi, 4),
      num(c.logPrior, 6),
      num(c.novelty, 6),
      c.accepted ? "1" : "0",
      o.method,
    ];
    if (o.judge) cells.push(num(c.judgeMean, 4), num(c.judgeStd, 4));
    if (o.gfa) cells.push(num(c.pGlass, 4));
    lines.push(cells.join(","));
  }
  return lines.join("\n") + "\n";
}
