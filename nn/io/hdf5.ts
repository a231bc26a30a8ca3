/**
 * Read-only HDF5 access behind one small module (the npm package `jsfive`, a pure-JavaScript HDF5 reader), so
 * the reader can be swapped later. Enough for Keras `.weights.h5` files: walk groups, read attributes, read
 * numeric datasets as `Float32Array` / `Float64Array`.
 *
 * jsfive throws plain strings and `RangeError`s on damaged input, and reads lazily (a truncated file may open
 * fine and fail only when a dataset is read); every such failure becomes a one-line {@link UserError} naming the
 * file and the object path. A truncated file is also caught up front: the superblock records the end-of-file
 * address, which must not lie beyond the bytes given.
 * @module
 */
// Full specifier until deno.json's import map gets `"jsfive": "npm:jsfive@0.4.0"`.
// deno-lint-ignore no-import-prefix
import * as hdf5 from "npm:jsfive@0.4.0";
import { UserError } from "../../cli/errors.ts";

/** An HDF5 group: child names and attributes. */
export interface Hdf5Group {
  readonly kind: "group";
  /** Path inside the file without a leading slash (`""` for the root group). */
  readonly path: string;
  /** Names of the direct children (groups and datasets), in file order. */
  readonly keys: string[];
  /** The group's attributes (strings, numbers or arrays of them, as stored). */
  readonly attrs: Record<string, unknown>;
}

/** An HDF5 dataset: shape, element type, attributes and its values. */
export interface Hdf5Dataset {
  readonly kind: "dataset";
  /** Path inside the file without a leading slash. */
  readonly path: string;
  /** Dimensions (`[]` for a scalar). */
  readonly shape: number[];
  /** numpy-style type string: `<f4`, `<f8`, `<i8`, `|u1`, `S10`, …; non-numeric compound types as e.g. `VLEN_STRING`. */
  readonly dtype: string;
  readonly attrs: Record<string, unknown>;
  /** The values in C order, as float32 (float64 and integer datasets are converted). */
  toFloat32(): Float32Array;
  /** The values in C order, as float64 (exact for float32/float64 and integers up to 2^53). */
  toFloat64(): Float64Array;
}

/** An opened HDF5 file. */
export interface Hdf5File {
  /** The name used in error messages. */
  readonly fileName: string;
  /** The root group. */
  readonly root: Hdf5Group;
  /** The group or dataset at `path` (`a/b/c`, leading slash optional), or null when there is none. */
  get(path: string): Hdf5Group | Hdf5Dataset | null;
  /** The group at `path`; a UserError naming the file and path when it is missing or is a dataset. */
  group(path: string): Hdf5Group;
  /** The dataset at `path`; a UserError naming the file and path when it is missing or is a group. */
  dataset(path: string): Hdf5Dataset;
}

/** The 8-byte HDF5 format signature. */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const NUMERIC_DTYPE = /^[<>=|]?[fiu]\d+$/;

// jsfive ships no type declarations; this is the part of its object model we use.
interface JsGroup {
  keys: string[];
  attrs: Record<string, unknown>;
  get(name: string): JsGroup | JsDataset | null;
}
interface JsDataset {
  shape: number[];
  dtype: string | unknown[];
  attrs: Record<string, unknown>;
  value: unknown[];
  fillvalue: unknown;
}
const JsFile = (hdf5 as unknown as { File: new (buf: ArrayBuffer, name: string) => JsGroup }).File;
const JsDatasetClass = (hdf5 as unknown as { Dataset: new (...a: never[]) => JsDataset }).Dataset;

function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0].trim() || "unreadable data";
}

/** Strips slashes at both ends and collapses repeated ones (`/a//b/` → `a/b`). */
function normalizePath(path: string): string {
  return path.split("/").filter((s) => s !== "").join("/");
}

/**
 * Checks the signature and that the superblock's end-of-file address fits in the bytes given.
 * Superblock layouts (HDF5 spec §II.A): version 0 has base address at 24, end-of-file address at 40;
 * versions 2 and 3 at 12 and 28 (8-byte offsets; jsfive supports no other size). Version 1 (40+4) is rejected
 * by jsfive anyway.
 */
function checkSuperblock(bytes: Uint8Array, fileName: string): void {
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new UserError(`${fileName}: not an HDF5 file (no HDF5 signature at the start)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes.length > 8 ? bytes[8] : -1;
  const at = version === 0
    ? { base: 24, eof: 40 }
    : version === 2 || version === 3
    ? { base: 12, eof: 28 }
    : null;
  if (at === null) {
    throw new UserError(`${fileName}: unsupported HDF5 superblock version ${version} (supported: 0, 2, 3)`);
  }
  if (bytes.length < at.eof + 8) {
    throw new UserError(
      `${fileName}: HDF5 file is truncated (${bytes.length} bytes, the superblock is incomplete)`,
    );
  }
  const end = view.getBigUint64(at.base, true) + view.getBigUint64(at.eof, true);
  if (end > BigInt(bytes.length)) {
    throw new UserError(
      `${fileName}: HDF5 file is truncated (${bytes.length} bytes, the superblock says ${end} bytes)`,
    );
  }
}

/** Runs a jsfive read, turning its failures (strings, RangeErrors) into UserErrors via `fail`. */
type Fail = (path: string, e: unknown) => never;
function guarded<T>(path: string, fail: Fail, read: () => T): T {
  try {
    return read();
  } catch (e) {
    return fail(path, e);
  }
}

class Group implements Hdf5Group {
  readonly kind = "group";
  #keys?: string[];
  constructor(readonly path: string, readonly js: JsGroup, private readonly fail: Fail) {}
  get keys(): string[] {
    this.#keys ??= guarded(this.path, this.fail, () => this.js.keys);
    return this.#keys.slice();
  }
  get attrs(): Record<string, unknown> {
    return guarded(this.path, this.fail, () => ({ ...this.js.attrs }));
  }
}

class Dataset implements Hdf5Dataset {
  readonly kind = "dataset";
  constructor(
    readonly path: string,
    private readonly js: JsDataset,
    private readonly fileName: string,
    private readonly fail: Fail,
  ) {}
  get shape(): number[] {
    return guarded(this.path, this.fail, () => this.js.shape.slice());
  }
  get dtype(): string {
    return guarded(this.path, this.fail, () => {
      const d = this.js.dtype;
      return typeof d === "string" ? d : Array.isArray(d) ? String(d[0]) : "unknown";
    });
  }
  get attrs(): Record<string, unknown> {
    return guarded(this.path, this.fail, () => ({ ...this.js.attrs }));
  }
  toFloat32(): Float32Array {
    return Float32Array.from(this.toFloat64());
  }
  toFloat64(): Float64Array {
    const dtype = this.dtype;
    if (!NUMERIC_DTYPE.test(dtype)) {
      throw new UserError(
        `${this.fileName}: dataset '${this.path}' holds ${dtype} values, not numbers (expected a float or integer type)`,
      );
    }
    const shape = this.shape;
    const size = shape.reduce((a, b) => a * b, 1);
    const values = guarded(this.path, this.fail, () => this.js.value);
    // Unallocated storage reads as an empty or hole-filled array: such elements take the fill value, as in h5py.
    let fillValue = 0;
    if (values.length === 0 || values.includes(undefined)) {
      const fill = guarded(this.path, this.fail, () => this.js.fillvalue);
      if (typeof fill === "number") fillValue = fill;
    }
    if (values.length !== size && values.length !== 0) {
      throw new UserError(
        `${this.fileName}: dataset '${this.path}' has ${values.length} values, its shape [${shape}] needs ${size}`,
      );
    }
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const v = values[i];
      if (typeof v === "number") out[i] = v;
      else if (v === undefined) out[i] = fillValue;
      else if (typeof v === "bigint") out[i] = Number(v);
      else throw new UserError(`${this.fileName}: dataset '${this.path}' element ${i} is not a number`);
    }
    return out;
  }
}

/**
 * Opens an HDF5 file held in memory. Nothing is read beyond the superblock and the root group until asked for.
 * @param bytes the whole file
 * @param fileName the name used in error messages
 * @throws {UserError} naming the file when it is not HDF5, is truncated, or its root group cannot be read; later
 *   reads throw UserErrors naming the file and the object path
 * @example
 * ```ts
 * const f = openHdf5(await Deno.readFile(path), path);
 * const kernel = f.dataset("layers/dense/vars/0"); // shape [1540, 128], dtype "<f4"
 * const w = kernel.toFloat32();
 * ```
 */
export function openHdf5(bytes: Uint8Array, fileName: string): Hdf5File {
  checkSuperblock(bytes, fileName);
  // jsfive wants an ArrayBuffer holding exactly the file.
  const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : bytes.slice().buffer;
  const fail: Fail = (path, e) => {
    if (e instanceof UserError) throw e;
    throw new UserError(`${fileName}: cannot read HDF5 object '${path || "/"}': ${reason(e)}`);
  };
  let jsRoot: JsGroup;
  try {
    jsRoot = new JsFile(buf, fileName);
  } catch (e) {
    throw new UserError(`${fileName}: not a readable HDF5 file: ${reason(e)}`);
  }
  const root = new Group("", jsRoot, fail);

  const get = (path: string): Hdf5Group | Hdf5Dataset | null => {
    const parts = normalizePath(path).split("/").filter((s) => s !== "");
    let node: Group | Dataset = root;
    let at = "";
    for (const name of parts) {
      // Walk one level at a time so that "missing" (null) is told apart from "damaged" (UserError).
      if (node instanceof Dataset || !node.keys.includes(name)) return null;
      at = at ? `${at}/${name}` : name;
      const parent: JsGroup = node.js;
      const child: JsGroup | JsDataset | null = guarded(at, fail, () => parent.get(name));
      if (child === null || child === undefined) return null; // a dangling soft link
      node = child instanceof JsDatasetClass
        ? new Dataset(at, child as JsDataset, fileName, fail)
        : new Group(at, child as JsGroup, fail);
    }
    return node;
  };

  return {
    fileName,
    root,
    get,
    group(path: string): Hdf5Group {
      const g = get(path);
      if (g === null) throw new UserError(`${fileName}: no HDF5 group '${normalizePath(path) || "/"}'`);
      if (g.kind !== "group") {
        throw new UserError(`${fileName}: '${normalizePath(path)}' is a dataset, not a group`);
      }
      return g;
    },
    dataset(path: string): Hdf5Dataset {
      const d = get(path);
      if (d === null) throw new UserError(`${fileName}: no HDF5 dataset '${normalizePath(path) || "/"}'`);
      if (d.kind !== "dataset") {
        throw new UserError(`${fileName}: '${normalizePath(path) || "/"}' is a group, not a dataset`);
      }
      return d;
    },
  };
}
