import { assertClose, cpu64, finiteDifferenceFailure, gpu, HAS_GPU, randn, take } from "../_helpers.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { layerNormalize } from "../../nn/ops/fused.ts";
import { affine, mul, rsqrt, sub } from "../../nn/ops/elementwise.ts";
import { mean, sum } from "../../nn/ops/reduce.ts";
import { valueAndGrad } from "../../nn/autodiff.ts";

/** The composite definition the fused kernels replace. */
function composite(x: Tensor, eps: number): Tensor {
  const xc = sub(x, mean(x, -1, true));
  return mul(xc, rsqrt(affine(mean(mul(xc, xc), -1, true), 1, eps)));
}

/** Odd shapes: one-element rows (variance 0), a constant row, token features of the attention model. */
const SHAPES = [[5, 1], [3, 7], [2, 8, 64], [300, 33]];

function data(shape: number[], seed: number): Float32Array {
  const d = randn(shape.reduce((a, b) => a * b, 1), seed, 2);
  const L = shape[shape.length - 1];
  for (let j = 0; j < L; j++) d[j] = 0.5; // row 0 constant
  return d;
}

Deno.test("layerNormalize (cpu, float64): values and gradients equal the composite; finite differences", async () => {
  for (const [k, shape] of SHAPES.entries()) {
    const x = cpu64.fromData(data(shape, 10 + k), shape);
    x.requiresGrad = true;
    const probe = cpu64.fromData(randn(x.size, 50 + k), shape);
    const [lf, [gf]] = valueAndGrad(() => sum(mul(layerNormalize(x, 1e-5), probe)), [x])();
    const [lc, [gc]] = valueAndGrad(() => sum(mul(composite(x, 1e-5), probe)), [x])();
    assertClose(await take(lf), await take(lc), { atol: 1e-9, rtol: 1e-9, msg: `value ${shape}` });
    assertClose(await take(gf), await take(gc), { atol: 1e-9, rtol: 1e-9, msg: `grad ${shape}` });
  }
  const x = cpu64.fromData(randn(15, 3), [3, 5]);
  x.requiresGrad = true;
  const fail = finiteDifferenceFailure(() => layerNormalize(x, 1e-3), [x], { seed: 7 });
  if (fail) throw new Error(fail);
});

Deno.test({
  name: "layerNormalize (webgpu): forward and backward match the float64 CPU twin on odd shapes",
  ignore: !HAS_GPU,
  fn: async () => {
    const g = (await gpu())!;
    for (const [k, shape] of SHAPES.entries()) {
      const d = data(shape, 10 + k), gd = randn(d.length, 70 + k);
      const fg = g.layerNorm(g.fromData(d, shape), 1e-5),
        fc = cpu64.layerNorm(cpu64.fromData(d, shape), 1e-5);
      const tol = { atol: 2e-5, rtol: 1e-4 };
      const dg = g.layerNormGrad(fg.y, fg.invstd, g.fromData(gd, shape));
      const dc = cpu64.layerNormGrad(fc.y, fc.invstd, cpu64.fromData(gd, shape));
      assertClose(await take(fg.y), await take(fc.y), { ...tol, msg: `y ${shape}` });
      assertClose(await take(fg.invstd), await take(fc.invstd), { ...tol, msg: `invstd ${shape}` });
      assertClose(await take(dg), await take(dc), { ...tol, msg: `dx ${shape}` });
    }
  },
});
