/**
 * Embedding table: rows selected by i32 ids (gather forward, deterministic scatter-add backward).
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { normalInit } from "../init.ts";
import { Rng } from "../random.ts";
import { gather, reshape } from "../ops/movement.ts";
import { ShapeError, shapeStr } from "../shape.ts";
import { type LayerOptions, Module, param } from "./module.ts";

/** Maps ids in [0, count) to learned vectors of size `dim`. */
export class Embedding extends Module {
  readonly table: Tensor;
  readonly count: number;
  readonly dim: number;

  constructor(count: number, dim: number, o: LayerOptions & { backend?: Backend; std?: number } = {}) {
    super();
    const be = o.backend ?? getBackend();
    this.count = count;
    this.dim = dim;
    this.table = param(
      be.fromData(normalInit(count * dim, o.std ?? 0.05, new Rng(o.seed ?? 0, 2)), [count, dim]),
      "embedding.table",
    );
  }

  /** ids: i32 tensor of any shape → [...ids.shape, dim]. */
  forward(ids: Tensor): Tensor {
    if (ids.dtype !== "i32") {
      throw new ShapeError(`Embedding: ids must be i32, got ${ids.dtype}${shapeStr(ids.shape)}`);
    }
    const flat = ids.rank === 1 ? ids : ids.view([ids.size]);
    const rows = gather(this.table, flat, 0);
    // The gather's backward reads `flat`: free the view now only when no gradient was recorded (else its scope
    // frees it).
    if (flat !== ids && !rows.node) flat.dispose();
    return reshape(rows, [...ids.shape, this.dim]);
  }
}
