/**
 * The baseline model directory: what `alloy baselines --save` writes and `alloy predict --model DIR` reads, with the
 * conventions of the VIBANN model directory (`nn/models/model_dir.ts`):
 *
 *     DIR/config.json          format "alloy-baseline/1", kind, human name, hyperparameters (the model's
 *                              `state().params`), element order, load scaler, training load range, data record,
 *                              evaluation metrics, free-form options, time of writing, and `weights_sha256`
 *     DIR/weights.safetensors  the model's state arrays under their own names (F64 / F32 / I32), with the data
 *                              buffer's SHA-256 and the format tag and kind in `__metadata__`
 *
 * Inputs of a saved model are {@link featureMatrix} rows: the fractions of `elements` (in that order), then the load
 * scaled by `load_scaler`.
 *
 * Atomicity: both files are written (and flushed) into a hidden sibling folder that is then renamed to DIR; an
 * existing DIR is replaced only when it is empty or already a baseline model directory. Loading is strict: the
 * format tag, every config field, both checksums, the weights' tag and kind, and the model's own `restore` checks;
 * every refusal is a one-line {@link UserError} naming the file and the problem.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { isElementSymbol } from "../../data/elements.ts";
import { join } from "../../data/paths.ts";
import { StandardScaler, type StandardScalerJson } from "../../data/scaler.ts";
import {
  CONFIG_FILE,
  configFields,
  readConfigFormat,
  readConfigJson,
  readModelFile,
  WEIGHTS_FILE,
  writeModelDirAtomic,
} from "../io/model_files.ts";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../io/safetensors.ts";
import { type ModelDataRecord, prettyJson } from "../models/model_dir.ts";
import {
  BASELINE_KINDS,
  type BaselineKind,
  type BaselineSpec,
  type BaselineState,
  type Regressor,
  type StateArray,
} from "./regressor.ts";

export { CONFIG_FILE, readConfigFormat, WEIGHTS_FILE };

/** The format tag of config.json and of the weights file's metadata. */
export const BASELINE_DIR_FORMAT = "alloy-baseline/1";

/** Contents of a baseline directory's config.json (snake_case, as on disk). */
export interface BaselineDirConfig {
  format: typeof BASELINE_DIR_FORMAT;
  kind: BaselineKind;
  /** Human name ("random forest"). */
  name: string;
  /** The model's `state().params` (hyperparameters and small fitted scalars). */
  params: Record<string, unknown>;
  /** Element symbols in input order. */
  elements: string[];
  /** Standardiser of the load column, fit on the training rows. */
  load_scaler: StandardScalerJson;
  /** [min, max] of the raw training loads; predictions outside are extrapolations. */
  load_range: [number, number];
  data: ModelDataRecord | null;
  /** Evaluation metrics of the model's kind under the run's protocol (free-form), or null. */
  metrics: Record<string, unknown> | null;
  /** Free-form options (protocol, seed, training rows …). */
  options: Record<string, unknown>;
  /** ISO 8601 time of writing. */
  created: string;
  /** SHA-256 of weights.safetensors (the whole file). */
  weights_sha256: string;
}

/** What the caller of {@link saveBaselineDir} supplies besides the model. */
export interface BaselineDirInput {
  /** Human name of the model kind. */
  name: string;
  /** Element symbols in input order. */
  elements: readonly string[];
  loadScaler: StandardScaler;
  loadRange: readonly [number, number];
  data?: ModelDataRecord | null;
  metrics?: Record<string, unknown> | null;
  options?: Record<string, unknown>;
  /** Default: now. */
  created?: string;
}

/** A loaded baseline directory. */
export interface LoadedBaseline {
  model: Regressor;
  config: BaselineDirConfig;
  loadScaler: StandardScaler;
}

/** Finds the spec that restores a kind (the registry's, or a test's). */
export type BaselineSpecLookup = (kind: BaselineKind) => BaselineSpec<unknown> | undefined;

// ---------------------------------------------------------------------------------------------------------------
// writing

/** Throws when `v` does not survive a JSON round trip unchanged (non-finite numbers, functions, class instances). */
function checkJson(v: unknown, path: string): void {
  if (v === null || typeof v === "string" || typeof v === "boolean") return;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`saveBaselineDir: ${path} is ${v}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(v)) return v.forEach((x, i) => checkJson(x, `${path}[${i}]`));
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) checkJson(x, `${path}.${k}`);
    return;
  }
  throw new Error(`saveBaselineDir: ${path} is not a plain JSON value`);
}

/**
 * Writes a fitted baseline as a model directory, atomically (see the module docs).
 * @returns the config as written
 * @throws {UserError} naming `dir` when it cannot be written, is a folder of something else, or a state array holds
 *   a non-finite value; {Error} for inconsistent input (a programming error: bad elements, scaler or load range,
 *   params that JSON cannot hold)
 * @example
 * ```ts
 * const fitted = await fitBaseline(data, trainRows, { spec: gaussianProcess }, { backend, seed: 1 });
 * await saveBaselineDir("runs/gp", fitted.model, { name: gaussianProcess.name, elements: ds.elementColumns,
 *   loadScaler: fitted.loadScaler, loadRange: fitted.loadRange });
 * ```
 */
export async function saveBaselineDir(
  dir: string,
  model: Regressor,
  input: BaselineDirInput,
): Promise<BaselineDirConfig> {
  const fail = (what: string): never => {
    throw new Error(`saveBaselineDir: ${what}`);
  };
  const state = model.state();
  if (!BASELINE_KINDS.includes(state.kind)) fail(`unknown model kind '${state.kind}'`);
  if (input.elements.length === 0) fail("no elements");
  input.elements.forEach((e, i) => {
    if (!isElementSymbol(e)) fail(`'${e}' is not an element symbol`);
    if (input.elements.indexOf(e) !== i) fail(`element ${e} is listed twice`);
  });
  if (input.loadScaler.nCols !== 1) fail(`the load scaler has ${input.loadScaler.nCols} columns`);
  const [lo, hi] = input.loadRange;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) fail(`bad load range [${lo}, ${hi}]`);
  checkJson(state.params, "params");
  checkJson(input.metrics ?? null, "metrics");
  checkJson(input.options ?? {}, "options");

  const tensors: Record<string, SafeTensor> = {};
  for (const [name, a] of Object.entries(state.arrays)) {
    if (a.dtype !== "I32") {
      const bad = a.data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new UserError(
          `cannot write model directory ${dir}: array ${name} element ${bad} is not finite ('${
            a.data[bad]
          }')`,
        );
      }
    }
    tensors[name] = { dtype: a.dtype, shape: [...a.shape], data: a.data } as SafeTensor;
  }
  const weights = await encodeSafetensors(tensors, { format: BASELINE_DIR_FORMAT, kind: state.kind });
  const config: BaselineDirConfig = {
    format: BASELINE_DIR_FORMAT,
    kind: state.kind,
    name: input.name,
    params: state.params,
    elements: [...input.elements],
    load_scaler: input.loadScaler.toJSON(),
    load_range: [lo, hi],
    data: input.data ?? null,
    metrics: input.metrics ?? null,
    options: input.options ?? {},
    created: input.created ?? new Date().toISOString(),
    weights_sha256: await sha256Hex(weights),
  };
  const configBytes = new TextEncoder().encode(prettyJson(config) + "\n");

  await writeModelDirAtomic(dir, { weights, config: configBytes }, {
    format: BASELINE_DIR_FORMAT,
    what: "a baseline model directory",
  });
  return config;
}

// ---------------------------------------------------------------------------------------------------------------
// reading

const SHA256_HEX = /^[0-9a-f]{64}$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Validates parsed config.json contents field by field.
 * @param where the file name used in messages
 * @throws {UserError} naming the file and the first bad field
 */
export function parseBaselineConfig(json: unknown, where: string): BaselineDirConfig {
  const { o, bad } = configFields(json, where, BASELINE_DIR_FORMAT);
  if (!BASELINE_KINDS.includes(o.kind as BaselineKind)) {
    bad("kind", `must be one of ${BASELINE_KINDS.join(", ")}, got ${JSON.stringify(o.kind)}`);
  }
  if (typeof o.name !== "string") bad("name", "must be a string");
  if (!isPlainObject(o.params)) bad("params", "must be an object");
  if (!Array.isArray(o.elements) || o.elements.length === 0) bad("elements", "must be a non-empty list");
  const elements = o.elements as unknown[];
  elements.forEach((e, i) => {
    if (typeof e !== "string" || !isElementSymbol(e)) bad("elements", `item ${i} is not an element symbol`);
    if (elements.indexOf(e) !== i) bad("elements", `lists ${e} twice`);
  });
  const scaler = StandardScaler.fromJSON(o.load_scaler, `${where}: 'load_scaler'`);
  if (scaler.nCols !== 1) bad("load_scaler", `must have 1 column, has ${scaler.nCols}`);
  const lr = o.load_range as number[];
  if (
    !Array.isArray(lr) || lr.length !== 2 || !lr.every((v) => typeof v === "number" && Number.isFinite(v)) ||
    lr[0] > lr[1]
  ) {
    bad("load_range", "must be [min, max] with finite min ≤ max");
  }
  let data: ModelDataRecord | null = null;
  if (o.data !== null) {
    const d = o.data;
    if (
      !isPlainObject(d) || typeof d.file !== "string" || typeof d.sha256 !== "string" ||
      !Number.isInteger(d.n_rows) || (d.n_rows as number) < 1
    ) {
      return bad("data", "must be null or {file, sha256, n_rows}");
    }
    data = { file: d.file, sha256: d.sha256, n_rows: d.n_rows as number };
  }
  if (o.metrics !== null && !isPlainObject(o.metrics)) bad("metrics", "must be null or an object");
  if (!isPlainObject(o.options)) bad("options", "must be an object");
  if (typeof o.created !== "string") bad("created", "must be an ISO date string");
  if (typeof o.weights_sha256 !== "string" || !SHA256_HEX.test(o.weights_sha256)) {
    bad("weights_sha256", "must be 64 lowercase hex digits");
  }
  return {
    format: BASELINE_DIR_FORMAT,
    kind: o.kind as BaselineKind,
    name: o.name as string,
    params: o.params as Record<string, unknown>,
    elements: elements as string[],
    load_scaler: scaler.toJSON(),
    load_range: [lr[0], lr[1]],
    data,
    metrics: o.metrics as Record<string, unknown> | null,
    options: o.options as Record<string, unknown>,
    created: o.created as string,
    weights_sha256: o.weights_sha256 as string,
  };
}

/**
 * Reads and validates DIR/config.json of a baseline directory (without the weights).
 * @throws {UserError} naming the file when it is missing, not JSON, or any field is wrong
 */
export async function readBaselineConfig(dir: string): Promise<BaselineDirConfig> {
  const { path, json } = await readConfigJson(dir);
  return parseBaselineConfig(json, path);
}

/**
 * Loads a baseline directory: validates config.json, checks weights.safetensors against the config's SHA-256 and
 * its own data checksum, its format tag and kind, and rebuilds the model with its spec's `restore`.
 * @param lookup the spec of each kind (the CLI passes the registry's `baselineSpecFor`)
 * @throws {UserError} naming the file and what is wrong (missing, truncated, altered, replaced, wrong tag or kind,
 *   an array the model refuses, a kind this build does not have)
 * @example
 * ```ts
 * const { model, loadScaler, config } = await loadBaselineDir("runs/gp", baselineSpecFor);
 * const p = await model.predict(featureMatrix({ fractions, elements: config.elements.length, load }, loadScaler), be);
 * ```
 */
export async function loadBaselineDir(dir: string, lookup: BaselineSpecLookup): Promise<LoadedBaseline> {
  const config = await readBaselineConfig(dir);
  const cpath = join(dir, CONFIG_FILE);
  const path = join(dir, WEIGHTS_FILE);
  const bytes = await readModelFile(path, "model weights");
  const file = await decodeSafetensors(bytes, path, { requireChecksum: true, requireFinite: true });
  const tag = file.metadata.format;
  if (tag !== BASELINE_DIR_FORMAT) {
    throw new UserError(
      `${path}: format tag ${tag === undefined ? "missing" : `'${tag}'`}, expected '${BASELINE_DIR_FORMAT}'`,
    );
  }
  if (file.metadata.kind !== config.kind) {
    throw new UserError(
      `${path}: holds a '${file.metadata.kind}' model but ${CONFIG_FILE} says '${config.kind}' (mismatched files)`,
    );
  }
  if ((await sha256Hex(bytes)) !== config.weights_sha256) {
    throw new UserError(
      `${path}: SHA-256 does not match weights_sha256 in ${CONFIG_FILE} (the weights were altered or replaced)`,
    );
  }
  const arrays: Record<string, StateArray> = {};
  for (const [name, t] of Object.entries(file.tensors)) {
    if (t.dtype !== "F64" && t.dtype !== "F32" && t.dtype !== "I32") {
      throw new UserError(`${path}: array '${name}' is ${t.dtype}; baseline arrays are F64, F32 or I32`);
    }
    arrays[name] = t as StateArray;
  }
  const spec = lookup(config.kind);
  if (!spec) throw new UserError(`${cpath}: model kind '${config.kind}' is not available in this build`);
  const state: BaselineState = { kind: config.kind, params: config.params, arrays };
  let model: Regressor;
  try {
    model = spec.restore(state);
  } catch (e) {
    const msg = (e as Error)?.message?.split("\n")[0] ?? String(e);
    throw new UserError(`${dir}: cannot restore the ${config.kind} model: ${msg}`);
  }
  if (model.kind !== config.kind) {
    throw new UserError(`${dir}: the ${config.kind} spec restored a '${model.kind}' model`);
  }
  return {
    model,
    config,
    loadScaler: StandardScaler.fromJSON(config.load_scaler, `${cpath}: 'load_scaler'`),
  };
}
