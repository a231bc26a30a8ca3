/**
 * Tensor creation on the default backend (or an explicit one).
 * @module
 */
import type { Backend } from "../backend.ts";
import type { DType, Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { checkShape, ShapeError, shapeStr, sizeOf } from "../shape.ts";
import type { RngKey } from "../random.ts";

/** Options shared by creation functions. */
export interface CreateOptions {
  backend?: Backend;
  dtype?: DType;
  /** Mark as a leaf that receives gradients. */
  requiresGrad?: boolean;
  name?: string;
}

function finish(t: Tensor, o: CreateOptions): Tensor {
  if (o.requiresGrad) t.requiresGrad = true;
  if (o.name) t.name = o.name;
  return t;
}

/**
 * A tensor from host data.
 * @example
 * ```ts
 * const x = tensor([1, 2, 3, 4], [2, 2]);
 * ```
 */
export function tensor(data: ArrayLike<number>, shape?: readonly number[], o: CreateOptions = {}): Tensor {
  const sh = shape ?? [data.length];
  checkShape("tensor", sh);
  if (sizeOf(sh) !== data.length) {
    throw new ShapeError(`tensor: ${data.length} values do not fill shape ${shapeStr(sh)}`);
  }
  const be = o.backend ?? getBackend();
  return finish(be.fromData(data, sh, o.dtype ?? "f32"), o);
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], o: CreateOptions = {}): Tensor {
  checkShape("zeros", shape);
  return finish((o.backend ?? getBackend()).fill(shape, 0, o.dtype ?? "f32"), o);
}

/** A tensor of ones. */
export function ones(shape: readonly number[], o: CreateOptions = {}): Tensor {
  checkShape("ones", shape);
  return finish((o.backend ?? getBackend()).fill(shape, 1, o.dtype ?? "f32"), o);
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, o: CreateOptions = {}): Tensor {
  checkShape("full", shape);
  return finish((o.backend ?? getBackend()).fill(shape, value, o.dtype ?? "f32"), o);
}

/** Uniform (0, 1) draws, a pure function of (key, step, element index). */
export function randomUniform(
  shape: readonly number[],
  key: RngKey,
  step = 0,
  o: CreateOptions = {},
): Tensor {
  checkShape("randomUniform", shape);
  return finish((o.backend ?? getBackend()).random("uniform", shape, key, step), o);
}

/** Standard normal draws, a pure function of (key, step, element index). */
export function randomNormal(shape: readonly number[], key: RngKey, step = 0, o: CreateOptions = {}): Tensor {
  checkShape("randomNormal", shape);
  return finish((o.backend ?? getBackend()).random("normal", shape, key, step), o);
}
