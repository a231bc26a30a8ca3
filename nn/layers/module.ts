/**
 * Base class of layers and models: parameters and state buffers are found by walking the object's fields (tensors,
 * sub-modules, arrays of them), as tinygrad's get_parameters does. A module has a mode: training or inference, and an
 * MC flag that keeps dropout active at inference.
 * @module
 */
import { Tensor } from "../tensor.ts";
import { keep } from "../scope.ts";

/** Options shared by layers. */
export interface LayerOptions {
  /**
   * Number of independent replicas (≥ 1) stacked on a leading axis. With R > 1 parameters get a leading [R] axis
   * and inputs are [R, batch, features]: R copies of a model train as one batched program.
   */
  replicas?: number;
  /** Seed of the initialiser and of the layer's random streams. */
  seed?: number;
}

/**
 * A tensor that a module updates itself (e.g. BatchNorm running statistics), not by gradients. Owned by its module:
 * exempt from enclosing {@link scope}s, freed by {@link Module.dispose}.
 */
export class StateTensor {
  constructor(public value: Tensor) {
    keep(value);
  }
}

/**
 * Marks `t` as a trainable parameter called `name`. Parameters belong to their module (freed by
 * {@link Module.dispose}), so a model built inside a {@link scope} survives it.
 */
export function param(t: Tensor, name: string): Tensor {
  keep(t);
  t.requiresGrad = true;
  t.name = name;
  return t;
}

/** Base class of every layer and model. */
export class Module {
  /** Training mode: batch statistics in BatchNorm, dropout active. */
  training = true;
  /** Monte-Carlo dropout: dropout stays active in inference mode while BatchNorm uses running statistics. */
  mcDropout = false;

  /** Every trainable parameter, in a stable order (field order, depth first). */
  parameters(): Tensor[] {
    const out: Tensor[] = [];
    this.#walk((v) => {
      if (v instanceof Tensor && v.requiresGrad) out.push(v);
    });
    return out;
  }

  /** Every state tensor (running statistics), in a stable order. */
  states(): StateTensor[] {
    const out: StateTensor[] = [];
    this.#walk((v) => {
      if (v instanceof StateTensor) out.push(v);
    });
    return out;
  }

  /** Every sub-module including this one. */
  modules(): Module[] {
    const out: Module[] = [this];
    this.#walk((v) => {
      if (v instanceof Module) out.push(v);
    }, true);
    return out;
  }

  /** Switches this module and its children to training (`true`) or inference mode. */
  train(on = true): this {
    for (const m of this.modules()) m.training = on;
    return this;
  }

  /** Inference mode; with `mc`, dropout stays active (MC dropout) while BatchNorm uses running statistics. */
  eval(mc = false): this {
    for (const m of this.modules()) {
      m.training = false;
      m.mcDropout = mc;
    }
    return this;
  }

  /** Frees parameters and state. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const s of this.states()) s.value.dispose();
  }

  #walk(fn: (v: unknown) => void, modulesOnly = false): void {
    const seen = new Set<unknown>([this]);
    const visit = (v: unknown) => {
      if (v === null || typeof v !== "object" || seen.has(v)) return;
      seen.add(v);
      if (v instanceof Tensor || v instanceof StateTensor) {
        if (!modulesOnly) fn(v);
        return;
      }
      if (v instanceof Module) {
        fn(v);
        for (const x of Object.values(v)) visit(x);
        return;
      }
      if (Array.isArray(v)) { for (const x of v) visit(x); }
    };
    for (const x of Object.values(this)) visit(x);
  }
}
