/**
 * Differentiable fused model ops: multi-head attention, reparameterised Gaussian sampling with KL, dropout, and the
 * fused losses (weighted MSE, categorical KL, BCE with logits).
 * @module
 */
import type { LossKind } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { isRecording, record, recordMulti } from "../autodiff.ts";
import { clamp, div, relu } from "./elementwise.ts";
import { sum } from "./reduce.ts";
import type { RngKey } from "../random.ts";
import { sameShape, ShapeError, shapeStr } from "../shape.ts";
import { check } from "./_check.ts";

/** Limits of the fused attention kernel. */
export const ATTENTION_LIMITS = { maxSeq: 64, maxHeads: 16, maxHeadDim: 64 };

/**
 * Multi-head scaled-dot-product attention on [B, S, H, D] queries and [B, T, H, D] keys/values with an optional key
 * mask [B, T] (nonzero = attend). Differentiable in q, k, v.
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null = null,
  scale?: number,
): Tensor {
  const be = check("attention", [q, k, v, mask]);
  if (
    q.rank !== 4 || k.rank !== 4 || !sameShape(k.shape, v.shape) || q.shape[0] !== k.shape[0] ||
    q.shape[2] !== k.shape[2] || q.shape[3] !== k.shape[3]
  ) {
    throw new ShapeError(
      `attention: expected q [B,S,H,D] and k, v [B,T,H,D], got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${
        shapeStr(v.shape)
      }`,
    );
  }
  const [B, S, H, D] = q.shape;
  const T = k.shape[1];
  if (mask && (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== T)) {
    throw new ShapeError(`attention: mask ${shapeStr(mask.shape)} should be [${B},${T}]`);
  }
  const L = ATTENTION_LIMITS;
  if (S > L.maxSeq || T > L.maxSeq || H > L.maxHeads || D > L.maxHeadDim) {
    throw new ShapeError(
      `attention: sequence ≤ ${L.maxSeq}, heads ≤ ${L.maxHeads}, head dim ≤ ${L.maxHeadDim} supported; got S=${S}, T=${T}, H=${H}, D=${D}`,
    );
  }
  const sc = scale ?? 1 / Math.sqrt(Math.max(1, D));
  const { out, lse } = be.attention(q, k, v, mask, sc);
  return record(out, "attention", [q, k, v], (g) => {
    const { dq, dk, dv } = be.attentionGrad(q, k, v, mask, sc, out, lse, g);
    return [dq, dk, dv];
  });
}

/** Attention probabilities [B, H, S, T] for inspection (not differentiable). */
export function attentionProbs(q: Tensor, k: Tensor, mask: Tensor | null = null, scale?: number): Tensor {
  const be = check("attentionProbs", [q, k, mask]);
  return be.attentionProbs(q, k, mask, scale ?? 1 / Math.sqrt(Math.max(1, q.shape[3])));
}

/**
 * z = μ + exp(½·logσ²)·ε with ε ~ N(0, I) from (key, step), and per-row KL(N(μ,σ²) ‖ N(0,I)) over the last axis.
 * Both outputs are differentiable in μ and logσ².
 */
export function reparameterize(
  mu: Tensor,
  logvar: Tensor,
  key: RngKey,
  step: number,
): { z: Tensor; kl: Tensor } {
  const be = check("reparameterize", [mu, logvar]);
  if (!sameShape(mu.shape, logvar.shape) || mu.rank < 1) {
    throw new ShapeError(
      `reparameterize: μ ${shapeStr(mu.shape)} and logσ² ${shapeStr(logvar.shape)} must match`,
    );
  }
  const { z, kl, eps } = be.reparam(mu, logvar, key, step);
  // One node over both outputs: a single fused backward dispatch takes the gradients of z and of the KL at once.
  recordMulti([z, kl], "reparameterize", [mu, logvar], ([gz, gkl]) => {
    const { dmu, dlogvar } = be.reparamGrad(mu, logvar, eps, gz, gkl);
    return [dmu, dlogvar];
  });
  if (!z.node) eps.dispose(); // only the z backward needs ε
  return { z, kl };
}

/** Inverted dropout with rate `p` using the mask stream (key, step); identity when p = 0. */
export function dropout(x: Tensor, p: number, key: RngKey, step: number): Tensor {
  const be = check("dropout", [x]);
  if (!(p >= 0 && p < 1)) throw new ShapeError(`dropout: rate must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const mask = be.dropoutMask(x.shape, p, key, step);
  const y = be.binary("mul", x, mask);
  record(y, "dropout", [x], (g) => [be.binary("mul", g, mask)]);
  if (!y.node) mask.dispose(); // kept only for the backward pass
  return y;
}

/**
 * Per-row fused loss over the last axis (rows = leading axes): `weighted_mse` w·Σ(p−t)², `kl_categorical`
 * w·Σ t·log(t/p) (probabilities, clipped to [1e-7, 1]), `bce_logits` w·Σ BCE(logits, t). Differentiable in `pred`.
 */
export function loss(kind: LossKind, pred: Tensor, target: Tensor, weight: Tensor | null = null): Tensor {
  const be = check(kind, [pred, target, weight]);
  if (!sameShape(pred.shape, target.shape) || pred.rank < 1) {
    throw new ShapeError(
      `${kind}: prediction ${shapeStr(pred.shape)} and target ${shapeStr(target.shape)} differ`,
    );
  }
  if (weight && !sameShape(weight.shape, pred.shape.slice(0, -1))) {
    throw new ShapeError(
      `${kind}: weight ${shapeStr(weight.shape)} should be ${shapeStr(pred.shape.slice(0, -1))}`,
    );
  }
  const y = be.loss(kind, pred, target, weight);
  return record(y, kind, [pred], (g) => [be.lossGrad(kind, pred, target, weight, g)]);
}

/**
 * Simplex projection over the last axis, s = relu(x) / max(Σ relu(x), 1e-8) (the reference's `Comp_Simplex`): one
 * kernel when no gradient flows to x (training and prediction on data), else the differentiable composition of
 * relu, sum, clamp and div (attributions and design gradients with respect to the composition).
 */
export function simplex(x: Tensor): Tensor {
  const be = check("simplex", [x]);
  if (x.rank < 1) throw new ShapeError(`simplex: needs rank ≥ 1, got ${shapeStr(x.shape)}`);
  if (!(isRecording() && x.requiresGrad)) return be.simplex(x);
  const r = relu(x);
  return div(r, clamp(sum(r, x.rank - 1, true), 1e-8, Infinity));
}

/**
 * Row normalisation over the last axis without scale and shift, y = (x − mean)/√(var + ε) (population variance),
 * in one kernel each way (instead of about eight element-wise and reduction kernels forward and twelve backward).
 */
export function layerNormalize(x: Tensor, eps = 1e-5): Tensor {
  const be = check("layerNormalize", [x]);
  if (x.rank < 1) throw new ShapeError(`layerNormalize: needs rank ≥ 1, got ${shapeStr(x.shape)}`);
  const { y, invstd } = be.layerNorm(x, eps);
  record(y, "layer_normalize", [x], (g) => [be.layerNormGrad(y, invstd, g)]);
  if (!y.node) invstd.dispose(); // only the backward needs it
  return y;
}
