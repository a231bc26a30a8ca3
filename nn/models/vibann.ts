/**
 * The reference VIBANN hardness network ("VIB + attention", architecture `reference`): a softmax gate over the element
 * fractions, a pairwise-product branch, a Gaussian variational information bottleneck, a load branch, a hardness
 * head on [z, load features] and a softmax composition decoder. Every hidden block is Dense-ReLU → BatchNorm
 * (ε 1e-3, momentum 0.99) → MC dropout, exactly as §2 of the reference document. Parameter names are the Keras
 * layer names of the published model (`Comp_Pair_D1/kernel`, `Comp_Pair_BN1/moving_mean`, …), so importing its
 * weights is a name-to-name copy.
 *
 * Replicas: with R > 1 every parameter has a leading [R] axis and inputs are [R, batch, ·]; replicas may differ in
 * dropout rate and (through a latent mask) in latent size, so a whole hyperparameter search trains as one program.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { keep } from "../scope.ts";
import { BatchNorm1d } from "../layers/batch_norm.ts";
import { Dense } from "../layers/dense.ts";
import { Dropout } from "../layers/dropout.ts";
import { Module, type StateTensor } from "../layers/module.ts";
import { mul } from "../ops/elementwise.ts";
import { softmax } from "../ops/reduce.ts";
import { concat } from "../ops/movement.ts";
import { pairwiseMatmul } from "../ops/pairwise_matmul.ts";
import { reparameterize, simplex } from "../ops/fused.ts";
import { matmul } from "../ops/matmul.ts";
import { batchNorm } from "../ops/batch_norm.ts";
import { ShapeError, shapeStr } from "../shape.ts";

/** Options of {@link VibannReference}. */
export interface VibannOptions {
  /** Number of composition inputs (56 for the hardness dataset). */
  elements: number;
  /** Latent size L (published model: 64), or one per replica (each ≤ the largest; smaller ones are masked). */
  latentDim: number | readonly number[];
  /** MC-dropout rate p (published model: 0.11231), or one per replica. */
  dropout: number | readonly number[];
  /** Replicas trained together (default 1). */
  replicas?: number;
  /** Initialisation and random-stream seed (replica r uses replicaSeed(seed, r)). */
  seed?: number;
  /** BatchNorm epsilon (1e-3; the published weights depend on it). */
  bnEps?: number;
  /** BatchNorm momentum (0.99). */
  bnMomentum?: number;
  backend?: Backend;
}

/** Everything one forward pass produces (rows on the second-to-last axis). */
export interface VibannOutputs {
  /** Standardised hardness [.., B, 1]. */
  y: Tensor;
  /** Softmax gate over the elements [.., B, E]. */
  gate: Tensor;
  /** Latent mean [.., B, L]. */
  mu: Tensor;
  /** Latent log-variance [.., B, L]. */
  logvar: Tensor;
  /** Latent used downstream: a reparameterised sample in training, μ otherwise. */
  z: Tensor;
  /** Per-row KL(q(z|x) ‖ N(0, I)) [.., B] (summed over the replica's own latent dimensions). */
  kl: Tensor;
  /** Reconstructed composition [.., B, E]. */
  recon: Tensor;
}

/**
 * One hidden block: Dense-ReLU → BatchNorm → dropout (fused into matmul + one batch-norm kernel in training). With
 * `pairwiseInput` the Dense layer takes the E(E−1)/2 pairwise products of its input [.., B, E], computed on the fly
 * by the sparse pairwise-matmul kernel (the weights keep their [E(E−1)/2, N] shape and names).
 */
export class Block extends Module {
  readonly dense: Dense;
  readonly bn: BatchNorm1d;
  readonly drop: Dropout;
  readonly pairwiseInput: boolean;
  constructor(
    readonly name: string,
    readonly bnName: string,
    inF: number,
    outF: number,
    o:
      & { replicas: number; seed: number; dropout: number | readonly number[]; stream: number }
      & { pairwiseInput?: boolean }
      & Pick<
        VibannOptions,
        "bnEps" | "bnMomentum" | "backend"
      >,
  ) {
    super();
    this.pairwiseInput = o.pairwiseInput ?? false;
    this.dense = new Dense(inF, outF, {
      activation: "relu",
      replicas: o.replicas,
      seed: o.seed,
      backend: o.backend,
    });
    this.bn = new BatchNorm1d(outF, {
      replicas: o.replicas,
      eps: o.bnEps ?? 1e-3,
      momentum: o.bnMomentum ?? 0.99,
      backend: o.backend,
    });
    this.drop = new Dropout(o.dropout, { replicas: o.replicas, seed: o.seed, stream: o.stream });
  }
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const d = this.dense;
    if (!this.bn.training) {
      const h = this.pairwiseInput
        ? pairwiseMatmul(x, d.weight, { bias: d.bias, activation: "relu" })
        : d.forward(x);
      return this.drop.forward(this.bn.forward(h, mask));
    }
    // Training: bias, ReLU, batch statistics and dropout in one fused kernel after a plain matmul.
    const h = this.pairwiseInput ? pairwiseMatmul(x, d.weight) : matmul(x, d.weight);
    return batchNorm(h, this.bn.gamma, this.bn.beta, {
      eps: this.bn.eps,
      mask,
      running: { mean: this.bn.runningMean.value, var: this.bn.runningVar.value, momentum: this.bn.momentum },
      bias: this.dense.bias,
      dropout: this.drop.blockDropout(h.backend),
    });
  }
}

/** Options shared by the hidden blocks of a VIBANN network. */
export type BlockOptions =
  & { replicas: number; seed: number; dropout: number | readonly number[]; stream: number }
  & Pick<VibannOptions, "bnEps" | "bnMomentum" | "backend">;

/** A parameter or state tensor under its Keras-style name. */
export type NamedTensor = { name: string; tensor: Tensor; state?: StateTensor };

/**
 * What every VIBANN architecture shares: the simplex projection, the Gaussian VIB heads (μ, logσ²) on a 64-wide
 * composition feature, the load branch, the hardness head on [z, load features] and the softmax composition
 * decoder, with the replica axis and per-replica latent masks. An architecture supplies only
 * {@link VibannBase.encodeFeatures} (composition → 64 features and per-element weights) and its own named tensors,
 * so training, prediction, model directories and latent design work unchanged for every architecture.
 */
export abstract class VibannBase extends Module {
  /** Architecture tag stored in model directories. */
  abstract readonly arch: string;
  readonly elements: number;
  /** Largest latent size (the width of the latent tensors). */
  readonly latentDim: number;
  /** Latent size of each replica. */
  readonly latentDims: readonly number[];
  readonly dropoutRates: readonly number[];
  readonly replicas: number;
  readonly seed: number;
  readonly zMu: Dense;
  readonly zLogvar: Dense;
  readonly load1: Block;
  readonly hard1: Block;
  readonly out: Dense;
  readonly dec1: Block;
  readonly dec2: Block;
  readonly recon: Dense;
  /** Number of latent samples drawn so far (the RNG step of the next one). */
  sampleCalls = 0;
  /** [R, 1, L] 0/1 mask of each replica's latent dimensions, or null when all replicas use L. */
  readonly #latentMask: Tensor | null;

  protected constructor(o: VibannOptions) {
    super();
    const be = o.backend ?? getBackend();
    const R = this.replicas = o.replicas ?? 1;
    const E = this.elements = o.elements;
    const per = <T>(v: T | readonly T[], what: string): T[] => {
      const a = Array.isArray(v) ? [...v as T[]] : Array.from({ length: R }, () => v as T);
      if (a.length !== R) throw new ShapeError(`VIBANN: ${a.length} ${what} values for ${R} replicas`);
      return a;
    };
    this.latentDims = per(o.latentDim, "latent size");
    this.dropoutRates = per(o.dropout, "dropout");
    for (const l of this.latentDims) {
      if (!(Number.isInteger(l) && l >= 1)) throw new ShapeError(`VIBANN: latent size must be ≥ 1, got ${l}`);
    }
    const L = this.latentDim = Math.max(...this.latentDims);
    this.seed = o.seed ?? 0;
    // Seeds 6–13 and dropout streams 104–107 are the reference's (its encoder uses 1–5 and 100–103).
    this.zMu = this.dense(o, 64, L, 6);
    this.zLogvar = this.dense(o, 64, L, 7);
    this.load1 = this.block(o, "Load_Enc_D1", "Load_Enc_BN1", 1, 32, 8, 104);
    this.hard1 = this.block(o, "Hard_Trunk_D1", "Hard_Trunk_BN1", L + 32, 64, 9, 105);
    this.out = this.dense(o, 64, 1, 10);
    this.dec1 = this.block(o, "Comp_Dec_D1", "Comp_Dec_BN1", L, 128, 11, 106);
    this.dec2 = this.block(o, "Comp_Dec_D2", "Comp_Dec_BN2", 128, 64, 12, 107);
    this.recon = this.dense(o, 64, E, 13);
    if (this.latentDims.some((l) => l !== L)) {
      const m = new Float32Array(R * L);
      this.latentDims.forEach((l, r) => m.fill(1, r * L, r * L + l));
      this.#latentMask = keep(be.fromData(m, [R, 1, L]));
    } else this.#latentMask = null;
  }

  /** Seed of the k-th layer (as the reference numbers them). */
  protected layerSeed(k: number): number {
    return ((this.seed ?? 0) + k * 104729) >>> 0;
  }

  /** A Dense layer (replicated) with the k-th layer seed. */
  protected dense(o: VibannOptions, inF: number, outF: number, k: number): Dense {
    return new Dense(inF, outF, { replicas: o.replicas ?? 1, seed: this.layerSeed(k), backend: o.backend });
  }

  /**
   * A Dense-ReLU → BatchNorm → dropout block with the k-th layer seed and dropout stream `stream` (with
   * `pairwiseInput`, its Dense layer reads the pairwise products of its input: see {@link Block}).
   */
  protected block(
    o: VibannOptions,
    name: string,
    bn: string,
    inF: number,
    outF: number,
    k: number,
    stream: number,
    pairwiseInput = false,
  ) {
    const R = o.replicas ?? 1;
    const drop = R > 1 ? this.dropoutRates : this.dropoutRates[0];
    return new Block(name, bn, inF, outF, {
      ...o,
      replicas: R,
      seed: this.layerSeed(k),
      dropout: drop,
      stream,
      pairwiseInput,
    });
  }

  /** Rank of the inputs (2 for one replica, 3 with replicas). */
  get inputRank(): number {
    return this.replicas > 1 ? 3 : 2;
  }

  protected checkInput(what: string, x: Tensor, features: number): void {
    const r = this.inputRank;
    if (x.rank !== r || x.shape[r - 1] !== features || (r === 3 && x.shape[0] !== this.replicas)) {
      throw new ShapeError(
        `VIBANN ${what}: got ${shapeStr(x.shape)}, expected ${
          r === 3 ? `[${this.replicas}, batch, ${features}]` : `[batch, ${features}]`
        }`,
      );
    }
  }

  /**
   * The architecture's composition encoder: simplex-projected composition s [.., B, E] → 64 features [.., B, 64]
   * and per-element weights [.., B, E] (the gate, or the pooled attention weights).
   */
  protected abstract encodeFeatures(s: Tensor, mask: Tensor | null): { h: Tensor; gate: Tensor };

  /**
   * Composition encoder: simplex projection, the architecture's feature encoder, latent heads.
   * `mask` ([.., B, 1], 1 = real row) restricts BatchNorm statistics to real rows in training.
   */
  encode(comp: Tensor, mask: Tensor | null = null): { s: Tensor; gate: Tensor; mu: Tensor; logvar: Tensor } {
    this.checkInput("composition", comp, this.elements);
    const s = simplex(comp);
    const { h, gate } = this.encodeFeatures(s, mask);
    let mu = this.zMu.forward(h);
    let logvar = this.zLogvar.forward(h);
    if (this.#latentMask) {
      mu = mul(mu, this.#latentMask);
      logvar = mul(logvar, this.#latentMask);
    }
    return { s, gate, mu, logvar };
  }

  /** Hardness head: standardised HV from a latent z [.., B, L] and the standardised load [.., B, 1]. */
  head(z: Tensor, load: Tensor, mask: Tensor | null = null): Tensor {
    this.checkInput("load", load, 1);
    const f = this.load1.forward(load, mask);
    const t = this.hard1.forward(concat([z, f], z.rank - 1), mask);
    return this.out.forward(t);
  }

  /** Composition decoder: z → softmax over the elements. */
  decode(z: Tensor, mask: Tensor | null = null): Tensor {
    const d = this.dec2.forward(this.dec1.forward(z, mask), mask);
    return softmax(this.recon.forward(d), z.rank - 1);
  }

  /**
   * Full forward pass. In training mode z is sampled (reparameterised, RNG step = a per-model counter); in
   * inference (also MC) mode z = μ, as in the reference.
   */
  forward(comp: Tensor, load: Tensor, mask: Tensor | null = null): VibannOutputs {
    const { gate, mu, logvar } = this.encode(comp, mask);
    let z = mu;
    const { z: zs, kl } = reparameterize(mu, logvar, { seed: this.seed, stream: 7 }, this.sampleCalls);
    if (this.training) {
      this.sampleCalls++;
      z = this.#latentMask ? mul(zs, this.#latentMask) : zs;
    }
    const y = this.head(z, load, mask);
    const recon = this.decode(z, mask);
    return { y, gate, mu, logvar, z, kl, recon };
  }

  /** Every parameter and state tensor under its Keras-style name, in a stable order (the model-file layout). */
  abstract namedTensors(): NamedTensor[];

  /** The encoder-independent tensors (latent heads, load branch, hardness head, decoder), in the reference order. */
  protected sharedNamedTensors(out: NamedTensor[]): void {
    namedDense(out, "z_mu", this.zMu);
    namedDense(out, "z_logvar", this.zLogvar);
    namedBlock(out, this.load1);
    namedBlock(out, this.hard1);
    namedDense(out, "Output_Layer", this.out);
    namedBlock(out, this.dec1);
    namedBlock(out, this.dec2);
    namedDense(out, "Comp_Recon", this.recon);
  }

  /** Sets the dropout rate of every dropout layer (single-replica models; e.g. after import). */
  setDropout(p: number): void {
    for (const m of this.modules()) if (m instanceof Dropout) m.rate = p;
  }

  /** Frees parameters, state and the latent mask. */
  override dispose(): void {
    super.dispose();
    this.#latentMask?.dispose();
  }
}

/** Appends a Dense layer's kernel and (when it has one) bias. */
export function namedDense(out: NamedTensor[], name: string, d: Dense): void {
  out.push({ name: `${name}/kernel`, tensor: d.weight });
  if (d.bias) out.push({ name: `${name}/bias`, tensor: d.bias });
}

/** Appends a block's Dense and BatchNorm tensors (gamma, beta, moving statistics). */
export function namedBlock(out: NamedTensor[], b: Block): void {
  namedDense(out, b.name, b.dense);
  out.push({ name: `${b.bnName}/gamma`, tensor: b.bn.gamma });
  out.push({ name: `${b.bnName}/beta`, tensor: b.bn.beta });
  out.push({ name: `${b.bnName}/moving_mean`, tensor: b.bn.runningMean.value, state: b.bn.runningMean });
  out.push({ name: `${b.bnName}/moving_variance`, tensor: b.bn.runningVar.value, state: b.bn.runningVar });
}

/** The reference architecture: softmax gate ⊙ composition → Dense 64, pairwise products → 128 → 64, fuse → 64. */
export class VibannReference extends VibannBase {
  readonly arch = "reference";
  readonly gate: Dense;
  readonly enc1: Block;
  readonly pair1: Block;
  readonly pair2: Block;
  readonly fuse1: Block;

  constructor(o: VibannOptions) {
    super(o);
    const E = this.elements;
    this.gate = this.dense(o, E, E, 1);
    this.enc1 = this.block(o, "Comp_Enc_D1", "Comp_Enc_BN1", E, 64, 2, 100);
    this.pair1 = this.block(o, "Comp_Pair_D1", "Comp_Pair_BN1", (E * (E - 1)) / 2, 128, 3, 101, true);
    this.pair2 = this.block(o, "Comp_Pair_D2", "Comp_Pair_BN2", 128, 64, 4, 102);
    this.fuse1 = this.block(o, "Comp_Fuse_D1", "Comp_Fuse_BN1", 128, 64, 5, 103);
  }

  protected encodeFeatures(s: Tensor, mask: Tensor | null): { h: Tensor; gate: Tensor } {
    const axis = s.rank - 1;
    const gate = softmax(this.gate.forward(s), axis);
    const e = this.enc1.forward(mul(s, gate), mask);
    const p = this.pair2.forward(this.pair1.forward(s, mask), mask);
    return { h: this.fuse1.forward(concat([e, p], axis), mask), gate };
  }

  /**
   * Every parameter and state tensor under its Keras-style name (`<layer>/kernel|bias|gamma|beta|moving_mean|
   * moving_variance`), in a stable order.
   */
  namedTensors(): NamedTensor[] {
    const out: NamedTensor[] = [];
    namedDense(out, "Comp_Attention", this.gate);
    namedBlock(out, this.enc1);
    namedBlock(out, this.pair1);
    namedBlock(out, this.pair2);
    namedBlock(out, this.fuse1);
    this.sharedNamedTensors(out);
    return out;
  }
}
