/**
 * The HEA model directory: what `alloy hea train` writes and `hea evaluate|screen|generate|nudge|explain` read.
 *
 *     DIR/config.json          format tag, architecture, element order, descriptor table set, one descriptor
 *                              standardiser per member, training options, data checksum, creation time and the
 *                              SHA-256 of the weights file (`weights_sha256`)
 *     DIR/weights.safetensors  every tensor of {@link HeaDvae.namedTensors}, float32, with a leading [R] axis when
 *                              the directory holds R > 1 members (biases as [F] or [R, F]); its `__metadata__`
 *                              carries the data checksum and the format tag
 *     DIR/…                    extra files the caller writes (metrics.json, roc.csv, curves.csv)
 *
 * Writing is atomic (nn/io/model_files.ts); loading is strict: format tag, every config field, both checksums,
 * every tensor's name and shape, finite values — anything else is a one-line {@link UserError} naming the file.
 * @module
 */
import type { Activation, Backend } from "../backend.ts";
import { HeaDvae, type HeaDvaeArch, heaDvaeArch } from "./hea_dvae.ts";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../io/safetensors.ts";
import {
  CONFIG_FILE,
  configFields,
  readConfigJson,
  readModelFile,
  WEIGHTS_FILE,
  writeModelDirAtomic,
} from "../io/model_files.ts";
import { prettyJson } from "./model_dir.ts";
import { UserError } from "../../cli/errors.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { join } from "../../data/paths.ts";
import { StandardScaler } from "../../data/scaler.ts";

/** The format tag of config.json and of the weights file's metadata. */
export const HEA_MODEL_DIR_FORMAT = "alloy-hea-dvae/1";

/** Descriptor table sets (data/hea_tables.ts). */
export type HeaTableSet = "paper" | "physical";

/** config.json (snake_case, as on disk). */
export interface HeaModelConfig {
  format: typeof HEA_MODEL_DIR_FORMAT;
  /** Element symbols in the composition's column order. */
  elements: string[];
  descriptors: number;
  latent_dim: number;
  hidden: number[];
  activation: Activation;
  composition_branch: boolean;
  prior_single: number;
  members: number;
  /** Which element tables computed the descriptors. */
  tables: HeaTableSet;
  /** One standardiser of the 8 descriptors per member. */
  scalers: { mean: number[]; scale: number[] }[];
  /** Free-form training options and provenance. */
  options: Record<string, unknown>;
  data: { file: string; sha256: string; n_rows: number } | null;
  created: string;
  weights_sha256: string;
}

/** What {@link saveHeaModelDir} needs besides the model. */
export interface HeaModelDirInput {
  elements: readonly string[];
  tables: HeaTableSet;
  scalers: readonly StandardScaler[];
  options?: Record<string, unknown>;
  data?: HeaModelConfig["data"];
  created?: string;
}

/** A loaded directory. */
export interface LoadedHeaModel {
  model: HeaDvae;
  config: HeaModelConfig;
  scalers: StandardScaler[];
}

/** On-disk shape: weights as stored; biases drop the broadcast axis ([R, 1, F] → [R, F], [F] stays). */
function fileShape(name: string, shape: readonly number[], R: number): number[] {
  if (name.endsWith(".weight")) return [...shape];
  const f = shape[shape.length - 1];
  return R > 1 ? [R, f] : [f];
}

/** Every tensor name with its on-disk shape. */
export function heaWeightShapes(model: HeaDvae): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const { name, tensor } of model.namedTensors()) {
    out[name] = fileShape(name, tensor.shape, model.replicas);
  }
  return out;
}

/**
 * Writes `model` and its metadata to `dir` atomically; returns the config written.
 * @throws {UserError} when a weight is not finite or the folder cannot be written (or holds something else)
 */
export async function saveHeaModelDir(
  dir: string,
  model: HeaDvae,
  input: HeaModelDirInput,
): Promise<HeaModelConfig> {
  const R = model.replicas;
  if (input.scalers.length !== R) {
    throw new Error(`saveHeaModelDir: ${input.scalers.length} scalers for ${R} members`);
  }
  if (input.elements.length !== model.arch.elements) {
    throw new Error(
      `saveHeaModelDir: ${input.elements.length} elements for a model of ${model.arch.elements}`,
    );
  }
  const tensors: Record<string, SafeTensor> = {};
  for (const { name, tensor } of model.namedTensors()) {
    const v = await tensor.read();
    const data = v instanceof Float32Array ? v : Float32Array.from(v);
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new UserError(`cannot write model directory ${dir}: tensor ${name} element ${bad} is not finite`);
    }
    tensors[name] = { dtype: "F32", shape: fileShape(name, tensor.shape, R), data };
  }
  const weights = await encodeSafetensors(tensors, { format: HEA_MODEL_DIR_FORMAT });
  const a = model.arch;
  const config: HeaModelConfig = {
    format: HEA_MODEL_DIR_FORMAT,
    elements: [...input.elements],
    descriptors: a.descriptors,
    latent_dim: a.latentDim,
    hidden: [...a.hidden],
    activation: a.activation,
    composition_branch: a.compositionBranch,
    prior_single: a.priorSingle,
    members: R,
    tables: input.tables,
    scalers: input.scalers.map((s) => ({ mean: Array.from(s.mean), scale: Array.from(s.scale) })),
    options: input.options ?? {},
    data: input.data ?? null,
    created: input.created ?? new Date().toISOString(),
    weights_sha256: await sha256Hex(weights),
  };
  const bytes = new TextEncoder().encode(prettyJson(config) + "\n");
  await writeModelDirAtomic(dir, { weights, config: bytes }, {
    format: HEA_MODEL_DIR_FORMAT,
    what: "an HEA model directory",
  });
  return config;
}

const SHA = /^[0-9a-f]{64}$/;
const ACTIVATIONS: readonly Activation[] = [
  "identity",
  "relu",
  "leaky_relu",
  "tanh",
  "sigmoid",
  "softplus",
  "gelu",
];

/**
 * Validates config.json field by field.
 * @throws {UserError} naming the file and the first bad field
 */
export function parseHeaModelConfig(json: unknown, where: string): HeaModelConfig {
  const { o, bad } = configFields(json, where, HEA_MODEL_DIR_FORMAT, "(not an HEA model directory)");
  const posInt = (
    k: string,
  ) => (Number.isInteger(o[k]) && (o[k] as number) >= 1
    ? o[k] as number
    : bad(k, "must be a whole number ≥ 1"));
  const members = posInt("members"), descriptors = posInt("descriptors"), latent = posInt("latent_dim");
  if (!Array.isArray(o.elements) || !o.elements.every((e) => typeof e === "string") || !o.elements.length) {
    bad("elements", "must be a non-empty list of element symbols");
  }
  const elements = o.elements as string[];
  if (new Set(elements).size !== elements.length) bad("elements", "has a repeated element");
  if (!Array.isArray(o.hidden) || !o.hidden.length || !o.hidden.every((h) => Number.isInteger(h) && h >= 1)) {
    bad("hidden", "must be a non-empty list of whole numbers ≥ 1");
  }
  if (!ACTIVATIONS.includes(o.activation as Activation)) {
    bad("activation", `must be one of ${ACTIVATIONS.join(", ")}`);
  }
  if (typeof o.composition_branch !== "boolean") bad("composition_branch", "must be true or false");
  if (typeof o.prior_single !== "number" || !(o.prior_single > 0 && o.prior_single < 1)) {
    bad("prior_single", "must be a number in (0, 1)");
  }
  if (o.tables !== "paper" && o.tables !== "physical") bad("tables", "must be 'paper' or 'physical'");
  if (!Array.isArray(o.scalers) || o.scalers.length !== members) {
    bad("scalers", `must hold ${members} standardisers`);
  }
  const scalers = (o.scalers as unknown[]).map((s, i) => {
    const r = s as Record<string, unknown>;
    const ok = (v: unknown, pos: boolean) =>
      Array.isArray(v) && v.length === descriptors &&
      v.every((x) => typeof x === "number" && Number.isFinite(x) && (!pos || x > 0));
    if (!r || !ok(r.mean, false) || !ok(r.scale, true)) {
      bad(`scalers[${i}]`, `must be {mean, scale} of ${descriptors} finite numbers (scale > 0)`);
    }
    return { mean: r.mean as number[], scale: r.scale as number[] };
  });
  if (o.options === null || typeof o.options !== "object" || Array.isArray(o.options)) {
    bad("options", "must be an object");
  }
  let data: HeaModelConfig["data"] = null;
  if (o.data !== null) {
    const d = o.data as Record<string, unknown> | undefined;
    if (!d || typeof d.file !== "string" || typeof d.sha256 !== "string" || !Number.isInteger(d.n_rows)) {
      bad("data", "must be null or {file, sha256, n_rows}");
    }
    data = { file: d!.file as string, sha256: d!.sha256 as string, n_rows: d!.n_rows as number };
  }
  if (typeof o.created !== "string") bad("created", "must be a string");
  if (typeof o.weights_sha256 !== "string" || !SHA.test(o.weights_sha256)) {
    bad("weights_sha256", "must be 64 lowercase hex digits");
  }
  return {
    format: HEA_MODEL_DIR_FORMAT,
    elements,
    descriptors,
    latent_dim: latent,
    hidden: o.hidden as number[],
    activation: o.activation as Activation,
    composition_branch: o.composition_branch as boolean,
    prior_single: o.prior_single as number,
    members,
    tables: o.tables as HeaTableSet,
    scalers,
    options: o.options as Record<string, unknown>,
    data,
    created: o.created as string,
    weights_sha256: o.weights_sha256 as string,
  };
}

/** The architecture a config describes. */
export function archFromConfig(c: HeaModelConfig): HeaDvaeArch {
  return heaDvaeArch({
    elements: c.elements.length,
    descriptors: c.descriptors,
    latentDim: c.latent_dim,
    hidden: c.hidden,
    activation: c.activation,
    compositionBranch: c.composition_branch,
    priorSingle: c.prior_single,
  });
}

/**
 * Loads an HEA model directory onto `backend` (all members, inference mode).
 * @throws {UserError} naming the file and the problem (missing, altered, wrong format, missing or extra tensor,
 *   wrong shape, non-finite value, bad config field)
 */
export async function loadHeaModelDir(dir: string, backend: Backend): Promise<LoadedHeaModel> {
  const { path: cfgPath, json } = await readConfigJson(dir);
  const config = parseHeaModelConfig(json, cfgPath);
  const path = join(dir, WEIGHTS_FILE);
  const bytes = await readModelFile(path, "model weights");
  if ((await sha256Hex(bytes)) !== config.weights_sha256) {
    throw new UserError(
      `${path}: SHA-256 does not match weights_sha256 in ${CONFIG_FILE} (the weights were altered or replaced)`,
    );
  }
  const model = new HeaDvae({ ...archFromConfig(config), replicas: config.members, backend });
  try {
    const file = await decodeSafetensors(bytes, path, {
      expect: heaWeightShapes(model),
      requireChecksum: true,
      requireFinite: true,
    });
    if (file.metadata.format !== HEA_MODEL_DIR_FORMAT) {
      throw new UserError(`${path}: format tag '${file.metadata.format}' is not '${HEA_MODEL_DIR_FORMAT}'`);
    }
    for (const { name, tensor } of model.namedTensors()) {
      const t = file.tensors[name];
      if (t.dtype !== "F32") throw new UserError(`${path}: tensor ${name} is ${t.dtype}, expected F32`);
      backend.write(tensor, t.data);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  const scalers = config.scalers.map((s) => new StandardScaler(s.mean, s.scale));
  return { model, config, scalers };
}
