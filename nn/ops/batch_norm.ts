/**
 * Differentiable fused batch normalisation: one forward and one backward kernel, in training mode (batch statistics,
 * optional row mask, in-place running-statistics update) and inference mode (running statistics as constants).
 * Gradients flow to x, γ and β; the mask and the running statistics are constants.
 * @module
 */
import type { BatchNormBlock, BatchNormRunning } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { record } from "../autodiff.ts";
import { sameShape, ShapeError, shapeStr } from "../shape.ts";
import { check } from "./_check.ts";

/** Options of {@link batchNorm}. */
export interface BatchNormOpOptions {
  /** Added to the variance before the square root. */
  eps: number;
  /** Row mask [..., B, 1] of 0/1: statistics use only the rows with 1 (every row is still normalised). */
  mask?: Tensor | null;
  /** Running statistics (γ's size) updated in place: running ← momentum·running + (1−momentum)·batch. */
  running?: BatchNormRunning | null;
  /**
   * Fuses the block's bias + ReLU: x is then the pre-activation h, the normalised input is relu(h + bias), and the
   * gradient flows to h and bias (shaped like γ).
   */
  bias?: Tensor | null;
  /** Fuses the block's dropout after the normalisation (rates [R], one per replica; see `BatchNormBlock`). */
  dropout?: BatchNormBlock["dropout"];
}

/** Checks the per-(replica, feature) tensors against x [..., B, F]; returns [R, B, F]. */
function checkShapes(op: string, x: Tensor, perColumn: [string, Tensor][]): [number, number, number] {
  if (x.rank < 2) throw new ShapeError(`${op}: x must be [..., batch, features], got ${shapeStr(x.shape)}`);
  const F = x.shape[x.rank - 1], B = x.shape[x.rank - 2];
  const lead = x.shape.slice(0, -2);
  const R = lead.reduce((a, b) => a * b, 1);
  const want = R === 1 ? `[${F}]` : `[${[...lead, 1, F].join(", ")}]`;
  for (const [name, t] of perColumn) {
    if (t.size !== R * F || t.shape[t.rank - 1] !== F) {
      throw new ShapeError(
        `${op}: ${name} ${shapeStr(t.shape)} should hold one value per column, e.g. ${want}`,
      );
    }
  }
  return [R, B, F];
}

/**
 * Training-mode batch normalisation of x [..., B, F] (leading axes = independent replicas): per (replica, feature)
 * mean and population variance over the rows (the rows whose mask is 1 when a mask is given), then
 * y = (x − mean)/√(var + eps)·γ + β. γ and β hold one value per (replica, feature) (e.g. [F] or [R, 1, F]).
 * A replica whose mask is all 0 uses mean 0, var 0 and keeps its running statistics. Differentiable in x, γ, β.
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, o: BatchNormOpOptions): Tensor {
  const mask = o.mask ?? null, running = o.running ?? null, bias = o.bias ?? null, drop = o.dropout ?? null;
  const be = check("batchNorm", [x, gamma, beta, mask, running?.mean, running?.var, bias, drop?.rates]);
  const [R] = checkShapes("batchNorm", x, [
    ["gamma", gamma],
    ["beta", beta],
    ...(running ? [["running mean", running.mean], ["running var", running.var]] as [string, Tensor][] : []),
    ...(bias ? [["bias", bias]] as [string, Tensor][] : []),
  ]);
  if (mask && !sameShape(mask.shape, [...x.shape.slice(0, -1), 1])) {
    throw new ShapeError(
      `batchNorm: mask ${shapeStr(mask.shape)} should be ${shapeStr([...x.shape.slice(0, -1), 1])}`,
    );
  }
  if (drop && drop.rates.size !== R) {
    throw new ShapeError(`batchNorm: dropout rates ${shapeStr(drop.rates.shape)} should hold ${R} values`);
  }
  const block: BatchNormBlock | null = bias || drop ? { bias, dropout: drop } : null;
  const { y, mean, invstd } = be.batchNorm(x, gamma, beta, mask, o.eps, running, block);
  const inputs = bias ? [x, gamma, beta, bias] : [x, gamma, beta];
  record(y, "batchNorm", inputs, (g) => {
    const { dx, dgamma, dbeta, dbias } = be.batchNormGrad(x, g, gamma, mean, invstd, mask, block);
    return keepNeeded(inputs, dbias ? [dx, dgamma, dbeta, dbias] : [dx, dgamma, dbeta]);
  });
  if (!y.node) mean.dispose(), invstd.dispose(); // kept only for the backward pass
  return y;
}

/**
 * Inference-mode batch normalisation: y = (x − runMean)·γ/√(runVar + eps) + β with the running statistics as
 * constants (same shapes as {@link batchNorm}). Differentiable in x, γ, β.
 */
export function batchNormInference(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  eps: number,
): Tensor {
  const be = check("batchNormInference", [x, gamma, beta, runMean, runVar]);
  checkShapes("batchNormInference", x, [
    ["gamma", gamma],
    ["beta", beta],
    ["running mean", runMean],
    ["running var", runVar],
  ]);
  const y = be.batchNormInference(x, gamma, beta, runMean, runVar, eps);
  return record(y, "batchNormInference", [x, gamma, beta], (g) => {
    const { dx, dgamma, dbeta } = be.batchNormInferenceGrad(x, g, gamma, runMean, runVar, eps);
    return keepNeeded([x, gamma, beta], [dx, dgamma, dbeta]);
  });
}

/** The fused backward yields every gradient; those of inputs that need none are freed at once. */
function keepNeeded(inputs: Tensor[], grads: Tensor[]): (Tensor | null)[] {
  return grads.map((g, k) => {
    if (inputs[k].requiresGrad) return g;
    g.dispose();
    return null;
  });
}
