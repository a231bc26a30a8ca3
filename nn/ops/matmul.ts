/**
 * Differentiable fused matmul: batched, transpose flags, bias and activation in one kernel.
 * @module
 */
import type { Activation, MatmulOptions, UnaryOp } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { isRecording, record } from "../autodiff.ts";
import { broadcastShapes, ShapeError, shapeStr } from "../shape.ts";
import { check } from "./_check.ts";
import { sumTo } from "./elementwise.ts";

/** Activations whose derivative can be computed from the output alone (fused backward). */
export const FROM_OUTPUT: Record<Activation, boolean> = {
  identity: true,
  relu: true,
  leaky_relu: true,
  tanh: true,
  sigmoid: true,
  softplus: false,
  gelu: false,
};

/** {@link sumTo} that frees `full` when the reduction made a new tensor. */
export function reduceTo(full: Tensor, shape: readonly number[]): Tensor {
  const r = sumTo(full, shape);
  if (r !== full) full.dispose();
  return r;
}

/** Checks that `bias` is [N] or [...batch, 1, N] (each batch extent the output's or 1) for `outShape`. */
export function checkBias(op: string, bias: Tensor, outShape: readonly number[]): void {
  const n = outShape[outShape.length - 1];
  const okFlat = bias.rank === 1 && bias.shape[0] === n;
  const batchOk = bias.shape.slice(0, -2).every((d, i) => d === 1 || d === outShape[i]);
  const okBatched = bias.rank === outShape.length && bias.shape[bias.rank - 2] === 1 &&
    bias.shape[bias.rank - 1] === n && batchOk;
  if (!okFlat && !okBatched) {
    throw new ShapeError(`${op}: bias ${shapeStr(bias.shape)} does not fit output ${shapeStr(outShape)}`);
  }
}

/** Gradient of a [N] or [..., 1, N] bias from the gradient gz [..., M, N] of the biased output. */
export function biasGrad(gz: Tensor, bias: Tensor): Tensor {
  const be = gz.backend;
  const rows = be.reduce("sum", gz, gz.rank - 2); // [..., N]
  if (bias.rank === 1) return reduceTo(rows, bias.shape);
  const kept = rows.view([...rows.shape.slice(0, -1), 1, rows.shape[rows.rank - 1]]);
  rows.dispose();
  return reduceTo(kept, bias.shape);
}

/** Output shape of a matmul, or a {@link ShapeError} naming both shapes. */
export function matmulShape(a: Tensor, b: Tensor, transA = false, transB = false): number[] {
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`matmul: inputs need rank ≥ 2, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  }
  const [m, ka] = transA
    ? [a.shape[a.rank - 1], a.shape[a.rank - 2]]
    : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [kb, n] = transB
    ? [b.shape[b.rank - 1], b.shape[b.rank - 2]]
    : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: ${shapeStr(a.shape)}${transA ? "ᵀ" : ""} × ${shapeStr(b.shape)}${
        transB ? "ᵀ" : ""
      } (${ka} vs ${kb})`,
    );
  }
  const batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  return [...batch, m, n];
}

/**
 * act(op(a) · op(b) + bias) over broadcast batch axes, in one kernel. With gradients recorded and an activation whose
 * derivative needs the pre-activation (softplus, gelu, leaky_relu with a negative slope), the activation runs as a
 * separate op. `bias` is `[N]` or `[...batch, 1, N]` with each batch extent equal to the output's or 1.
 * @example
 * ```ts
 * const h = matmul(x, w, { bias: b, activation: "relu" }); // x [B, K], w [K, N], b [N]
 * ```
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const be = check("matmul", [a, b, opts.bias]);
  const outShape = matmulShape(a, b, opts.transA, opts.transB);
  const act = opts.activation ?? "identity";
  const alpha = opts.alpha ?? 0.01;
  const bias = opts.bias ?? null;
  if (bias) checkBias("matmul", bias, outShape);
  const needs = isRecording() && (a.requiresGrad || b.requiresGrad || !!bias?.requiresGrad);
  // leaky_relu's derivative follows from the output's sign only for a non-negative slope.
  const fromOutput = act === "leaky_relu" ? alpha >= 0 : FROM_OUTPUT[act];
  if (needs && !fromOutput) {
    const pre = matmul(a, b, { ...opts, activation: "identity" });
    const op = act as UnaryOp;
    const y = be.unary(op, pre, alpha);
    return record(y, act, [pre], (g) => [be.unaryGrad(op, pre, y, g, alpha)]);
  }
  const y = be.matmul(a, b, { transA: opts.transA, transB: opts.transB, bias, activation: act, alpha });
  return record(y, "matmul", [a, b, bias], (g) => {
    // Gradient through the activation, from the output.
    const gz = act === "identity" ? g : be.unaryGrad(act as UnaryOp, y, y, g, alpha);
    let ga: Tensor | null = null, gb: Tensor | null = null, gbias: Tensor | null = null;
    if (a.requiresGrad) {
      // C = A·B ⇒ dA = dC·Bᵀ; with transA, dAᵀ = ... ⇒ dA = B·dCᵀ.
      const full = opts.transA
        ? be.matmul(b, gz, { transA: opts.transB, transB: true })
        : be.matmul(gz, b, { transB: !opts.transB });
      ga = reduceTo(full, a.shape);
    }
    if (b.requiresGrad) {
      const full = opts.transB
        ? be.matmul(gz, a, { transA: true, transB: opts.transA })
        : be.matmul(a, gz, { transA: !opts.transA });
      gb = reduceTo(full, b.shape);
    }
    if (bias?.requiresGrad) gbias = biasGrad(gz, bias);
    if (gz !== g) gz.dispose();
    return [ga, gb, gbias];
  });
}
