import { assertClose, cpu, cpu64, gpu, HAS_GPU, randn, take } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { sizeOf } from "../../nn/shape.ts";
import {
  concatGroupSpec,
  gatherSpec,
  simplifyStrided,
  stridedCopySpec,
  useSortLink,
} from "../../kernels/movement.ts";

function assertEq(actual: unknown, expected: unknown, msg = ""): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg}: got ${a}, expected ${e}`);
}

/** Exact equality of two numeric arrays (movement must be bit-exact on f32 values and on i32). */
function assertSame(actual: ArrayLike<number>, expected: ArrayLike<number>, msg = ""): void {
  if (actual.length !== expected.length) {
    throw new Error(`${msg}: length ${actual.length} vs ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${msg}: differs at [${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Seeded i32 data spanning small, negative and large values (many are f32 denormal bit patterns). */
function randi(n: number, seed: number): Int32Array {
  return Int32Array.from(randn(n, seed), (v, i) => i % 3 === 0 ? Math.round(v * 1e9) : Math.round(v * 50));
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The float64 values of a cpu64 tensor (backend.read would round to f32), disposing it. */
function f64(x: Tensor): Float64Array {
  const d = Float64Array.from(cpu64.data(x));
  x.dispose();
  return d;
}

function t(be: Backend, data: ArrayLike<number>, shape: number[], dtype: "f32" | "i32" = "f32"): Tensor {
  return be.fromData(data, shape, dtype);
}

// ---- pure spec tests (no device) ------------------------------------------------------------------------------

Deno.test("movement: strided index spaces simplify (drop size-1 axes, merge adjacent) and keys track shapes", () => {
  // A [2,3,4] tensor permuted to [2,4,3] only merges nothing; [1,6,1,5] contiguous collapses to one axis.
  assertEq(simplifyStrided([{ extent: 2, stride: 12 }, { extent: 4, stride: 1 }, { extent: 3, stride: 4 }]), [
    { extent: 2, stride: 12 },
    { extent: 4, stride: 1 },
    { extent: 3, stride: 4 },
  ]);
  assertEq(
    simplifyStrided([{ extent: 1, stride: 30 }, { extent: 6, stride: 5 }, { extent: 1, stride: 5 }, {
      extent: 5,
      stride: 1,
    }]),
    [{ extent: 30, stride: 1 }],
  );
  // A slice of whole rows of a [4,7] matrix is one contiguous run; a column block is not.
  assertEq(simplifyStrided([{ extent: 2, stride: 7 }, { extent: 7, stride: 1 }]), [{
    extent: 14,
    stride: 1,
  }]);
  assertEq(simplifyStrided([{ extent: 2, stride: 7 }, { extent: 3, stride: 1 }]), [
    { extent: 2, stride: 7 },
    { extent: 3, stride: 1 },
  ]);
  const a = stridedCopySpec([{ extent: 2, stride: 7 }, { extent: 3, stride: 1 }]);
  const b = stridedCopySpec([{ extent: 2, stride: 8 }, { extent: 3, stride: 1 }]);
  if (a.key === b.key) throw new Error("strided keys must differ with strides");
  if (a.source() === b.source()) throw new Error("sources should differ");
  // Grouped concat: the key tracks every piece's width and offset; one binding per piece plus the output.
  const c1 = concatGroupSpec(2, 5, 3, [{ width: 2, offset: 0 }, { width: 3, offset: 2 }]);
  const c2 = concatGroupSpec(2, 5, 3, [{ width: 3, offset: 0 }, { width: 2, offset: 3 }]);
  if (c1.key === c2.key) throw new Error("concat keys must differ with the pieces");
  assertEq(c1.bindings, ["read", "read", "rw"]);
  if (gatherSpec(1, 5, 3, 4).key === gatherSpec(1, 6, 3, 4).key) {
    throw new Error("gather key must include dim");
  }
});

// ---- hand-computed CPU cases ------------------------------------------------------------------------------------

Deno.test("movement (cpu): permute, slice, pad, concat, gather on hand-computed cases", async () => {
  for (const be of [cpu, cpu64]) {
    const x = t(be, [1, 2, 3, 4, 5, 6], [2, 3]);
    const p = be.permute(x, [1, 0]);
    assertEq(p.shape, [3, 2]);
    assertEq(Array.from(await take(p)), [1, 4, 2, 5, 3, 6]);
    assertEq(Array.from(await take(be.slice(x, [0, 1], [2, 2]))), [2, 3, 5, 6]);
    assertEq(Array.from(await take(be.pad(t(be, [7, 8], [1, 2]), [2, 3], [1, 1]))), [0, 0, 0, 0, 7, 8]);
    const c = be.concat([x, t(be, [], [2, 0]), t(be, [9, 10], [2, 1])], 1);
    assertEq(c.shape, [2, 4]);
    assertEq(Array.from(await take(c)), [1, 2, 3, 9, 4, 5, 6, 10]);
    const g = be.gather(x, t(be, [2, 0, 2], [3], "i32"), 1);
    assertEq(Array.from(await take(g)), [3, 1, 3, 6, 4, 6]);
    assertEq(Array.from(await take(be.gather(x, t(be, [1], [1], "i32"), 0))), [4, 5, 6]);
  }
  // A rank-4 permute checked element by element against the index rule out[i,j,k,l] = x[k,i,l,j].
  const shape = [2, 3, 4, 5];
  const xd = Float32Array.from({ length: 120 }, (_, i) => i);
  const y = await take(cpu.permute(t(cpu, xd, shape), [1, 3, 0, 2]));
  let q = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 5; j++) {
      for (let k = 0; k < 2; k++) {
        for (let l = 0; l < 4; l++) assertEq(y[q++], ((k * 3 + i) * 4 + l) * 5 + j, "rank-4 permute");
      }
    }
  }
});

Deno.test("movement (cpu): gather keeps i32 and scatterAdd accumulates duplicates", async () => {
  const x = t(cpu, [10, -20, 30, 2 ** 30, 5, 6], [3, 2], "i32");
  const g = cpu.gather(x, t(cpu, [2, 1, 1], [3], "i32"), 0);
  assertEq(g.dtype, "i32");
  assertEq(Array.from(await take(g)), [5, 6, 30, 2 ** 30, 30, 2 ** 30]);
  const s = cpu.scatterAdd(t(cpu, [1, 2, 3, 4, 5, 6], [3, 2]), t(cpu, [3, 0, 3], [3], "i32"), 0, 4);
  assertEq(s.shape, [4, 2]);
  assertEq(Array.from(await take(s)), [3, 4, 0, 0, 0, 0, 6, 8]);
});

Deno.test("movement (cpu): pad ∘ slice round trip and slice ∘ pad identity", async () => {
  const shape = [3, 4, 5];
  const xd = randn(60, 4);
  const x = t(cpu64, xd, shape);
  const begin = [1, 0, 2], size = [2, 4, 2];
  const s = cpu64.slice(x, begin, size);
  const back = await take(cpu64.slice(cpu64.pad(s, shape, begin), begin, size));
  assertSame(back, await take(s), "slice(pad(s)) = s");
  // pad(slice(x)) keeps x inside the block and zeroes the rest.
  const pd = await take(cpu64.pad(cpu64.slice(x, begin, size), shape, begin));
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      for (let k = 0; k < 5; k++) {
        const inside = i >= 1 && i < 3 && k >= 2 && k < 4;
        const o = (i * 4 + j) * 5 + k;
        assertEq(pd[o], inside ? xd[o] : 0, "pad(slice(x))");
      }
    }
  }
});

Deno.test("movement (cpu): pairwise and its gradient (hand values, explicit sum, finite differences)", async () => {
  assertEq(Array.from(await take(cpu.pairwise(t(cpu, [1, 2, 3], [3])))), [2, 3, 6]);
  const pw = cpu.pairwise(t(cpu, [1, 2, 3, 4, -1, 0, 2, 5], [2, 4]));
  assertEq(pw.shape, [2, 6]);
  assertEq(Array.from(await take(pw)), [2, 3, 4, 6, 8, 12, 0, -2, -5, 0, 0, 10]);
  assertEq(cpu.pairwise(t(cpu, [1, 2], [2, 1])).shape, [2, 0]);
  assertEq(cpu.pairwise(t(cpu, [], [3, 0])).shape, [3, 0]);
  // dx for [1,2,3] with dy over pairs (0,1),(0,2),(1,2) = [a,b,c]: [2a+3b, a+3c, b+2c].
  const g = await take(cpu.pairwiseGrad(t(cpu, [1, 2, 3], [3]), t(cpu, [1, 10, 100], [3])));
  assertEq(Array.from(g), [2 + 30, 1 + 300, 10 + 200]);
  assertEq(Array.from(await take(cpu.pairwiseGrad(t(cpu, [4, 5], [2, 1]), t(cpu, [], [2, 0])))), [0, 0]);
  // Finite differences of L = <pairwise(x), dy> in float64.
  const n = 7, rows = 3, p = (n * (n - 1)) / 2;
  const xd = Array.from(randn(rows * n, 11)), dyd = randn(rows * p, 12);
  const dy = t(cpu64, dyd, [rows, p]);
  const loss = (v: number[]) => dot(f64(cpu64.pairwise(t(cpu64, v, [rows, n]))), dyd);
  const grad = f64(cpu64.pairwiseGrad(t(cpu64, xd, [rows, n]), dy));
  const h = 1e-5;
  for (let i = 0; i < xd.length; i++) {
    const up = [...xd], dn = [...xd];
    up[i] += h;
    dn[i] -= h;
    const fd = (loss(up) - loss(dn)) / (2 * h);
    assertClose([grad[i]], [fd], { atol: 1e-7, rtol: 1e-6, msg: `pairwiseGrad fd [${i}]` });
  }
});

Deno.test("movement (cpu): gather and scatterAdd are adjoint, with duplicate and clamped indices", async () => {
  const cases: { shape: number[]; axis: number; idx: number[] }[] = [
    { shape: [5, 3], axis: 0, idx: [4, 0, 4, 4, 2, 0] },
    { shape: [2, 6, 3], axis: 1, idx: [5, 5, 1] },
    { shape: [3, 4], axis: 1, idx: [] },
    { shape: [4, 1, 2], axis: 1, idx: [0, 0, 0] },
  ];
  for (const { shape, axis, idx } of cases) {
    const x = t(cpu64, randn(sizeOf(shape), 1), shape);
    const id = t(cpu64, idx, [idx.length], "i32");
    const g = cpu64.gather(x, id, axis);
    const y = randn(g.size, 2);
    const s = cpu64.scatterAdd(t(cpu64, y, [...g.shape]), id, axis, shape[axis]);
    assertEq(s.shape, shape);
    const lhs = dot(f64(g), y), rhs = dot(f64(x), f64(s));
    assertClose([lhs], [rhs], { atol: 1e-12, rtol: 1e-12, msg: `adjoint ${JSON.stringify(shape)}` });
  }
  // Clamping: an index past either end behaves as the nearest valid index in both directions.
  const x = t(cpu, [1, 2, 3], [3]);
  assertEq(Array.from(await take(cpu.gather(x, t(cpu, [-4, 7], [2], "i32"), 0))), [1, 3]);
  const s = cpu.scatterAdd(t(cpu, [1, 2], [2]), t(cpu, [-4, 7], [2], "i32"), 0, 3);
  assertEq(Array.from(await take(s)), [1, 0, 2]);
});

// ---- GPU vs CPU parity ------------------------------------------------------------------------------------------

/** Runs `op` on both backends with the same inputs and returns both results (read and disposed). */
async function both(
  inputs: { data: ArrayLike<number>; shape: number[]; dtype?: "f32" | "i32" }[],
  op: (be: Backend, xs: Tensor[]) => Tensor,
): Promise<[Float32Array | Int32Array, Float32Array | Int32Array]> {
  const g = (await gpu())!;
  const xc = inputs.map((i) => t(cpu, i.data, i.shape, i.dtype));
  const xg = inputs.map((i) => t(g, i.data, i.shape, i.dtype));
  const rc = op(cpu, xc), rg = op(g, xg);
  assertEq(rg.shape, rc.shape, "shape");
  assertEq(rg.dtype, rc.dtype, "dtype");
  const out: [Float32Array | Int32Array, Float32Array | Int32Array] = [await take(rg), await take(rc)];
  for (const x of [...xc, ...xg]) x.dispose();
  return out;
}

function data(shape: number[], dtype: "f32" | "i32", seed: number) {
  const n = sizeOf(shape);
  return { data: dtype === "i32" ? randi(n, seed) : randn(n, seed), shape, dtype };
}

Deno.test({
  name: "movement: permute and slice, GPU matches CPU bit-exactly (f32 and i32, size-1 and empty axes)",
  ignore: !HAS_GPU,
  async fn() {
    const perms: [number[], number[]][] = [
      [[2, 3], [1, 0]],
      [[3, 1, 5], [2, 0, 1]],
      [[2, 3, 4, 5], [0, 2, 1, 3]],
      [[2, 1, 3, 2, 3, 2], [5, 3, 1, 0, 4, 2]],
      [[4, 0, 3], [2, 1, 0]],
      [[7], [0]],
      [[], []],
      [[33, 65], [1, 0]],
    ];
    for (const dtype of ["f32", "i32"] as const) {
      for (const [shape, perm] of perms) {
        const [gd, cd] = await both([data(shape, dtype, 3)], (be, [x]) => be.permute(x, perm));
        assertSame(gd, cd, `permute ${dtype} ${shape} ${perm}`);
      }
    }
    const slices: [number[], number[], number[]][] = [
      [[5, 7], [1, 2], [3, 4]],
      [[5, 7], [2, 0], [2, 7]],
      [[3, 4, 5], [0, 1, 4], [3, 2, 1]],
      [[3, 4, 5], [1, 0, 0], [0, 4, 5]],
      [[1, 9, 1], [0, 8, 0], [1, 1, 1]],
      [[2, 3, 1, 4, 2, 3], [1, 1, 0, 1, 0, 1], [1, 2, 1, 3, 2, 2]],
    ];
    for (const dtype of ["f32", "i32"] as const) {
      for (const [shape, begin, size] of slices) {
        const [gd, cd] = await both([data(shape, dtype, 5)], (be, [x]) => be.slice(x, begin, size));
        assertSame(gd, cd, `slice ${dtype} ${shape} ${begin} ${size}`);
      }
    }
  },
});

Deno.test({
  name: "movement: pad and concat, GPU matches CPU (empty pieces, many inputs, i32)",
  ignore: !HAS_GPU,
  async fn() {
    const pads: [number[], number[], number[]][] = [
      [[3, 4], [5, 7], [1, 2]],
      [[3, 4], [3, 9], [0, 5]],
      [[2, 3, 4], [4, 3, 4], [1, 0, 0]],
      [[1, 1], [3, 3], [2, 0]],
      [[0, 4], [2, 4], [1, 0]],
      [[2, 2, 1, 3], [3, 2, 2, 5], [0, 0, 1, 2]],
      [[3, 4], [5, 7], [1, 0]],
      [[2, 3, 4], [2, 5, 4], [0, 0, 0]],
      [[], [], []],
    ];
    for (const dtype of ["f32", "i32"] as const) {
      for (const [xs, shape, begin] of pads) {
        const [gd, cd] = await both([data(xs, dtype, 7)], (be, [x]) => be.pad(x, shape, begin));
        assertSame(gd, cd, `pad ${dtype} ${xs} -> ${shape} @ ${begin}`);
      }
    }
    const concats: [number[][], number][] = [
      [[[2, 3], [2, 0], [2, 5]], 1],
      [[[2, 3], [4, 3], [1, 3]], 0],
      [[[3, 1, 2], [3, 4, 2], [3, 0, 2], [3, 2, 2]], 1],
      [[[0, 3], [0, 2]], 1],
      [[[2, 2, 3], [2, 2, 1]], 2],
      [[[1, 2], [1, 1], [1, 0]], 1],
      // More inputs than a stage has storage buffers (one dispatch per input).
      [Array.from({ length: 40 }, (_, i) => [2, 1 + (i % 3), 3]), 1],
    ];
    for (const dtype of ["f32", "i32"] as const) {
      for (const [shapes, axis] of concats) {
        const [gd, cd] = await both(
          shapes.map((s, k) => data(s, dtype, 20 + k)),
          (be, xs) => be.concat(xs, axis),
        );
        assertSame(gd, cd, `concat ${dtype} ${JSON.stringify(shapes)} axis ${axis}`);
      }
    }
  },
});

Deno.test({
  name: "movement: gather (f32 and i32) and scatterAdd, GPU matches CPU; scatterAdd is deterministic",
  ignore: !HAS_GPU,
  async fn() {
    const cases: { shape: number[]; axis: number; idx: number[] }[] = [
      { shape: [5, 3], axis: 0, idx: [4, 0, 4, 4, 2, 0, 1] },
      { shape: [2, 6, 3], axis: 1, idx: [5, 5, 1] },
      { shape: [3, 4], axis: 1, idx: [] },
      { shape: [4, 1, 2], axis: 1, idx: [0, 0, 0] },
      { shape: [7], axis: 0, idx: [-3, 9, 6, 0] }, // out of range: clamped on both backends
      { shape: [3, 0], axis: 0, idx: [1, 2] },
      { shape: [3, 2], axis: 0, idx: [2] },
      { shape: [0, 3], axis: 0, idx: [1, 2] }, // empty axis, non-empty output: zeros
      { shape: [37, 5], axis: 0, idx: Array.from({ length: 300 }, (_, i) => (i * 7919) % 37) },
    ];
    for (const { shape, axis, idx } of cases) {
      const ii = { data: idx, shape: [idx.length], dtype: "i32" as const };
      for (const dtype of ["f32", "i32"] as const) {
        const [gd, cd] = await both([data(shape, dtype, 9), ii], (be, [x, i]) => be.gather(x, i, axis));
        assertSame(gd, cd, `gather ${dtype} ${shape} axis ${axis}`);
      }
      const srcShape = [...shape];
      srcShape[axis] = idx.length;
      const src = data(srcShape, "f32", 10);
      const [gs, cs] = await both([src, ii], (be, [s, i]) => be.scatterAdd(s, i, axis, shape[axis]));
      assertClose(gs, cs, { atol: 1e-5, rtol: 1e-5, msg: `scatterAdd ${shape} axis ${axis}` });
      const [gs2] = await both([src, ii], (be, [s, i]) => be.scatterAdd(s, i, axis, shape[axis]));
      assertSame(gs2, gs, "scatterAdd must be deterministic");
      const [gi, ci] = await both(
        [data(srcShape, "i32", 10), ii],
        (be, [s, i]) => be.scatterAdd(s, i, axis, shape[axis]),
      );
      assertSame(gi, ci, `scatterAdd i32 ${shape} axis ${axis}`);
    }
  },
});

Deno.test({
  name: "movement: pairwise and pairwiseGrad, GPU matches CPU (n = 0, 1, 2, 5, 56 at batch 32)",
  ignore: !HAS_GPU,
  async fn() {
    for (const shape of [[3, 0], [4, 1], [2], [3, 5], [2, 3, 5], [32, 56], [1, 300]]) {
      const n = shape[shape.length - 1];
      const pShape = [...shape.slice(0, -1), (n * (n - 1)) / 2];
      const x = data(shape, "f32", 13), dy = data(pShape, "f32", 14);
      const [gp, cp] = await both([x], (be, [xx]) => be.pairwise(xx));
      assertClose(gp, cp, { atol: 1e-6, rtol: 1e-6, msg: `pairwise ${shape}` });
      const [gg, cg] = await both([x, dy], (be, [xx, d]) => be.pairwiseGrad(xx, d));
      assertClose(gg, cg, { atol: 1e-4, rtol: 1e-5, msg: `pairwiseGrad ${shape}` });
    }
  },
});

Deno.test({
  name: "movement: pairwise at n = 6000 (where the f32 row estimate needs its integer correction)",
  ignore: !HAS_GPU,
  async fn() {
    const [gp, cp] = await both([data([1, 6000], "f32", 15)], (be, [x]) => be.pairwise(x));
    assertSame(gp, cp, "pairwise n = 6000");
  },
});

Deno.test({
  name: "movement: scatterAdd sums duplicates in ascending position order on both link paths (sort and scan)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const cases: [number, number][] = [[4096, 50], [300, 7], [5000, 37], [5000, 6000]];
    assertEq(cases.map(([m, dim]) => useSortLink(m, dim)), [true, true, false, false], "paths");
    const inner = 2;
    for (const [m, dim] of cases) {
      const idx = Int32Array.from(randn(m, m + dim), (v) => Math.floor(Math.abs(v) * dim * 0.6) % dim);
      // Mixed magnitudes make f32 sums order-dependent, so the exact comparison checks the summation order.
      const src = Float32Array.from(randn(m * inner, 3), (v, i) => (i % 5 === 0 ? v * 1e7 : v));
      const want = new Float32Array(dim * inner);
      for (let j = 0; j < m; j++) {
        for (let r = 0; r < inner; r++) {
          const o = idx[j] * inner + r;
          want[o] = Math.fround(want[o] + src[j * inner + r]);
        }
      }
      const gs = g.fromData(src, [m, inner]), gi = g.fromData(idx, [m], "i32");
      assertSame(await take(g.scatterAdd(gs, gi, 0, dim)), want, `scatterAdd order m=${m} dim=${dim}`);
      gs.dispose();
      gi.dispose();
    }
  },
});
