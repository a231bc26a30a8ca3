/**
 * `alloy md analyze`: structure analysis of one atomic configuration (extended XYZ, LAMMPS dump or CFG).
 *
 * - Pair analysis on the device (`md/structure_analysis.ts`; its float64 CPU twin with `--device cpu`): total and
 *   partial g(r), first peak and minimum, nearest-neighbour distance, coordination numbers (all atoms and per centre
 *   species) within `--cutoff` (default: the first minimum of g(r)), bond lengths and bond angles.
 * - Voronoi cells on the CPU in float64 (`md/voronoi.ts`, every atom): indices ⟨n3, n4, n5, n6⟩, most frequent
 *   polyhedra per centre species, optional face-area and edge-length thresholds.
 * - `--species B,Re` picks the centre species of the per-species outputs and of the Voronoi ranking (default all);
 *   a listed species the file lacks is a warning (its tables are simply absent), as in the reference's B/Re scripts.
 * - Writes into `--out`: the CSVs of the pair analysis (rdf.csv with every partial, coordination, bond-length and
 *   bond-angle histograms, total and per species), voronoi_indices.csv, voronoi_cells.csv, summary.json and the
 *   plots rdf.svg, coordination.svg, bond_angles.svg, voronoi_top.svg. Everything is computed before the first
 *   file is written, and each file is written atomically.
 * - stdout: a summary, or with `--json` exactly one object `{"atoms","box","density","species","rdf_first_peak",
 *   "mean_nn_distance","coordination":{"mean","by_species"},"voronoi_top":[{"index","fraction"}]}` (box: the three
 *   cell vectors as rows, Å). Warnings go to stderr (the whole analysis takes about a second: no progress bar).
 * @module
 */
import { type Command, helpText, numberFlag, parseFlags, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { join } from "../data/paths.ts";
import { type AtomConfig, cellLengths, isOrthorhombic } from "../data/atom_config.ts";
import { ATOM_CONFIG_FORMATS, type AtomConfigFormat, readAtomConfig } from "../data/atom_config_reader.ts";
import { analyzeStructure, type StructureAnalysis, structureCsvFiles } from "../md/structure_analysis.ts";
import {
  formatVoronoiIndex,
  tallyVoronoi,
  voronoiCells,
  voronoiCellsCsv,
  voronoiIndexCsv,
  type VoronoiResult,
  type VoronoiTally,
} from "../md/voronoi.ts";
import { bondAnglePlot, coordinationPlot, rdfPlot, voronoiTopPlot } from "../md/analysis_plots.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** Voronoi indices listed in the summary, the JSON and the bar chart. */
const TOP = 10;

/** The `--json` object (the issue's contract). */
export interface MdAnalyzeJson {
  atoms: number;
  /** Cell vectors as rows (Å). */
  box: number[][];
  density: number;
  species: Record<string, number>;
  rdf_first_peak: number | null;
  mean_nn_distance: number | null;
  coordination: { mean: number; by_species: Record<string, number> };
  voronoi_top: { index: number[]; fraction: number }[];
}

/** Parses `--species B,Re` / `--type-names B,Fe` (labels, no blanks, no repeats). */
export function parseLabelList(text: string, flag: string): string[] {
  const names = text.split(",").map((s) => s.trim());
  if (names.some((n) => n === "" || /\s/.test(n))) {
    throw new UserError(`flag --${flag}: expected a comma-separated list like B,Fe, got '${text}'`);
  }
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new UserError(`flag --${flag}: '${n}' is listed twice`);
    seen.add(n);
  }
  return names;
}

/** A positive number flag (or undefined when absent). */
function positiveFlag(flags: Flags, name: string, fallback?: number): number | undefined {
  if (flags[name] === undefined && fallback === undefined) return undefined;
  const v = numberFlag(flags, name, fallback);
  if (!(v > 0)) throw new UserError(`flag --${name}: expected a positive number, got '${flags[name]}'`);
  return v;
}

/** A fraction flag in [0, 1). */
function fractionFlag(flags: Flags, name: string): number {
  const v = numberFlag(flags, name, 0);
  if (!(v >= 0 && v < 1)) {
    throw new UserError(`flag --${name}: expected a fraction from 0 to below 1, got '${flags[name]}'`);
  }
  return v;
}

/** A length flag ≥ 0 (default 0). */
function lengthFlag(flags: Flags, name: string): number {
  const v = numberFlag(flags, name, 0);
  if (!(v >= 0)) throw new UserError(`flag --${name}: expected a length ≥ 0, got '${flags[name]}'`);
  return v;
}

/** Settings of one run, checked before any file is read. */
interface Settings {
  config: string;
  format?: AtomConfigFormat;
  typeNames?: string[];
  lenient: boolean;
  species?: string[];
  rmax: number;
  dr: number;
  cutoff?: number;
  areaThreshold: number;
  edgeThreshold: number;
  out: string;
  json: boolean;
}

function settings(flags: Flags, positionals: string[]): Settings {
  if (positionals.length > 0) throw new UserError(`md analyze: unexpected argument '${positionals[0]}'`);
  const config = stringFlag(flags, "config");
  if (config === undefined) throw new UserError("md analyze: missing required flag --config FILE");
  const out = stringFlag(flags, "out");
  if (out === undefined) throw new UserError("md analyze: missing required flag --out DIR");
  const format = stringFlag(flags, "format");
  if (format !== undefined && !ATOM_CONFIG_FORMATS.includes(format as AtomConfigFormat)) {
    throw new UserError(`flag --format: expected ${ATOM_CONFIG_FORMATS.join(", ")}, got '${format}'`);
  }
  const rmax = positiveFlag(flags, "rmax", 10)!, dr = positiveFlag(flags, "dr", 0.05)!;
  if (dr > rmax) throw new UserError(`flag --dr: ${dr} Å is larger than --rmax ${rmax} Å`);
  if (rmax / dr > 1e6) {
    throw new UserError(`flags --rmax/--dr: ${Math.floor(rmax / dr)} bins is too many (≤ 1 000 000)`);
  }
  const species = stringFlag(flags, "species"), types = stringFlag(flags, "type-names");
  return {
    config,
    format: format as AtomConfigFormat | undefined,
    typeNames: types !== undefined ? parseLabelList(types, "type-names") : undefined,
    lenient: !!flags.lenient,
    species: species !== undefined ? parseLabelList(species, "species") : undefined,
    rmax,
    dr,
    cutoff: positiveFlag(flags, "cutoff"),
    areaThreshold: fractionFlag(flags, "voronoi-area-threshold"),
    edgeThreshold: lengthFlag(flags, "voronoi-edge-threshold"),
    out,
    json: !!flags.json,
  };
}

const sig = (x: number, d = 6) => +x.toPrecision(d);

/** The `--json` object from the two analyses. */
export function analyzeJson(a: StructureAnalysis, tally: VoronoiTally): MdAnalyzeJson {
  const h = a.box;
  return {
    atoms: a.atoms,
    box: [h.slice(0, 3), h.slice(3, 6), h.slice(6, 9)],
    density: sig(a.density),
    species: a.speciesCounts,
    rdf_first_peak: a.firstPeak ? sig(a.firstPeak.r, 5) : null,
    mean_nn_distance: a.meanNearestNeighbour !== null ? sig(a.meanNearestNeighbour) : null,
    coordination: {
      mean: sig(a.coordination.all.mean),
      by_species: Object.fromEntries(
        Object.entries(a.coordination.bySpecies).map(([s, c]) => [s, sig(c.mean)]),
      ),
    },
    voronoi_top: tally.total.slice(0, TOP).map((e) => ({ index: e.index, fraction: sig(e.fraction) })),
  };
}

/** Top indices as `<0,2,8,2> 3.1 %, …`. */
function topText(list: VoronoiTally["total"], k = 5): string {
  return list.slice(0, k).map((e) => `${formatVoronoiIndex(e.index)} ${(100 * e.fraction).toFixed(1)} %`)
    .join(", ");
}

/** The human-readable summary. */
function summaryText(
  s: Settings,
  config: AtomConfig,
  a: StructureAnalysis,
  v: VoronoiResult,
  tally: VoronoiTally,
  times: { pairs: number; voronoi: number },
  written: number,
): string {
  const L = cellLengths(config.box).map((x) => x.toFixed(3)).join(" × ");
  const counts = a.speciesList.map((sp) => `${sp} ${a.speciesCounts[sp]}`).join(", ");
  const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? "—" : x.toFixed(d));
  const lines = [
    `${config.source}: ${a.atoms} atoms (${counts}), ${
      isOrthorhombic(config.box) ? "cell" : "triclinic cell"
    } ${L} Å`,
    `density             ${a.density.toFixed(5)} atoms/Å³`,
    `g(r) first peak     ${f(a.firstPeak?.r)} Å (g = ${f(a.firstPeak?.g, 2)}); first minimum ${
      f(a.firstMinimum?.r)
    } Å`,
    `mean NN distance    ${f(a.meanNearestNeighbour)} Å`,
    `coordination        mean ${a.coordination.all.mean.toFixed(2)} within ${a.cutoff.toFixed(3)} Å (${
      a.cutoffSource === "given" ? "--cutoff" : "first minimum of g(r)"
    })${
      Object.keys(a.coordination.bySpecies).length
        ? "; " + Object.entries(a.coordination.bySpecies).map(([sp, c]) =>
          `${sp} ${c.mean.toFixed(2)}`
        ).join(", ")
        : ""
    }`,
  ];
  if (a.cutoffSource === "first-minimum" && a.coordination.all.mean < 4) {
    lines.push(
      `                    (the first minimum closes only the shortest sub-shell here; --cutoff 3.0 counts the whole first shell)`,
    );
  }
  const thresholds = s.areaThreshold > 0 || s.edgeThreshold > 0
    ? ` (faces < ${
      100 * s.areaThreshold
    } % of the cell's area and edges < ${s.edgeThreshold} Å ignored; ${v.droppedFaces} faces dropped)`
    : "";
  lines.push(`Voronoi indices     ${tally.centres} centres${thresholds}: ${topText(tally.total)}`);
  for (const [sp, t] of Object.entries(tally.bySpecies)) {
    lines.push(
      `  ${sp.padEnd(4)} ${String(t.centres).padStart(6)}   ${t.meanFaces.toFixed(2)} faces, ${
        t.meanVolume.toFixed(2)
      } Å³: ${topText(t.indices, 3)}`,
    );
  }
  lines.push(
    `time                pair analysis ${(times.pairs / 1000).toFixed(2)} s (${a.backend}), Voronoi ${
      (times.voronoi / 1000).toFixed(2)
    } s (CPU float64)`,
    `wrote ${written} files to ${s.out}`,
  );
  return lines.join("\n");
}

/** Runs `md analyze` with parsed flags; returns the exit status. */
async function run(flags: Flags, positionals: string[]): Promise<number> {
  const s = settings(flags, positionals);
  const config = await readAtomConfig(s.config, {
    lenient: s.lenient,
    format: s.format,
    typeNames: s.typeNames,
  });
  for (const w of config.warnings) console.error(`warning: ${w}`);
  const present = new Set(config.species);
  let centres = s.species;
  if (centres) {
    const missing = centres.filter((sp) => !present.has(sp));
    if (missing.length === centres.length) {
      throw new UserError(
        `flag --species: none of ${centres.join(", ")} occurs in ${s.config} (species: ${
          [...present].join(", ")
        })`,
      );
    }
    for (const sp of missing) {
      console.error(`warning: species ${sp} does not occur in ${s.config}; no tables for it`);
    }
    centres = centres.filter((sp) => present.has(sp));
  }

  const be = await openDevice(flags);
  let t = performance.now();
  const a = await analyzeStructure(be, config, {
    rmax: s.rmax,
    dr: s.dr,
    cutoff: s.cutoff,
    species: centres,
  });
  const pairsMs = performance.now() - t;
  t = performance.now();
  let v: VoronoiResult;
  try {
    v = voronoiCells(config.positions, config.box, {
      areaThreshold: s.areaThreshold,
      edgeThreshold: s.edgeThreshold,
    });
  } catch (e) {
    if (e instanceof RangeError) throw new UserError(`${s.config}: ${e.message}`);
    throw e;
  }
  const voronoiMs = performance.now() - t;
  const tally = tallyVoronoi(v, config.species, centres);
  const json = analyzeJson(a, tally);

  // Everything in memory first, then written.
  const files: Record<string, string> = {
    ...structureCsvFiles(a),
    "voronoi_indices.csv": voronoiIndexCsv(tally),
    "voronoi_cells.csv": voronoiCellsCsv(v, config.species, config.ids),
    "rdf.svg": rdfPlot(a),
    "coordination.svg": coordinationPlot(a),
    "bond_angles.svg": bondAnglePlot(a),
    "voronoi_top.svg": voronoiTopPlot(tally, TOP, centres ? `${centres.join(", ")} centres` : "all centres"),
  };
  const summary = {
    ...json,
    source: s.config,
    warnings: config.warnings,
    centre_species: centres ?? a.speciesList,
    rmax: a.rmax,
    dr: a.dr,
    rdf_first_peak_g: a.firstPeak?.g ?? null,
    rdf_first_minimum: a.firstMinimum?.r ?? null,
    cutoff: a.cutoff,
    cutoff_source: a.cutoffSource,
    atoms_without_neighbour: a.atomsWithoutNeighbour,
    partial_coordination: a.coordination.partial,
    voronoi: {
      area_threshold: s.areaThreshold,
      edge_threshold: s.edgeThreshold,
      dropped_faces: v.droppedFaces,
      by_species: Object.fromEntries(
        Object.entries(tally.bySpecies).map(([sp, t]) => [sp, {
          centres: t.centres,
          mean_faces: sig(t.meanFaces),
          mean_volume: sig(t.meanVolume),
          top: t.indices.slice(0, TOP).map((e) => ({ index: e.index, fraction: sig(e.fraction) })),
        }]),
      ),
    },
    backend: a.backend,
    seconds: { pair_analysis: sig(pairsMs / 1000, 4), voronoi: sig(voronoiMs / 1000, 4) },
    files: [...Object.keys(files), "summary.json"].sort(),
  };
  files["summary.json"] = JSON.stringify(summary, null, 2) + "\n";
  for (const [name, text] of Object.entries(files)) await writeFileAtomic(join(s.out, name), text);

  if (s.json) console.log(JSON.stringify(json));
  else {
    console.log(
      summaryText(s, config, a, v, tally, { pairs: pairsMs, voronoi: voronoiMs }, Object.keys(files).length),
    );
  }
  return 0;
}

/** The `md analyze` subcommand (dispatched by `alloy md`). */
export const mdAnalyzeCommand: Command = {
  name: "md analyze",
  summary: "structure analysis of a configuration: g(r), coordination, bonds, Voronoi indices (CSV + SVG)",
  usage:
    "--config FILE [--lenient] [--species B,Re] [--rmax 10 --dr 0.05] [--cutoff R] [--voronoi-area-threshold F] --out DIR [--json]",
  flags: {
    config: { type: "string", value: "FILE", help: "configuration: extended XYZ, LAMMPS text dump or CFG" },
    format: {
      type: "string",
      value: "xyz|dump|cfg",
      help: "file format (default: from the first line, else the extension)",
    },
    "type-names": {
      type: "string",
      value: "LIST",
      help: "species of LAMMPS types 1, 2, … for a dump without an element column",
    },
    lenient: {
      type: "boolean",
      help: "read the atoms that are there when the header count disagrees (a warning)",
    },
    species: {
      type: "string",
      value: "LIST",
      help: "centre species of the per-species tables and the Voronoi ranking, e.g. B,Re (default: all)",
    },
    rmax: { type: "string", value: "Å", default: "10", help: "largest distance of g(r)" },
    dr: { type: "string", value: "Å", default: "0.05", help: "bin width of g(r)" },
    cutoff: {
      type: "string",
      value: "Å",
      help: "coordination and bond cutoff (default: first minimum of g(r))",
    },
    "voronoi-area-threshold": {
      type: "string",
      value: "F",
      default: "0",
      help: "ignore Voronoi faces smaller than this fraction of their cell's total face area",
    },
    "voronoi-edge-threshold": {
      type: "string",
      value: "Å",
      default: "0",
      help: "count only Voronoi face edges at least this long as vertices",
    },
    out: { type: "string", value: "DIR", help: "output folder (CSV, SVG, summary.json)" },
    json: { type: "boolean", help: "print exactly one JSON object on stdout" },
  },
  run,
};

/**
 * Runs `md analyze` on its arguments (what follows `alloy md analyze`): `--help` prints the help, errors are thrown
 * as {@link UserError} for the caller (`cli/main.ts`) to print as one line.
 * @returns the exit status
 */
export async function mdAnalyze(argv: string[]): Promise<number> {
  const { flags, positionals } = parseFlags(mdAnalyzeCommand, argv);
  if (flags.help) {
    console.log(helpText(mdAnalyzeCommand));
    return 0;
  }
  return await mdAnalyzeCommand.run(flags, positionals);
}
