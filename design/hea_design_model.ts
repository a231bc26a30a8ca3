/**
 * The HEA disentangled VAE as the design strategies see it: compositions (fractions over the model's elements) in,
 * q(φ = 1|x), latent means and decoded compositions out, on host arrays. One member of a model directory is used
 * (a VAE's latent space belongs to one model); descriptors are computed from the element tables the model was
 * trained with and standardised with that member's scaler.
 *
 * {@link HeaDesignModel} is an interface so the strategies (generation, nudging) can be tested against simple
 * stand-ins as well as a real network.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { StandardScaler } from "../data/scaler.ts";
import type { HeaTables } from "../data/hea_tables.ts";
import { heaDescriptorsHost } from "../data/hea_descriptors.ts";
import { HeaDvae } from "../nn/models/hea_dvae.ts";
import { noGrad } from "../nn/autodiff.ts";
import { scope } from "../nn/scope.ts";
import { sigmoid } from "../nn/ops/elementwise.ts";
import { UserError } from "../cli/errors.ts";

/** What generation and nudging need from a model (all arrays row-major, float64). */
export interface HeaDesignModel {
  /** Element symbols of the composition columns. */
  elements: readonly string[];
  /** Latent size of z. */
  latentDim: number;
  /** q(φ = 1|x) of `n` compositions (n × E fractions). */
  classify(comp: Float64Array, n: number): Promise<Float64Array>;
  /** Latent means μ(x, φ) (n × L) of `n` compositions under label probabilities `phi` (n). */
  encode(comp: Float64Array, n: number, phi: Float64Array): Promise<Float64Array>;
  /** Decoded compositions (n × E, rows on the simplex) of latent points `z` (n × L) under `phi` (n). */
  decode(z: Float64Array, n: number, phi: Float64Array): Promise<Float64Array>;
}

/** {@link HeaDesignModel} backed by a network: also scores raw descriptors directly (for kernel SHAP). */
export interface HeaNetworkDesignModel extends HeaDesignModel {
  /** Descriptors per composition (8). */
  descriptors: number;
  /** Whether the classifier also reads the composition. */
  compositionBranch: boolean;
  /**
   * q(φ = 1|x) from raw (unstandardised) descriptors `desc` (n × 8) — and, with the composition branch, the
   * compositions `comp` (n × E, required then).
   */
  classifyDescriptors(desc: Float64Array, n: number, comp?: Float64Array | null): Promise<Float64Array>;
}

/**
 * A single-replica copy of member `k` of a (possibly multi-replica) model, on the same backend.
 * @throws {UserError} when `k` is not a member index
 */
export async function extractHeaMember(model: HeaDvae, k: number): Promise<HeaDvae> {
  const R = model.replicas;
  if (!(Number.isInteger(k) && k >= 0 && k < R)) {
    throw new UserError(`--member: expected a whole number from 0 to ${R - 1}, got ${k}`);
  }
  if (R === 1) return model;
  const be = model.parameters()[0].backend;
  const single = new HeaDvae({ ...model.arch, replicas: 1, backend: be });
  const src = model.namedTensors(), dst = single.namedTensors();
  for (let i = 0; i < src.length; i++) {
    const all = await src[i].tensor.read();
    const per = dst[i].tensor.size;
    be.write(dst[i].tensor, all.subarray(k * per, (k + 1) * per));
  }
  single.eval();
  return single;
}

/**
 * The design view of a single-replica model.
 * @param scaler the member's descriptor standardiser
 * @param tables the element tables the model's descriptors were computed with
 */
export function heaDesignModel(
  model: HeaDvae,
  scaler: StandardScaler,
  tables: HeaTables,
  elements: readonly string[],
): HeaNetworkDesignModel {
  if (model.replicas !== 1) throw new Error("heaDesignModel: extract one member first (extractHeaMember)");
  const E = model.arch.elements, L = model.arch.latentDim, F = model.arch.descriptors;
  if (elements.length !== E) {
    throw new Error(`heaDesignModel: ${elements.length} elements for a model of ${E}`);
  }
  const be: Backend = model.parameters()[0].backend;
  model.eval();
  const run = async (f: () => ReturnType<typeof sigmoid>): Promise<Float64Array> => {
    const t = scope(() => noGrad(f));
    const v = await t.read();
    t.dispose();
    return Float64Array.from(v);
  };
  const check = (what: string, a: Float64Array, n: number, w: number) => {
    if (a.length !== n * w) throw new RangeError(`HeaDesignModel.${what}: ${a.length} values ≠ ${n} × ${w}`);
  };
  const classifyDescriptors = (desc: Float64Array, n: number, comp?: Float64Array | null) => {
    check("classifyDescriptors", desc, n, F);
    const branch = model.arch.compositionBranch;
    if (branch && !comp) throw new Error("classifyDescriptors: this classifier also needs the compositions");
    if (branch) check("classifyDescriptors", comp!, n, E);
    const d = scaler.transform(desc);
    return run(() =>
      sigmoid(model.classifierLogit(
        be.fromData(Float32Array.from(d), [n, F]),
        branch ? be.fromData(Float32Array.from(comp!), [n, E]) : null,
      ))
    );
  };
  return {
    elements,
    latentDim: L,
    descriptors: F,
    compositionBranch: model.arch.compositionBranch,
    classifyDescriptors,
    classify(comp, n) {
      check("classify", comp, n, E);
      return classifyDescriptors(heaDescriptorsHost(comp, tables), n, comp);
    },
    encode(comp, n, phi) {
      check("encode", comp, n, E);
      check("encode", phi, n, 1);
      return run(() =>
        model.encode(
          be.fromData(Float32Array.from(comp), [n, E]),
          be.fromData(Float32Array.from(phi), [n, 1]),
        ).mu
      );
    },
    decode(z, n, phi) {
      check("decode", z, n, L);
      check("decode", phi, n, 1);
      return run(() =>
        model.decode(be.fromData(Float32Array.from(z), [n, L]), be.fromData(Float32Array.from(phi), [n, 1]))
      );
    },
  };
}

/**
 * Drops fractions below `minFraction` and renormalises each row to sum 1 (a row whose every fraction is below it
 * keeps its largest element): a decoded softmax gives every element some mass, an alloy does not.
 * @param comp n × E fractions (rows need not be normalised)
 */
export function trimComposition(comp: Float64Array, E: number, minFraction: number): Float64Array {
  if (!(minFraction >= 0 && minFraction < 1)) {
    throw new UserError(`--min-fraction: expected a number in [0, 1), got ${minFraction}`);
  }
  const out = new Float64Array(comp.length);
  for (let r = 0; r < comp.length / E; r++) {
    const row = comp.subarray(r * E, (r + 1) * E);
    const total = row.reduce((a, b) => a + b, 0);
    let s = 0, arg = 0;
    for (let j = 0; j < E; j++) {
      if (row[j] > row[arg]) arg = j;
      const v = total > 0 ? row[j] / total : 0;
      if (v >= minFraction) out[r * E + j] = v, s += v;
    }
    if (s === 0) out[r * E + arg] = 1, s = 1;
    for (let j = 0; j < E; j++) out[r * E + j] /= s;
  }
  return out;
}
