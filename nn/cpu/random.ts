/**
 * CPU reference random kernels, straight from `nn/random.ts`: element i of a draw is philoxAt(key, step, i)
 * converted by bitsToUniform / bitsToNormal. Draws are float32 values in both precisions (uniforms are rounded with
 * Math.fround exactly as the GPU and Float32Array storage do), so the f64 backend sees the same random numbers.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";
import { type Shape, sizeOf } from "../shape.ts";
import { bitsToNormal, bitsToUniform, philoxAt, type RngKey } from "../random.ts";

/** Uniform element i of (key, step), as float32. */
export function uniformAt(key: RngKey, step: number, i: number): number {
  return Math.fround(bitsToUniform(philoxAt(key, step, i)[0]));
}

/** Normal element i of (key, step) (already float32-valued). */
function normalAt(key: RngKey, step: number, i: number): number {
  const w = philoxAt(key, step, i);
  return bitsToNormal(w[0], w[1]);
}

/** Uniform (0, 1) or standard normal draws: element i is a function of (key, step, i) only. */
export function random(
  be: CpuBackend,
  kind: "uniform" | "normal",
  shape: Shape,
  key: RngKey,
  step: number,
): Tensor {
  const out = be.alloc(shape);
  const od = be.data(out);
  const at = kind === "uniform" ? uniformAt : normalAt;
  for (let i = 0; i < od.length; i++) od[i] = at(key, step, i);
  return out;
}

/**
 * Inverted-dropout mask: 1/(1−p) where uniform_i ≥ p, else 0. p is rounded to float32 before the comparison so the
 * keep decisions are identical to the GPU kernel's. Throws a RangeError unless 0 ≤ p < 1.
 */
export function dropoutMask(be: CpuBackend, shape: Shape, p: number, key: RngKey, step: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropoutMask: p must be in [0, 1), got ${p}`);
  const out = be.alloc(shape);
  const od = be.data(out);
  const p32 = Math.fround(p), scale = 1 / (1 - p);
  for (let i = 0; i < od.length; i++) od[i] = p === 0 || uniformAt(key, step, i) >= p32 ? scale : 0;
  return out;
}

/**
 * Reparameterisation over the last axis: ε_i = normal draw i (as {@link random}), z = μ + exp(½·logσ²)·ε, and the
 * per-row KL ½·Σ(μ² + exp(logσ²) − logσ² − 1) accumulated in float64.
 */
export function reparam(
  be: CpuBackend,
  mu: Tensor,
  logvar: Tensor,
  key: RngKey,
  step: number,
): { z: Tensor; kl: Tensor; eps: Tensor } {
  const klShape = mu.shape.slice(0, -1);
  const L = mu.rank ? mu.shape[mu.rank - 1] : 1;
  const rows = sizeOf(klShape);
  const z = be.alloc(mu.shape), eps = be.alloc(mu.shape), kl = be.alloc(klShape);
  const md = be.data(mu), ld = be.data(logvar), zd = be.data(z), ed = be.data(eps), kd = be.data(kl);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let j = 0; j < L; j++) {
      const i = r * L + j;
      const e = normalAt(key, step, i);
      const m = md[i], lv = ld[i];
      ed[i] = e;
      zd[i] = m + Math.exp(0.5 * lv) * e;
      acc += m * m + Math.exp(lv) - lv - 1;
    }
    kd[r] = 0.5 * acc;
  }
  return { z, kl, eps };
}

/**
 * Backward of {@link reparam} through both outputs: dμ = gz + gkl·μ and dlogσ² = gz·ε·½·exp(½·logσ²) +
 * gkl·½·(exp(logσ²) − 1), with gkl (one value per row) broadcast over the last axis and a null gradient counting as
 * zero; ε is read only with gz. With only gz, dmu is a view of gz.
 */
export function reparamGrad(
  be: CpuBackend,
  mu: Tensor,
  logvar: Tensor,
  eps: Tensor,
  gz: Tensor | null,
  gkl: Tensor | null,
): { dmu: Tensor; dlogvar: Tensor } {
  const L = mu.rank ? mu.shape[mu.rank - 1] : 1;
  const dlogvar = be.alloc(mu.shape);
  const dmu = gz && !gkl ? gz.view(mu.shape) : be.alloc(mu.shape);
  const md = be.data(mu), ld = be.data(logvar), dld = be.data(dlogvar);
  const ed = gz ? be.data(eps) : null;
  const zd = gz ? be.data(gz) : null, kd = gkl ? be.data(gkl) : null;
  const dmd = be.data(dmu);
  for (let i = 0; i < md.length; i++) {
    const lv = ld[i];
    let dm = 0, dl = 0;
    if (zd && ed) {
      dm += zd[i];
      dl += zd[i] * ed[i] * 0.5 * Math.exp(0.5 * lv);
    }
    if (kd) {
      const k = kd[Math.floor(i / L)];
      dm += k * md[i];
      dl += k * 0.5 * (Math.exp(lv) - 1);
    }
    if (kd) dmd[i] = dm; // without gkl dmu is gz itself (or the zeros alloc gave)
    dld[i] = dl;
  }
  return { dmu, dlogvar };
}
