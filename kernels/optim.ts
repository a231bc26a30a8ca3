/**
 * Optimiser and loss kernels: fused per-row losses over the last axis with their fused gradients, and the in-place
 * Adam/AdamW update with optional global-norm clipping read from a [1] device tensor (no readback). Shapes are baked
 * into the WGSL; the learning rate, weight decay and the step's bias corrections travel as uniforms, so a new step
 * (or an lr schedule) never recompiles.
 *
 * Loss semantics (rows = all leading axes, w_r = weight or 1):
 * - `weighted_mse`: w_r·Σ_j (p − t)²; gradient 2·w_r·(p − t).
 * - `kl_categorical`: as Keras `KLDivergence`, both p and t are clipped to [1e-7, 1] first (1e-7 rounded to float32
 *   on both backends): w_r·Σ_j t̂·(ln t̂ − ln p̂). The gradient is that of the clip: −w_r·t̂/p where 1e-7 ≤ p ≤ 1,
 *   and exactly 0 where p lies outside (p < 1e-7 or p > 1), as `clip_by_value` passes no gradient there.
 * - `bce_logits`: w_r·Σ_j (max(x, 0) − x·t + ln(1 + e^(−|x|))) for logits x; gradient w_r·(σ(x) − t).
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { AdamParams, LossKind } from "../nn/backend.ts";
import { sizeOf } from "../nn/shape.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";
import { ACTIVATIONS_WGSL } from "./wgsl_prelude.ts";
import { rowKernel, type RowMode, rowMode } from "./wgsl_rows.ts";

const WG = 256;

/** Per-element loss term added to `acc` (p = pred[i], t = target[i]). */
export const LOSS_TERM_WGSL: Record<LossKind, string> = {
  weighted_mse: "let d = p - t;\n    acc = acc + d * d;",
  kl_categorical:
    "let tc = clamp(t, 1e-7, 1.0);\n    let pc = clamp(p, 1e-7, 1.0);\n    acc = acc + tc * (log(tc) - log(pc));",
  bce_logits: "acc = acc + (max(p, 0.0) - p * t + log(1.0 + exp(-abs(p))));",
};

/** d(loss term)/dp (p = pred[i], t = target[i]). */
export const LOSS_GRAD_WGSL: Record<LossKind, string> = {
  weighted_mse: "2.0 * (p - t)",
  kl_categorical: "select(0.0, -clamp(t, 1e-7, 1.0) / p, p >= 1e-7 && p <= 1.0)",
  bce_logits: "sigmoid_f(p) - t",
};

/** Rows and row length of a tensor reduced over its last axis (rank 0 = one row of length 1). */
function rowsOf(t: Tensor): [number, number] {
  return t.rank ? [sizeOf(t.shape.slice(0, -1)), t.shape[t.rank - 1]] : [1, 1];
}

/** Spec of the per-row loss. Bindings: pred, target, [weight], out. */
export function lossSpec(
  kind: LossKind,
  rows: number,
  L: number,
  weighted: boolean,
  mode: RowMode = rowMode(rows, L),
): KernelSpec {
  const bindings = weighted ? ["read", "read", "read", "rw"] as const : ["read", "read", "rw"] as const;
  const names = weighted ? ["pred", "tgt", "weight", "out"] : ["pred", "tgt", "out"];
  const k = rowKernel({
    rows,
    L,
    mode,
    decls: declareBindings(bindings, names),
    term: `let p = pred[i];\n    let t = tgt[i];\n    ${LOSS_TERM_WGSL[kind]}`,
    post: weighted ? "out[r] = s * weight[r];" : "out[r] = s;",
  });
  return {
    key: `loss:${kind}:${rows}:${L}:${weighted ? "w" : "1"}:${mode}`,
    bindings,
    uniforms: false,
    workgroups: k.workgroups,
    source: () => k.source,
  };
}

/** Spec of the fused loss gradient over n = rows·L elements. Bindings: pred, target, dloss, [weight], out. */
export function lossGradSpec(kind: LossKind, n: number, L: number, weighted: boolean): KernelSpec {
  const bindings = weighted
    ? ["read", "read", "read", "read", "rw"] as const
    : ["read", "read", "read", "rw"] as const;
  const names = weighted ? ["pred", "tgt", "dloss", "weight", "out"] : ["pred", "tgt", "dloss", "out"];
  return {
    key: `lossgrad:${kind}:${n}:${L}:${weighted ? "w" : "1"}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `${ACTIVATIONS_WGSL}
${declareBindings(bindings, names)}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  let r = i / ${L}u;
  let p = pred[i];
  let t = tgt[i];
  out[i] = dloss[r]${weighted ? " * weight[r]" : ""} * (${LOSS_GRAD_WGSL[kind]});
}`,
  };
}

/** A WGSL f32 literal that parses to exactly Math.fround(x) (9 significant digits round-trip float32). */
function f32Lit(x: number): string {
  return `(${Math.fround(x).toPrecision(9)}f)`;
}

/**
 * The optimiser constants baked into an Adam kernel: they are fixed for a training run, so baking them costs one
 * pipeline per optimiser configuration. Everything that changes per step (lr schedules, bias corrections) and the
 * weight decay are uniforms. `clipNorm` is null when clipping is off.
 */
export interface AdamConstants {
  beta1: number;
  beta2: number;
  eps: number;
  clipNorm: number | null;
  /** Whether a per-element learning-rate multiplier buffer is bound (per-replica schedules). */
  lrScale?: boolean;
}

/**
 * Spec of the in-place Adam update of n elements. Bindings: param, grad, m, v, [normSq when clipping].
 * Uniforms: lr, 1−β1^t, 1−β2^t, weightDecay. (The pipeline cache declares the uniform binding with minBindingSize
 * 16, which caps the uniform block at four scalars; the constants are therefore baked.)
 */
export function adamSpec(n: number, c: AdamConstants): KernelSpec {
  const clip = c.clipNorm !== null;
  const bindings: ("rw" | "read")[] = ["rw", "read", "rw", "rw"];
  const names = ["param", "grad", "m", "v"];
  if (clip) bindings.push("read"), names.push("normsq");
  if (c.lrScale) bindings.push("read"), names.push("lrs");
  const [b1, omb1, b2, omb2, eps] = [c.beta1, 1 - c.beta1, c.beta2, 1 - c.beta2, c.eps].map(f32Lit);
  const clipLit = clip ? f32Lit(c.clipNorm!) : "";
  return {
    key: `adam:${n}:${[b1, omb1, b2, omb2, eps].join(":")}:${clip ? clipLit : "noclip"}:${
      c.lrScale ? "lrs" : ""
    }`,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `struct Params { lr: f32, bc1: f32, bc2: f32, wd: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, names)}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  var g = grad[i];${clip ? `\n  g = g * min(1.0, ${clipLit} / (sqrt(normsq[0]) + 1e-6));` : ""}
  let mi = ${b1} * m[i] + ${omb1} * g;
  let vi = ${b2} * v[i] + ${omb2} * g * g;
  m[i] = mi;
  v[i] = vi;
  let p = param[i];
  param[i] = p - P.lr${
        c.lrScale ? " * lrs[i]" : ""
      } * ((mi / P.bc1) / (sqrt(vi / P.bc2) + ${eps}) + P.wd * p);
}`,
  };
}

/** Per-row loss over the last axis (see the module doc); returns pred's shape without its last axis. */
export function loss(
  be: WebGpuBackend,
  kind: LossKind,
  pred: Tensor,
  target: Tensor,
  weight: Tensor | null,
): Tensor {
  const [rows, L] = rowsOf(pred);
  const out = be.alloc(pred.shape.slice(0, -1));
  if (rows === 0) return out;
  // L = 0 still dispatches: every row sum is 0.
  be.run(
    lossSpec(kind, rows, L, weight !== null),
    weight ? [pred, target, weight, out] : [pred, target, out],
  );
  return out;
}

/** d(Σ_r dloss_r·loss_r)/d pred, with pred's shape (dloss and weight have the rows shape). */
export function lossGrad(
  be: WebGpuBackend,
  kind: LossKind,
  pred: Tensor,
  target: Tensor,
  weight: Tensor | null,
  dloss: Tensor,
): Tensor {
  const [, L] = rowsOf(pred);
  const out = be.alloc(pred.shape);
  if (out.size === 0) return out;
  be.run(
    lossGradSpec(kind, out.size, L, weight !== null),
    weight ? [pred, target, dloss, weight, out] : [pred, target, dloss, out],
  );
  return out;
}

/**
 * In-place Adam/AdamW step over flat buffers: optional clipping g·min(1, clipNorm/(√normSq + 1e-6)) with normSq
 * read on the device, m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², and
 * param ← param − lr·(m̂/(√v̂ + eps) + weightDecay·param) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t). With `lrScale`
 * (same size as param) the learning rate of element i is lr·lrScale[i].
 */
export function adam(
  be: WebGpuBackend,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  gradNormSq: Tensor | null,
  hp: AdamParams,
  lrScale: Tensor | null = null,
): void {
  const n = param.size;
  if (n === 0) return;
  // Clipping needs a norm and a finite positive threshold (also finite once rounded to float32).
  const clip = gradNormSq !== null && hp.clipNorm > 0 && Number.isFinite(Math.fround(hp.clipNorm));
  const spec = adamSpec(n, {
    beta1: hp.beta1,
    beta2: hp.beta2,
    eps: hp.eps,
    clipNorm: clip ? hp.clipNorm : null,
    lrScale: lrScale !== null,
  });
  // Bias corrections are formed in float64 on the host; only the rounded results reach the shader.
  const params = packParams([
    ["f", hp.lr],
    ["f", 1 - Math.pow(hp.beta1, hp.step)],
    ["f", 1 - Math.pow(hp.beta2, hp.step)],
    ["f", hp.weightDecay],
  ]);
  const bufs = clip ? [param, grad, m, v, gradNormSq!] : [param, grad, m, v];
  if (lrScale) bufs.push(lrScale);
  be.run(spec, bufs, params);
}
