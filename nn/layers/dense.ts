/**
 * Dense (fully connected) layer: one fused matmul + bias + activation kernel. With replicas, weights are
 * [R, in, out] and inputs [R, batch, in].
 * @module
 */
import type { Activation, Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { glorotUniform } from "../init.ts";
import { Rng } from "../random.ts";
import { matmul } from "../ops/matmul.ts";
import { ShapeError, shapeStr } from "../shape.ts";
import { type LayerOptions, Module, param } from "./module.ts";

/** Seed of replica `r` of a layer seeded with `seed`: a model built alone with this seed matches that replica. */
export function replicaSeed(seed: number, r: number): number {
  return (seed + r * 7919) >>> 0;
}

/** Options of {@link Dense}. */
export interface DenseOptions extends LayerOptions {
  activation?: Activation;
  /** Slope of leaky_relu. */
  alpha?: number;
  bias?: boolean;
  backend?: Backend;
}

/** y = act(x·W + b). */
export class Dense extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly replicas: number;
  activation: Activation;
  alpha: number;

  constructor(inFeatures: number, outFeatures: number, o: DenseOptions = {}) {
    super();
    const be = o.backend ?? getBackend();
    const R = this.replicas = o.replicas ?? 1;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.activation = o.activation ?? "identity";
    this.alpha = o.alpha ?? 0.01;
    const per = inFeatures * outFeatures;
    const w = new Float32Array(R * per);
    for (let r = 0; r < R; r++) {
      w.set(glorotUniform(per, inFeatures, outFeatures, new Rng(replicaSeed(o.seed ?? 0, r), 1)), r * per);
    }
    this.weight = param(
      be.fromData(w, R > 1 ? [R, inFeatures, outFeatures] : [inFeatures, outFeatures]),
      "dense.weight",
    );
    this.bias = (o.bias ?? true)
      ? param(be.fill(R > 1 ? [R, 1, outFeatures] : [outFeatures], 0), "dense.bias")
      : null;
  }

  /** x: [batch, in] (or [R, batch, in] with replicas) → [batch, out]. */
  forward(x: Tensor): Tensor {
    const want = this.replicas > 1 ? 3 : 2;
    if (
      x.rank !== want || x.shape[want - 1] !== this.inFeatures ||
      (this.replicas > 1 && x.shape[0] !== this.replicas)
    ) {
      throw new ShapeError(
        `Dense(${this.inFeatures}→${this.outFeatures}${
          this.replicas > 1 ? `, R=${this.replicas}` : ""
        }): input ${shapeStr(x.shape)} should be ${
          this.replicas > 1 ? `[${this.replicas}, batch, ${this.inFeatures}]` : `[batch, ${this.inFeatures}]`
        }`,
      );
    }
    return matmul(x, this.weight, { bias: this.bias, activation: this.activation, alpha: this.alpha });
  }
}
