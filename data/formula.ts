/**
 * Chemical formulas for alloys: parsing (`Zr65Cu17.5Ni10Al7.5`, `Al1.4Co0.9Cr1.4Cu0.5Fe0.9Ni1`,
 * `(Fe0.5Co0.5)80B20`, nested brackets, implicit 1) into atomic fractions, and formatting fractions back into a
 * canonical at.% formula whose rounded amounts sum to exactly 100 (largest-remainder rounding).
 *
 * Bracket convention (the metallic-glass one): a bracketed group followed by a number `n` stands for `n` parts of
 * the group's own mixture, i.e. the group's contents are first normalised to sum 1. So `(Fe0.5Co0.5)80B20`,
 * `(Fe50Co50)80B20` and `(FeCo)80B20` all mean Fe40Co40B20, and `(Fe75B20Si5)96Nb4` means Fe72B19.2Si4.8Nb4. A group
 * without a number counts as 1 part. (This differs from molecular chemistry, where `Ca(OH)2` multiplies literally.)
 * `()`, `[]` and `{}` are all brackets; whitespace between tokens is ignored; a repeated element adds up.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { elementSymbolIgnoringCase, isElementSymbol } from "./elements.ts";

/** A parsed formula: the elements in order of first appearance and their atomic fractions (summing to 1). */
export interface ParsedFormula {
  /** The formula as given. */
  text: string;
  /** Element symbols with a non-zero amount, in order of first appearance. */
  elements: string[];
  /** Atomic fraction of each element in {@link ParsedFormula.elements} (sums to 1). */
  fractions: number[];
}

/** Options for {@link parseFormula}. */
export interface ParseFormulaOptions {
  /** The model's element list: any other element is an error naming it. */
  elements?: readonly string[];
}

const CLOSER: Record<string, string> = { "(": ")", "[": "]", "{": "}" };

class FormulaParser {
  #i = 0;
  constructor(readonly s: string) {}

  fail(msg: string): never {
    throw new UserError(`formula '${this.s}': ${msg}`);
  }

  #skipSpace() {
    while (this.#i < this.s.length && /\s/.test(this.s[this.#i])) this.#i++;
  }

  #number(): number | undefined {
    this.#skipSpace();
    const m = /^(\d+(\.\d*)?|\.\d+)/.exec(this.s.slice(this.#i));
    if (!m) return undefined;
    this.#i += m[0].length;
    return Number(m[0]);
  }

  /** Parses a sequence up to `closer` (or the end); returns amounts in order of first appearance. */
  sequence(closer?: string): Map<string, number> {
    const out = new Map<string, number>();
    const add = (el: string, x: number) => out.set(el, (out.get(el) ?? 0) + x);
    for (;;) {
      this.#skipSpace();
      const pos = this.#i + 1;
      if (this.#i >= this.s.length) {
        if (closer) this.fail(`missing '${closer}'`);
        return out;
      }
      const c = this.s[this.#i];
      if (c in CLOSER) {
        this.#i++;
        const inner = this.sequence(CLOSER[c]);
        let sum = 0;
        for (const v of inner.values()) sum += v;
        if (inner.size === 0) this.fail(`empty brackets at position ${pos}`);
        if (!(sum > 0)) this.fail(`the group at position ${pos} has only zero amounts`);
        const mult = this.#number() ?? 1;
        for (const [el, v] of inner) add(el, (v / sum) * mult);
      } else if (c === ")" || c === "]" || c === "}") {
        if (c !== closer) this.fail(`unexpected '${c}' at position ${pos}`);
        this.#i++;
        return out;
      } else if (/[A-Z]/.test(c)) {
        const m = /^[A-Z][a-z]*/.exec(this.s.slice(this.#i))!;
        const sym = m[0];
        if (!isElementSymbol(sym)) this.fail(`unknown element symbol '${sym}' at position ${pos}`);
        this.#i += sym.length;
        add(sym, this.#number() ?? 1);
      } else if (/[0-9.]/.test(c)) {
        this.fail(`the number at position ${pos} does not follow an element symbol or a bracket`);
      } else if (/[a-z]/.test(c)) {
        const word = /^[a-z]+/.exec(this.s.slice(this.#i))![0];
        const hint = elementSymbolIgnoringCase(word.slice(0, 2)) ??
          elementSymbolIgnoringCase(word.slice(0, 1));
        this.fail(
          `unexpected '${c}' at position ${pos} (element symbols start with a capital letter${
            hint ? `, e.g. '${hint}'` : ""
          })`,
        );
      } else {
        this.fail(`unexpected character '${c}' at position ${pos}`);
      }
    }
  }
}

/**
 * Parses an alloy formula into atomic fractions.
 * @param text the formula, e.g. `"Zr65Cu17.5Ni10Al7.5"` or `"(Fe0.5Co0.5)80B20"`
 * @param options `elements`: restrict to a model's element list
 * @returns elements in order of first appearance and their fractions (sum 1)
 * @throws {UserError} on an empty formula, an unknown symbol, unbalanced brackets, a stray number or character, all
 *   amounts zero, or elements outside `options.elements` — the message quotes the formula and names the problem
 * @example
 * ```ts
 * parseFormula("(Fe0.5Co0.5)80B20"); // { elements: ["Fe", "Co", "B"], fractions: [0.4, 0.4, 0.2] }
 * ```
 */
export function parseFormula(text: string, options: ParseFormulaOptions = {}): ParsedFormula {
  const p = new FormulaParser(text);
  if (text.trim() === "") p.fail("empty formula");
  const amounts = p.sequence();
  let total = 0;
  for (const v of amounts.values()) total += v;
  if (!(total > 0)) p.fail("all amounts are zero");
  if (!Number.isFinite(total)) p.fail("amounts are too large");
  const elements: string[] = [];
  const fractions: number[] = [];
  for (const [el, v] of amounts) {
    if (v > 0) {
      elements.push(el);
      fractions.push(v / total);
    }
  }
  if (options.elements) {
    const allowed = new Set(options.elements);
    const outside = elements.filter((e) => !allowed.has(e));
    if (outside.length > 0) {
      p.fail(
        `${outside.join(", ")} ${outside.length === 1 ? "is" : "are"} not in the model's element list (${
          options.elements.join(", ")
        })`,
      );
    }
  }
  return { text, elements, fractions };
}

/**
 * Parses a formula straight into a fraction vector over a fixed element list (e.g. a model's input columns).
 * @throws {UserError} as {@link parseFormula}, including for elements outside `elements`
 */
export function formulaToVector(text: string, elements: readonly string[]): Float64Array {
  const p = parseFormula(text, { elements });
  const out = new Float64Array(elements.length);
  const index = new Map(elements.map((e, i) => [e, i]));
  p.elements.forEach((e, i) => out[index.get(e)!] += p.fractions[i]);
  return out;
}

/** The fractions of a parsed formula as a plain `{symbol: fraction}` object (order of first appearance). */
export function fractionsRecord(p: ParsedFormula): Record<string, number> {
  return Object.fromEntries(p.elements.map((e, i) => [e, p.fractions[i]]));
}

/**
 * Largest-remainder rounding: integers proportional to `weights` that sum to exactly `total`.
 * Ties go to the earlier index. Weights must be finite, non-negative, with a positive sum.
 * @example
 * ```ts
 * largestRemainder([1, 1, 1], 100); // [34, 33, 33]
 * ```
 */
export function largestRemainder(weights: readonly number[], total: number): number[] {
  let sum = 0;
  for (const w of weights) {
    if (!(w >= 0) || !Number.isFinite(w)) {
      throw new UserError("cannot round: amounts must be finite numbers ≥ 0");
    }
    sum += w;
  }
  if (!(sum > 0)) throw new UserError("cannot round: all amounts are zero");
  const exact = weights.map((w) => (w / sum) * total);
  const floor = exact.map((x) => {
    const f = Math.floor(x);
    return x - f > 1 - 1e-9 ? f + 1 : f; // 64.9999999999 is 65, not 64 + remainder
  });
  let left = total - floor.reduce((a, b) => a + b, 0);
  const order = exact.map((_, i) => i).sort((a, b) => (exact[b] - floor[b]) - (exact[a] - floor[a]) || a - b);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) floor[order[k]]++;
  for (let k = order.length - 1; left < 0; k = (k + order.length - 1) % order.length) {
    if (floor[order[k]] > 0) floor[order[k]]--, left++;
  }
  return floor;
}

/**
 * Rounds atomic fractions to at.% with `precision` decimals so that the rounded values sum to exactly 100.
 * @returns the rounded percentages, aligned with `fractions`
 */
export function roundPercent(fractions: readonly number[], precision = 2): number[] {
  const scale = 10 ** precision;
  return largestRemainder(fractions, 100 * scale).map((u) => u / scale);
}

/** Options for {@link formatFormula}. */
export interface FormatFormulaOptions {
  /** Decimals of the at.% amounts (0–6; default 2). Trailing zeros are dropped. */
  precision?: number;
  /** Element order: by decreasing amount, ties alphabetical (default); as given; or alphabetical. */
  order?: "descending" | "input" | "alphabetical";
}

/**
 * Formats a composition as an at.% formula, e.g. `{Zr: 0.65, Cu: 0.175, Ni: 0.1, Al: 0.075}` →
 * `"Zr65Cu17.5Ni10Al7.5"`. Amounts are rounded by {@link roundPercent} so they sum to exactly 100; elements that
 * round to 0 are left out.
 * @param composition `{symbol: amount}`, `[symbol, amount]` pairs, or a {@link ParsedFormula}; amounts need not sum
 *   to 1 (they are normalised)
 * @throws {UserError} on an unknown symbol or a negative, non-finite or all-zero amount
 */
export function formatFormula(
  composition: Record<string, number> | Iterable<[string, number]> | ParsedFormula,
  options: FormatFormulaOptions = {},
): string {
  const precision = options.precision ?? 2;
  if (!Number.isInteger(precision) || precision < 0 || precision > 6) {
    throw new UserError(`formula precision must be an integer from 0 to 6, got ${precision}`);
  }
  let pairs: [string, number][];
  if (isParsed(composition)) pairs = composition.elements.map((e, i) => [e, composition.fractions[i]]);
  else if (Symbol.iterator in composition) pairs = [...(composition as Iterable<[string, number]>)];
  else pairs = Object.entries(composition);
  for (const [el, v] of pairs) {
    if (!isElementSymbol(el)) throw new UserError(`unknown element symbol '${el}'`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new UserError(
        `amount of ${el} must be a finite number ≥ 0${Number.isFinite(v) ? `, got ${v}` : ""}`,
      );
    }
  }
  const sum = pairs.reduce((a, [, v]) => a + v, 0);
  if (!(sum > 0)) throw new UserError("cannot format a composition whose amounts are all zero");
  if (options.order === "alphabetical") pairs.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  else if (options.order !== "input") {
    pairs.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
  const scale = 10 ** precision;
  const units = largestRemainder(pairs.map(([, v]) => v / sum), 100 * scale);
  let out = "";
  pairs.forEach(([el], i) => {
    const u = units[i];
    if (u === 0) return;
    const ip = Math.floor(u / scale), fp = u % scale;
    out += el + ip + (fp ? "." + String(fp).padStart(precision, "0").replace(/0+$/, "") : "");
  });
  return out;
}

function isParsed(x: unknown): x is ParsedFormula {
  return typeof x === "object" && x !== null && Array.isArray((x as ParsedFormula).elements) &&
    Array.isArray((x as ParsedFormula).fractions);
}

/** Parses a formula and formats it canonically (at.%, descending, `precision` decimals). */
export function canonicalFormula(text: string, precision = 2): string {
  return formatFormula(parseFormula(text), { precision });
}
