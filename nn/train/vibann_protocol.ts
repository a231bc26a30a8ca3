/**
 * Training protocols for the VIBANN model: which rows train, early-stop and test each model, seeds, and the nested
 * hyperparameter search. All models of a phase train together on the replica axis: phase 1 = every search trial of
 * every (outer split × seed), phase 2 = the final model of every (outer split × seed).
 * - `holdout`: the reference's stratified train / calibration / test split (or a fixed split file); the calibration
 *   rows early-stop the model and calibrate the conformal intervals; test rows are only predicted.
 * - `cv`: K folds over all rows (plain seeded K-fold, or the folds of a split file); inside each fold's training rows
 *   a seeded 20 % subset early-stops (the reference early-stopped on the test fold itself, which leaks).
 * - search: trials draw latent size from {8, 16, 32, 64} and dropout from U[0.1, 0.5]; each trial trains on the outer
 *   training rows minus an inner 20 % validation subset and is scored on that subset; the best trial's
 *   hyperparameters train the final model. Test rows are never seen by any of it.
 * @module
 */
import { Rng } from "../random.ts";
import type { FixedSplits } from "../../data/split_file.ts";
import type { ReferenceSplit } from "../../data/reference_split.ts";
import { kFold } from "../../data/splits.ts";
import type { ReplicaPlan } from "./vibann_trainer.ts";

/** One outer split: rows that train, early-stop (and calibrate), and test. */
export interface OuterSplit {
  label: string;
  fit: number[];
  es: number[];
  test: number[];
}

/** Search space of the nested hyperparameter search. */
export const SEARCH_LATENT = [8, 16, 32, 64] as const;
/** Dropout range of the search. */
export const SEARCH_DROPOUT: readonly [number, number] = [0.1, 0.5];

/** Holdout outer split from the reference split or a fixed split file. */
export function holdoutSplit(s: ReferenceSplit | FixedSplits): OuterSplit {
  if ("holdout" in s) {
    // A split file's early_stopping_val lies inside its train rows: those rows early-stop, the rest fit.
    const es = new Set(s.holdout.earlyStoppingVal);
    return {
      label: "holdout",
      fit: s.holdout.train.filter((r) => !es.has(r)),
      es: [...s.holdout.earlyStoppingVal],
      test: [...s.holdout.test],
    };
  }
  return { label: "holdout", fit: [...s.train], es: [...s.calibration], test: [...s.test] };
}

/** Splits `rows` into (rest, a seeded `frac` subset). */
export function innerSplit(
  rows: readonly number[],
  frac: number,
  seed: number,
  stream: number,
): [number[], number[]] {
  const order = new Rng(seed, stream).shuffle([...rows]);
  const k = Math.max(1, Math.round(rows.length * frac));
  const held = order.slice(0, k).sort((a, b) => a - b);
  const rest = order.slice(k).sort((a, b) => a - b);
  return [rest, held];
}

/** CV outer splits: test = fold k; the other folds train, with a seeded 20 % early-stopping subset. */
export function cvSplits(
  nRows: number,
  k: number,
  seed: number,
  fixed: FixedSplits | null = null,
): OuterSplit[] {
  const folds = fixed ? fixed.kfold : kFold(nRows, k, seed);
  return folds.map((test, f) => {
    const inFold = new Set(test);
    const others = Array.from({ length: nRows }, (_, i) => i).filter((i) => !inFold.has(i));
    const [fit, es] = innerSplit(others, 0.2, seed, 0x5100 + f);
    return { label: `fold${f + 1}`, fit, es, test: [...test].sort((a, b) => a - b) };
  });
}

/** A search trial: which outer split and seed it belongs to, and its hyperparameters. */
export interface Trial extends ReplicaPlan {
  outer: number;
  seedIndex: number;
}

/** Phase-1 replicas: `trials` per (outer × seed), nested inside each outer split's training rows. */
export function searchPlans(
  outers: readonly OuterSplit[],
  seeds: number,
  trials: number,
  seed: number,
): Trial[] {
  const out: Trial[] = [];
  outers.forEach((o, oi) => {
    const [fit, val] = innerSplit(o.fit, 0.2, seed, 0x5200 + oi);
    for (let s = 0; s < seeds; s++) {
      const rng = new Rng(seed + s, 0x5300 + oi);
      const latents = rng.shuffle([...SEARCH_LATENT]);
      for (let t = 0; t < trials; t++) {
        const [lo, hi] = SEARCH_DROPOUT;
        out.push({
          label: `${o.label}/seed${s + 1}/trial${t + 1}`,
          train: fit,
          val,
          latentDim: latents[t % latents.length],
          dropout: lo + (hi - lo) * rng.uniform(),
          seed: seed + 1000 * s + t,
          outer: oi,
          seedIndex: s,
        });
      }
    }
  });
  return out;
}

/** Phase-2 replicas: one final model per (outer × seed), with the given hyperparameters per (outer, seed). */
export function finalPlans(
  outers: readonly OuterSplit[],
  seeds: number,
  seed: number,
  hp: (outer: number, seedIndex: number) => { latentDim: number; dropout: number },
): Trial[] {
  const out: Trial[] = [];
  outers.forEach((o, oi) => {
    for (let s = 0; s < seeds; s++) {
      out.push({
        label: outers.length > 1 || seeds > 1 ? `${o.label}/seed${s + 1}` : o.label,
        train: o.fit,
        val: o.es,
        ...hp(oi, s),
        seed: seed + 1000 * s,
        outer: oi,
        seedIndex: s,
      });
    }
  });
  return out;
}

/** The best trial (lowest validation loss) of each (outer, seed). */
export function bestTrials(
  trials: readonly Trial[],
  valLoss: readonly number[],
): Map<string, { latentDim: number; dropout: number; valLoss: number }> {
  const best = new Map<string, { latentDim: number; dropout: number; valLoss: number }>();
  trials.forEach((t, i) => {
    const key = `${t.outer}:${t.seedIndex}`;
    const cur = best.get(key);
    if (!cur || valLoss[i] < cur.valLoss) {
      best.set(key, { latentDim: t.latentDim, dropout: t.dropout, valLoss: valLoss[i] });
    }
  });
  return best;
}
