/**
 * What a report is built from: the model directory (model, config, the training artifacts), the hardness dataset
 * re-ordered into the model's element columns, and an optional designed-candidates CSV (the `alloy design`
 * contract: `formula`, one column per model element, `load`, `hv_mean`, …).
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { UserError } from "../cli/errors.ts";
import { loadHardnessDataset } from "../data/hardness.ts";
import { compositionTableFromCsv } from "../data/composition_table.ts";
import { readCsvFile } from "../data/csv.ts";
import { isElementSymbol } from "../data/elements.ts";
import { formatFormula } from "../data/formula.ts";
import { loadModelDir, type ModelDirConfig } from "../nn/models/model_dir.ts";
import type { VibannBase } from "../nn/models/vibann.ts";
import { type ModelArtifacts, readModelArtifacts } from "./model_artifacts.ts";
import { sampleRows } from "./row_sample.ts";

/** The dataset in the model's element order. */
export interface ReportDataset {
  file: string;
  sha256: string;
  n: number;
  /** Rows of the whole data file (before any `--max-rows` subsample). */
  totalRows: number;
  /** 0-based data-file row index of each row (ascending; 0..n−1 without a subsample). */
  rowIds: Int32Array;
  /** Fractions [n, E] in the model's element order. */
  comp: Float32Array;
  load: Float64Array;
  hv: Float64Array;
  /** Family key per row ("B,Fe,Nb"). */
  families: string[];
  /** Formula per row (at.%, 1 decimal). */
  formulas: string[];
}

/** Designed candidates read from a candidates CSV. */
export interface ReportCandidates {
  file: string;
  n: number;
  /** Fractions [n, E] in the model's element order. */
  comp: Float32Array;
  load: Float64Array;
  formulas: string[];
  /** Every other column as text, by name (hv_mean, hv_std, hv_lcb, hv_lo, hv_hi, novelty, accepted, method, …). */
  columns: Record<string, string[]>;
}

/** Everything loaded. */
export interface ReportInputs {
  dir: string;
  be: Backend;
  model: VibannBase;
  config: ModelDirConfig;
  artifacts: ModelArtifacts;
  data: ReportDataset;
  candidates: ReportCandidates | null;
}

function formulaOf(elements: readonly string[], row: ArrayLike<number>): string {
  const pairs: [string, number][] = [];
  for (let j = 0; j < elements.length; j++) if (row[j] > 0) pairs.push([elements[j], row[j]]);
  return pairs.length ? formatFormula(pairs, { precision: 1 }) : "(empty)";
}

/**
 * The hardness dataset (resolved as everywhere: `--data`, `ALLOY_DATA_DIR`, cache, download) in the model's
 * element order.
 * @throws {UserError} when a row has an element the model has no input for
 */
export async function loadReportDataset(
  elements: readonly string[],
  dataPath?: string,
): Promise<ReportDataset> {
  const ds = await loadHardnessDataset({ dataPath });
  for (const n of ds.notices) console.error(`notice: ${n}`);
  const Ed = ds.elementColumns.length, E = elements.length, n = ds.nRows;
  const col = elements.map((e) => ds.elementColumns.indexOf(e));
  ds.elementColumns.forEach((e, k) => {
    if (elements.includes(e)) return;
    for (let i = 0; i < n; i++) {
      if (ds.fractions[i * Ed + k] > 0) {
        throw new UserError(
          `${ds.file} row ${ds.rowNumbers[i]}, column '${e}': the model has no input for element ${e}`,
        );
      }
    }
  });
  const comp = new Float32Array(n * E);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < E; j++) if (col[j] >= 0) comp[i * E + j] = ds.fractions[i * Ed + col[j]];
  }
  const formulas = Array.from(
    { length: n },
    (_, i) => formulaOf(elements, comp.subarray(i * E, (i + 1) * E)),
  );
  return {
    file: ds.file,
    sha256: ds.sha256,
    n,
    totalRows: n,
    rowIds: Int32Array.from({ length: n }, (_, i) => i),
    comp,
    load: Float64Array.from(ds.properties.Load),
    hv: Float64Array.from(ds.properties.HV),
    families: ds.families,
    formulas,
  };
}

/** The rows `rows` (ascending data-row positions) of a dataset. */
export function subsetDataset(d: ReportDataset, rows: readonly number[]): ReportDataset {
  const E = d.comp.length / d.n;
  const comp = new Float32Array(rows.length * E);
  rows.forEach((r, i) => comp.set(d.comp.subarray(r * E, (r + 1) * E), i * E));
  return {
    ...d,
    n: rows.length,
    rowIds: Int32Array.from(rows, (r) => d.rowIds[r]),
    comp,
    load: Float64Array.from(rows, (r) => d.load[r]),
    hv: Float64Array.from(rows, (r) => d.hv[r]),
    families: rows.map((r) => d.families[r]),
    formulas: rows.map((r) => d.formulas[r]),
  };
}

/**
 * Reads a candidates CSV in the model's element order: element columns (or a `formula` column), a `load` column,
 * everything else kept as text.
 * @throws {UserError} naming the file, row and column for a bad composition or load, or a missing `load` column
 */
export async function readCandidates(path: string, elements: readonly string[]): Promise<ReportCandidates> {
  const csv = await readCsvFile(path);
  if (!csv.header.includes("load")) {
    throw new UserError(`${path}: missing column 'load' (the candidates contract)`);
  }
  const formula = csv.header.find((h) => h === "formula");
  const others = csv.header.filter((h) => h !== "load" && h !== formula && !isElementSymbol(h));
  const table = compositionTableFromCsv(csv, {
    elements,
    properties: ["load"],
    formulaColumn: formula,
    labelColumns: others,
  });
  if (table.nRows === 0) throw new UserError(`${path}: no candidate rows`);
  const E = elements.length;
  const comp = Float32Array.from(table.fractions);
  const load = Float64Array.from(table.properties.load);
  for (let i = 0; i < table.nRows; i++) {
    if (!(load[i] > 0)) {
      throw new UserError(`${path} row ${table.rowNumbers[i]}, column 'load': ${load[i]} is not > 0`);
    }
  }
  return {
    file: path,
    n: table.nRows,
    comp,
    load,
    formulas: table.formulas ??
      Array.from({ length: table.nRows }, (_, i) => formulaOf(elements, comp.subarray(i * E, (i + 1) * E))),
    columns: table.labels,
  };
}

/** Loads the model directory, its artifacts, the dataset and the optional candidates. */
export async function loadReportInputs(
  be: Backend,
  o: { modelDir: string; dataPath?: string; candidatesPath?: string; seed?: number; maxRows?: number },
): Promise<ReportInputs> {
  const { model, config } = await loadModelDir(o.modelDir, be, { seed: o.seed ?? 0 });
  try {
    const artifacts = await readModelArtifacts(o.modelDir);
    const full = await loadReportDataset(config.elements, o.dataPath);
    const data = o.maxRows !== undefined && o.maxRows < full.n
      ? subsetDataset(full, sampleRows(full.n, o.maxRows, o.seed ?? 1, 21))
      : full;
    const candidates = o.candidatesPath ? await readCandidates(o.candidatesPath, config.elements) : null;
    return { dir: o.modelDir, be, model, config, artifacts, data, candidates };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
