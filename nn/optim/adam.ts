/**
 * Adam / AdamW over one flat parameter buffer: at construction the parameters move into a single arena (each slot
 * 64-element aligned), gradients are packed into a twin arena, and one fused kernel updates everything, with optional
 * global-norm clipping computed on the device. Works unchanged for replicated models (the replica axis is just part
 * of each parameter's shape).
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { keep } from "../scope.ts";
import { noGrad } from "../autodiff.ts";
import { ShapeError, shapeStr } from "../shape.ts";

/** Adam hyperparameters (Keras defaults except where noted). */
export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  /** Added outside the square root, as Keras does (default 1e-7). */
  eps?: number;
  /** Decoupled weight decay (AdamW); default 0. */
  weightDecay?: number;
  /** Clip the global gradient norm to this value; default none. */
  clipNorm?: number;
}

const ALIGN = 64;

/** Fused Adam/AdamW over a flat arena. */
export class Adam {
  readonly params: Tensor[];
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clipNorm: number;
  /** Number of updates applied so far. */
  step = 0;
  readonly #be: Backend;
  readonly #offsets: number[];
  readonly #flat: Tensor;
  readonly #grad: Tensor;
  readonly #gradSlots: Tensor[];
  readonly #m: Tensor;
  readonly #v: Tensor;

  constructor(params: Tensor[], o: AdamOptions = {}) {
    if (!params.length) throw new ShapeError("Adam: no parameters");
    this.params = params;
    this.lr = o.lr ?? 1e-3;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-7;
    this.weightDecay = o.weightDecay ?? 0;
    this.clipNorm = o.clipNorm ?? Infinity;
    const be = this.#be = params[0].backend;
    let total = 0;
    this.#offsets = params.map((p) => {
      if (p.backend !== be) throw new ShapeError(`Adam: parameters on different devices (${p.toString()})`);
      const off = total;
      total += Math.ceil(Math.max(1, p.size) / ALIGN) * ALIGN;
      return off;
    });
    this.#flat = keep(be.fill([total], 0));
    this.#grad = keep(be.fill([total], 0));
    this.#m = keep(be.fill([total], 0));
    this.#v = keep(be.fill([total], 0));
    params.forEach((p, i) => {
      const slot = be.subview(this.#flat, this.#offsets[i], p.shape);
      be.copyInto(slot, p);
      p.adopt(slot);
    });
    this.#gradSlots = params.map((p, i) => keep(be.subview(this.#grad, this.#offsets[i], p.shape)));
  }

  /** Total arena size in elements (including alignment padding). */
  get arenaSize(): number {
    return this.#flat.size;
  }

  /**
   * Applies one update from `grads` (aligned with `params`; null = no gradient this step). Recorded on the device;
   * nothing is read back.
   */
  update(grads: (Tensor | null)[]): void {
    if (grads.length !== this.params.length) {
      throw new ShapeError(`Adam.update: ${grads.length} gradients for ${this.params.length} parameters`);
    }
    const be = this.#be;
    noGrad(() => {
      grads.forEach((g, i) => {
        const slot = this.#gradSlots[i];
        if (!g) {
          be.copyInto(slot, be.fill(slot.shape, 0));
          return;
        }
        if (g.size !== slot.size) {
          throw new ShapeError(
            `Adam.update: gradient ${shapeStr(g.shape)} does not match parameter ${shapeStr(slot.shape)}`,
          );
        }
        be.copyInto(slot, g);
      });
      this.step++;
      const clip = Number.isFinite(this.clipNorm) && this.clipNorm > 0;
      const normSq = clip ? be.sumSquares(this.#grad) : null;
      be.adam(this.#flat, this.#grad, this.#m, this.#v, normSq, {
        lr: this.lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: this.weightDecay,
        step: this.step,
        clipNorm: clip ? this.clipNorm : 0,
      });
      normSq?.dispose();
    });
  }

  /** Frees the optimiser state (the parameters keep their arena until they are disposed). */
  dispose(): void {
    for (const t of [...this.#gradSlots, this.#grad, this.#m, this.#v]) t.dispose();
    this.#flat.dispose();
  }
}
