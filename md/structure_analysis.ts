/**
 * Structure analysis of one periodic configuration: total and partial radial distribution functions, first peak and
 * first minimum of g(r), nearest-neighbour distance, coordination-number histograms, bond-length and bond-angle
 * histograms, and number density. The pair work runs on the GPU kernels of `kernels/md_pairs.ts` (a WebGPU backend)
 * or on their float64 CPU twin `md/pair_analysis_cpu.ts` (any other backend); everything after the histograms is
 * float64 host arithmetic on a few thousand numbers.
 *
 * Conventions (and how they differ from the reference's post-processing scripts):
 * - g_ab(r) = V / (N_a N_b) · Σ_{i∈a} Σ_{j∈b, j≠i} δ(r − r_ij) / (4πr² dr), over ORDERED pairs, each bin divided by
 *   its exact shell volume (4/3)π(r_hi³ − r_lo³). Every unordered a–a pair therefore counts twice, and g_aa → 1 at
 *   large r (exactly (N_a − 1)/N_a). The reference's `pair_rdf.py` counted each unordered pair once against
 *   n_a(n_b − 1)/V, so its same-species curves are half the conventional value; its total g(r) agrees with ours.
 * - The total g(r) = Σ over ordered species pairs x_a x_b g_ab(r) (off-diagonal pairs twice) with x_a = N_a / N.
 * - Bins: g(r) has ⌊r_max/dr⌋ bins [k·dr, (k+1)·dr), reported at their centres; r_max must not exceed half the
 *   smallest perpendicular cell width (beyond it the minimum image is not unique): a clear error otherwise.
 * - First peak: g(r) is smoothed by a centred moving average over 2h + 1 bins, h = max(1, round(0.05 Å / dr))
 *   (0.15 Å wide at dr = 0.05); the first peak is the first local maximum of the smoothed curve that reaches half its
 *   highest value (so a stray close contact is no peak, and the choice does not flip between two sub-peaks of similar
 *   height, as the global maximum would), refined by a parabola through the three smoothed values around it.
 *   First minimum: the first local minimum of the smoothed g(r) after that peak with a value below 1, refined the
 *   same way; on a flat minimum (a crystal's empty gap) the middle of the flat run. Both null when absent; the
 *   reported g values are the smoothed ones.
 *   Caveat for metal–metalloid glasses: their first shell is split by pair type. In the published A1 (B68Fe4Nb24W4)
 *   the first peak is B–B at 1.75 Å and the first minimum 1.99 Å, before the B–Fe, B–Nb and metal–metal sub-shells
 *   (2.0–3.4 Å): the default cutoff then counts B–B contacts only (mean CN 2.1), while the reference's fixed 3.0 Å
 *   gives 11.3. Give the cutoff explicitly for the whole first shell.
 * - Coordination: neighbours closer than the cutoff (given, else the first minimum). Histograms over all atoms and
 *   per centre species; mean partial coordination Z_ab = mean over a-atoms of their b neighbours.
 * - Nearest-neighbour distance: per atom the closest other atom within r_max; the mean over atoms that have one.
 * - Bond lengths: unordered pairs closer than the cutoff, bins of `bondBin` (0.02 Å) from 0, reported at bin
 *   centres (the reference labelled numpy's lower edges). Bond angles: neighbour–centre–neighbour for every
 *   unordered pair of a centre's neighbours, 1° bins CENTRED on whole degrees (bin k = [k − ½°, k + ½°), 181 bins):
 *   the ideal-lattice angles 60°, 90°, 109.47°, 120°, 180° then sit mid-bin instead of on the reference's bin
 *   edges, where float rounding would split them between two bins.
 *
 * Speed: see {@link analyzeStructure}.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import { UserError } from "../cli/errors.ts";
import {
  type AtomConfig,
  cartesianToFractional,
  cellPerpendicularWidths,
  cellVolume,
} from "../data/atom_config.ts";
import {
  ANGLE_BINS,
  MAX_SPECIES,
  neighbourShellGpu,
  pairHistogramGpu,
  pairIndex,
  type PairInput,
} from "../kernels/md_pairs.ts";
import { pairAnalysisCpu } from "./pair_analysis_cpu.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { join } from "../data/paths.ts";

/** Options of {@link analyzeStructure}. */
export interface StructureOptions {
  /** Largest pair distance of g(r) (Å); ≤ half the smallest perpendicular cell width. */
  rmax: number;
  /** Bin width of g(r) (Å). */
  dr: number;
  /** Coordination / bond cutoff (Å); default the first minimum of the total g(r). */
  cutoff?: number;
  /** Centre species for the per-species coordination, bond-length and bond-angle outputs (default all). */
  species?: string[];
  /** Bond-length bin width (Å, default 0.02). */
  bondBin?: number;
}

/** A partial radial distribution function of the unordered species pair (a, b). */
export interface PartialRdf {
  a: string;
  b: string;
  /** g_ab at the bin centres (conventional normalisation, see the module notes). */
  g: number[];
  /** Unordered pairs per bin (each a–b pair once). */
  pairs: number[];
}

/** A point of g(r). */
export interface RdfPoint {
  r: number;
  g: number;
}

/** Coordination-number histogram of a set of centre atoms. */
export interface CoordinationHistogram {
  /** Centre atoms. */
  atoms: number;
  /** Mean coordination number. */
  mean: number;
  /** counts[k] = atoms with k neighbours. */
  counts: number[];
}

/** The result of {@link analyzeStructure}; plain numbers and arrays only (JSON-ready). */
export interface StructureAnalysis {
  source: string;
  atoms: number;
  /** Cell vectors as rows, row-major 3×3 (Å). */
  box: number[];
  volume: number;
  /** Atoms per Å³. */
  density: number;
  speciesList: string[];
  speciesCounts: Record<string, number>;
  fractions: Record<string, number>;
  /** Effective r_max = bins · dr (Å). */
  rmax: number;
  dr: number;
  /** Bin centres of g(r) (Å). */
  r: number[];
  /** Total g(r). */
  g: number[];
  /** Every unordered species pair, a = b included, in speciesList order. */
  partials: PartialRdf[];
  firstPeak: RdfPoint | null;
  firstMinimum: RdfPoint | null;
  /** Cutoff used for coordination, bonds and angles (Å), and where it came from. */
  cutoff: number;
  cutoffSource: "given" | "first-minimum";
  /** Mean nearest-neighbour distance (Å; null when no atom has a neighbour within r_max). */
  meanNearestNeighbour: number | null;
  /** Atoms without any neighbour within r_max (left out of the mean). */
  atomsWithoutNeighbour: number;
  coordination: {
    all: CoordinationHistogram;
    /** Per centre species (those selected by `species`). */
    bySpecies: Record<string, CoordinationHistogram>;
    /** partial[a][b] = mean number of b neighbours of an a atom (all species). */
    partial: Record<string, Record<string, number>>;
  };
  bondLength: {
    binWidth: number;
    /** Bin centres (Å). */
    r: number[];
    /** All bonds (unordered pairs within the cutoff). */
    all: number[];
    /** Unordered species pairs involving a selected species. */
    byPair: { a: string; b: string; counts: number[] }[];
  };
  bondAngle: {
    /** Bin centres 0…180 (degrees). */
    theta: number[];
    all: number[];
    /** Per selected centre species. */
    byCentre: Record<string, number[]>;
  };
  /** Which implementation ran, and wall times (ms) of the pair stages and of the whole analysis. */
  backend: "webgpu" | "cpu";
  timings: { pairsMs: number; shellMs: number; totalMs: number };
}

/** Half-width (bins) of the moving average used for the peak and minimum search. */
export function smoothingHalfWidth(dr: number): number {
  return Math.max(1, Math.round(0.05 / dr));
}

/** Centred moving average over 2h + 1 bins (fewer at the ends). */
export function movingAverage(y: readonly number[], h: number): number[] {
  return y.map((_, k) => {
    let s = 0, c = 0;
    for (let j = Math.max(0, k - h); j <= Math.min(y.length - 1, k + h); j++) {
      s += y[j];
      c++;
    }
    return s / c;
  });
}

/** Vertex offset (−½…½ bins) of the parabola through (−1, a), (0, b), (1, c). */
function parabolaOffset(a: number, b: number, c: number): number {
  const den = a - 2 * b + c;
  return den === 0 ? 0 : Math.max(-0.5, Math.min(0.5, (a - c) / (2 * den)));
}

/**
 * First peak and first minimum of g(r) (see the module notes for the definitions).
 * @param r bin centres, `g` the values at them, `dr` the bin width
 */
export function rdfExtrema(
  r: readonly number[],
  g: readonly number[],
  dr: number,
): { peak: RdfPoint | null; minimum: RdfPoint | null } {
  const s = movingAverage(g, smoothingHalfWidth(dr));
  const top = Math.max(0, ...s);
  if (!(top > 0)) return { peak: null, minimum: null };
  // The first bin reaching half the highest value, then uphill to the top of that peak.
  let k = s.findIndex((v) => v >= top / 2);
  while (k + 1 < s.length && s[k + 1] >= s[k]) k++;
  let b = k;
  while (b > 0 && s[b - 1] === s[k]) b--;
  const at = (i: number, off: number): RdfPoint => ({ r: r[i] + off * dr, g: s[i] });
  // A flat top (a lattice shell: one full bin smoothed into 2h + 1 equal ones) is reported at its middle.
  const peak = b < k
    ? { r: r[0] + ((b + k) / 2) * dr, g: s[k] }
    : k > 0 && k < s.length - 1
    ? at(k, parabolaOffset(s[k - 1], s[k], s[k + 1]))
    : at(k, 0);
  let i = k + 1;
  while (i < s.length - 1) {
    if (s[i] > s[i - 1] || s[i] >= 1) {
      i++;
      continue;
    }
    // Descending or flat below 1: find the end of the flat run at this value.
    let e = i;
    while (e + 1 < s.length && s[e + 1] === s[i]) e++;
    if (e + 1 >= s.length) break;
    if (s[e + 1] > s[i] && s[i] <= s[i - 1]) {
      const mid = (i + e) / 2;
      if (e > i) return { peak, minimum: { r: r[0] + mid * dr, g: s[i] } };
      return { peak, minimum: at(i, parabolaOffset(s[i - 1], s[i], s[i + 1])) };
    }
    i = e + 1;
  }
  return { peak, minimum: null };
}

function positive(v: number | undefined, what: string): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
    throw new UserError(`${what} must be a positive number, got ${v}`);
  }
}

/** Species index per atom and the present species in `speciesList` order. */
function speciesIndex(config: AtomConfig): { list: string[]; index: Int32Array; counts: number[] } {
  const all = new Map<string, number>();
  for (const s of config.species) all.set(s, (all.get(s) ?? 0) + 1);
  const list = config.speciesList.filter((s) => all.has(s));
  for (const s of all.keys()) if (!list.includes(s)) list.push(s);
  if (list.length > MAX_SPECIES) {
    throw new UserError(`${config.source}: ${list.length} species (at most ${MAX_SPECIES})`);
  }
  const pos = new Map(list.map((s, i) => [s, i]));
  return {
    list,
    index: Int32Array.from(config.species, (s) => pos.get(s)!),
    counts: list.map((s) => all.get(s)!),
  };
}

/** Pair-kernel input: fractional coordinates wrapped into [0, 1). */
function pairInput(config: AtomConfig, species: Int32Array, nSpecies: number): PairInput {
  const frac = cartesianToFractional(config.box, config.positions);
  for (let i = 0; i < frac.length; i++) {
    let s = frac[i] - Math.floor(frac[i]);
    if (s >= 1) s = 0; // −1e-17 − floor → 1 after rounding
    frac[i] = s;
  }
  return { frac, h: config.box.h, widths: cellPerpendicularWidths(config.box), species, nSpecies };
}

/**
 * Analyses one configuration (see the module notes for every definition). Runs the pair kernels on `be` when it is
 * a WebGPU backend, else the float64 CPU twin. Two GPU readbacks (pair histogram; neighbour shell), one more only
 * if some atom has more neighbours than the first neighbour-list capacity.
 *
 * Measured on llvmpipe (2 shared cores) for the published A1 configuration (5 488 atoms, r_max 10 Å, dr 0.05 Å,
 * 4 species, cutoff 3 Å or the first minimum): 80–100 ms for the whole analysis once the pipelines are compiled
 * (pair histogram ~60 ms, neighbour shell with bonds and angles ~20–30 ms), ~170 ms on the first call of a process;
 * the float64 CPU twin takes ~650 ms.
 * @throws {UserError} for bad options, an r_max or cutoff beyond half the smallest perpendicular cell width, an
 *   unknown species in `species`, or no first minimum of g(r) when no cutoff is given
 */
export async function analyzeStructure(
  be: Backend,
  config: AtomConfig,
  options: StructureOptions,
): Promise<StructureAnalysis> {
  const t0 = performance.now();
  const { rmax, dr } = options;
  positive(rmax, "rmax");
  positive(dr, "dr");
  positive(options.cutoff, "cutoff");
  positive(options.bondBin, "bond bin width");
  const bondBin = options.bondBin ?? 0.02;
  if (dr > rmax) throw new UserError(`dr ${dr} Å is larger than rmax ${rmax} Å`);
  const bins = Math.floor(rmax / dr + 1e-9);
  if (bins > 1_000_000) throw new UserError(`rmax / dr = ${bins} bins is too many (at most 1 000 000)`);
  if (config.atoms < 1) throw new UserError(`${config.source}: no atoms`);
  const widths = cellPerpendicularWidths(config.box);
  const half = Math.min(...widths) / 2;
  const limit = (what: string, v: number) => {
    if (v > half * (1 + 1e-12)) {
      throw new UserError(
        `${config.source}: ${what} ${v} Å exceeds half the shortest perpendicular cell width (${
          half.toFixed(4)
        } Å); the minimum image is ambiguous beyond it`,
      );
    }
  };
  const rEff = bins * dr;
  limit("rmax", rEff);

  const sp = speciesIndex(config);
  const S = sp.list.length, n = config.atoms;
  const selected = options.species ?? sp.list;
  for (const s of selected) {
    if (!sp.list.includes(s)) {
      throw new UserError(`${config.source}: species '${s}' does not occur (present: ${sp.list.join(", ")})`);
    }
  }
  const input = pairInput(config, sp.index, S);
  const volume = cellVolume(config.box);
  const gpu = be.kind === "webgpu" ? be as WebGpuBackend : null;

  // Stage 1: pair histogram and nearest neighbours.
  let t = performance.now();
  const stage1 = gpu
    ? await pairHistogramGpu(gpu, input, bins, dr)
    : pairAnalysisCpu(input.frac, input.h, sp.index, S, {
      bins,
      binWidth: dr,
    });
  const pairsMs = performance.now() - t;

  const r = Array.from({ length: bins }, (_, k) => (k + 0.5) * dr);
  const shell = Array.from(
    { length: bins },
    (_, k) => (4 / 3) * Math.PI * (((k + 1) * dr) ** 3 - (k * dr) ** 3),
  );
  const g = new Array<number>(bins).fill(0);
  const partials: PartialRdf[] = [];
  for (let a = 0; a < S; a++) {
    for (let b = a; b < S; b++) {
      const p = pairIndex(a, b, S);
      const pairs = Array.from(stage1.hist.subarray(p * bins, (p + 1) * bins));
      const ordered = a === b ? 2 : 1;
      const norm = volume / (sp.counts[a] * sp.counts[b]);
      partials.push({
        a: sp.list[a],
        b: sp.list[b],
        pairs,
        g: pairs.map((c, k) => (norm * ordered * c) / shell[k]),
      });
      for (let k = 0; k < bins; k++) g[k] += (2 * pairs[k] * volume) / (n * n * shell[k]);
    }
  }
  const { peak, minimum } = rdfExtrema(r, g, dr);
  let nnSum = 0, nnAtoms = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isFinite(stage1.nearest2[i])) {
      nnSum += Math.sqrt(stage1.nearest2[i]);
      nnAtoms++;
    }
  }

  // Stage 2: neighbour shell within the cutoff.
  let cutoff: number;
  if (options.cutoff !== undefined) cutoff = options.cutoff;
  else if (minimum) cutoff = minimum.r;
  else {
    throw new UserError(
      `${config.source}: g(r) has no first minimum below 1 within rmax ${rEff} Å; give a cutoff explicitly`,
    );
  }
  limit("cutoff", cutoff);
  const bondBins = Math.max(1, Math.ceil(cutoff / bondBin - 1e-9));
  t = performance.now();
  const stage2 = gpu
    ? await neighbourShellGpu(gpu, input, cutoff, bondBin, bondBins).catch((e) => {
      // Device limits (e.g. the neighbour lists exceed the storage-buffer size) are the user's to resolve.
      throw e instanceof RangeError ? new UserError(`${config.source}: ${e.message}`) : e;
    })
    : pairAnalysisCpu(input.frac, input.h, sp.index, S, {
      bins: 1,
      binWidth: 1e-9,
      cutoff,
      bondBin,
      bondBins,
    });
  const shellMs = performance.now() - t;

  const cn = new Int32Array(n);
  const partialZ: Record<string, Record<string, number>> = {};
  for (const a of sp.list) partialZ[a] = Object.fromEntries(sp.list.map((b) => [b, 0]));
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < S; b++) {
      const c = stage2.counts[i * S + b];
      cn[i] += c;
      partialZ[sp.list[sp.index[i]]][sp.list[b]] += c;
    }
  }
  for (let a = 0; a < S; a++) for (const b of sp.list) partialZ[sp.list[a]][b] /= sp.counts[a];
  const histogramOf = (keep: (i: number) => boolean): CoordinationHistogram => {
    const counts: number[] = [];
    let atoms = 0, sum = 0;
    for (let i = 0; i < n; i++) {
      if (!keep(i)) continue;
      while (counts.length <= cn[i]) counts.push(0);
      counts[cn[i]]++;
      atoms++;
      sum += cn[i];
    }
    return { atoms, mean: atoms ? sum / atoms : 0, counts };
  };
  const bySpecies: Record<string, CoordinationHistogram> = {};
  for (const s of selected) {
    const a = sp.list.indexOf(s);
    bySpecies[s] = histogramOf((i) => sp.index[i] === a);
  }

  const bondAll = new Array<number>(bondBins).fill(0);
  const byPair: { a: string; b: string; counts: number[] }[] = [];
  for (let a = 0; a < S; a++) {
    for (let b = a; b < S; b++) {
      const p = pairIndex(a, b, S);
      const counts = Array.from(stage2.bondHist.subarray(p * bondBins, (p + 1) * bondBins));
      counts.forEach((c, k) => (bondAll[k] += c));
      if (selected.includes(sp.list[a]) || selected.includes(sp.list[b])) {
        byPair.push({ a: sp.list[a], b: sp.list[b], counts });
      }
    }
  }
  const angleAll = new Array<number>(ANGLE_BINS).fill(0);
  const byCentre: Record<string, number[]> = {};
  for (let a = 0; a < S; a++) {
    const row = Array.from(stage2.angleHist.subarray(a * ANGLE_BINS, (a + 1) * ANGLE_BINS));
    row.forEach((c, k) => (angleAll[k] += c));
    if (selected.includes(sp.list[a])) byCentre[sp.list[a]] = row;
  }

  return {
    source: config.source,
    atoms: n,
    box: Array.from(config.box.h),
    volume,
    density: n / volume,
    speciesList: sp.list,
    speciesCounts: Object.fromEntries(sp.list.map((s, a) => [s, sp.counts[a]])),
    fractions: Object.fromEntries(sp.list.map((s, a) => [s, sp.counts[a] / n])),
    rmax: rEff,
    dr,
    r,
    g,
    partials,
    firstPeak: peak,
    firstMinimum: minimum,
    cutoff,
    cutoffSource: options.cutoff !== undefined ? "given" : "first-minimum",
    meanNearestNeighbour: nnAtoms ? nnSum / nnAtoms : null,
    atomsWithoutNeighbour: n - nnAtoms,
    coordination: { all: histogramOf(() => true), bySpecies, partial: partialZ },
    bondLength: {
      binWidth: bondBin,
      r: Array.from({ length: bondBins }, (_, k) => (k + 0.5) * bondBin),
      all: bondAll,
      byPair,
    },
    bondAngle: { theta: Array.from({ length: ANGLE_BINS }, (_, k) => k), all: angleAll, byCentre },
    backend: gpu ? "webgpu" : "cpu",
    timings: { pairsMs, shellMs, totalMs: performance.now() - t0 },
  };
}

/** Formats a number for CSV: integers as is, others with up to 6 significant decimals. */
function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(8)));
}

function csv(header: string[], columns: readonly (readonly number[])[]): string {
  const rows = [header.join(",")];
  for (let k = 0; k < (columns[0]?.length ?? 0); k++) rows.push(columns.map((c) => fmt(c[k])).join(","));
  return rows.join("\n") + "\n";
}

/** g(r) table: `r (Angstrom),g(r)` then one `g_a_b(r)` column per unordered species pair. */
export function rdfCsv(a: StructureAnalysis): string {
  return csv(
    ["r (Angstrom)", "g(r)", ...a.partials.map((p) => `g_${p.a}_${p.b}(r)`)],
    [a.r, a.g, ...a.partials.map((p) => p.g)],
  );
}

/** Coordination histogram `coordination_number,number_of_atoms` of all atoms or of one centre species. */
export function coordinationCsv(a: StructureAnalysis, centre?: string): string {
  const h = centre === undefined ? a.coordination.all : a.coordination.bySpecies[centre];
  if (!h) throw new UserError(`no coordination histogram for species '${centre}'`);
  return csv(["coordination_number", "number_of_atoms"], [h.counts.map((_, k) => k), h.counts]);
}

/** Bond-length histogram `length (Angstrom),count` (bin centres) of all bonds or of one species pair. */
export function bondLengthCsv(a: StructureAnalysis, pair?: [string, string]): string {
  let counts = a.bondLength.all;
  if (pair) {
    const p = a.bondLength.byPair.find((q) =>
      (q.a === pair[0] && q.b === pair[1]) || (q.a === pair[1] && q.b === pair[0])
    );
    if (!p) throw new UserError(`no bond-length histogram for the pair ${pair[0]}-${pair[1]}`);
    counts = p.counts;
  }
  return csv(["length (Angstrom)", "count"], [a.bondLength.r, counts]);
}

/** Bond-angle histogram `angle (degrees),count` (bin centres) of all centres or of one centre species. */
export function bondAngleCsv(a: StructureAnalysis, centre?: string): string {
  const counts = centre === undefined ? a.bondAngle.all : a.bondAngle.byCentre[centre];
  if (!counts) throw new UserError(`no bond-angle histogram for species '${centre}'`);
  return csv(["angle (degrees)", "count"], [a.bondAngle.theta, counts]);
}

/** Every CSV of an analysis by file name: rdf.csv, coordination*.csv, bond_length*.csv, bond_angle*.csv. */
export function structureCsvFiles(a: StructureAnalysis): Record<string, string> {
  const files: Record<string, string> = {
    "rdf.csv": rdfCsv(a),
    "coordination_histogram.csv": coordinationCsv(a),
    "bond_length_histogram.csv": bondLengthCsv(a),
    "bond_angle_histogram.csv": bondAngleCsv(a),
  };
  for (const s of Object.keys(a.coordination.bySpecies)) {
    files[`${s}_coordination_histogram.csv`] = coordinationCsv(a, s);
  }
  for (const p of a.bondLength.byPair) files[`${p.a}_${p.b}_bond_length.csv`] = bondLengthCsv(a, [p.a, p.b]);
  for (const s of Object.keys(a.bondAngle.byCentre)) {
    files[`${s}_bond_angle_histogram.csv`] = bondAngleCsv(a, s);
  }
  return files;
}

/** Writes {@link structureCsvFiles} into `dir` (atomic writes); returns the paths written. */
export async function writeStructureCsvs(dir: string, a: StructureAnalysis): Promise<string[]> {
  const out: string[] = [];
  for (const [name, text] of Object.entries(structureCsvFiles(a))) {
    const path = join(dir, name);
    await writeFileAtomic(path, text);
    out.push(path);
  }
  return out;
}
