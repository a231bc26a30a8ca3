/**
 * Per-element property features for element-token models: a constant [E, P] matrix over a model's element list
 * from the embedded element table (data/element_properties.ts). Each property is standardised over the model's
 * elements; a missing value is written as 0 (the column mean) and flagged in its own 0/1 indicator column, so
 * "unknown" is explicit rather than silently equal to an average element.
 * @module
 */
import {
  elementProperty,
  type ElementPropertyName,
  hasElementProperties,
} from "../../data/element_properties.ts";

/** A feature: the property, and an optional fallback used (and flagged) where the first is missing. */
interface FeatureSpec {
  name: string;
  primary: ElementPropertyName;
  fallback?: ElementPropertyName;
}

/** The features of an element token (radius, electronegativity, VEC, melting point, moduli, volume, …). */
export const ELEMENT_FEATURES: readonly FeatureSpec[] = [
  { name: "metallic_radius", primary: "metallicRadiusPm", fallback: "atomicRadiusPm" },
  { name: "miracle_radius", primary: "miracleRadiusPm" },
  { name: "electronegativity", primary: "electronegativity" },
  { name: "vec", primary: "vec", fallback: "valenceElectrons" },
  { name: "melting_point", primary: "meltingPointK", fallback: "meltingPointKMagpie" },
  { name: "bulk_modulus", primary: "bulkModulusGPa" },
  { name: "shear_modulus", primary: "shearModulusGPa" },
  { name: "molar_volume", primary: "molarVolume" },
  { name: "cohesive_energy", primary: "cohesiveEnergyEv" },
  { name: "atomic_mass", primary: "atomicMass" },
  { name: "miedema_phi", primary: "miedemaPhi" },
  { name: "miedema_nws13", primary: "miedemaNws13" },
];

/** The feature matrix and its column names. */
export interface ElementFeatureMatrix {
  /** Row-major [E, P]. */
  values: Float32Array;
  /** Column names (features, then `<feature>_missing` indicators for features with any gap). */
  columns: string[];
}

/** Builds the standardised [E, P] feature matrix (with missing-value indicators) for `symbols`. */
export function elementFeatureMatrix(symbols: readonly string[]): ElementFeatureMatrix {
  const E = symbols.length;
  const cols: { name: string; v: (number | null)[] }[] = [];
  const flags: { name: string; v: number[] }[] = [];
  for (const f of ELEMENT_FEATURES) {
    const v: (number | null)[] = [], missing: number[] = [];
    for (const s of symbols) {
      let x: number | null = null, miss = 1;
      if (hasElementProperties(s)) {
        x = elementProperty(s, f.primary);
        if (x !== null) miss = 0;
        else if (f.fallback) x = elementProperty(s, f.fallback);
      }
      v.push(x);
      missing.push(miss);
    }
    // Standardise over the available values; a column with fewer than 2 values carries no information.
    const have = v.filter((x): x is number => x !== null);
    const mean = have.reduce((a, b) => a + b, 0) / Math.max(1, have.length);
    const sd = Math.sqrt(have.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, have.length)) || 1;
    cols.push({ name: f.name, v: v.map((x) => (x === null ? 0 : (x - mean) / sd)) });
    if (missing.some((m) => m)) flags.push({ name: `${f.name}_missing`, v: missing });
  }
  const all = [...cols.map((c) => ({ name: c.name, v: c.v as number[] })), ...flags];
  const P = all.length, values = new Float32Array(E * P);
  all.forEach((c, j) => c.v.forEach((x, i) => (values[i * P + j] = x)));
  return { values, columns: all.map((c) => c.name) };
}
