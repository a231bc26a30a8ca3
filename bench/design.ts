/**
 * Design benchmark: the reference pipeline's sampler workload — 25 chains × 700 steps × 20 MC-dropout passes
 * (reference §6: N_CHAINS, N_STEPS, T_MC_IN_MCMC) — run by `runDesign` (`--method mcmc --maximize` at 0.98 N,
 * seed 1, every other setting at its default), timed from the first sampler step to the end of the search.
 *
 * Model: the published weights imported from `$ALLOY_MODELS_DIR/vibann-published/` when they are there, otherwise a
 * freshly initialised model of the same shape (56 elements, L = 64, the published dropout and scalers). Data: the
 * hardness CSV in `$ALLOY_DATA_DIR` when it is there (never downloaded), otherwise a synthetic one with the same
 * columns. Both are written to a temporary directory and removed afterwards.
 *
 * Reported: ms per sampler step, search seconds, whole-run seconds, device dispatches per step, the model and data
 * used, and the adapter.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { BenchResult } from "./kernels.ts";
import { WebGpuBackend } from "../nn/webgpu_backend.ts";
import { CpuBackend } from "../nn/cpu_backend.ts";
import { VibannReference } from "../nn/models/vibann.ts";
import {
  HARDNESS_ELEMENTS,
  importKerasModel,
  PUBLISHED_BN_EPS,
  PUBLISHED_DROPOUT,
  PUBLISHED_LOAD_RANGE,
} from "../nn/models/keras_import.ts";
import { type ModelDirInput, saveModelDir } from "../nn/models/model_dir.ts";
import { runDesign } from "../design/design_run.ts";
import { join } from "../data/paths.ts";
import { Rng } from "../nn/random.ts";

/** The reference workload. */
const WORKLOAD = { chains: 25, steps: 700, mc: 20, load: 0.98, seed: 1 } as const;

/** The published model's scalers (used for the fresh model too, so its outputs are in HV). */
const PUBLISHED_SCALERS = {
  loadMean: 2.1489977123692285,
  loadScale: 3.3668845897932633,
  yMean: 1091.5692138671875,
  yScale: 555.44775391625,
};

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the model directory under `dir`: the published import when available, else a fresh model. */
async function writeModel(dir: string): Promise<"published" | "fresh"> {
  const cpu = new CpuBackend("f32");
  const models = Deno.env.get("ALLOY_MODELS_DIR");
  const pub = models ? join(models, "vibann-published") : null;
  const weights = pub ? join(pub, "vib_attention_FINAL_model.weights.h5") : null;
  if (pub && weights && await exists(weights)) {
    const imp = await importKerasModel({
      weights,
      loadScaler: join(pub, "load_scaler_FINAL.npz"),
      yScaler: join(pub, "y_scaler_FINAL.npz"),
      backend: cpu,
    });
    try {
      await saveModelDir(dir, imp.model, imp.input);
    } finally {
      imp.model.dispose();
    }
    return "published";
  }
  const model = new VibannReference({
    elements: HARDNESS_ELEMENTS.length,
    latentDim: 64,
    dropout: PUBLISHED_DROPOUT,
    bnEps: PUBLISHED_BN_EPS,
    seed: 1,
    backend: cpu,
  }).eval();
  const input: ModelDirInput = {
    elements: HARDNESS_ELEMENTS,
    scalers: [PUBLISHED_SCALERS],
    loadRange: PUBLISHED_LOAD_RANGE,
    source: "trained",
    options: { bench: "freshly initialised (bench --suite design)" },
  };
  try {
    await saveModelDir(dir, model, input);
  } finally {
    model.dispose();
  }
  return "fresh";
}

/** The hardness CSV: `$ALLOY_DATA_DIR/H_v_dataset.csv` when present, else a synthetic one written under `dir`. */
async function dataFile(dir: string): Promise<{ path: string; kind: "dataset" | "synthetic" }> {
  const env = Deno.env.get("ALLOY_DATA_DIR");
  const real = env ? join(env, "H_v_dataset.csv") : null;
  if (real && await exists(real)) return { path: real, kind: "dataset" };
  // 538 rows of 2–5 elements (the real file's size), loads from the real set, HV from a smooth formula.
  const rng = new Rng(7, 1);
  const E = HARDNESS_ELEMENTS.length;
  const lines = [[...HARDNESS_ELEMENTS, "Load", "HV"].join(",")];
  for (let i = 0; i < 538; i++) {
    const x = new Float64Array(E);
    const els = rng.shuffle([...Array(E).keys()]).slice(0, 2 + rng.int(4));
    let s = 0;
    for (const e of els) s += x[e] = 0.1 + rng.uniform();
    for (const e of els) x[e] = Math.round((x[e] / s) * 1000) / 1000;
    x[els[0]] += 1 - x.reduce((a, b) => a + b, 0);
    const load = [0.245, 0.49, 0.98, 1.96, 4.9, 9.8][rng.int(6)];
    const hv = 300 + 900 * x[els[0]] + 400 * x[els[1]] + 20 * Math.log(load + 1);
    lines.push([...Array.from(x, (v) => +v.toFixed(3)), load, hv.toFixed(1)].join(","));
  }
  const path = join(dir, "synthetic_hardness.csv");
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return { path, kind: "synthetic" };
}

/** Runs the design suite (one run of the reference workload; `quick` runs the same workload). */
export async function benchDesign(
  be: Backend,
  _quick: boolean,
  progress: (l: string) => void,
): Promise<BenchResult[]> {
  const tmp = await Deno.makeTempDir({ prefix: "alloy-bench-design-" });
  try {
    const modelDir = join(tmp, "model");
    const model = await writeModel(modelDir);
    const data = await dataFile(tmp);
    progress(
      `bench design: ${WORKLOAD.chains} chains × ${WORKLOAD.steps} steps × ${WORKLOAD.mc} MC passes, ` +
        `${model} model, ${data.kind} data`,
    );
    const dispatches = () => be instanceof WebGpuBackend ? be.rec.dispatches : 0;
    let first: { t: number; dispatches: number; step: number } | null = null;
    let last: { t: number; dispatches: number; step: number } | null = null;
    const res = await runDesign({
      modelDir,
      dataPath: data.path,
      backend: be,
      load: WORKLOAD.load,
      goal: { kind: "maximize" },
      method: "mcmc",
      chains: WORKLOAD.chains,
      steps: WORKLOAD.steps,
      mc: WORKLOAD.mc,
      seed: WORKLOAD.seed,
      onProgress: (stage, done) => {
        if (stage !== "mcmc") return;
        const now = { t: performance.now(), dispatches: dispatches(), step: done };
        first ??= now;
        last = now;
      },
    });
    const mc = res.mcmc!;
    const f = first as { t: number; dispatches: number; step: number } | null;
    const l = last as { t: number; dispatches: number; step: number } | null;
    const between = f && l && l.step > f.step ? l.step - f.step : 0;
    const msPerStep = between > 0 ? (l!.t - f!.t) / between : (mc.seconds * 1000) / mc.stepsRun;
    const out: BenchResult = {
      suite: "design",
      name: "mcmc_reference_workload",
      shape: [WORKLOAD.chains, WORKLOAD.steps, WORKLOAD.mc],
      median_ms: +msPerStep.toFixed(3),
      ms_per_step: +msPerStep.toFixed(3),
      search_s: +mc.seconds.toFixed(3),
      run_s: +res.seconds.toFixed(3),
      steps_run: mc.stepsRun,
      target_calls: mc.targetCalls,
      dispatches_per_step: between > 0 ? +((l!.dispatches - f!.dispatches) / between).toFixed(2) : null,
      acceptance: +mc.acceptance.toFixed(4),
      model,
      data: data.kind,
      device: be.kind,
      adapter: be.description,
    };
    progress(
      `bench design: ${out.ms_per_step} ms/step, search ${out.search_s} s, run ${out.run_s} s, ` +
        `${out.dispatches_per_step} dispatches/step`,
    );
    return [out];
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
