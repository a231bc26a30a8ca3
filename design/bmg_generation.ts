/**
 * Inverse design of bulk metallic glasses with the composition GAN (Zhou, Shang, Liu, Yang):
 *
 * 1. training data: the Zr-, La-, Fe- and Ti-based compositions with Tg, Tx and Tl (`bmgThermalSets`), split by
 *    composition into training and held-out keys (seeded); features = a descriptor set that contains D1 (d1, cd1,
 *    cd2, …), optionally followed by Tg, Tx, Tl (the property-augmented variant);
 * 2. generation: generator samples → compositions: the D1 part is clipped at 0 and renormalised, fractions below
 *    `minFraction` (default 0.5 at.%) are dropped and the rest renormalised; the descriptor part of CD1/CD2 is not
 *    used (descriptors are recomputed from the composition wherever needed); Tg, Tx, Tl are read from the
 *    property columns;
 * 3. screening: P(glass) from the boosted-trees GFA classifier (`nn/train/gfa_classifier.ts`), novelty as the
 *    Euclidean distance (atomic fractions) to the nearest training composition, and whether the composition is a
 *    training composition;
 * 4. property-targeted selection: rank by objectives on Tg, Tx, Tl and derived quantities (Trg = Tg/Tl, ΔTx = Tx −
 *    Tg, γ = Tx/(Tg + Tl)), e.g. `tl:max,trg:min`.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { Gan } from "../nn/models/gan.ts";
import { generateSamples, type MinMaxScaler } from "../nn/train/gan_trainer.ts";
import { Rng } from "../nn/random.ts";
import { UserError } from "../cli/errors.ts";
import { formatFormula, parseFormula } from "../data/formula.ts";
import { compositionKey, elementSystem, type ThermalComposition } from "../data/bmg_dataset.ts";
import { descriptorMatrix, descriptorParts, type DescriptorSet } from "../data/bmg_descriptors.ts";
import type { BmgGanConfig } from "./bmg_gan_dir.ts";

/** Default smallest kept fraction of a generated composition (0.5 at.%). */
export const DEFAULT_MIN_FRACTION = 0.005;

/**
 * Splits n compositions into training and held-out rows by a seeded shuffle (each composition is one row, so no
 * alloy is on both sides). Both lists are sorted.
 */
export function splitByComposition(
  n: number,
  heldOutFraction: number,
  seed: number,
): { train: number[]; heldOut: number[] } {
  if (!(heldOutFraction >= 0 && heldOutFraction < 1)) {
    throw new UserError(`--held-out: expected a fraction in [0, 1), got ${heldOutFraction}`);
  }
  const idx = new Rng(seed, 0x6b1d).shuffle(Array.from({ length: n }, (_, i) => i));
  const h = Math.round(n * heldOutFraction);
  return { heldOut: idx.slice(0, h).sort((a, b) => a - b), train: idx.slice(h).sort((a, b) => a - b) };
}

/**
 * The GAN's feature matrix of compositions over `elements`: the descriptor set's columns (engine-computed), then
 * Tg, Tx, Tl when `properties`.
 * @throws {UserError} when the set has no D1 part (compositions could not be read back from samples)
 */
export async function ganFeatureMatrix(
  set: DescriptorSet,
  comps: readonly ThermalComposition[],
  elements: readonly string[],
  properties: boolean,
  be?: Backend,
): Promise<{ data: Float64Array; rows: number; cols: number; names: string[] }> {
  if (!descriptorParts(set).d1) {
    throw new UserError(
      `--descriptors ${set}: the GAN needs a set with the element fractions (d1, cd1, cd2, all)`,
    );
  }
  const E = elements.length, idx = new Map(elements.map((e, i) => [e, i]));
  const fr = new Float64Array(comps.length * E);
  comps.forEach((c, r) => c.elements.forEach((e, k) => fr[r * E + idx.get(e)!] += c.fractions[k]));
  const d = await descriptorMatrix(set, fr, elements, { backend: be });
  if (!properties) return d;
  const cols = d.cols + 3, data = new Float64Array(d.rows * cols);
  comps.forEach((c, r) => {
    data.set(d.data.subarray(r * d.cols, (r + 1) * d.cols), r * cols);
    data[r * cols + d.cols] = c.tg;
    data[r * cols + d.cols + 1] = c.tx;
    data[r * cols + d.cols + 2] = c.tl;
  });
  return { data, rows: d.rows, cols, names: [...d.names, "Tg", "Tx", "Tl"] };
}

/** One generated composition. */
export interface GeneratedComposition {
  /** Sample index. */
  index: number;
  /** At.% formula (descending amounts, 0.1 at.%). */
  formula: string;
  /** Normalised key (alphabetical, 0.1 at.%), comparable with the datasets' keys. */
  key: string;
  /** Element system (`Cu-Zr`). */
  system: string;
  /** Fractions over the GAN's element list (sum 1). */
  fractions: Float64Array;
  /** Generated Tg, Tx, Tl (K) of the property-augmented variant. */
  tg?: number;
  tx?: number;
  tl?: number;
}

/**
 * Maps generator samples [m, features] (original units) back to compositions: D1 part clipped at 0, renormalised,
 * fractions < `minFraction` dropped, renormalised. A sample whose fractions all vanish gives the largest element
 * alone.
 */
export function decodeSamples(
  samples: ArrayLike<number>,
  m: number,
  config: Pick<BmgGanConfig, "elements" | "feature_names" | "properties">,
  minFraction = DEFAULT_MIN_FRACTION,
): GeneratedComposition[] {
  const E = config.elements.length, F = config.feature_names.length;
  if (samples.length !== m * F) throw new RangeError(`decodeSamples: ${samples.length} values for ${m}×${F}`);
  if (!(minFraction >= 0 && minFraction < 1)) {
    throw new UserError(`--min-fraction: expected [0, 1), got ${minFraction}`);
  }
  const out: GeneratedComposition[] = [];
  for (let r = 0; r < m; r++) {
    const x = new Float64Array(E);
    let s = 0, best = 0;
    for (let j = 0; j < E; j++) {
      x[j] = Math.max(0, samples[r * F + j]);
      s += x[j];
      if (samples[r * F + j] > samples[r * F + best]) best = j;
    }
    if (!(s > 0)) x[best] = 1, s = 1;
    let kept = 0;
    for (let j = 0; j < E; j++) {
      x[j] /= s;
      if (x[j] < minFraction) x[j] = 0;
      kept += x[j];
    }
    if (!(kept > 0)) x.fill(0), x[best] = 1, kept = 1;
    for (let j = 0; j < E; j++) x[j] /= kept;
    const els: string[] = [], fr: number[] = [];
    for (let j = 0; j < E; j++) if (x[j] > 0) els.push(config.elements[j]), fr.push(x[j]);
    const g: GeneratedComposition = {
      index: r,
      formula: formatFormula(els.map((e, i) => [e, fr[i]] as [string, number]), { precision: 1 }),
      key: compositionKey(els, fr),
      system: elementSystem(els),
      fractions: x,
    };
    if (config.properties) {
      g.tg = samples[r * F + F - 3];
      g.tx = samples[r * F + F - 2];
      g.tl = samples[r * F + F - 1];
    }
    out.push(g);
  }
  return out;
}

/** Fractions over `elements` of composition keys (formulas). @throws {UserError} for an element outside the list */
export function keysToFractions(keys: readonly string[], elements: readonly string[]): Float64Array {
  const E = elements.length, idx = new Map(elements.map((e, i) => [e, i]));
  const out = new Float64Array(keys.length * E);
  keys.forEach((k, r) => {
    const p = parseFormula(k, { elements });
    p.elements.forEach((e, i) => out[r * E + idx.get(e)!] += p.fractions[i]);
  });
  return out;
}

/** For each row of `a` [m, E], the Euclidean distance to the nearest row of `b` [n, E] and that row's index. */
export function nearestRows(
  a: ArrayLike<number>,
  m: number,
  b: ArrayLike<number>,
  n: number,
  E: number,
): { distance: Float64Array; index: Int32Array } {
  const distance = new Float64Array(m).fill(Infinity), index = new Int32Array(m).fill(-1);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < E; k++) {
        const t = a[i * E + k] - b[j * E + k];
        s += t * t;
        if (s >= distance[i] * distance[i]) break;
      }
      if (s < distance[i] * distance[i]) distance[i] = Math.sqrt(s), index[i] = j;
    }
  }
  return { distance, index };
}

/** A scored candidate. */
export interface ScoredComposition extends GeneratedComposition {
  /** P(glass) from the GFA classifier; null when it contains an element the classifier does not know. */
  glassProbability: number | null;
  /** Euclidean distance (atomic fractions) to the nearest training composition. */
  novelty: number;
  /** That training composition's key. */
  nearestTraining: string;
  /** Whether the composition is itself a training composition (same key). */
  inTraining: boolean;
}

/** What the classifier must offer (satisfied by `GfaClassifier` of nn/train/gfa_classifier.ts). */
export interface GlassClassifier {
  readonly elements: readonly string[];
  /** P(glass) of compositions given as fractions over {@link GlassClassifier.elements}. */
  predictFractions(fractions: ArrayLike<number>, options?: { backend?: Backend }): Promise<Float64Array>;
}

/**
 * P(glass) of compositions given as fractions over `elements` ([m, E] row-major), remapped to the classifier's
 * element order; null for a row that holds an element the classifier does not know (or no element at all).
 */
export async function glassProbabilities(
  classifier: GlassClassifier,
  fractions: ArrayLike<number>,
  m: number,
  elements: readonly string[],
  be?: Backend,
): Promise<(number | null)[]> {
  const E = elements.length, cIdx = new Map(classifier.elements.map((e, i) => [e, i]));
  const CE = classifier.elements.length;
  const ok = Array.from({ length: m }, (_, r) => {
    let any = false;
    for (let j = 0; j < E; j++) {
      if (fractions[r * E + j] > 0) {
        if (!cIdx.has(elements[j])) return false;
        any = true;
      }
    }
    return any;
  });
  const rows = ok.flatMap((v, r) => (v ? [r] : []));
  const fr = new Float64Array(rows.length * CE);
  rows.forEach((r, i) => {
    for (let j = 0; j < E; j++) {
      const v = fractions[r * E + j];
      if (v > 0) fr[i * CE + cIdx.get(elements[j])!] = v;
    }
  });
  const p = rows.length ? await classifier.predictFractions(fr, { backend: be }) : new Float64Array(0);
  let k = 0;
  return ok.map((v) => (v ? p[k++] : null));
}

/**
 * Scores generated compositions: P(glass) (when a classifier is given; compositions with elements it lacks get
 * null) and novelty against the training keys.
 */
export async function scoreCompositions(
  gen: readonly GeneratedComposition[],
  elements: readonly string[],
  trainKeys: readonly string[],
  classifier: GlassClassifier | null,
  be?: Backend,
): Promise<ScoredComposition[]> {
  const E = elements.length, m = gen.length;
  const trainFr = keysToFractions(trainKeys, elements);
  const genFr = new Float64Array(m * E);
  gen.forEach((g, r) => genFr.set(g.fractions, r * E));
  const near = nearestRows(genFr, m, trainFr, trainKeys.length, E);
  const trainSet = new Set(trainKeys);
  const prob = classifier
    ? await glassProbabilities(classifier, genFr, m, elements, be)
    : gen.map(() => null);
  return gen.map((g, r) => ({
    ...g,
    glassProbability: prob[r],
    novelty: near.distance[r],
    nearestTraining: trainKeys[near.index[r]] ?? "",
    inTraining: trainSet.has(g.key),
  }));
}

/** Quantities a target can name. */
export const TARGET_PROPERTIES = ["tg", "tx", "tl", "trg", "dtx", "gamma"] as const;
/** One of {@link TARGET_PROPERTIES}: Tg, Tx, Tl (K), Trg = Tg/Tl, ΔTx = Tx − Tg (K), γ = Tx/(Tg + Tl). */
export type TargetProperty = typeof TARGET_PROPERTIES[number];
/** An objective of the targeted selection. */
export interface Target {
  property: TargetProperty;
  goal: "max" | "min";
}

/** Parses `tl:max,trg:min`. @throws {UserError} naming `flag` */
export function parseTargets(text: string, flag = "--target"): Target[] {
  const parts = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (!parts.length) throw new UserError(`${flag}: empty target list (e.g. tl:max,trg:min)`);
  return parts.map((p) => {
    const [prop, goal] = p.split(":").map((s) => s.trim().toLowerCase());
    if (!(TARGET_PROPERTIES as readonly string[]).includes(prop)) {
      throw new UserError(
        `${flag}: unknown property '${prop}' in '${p}' (use ${TARGET_PROPERTIES.join(", ")})`,
      );
    }
    if (goal !== "max" && goal !== "min") throw new UserError(`${flag}: '${p}' needs :max or :min`);
    return { property: prop as TargetProperty, goal };
  });
}

/** The value of a target property of a composition with generated Tg, Tx, Tl (undefined without them). */
export function targetValue(
  c: Pick<GeneratedComposition, "tg" | "tx" | "tl">,
  p: TargetProperty,
): number | undefined {
  const { tg, tx, tl } = c;
  if (tg === undefined || tx === undefined || tl === undefined) return undefined;
  switch (p) {
    case "tg":
      return tg;
    case "tx":
      return tx;
    case "tl":
      return tl;
    case "trg":
      return tg / tl;
    case "dtx":
      return tx - tg;
    case "gamma":
      return tx / (tg + tl);
  }
}

/** Options of {@link selectTargeted}. */
export interface SelectionOptions {
  /** How many to return (default 10). */
  top?: number;
  /** Smallest P(glass) to be eligible (default 0.5; candidates without a probability are kept only when 0). */
  minGlassProbability?: number;
  /** Leave out training compositions (default true). */
  novelOnly?: boolean;
}

/** A selected candidate with its target score. */
export interface SelectedComposition extends ScoredComposition {
  /** Σ over targets of ±z-score (z over the eligible candidates; + for max, − for min). */
  score: number;
  rank: number;
}

/**
 * Property-targeted selection: among unique, thermally consistent (Tg < Tx < Tl), eligible candidates, rank by the
 * sum of signed z-scores of the target properties and return the best `top`.
 * @throws {UserError} when the candidates carry no Tg, Tx, Tl (a GAN trained without `--properties`)
 */
export function selectTargeted(
  cands: readonly ScoredComposition[],
  targets: readonly Target[],
  o: SelectionOptions = {},
): SelectedComposition[] {
  if (cands.length && cands[0].tg === undefined) {
    throw new UserError("--target needs a GAN trained with --properties (generated Tg, Tx, Tl)");
  }
  const minP = o.minGlassProbability ?? 0.5, novelOnly = o.novelOnly ?? true;
  const seen = new Set<string>();
  const pool = cands.filter((c) => {
    if (seen.has(c.key)) return false;
    seen.add(c.key);
    if (novelOnly && c.inTraining) return false;
    if (minP > 0 && !(c.glassProbability !== null && c.glassProbability >= minP)) return false;
    return c.tg! < c.tx! && c.tx! < c.tl!;
  });
  const score = new Float64Array(pool.length);
  for (const t of targets) {
    const v = pool.map((c) => targetValue(c, t.property)!);
    const mu = v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mu) ** 2, 0) / Math.max(1, v.length)) || 1;
    v.forEach((x, i) => score[i] += (t.goal === "max" ? 1 : -1) * (x - mu) / sd);
  }
  return pool
    .map((c, i) => ({ ...c, score: score[i], rank: 0 }))
    .sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, o.top ?? 10)
    .map((c, i) => ({ ...c, rank: i + 1 }));
}

/** Generates `m` samples from a loaded GAN and decodes them (seeded). */
export async function generateCompositions(
  gan: Gan,
  config: Pick<BmgGanConfig, "elements" | "feature_names" | "properties" | "scaler">,
  m: number,
  seed: number,
  minFraction = DEFAULT_MIN_FRACTION,
): Promise<GeneratedComposition[]> {
  const s = await generateSamples(gan, config.scaler as MinMaxScaler, m, seed);
  return decodeSamples(s, m, config, minFraction);
}

/** Collapse indicators on decoded compositions: distinct element systems and unique compositions. */
export function compositionIndicators(
  gen: readonly GeneratedComposition[],
  trainSystems: ReadonlySet<string>,
): { distinctSystems: number; knownSystemShare: number; uniqueShare: number } {
  const systems = new Set(gen.map((g) => g.system));
  const keys = new Set(gen.map((g) => g.key));
  const known = gen.filter((g) => trainSystems.has(g.system)).length;
  return {
    distinctSystems: systems.size,
    knownSystemShare: gen.length ? known / gen.length : 0,
    uniqueShare: gen.length ? keys.size / gen.length : 0,
  };
}
