/**
 * LayerNorm over the last axis with learned scale and shift.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { add, mul } from "../ops/elementwise.ts";
import { layerNormalize } from "../ops/fused.ts";
import { ShapeError, shapeStr } from "../shape.ts";
import { Module, param } from "./module.ts";

/** y = γ·(x − mean)/√(var + ε) + β over the last axis. */
export class LayerNorm extends Module {
  readonly gamma: Tensor;
  readonly beta: Tensor;
  readonly features: number;
  eps: number;

  constructor(features: number, o: { eps?: number; backend?: Backend } = {}) {
    super();
    const be = o.backend ?? getBackend();
    this.features = features;
    this.eps = o.eps ?? 1e-5;
    this.gamma = param(be.fill([features], 1), "ln.gamma");
    this.beta = param(be.fill([features], 0), "ln.beta");
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.features) {
      throw new ShapeError(`LayerNorm(${this.features}): input ${shapeStr(x.shape)} has the wrong last axis`);
    }
    return add(mul(layerNormalize(x, this.eps), this.gamma), this.beta);
  }
}
