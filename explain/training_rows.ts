/**
 * The rows a model's explanations are measured against: the hardness dataset (resolved as everywhere: `--data`,
 * `ALLOY_DATA_DIR`, cache, download) in the model's element order, restricted to the model's training rows when
 * its directory records them (`splits.json`, set `train`, as `alloy train` writes it), else every row (an imported
 * model, a cross-validated one, or a dataset other than the one the model was trained on — with a notice). The IG
 * baseline is their mean (the original's mean train_fit composition) and the SHAP background a seeded sample.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { loadHardnessDataset } from "../data/hardness.ts";
import { readSplitsRecord } from "../data/split_file.ts";
import { join } from "../data/paths.ts";
import { Rng } from "../nn/random.ts";

/** Training rows in a model's element order. */
export interface TrainingRows {
  /** The dataset file. */
  file: string;
  /** Number of rows n. */
  n: number;
  /** Element fractions, n × E, in the model's element order. */
  comp: Float64Array;
  /** Raw loads in N (n). */
  load: Float64Array;
  /** Which rows these are, in words (e.g. "the 538 training rows of runs/m/splits.json"). */
  source: string;
  /** Messages for stderr (dataset resolution, why every row is used). */
  notices: string[];
}

/** Options of {@link loadTrainingRows}. */
export interface LoadTrainingRowsOptions {
  /** The `--data` flag: the hardness CSV or a folder holding it. */
  dataPath?: string;
}

/**
 * Loads the training rows of the model in `dir` (see the module docs).
 * @param elements the model's element symbols, in input order
 * @throws {UserError} when the dataset cannot be found or read, or a row has an element the model has no input for
 *   (naming the file, row and column)
 */
export async function loadTrainingRows(
  dir: string,
  elements: readonly string[],
  o: LoadTrainingRowsOptions = {},
): Promise<TrainingRows> {
  const ds = await loadHardnessDataset({ dataPath: o.dataPath });
  const notices = [...ds.notices];
  const Ed = ds.elementColumns.length, E = elements.length;
  const col = elements.map((e) => ds.elementColumns.indexOf(e));
  ds.elementColumns.forEach((e, k) => {
    if (elements.includes(e)) return;
    for (let i = 0; i < ds.nRows; i++) {
      if (ds.fractions[i * Ed + k] > 0) {
        throw new UserError(
          `${ds.file} row ${ds.rowNumbers[i]}, column '${e}': the model has no input for element ${e}`,
        );
      }
    }
  });

  let rows: number[] | null = null;
  let source = `all ${ds.nRows} rows of ${ds.file}`;
  const splitsPath = join(dir, "splits.json");
  let hasSplits = true;
  try {
    await Deno.stat(splitsPath);
  } catch {
    hasSplits = false;
  }
  if (!hasSplits) {
    notices.push(`${dir} has no splits.json (e.g. an imported model): using ${source} as the training data`);
  } else {
    try {
      const rec = await readSplitsRecord(splitsPath, { nRows: ds.nRows, sha256: ds.sha256, file: ds.file });
      if (rec.sets.train?.length) {
        rows = rec.sets.train;
        source = `the ${rows.length} training rows of ${splitsPath}`;
      } else {
        notices.push(`${splitsPath} has no 'train' set (method ${rec.method}): using ${source}`);
      }
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      notices.push(`${e.message}; using ${source} instead`);
    }
  }

  const idx = rows ?? Array.from({ length: ds.nRows }, (_, i) => i);
  const n = idx.length;
  const comp = new Float64Array(n * E), load = new Float64Array(n);
  idx.forEach((r, i) => {
    for (let j = 0; j < E; j++) if (col[j] >= 0) comp[i * E + j] = ds.fractions[r * Ed + col[j]];
    load[i] = ds.properties.Load[r];
  });
  return { file: ds.file, n, comp, load, source, notices };
}

/**
 * A seeded sample of `count` distinct rows (all of them when there are fewer) as feature rows
 * [composition (E)…, load], row-major — the Kernel SHAP background.
 * @throws {RangeError} when count < 1 or the sizes do not match
 */
export function backgroundSample(
  comp: ArrayLike<number>,
  load: ArrayLike<number>,
  count: number,
  seed = 0,
): Float64Array {
  const n = load.length, E = comp.length / Math.max(1, n);
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`backgroundSample: count ${count} < 1`);
  if (n < 1 || !Number.isInteger(E)) {
    throw new RangeError(`backgroundSample: ${comp.length} values for ${n} rows`);
  }
  const order = new Rng(seed, 0x626b67).shuffle(Array.from({ length: n }, (_, i) => i));
  const take = order.slice(0, Math.min(count, n)).sort((a, b) => a - b);
  const D = E + 1, out = new Float64Array(take.length * D);
  take.forEach((r, i) => {
    for (let j = 0; j < E; j++) out[i * D + j] = comp[r * E + j];
    out[i * D + E] = load[r];
  });
  return out;
}
