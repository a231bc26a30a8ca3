import { fractionRow } from "../../data/composition_table.ts";
import { loadHardnessDataset, loadHardnessFile } from "../../data/hardness.ts";
import { join } from "../../data/paths.ts";
import {
  assertEquals,
  assertNear,
  assertRejectsUserError,
  assertTrue,
  DATA_DIR,
  NO_DATA,
  noteSkip,
  tempDir,
  writeTemp,
} from "./_helpers.ts";

noteSkip("the public hardness dataset checks in hardness_test.ts");

Deno.test({
  name: "hardness: the public dataset has the documented shape",
  ignore: NO_DATA,
  async fn() {
    const ds = await loadHardnessDataset({ dataPath: DATA_DIR });
    assertEquals(ds.sha256, "9e78a8d1aea58566e84c846a86873cf4ae3b1f9a6b23866601565d6482e2de70");
    assertEquals(ds.nRows, 673);
    assertEquals(ds.elementColumns.length, 56);
    assertEquals(ds.elementColumns[0], "Ag");
    assertEquals(ds.elementColumns[55], "Zr");
    assertEquals(ds.units, "fraction");
    assertEquals(ds.notices, []);
    assertEquals(new Set(ds.families).size, 146);
    // family-size histogram from vibann-reference.md §1.1
    const counts = new Map<string, number>();
    for (const f of ds.families) counts.set(f, (counts.get(f) ?? 0) + 1);
    const hist: Record<number, number> = {};
    for (const c of counts.values()) hist[c] = (hist[c] ?? 0) + 1;
    assertEquals(hist, {
      1: 73,
      2: 15,
      3: 15,
      4: 17,
      5: 7,
      6: 3,
      7: 7,
      8: 2,
      9: 1,
      10: 2,
      11: 1,
      12: 1,
      26: 1,
      261: 1,
    });
    const bfenb = ds.families.map((f, i) => f === "B,Fe,Nb" ? i : -1).filter((i) => i >= 0);
    assertEquals(bfenb.length, 261);
    assertEquals(bfenb.filter((i) => ds.properties.Load[i] === 0.01).length, 259);
    // row 0: Al.86 Co.02 Cu.06 Y.06, load 0.245, HV 84.9; file line 2
    assertEquals(ds.families[0], "Al,Co,Cu,Y");
    assertNear(fractionRow(ds, 0)[ds.elementColumns.indexOf("Al")], 0.86, 1e-12);
    assertEquals([ds.properties.HV[0], ds.rowNumbers[0]], [84.9, 2]);
    assertNear(ds.properties.Load[0], 0.245, 1e-8);
    let m = 0;
    for (const v of ds.properties.HV) m += v;
    assertNear(m / 673, 1105.414, 1e-3);
  },
});

Deno.test("hardness: Load and HV are required and positive", async () => {
  const dir = tempDir();
  try {
    const noHv = writeTemp(dir, "a.csv", "Fe,Ni,Load\n0.5,0.5,1\n");
    await assertRejectsUserError(() => loadHardnessFile(noHv), "a.csv", "no column 'HV'");
    const zero = writeTemp(dir, "b.csv", "Fe,Ni,Load,HV\n0.5,0.5,1,100\n0.5,0.5,0,100\n");
    await assertRejectsUserError(() => loadHardnessFile(zero), "b.csv row 3, column 'Load'", "0 is not > 0");
    const ok = await loadHardnessDataset({
      dataPath: writeTemp(dir, "c.csv", "Fe,Ni,Load,HV\n0.5,0.5,1,100\n"),
    });
    assertEquals([ok.nRows, ok.source, ok.families[0]], [1, "flag", "Fe,Ni"]);
    assertTrue(ok.sha256.length === 64);
    await assertRejectsUserError(() => loadHardnessFile(join(dir, "none.csv")), "none.csv: no such file");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
