/**
 * Import of the published Keras 3 weights of the VIB + attention hardness model (`*.weights.h5` plus the two
 * standard-scaler `.npz` files) into a {@link VibannReference}; layout in
 * `shared/models/vibann-published/README.md` §3.
 *
 * Layers are found by the `name` attribute of their `vars` group (the architectural name, e.g. `Comp_Pair_D1`), not
 * by the generic group name (`layers/dense`), which only reflects creation order. A sub-layer whose own name is not
 * architectural (`attn_logits` inside `feature_wise_attention`) takes the name of its enclosing layer
 * (`Comp_Attention`). Every expected layer must be found exactly once with the expected number of arrays and exact
 * shapes; the generic paths are cross-checked against the published table and a disagreement is only a warning.
 * Dense: vars/0 = kernel (in, out), vars/1 = bias; BatchNorm: vars/0..3 = γ, β, moving mean, moving variance.
 * @module
 */
import type { Backend } from "../backend.ts";
import { CpuBackend } from "../cpu_backend.ts";
import { VibannReference } from "./vibann.ts";
import { type ModelDirInput, weightFileShapes } from "./model_dir.ts";
import { type Hdf5Dataset, type Hdf5File, type Hdf5Group, openHdf5 } from "../io/hdf5.ts";
import { readNpz } from "../io/npz.ts";
import { UserError } from "../../cli/errors.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { fileErrorText } from "../../data/csv.ts";

/**
 * MC-dropout rate of the published model, from its stored model configuration. The published metadata JSON says
 * 0.1230976899293776 (two digits transposed) and latent 16 (the weights have 64); both are wrong (README §5).
 */
export const PUBLISHED_DROPOUT = 0.11230976899293776;

/**
 * Range of the raw indentation loads the published model was trained on: the smallest and largest `Load` of
 * `H_v_dataset.csv` (0.01 N … 19.6 N; vibann-reference.md §1). Loads outside are extrapolation.
 */
export const PUBLISHED_LOAD_RANGE: readonly [number, number] = [0.01, 19.6];

/** BatchNorm ε of the published model (Keras configuration; not stored in the weights file). */
export const PUBLISHED_BN_EPS = 1e-3;

/** The 56 input elements of the hardness dataset / published model, in input order (README §4.1). */
export const HARDNESS_ELEMENTS: readonly string[] = Object.freeze(
  (
    "Ag Al Au B Ba Be Bi C Ca Ce Co Cr Cu Dy Er Fe Ga Gd Ge Hf Ho In Ir La Li Lu Mg Mn Mo Nb " +
    "Nd Ni P Pb Pd Pr Pt Re Rh Ru Sc Si Sm Sn Sr Ta Tb Ti Tm U V W Y Yb Zn Zr"
  ).split(" "),
);

/** Group of each architectural layer in the published file (README §3.1–3.2), for the order cross-check. */
export const PUBLISHED_LAYER_GROUPS: Readonly<Record<string, string>> = Object.freeze({
  Comp_Attention: "layers/feature_wise_attention/attn_logits",
  Comp_Pair_D1: "layers/dense",
  Comp_Enc_D1: "layers/dense_1",
  Comp_Pair_D2: "layers/dense_2",
  Comp_Fuse_D1: "layers/dense_3",
  Load_Enc_D1: "layers/dense_4",
  Comp_Dec_D1: "layers/dense_5",
  Comp_Dec_D2: "layers/dense_6",
  Hard_Trunk_D1: "layers/dense_7",
  Comp_Recon: "layers/dense_8",
  Output_Layer: "layers/dense_9",
  z_mu: "layers/vib_layer/to_mu",
  z_logvar: "layers/vib_layer/to_logvar",
  Comp_Pair_BN1: "layers/batch_normalization",
  Comp_Enc_BN1: "layers/batch_normalization_1",
  Comp_Pair_BN2: "layers/batch_normalization_2",
  Comp_Fuse_BN1: "layers/batch_normalization_3",
  Load_Enc_BN1: "layers/batch_normalization_4",
  Comp_Dec_BN1: "layers/batch_normalization_5",
  Comp_Dec_BN2: "layers/batch_normalization_6",
  Hard_Trunk_BN1: "layers/batch_normalization_7",
});

/** Index of each variable in a Keras layer's `vars` group. */
const VAR_INDEX: Record<string, number> = {
  kernel: 0,
  bias: 1,
  gamma: 0,
  beta: 1,
  moving_mean: 2,
  moving_variance: 3,
};

/** Host backend for the shape-only models built while checking a file (never the user's device). */
const HOST = new CpuBackend("f32");

/** Layer groups are never nested deeper than this below `layers/` (guards against odd files). */
const MAX_DEPTH = 6;

/** Architectural layers found in a Keras weights file: name → the `vars` groups carrying it. */
interface FoundLayers {
  byName: Map<string, string[]>;
}

function childPath(parent: string, name: string): string {
  return parent ? `${parent}/${name}` : name;
}

/**
 * Finds every `vars` group holding datasets below `layers/` and the architectural layer it belongs to.
 * @param known the architectural names to look for
 */
function findLayers(f: Hdf5File, known: ReadonlySet<string>): FoundLayers {
  const byName = new Map<string, string[]>();
  const varsName = (layerPath: string): string | undefined => {
    const v = f.get(`${layerPath}/vars`);
    const n = v?.kind === "group" ? v.attrs.name : undefined;
    return typeof n === "string" ? n : undefined;
  };
  const visit = (g: Hdf5Group, depth: number, enclosing: string | undefined) => {
    if (depth > MAX_DEPTH) return;
    for (const key of g.keys) {
      const path = childPath(g.path, key);
      const node = f.get(path);
      if (node?.kind !== "group") continue;
      if (key === "vars") {
        const hasData = node.keys.some((k) => f.get(childPath(path, k))?.kind === "dataset");
        if (!hasData) continue;
        const own = typeof node.attrs.name === "string" ? node.attrs.name as string : undefined;
        const name = own !== undefined && known.has(own) ? own : enclosing;
        if (name !== undefined && known.has(name)) byName.set(name, [...(byName.get(name) ?? []), path]);
      } else {
        const own = varsName(path);
        visit(node, depth + 1, own !== undefined && known.has(own) ? own : enclosing);
      }
    }
  };
  const layers = f.get("layers");
  if (layers?.kind !== "group") {
    throw new UserError(`${f.fileName}: no 'layers' group (not a Keras 3 weights file)`);
  }
  visit(layers, 0, undefined);
  return { byName };
}

function shapeText(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}

/** The weights of a Keras file, checked against the reference architecture. */
export interface KerasWeights {
  /** Number of composition inputs (from the `Comp_Attention` kernel). */
  elements: number;
  /** Latent size (from the `z_mu` kernel). */
  latentDim: number;
  /** Every tensor of {@link VibannReference.namedTensors} by name, float32, in its on-disk (Keras) shape. */
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
  /** Non-fatal findings (e.g. generic group names out of the published order). */
  warnings: string[];
}

/**
 * Reads and checks a Keras 3 `.weights.h5` file of the reference architecture.
 * @param bytes the whole file
 * @param fileName the name used in messages
 * @param o `latentDim` / `elements` when known: then they must match the file (default: inferred from shapes)
 * @throws {UserError} naming the file and the layer when the file is not readable HDF5, a layer is missing or
 *   present twice, has the wrong number of arrays, a wrong shape, a non-float type or a non-finite value
 */
export function readKerasWeights(
  bytes: Uint8Array,
  fileName: string,
  o: { latentDim?: number; elements?: number } = {},
): KerasWeights {
  const f = openHdf5(bytes, fileName);
  // Names and variable counts come from a throw-away single-member model with the smallest sizes.
  const probe = new VibannReference({ elements: 2, latentDim: 1, dropout: 0, backend: HOST });
  const varCounts = new Map<string, number>();
  for (const { name } of probe.namedTensors()) {
    const layer = name.split("/")[0];
    varCounts.set(layer, (varCounts.get(layer) ?? 0) + 1);
  }
  probe.dispose();
  const known = new Set(varCounts.keys());
  const { byName } = findLayers(f, known);
  const warnings: string[] = [];
  const groupOf = new Map<string, string>();
  for (const layer of known) {
    const paths = byName.get(layer) ?? [];
    const published = PUBLISHED_LAYER_GROUPS[layer];
    if (paths.length === 0) {
      throw new UserError(
        `${fileName}: layer '${layer}' is missing (no 'vars' group with name '${layer}'; in the published file it ` +
          `is ${published}/vars)`,
      );
    }
    if (paths.length > 1) {
      throw new UserError(
        `${fileName}: layer '${layer}' appears ${paths.length} times (${paths.join(", ")})`,
      );
    }
    const vars = paths[0];
    const group = vars.slice(0, -"/vars".length);
    groupOf.set(layer, vars);
    if (published !== undefined && group !== published) {
      warnings.push(
        `${fileName}: layer '${layer}' is stored at ${group}, the published file has it at ${published} ` +
          `(names agree; the name is used)`,
      );
    }
    const g = f.group(vars);
    const datasets = g.keys.filter((k) => f.get(childPath(vars, k))?.kind === "dataset");
    const want = varCounts.get(layer)!;
    const expectedKeys = Array.from({ length: want }, (_, i) => String(i));
    if (datasets.length !== want || !expectedKeys.every((k) => datasets.includes(k))) {
      throw new UserError(
        `${fileName}: layer '${layer}' (${vars}) holds arrays [${datasets.join(", ")}], expected [${
          expectedKeys.join(", ")
        }]`,
      );
    }
  }
  const dataset = (layer: string, v: string): Hdf5Dataset =>
    f.dataset(`${groupOf.get(layer)}/${VAR_INDEX[v]}`);
  const dims = (layer: string, v: string, rank: number): number[] => {
    const d = dataset(layer, v);
    if (d.shape.length !== rank) {
      throw new UserError(
        `${fileName}: ${layer}/${v} (${d.path}) has shape ${
          shapeText(d.shape)
        }, expected a rank-${rank} array`,
      );
    }
    return d.shape;
  };
  const [e0, e1] = dims("Comp_Attention", "kernel", 2);
  if (e0 !== e1) {
    throw new UserError(
      `${fileName}: Comp_Attention/kernel has shape ${shapeText([e0, e1])}, expected square`,
    );
  }
  const latentDim = dims("z_mu", "kernel", 2)[1];
  if (o.elements !== undefined && o.elements !== e0) {
    throw new UserError(
      `${fileName}: the weights take ${e0} elements (Comp_Attention/kernel ${shapeText([e0, e1])}), ` +
        `but ${o.elements} element names were given`,
    );
  }
  if (o.latentDim !== undefined && o.latentDim !== latentDim) {
    throw new UserError(
      `${fileName}: the weights have latent size ${latentDim} (z_mu/kernel ${
        shapeText(dataset("z_mu", "kernel").shape)
      }), but latent size ${o.latentDim} was given`,
    );
  }
  if (e0 < 2 || latentDim < 1) throw new UserError(`${fileName}: degenerate layer sizes`);
  const model = new VibannReference({ elements: e0, latentDim, dropout: 0, backend: HOST });
  const expect = weightFileShapes(model);
  model.dispose();
  const tensors: KerasWeights["tensors"] = {};
  for (const [name, shape] of Object.entries(expect)) {
    const [layer, v] = name.split("/");
    const d = dataset(layer, v);
    if (shapeText(d.shape) !== shapeText(shape)) {
      throw new UserError(
        `${fileName}: ${name} (${d.path}) has shape ${shapeText(d.shape)}, expected ${shapeText(shape)}`,
      );
    }
    if (!/^[<>=|]?f(4|8)$/.test(d.dtype)) {
      throw new UserError(`${fileName}: ${name} (${d.path}) holds ${d.dtype} values, expected float32`);
    }
    const data = d.toFloat32();
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new UserError(`${fileName}: ${name} (${d.path}) element ${bad} is not finite`);
    tensors[name] = { shape: d.shape, data };
  }
  return { elements: e0, latentDim, tensors, warnings };
}

/** Standardisation constants of a scikit-learn StandardScaler saved as `mean` / `scale` in an .npz. */
export interface StandardScaler {
  mean: number;
  scale: number;
}

/**
 * Reads a one-feature standard scaler from an .npz holding the arrays `mean` and `scale` (shape () or (1,)).
 * @throws {UserError} naming the file when it is unreadable, an array is missing or not one finite value, or the
 *   scale is not > 0
 */
export async function readStandardScaler(bytes: Uint8Array, fileName: string): Promise<StandardScaler> {
  const arrays = await readNpz(bytes, fileName);
  const one = (name: string): number => {
    const a = arrays[name];
    if (!a) {
      throw new UserError(
        `${fileName}: no array '${name}' (found: ${
          Object.keys(arrays).join(", ") || "none"
        }); expected 'mean' and 'scale'`,
      );
    }
    if (a.data.length !== 1) {
      throw new UserError(
        `${fileName}: array '${name}' has shape (${a.shape.join(", ")}), expected one value`,
      );
    }
    const v = a.data[0];
    if (!Number.isFinite(v)) throw new UserError(`${fileName}: array '${name}' is not finite (${v})`);
    return v;
  };
  const mean = one("mean"), scale = one("scale");
  if (!(scale > 0)) throw new UserError(`${fileName}: 'scale' must be > 0, got ${scale}`);
  return { mean, scale };
}

/** Inputs of {@link importKerasModel}. */
export interface KerasImportOptions {
  /** Path of the `.weights.h5` file. */
  weights: string;
  /** Path of the load scaler `.npz`. */
  loadScaler: string;
  /** Path of the hardness scaler `.npz`. */
  yScaler: string;
  /** Expected latent size (default: inferred from the weights). */
  latentDim?: number;
  /** MC-dropout rate (default {@link PUBLISHED_DROPOUT}). */
  dropout?: number;
  /** Input element order (default {@link HARDNESS_ELEMENTS}). */
  elements?: readonly string[];
  /** Where the model's tensors live. */
  backend: Backend;
}

/** An imported model and what {@link saveModelDir} needs to write it. */
export interface KerasImport {
  model: VibannReference;
  /** Config input for saveModelDir (source "keras-import", one member, load range {@link PUBLISHED_LOAD_RANGE}). */
  input: ModelDirInput;
  warnings: string[];
  /** Number of parameter values copied. */
  values: number;
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read the ${what}: ${fileErrorText(e)}`);
  }
}

/**
 * Imports the published Keras weights and scalers into a single-member {@link VibannReference} (inference mode).
 * @throws {UserError} naming the file and the problem (see {@link readKerasWeights}, {@link readStandardScaler}) or
 *   a bad option
 * @example
 * ```ts
 * const imp = await importKerasModel({ weights: "w.h5", loadScaler: "l.npz", yScaler: "y.npz", backend: be });
 * await saveModelDir("models/published", imp.model, imp.input);
 * ```
 */
export async function importKerasModel(o: KerasImportOptions): Promise<KerasImport> {
  const dropout = o.dropout ?? PUBLISHED_DROPOUT;
  if (!(dropout >= 0 && dropout < 1)) throw new UserError(`dropout must be in [0, 1), got ${dropout}`);
  const elements = o.elements ?? HARDNESS_ELEMENTS;
  const [wBytes, lBytes, yBytes] = await Promise.all([
    readInput(o.weights, "Keras weights"),
    readInput(o.loadScaler, "load scaler"),
    readInput(o.yScaler, "hardness scaler"),
  ]);
  const w = readKerasWeights(wBytes, o.weights, { latentDim: o.latentDim, elements: elements.length });
  const load = await readStandardScaler(lBytes, o.loadScaler);
  const y = await readStandardScaler(yBytes, o.yScaler);
  const model = new VibannReference({
    elements: w.elements,
    latentDim: w.latentDim,
    dropout,
    bnEps: PUBLISHED_BN_EPS,
    backend: o.backend,
  });
  let values = 0;
  for (const { name, tensor } of model.namedTensors()) {
    const t = w.tensors[name];
    o.backend.write(tensor, t.data);
    values += t.data.length;
  }
  model.eval();
  const file = async (path: string, bytes: Uint8Array) => ({ file: path, sha256: await sha256Hex(bytes) });
  return {
    model,
    input: {
      elements,
      scalers: [{ loadMean: load.mean, loadScale: load.scale, yMean: y.mean, yScale: y.scale }],
      loadRange: PUBLISHED_LOAD_RANGE,
      source: "keras-import",
      beta: [null], // β is not saved in Keras weight files
      conformal: null,
      data: null,
      options: {
        import: {
          weights: await file(o.weights, wBytes),
          load_scaler: await file(o.loadScaler, lBytes),
          y_scaler: await file(o.yScaler, yBytes),
        },
        latent_dim: w.latentDim,
        dropout,
        bn_eps: PUBLISHED_BN_EPS,
      },
    },
    warnings: w.warnings,
    values,
  };
}
