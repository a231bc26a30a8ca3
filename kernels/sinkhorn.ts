/**
 * Entropic optimal transport between point clouds on the GPU (log-domain Sinkhorn), for a batch of problems at once.
 * Problem b has points x_b [N, d] with weights a_b [N] and y_b [M, d] with weights b_b [M] (smaller problems are
 * padded with zero-weight points, which every kernel skips). Three kernels:
 *
 * - `sinkhornCostSpec`: C[b, i, j] = ‖x_bi − y_bj‖₂^p (p = 1 or 2) and its transpose Cᵀ[b, j, i], one thread per
 *   entry, so both Sinkhorn half-steps read rows contiguously;
 * - `sinkhornHalfStepSpec`: the log-domain update of one potential, out[b, r] = −ε·log Σ_s w[b, s]·exp((h[b, s] −
 *   K[b, r, s])/ε), one 64-thread workgroup per row with an online (max, sum) log-sum-exp per thread and a
 *   shared-memory tree. With (K, h, w) = (C, g, b) it gives f, with (Cᵀ, f, a) it gives g;
 * - `sinkhornPlanRowsSpec`: per row i of the plan P_ij = a_i b_j exp((f_i + g_j − C_ij)/ε), the row's transport cost
 *   Σ_j P_ij C_ij and its mass Σ_j P_ij (for the marginal error).
 *
 * All iterations of a run are recorded into one command stream (ε travels as a per-dispatch uniform, so the
 * ε-scaling schedule costs no recompile); {@link sinkhornGpu} reads back one small row per problem. The float64 CPU
 * twin is `nn/metrics/sinkhorn.ts` (`sinkhornCpu`), which runs the identical schedule.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";

const WG = 64;
const EW = 256;

/** Cost matrix and its transpose. Bindings: x [B·N·d], y [B·M·d], C [B·N·M], Cᵀ [B·M·N]. */
export function sinkhornCostSpec(B: number, N: number, M: number, p: 1 | 2): KernelSpec {
  const bindings = ["read", "read", "rw", "rw"] as const;
  return {
    key: `sinkhorn_cost:p${p}`,
    uniforms: true,
    bindings,
    workgroups: grid1d(Math.ceil((B * N * M) / EW)),
    source: () =>
      `struct Params { total: u32, n: u32, m: u32, d: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, ["x", "y", "c", "ct"])}
@compute @workgroup_size(${EW})
fn main(${GRID_ARGS}) {
  let t = ${FLAT_WG} * ${EW}u + lid;
  if (t >= P.total) { return; }
  let j = t % P.m;
  let bi = t / P.m;
  let i = bi % P.n;
  let b = bi / P.n;
  let xo = bi * P.d;
  let yo = (b * P.m + j) * P.d;
  var s = 0.0;
  for (var k = 0u; k < P.d; k++) {
    let q = x[xo + k] - y[yo + k];
    s += q * q;
  }
  let v = ${p === 1 ? "sqrt(s)" : "s"};
  c[t] = v;
  ct[(b * P.m + j) * P.n + i] = v;
}`,
  };
}

/** Shared WGSL: online log-sum-exp state (m, s) per thread, combined by a tree over the workgroup. */
const LSE_TREE_WGSL = `
var<workgroup> sm: array<f32, ${WG}>;
var<workgroup> ss: array<f32, ${WG}>;
fn lse_push(m: ptr<function, f32>, s: ptr<function, f32>, v: f32) {
  if (v > *m) { *s = *s * exp(*m - v) + 1.0; *m = v; } else { *s = *s + exp(v - *m); }
}
fn lse_tree(lid: u32) {
  for (var st = ${WG / 2}u; st > 0u; st = st >> 1u) {
    if (lid < st) {
      let m1 = sm[lid];
      let m2 = sm[lid + st];
      let mm = max(m1, m2);
      ss[lid] = ss[lid] * exp(m1 - mm) + ss[lid + st] * exp(m2 - mm);
      sm[lid] = mm;
    }
    workgroupBarrier();
  }
}`;

/**
 * One potential update. Bindings: K [rows·S] (rows = B·R), h [B·S], w [B·S] (weights; ≤ 0 entries skipped), out
 * [rows]. Uniforms: rows, S, R, ε.
 */
export function sinkhornHalfStepSpec(rows: number): KernelSpec {
  const bindings = ["read", "read", "read", "rw"] as const;
  return {
    key: "sinkhorn_half",
    uniforms: true,
    bindings,
    workgroups: grid1d(rows),
    source: () =>
      `struct Params { rows: u32, s: u32, r: u32, eps: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, ["kmat", "h", "w", "out"])}
${LSE_TREE_WGSL}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let row = ${FLAT_WG};
  if (row >= P.rows) { return; }
  let b = row / P.r;
  let inv = 1.0 / P.eps;
  var m = -3.0e38;
  var s = 0.0;
  for (var k = lid; k < P.s; k += ${WG}u) {
    let wk = w[b * P.s + k];
    if (wk > 0.0) {
      lse_push(&m, &s, log(wk) + (h[b * P.s + k] - kmat[row * P.s + k]) * inv);
    }
  }
  sm[lid] = m;
  ss[lid] = s;
  workgroupBarrier();
  lse_tree(lid);
  if (lid == 0u) { out[row] = -P.eps * (sm[0] + log(ss[0])); }
}`,
  };
}

/**
 * Row sums of the plan. Bindings: C [B·N·M], f [B·N], g [B·M], a [B·N], bw [B·M], rowCost [B·N], rowMass [B·N].
 * Uniforms: rows = B·N, M, N, ε. Rows with zero weight give 0.
 */
export function sinkhornPlanRowsSpec(rows: number): KernelSpec {
  const bindings = ["read", "read", "read", "read", "read", "rw", "rw"] as const;
  return {
    key: "sinkhorn_plan_rows",
    uniforms: true,
    bindings,
    workgroups: grid1d(rows),
    source: () =>
      `struct Params { rows: u32, m: u32, n: u32, eps: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, ["c", "f", "g", "a", "bw", "rcost", "rmass"])}
var<workgroup> sc: array<f32, ${WG}>;
var<workgroup> sp: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let row = ${FLAT_WG};
  if (row >= P.rows) { return; }
  let b = row / P.n;
  let ai = a[row];
  let inv = 1.0 / P.eps;
  var tc = 0.0;
  var tp = 0.0;
  if (ai > 0.0) {
    let la = log(ai) + f[row] * inv;
    for (var k = lid; k < P.m; k += ${WG}u) {
      let wk = bw[b * P.m + k];
      if (wk > 0.0) {
        let cij = c[row * P.m + k];
        let pij = exp(la + log(wk) + (g[b * P.m + k] - cij) * inv);
        tc += pij * cij;
        tp += pij;
      }
    }
  }
  sc[lid] = tc;
  sp[lid] = tp;
  workgroupBarrier();
  for (var st = ${WG / 2}u; st > 0u; st = st >> 1u) {
    if (lid < st) {
      sc[lid] = sc[lid] + sc[lid + st];
      sp[lid] = sp[lid] + sp[lid + st];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    rcost[row] = sc[0];
    rmass[row] = sp[0];
  }
}`,
  };
}

/** A padded batch of problems, as the kernels read it (float32, row-major). */
export interface SinkhornBatch {
  B: number;
  N: number;
  M: number;
  d: number;
  /** [B·N·d] */
  x: Float32Array;
  /** [B·M·d] */
  y: Float32Array;
  /** [B·N], zero on padding */
  a: Float32Array;
  /** [B·M], zero on padding */
  b: Float32Array;
}

/** Per problem: Σ P∘C, Σ a·f + Σ b·g, Σ_i |Σ_j P_ij − a_i|. */
export interface SinkhornRaw {
  cost: Float64Array;
  dual: Float64Array;
  marginalError: Float64Array;
}

/**
 * Runs the whole ε schedule (`epsList`, one f- and one g-update per entry) for every problem of the batch in one
 * command stream and reads back one row of three numbers per problem.
 */
export async function sinkhornGpu(
  be: WebGpuBackend,
  batch: SinkhornBatch,
  p: 1 | 2,
  epsList: readonly number[],
): Promise<SinkhornRaw> {
  const { B, N, M, d } = batch;
  const owned: Tensor[] = [];
  const t = (data: Float32Array, n: number) => {
    const x = be.fromData(data, [n]);
    owned.push(x);
    return x;
  };
  const alloc = (n: number, fill?: number) => {
    const x = fill === undefined ? be.empty([n]) : be.fill([n], fill);
    owned.push(x);
    return x;
  };
  try {
    const x = t(batch.x, B * N * d), y = t(batch.y, B * M * d), a = t(batch.a, B * N), bw = t(batch.b, B * M);
    const c = alloc(B * N * M), ct = alloc(B * N * M);
    const f = alloc(B * N, 0), g = alloc(B * M, 0), rc = alloc(B * N), rm = alloc(B * N);
    be.run(
      sinkhornCostSpec(B, N, M, p),
      [x, y, c, ct],
      packParams([["u", B * N * M], ["u", N], ["u", M], ["u", d]]),
    );
    const fSpec = sinkhornHalfStepSpec(B * N), gSpec = sinkhornHalfStepSpec(B * M);
    for (const eps of epsList) {
      be.run(fSpec, [c, g, bw, f], packParams([["u", B * N], ["u", M], ["u", N], ["f", eps]]));
      be.run(gSpec, [ct, f, a, g], packParams([["u", B * M], ["u", N], ["u", M], ["f", eps]]));
    }
    const eps = epsList[epsList.length - 1];
    be.run(
      sinkhornPlanRowsSpec(B * N),
      [c, f, g, a, bw, rc, rm],
      packParams([
        ["u", B * N],
        ["u", M],
        ["u", N],
        ["f", eps],
      ]),
    );
    // f, g, row costs and row masses are copied into one arena (64-aligned slots) so the result is ONE readback;
    // the sums over rows (a few thousand numbers) are done on the host in float64.
    const pN = pad64(B * N), pM = pad64(B * M);
    const arena = alloc(3 * pN + pM);
    [[f, 0], [g, pN], [rc, pN + pM], [rm, 2 * pN + pM]].forEach(([src, off]) => {
      const v = be.subview(arena, off as number, [(src as Tensor).size]);
      be.copyInto(v, src as Tensor);
      v.dispose();
    });
    const v = await be.read(arena);
    const vf = v.subarray(0, B * N), vg = v.subarray(pN, pN + B * M);
    const vc = v.subarray(pN + pM, pN + pM + B * N), vm = v.subarray(2 * pN + pM, 2 * pN + pM + B * N);
    const cost = new Float64Array(B), dual = new Float64Array(B), err = new Float64Array(B);
    for (let q = 0; q < B; q++) {
      for (let i = 0; i < N; i++) {
        const k = q * N + i;
        cost[q] += vc[k];
        if (batch.a[k] > 0) dual[q] += batch.a[k] * vf[k];
        err[q] += Math.abs(vm[k] - batch.a[k]);
      }
      for (let j = 0; j < M; j++) {
        const k = q * M + j;
        if (batch.b[k] > 0) dual[q] += batch.b[k] * vg[k];
      }
    }
    return { cost, dual, marginalError: err };
  } finally {
    for (const q of owned) q.dispose();
  }
}

function pad64(n: number): number {
  return Math.max(64, Math.ceil(n / 64) * 64);
}
