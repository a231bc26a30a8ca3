/**
 * `alloy predict`: Vickers hardness from a model directory, for one formula at one load or for every row of a CSV.
 *
 * - Deterministic by default (dropout off, z = μ); with several members the prediction is the member average.
 * - `--mc S`: S MC-dropout passes per member, pooled over members × passes: `hv_mean` is the pooled mean, `hv_std`
 *   its population std, `hv_lcb` = mean − 1.645·std, and, when the model carries a conformal calibration at α = 0.1,
 *   `hv_lo90` / `hv_hi90` (the split-conformal 90 % interval around the pooled mean).
 * - Loads outside the model's training range are predicted, with a warning on stderr (extrapolation).
 * - A baseline model directory (`alloy baselines --save`, format `alloy-baseline/1`) is detected from its config.json
 *   and predicts `hv_mean`; a Gaussian process adds `hv_std`, `hv_lcb` = mean − 1.645·σ and `hv_lo90` / `hv_hi90`,
 *   its central 90 % Gaussian predictive interval (μ ∓ 1.645σ). `--mc` does not apply to baselines.
 * - Output values are rounded to 4 decimals. Notices and warnings go to stderr, so with `--json` stdout holds
 *   exactly one JSON object; `--out` is written atomically.
 * @module
 */
import { type Command, intFlag, numberFlag, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { type CompositionTable, compositionTableFromCsv } from "../data/composition_table.ts";
import { type CsvTable, readCsvFile } from "../data/csv.ts";
import { elementSymbolIgnoringCase, isElementSymbol } from "../data/elements.ts";
import { formulaToVector } from "../data/formula.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { loadModelDir, memberScalers, readModelConfig } from "../nn/models/model_dir.ts";
import { memberMean, predictVibann } from "../nn/models/vibann_predict.ts";
import { alloyAttentionMaps, attentionMapsCsv } from "../nn/models/attention_maps.ts";
import { summarizeMcSamples } from "../nn/metrics/mc_summary.ts";
import { conformalInterval } from "../nn/metrics/conformal.ts";
import {
  type BaselineDirConfig,
  loadBaselineDir,
  readBaselineConfig,
  readConfigFormat,
} from "../nn/baselines/baseline_dir.ts";
import { baselineSpecFor } from "../nn/baselines/registry.ts";
import { predictRows, Z90 } from "../nn/baselines/protocol.ts";
import type { Backend } from "../nn/backend.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** z of the lower confidence bound hv_lcb = mean − z·std (one-sided 95 % under a normal approximation). */
export const LCB_Z = 1.645;
/** Miscoverage of the conformal interval columns hv_lo90 / hv_hi90. */
export const CONFORMAL_ALPHA = 0.1;
/** Columns the command appends (an input column of the same name is replaced). */
export const OUTPUT_COLUMNS: readonly string[] = ["hv_mean", "hv_std", "hv_lcb", "hv_lo90", "hv_hi90"];
/** Largest accepted --mc. */
const MAX_MC = 100_000;
/** Rows printed in the human-readable table of a CSV prediction. */
const TABLE_ROWS = 20;

/** The rows to predict: compositions over the model's elements, raw loads, and what to echo. */
interface PredictInput {
  /** Fractions over the model's elements, rows × E. */
  comp: Float64Array;
  loads: Float64Array;
  /** Label of each row in messages and tables (formula or `row N`). */
  labels: string[];
  /** Formula text per row, when there is one. */
  formulas?: string[];
  /** File line number per row (CSV only). */
  lines?: Int32Array;
  /** The CSV as read (CSV only), for echoing its columns. */
  csv?: CsvTable;
}

/** Per-row results, in HV. */
interface PredictOutput {
  mean: Float64Array;
  std?: Float64Array;
  lcb?: Float64Array;
  lo90?: Float64Array;
  hi90?: Float64Array;
}

function formulaInput(text: string, loadText: unknown, elements: readonly string[]): PredictInput {
  const load = numberFlag({ load: loadText }, "load");
  if (!(load > 0)) {
    throw new UserError(`flag --load: the indentation load must be > 0 (N), got '${loadText}'`);
  }
  const comp = formulaToVector(text.trim(), elements);
  return { comp, loads: Float64Array.of(load), labels: [text.trim()], formulas: [text.trim()] };
}

/**
 * Reads a CSV of compositions (element columns, or a `formula` column) with a `Load` (or `load`) column. Every other column is
 * carried along untouched, except names that look like a mis-cased element symbol (`fe`), which stay errors.
 */
async function csvInput(path: string, elements: readonly string[]): Promise<PredictInput> {
  const csv = await readCsvFile(path);
  const { header, headerLine } = csv;
  // The load column: `Load` (the dataset's name) or any casing of it (`load`, as candidates.csv writes it).
  const loadColumn = header.includes("Load") ? "Load" : header.find((h) => h.toLowerCase() === "load");
  if (!loadColumn) {
    throw new UserError(
      `${path} row ${headerLine}: no 'Load' column (the indentation load in N for every row)`,
    );
  }
  const formulaColumn = header.find((h) => h.toLowerCase() === "formula");
  const passThrough = header.filter((h) =>
    h !== loadColumn && h !== formulaColumn && !isElementSymbol(h) &&
    elementSymbolIgnoringCase(h) === undefined
  );
  const table: CompositionTable = compositionTableFromCsv(csv, {
    properties: [loadColumn],
    formulaColumn,
    labelColumns: passThrough,
    elements,
  });
  for (const n of table.notices) console.error(`notice: ${n}`);
  const loads = table.properties[loadColumn];
  for (let i = 0; i < table.nRows; i++) {
    if (!(loads[i] > 0)) {
      throw new UserError(
        `${path} row ${table.rowNumbers[i]}, column '${loadColumn}': ${loads[i]} is not > 0`,
      );
    }
  }
  const formulas = table.formulas;
  return {
    comp: Float64Array.from(table.fractions),
    loads: Float64Array.from(loads),
    labels: Array.from(table.rowNumbers, (line, i) => formulas?.[i] || `row ${line}`),
    formulas,
    lines: table.rowNumbers,
    csv,
  };
}

/** Warns (stderr) about loads outside the training range [lo, hi]; returns how many rows are outside. */
function warnExtrapolation(input: PredictInput, [lo, hi]: readonly [number, number]): number {
  const outside: number[] = [];
  input.loads.forEach((l, i) => (l < lo || l > hi) && outside.push(i));
  if (outside.length === 0) return 0;
  const range = `[${lo}, ${hi}] N`;
  if (!input.csv) {
    console.error(
      `warning: load ${
        input.loads[0]
      } N is outside the model's training range ${range}; the prediction is an extrapolation`,
    );
  } else {
    const i = outside[0];
    console.error(
      `warning: ${outside.length} row(s) have loads outside the model's training range ${range} (first: row ${
        input.lines![i]
      }, load ${input.loads[i]}); those predictions are extrapolations`,
    );
  }
  return outside.length;
}

function round4(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null;
}

function cellText(x: number): string {
  if (Number.isFinite(x)) return x.toFixed(4);
  return x > 0 ? "inf" : "-inf";
}

function csvCell(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The columns produced for this run, in order. */
function outputColumns(out: PredictOutput): string[] {
  const cols = ["hv_mean"];
  if (out.std) cols.push("hv_std", "hv_lcb");
  if (out.lo90) cols.push("hv_lo90", "hv_hi90");
  return cols;
}

function columnValues(out: PredictOutput, col: string): Float64Array {
  return {
    hv_mean: out.mean,
    hv_std: out.std,
    hv_lcb: out.lcb,
    hv_lo90: out.lo90,
    hv_hi90: out.hi90,
  }[col]!;
}

/** The input CSV's columns (minus any it already had of ours) followed by the prediction columns. */
function outputCsv(input: PredictInput, out: PredictOutput): string {
  const csv = input.csv!;
  const keep = csv.header.map((_, j) => j).filter((j) => !OUTPUT_COLUMNS.includes(csv.header[j]));
  if (keep.length < csv.header.length) {
    const replaced = csv.header.filter((h) => OUTPUT_COLUMNS.includes(h));
    console.error(`notice: ${csv.file}: replacing its existing column(s) ${replaced.join(", ")}`);
  }
  const cols = outputColumns(out);
  const lines = [[...keep.map((j) => csv.header[j]), ...cols].map(csvCell).join(",")];
  const byLine = new Map(csv.records.map((r) => [r.line, r]));
  input.lines!.forEach((line, i) => {
    const rec = byLine.get(line)!;
    const cells = [...keep.map((j) => rec.cells[j]), ...cols.map((c) => cellText(columnValues(out, c)[i]))];
    lines.push(cells.map(csvCell).join(","));
  });
  return lines.join("\n") + "\n";
}

function jsonRows(input: PredictInput, out: PredictOutput): Record<string, unknown>[] {
  const cols = outputColumns(out);
  return Array.from(input.loads, (load, i) => {
    const row: Record<string, unknown> = {};
    if (input.formulas) row.formula = input.formulas[i];
    if (input.lines) row.row = input.lines[i];
    row.load = load;
    for (const c of cols) row[c] = round4(columnValues(out, c)[i]);
    return row;
  });
}

function textTable(input: PredictInput, out: PredictOutput): string {
  const cols = outputColumns(out);
  const n = Math.min(input.loads.length, TABLE_ROWS);
  const header = [input.formulas ? "formula" : "row", "load", ...cols];
  const rows = Array.from({ length: n }, (_, i) => [
    input.labels[i],
    String(input.loads[i]),
    ...cols.map((c) => {
      const v = columnValues(out, c)[i];
      return Number.isFinite(v) ? v.toFixed(2) : cellText(v);
    }),
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (r: string[]) =>
    r.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join("  ");
  const text = [line(header), ...rows.map(line)];
  if (input.loads.length > n) text.push(`… ${input.loads.length - n} more row(s)`);
  return text.join("\n");
}

/** Predictions of a VIBANN model directory: deterministic, or pooled MC dropout (+ conformal interval). */
async function vibannOutput(
  dir: string,
  input: PredictInput,
  be: Backend,
  mc: number,
  seed: number,
  attentionPath?: string,
): Promise<PredictOutput> {
  const { model, config: cfg } = await loadModelDir(dir, be, { seed });
  try {
    const comp = Float32Array.from(input.comp);
    if (attentionPath !== undefined) {
      const maps = await alloyAttentionMaps(be, model, comp, cfg.elements);
      const text = /\.json$/i.test(attentionPath)
        ? JSON.stringify({ model: dir, arch: cfg.arch, labels: input.labels, alloys: maps }) + "\n"
        : attentionMapsCsv(maps, input.labels);
      await writeFileAtomic(attentionPath, text);
    }
    const p = await predictVibann(be, model, memberScalers(cfg), comp, input.loads, { mc });
    if (!p.samples) return { mean: memberMean(p) };
    const s = summarizeMcSamples(p.samples, p.members * p.mc, { levels: [], z: LCB_Z });
    const out: PredictOutput = { mean: s.mean, std: s.std, lcb: s.lcb };
    const conf = cfg.conformal;
    if (conf && conf.alphas.some((a) => Math.abs(a - CONFORMAL_ALPHA) <= 1e-12)) {
      const { lo, hi } = conformalInterval(conf, s.mean, s.std, CONFORMAL_ALPHA);
      out.lo90 = lo;
      out.hi90 = hi;
    } else if (conf) {
      console.error(
        `notice: the model's conformal calibration has no α = ${CONFORMAL_ALPHA} (has ${
          conf.alphas.join(", ")
        }); no hv_lo90/hv_hi90`,
      );
    }
    return out;
  } finally {
    model.dispose();
  }
}

/** Predictions of a baseline model directory; σ, the LCB and the Gaussian 90 % interval when it has a σ (GP). */
async function baselineOutput(dir: string, input: PredictInput, be: Backend): Promise<PredictOutput> {
  const loaded = await loadBaselineDir(dir, baselineSpecFor);
  const E = loaded.config.elements.length;
  const p = await predictRows(
    loaded,
    { fractions: input.comp, elements: E, load: input.loads },
    undefined,
    be,
  );
  loaded.model.dispose?.();
  if (!p.std) return { mean: p.mean };
  const band = (z: number) => p.mean.map((m, i) => m + z * p.std![i]);
  return { mean: p.mean, std: p.std, lcb: band(-LCB_Z), lo90: band(-Z90), hi90: band(Z90) };
}

/** `alloy predict`. */
export const predictCommand: Command = {
  name: "predict",
  summary: "predict hardness (HV) with a model directory, for a formula or a CSV of compositions",
  usage:
    "--model DIR (--formula F --load L | --csv IN --out OUT) [--mc S] [--seed N] [--attention FILE] [--json]",
  flags: {
    model: {
      type: "string",
      value: "DIR",
      help: "model directory (from train, import-keras or baselines --save)",
    },
    formula: {
      type: "string",
      value: "F",
      help: "alloy formula, e.g. Zr65Cu17.5Ni10Al7.5 or (Fe0.5Co0.5)80B20",
    },
    load: { type: "string", value: "L", help: "with --formula: indentation load in N" },
    csv: {
      type: "string",
      value: "IN",
      help: "CSV with a Load column and element columns or a 'formula' column (other columns are kept)",
    },
    out: {
      type: "string",
      value: "OUT",
      help: "with --csv: output CSV = input columns + predictions (atomic)",
    },
    mc: {
      type: "string",
      value: "S",
      help:
        "MC-dropout passes per member: hv_mean = MC mean; adds hv_std, hv_lcb (+ hv_lo90/hv_hi90 if calibrated)",
    },
    seed: { type: "string", value: "N", help: "seed of the MC-dropout masks (default 0)" },
    attention: {
      type: "string",
      value: "FILE",
      help:
        "also write per-alloy attention (.csv long format or .json): element weights (gate or pooled) and, for --arch attention, every head's token map",
    },
    json: { type: "boolean", help: "print one JSON object on stdout" },
  },
  async run(flags: Flags, positionals: string[]): Promise<number> {
    if (positionals.length > 0) throw new UserError(`predict: unexpected argument '${positionals[0]}'`);
    const dir = stringFlag(flags, "model");
    if (!dir) throw new UserError("predict: missing required flag --model DIR");
    const formula = stringFlag(flags, "formula"),
      csvPath = stringFlag(flags, "csv"),
      outPath = stringFlag(flags, "out");
    if ((formula === undefined) === (csvPath === undefined)) {
      throw new UserError("predict: give either --formula F --load L or --csv IN --out OUT");
    }
    if (formula !== undefined && flags.load === undefined) {
      throw new UserError("predict: --formula needs --load L");
    }
    if (formula !== undefined && outPath !== undefined) throw new UserError("predict: --out goes with --csv");
    if (csvPath !== undefined && flags.load !== undefined) {
      throw new UserError("predict: with --csv the loads come from its Load column; drop --load");
    }
    if (csvPath !== undefined && outPath === undefined) throw new UserError("predict: --csv needs --out OUT");
    const mc = flags.mc === undefined ? 0 : intFlag(flags, "mc", 0, 1, MAX_MC);
    const attentionPath = stringFlag(flags, "attention");
    if (attentionPath !== undefined && !/\.(csv|json)$/i.test(attentionPath)) {
      throw new UserError(`flag --attention: expected a .csv or .json file name, got '${attentionPath}'`);
    }
    const seed = intFlag(flags, "seed", 0, 0, 0xffffffff);
    const json = flags.json === true;

    // Inputs are validated before the device is opened, so bad input fails fast.
    const baseline = (await readConfigFormat(dir))?.startsWith("alloy-baseline/") ?? false;
    if (baseline && attentionPath !== undefined) {
      throw new UserError(`flag --attention: ${dir} is a baseline model directory; it has no attention`);
    }
    if (baseline && flags.mc !== undefined) {
      throw new UserError(
        `flag --mc: ${dir} is a baseline model directory; MC dropout applies to VIBANN models`,
      );
    }
    const config = baseline ? await readBaselineConfig(dir) : await readModelConfig(dir);
    const input = formula !== undefined
      ? formulaInput(formula, flags.load, config.elements)
      : await csvInput(csvPath!, config.elements);
    warnExtrapolation(input, config.load_range);

    const be = await openDevice(flags);
    const out = baseline
      ? await baselineOutput(dir, input, be)
      : await vibannOutput(dir, input, be, mc, seed, attentionPath);

    if (input.csv) await writeFileAtomic(outPath!, outputCsv(input, out));
    if (json) {
      const obj: Record<string, unknown> = baseline
        ? { model: dir, kind: (config as BaselineDirConfig).kind, rows: jsonRows(input, out) }
        : { model: dir, mc, rows: jsonRows(input, out) };
      if (outPath) obj.out = outPath;
      if (attentionPath) obj.attention = attentionPath;
      console.log(JSON.stringify(obj));
    } else {
      console.log(textTable(input, out));
      if (outPath) console.log(`wrote ${outPath} (${input.loads.length} rows)`);
      if (attentionPath) console.log(`wrote ${attentionPath} (attention maps)`);
    }
    return 0;
  },
};
