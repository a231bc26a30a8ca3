/**
 * Element-token attention VIB (architecture `attention`): every element present in an alloy is a token — a
 * learned element embedding + a projection of its element-property features (nn/models/element_features.ts) + an
 * encoding of its fraction — mixed by masked multi-head self-attention layers (the fused attention kernel), pooled
 * by fraction-weighted attention, optionally fused with the reference's pairwise-product branch, and fed to the same
 * Gaussian VIB, load branch, hardness head and composition decoder as the reference (nn/models/vibann.ts), so
 * training, prediction, model directories and latent design are shared.
 *
 * Tokens are the (at most `tokens`) elements with the largest fractions (kernels/token_select.ts): a one-hot
 * selection S [.., B, T, E] turns gathering into matmuls (fractions S·c, embeddings S·table), differentiable in
 * the composition. Empty slots have fraction 0: they are masked out of attention and get weight 0 in pooling
 * (the pooling logits add log fraction), so a composition padded with zero-fraction elements predicts exactly as
 * without them, and the token order does not matter (attention and pooling are permutation equivariant /
 * invariant). The pooled weights mapped back to elements (Sᵀ·a) are the model's per-element "gate" output.
 *
 * Fraction bias (`fractionBias`, default on; Roost-style): every attention logit of key k adds log f_k, so a token
 * is attended in proportion to its fraction, exactly as the pooling weighs it. Without it an element whose fraction
 * goes to 0 keeps its full attention weight until its slot empties, and the prediction jumps there; with it the
 * model is continuous as a fraction reaches 0 (integrated gradients then integrate the whole path). The kernel takes
 * no additive bias, so the bias rides on one extra head dimension: q gets the constant √D_h, k gets log f and v gets
 * 0, with the softmax scale kept at 1/√D_h — scale·(q·k) = scale·q_h·k_h + log f — and the extra output is dropped.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { keep } from "../scope.ts";
import { noGrad } from "../autodiff.ts";
import { Dense } from "../layers/dense.ts";
import { Module } from "../layers/module.ts";
import { add, affine, clamp, greater, log, mul, sqrt } from "../ops/elementwise.ts";
import { softmax, sum } from "../ops/reduce.ts";
import { broadcastTo, concat, reshape, slice } from "../ops/movement.ts";
import { full } from "../ops/creation.ts";
import { attention, attentionProbs, layerNormalize, simplex } from "../ops/fused.ts";
import { matmul } from "../ops/matmul.ts";
import { ShapeError } from "../shape.ts";
import {
  type Block,
  namedBlock,
  namedDense,
  type NamedTensor,
  VibannBase,
  type VibannOptions,
} from "./vibann.ts";
import { elementFeatureMatrix } from "./element_features.ts";

/** Options of {@link VibannAttention}. */
export interface VibannAttentionOptions extends VibannOptions {
  /** Element symbols of the composition columns (for the property features). */
  elementSymbols: readonly string[];
  /** Token slots per alloy (default 8, the most elements of any alloy in the hardness dataset). */
  tokens?: number;
  /** Token width (default 64). */
  dModel?: number;
  /** Attention heads (default 4). */
  heads?: number;
  /** Self-attention layers (default 2). */
  layers?: number;
  /** Hidden width of each layer's feed-forward part (default 2·dModel). */
  ffn?: number;
  /** Element-property features in the tokens (default true; false = embedding + fraction only). */
  elementFeatures?: boolean;
  /** The reference's pairwise-product branch beside the tokens (default true). */
  pairwise?: boolean;
  /** Attention logits add log fraction of the key (default true; see the module comment). */
  fractionBias?: boolean;
}

/** The architecture options stored in a model directory. */
export interface AttentionArchConfig {
  tokens: number;
  dModel: number;
  heads: number;
  layers: number;
  ffn: number;
  elementFeatures: boolean;
  pairwise: boolean;
  /** Attention logits add log fraction of the key (model directories written before it existed: false). */
  fractionBias: boolean;
}

/** Defaults of {@link AttentionArchConfig}. */
export const ATTENTION_DEFAULTS: AttentionArchConfig = {
  tokens: 8,
  dModel: 64,
  heads: 4,
  layers: 2,
  ffn: 128,
  elementFeatures: true,
  pairwise: true,
  fractionBias: true,
};

const LN_EPS = 1e-5;

/** Layer normalisation over the last axis without affine parameters (the next Dense supplies scale and shift). */
function layerNorm(x: Tensor): Tensor {
  return layerNormalize(x, LN_EPS);
}

/** Applies a (replicated) Dense to token features [.., B, T, in] → [.., B, T, out]. */
function tokenDense(d: Dense, x: Tensor, replicas: number): Tensor {
  const [T, F] = x.shape.slice(-2);
  const lead = replicas > 1 ? [replicas] : [];
  const rows = x.size / (F * replicas);
  const y = d.forward(reshape(x, [...lead, rows, F]));
  return reshape(y, [...x.shape.slice(0, -2), T, d.outFeatures]);
}

/** One pre-norm transformer layer over tokens: x + MHA(LN x), then x + FFN(LN x). */
class TokenLayer extends Module {
  readonly q: Dense;
  readonly k: Dense;
  readonly v: Dense;
  readonly o: Dense;
  readonly f1: Dense;
  readonly f2: Dense;
  constructor(
    readonly name: string,
    readonly dModel: number,
    readonly heads: number,
    ffn: number,
    readonly replicas: number,
    dense: (i: number, o: number, act?: "relu") => Dense,
  ) {
    super();
    this.q = dense(dModel, dModel);
    this.k = dense(dModel, dModel);
    this.v = dense(dModel, dModel);
    this.o = dense(dModel, dModel);
    this.f1 = dense(dModel, ffn, "relu");
    this.f2 = dense(ffn, dModel);
  }

  #heads(t: Tensor): Tensor {
    const T = t.shape[t.rank - 2];
    return reshape(t, [t.size / (T * this.dModel), T, this.heads, this.dModel / this.heads]);
  }

  /** Softmax scale of the head width (kept when the fraction bias adds a dimension). */
  get #scale(): number {
    return 1 / Math.sqrt(this.dModel / this.heads);
  }

  /**
   * Query and key heads [N, T, H, D_h] (+1 with a key bias [N, T, 1, 1]: q gets √D_h, k gets the bias, so
   * scale·q·k = scale·q_h·k_h + bias).
   */
  #queryKey(h: Tensor, bias: Tensor | null): [Tensor, Tensor] {
    const q = this.#heads(tokenDense(this.q, h, this.replicas));
    const k = this.#heads(tokenDense(this.k, h, this.replicas));
    if (!bias) return [q, k];
    const [N, T, H] = q.shape;
    const one = [N, T, H, 1];
    const qc = full(one, 1 / this.#scale, { backend: q.backend });
    return [concat([q, qc], 3), concat([k, broadcastTo(bias, one)], 3)];
  }

  /** x [.., B, T, d], valid [(R·B), T] (1 = a real token), bias [(R·B), T, 1, 1] added to each key's logits or null. */
  forward(x: Tensor, valid: Tensor, bias: Tensor | null = null): Tensor {
    const R = this.replicas;
    const h = layerNorm(x);
    const [q, k] = this.#queryKey(h, bias);
    let v = this.#heads(tokenDense(this.v, h, R));
    if (bias) v = concat([v, full([...v.shape.slice(0, 3), 1], 0, { backend: v.backend })], 3);
    let a = attention(q, k, v, valid, this.#scale);
    if (bias) a = slice(a, [0, 0, 0, 0], [...a.shape.slice(0, 3), a.shape[3] - 1]);
    const x1 = add(x, tokenDense(this.o, reshape(a, x.shape), R));
    return add(x1, tokenDense(this.f2, tokenDense(this.f1, layerNorm(x1), R), R));
  }

  /** Per-head attention probabilities [(R·B), H, T, T] of this layer for input x. */
  probabilities(x: Tensor, valid: Tensor, bias: Tensor | null = null): Tensor {
    const [q, k] = this.#queryKey(layerNorm(x), bias);
    return attentionProbs(q, k, valid, this.#scale);
  }
}

/** What {@link VibannAttention.inspect} returns for a batch of compositions. */
export interface AttentionMaps {
  /** Token selection [.., B, T, E] (one-hot rows; all-zero rows are empty slots). */
  selection: Tensor;
  /** Token fractions [.., B, T]. */
  fractions: Tensor;
  /** Per layer, per-head attention probabilities [(R·B), H, T, T]. */
  layers: Tensor[];
  /** Pooling weights per element [.., B, E] (sum to 1 over the alloy's elements). */
  pooled: Tensor;
}

/** The element-token attention architecture. */
export class VibannAttention extends VibannBase {
  readonly arch = "attention";
  readonly config: AttentionArchConfig;
  readonly embed: Dense;
  readonly propProj: Dense | null;
  readonly fracProj: Dense;
  readonly tokenLayers: TokenLayer[];
  readonly poolScore: Dense;
  readonly tok1: Block;
  readonly pair1: Block | null;
  readonly pair2: Block | null;
  readonly fuse1: Block;
  /** Token slots used by the forward pass (may be raised at inference, e.g. to E, without changing weights). */
  tokens: number;
  readonly #props: Tensor | null;

  constructor(o: VibannAttentionOptions) {
    super(o);
    const be = o.backend ?? getBackend();
    const E = this.elements, R = this.replicas;
    if (o.elementSymbols.length !== E) {
      throw new ShapeError(`VIBANN attention: ${o.elementSymbols.length} element symbols for ${E} elements`);
    }
    const c: AttentionArchConfig = {
      tokens: o.tokens ?? ATTENTION_DEFAULTS.tokens,
      dModel: o.dModel ?? ATTENTION_DEFAULTS.dModel,
      heads: o.heads ?? ATTENTION_DEFAULTS.heads,
      layers: o.layers ?? ATTENTION_DEFAULTS.layers,
      ffn: o.ffn ?? 2 * (o.dModel ?? ATTENTION_DEFAULTS.dModel),
      elementFeatures: o.elementFeatures ?? true,
      pairwise: o.pairwise ?? true,
      fractionBias: o.fractionBias ?? ATTENTION_DEFAULTS.fractionBias,
    };
    if (c.dModel % c.heads !== 0) {
      throw new ShapeError(`VIBANN attention: dModel ${c.dModel} not divisible by heads`);
    }
    this.config = c;
    this.tokens = c.tokens;
    let k = 20;
    const dense = (i: number, n: number, act?: "relu", bias = true) =>
      new Dense(i, n, { replicas: R, seed: this.layerSeed(k++), backend: be, activation: act, bias });
    this.embed = dense(E, c.dModel, undefined, false);
    if (c.elementFeatures) {
      const f = elementFeatureMatrix(o.elementSymbols);
      const P = f.columns.length;
      this.#props = keep(be.fromData(f.values, [E, P]));
      this.propProj = dense(P, c.dModel, undefined, false);
    } else {
      this.#props = null;
      this.propProj = null;
    }
    this.fracProj = dense(4, c.dModel);
    this.tokenLayers = Array.from(
      { length: c.layers },
      (_, i) => new TokenLayer(`Tok_Layer${i + 1}`, c.dModel, c.heads, c.ffn, R, dense),
    );
    this.poolScore = dense(c.dModel, 1);
    this.tok1 = this.block(o, "Tok_Pool_D1", "Tok_Pool_BN1", c.dModel, 64, 40, 110);
    if (c.pairwise) {
      this.pair1 = this.block(o, "Comp_Pair_D1", "Comp_Pair_BN1", (E * (E - 1)) / 2, 128, 3, 101, true);
      this.pair2 = this.block(o, "Comp_Pair_D2", "Comp_Pair_BN2", 128, 64, 4, 102);
    } else {
      this.pair1 = this.pair2 = null;
    }
    this.fuse1 = this.block(o, "Comp_Fuse_D1", "Comp_Fuse_BN1", c.pairwise ? 128 : 64, 64, 5, 103);
  }

  /** Element table [.., E, d]: embedding (+ projected property features), viewed for broadcasting over rows. */
  #elementTable(): Tensor {
    let t = this.embed.weight; // [R?, E, d]
    if (this.propProj && this.#props) t = add(t, matmul(this.#props, this.propProj.weight));
    return this.replicas > 1 ? reshape(t, [this.replicas, 1, this.elements, this.config.dModel]) : t;
  }

  /** Token selection, fractions and embedded tokens of simplex compositions s [.., B, E]. */
  #tokens(s: Tensor): { sel: Tensor; frac: Tensor; x: Tensor; valid: Tensor } {
    const T = this.tokens;
    const sel = noGrad(() => s.backend.tokenSelect(s, T)); // [.., B, T, E]
    const frac = matmul(sel, reshape(s, [...s.shape, 1])); // [.., B, T, 1]
    // Fraction encoding: f, √f, a log scale (0 at 1e-4, 1 at 1) and presence; 0 for empty slots.
    const present = noGrad(() => greater(frac, s.backend.fill([1], 0)));
    const logf = mul(affine(log(clamp(frac, 1e-4, 1)), 1 / Math.log(1e4), 1), present);
    // (√ and log see a clamped fraction: their derivatives at an empty slot's 0 would be infinite.)
    const enc = concat([frac, mul(sqrt(clamp(frac, 1e-6, 1)), present), logf, present], -1);
    const x = add(matmul(sel, this.#elementTable()), tokenDense(this.fracProj, enc, this.replicas));
    const valid = noGrad(() => reshape(present, [present.size / T, T]));
    return { sel, frac, x, valid };
  }

  protected encodeFeatures(s: Tensor, mask: Tensor | null): { h: Tensor; gate: Tensor } {
    const { sel, frac, x, valid } = this.#tokens(s);
    const { pooled, weights: a } = this.mixTokens(x, frac, valid);
    const gate = reshape(matmul(sel, a, { transA: true }), s.shape); // [.., B, E]
    const e = this.tok1.forward(pooled, mask);
    if (!this.pair1 || !this.pair2) return { h: this.fuse1.forward(e, mask), gate };
    const p = this.pair2.forward(this.pair1.forward(s, mask), mask);
    return { h: this.fuse1.forward(concat([e, p], s.rank - 1), mask), gate };
  }

  /**
   * The token part of the encoder: self-attention layers over embedded tokens x [.., B, T, d] (valid [(R·B), T]),
   * then fraction-weighted attention pooling → pooled [.., B, d] and pooling weights [.., B, T, 1]. Permuting the
   * token axis of x, frac and valid leaves both outputs unchanged (up to the same permutation of the weights).
   */
  mixTokens(x: Tensor, frac: Tensor, valid: Tensor): { pooled: Tensor; weights: Tensor } {
    const bias = this.#keyBias(frac, valid);
    for (const layer of this.tokenLayers) x = layer.forward(x, valid, bias);
    const xn = layerNorm(x);
    const weights = this.#pool(xn, frac);
    return { pooled: sum(mul(weights, xn), -2), weights };
  }

  /** Token selection, fractions [.., B, T, 1], embedded tokens and validity of compositions [.., B, E]. */
  embedTokens(comp: Tensor): { sel: Tensor; frac: Tensor; x: Tensor; valid: Tensor } {
    this.checkInput("composition", comp, this.elements);
    return this.#tokens(simplex(comp));
  }

  /** The attention key bias log f [(R·B), T, 1, 1] (null without the fraction bias); empty slots are masked anyway. */
  #keyBias(frac: Tensor, valid: Tensor): Tensor | null {
    if (!this.config.fractionBias) return null;
    return reshape(log(clamp(frac, 1e-30, 1)), [...valid.shape, 1, 1]);
  }

  /** Fraction-weighted attention pooling weights [.., B, T, 1]: softmax over tokens of score + log fraction. */
  #pool(xn: Tensor, frac: Tensor): Tensor {
    const score = tokenDense(this.poolScore, xn, this.replicas);
    return softmax(add(score, log(clamp(frac, 1e-30, 1))), -2);
  }

  /**
   * Interpretability: per-layer, per-head attention maps and the pooled element weights for compositions
   * [.., B, E] (inference mode recommended; no gradients recorded).
   */
  inspect(comp: Tensor): AttentionMaps {
    return noGrad(() => {
      const { sel, frac, x: x0, valid } = this.embedTokens(comp);
      let x = x0;
      const layers: Tensor[] = [];
      const bias = this.#keyBias(frac, valid);
      for (const layer of this.tokenLayers) {
        layers.push(layer.probabilities(x, valid, bias));
        x = layer.forward(x, valid, bias);
      }
      const a = this.#pool(layerNorm(x), frac);
      const pooled = reshape(matmul(sel, a, { transA: true }), comp.shape);
      return { selection: sel, fractions: reshape(frac, frac.shape.slice(0, -1)), layers, pooled };
    });
  }

  namedTensors(): NamedTensor[] {
    const out: NamedTensor[] = [];
    namedDense(out, "Tok_Embedding", this.embed);
    if (this.propProj) namedDense(out, "Tok_Property_Proj", this.propProj);
    namedDense(out, "Tok_Fraction_Proj", this.fracProj);
    for (const l of this.tokenLayers) {
      for (
        const [n, d] of [["Q", l.q], ["K", l.k], ["V", l.v], ["O", l.o], ["FF1", l.f1], [
          "FF2",
          l.f2,
        ]] as const
      ) {
        namedDense(out, `${l.name}_${n}`, d);
      }
    }
    namedDense(out, "Tok_Pool_Score", this.poolScore);
    namedBlock(out, this.tok1);
    if (this.pair1 && this.pair2) {
      namedBlock(out, this.pair1);
      namedBlock(out, this.pair2);
    }
    namedBlock(out, this.fuse1);
    this.sharedNamedTensors(out);
    return out;
  }

  override dispose(): void {
    super.dispose();
    this.#props?.dispose();
  }
}
