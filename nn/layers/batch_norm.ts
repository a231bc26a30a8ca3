/**
 * BatchNorm1d with Keras semantics: batch statistics in training (population variance), running statistics
 * updated as running = momentum·running + (1 − momentum)·batch, and used at inference. Epsilon is configurable
 * (the published hardness model uses 1e-3, momentum 0.99). Both modes run as one fused kernel forward and one
 * backward (`nn/ops/batch_norm.ts`).
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { batchNorm, batchNormInference } from "../ops/batch_norm.ts";
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

  /**
   * x: [batch, F] (or [R, batch, F]). `mask` ([batch, 1] or [R, batch, 1], 1 = real row, 0 = padding) restricts the
   * training-mode batch statistics to the real rows, so replicas with ragged batches (padded to a common size)
   * normalise exactly as they would alone. A replica without any real row normalises with mean 0 and variance 0 and
   * keeps its running statistics.
   */
  forward(x: Tensor, mask: Tensor | null = null): Tensor {
    const want = this.replicas > 1 ? 3 : 2;
    if (x.rank !== want || x.shape[want - 1] !== this.features) {
      throw new ShapeError(`BatchNorm1d(${this.features}): input ${shapeStr(x.shape)} has the wrong shape`);
    }
    if (!this.training) {
      return batchNormInference(
        x,
        this.gamma,
        this.beta,
        this.runningMean.value,
        this.runningVar.value,
        this.eps,
      );
    }
    // One fused kernel: batch statistics, normalisation and the in-place running-statistics update.
    const running = { mean: this.runningMean.value, var: this.runningVar.value, momentum: this.momentum };
    return batchNorm(x, this.gamma, this.beta, { eps: this.eps, mask, running });
  }
}
