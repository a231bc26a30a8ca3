/**
 * Counter-based random numbers (Philox4x32-10, Salmon et al. 2011), shared bit-for-bit by the CPU code and the
 * WGSL kernels (`kernels/wgsl_prelude.ts`). A draw is a pure function of (key, counter), so results never depend on
 * dispatch order or on how work is split across threads. Streams are keyed by (seed, stream id) and counted by
 * (step, element index).
 * @module
 */

const M0 = 0xD2511F53;
const M1 = 0xCD9E8D57;
const W0 = 0x9E3779B9;
const W1 = 0xBB67AE85;

function mulhilo(a: number, b: number): [number, number] {
  // 32x32 -> 64-bit product split into hi/lo words, exact in float64 via 16-bit halves.
  const aH = a >>> 16, aL = a & 0xffff;
  const bH = b >>> 16, bL = b & 0xffff;
  const ll = aL * bL;
  const lh = aL * bH;
  const hl = aH * bL;
  const hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const lo = ((mid & 0xffff) << 16 | (ll & 0xffff)) >>> 0;
  const hi = (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
  return [hi, lo];
}

/**
 * Philox4x32 with 10 rounds: maps a 128-bit counter and a 64-bit key to 128 random bits.
 * @param ctr four 32-bit counter words
 * @param key two 32-bit key words
 * @returns four uniformly distributed 32-bit words
 * @example
 * ```ts
 * const words = philox4x32([0, 0, 0, 0], [42, 0]);
 * ```
 */
export function philox4x32(ctr: ArrayLike<number>, key: ArrayLike<number>): [number, number, number, number] {
  let c0 = ctr[0] >>> 0, c1 = ctr[1] >>> 0, c2 = ctr[2] >>> 0, c3 = ctr[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n1 = lo1;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    const n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** Converts 32 random bits to a float in (0, 1] on a 24-bit grid, exactly as the WGSL twin does (the top value rounds to 1 in float32). */
export function bitsToUniform(u: number): number {
  return ((u >>> 8) + 0.5) / 16777216;
}

/**
 * Standard normal from two 32-bit words by Box–Muller (first output only), computed in float32 steps so the GPU
 * twin agrees to a few ulps.
 */
export function bitsToNormal(u0: number, u1: number): number {
  const a = bitsToUniform(u0);
  const b = bitsToUniform(u1);
  const r = Math.fround(Math.sqrt(Math.fround(-2 * Math.fround(Math.log(a)))));
  return Math.fround(r * Math.fround(Math.cos(Math.fround(6.283185307179586 * b))));
}

/** Identifies one random stream: the user seed and a stream id (e.g. a tensor or layer id). */
export interface RngKey {
  seed: number;
  stream: number;
}

/**
 * The counter layout used everywhere: ctr = (index, step, stream, 0), key = (seed, 0x414c4c59 "ALLY").
 * Element `index` of draw `step` of stream `stream` is `philox(ctr, key)[0..3]`.
 */
export function philoxAt(key: RngKey, step: number, index: number): [number, number, number, number] {
  return philox4x32([index >>> 0, step >>> 0, key.stream >>> 0, 0], [key.seed >>> 0, 0x414c4c59]);
}

/** `n` uniform (0,1) floats for (key, step); element i uses word 0 of counter i. */
export function uniformArray(key: RngKey, step: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bitsToUniform(philoxAt(key, step, i)[0]);
  return out;
}

/** `n` standard normal floats for (key, step); element i uses words 0 and 1 of counter i. */
export function normalArray(key: RngKey, step: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const w = philoxAt(key, step, i);
    out[i] = bitsToNormal(w[0], w[1]);
  }
  return out;
}

/**
 * A sequential seeded generator for host-side work (shuffles, k-means++ seeding, splits). Each call consumes one
 * Philox counter, so a sequence is reproducible from its seed alone.
 * @example
 * ```ts
 * const rng = new Rng(1);
 * const x = rng.uniform(); // in (0, 1)
 * ```
 */
export class Rng {
  #key: RngKey;
  #counter = 0;
  #buf: number[] = [];
  constructor(seed: number, stream = 0) {
    this.#key = { seed: seed >>> 0, stream: stream >>> 0 };
  }
  /** Next 32 random bits. */
  nextU32(): number {
    if (this.#buf.length === 0) {
      const w = philoxAt(this.#key, 0xffffffff, this.#counter++);
      this.#buf = [w[3], w[2], w[1], w[0]];
    }
    return this.#buf.pop()!;
  }
  /** Uniform float in (0, 1) with 53 bits of precision. */
  uniform(): number {
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }
  /** Standard normal (Box–Muller, float64). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }
  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}
