/**
 * Random kernels: uniform/normal draws, inverted-dropout masks and the fused reparameterisation (z, KL, ε) with its
 * fused backward. Element i of a draw is a pure function of (key, step, i) (Philox counter (i, step, stream, 0)), so
 * results do not depend on the shape, the grid or the dispatch order. Seed, stream and step travel as uniforms; only
 * the element count (and for reparam the row layout) is baked into the WGSL.
 * @module
 */
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { type Shape, sizeOf } from "../nn/shape.ts";
import type { RngKey } from "../nn/random.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";
import { PHILOX_WGSL } from "./wgsl_philox.ts";
import { rowKernel, type RowMode, rowMode } from "./wgsl_rows.ts";

const WG = 256;

/**
 * The uniform block of every random kernel: the Philox key words and, for dropout, p. (16 bytes: the pipeline cache
 * declares the uniform binding with minBindingSize 16, so the kept value 1/(1−p) is formed in the shader.)
 */
const PARAMS_WGSL = /* wgsl */ `struct Params { seed: u32, stream: u32, step: u32, p: f32 }
@group(0) @binding(0) var<uniform> P: Params;`;

/** What a draw kernel writes per element (w = the four Philox words of element i). */
const DRAW_WGSL = {
  uniform: "philox_uniform(w.x)",
  normal: "philox_normal(w.x, w.y)",
  dropout: "select(0.0, 1.0 / (1.0 - P.p), philox_uniform(w.x) >= P.p)",
} as const;

/** Kinds of elementwise draws. */
export type DrawKind = keyof typeof DRAW_WGSL;

/** Spec of an elementwise draw of `n` elements: out[i] = f(philox(i, step, stream; seed)). */
export function drawSpec(kind: DrawKind, n: number): KernelSpec {
  const bindings = ["rw"] as const;
  return {
    key: `philox:${kind}:${n}`,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `${PHILOX_WGSL}
${PARAMS_WGSL}
${declareBindings(bindings, ["out"])}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  let w = philox_at(i, P.step, P.stream, P.seed);
  out[i] = ${DRAW_WGSL[kind]};
}`,
  };
}

/** Spec of the fused reparameterisation over `rows` rows of length `L`. Bindings: mu, logvar, z, eps, kl. */
export function reparamSpec(rows: number, L: number, mode: RowMode = rowMode(rows, L)): KernelSpec {
  const bindings = ["read", "read", "rw", "rw", "rw"] as const;
  const k = rowKernel({
    rows,
    L,
    mode,
    decls: `${PHILOX_WGSL}
${PARAMS_WGSL}
${declareBindings(bindings, ["mu", "logvar", "z", "eps", "kl"])}`,
    term: `let w = philox_at(i, P.step, P.stream, P.seed);
    let e = philox_normal(w.x, w.y);
    let m = mu[i];
    let lv = logvar[i];
    eps[i] = e;
    z[i] = m + exp(0.5 * lv) * e;
    acc = acc + (m * m + exp(lv) - lv - 1.0);`,
    post: "kl[r] = 0.5 * s;",
  });
  return {
    key: `reparam:${rows}:${L}:${mode}`,
    bindings,
    uniforms: true,
    workgroups: k.workgroups,
    source: () => k.source,
  };
}

/**
 * Spec of the fused reparameterisation backward over `n` = rows·L elements, one thread per element (no row sum is
 * needed, so this is a flat map rather than a row kernel; the row of element i is i / L). Bindings: mu, logvar,
 * then eps and gz when `hasGz`, gkl and dmu when `hasGkl` (without gkl, dmu is gz itself), then dlogvar.
 */
export function reparamGradSpec(n: number, L: number, hasGz: boolean, hasGkl: boolean): KernelSpec {
  const names = [
    "mu",
    "logvar",
    ...(hasGz ? ["eps", "gz"] : []),
    ...(hasGkl ? ["gkl", "dmu"] : []),
    "dlogvar",
  ];
  const bindings = names.map((name) =>
    (name === "dmu" || name === "dlogvar" ? "rw" : "read") as "read" | "rw"
  );
  const zTerm = hasGz
    ? `let gzv = gz[i];
  dm = dm + gzv;
  dl = dl + gzv * eps[i] * 0.5 * exp(0.5 * lv);`
    : "";
  const klTerm = hasGkl
    ? `let gk = gkl[i / ${L}u];
  dm = dm + gk * mu[i];
  dl = dl + gk * 0.5 * (exp(lv) - 1.0);
  dmu[i] = dm;`
    : "";
  return {
    key: `reparam-grad:${n}:${L}:${hasGz ? "z" : ""}${hasGkl ? "k" : ""}`,
    bindings,
    uniforms: false,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () =>
      `${declareBindings(bindings, names)}
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  let lv = logvar[i];
  var dm = 0.0;
  var dl = 0.0;
  ${zTerm}
  ${klTerm}
  dlogvar[i] = dl;
}`,
  };
}

function keyParams(key: RngKey, step: number, p = 0): ArrayBuffer {
  return packParams([["u", key.seed], ["u", key.stream], ["u", step], ["f", p]]);
}

/** Uniform (0, 1) or standard normal draws; element i equals `nn/random.ts` philoxAt(key, step, i) converted. */
export function random(
  be: WebGpuBackend,
  kind: "uniform" | "normal",
  shape: Shape,
  key: RngKey,
  step: number,
): Tensor {
  const out = be.alloc(shape);
  if (out.size === 0) return out;
  be.run(drawSpec(kind, out.size), [out], keyParams(key, step));
  return out;
}

/**
 * Inverted-dropout mask: element i is 1/(1−p) when uniform_i ≥ p (uniform_i as in {@link random}), else 0.
 * p is compared in float32 (as on the CPU twin); the kept value is 1/(1−p) in float32 arithmetic. Throws a RangeError unless 0 ≤ p < 1.
 */
export function dropoutMask(be: WebGpuBackend, shape: Shape, p: number, key: RngKey, step: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropoutMask: p must be in [0, 1), got ${p}`);
  if (p === 0) return be.fill(shape, 1);
  const out = be.alloc(shape);
  if (out.size === 0) return out;
  be.run(drawSpec("dropout", out.size), [out], keyParams(key, step, p));
  return out;
}

/**
 * Fused reparameterisation over the last axis: ε = normal draws (same stream as `random("normal")` over mu's
 * shape), z = μ + exp(½·logσ²)·ε and the per-row KL ½·Σ(μ² + exp(logσ²) − logσ² − 1) (shape: mu's without its last
 * axis). A rank-0 mu is one row of length 1.
 */
export function reparam(
  be: WebGpuBackend,
  mu: Tensor,
  logvar: Tensor,
  key: RngKey,
  step: number,
): { z: Tensor; kl: Tensor; eps: Tensor } {
  const klShape = mu.shape.slice(0, -1);
  const L = mu.rank ? mu.shape[mu.rank - 1] : 1;
  const rows = sizeOf(klShape);
  const z = be.alloc(mu.shape), eps = be.alloc(mu.shape), kl = be.alloc(klShape);
  // With L = 0 the kernel still runs: every row sum is 0, so kl is filled with zeros.
  if (rows > 0) be.run(reparamSpec(rows, L), [mu, logvar, z, eps, kl], keyParams(key, step));
  return { z, kl, eps };
}

/**
 * Backward of {@link reparam} through both outputs in one dispatch: dμ = gz + gkl·μ and dlogσ² =
 * gz·ε·½·exp(½·logσ²) + gkl·½·(exp(logσ²) − 1), gkl (one value per row) broadcast over the last axis; a null
 * gradient counts as zero; ε is read only with gz. With only gz, dmu is a view of gz; with neither, both results
 * are zeros.
 */
export function reparamGrad(
  be: WebGpuBackend,
  mu: Tensor,
  logvar: Tensor,
  eps: Tensor,
  gz: Tensor | null,
  gkl: Tensor | null,
): { dmu: Tensor; dlogvar: Tensor } {
  if (!gz && !gkl) return { dmu: be.fill(mu.shape, 0), dlogvar: be.fill(mu.shape, 0) };
  const L = mu.rank ? mu.shape[mu.rank - 1] : 1;
  const dlogvar = be.alloc(mu.shape);
  const dmu = gkl ? be.alloc(mu.shape) : gz!.view(mu.shape);
  if (mu.size === 0) return { dmu, dlogvar };
  const ins = [mu, logvar, ...(gz ? [eps, gz] : []), ...(gkl ? [gkl, dmu] : [])];
  be.run(reparamGradSpec(mu.size, L, !!gz, !!gkl), [...ins, dlogvar]);
  return { dmu, dlogvar };
}
