/**
 * Differentiable pairwise-product dense layer: act(pairwise(x)·w + bias) in one kernel that never builds the
 * E(E−1)/2 pairwise features and skips the zero entries of sparse compositions (see kernels/pairwise_matmul.ts).
 * @module
 */
import type { MatmulOptions, UnaryOp } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { isRecording, record } from "../autodiff.ts";
import { broadcastShapes, ShapeError, shapeStr } from "../shape.ts";
import { check } from "./_check.ts";
import { biasGrad, checkBias, FROM_OUTPUT, reduceTo } from "./matmul.ts";

/** Options of {@link pairwiseMatmul}: the matmul epilogue (bias and activation); transpose flags do not apply. */
export type PairwiseMatmulOptions = Omit<MatmulOptions, "transA" | "transB">;

/**
 * act(pairwise(x)·w + bias), equal to `matmul(pairwise(x), w, opts)` up to float summation order, for x [..., M, E]
 * and w [..., E(E−1)/2, N] with broadcast batch axes. Gradients flow to w, the bias and (through the dense
 * pairwise gradient, which is only built when asked for) x.
 * @example
 * ```ts
 * const h = pairwiseMatmul(comp, w, { bias: b, activation: "relu" }); // comp [B, 56], w [1540, 128]
 * ```
 */
export function pairwiseMatmul(x: Tensor, w: Tensor, opts: PairwiseMatmulOptions = {}): Tensor {
  const be = check("pairwiseMatmul", [x, w, opts.bias]);
  if (x.rank < 2 || w.rank < 2) {
    throw new ShapeError(
      `pairwiseMatmul: inputs need rank ≥ 2, got ${shapeStr(x.shape)} and ${shapeStr(w.shape)}`,
    );
  }
  const m = x.shape[x.rank - 2], e = x.shape[x.rank - 1], n = w.shape[w.rank - 1];
  const pairs = (e * (e - 1)) / 2;
  if (w.shape[w.rank - 2] !== pairs) {
    throw new ShapeError(
      `pairwiseMatmul: weights ${shapeStr(w.shape)} need ${pairs} rows for the pairs of ${e} entries (x ${
        shapeStr(x.shape)
      })`,
    );
  }
  const batch = broadcastShapes("pairwiseMatmul", x.shape.slice(0, -2), w.shape.slice(0, -2));
  const outShape = [...batch, m, n];
  const bias = opts.bias ?? null;
  if (bias) checkBias("pairwiseMatmul", bias, outShape);
  const act = opts.activation ?? "identity";
  const alpha = opts.alpha ?? 0.01;
  const needs = isRecording() && (x.requiresGrad || w.requiresGrad || !!bias?.requiresGrad);
  const fromOutput = act === "leaky_relu" ? alpha >= 0 : FROM_OUTPUT[act];
  if (needs && !fromOutput) {
    const pre = pairwiseMatmul(x, w, { bias, activation: "identity" });
    const op = act as UnaryOp;
    const y = be.unary(op, pre, alpha);
    return record(y, act, [pre], (g) => [be.unaryGrad(op, pre, y, g, alpha)]);
  }
  const y = be.pairwiseMatmul(x, w, { bias, activation: act, alpha });
  return record(y, "pairwise_matmul", [x, w, bias], (g) => {
    const gz = act === "identity" ? g : be.unaryGrad(act as UnaryOp, y, y, g, alpha);
    let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
    if (x.requiresGrad) {
      // Through the pairwise features: dP = gz·wᵀ [..., M, P], then dx_k = Σ_j dP_(k,j)·x_j.
      const dp = be.matmul(gz, w, { transB: true });
      const xFull = dp.rank === x.rank && dp.shape.every((d, i) => i >= x.rank - 1 || d === x.shape[i])
        ? x
        : be.expand(x, [...dp.shape.slice(0, -1), e]);
      gx = reduceTo(be.pairwiseGrad(xFull, dp), x.shape);
      dp.dispose();
      if (xFull !== x) xFull.dispose();
    }
    if (w.requiresGrad) gw = reduceTo(be.pairwiseMatmulGradW(x, gz), w.shape);
    if (bias?.requiresGrad) gb = biasGrad(gz, bias);
    if (gz !== g) gz.dispose();
    return [gx, gw, gb];
  });
}
