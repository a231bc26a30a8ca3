/**
 * Tests of design/latent_optimizer.ts: convergence on quadratics with known minima, batched = one start at a time,
 * per-start clipping against a host Adam written here, freezing, the loss terms against hand computation and
 * finite differences, a toy decoder objective, and the read-back schedule (reads counted on the backend).
 */
import { CpuBackend } from "../../nn/cpu_backend.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { gradients } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { add, matmul, mul, mulScalar, softmax, square, sub, sum, tensor } from "../../nn/ops.ts";
import {
  bandLoss,
  type LatentLoss,
  optimizeLatents,
  priorBarrier,
  repulsion,
} from "../../design/latent_optimizer.ts";
import { UserError } from "../../cli/errors.ts";
import { ShapeError } from "../../nn/shape.ts";
import { assert, assertClose, assertEquals, cpu64, gpu, HAS_GPU, randn } from "../_helpers.ts";

/** Per-start anisotropic quadratic Σ_k a_k (z_ik − m_ik)², minimum m (values on the host for references). */
function quadratic(be: Backend, m: ArrayLike<number>, S: number, d: number, a = [1, 4, 0.25]): LatentLoss {
  const mT = tensor(m, [S, d], { backend: be });
  const aT = tensor(a.slice(0, d), [d], { backend: be });
  return (z) => sum(mul(square(sub(z, mT)), aT), 1);
}

/** A CPU float64 backend that counts host reads (and syncs). */
function countingBackend(): { be: CpuBackend; reads: () => number } {
  const be = new CpuBackend("f64");
  let n = 0;
  const read = be.read.bind(be), sync = be.sync.bind(be);
  be.read = (t: Tensor) => (n++, read(t));
  be.sync = () => (n++, sync());
  return { be, reads: () => n };
}

Deno.test("quadratic: every start reaches its own minimum and stops early", async () => {
  const S = 6, d = 3;
  const m = randn(S * d, 11, 2), z0 = randn(S * d, 12, 1);
  // Default test (relative improvement < 1e-5 with loss floor 1), then a tight one that ends on the gradient test.
  for (
    const [o, why, atol] of [[{ lr: 0.05 }, "tol", 1e-4], [{ lr: 0.05, tol: 1e-9 }, "gtol", 2e-6]] as const
  ) {
    const res = await optimizeLatents(cpu64, z0, d, quadratic(cpu64, m, S, d), o);
    assertClose(res.z, m, { atol, rtol: 0, msg: `minimum (${why})` });
    for (let i = 0; i < S; i++) {
      assertEquals(res.reason[i], why);
      assert(res.converged[i]);
      assert(res.steps[i] <= 1000 && res.steps[i] % 50 === 0, `start ${i}: ${res.steps[i]} steps`);
      assert(res.loss[i] < atol, `start ${i}: final loss ${res.loss[i]}`);
    }
    assertEquals(res.totalSteps, Math.max(...res.steps));
    assertEquals(res.history.length, res.totalSteps / 50);
    assertEquals(res.history.at(-1)!.active, 0);
    // The window means fall (the first window starts far away).
    assert(res.history[0].loss.every((v, i) => v > res.history.at(-1)!.loss[i]));
  }
});

Deno.test("batched run equals running each start alone", async () => {
  const S = 4, d = 3;
  const m = randn(S * d, 21, 1.5), z0 = randn(S * d, 22, 1);
  const opts = { lr: 0.03, tol: 1e-7, clipNorm: 2, maxSteps: 3000 };
  const all = await optimizeLatents(cpu64, z0, d, quadratic(cpu64, m, S, d), opts);
  for (let i = 0; i < S; i++) {
    const row = (x: ArrayLike<number>) => Array.from(x).slice(i * d, (i + 1) * d);
    const one = await optimizeLatents(cpu64, row(z0), d, quadratic(cpu64, row(m), 1, d), opts);
    assertClose(one.z, row(all.z), { atol: 1e-12, rtol: 1e-12, msg: `start ${i} z` });
    assertClose(one.loss, [all.loss[i]], { atol: 1e-14, rtol: 1e-10, msg: `start ${i} loss` });
    assertEquals(one.steps[0], all.steps[i]);
    assertEquals(one.reason[0], all.reason[i]);
  }
  // The starts really stopped at different times, so freezing was exercised.
  assert(new Set(all.steps).size > 1, `steps ${all.steps}`);
});

/** Host Adam with per-row clipping, independent of nn/optim (the reference for the clipping test). */
function hostAdam(
  z0: Float64Array,
  d: number,
  grad: (z: Float64Array, step: number) => Float64Array,
  steps: number,
  lr: number,
  clip: number,
): Float64Array {
  const z = Float64Array.from(z0), m = new Float64Array(z.length), v = new Float64Array(z.length);
  const b1 = 0.9, b2 = 0.999, eps = 1e-7;
  for (let t = 1; t <= steps; t++) {
    const g = grad(z, t - 1);
    for (let r = 0; r < z.length / d; r++) {
      let n2 = 0;
      for (let k = 0; k < d; k++) n2 += g[r * d + k] ** 2;
      const s = Math.min(1, clip / (Math.sqrt(n2) + 1e-6));
      for (let k = 0; k < d; k++) {
        const i = r * d + k, gi = g[i] * s;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        z[i] -= lr * (m[i] / (1 - b1 ** t)) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
      }
    }
  }
  return z;
}

Deno.test("per-start gradient clipping matches a host Adam and leaves small-gradient starts alone", async () => {
  // Linear loss c_i(step)·w·z_i: start 0 gets a 1000× spike in its first 3 steps, start 1 never exceeds the clip.
  const S = 2, d = 3, steps = 25, lr = 0.1, clip = 1;
  const w = [0.3, -0.5, 0.2]; // ‖w‖ ≈ 0.62 < clip
  const c = (i: number, step: number) => (i === 0 && step < 3 ? 1000 : 1);
  const z0 = Float64Array.from(randn(S * d, 31));
  const wT = tensor(w, [1, d], { backend: cpu64 });
  const loss: LatentLoss = (z, step) => {
    const cT = tensor([c(0, step), c(1, step)], [S, 1], { backend: cpu64 });
    return sum(mul(mul(z, wT), cT), 1);
  };
  const hostGrad = (_z: Float64Array, step: number) =>
    Float64Array.from({ length: S * d }, (_, i) => c(Math.floor(i / d), step) * w[i % d]);
  const run = (clipNorm: number) =>
    optimizeLatents(cpu64, z0, d, loss, { lr, clipNorm, maxSteps: steps, tol: 0, gtol: 0 });
  const clipped = await run(clip), free = await run(Infinity);
  // Backend.read returns float32 even on the float64 CPU backend: compare at float32 resolution.
  const f32 = { atol: 1e-7, rtol: 2e-7 };
  assertClose(clipped.z, hostAdam(z0, d, hostGrad, steps, lr, clip), { ...f32, msg: "clipped" });
  assertClose(free.z, hostAdam(z0, d, hostGrad, steps, lr, Infinity), { ...f32, msg: "unclipped" });
  // Clipping changed the spiked start (it moves farther: the spike no longer swamps Adam's second moment)…
  const dist = (z: Float64Array, i: number) =>
    Math.hypot(...Array.from({ length: d }, (_, k) => z[i * d + k] - z0[i * d + k]));
  assert(dist(clipped.z, 0) > 1.5 * dist(free.z, 0), `${dist(clipped.z, 0)} vs ${dist(free.z, 0)}`);
  // …and did nothing to the other one (a global norm would have scaled it by start 0's spike).
  assertClose(clipped.z.slice(d), free.z.slice(d), { atol: 1e-14, rtol: 0, msg: "start 1" });
});

Deno.test("frozen starts do not move after converging", async () => {
  // Start 0's loss is tiny next to the loss floor, so it passes the relative test at the second check while its
  // gradient is not zero (Adam, being scale-free, would otherwise keep moving it at the same speed as start 1).
  const S = 2, d = 2;
  const m = [3, -2, 3, -2];
  const q = quadratic(cpu64, m, S, d, [1, 1]);
  const scaleT = tensor([1e-7, 1], [S], { backend: cpu64 });
  const trail: number[][] = [];
  const loss: LatentLoss = (z, step) => {
    const zd = cpu64.data(z);
    trail[step] = Array.from(zd.subarray(0, S * d));
    return mul(q(z, step), scaleT);
  };
  const res = await optimizeLatents(cpu64, [0, 0, 0, 0], d, loss, { lr: 0.01, tol: 1e-5, gtol: 0 });
  assertEquals(res.reason[0], "tol");
  assertEquals(res.steps[0], 100);
  assert(res.steps[1] > 200, `start 1 stopped at ${res.steps[1]}`);
  // Start 0 moved until it froze, then stayed bit-for-bit where it was; start 1 kept moving.
  assert(trail[99][0] !== trail[50][0]);
  for (let t = 100; t < trail.length; t++) {
    assertEquals(trail[t].slice(0, 2), trail[100].slice(0, 2), `step ${t}`);
  }
  assertEquals(Array.from(res.z.slice(0, 2)), trail[100].slice(0, 2).map(Math.fround)); // read is float32
  assert(trail.at(-1)![2] !== trail[100][2]);
});

Deno.test("no read-back inside a step: one read per check plus one at the end", async () => {
  const { be, reads } = countingBackend();
  const S = 3, d = 2;
  const q = quadratic(be, randn(S * d, 41), S, d, [1, 2]);
  const readsAt: number[] = [];
  const res = await optimizeLatents(be, randn(S * d, 42), d, (z, step) => {
    readsAt[step] = reads();
    return q(z, step);
  }, { lr: 0.05, checkEvery: 20, maxSteps: 130, tol: 0, gtol: 0 });
  assertEquals(res.totalSteps, 130);
  for (let t = 0; t < 130; t++) assertEquals(readsAt[t], Math.floor(t / 20), `reads before step ${t}`);
  // 6 full windows, the short last one (130 = 6·20 + 10), then the final read of z and the loss.
  assertEquals(res.history.map((h) => h.step), [20, 40, 60, 80, 100, 120, 130]);
  assertEquals(reads(), 8);
});

// ---- loss terms ------------------------------------------------------------------------------------------------

/** Central finite differences of a scalar function of one host vector. */
function fd(f: (x: number[]) => number, x: number[], h = 1e-5): number[] {
  return x.map((_, i) => {
    const p = [...x], q = [...x];
    p[i] += h;
    q[i] -= h;
    return (f(p) - f(q)) / (2 * h);
  });
}

/** Engine value and gradient of Σ term(inputs) with respect to every input (cpu64). */
function engine(term: (...xs: Tensor[]) => Tensor, inputs: { data: number[]; shape: number[] }[]) {
  return scope(() => {
    const xs = inputs.map((i) => tensor(i.data, i.shape, { backend: cpu64, requiresGrad: true }));
    const y = term(...xs);
    const gs = gradients(sum(y), xs);
    const grads = gs.map((g, i) => (g ? Array.from(cpu64.data(g)) : new Array<number>(xs[i].size).fill(0)));
    return { value: Array.from(cpu64.data(y)), grads };
  });
}

const softplusH = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const reluH = (x: number) => Math.max(x, 0);

Deno.test("bandLoss: values by hand, gradients by finite differences", () => {
  const mu = [1500, 2000, 2300, 2600], sigma = [100, 50, 200, 10];
  const o = { scale: 120, z: 1.645, target: 2050, lo: 1900, hi: 2200, bandWeight: 3 };
  const hand = (m: number[], s: number[], maximize: boolean) =>
    m.map((mi, i) => {
      const l = mi - 1.645 * s[i];
      return (maximize ? -l / 120 : 0) + ((l - 2050) / 120) ** 2 + 3 * (reluH(1900 - l) / 120) ** 2 +
        3 * (reluH(l - 2200) / 120) ** 2;
    });
  for (const maximize of [false, true]) {
    const r = engine((m, s) => bandLoss(m, s, { ...o, maximize }), [
      { data: mu, shape: [4] },
      { data: sigma, shape: [4] },
    ]);
    assertClose(r.value, hand(mu, sigma, maximize), { atol: 1e-12, rtol: 1e-12, msg: "value" });
    const total = (m: number[], s: number[]) => hand(m, s, maximize).reduce((a, b) => a + b);
    assertClose(r.grads[0], fd((m) => total(m, sigma), mu), { atol: 1e-7, rtol: 1e-6, msg: "dμ" });
    assertClose(r.grads[1], fd((s) => total(mu, s), sigma), { atol: 1e-7, rtol: 1e-6, msg: "dσ" });
  }
  // Each row sits in a different regime: below lo, in the band, above hi (two ways): check them by hand too.
  const l = mu.map((m, i) => m - 1.645 * sigma[i]); // 1335.5, 1917.75, 1971, 2583.55
  assert(l[0] < 1900 && l[1] > 1900 && l[1] < 2200 && l[3] > 2200);
  // Target only, z = 0: plain ((μ − t)/s)².
  const t = engine((m, s) => bandLoss(m, s, { scale: 10, z: 0, target: 5 }), [
    { data: [7, 2], shape: [2] },
    { data: [1, 1], shape: [2] },
  ]);
  assertClose(t.value, [0.04, 0.09], { atol: 1e-15, rtol: 0 });
  assertClose(t.grads[0], [0.04, -0.06], { atol: 1e-15, rtol: 0 });
  assertClose(t.grads[1], [0, 0], { atol: 0, rtol: 0 });
});

Deno.test("priorBarrier: softplus(k(thr − logp))/k by hand and its gradient", () => {
  const logp = [-12, -6.5, -5, 0, 3];
  for (const k of [1, 4]) {
    const r = engine((lp) => priorBarrier(lp, -6, { sharpness: k }), [{ data: logp, shape: [5] }]);
    assertClose(r.value, logp.map((x) => softplusH(k * (-6 - x)) / k), { atol: 1e-14, rtol: 1e-12 });
    // d/dlogp = −σ(k(thr − logp))
    assertClose(r.grads[0], logp.map((x) => -1 / (1 + Math.exp(-k * (-6 - x)))), {
      atol: 1e-14,
      rtol: 1e-12,
    });
  }
  // Sharp limit ≈ relu(thr − logp).
  const sharp = engine((lp) => priorBarrier(lp, -6, { sharpness: 200 }), [{ data: logp, shape: [5] }]);
  assertClose(sharp.value, logp.map((x) => reluH(-6 - x)), { atol: 5e-3, rtol: 0 });
});

Deno.test("repulsion: pairwise Gaussian kernel by hand, gradient by finite differences", () => {
  const S = 4, d = 3, h = 2.5;
  const z = Array.from(randn(S * d, 51));
  z.splice(3, 3, z[0] + 1e-3, z[1], z[2] - 2e-3); // a near-duplicate pair (d² ≈ 5e-6)
  const hand = (x: number[], width = h) =>
    Array.from({ length: S }, (_, i) => {
      let r = 0;
      for (let j = 0; j < S; j++) {
        if (j === i) continue;
        let d2 = 0;
        for (let k = 0; k < d; k++) d2 += (x[i * d + k] - x[j * d + k]) ** 2;
        r += Math.exp(-d2 / width);
      }
      return r / 2;
    });
  const r = engine((zt) => repulsion(zt, { bandwidth: h }), [{ data: z, shape: [S, d] }]);
  assertClose(r.value, hand(z), { atol: 1e-12, rtol: 1e-12, msg: "value" });
  const total = (x: number[]) => hand(x).reduce((a, b) => a + b);
  assertClose(r.grads[0], fd(total, z), { atol: 1e-8, rtol: 1e-6, msg: "grad" });
  // Default bandwidth = d; a single start has no partner.
  const def = engine((zt) => repulsion(zt), [{ data: z, shape: [S, d] }]);
  assertClose(def.value, hand(z, d), { atol: 1e-12, rtol: 1e-12, msg: "default width" });
  const one = engine((zt) => repulsion(zt), [{ data: [1, 2, 3], shape: [1, 3] }]);
  assertEquals(one.value, [0]);
});

Deno.test("toy 2-D decoder objective: band + barrier + repulsion loss falls for every start", async () => {
  // Decoder z ∈ R² → composition softmax(zW + b) over 3 elements; hardness μ, σ linear in the composition.
  const be = cpu64, S = 8, d = 2;
  const W = tensor([1.5, -0.5, -1, -1, 1.2, -0.2], [2, 3], { backend: be });
  const b = tensor([0.2, 0, -0.2], [3], { backend: be });
  const hEl = tensor([300, 900, 1500], [3, 1], { backend: be });
  const sEl = tensor([40, 80, 250], [3, 1], { backend: be });
  const loss: LatentLoss = (z) => {
    const x = softmax(matmul(z, W, { bias: b }), -1); // what would be exported
    const mu = sum(matmul(x, hEl), 1), sigma = sum(matmul(x, sEl), 1);
    const logp = mulScalar(sum(square(z), 1), -0.5); // standard-normal prior (up to a constant)
    return add(
      add(bandLoss(mu, sigma, { scale: 100, target: 1000, lo: 900, hi: 1100 }), priorBarrier(logp, -4.5)),
      mulScalar(repulsion(z, { bandwidth: 0.5 }), 0.1),
    );
  };
  const z0 = Array.from(randn(S * d, 61, 0.3));
  const before = scope(() => Array.from(cpu64.data(loss(tensor(z0, [S, d], { backend: be }), 0))));
  const res = await optimizeLatents(be, z0, d, loss, { lr: 0.02, maxSteps: 3000 });
  for (let i = 0; i < S; i++) {
    assert(res.loss[i] < 0.05 * before[i], `start ${i}: ${before[i]} → ${res.loss[i]}`);
  }
  assert(res.converged.every((c) => c), `reasons ${res.reason}`);
  // The reached LCB is near the target band for every start (scale-free check on the decoded composition).
  scope(() => {
    const zt = tensor(res.z, [S, d], { backend: be });
    const x = softmax(matmul(zt, W, { bias: b }), -1);
    const mu = cpu64.data(sum(matmul(x, hEl), 1)), sg = cpu64.data(sum(matmul(x, sEl), 1));
    for (let i = 0; i < S; i++) {
      const lcb = mu[i] - 1.645 * sg[i];
      assert(lcb > 950 && lcb < 1050, `start ${i}: LCB ${lcb}`);
    }
  });
});

Deno.test("bad input is a one-line UserError naming the option; a wrong loss shape is a ShapeError", async () => {
  const q = quadratic(cpu64, [0, 0], 1, 2, [1, 1]);
  const cases: [() => Promise<unknown>, RegExp][] = [
    [() => optimizeLatents(cpu64, [0, 0, 0], 2, q), /3 start values/],
    [() => optimizeLatents(cpu64, [0, NaN], 2, q), /start value 1/],
    [() => optimizeLatents(cpu64, [0, 0], 2, q, { lr: -1 }), /lr must be a positive number/],
    [
      () => optimizeLatents(cpu64, [0, 0], 2, q, { checkEvery: 2.5 }),
      /checkEvery must be a positive integer/,
    ],
    [() => optimizeLatents(cpu64, [0, 0], 2, q, { lrScale: [1, 1] }), /lrScale has 2 entries/],
  ];
  for (const [f, re] of cases) {
    let err: unknown;
    await f().catch((e) => (err = e));
    assert(err instanceof UserError, `expected UserError for ${re}`);
    assert(re.test((err as Error).message), (err as Error).message);
  }
  let err: unknown;
  await optimizeLatents(cpu64, [0, 0], 2, (z) => sum(z)).catch((e) => (err = e));
  assert(err instanceof ShapeError && /\[1\] tensor/.test(err.message), String(err));
  assert(/scale/.test(String(catchSync(() => bandLoss(tensor([1]), tensor([1]), { scale: 0, target: 1 })))));
  assert(/give maximize/.test(String(catchSync(() => bandLoss(tensor([1]), tensor([1]), { scale: 1 })))));
  assert(
    /lo \(3\) is above/.test(
      String(catchSync(() => bandLoss(tensor([1]), tensor([1]), { scale: 1, lo: 3, hi: 1 }))),
    ),
  );
});

function catchSync(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
}

Deno.test("per-start learning-rate multipliers: 0 holds a start, 0.5 equals half the learning rate alone", async () => {
  const S = 3, d = 2, m = randn(S * d, 81, 2), z0 = randn(S * d, 82);
  const o = { lr: 0.04, maxSteps: 150, tol: 0, gtol: 0 };
  const res = await optimizeLatents(cpu64, z0, d, quadratic(cpu64, m, S, d, [1, 3]), {
    ...o,
    lrScale: [1, 0, 0.5],
  });
  assertEquals(Array.from(res.z.slice(d, 2 * d)), Array.from(z0.slice(d, 2 * d)));
  const alone = await optimizeLatents(
    cpu64,
    z0.slice(2 * d),
    d,
    quadratic(cpu64, m.slice(2 * d), 1, d, [1, 3]),
    {
      ...o,
      lr: 0.02,
    },
  );
  assertClose(alone.z, res.z.slice(2 * d), { atol: 1e-7, rtol: 1e-6 });
});

Deno.test({
  name: "WebGPU: the batched run matches the float64 CPU run",
  ignore: !HAS_GPU,
  fn: async () => {
    const g = (await gpu())!;
    const S = 5, d = 3, m = randn(S * d, 71, 1.5), z0 = randn(S * d, 72);
    // Per-start lr multipliers exercise the device-side mask used for freezing.
    const opts = {
      lr: 0.05,
      maxSteps: 120,
      checkEvery: 40,
      tol: 0,
      gtol: 0,
      clipNorm: 1,
      lrScale: [1, 0, 0.5, 2, 1],
    };
    const ref = await optimizeLatents(cpu64, z0, d, quadratic(cpu64, m, S, d), opts);
    const got = await optimizeLatents(g, z0, d, quadratic(g, m, S, d), opts);
    assertClose(got.z, ref.z, { atol: 1e-4, rtol: 1e-4, msg: "z" });
    assertClose(got.loss, ref.loss, { atol: 1e-4, rtol: 1e-3, msg: "loss" });
  },
});
