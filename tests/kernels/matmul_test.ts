import { assertClose, cpu, cpu64, gpu, HAS_GPU, randn, take } from "../_helpers.ts";
import type { Activation, Backend, MatmulOptions } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import {
  chooseMatmulConfig,
  matmul as gpuMatmul,
  MATMUL_ACTIVATION_WGSL,
  MATMUL_BLOCKS,
  type MatmulConfig,
  SMALL_M_BLOCKS,
} from "../../kernels/matmul.ts";
import type { WebGpuBackend } from "../../nn/webgpu_backend.ts";

const ACTIVATIONS = Object.keys(MATMUL_ACTIVATION_WGSL) as Activation[];

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

/** Runs the same matmul on `be` from seeded data; returns the result and the inputs to dispose. */
function run(
  be: Backend,
  sa: number[],
  sb: number[],
  opts: MatmulOptions & { biasShape?: number[]; cfg?: MatmulConfig },
  seed: number,
): { out: Tensor; inputs: Tensor[] } {
  const a = be.fromData(randn(size(sa), seed), sa);
  const b = be.fromData(randn(size(sb), seed + 1), sb);
  const bias = opts.biasShape ? be.fromData(randn(size(opts.biasShape), seed + 2), opts.biasShape) : null;
  const out = opts.cfg && be.kind === "webgpu"
    ? gpuMatmul(be as WebGpuBackend, a, b, { ...opts, bias }, opts.cfg)
    : be.matmul(a, b, { ...opts, bias });
  return { out, inputs: bias ? [a, b, bias] : [a, b] };
}

/** GPU result vs the float64 CPU reference, tolerance growing with sqrt(K). */
async function parity(
  g: Backend,
  sa: number[],
  sb: number[],
  opts: MatmulOptions & { biasShape?: number[]; cfg?: MatmulConfig },
  seed = 1,
): Promise<void> {
  const k = opts.transA ? sa[sa.length - 2] : sa[sa.length - 1];
  const ref = run(cpu64, sa, sb, opts, seed);
  const got = run(g, sa, sb, opts, seed);
  const msg = `${JSON.stringify(sa)}${opts.transA ? "ᵀ" : ""} × ${JSON.stringify(sb)}${
    opts.transB ? "ᵀ" : ""
  } ${opts.activation ?? ""} bias ${JSON.stringify(opts.biasShape ?? null)}`;
  if (JSON.stringify(got.out.shape) !== JSON.stringify(ref.out.shape)) {
    throw new Error(`${msg}: shape ${got.out.shape} vs ${ref.out.shape}`);
  }
  const tol = 1e-4 * Math.sqrt(Math.max(k, 1));
  assertClose(await take(got.out), await take(ref.out), { atol: tol, rtol: 1e-4, msg });
  for (const t of [...got.inputs, ...ref.inputs]) t.dispose();
}

/** Shapes of A and B for M×K×N with the given transpose flags. */
function shapes(m: number, k: number, n: number, tA: boolean, tB: boolean): [number[], number[]] {
  return [tA ? [k, m] : [m, k], tB ? [n, k] : [k, n]];
}

Deno.test("matmul (cpu): hand-computed 2×3 · 3×2 with bias and relu", async () => {
  const a = cpu.fromData([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = cpu.fromData([7, 8, 9, 10, 11, 12], [3, 2]);
  // [[58, 64], [139, 154]]
  assertClose(await take(cpu.matmul(a, b, {})), [58, 64, 139, 154]);
  const bias = cpu.fromData([-100, -60], [2]);
  assertClose(await take(cpu.matmul(a, b, { bias, activation: "relu" })), [0, 4, 39, 94]);
  // Aᵀ stored as [3, 2]: same product with transA.
  const at = cpu.fromData([1, 4, 2, 5, 3, 6], [3, 2]);
  const bt = cpu.fromData([7, 9, 11, 8, 10, 12], [2, 3]);
  assertClose(await take(cpu.matmul(at, bt, { transA: true, transB: true })), [58, 64, 139, 154]);
  // leaky_relu with an explicit slope, per-batch bias [1, 1, 2] broadcast over rows.
  const bb = cpu.fromData([-100, -200], [1, 1, 2]);
  const a3 = cpu.fromData([1, 2, 3, 4, 5, 6], [1, 2, 3]);
  assertClose(await take(cpu.matmul(a3, b, { bias: bb, activation: "leaky_relu", alpha: 0.5 })), [
    -21,
    -68,
    39,
    -23,
  ]);
  // K = 0: bias + activation of zeros.
  const e0 = cpu.fromData([], [2, 0]), e1 = cpu.fromData([], [0, 2]);
  assertClose(await take(cpu.matmul(e0, e1, { bias: cpu.fromData([1, -1], [2]), activation: "sigmoid" })), [
    1 / (1 + Math.exp(-1)),
    1 / (1 + Math.exp(1)),
    1 / (1 + Math.exp(-1)),
    1 / (1 + Math.exp(1)),
  ]);
});

Deno.test("matmul (cpu): float32 and float64 backends agree; batch broadcasting matches per-matrix products", async () => {
  const r32 = run(cpu, [3, 5, 7], [7, 4], {}, 5), r64 = run(cpu64, [3, 5, 7], [7, 4], {}, 5);
  const full = await take(r32.out);
  assertClose(full, await take(r64.out), { atol: 1e-5 });
  // Each batch entry equals the rank-2 product of its slice.
  const ad = randn(3 * 5 * 7, 5), bd = randn(7 * 4, 6);
  for (let z = 0; z < 3; z++) {
    const one = cpu64.matmul(
      cpu64.fromData(ad.subarray(z * 35, (z + 1) * 35), [5, 7]),
      cpu64.fromData(bd, [7, 4]),
      {},
    );
    assertClose(full.subarray(z * 20, (z + 1) * 20), await take(one), { atol: 1e-5, msg: `batch ${z}` });
  }
});

const ODD: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 5, 2],
  [65, 33, 17],
  [129, 64, 70],
  [32, 57, 64],
  [32, 64, 1],
  [1, 64, 32],
  [8, 16, 8],
  [64, 64, 64],
  [0, 5, 3],
  [4, 0, 6],
  [5, 3, 0],
];

Deno.test({
  name: "matmul: GPU matches CPU on odd shapes for every transpose combination (incl. empty M, N and K = 0)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    let seed = 10;
    for (const [m, k, n] of ODD) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const [sa, sb] = shapes(m, k, n, tA, tB);
          await parity(g, sa, sb, { transA: tA, transB: tB }, seed++);
        }
      }
    }
  },
});

Deno.test("matmul: the configuration chooser picks big blocks for big problems and thin ones for thin outputs", () => {
  const big = chooseMatmulConfig(1024, 1024, 1024, 1, 2);
  if (big.r * big.c < 64) throw new Error(`1024³ got a small block ${JSON.stringify(big)}`);
  const mv = chooseMatmulConfig(32, 1, 64, 32, 2);
  if (mv.c !== 1 || mv.wgx !== 1) {
    throw new Error(`N = 1 should put invocations along M: ${JSON.stringify(mv)}`);
  }
  const vm = chooseMatmulConfig(1, 64, 64, 1, 2);
  if (vm.r !== 1 || vm.wgy !== 1) {
    throw new Error(`M = 1 should put invocations along N: ${JSON.stringify(vm)}`);
  }
  // Small problems are split over several workgroups rather than one big tile.
  const small = chooseMatmulConfig(32, 64, 57, 1, 2);
  const tiles = Math.ceil(32 / (small.r * small.wgy)) * Math.ceil(64 / (small.c * small.wgx));
  if (tiles < 2) throw new Error(`32×57×64 runs on one workgroup: ${JSON.stringify(small)}`);
  // Batch-sized row counts use single-chunk (8-invocation) workgroups.
  const batchRows = chooseMatmulConfig(32, 128, 64, 1, 2);
  if (batchRows.wgx * batchRows.wgy !== 8) {
    throw new Error(`32×64×128 should use 8 invocations: ${JSON.stringify(batchRows)}`);
  }
});

Deno.test({
  name:
    "matmul: every block configuration, on ragged and vec4-aligned shapes and all transpose flags, matches CPU",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const cfgs: MatmulConfig[] = [
      ...MATMUL_BLOCKS.map(({ r, c, wgx, wgy }) => ({ r, c, wgx, wgy })),
      ...SMALL_M_BLOCKS,
      { r: 4, c: 3, wgx: 1, wgy: 8 }, // thin N
      { r: 3, c: 4, wgx: 16, wgy: 1 }, // thin M
    ];
    let seed = 100;
    for (const cfg of cfgs) {
      const tm = cfg.r * cfg.wgy, tn = cfg.c * cfg.wgx;
      // Ragged (odd N and K: scalar loads, K tail, partial tiles) and aligned (vec4 loads along K, M and N) shapes.
      const sizes: [number, number, number][] = [[tm + 5, 9, tn + 3], [2 * tm + 4, 12, tn + 4]];
      for (const [m, k, n] of sizes) {
        for (const [tA, tB] of [[false, false], [true, true], [true, false], [false, true]]) {
          const [sa, sb] = shapes(m, k, n, tA, tB);
          await parity(
            g,
            sa,
            sb,
            { transA: tA, transB: tB, cfg, biasShape: [n], activation: "tanh" },
            seed++,
          );
        }
      }
    }
  },
});

Deno.test({
  name: "matmul: GPU matches CPU with broadcast batch axes",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const cases: [number[], number[], MatmulOptions][] = [
      [[3, 5, 7], [3, 7, 4], {}], // replica axis on both
      [[3, 5, 7], [7, 4], {}], // shared weights
      [[5, 7], [3, 7, 4], {}], // shared left operand
      [[2, 1, 5, 7], [1, 3, 7, 4], {}], // both broadcast
      [[4, 6, 8], [4, 8, 12], { transA: false, transB: false }],
      [[4, 8, 6], [12, 8], { transA: true, transB: true }],
      [[2, 3, 32, 57], [3, 57, 64], {}],
      [[0, 5, 7], [7, 4], {}], // empty batch
      [[70001, 1, 3], [70001, 3, 2], {}], // more workgroups than one grid dimension holds
    ];
    let seed = 40;
    for (const [sa, sb, opts] of cases) await parity(g, sa, sb, opts, seed++);
  },
});

Deno.test({
  name: "matmul: every activation with bias [N] and per-batch bias [..., 1, N], GPU matches CPU",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    let seed = 70;
    for (const activation of ACTIVATIONS) {
      for (const alpha of activation === "leaky_relu" ? [undefined, 0.2] : [undefined]) {
        await parity(g, [3, 9, 13], [13, 6], { activation, alpha, biasShape: [6] }, seed++);
        await parity(g, [3, 9, 12], [3, 12, 8], { activation, alpha, biasShape: [3, 1, 8] }, seed++);
        await parity(g, [2, 3, 70, 16], [16, 68], { activation, alpha, biasShape: [1, 3, 1, 68] }, seed++);
      }
      // K = 0: the epilogue of zeros.
      await parity(g, [4, 0], [0, 5], { activation, biasShape: [5] }, seed++);
    }
    await parity(g, [7, 3], [3, 1], { biasShape: [1], activation: "sigmoid" }, seed++);
  },
});
