/**
 * The safetensors format (https://huggingface.co/docs/safetensors), written and read without dependencies:
 *
 *     8 bytes   N, little-endian u64
 *     N bytes   UTF-8 JSON header, padded with spaces to a multiple of 8:
 *               {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}, …}
 *     rest      the data buffer; offsets are relative to its start, little-endian, C order
 *
 * Encoding follows the reference implementation byte for byte (compact JSON with `__metadata__` first, then the
 * tensors in buffer order: by descending dtype alignment, then by name, so every tensor starts aligned to its
 * element size; padding with spaces). Only the order of the `__metadata__` keys, a hash map there, is ours:
 * sorted, so output is deterministic.
 *
 * Integrity: by default the encoder stores the SHA-256 of the data buffer as `__metadata__.sha256`, and the decoder
 * verifies it when present, so altered or corrupted tensor bytes are refused instead of silently loaded.
 *
 * Decoding is strict; every refusal is a one-line {@link UserError} naming the file and, where there is one, the
 * tensor.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { sha256Hex } from "../../data/checksum.ts";

/** Element types that can be encoded and decoded (F16, BF16 and the F8 types are recognised but refused). */
export type SafetensorsDtype =
  | "BOOL"
  | "U8"
  | "I8"
  | "I16"
  | "U16"
  | "I32"
  | "U32"
  | "F32"
  | "F64"
  | "I64"
  | "U64";

/** The typed array holding each dtype's elements (BOOL: a Uint8Array of 0/1). */
export interface TensorDataOf {
  BOOL: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  I16: Int16Array;
  U16: Uint16Array;
  I32: Int32Array;
  U32: Uint32Array;
  F32: Float32Array;
  F64: Float64Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
}

/** Any tensor element array. */
export type TensorData = TensorDataOf[SafetensorsDtype];

/**
 * One tensor: element type, shape (`[]` for a scalar) and its elements in C order. A union over the dtypes, so
 * checking `t.dtype === "F32"` narrows `t.data` to a Float32Array.
 */
export type SafeTensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: number[]; data: TensorDataOf[D] };
}[SafetensorsDtype];

/** A decoded file. */
export interface SafetensorsFile {
  /** Tensors by name (fresh, aligned copies of the file's bytes). */
  tensors: Record<string, SafeTensor>;
  /** The `__metadata__` map (empty when absent), including `sha256` when the file carries one. */
  metadata: Record<string, string>;
}

/** Options for {@link encodeSafetensors}. */
export interface EncodeOptions {
  /** Store the SHA-256 of the data buffer as `__metadata__.sha256` (default true). */
  checksum?: boolean;
}

/** Options for {@link decodeSafetensors}. */
export interface DecodeOptions {
  /**
   * Exact expected contents: every name must be present with exactly this shape, and no other tensor may be in the
   * file. The first offender is named.
   */
  expect?: Record<string, number[]>;
  /** Refuse NaN and ±Infinity in float tensors (default false). */
  requireFinite?: boolean;
  /** Refuse files without a `__metadata__.sha256` checksum (default false; a present checksum is always verified). */
  requireChecksum?: boolean;
}

/** The metadata key holding the data buffer's SHA-256 (64 lowercase hex digits). */
export const CHECKSUM_KEY = "sha256";

/** Reference cap on the header size (safetensors' MAX_HEADER_SIZE), so a damaged length cannot exhaust memory. */
const MAX_HEADER_BYTES = 100_000_000;

interface DtypeInfo {
  size: number;
  /** Position in the reference's `Dtype` enum, which is ordered by alignment; the encoder sorts descending. */
  rank: number;
  make: (buf: ArrayBuffer) => TensorData;
  is: (a: TensorData) => boolean;
}

const DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  BOOL: { size: 1, rank: 0, make: (b) => new Uint8Array(b), is: (a) => a instanceof Uint8Array },
  U8: { size: 1, rank: 1, make: (b) => new Uint8Array(b), is: (a) => a instanceof Uint8Array },
  I8: { size: 1, rank: 2, make: (b) => new Int8Array(b), is: (a) => a instanceof Int8Array },
  I16: { size: 2, rank: 5, make: (b) => new Int16Array(b), is: (a) => a instanceof Int16Array },
  U16: { size: 2, rank: 6, make: (b) => new Uint16Array(b), is: (a) => a instanceof Uint16Array },
  I32: { size: 4, rank: 9, make: (b) => new Int32Array(b), is: (a) => a instanceof Int32Array },
  U32: { size: 4, rank: 10, make: (b) => new Uint32Array(b), is: (a) => a instanceof Uint32Array },
  F32: { size: 4, rank: 11, make: (b) => new Float32Array(b), is: (a) => a instanceof Float32Array },
  F64: { size: 8, rank: 12, make: (b) => new Float64Array(b), is: (a) => a instanceof Float64Array },
  I64: { size: 8, rank: 13, make: (b) => new BigInt64Array(b), is: (a) => a instanceof BigInt64Array },
  U64: { size: 8, rank: 14, make: (b) => new BigUint64Array(b), is: (a) => a instanceof BigUint64Array },
};
const KNOWN_UNSUPPORTED = new Set(["F16", "BF16", "F8_E5M2", "F8_E4M3"]);

// Typed arrays use the platform's byte order; the format is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("safetensors.ts assumes a little-endian platform");
}

const utf8 = new TextEncoder();

/** Byte-wise comparison of UTF-8 encodings (Rust's `String` order, which differs from JS `<` beyond the BMP). */
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a), y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isDim(d: unknown): d is number {
  return typeof d === "number" && Number.isSafeInteger(d) && d >= 0;
}

/**
 * Encodes tensors as a safetensors file.
 * @param tensors tensors by name; each `data` must be the typed array of its dtype and hold exactly
 *   `product(shape)` elements
 * @param metadata free-form string metadata for `__metadata__`
 * @param options `checksum` (default true): add `__metadata__.sha256` of the data buffer
 * @throws {Error} (a programming error, not a UserError) for a data/dtype/shape mismatch, the reserved name
 *   `__metadata__`, a non-string metadata value, or a caller-supplied `sha256` metadata key while checksumming
 * @example
 * ```ts
 * const bytes = await encodeSafetensors({ "dense/kernel": { dtype: "F32", shape: [2, 3], data } }, { model: "vibann" });
 * await writeFileAtomic(path, bytes);
 * ```
 */
export async function encodeSafetensors(
  tensors: Record<string, SafeTensor>,
  metadata: Record<string, string> = {},
  options: EncodeOptions = {},
): Promise<Uint8Array> {
  const checksum = options.checksum ?? true;
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new Error(`safetensors metadata '${k}' must be a string`);
  }
  if (checksum && Object.hasOwn(metadata, CHECKSUM_KEY)) {
    throw new Error(`safetensors metadata key '${CHECKSUM_KEY}' is reserved for the checksum`);
  }
  const entries = Object.entries(tensors).map(([name, t]) => {
    const info = DTYPES[t.dtype];
    if (name === "__metadata__") throw new Error("'__metadata__' cannot be a tensor name");
    if (!info) throw new Error(`tensor '${name}': unsupported dtype '${t.dtype}'`);
    if (!info.is(t.data)) {
      throw new Error(`tensor '${name}': data is a ${t.data.constructor.name}, not ${t.dtype}`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every(isDim)) {
      throw new Error(`tensor '${name}': shape [${t.shape}] must list non-negative integers`);
    }
    if (t.data.length !== elementCount(t.shape)) {
      throw new Error(`tensor '${name}': ${t.data.length} elements for shape [${t.shape}]`);
    }
    return { name, t, info };
  });
  entries.sort((a, b) => b.info.rank - a.info.rank || compareUtf8(a.name, b.name));

  const dataLength = entries.reduce((n, e) => n + e.t.data.byteLength, 0);
  const data = new Uint8Array(dataLength);
  const tensorParts: string[] = [];
  let offset = 0;
  for (const { name, t } of entries) {
    data.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), offset);
    const info = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    tensorParts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += t.data.byteLength;
  }
  const meta: Record<string, string> = { ...metadata };
  if (checksum) meta[CHECKSUM_KEY] = await sha256Hex(data);
  const metaKeys = Object.keys(meta).sort(compareUtf8);
  // The object text is built by hand: JSON.stringify of one object would move integer-like keys ("0", "12")
  // ahead of the rest and treat a "__proto__" key specially.
  const parts: string[] = [];
  if (metaKeys.length > 0) {
    parts.push(
      `"__metadata__":{${metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(",")}}`,
    );
  }
  parts.push(...tensorParts);
  let headerBytes = utf8.encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  if (padded !== headerBytes.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(headerBytes);
    headerBytes = p;
  }
  const out = new Uint8Array(8 + headerBytes.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Validates one header entry. */
function parseEntry(file: string, name: string, raw: unknown): Entry {
  const where = `${file}: tensor '${name}'`;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new UserError(`${where}: header entry is not an object`);
  }
  const r = raw as Record<string, unknown>;
  const extra = Object.keys(r).find((k) => k !== "dtype" && k !== "shape" && k !== "data_offsets");
  if (extra !== undefined) throw new UserError(`${where}: unexpected header field '${extra}'`);
  const { dtype, shape, data_offsets: offsets } = r;
  if (typeof dtype !== "string") throw new UserError(`${where}: dtype is missing or not a string`);
  if (!Object.hasOwn(DTYPES, dtype)) {
    throw new UserError(
      KNOWN_UNSUPPORTED.has(dtype)
        ? `${where}: dtype '${dtype}' is not supported`
        : `${where}: unknown dtype '${dtype}' (expected one of ${Object.keys(DTYPES).join(", ")})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isDim)) {
    throw new UserError(`${where}: shape must be a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim)) {
    throw new UserError(`${where}: data_offsets must be two non-negative integers`);
  }
  const [begin, end] = offsets as number[];
  if (end < begin) throw new UserError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  const info = DTYPES[dtype as SafetensorsDtype];
  const count = elementCount(shape);
  const need = count * info.size;
  if (!Number.isSafeInteger(need)) throw new UserError(`${where}: shape ${shapeText(shape)} is too large`);
  if (end - begin !== need) {
    throw new UserError(
      `${where}: shape ${
        shapeText(shape)
      } of ${dtype} needs ${need} bytes but data_offsets [${begin}, ${end}] ` +
        `span ${end - begin}`,
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape.slice(), begin, end };
}

/** The `expect` check: exact name set, exact shapes. */
function checkExpected(file: string, entries: Entry[], expect: Record<string, number[]>): void {
  const byName = new Map(entries.map((e) => [e.name, e]));
  for (const [name, shape] of Object.entries(expect)) {
    const e = byName.get(name);
    if (!e) throw new UserError(`${file}: tensor '${name}' is missing`);
    if (shapeText(e.shape) !== shapeText(shape)) {
      throw new UserError(
        `${file}: tensor '${name}' has shape ${shapeText(e.shape)}, expected ${shapeText(shape)}`,
      );
    }
  }
  const unexpected = entries.map((e) => e.name).sort(compareUtf8).find((n) => !Object.hasOwn(expect, n));
  if (unexpected !== undefined) throw new UserError(`${file}: unexpected tensor '${unexpected}'`);
}

/**
 * Decodes and validates a safetensors file.
 * @param bytes the whole file
 * @param fileName the name used in error messages
 * @param options `expect` (exact names and shapes), `requireFinite`, `requireChecksum`
 * @throws {UserError} naming the file (and the tensor) when the header length exceeds the file, the header is not
 *   UTF-8 JSON of the expected form, a dtype is unknown or unsupported, a shape disagrees with its byte range,
 *   ranges leave the buffer, overlap or leave gaps, bytes trail the last tensor, a checksum is missing (when
 *   required) or does not match ("was modified or corrupted"), a float is not finite (when required), a BOOL byte
 *   is not 0/1, or the contents differ from `expect`
 * @example
 * ```ts
 * const { tensors } = await decodeSafetensors(await Deno.readFile(path), path, { expect: { "dense/kernel": [2, 3] } });
 * ```
 */
export async function decodeSafetensors(
  bytes: Uint8Array,
  fileName: string,
  options: DecodeOptions = {},
): Promise<SafetensorsFile> {
  const file = fileName;
  if (bytes.length < 8) {
    throw new UserError(
      `${file}: not a safetensors file (${bytes.length} bytes, shorter than the 8-byte header length)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    throw new UserError(
      `${file}: header length ${n64} exceeds the file size (${bytes.length} bytes; truncated or not a safetensors file)`,
    );
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) throw new UserError(`${file}: header of ${n} bytes is too large`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new UserError(`${file}: the safetensors header is not UTF-8 text`);
  }
  if (!text.startsWith("{")) {
    throw new UserError(`${file}: not a safetensors file (the header is not a JSON object)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `${file}: the safetensors header is not valid JSON (${(e as Error).message.split("\n")[0]})`,
    );
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new UserError(`${file}: the safetensors header is not a JSON object`);
  }

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        throw new UserError(`${file}: __metadata__ is not an object`);
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") throw new UserError(`${file}: __metadata__ value '${k}' is not a string`);
        Object.defineProperty(metadata, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    } else {
      entries.push(parseEntry(file, name, raw));
    }
  }

  // The data buffer must be covered exactly: ranges in order, starting at 0, no gaps, no overlaps, nothing after.
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const ordered = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of ordered) {
    const where = `${file}: tensor '${e.name}'`;
    if (e.end > dataLength) {
      throw new UserError(
        `${where}: data_offsets [${e.begin}, ${e.end}] lie beyond the data buffer (${dataLength} bytes; truncated?)`,
      );
    }
    if (e.begin < covered) {
      throw new UserError(`${where}: data_offsets [${e.begin}, ${e.end}] overlap another tensor`);
    }
    if (e.begin > covered) {
      throw new UserError(
        `${where}: data_offsets [${e.begin}, ${e.end}] leave a gap (bytes ${covered}–${e.begin})`,
      );
    }
    covered = e.end;
  }
  if (covered < dataLength) {
    throw new UserError(`${file}: ${dataLength - covered} trailing bytes after the last tensor`);
  }

  const data = bytes.subarray(dataStart);
  if (Object.hasOwn(metadata, CHECKSUM_KEY)) {
    if ((await sha256Hex(data)) !== metadata[CHECKSUM_KEY]) {
      throw new UserError(
        `${file}: the tensor data was modified or corrupted (SHA-256 does not match the header)`,
      );
    }
  } else if (options.requireChecksum) {
    throw new UserError(`${file}: no ${CHECKSUM_KEY} checksum in __metadata__ (cannot verify the data)`);
  }
  if (options.expect) checkExpected(file, entries, options.expect);

  const tensors: Record<string, SafeTensor> = {};
  for (const e of entries) {
    // A copy: aligned for the typed array, and independent of the caller's buffer.
    const arr = DTYPES[e.dtype].make(data.slice(e.begin, e.end).buffer);
    if (e.dtype === "BOOL") {
      const bad = (arr as Uint8Array).findIndex((b) => b > 1);
      if (bad >= 0) {
        throw new UserError(`${file}: tensor '${e.name}' element ${bad} is not a bool (byte ${arr[bad]})`);
      }
    }
    if (options.requireFinite && (e.dtype === "F32" || e.dtype === "F64")) {
      const bad = (arr as Float32Array | Float64Array).findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new UserError(`${file}: tensor '${e.name}' element ${bad} is not finite ('${arr[bad]}')`);
      }
    }
    Object.defineProperty(tensors, e.name, {
      value: { dtype: e.dtype, shape: e.shape, data: arr } as SafeTensor,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { tensors, metadata };
}
