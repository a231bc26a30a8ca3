import { readNpy, readNpz } from "../../nn/io/npz.ts";
import { assertEquals, assertRejectsUserError, assertUserError } from "../data/_helpers.ts";
import { NO_MODELS, noteModelsSkip, readPublished } from "./_helpers.ts";

noteModelsSkip("the .npz tests on the published scalers in npz_test.ts");

// ---- a tiny, independent .npy / zip writer -------------------------------------------------------------------

/** An .npy file as numpy writes it: magic, version, little-endian header length, dict padded to 64 with '\n'. */
function npy(
  descr: string,
  shape: number[],
  data: Uint8Array,
  opts: { version?: 1 | 2 | 3; fortran?: boolean } = {},
) {
  const version = opts.version ?? 1;
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? "True" : "False"}, 'shape': ${dims}, }`;
  const pre = version === 1 ? 10 : 12;
  dict += " ".repeat(63 - ((pre + dict.length) % 64)) + "\n";
  const head = new TextEncoder().encode(dict);
  const out = new Uint8Array(pre + head.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (version === 1) v.setUint16(8, head.length, true);
  else v.setUint32(8, head.length, true);
  out.set(head, pre);
  out.set(data, pre + head.length);
  return out;
}

/** Replaces text in an .npy file byte for byte (latin-1), keeping the total length when `to` is as long as `from`. */
function editNpy(file: Uint8Array, from: string, to: string): Uint8Array {
  const text = Array.from(file, (b) => String.fromCharCode(b)).join("");
  if (!text.includes(from)) throw new Error(`'${from}' not in the header`);
  return Uint8Array.from(text.replace(from, to), (c) => c.charCodeAt(0));
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const bigEndianF64 = (xs: number[]) => {
  const b = new Uint8Array(8 * xs.length);
  xs.forEach((x, i) => new DataView(b.buffer).setFloat64(8 * i, x, false));
  return b;
};

/** Bit-by-bit CRC-32 (a different algorithm from the table-driven one under test). */
function crc32(data: Uint8Array): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("deflate-raw"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

interface Member {
  name: string;
  data: Uint8Array;
  /** 0 stored, 8 deflate, anything else is written as is (with the data stored). */
  method?: number;
  /** Write the sizes and offset as 0xFFFFFFFF with a zip64 extra field in the central directory. */
  zip64?: boolean;
}

/** A zip archive: local headers + data, central directory, end record. */
async function zip(members: Member[]): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const method = m.method ?? 0;
    const body = method === 8 ? await deflateRaw(m.data) : m.data;
    const name = new TextEncoder().encode(m.name);
    const crc = crc32(m.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, m.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const extra = m.zip64 ? new Uint8Array(4 + 24) : new Uint8Array(0);
    if (m.zip64) {
      const ev = new DataView(extra.buffer);
      ev.setUint16(0, 1, true);
      ev.setUint16(2, 24, true);
      ev.setBigUint64(4, BigInt(m.data.length), true);
      ev.setBigUint64(12, BigInt(body.length), true);
      ev.setBigUint64(20, BigInt(offset), true);
    }
    const cd = new Uint8Array(46 + name.length + extra.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, m.zip64 ? 0xffffffff : body.length, true);
    cv.setUint32(24, m.zip64 ? 0xffffffff : m.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, extra.length, true);
    cv.setUint32(42, m.zip64 ? 0xffffffff : offset, true);
    cd.set(name, 46);
    cd.set(extra, 46 + name.length);
    chunks.push(local, body);
    central.push(cd);
    offset += local.length + body.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, members.length, true);
  ev.setUint16(10, members.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...chunks, ...central, end];
  const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0));
  let p = 0;
  for (const c of all) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

// ---- fixtures ---------------------------------------------------------------------------------------------------

const F4 = new Float32Array([1.5, -0, -2.25, 3e-41, Infinity, 1 / 3]); // denormal, inf, inexact third
const I8 = new BigInt64Array([-3n, 0n, 9007199254740991n]);
const B1 = new Uint8Array([1, 0, 0, 1]);

function members(): Member[] {
  return [
    { name: "w.npy", data: npy("<f4", [2, 3], bytesOf(F4)) },
    { name: "steps.npy", data: npy("<i8", [3], bytesOf(I8)) },
    { name: "mask.npy", data: npy("|b1", [2, 2], B1) },
    { name: "s.npy", data: npy("<f8", [], bytesOf(new Float64Array([-7.125]))) },
    { name: "be.npy", data: npy(">f8", [2], bigEndianF64([0.1, -1e300])) },
    { name: "u.npy", data: npy("|u1", [0], new Uint8Array(0)) },
  ];
}

function checkFixture(got: Record<string, { shape: number[]; dtype: string; data: Float64Array }>): void {
  assertEquals(Object.keys(got).sort(), ["be", "mask", "s", "steps", "u", "w"]);
  assertEquals([got.w.shape, got.w.dtype], [[2, 3], "<f4"]);
  assertEquals(got.w.data, Float64Array.from(F4)); // exact float32 values, -0 included (deepStrictEqual: Object.is)
  assertEquals(Object.is(got.w.data[1], -0), true);
  assertEquals([got.steps.shape, Array.from(got.steps.data)], [[3], [-3, 0, 9007199254740991]]);
  assertEquals([got.mask.shape, got.mask.dtype, Array.from(got.mask.data)], [[2, 2], "|b1", [1, 0, 0, 1]]);
  assertEquals([got.s.shape, Array.from(got.s.data)], [[], [-7.125]]);
  assertEquals(Array.from(got.be.data), [0.1, -1e300]);
  assertEquals([got.u.shape, got.u.data.length], [[0], 0]);
}

// ---- tests ------------------------------------------------------------------------------------------------------

Deno.test({
  name: "npz: the published scalers (numpy-written, zip64 local headers) read as documented",
  ignore: NO_MODELS,
  async fn() {
    const load = await readNpz(readPublished("load_scaler_FINAL.npz"), "load_scaler_FINAL.npz");
    assertEquals(load, {
      mean: { shape: [1], dtype: "<f8", data: new Float64Array([2.1489977123692285]) },
      scale: { shape: [1], dtype: "<f8", data: new Float64Array([3.3668845897932633]) },
    });
    const y = await readNpz(readPublished("y_scaler_FINAL.npz"), "y_scaler_FINAL.npz");
    assertEquals(y, {
      mean: { shape: [], dtype: "<f8", data: new Float64Array([1091.5692138671875]) },
      scale: { shape: [], dtype: "<f8", data: new Float64Array([555.44775391625]) },
    });
  },
});

Deno.test("npz: hand-built archive, stored members (f4, i8, bool, 0-d, big-endian, empty)", async () => {
  checkFixture(await readNpz(await zip(members()), "hand.npz"));
});

Deno.test("npz: hand-built archive, deflated members and zip64 central-directory fields", async () => {
  const ms = members().map((m, i) => ({ ...m, method: i % 2 === 0 ? 8 : 0, zip64: i % 3 === 0 }));
  const bytes = await zip(ms);
  checkFixture(await readNpz(bytes, "deflated.npz"));
  // The archive really holds compressed data: the f4 member's raw bytes are absent from it.
  const raw = bytesOf(F4);
  const hay = Array.from(bytes).join(",");
  assertEquals(hay.includes(Array.from(raw).join(",")), false);
});

Deno.test("npy: format versions 2 and 3, Fortran order for 1-d, and a header with Python 2 long integers", () => {
  const d = bytesOf(new Float32Array([1, 2]));
  assertEquals(readNpy(npy("<f4", [2], d, { version: 2 }), "v2.npy").data, new Float64Array([1, 2]));
  assertEquals(readNpy(npy("<f4", [2], d, { version: 3 }), "v3.npy").data, new Float64Array([1, 2]));
  assertEquals(readNpy(npy("<f4", [2], d, { fortran: true }), "f.npy").shape, [2]);
  const py2 = npy("<f4", [2], d);
  const py2Long = editNpy(editNpy(py2, "(2,)", "(2L,)"), "}  ", "} ");
  assertEquals(py2Long.length, py2.length);
  assertEquals(readNpy(py2Long, "py2.npy").shape, [2]);
  assertEquals(
    readNpy(npy("<i2", [2, 1], bytesOf(new Int16Array([-5, 7]))), "i2.npy").data,
    new Float64Array([-5, 7]),
  );
});

Deno.test("npy: refusals name the file", () => {
  const f4 = bytesOf(new Float32Array([1, 2, 3, 4]));
  assertUserError(() => readNpy(npy("<f4", [2, 2], f4, { fortran: true }), "f.npy"), "f.npy", "Fortran");
  assertUserError(
    () => readNpy(npy("<U3", [1], new Uint8Array(12)), "s.npy"),
    "s.npy",
    "'<U3'",
    "not supported",
  );
  assertUserError(() => readNpy(npy("|O", [1], new Uint8Array(8)), "o.npy"), "o.npy", "'|O'");
  assertUserError(() => readNpy(npy("<c16", [1], new Uint8Array(16)), "c.npy"), "c.npy", "'<c16'");
  assertUserError(
    () => readNpy(npy("<f4", [5], f4), "short.npy"),
    "short.npy",
    "truncated",
    "needs 20 bytes",
  );
  assertUserError(() => readNpy(npy("<f4", [3], f4), "long.npy"), "long.npy", "4 unexpected bytes");
  assertUserError(() => readNpy(f4, "raw.bin"), "raw.bin", "not a numpy .npy");
  assertUserError(() => readNpy(npy("<f4", [4], f4).subarray(0, 40), "cut.npy"), "cut.npy", "truncated");
  const bad = editNpy(npy("<f4", [4], f4), "(4,)", "[4;]");
  assertUserError(() => readNpy(bad, "bad.npy"), "bad.npy", "malformed .npy header");
  const noShape = editNpy(npy("<f4", [4], f4), "'shape'", "'shope'");
  assertUserError(() => readNpy(noShape, "keys.npy"), "keys.npy", "malformed .npy header");
  const big = new BigInt64Array([2n ** 53n + 1n]);
  assertUserError(() => readNpy(npy("<i8", [1], bytesOf(big)), "big.npy"), "big.npy", "element 0", "2^53");
  assertUserError(
    () => readNpy(npy("|b1", [2], new Uint8Array([1, 2])), "b.npy"),
    "b.npy",
    "element 1",
    "bool",
  );
  const v9 = npy("<f4", [4], f4);
  v9[6] = 9;
  assertUserError(() => readNpy(v9, "v9.npy"), "v9.npy", "version 9");
});

Deno.test("npz: corrupted and truncated archives are refused naming the file and member", async () => {
  const good = await zip(members());
  await assertRejectsUserError(
    () => readNpz(good.subarray(0, good.length - 5), "cut.npz"),
    "cut.npz",
    "truncated",
  );
  await assertRejectsUserError(() => readNpz(good.subarray(0, 100), "half.npz"), "half.npz");
  await assertRejectsUserError(
    () => readNpz(new TextEncoder().encode("mean,scale\n1,2\n"), "t.npz"),
    "t.npz",
  );
  await assertRejectsUserError(() => readNpz(new Uint8Array(0), "e.npz"), "e.npz");

  // One flipped data byte in a stored member: the CRC catches it.
  const flipped = good.slice();
  flipped[30 + "w.npy".length + 130] ^= 0x01;
  await assertRejectsUserError(() => readNpz(flipped, "flip.npz"), "flip.npz", "'w.npy'", "CRC-32");

  // Damaged deflate data.
  const deflated = await zip([{ name: "w.npy", data: npy("<f4", [2, 3], bytesOf(F4)), method: 8 }]);
  const broken = deflated.slice();
  broken.fill(0xff, 30 + 5, 30 + 5 + 8);
  await assertRejectsUserError(() => readNpz(broken, "inflate.npz"), "inflate.npz", "'w.npy'");

  // bzip2 (method 12) is not supported; a duplicate name; a member that is not .npy content.
  const bz = await zip([{
    name: "w.npy",
    data: npy("<f4", [1], bytesOf(new Float32Array([1]))),
    method: 12,
  }]);
  await assertRejectsUserError(() => readNpz(bz, "bz.npz"), "bz.npz", "compression method 12");
  const one = npy("<f4", [1], bytesOf(new Float32Array([1])));
  const dup = await zip([{ name: "a.npy", data: one }, { name: "a.npy", data: one }]);
  await assertRejectsUserError(() => readNpz(dup, "dup.npz"), "dup.npz", "'a'", "twice");
  const junk = await zip([{ name: "notes.txt", data: new TextEncoder().encode("hello") }]);
  await assertRejectsUserError(() => readNpz(junk, "junk.npz"), "junk.npz", "'notes.txt'", "not a numpy");
});
