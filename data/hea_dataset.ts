/**
 * The high-entropy-alloy dataset of Zeng, Khan & Post (public repository cengc13/d_vae_hea): 1375 alloys made only
 * of the 30 most frequent elements, each labelled single phase (1) or multi-phase (0). The repository never
 * contains the files (the source has no licence). Each file of the `hea/` folder is resolved in this order:
 * 1. an explicit folder (`--data DIR`, the folder holding the files or its parent holding `hea/`);
 * 2. `$ALLOY_DATA_DIR/hea/`;
 * 3. the user cache (`<cache>/hea/`), used only when its SHA-256 matches the pinned one;
 * 4. a download of the verbatim file from the public repository pinned by commit, checked by SHA-256 and written
 *    atomically into the cache.
 * Three files of the data folder were converted from Python pickles (the split membership and the paper's two
 * element tables); they cannot be downloaded verbatim, so they come only from 1–3.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { sha256Hex } from "./checksum.ts";
import { readCsvFile } from "./csv.ts";
import {
  DATA_DIR_ENV,
  defaultCacheDir,
  downloadVerified,
  OFFLINE_ENV,
  type ResolveOptions,
} from "./dataset.ts";
import { join } from "./paths.ts";

/** The paper's 30 elements, in its order: the column order of every 30-dim composition vector. */
export const HEA_TOP30: readonly string[] = Object.freeze([
  "Fe",
  "Ni",
  "Cr",
  "Co",
  "Al",
  "Ti",
  "Cu",
  "Mo",
  "V",
  "Nb",
  "Mn",
  "Zr",
  "Ta",
  "W",
  "Hf",
  "Si",
  "Rh",
  "Ru",
  "Re",
  "Os",
  "Pt",
  "Pd",
  "Ir",
  "Mg",
  "Ag",
  "Zn",
  "Sn",
  "Au",
  "Li",
  "Sc",
]);

/** The public repository and commit every `hea/` file comes from. */
export const HEA_REPOSITORY = {
  repository: "cengc13/d_vae_hea",
  commit: "84e4084464321a5ad154b1888fee35885ab96e6f",
} as const;

/** One file of the `hea/` data folder: its pinned checksum and, when it is a verbatim copy, its source path. */
export interface HeaFileSource {
  fileName: string;
  sha256: string;
  /** Path in the source repository (verbatim copies only); undefined for files converted from pickles. */
  sourcePath?: string;
}

/** The `hea/` files (see the data folder's PROVENANCE.md). */
export const HEA_FILES = {
  comps: {
    fileName: "HEA_top30_comps.csv",
    sha256: "ddeeab9b7746baf32a00974ac8852aeaea031fac3f7d1436e9f591d93b7bf304",
    sourcePath: "data/HEA_top30_comps.csv",
  },
  features: {
    fileName: "HEA_feature_engineered.csv",
    sha256: "fa38205436061dd820653595544ccefda02675f57a5e3cb5acc239552d517139",
    sourcePath: "data/HEA_feature_engineered.csv",
  },
  reconstruction: {
    fileName: "test_data_reconstruction_analysis.csv",
    sha256: "8c0d65cbc2c35c3af653268e3164f07c2cb1960166ffb3c9b5145032db5fb131",
    sourcePath: "data/test_data_reconstruction_analysis.csv",
  },
  hyperparameters: {
    fileName: "hyper-parameter-tuning.json",
    sha256: "0f11398b269a2427e09c48da6c6df0ac8ebdffde3b002eb731e00b78b80f7fb5",
    sourcePath: "data/hyper-parameter-tuning.json",
  },
  splitMembership: {
    fileName: "hea_split_membership.csv",
    sha256: "138143682c4c392c27bbe0df179263fa36a2351e7d315c79f13b49ba61216487",
  },
  elementLookup: {
    fileName: "hea_element_lookup.csv",
    sha256: "9202c0e97d2735355f93046c0ece70035fcf7481b2752c38b06d96ccbc333d28",
  },
  mixingEnthalpyPairs: {
    fileName: "hea_mixing_enthalpy_pairs.csv",
    sha256: "6f6035b1c1ed5dcf4a6d0739232317e9bafb49b3d7fa0752210057a3c56595b5",
  },
} as const satisfies Record<string, HeaFileSource>;

/** A key of {@link HEA_FILES}. */
export type HeaFileKey = keyof typeof HEA_FILES;

/** The raw URL of a verbatim `hea/` file at the pinned commit. */
export function heaSourceUrl(f: HeaFileSource): string | undefined {
  return f.sourcePath
    ? `https://raw.githubusercontent.com/${HEA_REPOSITORY.repository}/${HEA_REPOSITORY.commit}/${f.sourcePath}`
    : undefined;
}

/** Options for {@link resolveHeaFile} and {@link loadHeaDataset}: the hardness resolver's, `dataPath` = a folder. */
export type HeaResolveOptions = ResolveOptions;

/** Where a `hea/` file was found. */
export interface ResolvedHeaFile {
  path: string;
  source: "flag" | "env" | "cache" | "download";
  notices: string[];
}

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function isFile(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return Deno.statSync(p).isDirectory;
  } catch {
    return false;
  }
}

function heaHint(f: HeaFileSource, cacheDir?: string): string {
  const url = heaSourceUrl(f);
  return `supply it with --data DIR (a folder holding ${f.fileName}, or its parent holding hea/), or set ` +
    `${DATA_DIR_ENV} to a folder holding hea/${f.fileName}${
      cacheDir ? `, or copy it to ${join(cacheDir, "hea", f.fileName)}` : ""
    } (${
      url ? `source: ${url}` : `converted from pickles of ${HEA_REPOSITORY.repository}; see PROVENANCE.md`
    })`;
}

/**
 * Resolves one `hea/` file to a local path (see the module docs for the order).
 * @throws {UserError} when the explicit folder or `ALLOY_DATA_DIR` lacks it, or it is neither cached nor
 *   downloadable; the message says how to supply it
 */
export async function resolveHeaFile(
  key: HeaFileKey,
  options: HeaResolveOptions = {},
): Promise<ResolvedHeaFile> {
  const f: HeaFileSource = HEA_FILES[key];
  const notices: string[] = [];
  if (options.dataPath !== undefined) {
    const d = options.dataPath;
    if (!isDir(d)) {
      throw new UserError(`--data ${d}: no such folder (give the folder holding the hea/ files)`);
    }
    for (const p of [join(d, f.fileName), join(d, "hea", f.fileName)]) {
      if (isFile(p)) return { path: p, source: "flag", notices };
    }
    throw new UserError(`--data ${d}: the folder has neither ${f.fileName} nor hea/${f.fileName}`);
  }
  const env = options.env ?? envGet;
  const dir = env(DATA_DIR_ENV);
  if (dir) {
    const p = join(dir, "hea", f.fileName);
    if (isFile(p)) return { path: p, source: "env", notices };
    throw new UserError(
      `${DATA_DIR_ENV}=${dir}: ${isDir(dir) ? `the folder has no hea/${f.fileName}` : "no such folder"} ` +
        `(fix it, or unset it to use the cache or the download)`,
    );
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  if (cacheDir) {
    const cached = join(cacheDir, "hea", f.fileName);
    if (isFile(cached)) {
      const sum = await sha256Hex(await Deno.readFile(cached));
      if (sum === f.sha256) return { path: cached, source: "cache", notices };
      notices.push(`cached ${cached} has the wrong SHA-256 (${sum.slice(0, 12)}…)`);
    }
  }
  const url = heaSourceUrl(f);
  if (!url) {
    throw new UserError(`${f.fileName} not found and it cannot be downloaded; ${heaHint(f, cacheDir)}`);
  }
  if (options.allowDownload === false || (options.allowDownload === undefined && env(OFFLINE_ENV))) {
    throw new UserError(
      `${f.fileName} not found and downloading is disabled${
        options.allowDownload === false ? "" : ` (${OFFLINE_ENV} is set)`
      }; ${heaHint(f, cacheDir)}`,
    );
  }
  if (!cacheDir) {
    throw new UserError(`${f.fileName} not found and there is no cache folder (HOME unset); ${heaHint(f)}`);
  }
  const bytes = await downloadVerified(
    url,
    f.sha256,
    f.fileName,
    options,
    join(cacheDir, "hea"),
    heaHint(f, cacheDir),
  );
  const target = join(cacheDir, "hea", f.fileName);
  await Deno.mkdir(join(cacheDir, "hea"), { recursive: true });
  await writeFileAtomic(target, bytes);
  return { path: target, source: "download", notices };
}

/** The paper's split names. */
export type HeaSplitName = "labelled" | "unlabelled" | "validation" | "test";
/** The split names in their canonical order. */
export const HEA_SPLIT_NAMES: readonly HeaSplitName[] = Object.freeze([
  "labelled",
  "unlabelled",
  "validation",
  "test",
]);

/** The loaded HEA dataset. */
export interface HeaDataset {
  /** The 30 elements in the paper's order ({@link HEA_TOP30}). */
  elements: readonly string[];
  /** Number of alloys. */
  n: number;
  /** Atomic fractions, row-major n × 30 (each row sums to 1). */
  comp: Float64Array;
  /** 1 = single phase, 0 = multi-phase. */
  label: Int8Array;
  /** The `Alloys` strings as written in the source (stoichiometries not normalised). */
  formulas: string[];
  /** The 1-based line of each row in the CSV (for messages). */
  lines: number[];
  /** The paper's split of each row, or null for a row not in the membership file (the dropped duplicates). */
  split: (HeaSplitName | null)[] | null;
  /** The paper's order of each row inside its split (`order_in_split`), or -1; null without the membership file. */
  orderInSplit: Int32Array | null;
  /** Rows dropped as duplicate formulas (their 1-based CSV lines), empty with `keepDuplicates`. */
  droppedDuplicates: { formula: string; line: number }[];
  /** Where the files were found. */
  files: { comps: string; splitMembership?: string };
  notices: string[];
}

/** Options for {@link loadHeaDataset}. */
export interface LoadHeaOptions extends HeaResolveOptions {
  /** Keep all 1375 rows (default: drop repeated formulas keeping the first, as the paper: 1373 rows). */
  keepDuplicates?: boolean;
  /** Read the paper's split membership (default true; a missing file is then an error). */
  withSplit?: boolean;
}

const FRACTION_SUM_TOL = 1e-6;

/**
 * Loads `HEA_top30_comps.csv` (and, by default, `hea_split_membership.csv`).
 * @throws {UserError} naming the file, row and column for a missing column, a non-numeric or negative fraction, a
 *   row not summing to 1, a class other than 0/1, or a split file that does not match the alloys
 * @example
 * ```ts
 * const ds = await loadHeaDataset();               // 1373 alloys, split from the paper
 * const row0 = ds.comp.subarray(0, 30);            // fractions of ds.formulas[0] in HEA_TOP30 order
 * ```
 */
export async function loadHeaDataset(options: LoadHeaOptions = {}): Promise<HeaDataset> {
  const comps = await resolveHeaFile("comps", options);
  const notices = [...comps.notices];
  const t = await readCsvFile(comps.path);
  const file = comps.path;
  const col = (name: string) => {
    const i = t.header.indexOf(name);
    if (i < 0) throw new UserError(`${file}: no column '${name}' in the header`);
    return i;
  };
  const iAlloy = col("Alloys"), iClass = col("Class");
  const iEl = HEA_TOP30.map(col);
  const E = HEA_TOP30.length;
  const seen = new Set<string>();
  const rows: { formula: string; line: number; c: Float64Array; y: number }[] = [];
  const droppedDuplicates: { formula: string; line: number }[] = [];
  for (const r of t.records) {
    const formula = r.cells[iAlloy].trim();
    if (!formula) throw new UserError(`${file} row ${r.line}, column Alloys: empty formula`);
    const cls = r.cells[iClass].trim();
    if (cls !== "0" && cls !== "1") {
      throw new UserError(`${file} row ${r.line}, column Class: '${cls}' is not 0 or 1`);
    }
    const c = new Float64Array(E);
    let s = 0;
    for (let j = 0; j < E; j++) {
      const cell = r.cells[iEl[j]].trim();
      const v = Number(cell);
      if (cell === "" || !Number.isFinite(v) || v < 0) {
        throw new UserError(`${file} row ${r.line}, column ${HEA_TOP30[j]}: '${cell}' is not a fraction ≥ 0`);
      }
      c[j] = v;
      s += v;
    }
    if (Math.abs(s - 1) > FRACTION_SUM_TOL) {
      throw new UserError(`${file} row ${r.line}: the fractions sum to ${s}, not 1`);
    }
    if (seen.has(formula) && !options.keepDuplicates) {
      droppedDuplicates.push({ formula, line: r.line });
      continue;
    }
    seen.add(formula);
    rows.push({ formula, line: r.line, c, y: Number(cls) });
  }
  if (rows.length === 0) throw new UserError(`${file}: no data rows`);
  const n = rows.length;
  const comp = new Float64Array(n * E);
  const label = new Int8Array(n);
  rows.forEach((r, i) => (comp.set(r.c, i * E), label[i] = r.y));
  const ds: HeaDataset = {
    elements: HEA_TOP30,
    n,
    comp,
    label,
    formulas: rows.map((r) => r.formula),
    lines: rows.map((r) => r.line),
    split: null,
    orderInSplit: null,
    droppedDuplicates,
    files: { comps: file },
    notices,
  };
  if (options.withSplit !== false) await attachSplit(ds, options);
  return ds;
}

async function attachSplit(ds: HeaDataset, options: HeaResolveOptions): Promise<void> {
  const f = await resolveHeaFile("splitMembership", options);
  ds.notices.push(...f.notices);
  const t = await readCsvFile(f.path);
  const col = (name: string) => {
    const i = t.header.indexOf(name);
    if (i < 0) throw new UserError(`${f.path}: no column '${name}' in the header`);
    return i;
  };
  const iA = col("Alloys"), iS = col("split"), iO = col("order_in_split");
  const firstRow = new Map<string, number>();
  ds.formulas.forEach((s, i) => firstRow.has(s) || firstRow.set(s, i));
  const split: (HeaSplitName | null)[] = new Array(ds.n).fill(null);
  const order = new Int32Array(ds.n).fill(-1);
  for (const r of t.records) {
    const a = r.cells[iA].trim(), s = r.cells[iS].trim() as HeaSplitName, o = Number(r.cells[iO]);
    if (!HEA_SPLIT_NAMES.includes(s)) {
      throw new UserError(
        `${f.path} row ${r.line}, column split: '${s}' is not one of ${HEA_SPLIT_NAMES.join("/")}`,
      );
    }
    if (!Number.isInteger(o) || o < 0) {
      throw new UserError(
        `${f.path} row ${r.line}, column order_in_split: '${r.cells[iO]}' is not an index ≥ 0`,
      );
    }
    const i = firstRow.get(a);
    if (i === undefined) {
      throw new UserError(`${f.path} row ${r.line}: alloy '${a}' is not in ${ds.files.comps}`);
    }
    if (split[i] !== null) throw new UserError(`${f.path} row ${r.line}: alloy '${a}' is listed twice`);
    split[i] = s;
    order[i] = o;
  }
  ds.split = split;
  ds.orderInSplit = order;
  ds.files.splitMembership = f.path;
}
