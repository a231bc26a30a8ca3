/**
 * Pair analysis of a periodic atomic configuration on the GPU: a cell-list neighbour search with minimum-image
 * distances in a general (triclinic) cell, feeding three kernels:
 *
 * - `pairHistogramSpec`: pair-distance histogram per unordered species pair (each unordered pair counted once) for
 *   r < r_max, plus each atom's squared nearest-neighbour distance within r_max;
 * - `neighbourShellSpec`: per atom, the number of neighbours of each species within a cutoff, a list of the
 *   neighbour vectors (for the angles) and the bond-length histogram per unordered species pair;
 * - `bondAngleSpec`: the neighbour–centre–neighbour angle histogram per centre species (1° bins centred on whole
 *   degrees) from those lists.
 *
 * Geometry. Positions go in as fractional coordinates s ∈ [0, 1) (float32, formed in float64 on the host); a pair
 * vector is d = (Δs − round(Δs))·H with H the cell vectors as rows. This rounding finds the true minimum image of
 * every pair closer than half the smallest perpendicular cell width w_min, in any triclinic cell: such a pair has
 * |Δs_k| = |d·n_k| / w_k ≤ r / w_k ≤ ½ along each cell axis (n_k the unit normal of the other two cell vectors), and
 * at most one image lies that close. The caller therefore guarantees r_max, cutoff ≤ w_min / 2; pairs beyond them
 * are never counted, whatever image the rounding picks.
 *
 * Cell list (built on the host by {@link buildCellList}: a counting sort, O(N)): the cell is cut into
 * nc_k = ⌊m·w_k / r⌋ slabs per axis (m = the "reach"), so a pair closer than r lies in cells at most m apart per axis
 * (|Δs_k| ≤ r / w_k ≤ m / nc_k); each atom scans the min(nc_k, 2m + 1) distinct cells per axis around its own. Atoms
 * are stored sorted by cell, so a cell is a contiguous range and the half-pair restriction j > i of the histogram
 * kernel is a clamp of the range start, not a test per pair. With r_max = 10 Å in a 37 Å cell the reach-1 grid is
 * 3×3×3 = the whole cell (an all-pairs scan); reach 2 (7³ cells, 5³ scanned) cuts the candidates to 36 % and the
 * time of that stage by half. The reach is chosen per search by a cost model measured on llvmpipe (see
 * {@link chooseReach}).
 *
 * Precision: float32 fractional coordinates carry ~6·10⁻⁸ of the cell edge, so distances differ from float64 ones
 * by a few 10⁻⁶ Å in a ~40 Å cell (at most 3·10⁻⁶ Å over A1's nearest neighbours); a pair can land in a different
 * bin than in the float64 CPU twin (`md/pair_analysis_cpu.ts`) only when its distance is that close to a bin edge
 * or to the cutoff. Angles use atan2(|u×v|, u·v), accurate near 0° and 180° where acos is not.
 *
 * Counts are u32 atomics; the histogram kernels accumulate into a workgroup-local copy when it fits in 16 KB
 * (≤ 4 096 counters, e.g. 4 species × 200 bins) and add it to the global histogram once per workgroup: on llvmpipe
 * the A1 pair histogram takes 55 ms that way and ~70 ms with global atomics only.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";

const WG = 64;
/** Workgroup-local histogram words: 16 KB, the WebGPU default workgroup-memory limit. */
const LOCAL_WORDS = 4096;
/** Angle bins: centres 0°, 1°, …, 180°. */
export const ANGLE_BINS = 181;
/** Most species the packed per-atom metadata (cell << 8 | species) can hold. */
export const MAX_SPECIES = 256;
const MAX_CELLS = 1 << 24;

/** Index of the unordered species pair (a, b) among the S(S+1)/2 pairs (a ≤ b, row-major upper triangle). */
export function pairIndex(a: number, b: number, nSpecies: number): number {
  const lo = Math.min(a, b), hi = Math.max(a, b);
  return (lo * (2 * nSpecies - lo + 1)) / 2 + hi - lo;
}

/** Number of unordered species pairs including a = b. */
export function pairCount(nSpecies: number): number {
  return (nSpecies * (nSpecies + 1)) / 2;
}

/** Host-side description of the atoms for the pair kernels. */
export interface PairInput {
  /** N×3 fractional coordinates in [0, 1) (float64). */
  frac: Float64Array;
  /** Cell vectors as rows, row-major 3×3 (Å). */
  h: Float64Array;
  /** Perpendicular widths of the cell (Å). */
  widths: readonly [number, number, number];
  /** Species index per atom (0 … nSpecies − 1). */
  species: Int32Array;
  nSpecies: number;
}

/** A cell list over fractional coordinates. */
export interface CellList {
  /** Cells per axis. */
  nc: [number, number, number];
  /** Neighbour reach m: cells up to m apart per axis are scanned. */
  reach: number;
  /** First scanned cell offset per axis (added modulo nc: nc − m, or 0 when the whole axis is scanned). */
  first: [number, number, number];
  /** Scanned cells per axis: min(nc, 2m + 1). */
  span: [number, number, number];
  /** Sorted position → original atom index. */
  order: Int32Array;
  /** Cell of each sorted atom. */
  cellOf: Int32Array;
  /** Start of each cell's range in sorted order (length cells + 1). */
  cellStart: Uint32Array;
}

function gridFor(
  widths: readonly number[],
  radius: number,
  reach: number,
  n: number,
): [number, number, number] {
  // A hair of margin so float64 rounding of w/r can never give a cell thinner than r/m.
  const nc = widths.map((w) => Math.max(1, Math.floor((reach * w) / (radius * (1 + 1e-9))))) as [
    number,
    number,
    number,
  ];
  // Dilute systems: fewer, larger cells are still correct (cells only need to be at least r/m wide).
  const maxCells = Math.min(MAX_CELLS, Math.max(64, 8 * n));
  let cells = nc[0] * nc[1] * nc[2];
  while (cells > maxCells) {
    const f = Math.cbrt(maxCells / cells);
    for (let k = 0; k < 3; k++) nc[k] = Math.max(1, Math.floor(nc[k] * f));
    cells = nc[0] * nc[1] * nc[2];
  }
  return nc;
}

/**
 * Reach m ∈ {1, 2, 3} with the least estimated work per atom: scanned cells × CELL_COST + candidate atoms, the
 * candidates being N·Π(span_k / nc_k); CELL_COST ≈ 6 pair evaluations per visited cell. On llvmpipe with A1
 * (5 488 atoms, 37.4 Å cubic cell; wall time of one stage including cell list, upload and readback) it ranks the
 * reaches as measured: pair histogram to 10 Å — reach 1 (3³ cells = all pairs) 112 ms, reach 2 (5³ of 7³) 55 ms,
 * reach 3 (7³ of 11³) 61 ms → picks 2; neighbour shell to 3 Å — reach 1 (3³ of 12³) 24 ms, reach 2 27 ms,
 * reach 3 40 ms → picks 1.
 */
export function chooseReach(widths: readonly number[], radius: number, n: number): number {
  const CELL_COST = 6;
  let best = 1, bestCost = Infinity;
  for (let m = 1; m <= 3; m++) {
    const nc = gridFor(widths, radius, m, n);
    let cells = 1, frac = 1;
    for (let k = 0; k < 3; k++) {
      const s = Math.min(nc[k], 2 * m + 1);
      cells *= s;
      frac *= s / nc[k];
    }
    const cost = cells * CELL_COST + n * frac;
    if (cost < bestCost - 1e-9) {
      best = m;
      bestCost = cost;
    }
  }
  return best;
}

/**
 * Builds the cell list for pairs closer than `radius` (counting sort by cell; atoms keep their relative order
 * within a cell). `reach` defaults to {@link chooseReach}.
 */
export function buildCellList(input: PairInput, radius: number, reach?: number): CellList {
  const n = input.species.length;
  const m = reach ?? chooseReach(input.widths, radius, n);
  const nc = gridFor(input.widths, radius, m, n);
  const cells = nc[0] * nc[1] * nc[2];
  const cellOfAtom = new Int32Array(n);
  const cellStart = new Uint32Array(cells + 1);
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let k = 2; k >= 0; k--) {
      const b = Math.min(nc[k] - 1, Math.max(0, Math.floor(input.frac[3 * i + k] * nc[k])));
      c = c * nc[k] + b;
    }
    cellOfAtom[i] = c;
    cellStart[c + 1]++;
  }
  for (let c = 0; c < cells; c++) cellStart[c + 1] += cellStart[c];
  const fillAt = cellStart.slice(0, cells);
  const order = new Int32Array(n), cellOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = fillAt[cellOfAtom[i]]++;
    order[p] = i;
    cellOf[p] = cellOfAtom[i];
  }
  const span = nc.map((c) => Math.min(c, 2 * m + 1)) as [number, number, number];
  const first = nc.map((c, k) => (span[k] === c ? 0 : c - m)) as [number, number, number];
  return { nc, reach: m, first, span, order, cellOf, cellStart };
}

const PARAMS_WGSL = `struct Params {
  h0: vec4<f32>, h1: vec4<f32>, h2: vec4<f32>,
  nc: vec4<u32>, first: vec4<u32>, span: vec4<u32>,
  r2max: f32, invdr: f32, nb: u32, cap: u32,
}
@group(0) @binding(0) var<uniform> P: Params;`;

/** Uniforms: cell rows, grid (w = atoms), scan (w = species), r², 1/bin width, bins, list capacity. */
function params(input: PairInput, cl: CellList, radius: number, binWidth: number, bins: number, cap = 0) {
  const h = input.h, n = input.species.length;
  return packParams([
    ["f", h[0]],
    ["f", h[1]],
    ["f", h[2]],
    ["f", 0],
    ["f", h[3]],
    ["f", h[4]],
    ["f", h[5]],
    ["f", 0],
    ["f", h[6]],
    ["f", h[7]],
    ["f", h[8]],
    ["f", 0],
    ["u", cl.nc[0]],
    ["u", cl.nc[1]],
    ["u", cl.nc[2]],
    ["u", n],
    ["u", cl.first[0]],
    ["u", cl.first[1]],
    ["u", cl.first[2]],
    ["u", input.nSpecies],
    ["u", cl.span[0]],
    ["u", cl.span[1]],
    ["u", cl.span[2]],
    ["u", 0],
    ["f", radius * radius],
    ["f", 1 / binWidth],
    ["u", bins],
    ["u", cap],
  ]);
}

const PAIR_INDEX_WGSL = `fn pidx(a: u32, b: u32) -> u32 {
  let lo = min(a, b);
  let hi = max(a, b);
  return (lo * (2u * P.first.w - lo + 1u)) / 2u + hi - lo;
}`;

/**
 * WGSL of the scan over the neighbour cells of sorted atom `i` (position `pi`, cell `ci`): `body` runs for every
 * other atom j of those cells closer than √P.r2max, with `d` (vec3 from i to j's nearest image), `r2`, `mj`
 * (j's metadata). `half`: only j > i (each unordered pair once).
 */
function cellScan(body: string, half: boolean): string {
  return `let cx = ci % P.nc.x;
    let cy = (ci / P.nc.x) % P.nc.y;
    let cz = ci / (P.nc.x * P.nc.y);
    for (var kz = 0u; kz < P.span.z; kz++) {
      let z = (cz + P.first.z + kz) % P.nc.z;
      for (var ky = 0u; ky < P.span.y; ky++) {
        let y = (cy + P.first.y + ky) % P.nc.y;
        for (var kx = 0u; kx < P.span.x; kx++) {
          let c = (z * P.nc.y + y) * P.nc.x + (cx + P.first.x + kx) % P.nc.x;
          let e = cstart[c + 1u];
          for (var j = ${half ? "max(cstart[c], i + 1u)" : "cstart[c]"}; j < e; j++) {
            ${half ? "" : "if (j == i) { continue; }"}
            var ds = pos[j].xyz - pi;
            ds = ds - round(ds);
            let d = ds.x * P.h0.xyz + ds.y * P.h1.xyz + ds.z * P.h2.xyz;
            let r2 = dot(d, d);
            if (r2 < P.r2max) {
              let mj = atominfo[j];
              ${body}
            }
          }
        }
      }
    }`;
}

/** WGSL helpers of a histogram that may live in workgroup memory (`local` words) or go straight to `dst`. */
function histogramParts(dst: string, local: number) {
  if (!local) {
    return {
      decl: "",
      add: (idx: string) => `atomicAdd(&${dst}[${idx}], 1u);`,
      open: "",
      close: "",
    };
  }
  return {
    decl: `var<workgroup> lh: array<atomic<u32>, ${local}>;`,
    add: (idx: string) => `atomicAdd(&lh[${idx}], 1u);`,
    open: `for (var k = lid; k < ${local}u; k += ${WG}u) { atomicStore(&lh[k], 0u); }
  workgroupBarrier();`,
    close: `workgroupBarrier();
  for (var k = lid; k < ${local}u; k += ${WG}u) {
    let v = atomicLoad(&lh[k]);
    if (v != 0u) { atomicAdd(&${dst}[k], v); }
  }`,
  };
}

/** Whether a histogram of `words` counters accumulates in workgroup memory. */
function localWords(words: number): number {
  return words <= LOCAL_WORDS ? words : 0;
}

/**
 * Pair-distance histogram: hist[pair(a, b)·nb + ⌊r/dr⌋] += 1 for every unordered pair with r < r_max (each once),
 * and nn[i] = min over j of r²_ij (float32 bits as u32, atomically; positive floats order like their bits).
 * Bindings: pos (vec4: fractional xyz), atominfo (cell << 8 | species), cstart, hist, nn.
 */
export function pairHistogramSpec(n: number, nSpecies: number, bins: number): KernelSpec {
  const words = pairCount(nSpecies) * bins;
  const local = localWords(words);
  const bindings = ["read", "read", "read", "rw", "rw"] as const;
  const h = histogramParts("hist", local);
  return {
    key: `md_pair_hist:${local}`,
    uniforms: true,
    bindings,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `${PARAMS_WGSL}
${
        declareBindings(bindings, ["pos", "atominfo", "cstart", "hist", "nn"], [
          "vec4<f32>",
          "u32",
          "u32",
          "atomic<u32>",
          "atomic<u32>",
        ])
      }
${PAIR_INDEX_WGSL}
${h.decl}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  ${h.open}
  if (i < P.nc.w) {
    let pi = pos[i].xyz;
    let ci = atominfo[i] >> 8u;
    let si = atominfo[i] & 255u;
    var best = bitcast<f32>(0x7f800000u);
    ${
        cellScan(
          `let bin = min(u32(sqrt(r2) * P.invdr), P.nb - 1u);
              ${h.add("pidx(si, mj & 255u) * P.nb + bin")}
              best = min(best, r2);
              if (r2 < bitcast<f32>(atomicLoad(&nn[j]))) { atomicMin(&nn[j], bitcast<u32>(r2)); }`,
          true,
        )
      }
    atomicMin(&nn[i], bitcast<u32>(best));
  }
  ${h.close}
}`,
  };
}

/**
 * Neighbour shell within the cutoff: counts[i·S + species(j)] (plain stores, one row per atom), total[i], the
 * neighbour vectors list[i·cap + k] (first `cap` neighbours; xyz = d, w = r) and the bond-length histogram
 * bond[pair·nb + ⌊r/db⌋] over unordered pairs (j > i). Bindings: pos, atominfo, cstart, counts, total, list, bond.
 */
export function neighbourShellSpec(n: number, nSpecies: number, bins: number): KernelSpec {
  const bindings = ["read", "read", "read", "rw", "rw", "rw", "rw"] as const;
  const h = histogramParts("bond", localWords(pairCount(nSpecies) * bins));
  return {
    key: `md_neighbour_shell:${localWords(pairCount(nSpecies) * bins)}`,
    uniforms: true,
    bindings,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `${PARAMS_WGSL}
${
        declareBindings(bindings, ["pos", "atominfo", "cstart", "counts", "total", "list", "bond"], [
          "vec4<f32>",
          "u32",
          "u32",
          "u32",
          "u32",
          "vec4<f32>",
          "atomic<u32>",
        ])
      }
${PAIR_INDEX_WGSL}
${h.decl}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  ${h.open}
  if (i < P.nc.w) {
    let pi = pos[i].xyz;
    let ci = atominfo[i] >> 8u;
    let si = atominfo[i] & 255u;
    let row = i * P.first.w;
    for (var s = 0u; s < P.first.w; s++) { counts[row + s] = 0u; }
    var k = 0u;
    ${
        cellScan(
          `let r = sqrt(r2);
              counts[row + (mj & 255u)] += 1u;
              if (k < P.cap) { list[i * P.cap + k] = vec4<f32>(d, r); }
              k++;
              if (j > i) {
                let bin = min(u32(r * P.invdr), P.nb - 1u);
                ${h.add("pidx(si, mj & 255u) * P.nb + bin")}
              }`,
          false,
        )
      }
    total[i] = k;
  }
  ${h.close}
}`,
  };
}

/**
 * Bond angles: for every centre i and every unordered pair of its listed neighbours (u, v), the angle
 * θ = atan2(|u×v|, u·v) in degrees into bin round(θ) of the centre's species row: angle[species(i)·181 + bin].
 * Bindings: atominfo, total, list, angle.
 */
export function bondAngleSpec(n: number, nSpecies: number): KernelSpec {
  // `total` lives in the same buffer as `angle` (one readback), so it must be bound read-write too.
  const bindings = ["read", "rw", "read", "rw"] as const;
  const local = localWords(nSpecies * ANGLE_BINS);
  const h = histogramParts("angle", local);
  return {
    key: `md_bond_angle:${local}`,
    uniforms: true,
    bindings,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `${PARAMS_WGSL}
${
        declareBindings(bindings, ["atominfo", "total", "list", "angle"], [
          "u32",
          "u32",
          "vec4<f32>",
          "atomic<u32>",
        ])
      }
${h.decl}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  ${h.open}
  if (i < P.nc.w) {
    let row = (atominfo[i] & 255u) * ${ANGLE_BINS}u;
    let m = min(total[i], P.cap);
    let base = i * P.cap;
    for (var a = 0u; a + 1u < m; a++) {
      let u = list[base + a].xyz;
      for (var b = a + 1u; b < m; b++) {
        let v = list[base + b].xyz;
        let deg = atan2(length(cross(u, v)), dot(u, v)) * 57.29577951308232;
        let bin = min(u32(deg + 0.5), ${ANGLE_BINS - 1}u);
        ${h.add("row + bin")}
      }
    }
  }
  ${h.close}
}`,
  };
}

/** Uploads the sorted fractional positions (vec4) and metadata (cell << 8 | species) of a cell list. */
function uploadAtoms(
  be: WebGpuBackend,
  input: PairInput,
  cl: CellList,
): { pos: Tensor; meta: Tensor; cstart: Tensor } {
  const n = input.species.length;
  const pos = new Float32Array(Math.max(4, 4 * n));
  const meta = new Int32Array(Math.max(1, n));
  for (let p = 0; p < n; p++) {
    const i = cl.order[p];
    pos[4 * p] = input.frac[3 * i];
    pos[4 * p + 1] = input.frac[3 * i + 1];
    pos[4 * p + 2] = input.frac[3 * i + 2];
    meta[p] = (cl.cellOf[p] << 8) | input.species[i];
  }
  return {
    pos: be.fromData(pos, [pos.length]),
    meta: be.fromData(meta, [meta.length], "i32"),
    cstart: be.fromData(Int32Array.from(cl.cellStart), [cl.cellStart.length], "i32"),
  };
}

function checkInput(input: PairInput): void {
  if (input.nSpecies < 1 || input.nSpecies > MAX_SPECIES) {
    throw new Error(`md pair kernels: ${input.nSpecies} species (1…${MAX_SPECIES} supported)`);
  }
}

/** Rounds up to a multiple of 64 elements (the subview alignment). */
function pad64(n: number): number {
  return Math.max(64, Math.ceil(n / 64) * 64);
}

/** Result of {@link pairHistogramGpu}. */
export interface PairHistogramResult {
  /** Unordered-pair counts, [pairCount(S) × bins], pair index from {@link pairIndex}. */
  hist: Uint32Array;
  /** Squared nearest-neighbour distance of each atom (original order) within r_max; Infinity when none. */
  nearest2: Float64Array;
  /** The cell list used. */
  cells: CellList;
}

/**
 * Records and reads back the pair-distance histogram with bins of width `binWidth` up to `bins·binWidth`
 * (must be ≤ half the smallest perpendicular cell width: the caller checks). One readback.
 */
export async function pairHistogramGpu(
  be: WebGpuBackend,
  input: PairInput,
  bins: number,
  binWidth: number,
  reach?: number,
): Promise<PairHistogramResult> {
  checkInput(input);
  const n = input.species.length;
  const rmax = bins * binWidth;
  const cl = buildCellList(input, rmax, reach);
  const words = pairCount(input.nSpecies) * bins;
  const histLen = pad64(words);
  const init = new Int32Array(histLen + Math.max(1, n));
  init.fill(0x7f800000, histLen); // +inf bits for the nearest-neighbour minima
  const out = be.fromData(init, [init.length], "i32");
  const hist = be.subview(out, 0, [words]);
  const nn = be.subview(out, histLen, [Math.max(1, n)]);
  const { pos, meta, cstart } = uploadAtoms(be, input, cl);
  if (n > 1) {
    be.run(
      pairHistogramSpec(n, input.nSpecies, bins),
      [pos, meta, cstart, hist, nn],
      params(input, cl, rmax, binWidth, bins),
    );
  }
  const data = new Uint32Array((await be.read(out)).buffer);
  for (const t of [pos, meta, cstart, hist, nn, out]) t.dispose();
  const nearest2 = new Float64Array(n);
  const bits = new Float32Array(data.buffer, data.byteOffset + histLen * 4, Math.max(1, n));
  for (let p = 0; p < n; p++) nearest2[cl.order[p]] = bits[p];
  return { hist: data.slice(0, words), nearest2, cells: cl };
}

/** Result of {@link neighbourShellGpu}. */
export interface NeighbourShellResult {
  /** Neighbours of each species within the cutoff, [N × S], original atom order. */
  counts: Uint32Array;
  /** Unordered-pair bond-length counts, [pairCount(S) × bins]. */
  bondHist: Uint32Array;
  /** Bond-angle counts per centre species, [S × 181], bin k = angles in [k − ½°, k + ½°). */
  angleHist: Uint32Array;
  /** Largest neighbour count of any atom. */
  maxNeighbours: number;
  /** The cell list used. */
  cells: CellList;
}

/**
 * Records and reads back the neighbour shell within `cutoff` (≤ half the smallest perpendicular width: the caller
 * checks): coordination counts per neighbour species, bond lengths in bins of `bondBin` (`bins` of them) and bond
 * angles. The neighbour lists hold `capacity` vectors per atom (default from the density); if some atom has more,
 * the shell is recomputed once with room for all, so the angles are always complete. One readback (two on overflow).
 */
export async function neighbourShellGpu(
  be: WebGpuBackend,
  input: PairInput,
  cutoff: number,
  bondBin: number,
  bins: number,
  capacity?: number,
  reach?: number,
): Promise<NeighbourShellResult> {
  checkInput(input);
  const n = input.species.length, S = input.nSpecies;
  const cl = buildCellList(input, cutoff, reach);
  // Π w_k ≤ V (equal for orthorhombic cells), so this overestimates the density: a generous first capacity.
  const volume = input.widths[0] * input.widths[1] * input.widths[2];
  const expected = (n / volume) * (4 / 3) * Math.PI * cutoff ** 3;
  let cap = capacity ?? Math.max(16, Math.ceil(2 * expected + 16));
  const { pos, meta, cstart } = uploadAtoms(be, input, cl);
  const bondWords = pairCount(S) * bins, angleWords = S * ANGLE_BINS;
  const countsLen = pad64(n * S), totalLen = pad64(n), bondLen = pad64(bondWords);
  try {
    for (;;) {
      const out = be.fromData(new Int32Array(countsLen + totalLen + bondLen + pad64(angleWords)), [
        countsLen + totalLen + bondLen + pad64(angleWords),
      ], "i32");
      const counts = be.subview(out, 0, [Math.max(1, n * S)]);
      const total = be.subview(out, countsLen, [Math.max(1, n)]);
      const bond = be.subview(out, countsLen + totalLen, [bondWords]);
      const angle = be.subview(out, countsLen + totalLen + bondLen, [angleWords]);
      const listBytes = n * cap * 16, limit = be.ctx.limits.maxStorageBufferBindingSize;
      if (listBytes > limit) {
        // A RangeError (the kernel layer knows no CLI): md/structure_analysis.ts reports it as a user error.
        throw new RangeError(
          `neighbour lists need ${listBytes} bytes (${n} atoms × ${cap} neighbours), more than the device's ` +
            `${limit}-byte storage-buffer limit: use a smaller cutoff or the CPU backend`,
        );
      }
      const list = be.empty([Math.max(4, n * cap * 4)]);
      if (n > 0) {
        const p = params(input, cl, cutoff, bondBin, bins, cap);
        be.run(neighbourShellSpec(n, S, bins), [pos, meta, cstart, counts, total, list, bond], p);
        be.run(bondAngleSpec(n, S), [meta, total, list, angle], p);
      }
      const data = new Uint32Array((await be.read(out)).buffer);
      for (const t of [counts, total, bond, angle, list, out]) t.dispose();
      let maxNeighbours = 0;
      for (let p = 0; p < n; p++) maxNeighbours = Math.max(maxNeighbours, data[countsLen + p]);
      if (maxNeighbours > cap) {
        cap = maxNeighbours;
        continue;
      }
      const countsOut = new Uint32Array(n * S);
      for (let p = 0; p < n; p++) {
        countsOut.set(data.subarray(p * S, (p + 1) * S), cl.order[p] * S);
      }
      return {
        counts: countsOut,
        bondHist: data.slice(countsLen + totalLen, countsLen + totalLen + bondWords),
        angleHist: data.slice(countsLen + totalLen + bondLen, countsLen + totalLen + bondLen + angleWords),
        maxNeighbours,
        cells: cl,
      };
    }
  } finally {
    for (const t of [pos, meta, cstart]) t.dispose();
  }
}
