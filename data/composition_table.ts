/**
 * Composition tables: a CSV with one row per alloy, element columns (recognised by element symbol, e.g. `Fe`),
 * numeric property columns (`Load`, `HV`, or any named in the options), and optionally a formula column and text
 * label columns. Loads and validates them; every problem is a {@link UserError} naming the file, the row (file line
 * number) and the column.
 *
 * Validation and tolerance policy (documented contract):
 * - Column names: every column must be an element symbol (exact case), `Load`/`HV` or a declared property, the
 *   formula column, a label column or an ignored column; anything else is an error (with a hint for e.g. `fe` →
 *   `Fe`). Duplicate names and empty names are errors.
 * - Cells: element cells must be plain decimal numbers ≥ 0 (an empty element cell is an error; write 0). `NaN`,
 *   `Inf` and unparsable text are errors. An empty property cell is a missing value: an error by default, or with
 *   `missing: "drop"` the row is dropped and a notice gives the count.
 * - Row sums (`units: "auto"`): the table is read as at.% when every row sums to 100 ± 1, and as atomic fractions
 *   when every row sums to 1 ± 0.01. Otherwise the first row outside the tolerance of the majority basis is an error
 *   naming the row and its sum. A row summing to 0 is always an error. Every row is then divided by its sum, so
 *   fractions sum to exactly 1; a notice counts the rows that were more than 2e-4 (relative) away from 1 or 100, and
 *   another reports an at.% conversion. With `sums: "renormalize"` any positive row sum is accepted and rescaled,
 *   with a warning counting the rows outside the tolerance.
 * - A table with a formula column and no element columns takes its fractions from the parsed formulas
 *   (see `data/formula.ts`); element columns are then the elements found, alphabetical.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { type CsvTable, readCsvFile } from "./csv.ts";
import { elementSymbolIgnoringCase, isElementSymbol } from "./elements.ts";
import { parseFormula } from "./formula.ts";

/** Property columns read automatically when present (other numeric columns must be named). */
export const DEFAULT_PROPERTIES: readonly string[] = ["Load", "HV"];

/** Relative deviation of a row sum from 1 (or 100) above which a renormalisation is reported. */
export const SUM_NOTICE_TOLERANCE = 2e-4;
/** Accepted |sum − 1| for fraction tables. */
export const FRACTION_SUM_TOLERANCE = 0.01;
/** Accepted |sum − 100| for at.% tables. */
export const PERCENT_SUM_TOLERANCE = 1;

/** Options for {@link loadCompositionTable} and {@link compositionTableFromCsv}. */
export interface CompositionTableOptions {
  /**
   * Numeric property columns to read; each must exist. Columns named in {@link DEFAULT_PROPERTIES} (`Load`, `HV`)
   * are read too whenever present (unless declared as label, formula or ignored).
   */
  properties?: readonly string[];
  /** Missing property values: `"error"` (default) or `"drop"` the row with a notice giving the count. */
  missing?: "error" | "drop";
  /** Name of a column holding chemical formulas (kept as text; parsed when there are no element columns). */
  formulaColumn?: string;
  /** Text columns kept as strings (e.g. `Class`). */
  labelColumns?: readonly string[];
  /** Columns to skip entirely. */
  ignoreColumns?: readonly string[];
  /** Basis of the element columns: detect (default), atomic fractions, or at.%. */
  units?: "auto" | "fraction" | "percent";
  /** Row sums outside the tolerance: an error (`"strict"`, default) or renormalised with a warning. */
  sums?: "strict" | "renormalize";
  /**
   * A fixed element list (e.g. a model's inputs): output columns in this order, absent ones all zero. A file
   * element outside the list is an error if any row has it, otherwise the column is dropped with a notice.
   */
  elements?: readonly string[];
}

/** A validated composition table. Row `i` of `fractions` is `fractions.subarray(i * E, (i + 1) * E)`. */
export interface CompositionTable {
  /** The file name used in messages. */
  file: string;
  /** Element symbols, one per fraction column (E of them). */
  elementColumns: string[];
  nRows: number;
  /** Atomic fractions, rows × E, row-major; every row sums to 1. */
  fractions: Float64Array;
  /** Numeric property columns by name (length nRows). */
  properties: Record<string, Float64Array>;
  /** 1-based file line number of each row, for messages. */
  rowNumbers: Int32Array;
  /** The formula column's text, when one was named. */
  formulas?: string[];
  /** Label columns' text by name. */
  labels: Record<string, string[]>;
  /** How the element amounts were given. */
  units: "fraction" | "percent" | "formula";
  /** Human-readable notices (conversions, renormalisations, dropped rows); the CLI prints them on stderr. */
  notices: string[];
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/**
 * Parses one numeric cell strictly.
 * @returns the number, `undefined` for an empty cell
 * @throws {UserError} (message without location) for NaN/Inf or text that is not a plain decimal number
 */
export function parseNumberCell(cell: string): number | undefined {
  const s = cell.trim();
  if (s === "") return undefined;
  if (NON_FINITE.test(s)) {
    throw new UserError(`'${s}' is not allowed (not-a-number and infinite values are not valid)`);
  }
  if (!NUMBER.test(s)) throw new UserError(`'${s}' is not a number`);
  const v = Number(s);
  if (!Number.isFinite(v)) throw new UserError(`'${s}' is too large to be a finite number`);
  return v;
}

function where(file: string, line: number, column?: string): string {
  return `${file} row ${line}${column === undefined ? "" : `, column '${column}'`}`;
}

type Role = "element" | "property" | "formula" | "label" | "ignore";

/**
 * Builds a validated composition table from parsed CSV.
 * @throws {UserError} naming file, row and column for every violation of the policy in the module docs
 */
export function compositionTableFromCsv(
  csv: CsvTable,
  options: CompositionTableOptions = {},
): CompositionTable {
  const { file, header, headerLine } = csv;
  const notices: string[] = [];

  // --- columns -------------------------------------------------------------------------------------------
  const seen = new Map<string, number>();
  header.forEach((h, j) => {
    if (h === "") throw new UserError(`${file} row ${headerLine}: column ${j + 1} has no name`);
    const prev = seen.get(h);
    if (prev !== undefined) {
      throw new UserError(
        `${file} row ${headerLine}: duplicate column '${h}' (columns ${prev + 1} and ${j + 1})`,
      );
    }
    seen.set(h, j);
  });
  const labels = options.labelColumns ?? [];
  const ignore = options.ignoreColumns ?? [];
  const explicit = options.properties ?? [];
  const otherRoles = new Set([
    ...labels,
    ...ignore,
    ...(options.formulaColumn ? [options.formulaColumn] : []),
  ]);
  const props = [
    ...new Set([...explicit, ...DEFAULT_PROPERTIES.filter((p) => seen.has(p) && !otherRoles.has(p))]),
  ];
  const declared: [string, Role][] = [
    ...props.map((p): [string, Role] => [p, "property"]),
    ...labels.map((p): [string, Role] => [p, "label"]),
    ...ignore.map((p): [string, Role] => [p, "ignore"]),
    ...(options.formulaColumn ? [[options.formulaColumn, "formula"] as [string, Role]] : []),
  ];
  const roleOf = new Map<string, Role>();
  for (const [name, role] of declared) {
    if (roleOf.has(name) && roleOf.get(name) !== role) {
      throw new UserError(`column '${name}' cannot be both ${roleOf.get(name)} and ${role}`);
    }
    roleOf.set(name, role);
    if (!seen.has(name) && role !== "ignore") {
      throw new UserError(`${file}: no column '${name}' (the header has: ${header.join(", ")})`);
    }
  }
  const roles: Role[] = header.map((h) => {
    const r = roleOf.get(h);
    if (r) return r;
    if (isElementSymbol(h)) return "element";
    const hint = elementSymbolIgnoringCase(h);
    throw new UserError(
      `${file} row ${headerLine}, column '${h}': unknown column (not an element symbol${
        hint ? `; did you mean '${hint}'?` : ", and not declared as a property, label or formula column"
      })`,
    );
  });
  const fileElements = header.filter((_, j) => roles[j] === "element");
  const elementIdx = header.map((_, j) => j).filter((j) => roles[j] === "element");
  const formulaIdx = options.formulaColumn ? seen.get(options.formulaColumn)! : -1;
  if (fileElements.length === 0 && formulaIdx < 0) {
    throw new UserError(
      `${file}: no element columns (column names must be element symbols such as Fe, Ni) and no formula column`,
    );
  }
  if (csv.records.length === 0) throw new UserError(`${file}: header only, no data rows`);

  // --- cells ---------------------------------------------------------------------------------------------
  const useFormulas = fileElements.length === 0;
  const keep: number[] = [];
  const rawRows: Float64Array[] = [];
  const formulaRows: Map<string, number>[] = [];
  const propVals: Record<string, number[]> = Object.fromEntries(props.map((p) => [p, []]));
  const propIdx = props.map((p) => seen.get(p)!);
  let dropped = 0;
  let firstDropped = "";
  for (let r = 0; r < csv.records.length; r++) {
    const rec = csv.records[r];
    const line = rec.line;
    // properties first, so a dropped row does not need valid fractions
    const pv: number[] = [];
    let missing: string | undefined;
    props.forEach((p, k) => {
      let v: number | undefined;
      try {
        v = parseNumberCell(rec.cells[propIdx[k]]);
      } catch (e) {
        throw new UserError(`${where(file, line, p)}: ${(e as Error).message}`);
      }
      if (v === undefined) missing ??= p;
      pv.push(v ?? NaN);
    });
    if (missing !== undefined) {
      if (options.missing === "drop") {
        if (dropped++ === 0) firstDropped = `first: row ${line}, column '${missing}'`;
        continue;
      }
      throw new UserError(`${where(file, line, missing)}: missing value (empty cell)`);
    }
    if (useFormulas) {
      const text = rec.cells[formulaIdx];
      try {
        const p = parseFormula(text.trim(), { elements: options.elements });
        formulaRows.push(new Map(p.elements.map((e, i) => [e, p.fractions[i]])));
      } catch (e) {
        throw new UserError(`${where(file, line, options.formulaColumn)}: ${(e as Error).message}`);
      }
    } else {
      const row = new Float64Array(elementIdx.length);
      elementIdx.forEach((j, k) => {
        let v: number | undefined;
        try {
          v = parseNumberCell(rec.cells[j]);
        } catch (e) {
          throw new UserError(`${where(file, line, header[j])}: ${(e as Error).message}`);
        }
        if (v === undefined) {
          throw new UserError(`${where(file, line, header[j])}: empty cell (write 0 for absent)`);
        }
        if (v < 0) throw new UserError(`${where(file, line, header[j])}: negative fraction ${v}`);
        row[k] = v;
      });
      rawRows.push(row);
    }
    props.forEach((p, k) => propVals[p].push(pv[k]));
    keep.push(r);
  }
  if (dropped > 0) {
    notices.push(`${file}: dropped ${dropped} row(s) with a missing property value (${firstDropped})`);
  }
  const kept = keep.map((k) => csv.records[k]);
  const n = kept.length;
  if (n === 0) throw new UserError(`${file}: no data rows left after dropping rows with missing values`);

  // --- element columns -----------------------------------------------------------------------------------
  let columns: string[];
  let units: CompositionTable["units"];
  let fractions: Float64Array;
  if (useFormulas) {
    units = "formula";
    const present = new Set<string>();
    for (const m of formulaRows) for (const e of m.keys()) present.add(e);
    columns = options.elements ? [...options.elements] : [...present].sort();
    const col = new Map(columns.map((e, i) => [e, i]));
    fractions = new Float64Array(n * columns.length);
    formulaRows.forEach((m, i) => {
      for (const [e, v] of m) fractions[i * columns.length + col.get(e)!] += v;
    });
  } else {
    const res = normaliseRows(rawRows, kept.map((r) => r.line), file, options, notices);
    units = res.units;
    ({ columns, fractions } = remapColumns(fileElements, res.rows, kept, file, options.elements, notices));
  }

  const properties: Record<string, Float64Array> = {};
  for (const p of props) properties[p] = Float64Array.from(propVals[p]);
  const table: CompositionTable = {
    file,
    elementColumns: columns,
    nRows: n,
    fractions,
    properties,
    rowNumbers: Int32Array.from(kept.map((r) => r.line)),
    labels: Object.fromEntries(labels.map((l) => [l, kept.map((r) => r.cells[seen.get(l)!].trim())])),
    units,
    notices,
  };
  if (formulaIdx >= 0) table.formulas = kept.map((r) => r.cells[formulaIdx].trim());
  return table;
}

function normaliseRows(
  rows: Float64Array[],
  lines: number[],
  file: string,
  options: CompositionTableOptions,
  notices: string[],
): { rows: Float64Array[]; units: "fraction" | "percent" } {
  const sums = rows.map((r) => r.reduce((a, b) => a + b, 0));
  sums.forEach((s, i) => {
    if (s === 0) throw new UserError(`${file} row ${lines[i]}: all element fractions are 0`);
  });
  const inPct = (s: number) => Math.abs(s - 100) <= PERCENT_SUM_TOLERANCE;
  const inFrac = (s: number) => Math.abs(s - 1) <= FRACTION_SUM_TOLERANCE;
  let units: "fraction" | "percent";
  if (options.units === "percent" || options.units === "fraction") units = options.units;
  else if (sums.every(inFrac)) units = "fraction";
  else if (sums.every(inPct)) units = "percent";
  else {
    const sorted = [...sums].sort((a, b) => a - b);
    units = sorted[sorted.length >> 1] > 10 ? "percent" : "fraction";
  }
  const target = units === "percent" ? 100 : 1;
  const ok = units === "percent" ? inPct : inFrac;
  const tolText = units === "percent"
    ? `100 ± ${PERCENT_SUM_TOLERANCE} (at.%)`
    : `1 ± ${FRACTION_SUM_TOLERANCE}`;
  let outside = 0, firstOutside = -1, renorm = 0;
  sums.forEach((s, i) => {
    if (!ok(s)) {
      if (options.sums !== "renormalize") {
        throw new UserError(
          `${file} row ${lines[i]}: element amounts sum to ${+s.toPrecision(6)}, expected ${tolText}${
            options.units ? "" : `; the table looks like ${units === "percent" ? "at.%" : "fractions"}`
          }`,
        );
      }
      if (outside++ === 0) firstOutside = i;
    } else if (Math.abs(s / target - 1) > SUM_NOTICE_TOLERANCE) renorm++;
  });
  if (units === "percent") {
    notices.push(`${file}: element columns are in at.% (rows sum to ≈ 100); converted to atomic fractions`);
  }
  if (outside > 0) {
    notices.push(
      `${file}: warning: ${outside} row(s) sum outside ${tolText} and were renormalised (first: row ${
        lines[firstOutside]
      }, sum ${+sums[firstOutside].toPrecision(6)})`,
    );
  }
  if (renorm > 0) {
    notices.push(
      `${file}: ${renorm} row(s) summed to within the tolerance but not to ${target} ± ${
        target * SUM_NOTICE_TOLERANCE
      }; renormalised`,
    );
  }
  return { rows: rows.map((r, i) => r.map((v) => v / sums[i])), units };
}

function remapColumns(
  fileElements: string[],
  rows: Float64Array[],
  kept: { line: number }[],
  file: string,
  elements: readonly string[] | undefined,
  notices: string[],
): { columns: string[]; fractions: Float64Array } {
  const columns = elements ? [...elements] : fileElements;
  const E = columns.length;
  const target = new Map(columns.map((e, i) => [e, i]));
  const src = fileElements.map((e) => target.get(e) ?? -1);
  const droppedCols: string[] = [];
  src.forEach((t, k) => {
    if (t >= 0) return;
    const i = rows.findIndex((r) => r[k] > 0);
    if (i >= 0) {
      throw new UserError(
        `${file} row ${kept[i].line}, column '${fileElements[k]}': element ${
          fileElements[k]
        } is not in the model's element list`,
      );
    }
    droppedCols.push(fileElements[k]);
  });
  if (droppedCols.length > 0) {
    notices.push(`${file}: dropped all-zero column(s) outside the element list: ${droppedCols.join(", ")}`);
  }
  const fractions = new Float64Array(rows.length * E);
  rows.forEach((r, i) => src.forEach((t, k) => t >= 0 && (fractions[i * E + t] = r[k])));
  return { columns, fractions };
}

/**
 * Reads and validates a composition table from a CSV file.
 * @throws {UserError} for file problems (see `data/csv.ts`) and every validation rule in the module docs
 * @example
 * ```ts
 * const t = await loadCompositionTable("hea/HEA_top30_comps.csv", { formulaColumn: "Alloys", labelColumns: ["Class"] });
 * ```
 */
export async function loadCompositionTable(
  path: string,
  options: CompositionTableOptions = {},
): Promise<CompositionTable> {
  return compositionTableFromCsv(await readCsvFile(path), options);
}

/** Row `i` of the fractions (a view, not a copy). */
export function fractionRow(table: CompositionTable, i: number): Float64Array {
  const E = table.elementColumns.length;
  return table.fractions.subarray(i * E, (i + 1) * E);
}

/** Elements with a non-zero fraction in at least one row, in column order. */
export function elementsPresent(table: CompositionTable): string[] {
  const E = table.elementColumns.length;
  return table.elementColumns.filter((_, j) => {
    for (let i = 0; i < table.nRows; i++) if (table.fractions[i * E + j] > 0) return true;
    return false;
  });
}

/** Fractions at or below this count as absent when forming family keys (the reference's EPS_NONZERO). */
export const FAMILY_EPS = 1e-12;

/**
 * The element "family" of each row: the alphabetically sorted symbols with fraction > {@link FAMILY_EPS},
 * comma-joined (e.g. `"B,Fe,Nb"`).
 */
export function familyKeys(table: CompositionTable): string[] {
  const E = table.elementColumns.length;
  const out: string[] = [];
  for (let i = 0; i < table.nRows; i++) {
    const present: string[] = [];
    for (let j = 0; j < E; j++) {
      if (table.fractions[i * E + j] > FAMILY_EPS) present.push(table.elementColumns[j]);
    }
    out.push(present.sort().join(","));
  }
  return out;
}
