/**
 * The optional files `alloy train` writes next to a model (`curves.csv`, `gate_curves.csv`, `kl_dims.csv`,
 * `predictions.csv`, `metrics.json`, `splits.json`), read for the report. A file that is absent (an imported model
 * has none of them) is `null`; a file that is present but malformed is a one-line {@link UserError} naming the
 * file, the row and the column.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { type CsvTable, fileErrorText, parseCsvText } from "../data/csv.ts";
import { parseNumberCell } from "../data/composition_table.ts";
import { join } from "../data/paths.ts";

/** One epoch of one model in curves.csv. */
export interface CurveRow {
  model: string;
  epoch: number;
  loss: number;
  mse: number;
  reconKl: number;
  klPerDim: number;
  valMse: number;
  beta: number;
  lr: number;
  active: boolean;
}

/** Per-epoch vectors (gate per element, KL per latent dimension) of one model. */
export interface VectorCurves {
  /** Column names after `model,epoch` (element symbols, or z0…). */
  names: string[];
  rows: { model: string; epoch: number; values: Float64Array }[];
}

/** One row of predictions.csv (held-out test or out-of-fold prediction). */
export interface PredictionRow {
  row: number;
  hvTrue: number;
  hvMean: number;
  hvStd: number | null;
  lo90: number | null;
  hi90: number | null;
}

/** The uq block of metrics.json. */
export interface MetricsUq {
  mcPasses: number | null;
  raw: { levels: number[]; coverage: number[]; meanWidth: number[]; mace: number; sharpness: number } | null;
  pit: { edges: number[]; counts: number[] } | null;
  conformalCoverage90: number | null;
  conformalWidth90: number | null;
}

/** Everything optional the report reads from a model directory. */
export interface ModelArtifacts {
  curves: CurveRow[] | null;
  gates: VectorCurves | null;
  klDims: VectorCurves | null;
  predictions: PredictionRow[] | null;
  /** metrics.json as parsed (protocol, metrics, …) or null. */
  metrics: Record<string, unknown> | null;
  uq: MetricsUq | null;
  /** splits.json as parsed, or null. */
  splits: Record<string, unknown> | null;
  /** Which files were found. */
  found: string[];
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new UserError(`${path}: ${fileErrorText(e)}`);
  }
}

function columns(t: CsvTable, required: readonly string[]): Map<string, number> {
  const idx = new Map(t.header.map((h, j) => [h, j]));
  for (const c of required) {
    if (!idx.has(c)) throw new UserError(`${t.file}: missing column '${c}'`);
  }
  return idx;
}

function numberAt(t: CsvTable, r: number, j: number, optional = false): number | null {
  const rec = t.records[r];
  let v: number | undefined;
  try {
    v = parseNumberCell(rec.cells[j]);
  } catch (e) {
    throw new UserError(`${t.file} row ${rec.line}, column '${t.header[j]}': ${(e as Error).message}`);
  }
  if (v === undefined) {
    if (optional) return null;
    throw new UserError(`${t.file} row ${rec.line}, column '${t.header[j]}': empty cell`);
  }
  return v;
}

/** Parses curves.csv text. */
export function parseCurves(text: string, file: string): CurveRow[] {
  const t = parseCsvText(text, file);
  const c = columns(t, ["model", "epoch", "loss", "val_mse", "beta"]);
  const get = (r: number, name: string, fallback = NaN) =>
    c.has(name) ? numberAt(t, r, c.get(name)!, true) ?? NaN : fallback;
  return t.records.map((rec, r) => ({
    model: rec.cells[c.get("model")!],
    epoch: get(r, "epoch"),
    loss: get(r, "loss"),
    mse: get(r, "mse"),
    reconKl: get(r, "recon_kl"),
    klPerDim: get(r, "kl_per_dim"),
    valMse: get(r, "val_mse"),
    beta: get(r, "beta"),
    lr: get(r, "lr"),
    active: get(r, "active", 1) !== 0,
  }));
}

/** Parses gate_curves.csv / kl_dims.csv text (`model,epoch,<names…>`). */
export function parseVectorCurves(text: string, file: string): VectorCurves {
  const t = parseCsvText(text, file);
  if (t.header[0] !== "model" || t.header[1] !== "epoch" || t.header.length < 3) {
    throw new UserError(`${file}: expected the columns model,epoch,<values…>`);
  }
  return {
    names: t.header.slice(2),
    rows: t.records.map((rec, r) => ({
      model: rec.cells[0],
      epoch: numberAt(t, r, 1)!,
      values: Float64Array.from(t.header.slice(2), (_, k) => numberAt(t, r, k + 2, true) ?? NaN),
    })),
  };
}

/** Parses predictions.csv text. */
export function parsePredictions(text: string, file: string): PredictionRow[] {
  const t = parseCsvText(text, file);
  const c = columns(t, ["row", "hv_true", "hv_mean"]);
  const opt = (r: number, name: string) => c.has(name) ? numberAt(t, r, c.get(name)!, true) : null;
  // A conformal bound is ±Infinity when the calibration set is too small for the level (alloy train writes it so).
  const bound = (r: number, name: string, inf: string) =>
    c.has(name) && t.records[r].cells[c.get(name)!].trim() === inf
      ? (inf === "Infinity" ? Infinity : -Infinity)
      : opt(r, name);
  return t.records.map((rec, r) => {
    const row = numberAt(t, r, c.get("row")!)!;
    if (!Number.isInteger(row) || row < 0) {
      throw new UserError(
        `${file} row ${rec.line}, column 'row': '${rec.cells[c.get("row")!]}' is not a row index`,
      );
    }
    return {
      row,
      hvTrue: numberAt(t, r, c.get("hv_true")!)!,
      hvMean: numberAt(t, r, c.get("hv_mean")!)!,
      hvStd: opt(r, "hv_std"),
      lo90: bound(r, "hv_lo90", "-Infinity"),
      hi90: bound(r, "hv_hi90", "Infinity"),
    };
  });
}

const numArray = (v: unknown): number[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x)) ? v as number[] : null;
const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The uq block of a parsed metrics.json (missing or malformed parts become null). */
export function metricsUq(metrics: Record<string, unknown>): MetricsUq | null {
  const uq = metrics.uq as Record<string, unknown> | undefined;
  if (!uq || typeof uq !== "object") return null;
  const raw = uq.raw as Record<string, unknown> | null | undefined;
  const pit = uq.pit_histogram as Record<string, unknown> | null | undefined;
  const levels = numArray(raw?.levels), coverage = numArray(raw?.coverage), width = numArray(raw?.mean_width);
  const edges = numArray(pit?.edges), counts = numArray(pit?.counts);
  return {
    mcPasses: numOrNull(uq.mc_passes),
    raw: levels && coverage && levels.length === coverage.length
      ? {
        levels,
        coverage,
        meanWidth: width ?? [],
        mace: numOrNull(raw?.mace) ?? NaN,
        sharpness: numOrNull(raw?.sharpness) ?? NaN,
      }
      : null,
    pit: edges && counts && edges.length === counts.length + 1 ? { edges, counts } : null,
    conformalCoverage90: numOrNull(uq.conformal_coverage90),
    conformalWidth90: numOrNull(uq.conformal_width90),
  };
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  const text = await readText(path);
  if (text === null) return null;
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    return v;
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
}

/** Reads every optional artifact of a model directory. */
export async function readModelArtifacts(dir: string): Promise<ModelArtifacts> {
  const found: string[] = [];
  const csv = async <T>(name: string, parse: (text: string, file: string) => T): Promise<T | null> => {
    const path = join(dir, name);
    const text = await readText(path);
    if (text === null) return null;
    found.push(name);
    return parse(text, path);
  };
  const curves = await csv("curves.csv", parseCurves);
  const gates = await csv("gate_curves.csv", parseVectorCurves);
  const klDims = await csv("kl_dims.csv", parseVectorCurves);
  const predictions = await csv("predictions.csv", parsePredictions);
  const metrics = await readJson(join(dir, "metrics.json"));
  if (metrics) found.push("metrics.json");
  const splits = await readJson(join(dir, "splits.json"));
  if (splits) found.push("splits.json");
  return {
    curves,
    gates,
    klDims,
    predictions,
    metrics,
    uq: metrics ? metricsUq(metrics) : null,
    splits,
    found,
  };
}
