/**
 * The fused softmax backward `softmaxGrad` (dx = y ⊙ (g − Σ_axis g ⊙ y)): hand-computed rows, WebGPU vs the float32
 * CPU twin on odd shapes along every axis (thread-per-row and workgroup-per-row kernels, empty tensors), spec keys,
 * and one dispatch per call.
 */
import { assertClose, assertEquals, cpu, cpu64, gpu, HAS_GPU, randn, randu, take } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import { sizeOf } from "../../nn/shape.ts";
import { SMALL_N, softmaxGradSpec } from "../../kernels/reduce.ts";

async function handCase(be: Backend): Promise<void> {
  // Last axis: Σ g·y = 0.2 − 0.5 = −0.3, dx = y ⊙ (g + 0.3).
  const y = be.fromData([0.2, 0.3, 0.5], [1, 3]), g = be.fromData([1, 0, -1], [1, 3]);
  assertClose(await take(be.softmaxGrad(y, g, 1)), [0.26, 0.09, -0.35], { atol: 1e-6, msg: be.description });
  // Axis 0 of [3, 2]: column 0 is the row above; column 1 has y = ⅓, g = [3, 0, 0] so Σ = 1 and dx = ⅓·(g − 1).
  const y2 = be.fromData([0.2, 1 / 3, 0.3, 1 / 3, 0.5, 1 / 3], [3, 2]);
  const g2 = be.fromData([1, 3, 0, 0, -1, 0], [3, 2]);
  assertClose(await take(be.softmaxGrad(y2, g2, 0)), [0.26, 2 / 3, 0.09, -1 / 3, -0.35, -1 / 3], {
    atol: 1e-6,
    msg: `${be.description} axis 0`,
  });
  // A row of length 1 (y = 1) has dx = 1·(g − g) = 0.
  const y1 = be.fromData([1, 1], [2, 1]), g1 = be.fromData([5, -2], [2, 1]);
  assertClose(await take(be.softmaxGrad(y1, g1, 1)), [0, 0], { msg: `${be.description} length 1` });
  for (const t of [y, g, y2, g2, y1, g1]) t.dispose();
}

Deno.test("softmaxGrad: hand-computed rows on the float32 and float64 CPU backends", async () => {
  await handCase(cpu);
  await handCase(cpu64);
});

Deno.test({
  name: "softmaxGrad: hand-computed rows on WebGPU",
  ignore: !HAS_GPU,
  async fn() {
    await handCase((await gpu())!);
  },
});

/** [rows, n] for rows 1, 5, 37 and row lengths 1, 3, 56, 130, then other ranks, long axes and empty tensors. */
const SHAPES: number[][] = [
  ...[1, 5, 37].flatMap((rows) => [1, 3, 56, 130].map((n) => [rows, n])),
  [7],
  [3, 4, 5],
  [2, 300],
  [3, 1000, 2],
  [0, 4],
  [4, 0],
];

Deno.test({
  name: "softmaxGrad: WebGPU matches the float32 CPU twin along every axis of odd shapes",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    let seed = 1, sawGroup = false;
    for (const shape of SHAPES) {
      const n = sizeOf(shape);
      const yd = randu(n, seed++, 0, 1), gd = randn(n, seed++);
      const yc = cpu.fromData(yd, shape), gc = cpu.fromData(gd, shape);
      const yg = g.fromData(yd, shape), gg = g.fromData(gd, shape);
      for (let axis = 0; axis < shape.length; axis++) {
        sawGroup ||= shape[axis] >= SMALL_N;
        const r = g.softmaxGrad(yg, gg, axis), c = cpu.softmaxGrad(yc, gc, axis);
        assertEquals(r.shape, shape);
        // Row sums of up to 1000 terms of size ~1: allow their float32 rounding.
        assertClose(await take(r), await take(c), {
          atol: 1e-6 * Math.sqrt(shape[axis] + 1),
          rtol: 1e-5,
          msg: `${JSON.stringify(shape)} axis ${axis}`,
        });
      }
      for (const t of [yc, gc, yg, gg]) t.dispose();
    }
    if (!sawGroup) throw new Error("no shape exercises the workgroup-per-row kernel");
  },
});

Deno.test({
  name: "softmaxGrad: one dispatch per call for short and long axes; none for an empty tensor",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    for (const shape of [[5, 3], [2, 700]]) {
      const y = g.fill(shape, 0.25), dy = g.fill(shape, 1);
      for (const axis of [0, 1]) {
        const d0 = g.rec.dispatches;
        g.softmaxGrad(y, dy, axis).dispose();
        assertEquals(g.rec.dispatches - d0, 1, `${shape} axis ${axis}`);
      }
      y.dispose(), dy.dispose();
    }
    const e = g.alloc([0, 3]);
    const d0 = g.rec.dispatches;
    g.softmaxGrad(e, e, 1).dispose();
    assertEquals(g.rec.dispatches - d0, 0);
    e.dispose();
    await g.sync();
  },
});

Deno.test("softmaxGrad: spec keys change with the view and the kernel kind", () => {
  const keys = [
    softmaxGradSpec(3, 4, 5),
    softmaxGradSpec(5, 4, 3),
    softmaxGradSpec(3, 5, 4),
    softmaxGradSpec(3, SMALL_N, 1),
    softmaxGradSpec(3, SMALL_N - 1, 1),
  ].map((s) => s.key);
  assertEquals(new Set(keys).size, keys.length);
  assertEquals(softmaxGradSpec(3, SMALL_N, 2).workgroups, [6, 1, 1]); // one workgroup per row
});
