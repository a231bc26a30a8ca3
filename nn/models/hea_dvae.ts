/**
 * The semi-supervised disentangled VAE of Zeng, Khan and Post for high-entropy alloys (Kingma's M2 model with a
 * binary label): generative model p(x|φ,z) p(φ) p(z), recognition model q(φ|f(x)) q(z|x,φ).
 *
 * - x: composition over the 30 elements of the paper (atomic fractions; the likelihood counts them as at.%);
 * - φ: the phase label, 1 = single phase, 0 = multi-phase; prior Bernoulli(r);
 * - z: the "everything else" latent, prior N(0, I), size 2 by default;
 * - f(x): the 8 standardised descriptors (data/hea_descriptors.ts) the classifier head reads.
 *
 * Heads (hidden layers [100, 100] with Softplus, as the reference):
 * - classifier q(φ|f): descriptors (optionally concatenated with the composition, the "composition branch") → logit;
 * - encoder q(z|x,φ): [x, φ] → (μ, log σ²);
 * - decoder p(x|φ,z): [z, φ] → softmax over the elements.
 *
 * Replicas: with R > 1 every parameter has a leading [R] axis and inputs are [R, batch, ·], so several seeds or
 * splits train as one program. The objective lives in `hea_elbo.ts`.
 * @module
 */
import type { Activation, Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { Dense } from "../layers/dense.ts";
import { Module } from "../layers/module.ts";
import { concat } from "../ops/movement.ts";
import { logSoftmax, softmax } from "../ops/reduce.ts";
import { ShapeError, shapeStr } from "../shape.ts";

/** Number of elements of the paper's composition vector. */
export const HEA_ELEMENT_COUNT = 30;
/** Number of engineered descriptors the classifier reads. */
export const HEA_DESCRIPTOR_COUNT = 8;

/** Architecture options of {@link HeaDvae} (defaults: the paper's model). */
export interface HeaDvaeOptions {
  /** Composition width (30). */
  elements?: number;
  /** Descriptor width (8). */
  descriptors?: number;
  /** Latent size of z (2). */
  latentDim?: number;
  /** Hidden widths of every head ([100, 100]). */
  hidden?: readonly number[];
  /** Hidden activation (softplus, as the reference). */
  activation?: Activation;
  /** Feed the composition to the classifier beside the descriptors (an addition to the paper; default false). */
  compositionBranch?: boolean;
  /** Prior probability r = p(φ = 1) (0.5). */
  priorSingle?: number;
  /** Replicas trained together (1). */
  replicas?: number;
  /** Initialisation seed (replica r uses replicaSeed(seed, r) in every layer). */
  seed?: number;
  backend?: Backend;
}

/** The architecture fields a model directory stores (every option resolved). */
export interface HeaDvaeArch {
  elements: number;
  descriptors: number;
  latentDim: number;
  hidden: number[];
  activation: Activation;
  compositionBranch: boolean;
  priorSingle: number;
}

/** An MLP: hidden Dense layers with the activation, then a linear output layer. */
class Mlp extends Module {
  readonly layers: Dense[];
  constructor(inF: number, hidden: readonly number[], outF: number, act: Activation, o: {
    replicas: number;
    seed: number;
    backend: Backend;
  }) {
    super();
    const widths = [inF, ...hidden, outF];
    this.layers = widths.slice(1).map((w, i) =>
      new Dense(widths[i], w, {
        activation: i < hidden.length ? act : "identity",
        replicas: o.replicas,
        seed: (o.seed + i * 7907) >>> 0,
        backend: o.backend,
      })
    );
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const l of this.layers) h = l.forward(h);
    return h;
  }
}

/** Resolves every option of {@link HeaDvaeOptions} to its value. */
export function heaDvaeArch(o: HeaDvaeOptions = {}): HeaDvaeArch {
  const arch: HeaDvaeArch = {
    elements: o.elements ?? HEA_ELEMENT_COUNT,
    descriptors: o.descriptors ?? HEA_DESCRIPTOR_COUNT,
    latentDim: o.latentDim ?? 2,
    hidden: [...(o.hidden ?? [100, 100])],
    activation: o.activation ?? "softplus",
    compositionBranch: o.compositionBranch ?? false,
    priorSingle: o.priorSingle ?? 0.5,
  };
  const posInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (!posInt(arch.elements) || !posInt(arch.descriptors) || !posInt(arch.latentDim)) {
    throw new ShapeError(
      `HeaDvae: elements, descriptors and latent size must be positive integers, got ${arch.elements}, ` +
        `${arch.descriptors}, ${arch.latentDim}`,
    );
  }
  if (!arch.hidden.length || !arch.hidden.every(posInt)) {
    throw new ShapeError(
      `HeaDvae: hidden widths must be ≥ 1 layer of positive integers, got [${arch.hidden}]`,
    );
  }
  if (!(arch.priorSingle > 0 && arch.priorSingle < 1)) {
    throw new ShapeError(`HeaDvae: prior p(φ=1) must be in (0, 1), got ${arch.priorSingle}`);
  }
  return arch;
}

/** The semi-supervised disentangled VAE (see the module docs). */
export class HeaDvae extends Module {
  readonly arch: HeaDvaeArch;
  readonly replicas: number;
  readonly seed: number;
  readonly classifier: Mlp;
  readonly encoderTrunk: Mlp;
  readonly zMu: Dense;
  readonly zLogvar: Dense;
  readonly decoder: Mlp;

  constructor(o: HeaDvaeOptions = {}) {
    super();
    const be = o.backend ?? getBackend();
    const a = this.arch = heaDvaeArch(o);
    const R = this.replicas = o.replicas ?? 1;
    if (!(Number.isInteger(R) && R >= 1)) throw new ShapeError(`HeaDvae: replicas must be ≥ 1, got ${R}`);
    const seed = this.seed = o.seed ?? 0;
    const s = (k: number) => ({ replicas: R, seed: (seed + k * 104729) >>> 0, backend: be });
    const H = a.hidden;
    const last = H[H.length - 1];
    this.classifier = new Mlp(
      a.descriptors + (a.compositionBranch ? a.elements : 0),
      H,
      1,
      a.activation,
      s(1),
    );
    // The encoder trunk ends in its last hidden layer; μ and log σ² are two linear heads on it.
    this.encoderTrunk = new Mlp(a.elements + 1, H.slice(0, -1), last, a.activation, s(2));
    this.encoderTrunk.layers[this.encoderTrunk.layers.length - 1].activation = a.activation;
    this.zMu = new Dense(last, a.latentDim, s(3));
    this.zLogvar = new Dense(last, a.latentDim, s(4));
    this.decoder = new Mlp(a.latentDim + 1, H, a.elements, a.activation, s(5));
  }

  /** Rank of the inputs (2 for one replica, 3 with replicas). */
  get inputRank(): number {
    return this.replicas > 1 ? 3 : 2;
  }

  #check(what: string, x: Tensor, features: number): void {
    const r = this.inputRank;
    if (x.rank !== r || x.shape[r - 1] !== features || (r === 3 && x.shape[0] !== this.replicas)) {
      throw new ShapeError(
        `HeaDvae ${what}: got ${shapeStr(x.shape)}, expected ${
          r === 3 ? `[${this.replicas}, batch, ${features}]` : `[batch, ${features}]`
        }`,
      );
    }
  }

  /**
   * Classifier logit s with q(φ=1|x) = σ(s), [.., B, 1].
   * @param f standardised descriptors [.., B, 8]
   * @param x compositions [.., B, 30]; required with the composition branch, ignored otherwise
   */
  classifierLogit(f: Tensor, x: Tensor | null = null): Tensor {
    this.#check("descriptors", f, this.arch.descriptors);
    if (!this.arch.compositionBranch) return this.classifier.forward(f);
    if (!x) throw new ShapeError("HeaDvae: the composition branch needs the compositions");
    this.#check("composition", x, this.arch.elements);
    return this.classifier.forward(concat([f, x], f.rank - 1));
  }

  /** q(z|x,φ): mean and log-variance [.., B, L] from fractions x [.., B, 30] and φ [.., B, 1] (0, 1 or a probability). */
  encode(x: Tensor, phi: Tensor): { mu: Tensor; logvar: Tensor } {
    this.#check("composition", x, this.arch.elements);
    this.#check("φ", phi, 1);
    const h = this.encoderTrunk.forward(concat([x, phi], x.rank - 1));
    return { mu: this.zMu.forward(h), logvar: this.zLogvar.forward(h) };
  }

  /** Decoder logits [.., B, 30] of p(x|φ,z) from z [.., B, L] and φ [.., B, 1]. */
  decodeLogits(z: Tensor, phi: Tensor): Tensor {
    this.#check("latent", z, this.arch.latentDim);
    this.#check("φ", phi, 1);
    return this.decoder.forward(concat([z, phi], z.rank - 1));
  }

  /** Log-probabilities log π [.., B, 30] of the decoded composition. */
  decodeLog(z: Tensor, phi: Tensor): Tensor {
    return logSoftmax(this.decodeLogits(z, phi), -1);
  }

  /** The decoded composition π [.., B, 30]: a point of the simplex (softmax). */
  decode(z: Tensor, phi: Tensor): Tensor {
    return softmax(this.decodeLogits(z, phi), -1);
  }

  /**
   * Every parameter under a stable name (`classifier.0.weight`, `encoder.1.bias`, `z_mu.weight`, …), in a fixed
   * order: the names and shapes a model directory stores.
   */
  namedTensors(): { name: string; tensor: Tensor }[] {
    const out: { name: string; tensor: Tensor }[] = [];
    const dense = (name: string, d: Dense) => {
      out.push({ name: `${name}.weight`, tensor: d.weight });
      out.push({ name: `${name}.bias`, tensor: d.bias! });
    };
    this.classifier.layers.forEach((d, i) => dense(`classifier.${i}`, d));
    this.encoderTrunk.layers.forEach((d, i) => dense(`encoder.${i}`, d));
    dense("z_mu", this.zMu);
    dense("z_logvar", this.zLogvar);
    this.decoder.layers.forEach((d, i) => dense(`decoder.${i}`, d));
    return out;
  }
}
