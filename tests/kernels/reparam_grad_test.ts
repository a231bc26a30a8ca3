/**
 * The fused reparameterisation backward `reparamGrad`: hand-computed values on every backend, WebGPU vs the float32
 * CPU twin on odd shapes with every combination of upstream gradients, spec keys, and one dispatch per call.
 */
import { assert, assertClose, assertEquals, cpu, cpu64, gpu, HAS_GPU, randn, take } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { sizeOf } from "../../nn/shape.ts";
import { reparamGradSpec } from "../../kernels/random.ts";

/** The gradient combinations the kernel has variants for. */
const VARIANTS = [
  { gz: true, gkl: true },
  { gz: true, gkl: false },
  { gz: false, gkl: true },
] as const;

// Two rows of length 2. Row 0: dμ = gz + gkl·μ = [2.25, 2.5]; dlogσ² = gz·ε·½·σ + gkl·½(σ² − 1) = [1, −1.5 + 0.75].
// Row 1 (σ = [0.5, 1], gkl = −2): dμ = [1, 1 − 4]; dlogσ² = [1·2·½·0.5 + (−2)·½·(0.25 − 1), 0 + 0] = [1.25, 0].
const HAND = {
  mu: [0.5, -1, 0, 2],
  logvar: [0, Math.log(4), Math.log(0.25), 0],
  eps: [1, -0.5, 2, 0],
  gz: [2, 3, 1, 1],
  gkl: [0.5, -2],
  both: { dmu: [2.25, 2.5, 1, -3], dlogvar: [1, -0.75, 1.25, 0] },
  zOnly: { dmu: [2, 3, 1, 1], dlogvar: [1, -1.5, 0.5, 0] },
  klOnly: { dmu: [0.25, -0.5, 0, -4], dlogvar: [0, 0.75, 0.75, 0] },
};

async function handCase(be: Backend): Promise<void> {
  const mu = be.fromData(HAND.mu, [2, 2]), lv = be.fromData(HAND.logvar, [2, 2]);
  const eps = be.fromData(HAND.eps, [2, 2]);
  const gz = be.fromData(HAND.gz, [2, 2]), gkl = be.fromData(HAND.gkl, [2]);
  const cases = [
    { name: "both", gz, gkl, want: HAND.both },
    { name: "gz only", gz, gkl: null, want: HAND.zOnly },
    { name: "gkl only", gz: null, gkl, want: HAND.klOnly },
    { name: "neither", gz: null, gkl: null, want: { dmu: [0, 0, 0, 0], dlogvar: [0, 0, 0, 0] } },
  ];
  for (const c of cases) {
    const { dmu, dlogvar } = be.reparamGrad(mu, lv, eps, c.gz, c.gkl);
    assertEquals(dmu.shape, [2, 2]);
    assertEquals(dlogvar.shape, [2, 2]);
    assertClose(await take(dmu), c.want.dmu, { atol: 1e-6, msg: `${be.description} ${c.name} dmu` });
    assertClose(await take(dlogvar), c.want.dlogvar, {
      atol: 1e-6,
      msg: `${be.description} ${c.name} dlogvar`,
    });
  }
  for (const t of [mu, lv, eps, gz, gkl]) t.dispose();
}

Deno.test("reparamGrad: hand-computed rows on the float32 and float64 CPU backends", async () => {
  await handCase(cpu);
  await handCase(cpu64);
});

Deno.test({
  name: "reparamGrad: hand-computed rows on WebGPU",
  ignore: !HAS_GPU,
  async fn() {
    await handCase((await gpu())!);
  },
});

Deno.test("reparamGrad: with gz only, dmu is a view of gz; ε is not read without gz", () => {
  const mu = cpu.fromData([1, 2], [2]), lv = cpu.fromData([0, 0], [2]), eps = cpu.fromData([1, 1], [2]);
  const gz = cpu.fromData([3, 4], [2]);
  const { dmu, dlogvar } = cpu.reparamGrad(mu, lv, eps, gz, null);
  assert(dmu.storage === gz.storage, "dmu should share gz's storage");
  dmu.dispose(), dlogvar.dispose();
  eps.dispose();
  // The KL-only path must not touch the (possibly freed) ε.
  const r = cpu.reparamGrad(mu, lv, eps, null, cpu.fromData([1], []));
  assertClose(cpu.data(r.dmu), [1, 2]);
});

/** Shapes [rows, L] (and two other ranks): rows 1, 5, 37 × L 1, 3, 56, 130; gkl has mu's shape without its last axis. */
const SHAPES: number[][] = [
  ...[1, 5, 37].flatMap((rows) => [1, 3, 56, 130].map((L) => [rows, L])),
  [7],
  [2, 3, 5],
  [4, 0],
  [0, 3],
];

Deno.test({
  name: "reparamGrad: WebGPU matches the float32 CPU twin on odd shapes, with and without gz / gkl",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    let seed = 1;
    for (const shape of SHAPES) {
      const n = sizeOf(shape), rowShape = shape.slice(0, -1);
      const data = {
        mu: randn(n, seed++),
        lv: randn(n, seed++, 1.5),
        eps: randn(n, seed++),
        gz: randn(n, seed++),
        gkl: randn(sizeOf(rowShape), seed++),
      };
      const make = (be: Backend) => ({
        mu: be.fromData(data.mu, shape),
        lv: be.fromData(data.lv, shape),
        eps: be.fromData(data.eps, shape),
        gz: be.fromData(data.gz, shape),
        gkl: be.fromData(data.gkl, rowShape),
      });
      const tc = make(cpu), tg = make(g);
      for (const v of VARIANTS) {
        const run = (be: Backend, t: ReturnType<typeof make>) =>
          be.reparamGrad(t.mu, t.lv, t.eps, v.gz ? t.gz : null, v.gkl ? t.gkl : null);
        const rc = run(cpu, tc), rg = run(g, tg);
        const what = `${JSON.stringify(shape)} gz=${v.gz} gkl=${v.gkl}`;
        for (const k of ["dmu", "dlogvar"] as const) {
          assertEquals(rg[k].shape, shape, `${what} ${k} shape`);
          assertClose(await take(rg[k]), await take(rc[k]), { atol: 1e-5, rtol: 1e-5, msg: `${what} ${k}` });
        }
      }
      for (const t of [...Object.values(tc), ...Object.values(tg)] as Tensor[]) t.dispose();
    }
  },
});

Deno.test({
  name: "reparamGrad: one dispatch per call whatever the gradients; none for an empty tensor",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const shape = [5, 3];
    const mu = g.fill(shape, 0.1), lv = g.fill(shape, 0.2), eps = g.fill(shape, 1);
    const gz = g.fill(shape, 1), gkl = g.fill([5], 1);
    for (const v of VARIANTS) {
      const d0 = g.rec.dispatches;
      const r = g.reparamGrad(mu, lv, eps, v.gz ? gz : null, v.gkl ? gkl : null);
      assertEquals(g.rec.dispatches - d0, 1, `gz=${v.gz} gkl=${v.gkl}`);
      r.dmu.dispose(), r.dlogvar.dispose();
    }
    const e = g.alloc([0, 3]);
    const d0 = g.rec.dispatches;
    const r = g.reparamGrad(e, e, e, e, g.alloc([0]));
    assertEquals(g.rec.dispatches - d0, 0);
    r.dmu.dispose(), r.dlogvar.dispose(), e.dispose();
    for (const t of [mu, lv, eps, gz, gkl]) t.dispose();
    await g.sync();
  },
});

Deno.test("reparamGrad: spec keys change with size, row length and the gradients present", () => {
  const keys = [
    reparamGradSpec(12, 3, true, true),
    reparamGradSpec(12, 4, true, true),
    reparamGradSpec(15, 3, true, true),
    reparamGradSpec(12, 3, true, false),
    reparamGradSpec(12, 3, false, true),
  ].map((s) => s.key);
  assertEquals(new Set(keys).size, keys.length);
  assertEquals(reparamGradSpec(12, 3, true, false).bindings.length, 5); // mu, logvar, eps, gz, dlogvar
  assertEquals(reparamGradSpec(12, 3, false, true).bindings.length, 5); // mu, logvar, gkl, dmu, dlogvar
});
