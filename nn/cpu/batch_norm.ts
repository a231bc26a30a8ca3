/**
 * CPU reference batch normalisation (independent of the WGSL), float64 accumulation. Semantics as documented on
 * `Backend.batchNorm`: x viewed as [R, B, F] (R = product of the leading axes), statistics per (r, f) over the
 * rows selected by the optional 0/1 mask, population variance in two passes, and a column with no selected row uses
 * mean 0, var 0 and keeps its running statistics. A fused block (`BatchNormBlock`) normalises relu(x + bias) and
 * multiplies by the dropout mask of `dropoutMask` with the replica's rate.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { BatchNormBlock, BatchNormRunning } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { uniformAt } from "./random.ts";

function dims(x: Tensor): [number, number, number] {
  const s = x.shape;
  const F = s[s.length - 1], B = s[s.length - 2];
  return [s.slice(0, -2).reduce((a, b) => a * b, 1), B, F];
}

/**
 * The block's view of x: the normalised input a(i) (x, or relu(x + bias)) and the dropout factor of element i in
 * replica r (1 without dropout).
 */
function blockView(be: CpuBackend, x: Tensor, F: number, block: BatchNormBlock | null) {
  const xd = be.data(x);
  const bias = block?.bias ? be.data(block.bias) : null;
  // h + bias rounds as the storage does (float32, or float64 for the gradient-check backend).
  const round = xd instanceof Float64Array ? (v: number) => v : Math.fround;
  const input = bias ? (i: number, c: number) => Math.max(round(xd[i] + bias[c]), 0) : (i: number) => xd[i];
  const d = block?.dropout;
  const rates = d ? be.data(d.rates) : null;
  const factor = d && rates
    ? (i: number, r: number) => {
      const p = rates[r]; // already float32
      return uniformAt(d.key, d.step, i) >= p ? round(1 / round(1 - p)) : 0;
    }
    : () => 1;
  return { input, factor, F };
}

/** Training-mode batch normalisation (optionally a fused block); see `Backend.batchNorm`. */
export function batchNorm(
  be: CpuBackend,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  mask: Tensor | null,
  eps: number,
  running: BatchNormRunning | null,
  block: BatchNormBlock | null = null,
): { y: Tensor; mean: Tensor; invstd: Tensor } {
  const [R, B, F] = dims(x);
  const y = be.alloc(x.shape), mean = be.alloc(gamma.shape), invstd = be.alloc(gamma.shape);
  const { input, factor } = blockView(be, x, F, block);
  const gd = be.data(gamma), bd = be.data(beta), md = mask ? be.data(mask) : null;
  const yd = be.data(y), mu = be.data(mean), is = be.data(invstd);
  const rm = running ? be.data(running.mean) : null, rv = running ? be.data(running.var) : null;
  const mom = running?.momentum ?? 0;
  for (let r = 0; r < R; r++) {
    let n = 0;
    for (let b = 0; b < B; b++) n += md ? md[r * B + b] : 1;
    for (let f = 0; f < F; f++) {
      const c = r * F + f;
      const at = (b: number) => input((r * B + b) * F + f, c);
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
      for (let b = 0; b < B; b++) {
        const i = (r * B + b) * F + f;
        yd[i] = ((at(b) - m) * inv * gd[c] + bd[c]) * factor(i, r);
      }
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
 * Shared backward: with a = the normalised input, d = dy·(dropout factor), x̂ = (a − mean)·invstd, dβ = Σ d,
 * dγ = Σ d·x̂ over all rows; da = γ·invstd·d, minus γ·invstd·m·(dβ + x̂·dγ)/n when the statistics depend on x
 * (`train`) and n > 0; dx = da, or da·[a > 0] with a fused bias, whose gradient is Σ dx.
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
  block: BatchNormBlock | null,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor; dbias: Tensor | null } {
  const [R, B, F] = dims(x);
  const dx = be.alloc(x.shape), dgamma = be.alloc(gamma.shape), dbeta = be.alloc(gamma.shape);
  const dbias = block?.bias ? be.alloc(block.bias.shape) : null;
  const { input, factor } = blockView(be, x, F, block);
  const dyd = be.data(dy), gd = be.data(gamma), md = mask ? be.data(mask) : null;
  const dxd = be.data(dx),
    dgd = be.data(dgamma),
    dbd = be.data(dbeta),
    dbias_ = dbias ? be.data(dbias) : null;
  for (let r = 0; r < R; r++) {
    let n = 0;
    for (let b = 0; b < B; b++) n += md ? md[r * B + b] : 1;
    for (let f = 0; f < F; f++) {
      const c = r * F + f;
      const mu = mean(c), inv = invstd(c);
      const xh = (b: number) => (input((r * B + b) * F + f, c) - mu) * inv;
      const d = (b: number) => {
        const i = (r * B + b) * F + f;
        return dyd[i] * factor(i, r);
      };
      let sb = 0, sg = 0;
      for (let b = 0; b < B; b++) {
        sb += d(b);
        sg += d(b) * xh(b);
      }
      dgd[c] = sg;
      dbd[c] = sb;
      const k = gd[c] * inv;
      let sbias = 0;
      for (let b = 0; b < B; b++) {
        const i = (r * B + b) * F + f;
        const m = md ? md[r * B + b] : 1;
        const da = train && n > 0 ? k * (d(b) - m * (sb + xh(b) * sg) / n) : k * d(b);
        dxd[i] = dbias_ && !(input(i, c) > 0) ? 0 : da;
        sbias += dxd[i];
      }
      if (dbias_) dbias_[c] = sbias;
    }
  }
  return { dx, dgamma, dbeta, dbias };
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
  block: BatchNormBlock | null = null,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor; dbias: Tensor | null } {
  const md = be.data(mean), id = be.data(invstd);
  return grad(be, x, dy, gamma, (c) => md[c], (c) => id[c], mask, true, block);
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
  const { dx, dgamma, dbeta } = grad(
    be,
    x,
    dy,
    gamma,
    (c) => rm[c],
    (c) => 1 / Math.sqrt(rv[c] + eps),
    null,
    false,
    null,
  );
  return { dx, dgamma, dbeta };
}
