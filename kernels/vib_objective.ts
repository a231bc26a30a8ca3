/**
 * The VIBANN training objective per row in one dispatch, and its gradient in two. For row r (rows = all leading
 * axes) with prediction p [P], target t [P], weight w, reconstruction q [E], composition c [E], latent KL k and KL
 * coefficient κ (β/L, 0 on padding rows):
 *
 *   mse_r   = w·Σ_j (p_j − t_j)²                       (the `weighted_mse` loss)
 *   recon_r = w·Σ_e ĉ_e·(ln ĉ_e − ln q̂_e)             (the `kl_categorical` loss, both clipped to [1e-7, 1])
 *   loss_r  = mse_r + ρ·recon_r + κ_r·k_r               (ρ: the reconstruction weight)
 *
 * written as stats [rows, 4] = (loss, mse, recon, k), so the caller's weighted row sums give the step's loss and
 * its logged means in one matmul. Six element-wise and loss kernels forward and four backward become one and two.
 * κ is per row [rows] or per leading entry (replica) [rows / b], broadcast over its b rows.
 *
 * Backward, from g [rows, 4] (the gradient of each stats column):
 *   dp_j = (g0 + g1)·w·2(p_j − t_j),   dq_e = (ρ·g0 + g2)·w·∂(clipped KL)/∂q_e,   dk = κ·g0 + g3.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { VibObjectiveInputs } from "../nn/backend.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";
import { LOSS_GRAD_WGSL, LOSS_TERM_WGSL } from "./optim.ts";

const WG = 64;

/** Shapes the objective kernels are specialised for. */
export interface VibObjectiveProblem {
  /** Rows (all leading axes of the prediction). */
  rows: number;
  /** Prediction columns P. */
  p: number;
  /** Composition columns E. */
  e: number;
  /** Rows sharing one κ: 1 when κ is per row, b when it is per replica. */
  kappaStride: number;
}

/** Spec of the forward pass. Bindings: pred, target, w, recon, comp, kl, kappa, stats; uniform: ρ. */
export function vibObjectiveSpec(o: VibObjectiveProblem): KernelSpec {
  const { rows, p, e, kappaStride } = o;
  const bindings = ["read", "read", "read", "read", "read", "read", "read", "rw"] as const;
  return {
    key: `vib-objective:${rows}:${p}:${e}:${kappaStride}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(rows / WG)),
    source: () =>
      `struct Params { rho: f32, p1: f32, p2: f32, p3: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, ["pred", "tgt", "w", "recon", "comp", "kl", "kappa", "stats"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let r = ${FLAT_WG} * ${WG}u + lid;
  if (r >= ${rows}u) { return; }
  var acc = 0.0;
  for (var i = r * ${p}u; i < (r + 1u) * ${p}u; i++) {
    let p = pred[i];
    let t = tgt[i];
    ${LOSS_TERM_WGSL.weighted_mse}
  }
  let mse = w[r] * acc;
  acc = 0.0;
  for (var i = r * ${e}u; i < (r + 1u) * ${e}u; i++) {
    let p = recon[i];
    let t = comp[i];
    ${LOSS_TERM_WGSL.kl_categorical}
  }
  let rec = w[r] * acc;
  let k = kl[r];
  stats[4u * r] = mse + P.rho * rec + kappa[r / ${kappaStride}u] * k;
  stats[4u * r + 1u] = mse;
  stats[4u * r + 2u] = rec;
  stats[4u * r + 3u] = k;
}`,
  };
}

/** Spec of the per-row part of the backward pass. Bindings: pred, target, w, kappa, g, dpred, dkl. */
export function vibObjectiveRowGradSpec(o: VibObjectiveProblem): KernelSpec {
  const { rows, p, kappaStride } = o;
  const bindings = ["read", "read", "read", "read", "read", "rw", "rw"] as const;
  return {
    key: `vib-objective-rowgrad:${rows}:${p}:${kappaStride}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(rows / WG)),
    source: () =>
      `${declareBindings(bindings, ["pred", "tgt", "w", "kappa", "g", "dpred", "dkl"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let r = ${FLAT_WG} * ${WG}u + lid;
  if (r >= ${rows}u) { return; }
  let s = (g[4u * r] + g[4u * r + 1u]) * w[r];
  for (var i = r * ${p}u; i < (r + 1u) * ${p}u; i++) {
    let p = pred[i];
    let t = tgt[i];
    dpred[i] = s * (${LOSS_GRAD_WGSL.weighted_mse});
  }
  dkl[r] = kappa[r / ${kappaStride}u] * g[4u * r] + g[4u * r + 3u];
}`,
  };
}

/** Spec of the reconstruction part of the backward pass, one invocation per element. Bindings: recon, comp, w, g, drecon. */
export function vibObjectiveReconGradSpec(o: VibObjectiveProblem): KernelSpec {
  const { rows, e } = o;
  const n = rows * e;
  const bindings = ["read", "read", "read", "read", "rw"] as const;
  return {
    key: `vib-objective-recongrad:${rows}:${e}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(n / 256)),
    source: () =>
      `struct Params { rho: f32, p1: f32, p2: f32, p3: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${declareBindings(bindings, ["recon", "comp", "w", "g", "drecon"])}
@compute @workgroup_size(256)
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * 256u + lid;
  if (i >= ${n}u) { return; }
  let r = i / ${e}u;
  let p = recon[i];
  let t = comp[i];
  drecon[i] = (P.rho * g[4u * r] + g[4u * r + 2u]) * w[r] * (${LOSS_GRAD_WGSL.kl_categorical});
}`,
  };
}

/** Forward pass; see {@link Backend.vibObjective}. */
export function vibObjective(
  be: WebGpuBackend,
  a: VibObjectiveInputs,
  reconWeight: number,
): Tensor {
  const o = problem(a.pred, a.recon, a.kappa);
  const stats = be.alloc([...a.pred.shape.slice(0, -1), 4]);
  if (o.rows === 0) return stats;
  be.run(
    vibObjectiveSpec(o),
    [a.pred, a.target, a.weight, a.recon, a.comp, a.kl, a.kappa, stats],
    packParams([["f", reconWeight]]),
  );
  return stats;
}

/** Backward pass: gradients for the prediction, the reconstruction and the latent KL. */
export function vibObjectiveGrad(
  be: WebGpuBackend,
  a: VibObjectiveInputs,
  reconWeight: number,
  g: Tensor,
): { dpred: Tensor; drecon: Tensor; dkl: Tensor } {
  const o = problem(a.pred, a.recon, a.kappa);
  const dpred = be.alloc(a.pred.shape), drecon = be.alloc(a.recon.shape), dkl = be.alloc(a.kl.shape);
  if (o.rows === 0) return { dpred, drecon, dkl };
  be.run(vibObjectiveRowGradSpec(o), [a.pred, a.target, a.weight, a.kappa, g, dpred, dkl]);
  if (drecon.size > 0) {
    be.run(
      vibObjectiveReconGradSpec(o),
      [a.recon, a.comp, a.weight, g, drecon],
      packParams([["f", reconWeight]]),
    );
  }
  return { dpred, drecon, dkl };
}

function problem(pred: Tensor, recon: Tensor, kappa: Tensor): VibObjectiveProblem {
  const p = pred.shape[pred.rank - 1], e = recon.shape[recon.rank - 1];
  const rows = pred.size / Math.max(1, p);
  return { rows, p, e, kappaStride: kappa.size === rows ? 1 : Math.max(1, rows / Math.max(1, kappa.size)) };
}
