/**
 * BatchNorm1d with Keras semantics: batch statistics in training (population variance), running statistics
 * updated as running = momentum·running + (1 − momentum)·batch, and used at inference. Epsilon is configurable
 * (the published hardness model uses 1e-3, momentum 0.99).
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { noGrad } from "../autodiff.ts";
import { add, addScalar, mul, rsqrt, square, sub } from "../ops/elementwise.ts";
import { mean } from "../ops/reduce.ts";
import { ShapeError, shapeStr } from "../shape.ts";
import { type LayerOptions, Module, param, StateTensor } from "./module.ts";

/** Options of {@link BatchNorm1d}. */
export interface BatchNormOptions extends LayerOptions {
  eps?: number;
  momentum?: number;
  backend?: Backend;
}

/** Normalises each feature over the batch axis. */
export class BatchNorm1d extends Module {
  readonly gamma: Tensor;
  readonly beta: Tensor;
  readonly runningMean: StateTensor;
  readonly runningVar: StateTensor;
  readonly features: number;
  readonly replicas: number;
  eps: number;
  momentum: number;

  constructor(features: number, o: BatchNormOptions = {}) {
    super();
    const be = o.backend ?? getBackend();
    this.features = features;
    this.replicas = o.replicas ?? 1;
    this.eps = o.eps ?? 1e-3;
    this.momentum = o.momentum ?? 0.99;
    const shape = this.replicas > 1 ? [this.replicas, 1, features] : [features];
    this.gamma = param(be.fill(shape, 1), "bn.gamma");
    this.beta = param(be.fill(shape, 0), "bn.beta");
    this.runningMean = new StateTensor(be.fill(shape, 0));
    this.runningVar = new StateTensor(be.fill(shape, 1));
  }

  /** x: [batch, F] (or [R, batch, F]). */
  forward(x: Tensor): Tensor {
    const want = this.replicas > 1 ? 3 : 2;
    if (x.rank !== want || x.shape[want - 1] !== this.features) {
      throw new ShapeError(`BatchNorm1d(${this.features}): input ${shapeStr(x.shape)} has the wrong shape`);
    }
    const axis = want - 2;
    if (!this.training) {
      const inv = noGrad(() => rsqrt(addScalar(this.runningVar.value, this.eps)));
      const scale = mul(this.gamma, inv);
      return add(mul(sub(x, this.runningMean.value), scale), this.beta);
    }
    const mu = mean(x, axis, this.replicas > 1);
    const xc = sub(x, mu);
    const variance = mean(square(xc), axis, this.replicas > 1);
    const y = add(mul(mul(xc, rsqrt(addScalar(variance, this.eps))), this.gamma), this.beta);
    noGrad(() => {
      const be = x.backend;
      const m = this.momentum;
      for (const [state, batch] of [[this.runningMean, mu], [this.runningVar, variance]] as const) {
        const a = be.unary("affine", state.value, m, 0);
        const b = be.unary("affine", batch, 1 - m, 0);
        const s = be.binary("add", a, b);
        be.copyInto(state.value, s);
        a.dispose(), b.dispose(), s.dispose();
      }
    });
    return y;
  }
}
