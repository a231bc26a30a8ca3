/**
 * Element tables for the eight HEA descriptors: per-element bulk modulus, molar volume, melting point, valence
 * electron count, radius and electronegativity, and a symmetric pair mixing-enthalpy matrix. Two sets:
 * - {@link paperTables}: the paper's own tables (`hea/hea_element_lookup.csv`, `hea/hea_mixing_enthalpy_pairs.csv`,
 *   read from the data folder, never embedded). They reproduce `HEA_feature_engineered.csv`, traps included: the
 *   "vac" column is Magpie's NValence (W = 20, Au = 25), the radii are empirical atomic radii, and the pair
 *   enthalpies are not Takeuchi–Inoue (Al–Fe −32.1 kJ/mol).
 * - {@link physicalTables}: the embedded physical table (data/element_properties.ts): group-convention VEC,
 *   12-coordination metallic radii, Takeuchi–Inoue pair enthalpies. Gaps are filled explicitly and listed in
 *   `notes` (see {@link PHYSICAL_FALLBACKS}).
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { readCsvFile } from "./csv.ts";
import {
  elementProperty,
  type ElementPropertyName,
  hasElementProperties,
  mixingEnthalpy,
} from "./element_properties.ts";
import { HEA_TOP30, type HeaResolveOptions, resolveHeaFile } from "./hea_dataset.ts";

/** Per-element property vectors (aligned with `elements`) and the pair enthalpy matrix for the descriptors. */
export interface HeaTables {
  /** `paper` or `physical` (or a caller's own name). */
  name: string;
  /** Element symbols, the column order of the compositions these tables apply to. */
  elements: readonly string[];
  /** Bulk modulus k (GPa). */
  bulkModulus: Float64Array;
  /** Molar volume Vm (cm³/mol). */
  molarVolume: Float64Array;
  /** Melting temperature Tm (K). */
  meltingPoint: Float64Array;
  /** Valence electron count used for VEC. */
  vec: Float64Array;
  /** Atomic radius for δ (pm). */
  radius: Float64Array;
  /** Pauling electronegativity for Δχ. */
  electronegativity: Float64Array;
  /** Pair mixing enthalpies ΔH_ij (kJ/mol), E × E row-major, symmetric, zero diagonal. */
  mixingEnthalpy: Float64Array;
  /** Where values came from and every fallback used. */
  notes: string[];
}

function parseNum(cell: string, file: string, line: number, column: string): number {
  const v = Number(cell.trim());
  if (cell.trim() === "" || !Number.isFinite(v)) {
    throw new UserError(`${file} row ${line}, column ${column}: '${cell}' is not a number`);
  }
  return v;
}

/**
 * The paper's tables from the data folder (`hea_element_lookup.csv` and `hea_mixing_enthalpy_pairs.csv`).
 * @param source a folder (the `hea/` folder or its parent), or resolve options; default: `ALLOY_DATA_DIR/hea`
 *   or the cache (these converted files cannot be downloaded)
 * @param elements the element order (default {@link HEA_TOP30}); every element needs a lookup row and every pair
 *   an enthalpy
 * @throws {UserError} naming the file, row and column of a bad value, or the element or pair that is missing
 */
export async function paperTables(
  source?: string | HeaResolveOptions,
  elements: readonly string[] = HEA_TOP30,
): Promise<HeaTables> {
  const opts: HeaResolveOptions = typeof source === "string" ? { dataPath: source } : source ?? {};
  const lookup = await resolveHeaFile("elementLookup", opts);
  const pairs = await resolveHeaFile("mixingEnthalpyPairs", opts);
  const lt = await readCsvFile(lookup.path);
  const cols = ["element", "tm", "vac", "vm", "chi", "ar", "k"];
  const li = cols.map((c) => {
    const i = lt.header.indexOf(c);
    if (i < 0) throw new UserError(`${lookup.path}: no column '${c}' in the header`);
    return i;
  });
  const rows = new Map<string, number[]>();
  for (const r of lt.records) {
    const el = r.cells[li[0]].trim();
    rows.set(el, cols.slice(1).map((c, k) => parseNum(r.cells[li[k + 1]], lookup.path, r.line, c)));
  }
  const E = elements.length;
  const t = emptyTables("paper", elements);
  elements.forEach((el, i) => {
    const v = rows.get(el);
    if (!v) throw new UserError(`${lookup.path}: no row for element '${el}'`);
    const [tm, vac, vm, chi, ar, k] = v;
    t.meltingPoint[i] = tm, t.vec[i] = vac, t.molarVolume[i] = vm;
    t.electronegativity[i] = chi, t.radius[i] = ar, t.bulkModulus[i] = k;
  });
  const pt = await readCsvFile(pairs.path);
  const pi = ["element_a", "element_b", "dH_mix_kJ_per_mol"].map((c) => {
    const i = pt.header.indexOf(c);
    if (i < 0) throw new UserError(`${pairs.path}: no column '${c}' in the header`);
    return i;
  });
  const index = new Map(elements.map((e, i) => [e, i]));
  const filled = new Uint8Array(E * E);
  for (const r of pt.records) {
    const a = index.get(r.cells[pi[0]].trim()), b = index.get(r.cells[pi[1]].trim());
    if (a === undefined || b === undefined) continue; // a pair outside the requested elements
    const h = parseNum(r.cells[pi[2]], pairs.path, r.line, "dH_mix_kJ_per_mol");
    t.mixingEnthalpy[a * E + b] = t.mixingEnthalpy[b * E + a] = a === b ? 0 : h;
    filled[a * E + b] = filled[b * E + a] = 1;
  }
  for (let a = 0; a < E; a++) {
    for (let b = a + 1; b < E; b++) {
      if (!filled[a * E + b]) {
        throw new UserError(`${pairs.path}: no mixing enthalpy for ${elements[a]}–${elements[b]}`);
      }
    }
  }
  t.notes.push(
    `element values from ${lookup.path} (vac = Magpie NValence; radius = empirical atomic radius)`,
    `pair enthalpies from ${pairs.path} (the paper's table, not Takeuchi–Inoue)`,
  );
  return t;
}

function emptyTables(name: string, elements: readonly string[]): HeaTables {
  const E = elements.length;
  return {
    name,
    elements: Object.freeze([...elements]),
    bulkModulus: new Float64Array(E),
    molarVolume: new Float64Array(E),
    meltingPoint: new Float64Array(E),
    vec: new Float64Array(E),
    radius: new Float64Array(E),
    electronegativity: new Float64Array(E),
    mixingEnthalpy: new Float64Array(E * E),
    notes: [],
  };
}

/**
 * Values used where the embedded physical table has none (only these are filled; any other gap is an error):
 * - bulk modulus of Zr (83.3 GPa) and Os (418 GPa): the experimental room-temperature values tabulated in Kittel,
 *   "Introduction to Solid State Physics" (pymatgen has none for them);
 * - radius: an element without a 12-coordination metallic radius (Si among the top 30) takes its empirical
 *   atomic radius (Si 110 pm).
 */
export const PHYSICAL_FALLBACKS = Object.freeze({
  bulkModulusGPa: Object.freeze({ Zr: 83.3, Os: 418 }) as Readonly<Record<string, number>>,
  radius: "empirical atomic radius where the metallic radius is missing",
});

/** Options for {@link physicalTables}. */
export interface PhysicalTablesOptions {
  /** Radius for δ: `metallic` (12-coordination, default) or `empirical` (the paper's kind). */
  radius?: "metallic" | "empirical";
}

/**
 * The physical table set for `elements` from the embedded element properties: group-convention VEC, pymatgen
 * bulk modulus / molar volume / melting point / Pauling electronegativity, metallic radius, Takeuchi–Inoue pair
 * enthalpies. Gaps are filled as listed in {@link PHYSICAL_FALLBACKS} and recorded in `notes`.
 * @throws {UserError} for an element outside the embedded table or a gap with no documented fallback
 */
export function physicalTables(
  elements: readonly string[] = HEA_TOP30,
  options: PhysicalTablesOptions = {},
): HeaTables {
  const t = emptyTables("physical", elements);
  const E = elements.length;
  const get = (el: string, p: ElementPropertyName, what: string): number => {
    const v = elementProperty(el, p);
    if (v === null) throw new UserError(`physical element table: no ${what} for ${el}`);
    return v;
  };
  const radiusKind = options.radius ?? "metallic";
  elements.forEach((el, i) => {
    if (!hasElementProperties(el)) throw new UserError(`physical element table: no row for element '${el}'`);
    let k = elementProperty(el, "bulkModulusGPa");
    if (k === null) {
      k = PHYSICAL_FALLBACKS.bulkModulusGPa[el];
      if (k === undefined) throw new UserError(`physical element table: no bulk modulus for ${el}`);
      t.notes.push(`bulk modulus of ${el}: ${k} GPa (Kittel; pymatgen has none)`);
    }
    t.bulkModulus[i] = k;
    t.molarVolume[i] = get(el, "molarVolume", "molar volume");
    t.meltingPoint[i] = get(el, "meltingPointK", "melting point");
    t.vec[i] = get(el, "vec", "group-convention VEC");
    t.electronegativity[i] = get(el, "electronegativity", "electronegativity");
    let r = radiusKind === "metallic" ? elementProperty(el, "metallicRadiusPm") : null;
    if (r === null) {
      r = get(el, "atomicRadiusPm", "atomic radius");
      if (radiusKind === "metallic") {
        t.notes.push(`radius of ${el}: empirical atomic radius ${r} pm (no metallic radius)`);
      }
    }
    t.radius[i] = r;
  });
  for (let a = 0; a < E; a++) {
    for (let b = 0; b < E; b++) {
      const h = mixingEnthalpy(elements[a], elements[b]);
      if (h === undefined) {
        throw new UserError(
          `physical element table: no Takeuchi–Inoue enthalpy for ${elements[a]}–${elements[b]}`,
        );
      }
      t.mixingEnthalpy[a * E + b] = h;
    }
  }
  t.notes.unshift(
    `embedded element table (pymatgen/Magpie/matminer); VEC = group convention; radius = ${radiusKind}; ` +
      `pair enthalpies = Takeuchi–Inoue`,
  );
  return t;
}
