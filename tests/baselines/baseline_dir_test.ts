/**
 * Baseline model directories: save → load round trips (identical predictions, every dtype, config fields), refusal
 * of truncated, altered, swapped or inconsistent files with one-line errors naming the file, and the replacement
 * rules (a baseline directory may be replaced, a foreign folder may not; no temporary files are left).
 */
import { cpu } from "../_helpers.ts";
import { assertEquals, assertRejectsUserError, assertTrue } from "../data/_helpers.ts";
import { join } from "../../data/paths.ts";
import type { BaselineKind, BaselineSpec } from "../../nn/baselines/regressor.ts";
import {
  BASELINE_DIR_FORMAT,
  type BaselineDirInput,
  CONFIG_FILE,
  loadBaselineDir,
  readBaselineConfig,
  readConfigFormat,
  saveBaselineDir,
  WEIGHTS_FILE,
} from "../../nn/baselines/baseline_dir.ts";
import { featureMatrix, fitLoadScaler } from "../../nn/baselines/features.ts";
import { decodeSafetensors } from "../../nn/io/safetensors.ts";
import { leastSquaresSpec, meanSpec, sigmaSpec } from "./_fake_specs.ts";

const ELEMENTS = ["Fe", "Ni", "B"];
const SPECS: Partial<Record<BaselineKind, BaselineSpec<any>>> = {
  lasso: leastSquaresSpec(),
  ridge: meanSpec,
  gp: sigmaSpec,
};
const lookup = (k: BaselineKind) => SPECS[k];

const data = {
  fractions: Float64Array.from([0.8, 0.1, 0.1, 0.5, 0.5, 0, 0.2, 0.3, 0.5, 0.6, 0.1, 0.3, 0.1, 0.1, 0.8]),
  elements: 3,
  load: Float64Array.from([0.5, 1, 2, 5, 9.8]),
};
const hv = Float64Array.from([700, 450, 900, 820, 1200]);
const rows = [0, 1, 2, 3, 4];

async function fitted(spec: BaselineSpec<any> = SPECS.lasso!) {
  const loadScaler = fitLoadScaler(data.load, rows);
  const model = await spec.fit(featureMatrix(data, loadScaler), hv, spec.defaults, { backend: cpu, seed: 1 });
  const input: BaselineDirInput = {
    name: spec.name,
    elements: ELEMENTS,
    loadScaler,
    loadRange: [0.5, 9.8],
    data: { file: "H.csv", sha256: "ab".repeat(32), n_rows: 5 },
    metrics: { rmse: 12.5, r2: 0.9 },
    options: { protocol: "cv", seed: 1 },
  };
  return { model, input, loadScaler };
}

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "alloy_baseline_dir_test_" });
}

async function withDir(fn: (tmp: string) => Promise<void>) {
  const tmp = tempDir();
  try {
    await fn(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("baseline dir: save → load predicts identically, keeps every array dtype and the config", async () => {
  await withDir(async (tmp) => {
    const { model, input, loadScaler } = await fitted();
    const dir = join(tmp, "lsq");
    const cfg = await saveBaselineDir(dir, model, input);
    assertEquals(cfg.format, BASELINE_DIR_FORMAT);
    assertEquals(await readConfigFormat(dir), BASELINE_DIR_FORMAT);
    const loaded = await loadBaselineDir(dir, lookup);
    assertEquals(loaded.config, cfg);
    assertEquals(loaded.config, await readBaselineConfig(dir));
    assertEquals(
      [cfg.kind, cfg.name, cfg.elements, cfg.load_range, cfg.metrics, cfg.options],
      ["lasso", "least squares", ELEMENTS, [0.5, 9.8], { rmse: 12.5, r2: 0.9 }, { protocol: "cv", seed: 1 }],
    );
    assertEquals(loaded.loadScaler.toJSON(), loadScaler.toJSON());
    // Predictions on new rows, with the saved scaler: bit-identical.
    const newRows = { fractions: [0.3, 0.3, 0.4, 1, 0, 0], elements: 3, load: [3, 25] };
    const a = await model.predict(featureMatrix(newRows, loadScaler), cpu);
    const b = await loaded.model.predict(featureMatrix(newRows, loaded.loadScaler), cpu);
    assertEquals(b.mean, a.mean);
    assertEquals(loaded.model.state(), model.state(), "arrays (F64, F32, I32) and params round trip exactly");
    // The weights file: the model's arrays under their own names, with tag, kind and checksum in the metadata.
    const file = await decodeSafetensors(await Deno.readFile(join(dir, WEIGHTS_FILE)), "w");
    assertEquals(Object.keys(file.tensors).sort(), ["coef", "coef_f32", "order"]);
    assertEquals([file.tensors.coef.dtype, file.tensors.coef_f32.dtype, file.tensors.order.dtype], [
      "F64",
      "F32",
      "I32",
    ]);
    assertEquals([file.metadata.format, file.metadata.kind], [BASELINE_DIR_FORMAT, "lasso"]);
    assertTrue(/^[0-9a-f]{64}$/.test(file.metadata.sha256));

    // A model with σ and no arrays round trips too.
    const g = await fitted(sigmaSpec);
    await saveBaselineDir(join(tmp, "gp"), g.model, g.input);
    const lg = await loadBaselineDir(join(tmp, "gp"), lookup);
    const x = featureMatrix(newRows, lg.loadScaler);
    assertEquals(await lg.model.predict(x, cpu), await g.model.predict(x, cpu));
  });
});

Deno.test("baseline dir: truncated, altered, swapped or inconsistent files are refused with one line", async () => {
  await withDir(async (tmp) => {
    const { model, input } = await fitted();
    const good = join(tmp, "good");
    await saveBaselineDir(good, model, input);
    const other = await fitted(meanSpec);
    await saveBaselineDir(join(tmp, "other"), other.model, other.input);
    const weights = await Deno.readFile(join(good, WEIGHTS_FILE));
    const config = JSON.parse(await Deno.readTextFile(join(good, CONFIG_FILE)));
    let n = 0;
    /** A copy of the good directory with its weights and/or config replaced. */
    const variant = async (w: Uint8Array | null, c: unknown | null): Promise<string> => {
      const dir = join(tmp, `v${n++}`);
      await Deno.mkdir(dir);
      if (w) await Deno.writeFile(join(dir, WEIGHTS_FILE), w);
      if (c !== null) {
        await Deno.writeTextFile(join(dir, CONFIG_FILE), typeof c === "string" ? c : JSON.stringify(c));
      }
      return dir;
    };
    const refused = async (dir: string, ...parts: string[]) => {
      await assertRejectsUserError(() => loadBaselineDir(dir, lookup), ...parts);
    };

    await refused(await variant(weights.slice(0, weights.length - 5), config), WEIGHTS_FILE);
    await refused(await variant(weights.slice(0, 6), config), WEIGHTS_FILE);
    const flipped = weights.slice();
    flipped[flipped.length - 3] ^= 0x10; // inside the data buffer: the safetensors checksum catches it
    await refused(await variant(flipped, config), WEIGHTS_FILE, "modified or corrupted");
    const headerFlip = weights.slice();
    headerFlip[12] ^= 0x01; // inside the JSON header
    await refused(await variant(headerFlip, config), WEIGHTS_FILE);
    // Another model's (valid) weights: kind and checksum do not match.
    const foreign = await Deno.readFile(join(tmp, "other", WEIGHTS_FILE));
    await refused(await variant(foreign, config), WEIGHTS_FILE, "mismatched files");
    await refused(
      await variant(foreign, { ...config, kind: "ridge" }),
      WEIGHTS_FILE,
      "does not match weights_sha256",
    );
    await refused(await variant(null, config), WEIGHTS_FILE, "cannot read");
    await refused(await variant(weights, null), CONFIG_FILE, "cannot read");
    await refused(await variant(weights, "{ not json"), CONFIG_FILE, "not valid JSON");
    await refused(
      await variant(weights, { ...config, format: "alloy-vibann/1" }),
      "unsupported model format",
    );
    await refused(await variant(weights, { ...config, kind: "tree" }), "'kind'");
    await refused(await variant(weights, { ...config, elements: ["Fe", "Xx", "B"] }), "'elements'");
    await refused(
      await variant(weights, { ...config, load_scaler: { kind: "standard", mean: [1], scale: [-1] } }),
      "'load_scaler'",
    );
    await refused(await variant(weights, { ...config, load_range: [5, 1] }), "'load_range'");
    await refused(await variant(weights, { ...config, weights_sha256: "00" }), "'weights_sha256'");
    await refused(await variant(weights, { ...config, params: [] }), "'params'");
    // The model's own restore refuses bad params: one line, naming the folder.
    const badParams = await variant(weights, { ...config, params: { columns: 7 } });
    await refused(badParams, badParams, "cannot restore", "coef");
    // A kind this build (here: the lookup) does not have.
    await assertRejectsUserError(() => loadBaselineDir(good, () => undefined), "not available in this build");
    await assertRejectsUserError(() => loadBaselineDir(join(tmp, "missing"), lookup), "missing");
    await assertRejectsUserError(() => loadBaselineDir(join(good, CONFIG_FILE), lookup), "not a folder");
    // The good directory still loads.
    await loadBaselineDir(good, lookup);
  });
});

Deno.test("baseline dir: replaces a baseline directory, refuses a foreign folder, leaves no temporary files", async () => {
  await withDir(async (tmp) => {
    const { model, input } = await fitted();
    const dir = join(tmp, "m");
    await saveBaselineDir(dir, model, input);
    const other = await fitted(meanSpec);
    await saveBaselineDir(dir, other.model, other.input);
    assertEquals((await loadBaselineDir(dir, lookup)).config.kind, "ridge", "replaced");
    const foreign = join(tmp, "notes");
    await Deno.mkdir(foreign);
    await Deno.writeTextFile(join(foreign, "keep.txt"), "mine");
    await assertRejectsUserError(
      () => saveBaselineDir(foreign, model, input),
      foreign,
      "not a baseline model",
    );
    assertEquals(await Deno.readTextFile(join(foreign, "keep.txt")), "mine");
    const empty = join(tmp, "empty");
    await Deno.mkdir(empty);
    await saveBaselineDir(empty, model, input);
    const names: string[] = [];
    for await (const e of Deno.readDir(tmp)) names.push(e.name);
    assertEquals(names.sort(), ["empty", "m", "notes"]);
    // Inconsistent input is a programming error, not a user error.
    let msg = "";
    await saveBaselineDir(join(tmp, "x"), model, { ...input, elements: ["Fe", "Fe", "B"] }).catch((e) =>
      msg = e.message
    );
    assertTrue(msg.includes("listed twice"), msg);
    await saveBaselineDir(join(tmp, "y"), model, { ...input, metrics: { rmse: NaN } }).catch((e) =>
      msg = e.message
    );
    assertTrue(msg.includes("metrics.rmse"), msg);
  });
});
