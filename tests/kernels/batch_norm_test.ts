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

/** The fused block's forward and backward (bias + ReLU before, dropout after), read back. */
async function runBlock(
  be: Backend,
  R: number,
  B: number,
  F: number,
  o: { masked: boolean; bias: boolean; dropout: boolean },
  seed: number,
) {
  const t = inputs(be, R, B, F, o.masked, seed);
  const bias = o.bias ? be.fromData(randn(R * F, seed + 7, 0.5), R > 1 ? [R, 1, F] : [F]) : null;
  const rates = be.fromData(Array.from({ length: R }, (_, r) => [0.3, 0.05, 0.6][r % 3]), [R]);
  const block = { bias, dropout: o.dropout ? { rates, key: { seed: 9, stream: 4 }, step: 3 } : null };
  const { y, mean, invstd } = be.batchNorm(t.x, t.gamma, t.beta, t.mask, EPS, null, block);
  const g = be.batchNormGrad(t.x, t.dy, t.gamma, mean, invstd, t.mask, block);
  const out: Record<string, Float32Array | Int32Array> = {};
  const all: [string, Tensor | null][] = [
    ["y", y],
    ["mean", mean],
    ["invstd", invstd],
    ["dx", g.dx],
    ["dgamma", g.dgamma],
    ["dbeta", g.dbeta],
    ["dbias", g.dbias],
  ];
  for (const [k, v] of all) if (v) out[k] = await take(v);
  for (const v of [t.x, t.gamma, t.beta, t.mask, t.dy, t.rm, t.rv, bias, rates]) v?.dispose();
  return out;
}

Deno.test("batch_norm block: the CPU twin equals bias + ReLU → batch norm → dropout mask, composed by hand", () => {
  // R = 1, B = 6, F = 2, one rate: compare against explicit relu, the unfused batch norm and dropoutMask.
  const B = 6, F = 2, p = 0.4, key = { seed: 5, stream: 2 }, step = 7;
  const be = cpu64;
  const h = be.fromData(randn(B * F, 21), [B, F]), bias = be.fromData([0.3, -0.2], [F]);
  const gamma = be.fromData([1.5, 0.5], [F]), beta = be.fromData([0.1, -0.3], [F]);
  const dy = be.fromData(randn(B * F, 22), [B, F]);
  const rates = be.fromData([p], [1]);
  const block = { bias, dropout: { rates, key, step } };
  const fused = be.batchNorm(h, gamma, beta, null, EPS, null, block);
  const fg = be.batchNormGrad(h, dy, gamma, fused.mean, fused.invstd, null, block);
  // Composed reference.
  const hd = be.data(h), a = new Float64Array(B * F);
  for (let i = 0; i < B * F; i++) a[i] = Math.max(hd[i] + be.data(bias)[i % F], 0);
  const at = be.fromData(a, [B, F]);
  const plain = be.batchNorm(at, gamma, beta, null, EPS, null);
  const mask = be.data(be.dropoutMask([B, F], p, key, step));
  assert(
    mask.some((v) => v === 0) && mask.some((v) => v > 0),
    "the mask drops some entries and keeps others",
  );
  const yRef = Array.from(be.data(plain.y), (v, i) => v * mask[i]);
  assertClose(be.data(fused.y), yRef, { atol: 1e-12, rtol: 1e-12 });
  const dyMasked = be.fromData(Array.from(be.data(dy), (v, i) => v * mask[i]), [B, F]);
  const pg = be.batchNormGrad(at, dyMasked, gamma, plain.mean, plain.invstd, null);
  const dh = Array.from(be.data(pg.dx), (v, i) => (a[i] > 0 ? v : 0));
  assertClose(be.data(fg.dx), dh, { atol: 1e-12, rtol: 1e-12 });
  const dbias = [0, 0];
  dh.forEach((v, i) => (dbias[i % F] += v));
  assertClose(be.data(fg.dbias!), dbias, { atol: 1e-12, rtol: 1e-12 });
  assertClose(be.data(fg.dgamma), be.data(pg.dgamma), { atol: 1e-12, rtol: 1e-12 });
  assertClose(be.data(fg.dbeta), be.data(pg.dbeta), { atol: 1e-12, rtol: 1e-12 });
  assert(a.some((v) => v === 0), "some pre-activations are negative (the ReLU matters)");
});

Deno.test({
  name: "batch_norm block: GPU matches CPU (bias + ReLU, per-replica dropout, mask; odd shapes, R 1/3)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    let seed = 500;
    const variants = [
      { bias: true, dropout: true },
      { bias: true, dropout: false },
      { bias: false, dropout: true },
    ];
    for (const [B, F] of SHAPES) {
      for (const R of [1, 3]) {
        for (const v of variants) {
          const o = { ...v, masked: seed % 2 === 0 };
          seed += 7;
          const msg = `R=${R} B=${B} F=${F} ${JSON.stringify(o)}`;
          const [oc, og] = [await runBlock(cpu, R, B, F, o, seed), await runBlock(g, R, B, F, o, seed)];
          assertEquals(Object.keys(og).sort(), Object.keys(oc).sort(), msg);
          for (const k of Object.keys(oc)) {
            // dbias sums B entries of dx that nearly cancel: float32 error grows with B and dx's size.
            const scale = k === "dbias" ? maxAbs(oc.dx) * Math.max(1, B) / 4 : maxAbs(oc[k]);
            assertClose(og[k], oc[k], { atol: 1e-5 * scale, rtol: 1e-5, msg: `${msg} ${k}` });
          }
        }
      }
    }
  },
});
