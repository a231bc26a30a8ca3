/**
 * Multi-head self-attention block: Q, K, V projections, the fused attention kernel with a key mask, and the output
 * projection.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { attention, attentionProbs } from "../ops/fused.ts";
import { reshape } from "../ops/movement.ts";
import { ShapeError, shapeStr } from "../shape.ts";
import { Dense } from "./dense.ts";
import { type LayerOptions, Module } from "./module.ts";

/** Self-attention over [batch, seq, embed] with `heads` heads of size embed/heads. */
export class MultiHeadAttention extends Module {
  readonly q: Dense;
  readonly k: Dense;
  readonly v: Dense;
  readonly o: Dense;
  readonly heads: number;
  readonly embed: number;

  constructor(embed: number, heads: number, opts: LayerOptions & { backend?: Backend } = {}) {
    super();
    if (embed % heads !== 0) {
      throw new ShapeError(`MultiHeadAttention: embed ${embed} not divisible by ${heads} heads`);
    }
    this.embed = embed;
    this.heads = heads;
    const seed = opts.seed ?? 0;
    const mk = (s: number) => new Dense(embed, embed, { backend: opts.backend, seed: seed * 4 + s });
    this.q = mk(0);
    this.k = mk(1);
    this.v = mk(2);
    this.o = mk(3);
  }

  #project(x: Tensor, d: Dense): Tensor {
    const [B, S] = x.shape;
    const flat = reshape(x, [B * S, this.embed]);
    return reshape(d.forward(flat), [B, S, this.heads, this.embed / this.heads]);
  }

  #check(x: Tensor): void {
    if (x.rank !== 3 || x.shape[2] !== this.embed) {
      throw new ShapeError(
        `MultiHeadAttention(${this.embed}): input ${shapeStr(x.shape)} should be [batch, seq, ${this.embed}]`,
      );
    }
  }

  /** x: [B, S, E], mask: [B, S] (nonzero = real token) or null → [B, S, E]. */
  forward(x: Tensor, mask: Tensor | null = null): Tensor {
    this.#check(x);
    const [B, S] = x.shape;
    const h = attention(this.#project(x, this.q), this.#project(x, this.k), this.#project(x, this.v), mask);
    return reshape(this.o.forward(reshape(h, [B * S, this.embed])), [B, S, this.embed]);
  }

  /** Per-head attention probabilities [B, H, S, S] for interpretability. */
  probabilities(x: Tensor, mask: Tensor | null = null): Tensor {
    this.#check(x);
    return attentionProbs(this.#project(x, this.q), this.#project(x, this.k), mask);
  }
}
