import { openHdf5 } from "../../nn/io/hdf5.ts";
import {
  assertEquals,
  assertNear,
  assertTrue,
  assertUserError,
  tempDir,
  writeTemp,
} from "../data/_helpers.ts";
import { NO_MODELS, noteModelsSkip, readPublished } from "./_helpers.ts";

noteModelsSkip("the HDF5 reader tests on the published weights in hdf5_test.ts");

const H5 = "vib_attention_FINAL_model.weights.h5";

/** Offset of `needle` in `hay`, or -1. */
function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test({
  name: "hdf5: published weights — groups, attributes, shapes, dtypes and values (README §3)",
  ignore: NO_MODELS,
  fn() {
    const bytes = readPublished(H5);
    const f = openHdf5(bytes, H5);
    assertEquals(f.root.keys, ["layers", "optimizer", "vars"]);
    assertEquals(f.root.attrs, {}); // "The file has no root attributes"
    const vars = f.group("layers/dense/vars");
    assertEquals(vars.attrs, { name: "Comp_Pair_D1" });
    assertEquals(vars.keys, ["0", "1"]);
    assertEquals(f.group("/layers/vib_layer/to_mu/vars/").attrs.name, "z_mu"); // slashes at both ends are fine

    const kernel = f.dataset("layers/dense/vars/0");
    assertEquals(kernel.path, "layers/dense/vars/0");
    assertEquals(kernel.shape, [1540, 128]);
    assertEquals(kernel.dtype, "<f4");
    const k = kernel.toFloat32();
    assertEquals(k.length, 1540 * 128);
    // Contiguous float32 storage: the values, in C order, must appear verbatim in the file's bytes.
    const raw = new Uint8Array(k.buffer);
    const at = indexOfBytes(bytes, raw.subarray(0, 64));
    assertTrue(at > 0, "kernel bytes not found in the file");
    assertEquals(bytes.subarray(at, at + raw.length), raw);
    assertEquals(f.dataset("layers/dense/vars/1").shape, [128]);

    // README §4.3: the inert load gate has kernel 1.3977772 and bias 0.
    const gate = f.dataset("layers/feature_wise_attention_1/attn_logits/vars/0");
    assertEquals(gate.shape, [1, 1]);
    assertNear(gate.toFloat32()[0], 1.3977772, 1e-7);
    assertEquals(Array.from(f.dataset("layers/feature_wise_attention_1/attn_logits/vars/1").toFloat32()), [
      0,
    ]);
    // README §3.2: Comp_Pair_BN1 moving variances lie between 2.3e-5 and 7.0e-5 (two significant digits).
    const mv = f.dataset("layers/batch_normalization/vars/3").toFloat64();
    assertEquals(mv.length, 128);
    assertTrue(mv.every((v) => v >= 2.25e-5 && v < 7.05e-5), "moving variances out of the documented range");

    // README §3.3: int64 scalar iteration count, float32 scalar learning rate.
    const it = f.dataset("optimizer/vars/0");
    assertEquals([it.shape, it.dtype], [[], "<i8"]);
    assertEquals(Array.from(it.toFloat64()), [2464]);
    const lr = f.dataset("optimizer/vars/1");
    assertEquals([lr.shape, lr.dtype], [[], "<f4"]);
    assertEquals(lr.toFloat32()[0], Math.fround(0.001));
  },
});

Deno.test({
  name: "hdf5: walking layers/ finds the documented 257,907 parameter values",
  ignore: NO_MODELS,
  fn() {
    const f = openHdf5(readPublished(H5), H5);
    const count = (path: string): number => {
      const node = f.get(path);
      if (node === null) throw new Error(`vanished: ${path}`);
      if (node.kind === "dataset") return node.toFloat32().length;
      return node.keys.reduce((n, k) => n + count(`${path}/${k}`), 0);
    };
    assertEquals(count("layers"), 257_907);
    // Parameter-free layers are groups without datasets (README §3.3).
    assertEquals(f.group("layers/input_layer").attrs, {});
    assertEquals(count("layers/mc_dropout"), 0);
  },
});

Deno.test({
  name: "hdf5: missing paths give null from get() and a UserError naming file and path otherwise",
  ignore: NO_MODELS,
  fn() {
    const f = openHdf5(readPublished(H5), H5);
    assertEquals(f.get("layers/nope"), null);
    assertEquals(f.get("layers/dense/vars/7"), null);
    assertEquals(f.get("layers/dense/vars/0/deeper"), null); // below a dataset
    assertEquals(f.get("")?.kind, "group");
    assertUserError(() => f.dataset("layers/dense/vars/7"), H5, "layers/dense/vars/7");
    assertUserError(() => f.group("layers/nope"), H5, "layers/nope");
    assertUserError(() => f.dataset("layers/dense/vars"), H5, "layers/dense/vars", "is a group");
    assertUserError(() => f.group("layers/dense/vars/0"), H5, "layers/dense/vars/0", "is a dataset");
  },
});

Deno.test({
  name: "hdf5: a truncated copy is refused with a UserError naming the file",
  ignore: NO_MODELS,
  fn() {
    const bytes = readPublished(H5);
    const dir = tempDir();
    try {
      for (const keep of [bytes.length - 1, 3_000_000, 100, 20]) {
        const path = writeTemp(dir, `cut_${keep}.h5`, bytes.subarray(0, keep));
        assertUserError(() => openHdf5(Deno.readFileSync(path), path), path, "truncated");
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "hdf5: damaged metadata becomes a UserError naming the file (and the object when it is known)",
  ignore: NO_MODELS,
  fn() {
    const bytes = readPublished(H5);
    const damaged = (lo: number, hi: number) => {
      const c = bytes.slice();
      c.fill(0xab, lo, hi);
      return c;
    };
    assertUserError(() => openHdf5(damaged(0x60, 0x200), "d1.h5"), "d1.h5");
    // The root opens, but the 'layers' group header is garbage: the error names it.
    assertUserError(
      () => {
        const f = openHdf5(damaged(0x800, 0x4000), "d2.h5");
        f.group("layers").keys;
      },
      "d2.h5",
      "'layers'",
    );
  },
});

Deno.test("hdf5: non-HDF5 input is refused", () => {
  assertUserError(
    () => openHdf5(new TextEncoder().encode("Ag,Al,Au\n0.1,0.2,0.7\n"), "x.csv"),
    "x.csv",
    "not an HDF5",
  );
  assertUserError(() => openHdf5(new Uint8Array(0), "empty.h5"), "empty.h5", "not an HDF5");
  // A valid signature with an unknown superblock version.
  const sig = new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 7, ...new Array(64).fill(0)]);
  assertUserError(() => openHdf5(sig, "v7.h5"), "v7.h5", "superblock version 7");
});

Deno.test("hdf5: a signature-only file is refused as truncated", () => {
  const sig = new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
  assertUserError(() => openHdf5(sig, "sig.h5"), "sig.h5", "truncated");
});
