import {
  assert,
  assertClose,
  assertEquals,
  cpu,
  cpu64,
  gpu,
  HAS_GPU,
  randn,
  randu,
  take,
} from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import {
  batchNormGradSpec,
  batchNormInferenceSpec,
  batchNormSpec,
  bnTile,
} from "../../kernels/batch_norm.ts";

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
const EPS = 1e-3, MOM = 0.99;

/** A 0/1 row mask [R·B]: random rows, replica 1 (when present) with a single 1, every replica with ≥ 1 real row. */
function maskData(R: number, B: number, seed: number): Float32Array {
  const m = randu(R * B, seed).map((u) => (u < 0.7 ? 1 : 0));
  for (let r = 0; r < R; r++) {
    const row = m.subarray(r * B, (r + 1) * B);
    if (r === 1) {
      row.fill(0);
      row[Math.floor(B / 2)] = 1;
    } else if (!row.some((v) => v === 1)) row[B - 1] = 1;
  }
  return m;
}

interface Inputs {
  x: Tensor;
  gamma: Tensor;
  beta: Tensor;
  mask: Tensor | null;
  rm: Tensor;
  rv: Tensor;
  dy: Tensor;
}

function inputs(be: Backend, R: number, B: number, F: number, masked: boolean, seed: number): Inputs {
  const xs = R > 1 ? [R, B, F] : [B, F], ps = R > 1 ? [R, 1, F] : [F];
  // Per-feature offsets and scales so statistics differ between columns.
  const x = randn(R * B * F, seed, 2).map((v, i) => v * (1 + (i % F) % 3) + (i % F) * 0.25);
  return {
    x: be.fromData(x, xs),
    gamma: be.fromData(randn(R * F, seed + 1).map((v) => v + 1), ps),
    beta: be.fromData(randn(R * F, seed + 2), ps),
    mask: masked ? be.fromData(maskData(R, B, seed + 3), R > 1 ? [R, B, 1] : [B, 1]) : null,
    rm: be.fromData(randn(R * F, seed + 4, 0.5), ps),
    rv: be.fromData(randu(R * F, seed + 5, 0.5, 2), ps),
    dy: be.fromData(randn(R * B * F, seed + 6), xs),
  };
}

/** Everything the four backend methods produce, read back (and freed). */
async function runAll(be: Backend, R: number, B: number, F: number, masked: boolean, seed: number) {
  const t = inputs(be, R, B, F, masked, seed);
  const { y, mean, invstd } = be.batchNorm(t.x, t.gamma, t.beta, t.mask, EPS, {
    mean: t.rm,
    var: t.rv,
    momentum: MOM,
  });
  const g = be.batchNormGrad(t.x, t.dy, t.gamma, mean, invstd, t.mask);
  const yi = be.batchNormInference(t.x, t.gamma, t.beta, t.rm, t.rv, EPS);
  const gi = be.batchNormInferenceGrad(t.x, t.dy, t.gamma, t.rm, t.rv, EPS);
  const out: Record<string, Float32Array | Int32Array> = {};
  const all: [string, Tensor][] = [
    ["y", y],
    ["mean", mean],
    ["invstd", invstd],
    ["dx", g.dx],
    ["dgamma", g.dgamma],
    ["dbeta", g.dbeta],
    ["running mean", t.rm],
    ["running var", t.rv],
    ["inference y", yi],
    ["inference dx", gi.dx],
    ["inference dgamma", gi.dgamma],
    ["inference dbeta", gi.dbeta],
  ];
  for (const [k, v] of all) out[k] = await take(v);
  for (const v of [t.x, t.gamma, t.beta, t.mask, t.dy]) v?.dispose();
  return out;
}

Deno.test("batch_norm: specs bake shapes and options into the key; tiles cover features and rows", () => {
  const keys = new Set([
    batchNormSpec(1, 5, 7, { masked: false, update: true }).key,
    batchNormSpec(1, 5, 7, { masked: true, update: true }).key,
    batchNormSpec(1, 5, 7, { masked: false, update: false }).key,
    batchNormSpec(1, 6, 7, { masked: false, update: true }).key,
    batchNormSpec(2, 5, 7, { masked: false, update: true }).key,
    batchNormSpec(1, 5, 8, { masked: false, update: true }).key,
    batchNormGradSpec(1, 5, 7, { mode: "train", masked: false }).key,
    batchNormGradSpec(1, 5, 7, { mode: "train", masked: true }).key,
    batchNormGradSpec(1, 5, 7, { mode: "eval", masked: false }).key,
    batchNormInferenceSpec(1, 5, 7).key,
  ]);
  assertEquals(keys.size, 10);
  for (const [B, F] of [[1, 1], [5, 7], [37, 33], [1000, 130], [0, 4], [1500, 5], [100000, 1]]) {
    const { tf, tr } = bnTile(B, F);
    assert(tf * tr <= 256 && tf >= 1 && tr >= 1, `tile ${tf}x${tr} for B=${B}, F=${F}`);
    assert((tf >= F || tf === 32) && (B <= 1024 ? tr === 1 : tr > 1), `tile ${tf}x${tr} for B=${B}, F=${F}`);
  }
  // Grid: one workgroup per (replica, feature tile).
  assertEquals(batchNormSpec(3, 5, 130, { masked: false, update: false }).workgroups, [15, 1, 1]);
});

Deno.test("batch_norm: CPU twin on a hand-computed case (mask with a padded row, running update)", () => {
  // One replica, B = 3, F = 1, mask [1, 1, 0]: mean 2, var 1 over x = 1, 3 (the padded x = 10 is ignored).
  const x = cpu64.fromData([1, 3, 10], [3, 1]), mask = cpu64.fromData([1, 1, 0], [3, 1]);
  const gamma = cpu64.fromData([2], [1]), beta = cpu64.fromData([0.5], [1]);
  const rm = cpu64.fromData([1], [1]), rv = cpu64.fromData([1], [1]);
  const { y, mean, invstd } = cpu64.batchNorm(x, gamma, beta, mask, 0, { mean: rm, var: rv, momentum: 0.9 });
  assertClose(cpu64.data(y), [-1.5, 2.5, 16.5], { atol: 1e-12, rtol: 0 });
  assertClose(cpu64.data(mean), [2], { atol: 1e-12, rtol: 0 });
  assertClose(cpu64.data(invstd), [1], { atol: 1e-12, rtol: 0 });
  assertClose(cpu64.data(rm), [0.9 + 0.2], { atol: 1e-12, rtol: 0 });
  assertClose(cpu64.data(rv), [1], { atol: 1e-12, rtol: 0 });
  // dy = [1, 0, 1]: dβ = 2, dγ = Σ dy·x̂ = −1 + 8 = 7, n = 2,
  // dx = γ·invstd·(dy − m·(dβ + x̂·dγ)/n) = 2·[1 − (2 − 7)/2, 0 − (2 + 7)/2, 1] = [7, −9, 2].
  const g = cpu64.batchNormGrad(x, cpu64.fromData([1, 0, 1], [3, 1]), gamma, mean, invstd, mask);
  assertClose(cpu64.data(g.dbeta), [2], { atol: 1e-12, rtol: 0 });
  assertClose(cpu64.data(g.dgamma), [7], { atol: 1e-12, rtol: 0 });
  assertClose(cpu64.data(g.dx), [7, -9, 2], { atol: 1e-12, rtol: 0 });
});

// [B, F]; B = 1500 takes the multi-lane (shared-memory tree) path.
const SHAPES: [number, number][] = [
  [1, 1],
  [5, 7],
  [32, 33],
  [37, 130],
  [37, 1],
  [1, 130],
  [32, 7],
  [5, 33],
  [1500, 5],
];

Deno.test({
  name:
    "batch_norm: GPU matches CPU (training, backward, running update, inference; F 1-130, B 1-37, R 1/3, mask)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    let seed = 1;
    for (const [B, F] of SHAPES) {
      for (const R of [1, 3]) {
        for (const masked of [false, true]) {
          seed += 10;
          const msg = `R=${R} B=${B} F=${F} masked=${masked}`;
          const [oc, og] = [await runAll(cpu, R, B, F, masked, seed), await runAll(g, R, B, F, masked, seed)];
          for (const k of Object.keys(oc)) {
            // Absolute tolerance relative to the output's largest entry (float32 sums of cancelling terms).
            const scale = maxAbs(oc[k]);
            assertClose(og[k], oc[k], { atol: 1e-5 * scale, rtol: 1e-5, msg: `${msg} ${k}` });
          }
        }
      }
    }
  },
});

Deno.test({
  name:
    "batch_norm: a replica without real rows, and B = 0: mean 0, var 0, running statistics kept (GPU = CPU)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    for (const [R, B, F] of [[2, 4, 3], [2, 0, 3]]) {
      const run = async (be: Backend) => {
        const x = be.fromData(randn(R * B * F, 3), [R, B, F]);
        const mask = be.fromData(Array.from({ length: R * B }, (_, i) => (i < B ? 1 : 0)), [R, B, 1]);
        const gamma = be.fill([R, 1, F], 2), beta = be.fill([R, 1, F], 0.5);
        const rm = be.fill([R, 1, F], 0.25), rv = be.fill([R, 1, F], 3);
        const { y, mean, invstd } = be.batchNorm(x, gamma, beta, mask, EPS, {
          mean: rm,
          var: rv,
          momentum: MOM,
        });
        const d = be.batchNormGrad(x, be.fromData(randn(R * B * F, 4), [R, B, F]), gamma, mean, invstd, mask);
        const out = [];
        for (const t of [y, mean, invstd, rm, rv, d.dx, d.dgamma, d.dbeta]) {
          out.push(Array.from(await take(t)));
        }
        return out;
      };
      const [c, r] = [await run(cpu), await run(g)];
      const xd = randn(R * B * F, 3), dyd = randn(R * B * F, 4), inv = 1 / Math.sqrt(EPS);
      // Replica 1 (all padding): y = 2·x/√eps + 0.5, stats (0, 1/√eps), running kept, dx = 2·dy/√eps.
      const y1 = Array.from(xd.subarray(B * F), (v) => 2 * v * inv + 0.5);
      const dx1 = Array.from(dyd.subarray(B * F), (v) => 2 * v * inv);
      for (const o of [c, r]) {
        assertClose(o[0].slice(B * F), y1, { atol: 1e-4, rtol: 1e-5, msg: "padded replica y" });
        assertClose(o[1].slice(F), [0, 0, 0], { atol: 0, rtol: 0, msg: "padded replica mean" });
        assertClose(o[2].slice(F), [inv, inv, inv], { atol: 0, rtol: 1e-6, msg: "padded replica invstd" });
        assertClose(o[3].slice(F), [0.25, 0.25, 0.25], { atol: 0, rtol: 0, msg: "running mean kept" });
        assertClose(o[4].slice(F), [3, 3, 3], { atol: 0, rtol: 0, msg: "running var kept" });
        assertClose(o[5].slice(B * F), dx1, { atol: 1e-4, rtol: 1e-5, msg: "padded replica dx" });
        if (B === 0) {
          assertClose(o[6].concat(o[7]), new Array(4 * F).fill(0), { atol: 0, rtol: 0, msg: "B = 0" });
        }
      }
      c.forEach((v, k) => assertClose(r[k], v, { atol: 1e-4, rtol: 1e-5, msg: `output ${k}, B=${B}` }));
    }
  },
});
