/**
 * Shared test helpers: the GPU backend (or null when no adapter exists, so GPU tests skip), seeded data and
 * closeness assertions.
 */
import { CpuBackend } from "../nn/cpu_backend.ts";
import { WebGpuBackend } from "../nn/webgpu_backend.ts";
import { hasWebGpu } from "../kernels/device.ts";
import { Rng } from "../nn/random.ts";
import type { Tensor } from "../nn/tensor.ts";
import { gradients, noGrad } from "../nn/autodiff.ts";
import { scope } from "../nn/scope.ts";

/** float32 CPU backend. */
export const cpu = new CpuBackend("f32");
/** float64 CPU backend (finite differences). */
export const cpu64 = new CpuBackend("f64");

let gpuPromise: Promise<WebGpuBackend | null> | null = null;
/** The WebGPU backend, or null when there is no adapter (tests then skip their GPU half). */
export function gpu(): Promise<WebGpuBackend | null> {
  gpuPromise ??= hasWebGpu().then((ok) => (ok ? WebGpuBackend.create() : null));
  return gpuPromise;
}

/** Whether a WebGPU adapter is present (for `ignore:` in Deno.test). */
export const HAS_GPU = await hasWebGpu();

/** Seeded normal data. */
export function randn(n: number, seed = 1, scale = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * scale);
}

/** Seeded uniform data in [lo, hi). */
export function randu(n: number, seed = 1, lo = 0, hi = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r.uniform());
}

/** Max |a−b| / (atol/rtol-scaled) check; throws with the worst index. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, msg = "" } = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${msg} length mismatch: ${actual.length} vs ${expected.length}`);
  }
  let worst = -1, worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(err <= 0) && (worst < 0 || !(err <= worstErr))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${msg} not close at [${worst}]: got ${actual[worst]}, expected ${
        expected[worst]
      } (atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Reads a tensor and disposes it. */
export async function take(t: Tensor): Promise<Float32Array | Int32Array> {
  const d = await t.read();
  t.dispose();
  return d;
}

import * as nodeAssert from "node:assert/strict";
/** Asserts a truthy condition. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}
/** Deep equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}
/** String matches a pattern. */
export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  nodeAssert.match(actual, re, msg);
}

/** Options of {@link finiteDifferenceFailure}. */
export interface FiniteDifferenceOptions {
  /** Seed of the random output weighting G. */
  seed: number;
  /** Central-difference step (default 1e-6). */
  h?: number;
  atol?: number;
  rtol?: number;
  /** A missing analytic gradient counts as zero (else it is a failure). */
  missingIsZero?: boolean;
}

/**
 * Central-difference check of d Σ(f() ⊙ G)/d inputs with G ~ N(0, 1) (float64 CPU inputs, perturbed in place),
 * against the autodiff gradients: the failure message, or null when every input's gradient matches.
 */
export function finiteDifferenceFailure(
  f: () => Tensor,
  inputs: Tensor[],
  o: FiniteDifferenceOptions,
): string | null {
  const h = o.h ?? 1e-6;
  return scope(() => {
    const y = f();
    const G = randn(y.size, o.seed);
    const grads = gradients(y, inputs, cpu64.fromData(G, y.shape));
    const lossAt = () =>
      noGrad(() =>
        scope(() => {
          const d = cpu64.data(f());
          let s = 0;
          for (let i = 0; i < d.length; i++) s += d[i] * G[i];
          return s;
        })
      );
    for (let k = 0; k < inputs.length; k++) {
      const d = cpu64.data(inputs[k]);
      const fd = new Float64Array(d.length);
      for (let i = 0; i < d.length; i++) {
        const x0 = d[i];
        d[i] = x0 + h;
        const lp = lossAt();
        d[i] = x0 - h;
        const lm = lossAt();
        d[i] = x0;
        fd[i] = (lp - lm) / (2 * h);
      }
      const g = grads[k];
      if (!g && !o.missingIsZero) return `input ${k}: no gradient`;
      if (g && JSON.stringify(g.shape) !== JSON.stringify(inputs[k].shape)) {
        return `input ${k}: gradient shape ${JSON.stringify(g.shape)} for input ${
          JSON.stringify(inputs[k].shape)
        }`;
      }
      try {
        assertClose(g ? cpu64.data(g) : new Float64Array(d.length), fd, {
          atol: o.atol ?? 1e-6,
          rtol: o.rtol ?? 1e-6,
          msg: `input ${k}`,
        });
      } catch (e) {
        return (e as Error).message;
      }
    }
    return null;
  });
}
