/**
 * Inverted dropout with a Monte-Carlo mode: active in training, and at inference when the module is put in MC mode
 * (`model.eval(true)`), while BatchNorm keeps using its running statistics. Masks come from the counter-based
 * generator keyed by (seed, layer stream, call number), so a run is reproducible from its seed.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { Backend, BatchNormBlock } from "../backend.ts";
import { dropout } from "../ops/fused.ts";
import { mul } from "../ops/elementwise.ts";
import { noGrad } from "../autodiff.ts";
import { ShapeError } from "../shape.ts";
import { type LayerOptions, Module } from "./module.ts";
import { keep as keepState } from "../scope.ts";

let nextStream = 1;

/**
 * Dropout layer. `rate` may be one value per replica (inputs [R, batch, F]): replicas of a hyperparameter search then
 * train together with different rates.
 */
export class Dropout extends Module {
  rate: number;
  /** Per-replica rates (null when every replica uses `rate`). */
  readonly rates: readonly number[] | null;
  #rateTensors: [Tensor, Tensor] | null = null;
  /** [R] rates for a fused block, with the rate they were made for. */
  #blockRates: { rate: number; t: Tensor } | null = null;
  readonly replicas: number;
  readonly seed: number;
  readonly stream: number;
  /** Number of masks drawn so far (the RNG step of the next one). */
  calls = 0;

  constructor(rate: number | readonly number[], o: LayerOptions & { stream?: number } = {}) {
    super();
    const all = typeof rate === "number" ? [rate] : rate;
    for (const r of all) {
      if (!(r >= 0 && r < 1)) throw new RangeError(`Dropout: rate must be in [0, 1), got ${r}`);
    }
    if (typeof rate !== "number" && rate.length !== (o.replicas ?? 1)) {
      throw new RangeError(`Dropout: ${rate.length} rates for ${o.replicas ?? 1} replicas`);
    }
    this.rate = Math.max(...all);
    this.rates = all.length > 1 && all.some((r) => r !== all[0]) ? [...all] : null;
    if (!this.rates) this.rate = all[0];
    this.seed = o.seed ?? 0;
    this.stream = o.stream ?? nextStream++;
    this.replicas = o.replicas ?? 1;
  }

  /**
   * The mask parameters for a dropout fused into a block kernel (`BatchNormBlock.dropout`), drawing the same
   * uniforms {@link forward} would (and advancing the call counter as it does); null when inactive.
   */
  blockDropout(be: Backend): BatchNormBlock["dropout"] {
    if (!this.active) return null;
    if (!this.#blockRates || this.#blockRates.rate !== this.rate) {
      this.#blockRates?.t.dispose();
      const rates = this.rates ?? Array.from({ length: this.replicas }, () => this.rate);
      this.#blockRates = { rate: this.rate, t: keepState(be.fromData(rates, [this.replicas])) };
    }
    return { rates: this.#blockRates.t, key: { seed: this.seed, stream: this.stream }, step: this.calls++ };
  }

  /** Whether the mask is applied now. */
  get active(): boolean {
    return this.rate > 0 && (this.training || this.mcDropout);
  }

  forward(x: Tensor): Tensor {
    if (!this.active) return x;
    const key = { seed: this.seed, stream: this.stream };
    if (!this.rates) return dropout(x, this.rate, key, this.calls++);
    const R = this.rates.length;
    if (x.rank !== 3 || x.shape[0] !== R) {
      throw new ShapeError(`Dropout: per-replica rates need input [${R}, batch, features], got [${x.shape}]`);
    }
    const be = x.backend;
    this.#rateTensors ??= [
      keepState(be.fromData(this.rates, [R, 1, 1])),
      keepState(be.fromData(this.rates.map((p) => 1 / (1 - p)), [R, 1, 1])),
    ];
    const [p, scale] = this.#rateTensors;
    // mask = [u ≥ p_r] / (1 − p_r): the same uniforms as the fused kernel, compared per replica.
    const mask = noGrad(() => {
      const u = be.random("uniform", x.shape, key, this.calls++);
      const keepIt = be.binary("ge", u, p);
      const m = be.binary("mul", keepIt, scale);
      u.dispose(), keepIt.dispose();
      return m;
    });
    return mul(x, mask);
  }

  override dispose(): void {
    super.dispose();
    this.#rateTensors?.forEach((t) => t.dispose());
    this.#rateTensors = null;
    this.#blockRates?.t.dispose();
    this.#blockRates = null;
  }
}
