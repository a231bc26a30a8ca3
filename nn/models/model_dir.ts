/**
 * The model directory: what `alloy train` and `alloy import-keras` write and `alloy predict` reads.
 *
 *     DIR/config.json          architecture, element order, scalers, β, load range, conformal calibration, provenance,
 *                              and the SHA-256 of the weights file (`weights_sha256`)
 *     DIR/weights.safetensors  every tensor of {@link VibannReference.namedTensors} under its Keras-style name, float32,
 *                              with a leading [R] axis when the directory holds R > 1 members; the safetensors
 *                              `__metadata__` carries the data checksum and the format tag
 *     DIR/…                    extra files written by the caller (metrics.json, splits.json, curves.csv, …), each with
 *                              {@link writeJsonAtomic} / `writeFileAtomic`
 *
 * File shapes: kernels as (in, out) (or [R, in, out]); biases and BatchNorm vectors as [F] (or [R, F]) — the
 * in-memory [R, 1, F] broadcast layout of replicated models is not part of the format.
 *
 * Atomicity: {@link saveModelDir} writes both files into a hidden sibling folder and renames it into place, so a
 * crash leaves the old directory, the new one, or (between the two renames of a replacement) none — never a mix.
 * {@link loadModelDir} refuses anything that does not check out (format tag, every config field, file checksums,
 * every tensor's name and shape) with a one-line {@link UserError} naming the file and the problem.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { VibannBase } from "./vibann.ts";
import { type ArchSpec, archSpecOf, buildVibann, VIBANN_ARCHS, type VibannArch } from "./vibann_factory.ts";
import type { AttentionArchConfig } from "./vibann_attention.ts";
import type { MemberScalers } from "./vibann_predict.ts";
import { type ConformalModel, conformalModelFromJSON } from "../metrics/conformal.ts";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../io/safetensors.ts";
import { UserError } from "../../cli/errors.ts";
import { writeFileAtomic } from "../../data/atomic_write.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { isElementSymbol } from "../../data/elements.ts";
import { join } from "../../data/paths.ts";
import {
  CONFIG_FILE,
  configFields,
  readConfigJson,
  readModelFile,
  WEIGHTS_FILE,
  writeModelDirAtomic,
} from "../io/model_files.ts";

export { CONFIG_FILE, WEIGHTS_FILE };

/** The format tag of config.json and of the weights file's metadata. */
export const MODEL_DIR_FORMAT = "alloy-vibann/1";

/** Where a model directory's weights came from. */
export type ModelSource = "trained" | "keras-import";

/** Standardisation constants of one member, as stored in config.json. */
export interface ScalersJson {
  load_mean: number;
  load_scale: number;
  y_mean: number;
  y_scale: number;
}

/** The training data a model was fitted on. */
export interface ModelDataRecord {
  file: string;
  sha256: string;
  n_rows: number;
}

/** Contents of config.json (snake_case, as on disk; `conformal` with its ∞ quantiles restored). */
export interface ModelDirConfig {
  format: typeof MODEL_DIR_FORMAT;
  arch: VibannArch;
  /** Options of the `attention` architecture (absent for `reference`). */
  attention?: AttentionArchConfig;
  /** Element symbols in input order. */
  elements: string[];
  /** Largest member latent size (the width of the latent tensors). */
  latent_dim: number;
  latent_dims: number[];
  /** MC-dropout rate per member. */
  dropout: number[];
  members: number;
  bn_eps: number;
  /** Free-form training (or import) options. */
  options: Record<string, unknown>;
  data: ModelDataRecord | null;
  /** [min, max] of the raw training loads; predictions outside are extrapolations. */
  load_range: [number, number];
  scalers: ScalersJson[];
  /** KL coefficient β restored with the best weights, per member (null: unknown, e.g. not in a Keras file). */
  beta: (number | null)[];
  conformal: ConformalModel | null;
  /** ISO 8601 time of writing. */
  created: string;
  source: ModelSource;
  /** SHA-256 of weights.safetensors (the whole file). */
  weights_sha256: string;
}

/** What the caller of {@link saveModelDir} supplies; the rest is read from the model. */
export interface ModelDirInput {
  /** Element symbols in input order (as many as the model's inputs). */
  elements: readonly string[];
  /** One per member (the trainer's and predictVibann's camelCase form). */
  scalers: readonly MemberScalers[];
  /** [min, max] of the raw training loads. */
  loadRange: readonly [number, number];
  source: ModelSource;
  /** β per member (default: null each = unknown). */
  beta?: readonly (number | null)[];
  conformal?: ConformalModel | null;
  /** Free-form, JSON-serialisable options (training protocol, flags, import provenance). */
  options?: Record<string, unknown>;
  data?: ModelDataRecord | null;
  /** Default: now. */
  created?: string;
}

/** A loaded model directory. */
export interface LoadedModel {
  /** All members, in inference mode. */
  model: VibannBase;
  config: ModelDirConfig;
}

/** Options of {@link loadModelDir}. */
export interface LoadModelOptions {
  /** Seed of the model's random streams (MC-dropout masks); default 0. */
  seed?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// tensor shapes

/**
 * The on-disk shape of a model tensor: kernels keep their shape; vectors (biases, BatchNorm γ/β/statistics, stored
 * as [F] or [R, 1, F] in memory) become [F] or [R, F].
 */
function fileShape(name: string, shape: readonly number[], replicas: number): number[] {
  if (name.endsWith("/kernel")) return [...shape];
  const f = shape[shape.length - 1];
  return replicas > 1 ? [replicas, f] : [f];
}

/**
 * Every tensor of `model` under its name with its on-disk shape (see the module docs). Used to build and to check
 * weight files, including the Keras import.
 */
export function weightFileShapes(model: VibannBase): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const { name, tensor } of model.namedTensors()) {
    if (Object.hasOwn(out, name)) throw new Error(`weightFileShapes: tensor name '${name}' is used twice`);
    out[name] = fileShape(name, tensor.shape, model.replicas);
  }
  return out;
}

/** Reads every tensor of `model` as float32 (one device read each, overlapped). */
export async function readModelTensors(
  model: VibannBase,
): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
  const shapes = weightFileShapes(model);
  const named = model.namedTensors();
  const values = await Promise.all(named.map(({ tensor }) => tensor.read()));
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  named.forEach(({ name }, i) => {
    const v = values[i];
    out[name] = { shape: shapes[name], data: v instanceof Float32Array ? v : Float32Array.from(v) };
  });
  return out;
}

/** The per-member scalers of a config in the form {@link predictVibann} takes. */
export function memberScalers(config: ModelDirConfig): MemberScalers[] {
  return config.scalers.map((s) => ({
    loadMean: s.load_mean,
    loadScale: s.load_scale,
    yMean: s.y_mean,
    yScale: s.y_scale,
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// writing

/**
 * Indented JSON (2 spaces) with arrays of plain values kept on one line, so long element lists and per-member
 * vectors stay readable. Same values as `JSON.stringify` (non-finite numbers become null).
 */
export function prettyJson(value: unknown): string {
  const fmt = (v: unknown, indent: string): string => {
    if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
    if (typeof (v as { toJSON?: unknown }).toJSON === "function") {
      return fmt((v as { toJSON(): unknown }).toJSON(), indent);
    }
    const inner = indent + "  ";
    if (Array.isArray(v)) {
      if (v.every((x) => x === null || typeof x !== "object")) {
        return `[${v.map((x) => JSON.stringify(x) ?? "null").join(", ")}]`;
      }
      return v.length === 0 ? "[]" : `[\n${v.map((x) => inner + fmt(x, inner)).join(",\n")}\n${indent}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) =>
      x !== undefined && typeof x !== "function"
    );
    if (entries.length === 0) return "{}";
    return `{\n${
      entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${fmt(x, inner)}`).join(",\n")
    }\n${indent}}`;
  };
  return fmt(value, "");
}

/**
 * Writes `obj` as indented JSON ({@link prettyJson}) to `path` atomically (temp file + rename), e.g. metrics.json
 * next to a model.
 * @throws {UserError} naming the path when it cannot be written
 */
export async function writeJsonAtomic(path: string, obj: unknown): Promise<void> {
  await writeFileAtomic(path, prettyJson(obj) + "\n");
}

function checkInput(model: VibannBase, input: ModelDirInput): void {
  const R = model.replicas;
  const fail = (what: string): never => {
    throw new Error(`saveModelDir: ${what}`);
  };
  if (input.elements.length !== model.elements) {
    fail(`${input.elements.length} element names for a model with ${model.elements} inputs`);
  }
  input.elements.forEach((e, i) => {
    if (!isElementSymbol(e)) fail(`'${e}' is not an element symbol`);
    if (input.elements.indexOf(e) !== i) fail(`element ${e} is listed twice`);
  });
  if (input.scalers.length !== R) fail(`${input.scalers.length} scalers for ${R} members`);
  for (const s of input.scalers) {
    if (![s.loadMean, s.yMean].every(Number.isFinite) || !(s.loadScale > 0) || !(s.yScale > 0)) {
      fail(`bad scalers ${JSON.stringify(s)}`);
    }
  }
  if (input.beta && input.beta.length !== R) fail(`${input.beta.length} β values for ${R} members`);
  const [lo, hi] = input.loadRange;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) fail(`bad load range [${lo}, ${hi}]`);
}

/**
 * Writes a model directory atomically: config.json and weights.safetensors go to a hidden sibling folder that is
 * then renamed to `dir`. An existing `dir` is replaced only when it is empty or already a model directory (its
 * other files, e.g. an old metrics.json, go with it).
 * @param dir target folder (its parent is created if needed)
 * @param model the model (all members); architecture fields (latent sizes, dropout, BatchNorm ε) are read from it
 * @param input everything else config.json holds
 * @returns the config as written
 * @throws {UserError} naming `dir` when it cannot be written or is a folder of something else, or when a weight is
 *   not finite; {Error} for inconsistent `input` (a programming error)
 * @example
 * ```ts
 * const cfg = await saveModelDir("runs/final", res.model, { elements, scalers: res.scalers,
 *   loadRange: [0.01, 19.6], source: "trained", beta: res.bestBeta, options: { protocol: "reference" } });
 * await writeJsonAtomic(join("runs/final", "metrics.json"), metrics);
 * ```
 */
export async function saveModelDir(
  dir: string,
  model: VibannBase,
  input: ModelDirInput,
): Promise<ModelDirConfig> {
  checkInput(model, input);
  const R = model.replicas;
  const values = await readModelTensors(model);
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, { shape, data }] of Object.entries(values)) {
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new UserError(
        `cannot write model directory ${dir}: tensor ${name} element ${bad} is not finite ('${data[bad]}')`,
      );
    }
    tensors[name] = { dtype: "F32", shape, data };
  }
  const weights = await encodeSafetensors(tensors, { format: MODEL_DIR_FORMAT });
  const config: ModelDirConfig = {
    format: MODEL_DIR_FORMAT,
    ...archFields(archSpecOf(model, input.elements)),
    elements: [...input.elements],
    latent_dim: model.latentDim,
    latent_dims: [...model.latentDims],
    dropout: [...model.dropoutRates],
    members: R,
    bn_eps: model.load1.bn.eps,
    options: input.options ?? {},
    data: input.data ?? null,
    load_range: [input.loadRange[0], input.loadRange[1]],
    scalers: input.scalers.map((s) => ({
      load_mean: s.loadMean,
      load_scale: s.loadScale,
      y_mean: s.yMean,
      y_scale: s.yScale,
    })),
    beta: input.beta ? [...input.beta] : Array.from({ length: R }, () => null),
    conformal: input.conformal ?? null,
    created: input.created ?? new Date().toISOString(),
    source: input.source,
    weights_sha256: await sha256Hex(weights),
  };
  // JSON.stringify writes the ∞ quantiles of a conformal model as null, which conformalModelFromJSON restores.
  const configBytes = new TextEncoder().encode(prettyJson(config) + "\n");

  await writeModelDirAtomic(dir, { weights, config: configBytes }, {
    format: MODEL_DIR_FORMAT,
    what: "a model directory",
  });
  return config;
}

// ---------------------------------------------------------------------------------------------------------------
// reading

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Validates parsed config.json contents field by field.
 * @param where the file name used in messages
 * @throws {UserError} naming the file and the first bad field
 */
export function parseModelConfig(json: unknown, where: string): ModelDirConfig {
  const { o, bad } = configFields(json, where, MODEL_DIR_FORMAT);
  if (!VIBANN_ARCHS.includes(o.arch as VibannArch)) {
    bad(
      "arch",
      `must be one of ${VIBANN_ARCHS.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(o.arch)}`,
    );
  }
  const attention = o.arch === "attention" ? parseAttentionConfig(o.attention, bad) : undefined;
  const int = (field: string, min: number): number => {
    const v = o[field];
    return Number.isInteger(v) && (v as number) >= min
      ? v as number
      : bad(field, `must be an integer ≥ ${min}`);
  };
  const R = int("members", 1);
  const list = (field: string): unknown[] => {
    const v = o[field];
    return Array.isArray(v) && v.length === R
      ? v
      : bad(field, `must be a list of ${R} value(s), one per member`);
  };

  if (!Array.isArray(o.elements) || o.elements.length === 0) bad("elements", "must be a non-empty list");
  const elements = o.elements as unknown[];
  elements.forEach((e, i) => {
    if (typeof e !== "string" || !isElementSymbol(e)) bad("elements", `item ${i} is not an element symbol`);
    if (elements.indexOf(e) !== i) bad("elements", `lists ${e} twice`);
  });
  const latentDims = list("latent_dims").map((v, i) =>
    Number.isInteger(v) && (v as number) >= 1
      ? v as number
      : bad("latent_dims", `item ${i} must be an integer ≥ 1`)
  );
  const L = int("latent_dim", 1);
  if (L !== Math.max(...latentDims)) {
    bad("latent_dim", `is ${L} but the largest of latent_dims is ${Math.max(...latentDims)}`);
  }
  const dropout = list("dropout").map((v, i) =>
    typeof v === "number" && v >= 0 && v < 1 ? v : bad("dropout", `item ${i} must be a number in [0, 1)`)
  );
  if (typeof o.bn_eps !== "number" || !(o.bn_eps > 0) || !Number.isFinite(o.bn_eps)) {
    bad("bn_eps", "must be a finite number > 0");
  }
  if (o.options === null || typeof o.options !== "object" || Array.isArray(o.options)) {
    bad("options", "must be an object");
  }
  let data: ModelDataRecord | null = null;
  if (o.data !== null) {
    const d = o.data as Record<string, unknown> | undefined;
    if (
      d === undefined || typeof d !== "object" || Array.isArray(d) || typeof d.file !== "string" ||
      typeof d.sha256 !== "string" || !Number.isInteger(d.n_rows) || (d.n_rows as number) < 1
    ) {
      bad("data", "must be null or {file, sha256, n_rows}");
    }
    data = { file: d!.file as string, sha256: d!.sha256 as string, n_rows: d!.n_rows as number };
  }
  const lr = o.load_range as number[];
  if (
    !Array.isArray(lr) || lr.length !== 2 || !lr.every((v) => typeof v === "number" && Number.isFinite(v)) ||
    lr[0] > lr[1]
  ) {
    bad("load_range", "must be [min, max] with finite min ≤ max");
  }
  const scalers = list("scalers").map((s, i): ScalersJson => {
    const v = s as Record<string, unknown> | null;
    const ok = v !== null && typeof v === "object" &&
      ["load_mean", "load_scale", "y_mean", "y_scale"].every((k) =>
        typeof v[k] === "number" && Number.isFinite(v[k])
      ) && (v.load_scale as number) > 0 && (v.y_scale as number) > 0;
    if (!ok) {
      bad("scalers", `item ${i} must be {load_mean, load_scale > 0, y_mean, y_scale > 0} (finite numbers)`);
    }
    return {
      load_mean: v!.load_mean as number,
      load_scale: v!.load_scale as number,
      y_mean: v!.y_mean as number,
      y_scale: v!.y_scale as number,
    };
  });
  const beta = list("beta").map((v, i) =>
    v === null || (typeof v === "number" && Number.isFinite(v) && v >= 0)
      ? v as number | null
      : bad("beta", `item ${i} must be a finite number ≥ 0 or null`)
  );
  const conformal = o.conformal === null || o.conformal === undefined
    ? null
    : conformalModelFromJSON(o.conformal, `${where}: 'conformal'`);
  if (typeof o.created !== "string") bad("created", "must be an ISO date string");
  if (o.source !== "trained" && o.source !== "keras-import") {
    bad("source", `must be "trained" or "keras-import"`);
  }
  if (typeof o.weights_sha256 !== "string" || !SHA256_HEX.test(o.weights_sha256)) {
    bad("weights_sha256", "must be 64 lowercase hex digits");
  }
  return {
    format: MODEL_DIR_FORMAT,
    arch: o.arch as VibannArch,
    ...(attention ? { attention } : {}),
    elements: elements as string[],
    latent_dim: L,
    latent_dims: latentDims,
    dropout,
    members: R,
    bn_eps: o.bn_eps as number,
    options: o.options as Record<string, unknown>,
    data,
    load_range: [lr[0], lr[1]],
    scalers,
    beta,
    conformal,
    created: o.created as string,
    source: o.source as ModelSource,
    weights_sha256: o.weights_sha256 as string,
  };
}

/**
 * Reads and validates DIR/config.json (without the weights).
 * @throws {UserError} naming the file when it is missing, not JSON, or any field is wrong
 */
export async function readModelConfig(dir: string): Promise<ModelDirConfig> {
  const { path, json } = await readConfigJson(dir);
  return parseModelConfig(json, path);
}

/**
 * Loads a model directory: validates config.json, checks weights.safetensors against the config's SHA-256 and its
 * own data checksum, checks every tensor's name and shape against the architecture the config describes, and
 * builds the model (all members, in inference mode) on `backend`.
 * @throws {UserError} naming the file and what is wrong (missing, truncated, altered, wrong format tag, missing or
 *   extra tensor, wrong shape, non-finite value)
 * @example
 * ```ts
 * const { model, config } = await loadModelDir("runs/final", be);
 * const p = await predictVibann(be, model, memberScalers(config), comp, loads, { mc: 100 });
 * ```
 */
export async function loadModelDir(
  dir: string,
  backend: Backend,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const config = await readModelConfig(dir);
  const path = join(dir, WEIGHTS_FILE);
  const bytes = await readModelFile(path, "model weights");
  const R = config.members;
  const model = buildVibann(archSpecFromConfig(config), {
    latentDim: config.latent_dims,
    dropout: config.dropout,
    replicas: R,
    bnEps: config.bn_eps,
    seed: options.seed ?? 0,
    backend,
  });
  try {
    const expect = weightFileShapes(model);
    const file = await decodeSafetensors(bytes, path, { expect, requireChecksum: true, requireFinite: true });
    if (file.metadata.format !== MODEL_DIR_FORMAT) {
      throw new UserError(
        `${path}: format tag ${
          file.metadata.format === undefined ? "missing" : `'${file.metadata.format}'`
        }, expected '${MODEL_DIR_FORMAT}'`,
      );
    }
    if ((await sha256Hex(bytes)) !== config.weights_sha256) {
      throw new UserError(
        `${path}: SHA-256 does not match weights_sha256 in ${CONFIG_FILE} (the weights were altered or replaced)`,
      );
    }
    for (const { name, tensor } of model.namedTensors()) {
      const t = file.tensors[name];
      if (t.dtype !== "F32") throw new UserError(`${path}: tensor '${name}' is ${t.dtype}, expected F32`);
      backend.write(tensor, t.data);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return { model, config };
}

/** The `arch` (and `attention`) fields of config.json for a model of `spec`. */
function archFields(spec: ArchSpec): { arch: VibannArch; attention?: AttentionArchConfig } {
  return spec.arch === "attention"
    ? { arch: "attention", attention: spec.attention as AttentionArchConfig }
    : {
      arch: "reference",
    };
}

/** The architecture a config describes. */
export function archSpecFromConfig(config: ModelDirConfig): ArchSpec {
  return { arch: config.arch, attention: config.attention, elementSymbols: config.elements };
}

/** Validates the `attention` object of config.json. */
function parseAttentionConfig(v: unknown, bad: (field: string, why: string) => never): AttentionArchConfig {
  if (v === null || typeof v !== "object" || Array.isArray(v)) bad("attention", "must be an object");
  const a = v as Record<string, unknown>;
  const int = (k: string) =>
    Number.isInteger(a[k]) && (a[k] as number) >= 1
      ? a[k] as number
      : bad(`attention.${k}`, "must be an integer ≥ 1");
  const bool = (k: string) =>
    typeof a[k] === "boolean" ? a[k] as boolean : bad(`attention.${k}`, "must be true or false");
  const c = {
    tokens: int("tokens"),
    dModel: int("dModel"),
    heads: int("heads"),
    layers: int("layers"),
    ffn: int("ffn"),
    elementFeatures: bool("elementFeatures"),
    pairwise: bool("pairwise"),
    // Absent in directories written before the fraction bias existed: those models were trained without it.
    fractionBias: a.fractionBias === undefined ? false : bool("fractionBias"),
  };
  if (c.dModel % c.heads !== 0) bad("attention.heads", "must divide attention.dModel");
  return c;
}
