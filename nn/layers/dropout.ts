/**
 * Inverted dropout with a Monte-Carlo mode: active in training, and at inference when the module is put in MC mode
 * (`model.eval(true)`), while BatchNorm keeps using its running statistics. Masks come from the counter-based
 * generator keyed by (seed, layer stream, call number), so a run is reproducible from its seed.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { dropout } from "../ops/fused.ts";
import { type LayerOptions, Module } from "./module.ts";

let nextStream = 1;

/** Dropout layer. */
export class Dropout extends Module {
  rate: number;
  readonly seed: number;
  readonly stream: number;
  /** Number of masks drawn so far (the RNG step of the next one). */
  calls = 0;

  constructor(rate: number, o: LayerOptions & { stream?: number } = {}) {
    super();
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`Dropout: rate must be in [0, 1), got ${rate}`);
    this.rate = rate;
    this.seed = o.seed ?? 0;
    this.stream = o.stream ?? nextStream++;
  }

  /** Whether the mask is applied now. */
  get active(): boolean {
    return this.rate > 0 && (this.training || this.mcDropout);
  }

  forward(x: Tensor): Tensor {
    if (!this.active) return x;
    return dropout(x, this.rate, { seed: this.seed, stream: this.stream }, this.calls++);
  }
}
