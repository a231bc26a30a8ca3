/**
 * Composition descriptors for metallic-glass models (issue 10, after Zhou, Shang, Liu, Yang):
 * - **D1**: the element fractions over an element list;
 * - **D2**: 13 empirical parameters ({@link D2_NAMES});
 * - **D3**: theory-guided descriptors ({@link D3_NAMES}) — atomic-size residual strain and derived scalars, cohesive
 *   and interaction-energy statistics, non-ideal (hard-sphere) mixing entropy;
 * - compound sets **CD1** = D1 + D3 and **CD2** = D1 + D2 (`d1d2` is the same as `cd2`; `all` = D1 + D2 + D3).
 *
 * D2 and D3 are computed with engine ops in row batches ({@link physicalDescriptorsEngine}: weighted means by one
 * matmul, deviations, pair sums as cᵀHc, masked minima/maxima), so they run on the GPU, with a float64 host twin
 * written directly from the definitions ({@link physicalDescriptorsHost}) for parity tests and tiny inputs.
 *
 * Definitions (c = atomic fractions, x̄ = Σ cᵢxᵢ, weighted std = √Σ cᵢ(xᵢ − x̄)², R = 8.314 J/(mol·K)):
 * - radii rᵢ: Miracle et al. (2010) effective atomic radii in metallic glasses (`miracleRadiusPm`, complete for
 *   all 57 table elements); δ = 100·√Σ cᵢ(1 − rᵢ/r̄)² (%);
 * - Tm: pymatgen melting point, Magpie's for P (pymatgen has none); χ: Pauling; VEC: group-number convention,
 *   U = 6 (5f³6d¹7s²; the table leaves U empty); bulk modulus K: pymatgen, with the six elements it lacks filled
 *   from Kittel, *Introduction to Solid State Physics* 8th ed., Table 3 (Ga 56.9, Ge 77.2, Sr 11.6, Zr 83.3,
 *   In 41.1, Os 418 GPa);
 * - ΔH_mix = Σ_{i<j} 4 H_ij cᵢcⱼ with Takeuchi–Inoue pair enthalpies H_ij (kJ/mol); its std
 *   σ_ΔH = √Σ_{i≠j} cᵢcⱼ(H_ij − ΔH_mix)² (Zhou et al., npj Comput. Mater. 5 (2019) 128, Table 1);
 *   S_ideal = −R Σ cᵢ ln cᵢ;
 * - residual strain: the strain that puts atom i on a site sized for the mean atom, εᵢ = r̄/rᵢ − 1 (the
 *   uniform-site limit of the geometric model of Ye, Liu, Yang, Acta Mater. 94 (2015) 152; the full model needs
 *   structure-dependent apparent radii that the paper does not tabulate); scalars: RMS √Σ cᵢεᵢ², max and min over
 *   the elements present, and γ = ω_S/ω_L with ωₓ = 1 − √(1 − (r̄/(rₓ + r̄))²) for the smallest and largest atom
 *   (Wang, Huang, Yang, Wang, Liu, Scripta Mater. 94 (2015) 28);
 * - cohesive energy E_coh (eV/atom, Kittel via matminer): mean, std, min, max over elements present; ratio
 *   ΔH_mix / (96.485·Ē_coh) (mixing relative to cohesion, both kJ/mol);
 * - interaction energy statistics over the unlike pairs present, weighted cᵢcⱼ: mean H̄ = Σ_{i≠j}cᵢcⱼH_ij /
 *   Σ_{i≠j}cᵢcⱼ, std around it, min and max H_ij (all 0 for a pure element);
 * - non-ideal mixing entropy: the hard-sphere mismatch entropy S_σ of Mansoori, Carnahan, Starling, Leland
 *   (J. Chem. Phys. 54 (1971) 1523) with packing fraction ξ = 0.64, as used for metallic glasses by Takeuchi &
 *   Inoue (Mater. Sci. Eng. A 304 (2001) 446): S_σ/k_B = 3/2(ζ²−1)y₁ + 3/2(ζ−1)²y₂ − [½(ζ−1)(ζ−3) + ln ζ](1 − y₃),
 *   ζ = 1/(1−ξ), y₁ = Σ_{i<j}(dᵢ+dⱼ)(dᵢ−dⱼ)²cᵢcⱼ/σ₃, y₂ = σ₂Σ_{i<j}dᵢdⱼ(dᵢ−dⱼ)²cᵢcⱼ/σ₃², y₃ = σ₂³/σ₃², σₖ = Σcᵢdᵢᵏ,
 *   d = 2r; reported as R·S_σ (J/(mol·K)) and S_ideal + R·S_σ.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import type { Backend } from "../nn/backend.ts";
import { getBackend } from "../nn/device.ts";
import {
  add,
  addScalar,
  affine,
  concat,
  div,
  greater,
  log,
  matmul,
  max,
  min,
  mul,
  mulScalar,
  relu,
  reshape,
  slice,
  sqrt,
  square,
  sub,
  sum,
  tensor,
} from "../nn/ops.ts";
import { scope } from "../nn/scope.ts";
import type { Tensor } from "../nn/tensor.ts";
import { elementProperty, hasElementProperties, mixingEnthalpy } from "./element_properties.ts";

/** Gas constant, J/(mol·K). */
export const GAS_CONSTANT = 8.314;
/** Packing fraction of the hard-sphere mismatch entropy (dense random packing, Takeuchi & Inoue 2001). */
export const MISMATCH_PACKING_FRACTION = 0.64;
const EV_TO_KJ_PER_MOL = 96.485;

/** The 13 empirical parameters (D2), in column order. */
export const D2_NAMES = [
  "r_mean", // mean Miracle radius, pm
  "delta", // atomic size difference, %
  "tm_mean", // K
  "tm_std", // K
  "dh_mix", // kJ/mol
  "dh_mix_std", // kJ/mol
  "s_ideal", // J/(mol K)
  "chi_mean",
  "chi_std",
  "vec_mean",
  "vec_std",
  "k_mean", // GPa
  "k_std", // GPa
] as const;

/** The theory-guided descriptors (D3), in column order. */
export const D3_NAMES = [
  "strain_rms",
  "strain_max",
  "strain_min",
  "gamma",
  "ecoh_mean", // eV/atom
  "ecoh_std",
  "ecoh_min",
  "ecoh_max",
  "h_pair_mean", // kJ/mol
  "h_pair_std",
  "h_pair_min",
  "h_pair_max",
  "dh_over_ecoh",
  "s_mismatch", // J/(mol K)
  "s_nonideal", // J/(mol K)
] as const;

/** D2 followed by D3: the columns of {@link physicalDescriptorsHost} / {@link physicalDescriptorsEngine}. */
export const PHYSICAL_NAMES: readonly string[] = [...D2_NAMES, ...D3_NAMES];

/** Descriptor sets. `d1d2` = `cd2`. */
export const DESCRIPTOR_SETS = ["d1", "d2", "d3", "cd1", "cd2", "d1d2", "all"] as const;
/** One descriptor set. */
export type DescriptorSet = typeof DESCRIPTOR_SETS[number];

/** Bulk moduli missing from pymatgen, from Kittel 8th ed. Table 3 (GPa). */
const KITTEL_BULK_MODULUS: Readonly<Record<string, number>> = {
  Ga: 56.9,
  Ge: 77.2,
  Sr: 11.6,
  Zr: 83.3,
  In: 41.1,
  Os: 418,
};

/** Per-element inputs of the descriptors over an element list (missing values already filled). */
export interface ElementDescriptorTable {
  elements: readonly string[];
  /** Miracle radius, pm. */
  radius: Float64Array;
  tm: Float64Array;
  chi: Float64Array;
  vec: Float64Array;
  bulk: Float64Array;
  ecoh: Float64Array;
  /** Takeuchi–Inoue H_ij (kJ/mol), E × E row-major, zero diagonal. */
  h: Float64Array;
}

/**
 * The descriptor inputs of `elements`, with the documented fills for missing values.
 * @throws {UserError} naming the element when it has no row in the element-property table or a value stays missing
 */
export function elementDescriptorTable(elements: readonly string[]): ElementDescriptorTable {
  const E = elements.length;
  const bad = elements.filter((e) => !hasElementProperties(e));
  if (bad.length) {
    throw new UserError(`no element properties for ${bad.join(", ")} (descriptors need the embedded table)`);
  }
  const get = (e: string, f: () => number | null, what: string): number => {
    const v = f();
    if (v === null || !Number.isFinite(v)) throw new UserError(`element ${e}: no ${what}`);
    return v;
  };
  const t: ElementDescriptorTable = {
    elements: [...elements],
    radius: new Float64Array(E),
    tm: new Float64Array(E),
    chi: new Float64Array(E),
    vec: new Float64Array(E),
    bulk: new Float64Array(E),
    ecoh: new Float64Array(E),
    h: new Float64Array(E * E),
  };
  elements.forEach((e, i) => {
    t.radius[i] = get(e, () => elementProperty(e, "miracleRadiusPm"), "Miracle radius");
    t.tm[i] = get(
      e,
      () => elementProperty(e, "meltingPointK") ?? elementProperty(e, "meltingPointKMagpie"),
      "melting point",
    );
    t.chi[i] = get(e, () => elementProperty(e, "electronegativity"), "electronegativity");
    t.vec[i] = get(e, () => elementProperty(e, "vec") ?? (e === "U" ? 6 : null), "VEC");
    t.bulk[i] = get(
      e,
      () => elementProperty(e, "bulkModulusGPa") ?? KITTEL_BULK_MODULUS[e] ?? null,
      "bulk modulus",
    );
    t.ecoh[i] = get(e, () => elementProperty(e, "cohesiveEnergyEv"), "cohesive energy");
    for (let j = 0; j < E; j++) {
      const h = mixingEnthalpy(e, elements[j]);
      if (h === undefined) throw new UserError(`no mixing enthalpy for ${e}–${elements[j]}`);
      t.h[i * E + j] = h;
    }
  });
  return t;
}

/** Row-normalised copy of a fraction matrix (rows × E). @throws {UserError} for a row that does not sum to > 0 */
export function normalizeRows(fractions: ArrayLike<number>, E: number): Float64Array {
  const n = fractions.length / E;
  if (!Number.isInteger(n)) throw new Error(`normalizeRows: ${fractions.length} values are not rows of ${E}`);
  const out = new Float64Array(fractions.length);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < E; j++) {
      const v = fractions[r * E + j];
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new UserError(`composition row ${r}: fraction ${v} is not ≥ 0`);
      }
      s += v;
    }
    if (!(s > 0)) {
      throw new UserError(`composition row ${r}: the fractions sum to ${s}, not a positive number`);
    }
    for (let j = 0; j < E; j++) out[r * E + j] = fractions[r * E + j] / s;
  }
  return out;
}

/** ζ-dependent constants of the mismatch entropy. */
function mismatchConstants(xi = MISMATCH_PACKING_FRACTION) {
  const z = 1 / (1 - xi);
  return { a1: 1.5 * (z * z - 1), a2: 1.5 * (z - 1) ** 2, a3: 0.5 * (z - 1) * (z - 3) + Math.log(z) };
}

/**
 * D2 + D3 ({@link PHYSICAL_NAMES}) of every row, float64, straight from the definitions (explicit pair sums):
 * the reference twin of {@link physicalDescriptorsEngine}.
 * @param fractions rows × E (normalised here)
 */
export function physicalDescriptorsHost(
  fractions: ArrayLike<number>,
  table: ElementDescriptorTable,
): Float64Array {
  const E = table.elements.length;
  const c = normalizeRows(fractions, E);
  const n = c.length / E, K = PHYSICAL_NAMES.length;
  const out = new Float64Array(n * K);
  const { a1, a2, a3 } = mismatchConstants();
  const { radius: r, h } = table;
  for (let row = 0; row < n; row++) {
    const x = c.subarray(row * E, (row + 1) * E);
    const idx = [...x.keys()].filter((i) => x[i] > 0);
    const wmean = (p: Float64Array) => idx.reduce((s, i) => s + x[i] * p[i], 0);
    const wstd = (p: Float64Array, m: number) =>
      Math.sqrt(idx.reduce((s, i) => s + x[i] * (p[i] - m) ** 2, 0));
    const rbar = wmean(r);
    const delta = 100 * Math.sqrt(idx.reduce((s, i) => s + x[i] * (1 - r[i] / rbar) ** 2, 0));
    const tm = wmean(table.tm), chi = wmean(table.chi), vec = wmean(table.vec), k = wmean(table.bulk);
    const ec = wmean(table.ecoh);
    let dh = 0, pairW = 0, pairH = 0;
    for (const i of idx) {
      for (const j of idx) {
        if (j <= i) continue;
        dh += 4 * h[i * E + j] * x[i] * x[j];
        pairW += 2 * x[i] * x[j];
        pairH += 2 * x[i] * x[j] * h[i * E + j];
      }
    }
    let dhVar = 0;
    for (const i of idx) for (const j of idx) if (i !== j) dhVar += x[i] * x[j] * (h[i * E + j] - dh) ** 2;
    const hMean = pairW > 0 ? pairH / pairW : 0;
    let hVar = 0, hMin = Infinity, hMax = -Infinity;
    for (const i of idx) {
      for (const j of idx) {
        if (i === j) continue;
        hVar += x[i] * x[j] * (h[i * E + j] - hMean) ** 2;
        hMin = Math.min(hMin, h[i * E + j]);
        hMax = Math.max(hMax, h[i * E + j]);
      }
    }
    const sIdeal = -GAS_CONSTANT * idx.reduce((s, i) => s + x[i] * Math.log(x[i]), 0);
    const eps = idx.map((i) => rbar / r[i] - 1);
    const rS = Math.min(...idx.map((i) => r[i])), rL = Math.max(...idx.map((i) => r[i]));
    const omega = (rx: number) => 1 - Math.sqrt(1 - (rbar / (rx + rbar)) ** 2);
    // hard-sphere mismatch entropy from the raw moments (float64 has no cancellation trouble here)
    const d = (i: number) => 2 * r[i];
    const sig = (p: number) => idx.reduce((s, i) => s + x[i] * d(i) ** p, 0);
    const s2 = sig(2), s3 = sig(3);
    let p1 = 0, p2 = 0;
    for (const i of idx) {
      for (const j of idx) {
        if (j <= i) continue;
        p1 += (d(i) + d(j)) * (d(i) - d(j)) ** 2 * x[i] * x[j];
        p2 += d(i) * d(j) * (d(i) - d(j)) ** 2 * x[i] * x[j];
      }
    }
    const y1 = p1 / s3, y2 = s2 * p2 / (s3 * s3), y3 = s2 ** 3 / (s3 * s3);
    const sMis = GAS_CONSTANT * (a1 * y1 + a2 * y2 - a3 * (1 - y3));
    const ecs = idx.map((i) => table.ecoh[i]);
    const vals = [
      rbar,
      delta,
      tm,
      wstd(table.tm, tm),
      dh,
      Math.sqrt(dhVar),
      sIdeal,
      chi,
      wstd(table.chi, chi),
      vec,
      wstd(table.vec, vec),
      k,
      wstd(table.bulk, k),
      Math.sqrt(idx.reduce((s, i, q) => s + x[i] * eps[q] ** 2, 0)),
      Math.max(...eps),
      Math.min(...eps),
      omega(rS) / omega(rL),
      ec,
      wstd(table.ecoh, ec),
      Math.min(...ecs),
      Math.max(...ecs),
      hMean,
      pairW > 0 ? Math.sqrt(hVar / pairW) : 0,
      pairW > 0 ? hMin : 0,
      pairW > 0 ? hMax : 0,
      dh / (EV_TO_KJ_PER_MOL * ec),
      sMis,
      sIdeal + sMis,
    ];
    out.set(vals, row * K);
  }
  return out;
}

/** Options of {@link physicalDescriptorsEngine}. */
export interface EngineDescriptorOptions {
  /** Backend (default: the current device). */
  backend?: Backend;
  /** Rows per batch (default 1024); one read-back per batch. */
  batchSize?: number;
}

const BIG = 1e6;

/**
 * D2 + D3 ({@link PHYSICAL_NAMES}) computed with engine ops (GPU or CPU backend), `batchSize` rows at a time and
 * read back once per batch. Same definitions as {@link physicalDescriptorsHost}; the mismatch entropy is rewritten
 * in central moments of eᵢ = dᵢ/d̄ − 1 so float32 does not cancel.
 */
export async function physicalDescriptorsEngine(
  fractions: ArrayLike<number>,
  table: ElementDescriptorTable,
  options: EngineDescriptorOptions = {},
): Promise<Float64Array> {
  const E = table.elements.length;
  const c = normalizeRows(fractions, E);
  const n = c.length / E, K = PHYSICAL_NAMES.length;
  const out = new Float64Array(n * K);
  const be = options.backend ?? getBackend();
  const batch = Math.max(1, Math.floor(options.batchSize ?? 1024));
  const o = { backend: be };
  const { a1, a2, a3 } = mismatchConstants();
  // Element constants, uploaded once.
  const props = [table.radius, table.tm, table.chi, table.vec, table.bulk, table.ecoh];
  const P = new Float64Array(E * props.length);
  props.forEach((p, k) => p.forEach((v, i) => P[i * props.length + k] = v));
  const offDiag = new Float64Array(E * E).fill(1);
  for (let i = 0; i < E; i++) offDiag[i * E + i] = 0;
  const consts = scope(() => {
    const keepAll = {
      P: tensor(P, [E, props.length], o),
      row: props.map((p) => tensor(p, [1, E], o)),
      invR: tensor(table.radius.map((v) => 1 / v), [1, E], o),
      H: tensor(table.h, [E, E], o),
      H3: tensor(table.h, [1, E, E], o),
      off: tensor(offDiag, [1, E, E], o),
    };
    return keepAll;
  });
  try {
    for (let start = 0; start < n; start += batch) {
      const B = Math.min(batch, n - start);
      const block = scope(() => {
        const C = tensor(c.subarray(start * E, (start + B) * E), [B, E], o);
        const M = greater(C, tensor([0], [1], o)); // 1 where the element is present
        const notM = affine(M, -1, 1);
        const means = matmul(C, consts.P); // [B, 6]
        const col = (k: number) => slice(means, [0, k], [B, 1]);
        const wstd = (k: number) => {
          const d = sub(consts.row[k], col(k));
          return sqrt(relu(sum(mul(C, square(d)), 1, true)));
        };
        const maskedMax = (x: Tensor) => max(sub(mul(x, M), mulScalar(notM, BIG)), 1, true);
        const maskedMin = (x: Tensor) => min(add(mul(x, M), mulScalar(notM, BIG)), 1, true);
        const rbar = col(0);
        const e = addScalar(div(consts.row[0], rbar), -1); // rᵢ/r̄ − 1 = dᵢ/d̄ − 1
        const m2 = sum(mul(C, square(e)), 1, true);
        const m3 = sum(mul(C, mul(square(e), e)), 1, true);
        const delta = mulScalar(sqrt(relu(m2)), 100);
        // mixing enthalpy and its spread
        const q = sum(mul(matmul(C, consts.H), C), 1, true); // Σ_{i≠j} cᵢcⱼH_ij
        const s2 = affine(sum(square(C), 1, true), -1, 1); // Σ_{i≠j} cᵢcⱼ
        const dh = mulScalar(q, 2);
        const hasPair = greater(s2, tensor([1e-9], [1], o));
        const s2Safe = add(s2, affine(hasPair, -1, 1)); // 1 for a pure element, avoids 0/0
        const hMean = div(q, s2Safe);
        // Spreads as Σ_{i≠j} cᵢcⱼ(H_ij − m)² with the difference taken first: the expanded form
        // cᵀ(H∘H)c − m²Σcᵢcⱼ cancels in float32 (a binary's exact 0 came out ~0.05 kJ/mol).
        const W = mul(mul(reshape(C, [B, E, 1]), reshape(C, [B, 1, E])), consts.off); // cᵢcⱼ, i ≠ j
        const spread = (m: Tensor) =>
          reshape(sum(mul(W, square(sub(consts.H3, reshape(m, [B, 1, 1])))), [1, 2]), [B, 1]);
        const dhStd = sqrt(relu(spread(dh)));
        const hStd = mul(sqrt(relu(div(spread(hMean), s2Safe))), hasPair);
        const pairMask = mul(
          mul(reshape(M, [B, E, 1]), reshape(M, [B, 1, E])),
          consts.off,
        ); // [B, E, E]
        const notPair = affine(pairMask, -1, 1);
        const hMin = mul(
          reshape(min(add(mul(consts.H3, pairMask), mulScalar(notPair, BIG)), [1, 2]), [B, 1]),
          hasPair,
        );
        const hMax = mul(
          reshape(max(sub(mul(consts.H3, pairMask), mulScalar(notPair, BIG)), [1, 2]), [B, 1]),
          hasPair,
        );
        const sIdeal = mulScalar(sum(mul(C, log(addScalar(C, 1e-30))), 1, true), -GAS_CONSTANT);
        // residual strain εᵢ = r̄/rᵢ − 1
        const eps = addScalar(mul(rbar, consts.invR), -1);
        const epsRms = sqrt(relu(sum(mul(C, square(eps)), 1, true)));
        const rS = maskedMin(consts.row[0]), rL = maskedMax(consts.row[0]);
        const omega = (rx: Tensor) =>
          affine(sqrt(relu(affine(square(div(rbar, add(rx, rbar))), -1, 1))), -1, 1);
        const gamma = div(omega(rS), omega(rL));
        // mismatch entropy in central moments (m1 = 0): σ₂/d̄² = 1+m2, σ₃/d̄³ = 1+3m2+m3
        const s3n = add(affine(m2, 3, 1), m3);
        const y1 = div(add(mulScalar(m2, 2), m3), s3n);
        const y2 = div(mul(addScalar(m2, 1), sub(add(m2, m3), square(m2))), square(s3n));
        const oneMinusY3 = div(
          sub(
            add(add(affine(m2, 3, 0), mulScalar(m3, 2)), square(add(mulScalar(m2, 3), m3))),
            add(
              mulScalar(square(m2), 3),
              mul(square(m2), m2),
            ),
          ),
          square(s3n),
        );
        const sMis = mulScalar(
          sub(add(mulScalar(y1, a1), mulScalar(y2, a2)), mulScalar(oneMinusY3, a3)),
          GAS_CONSTANT,
        );
        const ec = col(5);
        const cols = [
          rbar,
          delta,
          col(1),
          wstd(1),
          dh,
          dhStd,
          sIdeal,
          col(2),
          wstd(2),
          col(3),
          wstd(3),
          col(4),
          wstd(4),
          epsRms,
          maskedMax(eps),
          maskedMin(eps),
          gamma,
          ec,
          wstd(5),
          maskedMin(consts.row[5]),
          maskedMax(consts.row[5]),
          hMean,
          hStd,
          hMin,
          hMax,
          div(dh, mulScalar(ec, EV_TO_KJ_PER_MOL)),
          sMis,
          add(sIdeal, sMis),
        ];
        return concat(cols, 1);
      });
      const data = await block.read();
      block.dispose();
      for (let i = 0; i < B * K; i++) out[start * K + i] = data[i];
    }
  } finally {
    for (const t of [consts.P, ...consts.row, consts.invR, consts.H, consts.H3, consts.off]) {
      t.dispose();
    }
  }
  return out;
}

/** A descriptor matrix: row-major float64 values and their column names. */
export interface DescriptorMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
  names: string[];
}

/** Options of {@link descriptorMatrix}. */
export interface DescriptorMatrixOptions extends EngineDescriptorOptions {
  /** `engine` (default; GPU when the device is WebGPU) or `host` (the float64 twin). */
  compute?: "engine" | "host";
}

/** Whether a set includes D1 / D2 / D3. */
export function descriptorParts(set: DescriptorSet): { d1: boolean; d2: boolean; d3: boolean } {
  switch (set) {
    case "d1":
      return { d1: true, d2: false, d3: false };
    case "d2":
      return { d1: false, d2: true, d3: false };
    case "d3":
      return { d1: false, d2: false, d3: true };
    case "cd1":
      return { d1: true, d2: false, d3: true };
    case "cd2":
    case "d1d2":
      return { d1: true, d2: true, d3: false };
    case "all":
      return { d1: true, d2: true, d3: true };
  }
}

/** Parses a `--descriptors` value. @throws {UserError} naming the flag */
export function parseDescriptorSet(value: string, flag = "--descriptors"): DescriptorSet {
  const v = value.trim().toLowerCase();
  if (!(DESCRIPTOR_SETS as readonly string[]).includes(v)) {
    throw new UserError(`${flag}: expected one of ${DESCRIPTOR_SETS.join(", ")}, got '${value}'`);
  }
  return v as DescriptorSet;
}

/** Column names of a descriptor set over `elements` (D1 columns are `x_<El>`). */
export function descriptorNames(set: DescriptorSet, elements: readonly string[]): string[] {
  const p = descriptorParts(set);
  return [
    ...(p.d1 ? elements.map((e) => `x_${e}`) : []),
    ...(p.d2 ? D2_NAMES : []),
    ...(p.d3 ? D3_NAMES : []),
  ];
}

/**
 * The descriptor matrix of a set for compositions given as fractions over `elements` (rows × E, normalised here).
 * D2/D3 run on the engine in batches unless `compute: "host"`.
 * @throws {UserError} for an element without properties (only when D2/D3 are asked for) or a bad row
 */
export async function descriptorMatrix(
  set: DescriptorSet,
  fractions: ArrayLike<number>,
  elements: readonly string[],
  options: DescriptorMatrixOptions = {},
): Promise<DescriptorMatrix> {
  const E = elements.length;
  const c = normalizeRows(fractions, E);
  const n = c.length / E;
  const p = descriptorParts(set);
  let phys: Float64Array | undefined;
  if (p.d2 || p.d3) {
    const table = elementDescriptorTable(elements);
    phys = options.compute === "host"
      ? physicalDescriptorsHost(c, table)
      : await physicalDescriptorsEngine(c, table, options);
  }
  const names = descriptorNames(set, elements);
  const D = names.length, K = PHYSICAL_NAMES.length, n2 = D2_NAMES.length;
  const data = new Float64Array(n * D);
  for (let r = 0; r < n; r++) {
    let k = r * D;
    if (p.d1) { for (let j = 0; j < E; j++) data[k++] = c[r * E + j]; }
    if (p.d2) { for (let j = 0; j < n2; j++) data[k++] = phys![r * K + j]; }
    if (p.d3) { for (let j = n2; j < K; j++) data[k++] = phys![r * K + j]; }
  }
  return { rows: n, cols: D, data, names };
}
