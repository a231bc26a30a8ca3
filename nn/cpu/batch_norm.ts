/**
 * CPU reference batch normalisation (independent of the WGSL), float64 accumulation. Semantics as documented on
 * `Backend.batchNorm`: x viewed as [R, B, F] (R = product of the leading axes), statistics per (r, f) over the
 * rows selected by the optional 0/1 mask, population variance in two passes, and a column with no selected row uses
 * mean 0, var 0 and keeps its running statistics.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { BatchNormRunning } from "../backend.ts";
import type { Tensor } from "../tensor.ts";

function dims(x: Tensor): [number, number, number] {
  const s = x.shape;
  const F = s[s.length - 1], B = s[s.length - 2];
  return [s.slice(0, -2).reduce((a, b) => a * b, 1), B, F];
}

/** Training-mode batch normalisation; see `Backend.batchNorm`. */
export function batchNorm(
  be: CpuBackend,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  mask: Tensor | null,
  eps: number,
  running: BatchNormRunning | null,
): { y: Tensor; mean: Tensor; invstd: Tensor } {
  const [R, B, F] = dims(x);
  const y = be.alloc(x.shape), mean = be.alloc(gamma.shape), invstd = be.alloc(gamma.shape);
  const xd = be.data(x), gd = be.data(gamma), bd = be.data(beta), md = mask ? be.data(mask) : null;
  const yd = be.data(y), mu = be.data(mean), is = be.data(invstd);
  const rm = running ? be.data(running.mean) : null, rv = running ? be.data(running.var) : null;
  const mom = running?.momentum ?? 0;
  for (let r = 0; r < R; r++) {
    let n = 0;
    for (let b = 0; b < B; b++) n += md ? md[r * B + b] : 1;
    for (let f = 0; f < F; f++) {
      const c = r * F + f;
      const at = (b: number) => xd[(r * B + b) * F + f];
      const w = (b: number) => (md ? md[r * B + b] : 1);
      let m = 0, v = 0;
      if (n > 0) {
        let s = 0;
        for (let b = 0; b < B; b++) s += w(b) * at(b);
        m = s / n;
        let q = 0;
        for (let b = 0; b < B; b++) q += w(b) * (at(b) - m) ** 2;
        v = q / n;
      }
      const inv = 1 / Math.sqrt(v + eps);
      for (let b = 0; b < B; b++) yd[(r * B + b) * F + f] = (at(b) - m) * inv * gd[c] + bd[c];
      mu[c] = m;
      is[c] = inv;
      if (rm && rv && n > 0) {
        rm[c] = mom * rm[c] + (1 - mom) * m;
        rv[c] = mom * rv[c] + (1 - mom) * v;
      }
    }
  }
  return { y, mean, invstd };
}

/**
 * Shared backward: x̂ = (x − mean)·invstd, dβ = Σ dy, dγ = Σ dy·x̂ over all rows; dx = γ·invstd·dy, minus
 * γ·invstd·m·(dβ + x̂·dγ)/n when the statistics depend on x (`train`) and n > 0.
 */
function grad(
  be: CpuBackend,
  x: Tensor,
  dy: Tensor,
  gamma: Tensor,
  mean: (c: number) => number,
  invstd: (c: number) => number,
  mask: Tensor | null,
  train: boolean,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const [R, B, F] = dims(x);
  const dx = be.alloc(x.shape), dgamma = be.alloc(gamma.shape), dbeta = be.alloc(gamma.shape);
  const xd = be.data(x), dyd = be.data(dy), gd = be.data(gamma), md = mask ? be.data(mask) : null;
  const dxd = be.data(dx), dgd = be.data(dgamma), dbd = be.data(dbeta);
  for (let r = 0; r < R; r++) {
    let n = 0;
    for (let b = 0; b < B; b++) n += md ? md[r * B + b] : 1;
    for (let f = 0; f < F; f++) {
      const c = r * F + f;
      const mu = mean(c), inv = invstd(c);
      const xh = (b: number) => (xd[(r * B + b) * F + f] - mu) * inv;
      let sb = 0, sg = 0;
      for (let b = 0; b < B; b++) {
        const d = dyd[(r * B + b) * F + f];
        sb += d;
        sg += d * xh(b);
      }
      dgd[c] = sg;
      dbd[c] = sb;
      const k = gd[c] * inv;
      for (let b = 0; b < B; b++) {
        const i = (r * B + b) * F + f;
        const m = md ? md[r * B + b] : 1;
        dxd[i] = train && n > 0 ? k * (dyd[i] - m * (sb + xh(b) * sg) / n) : k * dyd[i];
      }
    }
  }
  return { dx, dgamma, dbeta };
}

/** Backward of {@link batchNorm}; see `Backend.batchNormGrad`. */
export function batchNormGrad(
  be: CpuBackend,
  x: Tensor,
  dy: Tensor,
  gamma: Tensor,
  mean: Tensor,
  invstd: Tensor,
  mask: Tensor | null,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const md = be.data(mean), id = be.data(invstd);
  return grad(be, x, dy, gamma, (c) => md[c], (c) => id[c], mask, true);
}

/** Inference-mode batch normalisation with running statistics; see `Backend.batchNormInference`. */
export function batchNormInference(
  be: CpuBackend,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  eps: number,
): Tensor {
  const [, B, F] = dims(x);
  const y = be.alloc(x.shape);
  const xd = be.data(x), yd = be.data(y), gd = be.data(gamma), bd = be.data(beta);
  const rm = be.data(runMean), rv = be.data(runVar);
  for (let i = 0; i < xd.length; i++) {
    const c = Math.floor(i / (B * F)) * F + (i % F);
    yd[i] = (xd[i] - rm[c]) * (gd[c] / Math.sqrt(rv[c] + eps)) + bd[c];
  }
  return y;
}

/** Backward of {@link batchNormInference}; see `Backend.batchNormInferenceGrad`. */
export function batchNormInferenceGrad(
  be: CpuBackend,
  x: Tensor,
  dy: Tensor,
  gamma: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  eps: number,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const rm = be.data(runMean), rv = be.data(runVar);
  return grad(be, x, dy, gamma, (c) => rm[c], (c) => 1 / Math.sqrt(rv[c] + eps), null, false);
}
