import {
  CHECKSUM_KEY,
  decodeSafetensors,
  encodeSafetensors,
  type SafeTensor,
} from "../../nn/io/safetensors.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { UserError } from "../../cli/errors.ts";
import { assertEquals, assertRejectsUserError, assertTrue } from "../data/_helpers.ts";

const latin = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A file from a header text (padded with spaces to a multiple of 8 unless `pad` is false) and data bytes. */
function raw(header: string, data: Uint8Array = new Uint8Array(0), pad = true): Uint8Array {
  let h = new TextEncoder().encode(header);
  if (pad && h.length % 8 !== 0) h = new TextEncoder().encode(header + " ".repeat(8 - (h.length % 8)));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Header length N and header text of an encoded file. */
function headerOf(file: Uint8Array): { n: number; text: string } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { n, text: new TextDecoder().decode(file.subarray(8, 8 + n)) };
}

Deno.test("safetensors: byte layout of a tiny file, computed by hand", async () => {
  const data = new Float32Array([0, 1, 2, 3, 4, 5]);
  const got = await encodeSafetensors({ "attn.0": { dtype: "F32", shape: [1, 2, 3], data } }, {}, {
    checksum: false,
  });
  // Header: compact JSON, keys dtype, shape, data_offsets; 64 characters, already a multiple of 8 (no padding).
  const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  assertEquals(header.length, 64);
  const expected = [
    ...[64, 0, 0, 0, 0, 0, 0, 0], // N, little-endian u64
    ...latin(header),
    // float32 little-endian: 0 = 00000000, 1 = 3f800000, 2 = 40000000, 3 = 40400000, 4 = 40800000, 5 = 40a00000
    ...[0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xa0, 0x40],
  ];
  assertEquals(Array.from(got), expected);
  const back = await decodeSafetensors(got, "tiny.safetensors");
  assertEquals(back, { tensors: { "attn.0": { dtype: "F32", shape: [1, 2, 3], data } }, metadata: {} });

  // One character shorter name and one more dimension: 65 characters → 7 spaces of padding, N = 72.
  const padded = await encodeSafetensors({ attn0: { dtype: "F32", shape: [1, 1, 2, 3], data } }, {}, {
    checksum: false,
  });
  const h2 = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
  assertEquals(h2.length, 65);
  assertEquals(Array.from(padded.subarray(0, 8 + 72)), [72, 0, 0, 0, 0, 0, 0, 0, ...latin(h2 + "       ")]);
  assertEquals(padded.length, 8 + 72 + 24);

  // No tensors: "{}" + 6 spaces; metadata only: 35 characters + 5 spaces.
  assertEquals(Array.from(await encodeSafetensors({}, {}, { checksum: false })), [
    8,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...latin("{}      "),
  ]);
  const meta = await encodeSafetensors({}, { framework: "pt" }, { checksum: false });
  assertEquals(Array.from(meta), [
    40,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...latin('{"__metadata__":{"framework":"pt"}}     '),
  ]);
});

Deno.test("safetensors: buffer order is by descending dtype alignment, then name; tensors start aligned", async () => {
  const file = await encodeSafetensors(
    {
      b_f32: { dtype: "F32", shape: [3], data: new Float32Array(3) },
      a_u8: { dtype: "U8", shape: [3], data: new Uint8Array(3) },
      z_i64: { dtype: "I64", shape: [1], data: new BigInt64Array(1) },
      a_f32: { dtype: "F32", shape: [1], data: new Float32Array(1) },
      m_f64: { dtype: "F64", shape: [2], data: new Float64Array(2) },
    },
    { b: "2", a: "1", "10": "x" },
    { checksum: false },
  );
  const { n, text } = headerOf(file);
  assertEquals(n % 8, 0);
  const h = JSON.parse(text);
  const names = Object.keys(h);
  assertEquals(names, ["__metadata__", "z_i64", "m_f64", "a_f32", "b_f32", "a_u8"]);
  // Metadata keys sorted (as written; the integer-like key does not jump ahead).
  assertTrue(text.startsWith('{"__metadata__":{"10":"x","a":"1","b":"2"},'), text);
  assertEquals(h.z_i64.data_offsets, [0, 8]);
  assertEquals(h.m_f64.data_offsets, [8, 24]);
  assertEquals(h.a_f32.data_offsets, [24, 28]);
  assertEquals(h.b_f32.data_offsets, [28, 40]);
  assertEquals(h.a_u8.data_offsets, [40, 43]);
  assertEquals(file.length, 8 + n + 43);
});

Deno.test("safetensors: round trip is bit-exact for every dtype, odd floats, empty tensors and scalars", async () => {
  const payloadNan = new Float32Array(new Uint32Array([0x7fc00001]).buffer)[0];
  const tensors: Record<string, SafeTensor> = {
    f32: {
      dtype: "F32",
      shape: [2, 5],
      data: new Float32Array([
        -0,
        0,
        NaN,
        payloadNan,
        1e-45,
        1.1754942e-38,
        Infinity,
        -Infinity,
        3.4028235e38,
        0.1,
      ]),
    },
    f64: { dtype: "F64", shape: [4], data: new Float64Array([-0, 5e-324, NaN, Math.PI]) },
    scalar: { dtype: "F32", shape: [], data: new Float32Array([42.5]) },
    empty: { dtype: "F32", shape: [0], data: new Float32Array(0) },
    empty2: { dtype: "I64", shape: [2, 0, 3], data: new BigInt64Array(0) },
    i64: { dtype: "I64", shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, -1n]) },
    u64: { dtype: "U64", shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    i32: { dtype: "I32", shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
    u32: { dtype: "U32", shape: [1], data: new Uint32Array([2 ** 32 - 1]) },
    i16: { dtype: "I16", shape: [1], data: new Int16Array([-32768]) },
    u16: { dtype: "U16", shape: [1], data: new Uint16Array([65535]) },
    i8: { dtype: "I8", shape: [2], data: new Int8Array([-128, 127]) },
    u8: { dtype: "U8", shape: [1, 1, 1], data: new Uint8Array([255]) },
    mask: { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
  };
  const metadata = { model: "vibann", "note é": "ünïcode ✓" };
  const file = await encodeSafetensors(tensors, metadata);
  const back = await decodeSafetensors(file, "rt.safetensors", { requireChecksum: true });
  assertEquals(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const b = back.tensors[name];
    assertEquals([b.dtype, b.shape, b.data.constructor], [t.dtype, t.shape, t.data.constructor], name);
    assertEquals(bytesOf(b.data), bytesOf(t.data), `${name} bytes`);
  }
  // The checksum is the SHA-256 of the data buffer (everything after the header).
  const { n } = headerOf(file);
  assertEquals(back.metadata, { ...metadata, [CHECKSUM_KEY]: await sha256Hex(file.subarray(8 + n)) });
  // Deterministic: the same input gives the same bytes, whatever the insertion order.
  const reversed = Object.fromEntries(Object.entries(tensors).reverse());
  assertEquals(await encodeSafetensors(reversed, metadata), file);
  // Decoded arrays are copies: editing the file afterwards does not change them.
  file.fill(0, 8 + n);
  assertEquals(back.tensors.scalar.data[0], 42.5);
});

Deno.test("safetensors: altered or truncated data are refused", async () => {
  const file = await encodeSafetensors({
    w: { dtype: "F32", shape: [4], data: new Float32Array([1, 2, 3, 4]) },
    b: { dtype: "F32", shape: [1], data: new Float32Array([0.5]) },
  });
  const flipped = file.slice();
  flipped[flipped.length - 3] ^= 0x10;
  await assertRejectsUserError(
    () => decodeSafetensors(flipped, "m.safetensors"),
    "m.safetensors",
    "modified or corrupted",
  );
  await assertRejectsUserError(
    () => decodeSafetensors(file.subarray(0, file.length - 1), "cut.safetensors"),
    "cut.safetensors",
    "tensor 'w'",
    "beyond the data buffer",
  );
  await assertRejectsUserError(
    () => decodeSafetensors(file.subarray(0, 40), "cut2.safetensors"),
    "cut2.safetensors",
  );
  await assertRejectsUserError(
    () => decodeSafetensors(file.subarray(0, 5), "tiny.safetensors"),
    "tiny.safetensors",
  );
  // Without a checksum the same flip goes unnoticed, unless one is required.
  const plain = await encodeSafetensors(
    { w: { dtype: "F32", shape: [1], data: new Float32Array([1]) } },
    {},
    {
      checksum: false,
    },
  );
  await decodeSafetensors(plain, "p.safetensors");
  await assertRejectsUserError(
    () => decodeSafetensors(plain, "p.safetensors", { requireChecksum: true }),
    "p.safetensors",
    "no sha256",
  );
});

Deno.test("safetensors: malformed headers are refused naming the file and the tensor", async () => {
  const f = "bad.safetensors";
  const t = (s: string) => `{"t":{"dtype":"F32","shape":[2],"data_offsets":${s}}}`;
  const eight = new Uint8Array(8);
  const cases: [Uint8Array, ...string[]][] = [
    [raw(t("[0,8]"), eight).subarray(0, 20), "header length", "exceeds the file size"],
    [
      (() => {
        const b = raw(t("[0,8]"), eight);
        new DataView(b.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
        return b;
      })(),
      "exceeds the file size",
    ],
    [
      (() => {
        const b = raw(t("[0,8]"), eight);
        b[8 + 3] = 0xff; // inside the name: not UTF-8
        return b;
      })(),
      "not UTF-8",
    ],
    [raw('{"t": {"dtype": "F32",}}', eight), "not valid JSON"],
    [raw("[1, 2]", eight), "not a safetensors file"],
    [raw(t("[0,8]").replace("F32", "F33"), eight), "tensor 't'", "unknown dtype 'F33'"],
    [raw(t("[0,4]").replace("F32", "BF16"), new Uint8Array(4)), "tensor 't'", "'BF16' is not supported"],
    [raw(t("[0,12]"), new Uint8Array(12)), "tensor 't'", "needs 8 bytes", "span 12"],
    [raw(t("[0,8]").replace("[2]", "[2.5]"), eight), "tensor 't'", "shape"],
    [raw(t("[0,8]").replace("[2]", "[-2]"), eight), "tensor 't'", "shape"],
    [raw(t("[8,0]"), eight), "tensor 't'", "end before they begin"],
    [raw(t("[0]"), eight), "tensor 't'", "data_offsets"],
    [raw(t("[0,8]"), new Uint8Array(4)), "tensor 't'", "beyond the data buffer"],
    [raw(t("[0,8]"), new Uint8Array(12)), "4 trailing bytes"],
    [raw(t("[4,12]"), new Uint8Array(12)), "tensor 't'", "leave a gap"],
    [
      raw(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
        new Uint8Array(12),
      ),
      "tensor 'b'",
      "overlap",
    ],
    [
      raw(t("[0,8]").replace('"shape"', '"extra":1,"shape"'), eight),
      "tensor 't'",
      "unexpected header field 'extra'",
    ],
    [raw('{"t":[1,2]}', eight), "tensor 't'", "not an object"],
    [raw('{"__metadata__":{"k":1}}'), "__metadata__", "'k'"],
    [raw('{"__metadata__":[]}'), "__metadata__"],
    [
      raw('{"t":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', new Uint8Array([1, 2])),
      "tensor 't'",
      "not a bool",
    ],
  ];
  for (const [bytes, ...parts] of cases) {
    await assertRejectsUserError(() => decodeSafetensors(bytes, f), f, ...parts);
  }
  // The same header, well formed, is accepted (so each case above fails for its own reason).
  const ok = await decodeSafetensors(raw(t("[0,8]"), bytesOf(new Float32Array([1, 2]))), f);
  assertEquals(ok.tensors.t.data, new Float32Array([1, 2]));
  // An unpadded header is accepted too (padding is the writer's courtesy, not a reader's requirement).
  assertEquals((await decodeSafetensors(raw(t("[0,8]"), eight, false), f)).tensors.t.shape, [2]);
});

Deno.test("safetensors: requireFinite names the tensor and element", async () => {
  const file = await encodeSafetensors({
    ok: { dtype: "F64", shape: [1], data: new Float64Array([1]) },
    w: { dtype: "F32", shape: [3], data: new Float32Array([1, Infinity, NaN]) },
  });
  await decodeSafetensors(file, "x.safetensors"); // allowed by default
  await assertRejectsUserError(
    () => decodeSafetensors(file, "x.safetensors", { requireFinite: true }),
    "x.safetensors",
    "tensor 'w' element 1",
    "not finite",
  );
});

Deno.test("safetensors: expect — exact names and shapes, first offender named", async () => {
  const file = await encodeSafetensors({
    "dense/kernel": { dtype: "F32", shape: [2, 3], data: new Float32Array(6) },
    "dense/bias": { dtype: "F32", shape: [3], data: new Float32Array(3) },
  });
  const f = "m.safetensors";
  await decodeSafetensors(file, f, { expect: { "dense/kernel": [2, 3], "dense/bias": [3] } });
  await assertRejectsUserError(
    () =>
      decodeSafetensors(file, f, { expect: { "dense/kernel": [2, 3], "dense/bias": [3], "out/bias": [1] } }),
    f,
    "tensor 'out/bias' is missing",
  );
  await assertRejectsUserError(
    () => decodeSafetensors(file, f, { expect: { "dense/kernel": [3, 2], "dense/bias": [3] } }),
    f,
    "tensor 'dense/kernel' has shape [2, 3], expected [3, 2]",
  );
  await assertRejectsUserError(
    () => decodeSafetensors(file, f, { expect: { "dense/kernel": [2, 3] } }),
    f,
    "unexpected tensor 'dense/bias'",
  );
  // A scalar is not a one-element vector.
  const s = await encodeSafetensors({ s: { dtype: "F32", shape: [], data: new Float32Array(1) } });
  await assertRejectsUserError(
    () => decodeSafetensors(s, f, { expect: { s: [1] } }),
    "has shape [], expected [1]",
  );
});

Deno.test("safetensors: encoding refuses caller mistakes with a plain Error (a bug, not bad input)", async () => {
  const bad: [Record<string, SafeTensor>, Record<string, string>?][] = [
    [{ w: { dtype: "F32", shape: [2], data: new Float64Array(2) } as unknown as SafeTensor }],
    [{ w: { dtype: "F32", shape: [3], data: new Float32Array(2) } }],
    [{ w: { dtype: "F32", shape: [-1], data: new Float32Array(0) } }],
    [{ w: { dtype: "F16", shape: [1], data: new Float32Array(1) } as unknown as SafeTensor }],
    [{ __metadata__: { dtype: "F32", shape: [1], data: new Float32Array(1) } }],
    [{}, { sha256: "mine" }],
    [{}, { n: 1 as unknown as string }],
  ];
  for (const [tensors, meta] of bad) {
    let thrown: unknown;
    try {
      await encodeSafetensors(tensors, meta);
    } catch (e) {
      thrown = e;
    }
    assertTrue(
      thrown instanceof Error && !(thrown instanceof UserError),
      `expected an Error for ${Object.keys(tensors)}`,
    );
  }
});
