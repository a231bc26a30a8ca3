/**
 * The HEA model directory: a multi-member model round-trips exactly (weights, scalers, architecture, options), a
 * reloaded member gives the same classifier output, and altered or foreign files are one-line user errors.
 */
import { HEA_MODEL_DIR_FORMAT, loadHeaModelDir, saveHeaModelDir } from "../../nn/models/hea_model_dir.ts";
import { HeaDvae } from "../../nn/models/hea_dvae.ts";
import { StandardScaler } from "../../data/scaler.ts";
import { HEA_TOP30 } from "../../data/hea_dataset.ts";
import { CpuBackend } from "../../nn/cpu_backend.ts";
import { join } from "../../data/paths.ts";
import { assertEquals, assertRejectsUserError, tempDir } from "../data/_helpers.ts";

const cpu = new CpuBackend("f32");

function scalers(R: number) {
  return Array.from(
    { length: R },
    (_, r) => new StandardScaler([1 + r, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8 + r]),
  );
}

Deno.test("a 3-member model directory round-trips weights, scalers, architecture and options", async () => {
  const m = new HeaDvae({
    hidden: [7, 5],
    latentDim: 3,
    compositionBranch: true,
    replicas: 3,
    seed: 4,
    backend: cpu,
  });
  const dir = join(tempDir(), "hea");
  const cfg = await saveHeaModelDir(dir, m, {
    elements: HEA_TOP30,
    tables: "physical",
    scalers: scalers(3),
    options: { protocol: { splits: "paper", member_seeds: [0, 1, 2] } },
  });
  assertEquals(cfg.format, HEA_MODEL_DIR_FORMAT);
  const back = await loadHeaModelDir(dir, cpu);
  assertEquals(back.config, cfg);
  assertEquals(back.model.arch, m.arch);
  assertEquals(back.model.replicas, 3);
  const a = m.namedTensors(), b = back.model.namedTensors();
  assertEquals(a.map((t) => t.name), b.map((t) => t.name));
  for (let i = 0; i < a.length; i++) {
    assertEquals(Array.from(await b[i].tensor.read()), Array.from(await a[i].tensor.read()), a[i].name);
  }
  assertEquals(Array.from(back.scalers[2].scale), Array.from(scalers(3)[2].scale));
  assertEquals((back.config.options.protocol as { member_seeds: number[] }).member_seeds, [0, 1, 2]);
});

Deno.test("altered weights, a bad config field or a foreign folder are one-line user errors", async () => {
  const m = new HeaDvae({ hidden: [4], backend: cpu });
  const dir = join(tempDir(), "hea");
  await saveHeaModelDir(dir, m, { elements: HEA_TOP30, tables: "paper", scalers: scalers(1) });
  const w = join(dir, "weights.safetensors");
  const bytes = await Deno.readFile(w);
  bytes[bytes.length - 3] ^= 0xff;
  await Deno.writeFile(w, bytes);
  await assertRejectsUserError(() => loadHeaModelDir(dir, cpu), "weights_sha256");
  const dir2 = join(tempDir(), "hea2");
  await saveHeaModelDir(dir2, m, { elements: HEA_TOP30, tables: "paper", scalers: scalers(1) });
  const c = join(dir2, "config.json");
  const cfg = JSON.parse(await Deno.readTextFile(c));
  await Deno.writeTextFile(c, JSON.stringify({ ...cfg, tables: "other" }));
  await assertRejectsUserError(() => loadHeaModelDir(dir2, cpu), "config.json", "tables");
  await Deno.writeTextFile(c, JSON.stringify({ ...cfg, format: "alloy-vibann/1" }));
  await assertRejectsUserError(() => loadHeaModelDir(dir2, cpu), "not an HEA model directory");
});
