/**
 * The GFA classifier (nn/train/gfa_classifier.ts): grouped folds never split an element system and partition the
 * rows; random folds partition; ROC AUC and the confusion counts against hand-counted cases; cross-validation on a
 * rule the descriptors can express beats the majority rate; the saved model directory predicts exactly what the
 * fitted trees predict and refuses altered weights.
 */
import { assert, assertEquals } from "../_helpers.ts";
import { assertNear, assertRejectsUserError, assertUserError } from "../data/_helpers.ts";
import {
  asMatrix,
  classMetrics,
  crossValidateGfa,
  fitGfa,
  GFA_MODEL_FORMAT,
  groupedFolds,
  loadGfaModel,
  randomFolds,
  readGfaModelConfig,
  rocAuc,
  saveGfaModel,
} from "../../nn/train/gfa_classifier.ts";
import { elementSystem } from "../../data/bmg_dataset.ts";
import { descriptorMatrix } from "../../data/bmg_descriptors.ts";
import { join } from "../../data/paths.ts";
import { Rng } from "../../nn/random.ts";

Deno.test("grouped folds: no element system in two folds, every row once, balanced sizes", () => {
  const rng = new Rng(2, 0);
  const systems = [
    "Cu-Zr",
    "Al-Cu-Zr",
    "Fe-B",
    "B-Fe-Si",
    "La-Al",
    "Pd-Ni-P",
    "Mg-Cu-Y",
    "Ti-Zr",
    "Ni-Nb",
    "Ce-Al",
  ];
  const groups = Array.from({ length: 300 }, () => systems[Math.floor(rng.uniform() ** 2 * systems.length)]);
  const folds = groupedFolds(groups, 5, 3);
  assertEquals(folds.length, 5);
  const all = folds.flat().sort((a, b) => a - b);
  assertEquals(all, Array.from({ length: 300 }, (_, i) => i));
  const foldOfSystem = new Map<string, number>();
  folds.forEach((f, k) =>
    f.forEach((r) => {
      const prev = foldOfSystem.get(groups[r]);
      assert(prev === undefined || prev === k, `${groups[r]} is in folds ${prev} and ${k}`);
      foldOfSystem.set(groups[r], k);
    })
  );
  assertEquals(groupedFolds(groups, 5, 3), folds, "same seed, same folds");
  assertUserError(() => groupedFolds(["a", "a", "b"], 3), "3 grouped folds", "found 2");
  assertUserError(() => groupedFolds(groups, 1), "--folds");
  // the element-system key ignores order and amounts
  assertEquals(elementSystem(["Zr", "Cu", "Al"]), "Al-Cu-Zr");
});

Deno.test("random folds partition the rows with sizes differing by at most one", () => {
  const folds = randomFolds(23, 4, 1);
  assertEquals(folds.flat().sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
  const sizes = folds.map((f) => f.length);
  assert(Math.max(...sizes) - Math.min(...sizes) <= 1, `${sizes}`);
});

Deno.test("ROC AUC and confusion counts against hand-counted cases", () => {
  // positives 0.35, 0.8; negatives 0.1, 0.4: pairs (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) → 3/4
  assertEquals(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  // a tie between a positive and a negative counts one half: (0.5=0.5) ½, (0.9>0.5) 1 → 1.5/2
  assertEquals(rocAuc([0.5, 0.5, 0.9], [0, 1, 1]), 0.75);
  assert(Number.isNaN(rocAuc([0.2, 0.3], [1, 1])));
  const m = classMetrics([0.9, 0.6, 0.4, 0.2, 0.7], [1, 0, 1, 0, 1]);
  assertEquals(m.confusion, { tp: 2, fp: 1, tn: 1, fn: 1 });
  assertEquals(m.accuracy, 3 / 5);
  assertEquals(m.majority_rate, 3 / 5);
  assertNear(m.auc!, 5 / 6, 1e-12); // positives .9 .4 .7 vs negatives .6 .2: 2 + 1 + 2 = 5 of 6 pairs
  assertEquals(classMetrics([0.9, 0.8], [1, 1]).auc, null);
});

/** Compositions over Cu–Zr–Al–Ni–Ti: glass when the mixing enthalpy is strongly negative and ≥ 3 elements. */
async function toyData(n: number, seed: number) {
  const els = ["Cu", "Zr", "Al", "Ni", "Ti"];
  const rng = new Rng(seed, 5);
  const fr = new Float64Array(n * 5), systems: string[] = [];
  for (let i = 0; i < n; i++) {
    const present = rng.shuffle([0, 1, 2, 3, 4]).slice(0, 2 + rng.int(3));
    for (const j of present) fr[i * 5 + j] = 0.1 + rng.uniform();
    systems.push(elementSystem(present.map((j) => els[j])));
  }
  const d = await descriptorMatrix("cd2", fr, els, { compute: "host" });
  const dh = d.names.indexOf("dh_mix"), delta = d.names.indexOf("delta");
  const y = Float64Array.from(
    { length: n },
    (_, i) => (d.data[i * d.cols + dh] < -25 && d.data[i * d.cols + delta] > 6 ? 1 : 0),
  );
  return { els, fr, d, y, systems };
}

Deno.test("cross-validation of boosted trees learns a descriptor rule (grouped and random folds)", async () => {
  const { d, y, systems } = await toyData(240, 1);
  const x = asMatrix(d);
  const boost = { nEstimators: 40, maxDepth: 3 };
  const g = crossValidateGfa(x, y, groupedFolds(systems, 5, 0), { boost });
  const r = crossValidateGfa(x, y, randomFolds(240, 5, 0), { boost });
  for (const cv of [g, r]) {
    assert(cv.accuracy > cv.majority_rate + 0.05, `accuracy ${cv.accuracy} vs majority ${cv.majority_rate}`);
    assert(cv.auc! > 0.9, `auc ${cv.auc}`);
    assertEquals(cv.folds.length, 5);
    assertEquals(cv.folds.reduce((s, f) => s + f.n_test, 0), 240);
    assertEquals(cv.confusion.tp + cv.confusion.fp + cv.confusion.tn + cv.confusion.fn, 240);
  }
  // pooled metrics are the metrics of the out-of-fold probabilities
  assertEquals(g.accuracy, classMetrics(g.oof, y).accuracy);
});

Deno.test("saved model directory: same predictions as the fitted trees, formulas in, checks on load", async () => {
  const { els, fr, d, y } = await toyData(120, 2);
  const { model } = fitGfa(asMatrix(d), y, { boost: { nEstimators: 20, maxDepth: 3 }, seed: 4 });
  const tmp = await Deno.makeTempDir({ prefix: "alloy_gfa_test_" });
  try {
    const dir = join(tmp, "gfa");
    await saveGfaModel(dir, model, { descriptors: "cd2", elements: els, data: { n: 120 } });
    const cfg = await readGfaModelConfig(dir);
    assertEquals(cfg.format, GFA_MODEL_FORMAT);
    assertEquals(cfg.feature_names.length, 5 + 13);
    const loaded = await loadGfaModel(dir);
    const direct = model.predictProba(asMatrix(d));
    const viaDir = await loaded.predictFractions(fr, { compute: "host" });
    assertEquals(Array.from(viaDir), Array.from(direct));
    // a formula gives the same probability as its fraction row
    const p = await loaded.predictFormulas(["Cu50Zr40Al10", "Cu0.5Zr0.4Al0.1"], { compute: "host" });
    const row = await loaded.predictFractions([0.5, 0.4, 0.1, 0, 0], { compute: "host" });
    assertEquals(p[0], row[0]);
    assertEquals(p[1], row[0]);
    assertUserError(() => loaded.formulasToFractions(["Fe80B20"]), "Fe");
    // altered weights are refused
    const w = join(dir, "weights.safetensors");
    const bytes = await Deno.readFile(w);
    bytes[bytes.length - 3] ^= 1;
    await Deno.writeFile(w, bytes);
    await assertRejectsUserError(() => loadGfaModel(dir), "SHA-256");
    await assertRejectsUserError(() => loadGfaModel(tmp), "config.json");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("prior correction after SMOTE: log-odds shifted by exactly log(n₁/n₀) − log(n₁'/n₀')", async () => {
  const { d, y } = await toyData(150, 3);
  const x = asMatrix(d);
  const n1 = y.reduce((a, b) => a + b, 0), n0 = y.length - n1;
  const boost = { nEstimators: 10, maxDepth: 3 };
  const raw = fitGfa(x, y, { boost, seed: 1, priorCorrection: false });
  const cor = fitGfa(x, y, { boost, seed: 1 });
  assert(raw.synthetic > 0 && raw.synthetic === Math.abs(n1 - n0), `${raw.synthetic} vs ${n1} / ${n0}`);
  // balanced after SMOTE: the shift is the log-odds of the original labels
  assertNear(cor.priorShift, Math.log(n1 / n0), 1e-12);
  const a = raw.model.predictRaw(x), b = cor.model.predictRaw(x);
  for (let i = 0; i < a.length; i++) assertNear(b[i] - a[i], Math.log(n1 / n0), 1e-9);
  assertEquals(fitGfa(x, y, { boost, smote: false }).priorShift, 0);
});
