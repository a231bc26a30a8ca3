/**
 * The saved composition GAN (what `alloy bmg train-gan --out DIR` writes and `bmg generate|evaluate --gan DIR`
 * read):
 *
 *     DIR/config.json          format `alloy-bmg-gan/1`, descriptor set, whether Tg/Tx/Tl are appended, the D1
 *                              element order, feature names, the min-max scaler, the architecture, the training
 *                              options and curves summary, the training and held-out composition keys, and the
 *                              SHA-256 of the weights
 *     DIR/weights.safetensors  the generator and discriminator tensors (`generator.hidden.weight`, …), float32
 *     DIR/curves.csv           per-epoch losses and mode-collapse indicators (written by the CLI)
 *
 * Both files are written atomically (hidden sibling folder, then rename); loading checks the format, every field,
 * both checksums and every tensor's shape, with a one-line UserError naming the file.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { Gan, type GanShape, ganShape } from "../nn/models/gan.ts";
import type { MinMaxScaler } from "../nn/train/gan_trainer.ts";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../nn/io/safetensors.ts";
import {
  CONFIG_FILE,
  configFields,
  readConfigJson,
  readModelFile,
  WEIGHTS_FILE,
  writeModelDirAtomic,
} from "../nn/io/model_files.ts";
import { prettyJson } from "../nn/models/model_dir.ts";
import { UserError } from "../cli/errors.ts";
import { sha256Hex } from "../data/checksum.ts";
import { join } from "../data/paths.ts";
import { isElementSymbol } from "../data/elements.ts";
import { DESCRIPTOR_SETS, descriptorNames, type DescriptorSet } from "../data/bmg_descriptors.ts";

/** Format tag of a GAN directory. */
export const BMG_GAN_FORMAT = "alloy-bmg-gan/1";
/** Names of the appended thermal columns of the property-augmented variant (K). */
export const THERMAL_NAMES = ["Tg", "Tx", "Tl"] as const;

/** config.json of a GAN directory. */
export interface BmgGanConfig {
  format: typeof BMG_GAN_FORMAT;
  descriptors: DescriptorSet;
  /** Whether Tg, Tx, Tl (K) are the last three features. */
  properties: boolean;
  /** D1 element order (the first E features are their fractions). */
  elements: string[];
  feature_names: string[];
  scaler: MinMaxScaler;
  architecture: GanShape;
  /** Training options and a summary (epochs, steps, seconds, final losses and indicators). */
  training: Record<string, unknown>;
  /** Composition keys (at.% formulas) the GAN was trained on, and those held out for evaluation. */
  train_keys: string[];
  held_out_keys: string[];
  /** Base elements of the training sets (Zr, La, Fe, Ti). */
  bases: string[];
  created: string;
  weights_sha256: string;
}

/** Feature names of a GAN over `elements`: the descriptor set's, then Tg, Tx, Tl when `properties`. */
export function ganFeatureNames(
  set: DescriptorSet,
  elements: readonly string[],
  properties: boolean,
): string[] {
  return [...descriptorNames(set, elements), ...(properties ? THERMAL_NAMES : [])];
}

/**
 * Writes a trained GAN directory atomically.
 * @throws {UserError} naming `dir` when it cannot be written or holds something else
 */
export async function saveBmgGan(
  dir: string,
  gan: Gan,
  config: Omit<BmgGanConfig, "format" | "weights_sha256" | "architecture" | "feature_names">,
): Promise<BmgGanConfig> {
  const tensors: Record<string, SafeTensor> = {};
  for (const { name, tensor } of gan.namedTensors()) {
    tensors[name] = { dtype: "F32", shape: [...tensor.shape], data: Float32Array.from(await tensor.read()) };
  }
  const weights = await encodeSafetensors(tensors, { format: BMG_GAN_FORMAT });
  const full: BmgGanConfig = {
    format: BMG_GAN_FORMAT,
    ...config,
    feature_names: ganFeatureNames(config.descriptors, config.elements, config.properties),
    architecture: gan.shape,
    weights_sha256: await sha256Hex(weights),
  };
  if (full.feature_names.length !== gan.shape.features) {
    throw new Error(
      `saveBmgGan: ${full.feature_names.length} feature names for ${gan.shape.features} features`,
    );
  }
  await writeModelDirAtomic(dir, { weights, config: new TextEncoder().encode(prettyJson(full) + "\n") }, {
    format: BMG_GAN_FORMAT,
    what: "a BMG GAN directory",
  });
  return full;
}

function parseConfig(json: unknown, where: string): BmgGanConfig {
  const { o, bad } = configFields(
    json,
    where,
    BMG_GAN_FORMAT,
    "(a directory written by 'alloy bmg train-gan --out')",
  );
  if (!(DESCRIPTOR_SETS as readonly unknown[]).includes(o.descriptors)) {
    bad("descriptors", "is not a descriptor set");
  }
  if (typeof o.properties !== "boolean") bad("properties", "must be true or false");
  if (!Array.isArray(o.elements) || !o.elements.length) bad("elements", "must be a non-empty list");
  (o.elements as unknown[]).forEach((e, i) => {
    if (typeof e !== "string" || !isElementSymbol(e)) bad("elements", `item ${i} is not an element symbol`);
  });
  const names = ganFeatureNames(
    o.descriptors as DescriptorSet,
    o.elements as string[],
    o.properties as boolean,
  );
  if (
    !names.slice(0, (o.elements as string[]).length).every((n, i) => n === `x_${(o.elements as string[])[i]}`)
  ) {
    bad("descriptors", "must include the element fractions (D1)");
  }
  if (JSON.stringify(o.feature_names) !== JSON.stringify(names)) {
    bad("feature_names", "do not match the descriptors");
  }
  const s = o.scaler as MinMaxScaler | undefined;
  const numList = (v: unknown) =>
    Array.isArray(v) && v.length === names.length &&
    v.every((x) => typeof x === "number" && Number.isFinite(x));
  if (!s || !numList(s.min) || !numList(s.max)) {
    bad("scaler", `must hold min and max lists of ${names.length} numbers`);
  }
  let arch: GanShape;
  try {
    arch = ganShape(o.architecture as GanShape);
  } catch (e) {
    return bad("architecture", (e as Error).message);
  }
  if (arch.features !== names.length) {
    bad("architecture", `has ${arch.features} features, expected ${names.length}`);
  }
  for (const k of ["train_keys", "held_out_keys", "bases"]) {
    if (!Array.isArray(o[k]) || !(o[k] as unknown[]).every((x) => typeof x === "string")) {
      bad(k, "must be a list of strings");
    }
  }
  if (typeof o.weights_sha256 !== "string" || !/^[0-9a-f]{64}$/.test(o.weights_sha256)) {
    bad("weights_sha256", "must be 64 lowercase hex digits");
  }
  return o as unknown as BmgGanConfig;
}

/** Reads only DIR/config.json of a GAN directory (checked). */
export async function readBmgGanConfig(dir: string): Promise<BmgGanConfig> {
  const { path, json } = await readConfigJson(dir);
  return parseConfig(json, path);
}

/**
 * Loads a GAN directory onto `be`.
 * @throws {UserError} naming the file and the problem
 */
export async function loadBmgGan(dir: string, be: Backend): Promise<{ gan: Gan; config: BmgGanConfig }> {
  const config = await readBmgGanConfig(dir);
  const path = join(dir, WEIGHTS_FILE);
  const bytes = await readModelFile(path, "GAN weights");
  if ((await sha256Hex(bytes)) !== config.weights_sha256) {
    throw new UserError(
      `${path}: SHA-256 does not match weights_sha256 in ${CONFIG_FILE} (altered or replaced)`,
    );
  }
  const gan = new Gan({ ...config.architecture, backend: be });
  const expect = Object.fromEntries(gan.namedTensors().map(({ name, tensor }) => [name, [...tensor.shape]]));
  const file = await decodeSafetensors(bytes, path, { expect, requireChecksum: true, requireFinite: true });
  for (const { name, tensor } of gan.namedTensors()) {
    const t = file.tensors[name];
    if (!t || t.dtype !== "F32") {
      gan.dispose();
      throw new UserError(`${path}: tensor '${name}' is missing or not F32`);
    }
    be.write(tensor, t.data);
  }
  gan.eval();
  return { gan, config };
}
