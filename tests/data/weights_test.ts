import { loadHardnessDataset } from "../../data/hardness.ts";
import { familyWeights } from "../../data/weights.ts";
import { assertEquals, assertNear, assertUserError, DATA_DIR, NO_DATA, noteSkip } from "./_helpers.ts";

noteSkip("the weight parity checks on the public dataset in weights_test.ts");

const mean = (v: ArrayLike<number>, rows?: number[]) => {
  const r = rows ?? Array.from({ length: v.length }, (_, i) => i);
  return r.reduce((a, i) => a + v[i], 0) / r.length;
};

Deno.test("weights: fixed mode counts training rows only and renormalises to mean 1 after clipping", () => {
  // families by hand: A×4 (3 in train), B×1 (train), C×1 (test only → counts as 1), D×12 all train, factor 0.1 on D
  const fam = ["A", "A", "A", "A", "B", "C", ...Array(12).fill("D")];
  const train = [0, 1, 2, 4, ...Array.from({ length: 12 }, (_, i) => 6 + i)];
  const w = familyWeights(fam, { trainRows: train, factors: { D: 0.1 } });
  // w_base: A 1/√3, B 1, C 1, D 0.1/√12; mean over the 16 train rows
  const base = { A: 1 / Math.sqrt(3), B: 1, C: 1, D: 0.1 / Math.sqrt(12) };
  const mb = (3 * base.A + base.B + 12 * base.D) / 16;
  assertNear(w.meanBase, mb, 1e-15);
  const clipped = (x: number) => Math.min(4, Math.max(0.25, x / mb));
  const m = (3 * clipped(base.A) + clipped(base.B) + 12 * clipped(base.D)) / 16;
  assertNear(w.weights[0], clipped(base.A) / m, 1e-12);
  assertNear(w.weights[3], clipped(base.A) / m, 1e-12); // test row of family A: same weight
  assertNear(w.weights[5], clipped(base.C) / m, 1e-12);
  assertNear(w.weights[6], 0.25 / m, 1e-12); // D is clipped at 0.25 before renormalising
  assertNear(mean(w.weights, train), 1, 1e-12);
  assertEquals(w.counts.get("A"), 3);
  assertEquals(w.counts.get("C"), undefined);
});

Deno.test("weights: uniform mode and errors", () => {
  assertEquals(Array.from(familyWeights(["A", "B"], { mode: "uniform" }).weights), [1, 1]);
  assertUserError(() => familyWeights(["A"], { trainRows: [] }), "no training rows");
  assertUserError(() => familyWeights(["A"], { trainRows: [3] }), "training row 3 is out of range 0..0");
  assertUserError(() => familyWeights(["A"], { min: 2, max: 1 }), "clip bounds");
  assertUserError(() => familyWeights(["A"], { mode: "odd" as "fixed" }), "unknown weight mode 'odd'");
});

Deno.test({
  name: "weights: reference mode reproduces vibann-reference §1.3 on the public data; hand-checked rows",
  ignore: NO_DATA,
  async fn() {
    const ds = await loadHardnessDataset({ dataPath: DATA_DIR });
    const w = familyWeights(ds.families, { mode: "reference" });
    assertNear(w.meanBase, 0.3391, 5e-5);
    assertNear(mean(w.weights), 1.072, 5e-4);
    // hand check: count row 0's family (Al,Co,Cu,Y) by scanning the fractions directly
    const E = ds.elementColumns.length;
    const keyOf = (i: number) =>
      ds.elementColumns.filter((_, j) => ds.fractions[i * E + j] > 1e-12).sort().join(",");
    const count = (key: string) =>
      Array.from({ length: ds.nRows }, (_, i) => keyOf(i)).filter((k) => k === key).length;
    let sumBase = 0;
    for (let i = 0; i < ds.nRows; i++) {
      const k = keyOf(i);
      sumBase += (k === "B,Fe,Nb" ? 0.35 : 1) / Math.sqrt(count(k));
    }
    const mb = sumBase / ds.nRows;
    for (const i of [0, 1, 2, 100, 400]) {
      const k = keyOf(i);
      const c = count(k);
      const expected = Math.min(
        4,
        Math.max(0.25, (k === "B,Fe,Nb" ? 0.35 : 1) / Math.sqrt(c) / (mb + 1e-12)),
      );
      assertNear(w.weights[i], expected, 1e-12, `row ${i} (${k}, count ${c})`);
    }
    const singleton = ds.families.findIndex((f) => w.counts.get(f) === 1);
    assertNear(w.weights[singleton], 2.949, 5e-4);
    const bfenb = ds.families.indexOf("B,Fe,Nb");
    assertEquals(w.weights[bfenb], 0.25);
    assertNear(0.35 / Math.sqrt(261) / mb, 0.0639, 5e-5); // pre-clip B–Fe–Nb weight
    // B–Fe–Nb share of total weight 9.0 %
    const share = ds.families.reduce((a, f, i) => a + (f === "B,Fe,Nb" ? w.weights[i] : 0), 0) /
      w.weights.reduce((a, b) => a + b, 0);
    assertNear(share, 0.090, 5e-4);
    // fixed mode on all rows = reference renormalised to mean 1
    const f = familyWeights(ds.families);
    assertNear(mean(f.weights), 1, 1e-12);
    assertNear(f.weights[singleton], w.weights[singleton] / mean(w.weights), 1e-9);
  },
});
