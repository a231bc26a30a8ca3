/**
 * The BMG GAN's design layer: decoding samples to compositions (on the simplex), scoring with a stand-in classifier,
 * novelty, property-targeted selection, the GAN directory round trip, the KDE and the Sinkhorn comparison.
 */
import { assert, assertClose, assertEquals, cpu } from "../_helpers.ts";
import { assertRejectsUserError, assertUserError } from "../data/_helpers.ts";
import { Rng } from "../../nn/random.ts";
import { Gan } from "../../nn/models/gan.ts";
import { fitMinMax } from "../../nn/train/gan_trainer.ts";
import {
  decodeSamples,
  generateCompositions,
  type GeneratedComposition,
  type GlassClassifier,
  keysToFractions,
  nearestRows,
  parseTargets,
  scoreCompositions,
  type ScoredComposition,
  selectTargeted,
  splitByComposition,
  targetValue,
} from "../../design/bmg_generation.ts";
import {
  evaluateGenerated,
  kdeGrid,
  pcaDensityMaps,
  sinkhornComparison,
} from "../../design/bmg_evaluation.ts";
import { ganFeatureNames, loadBmgGan, readBmgGanConfig, saveBmgGan } from "../../design/bmg_gan_dir.ts";
import { join } from "../../data/paths.ts";

const ELEMENTS = ["Al", "Cu", "Ni", "Zr"];
const CFG = { elements: ELEMENTS, feature_names: ganFeatureNames("d1", ELEMENTS, false), properties: false };

/** Asserts every composition lies on the simplex with no kept fraction below `minFraction`. */
function assertOnSimplex(gen: readonly GeneratedComposition[], minFraction: number): void {
  for (const g of gen) {
    const s = g.fractions.reduce((a, b) => a + b, 0);
    assertClose([s], [1], { atol: 1e-12, rtol: 0, msg: `sample ${g.index} sums to ${s}` });
    assert(g.fractions.every((v) => v === 0 || v >= minFraction), `sample ${g.index}: ${g.fractions}`);
    assert(g.key !== "" && g.formula !== "", `sample ${g.index} has a formula`);
  }
}

Deno.test("decodeSamples: clip, renormalise, drop small fractions → compositions on the simplex", () => {
  // Row 0: plain; row 1: a negative entry and a 0.3 % entry (dropped); row 2: everything ≤ 0 → largest element.
  const x = [0.2, 0.2, 0.1, 0.5, -0.1, 0.003, 0.297, 0.7, -1, -2, -0.5, -3];
  const g = decodeSamples(x, 3, CFG, 0.005);
  assertOnSimplex(g, 0.005);
  assertClose(g[0].fractions, [0.2, 0.2, 0.1, 0.5], { atol: 1e-12, rtol: 0 });
  // 0.003 / 1.0 < 0.005 is dropped, the rest renormalised over 0.997.
  assertClose(g[1].fractions, [0, 0, 0.297 / 0.997, 0.7 / 0.997], { atol: 1e-12, rtol: 0 });
  assertEquals(g[1].system, "Ni-Zr");
  assertEquals(g[2].key, "Ni100");
  assertEquals(g[0].formula, "Zr50Al20Cu20Ni10");
});

Deno.test("decodeSamples: property-augmented samples carry Tg, Tx, Tl; derived targets by hand", () => {
  const cfg = { elements: ELEMENTS, feature_names: ganFeatureNames("d1", ELEMENTS, true), properties: true };
  const [g] = decodeSamples([0.1, 0.4, 0, 0.5, 650, 720, 1100], 1, cfg);
  assertEquals([g.tg, g.tx, g.tl], [650, 720, 1100]);
  assertClose([targetValue(g, "trg")!, targetValue(g, "dtx")!, targetValue(g, "gamma")!], [
    650 / 1100,
    70,
    720 / 1750,
  ], { atol: 1e-12, rtol: 0 });
});

Deno.test("generateCompositions: an (untrained) generator's samples decode onto the simplex, seeded", async () => {
  const gan = new Gan({ features: 4, latent: 3, hidden: 16, seed: 2, backend: cpu });
  const scaler = fitMinMax([0, 0, 0, 0, 0.6, 0.5, 0.3, 0.9], 2, 4);
  const cfg = { ...CFG, scaler };
  const a = await generateCompositions(gan, cfg, 200, 7), b = await generateCompositions(gan, cfg, 200, 7);
  assertOnSimplex(a, 0.005);
  assertEquals(a.map((g) => g.key), b.map((g) => g.key));
  const c = await generateCompositions(gan, cfg, 200, 8);
  assert(a.some((g, i) => g.key !== c[i].key), "another seed gives other compositions");
  gan.dispose();
});

Deno.test("nearestRows: matches brute force; keysToFractions reads formulas over an element list", () => {
  const r = new Rng(5);
  const a = Array.from({ length: 30 * 3 }, () => r.uniform()),
    b = Array.from({ length: 17 * 3 }, () => r.uniform());
  const got = nearestRows(a, 30, b, 17, 3);
  for (let i = 0; i < 30; i++) {
    const d = Array.from(
      { length: 17 },
      (_, j) => Math.hypot(...[0, 1, 2].map((k) => a[i * 3 + k] - b[j * 3 + k])),
    );
    const best = d.indexOf(Math.min(...d));
    assertEquals(got.index[i], best);
    assertClose([got.distance[i]], [d[best]], { atol: 1e-12, rtol: 0 });
  }
  assertEquals(Array.from(keysToFractions(["Cu50Zr50", "Al10Ni90"], ELEMENTS)), [
    0,
    0.5,
    0,
    0.5,
    0.1,
    0,
    0.9,
    0,
  ]);
  assertUserError(() => keysToFractions(["Fe80B20"], ELEMENTS), "Fe");
});

Deno.test("splitByComposition: disjoint, complete, seeded; bad share refused", () => {
  const s = splitByComposition(50, 0.2, 3);
  assertEquals(s.heldOut.length, 10);
  assertEquals([...s.train, ...s.heldOut].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assertEquals(splitByComposition(50, 0.2, 3), s);
  assert(JSON.stringify(splitByComposition(50, 0.2, 4)) !== JSON.stringify(s));
  assertUserError(() => splitByComposition(5, 1, 0), "--held-out");
});

/** A stand-in classifier over its own element order: P(glass) = x_Zr + x_Cu (known by hand). */
function standIn(elements: string[]): GlassClassifier {
  const zr = elements.indexOf("Zr"), cu = elements.indexOf("Cu"), E = elements.length;
  return {
    elements,
    predictFractions(f) {
      const out = new Float64Array(f.length / E);
      for (let r = 0; r < out.length; r++) out[r] = f[r * E + zr] + f[r * E + cu];
      return Promise.resolve(out);
    },
  };
}
const STAND_IN = standIn(["Zr", "Cu", "Al", "Ni", "Fe"]);

Deno.test("scoreCompositions: classifier columns are remapped, unknown elements give null; novelty by hand", async () => {
  const gen = decodeSamples([0.5, 0.1, 0, 0.4, 0.1, 0.4, 0, 0.5], 2, CFG);
  const scored = await scoreCompositions([...gen], ELEMENTS, ["Al50Zr50", "Cu40Zr60"], STAND_IN, cpu);
  assertClose([scored[0].glassProbability!, scored[1].glassProbability!], [0.1 + 0.4, 0.4 + 0.5], {
    atol: 1e-12,
    rtol: 0,
  });
  // Row 0 = Al50 Cu10 Zr40: nearest training Al50Zr50 at distance √(0.1² + 0.1²).
  assertEquals(scored[0].nearestTraining, "Al50Zr50");
  assertClose([scored[0].novelty], [Math.SQRT2 * 0.1], { atol: 1e-12, rtol: 0 });
  assertEquals([scored[0].inTraining, scored[1].inTraining], [false, false]);
  // Row 1 = Cu40 Ni10 Zr50 holds Ni, which this classifier does not know.
  const gen2 = decodeSamples([0.5, 0.1, 0, 0.4, 0, 0.4, 0.1, 0.5], 2, CFG);
  const s2 = await scoreCompositions(gen2, ELEMENTS, ["Cu40Zr60"], standIn(["Cu", "Al", "Zr"]), cpu);
  assertClose([s2[0].glassProbability!], [0.5], { atol: 1e-12, rtol: 0 });
  assertEquals(s2[1].glassProbability, null);
});

function cand(
  key: string,
  tg: number,
  tx: number,
  tl: number,
  p: number,
  inTraining = false,
): ScoredComposition {
  return {
    index: 0,
    formula: key,
    key,
    system: key,
    fractions: new Float64Array(0),
    tg,
    tx,
    tl,
    glassProbability: p,
    novelty: 0.1,
    nearestTraining: "",
    inTraining,
  };
}

Deno.test("selectTargeted: z-score ranking on Tl (max) and Trg (min); filters on P, novelty, Tg<Tx<Tl, duplicates", () => {
  const c = [
    cand("A", 600, 700, 1200, 0.9), // Trg 0.5
    cand("B", 600, 700, 1000, 0.9), // Trg 0.6
    cand("C", 600, 700, 1500, 0.9), // Trg 0.4, highest Tl: best on both
    cand("C", 600, 700, 1500, 0.9), // duplicate
    cand("D", 600, 700, 2000, 0.3), // P too low
    cand("E", 600, 700, 2000, 0.9, true), // in training
    cand("F", 600, 550, 2000, 0.9), // Tx < Tg
  ];
  const sel = selectTargeted(c, parseTargets("tl:max, trg:min"), { top: 5 });
  assertEquals(sel.map((s) => s.key), ["C", "A", "B"]);
  assertEquals(sel.map((s) => s.rank), [1, 2, 3]);
  // Scores by hand: z of Tl over {1200, 1000, 1500} plus −z of Trg over {0.5, 0.6, 0.4}.
  const z = (v: number[], x: number) => {
    const m = v.reduce((a, b) => a + b) / v.length;
    return (x - m) / Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
  };
  const want = z([1200, 1000, 1500], 1500) - z([0.5, 0.6, 0.4], 0.4);
  assertClose([sel[0].score], [want], { atol: 1e-12, rtol: 0 });
  assertEquals(
    selectTargeted(c, parseTargets("tl:max"), { minGlassProbability: 0, novelOnly: false })[0].key,
    "D",
  );
  assertUserError(() => parseTargets("tq:max"), "--target", "tq");
  assertUserError(() => parseTargets("tl:up"), "--target", ":max or :min");
  const plain = { ...cand("X", 1, 2, 3, 1), tg: undefined, tx: undefined, tl: undefined };
  assertUserError(() => selectTargeted([plain], parseTargets("tl:max")), "--properties");
});

Deno.test("GAN directory: save → load gives identical samples; a tampered file is refused naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alloy_bmg_gan_test_" });
  try {
    const gan = new Gan({ features: 4, latent: 3, hidden: 8, seed: 4, backend: cpu });
    const scaler = fitMinMax([0, 0, 0, 0, 0.6, 0.5, 0.3, 0.9], 2, 4);
    const out = join(dir, "gan");
    await saveBmgGan(out, gan, {
      descriptors: "d1",
      properties: false,
      elements: ELEMENTS,
      scaler,
      training: { epochs: 0 },
      train_keys: ["Cu50Zr50"],
      held_out_keys: ["Al10Zr90"],
      bases: ["Zr"],
      created: "2026-01-01T00:00:00Z",
    });
    const { gan: back, config } = await loadBmgGan(out, cpu);
    assertEquals(config.feature_names, ["x_Al", "x_Cu", "x_Ni", "x_Zr"]);
    const a = await generateCompositions(gan, config, 50, 1),
      b = await generateCompositions(back, config, 50, 1);
    assertEquals(a.map((g) => Array.from(g.fractions)), b.map((g) => Array.from(g.fractions)));
    const cfgPath = join(out, "config.json");
    const cfg = JSON.parse(await Deno.readTextFile(cfgPath));
    await Deno.writeTextFile(cfgPath, JSON.stringify({ ...cfg, elements: ["Al", "Cu", "Ni", "Xx"] }));
    await assertRejectsUserError(() => readBmgGanConfig(out), "config.json", "elements");
    await Deno.writeTextFile(cfgPath, JSON.stringify(cfg));
    const w = join(out, "weights.safetensors");
    const bytes = await Deno.readFile(w);
    bytes[bytes.length - 1] ^= 1;
    await Deno.writeFile(w, bytes);
    await assertRejectsUserError(() => loadBmgGan(out, cpu), "weights.safetensors", "SHA-256");
    gan.dispose(), back.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kdeGrid: integrates to ≈ 1 over a wide grid; the peak sits on the data", () => {
  const r = new Rng(2);
  const pts = Float64Array.from({ length: 400 }, (_, i) => (i % 2 ? 2 : -1) + 0.3 * r.normal());
  const k = kdeGrid(pts, 200, [-4, 2], [-1, 5], 120, 120);
  const cell = (6 / 120) * (6 / 120);
  assertClose([k.values.reduce((a, b) => a + b, 0) * cell], [1], { atol: 2e-3, rtol: 0 });
  const best = k.values.indexOf(Math.max(...k.values));
  const x = -4 + ((best % 120) + 0.5) * 0.05, y = -1 + (Math.floor(best / 120) + 0.5) * 0.05;
  assert(Math.abs(x + 1) < 0.15 && Math.abs(y - 2) < 0.15, `peak at (${x}, ${y})`);
  // Scott's rule: h = σ·n^(−1/6).
  assert(Math.abs(k.bandwidth[0] / (0.3 * 200 ** (-1 / 6)) - 1) < 0.15, `bandwidth ${k.bandwidth}`);
});

/** n compositions over 4 elements from a Dirichlet-like draw around `centre` (seeded). */
function cloud(n: number, centre: number[], seed: number): Float64Array {
  const r = new Rng(seed), out = new Float64Array(n * 4);
  for (let i = 0; i < n; i++) {
    const v = centre.map((c) => Math.max(1e-3, c + 0.05 * r.normal()));
    const s = v.reduce((a, b) => a + b);
    v.forEach((x, j) => out[i * 4 + j] = x / s);
  }
  return out;
}

Deno.test("sinkhornComparison: same-distribution samples score like the literature halves, a shifted set far above", async () => {
  const lit = cloud(120, [0.1, 0.3, 0.1, 0.5], 1), train = cloud(200, [0.1, 0.3, 0.1, 0.5], 2);
  const good = cloud(300, [0.1, 0.3, 0.1, 0.5], 3), bad = cloud(300, [0.4, 0.1, 0.3, 0.2], 4);
  const g = (await sinkhornComparison(cpu, good, 300, train, 200, lit, 120, 4, { repeats: 3, eps: 1e-3 }))!;
  const b = (await sinkhornComparison(cpu, bad, 300, train, 200, lit, 120, 4, { repeats: 3, eps: 1e-3 }))!;
  assertEquals([g.h, g.repeats], [60, 3]);
  // The halves (same distribution, 60 points each) set the noise floor; a matching generator stays within 50 % of
  // it, a generator whose centre moved by ~0.4 in fraction space is several times above it.
  const floor = g.literatureHalves.distance;
  assert(g.generatedVsHeldOut.distance < 1.5 * floor, JSON.stringify(g));
  assert(b.generatedVsHeldOut.distance > 4 * floor, JSON.stringify(b));
  assert(Math.abs(g.generatedVsHeldOut.divergence) < 0.2 * b.generatedVsHeldOut.divergence);
  // The reference rows do not depend on the generated set (same seed, same draws of halves).
  assertClose([b.literatureHalves.distance], [floor], { atol: 1e-12, rtol: 0 });
  assert(g.literatureHalves.distanceSd > 0 && g.generatedVsHeldOut.marginalError < 1e-3, JSON.stringify(g));
  assertEquals(await sinkhornComparison(cpu, good, 300, train, 200, lit, 3, 4), null);
});

Deno.test("evaluateGenerated: glass share, novelty, systems by hand with a stand-in classifier; PCA maps are SVG", async () => {
  const keys = ["Cu50Zr50", "Al10Cu40Zr50", "Al20Ni30Zr50", "Cu60Zr40", "Al5Cu45Zr50", "Ni40Zr60"];
  const gen = decodeSamples(
    [
      ...[0, 0.5, 0, 0.5], // Cu50Zr50 (in training; P = 1)
      ...[0.5, 0, 0.5, 0], // Al50Ni50 (P = 0)
      ...[0.2, 0.2, 0, 0.6], // P = 0.8
      ...[0, 0.3, 0, 0.7], // P = 1
    ],
    4,
    CFG,
  );
  const scored = await scoreCompositions(gen, ELEMENTS, keys.slice(0, 2), STAND_IN, cpu);
  const ev = await evaluateGenerated(cpu, scored, ELEMENTS, keys.slice(0, 2), keys.slice(2), { repeats: 1 });
  assertEquals([ev.classified, ev.glassShare, ev.inTrainingShare], [4, 0.75, 0.25]);
  assertClose([ev.meanGlassProbability!], [(1 + 0 + 0.8 + 1) / 4], { atol: 1e-12, rtol: 0 });
  assertEquals([ev.distinctSystems, ev.knownSystemShare, ev.uniqueShare], [3, 0.75, 1]);
  assertEquals(ev.sinkhorn?.h, 2);
  const E = 4, lit = keysToFractions(keys, ELEMENTS), g = new Float64Array(4 * E);
  scored.forEach((s, r) => g.set(s.fractions, r * E));
  const maps = pcaDensityMaps(g, 4, lit, keys.length, E, "test");
  for (const svg of [maps.generatedSvg, maps.literatureSvg]) {
    assert(svg.startsWith("<svg") || svg.startsWith("<?xml"), svg.slice(0, 40));
    assert(svg.includes("PC1") && svg.trimEnd().endsWith("</svg>"));
  }
  assert(maps.explainedRatio[0] >= maps.explainedRatio[1] && maps.explainedRatio[0] <= 1);
});
