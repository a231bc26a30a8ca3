/**
 * The GFA filter of `alloy design --gfa-model DIR --gfa-min P` (design/gfa_filter.ts, design/candidates.ts): a
 * classifier trained here on a known rule (glass ⇔ at least 35 at.% B) scores rows given over another element
 * order exactly as scoring them over its own; rows below the threshold are dropped; a design run keeps only
 * candidates at or above the threshold, each with the P(glass) an independent prediction gives, and writes it in
 * the `p_glass` column; a threshold nothing reaches, an unknown element or a stray `--gfa-min` are user errors.
 */
import { assert, assertClose, assertEquals, cpu } from "../_helpers.ts";
import { assertRejectsUserError, assertUserError } from "../data/_helpers.ts";
import { ELEMENTS, withDesignFixture } from "./_design_fixture.ts";
import {
  applyGfaFilter,
  checkGfaElements,
  checkGfaMin,
  loadGfaFilter,
  toClassifierFractions,
} from "../../design/gfa_filter.ts";
import { runDesign } from "../../design/design_run.ts";
import { candidateColumns, candidatesCsv } from "../../design/candidates.ts";
import { asMatrix, fitGfa, loadGfaModel, saveGfaModel } from "../../nn/train/gfa_classifier.ts";
import { descriptorMatrix } from "../../data/bmg_descriptors.ts";
import { join } from "../../data/paths.ts";
import { Rng } from "../../nn/random.ts";

const be = cpu;
/** The classifier's own element order (reversed from the design model's, so the re-indexing is exercised). */
const GFA_ELEMENTS = [...ELEMENTS].reverse();
const B = GFA_ELEMENTS.indexOf("B");

/** The rule the classifier learns: glass ⇔ B ≥ this fraction (splits the fixture's designs, B 26–46 at.%). */
const B_MIN = 0.35;

/** Writes a classifier trained on "glass ⇔ B ≥ B_MIN" over random compositions of GFA_ELEMENTS. */
async function trainRuleClassifier(dir: string) {
  const rng = new Rng(8, 1), n = 400, E = GFA_ELEMENTS.length;
  const fr = new Float64Array(n * E);
  for (let i = 0; i < n; i++) {
    const present = rng.shuffle(Array.from({ length: E }, (_, j) => j)).slice(0, 2 + rng.int(3));
    for (const j of present) fr[i * E + j] = 0.05 + rng.uniform();
    const s = present.reduce((a, j) => a + fr[i * E + j], 0);
    for (const j of present) fr[i * E + j] /= s;
  }
  const y = Float64Array.from({ length: n }, (_, i) => (fr[i * E + B] >= B_MIN ? 1 : 0));
  const d = await descriptorMatrix("cd2", fr, GFA_ELEMENTS, { compute: "host" });
  const { model } = fitGfa(asMatrix(d), y, { boost: { nEstimators: 40, maxDepth: 3 }, seed: 2 });
  await saveGfaModel(dir, model, { descriptors: "cd2", elements: GFA_ELEMENTS });
}

Deno.test("GFA filter: re-indexing, threshold, element and flag checks", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "alloy_gfa_filter_test_" });
  try {
    const dir = join(tmp, "gfa");
    await trainRuleClassifier(dir);
    const f = await loadGfaFilter(dir, 0.5);
    // rows over the design order (Fe, Ni, Co, Cr, B, Si): B-rich and B-free
    const rows = Float64Array.from([
      [0.5, 0.05, 0, 0, 0.45, 0], // B 45 % → glass
      [0.5, 0.5, 0, 0, 0, 0], // no B → crystal
      [0.3, 0, 0.2, 0, 0.4, 0.1], // B 40 % → glass
      [0, 0.3, 0.3, 0.2, 0.2, 0], // B 20 % → crystal
    ].flat());
    const mapped = toClassifierFractions(f.classifier, rows, ELEMENTS);
    assertEquals(Array.from(mapped.subarray(0, 6)), [0, 0.45, 0, 0, 0.05, 0.5]);
    const r = await applyGfaFilter(f, rows, ELEMENTS, be);
    const own = await f.classifier.predictFractions(mapped, { compute: "host" });
    assertClose(r.p, own, { atol: 1e-3 }); // engine (float32) vs host descriptors
    assertEquals(r.keep, [0, 2], `p = ${Array.from(r.p)}`);
    assertEquals(r.keep, Array.from(r.p.keys()).filter((i) => r.p[i] >= 0.5));
    const strict = await applyGfaFilter({ ...f, min: 1 }, rows, ELEMENTS, be);
    assertEquals(strict.keep.length, 0);
    assertEquals((await applyGfaFilter(f, new Float64Array(0), ELEMENTS, be)).keep, []);

    assertUserError(() => checkGfaElements(f, ["Fe", "Zr", "B"]), "--gfa-model", "Zr");
    checkGfaElements(f, ["Fe", "Zr", "B"], [true, false, true]); // Zr excluded by the constraints: fine
    assertUserError(() => toClassifierFractions(f.classifier, [0.5, 0.5], ["Fe", "Zr"]), "Zr");
    assertUserError(() => checkGfaMin(1.5), "--gfa-min");
    await assertRejectsUserError(() => loadGfaFilter(tmp), "--gfa-model", "config.json");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("design run with --gfa-model: only candidates with P(glass) ≥ min, p_glass in the CSV", async () => {
  await withDesignFixture(be, async (fx) => {
    const dir = join(fx.tmp, "gfa");
    await trainRuleClassifier(dir);
    const base = {
      modelDir: fx.model,
      dataPath: fx.csv,
      backend: be,
      load: 1,
      goal: { kind: "maximize" as const },
      method: "mcmc" as const,
      chains: 6,
      steps: 40,
      mc: 4,
      evalMc: 8,
      calibrationMc: 8,
      n: 5,
      kMax: 2,
      seed: 3,
    };
    const plain = await runDesign(base);
    const min = 0.5;
    const r = await runDesign({ ...base, gfaModelDir: dir, gfaMin: min });
    const c = r.evaluation.counts;
    assertEquals(c.unique, plain.evaluation.counts.unique, "the filter acts after the same search");
    assert(c.gfa !== undefined && c.gfa.scored === c.unique && c.gfa.kept <= c.unique, JSON.stringify(c));
    assert(c.evaluated <= c.gfa!.kept, JSON.stringify(c));
    assert(
      c.gfa!.kept > 0 && c.gfa!.kept < c.unique,
      `the filter drops some rows, not all: ${JSON.stringify(c)}`,
    );
    assertEquals(r.params.gfa, { model: dir, min });
    const cands = r.evaluation.candidates;
    assert(cands.length >= 1, "some candidates are glass-forming");
    // independent check: the classifier itself, over its own element order, on host descriptors
    const clf = await loadGfaModel(dir);
    const E = ELEMENTS.length;
    const rows = new Float64Array(cands.length * E);
    cands.forEach((k, i) => rows.set(k.comp, i * E));
    const want = await clf.predictFractions(toClassifierFractions(clf, rows, ELEMENTS), { compute: "host" });
    assertClose(cands.map((k) => k.pGlass!), want, { atol: 1e-3 });
    for (const k of cands) assert(k.pGlass! >= min, `${k.formula}: P(glass) ${k.pGlass}`);
    // the rows the plain run exported that the classifier rejects are gone
    const plainP = await clf.predictFractions(
      toClassifierFractions(
        clf,
        Float64Array.from(plain.evaluation.candidates.flatMap((k) => [...k.comp])),
        ELEMENTS,
      ),
      { compute: "host" },
    );
    const rejected = plain.evaluation.candidates.filter((_, i) => plainP[i] < min - 1e-3).map((k) =>
      k.formula
    );
    for (const k of cands) assert(!rejected.includes(k.formula), `${k.formula} was rejected`);

    const csv = candidatesCsv(cands, {
      constraints: r.constraints,
      load: 1,
      method: "mcmc",
      judge: false,
      gfa: true,
    });
    const lines = csv.trimEnd().split("\n");
    const header = lines[0].split(",");
    assertEquals(header, candidateColumns(ELEMENTS, false, true));
    assertEquals(header[header.length - 1], "p_glass");
    lines.slice(1).forEach((l, i) => assertEquals(l.split(",").at(-1), cands[i].pGlass!.toFixed(4)));
    // without the filter the column is absent
    assertEquals(candidateColumns(ELEMENTS, false).includes("p_glass"), false);

    await assertRejectsUserError(
      () => runDesign({ ...base, gfaModelDir: dir, gfaMin: 1 }),
      "--gfa-min 1",
      "P(glass)",
    );
    await assertRejectsUserError(() => runDesign({ ...base, gfaMin: 0.5 }), "--gfa-min", "--gfa-model");
  });
});
