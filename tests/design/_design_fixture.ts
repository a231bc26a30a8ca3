/**
 * A self-contained design setup for the tests of design/design_run.ts and `alloy design`: a tiny VIBANN (6
 * elements, latent size 3, seeded random weights) saved as a model directory with a splits.json, a 40-row hardness
 * CSV over the same elements, and optionally a Gaussian-process baseline directory (fixed hyperparameters, so no
 * optimisation) for the judge and GP-BO. No real data or published weights are needed.
 */
import { join } from "../../data/paths.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { splitsRecord, writeSplitsJson } from "../../data/split_file.ts";
import { Rng } from "../../nn/random.ts";
import { VibannReference } from "../../nn/models/vibann.ts";
import { saveModelDir } from "../../nn/models/model_dir.ts";
import type { MemberScalers } from "../../nn/models/vibann_predict.ts";
import type { Backend } from "../../nn/backend.ts";
import { gaussianProcess } from "../../nn/baselines/gaussian_process.ts";
import { fitBaseline } from "../../nn/baselines/protocol.ts";
import { saveBaselineDir } from "../../nn/baselines/baseline_dir.ts";
import { randn } from "../_helpers.ts";
import { trainVibann } from "../../nn/train/vibann_trainer.ts";

/** The fixture's element list (model inputs and CSV columns, in this order). */
export const ELEMENTS = ["Fe", "Ni", "Co", "Cr", "B", "Si"];
/** Rows of the fixture CSV. */
export const N_ROWS = 40;
/** Rows of splits.json `sets.train`. */
export const TRAIN_ROWS = 30;
/** Training epochs of the fixture model. */
const EPOCHS = 300;

/** The fixture's paths and in-memory inputs. */
export interface DesignFixture {
  tmp: string;
  /** Model directory (with splits.json). */
  model: string;
  /** Hardness CSV. */
  csv: string;
  /** GP baseline directory (when asked for). */
  gp?: string;
  /** Fractions of the CSV rows (N_ROWS × 6), loads and HV. */
  comp: Float64Array;
  load: Float64Array;
  hv: Float64Array;
  trainRows: number[];
}

/** A model with every tensor set to seeded random values (BatchNorm variances positive), in inference mode. */
export function randomVibann(
  be: Backend,
  o: { latentDim?: number | number[]; dropout?: number | number[]; replicas?: number; seed?: number } = {},
): VibannReference {
  const m = new VibannReference({
    elements: ELEMENTS.length,
    latentDim: o.latentDim ?? 3,
    dropout: o.dropout ?? 0.1,
    replicas: o.replicas,
    seed: o.seed ?? 3,
    backend: be,
  });
  m.namedTensors().forEach(({ name, tensor }, k) => {
    // The decoder's output layer is scaled down so decoded compositions are mixtures that vary with z (random
    // full-size logits would decode every latent to the same pure element), the output layer so HV stays in range.
    const scale = name.startsWith("Comp_Recon") ? 0.2 : name.startsWith("Output_Layer") ? 0.1 : 0.5;
    const v = randn(tensor.size, 500 + k + 1000 * (o.seed ?? 3), scale);
    be.write(tensor, name.endsWith("moving_variance") ? v.map((x) => Math.abs(x) + 0.5) : v);
  });
  return m.eval();
}

/** Scalers of R members (HV ≈ 1000 ± 300 per standardised unit). */
export function fixtureScalers(R: number): MemberScalers[] {
  return Array.from(
    { length: R },
    (_, r) => ({ loadMean: 1, loadScale: 0.8, yMean: 1000 + 10 * r, yScale: 300 }),
  );
}

/** The 40 fixture rows: 2–4 present elements each, loads 0.5/1/2 N, HV linear in B and Cr plus noise. */
function fixtureRows() {
  const rng = new Rng(21, 4);
  const E = ELEMENTS.length;
  const comp = new Float64Array(N_ROWS * E), load = new Float64Array(N_ROWS), hv = new Float64Array(N_ROWS);
  for (let i = 0; i < N_ROWS; i++) {
    const present = rng.shuffle([0, 1, 2, 3, 4, 5]).slice(0, 2 + rng.int(3));
    const raw = new Float64Array(E);
    for (const j of present) raw[j] = 0.1 + rng.uniform();
    const s = raw.reduce((a, b) => a + b, 0);
    for (let j = 0; j < E; j++) comp[i * E + j] = Math.round((raw[j] / s) * 1000) / 1000;
    // Make the row sum exactly 1 on the 0.1 at.% grid.
    const drift = 1 - comp.subarray(i * E, (i + 1) * E).reduce((a, b) => a + b, 0);
    comp[i * E + present[0]] = Math.round((comp[i * E + present[0]] + drift) * 1000) / 1000;
    load[i] = [0.5, 1, 2][i % 3];
    hv[i] = 400 + 900 * comp[i * E + 4] + 500 * comp[i * E + 3] + 30 * load[i] + 20 * rng.normal();
  }
  return { comp, load, hv };
}

/**
 * Writes the fixture into a fresh temporary folder, runs `fn`, and removes the folder.
 * @param o.members model members (default 1); o.gp also writes a GP baseline directory
 */
export async function withDesignFixture(
  be: Backend,
  fn: (f: DesignFixture) => Promise<void>,
  o: { members?: number; gp?: boolean; splits?: boolean } = {},
): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "alloy_design_test_" });
  try {
    const { comp, load, hv } = fixtureRows();
    const E = ELEMENTS.length;
    const lines = [[...ELEMENTS, "Load", "HV"].join(",")];
    for (let i = 0; i < N_ROWS; i++) {
      lines.push(
        [...Array.from(comp.subarray(i * E, (i + 1) * E), String), load[i], hv[i].toFixed(2)].join(","),
      );
    }
    const text = lines.join("\n") + "\n";
    const csv = join(tmp, "hv.csv");
    await Deno.writeTextFile(csv, text);
    const sha = await sha256Hex(new TextEncoder().encode(text));

    const R = o.members ?? 1;
    const trainRows = Array.from({ length: TRAIN_ROWS }, (_, i) => i);
    const valRows = Array.from({ length: N_ROWS - TRAIN_ROWS }, (_, i) => TRAIN_ROWS + i);
    // A briefly trained model: its decoder roughly inverts its encoder, as a real model's does.
    const res = await trainVibann(
      be,
      { comp: Float32Array.from(comp), elements: E, load, hv, weight: new Float64Array(N_ROWS).fill(1) },
      Array.from({ length: R }, (_, r) => ({
        label: `m${r}`,
        train: trainRows,
        val: valRows,
        latentDim: 3 - r,
        dropout: 0.1 + 0.05 * r,
        seed: 5 + r,
      })),
      { epochs: EPOCHS, batchSize: 16, lr: 0.03, patience: 1000 },
      5,
    );
    const model = join(tmp, "model");
    await saveModelDir(model, res.model, {
      elements: ELEMENTS,
      scalers: res.scalers,
      loadRange: [0.5, 2],
      source: "trained",
      data: { file: "hv.csv", sha256: sha, n_rows: N_ROWS },
    });
    res.model.dispose();
    if (o.splits ?? true) {
      await writeSplitsJson(
        join(model, "splits.json"),
        splitsRecord({
          dataFile: "hv.csv",
          dataSha256: sha,
          nRows: N_ROWS,
          method: "holdout",
          sets: {
            train: trainRows,
            test: Array.from({ length: N_ROWS - TRAIN_ROWS }, (_, i) => TRAIN_ROWS + i),
          },
        }),
      );
    }
    let gp: string | undefined;
    if (o.gp) {
      const fitted = await fitBaseline(
        { fractions: comp, elements: E, load, hv },
        trainRows,
        {
          spec: gaussianProcess,
          params: { optimize: false, initConstant: 1, initLengthScale: 1, initNoise: 0.05, normalizeY: true },
        },
        { backend: be, seed: 1 },
      );
      gp = join(tmp, "gp");
      await saveBaselineDir(gp, fitted.model, {
        name: gaussianProcess.name,
        elements: ELEMENTS,
        loadScaler: fitted.loadScaler,
        loadRange: fitted.loadRange,
      });
    }
    await fn({ tmp, model, csv, gp, comp, load, hv, trainRows });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
