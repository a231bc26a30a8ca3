/**
 * Test helpers for model directories and the Keras import: paths of the published files (`ALLOY_MODELS_DIR`), the
 * parity fixture, and its input rows from the hardness dataset (`ALLOY_DATA_DIR`). Tests needing them are ignored,
 * with a message, when either is unset.
 */
import { join } from "../../data/paths.ts";
import { loadHardnessFile } from "../../data/hardness.ts";
import { DATA_DIR, NO_DATA } from "../data/_helpers.ts";
import { NO_MODELS, PUBLISHED_DIR } from "../io/_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import { importKerasModel, type KerasImport } from "../../nn/models/keras_import.ts";

/** File names of the published model (README §1). */
export const H5 = "vib_attention_FINAL_model.weights.h5";
export const LOAD_NPZ = "load_scaler_FINAL.npz";
export const Y_NPZ = "y_scaler_FINAL.npz";

/** True when the published files are missing. */
export const NO_PUBLISHED: boolean = NO_MODELS;
/** True when the parity fixture cannot be run (published files or the dataset missing). */
export const NO_PARITY: boolean = NO_MODELS || NO_DATA;

/** Prints, once per test module, why tests are skipped. */
export function noteSkip(what: string, needsData = false): void {
  if (NO_MODELS) {
    console.warn(
      `skipping ${what}: set ALLOY_MODELS_DIR to the folder holding vibann-published/ (../shared/models)`,
    );
  } else if (needsData && NO_DATA) {
    console.warn(
      `skipping ${what}: set ALLOY_DATA_DIR to the folder holding H_v_dataset.csv (../shared/data)`,
    );
  }
}

/** Path of a published file (only call from tests ignored when {@link NO_PUBLISHED}). */
export function published(name: string): string {
  return join(PUBLISHED_DIR!, name);
}

/** The three inputs of `importKerasModel` / `alloy import-keras`. */
export function publishedPaths(): { weights: string; loadScaler: string; yScaler: string } {
  return { weights: published(H5), loadScaler: published(LOAD_NPZ), yScaler: published(Y_NPZ) };
}

/** Imports the published model onto `be`. */
export function importPublished(be: Backend): Promise<KerasImport> {
  return importKerasModel({ ...publishedPaths(), backend: be });
}

/** One row of parity_fixture.csv (README §6). */
export interface FixtureRow {
  rowIndex: number;
  load: number;
  hvPred: number;
  yScaled: number;
  zMu: number[];
  gateMax: number;
  gateArgmax: string;
  reconTop: string;
  reconTopFraction: number;
}

/** Parses parity_fixture.csv. */
export function readFixture(): FixtureRow[] {
  const [head, ...lines] = Deno.readTextFileSync(published("parity_fixture.csv")).trim().split("\n");
  const cols = head.split(",");
  const at = (cells: string[], name: string) => {
    const j = cols.indexOf(name);
    if (j < 0) throw new Error(`parity_fixture.csv: no column ${name}`);
    return cells[j];
  };
  return lines.map((l) => {
    const c = l.split(",");
    return {
      rowIndex: Number(at(c, "row_index")),
      load: Number(at(c, "load")),
      hvPred: Number(at(c, "hv_pred")),
      yScaled: Number(at(c, "y_scaled_pred")),
      zMu: [0, 1, 2, 3].map((k) => Number(at(c, `z_mu_${k}`))),
      gateMax: Number(at(c, "gate_max")),
      gateArgmax: at(c, "gate_argmax_element"),
      reconTop: at(c, "recon_top_element"),
      reconTopFraction: Number(at(c, "recon_top_fraction")),
    };
  });
}

/** The fixture rows' compositions (row sums 1, as float32) and raw loads, from H_v_dataset.csv. */
export async function fixtureInputs(rows: FixtureRow[]): Promise<{ comp: Float32Array; load: Float64Array }> {
  const ds = await loadHardnessFile(join(DATA_DIR!, "H_v_dataset.csv"));
  const E = ds.elementColumns.length;
  const comp = new Float32Array(rows.length * E);
  rows.forEach((r, i) => comp.set(ds.fractions.subarray(r.rowIndex * E, (r.rowIndex + 1) * E), i * E));
  return { comp, load: Float64Array.from(rows, (r) => ds.properties.Load[r.rowIndex]) };
}

/** A fresh temporary folder. */
export function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "alloy_models_test_" });
}

/** Offset of `needle` in `hay`, or -1. */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** A copy of `bytes` with every (same-length) replacement applied once; each `from` must occur exactly once. */
export function patchBytes(bytes: Uint8Array, swaps: [string, string][]): Uint8Array {
  const out = bytes.slice();
  const enc = new TextEncoder();
  const at = swaps.map(([from, to]) => {
    if (from.length !== to.length) throw new Error("patchBytes: replacements must keep the length");
    const i = indexOfBytes(bytes, enc.encode(from));
    if (i < 0 || indexOfBytes(bytes.subarray(i + 1), enc.encode(from)) >= 0) {
      throw new Error(`patchBytes: '${from}' must occur exactly once`);
    }
    return i;
  });
  swaps.forEach(([, to], k) => out.set(enc.encode(to), at[k]));
  return out;
}
