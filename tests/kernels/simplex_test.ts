import { assertClose, cpu, cpu64, gpu, HAS_GPU, randn, take } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import { simplex } from "../../nn/ops/fused.ts";
import { clamp, div, mul, relu } from "../../nn/ops/elementwise.ts";
import { sum } from "../../nn/ops/reduce.ts";
import { valueAndGrad } from "../../nn/autodiff.ts";
import { simplexSpec } from "../../kernels/simplex.ts";

/** The composite definition the fused kernel replaces. */
function reference(be: Backend, data: Float32Array, shape: number[]) {
  const r = be.unary("relu", be.fromData(data, shape));
  const s = be.reduce("sum", r, shape.length - 1);
  const d = be.unary("clamp", s.view([...shape.slice(0, -1), 1]), 1e-8, Infinity);
  return be.binary("div", r, d);
}

/** Rows of mixed sign, an all-negative row (sum 0 → the 1e-8 floor) and a one-entry row. */
function rows(shape: number[], seed: number): Float32Array {
  const d = randn(shape.reduce((a, b) => a * b, 1), seed);
  const L = shape[shape.length - 1];
  for (let j = 0; j < L; j++) d[j] = -Math.abs(d[j]); // row 0: nothing positive
  return d;
}

const SHAPES = [[5, 7], [3, 4, 56], [2, 1], [300, 33], [1, 300]];

Deno.test("simplex (cpu): one kernel equals relu / max(Σ relu, 1e-8); thread and group row modes differ in key", async () => {
  for (const [k, shape] of SHAPES.entries()) {
    const d = rows(shape, 10 + k);
    assertClose(await take(cpu.simplex(cpu.fromData(d, shape))), await take(reference(cpu64, d, shape)), {
      atol: 1e-7,
      rtol: 1e-6,
      msg: `cpu ${shape}`,
    });
  }
  if (simplexSpec(4, 56, "thread").key === simplexSpec(4, 56, "group").key) {
    throw new Error("keys must differ");
  }
});

Deno.test({
  name: "simplex (webgpu): equals the float64 reference in both row modes",
  ignore: !HAS_GPU,
  fn: async () => {
    const g = (await gpu())!;
    for (const [k, shape] of SHAPES.entries()) {
      const d = rows(shape, 10 + k);
      assertClose(await take(g.simplex(g.fromData(d, shape))), await take(reference(cpu64, d, shape)), {
        atol: 1e-7,
        rtol: 1e-6,
        msg: `webgpu ${shape}`,
      });
    }
  },
});

Deno.test("simplex op: with a gradient to x it is the differentiable composition (same values, same gradient)", async () => {
  const d = rows([4, 6], 3);
  const x = cpu64.fromData(d, [4, 6]);
  x.requiresGrad = true;
  const probe = cpu64.fromData(randn(24, 4), [4, 6]);
  const [lf, [gf]] = valueAndGrad(() => sum(mul(simplex(x), probe)), [x])();
  const [lc, [gc]] = valueAndGrad(() => {
    const r = relu(x);
    return sum(mul(div(r, clamp(sum(r, 1, true), 1e-8, Infinity)), probe));
  }, [x])();
  assertClose(await take(lf), await take(lc), { atol: 1e-12, rtol: 1e-12 });
  assertClose(await take(gf), await take(gc), { atol: 1e-12, rtol: 1e-12 });
  // Without a gradient the fused kernel gives the same values.
  const plain = cpu64.fromData(d, [4, 6]);
  assertClose(await take(simplex(plain)), await take(reference(cpu64, d, [4, 6])), {
    atol: 1e-12,
    rtol: 1e-12,
  });
});
