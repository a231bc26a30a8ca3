/**
 * Standard atomic weights (g/mol = amu, LAMMPS `metal` mass units) of the 118 elements, for the `mass` lines
 * of generated LAMMPS decks. Values: IUPAC/CIAAW conventional or abridged standard atomic weights; for
 * elements without stable isotopes, the mass number of a long-lived isotope (Tc 98, Pm 145, Po 209, …).
 * data/elements.ts holds symbols and atomic numbers only, so the masses live here until they move there.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { ELEMENT_SYMBOLS } from "../data/elements.ts";

/** Masses in order of atomic number (`MASSES[Z - 1]`), aligned with `ELEMENT_SYMBOLS`. */
const MASSES: readonly number[] = [
  1.008,
  4.002602,
  6.94,
  9.0121831,
  10.81,
  12.011,
  14.007,
  15.999,
  18.998403163,
  20.1797, // H–Ne
  22.98976928,
  24.305,
  26.9815384,
  28.085,
  30.973761998,
  32.06,
  35.45,
  39.95,
  39.0983,
  40.078, // Na–Ca
  44.955908,
  47.867,
  50.9415,
  51.9961,
  54.938043,
  55.845,
  58.933194,
  58.6934,
  63.546,
  65.38, // Sc–Zn
  69.723,
  72.63,
  74.921595,
  78.971,
  79.904,
  83.798,
  85.4678,
  87.62,
  88.90584,
  91.224, // Ga–Zr
  92.90637,
  95.95,
  98,
  101.07,
  102.90549,
  106.42,
  107.8682,
  112.414,
  114.818,
  118.71, // Nb–Sn
  121.76,
  127.6,
  126.90447,
  131.293,
  132.90545196,
  137.327,
  138.90547,
  140.116,
  140.90766,
  144.242, // Sb–Nd
  145,
  150.36,
  151.964,
  157.25,
  158.925354,
  162.5,
  164.930328,
  167.259,
  168.934218,
  173.045, // Pm–Yb
  174.9668,
  178.49,
  180.94788,
  183.84,
  186.207,
  190.23,
  192.217,
  195.084,
  196.96657,
  200.592, // Lu–Hg
  204.38,
  207.2,
  208.9804,
  209,
  210,
  222,
  223,
  226,
  227,
  232.0377, // Tl–Th
  231.03588,
  238.02891,
  237,
  244,
  243,
  247,
  247,
  251,
  252,
  257, // Pa–Fm
  258,
  259,
  266,
  267,
  268,
  269,
  270,
  277,
  278,
  281, // Md–Ds
  282,
  285,
  286,
  289,
  290,
  293,
  294,
  294, // Rg–Og
];

if (MASSES.length !== ELEMENT_SYMBOLS.length) throw new Error("atomic_masses: table length mismatch");

const MASS_OF = new Map<string, number>(ELEMENT_SYMBOLS.map((s, i) => [s, MASSES[i]]));

/**
 * Standard atomic weight of an element (g/mol), e.g. `atomicMass("Fe")` → 55.845.
 * @throws {UserError} when `symbol` is not an element symbol
 */
export function atomicMass(symbol: string): number {
  const m = MASS_OF.get(symbol);
  if (m === undefined) throw new UserError(`unknown element symbol '${symbol}' (no atomic mass)`);
  return m;
}
