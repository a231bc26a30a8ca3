/**
 * Integrated gradients: closed forms (quadratic and cubic functions), completeness on the real VIBANN architecture
 * (random small weights, one and two members), the explainable-model adapter against predictVibann, and CPU vs GPU.
 */
import { cpu, cpu64, gpu, HAS_GPU } from "../_helpers.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { mul, powScalar, square, sum } from "../../nn/ops.ts";
import type { Tensor } from "../../nn/tensor.ts";
import type { Backend } from "../../nn/backend.ts";
import { VibannReference } from "../../nn/models/vibann.ts";
import { VibannAttention } from "../../nn/models/vibann_attention.ts";
import { memberMean, predictVibann } from "../../nn/models/vibann_predict.ts";
import { Rng } from "../../nn/random.ts";
import {
  attributionFn,
  integratedGradients,
  integratedGradientsMany,
  meanTrainingComposition,
  meanTrainingInput,
  vibannAttributionFn,
} from "../../explain/integrated_gradients.ts";
import { vibannExplainable } from "../../explain/explainable_model.ts";
import { hardnessBatchFn } from "../../explain/hardness_batch_fn.ts";

const A = [0.5, -2, 3, 1.25];

/** f(x) = Σ a_i x_i^p as engine ops. */
function powerSum(be: Backend, p: number) {
  return (x: Tensor) => sum(mul(p === 2 ? square(x) : powScalar(x, p), be.fromData(A, [1, A.length])), 1);
}

Deno.test("IG of Σ a_i x_i² is exactly a_i (x_i² − x₀_i²) (both rules)", async () => {
  const x = [1, 2, -1, 0.5], b = [0.5, -1, 0.25, 0];
  for (const rule of ["trapezoid", "midpoint"] as const) {
    const r = await integratedGradients(powerSum(cpu64, 2), x, b, { steps: 7, rule, be: cpu64 });
    A.forEach((a, i) => assertNear(r.attributions[i], a * (x[i] ** 2 - b[i] ** 2), 1e-12, `${rule} ${i}`));
    assertNear(r.fx, A.reduce((s, a, i) => s + a * x[i] ** 2, 0), 1e-12);
    assertNear(r.fBaseline, A.reduce((s, a, i) => s + a * b[i] ** 2, 0), 1e-12);
    assertNear(r.completenessGap, 0, 1e-12);
  }
});

Deno.test("IG of Σ a_i x_i³: the exact integral in the limit, the rules' known O(1/steps²) errors", async () => {
  const x = [1, 2, -1, 0.5], b = [0, 0, 0, 0];
  // With a zero baseline, ∂f/∂x_i along the path is 3 a_i α² x_i²: the trapezoid mean of α² on n intervals is
  // 1/3 + 1/(6n²), the midpoint mean 1/3 − 1/(12n²).
  for (const [rule, c] of [["trapezoid", 1 / 6], ["midpoint", -1 / 12]] as const) {
    const n = 10;
    const r = await integratedGradients(powerSum(cpu64, 3), x, b, { steps: n, rule, be: cpu64 });
    A.forEach((a, i) => assertNear(r.attributions[i], 3 * a * x[i] ** 3 * (1 / 3 + c / n ** 2), 1e-12, rule));
    const exact = A.reduce((s, a, i) => s + a * x[i] ** 3, 0);
    assertNear(r.completenessGap, exact * 3 * c / n ** 2, 1e-12, `${rule} gap`);
  }
});

Deno.test("IG rejects a mismatched baseline and an f that does not return [N]", async () => {
  let threw = false;
  try {
    await integratedGradients(powerSum(cpu64, 2), [1, 2, 3, 4], [0, 0, 0], { be: cpu64 });
  } catch (e) {
    threw = e instanceof RangeError;
  }
  assertTrue(threw);
  threw = false;
  try {
    await integratedGradients((x) => x, [1, 2, 3, 4], [0, 0, 0, 0], { be: cpu64, steps: 3 });
  } catch (e) {
    threw = e instanceof RangeError && /expected \[4\]/.test(e.message);
  }
  assertTrue(threw);
});

const E = 6;
const SCALERS = [
  { loadMean: 2, loadScale: 3, yMean: 500, yScale: 150 },
  { loadMean: 1, loadScale: 2, yMean: 450, yScale: 120 },
];

/** Random simplex rows. */
function compositions(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(n * E);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < E; j++) s += out[i * E + j] = rng.uniform() < 0.5 ? 0 : rng.uniform();
    if (s === 0) s = out[i * E] = 1;
    for (let j = 0; j < E; j++) out[i * E + j] /= s;
  }
  return out;
}

// The network is piecewise smooth (ReLU kinks), so the quadrature error falls like 1/steps, not 1/steps²: about
// 0.5 % of f(x) − f(x₀) at 200 steps, a few 0.01 % at 3200.
Deno.test("IG on the VIBANN architecture (random weights): completeness within 2 % at 200 steps, 0.2 % at 3200", async () => {
  for (const replicas of [1, 2]) {
    const model = new VibannReference({
      elements: E,
      latentDim: replicas === 1 ? 4 : [4, 3],
      dropout: 0.2,
      replicas,
      seed: 3,
      backend: cpu64,
    });
    const f = vibannAttributionFn(model, SCALERS.slice(0, replicas));
    const comp = compositions(12, 5);
    const base = meanTrainingInput(comp, Float64Array.from({ length: 12 }, (_, i) => 0.5 + i), E);
    const xs = [0, 1, 2].map((i) => [...comp.subarray(i * E, (i + 1) * E), 1 + 3 * i]);
    const rs = await integratedGradientsMany(f, xs, base, { steps: 200, be: cpu64 });
    for (const r of rs) {
      const diff = r.fx - r.fBaseline;
      assertTrue(Math.abs(diff) > 1e-3, `f(x) − f(x₀) = ${diff} should not be trivial`);
      assertTrue(
        Math.abs(r.completenessGap) <= 2e-2 * Math.abs(diff),
        `R=${replicas}: gap ${r.completenessGap} vs Δf ${diff}`,
      );
      assertTrue(r.attributions.some((a, i) => i < E && Math.abs(a) > 1e-6), "composition attributions");
    }
    const fine = await integratedGradients(f, xs[0], base, { steps: 3200, be: cpu64 });
    assertTrue(
      Math.abs(fine.completenessGap) <= 2e-3 * Math.abs(fine.fx - fine.fBaseline),
      `R=${replicas}: gap ${fine.completenessGap} at 3200 steps`,
    );
    // The batched call equals one call per input.
    const one = await integratedGradients(f, xs[1], base, { steps: 200, be: cpu64 });
    one.attributions.forEach((a, i) => assertNear(a, rs[1].attributions[i], 1e-10));
    model.dispose();
  }
});

Deno.test("the explainable adapter's hardness equals predictVibann's member mean (1 and 2 members)", async () => {
  for (const replicas of [1, 2]) {
    const model = new VibannReference({
      elements: E,
      latentDim: replicas === 1 ? 4 : [4, 3],
      dropout: 0.2,
      replicas,
      seed: 9,
      backend: cpu64,
    });
    const sc = SCALERS.slice(0, replicas);
    const n = 7,
      comp = compositions(n, 11),
      loads = Float64Array.from({ length: n }, (_, i) => 0.3 + 1.7 * i);
    const ref = memberMean(await predictVibann(cpu64, model, sc, Float32Array.from(comp), loads));
    const rows = new Float64Array(n * (E + 1));
    for (let i = 0; i < n; i++) {
      rows.set(comp.subarray(i * E, (i + 1) * E), i * (E + 1)), rows[i * (E + 1) + E] = loads[i];
    }
    const got = await hardnessBatchFn(vibannExplainable(model, sc), { chunkRows: 3 })(rows, n);
    got.forEach((v, i) => assertNear(v, ref[i], 1e-4 * Math.abs(ref[i]), `R=${replicas} row ${i}`));
    model.dispose();
  }
});

/** A small attention-architecture model (4 token slots) with R members. */
function attentionModel(replicas: number, seed: number): VibannAttention {
  return new VibannAttention({
    elements: E,
    elementSymbols: ["Fe", "Ni", "Co", "Cr", "B", "Si"],
    latentDim: replicas === 1 ? 4 : [4, 3],
    dropout: 0.2,
    replicas,
    seed,
    tokens: 4,
    dModel: 8,
    heads: 2,
    layers: 1,
    ffn: 16,
    backend: cpu64,
  });
}

Deno.test("attention architecture: the adapter equals predictVibann; IG completeness on a path of fixed support", async () => {
  for (const replicas of [1, 2]) {
    const model = attentionModel(replicas, 5);
    const sc = SCALERS.slice(0, replicas);
    const n = 5,
      comp = compositions(n, 13),
      loads = Float64Array.from({ length: n }, (_, i) => 0.5 + 2 * i);
    // The adapter gives a fraction-bias model one token slot per element (these alloys have up to 6 elements for
    // 4 slots): predictVibann sees the same model after it is built.
    const em = vibannExplainable(model, sc);
    assertEquals(model.tokens, E);
    const ref = memberMean(await predictVibann(cpu64, model, sc, Float32Array.from(comp), loads));
    const rows = new Float64Array(n * (E + 1));
    for (let i = 0; i < n; i++) {
      rows.set(comp.subarray(i * E, (i + 1) * E), i * (E + 1)), rows[i * (E + 1) + E] = loads[i];
    }
    const got = await hardnessBatchFn(em, { chunkRows: 2 })(rows, n);
    got.forEach((v, i) => assertNear(v, ref[i], 1e-4 * Math.abs(ref[i]), `R=${replicas} row ${i}`));
    // x and x₀ on the same 4 elements (≤ the 4 token slots): every path point has the same tokens, the network is
    // continuous along the path, and the gradients through tokens, attention and pooling must integrate to Δf.
    const x = [0.5, 0.2, 0, 0.2, 0.1, 0, 3], b = [0.1, 0.3, 0, 0.4, 0.2, 0, 1];
    const r = await integratedGradients(vibannAttributionFn(model, sc), x, b, { steps: 400, be: cpu64 });
    const diff = r.fx - r.fBaseline;
    assertTrue(Math.abs(diff) > 1e-2, `Δf = ${diff}`);
    assertTrue(
      Math.abs(r.completenessGap) <= 1e-2 * Math.abs(diff),
      `R=${replicas}: gap ${r.completenessGap} vs ${diff}`,
    );
    assertEquals([r.attributions[2], r.attributions[5]], [0, 0]);
    model.dispose();
  }
});

Deno.test("attention architecture with the fraction bias: IG from a baseline with other elements is complete", async () => {
  // x has 3 elements, the baseline 5 (elements appear and vanish along the path). With the fraction bias (and as
  // many token slots as elements) the network is continuous where a fraction reaches 0, so IG integrates Δf;
  // without the bias the same path has a jump that IG misses.
  const x = [0.5, 0.3, 0, 0.2, 0, 0, 2], b = [0.2, 0.2, 0.2, 0.2, 0.2, 0, 1];
  const gap = async (fractionBias: boolean) => {
    const model = new VibannAttention({
      elements: E,
      elementSymbols: ["Fe", "Ni", "Co", "Cr", "B", "Si"],
      latentDim: 4,
      dropout: 0.2,
      seed: 7,
      tokens: E,
      dModel: 8,
      heads: 2,
      layers: 2,
      ffn: 16,
      fractionBias,
      backend: cpu64,
    });
    const r = await integratedGradients(vibannAttributionFn(model, SCALERS.slice(0, 1)), x, b, {
      steps: 800,
      be: cpu64,
    });
    model.dispose();
    const diff = r.fx - r.fBaseline;
    assertTrue(Math.abs(diff) > 1e-2, `Δf = ${diff}`);
    return Math.abs(r.completenessGap) / Math.abs(diff);
  };
  const withBias = await gap(true), without = await gap(false);
  assertTrue(withBias <= 2e-2, `relative gap with the fraction bias: ${withBias}`);
  assertTrue(without > 5 * withBias, `without the bias the gap should be larger: ${without} vs ${withBias}`);
});

Deno.test("meanTrainingComposition projects rows onto the simplex and skips empty rows", () => {
  const m = meanTrainingComposition([2, 2, 0, 0, 0, 0, 0, 3, 1], 3, 3);
  [0.25, 0.625, 0.125].forEach((v, i) => assertNear(m[i], v, 1e-15));
});

Deno.test({
  name: "IG on the VIBANN architecture: GPU equals CPU",
  ignore: !HAS_GPU,
  fn: async () => {
    const g = (await gpu())!;
    const mk = (be: Backend) =>
      new VibannReference({ elements: E, latentDim: 4, dropout: 0.1, seed: 4, backend: be });
    const [mc, mg] = [mk(cpu), mk(g)];
    const comp = compositions(4, 2);
    const x = [...comp.subarray(0, E), 2.5], b = [...comp.subarray(E, 2 * E), 1];
    const rc = await integratedGradients(attributionFn(vibannExplainable(mc, SCALERS.slice(0, 1))), x, b, {
      be: cpu,
    });
    const rg = await integratedGradients(attributionFn(vibannExplainable(mg, SCALERS.slice(0, 1))), x, b, {
      be: g,
    });
    const scale = Math.max(...rc.attributions.map(Math.abs));
    rc.attributions.forEach((a, i) => assertNear(rg.attributions[i], a, 2e-3 * scale + 1e-3, `feature ${i}`));
    assertNear(rg.fx, rc.fx, 1e-3 * Math.abs(rc.fx));
    mc.dispose(), mg.dispose();
  },
});
