import { assertClose, assertEquals, cpu64, gpu, HAS_GPU, randn, randu, take } from "../_helpers.ts";
import type { Backend, VibObjectiveInputs } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { vibObjective } from "../../nn/ops/vib_objective.ts";
import { loss } from "../../nn/ops/fused.ts";
import { add, affine, mul } from "../../nn/ops/elementwise.ts";
import { sum } from "../../nn/ops/reduce.ts";
import { concat, reshape } from "../../nn/ops/movement.ts";
import { valueAndGrad } from "../../nn/autodiff.ts";

interface Case {
  lead: number[];
  p: number;
  e: number;
  perRow: boolean;
}

const CASES: Case[] = [
  { lead: [7], p: 1, e: 5, perRow: false },
  { lead: [3, 9], p: 1, e: 56, perRow: false },
  { lead: [2, 6], p: 2, e: 4, perRow: true },
  { lead: [70], p: 1, e: 3, perRow: true },
];

/** Seeded inputs; the reconstruction has values below 1e-7 and above 1 (clipped, zero gradient). */
function inputs(be: Backend, c: Case, seed: number): VibObjectiveInputs {
  const rows = c.lead.reduce((a, b) => a * b, 1);
  const t = (d: ArrayLike<number>, s: number[]) => be.fromData(d, s);
  const recon = randu(rows * c.e, seed + 3, 0.01, 0.9);
  recon[0] = 1e-9;
  if (recon.length > 2) recon[2] = 1.5;
  const comp = randu(rows * c.e, seed + 4, 0, 1);
  comp[1] = 0;
  const kappaN = c.perRow ? rows : rows / c.lead[c.lead.length - 1];
  return {
    pred: t(randn(rows * c.p, seed), [...c.lead, c.p]),
    target: t(randn(rows * c.p, seed + 1), [...c.lead, c.p]),
    weight: t(randu(rows, seed + 2, 0, 2), c.lead),
    recon: t(recon, [...c.lead, c.e]),
    comp: t(comp, [...c.lead, c.e]),
    kl: t(randu(rows, seed + 5, 0, 3), c.lead),
    kappa: t(randu(kappaN, seed + 6, 0, 1), c.perRow ? c.lead : [kappaN]),
  };
}

/** The composition of the separate losses the fused op replaces: stats [..., 4]. */
function composite(a: VibObjectiveInputs, rho: number, c: Case): Tensor {
  const mse = loss("weighted_mse", a.pred, a.target, a.weight);
  const rec = loss("kl_categorical", a.recon, a.comp, a.weight);
  const kap = c.perRow ? a.kappa : reshape(a.kappa, [...c.lead.slice(0, -1), 1]);
  const total = add(add(mse, affine(rec, rho)), mul(a.kl, kap));
  const col = (t: Tensor) => reshape(t, [...c.lead, 1]);
  return concat([col(total), col(mse), col(rec), col(a.kl)], -1);
}

Deno.test("vibObjective (cpu, float64): stats and gradients equal the separate losses, with clipped entries", async () => {
  for (const [k, c] of CASES.entries()) {
    const a = inputs(cpu64, c, 10 * k + 1);
    for (const t of [a.pred, a.recon, a.kl]) t.requiresGrad = true;
    const rows = c.lead.reduce((x, y) => x * y, 1);
    const g = cpu64.fromData(randn(rows * 4, 99 + k), [...c.lead, 4]);
    const probe = (s: Tensor) => sum(mul(s, g));
    const wrt = [a.pred, a.recon, a.kl];
    const [lf, gf] = valueAndGrad(() => probe(vibObjective(a, 0.5)), wrt)();
    const [lc, gc] = valueAndGrad(() => probe(composite(a, 0.5, c)), wrt)();
    assertClose(await take(lf), await take(lc), { atol: 1e-10, rtol: 1e-10, msg: `value ${k}` });
    for (let i = 0; i < wrt.length; i++) {
      assertClose(await take(gf[i]), await take(gc[i]), { atol: 1e-10, rtol: 1e-10, msg: `grad ${k}/${i}` });
    }
  }
});

Deno.test({
  name: "vibObjective (webgpu): forward and backward match the float64 CPU twin on odd shapes",
  ignore: !HAS_GPU,
  fn: async () => {
    const g = (await gpu())!;
    for (const [k, c] of CASES.entries()) {
      const ag = inputs(g, c, 10 * k + 1), ac = inputs(cpu64, c, 10 * k + 1);
      const rows = c.lead.reduce((x, y) => x * y, 1);
      const gd = randn(rows * 4, 99 + k);
      const tol = { atol: 1e-5, rtol: 1e-4 };
      assertClose(await take(g.vibObjective(ag, 0.5)), await take(cpu64.vibObjective(ac, 0.5)), {
        ...tol,
        msg: `stats ${k}`,
      });
      const dg = g.vibObjectiveGrad(ag, 0.5, g.fromData(gd, [...c.lead, 4]));
      const dc = cpu64.vibObjectiveGrad(ac, 0.5, cpu64.fromData(gd, [...c.lead, 4]));
      for (const key of ["dpred", "drecon", "dkl"] as const) {
        assertEquals(dg[key].shape, dc[key].shape, `${key} shape ${k}`);
        assertClose(await take(dg[key]), await take(dc[key]), { ...tol, msg: `${key} ${k}` });
      }
    }
  },
});

Deno.test("vibObjective: mismatched shapes are named errors", () => {
  const c = CASES[0];
  const a = inputs(cpu64, c, 1);
  let msg = "";
  try {
    vibObjective({ ...a, kappa: cpu64.fromData([1, 2, 3], [3]) }, 0.5);
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.includes("kappa")) throw new Error(`expected a kappa error, got '${msg}'`);
});
