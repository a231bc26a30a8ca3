import { compositionTableFromCsv, familyKeys } from "../../data/composition_table.ts";
import { parseCsvText } from "../../data/csv.ts";
import { loadHardnessDataset } from "../../data/hardness.ts";
import { combinedStrata, referenceSplit } from "../../data/reference_split.ts";
import { Rng } from "../../nn/random.ts";
import { assertEquals, assertTrue, DATA_DIR, NO_DATA, noteSkip } from "./_helpers.ts";

noteSkip("the 430/108/135 split of the public dataset in reference_split_test.ts");

function assertThreeWay(s: { train: number[]; calibration: number[]; test: number[] }, n: number) {
  const all = [...s.train, ...s.calibration, ...s.test];
  assertEquals(new Set(all).size, all.length, "disjoint");
  assertEquals(all.length, n, "covers every row");
}

Deno.test("reference split: combined strata merge rare labels", () => {
  const strata = combinedStrata([0, 0, 0, 0, 0, 1, 1], ["A", "A", "A", "A", "A", "A", "B"], 5);
  assertEquals(strata, ["0|A", "0|A", "0|A", "0|A", "0|A", "RARE", "RARE"]);
});

Deno.test("reference split: synthetic table — sizes, disjointness, determinism", () => {
  const rng = new Rng(4);
  const lines = ["Fe,Ni,Co,B"];
  for (let i = 0; i < 120; i++) {
    const v = [
      rng.uniform(),
      rng.uniform(),
      i % 3 === 0 ? 0 : rng.uniform(),
      i % 4 === 0 ? rng.uniform() : 0,
    ];
    const s = v.reduce((a, b) => a + b);
    lines.push(v.map((x) => (x / s).toFixed(17)).join(","));
  }
  const t = compositionTableFromCsv(parseCsvText(lines.join("\n"), "syn.csv"));
  const fam = familyKeys(t);
  const s = referenceSplit(t, fam, { seed: 3, nInit: 2 });
  assertEquals([s.train.length, s.calibration.length, s.test.length], [76, 20, 24]); // ⌈24⌉, ⌈0.2·96⌉ = 20
  assertThreeWay(s, 120);
  assertEquals(referenceSplit(t, fam, { seed: 3, nInit: 2 }), s);
});

Deno.test({
  name: "reference split: 430 / 108 / 135 on the public dataset, seeded and reproducible",
  ignore: NO_DATA,
  async fn() {
    const ds = await loadHardnessDataset({ dataPath: DATA_DIR });
    const s = referenceSplit(ds, ds.families);
    assertEquals([s.train.length, s.calibration.length, s.test.length], [430, 108, 135]);
    assertThreeWay(s, 673);
    const counts = new Map<string, number>();
    for (const x of s.strata) counts.set(x, (counts.get(x) ?? 0) + 1);
    for (const [k, c] of counts) assertTrue(k === "RARE" || c >= 5, `${k} has ${c} rows`);
    assertEquals(new Set(s.clusters).size, 4);
    const again = referenceSplit(ds, ds.families);
    assertEquals([again.train, again.calibration, again.test], [s.train, s.calibration, s.test]);
    const other = referenceSplit(ds, ds.families, { seed: 2 });
    assertTrue(JSON.stringify(other.test) !== JSON.stringify(s.test));
  },
});
