/**
 * Seeded parameter initialisers (host-side, from the counter-based generator).
 * @module
 */
import type { Rng } from "./random.ts";

/** Glorot/Xavier uniform: U(−l, l) with l = √(6/(fanIn+fanOut)), Keras' Dense default. */
export function glorotUniform(n: number, fanIn: number, fanOut: number, rng: Rng): Float32Array {
  const l = Math.sqrt(6 / Math.max(1, fanIn + fanOut));
  return Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * l);
}

/** He normal: N(0, 2/fanIn). */
export function heNormal(n: number, fanIn: number, rng: Rng): Float32Array {
  const s = Math.sqrt(2 / Math.max(1, fanIn));
  return Float32Array.from({ length: n }, () => rng.normal() * s);
}

/** N(0, std²). */
export function normalInit(n: number, std: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * std);
}
