/**
 * Fused batch-normalisation kernels: the training forward (batch statistics, normalisation, saved statistics and the
 * running-statistics update in one dispatch), its backward (dx, dγ, dβ in one dispatch), and the inference forward
 * and backward (running statistics as constants).
 *
 * x is viewed as [R, B, F]: R = the product of the leading axes (replicas), B rows, F features; statistics are per
 * column (r, f) over the B rows. γ, β, the running statistics and the saved statistics are flat [R·F]; the optional
 * row mask is [R·B] (0/1).
 *
 * Layout of the column kernels: one workgroup per (replica, tile of TF consecutive features) with TR row lanes per
 * feature (TF·TR ≤ 256 invocations; TR = 1 unless B > 1024, see {@link bnTile}). Consecutive invocations read
 * consecutive features of one row (coalesced); lane t folds rows t, t+TR, … serially and the TR partial sums meet in
 * a shared-memory tree. B is small, so every pass over the column re-reads x rather than keeping it in workgroup
 * memory.
 *
 * Semantics (shared with the CPU twin `nn/cpu/batch_norm.ts`): with m_b the mask (1 without one) and n = Σ m_b,
 * mean = Σ m x / n, var = Σ m (x − mean)² / n (population variance, two passes), invstd = 1/√(var + eps),
 * y = (x − mean)·invstd·γ + β for every row (masked-out rows too). A column with n = 0 (B = 0 or an all-zero mask)
 * uses mean 0 and var 0 and leaves its running statistics unchanged.
 *
 * Block fusion (training mode only), so a Dense-ReLU → BatchNorm → dropout block costs one forward and one backward
 * dispatch besides its matmuls: with `bias`, x is the pre-activation h and the normalised input is a = relu(h + bias)
 * (bias shaped like γ); with `dropout`, y is multiplied by the inverted-dropout mask of element i,
 * u_i ≥ p_r ? 1/(1 − p_r) : 0 with u_i = philox(i; key, step) (the same draw as `dropoutMask`) and p_r from a [R]
 * rates buffer. The backward regenerates the mask, and with `bias` returns dh = dx·[a > 0] and dbias = Σ_b dh.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { Shape } from "../nn/shape.ts";
import type { BatchNormBlock, BatchNormRunning } from "../nn/backend.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";
import { PHILOX_WGSL } from "./wgsl_philox.ts";

const WG = 256;
/** Widest feature tile of a column workgroup. */
const MAX_TF = 32;

function pow2ceil(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Replicas, rows and features of an x of rank ≥ 2. */
export function bnDims(shape: Shape): [number, number, number] {
  const F = shape[shape.length - 1], B = shape[shape.length - 2];
  const R = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [R, B, F];
}

/** Rows one lane folds serially before the batch is split over several row lanes. */
const ROWS_PER_LANE = 1024;

/**
 * Tile of the column kernels: TF features × TR row lanes. One lane per column while B ≤ {@link ROWS_PER_LANE}: on
 * llvmpipe the shared-memory tree costs more than it saves (B = 430, F = 64: 0.40 ms per forward + backward with
 * one lane, 0.55–0.80 ms with 4–8 lanes; B = 32: 0.10 vs 0.14–0.16 ms), and on a discrete GPU a ≤ 1024-row serial
 * loop is still cheaper than the launch. Longer batches get lanes of ≤ 128 rows each.
 */
export function bnTile(B: number, F: number): { tf: number; tr: number } {
  const tf = Math.min(MAX_TF, pow2ceil(Math.max(1, F)));
  const tr = B <= ROWS_PER_LANE ? 1 : Math.min(WG / tf, pow2ceil(Math.ceil(B / 128)));
  return { tf, tr };
}

const PARAMS_WGSL = `struct Params { eps: f32, mom: f32, omm: f32, seed: u32, stream: u32, step: u32 }
@group(0) @binding(0) var<uniform> P: Params;`;

/** Uniforms: eps, momentum and 1 − momentum (formed in float64 on the host), and the dropout key and step. */
function bnParams(eps: number, momentum = 0, block: BatchNormBlock | null = null): ArrayBuffer {
  const d = block?.dropout;
  return packParams([
    ["f", eps],
    ["f", momentum],
    ["f", 1 - momentum],
    ["u", d?.key.seed ?? 0],
    ["u", d?.key.stream ?? 0],
    ["u", d?.step ?? 0],
  ]);
}

/** WGSL of the dropout factor of element i (replica r) from the rates buffer `prate`. */
const DROP_FACTOR = `fn drop_factor(i: u32, r: u32) -> f32 {
  let p = prate[r];
  let w = philox_at(i, P.step, P.stream, P.seed);
  return select(0.0, 1.0 / (1.0 - p), philox_uniform(w.x) >= p);
}`;

/**
 * WGSL that sums `vars` (f32 locals, one per lane) over the TR row lanes of each feature; afterwards `<v>_t` holds
 * the column total in every invocation. Barriers sit in workgroup-uniform control flow.
 */
function laneSum(vars: string[], tr: number, tf: number): string {
  if (tr === 1) return vars.map((v) => `let ${v}_t = ${v};`).join("\n  ");
  const out: string[] = [];
  vars.forEach((v, k) => out.push(`red${k}[lid] = ${v};`));
  out.push("workgroupBarrier();");
  for (let o = tr >> 1; o > 0; o >>= 1) {
    out.push(
      `if (tr < ${o}u) { ${vars.map((_, k) => `red${k}[lid] += red${k}[lid + ${o * tf}u];`).join(" ")} }`,
      "workgroupBarrier();",
    );
  }
  vars.forEach((v, k) => out.push(`let ${v}_t = red${k}[tf];`));
  // The shared arrays are reused by the next sum: everyone must have read them first.
  out.push("workgroupBarrier();");
  return out.join("\n  ");
}

function redDecls(count: number, tr: number): string {
  if (tr === 1) return "";
  return Array.from({ length: count }, (_, k) => `var<workgroup> red${k}: array<f32, ${WG}>;`).join("\n");
}

/** Prologue of a column kernel: workgroup → (replica r, feature f), lane → (tf, tr), column c = r·F + f. */
function columnHead(R: number, F: number, tf: number, tr: number): string {
  const tiles = Math.ceil(F / tf);
  return `@compute @workgroup_size(${tf * tr})
fn main(${GRID_ARGS}) {
  let w = ${FLAT_WG};
  if (w >= ${R * tiles}u) { return; }
  let r = w / ${tiles}u;
  let tf = lid % ${tf}u;
  let tr = lid / ${tf}u;
  let f = (w % ${tiles}u) * ${tf}u + tf;
  let valid = f < ${F}u;
  let c = r * ${F}u + min(f, ${F - 1}u);`;
}

function columnGrid(R: number, F: number, tf: number): [number, number, number] {
  return grid1d(R * Math.ceil(F / tf));
}

/** Options of the training forward spec. */
export interface BatchNormSpecOptions {
  masked: boolean;
  /** Whether running statistics are updated in place. */
  update: boolean;
  /** x is the pre-activation: the normalised input is relu(x + bias) (binding `bias`). */
  bias?: boolean;
  /** y is multiplied by the dropout mask (binding `prate`, key and step in the uniforms). */
  dropout?: boolean;
}

/** The block-fusion bindings (after x, γ, β): [bias], [prate]. */
function blockBindings(
  o: { bias?: boolean; dropout?: boolean },
  bindings: ("read" | "rw")[],
  names: string[],
) {
  if (o.bias) bindings.push("read"), names.push("bias");
  if (o.dropout) bindings.push("read"), names.push("prate");
}

/** WGSL reading the normalised input of element i: x[i], or relu(x[i] + bias[c]) for a fused block. */
function inputAt(o: { bias?: boolean }): string {
  return o.bias ? "max(x[i] + bias[c], 0.0)" : "x[i]";
}

/**
 * Spec of the training forward. Bindings: x, γ, β, [bias], [prate], [mask], y, mean, invstd, [running mean,
 * running var].
 */
export function batchNormSpec(R: number, B: number, F: number, o: BatchNormSpecOptions): KernelSpec {
  const { tf, tr } = bnTile(B, F);
  const bindings: ("read" | "rw")[] = ["read", "read", "read"];
  const names = ["x", "gamma", "beta"];
  blockBindings(o, bindings, names);
  if (o.masked) bindings.push("read"), names.push("mask");
  bindings.push("rw", "rw", "rw"), names.push("y", "mean", "invstd");
  if (o.update) bindings.push("rw", "rw"), names.push("rmean", "rvar");
  const m = o.masked ? "mask[r * " + B + "u + b]" : "";
  const rows = (body: string) =>
    `if (valid) {
    for (var b = tr; b < ${B}u; b += ${tr}u) {
      let i = (r * ${B}u + b) * ${F}u + f;
      let xv = ${inputAt(o)};
      ${body}
    }
  }`;
  const out = o.dropout ? "((xv - mu) * inv * g + bt) * drop_factor(i, r)" : "(xv - mu) * inv * g + bt";
  return {
    key: `bn:fwd:${R}x${B}x${F}:${o.masked ? "m" : "-"}:${o.update ? "u" : "-"}:${o.bias ? "b" : "-"}${
      o.dropout ? "d" : "-"
    }:${tf}x${tr}`,
    bindings,
    uniforms: true,
    workgroups: columnGrid(R, F, tf),
    source: () =>
      `${o.dropout ? PHILOX_WGSL : ""}
${PARAMS_WGSL}
${declareBindings(bindings, names)}
${o.dropout ? DROP_FACTOR : ""}
${redDecls(o.masked ? 2 : 1, tr)}
${columnHead(R, F, tf, tr)}
  var s = 0.0;
  var cnt = 0.0;
  ${rows(o.masked ? `let mv = ${m};\n      s += mv * xv;\n      cnt += mv;` : "s += xv;")}
  ${laneSum(o.masked ? ["s", "cnt"] : ["s"], tr, tf)}
  let n = ${o.masked ? "cnt_t" : `${B}.0`};
  var mu = 0.0;
  if (n > 0.0) { mu = s_t / n; }
  var q = 0.0;
  ${rows(o.masked ? `let d = xv - mu;\n      q += ${m} * d * d;` : "let d = xv - mu;\n      q += d * d;")}
  ${laneSum(["q"], tr, tf)}
  var v = 0.0;
  if (n > 0.0) { v = q_t / n; }
  let inv = inverseSqrt(v + P.eps);
  let g = gamma[c];
  let bt = beta[c];
  ${rows(`y[i] = ${out};`)}
  if (valid && tr == 0u) {
    mean[c] = mu;
    invstd[c] = inv;
    ${
        o.update
          ? `if (n > 0.0) {
      rmean[c] = rmean[c] * P.mom + mu * P.omm;
      rvar[c] = rvar[c] * P.mom + v * P.omm;
    }`
          : ""
      }
  }
}`,
  };
}

/** Options of the backward spec. */
export interface BatchNormGradSpecOptions {
  /** "train": statistics saved by the forward (mean, invstd) depend on x; "eval": running statistics (constants). */
  mode: "train" | "eval";
  masked: boolean;
  /** Fused block (train only): x is the pre-activation, bias binding read, dbias written. */
  bias?: boolean;
  /** Fused block (train only): dy is multiplied by the regenerated dropout mask. */
  dropout?: boolean;
}

/**
 * Spec of the backward. Bindings: x, dy, γ, then mean and invstd ("train") or running mean and var ("eval"),
 * [bias], [prate] (fused block, train only), [mask] (train only), dx, dγ, dβ, [dbias]. With g = γ·invstd,
 * x̂ = (a − mean)·invstd (a = the normalised input), d = dy (times the dropout mask), Sβ = Σ_b d and Sγ = Σ_b d·x̂ over
 * all rows: dβ = Sβ, dγ = Sγ, and da = g·(d − m·(Sβ + x̂·Sγ)/n) in training (n > 0), da = g·d otherwise; dx = da, or
 * with a fused bias dx = da·[a > 0] and dbias = Σ_b dx.
 */
export function batchNormGradSpec(R: number, B: number, F: number, o: BatchNormGradSpecOptions): KernelSpec {
  const { tf, tr } = bnTile(B, F);
  const train = o.mode === "train";
  const masked = train && o.masked;
  const blk = { bias: train && !!o.bias, dropout: train && !!o.dropout };
  const bindings: ("read" | "rw")[] = ["read", "read", "read", "read", "read"];
  const names = ["x", "dy", "gamma", train ? "mean" : "rmean", train ? "invstd" : "rvar"];
  blockBindings(blk, bindings, names);
  if (masked) bindings.push("read"), names.push("mask");
  bindings.push("rw", "rw", "rw"), names.push("dx", "dgamma", "dbeta");
  if (blk.bias) bindings.push("rw"), names.push("dbias");
  const rows = (body: string) =>
    `if (valid) {
    for (var b = tr; b < ${B}u; b += ${tr}u) {
      let i = (r * ${B}u + b) * ${F}u + f;
      let xv = ${inputAt(blk)};
      let xh = (xv - mu) * inv;
      let d = ${blk.dropout ? "dy[i] * drop_factor(i, r)" : "dy[i]"};
      ${body}
    }
  }`;
  let da = "k * d";
  if (train) {
    // With n = 0 every mask entry is 0 and dx = g·dy (c1, c2 stay finite).
    da = masked ? `k * (d - mask[r * ${B}u + b] * (c1 + xh * c2))` : "k * (d - (c1 + xh * c2))";
  }
  const dxBody = blk.bias
    ? `let dh = select(0.0, ${da}, xv > 0.0);
      dx[i] = dh;
      sbias += dh;`
    : `dx[i] = ${da};`;
  return {
    key: `bn:bwd:${o.mode}:${R}x${B}x${F}:${masked ? "m" : "-"}:${blk.bias ? "b" : "-"}${
      blk.dropout ? "d" : "-"
    }:${tf}x${tr}`,
    bindings,
    uniforms: true,
    workgroups: columnGrid(R, F, tf),
    source: () =>
      `${blk.dropout ? PHILOX_WGSL : ""}
${PARAMS_WGSL}
${declareBindings(bindings, names)}
${blk.dropout ? DROP_FACTOR : ""}
${redDecls(masked ? 3 : 2, tr)}
${columnHead(R, F, tf, tr)}
  let mu = ${train ? "mean[c]" : "rmean[c]"};
  let inv = ${train ? "invstd[c]" : "inverseSqrt(rvar[c] + P.eps)"};
  var sb = 0.0;
  var sg = 0.0;
  var cnt = 0.0;
  ${rows(`sb += d;\n      sg += d * xh;${masked ? `\n      cnt += mask[r * ${B}u + b];` : ""}`)}
  ${laneSum(masked ? ["sb", "sg", "cnt"] : ["sb", "sg"], tr, tf)}
  if (valid && tr == 0u) {
    dgamma[c] = sg_t;
    dbeta[c] = sb_t;
  }
  let k = gamma[c] * inv;
  let n = ${masked ? "cnt_t" : `${Math.max(B, 1)}.0`};
  let c1 = sb_t / max(n, 1.0);
  let c2 = sg_t / max(n, 1.0);
  var sbias = 0.0;
  ${rows(dxBody)}
  ${
        blk.bias
          ? `${laneSum(["sbias"], tr, tf)}
  if (valid && tr == 0u) {
    dbias[c] = sbias_t;
  }`
          : ""
      }
}`,
  };
}

/** Spec of the inference forward (elementwise): y = (x − rmean)·(γ/√(rvar + eps)) + β. Bindings x, γ, β, rm, rv, y. */
export function batchNormInferenceSpec(R: number, B: number, F: number): KernelSpec {
  const n = R * B * F;
  const bindings: ("read" | "rw")[] = ["read", "read", "read", "read", "read", "rw"];
  return {
    key: `bn:inf:${R}x${B}x${F}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `${PARAMS_WGSL}
${declareBindings(bindings, ["x", "gamma", "beta", "rmean", "rvar", "y"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  let c = (i / ${B * F}u) * ${F}u + i % ${F}u;
  let scale = gamma[c] * inverseSqrt(rvar[c] + P.eps);
  y[i] = (x[i] - rmean[c]) * scale + beta[c];
}`,
  };
}

/** Training-mode batch normalisation (see the module doc), optionally fused with its block; statistics like γ. */
export function batchNorm(
  be: WebGpuBackend,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  mask: Tensor | null,
  eps: number,
  running: BatchNormRunning | null,
  block: BatchNormBlock | null = null,
): { y: Tensor; mean: Tensor; invstd: Tensor } {
  const [R, B, F] = bnDims(x.shape);
  const y = be.alloc(x.shape), mean = be.alloc(gamma.shape), invstd = be.alloc(gamma.shape);
  // B = 0 still dispatches: the statistics (mean 0, invstd 1/√eps) are defined.
  if (mean.size === 0) return { y, mean, invstd };
  const spec = batchNormSpec(R, B, F, {
    masked: mask !== null,
    update: running !== null,
    bias: !!block?.bias,
    dropout: !!block?.dropout,
  });
  const bufs = [x, gamma, beta, ...blockTensors(block)];
  if (mask) bufs.push(mask);
  bufs.push(y, mean, invstd);
  if (running) bufs.push(running.mean, running.var);
  be.run(spec, bufs, bnParams(eps, running?.momentum ?? 0, block));
  return { y, mean, invstd };
}

function blockTensors(block: BatchNormBlock | null): Tensor[] {
  const out: Tensor[] = [];
  if (block?.bias) out.push(block.bias);
  if (block?.dropout) out.push(block.dropout.rates);
  return out;
}

/** Backward of {@link batchNorm}: dx (x's shape), dγ and dβ (γ's shape), and dbias for a fused bias. */
export function batchNormGrad(
  be: WebGpuBackend,
  x: Tensor,
  dy: Tensor,
  gamma: Tensor,
  mean: Tensor,
  invstd: Tensor,
  mask: Tensor | null,
  block: BatchNormBlock | null = null,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor; dbias: Tensor | null } {
  return grad(be, "train", x, dy, gamma, mean, invstd, mask, 0, block);
}

/** Inference-mode batch normalisation with running statistics. */
export function batchNormInference(
  be: WebGpuBackend,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  eps: number,
): Tensor {
  const [R, B, F] = bnDims(x.shape);
  const y = be.alloc(x.shape);
  if (y.size === 0) return y;
  be.run(batchNormInferenceSpec(R, B, F), [x, gamma, beta, runMean, runVar, y], bnParams(eps));
  return y;
}

/** Backward of {@link batchNormInference}: dx = dy·γ/√(rvar + eps), dγ = Σ_b dy·x̂, dβ = Σ_b dy. */
export function batchNormInferenceGrad(
  be: WebGpuBackend,
  x: Tensor,
  dy: Tensor,
  gamma: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  eps: number,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const { dx, dgamma, dbeta } = grad(be, "eval", x, dy, gamma, runMean, runVar, null, eps, null);
  return { dx, dgamma, dbeta };
}

function grad(
  be: WebGpuBackend,
  mode: "train" | "eval",
  x: Tensor,
  dy: Tensor,
  gamma: Tensor,
  s0: Tensor,
  s1: Tensor,
  mask: Tensor | null,
  eps: number,
  block: BatchNormBlock | null,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor; dbias: Tensor | null } {
  const [R, B, F] = bnDims(x.shape);
  const dx = be.alloc(x.shape), dgamma = be.alloc(gamma.shape), dbeta = be.alloc(gamma.shape);
  const dbias = block?.bias ? be.alloc(block.bias.shape) : null;
  if (dgamma.size === 0) return { dx, dgamma, dbeta, dbias };
  const spec = batchNormGradSpec(R, B, F, {
    mode,
    masked: mask !== null,
    bias: !!block?.bias,
    dropout: !!block?.dropout,
  });
  const bufs = [x, dy, gamma, s0, s1, ...blockTensors(block)];
  if (mask && mode === "train") bufs.push(mask);
  bufs.push(dx, dgamma, dbeta);
  if (dbias) bufs.push(dbias);
  be.run(spec, bufs, bnParams(eps, 0, block));
  return { dx, dgamma, dbeta, dbias };
}
