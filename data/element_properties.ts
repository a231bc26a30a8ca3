/**
 * Element properties embedded in the module (data/element_table.ts, generated from public MIT / BSD tables), so
 * a compiled binary needs no data files: radii, electronegativity, valence electrons, melting point, moduli,
 * molar volume, cohesive energy, Miedema parameters, and Takeuchi–Inoue pair mixing enthalpies. Missing values
 * are `null`, never 0 or NaN: every caller decides explicitly how to fill them.
 * @module
 */
import { ELEMENT_COLUMNS, ELEMENT_ROWS, MIXING_ENTHALPY_PAIRS } from "./element_table.ts";

/** A property name of the embedded table. */
export type ElementPropertyName = Exclude<(typeof ELEMENT_COLUMNS)[number], "Z">;

/**
 * What each property is, with its unit: `meltingPointK` is pymatgen's (empty for P; Magpie's is
 * `meltingPointKMagpie`), `vec` is the group-number convention of the HEA literature (null for U),
 * `valenceElectrons` is Magpie's NValence (counts filled d/f shells, W = 20), `bulkModulusGPa` is pymatgen's
 * (null for Ga, Ge, Sr, Zr, In, Os).
 */
export const ELEMENT_PROPERTY_UNITS: Readonly<Record<ElementPropertyName, string>> = Object.freeze({
  atomicMass: "u",
  atomicRadiusPm: "pm (empirical)",
  metallicRadiusPm: "pm (12-coordination)",
  miracleRadiusPm: "pm (Miracle 2010, metallic glasses)",
  electronegativity: "Pauling",
  vec: "electrons (group convention)",
  valenceElectrons: "electrons (Magpie NValence)",
  meltingPointK: "K",
  meltingPointKMagpie: "K",
  bulkModulusGPa: "GPa",
  shearModulusGPa: "GPa",
  molarVolume: "cm³/mol",
  density: "g/cm³",
  cohesiveEnergyEv: "eV/atom",
  miedemaMolarVolume: "cm³ (Miedema)",
  miedemaNws13: "(d.u.)^1/3 (Miedema n_ws^1/3)",
  miedemaPhi: "V (Miedema φ*)",
});

const INDEX = new Map<string, readonly (number | null)[]>(ELEMENT_ROWS.map(([s, ...v]) => [s, v]));
const COLUMN = new Map<string, number>(ELEMENT_COLUMNS.map((c, i) => [c, i]));

/** Symbols of the elements in the embedded table (57: the hardness dataset's 56 plus Os), by atomic number. */
export const TABLE_ELEMENTS: readonly string[] = Object.freeze(ELEMENT_ROWS.map((r) => r[0]));

/** Whether the embedded table has a row for `symbol`. */
export function hasElementProperties(symbol: string): boolean {
  return INDEX.has(symbol);
}

/** One property of one element, or null when the sources give none. Throws RangeError for an unknown element. */
export function elementProperty(symbol: string, name: ElementPropertyName): number | null {
  const row = INDEX.get(symbol);
  if (!row) {
    throw new RangeError(`no element properties for '${symbol}' (table has ${TABLE_ELEMENTS.join(" ")})`);
  }
  return row[COLUMN.get(name)!];
}

/** A property for a list of elements (aligned with `symbols`); missing values are null. */
export function propertyVector(symbols: readonly string[], name: ElementPropertyName): (number | null)[] {
  return symbols.map((s) => elementProperty(s, name));
}

const PAIRS = new Map<string, number>();
for (const line of MIXING_ENTHALPY_PAIRS.split("\n")) {
  const [a, b, h] = line.trim().split(" ");
  if (!a) continue;
  PAIRS.set(`${a} ${b}`, Number(h));
  PAIRS.set(`${b} ${a}`, Number(h));
}

/**
 * Takeuchi–Inoue mixing enthalpy ΔH_AB (kJ/mol, Miedema model, liquid, equiatomic) of a pair; 0 for A = B;
 * undefined when the table has no value.
 */
export function mixingEnthalpy(a: string, b: string): number | undefined {
  if (a === b) return 0;
  return PAIRS.get(`${a} ${b}`);
}

/** Symmetric pair-enthalpy matrix [n × n] (row-major, zero diagonal) for `symbols`; throws on a missing pair. */
export function mixingEnthalpyMatrix(symbols: readonly string[]): Float64Array {
  const n = symbols.length, m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const h = mixingEnthalpy(symbols[i], symbols[j]);
      if (h === undefined) throw new RangeError(`no mixing enthalpy for ${symbols[i]}–${symbols[j]}`);
      m[i * n + j] = h;
    }
  }
  return m;
}
