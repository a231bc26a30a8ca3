/**
 * CPU reference of multi-head scaled-dot-product attention (independent of the WGSL): an explicit softmax over the
 * unmasked keys of every (batch, head, query row), accumulated in float64. Layout q [B, S, H, D], k, v [B, T, H, D],
 * mask [B, T] (nonzero = attend). Same limits and conventions as the GPU kernels: S, T ≤ 64, H ≤ 16, D ≤ 64; a row
 * whose keys are all masked has out = 0, lse = {@link EMPTY_ROW_LSE} and zero gradients.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";

/** Finite stand-in for log(0) written as the lse of a query row with no unmasked key (same value as the GPU). */
export const EMPTY_ROW_LSE = -1e30;

const LIMITS = { seq: 64, heads: 16, headDim: 64 };

interface Dims {
  B: number;
  S: number;
  T: number;
  H: number;
  D: number;
}

function dimsOf(where: string, q: Tensor, k: Tensor): Dims {
  if (q.rank !== 4 || k.rank !== 4) {
    throw new Error(
      `${where}: expected rank-4 q [B,S,H,D] and k [B,T,H,D], got ranks ${q.rank} and ${k.rank}`,
    );
  }
  const [B, S, H, D] = q.shape;
  const T = k.shape[1];
  if (S > LIMITS.seq) {
    throw new Error(`${where}: query length S=${S} exceeds the supported maximum of ${LIMITS.seq}`);
  }
  if (T > LIMITS.seq) {
    throw new Error(`${where}: key length T=${T} exceeds the supported maximum of ${LIMITS.seq}`);
  }
  if (H > LIMITS.heads) {
    throw new Error(`${where}: H=${H} heads exceeds the supported maximum of ${LIMITS.heads}`);
  }
  if (D > LIMITS.headDim) {
    throw new Error(`${where}: head dim D=${D} exceeds the supported maximum of ${LIMITS.headDim}`);
  }
  return { B, S, T, H, D };
}

/**
 * Softmax probabilities of every query row of one (batch, head): returns P as S rows of T (0 on masked keys; all 0
 * for a row with no unmasked key) and each row's log-sum-exp.
 */
function softmaxRows(
  qd: ArrayLike<number>,
  kd: ArrayLike<number>,
  md: ArrayLike<number> | null,
  scale: number,
  { S, T, H, D }: Dims,
  b: number,
  h: number,
): { p: Float64Array[]; lse: Float64Array } {
  const p: Float64Array[] = [];
  const lse = new Float64Array(S);
  for (let i = 0; i < S; i++) {
    const logits = new Float64Array(T);
    const qo = ((b * S + i) * H + h) * D;
    let max = -Infinity;
    for (let t = 0; t < T; t++) {
      if (md && md[b * T + t] === 0) continue;
      const ko = ((b * T + t) * H + h) * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += qd[qo + d] * kd[ko + d];
      logits[t] = scale * dot;
      if (logits[t] > max) max = logits[t];
    }
    const row = new Float64Array(T);
    if (max === -Infinity) {
      lse[i] = EMPTY_ROW_LSE;
    } else {
      let z = 0;
      for (let t = 0; t < T; t++) {
        if (md && md[b * T + t] === 0) continue;
        row[t] = Math.exp(logits[t] - max);
        z += row[t];
      }
      for (let t = 0; t < T; t++) row[t] /= z;
      lse[i] = max + Math.log(z);
    }
    p.push(row);
  }
  return { p, lse };
}

/** out = softmax(scale·Q Kᵀ, masked) V per (batch, head) and lse [B, H, S]. */
export function attention(
  be: CpuBackend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
): { out: Tensor; lse: Tensor } {
  const dims = dimsOf("attention", q, k);
  const { B, S, T, H, D } = dims;
  const out = be.alloc(q.shape);
  const lse = be.alloc([B, H, S]);
  const qd = be.data(q), kd = be.data(k), vd = be.data(v), md = mask ? be.data(mask) : null;
  const od = be.data(out), ld = be.data(lse);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const { p, lse: rowLse } = softmaxRows(qd, kd, md, scale, dims, b, h);
      for (let i = 0; i < S; i++) {
        ld[(b * H + h) * S + i] = rowLse[i];
        const oo = ((b * S + i) * H + h) * D;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let t = 0; t < T; t++) acc += p[i][t] * vd[((b * T + t) * H + h) * D + d];
          od[oo + d] = acc;
        }
      }
    }
  }
  return { out, lse };
}

/**
 * Gradients of attention for q, k, v given dout. The reference recomputes P by an explicit softmax and uses the
 * exact softmax backward Δ_i = Σ_t P_it·dP_it, so it does not depend on the `out` and `lse` the GPU reads (they are
 * equal to what it recomputes when they come from the forward pass).
 */
export function attentionGrad(
  be: CpuBackend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
  _out: Tensor,
  _lse: Tensor,
  dout: Tensor,
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const dims = dimsOf("attentionGrad", q, k);
  const { B, S, T, H, D } = dims;
  const dq = be.alloc(q.shape), dk = be.alloc(k.shape), dv = be.alloc(v.shape);
  const qd = be.data(q), kd = be.data(k), vd = be.data(v), gd = be.data(dout);
  const md = mask ? be.data(mask) : null;
  const dqd = be.data(dq), dkd = be.data(dk), dvd = be.data(dv);
  const qIdx = (b: number, i: number, h: number) => ((b * S + i) * H + h) * D;
  const kIdx = (b: number, t: number, h: number) => ((b * T + t) * H + h) * D;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const { p } = softmaxRows(qd, kd, md, scale, dims, b, h);
      // dS = P ⊙ (dP − rowsum(P ⊙ dP)), dP = dO Vᵀ.
      const ds: Float64Array[] = [];
      for (let i = 0; i < S; i++) {
        const dp = new Float64Array(T);
        let delta = 0;
        for (let t = 0; t < T; t++) {
          if (p[i][t] === 0) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += gd[qIdx(b, i, h) + d] * vd[kIdx(b, t, h) + d];
          dp[t] = dot;
          delta += p[i][t] * dot;
        }
        ds.push(dp.map((x, t) => p[i][t] * (x - delta)));
      }
      const dqAcc = new Float64Array(D), dkAcc = new Float64Array(D), dvAcc = new Float64Array(D);
      for (let i = 0; i < S; i++) {
        dqAcc.fill(0);
        for (let t = 0; t < T; t++) {
          for (let d = 0; d < D; d++) dqAcc[d] += ds[i][t] * kd[kIdx(b, t, h) + d];
        }
        for (let d = 0; d < D; d++) dqd[qIdx(b, i, h) + d] = scale * dqAcc[d];
      }
      for (let t = 0; t < T; t++) {
        dkAcc.fill(0);
        dvAcc.fill(0);
        for (let i = 0; i < S; i++) {
          for (let d = 0; d < D; d++) {
            dkAcc[d] += ds[i][t] * qd[qIdx(b, i, h) + d];
            dvAcc[d] += p[i][t] * gd[qIdx(b, i, h) + d];
          }
        }
        for (let d = 0; d < D; d++) {
          dkd[kIdx(b, t, h) + d] = scale * dkAcc[d];
          dvd[kIdx(b, t, h) + d] = dvAcc[d];
        }
      }
    }
  }
  return { dq, dk, dv };
}

/** P [B, H, S, T]: softmax over the unmasked keys (0 on masked keys and on rows with no unmasked key). */
export function attentionProbs(
  be: CpuBackend,
  q: Tensor,
  k: Tensor,
  mask: Tensor | null,
  scale: number,
): Tensor {
  const dims = dimsOf("attentionProbs", q, k);
  const { B, S, T, H } = dims;
  const prob = be.alloc([B, H, S, T]);
  const qd = be.data(q), kd = be.data(k), md = mask ? be.data(mask) : null;
  const pd = be.data(prob);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const { p } = softmaxRows(qd, kd, md, scale, dims, b, h);
      for (let i = 0; i < S; i++) pd.set(p[i], ((b * H + h) * S + i) * T);
    }
  }
  return prob;
}
