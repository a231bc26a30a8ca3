/**
 * The metallic-glass datasets (`bmg/` of the data folder, see PROVENANCE.md §3): finding the files, reading every
 * source into one list of labelled compositions, merging equal compositions across sources, element-system keys for
 * grouped cross-validation, and the Zr-/La-/Fe-/Ti-based sets with Tg, Tx, Tl for the GAN.
 *
 * Resolution of each file (like data/dataset.ts): an explicit folder (the `bmg/` folder itself or the data folder
 * holding `bmg/`) → `$ALLOY_DATA_DIR/bmg` → the user cache (`<cache>/bmg/<file>`, used only when its SHA-256
 * matches) → a download pinned by commit and checked by SHA-256. Only the two verbatim copies (Forrest–Greer and
 * DMREF) can be downloaded; the three converted files (xz-decompressed Ward, Bajpai's two spreadsheets) have no
 * byte-identical public source, so the error says where to put them.
 *
 * Labels (glass = 1, crystal = 0), per source:
 * - `forrest`: `GFA` Ribbon or BMG → glass, Crystal → crystal.
 * - `dmref`: `Is_Amorphous?` contains AM → glass (a fully amorphous sample was made at least once); otherwise CR, AC
 *   (amorphous + crystalline, i.e. not fully glassy) or QC → crystal; OT only → skipped; blank (the `Ben`/`Lane`
 *   subsets) → glass when Tg is given (only a glass has a glass transition), else skipped. Rows made by vapour
 *   deposition or mechanical alloying (`Casting` Deposition / Mechanical: thin films, milled powders) are skipped:
 *   they say nothing about glass formation from the melt, which is what the other sources label.
 * - `ward`: `gfa_type` Ribbon or BMG → glass, blank → crystal; rows whose comment says `invalid formula` skipped.
 * - `bajpai`: `Class` MG → glass, CA → crystal.
 * - `bajpai_thermal`: every row is a glass with Tg, Tx, Tl; rows whose at.% amounts do not sum to 100 ± 1 are
 *   skipped (PROVENANCE: a constituent is missing in the source).
 *
 * Bad rows (unparsable formula, unknown label, elements without element properties, …) are skipped and reported
 * with file and row number ({@link BmgSkippedRow}); they never stop the load.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { sha256Hex } from "./checksum.ts";
import { type CsvTable, parseCsvText, readCsvFile } from "./csv.ts";
import { CACHE_DIR_ENV, DATA_DIR_ENV, defaultCacheDir, type FetchLike, OFFLINE_ENV } from "./dataset.ts";
import { TABLE_ELEMENTS } from "./element_properties.ts";
import { sortByAtomicNumber } from "./elements.ts";
import { formatFormula, parseFormula } from "./formula.ts";
import { join } from "./paths.ts";

/** The five metallic-glass sources. */
export const BMG_SOURCE_NAMES = ["forrest", "dmref", "ward", "bajpai", "bajpai_thermal"] as const;
/** One metallic-glass source. */
export type BmgSourceName = typeof BMG_SOURCE_NAMES[number];

/** Where a source file comes from (pinned by commit and checksum). `url` only for verbatim copies. */
export interface BmgSourceInfo {
  fileName: string;
  repository: string;
  commit: string;
  path: string;
  sha256: string;
  licence: string;
  /** Raw download address (verbatim copies only). */
  url?: string;
}

const raw = (repo: string, commit: string, path: string) =>
  `https://raw.githubusercontent.com/${repo}/${commit}/${path}`;

/** The pinned sources (PROVENANCE.md §3). */
export const BMG_SOURCES: Readonly<Record<BmgSourceName, BmgSourceInfo>> = Object.freeze({
  forrest: {
    fileName: "forrest_greer_gfa_data.csv",
    repository: "Robert-Forrest/GFA",
    commit: "7fdda84cb3ba748ec24fc3069d7745d51c3c8409",
    path: "data/data.csv",
    sha256: "c9d360a710c8069245e2e412a233f3fdc07a11c782949182c030e1ca1d9fc634",
    licence: "no licence file (article CC-BY 3.0)",
    url: raw("Robert-Forrest/GFA", "7fdda84cb3ba748ec24fc3069d7745d51c3c8409", "data/data.csv"),
  },
  dmref: {
    fileName: "MDF_DMREF_Metallic_Glasses_v5.csv",
    repository:
      "leschultz/Molecular-Dynamic-Characteristic-Temperatures-for-Predicting-Metallic-Glass-Forming-Ability",
    commit: "2e5ef2cf6ad280330a864c0a4661ff5467b0570e",
    path: "features/MDF_DMREF_Metallic_Glasses_v5.csv",
    sha256: "150887abf9bc30a03502fb9c1cf590ee7fa18cecbc116b7041cb04190e99a760",
    licence: "no licence file",
    url: raw(
      "leschultz/Molecular-Dynamic-Characteristic-Temperatures-for-Predicting-Metallic-Glass-Forming-Ability",
      "2e5ef2cf6ad280330a864c0a4661ff5467b0570e",
      "features/MDF_DMREF_Metallic_Glasses_v5.csv",
    ),
  },
  ward: {
    fileName: "ward_metallic_glasses.csv",
    repository: "janosh/pymatviz",
    commit: "76489d7c3becc2686387c5647fa08994ffe42ebe",
    path: "examples/ward_metallic_glasses/ward-metallic-glasses.csv.xz (xz-decompressed)",
    sha256: "1f4ee74082456c2458be257918fc515d63dcc481790d31eada6dbfeb954f3c89",
    licence: "MIT",
  },
  bajpai: {
    fileName: "bajpai_mg_ca_classification.csv",
    repository: "bajpaianurag/Symbolic-Regression-for-GFA-of-Metallic-Glasses",
    commit: "b34429f30b25a47952d199123f698e50455ea918",
    path: "Classification_Dataset.xlsx (converted to CSV)",
    sha256: "98ec228948400ca7754cc8c3e282251700dd5abba378e68a4b181b6f142b40f4",
    licence: "no licence file",
  },
  bajpai_thermal: {
    fileName: "bajpai_mmg_thermal_dataset.csv",
    repository: "bajpaianurag/Symbolic-Regression-for-GFA-of-Metallic-Glasses",
    commit: "b34429f30b25a47952d199123f698e50455ea918",
    path: "MMG_dataset.xlsx (converted to CSV)",
    sha256: "0c91503fb24f577a817f820e691d3719f21f9d8d117f509560ce253c28b0cc87",
    licence: "no licence file",
  },
});

/** One labelled row of one source. */
export interface BmgRecord {
  source: BmgSourceName;
  /** 1-based file line of the row. */
  line: number;
  /** The formula as written in the source (or rebuilt from element columns for `bajpai_thermal`). */
  formula: string;
  /** Elements (order of first appearance) and their atomic fractions (sum 1). */
  elements: string[];
  fractions: number[];
  /** Normalised composition key ({@link compositionKey}). */
  key: string;
  /** true = glass, false = crystal. */
  glass: boolean;
  /** Thermal data (K) when the source gives them. */
  tg?: number;
  tx?: number;
  tl?: number;
  /** Critical casting diameter (mm) when given. */
  dmax?: number;
}

/** A row that was not used, and why. */
export interface BmgSkippedRow {
  source: BmgSourceName;
  file: string;
  line: number;
  reason: string;
}

/** Options for {@link resolveBmgFile} and {@link loadBmgSources}. */
export interface BmgResolveOptions {
  /** Explicit folder: the `bmg/` folder itself or the data folder holding `bmg/`. */
  dataDir?: string;
  env?: (name: string) => string | undefined;
  cacheDir?: string;
  fetch?: FetchLike;
  /** false forbids downloads (default: allowed unless `ALLOY_OFFLINE` is set). */
  allowDownload?: boolean;
  timeoutMs?: number;
}

/** Options for {@link loadBmgSources}. */
export interface LoadBmgOptions extends BmgResolveOptions {
  /** Sources to read (default: all five). */
  sources?: readonly BmgSourceName[];
  /**
   * Elements a composition may contain (default: the element-property table, so every kept row has descriptors);
   * null keeps every element. Rows with other elements are skipped and reported.
   */
  supportedElements?: readonly string[] | null;
}

/** Every record read and every row skipped. */
export interface BmgSources {
  records: BmgRecord[];
  skipped: BmgSkippedRow[];
  /** Path of each source file that was read. */
  files: Partial<Record<BmgSourceName, string>>;
}

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isFile;
  } catch {
    return false;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isDirectory;
  } catch {
    return false;
  }
}

function hint(info: BmgSourceInfo, cacheDir?: string): string {
  return `put ${info.fileName} in a folder given by --data DIR, or set ${DATA_DIR_ENV} to a data folder holding ` +
    `bmg/${info.fileName}${
      cacheDir ? `, or copy it to ${join(cacheDir, "bmg", info.fileName)}` : ""
    } (source: ` +
    `${info.repository} @ ${info.commit.slice(0, 12)}, ${info.path}; see PROVENANCE.md)`;
}

/**
 * Resolves one source file to a local path (see the module docs for the order).
 * @throws {UserError} when an explicit folder lacks the file, or no copy is found and none can be downloaded
 */
export async function resolveBmgFile(
  source: BmgSourceName,
  options: BmgResolveOptions = {},
): Promise<string> {
  const info = BMG_SOURCES[source];
  const name = info.fileName;
  if (options.dataDir !== undefined) {
    const d = options.dataDir;
    if (!(await isDir(d))) throw new UserError(`--data ${d}: no such folder`);
    for (const f of [join(d, name), join(d, "bmg", name)]) if (await isFile(f)) return f;
    throw new UserError(`--data ${d}: neither the folder nor its bmg/ subfolder has ${name}`);
  }
  const env = options.env ?? envGet;
  const dir = env(DATA_DIR_ENV);
  if (dir) {
    const f = join(dir, "bmg", name);
    if (await isFile(f)) return f;
    throw new UserError(
      `${DATA_DIR_ENV}=${dir}: there is no bmg/${name} (fix it, or unset ${DATA_DIR_ENV} to use the cache` +
        `${info.url ? " or the download" : ""})`,
    );
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  if (cacheDir) {
    const cached = join(cacheDir, "bmg", name);
    if (await isFile(cached) && await sha256Hex(await Deno.readFile(cached)) === info.sha256) return cached;
  }
  if (!info.url) {
    throw new UserError(
      `${name} not found, and it cannot be downloaded (a converted file); ${hint(info, cacheDir)}`,
    );
  }
  if (options.allowDownload === false || (options.allowDownload === undefined && env(OFFLINE_ENV))) {
    throw new UserError(`${name} not found and downloading is disabled; ${hint(info, cacheDir)}`);
  }
  if (!cacheDir) {
    throw new UserError(
      `${name} not found and there is no cache folder (set ${CACHE_DIR_ENV}); ${hint(info)}`,
    );
  }
  const bytes = await download(info, options, cacheDir);
  const target = join(cacheDir, "bmg", name);
  await writeFileAtomic(target, bytes);
  return target;
}

async function download(
  info: BmgSourceInfo,
  options: BmgResolveOptions,
  cacheDir: string,
): Promise<Uint8Array> {
  const fetchFn = options.fetch ?? ((u, init) => fetch(u, init));
  const signal = AbortSignal.timeout(options.timeoutMs ?? 120_000);
  let res: Response;
  try {
    res = await fetchFn(info.url!, { signal });
  } catch (e) {
    throw new UserError(
      `cannot download ${info.fileName} (offline? ${(e as Error)?.message?.split("\n")[0] ?? e}); ` +
        hint(info, cacheDir),
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new UserError(`cannot download ${info.fileName}: HTTP ${res.status}; ${hint(info, cacheDir)}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const sum = await sha256Hex(bytes);
  if (sum !== info.sha256) {
    throw new UserError(
      `downloaded ${info.fileName} has SHA-256 ${sum}, expected ${info.sha256}; not saved; ${
        hint(info, cacheDir)
      }`,
    );
  }
  return bytes;
}

/**
 * The normalised composition key: elements alphabetically with at.% rounded to 0.1 (largest remainder, so the
 * amounts sum to exactly 100), e.g. `Cu50Zr50`. Equal keys = the same alloy for deduplication.
 */
export function compositionKey(elements: readonly string[], fractions: readonly number[]): string {
  return formatFormula(elements.map((e, i) => [e, fractions[i]] as [string, number]), {
    precision: 1,
    order: "alphabetical",
  });
}

/** The element system of a composition: its element set, alphabetical, joined by `-` (e.g. `Cu-Zr`). */
export function elementSystem(elements: readonly string[]): string {
  return [...new Set(elements)].sort().join("-");
}

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  if (t === "") return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

/** Result of parsing one source's text. */
export interface ParsedBmgSource {
  records: BmgRecord[];
  skipped: BmgSkippedRow[];
}

type Row = { line: number; get: (col: string) => string | undefined };

function dmrefLabel(cell: string, hasTg: boolean): boolean | string {
  const codes = new Set(cell.match(/[A-Z]{2}/g) ?? []);
  if (codes.has("AM")) return true;
  if (codes.has("CR") || codes.has("AC") || codes.has("QC")) return false;
  if (codes.size === 0) return hasTg ? true : "no label and no Tg";
  return `label '${cell}' (other) is neither glass nor crystal`;
}

/**
 * Parses one source's CSV text into labelled records (pure: no file access, for tests and for {@link
 * loadBmgSources}). Bad rows are skipped and listed.
 * @throws {UserError} when a required column is missing (the file is not that source)
 */
export function parseBmgSource(
  source: BmgSourceName,
  text: string,
  file: string,
  supportedElements: readonly string[] | null = TABLE_ELEMENTS,
): ParsedBmgSource {
  return parseBmgTable(source, parseCsvText(text, file), supportedElements);
}

/** {@link parseBmgSource} on an already parsed CSV table. */
export function parseBmgTable(
  source: BmgSourceName,
  table: CsvTable,
  supportedElements: readonly string[] | null = TABLE_ELEMENTS,
): ParsedBmgSource {
  const file = table.file;
  const col = new Map(table.header.map((h, i) => [h, i]));
  const need = (names: string[]) => {
    const missing = names.filter((n) => !col.has(n));
    if (missing.length) {
      throw new UserError(`${file}: missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
    }
  };
  const allowed = supportedElements ? new Set(supportedElements) : null;
  const records: BmgRecord[] = [];
  const skipped: BmgSkippedRow[] = [];
  const skip = (line: number, reason: string) => skipped.push({ source, file, line, reason });

  const add = (
    row: Row,
    formula: string,
    glass: boolean,
    extra: Pick<BmgRecord, "tg" | "tx" | "tl" | "dmax">,
    parsed?: { elements: string[]; fractions: number[] },
  ) => {
    let p = parsed;
    if (!p) {
      try {
        p = parseFormula(formula);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        return skip(row.line, e.message);
      }
    }
    if (allowed) {
      const outside = p.elements.filter((e) => !allowed.has(e));
      if (outside.length) return skip(row.line, `${outside.join(", ")}: no element properties`);
    }
    const clean: BmgRecord = {
      source,
      line: row.line,
      formula,
      elements: p.elements,
      fractions: p.fractions,
      key: compositionKey(p.elements, p.fractions),
      glass,
    };
    for (const k of ["tg", "tx", "tl", "dmax"] as const) if (extra[k] !== undefined) clean[k] = extra[k];
    records.push(clean);
  };

  const rows: Row[] = table.records.map((r) => ({
    line: r.line,
    get: (c: string) => {
      const i = col.get(c);
      return i === undefined ? undefined : r.cells[i];
    },
  }));

  switch (source) {
    case "forrest": {
      need(["composition", "GFA", "Dmax", "Tg", "Tx", "Tl"]);
      for (const r of rows) {
        const gfa = r.get("GFA")!.trim();
        const glass = gfa === "Ribbon" || gfa === "BMG" ? true : gfa === "Crystal" ? false : undefined;
        if (glass === undefined) {
          skip(r.line, `GFA '${gfa}' is not Crystal, Ribbon or BMG`);
          continue;
        }
        add(r, r.get("composition")!.trim(), glass, {
          tg: num(r.get("Tg")),
          tx: num(r.get("Tx")),
          tl: num(r.get("Tl")),
          dmax: num(r.get("Dmax")),
        });
      }
      break;
    }
    case "dmref": {
      need(["Composition", "Is_Amorphous?", "Tg_[K]", "Tx_[K]", "Tl_[K]", "Dmax_[mm]"]);
      const hasCasting = col.has("Casting");
      for (const r of rows) {
        const casting = hasCasting ? r.get("Casting")!.trim() : "";
        if (/Deposition|Mechanical/.test(casting)) {
          skip(r.line, `Casting '${casting}' is not a quench from the melt`);
          continue;
        }
        const tg = num(r.get("Tg_[K]"));
        const label = dmrefLabel(r.get("Is_Amorphous?")!.trim(), tg !== undefined);
        if (typeof label === "string") {
          skip(r.line, label);
          continue;
        }
        add(r, r.get("Composition")!.trim(), label, {
          tg,
          tx: num(r.get("Tx_[K]")),
          tl: num(r.get("Tl_[K]")),
          dmax: num(r.get("Dmax_[mm]")),
        });
      }
      break;
    }
    case "ward": {
      need(["composition", "gfa_type", "D_max", "comment"]);
      for (const r of rows) {
        const comment = r.get("comment")!.trim();
        if (/invalid formula/i.test(comment)) {
          skip(r.line, `flagged in the source: ${comment}`);
          continue;
        }
        const t = r.get("gfa_type")!.trim();
        const glass = t === "Ribbon" || t === "BMG" ? true : t === "" ? false : undefined;
        if (glass === undefined) {
          skip(r.line, `gfa_type '${t}' is not Ribbon, BMG or blank`);
          continue;
        }
        add(r, r.get("composition")!.trim(), glass, { dmax: num(r.get("D_max")) });
      }
      break;
    }
    case "bajpai": {
      need(["Alloys", "Class"]);
      for (const r of rows) {
        const c = r.get("Class")!.trim();
        const glass = c === "MG" ? true : c === "CA" ? false : undefined;
        if (glass === undefined) {
          skip(r.line, `Class '${c}' is not MG or CA`);
          continue;
        }
        add(r, r.get("Alloys")!.trim(), glass, {});
      }
      break;
    }
    case "bajpai_thermal": {
      need(["T_g", "T_x", "T_l"]);
      const elementCols = table.header.filter((h) => /^[A-Z][a-z]?$/.test(h));
      if (elementCols.length === 0) throw new UserError(`${file}: no element columns`);
      for (const r of rows) {
        const els: string[] = [], amt: number[] = [];
        let sum = 0, bad = "";
        for (const e of elementCols) {
          const v = num(r.get(e));
          if (v === undefined || v < 0) {
            bad = `column ${e}: '${r.get(e)}' is not an amount ≥ 0`;
            break;
          }
          if (v > 0) els.push(e), amt.push(v), sum += v;
        }
        if (bad) {
          skip(r.line, bad);
          continue;
        }
        if (!(Math.abs(sum - 100) <= 1)) {
          skip(r.line, `element amounts sum to ${+sum.toFixed(3)}, not 100 ± 1 (a constituent is missing)`);
          continue;
        }
        const tg = num(r.get("T_g")), tx = num(r.get("T_x")), tl = num(r.get("T_l"));
        if (tg === undefined || tx === undefined || tl === undefined) {
          skip(r.line, "T_g, T_x or T_l is missing");
          continue;
        }
        const fractions = amt.map((a) => a / sum);
        const formula = formatFormula(els.map((e, i) => [e, amt[i]] as [string, number]), { precision: 2 });
        add(r, formula, true, { tg, tx, tl }, { elements: els, fractions });
      }
      break;
    }
  }
  return { records, skipped };
}

/**
 * Resolves and reads the chosen sources (default all) into labelled records; bad rows are skipped and listed.
 * @throws {UserError} when a file cannot be found or lacks a required column
 */
export async function loadBmgSources(options: LoadBmgOptions = {}): Promise<BmgSources> {
  const sources = options.sources ?? BMG_SOURCE_NAMES;
  const out: BmgSources = { records: [], skipped: [], files: {} };
  for (const s of sources) {
    const path = await resolveBmgFile(s, options);
    const parsed = parseBmgTable(
      s,
      await readCsvFile(path),
      options.supportedElements === undefined ? TABLE_ELEMENTS : options.supportedElements,
    );
    out.records.push(...parsed.records);
    out.skipped.push(...parsed.skipped);
    out.files[s] = path;
  }
  return out;
}

/** Parses a `--sources` value: `all` or a comma-separated list of source names. */
export function parseBmgSourceList(value: string, flag = "--sources"): BmgSourceName[] {
  if (value.trim() === "all") return [...BMG_SOURCE_NAMES];
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) throw new UserError(`${flag}: empty list`);
  for (const n of names) {
    if (!(BMG_SOURCE_NAMES as readonly string[]).includes(n)) {
      throw new UserError(
        `${flag}: unknown source '${n}' (use all or a list of ${BMG_SOURCE_NAMES.join(", ")})`,
      );
    }
  }
  return [...new Set(names)] as BmgSourceName[];
}

/** How conflicting labels of one composition are resolved. */
export type ConflictRule = "majority" | "any-glass";

/** One deduplicated composition. */
export interface BmgComposition {
  /** {@link compositionKey}, also the canonical formula (at.%, 0.1 precision, alphabetical). */
  key: string;
  elements: string[];
  /** Fractions of the key (sum 1). */
  fractions: number[];
  /** Element system ({@link elementSystem}). */
  system: string;
  glass: boolean;
  /** Rows labelled glass / crystal that merged into this composition. */
  glassVotes: number;
  crystalVotes: number;
  sources: BmgSourceName[];
}

/** Result of {@link dedupBmg}. */
export interface DedupResult {
  compositions: BmgComposition[];
  /** Compositions whose rows disagree. */
  conflicts: number;
  /** Rows merged into an earlier row of the same composition. */
  duplicates: number;
}

/**
 * Merges records with equal {@link compositionKey} across and within sources. Conflicting labels: `majority`
 * (default) takes the label of most rows, a tie counting as glass (a glass was made at least once, while a
 * crystal report may reflect too slow a quench); `any-glass` labels glass whenever any row says glass.
 * Output is sorted by key (independent of source order).
 */
export function dedupBmg(records: readonly BmgRecord[], rule: ConflictRule = "majority"): DedupResult {
  const byKey = new Map<string, { g: number; c: number; sources: Set<BmgSourceName> }>();
  for (const r of records) {
    let e = byKey.get(r.key);
    if (!e) byKey.set(r.key, e = { g: 0, c: 0, sources: new Set() });
    if (r.glass) e.g++;
    else e.c++;
    e.sources.add(r.source);
  }
  const keys = [...byKey.keys()].sort();
  let conflicts = 0;
  const compositions = keys.map((key) => {
    const e = byKey.get(key)!;
    if (e.g > 0 && e.c > 0) conflicts++;
    const p = parseFormula(key);
    return {
      key,
      elements: p.elements,
      fractions: p.fractions,
      system: elementSystem(p.elements),
      glass: rule === "any-glass" ? e.g > 0 : e.g >= e.c,
      glassVotes: e.g,
      crystalVotes: e.c,
      sources: BMG_SOURCE_NAMES.filter((s) => e.sources.has(s)),
    };
  });
  return { compositions, conflicts, duplicates: records.length - keys.length };
}

/** The elements occurring in some compositions, by atomic number (the D1 column order). */
export function bmgElementList(compositions: readonly { elements: readonly string[] }[]): string[] {
  const s = new Set<string>();
  for (const c of compositions) for (const e of c.elements) s.add(e);
  return sortByAtomicNumber(s);
}

/** Row-major fraction matrix (rows × elements) of compositions over an element list. */
export function fractionMatrix(
  compositions: readonly { elements: readonly string[]; fractions: readonly number[] }[],
  elements: readonly string[],
): Float64Array {
  const idx = new Map(elements.map((e, i) => [e, i]));
  const E = elements.length, out = new Float64Array(compositions.length * E);
  compositions.forEach((c, r) =>
    c.elements.forEach((e, k) => {
      const j = idx.get(e);
      if (j === undefined) {
        throw new UserError(
          `composition ${compositionKey(c.elements, c.fractions)}: ${e} is not in the element list`,
        );
      }
      out[r * E + j] += c.fractions[k];
    })
  );
  return out;
}

/** A composition with glass-transition, crystallisation and liquidus temperatures (K), averaged over duplicates. */
export interface ThermalComposition {
  key: string;
  elements: string[];
  fractions: number[];
  /** The element with the largest fraction (ties: alphabetical). */
  base: string;
  tg: number;
  tx: number;
  tl: number;
  /** Rows averaged. */
  rows: number;
  sources: BmgSourceName[];
}

/** Result of {@link bmgThermalSets}. */
export interface ThermalSets {
  /** Per base element (in the order asked), sorted by key. */
  sets: Record<string, ThermalComposition[]>;
  /** Rows with Tg, Tx, Tl that violate Tg < Tx < Tl (skipped). */
  inconsistent: { source: BmgSourceName; line: number; reason: string }[];
}

/** The base element: largest fraction, ties broken alphabetically. */
export function baseElement(elements: readonly string[], fractions: readonly number[]): string {
  let best = -1;
  for (let i = 0; i < elements.length; i++) {
    if (
      best < 0 || fractions[i] > fractions[best] + 1e-12 ||
      (Math.abs(fractions[i] - fractions[best]) <= 1e-12 && elements[i] < elements[best])
    ) best = i;
  }
  return elements[best];
}

/**
 * The Zr-, La-, Fe- and Ti-based (or other `bases`) sets of compositions with all of Tg, Tx and Tl, for the GAN.
 * Rows with a missing temperature are left out; rows with Tg ≥ Tx or Tx ≥ Tl are reported as inconsistent. Equal
 * compositions (same key) are merged by averaging each temperature over their rows.
 */
export function bmgThermalSets(
  records: readonly BmgRecord[],
  bases: readonly string[] = ["Zr", "La", "Fe", "Ti"],
): ThermalSets {
  const inconsistent: ThermalSets["inconsistent"] = [];
  const acc = new Map<
    string,
    { r: BmgRecord; tg: number; tx: number; tl: number; n: number; s: Set<BmgSourceName> }
  >();
  for (const r of records) {
    if (r.tg === undefined || r.tx === undefined || r.tl === undefined) continue;
    if (!(r.tg < r.tx && r.tx < r.tl)) {
      inconsistent.push({
        source: r.source,
        line: r.line,
        reason: `Tg ${r.tg}, Tx ${r.tx}, Tl ${r.tl} are not increasing`,
      });
      continue;
    }
    const e = acc.get(r.key);
    if (e) e.tg += r.tg, e.tx += r.tx, e.tl += r.tl, e.n++, e.s.add(r.source);
    else acc.set(r.key, { r, tg: r.tg, tx: r.tx, tl: r.tl, n: 1, s: new Set([r.source]) });
  }
  const sets: Record<string, ThermalComposition[]> = Object.fromEntries(bases.map((b) => [b, []]));
  for (const key of [...acc.keys()].sort()) {
    const e = acc.get(key)!;
    const p = parseFormula(key);
    const base = baseElement(p.elements, p.fractions);
    if (!(base in sets)) continue;
    sets[base].push({
      key,
      elements: p.elements,
      fractions: p.fractions,
      base,
      tg: e.tg / e.n,
      tx: e.tx / e.n,
      tl: e.tl / e.n,
      rows: e.n,
      sources: BMG_SOURCE_NAMES.filter((s) => e.s.has(s)),
    });
  }
  return { sets, inconsistent };
}
