/**
 * Kernel benchmarks: each case runs on the WebGPU backend (timed) and once on the CPU backend (max_rel_err).
 * Timing records n and then 2n dispatches into one encoder, waiting once after each; the difference divided by n is
 * the per-op time with Deno's ~10 ms completion poll cancelled out. The median over rounds is reported.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import { CpuBackend } from "../nn/cpu_backend.ts";
import { Rng } from "../nn/random.ts";
import { scope } from "../nn/scope.ts";

/** One row of the bench JSON. */
export interface BenchResult {
  suite: string;
  name: string;
  shape: number[];
  median_ms: number;
  gflops?: number;
  max_rel_err?: number;
  [k: string]: unknown;
}

/** A benchmark case: inputs from a seed, an op, and its flop count. */
interface Case {
  name: string;
  shape: number[];
  flops?: number;
  quick: boolean;
  inputs: (be: Backend) => Tensor[];
  run: (be: Backend, xs: Tensor[]) => Tensor;
}

function data(n: number, seed: number, scale = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * scale);
}

function matmulCase(m: number, k: number, n: number, quick: boolean): Case {
  return {
    name: "matmul",
    shape: [m, k, n],
    flops: 2 * m * k * n,
    quick,
    inputs: (be) => [be.fromData(data(m * k, 1), [m, k]), be.fromData(data(k * n, 2), [k, n])],
    run: (be, [a, b]) => be.matmul(a, b, {}),
  };
}

/** The kernel suite's cases. `--quick` keeps those marked quick. */
function cases(): Case[] {
  const [B, S, H, D] = [32, 16, 4, 16];
  return [
    matmulCase(256, 256, 256, true),
    matmulCase(512, 512, 512, true),
    matmulCase(1024, 1024, 1024, true),
    matmulCase(32, 57, 64, true),
    matmulCase(2048, 2048, 2048, false),
    {
      name: "matmul_bias_relu",
      shape: [32, 1540, 128],
      flops: 2 * 32 * 1540 * 128,
      quick: false,
      inputs: (be) => [
        be.fromData(data(32 * 1540, 3), [32, 1540]),
        be.fromData(data(1540 * 128, 4), [1540, 128]),
        be.fromData(data(128, 5), [128]),
      ],
      run: (be, [a, b, c]) => be.matmul(a, b, { bias: c, activation: "relu" }),
    },
    {
      name: "attention",
      shape: [B, S, H, D],
      flops: 4 * B * H * S * S * D,
      quick: true,
      inputs: (be) => [1, 2, 3].map((s) => be.fromData(data(B * S * H * D, 10 + s), [B, S, H, D])),
      run: (be, [q, k, v]) => {
        const { out, lse } = be.attention(q, k, v, null, 0.25);
        lse.dispose();
        return out;
      },
    },
    {
      name: "reparam_kl",
      shape: [4096, 64],
      quick: true,
      inputs: (
        be,
      ) => [be.fromData(data(4096 * 64, 20), [4096, 64]), be.fromData(data(4096 * 64, 21, 0.3), [4096, 64])],
      run: (be, [mu, lv]) => {
        const { z, kl, eps } = be.reparam(mu, lv, { seed: 1, stream: 1 }, 0);
        kl.dispose(), eps.dispose();
        return z;
      },
    },
    {
      name: "softmax",
      shape: [4096, 56],
      quick: false,
      inputs: (be) => [be.fromData(data(4096 * 56, 30), [4096, 56])],
      run: (be, [x]) => be.softmax(x, 1, false),
    },
    {
      name: "adam",
      shape: [1 << 20],
      quick: true,
      inputs: (be) => [
        be.fromData(data(1 << 20, 40), [1 << 20]),
        be.fromData(data(1 << 20, 41), [1 << 20]),
        be.fill([1 << 20], 0),
        be.fill([1 << 20], 0),
      ],
      run: (be, [p, g, m, v]) => {
        be.adam(p, g, m, v, null, {
          lr: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-7,
          weightDecay: 0,
          step: 1,
          clipNorm: 0,
        });
        return p;
      },
    },
  ];
}

/** max |gpu − cpu| / max |cpu|. */
export function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / (scale || 1);
}

/** Runs the kernel suite; `progress` gets one line per case. */
export async function benchKernels(
  gpu: WebGpuBackend,
  quick: boolean,
  progress: (line: string) => void,
): Promise<BenchResult[]> {
  const cpu = new CpuBackend("f32");
  const out: BenchResult[] = [];
  for (const c of cases().filter((c) => !quick || c.quick)) {
    progress(`bench kernels: ${c.name} ${JSON.stringify(c.shape)}`);
    const gx = c.inputs(gpu);
    // Correctness once (on fresh inputs for ops that update in place).
    const cx = c.inputs(cpu);
    const gx0 = c.inputs(gpu);
    const want = await c.run(cpu, cx).read();
    const got = await c.run(gpu, gx0).read();
    const err = maxRelErr(got, want);
    // Timing.
    const flops = c.flops ?? 0;
    const target = quick ? 100 : 300; // ms of GPU work per round
    let iters = 1;
    const once = async (n: number) => {
      const t0 = performance.now();
      scope(() => {
        for (let i = 0; i < n; i++) c.run(gpu, gx);
      });
      await gpu.sync();
      return performance.now() - t0;
    };
    await once(1); // warm-up: compile + first run
    const probe = await once(4);
    iters = Math.max(4, Math.min(2000, Math.round((target / Math.max(probe, 0.01)) * 4)));
    // Per-dispatch time from the difference of n and 2n dispatches, so the fixed completion poll cancels out.
    const rounds: number[] = [];
    for (let r = 0; r < (quick ? 3 : 5); r++) {
      const t1 = await once(iters), t2 = await once(2 * iters);
      rounds.push(Math.max(t2 - t1, 1e-6) / iters);
    }
    rounds.sort((a, b) => a - b);
    const median = rounds[Math.floor(rounds.length / 2)];
    out.push({
      suite: "kernels",
      name: c.name,
      shape: c.shape,
      median_ms: +median.toFixed(4),
      ...(flops ? { gflops: +(flops / median / 1e6).toFixed(2) } : {}),
      max_rel_err: +err.toExponential(3),
      iters,
    });
    for (const t of [...gx, ...cx, ...gx0]) t.dispose();
  }
  return out;
}
