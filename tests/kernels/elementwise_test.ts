import { assertClose, cpu, gpu, HAS_GPU, randn, take } from "../_helpers.ts";
import type { BinaryOp, UnaryOp } from "../../nn/backend.ts";
import type { Backend } from "../../nn/backend.ts";
import { UNARY_WGSL } from "../../kernels/elementwise.ts";

const UNARY = Object.keys(UNARY_WGSL) as UnaryOp[];
const PARAMS: Partial<Record<UnaryOp, [number, number]>> = {
  leaky_relu: [0.1, 0],
  affine: [1.5, -0.25],
  pow: [3, 0],
  clamp: [-0.5, 0.7],
  step: [0.2, 0],
};
const POSITIVE = new Set<UnaryOp>(["log", "sqrt", "rsqrt", "reciprocal"]);

function input(be: Backend, op: UnaryOp, shape: number[], seed: number) {
  let d = randn(shape.reduce((a, b) => a * b, 1), seed, 2);
  if (POSITIVE.has(op)) d = d.map((v) => Math.abs(v) + 0.1);
  return be.fromData(d, shape);
}

for (const shape of [[0], [1], [7, 13], [3, 1, 257]]) {
  Deno.test({
    name: `elementwise: every unary op and its gradient, GPU matches CPU on ${JSON.stringify(shape)}`,
    ignore: !HAS_GPU,
    async fn() {
      const g = (await gpu())!;
      for (const op of UNARY) {
        const [a, b] = PARAMS[op] ?? [0, 0];
        const xc = input(cpu, op, shape, 3), xg = input(g, op, shape, 3);
        const yc = cpu.unary(op, xc, a, b), yg = g.unary(op, xg, a, b);
        const dyc = cpu.fromData(randn(xc.size, 9), shape), dyg = g.fromData(randn(xc.size, 9), shape);
        const gc = cpu.unaryGrad(op, xc, yc, dyc, a, b), gg = g.unaryGrad(op, xg, yg, dyg, a, b);
        assertClose(await take(yg), await take(yc), { atol: 2e-6, rtol: 2e-5, msg: `${op}` });
        assertClose(await take(gg), await take(gc), { atol: 2e-6, rtol: 2e-5, msg: `d${op}` });
        for (const t of [xc, xg, dyc, dyg]) t.dispose();
      }
    },
  });
}

Deno.test({
  name: "elementwise: binary ops broadcast like NumPy, GPU matches CPU (incl. size 1 and empty)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const cases: [number[], number[]][] = [
      [[5, 7], [5, 7]],
      [[5, 7], [7]],
      [[5, 1], [1, 7]],
      [[2, 3, 4], [3, 1]],
      [
        [1],
        [6],
      ],
      [[0, 3], [3]],
      [[4, 1, 3], []],
    ];
    for (const op of ["add", "sub", "mul", "div", "max", "min", "gt", "ge", "lt", "eq"] as BinaryOp[]) {
      for (const [sa, sb] of cases) {
        const na = sa.reduce((a, b) => a * b, 1), nb = sb.reduce((a, b) => a * b, 1);
        const da = randn(na, 1).map((v) => Math.round(v * 2) / 2),
          db = randn(nb, 2).map((v) => Math.round(v * 2) / 2 + 0.25);
        const c = cpu.binary(op, cpu.fromData(da, sa), cpu.fromData(db, sb));
        const r = g.binary(op, g.fromData(da, sa), g.fromData(db, sb));
        if (JSON.stringify(c.shape) !== JSON.stringify(r.shape)) throw new Error(`${op} shape`);
        assertClose(await take(r), await take(c), { msg: `${op} ${sa} ${sb}` });
      }
    }
  },
});
