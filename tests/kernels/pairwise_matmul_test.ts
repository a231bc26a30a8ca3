import { assertClose, assertEquals, cpu, cpu64, gpu, HAS_GPU, randn, take } from "../_helpers.ts";
import type { Activation, Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { Rng } from "../../nn/random.ts";
import { pairwiseMatmul } from "../../nn/ops/pairwise_matmul.ts";
import { matmul } from "../../nn/ops/matmul.ts";
import { pairwise } from "../../nn/ops/movement.ts";
import { valueAndGrad } from "../../nn/autodiff.ts";
import { mul } from "../../nn/ops/elementwise.ts";
import { sum } from "../../nn/ops/reduce.ts";

const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/**
 * Composition-like rows [..., M, E]: each row has 0, 1, 2, a few or all E entries nonzero (mixed signs on some rows,
 * which the kernels must treat like any other nonzero).
 */
function sparseRows(shape: number[], seed: number): Float32Array {
  const e = shape[shape.length - 1], rows = size(shape) / e;
  const rng = new Rng(seed);
  const out = new Float32Array(size(shape));
  for (let r = 0; r < rows; r++) {
    const kind = r % 6;
    const k = kind === 0 ? 0 : kind === 1 ? 1 : kind === 2 ? 2 : kind === 3 ? e : Math.min(e, 3 + rng.int(5));
    const idx = rng.shuffle([...Array(e).keys()]).slice(0, k);
    for (const i of idx) out[r * e + i] = kind === 4 ? rng.uniform() - 0.5 : 0.05 + rng.uniform();
  }
  return out;
}

/** The dense reference act(pairwise(x)·w + bias) with the backend's own pairwise and matmul. */
function dense(be: Backend, x: Tensor, w: Tensor, bias: Tensor | null, activation: Activation): Tensor {
  const p = be.pairwise(x);
  const y = be.matmul(p, w, { bias, activation });
  p.dispose();
  return y;
}

interface Case {
  x: number[];
  w: number[];
  bias?: number[];
  act?: Activation;
}

/** Odd shapes: batched replicas, broadcast weights, broadcast x, flat and batched bias, N across the 32-column blocks. */
const CASES: Case[] = [
  { x: [5, 7], w: [21, 9] },
  { x: [3, 11, 7], w: [3, 21, 33], bias: [33], act: "relu" },
  { x: [2, 3, 6, 5], w: [10, 4], bias: [2, 3, 1, 4], act: "tanh" },
  { x: [13, 9], w: [2, 36, 65], bias: [2, 1, 65], act: "leaky_relu" },
  { x: [37, 56], w: [1540, 128], bias: [128], act: "relu" },
  { x: [4, 2], w: [1, 3], act: "sigmoid" },
  { x: [2, 7, 10], w: [45, 36], bias: [2, 1, 36], act: "relu" }, // vec4 outputs, 9 per row over 8 lanes
];

async function runCase(be: Backend, ref: Backend, c: Case, seed: number) {
  const mk = (b: Backend, s: number[], d: Float32Array) => b.fromData(d, s);
  const xd = sparseRows(c.x, seed),
    wd = randn(size(c.w), seed + 1),
    bd = c.bias ? randn(size(c.bias), seed + 2) : null;
  const act = c.act ?? "identity";
  const x = mk(be, c.x, xd), w = mk(be, c.w, wd), bias = bd ? mk(be, c.bias!, bd) : null;
  const rx = mk(ref, c.x, xd), rw = mk(ref, c.w, wd), rb = bd ? mk(ref, c.bias!, bd) : null;
  const got = be.pairwiseMatmul(x, w, { bias, activation: act });
  const want = dense(ref, rx, rw, rb, act);
  assertEquals(got.shape, want.shape, `shape ${JSON.stringify(c)}`);
  // Weight gradient: pairwise(x)ᵀ·g per output batch entry, against the dense transpose product.
  const gd = randn(size(want.shape), seed + 3);
  const g = mk(be, [...want.shape], gd), rg = mk(ref, [...want.shape], gd);
  const gw = be.pairwiseMatmulGradW(x, g);
  const rp = ref.pairwise(rx);
  const gwWant = ref.matmul(rp, rg, { transA: true });
  const tol = { atol: 2e-5 * c.x[c.x.length - 1], rtol: 1e-4 };
  assertClose(await take(got), await take(want), { ...tol, msg: `forward ${be.kind} ${JSON.stringify(c)}` });
  assertEquals(gw.shape, gwWant.shape, `grad shape ${JSON.stringify(c)}`);
  assertClose(await take(gw), await take(gwWant), { ...tol, msg: `gradW ${be.kind} ${JSON.stringify(c)}` });
  for (const t of [x, w, bias, rx, rw, rb, g, rg, rp]) t?.dispose();
}

Deno.test("pairwiseMatmul (cpu): hand-computed row, and zero-pair shapes", async () => {
  // x = [1, 2, 0, 3]: pairs (0,1)=2, (0,3)=3, (1,3)=6 are nonzero (rows 0, 2, 4 of W); W[q] = [q, 1].
  const x = cpu.fromData([1, 2, 0, 3], [1, 4]);
  const w = cpu.fromData([0, 1, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1], [6, 2]);
  const y = cpu.pairwiseMatmul(x, w, { bias: cpu.fromData([10, -20], [2]), activation: "relu" });
  assertEquals(Array.from(await take(y)), [2 * 0 + 3 * 2 + 6 * 4 + 10, 0]); // second: 2+3+6−20 < 0 → ReLU 0
  const gw = cpu.pairwiseMatmulGradW(x, cpu.fromData([1, -1], [1, 2]));
  assertEquals(Array.from(await take(gw)), [2, -2, 0, 0, 3, -3, 0, 0, 6, -6, 0, 0]);
  // One entry per row: no pairs, only the epilogue.
  const y1 = cpu.pairwiseMatmul(cpu.fromData([5, 6], [2, 1]), cpu.fromData([], [0, 3]), {
    bias: cpu.fromData([1, -2, 3], [3]),
  });
  assertEquals(Array.from(await take(y1)), [1, -2, 3, 1, -2, 3]);
});

Deno.test("pairwiseMatmul (cpu): forward and weight gradient equal the dense pairwise products on odd shapes", async () => {
  for (const [i, c] of CASES.entries()) await runCase(cpu, cpu64, c, 10 * i + 1);
});

Deno.test({
  name:
    "pairwiseMatmul (webgpu): forward and weight gradient equal the float64 dense reference on odd shapes",
  ignore: !HAS_GPU,
  fn: async () => {
    const g = (await gpu())!;
    for (const [i, c] of CASES.entries()) await runCase(g, cpu64, c, 10 * i + 1);
    // Zero-pair shape on the device too.
    const y1 = g.pairwiseMatmul(g.fromData([5, 6], [2, 1]), g.fromData([], [0, 3]), {
      bias: g.fromData([1, -2, 3], [3]),
    });
    assertEquals(Array.from(await take(y1)), [1, -2, 3, 1, -2, 3]);
  },
});

Deno.test("pairwiseMatmul op: gradients for x, w and bias equal those through matmul(pairwise(x), w)", async () => {
  const cases: Case[] = [
    { x: [6, 5], w: [10, 7], bias: [7], act: "relu" },
    { x: [4, 6], w: [2, 15, 3], bias: [2, 1, 3], act: "gelu" }, // x broadcast over the weights' batch
    { x: [2, 5, 4], w: [6, 3], act: "identity" },
  ];
  for (const [i, c] of cases.entries()) {
    const be = cpu64;
    const xd = sparseRows(c.x, 50 + i), wd = randn(size(c.w), 60 + i);
    const bd = c.bias ? randn(size(c.bias), 70 + i) : null;
    const x = be.fromData(xd, c.x), w = be.fromData(wd, c.w), b = bd ? be.fromData(bd, c.bias!) : null;
    const params = [x, w, ...(b ? [b] : [])];
    for (const p of params) p.requiresGrad = true;
    const opts = { bias: b, activation: c.act };
    const probe = (y: Tensor) => sum(mul(y, be.fromData(randn(y.size, 80 + i), [...y.shape])));
    const [lf, gf] = valueAndGrad(() => probe(pairwiseMatmul(x, w, opts)), params)();
    const [ld, gdn] = valueAndGrad(() => probe(matmul(pairwise(x), w, opts)), params)();
    assertClose(await take(lf), await take(ld), { atol: 1e-10, rtol: 1e-10, msg: `loss ${i}` });
    for (let k = 0; k < params.length; k++) {
      assertEquals(gf[k].shape, params[k].shape, `grad shape ${i}/${k}`);
      assertClose(await take(gf[k]), await take(gdn[k]), { atol: 1e-9, rtol: 1e-9, msg: `grad ${i}/${k}` });
    }
  }
});
