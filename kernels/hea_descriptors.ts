/**
 * The eight HEA descriptors (data/hea_descriptors.ts: k, Vm, Tm, VEC, δ, Δχ, ΔS_mix, ΔH_mix) as fused WGSL kernels,
 * one thread per composition, for the batches of high-throughput screening (millions of rows, no gradient):
 *
 * - {@link heaDescriptorsDenseSpec}: dense compositions [N, E] → [N, 8]. Zero amounts are skipped, so sparse rows
 *   cost O(k²) in ΔH rather than O(E²).
 * - {@link heaSubsetDescriptorsSpec}: the screening layout. A lattice of M fraction rows over k slots [M, k] and G
 *   element subsets [G, k] (column indices into the tables) give N = G·M compositions, row g·M + r = lattice row r
 *   placed on subset g. Optionally the dense composition [N, E] is written too (for classifiers that read it).
 *
 * Tables travel as one storage buffer (see {@link packHeaTables}): per element k, Vm, Tm, VEC, r, χ (6 floats),
 * then the E × E pair enthalpies. Every row is divided by its sum first; a row with no positive amount gives eight
 * zeros (the float64 twin, `heaDescriptorsHost`, throws on it instead: validate untrusted input on the host). The
 * square roots and ΔS use exact 0·ln 0 = 0, like the twin; only f32 rounding differs.
 *
 * The dispatch functions ({@link heaDescriptorsGpu}, {@link heaSubsetDescriptorsGpu}) only record work: nothing is
 * read back.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { keep } from "../nn/scope.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";

const WG = 64;
/** R (J/(mol·K)) as data/hea_descriptors.ts GAS_CONSTANT (repeated here: data/ imports this file). */
const GAS_CONSTANT_WGSL = "8.314";
/** Floats per element in the packed table: k, Vm, Tm, VEC, r, χ. */
const PROPS = 6;

/** The per-element values and pair enthalpies the kernels read (a subset of data/hea_tables.ts `HeaTables`). */
export interface HeaKernelTables {
  elements: readonly string[];
  bulkModulus: ArrayLike<number>;
  molarVolume: ArrayLike<number>;
  meltingPoint: ArrayLike<number>;
  vec: ArrayLike<number>;
  radius: ArrayLike<number>;
  electronegativity: ArrayLike<number>;
  /** E × E, row-major, symmetric. */
  mixingEnthalpy: ArrayLike<number>;
}

/** Packs the tables as the kernels read them: [E·6 properties, E·E enthalpies] (float32). */
export function packHeaTables(t: HeaKernelTables): Float32Array {
  const E = t.elements.length;
  const out = new Float32Array(E * PROPS + E * E);
  for (let i = 0; i < E; i++) {
    out.set([
      t.bulkModulus[i],
      t.molarVolume[i],
      t.meltingPoint[i],
      t.vec[i],
      t.radius[i],
      t.electronegativity[i],
    ], i * PROPS);
  }
  for (let i = 0; i < E * E; i++) out[E * PROPS + i] = t.mixingEnthalpy[i];
  return out;
}

/**
 * WGSL shared by both kernels: `hea_desc(n)` computes the descriptors of the n (fraction, column) pairs held in
 * the private arrays `cf`/`ci` (zeros already dropped, not yet normalised) and writes them at `o`.
 */
function descriptorWgsl(E: number, cap: number): string {
  return `
const E: u32 = ${E}u;
const HOFF: u32 = ${E * PROPS}u;
fn hea_desc(cf: ptr<function, array<f32, ${cap}>>, ci: ptr<function, array<u32, ${cap}>>, n: u32, o: u32) {
  var s = 0.0;
  for (var a = 0u; a < n; a++) { s += (*cf)[a]; }
  if (!(s > 0.0)) {
    for (var q = 0u; q < 8u; q++) { out[o + q] = 0.0; }
    return;
  }
  let inv = 1.0 / s;
  var mk = 0.0; var mv = 0.0; var mt = 0.0; var me = 0.0; var rb = 0.0; var xb = 0.0; var ds = 0.0;
  for (var a = 0u; a < n; a++) {
    let c = (*cf)[a] * inv;
    (*cf)[a] = c;
    let p = (*ci)[a] * ${PROPS}u;
    mk += c * tab[p]; mv += c * tab[p + 1u]; mt += c * tab[p + 2u]; me += c * tab[p + 3u];
    rb += c * tab[p + 4u]; xb += c * tab[p + 5u];
    ds -= c * log(c);
  }
  var d2 = 0.0; var x2 = 0.0; var dh = 0.0;
  for (var a = 0u; a < n; a++) {
    let c = (*cf)[a];
    let ea = (*ci)[a];
    let u = 1.0 - tab[ea * ${PROPS}u + 4u] / rb;
    let w = tab[ea * ${PROPS}u + 5u] - xb;
    d2 += c * u * u;
    x2 += c * w * w;
    var h = 0.0;
    for (var b = a + 1u; b < n; b++) { h += tab[HOFF + ea * E + (*ci)[b]] * (*cf)[b]; }
    dh += 4.0 * c * h;
  }
  out[o] = mk; out[o + 1u] = mv; out[o + 2u] = mt; out[o + 3u] = me;
  out[o + 4u] = 100.0 * sqrt(d2); out[o + 5u] = sqrt(x2);
  out[o + 6u] = ${GAS_CONSTANT_WGSL} * ds; out[o + 7u] = dh;
}`;
}

/** Dense rows. Bindings: comp [N·E], tables (packed), out [N·8]. Uniform: N. */
export function heaDescriptorsDenseSpec(N: number, E: number): KernelSpec {
  const bindings = ["read", "read", "rw"] as const;
  return {
    key: `hea_desc_dense:E${E}`,
    uniforms: true,
    bindings,
    workgroups: grid1d(Math.ceil(N / WG)),
    source: () =>
      `struct Params { n: u32, p1: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, ["comp", "tab", "out"])}
${descriptorWgsl(E, E)}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let row = ${FLAT_WG} * ${WG}u + lid;
  if (row >= P.n) { return; }
  var cf: array<f32, ${E}>;
  var ci: array<u32, ${E}>;
  var n = 0u;
  for (var e = 0u; e < E; e++) {
    let v = comp[row * E + e];
    if (v != 0.0) { cf[n] = v; ci[n] = e; n++; }
  }
  hea_desc(&cf, &ci, n, row * 8u);
}`,
  };
}

/**
 * Lattice × subsets. Bindings: lattice [M·k] fractions, subsets [G·k] column indices (i32), tables (packed), out
 * [rows·8], and with `withComposition` comp [rows·E]. Uniforms: N = G·M, M, rows (≥ N; rows past N are zeros).
 */
export function heaSubsetDescriptorsSpec(
  rows: number,
  k: number,
  E: number,
  withComposition: boolean,
): KernelSpec {
  const bindings = withComposition
    ? (["read", "read", "read", "rw", "rw"] as const)
    : (["read", "read", "read", "rw"] as const);
  const names = ["lat", "sub", "tab", "out", "comp"];
  return {
    key: `hea_desc_subset:k${k}:E${E}:${withComposition ? "c" : "-"}`,
    uniforms: true,
    bindings,
    workgroups: grid1d(Math.ceil(rows / WG)),
    source: () =>
      `struct Params { n: u32, m: u32, rows: u32, p3: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, names, ["f32", "i32", "f32", "f32", "f32"])}
${descriptorWgsl(E, k)}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let t = ${FLAT_WG} * ${WG}u + lid;
  if (t >= P.rows) { return; }
  if (t >= P.n) {
    // padding row: zeros
    for (var q = 0u; q < 8u; q++) { out[t * 8u + q] = 0.0; }
    ${withComposition ? "for (var e = 0u; e < E; e++) { comp[t * E + e] = 0.0; }" : ""}
    return;
  }
  let g = t / P.m;
  let r = t - g * P.m;
  var cf: array<f32, ${k}>;
  var ci: array<u32, ${k}>;
  var n = 0u;
  for (var j = 0u; j < ${k}u; j++) {
    let v = lat[r * ${k}u + j];
    if (v != 0.0) { cf[n] = v; ci[n] = u32(sub[g * ${k}u + j]); n++; }
  }
${
        withComposition
          ? `  for (var e = 0u; e < E; e++) { comp[t * E + e] = 0.0; }
  var tot = 0.0;
  for (var a = 0u; a < n; a++) { tot += cf[a]; }
  if (tot > 0.0) { for (var a = 0u; a < n; a++) { comp[t * E + ci[a]] = cf[a] / tot; } }`
          : ""
      }
  hea_desc(&cf, &ci, n, t * 8u);
}`,
  };
}

/** Uploaded tables per backend (made once per tables object, then reused). */
const TABLES = new WeakMap<HeaKernelTables, Map<WebGpuBackend, Tensor>>();

/** The packed tables on `be` (cached per tables object and backend; the caller must not dispose it). */
export function heaTablesOnDevice(be: WebGpuBackend, t: HeaKernelTables): Tensor {
  let per = TABLES.get(t);
  if (!per) TABLES.set(t, per = new Map());
  const hit = per.get(be);
  if (hit && !hit.disposed) return hit;
  // kept: it outlives the scope that first asked for it
  const x = keep(be.fromData(packHeaTables(t), [t.elements.length * (PROPS + t.elements.length)]));
  per.set(be, x);
  return x;
}

/**
 * Records the dense kernel: descriptors [N, 8] of `comp` [N, E] (rows need not be normalised).
 * @param tablesOnDevice from {@link heaTablesOnDevice}
 */
export function heaDescriptorsGpu(
  be: WebGpuBackend,
  comp: Tensor,
  tablesOnDevice: Tensor,
  E: number,
): Tensor {
  if (comp.rank !== 2 || comp.shape[1] !== E) {
    throw new Error(
      `heaDescriptorsGpu: compositions have shape [${comp.shape.join(", ")}], expected [N, ${E}]`,
    );
  }
  const N = comp.shape[0];
  const out = be.empty([N, 8]);
  if (N > 0) be.run(heaDescriptorsDenseSpec(N, E), [comp, tablesOnDevice, out], packParams([["u", N]]));
  return out;
}

/**
 * Records the subset kernel: descriptors [G·M, 8] (and the dense compositions [G·M, E] when asked) of the lattice
 * `lattice` [M, k] placed on the subsets `subsets` [G, k] (i32 column indices).
 * @param rows pad the outputs to this many rows (≥ G·M) with zero rows, so every batch of a screening run has one
 *   shape (the engine compiles its kernels per shape)
 */
export function heaSubsetDescriptorsGpu(
  be: WebGpuBackend,
  lattice: Tensor,
  subsets: Tensor,
  tablesOnDevice: Tensor,
  E: number,
  withComposition: boolean,
  rows?: number,
): { descriptors: Tensor; composition: Tensor | null } {
  const [M, k] = lattice.shape, G = subsets.shape[0];
  if (lattice.rank !== 2 || subsets.rank !== 2 || subsets.shape[1] !== k || subsets.dtype !== "i32") {
    throw new Error(
      `heaSubsetDescriptorsGpu: lattice [${lattice.shape}] and subsets [${subsets.shape}] (${subsets.dtype}) ` +
        `must be [M, k] f32 and [G, k] i32`,
    );
  }
  const N = G * M, R = rows ?? N;
  if (!(Number.isInteger(R) && R >= N)) {
    throw new Error(`heaSubsetDescriptorsGpu: rows ${R} < ${N} compositions`);
  }
  const descriptors = be.empty([R, 8]);
  const composition = withComposition ? be.empty([R, E]) : null;
  if (R > 0) {
    be.run(
      heaSubsetDescriptorsSpec(R, k, E, withComposition),
      composition
        ? [lattice, subsets, tablesOnDevice, descriptors, composition]
        : [lattice, subsets, tablesOnDevice, descriptors],
      packParams([["u", N], ["u", M], ["u", R]]),
    );
  }
  return { descriptors, composition };
}
