/**
 * Model directories: save/load round trips (bit-exact tensors, identical predictions, config fields), the on-disk
 * layout (names, shapes, checksums), refusal of damaged or inconsistent directories, and the atomic replacement rules.
 */
import { CpuBackend } from "../../nn/cpu_backend.ts";
import { type VibannBase, VibannReference } from "../../nn/models/vibann.ts";
import { predictVibann } from "../../nn/models/vibann_predict.ts";
import {
  CONFIG_FILE,
  loadModelDir,
  memberScalers,
  MODEL_DIR_FORMAT,
  type ModelDirInput,
  prettyJson,
  readModelTensors,
  saveModelDir,
  WEIGHTS_FILE,
  writeJsonAtomic,
} from "../../nn/models/model_dir.ts";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../../nn/io/safetensors.ts";
import { join } from "../../data/paths.ts";
import { randn } from "../_helpers.ts";
import { assertEquals, assertRejectsUserError, assertTrue } from "../data/_helpers.ts";
import { importPublished, NO_PUBLISHED, noteSkip, tempDir } from "./_helpers.ts";

noteSkip("the model-directory round trip of the published weights in model_dir_test.ts");

const be = new CpuBackend("f32");
const ELEMENTS = ["Fe", "Ni", "B", "Si"];

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A small model with every tensor set to seeded random values (variances positive). */
function randomModel(
  o: { latentDim: number | number[]; dropout: number | number[]; replicas?: number; seed?: number },
) {
  const m = new VibannReference({ elements: ELEMENTS.length, backend: be, ...o });
  m.namedTensors().forEach(({ name, tensor }, k) => {
    const v = randn(tensor.size, 100 + k + 1000 * (o.seed ?? 0), 0.5);
    be.write(tensor, name.endsWith("moving_variance") ? v.map((x) => Math.abs(x) + 0.1) : v);
  });
  return m.eval();
}

function input(R: number): ModelDirInput {
  return {
    elements: ELEMENTS,
    scalers: Array.from(
      { length: R },
      (_, r) => ({ loadMean: 2 + r, loadScale: 3, yMean: 1000 + r, yScale: 500 }),
    ),
    loadRange: [0.01, 19.6],
    source: "trained",
  };
}

/** Expects the directory's model to have exactly `want`'s tensors, byte for byte. */
async function assertSameTensors(got: VibannBase, want: VibannBase): Promise<void> {
  const a = await readModelTensors(got), b = await readModelTensors(want);
  assertEquals(Object.keys(a), Object.keys(b));
  for (const name of Object.keys(b)) {
    assertEquals(a[name].shape, b[name].shape, name);
    assertEquals(bytesOf(a[name].data), bytesOf(b[name].data), name);
  }
}

function hiddenSiblings(parent: string): string[] {
  return [...Deno.readDirSync(parent)].map((e) => e.name).filter((n) => n.startsWith("."));
}

Deno.test({
  name: "model dir: the published model round trips bit-exactly, with the specified layout and predictions",
  ignore: NO_PUBLISHED,
  async fn() {
    const imp = await importPublished(be);
    const parent = tempDir(), dir = join(parent, "published");
    try {
      const cfg = await saveModelDir(dir, imp.model, { ...imp.input, created: "2026-01-01T00:00:00.000Z" });
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [CONFIG_FILE, WEIGHTS_FILE]);
      assertEquals(hiddenSiblings(parent), []);
      const weights = Deno.readFileSync(join(dir, WEIGHTS_FILE));
      const onDisk = JSON.parse(Deno.readTextFileSync(join(dir, CONFIG_FILE)));
      assertEquals(onDisk, JSON.parse(JSON.stringify(cfg)));
      assertEquals(onDisk.weights_sha256, await sha256(weights));
      assertEquals(
        [onDisk.format, onDisk.arch, onDisk.members, onDisk.latent_dim, onDisk.latent_dims, onDisk.dropout],
        [MODEL_DIR_FORMAT, "reference", 1, 64, [64], [0.11230976899293776]],
      );
      assertEquals([onDisk.bn_eps, onDisk.load_range, onDisk.beta, onDisk.conformal], [1e-3, [0.01, 19.6], [
        null,
      ], null]);
      assertEquals(onDisk.scalers, [{
        load_mean: 2.1489977123692285,
        load_scale: 3.3668845897932633,
        y_mean: 1091.5692138671875,
        y_scale: 555.44775391625,
      }]);
      assertEquals([onDisk.source, onDisk.data, onDisk.created], [
        "keras-import",
        null,
        "2026-01-01T00:00:00.000Z",
      ]);
      assertEquals(onDisk.elements.length, 56);

      // The file itself: 58 float32 tensors, Keras shapes, format tag and data checksum.
      const file = await decodeSafetensors(weights, "w", { requireChecksum: true });
      assertEquals(Object.keys(file.tensors).length, 58);
      assertEquals(file.metadata.format, MODEL_DIR_FORMAT);
      const shape = (n: string) => file.tensors[n].shape;
      assertEquals(shape("Comp_Pair_D1/kernel"), [1540, 128]);
      assertEquals(shape("Hard_Trunk_D1/kernel"), [96, 64]);
      assertEquals(shape("Load_Enc_D1/kernel"), [1, 32]);
      assertEquals(shape("Comp_Pair_BN1/moving_variance"), [128]);
      assertEquals(shape("Output_Layer/bias"), [1]);
      assertTrue(Object.values(file.tensors).every((t) => t.dtype === "F32"));

      const { model, config } = await loadModelDir(dir, be);
      try {
        assertEquals(config, cfg);
        await assertSameTensors(model, imp.model);
        const comp = new Float32Array(56 * 2);
        comp.set([0.5, 0.5], 0), comp.set([0.2, 0.8], 56 + 14);
        const a = await predictVibann(be, imp.model, imp.input.scalers, comp, [0.245, 5], { mc: 3 });
        const b = await predictVibann(be, model, memberScalers(config), comp, [0.245, 5], { mc: 3 });
        assertEquals(b.det, a.det);
        assertEquals(b.samples, a.samples);
      } finally {
        model.dispose();
      }
    } finally {
      imp.model.dispose();
      Deno.removeSync(parent, { recursive: true });
    }
  },
});

Deno.test("model dir: several members with different latent sizes and dropout round trip", async () => {
  const m = randomModel({ latentDim: [8, 16, 32], dropout: [0.1, 0.2, 0.3], replicas: 3, seed: 5 });
  const parent = tempDir(), dir = join(parent, "search");
  try {
    const conformal = {
      kind: "normalized" as const,
      n: 50,
      alphas: [0.1, 0.01],
      q: [1.7, Infinity],
      sigmaFloor: 1e-6,
    };
    const cfg = await saveModelDir(dir, m, {
      ...input(3),
      beta: [1e-3, 2.5e-4, null],
      conformal,
      options: { protocol: "search", epochs: 10 },
      data: { file: "H_v_dataset.csv", sha256: "ab".repeat(32), n_rows: 673 },
    });
    const raw = JSON.parse(Deno.readTextFileSync(join(dir, CONFIG_FILE)));
    assertEquals(raw.conformal.q, [1.7, null]); // ∞ is stored as null …
    const { model, config } = await loadModelDir(dir, be, { seed: 5 });
    try {
      assertEquals(config.conformal, conformal); // … and restored
      assertEquals(config, cfg);
      assertEquals([config.members, config.latent_dim, config.latent_dims], [3, 32, [8, 16, 32]]);
      assertEquals(config.dropout, [0.1, 0.2, 0.3]);
      assertEquals(config.beta, [1e-3, 2.5e-4, null]);
      const file = await decodeSafetensors(Deno.readFileSync(join(dir, WEIGHTS_FILE)), "w");
      const shape = (n: string) => file.tensors[n].shape;
      assertEquals(shape("z_mu/kernel"), [3, 64, 32]);
      assertEquals(shape("Comp_Pair_D1/kernel"), [3, 6, 128]);
      assertEquals(shape("Comp_Attention/kernel"), [3, 4, 4]);
      assertEquals(shape("Comp_Pair_BN1/gamma"), [3, 128]);
      assertEquals(shape("Output_Layer/bias"), [3, 1]);
      assertEquals(shape("Load_Enc_D1/kernel"), [3, 1, 32]);
      await assertSameTensors(model, m);
      const comp = Float32Array.from([0.7, 0.1, 0.2, 0, 0.25, 0.25, 0.25, 0.25]);
      const a = await predictVibann(be, m, input(3).scalers, comp, [1, 10], { mc: 4 });
      const b = await predictVibann(be, model, memberScalers(config), comp, [1, 10], { mc: 4 });
      assertEquals(b.det, a.det);
      assertEquals(b.samples, a.samples);
      assertEquals(b.mu, a.mu);
    } finally {
      model.dispose();
    }
  } finally {
    m.dispose();
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("model dir: damaged or inconsistent directories are refused, naming the file and the problem", async () => {
  const m = randomModel({ latentDim: 8, dropout: 0.1 });
  const parent = tempDir();
  const good = join(parent, "good");
  try {
    await saveModelDir(good, m, input(1));
    const weights = Deno.readFileSync(join(good, WEIGHTS_FILE));
    const config = JSON.parse(Deno.readTextFileSync(join(good, CONFIG_FILE)));
    let k = 0;
    /** A copy of the good directory with replaced files (null = removed). */
    const variant = (files: { weights?: Uint8Array | null; config?: unknown }) => {
      const d = join(parent, `case${k++}`);
      Deno.mkdirSync(d);
      const w = files.weights === undefined ? weights : files.weights;
      if (w) Deno.writeFileSync(join(d, WEIGHTS_FILE), w);
      const c = files.config === undefined ? config : files.config;
      if (c !== null) {
        Deno.writeTextFileSync(join(d, CONFIG_FILE), typeof c === "string" ? c : JSON.stringify(c));
      }
      return d;
    };
    const refused = (d: string, ...parts: string[]) =>
      assertRejectsUserError(() => loadModelDir(d, be), ...parts);
    const W = `${WEIGHTS_FILE}:`, C = `${CONFIG_FILE}:`;

    // the good one loads
    (await loadModelDir(good, be)).model.dispose();

    // weights: truncated, a flipped data byte, a changed format tag, a different (valid) file
    await refused(variant({ weights: weights.subarray(0, weights.length - 100) }), W, "truncated");
    const flipped = weights.slice();
    flipped[flipped.length - 7] ^= 0x10;
    await refused(variant({ weights: flipped }), W, "modified or corrupted");
    const text = Array.from(weights, (b) => String.fromCharCode(b)).join("");
    const retagged = Uint8Array.from(
      text.replace(MODEL_DIR_FORMAT, "alloy-vibann/9"),
      (c) => c.charCodeAt(0),
    );
    await refused(
      variant({ weights: retagged }),
      W,
      "format tag 'alloy-vibann/9', expected 'alloy-vibann/1'",
    );
    const other = randomModel({ latentDim: 8, dropout: 0.1, seed: 9 });
    await saveModelDir(join(parent, "other"), other, input(1));
    other.dispose();
    const otherWeights = Deno.readFileSync(join(parent, "other", WEIGHTS_FILE));
    await refused(variant({ weights: otherWeights }), W, "SHA-256 does not match weights_sha256");

    // a tensor missing or extra (file re-encoded consistently, config checksum updated)
    const decoded = (await decodeSafetensors(weights, "w")).tensors;
    const reencode = async (tensors: Record<string, SafeTensor>) => {
      const bytes = await encodeSafetensors(tensors, { format: MODEL_DIR_FORMAT });
      return { weights: bytes, config: { ...config, weights_sha256: await sha256(bytes) } };
    };
    const { "z_logvar/bias": _dropped, ...fewer } = decoded;
    await refused(variant(await reencode(fewer)), W, "tensor 'z_logvar/bias' is missing");
    await refused(
      variant(await reencode({ ...decoded, "Extra/kernel": decoded["z_mu/bias"] })),
      W,
      "unexpected tensor 'Extra/kernel'",
    );

    // config: shapes it implies disagree with the weights
    await refused(
      variant({ config: { ...config, latent_dim: 16, latent_dims: [16] } }),
      W,
      "tensor 'z_mu/kernel' has shape [64, 8], expected [64, 16]",
    );
    await refused(
      variant({ config: { ...config, elements: [...ELEMENTS, "Co"] } }),
      W,
      "tensor 'Comp_Attention/kernel' has shape [4, 4], expected [5, 5]",
    );
    // config: format tag, fields, JSON, missing files
    await refused(
      variant({ config: { ...config, format: "alloy-vibann/0" } }),
      C,
      "unsupported model format 'alloy-vibann/0', expected 'alloy-vibann/1'",
    );
    const { format: _f, ...untagged } = config;
    await refused(variant({ config: untagged }), C, "(missing 'format')");
    await refused(
      variant({ config: { ...config, members: 2 } }),
      C,
      "'latent_dims' must be a list of 2 value(s)",
    );
    await refused(variant({ config: { ...config, latent_dim: 9 } }), C, "'latent_dim' is 9");
    await refused(variant({ config: { ...config, elements: ["Fe", "Fe", "B", "Si"] } }), C, "lists Fe twice");
    await refused(
      variant({ config: { ...config, scalers: [{ ...config.scalers[0], y_scale: 0 }] } }),
      C,
      "'scalers' item 0",
    );
    await refused(variant({ config: { ...config, dropout: [1.5] } }), C, "'dropout' item 0");
    await refused(variant({ config: { ...config, conformal: { kind: "x" } } }), C, "conformal model: kind");
    await refused(variant({ config: { ...config, weights_sha256: "abc" } }), C, "'weights_sha256'");
    await refused(variant({ config: "{ not json" }), C, "not valid JSON");
    await refused(variant({ config: null }), C, "cannot read the model configuration: no such file");
    await refused(variant({ weights: null }), W, "cannot read the model weights: no such file");
    await refused(join(parent, "nowhere"), "nowhere: cannot open the model directory: no such file");
    await refused(join(good, CONFIG_FILE), "not a model directory");
  } finally {
    m.dispose();
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("model dir: saving replaces a model directory, refuses other folders, leaves no temporary files", async () => {
  const a = randomModel({ latentDim: 8, dropout: 0.1, seed: 1 });
  const b = randomModel({ latentDim: 4, dropout: 0.2, seed: 2 });
  const parent = tempDir(), dir = join(parent, "m");
  try {
    await saveModelDir(dir, a, input(1));
    await writeJsonAtomic(join(dir, "metrics.json"), { rmse: 51.2, folds: [1, 2] });
    assertEquals(JSON.parse(Deno.readTextFileSync(join(dir, "metrics.json"))), { rmse: 51.2, folds: [1, 2] });
    // replacing: the new model, and the old extra files are gone with the old directory
    await saveModelDir(dir, b, input(1));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [CONFIG_FILE, WEIGHTS_FILE]);
    const { model, config } = await loadModelDir(dir, be);
    assertEquals([config.latent_dim, config.dropout], [4, [0.2]]);
    await assertSameTensors(model, b);
    model.dispose();
    assertEquals(hiddenSiblings(parent), []);

    // a folder holding anything else is never replaced
    const foreign = join(parent, "notes");
    Deno.mkdirSync(foreign);
    Deno.writeTextFileSync(join(foreign, "todo.txt"), "keep me");
    await assertRejectsUserError(
      () => saveModelDir(foreign, a, input(1)),
      "notes",
      "is not a model directory",
    );
    assertEquals(Deno.readTextFileSync(join(foreign, "todo.txt")), "keep me");
    await assertRejectsUserError(
      () => saveModelDir(join(foreign, "todo.txt"), a, input(1)),
      "exists and is not a folder",
    );
    assertEquals(hiddenSiblings(parent), []);
    assertEquals(hiddenSiblings(foreign), []);

    // an empty folder is fine; a non-finite weight is refused before anything is written
    const empty = join(parent, "empty");
    Deno.mkdirSync(empty);
    await saveModelDir(empty, a, input(1));
    const bad = randomModel({ latentDim: 2, dropout: 0.1 });
    be.write(bad.out.bias!, [NaN]);
    await assertRejectsUserError(
      () => saveModelDir(join(parent, "nan"), bad, input(1)),
      "tensor Output_Layer/bias element 0 is not finite",
    );
    bad.dispose();
    assertEquals([...Deno.readDirSync(parent)].map((e) => e.name).sort(), ["empty", "m", "notes"]);
  } finally {
    a.dispose(), b.dispose();
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("prettyJson: indented objects, one-line plain arrays, same values as JSON.stringify", () => {
  const v = { a: [1, "x,y", null], b: { c: [{ d: 1 }], e: [] }, f: Infinity, g: undefined, h: new Date(0) };
  const text = prettyJson(v);
  assertEquals(JSON.parse(text), JSON.parse(JSON.stringify(v)));
  assertTrue(text.includes(`"a": [1, "x,y", null]`), text);
  assertTrue(text.includes(`\n  "b": {\n    "c": [\n      {\n        "d": 1`), text);
});
