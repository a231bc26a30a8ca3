/**
 * Composition constraints for inverse design, over a model's element list: the simplex, an element whitelist
 * (`--elements`), excluded elements (`--exclude`), a maximum number of elements (`--max-elements`), a minimum
 * fraction per present element (`--min-fraction`) and rounding to an at.% grid (`precision`, e.g. 0.1 at.%) whose
 * rounded values sum to exactly 100 at.%.
 *
 * {@link CompositionConstraints.constrain} projects any vector (e.g. a decoder output) onto the feasible set;
 * {@link CompositionConstraints.violations} lists every constraint a vector breaks (the exporter asserts it is empty
 * for every row). Units: compositions are atomic fractions (sum 1); `minFraction` is a fraction too (0.005 =
 * 0.5 at.%); only `precision` is in at.%.
 *
 * Feasibility: the set is never empty — a single allowed element at 100 at.% satisfies every constraint. When
 * `minFraction` leaves room for fewer elements than `maxElements` asks for (at most ⌊100 / m⌋ elements of at least
 * m at.% each on the grid), the projection keeps fewer elements ({@link CompositionConstraints.maxFeasibleElements}
 * says how many); when it admits only pure elements (`minFraction` > 0.5) and `maxElements` is not 1, the options are
 * rejected as a {@link UserError}.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { elementSymbolIgnoringCase, isElementSymbol } from "../data/elements.ts";
import { formatFormula, largestRemainder } from "../data/formula.ts";

/** Default rounding step of exported compositions, in at.%. */
export const DEFAULT_PRECISION_AT_PCT = 0.1;

/** Tolerance of the checker on fractions (sums, minimum fraction) and on grid membership (in grid units). */
const TOL = 1e-9;

/** Options of {@link CompositionConstraints}; all optional (no option = simplex + rounding to 0.1 at.%). */
export interface CompositionConstraintOptions {
  /** Whitelist (`--elements`): only these elements may be present. Symbols are case-sensitive (`Fe`, not `fe`). */
  elements?: readonly string[];
  /** Excluded elements (`--exclude`), e.g. toxic or costly ones; applied after the whitelist. */
  exclude?: readonly string[];
  /** At most this many elements present (`--max-elements`, a whole number ≥ 1). */
  maxElements?: number;
  /** Every present element has at least this atomic fraction (`--min-fraction`, in [0, 1]; 0.005 = 0.5 at.%). */
  minFraction?: number;
  /**
   * Rounding step in at.% (default {@link DEFAULT_PRECISION_AT_PCT}): a positive step with at most 6 decimals that
   * divides 100 (0.1, 0.25, 0.5, 1, 2.5, …), so the grid contains 100.
   */
  precision?: number;
}

/** Which constraint a {@link ConstraintViolation} breaks. */
export type ConstraintKind =
  | "length"
  | "finite"
  | "negative"
  | "sum"
  | "disallowed"
  | "max-elements"
  | "min-fraction"
  | "grid";

/** One violated constraint of one composition. */
export interface ConstraintViolation {
  kind: ConstraintKind;
  /** The element concerned, when there is one. */
  element?: string;
  /** One line saying what is wrong, e.g. `Pb is excluded but has 2.5 at.%`. */
  message: string;
}

/** A violation located in a batch of rows ({@link CompositionConstraints.rowViolations}). */
export interface RowViolation extends ConstraintViolation {
  row: number;
}

/**
 * Splits a list flag value (`"Fe,Co, Ni"`, `"Fe Co Ni"` or repeated flags) into trimmed, non-empty items.
 * @example
 * ```ts
 * splitElementList(["Fe,Co", " Ni "]); // ["Fe", "Co", "Ni"]
 * ```
 */
export function splitElementList(value: string | readonly string[]): string[] {
  const items = typeof value === "string" ? [value] : value;
  return items.flatMap((s) => s.split(/[,\s]+/)).filter((s) => s !== "");
}

/**
 * Decimals of an at.% grid step that divides 100 (0.5 → 1, 0.25 → 2, 5 → 0).
 * @throws {UserError} naming `--precision` when the step is not positive, has more than 6 decimals or does not divide
 *   100
 */
export function precisionDecimals(step: number): number {
  const bad = () =>
    new UserError(
      `flag --precision: expected a positive at.% step with at most 6 decimals that divides 100 (e.g. 0.1, 0.5, 1), got '${step}'`,
    );
  if (typeof step !== "number" || !Number.isFinite(step) || !(step > 0) || step > 100) throw bad();
  for (let d = 0; d <= 6; d++) {
    const scaled = step * 10 ** d;
    const s = Math.round(scaled);
    if (s >= 1 && Math.abs(scaled - s) <= 1e-9 * scaled) {
      // 100 / step = (100·10^d) / s must be a whole number of grid steps.
      if ((100 * 10 ** d) % s !== 0) throw bad();
      return d;
    }
  }
  throw bad();
}

/**
 * Rounds non-negative weights to whole grid units summing to exactly `total`, each positive weight's units at least
 * `lower` (0 = plain largest-remainder rounding, where small weights may round to 0). Minimises the deviation from
 * the exact shares greedily: floor (raised to `lower`), then add units by largest remainder, or take units from the
 * most over-allocated entries above `lower`. Ties go to the earlier index. Requires (number of positive weights) ·
 * `lower` ≤ `total`.
 * @returns integer units aligned with `weights`
 */
export function roundToGridUnits(weights: ArrayLike<number>, total: number, lower = 0): number[] {
  const n = weights.length;
  let sum = 0, positive = 0;
  for (let i = 0; i < n; i++) {
    sum += weights[i];
    if (weights[i] > 0) positive++;
  }
  if (!(sum > 0)) throw new RangeError("roundToGridUnits: weights must have a positive sum");
  if (positive * lower > total) {
    throw new RangeError(`roundToGridUnits: ${positive} weights of at least ${lower} units exceed ${total}`);
  }
  const exact = Array.from({ length: n }, (_, i) => (weights[i] / sum) * total);
  const units = exact.map((e) => {
    if (!(e > 0)) return 0;
    const f = Math.floor(e);
    return Math.max(lower, e - f > 1 - 1e-9 ? f + 1 : f); // 64.9999999999 is 65, not 64 + remainder
  });
  let left = total - units.reduce((a, b) => a + b, 0);
  if (left > 0) {
    // Floors lose < 1 unit each, so one extra unit per entry suffices; lower-bounded entries (remainder < 0) come last.
    const order = exact.map((_, i) => i).filter((i) => exact[i] > 0)
      .sort((a, b) => (exact[b] - units[b]) - (exact[a] - units[a]) || a - b);
    for (let k = 0; left > 0; k = (k + 1) % order.length, left--) units[order[k]]++;
  }
  while (left < 0) {
    let worst = -1;
    for (let i = 0; i < n; i++) {
      if (units[i] > lower && (worst < 0 || exact[i] - units[i] < exact[worst] - units[worst])) worst = i;
    }
    units[worst]--, left++;
  }
  return units;
}

/**
 * The constraints of one design run over a model's element list, validated once; see the module doc.
 * @example
 * ```ts
 * const c = new CompositionConstraints(["Al", "Cu", "Ni", "Zr"], { maxElements: 3, minFraction: 0.05, precision: 0.5 });
 * const x = c.constrain([0.07, 0.2, 0.08, 0.65]); // [0, 0.215, 0.085, 0.7] → "Zr70Cu21.5Ni8.5"
 * c.violations(x); // []
 * ```
 */
export class CompositionConstraints {
  /** The model's element list (column order of every composition vector). */
  readonly elements: readonly string[];
  /** Per element of {@link elements}: whether it may be present (whitelist minus excluded). */
  readonly allowed: readonly boolean[];
  /** Maximum number of present elements as given (Infinity when unset). */
  readonly maxElements: number;
  /** Minimum fraction of a present element (0 when unset). */
  readonly minFraction: number;
  /** Rounding step in at.%. */
  readonly precision: number;
  /** Decimals of {@link precision}. */
  readonly decimals: number;
  /** Grid steps in 100 at.% (1000 for 0.1 at.%). */
  readonly gridUnits: number;
  /** Fewest grid units a present element may have (⌈minFraction · gridUnits⌉; 0 without a minimum fraction). */
  readonly minUnits: number;
  /** Most elements a constrained composition can hold: min(maxElements, allowed elements, ⌊gridUnits / minUnits⌋). */
  readonly maxFeasibleElements: number;
  #index: Map<string, number>;

  /**
   * @param elements the model's element list
   * @param options the constraints; see {@link CompositionConstraintOptions}
   * @throws {UserError} one line naming the flag: unknown symbols (with a case hint) or elements outside the model's
   *   list in `--elements`/`--exclude`, an empty whitelist, a whitelist emptied by `--exclude`, `--max-elements` not a
   *   whole number ≥ 1, `--min-fraction` outside [0, 1], `--min-fraction` > 0.5 (pure elements only) unless
   *   `--max-elements 1`, a bad `--precision`
   */
  constructor(elements: readonly string[], options: CompositionConstraintOptions = {}) {
    if (elements.length === 0) throw new RangeError("CompositionConstraints: the element list is empty");
    this.elements = [...elements];
    this.#index = new Map(elements.map((e, i) => [e, i]));
    const whitelist = options.elements === undefined
      ? undefined
      : this.#checkList("elements", options.elements);
    if (whitelist !== undefined && whitelist.size === 0) {
      throw new UserError("flag --elements: the list is empty");
    }
    const excluded = this.#checkList("exclude", options.exclude ?? []);
    this.allowed = elements.map((e) => (whitelist === undefined || whitelist.has(e)) && !excluded.has(e));
    const allowedCount = this.allowed.filter((a) => a).length;
    if (allowedCount === 0) {
      throw new UserError(
        whitelist === undefined
          ? "flag --exclude: every element of the model is excluded"
          : "flags --elements and --exclude: every whitelisted element is excluded",
      );
    }

    const maxElements = options.maxElements ?? Infinity;
    if (maxElements !== Infinity && (!Number.isInteger(maxElements) || maxElements < 1)) {
      throw new UserError(`flag --max-elements: expected a whole number ≥ 1, got '${options.maxElements}'`);
    }
    this.maxElements = maxElements;

    const minFraction = options.minFraction ?? 0;
    if (typeof minFraction !== "number" || !(minFraction >= 0 && minFraction <= 1)) {
      throw new UserError(
        `flag --min-fraction: expected an atomic fraction from 0 to 1 (0.005 = 0.5 at.%), got '${options.minFraction}'`,
      );
    }
    this.minFraction = minFraction;

    this.precision = options.precision ?? DEFAULT_PRECISION_AT_PCT;
    this.decimals = precisionDecimals(this.precision);
    this.gridUnits = Math.round(100 / this.precision);
    this.minUnits = minFraction > 0 ? Math.ceil(minFraction * this.gridUnits - TOL) : 0;
    const fit = this.minUnits > 0 ? Math.floor(this.gridUnits / this.minUnits) : Infinity;
    if (fit === 1 && maxElements !== 1 && allowedCount > 1) {
      throw new UserError(
        `flag --min-fraction: ${minFraction} (${
          formatPercent(minFraction)
        } at.%) leaves room for only one element ` +
          `per composition; use at most 0.5, or --max-elements 1 for pure elements`,
      );
    }
    this.maxFeasibleElements = Math.min(maxElements, allowedCount, fit);
  }

  #checkList(flag: string, list: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const raw of list) {
      const s = raw.trim();
      if (!isElementSymbol(s)) {
        const hint = elementSymbolIgnoringCase(s);
        throw new UserError(
          `flag --${flag}: '${raw}' is not an element symbol${hint ? ` (did you mean '${hint}'?)` : ""}`,
        );
      }
      if (!this.#index.has(s)) {
        throw new UserError(
          `flag --${flag}: ${s} is not in the model's element list (${this.elements.join(", ")})`,
        );
      }
      out.add(s);
    }
    return out;
  }

  /**
   * Projects `x` (length = number of elements, any real values) onto the constraints: clip negatives to 0 → zero the
   * disallowed elements → keep the `maxFeasibleElements` largest (ties: model order) → drop the smallest remaining
   * element while it is below `minFraction` of the renormalised sum (one at a time, so as few as possible go; the
   * largest always stays) → renormalise → round to the at.% grid by {@link roundToGridUnits} with every kept element
   * at least `minFraction` (so the rounded at.% sum to exactly 100). If no allowed element is positive, the allowed
   * element with the largest raw value (first in model order on ties) becomes a pure-element composition.
   * @returns atomic fractions on the grid (units / gridUnits), summing to 1 up to rounding of the last bit
   * @throws {RangeError} on a wrong length or a non-finite entry (a bug upstream, not user input)
   */
  constrain(x: ArrayLike<number>): Float64Array {
    const e = this.elements.length;
    if (x.length !== e) {
      throw new RangeError(`constrain: expected ${e} values (one per element), got ${x.length}`);
    }
    const out = new Float64Array(e);
    this.#constrainInto(x, 0, out, 0);
    return out;
  }

  /**
   * {@link constrain} applied to each row of a row-major n × E matrix.
   * @param rows n · E values, row-major, E = number of elements
   * @returns a new n × E row-major matrix of constrained fractions
   */
  constrainRows(rows: ArrayLike<number>): Float64Array {
    const e = this.elements.length;
    if (rows.length % e !== 0) {
      throw new RangeError(`constrainRows: ${rows.length} values is not a whole number of rows of ${e}`);
    }
    const out = new Float64Array(rows.length);
    for (let r = 0; r < rows.length / e; r++) this.#constrainInto(rows, r * e, out, r * e);
    return out;
  }

  #constrainInto(x: ArrayLike<number>, xOff: number, out: Float64Array, outOff: number): void {
    const e = this.elements.length;
    const present: number[] = [];
    for (let i = 0; i < e; i++) {
      const v = x[xOff + i];
      if (!Number.isFinite(v)) throw new RangeError(`constrain: ${this.elements[i]} is ${v}`);
      if (this.allowed[i] && v > 0) present.push(i);
    }
    out.fill(0, outOff, outOff + e);
    if (present.length === 0) {
      let best = -1;
      for (let i = 0; i < e; i++) if (this.allowed[i] && (best < 0 || x[xOff + i] > x[xOff + best])) best = i;
      out[outOff + best] = 1;
      return;
    }
    present.sort((a, b) => x[xOff + b] - x[xOff + a] || a - b);
    let m = Math.min(present.length, this.maxFeasibleElements);
    let sum = 0;
    for (let k = 0; k < m; k++) sum += x[xOff + present[k]];
    // Present elements are sorted descending, so renormalising never reorders them: the smallest is always last.
    while (m > 1 && x[xOff + present[m - 1]] < this.minFraction * sum) sum -= x[xOff + present[--m]];
    const kept = present.slice(0, m);
    const units = roundToGridUnits(kept.map((i) => x[xOff + i]), this.gridUnits, this.minUnits);
    kept.forEach((i, k) => out[outOff + i] = units[k] / this.gridUnits);
  }

  /**
   * Every constraint that `x` violates (empty when `x` is a valid constrained composition): length, finiteness,
   * non-negativity, sum 1, disallowed elements present, more than `maxElements` present, a present element below
   * `minFraction`, an amount off the at.% grid. Tolerance 1e-9 on fractions and on grid units.
   */
  violations(x: ArrayLike<number>): ConstraintViolation[] {
    return this.#violationsAt(x, 0, x.length);
  }

  /**
   * {@link violations} for each row of a row-major n × E matrix, each tagged with its row index.
   * @throws {RangeError} when the length is not a multiple of the number of elements
   */
  rowViolations(rows: ArrayLike<number>): RowViolation[] {
    const e = this.elements.length;
    if (rows.length % e !== 0) {
      throw new RangeError(`rowViolations: ${rows.length} values is not a whole number of rows of ${e}`);
    }
    const out: RowViolation[] = [];
    for (let r = 0; r < rows.length / e; r++) {
      for (const v of this.#violationsAt(rows, r * e, e)) out.push({ row: r, ...v });
    }
    return out;
  }

  #violationsAt(x: ArrayLike<number>, off: number, len: number): ConstraintViolation[] {
    const e = this.elements.length;
    if (len !== e) {
      return [{ kind: "length", message: `expected ${e} amounts (one per element), got ${len}` }];
    }
    const out: ConstraintViolation[] = [];
    let sum = 0, present = 0, gridSum = 0, onGrid = true;
    for (let i = 0; i < e; i++) {
      const v = x[off + i], el = this.elements[i];
      if (!Number.isFinite(v)) {
        out.push({ kind: "finite", element: el, message: `${el} is ${v}` });
        continue;
      }
      sum += v;
      if (v < 0) out.push({ kind: "negative", element: el, message: `${el} is negative (${v})` });
      if (v > 0) {
        present++;
        if (!this.allowed[i]) {
          out.push({
            kind: "disallowed",
            element: el,
            message: `${el} is not allowed (whitelist/exclude) but has ${formatPercent(v)} at.%`,
          });
        }
        if (v < this.minFraction - TOL) {
          out.push({
            kind: "min-fraction",
            element: el,
            message: `${el} has ${formatPercent(v)} at.%, below the minimum ${
              formatPercent(this.minFraction)
            } at.%`,
          });
        }
      }
      const u = v * this.gridUnits;
      gridSum += Math.round(u);
      if (Math.abs(u - Math.round(u)) > 1e-6) {
        onGrid = false;
        out.push({
          kind: "grid",
          element: el,
          message: `${el} has ${formatPercent(v)} at.%, not a multiple of ${this.precision} at.%`,
        });
      }
    }
    if (out.some((v) => v.kind === "finite")) return out;
    if (Math.abs(sum - 1) > TOL) {
      out.push({ kind: "sum", message: `amounts sum to ${formatPercent(sum)} at.%, not 100` });
    } else if (onGrid && gridSum !== this.gridUnits) {
      out.push({
        kind: "grid",
        message: `rounded amounts sum to ${gridSum} grid steps, not ${this.gridUnits}`,
      });
    }
    if (present > this.maxElements) {
      out.push({
        kind: "max-elements",
        message: `${present} elements present, more than the maximum ${this.maxElements}`,
      });
    }
    return out;
  }

  /**
   * The at.% amounts of a composition on the grid, as exact decimals (units · step, so `17.5` and not
   * `17.500000000000004`); amounts off the grid are rounded to it by {@link roundToGridUnits}.
   */
  atPercent(x: ArrayLike<number>): number[] {
    const units = roundToGridUnits(x, this.gridUnits);
    const stepUnits = Math.round(this.precision * 10 ** this.decimals);
    return units.map((u) => (u * stepUnits) / 10 ** this.decimals);
  }

  /** {@link formatCompositionFormula} with this run's element list and precision. */
  formula(x: ArrayLike<number>): string {
    return formatCompositionFormula(x, this.elements, this.precision);
  }
}

/**
 * The at.% formula of a composition over an element list, e.g. `Zr65Cu17.5Ni10Al7.5`: amounts rounded to the
 * `precision` grid (at.%) so they sum to exactly 100 (largest remainder), elements in descending amount order (ties
 * alphabetical, as `canonicalFormula` in data/formula.ts), trailing zeros trimmed, zero amounts left out. For rows
 * from {@link CompositionConstraints.constrain} (already on the grid) the amounts are printed unchanged.
 * @param fractions amounts aligned with `elements` (non-negative; need not sum to 1)
 * @param elements element symbols
 * @param precision at.% grid step (default {@link DEFAULT_PRECISION_AT_PCT})
 * @throws {UserError} on a bad precision, a negative or non-finite amount, or all amounts zero
 */
export function formatCompositionFormula(
  fractions: ArrayLike<number>,
  elements: readonly string[],
  precision = DEFAULT_PRECISION_AT_PCT,
): string {
  if (fractions.length !== elements.length) {
    throw new RangeError(
      `formatCompositionFormula: ${fractions.length} amounts for ${elements.length} elements`,
    );
  }
  const decimals = precisionDecimals(precision);
  const units = largestRemainder(Array.from(fractions), Math.round(100 / precision));
  // Integer grid units are exact amounts, so formatFormula's own rounding at `decimals` places changes nothing.
  const pairs: [string, number][] = [];
  units.forEach((u, i) => u > 0 && pairs.push([elements[i], u]));
  return formatFormula(pairs, { precision: decimals });
}

/** A fraction as at.% for messages (up to 6 significant decimals, no float noise). */
function formatPercent(f: number): string {
  return String(Number((f * 100).toPrecision(12)));
}
