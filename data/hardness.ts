/**
 * The hardness dataset (`H_v_dataset.csv`): element fractions, indentation `Load` and Vickers hardness `HV`, plus
 * each row's element family and the file's SHA-256 (which split files and model records refer to).
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { sha256Hex } from "./checksum.ts";
import { type CompositionTable, compositionTableFromCsv, familyKeys } from "./composition_table.ts";
import { decodeUtf8, fileErrorText, parseCsvText } from "./csv.ts";
import { resolveHardnessDataset, type ResolveOptions } from "./dataset.ts";

/** The hardness table: a composition table with `Load` and `HV`, families and checksum. */
export interface HardnessDataset extends CompositionTable {
  /** Each row's family key (sorted present elements, comma-joined, e.g. `"B,Fe,Nb"`). */
  families: string[];
  /** SHA-256 of the file as read. */
  sha256: string;
  /** Where the file was found (`flag`, `env`, `cache`, `download`, or `file` for {@link loadHardnessFile}). */
  source: string;
}

/**
 * Loads and validates a hardness CSV: element columns plus `Load` and `HV` (both required in every row and > 0).
 * @throws {UserError} naming file, row and column for any problem
 */
export async function loadHardnessFile(path: string, source = "file"): Promise<HardnessDataset> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new UserError(`${path}: ${fileErrorText(e)}`);
  }
  const table = compositionTableFromCsv(parseCsvText(decodeUtf8(bytes, path), path), {
    properties: ["Load", "HV"],
  });
  for (const p of ["Load", "HV"]) {
    const v = table.properties[p];
    for (let i = 0; i < table.nRows; i++) {
      if (!(v[i] > 0)) {
        throw new UserError(`${path} row ${table.rowNumbers[i]}, column '${p}': ${v[i]} is not > 0`);
      }
    }
  }
  return { ...table, families: familyKeys(table), sha256: await sha256Hex(bytes), source };
}

/**
 * Resolves (see `data/dataset.ts`: `--data`, `ALLOY_DATA_DIR`, cache, download) and loads the hardness dataset.
 * Resolution notices are added to the table's notices.
 */
export async function loadHardnessDataset(options: ResolveOptions = {}): Promise<HardnessDataset> {
  const r = await resolveHardnessDataset(options);
  const ds = await loadHardnessFile(r.path, r.source);
  ds.notices.unshift(...r.notices);
  return ds;
}
