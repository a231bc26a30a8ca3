/**
 * Exact integer atom counts for a simulation cell from an alloy composition.
 *
 * Amount tables (a candidates.csv row, the reference's comp.csv) are accepted in at.% or as fractions and
 * CHECKED: the amounts must sum to 100 ± 0.01 (at.%) or 1 ± 1e-4 (fractions); anything else is a
 * {@link UserError} (the reference multiplied at.% by the atom count as if they were fractions — §10 of the
 * reference notes). Formulas are parsed by data/formula.ts, whose amounts are normalised by definition.
 *
 * Counts use largest-remainder rounding, so they sum to exactly N and each differs from its exact share f·N
 * by less than one atom. Ties between remainders (equal up to 1e-9, so at.% and fractions round alike) go to
 * the lower atomic number; elements are kept in atomic-number order throughout, so the result never depends
 * on the column or formula order. An element with a positive amount whose count rounds to 0 is listed in
 * `dropped`.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { atomicNumber, elementSymbolIgnoringCase, isElementSymbol } from "../data/elements.ts";
import { parseFormula } from "../data/formula.ts";

/** How the amounts of a composition were given. */
export type AmountUnit = "at.%" | "fraction" | "formula";

/**
 * A checked composition: elements with a positive amount (atomic-number order) and their fractions (sum 1).
 */
export interface Composition {
  elements: string[];
  fractions: number[];
  unit: AmountUnit;
}

/** Atom counts for one cell. */
export interface AtomCounts {
  /** Total number of atoms (= the sum of `counts`). */
  total: number;
  /** Elements of the composition in atomic-number order (including dropped ones). */
  elements: string[];
  /** Target fraction of each element. */
  fractions: number[];
  /** Exact share fraction · total of each element (not an integer in general). */
  exact: number[];
  /** Integer count of each element; sums to `total`, |count − exact| < 1. */
  counts: number[];
  /** Elements with a positive amount whose count rounded to 0. */
  dropped: string[];
}

/** Sum tolerance for at.% amounts. */
export const PERCENT_TOLERANCE = 0.01;
/** Sum tolerance for fractional amounts. */
export const FRACTION_TOLERANCE = 1e-4;

function byAtomicNumber(a: string, b: string): number {
  return atomicNumber(a)! - atomicNumber(b)!;
}

/**
 * Checks an amount table and turns it into fractions. Zero amounts are left out.
 * @param amounts `{symbol: amount}` or `[symbol, amount]` pairs, in at.% or fractions
 * @param where what the amounts are, for messages (e.g. `"candidates.csv row 3"`)
 * @throws {UserError} naming `where` for an unknown symbol, a repeated element, a negative or non-finite
 *   amount, or a sum that is neither 100 ± 0.01 nor 1 ± 1e-4
 */
export function compositionFromAmounts(
  amounts: Record<string, number> | Iterable<[string, number]>,
  where: string,
): Composition {
  const pairs: [string, number][] = Symbol.iterator in amounts
    ? [...(amounts as Iterable<[string, number]>)]
    : Object.entries(amounts);
  const seen = new Set<string>();
  let sum = 0;
  for (const [el, v] of pairs) {
    if (!isElementSymbol(el)) {
      const hint = elementSymbolIgnoringCase(el);
      throw new UserError(
        `${where}: '${el}' is not an element symbol${hint ? ` (did you mean ${hint}?)` : ""}`,
      );
    }
    if (seen.has(el)) throw new UserError(`${where}: element ${el} appears twice`);
    seen.add(el);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new UserError(`${where}: the amount of ${el} must be a finite number ≥ 0, got '${v}'`);
    }
    sum += v;
  }
  let unit: AmountUnit;
  if (Math.abs(sum - 100) <= PERCENT_TOLERANCE) unit = "at.%";
  else if (Math.abs(sum - 1) <= FRACTION_TOLERANCE) unit = "fraction";
  else {
    throw new UserError(
      `${where}: the amounts sum to ${+sum.toPrecision(8)}; expected 100 ± ${PERCENT_TOLERANCE} (at.%) or ` +
        `1 ± ${FRACTION_TOLERANCE} (fractions)`,
    );
  }
  const kept = pairs.filter(([, v]) => v > 0).sort((a, b) => byAtomicNumber(a[0], b[0]));
  return { elements: kept.map(([e]) => e), fractions: kept.map(([, v]) => v / sum), unit };
}

/**
 * A composition from a formula (`B68Fe4Nb24W4`, `(Fe0.5Co0.5)80B20`, …); the formula's amounts are
 * normalised.
 * @throws {UserError} as data/formula.ts `parseFormula`
 */
export function compositionFromFormula(text: string): Composition {
  const p = parseFormula(text);
  const order = p.elements.map((_, i) => i).sort((i, j) => byAtomicNumber(p.elements[i], p.elements[j]));
  return {
    elements: order.map((i) => p.elements[i]),
    fractions: order.map((i) => p.fractions[i]),
    unit: "formula",
  };
}

/**
 * Integer atom counts for `total` atoms by largest-remainder rounding (see the module doc).
 * @throws {UserError} when `total` is not a whole number ≥ 1 or the composition is empty
 * @example
 * ```ts
 * atomCounts(compositionFromFormula("B68Fe4Nb24W4"), 5488).counts; // [3732, 220, 1317, 219]
 * ```
 */
export function atomCounts(c: Composition, total: number): AtomCounts {
  if (!Number.isInteger(total) || total < 1) {
    throw new UserError(`the atom count must be a whole number ≥ 1, got ${total}`);
  }
  if (c.elements.length === 0) throw new UserError("the composition has no element with a positive amount");
  const s = c.fractions.reduce((a, b) => a + b, 0);
  const exact = c.fractions.map((f) => (f / s) * total);
  const counts = exact.map((x) => {
    const f = Math.floor(x);
    return x - f > 1 - 1e-9 ? f + 1 : f; // 219.99999999999997 is 220
  });
  let left = total - counts.reduce((a, b) => a + b, 0);
  // Remainders quantised to 1e-9 so representation noise cannot break a tie; ties go to the lower atomic
  // number (the elements are already in that order, so the index decides).
  const rem = exact.map((x, i) => Math.round((x - counts[i]) * 1e9));
  const order = exact.map((_, i) => i).sort((a, b) => rem[b] - rem[a] || a - b);
  for (let k = 0; left > 0; k++, left--) counts[order[k % order.length]]++;
  for (let k = order.length - 1; left < 0; k = (k + order.length - 1) % order.length) {
    if (counts[order[k]] > 0) counts[order[k]]--, left++;
  }
  return {
    total,
    elements: [...c.elements],
    fractions: c.fractions.map((f) => f / s),
    exact,
    counts,
    dropped: c.elements.filter((_, i) => counts[i] === 0),
  };
}
