/**
 * Generation from the latent space: every decoded and trimmed composition lies on the simplex, trimming drops
 * exactly the small fractions, latent points stay in the requested ball, the inconsistency flag matches the
 * classifier, and the same seed gives the same generations — on a real (tiny, untrained) HeaDvae and on a stand-in.
 */
import { generateHea } from "../../design/hea_generation.ts";
import { type HeaDesignModel, heaDesignModel, trimComposition } from "../../design/hea_design_model.ts";
import { HeaDvae } from "../../nn/models/hea_dvae.ts";
import { physicalTables } from "../../data/hea_tables.ts";
import { HEA_TOP30 } from "../../data/hea_dataset.ts";
import { StandardScaler } from "../../data/scaler.ts";
import { CpuBackend } from "../../nn/cpu_backend.ts";
import { assertEquals, assertNear, assertTrue, assertUserError } from "../data/_helpers.ts";

const cpu = new CpuBackend("f32");

function tinyDesign(seed = 1): HeaDesignModel {
  const m = new HeaDvae({ hidden: [12], seed, backend: cpu });
  // Descriptor scaler roughly matching their magnitudes (k, Vm, Tm, VEC, δ, Δχ, ΔS, ΔH).
  const s = new StandardScaler([150, 8, 1700, 7.5, 5, 0.12, 12, -8], [40, 1.5, 300, 1.5, 2, 0.06, 2, 6]);
  return heaDesignModel(m, s, physicalTables(HEA_TOP30), HEA_TOP30);
}

Deno.test("trimComposition drops fractions below the threshold and renormalises rows to 1", () => {
  const x = Float64Array.from([0.5, 0.3, 0.15, 0.05, /* row 2, unnormalised */ 2, 2, 0.1, 0.02]);
  const t = trimComposition(x, 4, 0.1);
  assertEquals(
    Array.from(t.subarray(0, 4)).map((v) => +v.toFixed(12)),
    [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0].map((v) => +v.toFixed(12)),
  );
  assertNear(t[4], 0.5, 1e-12);
  assertEquals(t[6], 0);
  assertEquals(t[7], 0);
  // Every fraction below the threshold: the largest element is kept.
  assertEquals(Array.from(trimComposition(Float64Array.from([0.2, 0.3, 0.25, 0.25]), 4, 0.5)), [0, 1, 0, 0]);
  assertUserError(() => trimComposition(x, 4, 1), "--min-fraction");
});

Deno.test("generated compositions lie on the simplex; z stays in the ball; flags match the classifier", async () => {
  const d = tinyDesign();
  const E = d.elements.length;
  const gens = await generateHea(d, {
    center: [0.5, -1],
    radius: 0.8,
    count: 25,
    phi: 0.9,
    minFraction: 0.02,
    seed: 3,
  });
  assertEquals(gens.length, 25);
  assertEquals(gens[0].z, [0.5, -1], "the first point is the centre");
  const p = await d.classify(Float64Array.from(gens.flatMap((g) => Array.from(g.fractions))), gens.length);
  gens.forEach((g, i) => {
    assertTrue(Math.hypot(g.z[0] - 0.5, g.z[1] + 1) <= 0.8 + 1e-12, `z ${g.z} outside the ball`);
    for (const c of [g.decoded, g.fractions]) {
      assertEquals(c.length, E);
      assertNear(c.reduce((a, b) => a + b, 0), 1, 1e-6, "sums to 1");
      assertTrue(c.every((v) => v >= 0), "no negative fraction");
    }
    assertTrue(g.fractions.every((v) => v === 0 || v >= 0.02), "trimmed below 2%");
    assertNear(g.pSingle, p[i], 1e-9);
    assertEquals(g.inconsistent, !(p[i] > 0.5), "φ = 0.9 asks for single phase");
  });
  const again = await generateHea(d, {
    center: [0.5, -1],
    radius: 0.8,
    count: 25,
    phi: 0.9,
    minFraction: 0.02,
    seed: 3,
  });
  assertEquals(again.map((g) => g.z), gens.map((g) => g.z), "same seed → same points");
  const other = await generateHea(d, { center: [0.5, -1], radius: 0.8, count: 25, phi: 0.9, seed: 4 });
  assertTrue(other[1].z[0] !== gens[1].z[0], "another seed → other points");
});

Deno.test("the decoder's φ input changes the generation; bad options are user errors", async () => {
  const d = tinyDesign(2);
  const [a] = await generateHea(d, { phi: 1, minFraction: 0 });
  const [b] = await generateHea(d, { phi: 0, minFraction: 0 });
  assertTrue(a.decoded.some((v, j) => Math.abs(v - b.decoded[j]) > 1e-6), "φ enters the decoder");
  await assertRejects(() => generateHea(d, { center: [1, 2, 3] }), "--z");
  await assertRejects(() => generateHea(d, { phi: 1.5 }), "--phi");
  await assertRejects(() => generateHea(d, { radius: -1 }), "--radius");
});

async function assertRejects(fn: () => Promise<unknown>, part: string) {
  try {
    await fn();
  } catch (e) {
    assertTrue((e as Error).message.includes(part), (e as Error).message);
    return;
  }
  throw new Error(`expected an error containing ${part}`);
}
