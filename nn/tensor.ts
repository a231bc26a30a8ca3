/**
 * The tensor: a shape, a dtype, a backend and a reference-counted storage handle, plus the autodiff node that made
 * it. No math lives here; ops are in `nn/ops/`.
 * @module
 */
import type { Backend, Storage } from "./backend.ts";
import { type Shape, ShapeError, shapeStr, sizeOf } from "./shape.ts";
import { trackTensor } from "./scope.ts";

/** Element types: `f32` for values, `i32` for indices (gather, embedding). */
export type DType = "f32" | "i32";

/** How a tensor was produced, for reverse-mode autodiff. */
export interface GradNode {
  /** Name of the op, for error messages and debugging. */
  op: string;
  /** The inputs the op differentiates with respect to (null entries need no gradient). */
  inputs: (Tensor | null)[];
  /** Given the gradient of the output, returns one gradient per input (null when not needed). */
  backward(grad: Tensor): (Tensor | null)[];
  /**
   * Set when the op has several outputs sharing one backward (see `recordMulti` in nn/autodiff.ts): the outputs, in
   * order, and the backward that takes all their gradients at once (null for an output without one).
   */
  multi?: { outputs: Tensor[]; backward(grads: (Tensor | null)[]): (Tensor | null)[] };
}

let nextId = 1;

/**
 * An n-dimensional array on a backend (CPU or WebGPU). Memory is owned: a tensor is freed by {@link Tensor.dispose}
 * or by the {@link scope} it was created in; using it afterwards throws.
 */
export class Tensor {
  /** Unique id (also keys random streams). */
  readonly id: number = nextId++;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly backend: Backend;
  /** Number of elements. */
  readonly size: number;
  #storage: Storage | null;
  /** Whether gradients flow to this tensor. */
  requiresGrad = false;
  /** The op that produced this tensor (set only while recording gradients). */
  node: GradNode | null = null;
  /** Optional name, shown in errors and parameter listings. */
  name?: string;

  constructor(backend: Backend, shape: Shape, dtype: DType, storage: Storage) {
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.#storage = storage;
    trackTensor(this);
  }

  /** The storage handle; throws a clear error after dispose. */
  get storage(): Storage {
    if (!this.#storage) {
      throw new ShapeError(
        `use after free: tensor #${this.id}${this.name ? ` (${this.name})` : ""} ${
          shapeStr(this.shape)
        } was disposed`,
      );
    }
    return this.#storage;
  }

  /** True once disposed. */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /** Rank (number of axes). */
  get rank(): number {
    return this.shape.length;
  }

  /** Releases this tensor's reference to its storage. Idempotent. */
  dispose(): void {
    if (!this.#storage) return;
    const s = this.#storage;
    this.#storage = null;
    this.node = null;
    if (--s.refs === 0) this.backend.release(s);
  }

  /**
   * Replaces this tensor's storage by `other`'s (same size), keeping the tensor object: how optimisers move
   * parameters into their flat arena without the layers noticing. `other` is disposed.
   */
  adopt(other: Tensor): void {
    if (other.size !== this.size || other.backend !== this.backend) {
      throw new ShapeError(`adopt: ${other.toString()} cannot replace the storage of ${this.toString()}`);
    }
    const s = other.storage;
    s.refs++;
    other.dispose();
    const old = this.storage;
    this.#storage = s;
    if (--old.refs === 0) this.backend.release(old);
  }

  /** Copies the values to the host (async: one GPU→CPU read on WebGPU). */
  async read(): Promise<Float32Array | Int32Array> {
    return await this.backend.read(this);
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new ShapeError(`item: tensor has shape ${shapeStr(this.shape)}, expected one element`);
    }
    return (await this.read())[0];
  }

  /** Reads the values as a nested JS array (for debugging and small outputs). */
  async toArray(): Promise<unknown> {
    const data = Array.from(await this.read());
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return data[off];
      const step = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * step));
    };
    return build(0, 0);
  }

  /** A new tensor object sharing this storage with another shape of the same size (no copy). */
  view(shape: Shape): Tensor {
    const s = this.storage;
    s.refs++;
    return new Tensor(this.backend, shape, this.dtype, s);
  }

  toString(): string {
    return `Tensor#${this.id}${this.name ? `(${this.name})` : ""} ${this.dtype}${
      shapeStr(this.shape)
    } on ${this.backend.kind}`;
  }
}
