/**
 * Adam / AdamW over one flat parameter buffer: at construction the parameters move into a single arena (each slot
 * 64-element aligned), gradients are packed into a twin arena, and one fused kernel updates everything, with optional
 * global-norm clipping computed on the device. Works unchanged for replicated models (the replica axis is just part
 * of each parameter's shape); with clipping, pass `replicas` so each replica's norm is clipped on its own and the
 * replicas stay independent.
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
  /** Clip the global gradient norm to this value (scale min(1, clipNorm / (‖g‖ + 1e-6))); default none. */
  clipNorm?: number;
  /**
   * Number of replicas R (default 1). With R > 1 every parameter must have a leading [R] axis and clipping uses one
   * global norm per replica, so R replicas train exactly like R separate models. Without clipping it has no effect.
   */
  replicas?: number;
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
  readonly replicas: number;
  /** Number of updates applied so far. */
  step = 0;
  readonly #be: Backend;
  readonly #offsets: number[];
  readonly #flat: Tensor;
  readonly #grad: Tensor;
  readonly #gradSlots: Tensor[];
  readonly #m: Tensor;
  readonly #v: Tensor;
  #lrArena: Tensor | null = null;
  #replicaOf: Tensor | null = null;

  constructor(params: Tensor[], o: AdamOptions = {}) {
    if (!params.length) throw new ShapeError("Adam: no parameters");
    this.params = params;
    this.lr = o.lr ?? 1e-3;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-7;
    this.weightDecay = o.weightDecay ?? 0;
    this.clipNorm = o.clipNorm ?? Infinity;
    const R = this.replicas = o.replicas ?? 1;
    if (!(Number.isInteger(R) && R >= 1)) {
      throw new ShapeError(`Adam: replicas must be a positive integer, got ${R}`);
    }
    const be = this.#be = params[0].backend;
    let total = 0;
    this.#offsets = params.map((p) => {
      if (p.backend !== be) throw new ShapeError(`Adam: parameters on different devices (${p.toString()})`);
      if (R > 1 && p.shape[0] !== R) {
        throw new ShapeError(
          `Adam: with ${R} replicas, parameter ${p.toString()} needs a leading axis of ${R}`,
        );
      }
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

  /**
   * Per-replica learning-rate multipliers ([R] tensor on this device, e.g. from an on-device plateau schedule):
   * replica r then trains with lr·scale[r]. Recorded on the device (a gather into a per-element arena); takes
   * effect from the next update. Pass null to go back to one learning rate.
   */
  setReplicaLrScale(scale: Tensor | null): void {
    const be = this.#be, R = this.replicas;
    if (!scale) {
      this.#lrArena?.dispose();
      this.#lrArena = null;
      return;
    }
    if (scale.size !== R) {
      throw new ShapeError(`Adam.setReplicaLrScale: expected ${R} values, got ${scale.size}`);
    }
    noGrad(() => {
      const flat = scale.view([R]);
      const g = be.gather(flat, this.replicaIndex(), 0);
      flat.dispose();
      if (!this.#lrArena) this.#lrArena = keep(g);
      else {
        be.copyInto(this.#lrArena, g);
        g.dispose();
      }
    });
  }

  /**
   * The replica of every arena element as an i32 tensor [arenaSize] (padding counts as replica 0), built on first
   * use and owned by the optimiser: `gather(perReplica, replicaIndex())` spreads an [R] tensor over the arena.
   */
  replicaIndex(): Tensor {
    if (!this.#replicaOf) {
      const R = this.replicas;
      const idx = new Int32Array(this.#flat.size);
      this.params.forEach((p, i) => {
        const per = p.size / R;
        for (let k = 0; k < p.size; k++) idx[this.#offsets[i] + k] = Math.floor(k / per);
      });
      this.#replicaOf = keep(this.#be.fromData(idx, [idx.length], "i32"));
    }
    return this.#replicaOf;
  }

  /**
   * The flat arena every parameter lives in (a view the optimiser owns: do not dispose). Whole-model operations
   * such as best-weight snapshots can act on it in one dispatch.
   */
  get arena(): Tensor {
    return this.#flat;
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
    const clip = Number.isFinite(this.clipNorm) && this.clipNorm > 0;
    const perReplica = clip && this.replicas > 1;
    grads.forEach((g, i) => {
      if (g && g.size !== this.params[i].size) {
        throw new ShapeError(
          `Adam.update: gradient ${shapeStr(g.shape)} does not match parameter ${
            shapeStr(this.params[i].shape)
          }`,
        );
      }
    });
    noGrad(() => {
      const scale = perReplica ? this.#replicaClipScale(grads) : null;
      grads.forEach((g, i) => {
        const slot = this.#gradSlots[i];
        if (!g) {
          const z = be.fill(slot.shape, 0);
          be.copyInto(slot, z);
          z.dispose();
          return;
        }
        if (scale) {
          const gv = g.view([this.replicas, g.size / this.replicas]);
          const scaled = be.binary("mul", gv, scale);
          be.copyInto(slot, scaled);
          gv.dispose(), scaled.dispose();
        } else be.copyInto(slot, g);
      });
      scale?.dispose();
      this.step++;
      const normSq = clip && !perReplica ? be.sumSquares(this.#grad) : null;
      be.adam(this.#flat, this.#grad, this.#m, this.#v, normSq, {
        lr: this.lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: this.weightDecay,
        step: this.step,
        clipNorm: normSq ? this.clipNorm : 0,
      }, this.#lrArena);
      normSq?.dispose();
    });
  }

  /**
   * Per-replica clip factors [R, 1] = min(1, clipNorm / (‖g_r‖ + 1e-6)), with ‖g_r‖ the norm of replica r's slices of
   * every gradient: the same formula the fused kernel applies to the global norm.
   */
  #replicaClipScale(grads: (Tensor | null)[]): Tensor {
    const be = this.#be, R = this.replicas;
    let acc: Tensor | null = null;
    for (const g of grads) {
      if (!g || g.size === 0) continue;
      const gv = g.view([R, g.size / R]);
      const sq = be.unary("square", gv);
      const part = be.reduce("sum", sq, 1);
      gv.dispose(), sq.dispose();
      if (acc) {
        const next = be.binary("add", acc, part);
        acc.dispose(), part.dispose();
        acc = next;
      } else acc = part;
    }
    acc ??= be.fill([R], 0);
    const steps: [Parameters<Backend["unary"]>[0], number, number][] = [
      ["sqrt", 0, 0],
      ["affine", 1, 1e-6],
      ["reciprocal", 0, 0],
      ["affine", this.clipNorm, 0],
      ["clamp", 0, 1],
    ];
    let cur: Tensor = acc;
    for (const [op, a, b] of steps) {
      const next = be.unary(op, cur, a, b);
      cur.dispose();
      cur = next;
    }
    const out = cur.view([R, 1]);
    cur.dispose();
    return out;
  }

  /** Frees the optimiser state (the parameters keep their arena until they are disposed). */
  dispose(): void {
    for (const t of [...this.#gradSlots, this.#grad, this.#m, this.#v]) t.dispose();
    this.#lrArena?.dispose();
    this.#replicaOf?.dispose();
    this.#flat.dispose();
  }
}
