/**
 * The metallic-glass sources (data/bmg_dataset.ts): each source's labels from small inline files, bad rows skipped
 * with file and line (never a crash), the normalised composition key, deduplication across sources with the
 * conflict rules, the thermal sets; and, with the real data, the counts (≥ 7000 deduplicated compositions) and the
 * malformed formula in bajpai_mg_ca_classification.csv line 1306 skipped and reported.
 */
import { assertEquals, assertRejectsUserError, assertTrue, DATA_DIR, NO_DATA, noteSkip } from "./_helpers.ts";
import {
  baseElement,
  bmgThermalSets,
  compositionKey,
  dedupBmg,
  fractionMatrix,
  loadBmgSources,
  parseBmgSource,
  parseBmgSourceList,
} from "../../data/bmg_dataset.ts";
import { assertUserError } from "./_helpers.ts";

noteSkip("the real metallic-glass data test");

Deno.test("each source's labels; bad rows are skipped with their line", () => {
  const forrest = parseBmgSource(
    "forrest",
    "composition,Dmax,GFA,Tg,Tx,Tl\nCu50Zr50,2,BMG,670,720,1200\nCu60Zr40,0,Crystal,,,\n" +
      "Fe80B20,0.02,Ribbon,,,\nXx50Cu50,0,Crystal,,,\nCu50Zr50,1,Glassy,,,\n",
    "f.csv",
  );
  assertEquals(forrest.records.map((r) => [r.key, r.glass, r.line]), [
    ["Cu50Zr50", true, 2],
    ["Cu60Zr40", false, 3],
    ["B20Fe80", true, 4],
  ]);
  assertEquals(forrest.records[0].tg, 670);
  assertEquals(forrest.skipped.map((s) => s.line), [5, 6]);
  assertTrue(forrest.skipped[1].reason.includes("Glassy"));

  const dmref = parseBmgSource(
    "dmref",
    "Composition,Is_Amorphous?,Tg_[K],Tx_[K],Tl_[K],Dmax_[mm]\nCu50Zr50,AM,,,,\nCu64Zr36,AC,,,,\n" +
      'Al90La10,QC,,,,\nNi60Nb40,OT,,,,\nPd40Ni40P20,,580,,,\nMg65Cu25Y10,,,,,\nZr50Cu50,"AM, CR",,,,\n',
    "d.csv",
  );
  assertEquals(dmref.records.map((r) => [r.line, r.glass]), [[2, true], [3, false], [4, false], [6, true], [
    8,
    true,
  ]]);
  assertEquals(dmref.skipped.map((s) => s.line), [5, 7]);
  // thin films and milled powders say nothing about glass formation from the melt
  const cast = parseBmgSource(
    "dmref",
    "Composition,Is_Amorphous?,Casting,Tg_[K],Tx_[K],Tl_[K],Dmax_[mm]\nCu50Zr50,AM,Melt Spinning,,,,\n" +
      "Cu20Zr80,AM,Deposition,,,,\nCu90Zr10,AM,Mechanical,,,,\n",
    "d.csv",
  );
  assertEquals(cast.records.map((r) => r.line), [2]);
  assertEquals(cast.skipped.map((s) => s.line), [3, 4]);
  assertTrue(cast.skipped[0].reason.includes("Deposition"));

  const ward = parseBmgSource(
    "ward",
    "material_id,composition,gfa_type,D_max,dTx,Unnamed: 4,comment\nw1,Cu50Zr50,BMG,2,,,\nw2,Cu90Zr10,,0,,,\n" +
      "w3,Cu50Zr50Q,,0,,,invalid formula\n",
    "w.csv",
  );
  assertEquals(ward.records.map((r) => r.glass), [true, false]);
  assertEquals(ward.skipped.map((s) => s.line), [4]);

  // the two malformed formulas of the real Bajpai file
  const bajpai = parseBmgSource(
    "bajpai",
    "Alloys,Class\nZr41Ti14Cu12.5Ni2Be22.5C8[,MG\nZr65Cu17.5Ni10Al7.5,MG\nFe73.5B14.7Si9.8Nbz,CA\nCu60Zr40,CA\n",
    "b.csv",
  );
  assertEquals(bajpai.records.map((r) => [r.key, r.glass]), [["Al7.5Cu17.5Ni10Zr65", true], [
    "Cu60Zr40",
    false,
  ]]);
  assertEquals(bajpai.skipped.map((s) => s.line), [2, 4]);
  assertTrue(bajpai.skipped[0].reason.includes("Zr41Ti14Cu12.5Ni2Be22.5C8["), bajpai.skipped[0].reason);

  const thermal = parseBmgSource(
    "bajpai_thermal",
    "Cu,Zr,Al,Heating_Rate,T_g,T_x,T_l\n46,46,8,20,700,780,1150\n40,40,0,20,650,700,1100\n50,50,0,20,,700,1200\n",
    "t.csv",
  );
  assertEquals(thermal.records.map((r) => [r.key, r.tl]), [["Al8Cu46Zr46", 1150]]);
  assertEquals(thermal.skipped.map((s) => s.line), [3, 4]);
  assertTrue(thermal.skipped[0].reason.includes("sum to 80"));

  assertUserError(() => parseBmgSource("ward", "composition,x\nCu50Zr50,1\n", "w.csv"), "w.csv", "gfa_type");
});

Deno.test("composition key: alphabetical at.% rounded to 0.1, equal for equal alloys written differently", () => {
  const k = (f: string) => {
    const r = parseBmgSource("bajpai", `Alloys,Class\n${f},MG\n`, "x.csv").records[0];
    return r.key;
  };
  assertEquals(k("Zr50Cu50"), "Cu50Zr50");
  assertEquals(k("Cu0.5Zr0.5"), "Cu50Zr50");
  assertEquals(k("(Cu50Zr50)92Al8"), "Al8Cu46Zr46");
  assertEquals(k("Cu46Zr46Al8"), k("Al8Zr46Cu46"));
  assertEquals(compositionKey(["Fe", "B"], [2 / 3, 1 / 3]), "B33.3Fe66.7");
});

Deno.test("dedup across sources: majority (ties glass) or any-glass; sorted keys; fraction matrix", () => {
  const a = parseBmgSource(
    "forrest",
    "composition,Dmax,GFA,Tg,Tx,Tl\nCu50Zr50,2,BMG,,,\nCu64Zr36,0,Crystal,,,\n",
    "f",
  );
  const b = parseBmgSource(
    "bajpai",
    "Alloys,Class\nZr50Cu50,CA\nCu64Zr36,CA\nZr64Cu36,MG\nCu36Zr64,CA\n",
    "b",
  );
  const recs = [...a.records, ...b.records];
  const m = dedupBmg(recs);
  assertEquals(m.compositions.map((c) => [c.key, c.glass, c.glassVotes, c.crystalVotes]), [
    ["Cu36Zr64", true, 1, 1], // tie → glass
    ["Cu50Zr50", true, 1, 1],
    ["Cu64Zr36", false, 0, 2],
  ]);
  assertEquals(m.duplicates, 3);
  assertEquals(m.conflicts, 2);
  assertEquals(m.compositions[1].sources, ["forrest", "bajpai"]);
  assertEquals(m.compositions[0].system, "Cu-Zr");
  assertEquals(dedupBmg([...b.records, ...a.records]).compositions, m.compositions, "independent of order");
  const anyGlass = dedupBmg(recs, "any-glass");
  assertEquals(anyGlass.compositions.map((c) => c.glass), [true, true, false]);
  const fm = fractionMatrix(m.compositions, ["Cu", "Zr"]);
  assertEquals(Array.from(fm), [0.36, 0.64, 0.5, 0.5, 0.64, 0.36]);
  assertUserError(() => fractionMatrix(m.compositions, ["Cu"]), "Zr");
});

Deno.test("thermal sets: base element, Tg < Tx < Tl, duplicates averaged", () => {
  const t = parseBmgSource(
    "forrest",
    "composition,Dmax,GFA,Tg,Tx,Tl\nZr65Cu35,1,BMG,650,700,1200\nCu35Zr65,1,BMG,660,710,1220\n" +
      "La60Al40,1,BMG,500,480,900\nCu60Zr40,1,BMG,700,750,1150\n",
    "f",
  );
  const s = bmgThermalSets(t.records);
  assertEquals(s.sets.Zr.map((c) => [c.key, c.tg, c.tl, c.rows]), [["Cu35Zr65", 655, 1210, 2]]);
  assertEquals(s.sets.La, []);
  assertEquals(s.inconsistent.map((r) => r.line), [4]);
  assertEquals(baseElement(["Cu", "Zr"], [0.5, 0.5]), "Cu");
  assertEquals(parseBmgSourceList("ward,forrest"), ["ward", "forrest"]);
  assertUserError(() => parseBmgSourceList("wards"), "--sources", "wards");
});

Deno.test({
  name: "real data: ≥ 7000 deduplicated compositions, bajpai line 1306 skipped and reported",
  ignore: NO_DATA,
  async fn() {
    const s = await loadBmgSources({ dataDir: DATA_DIR });
    const bad = s.skipped.find((r) => r.source === "bajpai" && r.line === 1306);
    assertTrue(bad !== undefined && bad.reason.includes("Zr41Ti14Cu12.5Ni2Be22.5C8["), JSON.stringify(bad));
    const d = dedupBmg(s.records);
    assertTrue(d.compositions.length >= 7000, `${d.compositions.length} compositions`);
    const glass = d.compositions.filter((c) => c.glass).length / d.compositions.length;
    assertTrue(glass > 0.6 && glass < 0.8, `glass share ${glass}`);
    assertEquals(new Set(d.compositions.map((c) => c.key)).size, d.compositions.length);
    const ward = await loadBmgSources({ dataDir: DATA_DIR, sources: ["ward"] });
    assertEquals(ward.skipped.filter((r) => r.reason.includes("invalid formula")).length, 6);
  },
});

Deno.test("a missing data folder is a user error naming it", async () => {
  await assertRejectsUserError(() => loadBmgSources({ dataDir: "/nonexistent/bmg" }), "/nonexistent/bmg");
});
