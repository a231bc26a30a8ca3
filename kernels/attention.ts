/**
 * Fused multi-head scaled-dot-product attention: forward (out + per-row log-sum-exp), probabilities and the
 * FlashAttention-style backward, for short sequences (S, T ≤ 64), up to 16 heads and head dim D ≤ 64.
 *
 * Layout: q [B, S, H, D], k and v [B, T, H, D] (contiguous), mask [B, T] (nonzero = the key may be attended) or none.
 * A workgroup of {@link WG} invocations handles G (batch, head) pairs (G = 1 when S or T > 32; up to 64 for short
 * sequences, so they do not leave the workgroup idle). Within a pair, lane i owns query row i (forward, dQ) or key
 * row i (dK, dV), so every output element is written by exactly one invocation: no atomics, results are
 * deterministic. K and V are staged one after the other through the same workgroup tile (≤ 64×64 f32 = 16 KiB in
 * all), so the kernels stay well inside the 32 KiB workgroup-storage limit.
 *
 * A query row whose keys are all masked has no softmax: its output is 0, its lse is {@link EMPTY_ROW_LSE} and its
 * gradients are 0. Shapes and the mask flag are baked; the scale and the number of (batch, head) pairs are uniforms.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";

/** Invocations per workgroup: one per query (or key) row, so it bounds S and T. */
const WG = 64;
/** Largest supported query / key sequence length. */
export const MAX_SEQ = 64;
/** Largest supported number of heads. */
export const MAX_HEADS = 16;
/** Largest supported head dimension. */
export const MAX_HEAD_DIM = 64;
/**
 * The lse written for a query row whose keys are all masked: a finite stand-in for log(0) = −∞ that keeps the
 * tensor free of infinities (exp(lse) is still 0 in f32). The backward never exponentiates it: such rows have no
 * unmasked key, so all their probabilities and gradients are 0.
 */
export const EMPTY_ROW_LSE = -1e30;
/** Floats of the shared tile: K or V of one 64×64 pair, or a 32-row Q + dO chunk (16 KiB). */
const TILE_FLOATS = 4096;

/** The baked extents of one attention call. */
export interface AttentionDims {
  /** Query rows. */
  S: number;
  /** Key / value rows. */
  T: number;
  /** Heads. */
  H: number;
  /** Head dimension. */
  D: number;
}

/** Reads (B, S, T, H, D) from q [B, S, H, D] and k [B, T, H, D] and enforces the supported limits. */
function dimsOf(where: string, q: Tensor, k: Tensor): AttentionDims & { B: number } {
  const [B, S, H, D] = q.shape;
  const T = k.shape[1];
  if (q.rank !== 4 || k.rank !== 4) {
    throw new Error(
      `${where}: expected rank-4 q [B,S,H,D] and k [B,T,H,D], got ranks ${q.rank} and ${k.rank}`,
    );
  }
  if (S > MAX_SEQ) {
    throw new Error(`${where}: query length S=${S} exceeds the supported maximum of ${MAX_SEQ}`);
  }
  if (T > MAX_SEQ) throw new Error(`${where}: key length T=${T} exceeds the supported maximum of ${MAX_SEQ}`);
  if (H > MAX_HEADS) throw new Error(`${where}: H=${H} heads exceeds the supported maximum of ${MAX_HEADS}`);
  if (D > MAX_HEAD_DIM) {
    throw new Error(`${where}: head dim D=${D} exceeds the supported maximum of ${MAX_HEAD_DIM}`);
  }
  return { B, S, T, H, D };
}

const PARAMS_WGSL = `struct Params { scale: f32, nbh: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> P: Params;`;

/**
 * How many (batch, head) pairs one workgroup handles: a power of two such that every pair still gets one invocation
 * per row (64 / groups ≥ max(S, T)) and the pairs' tiles (`floatsPerPair` each) fit in 16 KiB. Short sequences
 * thus do not leave most of the workgroup idle. A pure function of the baked shape.
 */
function pairsPerWorkgroup(S: number, T: number, floatsPerPair: number): number {
  let g = 1;
  while (2 * g * Math.max(S, T, 1) <= WG && 2 * g * floatsPerPair <= TILE_FLOATS) g *= 2;
  return g;
}

/**
 * WGSL locating this invocation: the pair index `bh` = blk·G + gi (gi = lid / L), its lane `ln` (row) and the bases
 * of its slices of the shared arrays (`rb`, of the R-row statistics, only when R > 0). `gvalid` is false for pairs past the end (the last workgroup may be partial).
 */
function prologue(G: number, H: number, tileFloats: number, T: number, R: number): string {
  const L = WG / G;
  return `let gi = lid / ${L}u;
  let ln = lid % ${L}u;
  let bh = blk * ${G}u + gi;
  let gvalid = bh < P.nbh;
  let b = bh / ${H}u;
  let h = bh % ${H}u;
  let tb = gi * ${tileFloats}u;
  let kb = gi * ${Math.max(1, T)}u;${R ? `\n  let rb = gi * ${R}u;` : ""}`;
}

/** WGSL staging the key mask of batch `b` into this pair's `keep` slice (1 = attend). Needs a barrier before use. */
function stageKeep(T: number, L: number, hasMask: boolean): string {
  return `if (gvalid) {
    for (var t = ln; t < ${T}u; t += ${L}u) {
      keep[kb + t] = ${hasMask ? `select(0.0, 1.0, mask[b * ${T}u + t] != 0.0)` : "1.0"};
    }
  }`;
}

/** WGSL staging rows of `src` (k or v, [B, T, H, D]) for (b, h) into this pair's tile slice as [T, D]. */
function stageKV(src: string, { T, H, D }: AttentionDims, L: number): string {
  return `if (gvalid) {
    for (var e = ln; e < ${T * D}u; e += ${L}u) {
      tile[tb + e] = ${src}[((b * ${T}u + e / ${D}u) * ${H}u + h) * ${D}u + e % ${D}u];
    }
  }`;
}

/**
 * Spec of the forward kernel (`mode` "fwd": bindings q, k, v, [mask], out, lse) or the probabilities kernel
 * ("probs": q, k, [mask], p). Each workgroup handles G (batch, head) pairs, one invocation per query row; uniforms:
 * scale and the number of (batch, head) pairs `nbh` (not baked, so batch size changes need no new pipeline).
 */
export function attentionSpec(
  mode: "fwd" | "probs",
  dims: AttentionDims,
  hasMask: boolean,
  nbh: number,
): KernelSpec {
  const { S, T, H, D } = dims;
  const names = mode === "fwd"
    ? ["q", "k", "v", ...(hasMask ? ["mask"] : []), "out", "lse"]
    : ["q", "k", ...(hasMask ? ["mask"] : []), "prob"];
  const bindings = names.map((n) =>
    (n === "out" || n === "lse" || n === "prob" ? "rw" : "read") as "read" | "rw"
  );
  const pairFloats = Math.max(1, T * D);
  const G = pairsPerWorkgroup(S, T, pairFloats);
  const L = WG / G;
  return {
    key: `attn:${mode}:S${S}:T${T}:H${H}:D${D}:${hasMask ? "m" : "nm"}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(nbh / G)),
    source: () => {
      const finish = mode === "fwd"
        ? `
    lse[bh * ${S}u + i] = select(${EMPTY_ROW_LSE}, m + log(sum), seen);
  }
  workgroupBarrier();
  ${stageKV("v", dims, L)}
  workgroupBarrier();
  if (live) {
    for (var d = 0u; d < ${D}u; d++) {
      var acc = 0.0;
      for (var t = 0u; t < ${T}u; t++) { acc += p[t] * tile[tb + t * ${D}u + d]; }
      out[qo + d] = acc;
    }
  }`
        : `
    for (var t = 0u; t < ${T}u; t++) { prob[(bh * ${S}u + i) * ${T}u + t] = p[t]; }
  }`;
      return `${PARAMS_WGSL}
${declareBindings(bindings, names)}
var<workgroup> tile: array<f32, ${G * pairFloats}>;
var<workgroup> keep: array<f32, ${G * Math.max(1, T)}>;

@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let blk = ${FLAT_WG};
  if (blk * ${G}u >= P.nbh) { return; }
  ${prologue(G, H, pairFloats, T, 0)}
  let i = ln;
  let live = gvalid && i < ${S}u;
  let qo = ((b * ${S}u + i) * ${H}u + h) * ${D}u;
  ${stageKeep(T, L, hasMask)}
  ${stageKV("k", dims, L)}
  workgroupBarrier();
  var p: array<f32, ${Math.max(1, T)}>;
  if (live) {
    var qv: array<f32, ${Math.max(1, D)}>;
    for (var d = 0u; d < ${D}u; d++) { qv[d] = q[qo + d]; }
    // Scaled logits of the unmasked keys and their maximum.
    var m = -3.0e38;
    var seen = false;
    for (var t = 0u; t < ${T}u; t++) {
      p[t] = 0.0;
      if (keep[kb + t] != 0.0) {
        var s = 0.0;
        for (var d = 0u; d < ${D}u; d++) { s += qv[d] * tile[tb + t * ${D}u + d]; }
        s *= P.scale;
        p[t] = s;
        m = max(m, s);
        seen = true;
      }
    }
    var sum = 0.0;
    for (var t = 0u; t < ${T}u; t++) {
      let e = select(0.0, exp(p[t] - m), keep[kb + t] != 0.0);
      p[t] = e;
      sum += e;
    }
    // A row with no unmasked key keeps p = 0 (out = 0) instead of dividing 0 by 0.
    let inv = select(0.0, 1.0 / sum, seen);
    for (var t = 0u; t < ${T}u; t++) { p[t] *= inv; }${finish}
}`;
    },
  };
}

/**
 * Spec of the backward kernel. `part` "both" (bindings q, k, v, [mask], out, lse, dout, dq, dk, dv) runs two
 * workgroups per block of G (batch, head) pairs: even ones compute dQ (invocation = query row), odd ones dK and dV
 * (invocation = key row). "dq" and "dkv" are the halves as separate kernels (binding only their own outputs), for
 * adapters with fewer storage-buffer bindings.
 */
export function attentionGradSpec(
  part: "both" | "dq" | "dkv",
  dims: AttentionDims,
  hasMask: boolean,
  nbh: number,
): KernelSpec {
  const { S, T, H, D } = dims;
  const outs = part === "both" ? ["dq", "dk", "dv"] : part === "dq" ? ["dq"] : ["dk", "dv"];
  const names = ["q", "k", "v", ...(hasMask ? ["mask"] : []), "out", "lse", "dout", ...outs];
  const bindings = names.map((n) => (outs.includes(n) ? "rw" : "read") as "read" | "rw");
  // Query rows per chunk of the dK/dV phase: Q and dO chunks share the pair's tile slice (R·D floats each).
  const R = Math.max(1, Math.min(S, Math.floor(TILE_FLOATS / 2 / Math.max(1, D))));
  const chunks = Math.ceil(S / R);
  const pairFloats = Math.max(1, T * D, 2 * R * D);
  const G = pairsPerWorkgroup(S, T, pairFloats);
  const L = WG / G;
  const per = part === "both" ? 2 : 1;

  const dqPhase = `
    // dQ: lane i owns query row i. dP_it − Δ_i with V staged, then P_it from lse with K staged.
    let i = ln;
    let live = gvalid && i < ${S}u;
    let qo = ((b * ${S}u + i) * ${H}u + h) * ${D}u;
    var qv: array<f32, ${Math.max(1, D)}>;
    var gv: array<f32, ${Math.max(1, D)}>;
    var g: array<f32, ${Math.max(1, T)}>;
    var delta = 0.0;
    var ownLse = 0.0;
    if (live) {
      for (var d = 0u; d < ${D}u; d++) {
        qv[d] = q[qo + d];
        gv[d] = dout[qo + d];
        delta += gv[d] * out[qo + d];
      }
      ownLse = lse[bh * ${S}u + i];
    }
    ${stageKeep(T, L, hasMask)}
    ${stageKV("v", dims, L)}
    workgroupBarrier();
    if (live) {
      for (var t = 0u; t < ${T}u; t++) {
        var dp = 0.0;
        for (var d = 0u; d < ${D}u; d++) { dp += gv[d] * tile[tb + t * ${D}u + d]; }
        g[t] = dp - delta;
      }
    }
    workgroupBarrier();
    ${stageKV("k", dims, L)}
    workgroupBarrier();
    if (live) {
      for (var t = 0u; t < ${T}u; t++) {
        var ds = 0.0;
        if (keep[kb + t] != 0.0) {
          var s = 0.0;
          for (var d = 0u; d < ${D}u; d++) { s += qv[d] * tile[tb + t * ${D}u + d]; }
          ds = exp(s * P.scale - ownLse) * g[t];
        }
        g[t] = ds;
      }
      for (var d = 0u; d < ${D}u; d++) {
        var acc = 0.0;
        for (var t = 0u; t < ${T}u; t++) { acc += g[t] * tile[tb + t * ${D}u + d]; }
        dq[qo + d] = acc * P.scale;
      }
    }`;

  const dkvPhase = `
    // dK, dV: lane j owns key row j and loops over query rows, staged in chunks of ${R} rows
    // (Q at tile[tb..], dO at tile[tb + ${R * D}..]) with their lse and Δ = dO·O.
    let j = ln;
    let live = gvalid && j < ${T}u;
    let ko = ((b * ${T}u + j) * ${H}u + h) * ${D}u;
    var kept = live;
    ${hasMask ? `if (live) { kept = mask[b * ${T}u + j] != 0.0; }` : ""}
    var kv: array<f32, ${Math.max(1, D)}>;
    var vv: array<f32, ${Math.max(1, D)}>;
    var dkv: array<f32, ${Math.max(1, D)}>;
    var dvv: array<f32, ${Math.max(1, D)}>;
    if (kept) {
      for (var d = 0u; d < ${D}u; d++) {
        kv[d] = k[ko + d];
        vv[d] = v[ko + d];
      }
    }
    for (var c = 0u; c < ${chunks}u; c++) {
      let r0 = c * ${R}u;
      let rows = min(${R}u, ${S}u - r0);
      workgroupBarrier();
      if (gvalid) {
        for (var e = ln; e < rows * ${D}u; e += ${L}u) {
          let src = ((b * ${S}u + r0 + e / ${D}u) * ${H}u + h) * ${D}u + e % ${D}u;
          tile[tb + e] = q[src];
          tile[tb + ${R * D}u + e] = dout[src];
        }
        if (ln < rows) {
          let o = ((b * ${S}u + r0 + ln) * ${H}u + h) * ${D}u;
          var dl = 0.0;
          for (var d = 0u; d < ${D}u; d++) { dl += dout[o + d] * out[o + d]; }
          rowDelta[rb + ln] = dl;
          rowLse[rb + ln] = lse[bh * ${S}u + r0 + ln];
        }
      }
      workgroupBarrier();
      if (kept) {
        for (var r = 0u; r < rows; r++) {
          var s = 0.0;
          var dp = 0.0;
          for (var d = 0u; d < ${D}u; d++) {
            s += tile[tb + r * ${D}u + d] * kv[d];
            dp += tile[tb + ${R * D}u + r * ${D}u + d] * vv[d];
          }
          let pr = exp(s * P.scale - rowLse[rb + r]);
          let ds = pr * (dp - rowDelta[rb + r]);
          for (var d = 0u; d < ${D}u; d++) {
            dvv[d] += pr * tile[tb + ${R * D}u + r * ${D}u + d];
            dkv[d] += ds * tile[tb + r * ${D}u + d];
          }
        }
      }
    }
    if (live) {
      for (var d = 0u; d < ${D}u; d++) {
        dk[ko + d] = dkv[d] * P.scale;
        dv[ko + d] = dvv[d];
      }
    }`;

  const body = part === "both"
    ? `if ((flat & 1u) == 0u) {${dqPhase}
  } else {${dkvPhase}
  }`
    : `{${part === "dq" ? dqPhase : dkvPhase}
  }`;

  return {
    key: `attn:grad:${part}:S${S}:T${T}:H${H}:D${D}:${hasMask ? "m" : "nm"}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(per * Math.ceil(nbh / G)),
    source: () =>
      `${PARAMS_WGSL}
${declareBindings(bindings, names)}
var<workgroup> tile: array<f32, ${G * pairFloats}>;
var<workgroup> keep: array<f32, ${G * Math.max(1, T)}>;
var<workgroup> rowLse: array<f32, ${G * R}>;
var<workgroup> rowDelta: array<f32, ${G * R}>;

@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let flat = ${FLAT_WG};
  let blk = flat / ${per}u;
  if (blk * ${G}u >= P.nbh) { return; }
  ${prologue(G, H, pairFloats, T, R)}
  ${body}
}`,
  };
}

function params(scale: number, nbh: number): ArrayBuffer {
  return packParams([["f", scale], ["u", nbh]]);
}

/**
 * Fused attention forward: out [B, S, H, D] = softmax(scale·Q Kᵀ, masked) V per (batch, head), and lse [B, H, S], the
 * log-sum-exp of each query row's scaled masked logits ({@link EMPTY_ROW_LSE} where every key is masked; out is 0
 * there). One dispatch. Throws beyond S, T ≤ 64, H ≤ 16, D ≤ 64.
 */
export function attention(
  be: WebGpuBackend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
): { out: Tensor; lse: Tensor } {
  const { B, ...dims } = dimsOf("attention", q, k);
  const { S, H } = dims;
  const out = be.alloc(q.shape);
  const lse = be.alloc([B, H, S]);
  if (lse.size === 0) return { out, lse };
  const spec = attentionSpec("fwd", dims, !!mask, B * H);
  be.run(spec, mask ? [q, k, v, mask, out, lse] : [q, k, v, out, lse], params(scale, B * H));
  return { out, lse };
}

/**
 * Attention probabilities P [B, H, S, T] = softmax(scale·Q Kᵀ) over the unmasked keys (masked entries and rows with
 * no unmasked key are 0). One dispatch.
 */
export function attentionProbs(
  be: WebGpuBackend,
  q: Tensor,
  k: Tensor,
  mask: Tensor | null,
  scale: number,
): Tensor {
  const { B, ...dims } = dimsOf("attentionProbs", q, k);
  const { S, T, H } = dims;
  const prob = be.alloc([B, H, S, T]);
  if (prob.size === 0) return prob;
  const spec = attentionSpec("probs", dims, !!mask, B * H);
  be.run(spec, mask ? [q, k, mask, prob] : [q, k, prob], params(scale, B * H));
  return prob;
}

/**
 * Attention backward from the forward's `out` and `lse`: with P = exp(scale·Q Kᵀ − lse) (0 on masked keys),
 * dV = Pᵀ dO, dS = P ⊙ (dO Vᵀ − Δ) with Δ_i = dO_i·O_i, dQ = scale·dS K, dK = scale·dSᵀ Q. One dispatch (two when
 * the adapter binds fewer than 10 storage buffers, or when `split` is set); deterministic, no atomics.
 */
export function attentionGrad(
  be: WebGpuBackend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
  out: Tensor,
  lse: Tensor,
  dout: Tensor,
  split?: boolean,
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const { B, ...dims } = dimsOf("attentionGrad", q, k);
  const dq = be.alloc(q.shape);
  const dk = be.alloc(k.shape);
  const dv = be.alloc(v.shape);
  if (dq.size === 0 && dk.size === 0) return { dq, dk, dv };
  const nbh = B * dims.H;
  const ins = mask ? [q, k, v, mask, out, lse, dout] : [q, k, v, out, lse, dout];
  split ??= (be.ctx.limits.maxStorageBuffersPerShaderStage ?? 8) < ins.length + 3;
  if (!split) {
    be.run(attentionGradSpec("both", dims, !!mask, nbh), [...ins, dq, dk, dv], params(scale, nbh));
  } else {
    if (dq.size) be.run(attentionGradSpec("dq", dims, !!mask, nbh), [...ins, dq], params(scale, nbh));
    if (dk.size) be.run(attentionGradSpec("dkv", dims, !!mask, nbh), [...ins, dk, dv], params(scale, nbh));
  }
  return { dq, dk, dv };
}
