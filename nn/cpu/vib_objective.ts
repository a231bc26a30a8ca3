/**
 * CPU twin of kernels/vib_objective.ts: the VIBANN objective's per-row stats (loss, mse, recon, KL) and gradients,
 * from the same per-element loss terms as the CPU losses (float64 sums).
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { VibObjectiveInputs } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { lossTerm, lossTermGrad } from "./optim.ts";

function dims(a: VibObjectiveInputs): { p: number; e: number; rows: number; stride: number } {
  const p = a.pred.shape[a.pred.rank - 1], e = a.recon.shape[a.recon.rank - 1];
  const rows = a.pred.size / Math.max(1, p);
  const stride = a.kappa.size === rows ? 1 : Math.max(1, rows / Math.max(1, a.kappa.size));
  return { p, e, rows, stride };
}

/** Stats [rows, 4] = (loss, mse, recon, KL) per row. */
export function vibObjective(be: CpuBackend, a: VibObjectiveInputs, reconWeight: number): Tensor {
  const { p, e, rows, stride } = dims(a);
  const out = be.alloc([...a.pred.shape.slice(0, -1), 4]);
  const pd = be.data(a.pred), td = be.data(a.target), wd = be.data(a.weight), qd = be.data(a.recon);
  const cd = be.data(a.comp), kd = be.data(a.kl), kap = be.data(a.kappa), od = be.data(out);
  for (let r = 0; r < rows; r++) {
    let m = 0, q = 0;
    for (let j = r * p; j < (r + 1) * p; j++) m += lossTerm("weighted_mse", pd[j], td[j]);
    for (let j = r * e; j < (r + 1) * e; j++) q += lossTerm("kl_categorical", qd[j], cd[j]);
    const mse = wd[r] * m, rec = wd[r] * q;
    od[4 * r] = mse + reconWeight * rec + kap[Math.floor(r / stride)] * kd[r];
    od[4 * r + 1] = mse;
    od[4 * r + 2] = rec;
    od[4 * r + 3] = kd[r];
  }
  return out;
}

/** Gradients of Σ g·stats for the prediction, the reconstruction and the latent KL. */
export function vibObjectiveGrad(
  be: CpuBackend,
  a: VibObjectiveInputs,
  reconWeight: number,
  g: Tensor,
): { dpred: Tensor; drecon: Tensor; dkl: Tensor } {
  const { p, e, rows, stride } = dims(a);
  const dpred = be.alloc(a.pred.shape), drecon = be.alloc(a.recon.shape), dkl = be.alloc(a.kl.shape);
  const pd = be.data(a.pred), td = be.data(a.target), wd = be.data(a.weight), qd = be.data(a.recon);
  const cd = be.data(a.comp), kap = be.data(a.kappa), gd = be.data(g);
  const dp = be.data(dpred), dq = be.data(drecon), dk = be.data(dkl);
  for (let r = 0; r < rows; r++) {
    const g0 = gd[4 * r], sp = (g0 + gd[4 * r + 1]) * wd[r], sq = (reconWeight * g0 + gd[4 * r + 2]) * wd[r];
    for (let j = r * p; j < (r + 1) * p; j++) dp[j] = sp * lossTermGrad("weighted_mse", pd[j], td[j]);
    for (let j = r * e; j < (r + 1) * e; j++) dq[j] = sq * lossTermGrad("kl_categorical", qd[j], cd[j]);
    dk[r] = kap[Math.floor(r / stride)] * g0 + gd[4 * r + 3];
  }
  return { dpred, drecon, dkl };
}
