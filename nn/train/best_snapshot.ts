/**
 * Restore-best snapshots for replicated training: every replica keeps the weights (and state tensors such as
 * batch-norm running statistics) of its best epoch so far. The parameters live in the optimiser's flat arena, so
 * they are snapshotted with one `where` over the whole arena (plus one gather of the per-replica flags when R > 1)
 * instead of a `where` and a copy per tensor; other tensors get one `where` each. Snapshots swap tensors instead of
 * copying into them, so an epoch's snapshot records no buffer copies.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import type { Adam } from "../optim/adam.ts";
import { keep } from "../scope.ts";

/** Best-epoch copies of a model's parameters (through its optimiser's arena) and of its other tensors. */
export class BestSnapshot {
  readonly #be: Backend;
  readonly #adam: Adam;
  readonly #replicas: number;
  #arena: Tensor;
  readonly #others: { live: Tensor; best: Tensor }[];

  /**
   * Snapshots the current values of `tensors`: those that are parameters of `adam` through its arena, the rest
   * one by one. Replicated tensors carry a leading [R] axis.
   */
  constructor(be: Backend, tensors: readonly Tensor[], adam: Adam, replicas: number) {
    this.#be = be;
    this.#adam = adam;
    this.#replicas = replicas;
    this.#arena = keep(be.empty(adam.arena.shape));
    be.copyInto(this.#arena, adam.arena);
    const params = new Set(adam.params);
    this.#others = tensors.filter((t) => !params.has(t)).map((live) => {
      const best = keep(be.empty(live.shape));
      be.copyInto(best, live);
      return { live, best };
    });
  }

  /** Takes the current values for the replicas whose flag in `improved` [R] (1 / 0) is set; records no copies. */
  update(improved: Tensor): void {
    const be = this.#be, R = this.#replicas;
    const arenaCond = R > 1
      ? be.gather(improved.view([R]), this.#adam.replicaIndex(), 0)
      : improved.view([1]);
    this.#arena = this.#swap(this.#arena, be.where(arenaCond, this.#adam.arena, this.#arena));
    arenaCond.dispose();
    for (const o of this.#others) {
      const cond = improved.view(
        R > 1 ? [R, ...o.live.shape.slice(1).map(() => 1)] : o.live.shape.map(() => 1),
      );
      o.best = this.#swap(o.best, be.where(cond, o.live, o.best));
      cond.dispose();
    }
  }

  /** Writes every replica's best values back into the live tensors. */
  restore(): void {
    this.#be.copyInto(this.#adam.arena, this.#arena);
    for (const o of this.#others) this.#be.copyInto(o.live, o.best);
  }

  /** Frees the snapshots. */
  dispose(): void {
    this.#arena.dispose();
    for (const o of this.#others) o.best.dispose();
  }

  #swap(old: Tensor, next: Tensor): Tensor {
    old.dispose();
    return keep(next);
  }
}
