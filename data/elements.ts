/**
 * The 118 chemical elements, embedded (no file is read at run time): symbol ↔ atomic number look-ups used by the
 * formula parser and the composition-table loader to recognise element columns.
 * @module
 */

/** All 118 element symbols in order of atomic number (`ELEMENT_SYMBOLS[Z - 1]`). */
export const ELEMENT_SYMBOLS: readonly string[] = Object.freeze(
  [
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca",
    "Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr",
    "Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd",
    "Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg",
    "Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm",
    "Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og",
  ].join(" ").split(" "),
);

const Z_OF = new Map<string, number>(ELEMENT_SYMBOLS.map((s, i) => [s, i + 1]));
const LOWER = new Map<string, string>(ELEMENT_SYMBOLS.map((s) => [s.toLowerCase(), s]));

/**
 * Atomic number of an element symbol (case-sensitive, e.g. `"Fe"` → 26).
 * @returns the atomic number, or `undefined` when `symbol` is not an element symbol
 */
export function atomicNumber(symbol: string): number | undefined {
  return Z_OF.get(symbol);
}

/** Whether `name` is exactly an element symbol (`"Fe"` yes; `"fe"`, `"FE"`, `"Load"` no). */
export function isElementSymbol(name: string): boolean {
  return Z_OF.has(name);
}

/**
 * The element symbol that `name` matches when case is ignored (`"fe"` → `"Fe"`), for "did you mean" hints.
 * @returns the correctly cased symbol, or `undefined`
 */
export function elementSymbolIgnoringCase(name: string): string | undefined {
  return LOWER.get(name.trim().toLowerCase());
}

/** Sorts element symbols by atomic number (a new array). */
export function sortByAtomicNumber(symbols: Iterable<string>): string[] {
  return [...symbols].sort((a, b) => (Z_OF.get(a) ?? 999) - (Z_OF.get(b) ?? 999));
}
