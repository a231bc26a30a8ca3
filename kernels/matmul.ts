/**
 * Batched matmul with transpose flags, NumPy-broadcast batch axes and a fused bias + activation epilogue.
 *
 * One register-blocked kernel generator serves every shape: each invocation owns an R×C block of one output matrix
 * and walks K four steps at a time, keeping the R·C partial sums in registers. No workgroup memory is used: on the
 * software adapter (llvmpipe, which runs 8 invocations per SIMD vector and turns every non-uniform load into a
 * per-lane scalar loop) the cost of a kernel is dominated by the number of per-lane loads, so the only thing that
 * matters is the ratio of FMAs to loads (R·C / (R+C) per k) and loading 4 floats per load instruction wherever the
 * layout allows (`vec4` along K, M or N, chosen per operand from the transpose flags and alignment). Staging tiles
 * in workgroup memory measured slower there (extra loads and stores plus barrier coroutines). Out-of-range rows and
 * columns clamp their load indices and skip their stores, so there is no divergent control flow in the main loop.
 *
 * The block and workgroup shape are picked by shape ({@link chooseMatmulConfig}): for big matrices large blocks
 * (12×16 or 8×16 outputs per invocation, 48×128 / 32×128 tiles: about 30 GFLOP/s at 1024³ on llvmpipe with two
 * threads, ~3× TensorFlow.js 4.22's WebGPU backend on the same adapter); for small or skinny ones smaller blocks so
 * the work still spreads over several workgroups; for thin outputs (N < 8 or M < 8) one row or one column strip per
 * invocation with invocations laid out along the long axis. The batch index and the tile coordinates are folded into
 * one flat workgroup id ({@link grid1d}), so any batch size fits the grid.
 * @module
 */
import type { Activation, MatmulOptions } from "../nn/backend.ts";
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { broadcastShapes, broadcastStrides, type Shape, sizeOf, stridesOf } from "../nn/shape.ts";
import { declareBindings, FLAT_WG, grid1d, type KernelSpec, packParams } from "./kernel_spec.ts";
import { ACTIVATIONS_WGSL } from "./wgsl_prelude.ts";

/** WGSL for the fused activation of the biased sum `v` (leaky_relu slope in P.alpha). */
export const MATMUL_ACTIVATION_WGSL: Record<Activation, string> = {
  identity: "v",
  relu: "max(v, 0.0)",
  leaky_relu: "select(P.alpha * v, v, v > 0.0)",
  tanh: "tanh_f(v)",
  sigmoid: "sigmoid_f(v)",
  softplus: "softplus_f(v)",
  gelu: "gelu_f(v)",
};

/**
 * WGSL expression of the element offset of batch entry `idx` (flat over the output batch shape `batch`) in an
 * operand whose per-axis batch strides are `strides` (in units of `unit` elements; 0 on broadcast axes).
 */
export function batchOffsetWgsl(batch: Shape, strides: readonly number[], unit: number, idx: string): string {
  const outStrides = stridesOf(batch);
  const terms: string[] = [];
  batch.forEach((d, ax) => {
    if (strides[ax] === 0 || d === 1) return;
    terms.push(`((${idx} / ${outStrides[ax]}u) % ${d}u) * ${strides[ax] * unit}u`);
  });
  return terms.length ? terms.join(" + ") : "0u";
}

/** Component accessors of a vec4 value. */
const XYZW = ["[0]", "[1]", "[2]", "[3]"];

/** Work decomposition: each invocation computes `r`×`c` outputs; a workgroup is `wgx`×`wgy` invocations. */
export interface MatmulConfig {
  /** Output rows per invocation. */
  r: number;
  /** Output columns per invocation. */
  c: number;
  /** Invocations along N (consecutive invocations share rows, so they should span ≥ 8 on 8-wide SIMD). */
  wgx: number;
  /** Invocations along M. */
  wgy: number;
}

/** Everything the generated WGSL depends on. */
export interface MatmulProblem {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  /** Output batch shape (broadcast of both operands' batch shapes). */
  batch: Shape;
  /** Per-batch-axis strides of A, B and the bias, in whole matrices (0 on broadcast axes). */
  aStrides: number[];
  bStrides: number[];
  /** null: no bias; "flat": shape [N]; otherwise batch strides (in rows of N) of a [..., 1, N] bias. */
  bias: null | "flat" | number[];
  activation: Activation;
}

/** How an operand block is read: vec4 along K, vec4 along the output axis (M or N), or scalars. */
type LoadMode = "vk" | "vo" | "s";

/**
 * Candidate blocks for M, N ≥ 8 with their measured throughput on llvmpipe (GFLOP per CPU-second, 1024³ and
 * 512×256×512): bigger blocks load less per FMA but make bigger, fewer tiles.
 */
export const MATMUL_BLOCKS: readonly (MatmulConfig & { rate: number })[] = [
  { r: 12, c: 16, wgx: 8, wgy: 4, rate: 16.5 },
  { r: 8, c: 16, wgx: 8, wgy: 4, rate: 15.5 },
  { r: 8, c: 8, wgx: 8, wgy: 8, rate: 13 },
  { r: 8, c: 8, wgx: 8, wgy: 4, rate: 12.5 },
  { r: 4, c: 8, wgx: 8, wgy: 8, rate: 10 },
  { r: 4, c: 4, wgx: 8, wgy: 8, rate: 8.3 },
  { r: 2, c: 4, wgx: 8, wgy: 8, rate: 6.4 },
  { r: 1, c: 4, wgx: 8, wgy: 8, rate: 4.2 },
];

/** Blocks for problems with few rows (M·batch ≤ 128, K ≤ 256): one 8-invocation row of 8×8 or 8×16 blocks. */
export const SMALL_M_BLOCKS: readonly MatmulConfig[] = [
  { r: 8, c: 8, wgx: 8, wgy: 1 },
  { r: 8, c: 16, wgx: 8, wgy: 1 },
];

/** Workgroups run concurrently on this many threads (llvmpipe uses one per CPU). */
const THREADS = Math.min(64, Math.max(2, navigator.hardwareConcurrency || 2));

/**
 * Chooses the per-invocation block and workgroup shape for `batch` M×N outputs with inner size K. Thin outputs get
 * one row (N < 8) or one column strip (M < 8) per invocation; otherwise the candidate with the lowest modelled time
 * (waves of workgroups over the CPU threads × tile work / measured rate; partial tiles cost as much as full ones).
 */
export function chooseMatmulConfig(
  m: number,
  n: number,
  k: number,
  batch: number,
  threads = THREADS,
): MatmulConfig {
  if (n < 8) {
    // Matrix-vector like: invocations along M, each owning whole rows.
    const r = m >= 32 ? 4 : m >= 16 ? 2 : 1;
    return { r, c: n, wgx: 1, wgy: Math.min(64, Math.max(8, Math.ceil(m / r / 8) * 8)) };
  }
  if (m < 8) {
    const c = n % 4 === 0 ? 4 : 1;
    return { r: m, c, wgx: Math.min(64, Math.max(8, Math.ceil(n / c / 8) * 8)), wgy: 1 };
  }
  if (m * batch <= 128 && k <= 256) {
    // Few rows (one model's training batch): eight-invocation workgroups of 8×8 or 8×16 blocks. llvmpipe runs a
    // workgroup as 8-wide SIMD chunks one after another, so at these sizes fewer, single-chunk workgroups beat the
    // table below by 20–30 % (32×128×64: 154 → 116 µs threaded, 116 → 87 µs inline). With replicas (a batch of such
    // products) the measurements were mixed, so the table's throughput model decides.
    return { ...SMALL_M_BLOCKS[n >= 128 ? 1 : 0] };
  }
  let best = MATMUL_BLOCKS[0], bestCost = Infinity;
  for (const b of MATMUL_BLOCKS) {
    const wgs = tiles(m, n, b) * batch;
    const cost = Math.ceil(wgs / threads) * (b.r * b.wgy) * (b.c * b.wgx) * Math.max(k, 1) / b.rate;
    if (cost < bestCost) [best, bestCost] = [b, cost];
  }
  return { r: best.r, c: best.c, wgx: best.wgx, wgy: best.wgy };
}

function tiles(m: number, n: number, cfg: MatmulConfig): number {
  return Math.ceil(m / (cfg.r * cfg.wgy)) * Math.ceil(n / (cfg.c * cfg.wgx));
}

/** The spec of one fused matmul dispatch (bindings: A, B, [bias,] out; uniforms: alpha). */
export function matmulSpec(p: MatmulProblem, cfg: MatmulConfig): KernelSpec {
  const { m, k, n, transA, transB } = p;
  const { r: R, c: C, wgx, wgy } = cfg;
  const nb = sizeOf(p.batch);
  // A vec4 along K needs K % 4 == 0 (and rows start 16-byte aligned); along M needs M % 4 == 0 and R % 4 == 0.
  // With M == 1 the two layouts of A coincide, and likewise for B with N == 1, so prefer vec4 along K there.
  const aT = transA && m > 1, bT = transB && n > 1;
  const aMode: LoadMode = k === 0
    ? "s"
    : !aT && k % 4 === 0
    ? "vk"
    : aT && m % 4 === 0 && R % 4 === 0
    ? "vo"
    : "s";
  const bMode: LoadMode = k === 0
    ? "s"
    : (bT || n === 1) && k % 4 === 0
    ? "vk"
    : !bT && n % 4 === 0 && C % 4 === 0
    ? "vo"
    : "s";
  const vecStore = n % 4 === 0 && C % 4 === 0;
  const gx = Math.ceil(n / (C * wgx)), gy = Math.ceil(m / (R * wgy));
  const key = `matmul:${m}x${k}x${n}:${aT ? "T" : "N"}${bT ? "T" : "N"}:${
    p.batch.join("x")
  }:${p.aStrides}:${p.bStrides}:${
    p.bias === null ? "-" : p.bias === "flat" ? "f" : p.bias.join(",")
  }:${p.activation}:${R},${C},${wgx},${wgy}`;
  const bindings = p.bias === null
    ? ["read", "read", "rw"] as const
    : ["read", "read", "read", "rw"] as const;
  return {
    key,
    bindings,
    uniforms: true,
    workgroups: grid1d(gx * gy * nb),
    source: () => {
      const batchOffset = (st: readonly number[], unit: number) => batchOffsetWgsl(p.batch, st, unit, "bz");
      const L: string[] = [];
      const emit = (s: string, indent = 1) => L.push("  ".repeat(indent) + s);

      // Per-invocation setup: block origin, clamped row/column indices and operand base offsets.
      emit(`let flat = ${FLAT_WG};`);
      emit(`let tx = flat % ${gx}u;`);
      emit(`let ty = (flat / ${gx}u) % ${gy}u;`);
      emit(`let bz = flat / ${gx * gy}u;`);
      // Workgroups past the last batch entry (grid1d rounds up beyond 65535) only skip their stores: an early return
      // would put the whole kernel under an execution mask on SIMD-emulating adapters. Their loads stay in range.
      const overshoot = grid1d(gx * gy * nb).reduce((x, y) => x * y, 1) > gx * gy * nb;
      emit(`let row0 = (ty * ${wgy}u + lid.y) * ${R}u;`);
      emit(`let col0 = (tx * ${wgx}u + lid.x) * ${C}u;`);
      emit(`let aOff = ${batchOffset(p.aStrides, m * k)};`);
      emit(`let bOff = ${batchOffset(p.bStrides, k * n)};`);
      if (k > 0) {
        // Base index of each row (A) / column (B) this invocation reads, clamped into range.
        if (aMode === "vk") {
          for (let i = 0; i < R; i++) {
            emit(`let ar${i} = (aOff + min(row0 + ${i}u, ${m - 1}u) * ${k}u) / 4u;`);
          }
        } else if (aMode === "vo") {
          for (let i = 0; i < R / 4; i++) {
            emit(`let ar${i} = aOff / 4u + min(row0 / 4u + ${i}u, ${m / 4 - 1}u);`);
          }
        } else {
          for (let i = 0; i < R; i++) {
            emit(`let ar${i} = aOff + min(row0 + ${i}u, ${m - 1}u)${aT ? "" : ` * ${k}u`};`);
          }
        }
        if (bMode === "vk") {
          for (let j = 0; j < C; j++) {
            emit(`let bc${j} = (bOff + min(col0 + ${j}u, ${n - 1}u)${n === 1 ? "" : ` * ${k}u`}) / 4u;`);
          }
        } else if (bMode === "vo") {
          for (let j = 0; j < C / 4; j++) {
            emit(`let bc${j} = bOff / 4u + min(col0 / 4u + ${j}u, ${n / 4 - 1}u);`);
          }
        } else {
          for (let j = 0; j < C; j++) {
            emit(`let bc${j} = bOff + min(col0 + ${j}u, ${n - 1}u)${bT ? ` * ${k}u` : ""};`);
          }
        }
      }
      // Accumulators: per row, C/4 vec4 column groups (FMAs on vec4 measured faster than on scalars) or C scalars.
      const G = C % 4 === 0 ? 4 : 1, NG = C / G, ty = G === 4 ? "vec4<f32>" : "f32";
      for (let i = 0; i < R; i++) {
        for (let g = 0; g < NG; g++) emit(`var acc${i}_${g} = ${ty}(0.0);`);
      }

      // One block of `kk` (4 or 1) steps starting at k index `kv` (and k4 = kv / 4 for vec4-along-K loads).
      const block = (kk: number, kv: string, indent: number) => {
        // a[i][t]: A(row i, k + t); b[t][j]: B(k + t, col j), as WGSL expressions. Loads are staged by the first
        // step t that needs them, so each step's loads are emitted right before its FMAs (fewer live registers).
        const a: string[][] = Array.from({ length: R }, () => []), b: string[][] = [];
        const loads: string[][] = Array.from({ length: kk }, () => []);
        if (aMode === "vk") {
          for (let i = 0; i < R; i++) {
            loads[0].push(`let a${i} = A[ar${i} + ${kv} / 4u];`);
            a[i].push(...[0, 1, 2, 3].map((t) => `a${i}${XYZW[t]}`));
          }
        } else if (aMode === "vo") {
          for (let t = 0; t < kk; t++) {
            for (let i = 0; i < R / 4; i++) {
              loads[t].push(`let a${t}_${i} = A[ar${i} + (${kv} + ${t}u) * ${m / 4}u];`);
              for (let q = 0; q < 4; q++) a[i * 4 + q].push(`a${t}_${i}${XYZW[q]}`);
            }
          }
        } else {
          for (let t = 0; t < kk; t++) {
            for (let i = 0; i < R; i++) {
              loads[t].push(`let a${i}_${t} = A[ar${i} + (${kv} + ${t}u)${aT ? ` * ${m}u` : ""}];`);
              a[i].push(`a${i}_${t}`);
            }
          }
        }
        for (let t = 0; t < kk; t++) b.push([]);
        if (bMode === "vk") {
          for (let j = 0; j < C; j++) {
            loads[0].push(`let b${j} = B[bc${j} + ${kv} / 4u];`);
            for (let t = 0; t < 4; t++) b[t].push(`b${j}${XYZW[t]}`);
          }
        } else if (bMode === "vo") {
          for (let t = 0; t < kk; t++) {
            for (let j = 0; j < C / 4; j++) {
              loads[t].push(`let b${t}_${j} = B[bc${j} + (${kv} + ${t}u) * ${n / 4}u];`);
              for (let q = 0; q < 4; q++) b[t].push(`b${t}_${j}${XYZW[q]}`);
            }
          }
        } else {
          for (let t = 0; t < kk; t++) {
            for (let j = 0; j < C; j++) {
              loads[t].push(`let b${t}_${j} = B[bc${j} + (${kv} + ${t}u)${bT ? "" : ` * ${n}u`}];`);
              b[t].push(`b${t}_${j}`);
            }
          }
        }
        // Column groups of B for step t: whole vec4 loads when B was read along N, else assembled from scalars.
        const bg = (t: number, g: number): string =>
          G === 1
            ? b[t][g]
            : bMode === "vo"
            ? `b${t}_${g}`
            : `vec4<f32>(${b[t].slice(g * 4, g * 4 + 4).join(", ")})`;
        for (let t = 0; t < kk; t++) {
          for (const l of loads[t]) emit(l, indent);
          for (let i = 0; i < R; i++) {
            for (let g = 0; g < NG; g++) {
              const av = G === 1 ? a[i][t] : `vec4<f32>(${a[i][t]})`;
              emit(`acc${i}_${g} = fma(${av}, ${bg(t, g)}, acc${i}_${g});`, indent);
            }
          }
        }
      };
      const k4 = k - (k % 4);
      if (k4 > 0) {
        emit(`for (var kb = 0u; kb < ${k4}u; kb = kb + 4u) {`);
        block(4, "kb", 2);
        emit(`}`);
      }
      if (k % 4 !== 0) {
        // Tail steps (only reached by scalar / vec4-along-output layouts, which do not need K % 4 == 0).
        emit(`for (var kt = ${k4}u; kt < ${k}u; kt = kt + 1u) {`);
        block(1, "kt", 2);
        emit(`}`);
      }

      // Epilogue: bias (per column), activation, guarded stores.
      const act = MATMUL_ACTIVATION_WGSL[p.activation];
      let biasG: string[] = [];
      if (p.bias !== null) {
        const bo = p.bias === "flat" ? "0u" : batchOffset(p.bias, n);
        emit(`let biasOff = ${bo};`);
        const cols = Array.from({ length: C }, (_, j) => `BIAS[biasOff + min(col0 + ${j}u, ${n - 1}u)]`);
        biasG = Array.from({ length: NG }, (_, g) => {
          emit(
            `let bias${g} = ${G === 1 ? cols[g] : `vec4<f32>(${cols.slice(g * 4, g * 4 + 4).join(", ")})`};`,
          );
          return `bias${g}`;
        });
      }
      emit(`let oOff = bz * ${m * n}u;`);
      const actCall = (v: string) => act === "v" ? v : G === 1 ? `act(${v})` : `act4(${v})`;
      for (let i = 0; i < R; i++) {
        emit(`if (${overshoot ? `bz < ${nb}u && ` : ""}row0 + ${i}u < ${m}u) {`);
        emit(`let o${i} = oOff + (row0 + ${i}u) * ${n}u + col0;`, 2);
        for (let g = 0; g < NG; g++) {
          emit(`let v${g} = ${actCall(`acc${i}_${g}${biasG.length ? ` + ${biasG[g]}` : ""}`)};`, 2);
          if (G === 1) {
            emit(`if (col0 + ${g}u < ${n}u) { OUT[o${i} + ${g}u] = v${g}; }`, 2);
          } else if (vecStore) {
            emit(`if (col0 + ${g * 4}u < ${n}u) { OUT[(o${i} + ${g * 4}u) / 4u] = v${g}; }`, 2);
          } else {
            for (let q = 0; q < 4; q++) {
              emit(`if (col0 + ${g * 4 + q}u < ${n}u) { OUT[o${i} + ${g * 4 + q}u] = v${g}${XYZW[q]}; }`, 2);
            }
          }
        }
        emit(`}`);
      }

      const types = [
        aMode === "s" ? "f32" : "vec4<f32>",
        bMode === "s" ? "f32" : "vec4<f32>",
        ...(p.bias === null ? [] : ["f32"]),
        vecStore ? "vec4<f32>" : "f32",
      ];
      const names = ["A", "B", ...(p.bias === null ? [] : ["BIAS"]), "OUT"];
      const needsPrelude = !["identity", "relu", "leaky_relu"].includes(p.activation);
      return `${needsPrelude ? ACTIVATIONS_WGSL : ""}
struct Params { alpha: f32, p1: f32, p2: f32, p3: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, names, types)}
fn act(v: f32) -> f32 { return ${act}; }
fn act4(v: vec4<f32>) -> vec4<f32> { return vec4<f32>(act(v.x), act(v.y), act(v.z), act(v.w)); }
@compute @workgroup_size(${wgx}, ${wgy})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
${L.join("\n")}
}`;
    },
  };
}

/** How a fused epilogue reads a bias of shape [N] or [..., 1, N] over the output batch `batch`. */
export function biasLayout(biasShape: Shape | null, batch: Shape): null | "flat" | number[] {
  if (!biasShape) return null;
  if (biasShape.length === 1) return "flat";
  const st = broadcastStrides(biasShape.slice(0, -2), batch);
  return st.every((s) => s === 0) ? "flat" : st;
}

/** Describes a matmul of `a` and `b` (shapes already validated by the ops layer). */
export function matmulProblem(
  aShape: Shape,
  bShape: Shape,
  opts: MatmulOptions,
  biasShape: Shape | null,
): MatmulProblem {
  const transA = !!opts.transA, transB = !!opts.transB;
  const ra = aShape.length, rb = bShape.length;
  const m = transA ? aShape[ra - 1] : aShape[ra - 2];
  const k = transA ? aShape[ra - 2] : aShape[ra - 1];
  const n = transB ? bShape[rb - 2] : bShape[rb - 1];
  const batch = broadcastShapes("matmul", aShape.slice(0, -2), bShape.slice(0, -2));
  const bias = biasLayout(biasShape, batch);
  return {
    m,
    k,
    n,
    transA,
    transB,
    batch,
    aStrides: broadcastStrides(aShape.slice(0, -2), batch),
    bStrides: broadcastStrides(bShape.slice(0, -2), batch),
    bias,
    activation: opts.activation ?? "identity",
  };
}

/**
 * act(op(a)·op(b) + bias) over broadcast batch axes in one dispatch; see {@link Backend.matmul}. `cfg` overrides the
 * shape-based choice of {@link chooseMatmulConfig} (tests and tuning).
 */
export function matmul(
  be: WebGpuBackend,
  a: Tensor,
  b: Tensor,
  opts: MatmulOptions,
  cfg?: MatmulConfig,
): Tensor {
  if (a.dtype !== "f32" || b.dtype !== "f32") throw new Error("matmul: only f32 tensors are supported");
  const bias = opts.bias ?? null;
  const p = matmulProblem(a.shape, b.shape, opts, bias ? bias.shape : null);
  const out = be.alloc([...p.batch, p.m, p.n]);
  if (out.size === 0) return out;
  const spec = matmulSpec(p, cfg ?? chooseMatmulConfig(p.m, p.n, p.k, sizeOf(p.batch)));
  be.run(spec, bias ? [a, b, bias, out] : [a, b, out], packParams([["f", opts.alpha ?? 0.01]]));
  return out;
}
