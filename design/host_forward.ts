/**
 * The sampler's model evaluation on the host, in float64: the same functions as {@link DesignModel.decode},
 * {@link DesignModel.encodeMu} and {@link DesignModel.hvSamples} (same weights, same MC-dropout masks), computed
 * with the structure of the network instead of one dense forward of every stacked row.
 *
 * Why on the host: a random-walk step needs the log-target of its proposals before it can propose again, so a
 * device evaluation costs one read per step, and every read in Deno's WebGPU waits ≥ 10 ms after the device is
 * idle (`GPUBuffer.mapAsync` polls, then sleeps 10 ms before it resolves): 700 steps can never take less than 7 s
 * that way, however little the device computes. On the host the whole step costs a few milliseconds, because:
 * - **The deterministic prefix is computed once per composition**, not once per MC pass: dropout acts only after
 *   a block, so the gate, the encoder block and the 1540-wide pairwise block (≈ 90 % of the dense forward's
 *   multiply-adds) are the same in every pass. Compositions are sparse (a handful of elements), so the gate, the
 *   encoder and the pairwise products only touch the present elements and their pairs.
 * - **A masked input of a shared vector costs only its dropped entries**: (v ⊙ m)·W with m ∈ {0, 1/(1−p)} is
 *   (v·W − Σ_dropped v_i·W_i)/(1−p), and v·W is computed once per composition (pair2's input, and the encoder half
 *   of fuse1's input).
 * - **Fixed masks** (common random numbers, design/latent_target.ts) are drawn once per batch size, and with them
 *   the load branch (its input, the design load, is the same in every row) folds into a per-row constant of the
 *   hardness trunk; z = h·W_μ + b_μ feeds the trunk linearly, so W_μ·W_trunk,z is one 64 × 64 matrix.
 * Inference BatchNorm is the affine map a·x + c with a = γ/√(var + ε), c = β − mean·a, as the kernels compute it.
 * Results agree with the device forward to float32 rounding (tests/design/host_forward_test.ts).
 * @module
 */
import type { VibannReference } from "../nn/models/vibann.ts";
import type { MemberScalers } from "../nn/models/vibann_predict.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { Dense } from "../nn/layers/dense.ts";
import type { BatchNorm1d } from "../nn/layers/batch_norm.ts";
import type { Dropout } from "../nn/layers/dropout.ts";
import { type RngKey, uniformArray } from "../nn/random.ts";

/** A dense layer of one member: weight in × out (row-major) and bias. */
interface HostDense {
  w: Float64Array;
  b: Float64Array;
  nIn: number;
  nOut: number;
}

/** A Dense-ReLU → BatchNorm → dropout block of one member, BatchNorm as y = a·x + c. */
interface HostBlock extends HostDense {
  a: Float64Array;
  c: Float64Array;
  /** Dropout rate of this member. */
  rate: number;
  key: RngKey;
}

/** One member's weights. */
interface HostMember {
  gate: HostDense;
  enc1: HostBlock;
  pair1: HostBlock;
  pair2: HostBlock;
  fuse1: HostBlock;
  zMu: HostDense;
  load1: HostBlock;
  hard1: HostBlock;
  out: HostDense;
  /** This member's latent size (its μ is zero beyond it). */
  latent: number;
  /** W_μ[:, :latent]·W_trunk[:latent, :] (fuse width × trunk width). */
  fold: Float64Array;
  /** b_μ[:latent]·W_trunk[:latent, :] + b_trunk. */
  foldBias: Float64Array;
  /** fold transposed (trunk width × fuse width). */
  foldT: Float64Array;
  /** fuse1's weight rows of the pairwise half, transposed (fuse width × pair2 width). */
  fuseT: Float64Array;
  scalers: MemberScalers;
}

/** Fixed masks of one (batch size, passes, mask step, load), per member, rows j = pass·B + b. */
interface MaskSet {
  rows: number;
  passes: number;
  maskStep: number;
  load: number;
  /** Per member: keep flags (1 = kept) of the enc1, pair1, pair2, fuse1 and trunk outputs, [S·B × width]. */
  enc1: Uint8Array[];
  pair1: Uint8Array[];
  pair2: Uint8Array[];
  fuse1: Uint8Array[];
  hard1: Uint8Array[];
  /** Per member: the trunk's per-row constant: foldBias + (masked load features)·W_trunk,load. */
  trunkConst: Float64Array[];
  /** Per member and layer: the scale 1/(1−p) of a kept entry (1 without dropout). */
  scale: Record<"enc1" | "pair1" | "pair2" | "fuse1" | "hard1", number[]>;
}

/** One member's per-composition quantities (B rows each). */
interface Prefix {
  /** Encoder block output (pre-dropout), B × 64. */
  e0: Float64Array;
  /** Pairwise block output (pre-dropout), B × 128. */
  p0: Float64Array;
  /** p0·W_pair2 (no bias), B × 64. */
  pW: Float64Array;
  /** e0·W_fuse[encoder rows] (no bias), B × 64. */
  eW: Float64Array;
}

/** Per-member slice `r` of an R-member tensor's values, as float64. */
function memberSlice(v: Float32Array, r: number, R: number): Float64Array {
  const n = v.length / R;
  return Float64Array.from(v.subarray(r * n, (r + 1) * n));
}

/** out[k] = Σ_i x[i]·w[i·n + k] for a dense row x (length m), accumulated into `out` (length n). */
function addRowTimes(x: Float64Array, xo: number, m: number, w: Float64Array, n: number, out: Float64Array) {
  for (let i = 0; i < m; i++) {
    const v = x[xo + i];
    if (v === 0) continue;
    const wo = i * n;
    for (let k = 0; k < n; k++) out[k] += v * w[wo + k];
  }
}

/**
 * out[q·n + k] += Σ_i x[q·m + i]·wt[k·m + i] for the four rows q of x (4 × m) and a TRANSPOSED weight wt (n × m):
 * each weight is loaded once for four rows.
 */
function addRows4Times(x: Float64Array, m: number, wt: Float64Array, n: number, out: Float64Array) {
  const m2 = 2 * m, m3 = 3 * m;
  for (let k = 0; k < n; k++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const wk = k * m;
    for (let i = 0; i < m; i++) {
      const u = wt[wk + i];
      s0 += x[i] * u;
      s1 += x[m + i] * u;
      s2 += x[m2 + i] * u;
      s3 += x[m3 + i] * u;
    }
    out[k] += s0;
    out[n + k] += s1;
    out[2 * n + k] += s2;
    out[3 * n + k] += s3;
  }
}

/** The transpose (cols × rows) of a rows × cols row-major matrix. */
function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) t[k * rows + i] = a[i * cols + k];
  return t;
}

/**
 * A {@link VibannReference}'s decoder (member 0), deterministic encoder (member 0) and MC hardness samples (all
 * members) on the host. Create with {@link HostDesignForward.create}; the weights are copied once.
 */
export class HostDesignForward {
  readonly members: number;
  readonly elements: number;
  /** Design latent size d (member 0's). */
  readonly latentDim: number;
  /** Width L of the model's latent tensors. */
  readonly fullLatent: number;
  readonly #m: HostMember[];
  readonly #dec: { dec1: HostBlock; dec2: HostBlock; recon: HostDense };
  #masks: MaskSet[] = [];

  private constructor(
    model: VibannReference,
    members: HostMember[],
    dec: { dec1: HostBlock; dec2: HostBlock; recon: HostDense },
  ) {
    this.members = model.replicas;
    this.elements = model.elements;
    this.latentDim = model.latentDims[0];
    this.fullLatent = model.latentDim;
    this.#m = members;
    this.#dec = dec;
  }

  /** Copies the weights of `model` (any backend; read once) with its members' scalers. */
  static async create(model: VibannReference, scalers: readonly MemberScalers[]): Promise<HostDesignForward> {
    const R = model.replicas;
    if (scalers.length !== R) {
      throw new RangeError(`HostDesignForward: ${scalers.length} scalers for ${R} members`);
    }
    const tensors: Tensor[] = [];
    const want = (t: Tensor) => tensors.push(t) - 1;
    type DenseIdx = { w: number; b: number; layer: Dense };
    type BlockIdx = DenseIdx & {
      g: number;
      be: number;
      rm: number;
      rv: number;
      bn: BatchNorm1d;
      drop: Dropout;
    };
    const dense = (layer: Dense): DenseIdx => ({ w: want(layer.weight), b: want(layer.bias!), layer });
    const block = (k: { dense: Dense; bn: BatchNorm1d; drop: Dropout }): BlockIdx => ({
      ...dense(k.dense),
      g: want(k.bn.gamma),
      be: want(k.bn.beta),
      rm: want(k.bn.runningMean.value),
      rv: want(k.bn.runningVar.value),
      bn: k.bn,
      drop: k.drop,
    });
    const idx = {
      gate: dense(model.gate),
      enc1: block(model.enc1),
      pair1: block(model.pair1),
      pair2: block(model.pair2),
      fuse1: block(model.fuse1),
      zMu: dense(model.zMu),
      load1: block(model.load1),
      hard1: block(model.hard1),
      out: dense(model.out),
      dec1: block(model.dec1),
      dec2: block(model.dec2),
      recon: dense(model.recon),
    };
    const values = (await Promise.all(tensors.map((t) => t.read()))) as Float32Array[];
    const hd = (i: DenseIdx, r: number): HostDense => ({
      w: memberSlice(values[i.w], r, R),
      b: memberSlice(values[i.b], r, R),
      nIn: i.layer.inFeatures,
      nOut: i.layer.outFeatures,
    });
    const hb = (i: BlockIdx, r: number): HostBlock => {
      const g = memberSlice(values[i.g], r, R), beta = memberSlice(values[i.be], r, R);
      const rm = memberSlice(values[i.rm], r, R), rv = memberSlice(values[i.rv], r, R);
      const a = g.map((gk, k) => gk / Math.sqrt(rv[k] + i.bn.eps));
      const c = beta.map((bk, k) => bk - rm[k] * a[k]);
      const rate = i.drop.rates ? i.drop.rates[r] : i.drop.rate;
      return { ...hd(i, r), a, c, rate, key: { seed: i.drop.seed, stream: i.drop.stream } };
    };
    const L = model.latentDim;
    const members = Array.from({ length: R }, (_, r): HostMember => {
      const zMu = hd(idx.zMu, r), hard1 = hb(idx.hard1, r);
      const l = model.latentDims[r], H = zMu.nIn, T = hard1.nOut;
      const fold = new Float64Array(H * T), foldBias = Float64Array.from(hard1.b);
      for (let q = 0; q < l; q++) {
        const wq = q * T;
        for (let i = 0; i < H; i++) {
          const v = zMu.w[i * L + q];
          for (let k = 0; k < T; k++) fold[i * T + k] += v * hard1.w[wq + k];
        }
        for (let k = 0; k < T; k++) foldBias[k] += zMu.b[q] * hard1.w[wq + k];
      }
      const enc1 = hb(idx.enc1, r), pair2 = hb(idx.pair2, r), fuse1 = hb(idx.fuse1, r);
      return {
        gate: hd(idx.gate, r),
        enc1,
        pair1: hb(idx.pair1, r),
        pair2,
        fuse1,
        zMu,
        load1: hb(idx.load1, r),
        hard1,
        out: hd(idx.out, r),
        latent: l,
        fold,
        foldBias,
        foldT: transpose(fold, H, T),
        fuseT: transpose(fuse1.w.subarray(enc1.nOut * fuse1.nOut), pair2.nOut, fuse1.nOut),
        scalers: scalers[r],
      };
    });
    const dec = { dec1: hb(idx.dec1, 0), dec2: hb(idx.dec2, 0), recon: hd(idx.recon, 0) };
    return new HostDesignForward(model, members, dec);
  }

  /** Member 0's decoder, dropout off: latents z (rows × d) → softmax compositions (rows × E). */
  decode(z: Float64Array): Float64Array {
    const d = this.latentDim, E = this.elements, n = z.length / d;
    const { dec1, dec2, recon } = this.#dec;
    const out = new Float64Array(n * E);
    const h1 = new Float64Array(dec1.nOut), h2 = new Float64Array(dec2.nOut), lg = new Float64Array(E);
    for (let r = 0; r < n; r++) {
      // Latent dimensions beyond d are zero (DesignModel.decode pads them), so only d rows of W matter.
      h1.set(dec1.b);
      addRowTimes(z, r * d, d, dec1.w, dec1.nOut, h1);
      for (let k = 0; k < h1.length; k++) h1[k] = dec1.a[k] * Math.max(h1[k], 0) + dec1.c[k];
      h2.set(dec2.b);
      addRowTimes(h1, 0, h1.length, dec2.w, dec2.nOut, h2);
      for (let k = 0; k < h2.length; k++) h2[k] = dec2.a[k] * Math.max(h2[k], 0) + dec2.c[k];
      lg.set(recon.b);
      addRowTimes(h2, 0, h2.length, recon.w, E, lg);
      let mx = -Infinity;
      for (let k = 0; k < E; k++) if (lg[k] > mx) mx = lg[k];
      let s = 0;
      for (let k = 0; k < E; k++) s += lg[k] = Math.exp(lg[k] - mx);
      for (let k = 0; k < E; k++) out[r * E + k] = lg[k] / s;
    }
    return out;
  }

  /** The fixed masks (and load constants) for `rows` compositions, cached for the last two batch sizes. */
  #maskSet(rows: number, passes: number, maskStep: number, load: number): MaskSet {
    const hit = this.#masks.find((m) =>
      m.rows === rows && m.passes === passes && m.maskStep === maskStep && m.load === load
    );
    if (hit) return hit;
    const R = this.members, S = Math.max(1, passes), SB = S * rows;
    // One draw per layer over the whole [R, S·B, F] tensor, as the Dropout layers draw it.
    const draw = (pick: (m: HostMember) => HostBlock): { masks: Uint8Array[]; scales: number[] } => {
      const b0 = pick(this.#m[0]), F = b0.nOut;
      const u = passes > 0 && this.#m.some((m) => pick(m).rate > 0)
        ? uniformArray(b0.key, maskStep, R * SB * F)
        : null;
      const masks: Uint8Array[] = [], scales: number[] = [];
      this.#m.forEach((m, r) => {
        const p = pick(m).rate, mk = new Uint8Array(SB * F);
        if (!u || p === 0) {
          mk.fill(1);
          scales.push(1);
        } else {
          // Keep decisions compare float32 uniforms with float32(p), as every backend does.
          const p32 = Math.fround(p), off = r * SB * F;
          for (let i = 0; i < SB * F; i++) mk[i] = u[off + i] >= p32 ? 1 : 0;
          scales.push(1 / (1 - p));
        }
        masks.push(mk);
      });
      return { masks, scales };
    };
    const enc1 = draw((m) => m.enc1), pair1 = draw((m) => m.pair1), pair2 = draw((m) => m.pair2);
    const fuse1 = draw((m) => m.fuse1), load1 = draw((m) => m.load1), hard1 = draw((m) => m.hard1);
    const L = this.fullLatent;
    const trunkConst = this.#m.map((m, r) => {
      // Load features of every row: a·relu(ℓ·w + b) + c (ℓ the member's standardised load), times the row's
      // mask, then through the trunk's load rows.
      const l1 = m.load1, T = m.hard1.nOut, F = l1.nOut;
      const ell = (load - m.scalers.loadMean) / m.scalers.loadScale;
      const f0 = new Float64Array(F);
      for (let k = 0; k < F; k++) f0[k] = l1.a[k] * Math.max(ell * l1.w[k] + l1.b[k], 0) + l1.c[k];
      const mk = load1.masks[r],
        sc = load1.scales[r],
        out = new Float64Array(SB * T),
        f = new Float64Array(F);
      const wl = m.hard1.w.subarray(L * T);
      for (let j = 0; j < SB; j++) {
        for (let k = 0; k < F; k++) f[k] = mk[j * F + k] ? f0[k] * sc : 0;
        const row = out.subarray(j * T, (j + 1) * T);
        row.set(m.foldBias);
        addRowTimes(f, 0, F, wl, T, row);
      }
      return out;
    });
    const set: MaskSet = {
      rows,
      passes,
      maskStep,
      load,
      enc1: enc1.masks,
      pair1: pair1.masks,
      pair2: pair2.masks,
      fuse1: fuse1.masks,
      hard1: hard1.masks,
      trunkConst,
      scale: {
        enc1: enc1.scales,
        pair1: pair1.scales,
        pair2: pair2.scales,
        fuse1: fuse1.scales,
        hard1: hard1.scales,
      },
    };
    this.#masks = [set, ...this.#masks.slice(0, 1)];
    return set;
  }

  /**
   * Member 0's latent means ẑ (B × d) and the MC hardness samples (HV, [R·max(S, 1)] × B, row r·S + s = member r,
   * pass s, as {@link DesignModel.hvSamples}) of compositions `comp` (B × E) at a raw `load`, with the dropout masks
   * of RNG step `maskStep` (passes = 0: the deterministic prediction). `need`, when given, is asked with ẑ which
   * rows need samples; the other rows' samples are NaN (their work is skipped).
   */
  forward(
    comp: Float64Array,
    load: number,
    passes: number,
    maskStep: number,
    need?: (zHat: Float64Array) => ArrayLike<boolean>,
  ): { zHat: Float64Array; samples: Float64Array } {
    const B = comp.length / this.elements;
    const prefix = this.#m.map((m) => this.#prefix(m, comp, B));
    const zHat = this.#latentMean(this.#m[0], prefix[0], B);
    const rows = need ? need(zHat) : null;
    const S = Math.max(1, passes);
    const samples = new Float64Array(this.members * S * B).fill(NaN);
    if (rows && !Array.prototype.some.call(rows, (x: boolean) => x)) return { zHat, samples };
    const masks = this.#maskSet(B, passes, maskStep, load);
    this.#m.forEach((m, r) => this.#mcRows(m, r, prefix[r], masks, B, S, rows, samples));
    return { zHat, samples };
  }

  /** Per composition: simplex, gate, encoder block and pairwise block (pre-dropout), p0·W_pair2 and e0·W_fuse,e. */
  #prefix(m: HostMember, comp: Float64Array, B: number): Prefix {
    const E = this.elements;
    const H1 = m.enc1.nOut, H2 = m.pair1.nOut, H3 = m.pair2.nOut, H4 = m.fuse1.nOut;
    const e0 = new Float64Array(B * H1), p0 = new Float64Array(B * H2);
    const pW = new Float64Array(B * H3), eW = new Float64Array(B * H4);
    const s = new Float64Array(E), nz = new Int32Array(E), gl = new Float64Array(E);
    for (let b = 0; b < B; b++) {
      let sum = 0;
      for (let i = 0; i < E; i++) sum += s[i] = Math.max(comp[b * E + i], 0);
      const inv = 1 / Math.max(sum, 1e-8);
      let k = 0;
      for (let i = 0; i < E; i++) if ((s[i] *= inv) !== 0) nz[k++] = i;
      gl.set(m.gate.b);
      for (let q = 0; q < k; q++) {
        const i = nz[q], v = s[i], wo = i * E;
        for (let j = 0; j < E; j++) gl[j] += v * m.gate.w[wo + j];
      }
      let mx = -Infinity;
      for (let j = 0; j < E; j++) if (gl[j] > mx) mx = gl[j];
      let gs = 0;
      for (let j = 0; j < E; j++) gs += gl[j] = Math.exp(gl[j] - mx);
      const e = e0.subarray(b * H1, (b + 1) * H1);
      e.set(m.enc1.b);
      for (let q = 0; q < k; q++) {
        const i = nz[q], v = s[i] * gl[i] / gs, wo = i * H1;
        for (let j = 0; j < H1; j++) e[j] += v * m.enc1.w[wo + j];
      }
      for (let j = 0; j < H1; j++) e[j] = m.enc1.a[j] * Math.max(e[j], 0) + m.enc1.c[j];
      const p = p0.subarray(b * H2, (b + 1) * H2);
      p.set(m.pair1.b);
      for (let qa = 0; qa < k; qa++) {
        // Pair (a, c), a < c, is feature a·E − a(a+1)/2 + (c − a − 1) of the pairwise op.
        const a = nz[qa], base = a * E - (a * (a + 1)) / 2 - a - 1;
        for (let qb = qa + 1; qb < k; qb++) {
          const c = nz[qb], v = s[a] * s[c], wo = (base + c) * H2;
          for (let j = 0; j < H2; j++) p[j] += v * m.pair1.w[wo + j];
        }
      }
      for (let j = 0; j < H2; j++) p[j] = m.pair1.a[j] * Math.max(p[j], 0) + m.pair1.c[j];
      addRowTimes(p0, b * H2, H2, m.pair2.w, H3, pW.subarray(b * H3, (b + 1) * H3));
      addRowTimes(e0, b * H1, H1, m.fuse1.w, H4, eW.subarray(b * H4, (b + 1) * H4));
    }
    return { e0, p0, pW, eW };
  }

  /** Member 0's deterministic latent means (dropout off), B × d. */
  #latentMean(m: HostMember, pre: Prefix, B: number): Float64Array {
    const d = this.latentDim, L = this.fullLatent;
    const H1 = m.enc1.nOut, H3 = m.pair2.nOut, H4 = m.fuse1.nOut;
    const zHat = new Float64Array(B * d);
    const t3 = new Float64Array(H3), t4 = new Float64Array(H4);
    const wfp = m.fuse1.w.subarray(H1 * H4);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H3; j++) {
        t3[j] = m.pair2.a[j] * Math.max(pre.pW[b * H3 + j] + m.pair2.b[j], 0) + m.pair2.c[j];
      }
      for (let j = 0; j < H4; j++) t4[j] = pre.eW[b * H4 + j] + m.fuse1.b[j];
      addRowTimes(t3, 0, H3, wfp, H4, t4);
      for (let j = 0; j < H4; j++) t4[j] = m.fuse1.a[j] * Math.max(t4[j], 0) + m.fuse1.c[j];
      for (let q = 0; q < d; q++) {
        let v = m.zMu.b[q];
        for (let i = 0; i < H4; i++) v += t4[i] * m.zMu.w[i * L + q];
        zHat[b * d + q] = v;
      }
    }
    return zHat;
  }

  /**
   * Member r's MC rows j = pass·B + b into `samples` (row r·S + pass), four passes of one composition at a time
   * (the two dense 64 × 64 products then load each weight once for four rows).
   */
  #mcRows(
    m: HostMember,
    r: number,
    pre: Prefix,
    masks: MaskSet,
    B: number,
    S: number,
    rows: ArrayLike<boolean> | null,
    samples: Float64Array,
  ): void {
    const H1 = m.enc1.nOut, H2 = m.pair1.nOut, H3 = m.pair2.nOut, H4 = m.fuse1.nOut, T = m.hard1.nOut;
    const { e0, p0, pW, eW } = pre;
    const t3 = new Float64Array(4 * H3), t4 = new Float64Array(4 * H4), tT = new Float64Array(4 * T);
    const mE = masks.enc1[r], mP1 = masks.pair1[r], mP2 = masks.pair2[r], mF = masks.fuse1[r];
    const mH = masks.hard1[r], G = masks.trunkConst[r];
    const sE = masks.scale.enc1[r], sP = masks.scale.pair1[r];
    const s2 = masks.scale.pair2[r], sF = masks.scale.fuse1[r], sH = masks.scale.hard1[r];
    const w2 = m.pair2.w, wf = m.fuse1.w, wfpT = m.fuseT, foldT = m.foldT, wo = m.out.w, bo = m.out.b[0];
    const a2 = m.pair2.a, b2 = m.pair2.b, c2 = m.pair2.c;
    const aF = m.fuse1.a, bF = m.fuse1.b, cF = m.fuse1.c, aH = m.hard1.a, cH = m.hard1.c;
    const { yScale, yMean } = m.scalers;
    for (let b = 0; b < B; b++) {
      if (rows && !rows[b]) continue;
      for (let ps0 = 0; ps0 < S; ps0 += 4) {
        const nq = Math.min(4, S - ps0);
        for (let q = 0; q < 4; q++) {
          const o3 = q * H3, o4 = q * H4;
          if (q >= nq) {
            t3.fill(0, o3, o3 + H3);
            t4.fill(0, o4, o4 + H4);
            continue;
          }
          const j = (ps0 + q) * B + b;
          // pair2: (p0 ⊙ m)·W₂ = scale·(p0·W₂ − Σ_dropped p0_i·W₂[i]).
          for (let k = 0; k < H3; k++) t3[o3 + k] = pW[b * H3 + k];
          for (let i = 0; i < H2; i++) {
            if (mP1[j * H2 + i]) continue;
            const v = p0[b * H2 + i], o = i * H3;
            for (let k = 0; k < H3; k++) t3[o3 + k] -= v * w2[o + k];
          }
          for (let k = 0; k < H3; k++) {
            t3[o3 + k] = mP2[j * H3 + k] ? (a2[k] * Math.max(sP * t3[o3 + k] + b2[k], 0) + c2[k]) * s2 : 0;
          }
          // fuse1's encoder half: (e0 ⊙ m_e)·W likewise, plus the bias.
          for (let k = 0; k < H4; k++) t4[o4 + k] = eW[b * H4 + k];
          for (let i = 0; i < H1; i++) {
            if (mE[j * H1 + i]) continue;
            const v = e0[b * H1 + i], o = i * H4;
            for (let k = 0; k < H4; k++) t4[o4 + k] -= v * wf[o + k];
          }
          for (let k = 0; k < H4; k++) t4[o4 + k] = sE * t4[o4 + k] + bF[k];
        }
        // fuse1's pairwise half, then its block.
        addRows4Times(t3, H3, wfpT, H4, t4);
        for (let q = 0; q < nq; q++) {
          const j = (ps0 + q) * B + b, o4 = q * H4;
          for (let k = 0; k < H4; k++) {
            t4[o4 + k] = mF[j * H4 + k] ? (aF[k] * Math.max(t4[o4 + k], 0) + cF[k]) * sF : 0;
          }
          tT.set(G.subarray(j * T, (j + 1) * T), q * T);
        }
        // Trunk: h·(W_μ·W_z) + per-row constant, block, output layer.
        addRows4Times(t4, H4, foldT, T, tT);
        for (let q = 0; q < nq; q++) {
          const j = (ps0 + q) * B + b, oT = q * T;
          let y = bo;
          for (let k = 0; k < T; k++) {
            if (mH[j * T + k]) y += (aH[k] * Math.max(tT[oT + k], 0) + cH[k]) * sH * wo[k];
          }
          samples[(r * S + ps0 + q) * B + b] = y * yScale + yMean;
        }
      }
    }
  }
}
