/**
 * Wasserstein distances between point clouds by entropic optimal transport (Sinkhorn iterations in the log domain).
 *
 * For points x_i (weights a_i) and y_j (weights b_j), cost C_ij = ‖x_i − y_j‖₂^p (p = 1 or 2), the entropic problem
 * min_P ⟨P, C⟩ + ε·KL(P ‖ a⊗b) over couplings of a and b is solved by alternating the dual updates
 *
 *   f_i ← −ε·log Σ_j b_j·exp((g_j − C_ij)/ε),   g_j ← −ε·log Σ_i a_i·exp((f_i − C_ij)/ε),
 *
 * computed as stabilised log-sum-exps. Reported: the transport cost ⟨P, C⟩ of the final plan P_ij = a_i b_j
 * exp((f_i + g_j − C_ij)/ε) (→ W_p^p as ε → 0) and `distance` = cost^(1/p) (≈ W_p), the dual value ⟨a, f⟩ + ⟨b, g⟩
 * (= OT_ε, the entropic optimum) and the L1 error of the plan's row marginal (its column marginal is exact after
 * the last g-update) as a convergence check.
 *
 * ε schedule (ε-scaling, as in geomloss): ε_k = max(ε, ε₀·q^k) with ε₀ = the largest possible cost (diameter^p of
 * the bounding box of all points), q = `epsScaling` (default 0.9), one f/g update per value until ε is reached,
 * then `iterations` more at ε (default 200). Potentials carry over between values (they are in cost units). The
 * default ε is 10⁻³·ε₀ ("blur" ~3 % of the diameter for p = 2); pass an absolute `eps` to compare runs on a common
 * scale.
 *
 * {@link sinkhorn} runs the WebGPU kernels (`kernels/sinkhorn.ts`) when given the WebGPU backend and the float64 CPU
 * twin {@link sinkhornCpu} otherwise; both follow the same schedule. Problems are batched on a leading axis (padded
 * with zero-weight points), so e.g. a Sinkhorn divergence's three transports run as one command stream.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { WebGpuBackend } from "../webgpu_backend.ts";
import { type SinkhornBatch, sinkhornGpu } from "../../kernels/sinkhorn.ts";

/** One transport problem: x [n, d] and y [m, d] row-major, optional weights (default uniform; normalised). */
export interface SinkhornProblem {
  x: ArrayLike<number>;
  n: number;
  y: ArrayLike<number>;
  m: number;
  d: number;
  a?: ArrayLike<number>;
  b?: ArrayLike<number>;
}

/** Options of {@link sinkhorn}. */
export interface SinkhornOptions {
  /** Cost exponent: C = ‖x − y‖^p (default 2). */
  p?: 1 | 2;
  /** Target ε in cost units (default 1e-3 × the largest possible cost of the batch). */
  eps?: number;
  /** ε-scaling factor q in (0, 1) (default 0.9); 0 disables scaling (all iterations at ε). */
  epsScaling?: number;
  /** Iterations at the target ε after the scaling phase (default 200). */
  iterations?: number;
}

/** Result for one problem. */
export interface SinkhornResult {
  /** ⟨P, C⟩ of the entropic plan (≈ W_p^p). */
  cost: number;
  /** cost^(1/p) (≈ W_p). */
  distance: number;
  /** ⟨a, f⟩ + ⟨b, g⟩: the entropic OT value OT_ε. */
  dual: number;
  /** Σ_i |Σ_j P_ij − a_i| after the last update. */
  marginalError: number;
  /** Target ε used. */
  eps: number;
  /** f/g update pairs run. */
  iterations: number;
}

function checkProblem(pr: SinkhornProblem, k: number): void {
  const where = `sinkhorn: problem ${k}`;
  if (!(Number.isInteger(pr.n) && pr.n >= 1 && Number.isInteger(pr.m) && pr.m >= 1)) {
    throw new RangeError(`${where}: needs at least one point on each side (n = ${pr.n}, m = ${pr.m})`);
  }
  if (!(Number.isInteger(pr.d) && pr.d >= 1)) throw new RangeError(`${where}: dimension ${pr.d}`);
  if (pr.x.length !== pr.n * pr.d) {
    throw new RangeError(`${where}: x has ${pr.x.length} values for ${pr.n}×${pr.d}`);
  }
  if (pr.y.length !== pr.m * pr.d) {
    throw new RangeError(`${where}: y has ${pr.y.length} values for ${pr.m}×${pr.d}`);
  }
  for (const [name, w, len] of [["a", pr.a, pr.n], ["b", pr.b, pr.m]] as const) {
    if (!w) continue;
    if (w.length !== len) throw new RangeError(`${where}: ${len} points but ${w.length} weights in ${name}`);
    let s = 0;
    for (let i = 0; i < w.length; i++) {
      if (!(w[i] >= 0) || !Number.isFinite(w[i])) {
        throw new RangeError(`${where}: weight ${name}[${i}] = ${w[i]}`);
      }
      s += w[i];
    }
    if (!(s > 0)) throw new RangeError(`${where}: weights ${name} sum to 0`);
  }
  for (const [name, v] of [["x", pr.x], ["y", pr.y]] as const) {
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new RangeError(`${where}: ${name}[${i}] = ${v[i]} is not finite`);
    }
  }
}

function weights(w: ArrayLike<number> | undefined, n: number): Float64Array {
  const out = new Float64Array(n);
  if (!w) return out.fill(1 / n);
  let s = 0;
  for (let i = 0; i < n; i++) s += w[i];
  for (let i = 0; i < n; i++) out[i] = w[i] / s;
  return out;
}

/** The largest possible cost over a batch: (diagonal of the bounding box of every point)^p. */
export function costScale(problems: readonly SinkhornProblem[], p: 1 | 2): number {
  const d = problems[0].d;
  const lo = new Array(d).fill(Infinity), hi = new Array(d).fill(-Infinity);
  for (const pr of problems) {
    for (const v of [pr.x, pr.y]) {
      for (let i = 0; i < v.length; i++) {
        const k = i % d;
        if (v[i] < lo[k]) lo[k] = v[i];
        if (v[i] > hi[k]) hi[k] = v[i];
      }
    }
  }
  let s = 0;
  for (let k = 0; k < d; k++) s += (hi[k] - lo[k]) ** 2;
  return p === 2 ? s : Math.sqrt(s);
}

/** The ε values of the schedule described in the module documentation (the last one is the target ε). */
export function epsSchedule(scale: number, o: SinkhornOptions = {}): number[] {
  const eps = o.eps ?? 1e-3 * scale;
  if (!(eps > 0) || !Number.isFinite(eps)) throw new RangeError(`sinkhorn: eps must be positive, got ${eps}`);
  const q = o.epsScaling ?? 0.9;
  if (!(q >= 0 && q < 1)) throw new RangeError(`sinkhorn: epsScaling must be in [0, 1), got ${q}`);
  const iters = o.iterations ?? 200;
  if (!(Number.isInteger(iters) && iters >= 1)) {
    throw new RangeError(`sinkhorn: iterations must be ≥ 1, got ${iters}`);
  }
  const out: number[] = [];
  if (q > 0) { for (let e = Math.max(scale, eps); e > eps; e *= q) out.push(e); }
  for (let k = 0; k < iters; k++) out.push(eps);
  return out;
}

/** float64 CPU twin: the same schedule and updates as the GPU kernels. */
export function sinkhornCpu(problems: readonly SinkhornProblem[], o: SinkhornOptions = {}): SinkhornResult[] {
  if (!problems.length) return [];
  problems.forEach(checkProblem);
  const p = o.p ?? 2;
  const sched = epsSchedule(costScale(problems, p), o);
  return problems.map((pr) => {
    const { n, m, d } = pr;
    const a = weights(pr.a, n), b = weights(pr.b, m);
    const C = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += (pr.x[i * d + k] - pr.y[j * d + k]) ** 2;
        C[i * m + j] = p === 1 ? Math.sqrt(s) : s;
      }
    }
    const f = new Float64Array(n), g = new Float64Array(m);
    const la = Float64Array.from(a, Math.log), lb = Float64Array.from(b, Math.log);
    for (const eps of sched) {
      for (let i = 0; i < n; i++) {
        let mx = -Infinity, s = 0;
        for (let j = 0; j < m; j++) {
          if (b[j] <= 0) continue;
          const v = lb[j] + (g[j] - C[i * m + j]) / eps;
          if (v > mx) s = s * Math.exp(mx - v) + 1, mx = v;
          else s += Math.exp(v - mx);
        }
        f[i] = -eps * (mx + Math.log(s));
      }
      for (let j = 0; j < m; j++) {
        let mx = -Infinity, s = 0;
        for (let i = 0; i < n; i++) {
          if (a[i] <= 0) continue;
          const v = la[i] + (f[i] - C[i * m + j]) / eps;
          if (v > mx) s = s * Math.exp(mx - v) + 1, mx = v;
          else s += Math.exp(v - mx);
        }
        g[j] = -eps * (mx + Math.log(s));
      }
    }
    const eps = sched[sched.length - 1];
    let cost = 0, dual = 0, err = 0;
    for (let i = 0; i < n; i++) {
      let row = 0;
      if (a[i] > 0) {
        for (let j = 0; j < m; j++) {
          if (b[j] <= 0) continue;
          const pij = Math.exp(la[i] + lb[j] + (f[i] + g[j] - C[i * m + j]) / eps);
          cost += pij * C[i * m + j];
          row += pij;
        }
        dual += a[i] * f[i];
      }
      err += Math.abs(row - a[i]);
    }
    for (let j = 0; j < m; j++) if (b[j] > 0) dual += b[j] * g[j];
    return { cost, distance: cost ** (1 / p), dual, marginalError: err, eps, iterations: sched.length };
  });
}

/** Pads a batch of problems to common sizes (zero-weight padding points at the origin), float32. */
export function packSinkhornBatch(problems: readonly SinkhornProblem[]): SinkhornBatch {
  const B = problems.length, d = problems[0].d;
  const N = Math.max(...problems.map((q) => q.n)), M = Math.max(...problems.map((q) => q.m));
  const batch: SinkhornBatch = {
    B,
    N,
    M,
    d,
    x: new Float32Array(B * N * d),
    y: new Float32Array(B * M * d),
    a: new Float32Array(B * N),
    b: new Float32Array(B * M),
  };
  problems.forEach((pr, q) => {
    batch.x.set(Float32Array.from(pr.x), q * N * d);
    batch.y.set(Float32Array.from(pr.y), q * M * d);
    batch.a.set(Float32Array.from(weights(pr.a, pr.n)), q * N);
    batch.b.set(Float32Array.from(weights(pr.b, pr.m)), q * M);
  });
  return batch;
}

/**
 * Entropic OT for every problem (all of the same dimension d): on the GPU when `be` is the WebGPU backend (one
 * command stream, one readback), else by the float64 CPU twin.
 * @throws RangeError on empty clouds, mismatched sizes, non-finite coordinates, negative weights or a bad option
 */
export async function sinkhorn(
  be: Backend,
  problems: readonly SinkhornProblem[],
  o: SinkhornOptions = {},
): Promise<SinkhornResult[]> {
  if (!problems.length) return [];
  problems.forEach(checkProblem);
  if (problems.some((q) => q.d !== problems[0].d)) {
    throw new RangeError("sinkhorn: problems differ in dimension");
  }
  if (be.kind !== "webgpu") return sinkhornCpu(problems, o);
  const p = o.p ?? 2;
  const sched = epsSchedule(costScale(problems, p), o);
  const raw = await sinkhornGpu(be as WebGpuBackend, packSinkhornBatch(problems), p, sched);
  const eps = sched[sched.length - 1];
  return problems.map((_, q) => ({
    cost: raw.cost[q],
    distance: Math.max(0, raw.cost[q]) ** (1 / p),
    dual: raw.dual[q],
    marginalError: raw.marginalError[q],
    eps,
    iterations: sched.length,
  }));
}

/** Debiased Sinkhorn divergence S_ε = OT_ε(x, y) − ½·OT_ε(x, x) − ½·OT_ε(y, y) (≥ 0, 0 iff equal). */
export interface SinkhornDivergence {
  divergence: number;
  /** The x–y transport (cost, distance, …). */
  xy: SinkhornResult;
  xx: SinkhornResult;
  yy: SinkhornResult;
}

/**
 * The Sinkhorn divergence between two clouds (Feydy et al. 2019), its three transports batched into one run with a
 * common ε (default: 1e-3 × the cost scale of the union).
 */
export async function sinkhornDivergence(
  be: Backend,
  x: ArrayLike<number>,
  n: number,
  y: ArrayLike<number>,
  m: number,
  d: number,
  o: SinkhornOptions = {},
): Promise<SinkhornDivergence> {
  const [xy, xx, yy] = await sinkhorn(be, [
    { x, n, y, m, d },
    { x, n, y: x, m: n, d },
    { x: y, n: m, y, m, d },
  ], o);
  return { divergence: xy.dual - 0.5 * (xx.dual + yy.dual), xy, xx, yy };
}
