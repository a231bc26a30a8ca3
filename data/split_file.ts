/**
 * Split files: reading the project's fixed split file (`splits/hardness_splits.json`: `holdout.train/test/
 * early_stopping_val`, `kfold5.folds[k]` = test rows of fold k, plus `data_sha256` and `n_rows`), and the
 * `splits.json` record every trained model writes with the exact rows it used ({@link splitsRecord},
 * {@link writeSplitsJson}, {@link readSplitsRecord}).
 *
 * Row indices are 0-based positions of data rows (header and comment lines excluded). Every check names the file
 * and the offending field: indices must be integers in range, unique within a list, disjoint across lists
 * (`early_stopping_val` must lie inside `train`; folds must partition all rows), and `n_rows` / `data_sha256` must
 * match the loaded data.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { fileErrorText } from "./csv.ts";

/** The data a split file must match. */
export interface SplitDataRef {
  /** Number of data rows. */
  nRows: number;
  /** SHA-256 of the data file (hex); checked when the split file records one. */
  sha256?: string;
  /** Data file name, for messages. */
  file?: string;
}

/** The fixed splits of `hardness_splits.json`. */
export interface FixedSplits {
  file: string;
  holdout: { train: number[]; test: number[]; earlyStoppingVal: number[] };
  /** `folds[k]` = test rows of fold k. */
  kfold: number[][];
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UserError(`${path}: ${fileErrorText(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
}

function field(obj: unknown, path: string, file: string): unknown {
  let cur = obj;
  for (const key of path.split(".")) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur) || !(key in cur)) {
      throw new UserError(`${file}: missing field '${path}'`);
    }
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/**
 * Validates a list of row indices: an array of integers in 0..nRows-1 without repeats.
 * @throws {UserError} naming the file, the field and the offending entry
 */
export function checkIndexList(value: unknown, name: string, nRows: number, file: string): number[] {
  if (!Array.isArray(value)) throw new UserError(`${file}: '${name}' must be a list of row indices`);
  const seen = new Set<number>();
  value.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw new UserError(`${file}: ${name}[${i}] = ${JSON.stringify(v)} is not a whole number`);
    }
    if (v < 0 || v >= nRows) {
      throw new UserError(
        `${file}: ${name}[${i}] = ${v} is out of range (the data has ${nRows} rows: 0..${nRows - 1})`,
      );
    }
    if (seen.has(v)) throw new UserError(`${file}: ${name} lists row ${v} twice`);
    seen.add(v);
  });
  return value as number[];
}

/** Throws when two named row lists share a row. */
export function checkDisjoint(lists: [string, readonly number[]][], file: string): void {
  const owner = new Map<number, string>();
  for (const [name, rows] of lists) {
    for (const r of rows) {
      const prev = owner.get(r);
      if (prev !== undefined) throw new UserError(`${file}: row ${r} is in both ${prev} and ${name}`);
      owner.set(r, name);
    }
  }
}

function checkData(obj: unknown, file: string, data: SplitDataRef, nRowsKey: string, shaKey: string) {
  const o = obj as Record<string, unknown>;
  if (o[nRowsKey] !== undefined && o[nRowsKey] !== data.nRows) {
    throw new UserError(
      `${file}: ${nRowsKey} is ${JSON.stringify(o[nRowsKey])}, but the loaded data${
        data.file ? ` (${data.file})` : ""
      } has ${data.nRows} rows; the splits belong to a different data file`,
    );
  }
  if (o[shaKey] !== undefined && data.sha256 !== undefined && o[shaKey] !== data.sha256) {
    throw new UserError(
      `${file}: ${shaKey} is ${String(o[shaKey]).slice(0, 16)}…, but the loaded data${
        data.file ? ` (${data.file})` : ""
      } has SHA-256 ${data.sha256.slice(0, 16)}…; the splits belong to a different data file`,
    );
  }
}

/**
 * Validates parsed split-file JSON (the `hardness_splits.json` format) against the loaded data.
 * @throws {UserError} naming the file and field for every problem (see the module docs)
 */
export function validateFixedSplits(obj: unknown, file: string, data: SplitDataRef): FixedSplits {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new UserError(`${file}: expected a JSON object`);
  }
  checkData(obj, file, data, "n_rows", "data_sha256");
  const n = data.nRows;
  const train = checkIndexList(field(obj, "holdout.train", file), "holdout.train", n, file);
  const test = checkIndexList(field(obj, "holdout.test", file), "holdout.test", n, file);
  const esv = checkIndexList(
    field(obj, "holdout.early_stopping_val", file),
    "holdout.early_stopping_val",
    n,
    file,
  );
  checkDisjoint([["holdout.train", train], ["holdout.test", test]], file);
  const trainSet = new Set(train);
  for (const r of esv) {
    if (!trainSet.has(r)) {
      throw new UserError(`${file}: holdout.early_stopping_val row ${r} is not in holdout.train`);
    }
  }
  const foldsRaw = field(obj, "kfold5.folds", file);
  if (!Array.isArray(foldsRaw) || foldsRaw.length < 2) {
    throw new UserError(`${file}: 'kfold5.folds' must be a list of at least 2 folds`);
  }
  const folds = foldsRaw.map((f, k) => checkIndexList(f, `kfold5.folds[${k}]`, n, file));
  checkDisjoint(folds.map((f, k) => [`kfold5.folds[${k}]`, f]), file);
  const covered = new Set(folds.flat());
  for (let r = 0; r < n; r++) {
    if (!covered.has(r)) {
      throw new UserError(`${file}: row ${r} is in none of kfold5.folds (they must cover all rows)`);
    }
  }
  return { file, holdout: { train, test, earlyStoppingVal: esv }, kfold: folds };
}

/**
 * Reads and validates a fixed split file (`hardness_splits.json` format).
 * @throws {UserError} for a missing or invalid file, and every check in the module docs
 */
export async function loadSplitFile(path: string, data: SplitDataRef): Promise<FixedSplits> {
  return validateFixedSplits(await readJson(path), path, data);
}

/** The `splits.json` a trained model writes: which data and exactly which rows it used. */
export interface SplitsRecord {
  format: "alloy-splits/1";
  data_file: string;
  data_sha256: string;
  n_rows: number;
  /** How the split was made, e.g. `"reference"`, `"holdout"`, `"kfold5"`. */
  method: string;
  seed?: number;
  /** Any parameters of the method (test size, number of clusters, …). */
  params?: Record<string, unknown>;
  /** Named, disjoint row sets, e.g. `train`, `calibration`, `test` (ascending 0-based data-row indices). */
  sets: Record<string, number[]>;
  /** For cross-validation: `folds[k]` = test rows of fold k. */
  folds?: number[][];
}

/** Arguments of {@link splitsRecord}. */
export interface SplitsRecordArgs {
  dataFile: string;
  dataSha256: string;
  nRows: number;
  method: string;
  seed?: number;
  params?: Record<string, unknown>;
  sets: Record<string, readonly number[]>;
  folds?: readonly (readonly number[])[];
}

function validateRecord(rec: SplitsRecord, file: string, n: number): SplitsRecord {
  const names = Object.keys(rec.sets ?? {});
  for (const name of names) checkIndexList(rec.sets[name], `sets.${name}`, n, file);
  checkDisjoint(names.map((k) => [`sets.${k}`, rec.sets[k]]), file);
  if (rec.folds !== undefined) {
    if (!Array.isArray(rec.folds)) throw new UserError(`${file}: 'folds' must be a list of row lists`);
    rec.folds.forEach((f, k) => checkIndexList(f, `folds[${k}]`, n, file));
    checkDisjoint(rec.folds.map((f, k) => [`folds[${k}]`, f]), file);
  }
  return rec;
}

/**
 * Builds the JSON-serialisable record of the rows a model used (row lists sorted ascending).
 * @throws {UserError} when a row is out of range, repeated, or in two sets
 * @example
 * ```ts
 * const rec = splitsRecord({ dataFile: ds.file, dataSha256: ds.sha256, nRows: ds.nRows, method: "reference",
 *   seed: 1, sets: { train: s.train, calibration: s.calibration, test: s.test } });
 * await writeSplitsJson("runs/x/splits.json", rec);
 * ```
 */
export function splitsRecord(args: SplitsRecordArgs): SplitsRecord {
  if (!Number.isInteger(args.nRows) || args.nRows < 1) {
    throw new UserError(`splits: bad row count ${args.nRows}`);
  }
  const sort = (a: readonly number[]) => [...a].sort((x, y) => x - y);
  const rec: SplitsRecord = {
    format: "alloy-splits/1",
    data_file: args.dataFile,
    data_sha256: args.dataSha256,
    n_rows: args.nRows,
    method: args.method,
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    ...(args.params ? { params: args.params } : {}),
    sets: Object.fromEntries(Object.entries(args.sets).map(([k, v]) => [k, sort(v)])),
    ...(args.folds ? { folds: args.folds.map(sort) } : {}),
  };
  return validateRecord(rec, "splits record", args.nRows);
}

/** Writes a {@link SplitsRecord} as JSON, atomically (temp file + rename). */
export async function writeSplitsJson(path: string, record: SplitsRecord): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(record) + "\n");
}

/**
 * Reads a `splits.json` written by {@link writeSplitsJson} and checks it against the loaded data.
 * @throws {UserError} for a missing or malformed file, wrong format tag, or rows/checksum not matching the data
 */
export async function readSplitsRecord(path: string, data: SplitDataRef): Promise<SplitsRecord> {
  const obj = await readJson(path);
  if (typeof obj !== "object" || obj === null || (obj as SplitsRecord).format !== "alloy-splits/1") {
    throw new UserError(`${path}: not an alloy splits record (expected "format": "alloy-splits/1")`);
  }
  const rec = obj as SplitsRecord;
  if (typeof rec.sets !== "object" || rec.sets === null || Array.isArray(rec.sets)) {
    throw new UserError(`${path}: missing field 'sets'`);
  }
  if (rec.n_rows === undefined) throw new UserError(`${path}: missing field 'n_rows'`);
  checkData(rec, path, data, "n_rows", "data_sha256");
  return validateRecord(rec, path, data.nRows);
}
