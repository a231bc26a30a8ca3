/**
 * Nudging: on a stand-in model whose every step moves a fixed share of the alloy into element 0 and whose
 * classifier is the fraction of element 0, the trajectory is known in closed form — it must stop at the first step
 * past the cutoff, after the step budget, or at a fixed point; on a real tiny HeaDvae every step is a trimmed
 * simplex point and the recorded probabilities are the classifier's.
 */
import { nudgeHea } from "../../design/hea_nudging.ts";
import { type HeaDesignModel, heaDesignModel } from "../../design/hea_design_model.ts";
import { HeaDvae } from "../../nn/models/hea_dvae.ts";
import { physicalTables } from "../../data/hea_tables.ts";
import { HEA_TOP30 } from "../../data/hea_dataset.ts";
import { StandardScaler } from "../../data/scaler.ts";
import { CpuBackend } from "../../nn/cpu_backend.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";

const E = 4;

/** classify = x₀; encode → z = x (as latent); decode under φ = 1 moves 30% of the rest into element 0. */
function standIn(rate = 0.3): HeaDesignModel & { calls: { phi: number[] } } {
  const calls = { phi: [] as number[] };
  return {
    elements: ["Fe", "Ni", "Cr", "Co"],
    latentDim: E,
    calls,
    classify: (c, n) => Promise.resolve(Float64Array.from({ length: n }, (_, i) => c[i * E])),
    encode: (c, _n, phi) => (calls.phi.push(phi[0]), Promise.resolve(Float64Array.from(c))),
    decode: (z, _n, phi) => {
      const out = Float64Array.from(z);
      if (phi[0] === 1) {
        const moved = rate * (1 - z[0]);
        for (let j = 1; j < E; j++) out[j] *= 1 - rate;
        out[0] += moved;
      }
      return Promise.resolve(out);
    },
  };
}

Deno.test("nudging stops at the first step whose p(single) exceeds the cutoff", async () => {
  const m = standIn();
  const r = await nudgeHea(m, [0.1, 0.3, 0.3, 0.3], { cutoff: 0.7, minFraction: 0 });
  // x₀ after k steps: 1 − 0.9·0.7^k → 0.1, 0.37, 0.559, 0.6913, 0.78391: the first above 0.7 is step 4.
  assertEquals(r.stop, "cutoff");
  assertTrue(r.reached);
  assertEquals(r.steps.length, 5);
  r.steps.forEach((s, k) => assertNear(s.pSingle, 1 - 0.9 * 0.7 ** k, 1e-12, `step ${k}`));
  assertTrue(r.steps.slice(0, -1).every((s) => s.pSingle <= 0.7), "no earlier step passed the cutoff");
  assertEquals(r.steps.at(-1)!.z, null);
  assertTrue(m.calls.phi.every((p) => p === 0), "encoded under the inverted label φ = 0");
  // An alloy already past the cutoff is returned unchanged.
  const done = await nudgeHea(standIn(), [0.9, 0.1, 0, 0], { cutoff: 0.7 });
  assertEquals([done.steps.length, done.stop], [1, "cutoff"]);
});

Deno.test("nudging stops after max-steps, and at a fixed point", async () => {
  const r = await nudgeHea(standIn(), [0.1, 0.3, 0.3, 0.3], { cutoff: 0.99, maxSteps: 3, minFraction: 0 });
  assertEquals([r.steps.length, r.stop, r.reached], [4, "max-steps", false]);
  const still = await nudgeHea(standIn(0), [0.1, 0.3, 0.3, 0.3], { cutoff: 0.99, minFraction: 0 });
  assertEquals([still.steps.length, still.stop], [1, "fixed-point"]);
});

Deno.test("nudging a real tiny model: every step is on the simplex and scored by the classifier", async () => {
  const be = new CpuBackend("f32");
  const m = new HeaDvae({ hidden: [10], seed: 5, backend: be });
  const s = new StandardScaler([150, 8, 1700, 7.5, 5, 0.12, 12, -8], [40, 1.5, 300, 1.5, 2, 0.06, 2, 6]);
  const d = heaDesignModel(m, s, physicalTables(HEA_TOP30), HEA_TOP30);
  const start = new Float64Array(30);
  [0, 1, 2, 3, 4, 6].forEach((j, k) => start[j] = [14, 16, 22, 14, 22, 8][k]); // Fe14Ni16Cr22Co14Al22Cu8
  const r = await nudgeHea(d, start, { cutoff: 0.999, maxSteps: 4, minFraction: 0.02 });
  assertTrue(r.steps.length >= 2 && r.steps.length <= 5);
  assertNear(r.steps[0].fractions[2], 22 / 96, 1e-12, "the start is normalised");
  for (const st of r.steps) {
    assertNear(st.fractions.reduce((a, b) => a + b, 0), 1, 1e-9);
    if (st.step > 0) assertTrue(st.fractions.every((v) => v === 0 || v >= 0.02), "trimmed");
    assertNear(st.pSingle, (await d.classify(st.fractions, 1))[0], 1e-9);
  }
});
