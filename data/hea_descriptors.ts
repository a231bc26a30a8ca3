/**
 * The eight engineered HEA descriptors of Zeng, Khan & Post, in the column order of `HEA_feature_engineered.csv`:
 * k, Vm, Tm, VEC (fraction-weighted means), δ = 100·sqrt(Σ cᵢ(1 − rᵢ/r̄)²), Δχ = sqrt(Σ cᵢ(χᵢ − χ̄)²),
 * ΔS_mix = −R Σ cᵢ ln cᵢ (0·ln 0 = 0, R = 8.314 J/(mol·K)), ΔH_mix = Σ_{i<j} 4 ΔH_ij cᵢ cⱼ (kJ/mol).
 *
 * {@link heaDescriptors} computes them with engine ops (one matmul for the means, elementwise ops for δ, Δχ, ΔS,
 * a quadratic form for ΔH), so they run batched on the GPU and are differentiable with respect to the composition;
 * {@link heaDescriptorsHost} is the float64 CPU twin. For large batches without gradient (screening),
 * {@link heaDescriptorsBatch} and {@link heaSubsetDescriptors} run the fused kernels of kernels/hea_descriptors.ts
 * (CPU backend: the twin). Compositions need not be normalised (at.% works): every row is divided by its sum first,
 * so a row must have a positive sum.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import type { Backend } from "../nn/backend.ts";
import type { CpuBackend } from "../nn/cpu_backend.ts";
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import { heaDescriptorsGpu, heaSubsetDescriptorsGpu, heaTablesOnDevice } from "../kernels/hea_descriptors.ts";
import type { Tensor } from "../nn/tensor.ts";
import { keep } from "../nn/scope.ts";
import {
  add,
  affine,
  clamp,
  concat,
  div,
  log,
  matmul,
  mul,
  mulScalar,
  slice,
  sqrt,
  square,
  sub,
  sum,
  tensor,
} from "../nn/ops.ts";
import { StandardScaler } from "./scaler.ts";
import type { HeaTables } from "./hea_tables.ts";

/** Descriptor names, in output order (the CSV's, with its `vac` called `vec`). */
export const HEA_DESCRIPTOR_NAMES: readonly string[] = Object.freeze([
  "k",
  "vm",
  "tm",
  "vec",
  "delta",
  "delta_chi",
  "delta_s_mix",
  "delta_h_mix",
]);

/** Human labels with units, aligned with {@link HEA_DESCRIPTOR_NAMES}. */
export const HEA_DESCRIPTOR_LABELS: readonly string[] = Object.freeze([
  "k (GPa)",
  "Vm (cm³/mol)",
  "Tm (K)",
  "VEC",
  "δ (%)",
  "Δχ",
  "ΔS_mix (J/(mol·K))",
  "ΔH_mix (kJ/mol)",
]);

/** Number of descriptors. */
export const HEA_N_DESCRIPTORS = 8;

/** The gas constant used for ΔS_mix (J/(mol·K)), as the paper. */
export const GAS_CONSTANT = 8.314;

/** Added under the square roots of δ and Δχ on the engine path (keeps their gradient finite at a pure element);
 * the value is shifted back so a pure element still gives exactly 0. Bias ≤ 1e-7 (δ: 1e-5 %). */
const SQRT_EPS = 1e-14;
/** ln is taken of max(c, LOG_FLOOR) on the engine path, so 0·ln 0 = 0 exactly. */
const LOG_FLOOR = 1e-30;

/** The tables as device tensors (made once per tables object and backend, then reused). */
export interface HeaDescriptorConstants {
  backend: Backend;
  /** Number of elements E. */
  nElements: number;
  /** [E, 6]: k, Vm, Tm, VEC, r, χ. */
  props: Tensor;
  /** [1, E] radii. */
  radius: Tensor;
  /** [1, E] electronegativities. */
  chi: Tensor;
  /** [E, E] pair enthalpies. */
  dH: Tensor;
}

const CACHE = new WeakMap<HeaTables, Map<Backend, HeaDescriptorConstants>>();

/** Uploads `tables` to `be` (cached: the same tables object and backend return the same kept tensors). */
export function heaDescriptorConstants(be: Backend, tables: HeaTables): HeaDescriptorConstants {
  let perBe = CACHE.get(tables);
  if (!perBe) CACHE.set(tables, perBe = new Map());
  const hit = perBe.get(be);
  if (hit && !hit.props.disposed) return hit;
  const E = tables.elements.length;
  const p = new Float64Array(E * 6);
  for (let i = 0; i < E; i++) {
    p.set([
      tables.bulkModulus[i],
      tables.molarVolume[i],
      tables.meltingPoint[i],
      tables.vec[i],
      tables.radius[i],
      tables.electronegativity[i],
    ], i * 6);
  }
  const c: HeaDescriptorConstants = {
    backend: be,
    nElements: E,
    props: keep(tensor(p, [E, 6], { backend: be, name: "hea_props" })),
    radius: keep(tensor(tables.radius, [1, E], { backend: be, name: "hea_radius" })),
    chi: keep(tensor(tables.electronegativity, [1, E], { backend: be, name: "hea_chi" })),
    dH: keep(tensor(tables.mixingEnthalpy, [E, E], { backend: be, name: "hea_dH" })),
  };
  perBe.set(be, c);
  return c;
}

/**
 * The eight descriptors of a batch of compositions with engine ops (GPU or CPU, differentiable).
 * @param be the backend `comp` lives on
 * @param comp [N, E] amounts in the column order of `tables.elements` (fractions or at.%; rows are normalised)
 * @param tables a table set ({@link paperTables} / {@link physicalTables}) or its uploaded constants
 * @returns [N, 8] in the order of {@link HEA_DESCRIPTOR_NAMES}
 * @example
 * ```ts
 * const d = heaDescriptors(be, tensor(fracs, [n, 30], { backend: be }), physicalTables());
 * ```
 */
export function heaDescriptors(
  be: Backend,
  comp: Tensor,
  tables: HeaTables | HeaDescriptorConstants,
): Tensor {
  const k = "props" in tables ? tables : heaDescriptorConstants(be, tables);
  if (comp.rank !== 2 || comp.shape[1] !== k.nElements) {
    throw new UserError(
      `heaDescriptors: compositions have shape [${comp.shape.join(", ")}], expected [N, ${k.nElements}]`,
    );
  }
  const n = comp.shape[0];
  const c = div(comp, sum(comp, 1, true)); // row-normalised fractions
  const means = matmul(c, k.props); // [N, 6]
  const basic = slice(means, [0, 0], [n, 4]);
  const rBar = slice(means, [0, 4], [n, 1]);
  const chiBar = slice(means, [0, 5], [n, 1]);
  const rootShift = (s: Tensor, scale: number) =>
    affine(sqrt(affine(s, 1, SQRT_EPS)), scale, -scale * Math.sqrt(SQRT_EPS));
  // δ: Σ cᵢ (1 − rᵢ/r̄)², computed directly (not as Σcr²/r̄² − 1, which cancels in f32).
  const dev = affine(div(k.radius, rBar), -1, 1);
  const delta = rootShift(sum(mul(c, square(dev)), 1, true), 100);
  const dChi = rootShift(sum(mul(c, square(sub(k.chi, chiBar))), 1, true), 1);
  const dS = mulScalar(sum(mul(c, log(clamp(c, LOG_FLOOR, 2))), 1, true), -GAS_CONSTANT);
  // ΔH = Σ_{i<j} 4 H_ij cᵢ cⱼ = 2 cᵀHc (H symmetric, zero diagonal).
  const dH = mulScalar(sum(mul(matmul(c, k.dH), c), 1, true), 2);
  return concat([basic, delta, dChi, dS, dH], 1);
}

/**
 * Descriptors of one row from its non-zero (fraction, column) pairs; fractions are normalised here. A row without a
 * positive sum gives zeros (callers that must reject it check first).
 */
function descriptorsOfPairs(
  f: Float64Array,
  col: Int32Array,
  n: number,
  t: HeaTables,
  out: Float64Array,
  o: number,
): void {
  const E = t.elements.length, H = t.mixingEnthalpy;
  let s = 0;
  for (let a = 0; a < n; a++) s += f[a];
  if (!(s > 0)) {
    out.fill(0, o, o + 8);
    return;
  }
  let k = 0, vm = 0, tm = 0, vec = 0, rb = 0, xb = 0, ds = 0;
  for (let a = 0; a < n; a++) {
    const c = f[a] /= s, i = col[a];
    k += c * t.bulkModulus[i];
    vm += c * t.molarVolume[i];
    tm += c * t.meltingPoint[i];
    vec += c * t.vec[i];
    rb += c * t.radius[i];
    xb += c * t.electronegativity[i];
    ds -= c * Math.log(c);
  }
  let d2 = 0, x2 = 0, dh = 0;
  for (let a = 0; a < n; a++) {
    const c = f[a], i = col[a];
    d2 += c * (1 - t.radius[i] / rb) ** 2;
    x2 += c * (t.electronegativity[i] - xb) ** 2;
    for (let b = a + 1; b < n; b++) dh += 4 * H[i * E + col[b]] * c * f[b];
  }
  out[o] = k, out[o + 1] = vm, out[o + 2] = tm, out[o + 3] = vec;
  out[o + 4] = 100 * Math.sqrt(d2),
    out[o + 5] = Math.sqrt(x2),
    out[o + 6] = GAS_CONSTANT * ds,
    out[o + 7] = dh;
}

/**
 * The float64 CPU twin of {@link heaDescriptors} and of the dense GPU kernel (exact 0·ln 0 = 0 and square roots,
 * no epsilon).
 * @param comp row-major N × E amounts (rows normalised to sum 1)
 * @returns row-major N × 8
 * @throws {UserError} when the length is not a multiple of E, or a row has a negative amount or no positive sum
 */
export function heaDescriptorsHost(comp: ArrayLike<number>, tables: HeaTables): Float64Array {
  const E = tables.elements.length;
  if (comp.length % E !== 0) {
    throw new UserError(`heaDescriptorsHost: ${comp.length} values do not form rows of ${E} elements`);
  }
  const n = comp.length / E, out = new Float64Array(n * 8);
  const f = new Float64Array(E), col = new Int32Array(E);
  for (let r = 0; r < n; r++) {
    let m = 0, s = 0;
    for (let i = 0; i < E; i++) {
      const v = comp[r * E + i];
      if (!(v >= 0)) {
        throw new UserError(`heaDescriptorsHost: row ${r}, ${tables.elements[i]}: amount ${v} < 0`);
      }
      if (v > 0) f[m] = v, col[m++] = i, s += v;
    }
    if (!(s > 0)) throw new UserError(`heaDescriptorsHost: row ${r} has no positive amount`);
    descriptorsOfPairs(f, col, m, tables, out, r * 8);
  }
  return out;
}

/**
 * The float64 twin of the screening kernel: lattice row r (k amounts) placed on subset g (k column indices into
 * `tables.elements`) is output row g·M + r. Zero amounts are skipped; a row without a positive sum gives zeros.
 * @param lattice row-major M × k amounts
 * @param subsets row-major G × k column indices (distinct within a row)
 * @returns row-major (G·M) × 8
 */
export function heaSubsetDescriptorsHost(
  lattice: ArrayLike<number>,
  k: number,
  subsets: ArrayLike<number>,
  tables: HeaTables,
): Float64Array {
  const M = lattice.length / k, G = subsets.length / k, E = tables.elements.length;
  if (!Number.isInteger(M) || !Number.isInteger(G)) {
    throw new UserError(
      `heaSubsetDescriptorsHost: ${lattice.length} and ${subsets.length} are not rows of ${k}`,
    );
  }
  const out = new Float64Array(G * M * 8), f = new Float64Array(k), col = new Int32Array(k);
  for (let g = 0; g < G; g++) {
    for (let r = 0; r < M; r++) {
      let m = 0;
      for (let j = 0; j < k; j++) {
        const v = lattice[r * k + j], c = subsets[g * k + j];
        if (!(c >= 0 && c < E && Number.isInteger(c))) {
          throw new UserError(`heaSubsetDescriptorsHost: subset ${g} has column ${c}, not in 0..${E - 1}`);
        }
        if (v !== 0) f[m] = v, col[m++] = c;
      }
      descriptorsOfPairs(f, col, m, tables, out, (g * M + r) * 8);
    }
  }
  return out;
}

/** The WebGPU backend's tables buffer, or null on another backend. */
function gpuOf(be: Backend): WebGpuBackend | null {
  return be.kind === "webgpu" ? be as WebGpuBackend : null;
}

/** Host values of a tensor on the CPU backend (synchronous there). */
function hostData(t: Tensor): ArrayLike<number> {
  return (t.backend as CpuBackend).data(t);
}

/**
 * The descriptors of a batch without gradient, fast: one fused kernel on WebGPU (kernels/hea_descriptors.ts), the
 * float64 twin on the CPU backend. Use {@link heaDescriptors} when gradients are needed. Rows need not be
 * normalised; a row without a positive sum gives zeros on the GPU and an error on the CPU.
 * @param comp [N, E] in the column order of `tables.elements`
 * @returns [N, 8] in the order of {@link HEA_DESCRIPTOR_NAMES}
 */
export function heaDescriptorsBatch(be: Backend, comp: Tensor, tables: HeaTables): Tensor {
  const E = tables.elements.length;
  if (comp.rank !== 2 || comp.shape[1] !== E) {
    throw new UserError(
      `heaDescriptorsBatch: compositions have shape [${comp.shape.join(", ")}], expected [N, ${E}]`,
    );
  }
  const g = gpuOf(be);
  if (g) return heaDescriptorsGpu(g, comp, heaTablesOnDevice(g, tables), E);
  return tensor(heaDescriptorsHost(hostData(comp), tables), [comp.shape[0], 8], { backend: be });
}

/**
 * Descriptors (and optionally dense compositions) of every lattice row placed on every subset, without gradient:
 * the screening kernel on WebGPU, {@link heaSubsetDescriptorsHost} on the CPU backend. Row g·M + r of the output
 * is lattice row r on subset g.
 * @param lattice [M, k] amounts (f32)
 * @param subsets [G, k] column indices into `tables.elements` (i32)
 * @param withComposition also return the dense normalised compositions [G·M, E]
 * @param rows pad both outputs with zero rows to this many rows (≥ G·M), so a run of batches keeps one shape
 */
export function heaSubsetDescriptors(
  be: Backend,
  lattice: Tensor,
  subsets: Tensor,
  tables: HeaTables,
  withComposition = false,
  rows?: number,
): { descriptors: Tensor; composition: Tensor | null } {
  const E = tables.elements.length;
  const [M, k] = lattice.shape, G = subsets.shape[0];
  const R = rows ?? G * M;
  if (!(Number.isInteger(R) && R >= G * M)) {
    throw new UserError(`heaSubsetDescriptors: rows ${R} is fewer than the ${G * M} compositions`);
  }
  const g = gpuOf(be);
  if (g) {
    return heaSubsetDescriptorsGpu(g, lattice, subsets, heaTablesOnDevice(g, tables), E, withComposition, R);
  }
  const lat = hostData(lattice), sub = hostData(subsets);
  const d = new Float64Array(R * 8);
  d.set(heaSubsetDescriptorsHost(lat, k, sub, tables));
  const descriptors = tensor(d, [R, 8], { backend: be });
  let composition: Tensor | null = null;
  if (withComposition) {
    const c = new Float64Array(R * E);
    for (let q = 0; q < G; q++) {
      for (let r = 0; r < M; r++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += lat[r * k + j];
        if (s > 0) { for (let j = 0; j < k; j++) c[(q * M + r) * E + sub[q * k + j]] = lat[r * k + j] / s; }
      }
    }
    composition = tensor(c, [R, E], { backend: be });
  }
  return { descriptors, composition };
}

/**
 * Fits the descriptor standardiser (population std, as scikit-learn's `StandardScaler`) on training rows only.
 * @param desc row-major N × 8 descriptors
 * @param rows training row indices (default all)
 */
export function fitHeaDescriptorScaler(desc: ArrayLike<number>, rows?: ArrayLike<number>): StandardScaler {
  return StandardScaler.fit(desc, HEA_N_DESCRIPTORS, rows);
}

/** Applies a fitted standardiser to a [N, C] tensor with engine ops ((x − mean) / scale, differentiable). */
export function standardizeTensor(x: Tensor, scaler: StandardScaler): Tensor {
  const C = scaler.mean.length;
  if (x.rank !== 2 || x.shape[1] !== C) {
    throw new UserError(`standardize: input has shape [${x.shape.join(", ")}], expected [N, ${C}]`);
  }
  const inv = Float64Array.from(scaler.scale, (s) => 1 / s);
  const shift = Float64Array.from(scaler.mean, (m, j) => -m * inv[j]);
  const a = tensor(inv, [1, C], { backend: x.backend });
  const b = tensor(shift, [1, C], { backend: x.backend });
  return add(mul(x, a), b);
}
