/**
 * The evaluation protocol of the HEA disentangled VAE (issue: "Protocol"):
 *
 * - members: the paper's split (`hea_split_membership.csv`) trained with several seeds, or seeded random re-splits
 *   with the same proportions (one model seed per re-split); optionally with a labelled subsample (247 rows in the
 *   data-efficiency table), the labelled rows left out then joining the unlabelled pool of the semi-supervised
 *   model; the supervised-only network uses no unlabelled rows at all;
 * - evaluation: accuracy at 0.5 and ROC-AUC on train (the labelled rows used), validation and test, per member and
 *   as mean ± std over members, with percentile-bootstrap intervals of the member mean (every member's rows are
 *   resampled in each round), the test ROC curve of each member, and — when every member shares one test set — the
 *   ensemble (mean probability) on it.
 * @module
 */
import { type HeaSplit, randomHeaSplit, subsampleLabelled } from "../../data/hea_splits.ts";
import type { StandardScaler } from "../../data/scaler.ts";
import type { HeaDvae } from "../models/hea_dvae.ts";
import { Rng } from "../random.ts";
import { quantileSorted } from "../metrics/quantile.ts";
import { accuracy, meanStd, rocAuc, type RocCurve, rocCurve } from "./hea_metrics.ts";
import { type HeaArrays, type HeaReplicaPlan, predictSinglePhase } from "./hea_trainer.ts";
import { UserError } from "../../cli/errors.ts";

/** Where the members' splits come from. */
export type HeaSplitMode = "paper" | "random";

/** Options of {@link heaMembers}. */
export interface HeaMemberOptions {
  /** The paper's split (seeds vary) or random re-splits (one per seed). */
  splits: HeaSplitMode;
  /** Number of members (seeds, or re-splits). */
  seeds: number;
  /** First seed (members use seed, seed + 1, …). */
  seed?: number;
  /** Labelled subsample size (null: every labelled row). */
  labelled?: number | null;
  /** Train with the unlabelled rows (semi-supervised, default) or without (supervised-only network). */
  semiSupervised?: boolean;
}

/** One trained model of a protocol: its rows and seed. */
export interface HeaMember {
  label: string;
  seed: number;
  /** Index of the re-split (0 for the paper's split). */
  splitIndex: number;
  /** Labelled rows used for training (the "train" part of the metrics). */
  labelled: number[];
  /** Unlabelled rows (empty for the supervised-only network). */
  unlabelled: number[];
  validation: number[];
  test: number[];
}

/**
 * The members of a protocol.
 * @param n number of alloys
 * @param paper the paper's split (required with `splits: "paper"`)
 * @throws {UserError} on a bad seed count, a missing paper split or a labelled size larger than the labelled part
 */
export function heaMembers(n: number, paper: HeaSplit | null, o: HeaMemberOptions): HeaMember[] {
  if (!(Number.isInteger(o.seeds) && o.seeds >= 1)) {
    throw new UserError(`--seeds: expected ≥ 1, got ${o.seeds}`);
  }
  if (o.splits === "paper" && !paper) {
    throw new UserError("the paper's split is not available (no membership file)");
  }
  const seed0 = o.seed ?? 0, semi = o.semiSupervised ?? true;
  return Array.from({ length: o.seeds }, (_, i) => {
    const seed = seed0 + i;
    const split = o.splits === "paper" ? paper! : randomHeaSplit(n, seed);
    let labelled = [...split.labelled], unlabelled = [...split.unlabelled];
    if (o.labelled != null && o.labelled !== split.labelled.length) {
      labelled = subsampleLabelled(split, o.labelled, seed);
      const keep = new Set(labelled);
      unlabelled = [...unlabelled, ...split.labelled.filter((r) => !keep.has(r))];
    }
    const tag = `${o.splits === "paper" ? "paper" : `split${i}`}/seed${seed}` +
      (o.labelled != null ? `/n${labelled.length}` : "") + (semi ? "" : "/sup");
    return {
      label: tag,
      seed,
      splitIndex: o.splits === "paper" ? 0 : i,
      labelled,
      unlabelled: semi ? unlabelled : [],
      validation: [...split.validation],
      test: [...split.test],
    };
  });
}

/** The trainer's replica plans of `members`. */
export function membersToPlans(members: readonly HeaMember[]): HeaReplicaPlan[] {
  return members.map((m) => ({
    label: m.label,
    labelled: m.labelled,
    unlabelled: m.unlabelled,
    validation: m.validation,
    seed: m.seed,
  }));
}

/** The evaluated parts. */
export const HEA_PARTS = ["train", "validation", "test"] as const;
/** One evaluated part. */
export type HeaPart = typeof HEA_PARTS[number];

/** Accuracy and AUC of one member on one part (with bootstrap intervals on request). */
export interface PartMetrics {
  accuracy: number;
  auc: number;
  accuracy_ci?: [number, number];
  auc_ci?: [number, number];
}

/** Mean over members of one part, with the std over members and the bootstrap interval of the mean. */
export interface PartSummary {
  accuracy: number;
  auc: number;
  accuracy_std: number;
  auc_std: number;
  accuracy_ci: [number, number];
  auc_ci: [number, number];
  n_rows: number;
}

/** One member's evaluation. */
export interface MemberEvaluation {
  label: string;
  seed: number;
  parts: Record<HeaPart, PartMetrics>;
  /** q(φ = 1|x) of the member's test rows, in the order of `member.test`. */
  testScores: Float64Array;
  roc: RocCurve;
}

/** A protocol's evaluation. */
export interface HeaEvaluation {
  summary: Record<HeaPart, PartSummary>;
  members: MemberEvaluation[];
  /** Mean-probability ensemble on the shared test set (null when the members' test sets differ). */
  ensemble: { accuracy: number; auc: number; accuracy_ci: [number, number]; auc_ci: [number, number] } | null;
}

/** Options of {@link evaluateHeaMembers}. */
export interface HeaEvaluationOptions {
  /** Bootstrap resamples (1000). */
  resamples?: number;
  /** Confidence level (0.95). */
  level?: number;
  /** Seed of the resampling (1). */
  seed?: number;
}

function partRows(m: HeaMember, p: HeaPart): number[] {
  return p === "train" ? m.labelled : p === "validation" ? m.validation : m.test;
}

/**
 * Percentile-bootstrap interval of the member mean of accuracy and AUC: each round resamples every member's rows
 * (with replacement, one seeded stream) and averages the members' metrics. Rounds whose resample holds one class
 * only skip that member's AUC.
 */
export function bootstrapMemberMean(
  sets: readonly { y: ArrayLike<number>; p: ArrayLike<number> }[],
  { resamples = 1000, level = 0.95, seed = 1 }: HeaEvaluationOptions = {},
): { accuracy: [number, number]; auc: [number, number] } {
  if (!sets.length) throw new RangeError("bootstrapMemberMean: no members");
  if (!(Number.isInteger(resamples) && resamples >= 1)) {
    throw new RangeError(`bootstrap: resamples ${resamples}`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level ${level} is not in (0, 1)`);
  const rng = new Rng(seed, 0xb007);
  const accs = new Float64Array(resamples), aucs: number[] = [];
  for (let b = 0; b < resamples; b++) {
    let sa = 0, su = 0, nu = 0;
    for (const { y, p } of sets) {
      const n = y.length, yb = new Float64Array(n), pb = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        const i = rng.int(n);
        yb[k] = y[i];
        pb[k] = p[i];
      }
      sa += accuracy(yb, pb);
      const a = rocAuc(yb, pb);
      if (Number.isFinite(a)) su += a, nu++;
    }
    accs[b] = sa / sets.length;
    if (nu) aucs.push(su / nu);
  }
  const tail = (1 - level) / 2;
  const ci = (v: Float64Array): [number, number] =>
    v.length ? [quantileSorted(v, tail), quantileSorted(v, 1 - tail)] : [NaN, NaN];
  return { accuracy: ci(accs.sort()), auc: ci(Float64Array.from(aucs).sort()) };
}

/**
 * Evaluates every member (member r of `members` is replica r of `model`): one forward pass over all rows.
 * @param data the arrays the model was trained on
 */
export async function evaluateHeaMembers(
  model: HeaDvae,
  scalers: readonly StandardScaler[],
  data: HeaArrays,
  members: readonly HeaMember[],
  o: HeaEvaluationOptions = {},
): Promise<HeaEvaluation> {
  if (members.length !== model.replicas) {
    throw new RangeError(`evaluateHeaMembers: ${members.length} members for ${model.replicas} replicas`);
  }
  const probs = await predictSinglePhase(model, scalers, data);
  return evaluateScores(probs, data.label, members, o);
}

/** The evaluation of given scores (member r's q(φ=1|x) of every row in `probs[r]`). */
export function evaluateScores(
  probs: readonly ArrayLike<number>[],
  label: ArrayLike<number>,
  members: readonly HeaMember[],
  o: HeaEvaluationOptions = {},
): HeaEvaluation {
  const pick = (r: number, rows: readonly number[]) => ({
    y: rows.map((i) => label[i]),
    p: rows.map((i) => probs[r][i]),
  });
  const evals: MemberEvaluation[] = members.map((m, r) => {
    const parts = {} as Record<HeaPart, PartMetrics>;
    for (const part of HEA_PARTS) {
      const { y, p } = pick(r, partRows(m, part));
      parts[part] = { accuracy: accuracy(y, p), auc: rocAuc(y, p) };
      if (part === "test") {
        const b = bootstrapMemberMean([{ y, p }], { ...o, seed: (o.seed ?? 1) + r });
        parts[part].accuracy_ci = b.accuracy;
        parts[part].auc_ci = b.auc;
      }
    }
    const t = pick(r, m.test);
    return {
      label: m.label,
      seed: m.seed,
      parts,
      testScores: Float64Array.from(t.p),
      roc: rocCurve(t.y, t.p),
    };
  });
  const summary = {} as Record<HeaPart, PartSummary>;
  for (const part of HEA_PARTS) {
    const acc = meanStd(evals.map((e) => e.parts[part].accuracy));
    const auc = meanStd(evals.map((e) => e.parts[part].auc).filter(Number.isFinite));
    const b = bootstrapMemberMean(members.map((m, r) => pick(r, partRows(m, part))), o);
    summary[part] = {
      accuracy: acc.mean,
      auc: auc.mean,
      accuracy_std: acc.std,
      auc_std: auc.std,
      accuracy_ci: b.accuracy,
      auc_ci: b.auc,
      n_rows: partRows(members[0], part).length,
    };
  }
  const t0 = members[0].test.join(",");
  let ensemble: HeaEvaluation["ensemble"] = null;
  if (members.length > 1 && members.every((m) => m.test.join(",") === t0)) {
    const rows = members[0].test;
    const y = rows.map((i) => label[i]);
    const p = rows.map((i) => probs.reduce((s, pr) => s + pr[i], 0) / probs.length);
    const b = bootstrapMemberMean([{ y, p }], o);
    ensemble = { accuracy: accuracy(y, p), auc: rocAuc(y, p), accuracy_ci: b.accuracy, auc_ci: b.auc };
  }
  return { summary, members: evals, ensemble };
}
