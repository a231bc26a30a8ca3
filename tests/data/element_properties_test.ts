import assert from "node:assert/strict";
import { assertEquals, DATA_DIR } from "./_helpers.ts";
import {
  elementProperty,
  mixingEnthalpy,
  mixingEnthalpyMatrix,
  TABLE_ELEMENTS,
} from "../../data/element_properties.ts";
import { parse } from "csv-parse";

Deno.test("element properties: published values and explicit gaps", () => {
  assertEquals(TABLE_ELEMENTS.length, 57);
  assertEquals(elementProperty("Fe", "electronegativity"), 1.83);
  assertEquals(elementProperty("W", "valenceElectrons"), 20);
  assertEquals(elementProperty("W", "vec"), 6);
  assertEquals(elementProperty("Zr", "bulkModulusGPa"), null);
  assertEquals(elementProperty("U", "vec"), null);
  assert.throws(() => elementProperty("Xx", "density"), RangeError);
  // Takeuchi & Inoue (2005) Table: Al–Fe −11, Fe–Ni −2, Cu–Zr −23, Ni–Zr −49; symmetric; zero diagonal.
  assertEquals(mixingEnthalpy("Al", "Fe"), -11);
  assertEquals(mixingEnthalpy("Fe", "Al"), -11);
  assertEquals(mixingEnthalpy("Ni", "Zr"), -49);
  assertEquals(mixingEnthalpy("Zr", "Cu"), -23);
  assertEquals(mixingEnthalpy("Cu", "Cu"), 0);
  const m = mixingEnthalpyMatrix(["Fe", "Ni", "Cr"]);
  assertEquals([m[0], m[1], m[3], m[4]], [0, -2, -2, 0]);
});

const dir = DATA_DIR;
Deno.test({
  name: "element properties: the embedded table equals the public tables of the data folder",
  ignore: !dir,
  fn: () => {
    const rows = parse(Deno.readTextFileSync(`${dir}/elements/element_properties_curated.csv`), {
      columns: true,
    }) as Record<string, string>[];
    const num = (s: string) => (s === "" ? null : Number(s));
    assertEquals(rows.map((r) => r.symbol), [...TABLE_ELEMENTS]);
    for (const r of rows) {
      assertEquals(elementProperty(r.symbol, "metallicRadiusPm"), num(r.metallic_radius_pm), r.symbol);
      assertEquals(elementProperty(r.symbol, "meltingPointK"), num(r.melting_point_K_pymatgen), r.symbol);
      assertEquals(
        elementProperty(r.symbol, "cohesiveEnergyEv"),
        num(r.cohesive_energy_eV_per_atom),
        r.symbol,
      );
    }
    let n = 0;
    for (
      const line of Deno.readTextFileSync(`${dir}/elements/matminer_MiedemaLiquidDeltaHf.tsv`).split("\n")
    ) {
      const [a, b, h] = line.trim().split(/\s+/);
      if (TABLE_ELEMENTS.includes(a) && TABLE_ELEMENTS.includes(b)) {
        assertEquals(mixingEnthalpy(a, b), Number(h), `${a}-${b}`);
        n++;
      }
    }
    assertEquals(n, 1596);
  },
});
