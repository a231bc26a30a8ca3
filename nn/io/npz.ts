/**
 * numpy `.npy` / `.npz` reading without dependencies (numpy's format: NEP 1, `numpy.lib.format`).
 *
 * - `.npz` is a zip archive of `.npy` members. The reader uses the central directory, supports the methods
 *   "stored" (0) and "deflate" (8, via the built-in `DecompressionStream("deflate-raw")`, hence async), zip64
 *   sizes and offsets (numpy always writes zip64 local headers), and checks each member's CRC-32.
 * - `.npy` versions 1, 2 and 3; numeric and bool dtypes (`<f4 <f8 <i1…<i8 <u1…<u8 |b1`, either byte order), C order
 *   (Fortran order is refused for 2-d and up; for 0-d and 1-d arrays the layouts coincide). Values come back as
 *   float64; 64-bit integers beyond ±2^53 are refused rather than rounded.
 *
 * Every problem is a one-line {@link UserError} naming the file (and the member).
 * @module
 */
import { UserError } from "../../cli/errors.ts";

/** One numpy array: its shape (`[]` for a 0-d scalar), numpy dtype string (e.g. `<f8`) and values in C order. */
export interface NpyArray {
  shape: number[];
  dtype: string;
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

// ---------------------------------------------------------------------------------------------------------------
// .npy

/** A parsed Python literal from an .npy header (only what numpy writes there). */
type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue };

/**
 * Parses the Python dict literal of an .npy header, e.g. `{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }`.
 * Supports strings, integers (with Python 2's `L` suffix), True/False/None, tuples, lists and dicts.
 */
function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${i + 1} of the header`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      let s = "";
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === "\\") i++;
        s += text[i++] ?? "";
      }
      if (text[i] !== c) fail("unterminated string");
      i++;
      return s;
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      i++;
      const items: PyValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) break;
        items.push(value());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
      i++;
      return items;
    }
    if (c === "{") {
      i++;
      const obj: Record<string, PyValue> = Object.create(null); // keys such as '__proto__' stay plain keys
      for (;;) {
        ws();
        if (text[i] === "}") break;
        const k = value();
        if (typeof k !== "string") fail("dict key is not a string");
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        if (Object.hasOwn(obj, k as string)) fail(`duplicate key '${k}'`);
        obj[k as string] = value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") fail("expected ',' or '}'");
      }
      i++;
      return obj;
    }
    const m = /^(?:True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!m) return fail("unexpected text");
    i += m[0].length;
    if (m[0] === "True") return true;
    if (m[0] === "False") return false;
    if (m[0] === "None") return null;
    return Number(m[0].replace("L", ""));
  };
  const v = value();
  ws();
  if (i !== text.length) fail("unexpected text after the header dict");
  return v;
}

interface ElementType {
  size: number;
  littleEndian: boolean;
  read: (view: DataView, offset: number, le: boolean) => number;
}

/** Element readers by numpy kind+size (`f8`, `i4`, `b1`, …). */
const READERS: Record<string, (view: DataView, offset: number, le: boolean) => number> = {
  f4: (v, o, le) => v.getFloat32(o, le),
  f8: (v, o, le) => v.getFloat64(o, le),
  i1: (v, o) => v.getInt8(o),
  i2: (v, o, le) => v.getInt16(o, le),
  i4: (v, o, le) => v.getInt32(o, le),
  i8: (v, o, le) => Number(v.getBigInt64(o, le)),
  u1: (v, o) => v.getUint8(o),
  u2: (v, o, le) => v.getUint16(o, le),
  u4: (v, o, le) => v.getUint32(o, le),
  u8: (v, o, le) => Number(v.getBigUint64(o, le)),
  b1: (v, o) => v.getUint8(o),
};

function elementType(descr: string, where: string): ElementType {
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const read = m ? READERS[m[2] + m[3]] : undefined;
  if (!m || !read) {
    throw new UserError(
      `${where}: dtype '${descr}' is not supported (only float32/64, integer and bool arrays can be read)`,
    );
  }
  // '=' is native order, little-endian on every platform this runs on; '|' is a one-byte type.
  return { size: Number(m[3]), littleEndian: m[1] !== ">", read };
}

/** Parses one .npy file; `where` names it in messages. */
function parseNpy(bytes: Uint8Array, where: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new UserError(`${where}: not a numpy .npy array (the '\\x93NUMPY' signature is missing)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) {
    throw new UserError(`${where}: unsupported .npy format version ${major}.${bytes[7]}`);
  }
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new UserError(`${where}: .npy file is truncated (no header)`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (dataStart > bytes.length) {
    throw new UserError(
      `${where}: .npy file is truncated (the header needs ${dataStart} bytes, got ${bytes.length})`,
    );
  }
  let headerText: string;
  try {
    // Version 3 allows UTF-8; versions 1 and 2 are latin-1 (for numpy's own headers: ASCII).
    headerText = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true })
      .decode(bytes.subarray(8 + lenBytes, dataStart));
  } catch {
    throw new UserError(`${where}: the .npy header is not valid text`);
  }
  let header: PyValue;
  try {
    header = parsePyLiteral(headerText);
  } catch (e) {
    throw new UserError(`${where}: malformed .npy header: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new UserError(`${where}: malformed .npy header (not a dict)`);
  }
  const keys = Object.keys(header).sort().join(",");
  if (keys !== "descr,fortran_order,shape") {
    throw new UserError(
      `${where}: malformed .npy header (keys ${keys}; expected descr, fortran_order, shape)`,
    );
  }
  const { descr, fortran_order: fortran, shape } = header;
  if (typeof descr !== "string") {
    throw new UserError(`${where}: structured (record) dtypes are not supported`);
  }
  if (
    !Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
  ) {
    throw new UserError(`${where}: malformed .npy header (shape must be a tuple of non-negative integers)`);
  }
  const dims = shape as number[];
  if (typeof fortran !== "boolean") throw new UserError(`${where}: malformed .npy header (fortran_order)`);
  if (fortran && dims.length > 1) {
    throw new UserError(`${where}: Fortran-ordered arrays are not supported (save with C order)`);
  }
  const type = elementType(descr, where);
  const count = dims.reduce((a, b) => a * b, 1);
  const need = count * type.size;
  const have = bytes.length - dataStart;
  if (have < need) {
    throw new UserError(
      `${where}: .npy data is truncated (shape (${dims}) of ${descr} needs ${need} bytes, got ${have})`,
    );
  }
  if (have > need) {
    throw new UserError(
      `${where}: ${have - need} unexpected bytes after the .npy data (shape (${dims}) of ${descr})`,
    );
  }
  const data = new Float64Array(count);
  const is64BitInt = /^[iu]8$/.test(descr.slice(1));
  const isBool = descr.endsWith("b1");
  for (let k = 0; k < count; k++) {
    const v = type.read(view, dataStart + k * type.size, type.littleEndian);
    if (is64BitInt && !Number.isSafeInteger(v)) {
      throw new UserError(
        `${where}: element ${k} does not fit a float64 exactly (64-bit integer beyond ±2^53)`,
      );
    }
    if (isBool && v > 1) throw new UserError(`${where}: element ${k} is not a valid bool (byte ${v})`);
    data[k] = v;
  }
  return { shape: dims.slice(), dtype: descr, data };
}

/**
 * Reads one numpy `.npy` array.
 * @param bytes the whole `.npy` file
 * @param name the file name used in error messages
 * @throws {UserError} naming the file for a missing signature, truncation, a malformed header, an unsupported
 *   dtype, Fortran order (2-d and up) or trailing bytes
 */
export function readNpy(bytes: Uint8Array, name: string): NpyArray {
  return parseNpy(bytes, name);
}

// ---------------------------------------------------------------------------------------------------------------
// zip (only what .npz needs: one disk, stored or deflated members, optional zip64 fields)

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const U32_MAX = 0xffffffff;

interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE 802.3, as in zip). */
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u64(view: DataView, offset: number, what: string): number {
  const v = view.getBigUint64(offset, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} is out of range`);
  return Number(v);
}

/** Reads the central directory; throws plain Errors (the caller adds the file name). */
function readCentralDirectory(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record is the last 22 bytes plus a comment of at most 65535 bytes.
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 0xffff); p--) {
    if (view.getUint32(p, true) === EOCD_SIG && p + 22 + view.getUint16(p + 20, true) === bytes.length) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip archive (no end-of-central-directory record; truncated?)");
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    throw new Error("multi-part zip archives are not supported");
  }
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== ZIP64_LOCATOR_SIG) throw new Error("zip64 locator missing");
    const z = u64(view, loc + 8, "zip64 record offset");
    if (z + 56 > bytes.length || view.getUint32(z, true) !== ZIP64_EOCD_SIG) {
      throw new Error("zip64 record missing");
    }
    count = u64(view, z + 32, "entry count");
    cdSize = u64(view, z + 40, "central directory size");
    cdOffset = u64(view, z + 48, "central directory offset");
  }
  if (cdOffset + cdSize > bytes.length) throw new Error("central directory lies beyond the end (truncated?)");
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cdOffset + cdSize || view.getUint32(p, true) !== CENTRAL_SIG) {
      throw new Error(`central directory entry ${k + 1} is damaged`);
    }
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cdOffset + cdSize) throw new Error(`central directory entry ${k + 1} is damaged`);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    let size = view.getUint32(p + 24, true);
    let compressedSize = view.getUint32(p + 20, true);
    let localOffset = view.getUint32(p + 42, true);
    // zip64 extended information (id 1): the 8-byte values, in this order, of the fields that are 0xFFFFFFFF.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
      const id = view.getUint16(e, true), len = view.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        const next = (what: string) => {
          if (q + 8 > e + 4 + len) throw new Error(`zip64 field of '${name}' is too short`);
          const v = u64(view, q, what);
          q += 8;
          return v;
        };
        if (size === U32_MAX) size = next("size");
        if (compressedSize === U32_MAX) compressedSize = next("compressed size");
        if (localOffset === U32_MAX) localOffset = next("offset");
      }
      e += 4 + len;
    }
    entries.push({
      name,
      flags: view.getUint16(p + 8, true),
      method: view.getUint16(p + 10, true),
      crc: view.getUint32(p + 16, true),
      compressedSize,
      size,
      localOffset,
    });
    p = end;
  }
  return entries;
}

async function inflateRaw(data: Uint8Array, expectedSize: number): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("deflate-raw"),
  );
  const out = new Uint8Array(await new Response(stream).arrayBuffer());
  if (out.length !== expectedSize) {
    throw new Error(`inflates to ${out.length} bytes, the directory says ${expectedSize}`);
  }
  return out;
}

/** The uncompressed bytes of one member, CRC-checked. */
async function extract(bytes: Uint8Array, entry: ZipEntry): Promise<Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = entry.localOffset;
  if (lo + 30 > bytes.length || view.getUint32(lo, true) !== LOCAL_SIG) {
    throw new Error("local header is damaged");
  }
  if (entry.flags & 1) throw new Error("encrypted members are not supported");
  const start = lo + 30 + view.getUint16(lo + 26, true) + view.getUint16(lo + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw new Error("data lie beyond the end of the archive (truncated?)");
  const raw = bytes.subarray(start, end);
  let out: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw new Error("stored member has inconsistent sizes");
    out = raw;
  } else if (entry.method === 8) {
    try {
      out = await inflateRaw(raw, entry.size);
    } catch (e) {
      throw new Error(`corrupt deflate data (${(e as Error).message.split("\n")[0]})`);
    }
  } else {
    throw new Error(`compression method ${entry.method} is not supported (only stored and deflate)`);
  }
  if (crc32(out) !== entry.crc) throw new Error("CRC-32 mismatch (the data are corrupted)");
  return out;
}

/**
 * Reads every array of a numpy `.npz` archive (`numpy.savez` / `savez_compressed`).
 * @param bytes the whole archive
 * @param fileName the name used in error messages
 * @returns arrays by name (member names without the `.npy` suffix)
 * @throws {UserError} naming the file (and the member) for anything that is not a readable archive of
 *   supported arrays: truncation, damaged records, CRC mismatches, corrupt deflate data, bad `.npy` content,
 *   duplicate names
 * @example
 * ```ts
 * const { mean, scale } = await readNpz(await Deno.readFile(path), path); // mean.shape [] or [1], mean.data[0]
 * ```
 */
export async function readNpz(bytes: Uint8Array, fileName: string): Promise<Record<string, NpyArray>> {
  let entries: ZipEntry[];
  try {
    entries = readCentralDirectory(bytes);
  } catch (e) {
    throw new UserError(`${fileName}: ${(e as Error).message}`);
  }
  const out = new Map<string, NpyArray>();
  for (const entry of entries) {
    if (entry.name.endsWith("/")) continue; // a folder entry
    const where = `${fileName} member '${entry.name}'`;
    let content: Uint8Array;
    try {
      content = await extract(bytes, entry);
    } catch (e) {
      throw new UserError(`${where}: ${(e as Error).message}`);
    }
    const name = entry.name.endsWith(".npy") ? entry.name.slice(0, -4) : entry.name;
    if (out.has(name)) throw new UserError(`${fileName}: array '${name}' appears twice`);
    out.set(name, parseNpy(content, where));
  }
  return Object.fromEntries(out);
}
