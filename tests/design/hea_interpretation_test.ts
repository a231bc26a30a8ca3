/**
 * Interpretation helpers of the HEA model: the dominant element group and the element count on hand-made alloys,
 * and the reconstruction errors of a stand-in model whose decoder output is fixed, against errors worked out by
 * hand (including the trimming of a fraction below the threshold).
 */
import { dominantGroup, elementCount, latentMap, reconstructHea } from "../../design/hea_interpretation.ts";
import type { HeaDesignModel } from "../../design/hea_design_model.ts";
import { HEA_TOP30 } from "../../data/hea_dataset.ts";
import { formulaToVector } from "../../data/formula.ts";
import { assertEquals, assertNear } from "../data/_helpers.ts";

const v = (f: string) => formulaToVector(f, HEA_TOP30);

Deno.test("dominantGroup picks the group with ≥ 50 % of the alloy, else 'other'", () => {
  assertEquals(dominantGroup(v("CoCrFeMnNi"), HEA_TOP30), "magnetic"); // Co, Fe, Mn, Ni: 80 %
  assertEquals(dominantGroup(v("NbMoTaW"), HEA_TOP30), "refractory");
  assertEquals(dominantGroup(v("Pt40Au40Cu20"), HEA_TOP30), "noble");
  assertEquals(dominantGroup(v("Fe50Al50"), HEA_TOP30), "magnetic", "exactly half counts");
  assertEquals(dominantGroup(v("Fe30Ti30Al40"), HEA_TOP30), "other", "no group reaches half");
  assertEquals(dominantGroup(v("AlCuMgZn"), HEA_TOP30), "other");
});

Deno.test("elementCount counts the non-zero fractions", () => {
  assertEquals(elementCount(v("CoCrFeMnNi")), 5);
  assertEquals(elementCount(v("Al0.5CoCrCuFeNi")), 6);
  assertEquals(elementCount([0, 0.2, 0, 0.8]), 2);
});

/** encode = the composition itself (L = E); decode ignores z and returns a fixed softmax per φ. */
function fixedDecoder(out0: number[], out1: number[]) {
  const seen: number[] = [];
  const E = out0.length;
  const m: HeaDesignModel = {
    elements: ["Fe", "Ni", "Cr", "Co"].slice(0, E),
    latentDim: E,
    classify: (_c, n) => Promise.resolve(new Float64Array(n).fill(0.5)),
    encode: (c, _n, phi) => (seen.push(...phi), Promise.resolve(Float64Array.from(c))),
    decode: (_z, n, phi) =>
      Promise.resolve(
        Float64Array.from({ length: n * E }, (_, k) => (phi[Math.floor(k / E)] ? out1 : out0)[k % E]),
      ),
  };
  return { m, seen };
}

Deno.test("reconstruction errors against a hand computation (all elements, and present elements after trimming)", async () => {
  const { m, seen } = fixedDecoder([0.25, 0.25, 0.25, 0.25], [0.6, 0.395, 0.005, 0]);
  const comp = Float64Array.from([0.5, 0.5, 0, 0, /* row 2 */ 0.5, 0.5, 0, 0]);
  const r = await reconstructHea(m, comp, 2, [1, 0], 0.01);
  assertEquals(seen, [1, 0], "each row is encoded under its own φ");
  // Row 1 (φ = 1): |Δ| over 4 elements = 0.1 + 0.105 + 0.005 + 0 → 5.25 at.%.
  assertNear(r.maeAllPct[0], 5.25, 1e-9);
  // Trimming drops the 0.5 % → (0.6, 0.395)/0.995; present elements: Fe, Ni.
  const t0 = 0.6 / 0.995, t1 = 0.395 / 0.995;
  assertNear(r.trimmed[0], t0, 1e-12);
  assertEquals(r.trimmed[2], 0);
  assertNear(r.maePresentPct[0], (100 * (Math.abs(0.5 - t0) + Math.abs(0.5 - t1))) / 2, 1e-9);
  // Row 2 (φ = 0): decoded uniform; every element is present in the reconstruction.
  assertNear(r.maeAllPct[1], 25, 1e-9);
  assertNear(r.maePresentPct[1], 25, 1e-9);
  const z = await latentMap(m, comp, 2, [0, 1]);
  assertEquals(Array.from(z), Array.from(comp));
  assertEquals(seen.slice(2), [0, 1], "latentMap encodes under the given labels");
});
