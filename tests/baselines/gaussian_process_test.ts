/**
 * Gaussian process: posterior and marginal likelihood against closed forms with an explicit 3×3 inverse, autodiff
 * gradients against finite differences, noise recovery on a known GP draw, determinism and state round trips.
 */
import { assert, assertClose, cpu, cpu64, gpu, HAS_GPU } from "../_helpers.ts";
import {
  gaussianProcess,
  type GaussianProcessModel,
  type GaussianProcessParams,
  GpMarginalLikelihood,
  gpPredictTensors,
  maternKernelTensor,
  maternMatrix,
} from "../../nn/baselines/gaussian_process.ts";
import { choleskyFactor } from "../../nn/baselines/cholesky.ts";
import { type Matrix, matrix } from "../../nn/baselines/regressor.ts";
import type { Backend } from "../../nn/backend.ts";
import { UserError } from "../../cli/errors.ts";
import { gradients } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { add, sum, tensor } from "../../nn/ops.ts";
import { Rng } from "../../nn/random.ts";

const params = (p: Partial<GaussianProcessParams> = {}) => ({ ...gaussianProcess.defaults, ...p });

/** The Matérn-5/2 covariance written out by hand: c(1 + √5r/ℓ + 5r²/3ℓ²)·exp(−√5r/ℓ). */
function handKernel(a: number[], b: number[], c: number, ell: number): number {
  const r = Math.hypot(...a.map((v, i) => v - b[i]));
  const u = Math.sqrt(5) * r / ell;
  return c * (1 + u + u * u / 3) * Math.exp(-u);
}

/** Inverse and determinant of a 3×3 matrix by the adjugate (no factorisation). */
function inverse3(m: number[][]): { inv: number[][]; det: number } {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  const adj = [
    [A, -(b * i - c * h), b * f - c * e],
    [B, a * i - c * g, -(a * f - c * d)],
    [C, -(a * h - b * g), a * e - b * d],
  ];
  return { inv: adj.map((row) => row.map((v) => v / det)), det };
}

const X3 = [[0, 0], [0.7, 0.2], [1.9, -0.4]];
const Y3 = [310, 240, 420];
const Q = [[0.3, 0.1], [1.2, -0.1], [3, 1]];
const HP = { c: 1.7, ell: 0.8, noise: 0.05 };

/** Closed-form posterior (on standardised or raw targets) with noise in the predictive variance. */
function closedForm(normalize: boolean) {
  const mean = normalize ? Y3.reduce((s, v) => s + v, 0) / 3 : 0;
  const std = normalize ? Math.sqrt(Y3.reduce((s, v) => s + (v - mean) ** 2, 0) / 3) : 1;
  const yn = Y3.map((v) => (v - mean) / std);
  const K = X3.map((a, i) => X3.map((b, j) => handKernel(a, b, HP.c, HP.ell) + (i === j ? HP.noise : 0)));
  const { inv, det } = inverse3(K);
  const kinvY = inv.map((row) => row.reduce((s, v, j) => s + v * yn[j], 0));
  const mu: number[] = [], sd: number[] = [];
  for (const q of Q) {
    const ks = X3.map((a) => handKernel(q, a, HP.c, HP.ell));
    const kinvK = inv.map((row) => row.reduce((s, v, j) => s + v * ks[j], 0));
    mu.push(mean + std * ks.reduce((s, v, j) => s + v * kinvY[j], 0));
    sd.push(std * Math.sqrt(HP.c + HP.noise - ks.reduce((s, v, j) => s + v * kinvK[j], 0)));
  }
  const nlml = 0.5 * yn.reduce((s, v, i) => s + v * kinvY[i], 0) + 0.5 * Math.log(det) +
    1.5 * Math.log(2 * Math.PI);
  return { mu, sd, nlml };
}

const m3 = matrix(3, 2, Float64Array.from(X3.flat()));
const q3 = matrix(3, 2, Float64Array.from(Q.flat()));
const fixed = (normalizeY: boolean) =>
  params({
    optimize: false,
    normalizeY,
    initConstant: HP.c,
    initLengthScale: HP.ell,
    initNoise: HP.noise,
    diagonalJitter: 0,
  });

Deno.test("gp: posterior mean and σ on 3 points match the closed form (explicit 3×3 inverse)", async () => {
  for (const normalizeY of [false, true]) {
    const want = closedForm(normalizeY);
    const cases: [Backend, number][] = [[cpu64, 1e-9], [cpu, 2e-4]];
    for (const [be, rtol] of cases) {
      const model = await gaussianProcess.fit(m3, Float64Array.from(Y3), fixed(normalizeY), {
        backend: be,
        seed: 0,
      });
      const p = await model.predict(q3, be);
      const msg = `${be.description} normalizeY=${normalizeY}`;
      assertClose(p.mean, want.mu, { atol: 0, rtol, msg: `${msg} mean` });
      assertClose(p.std!, want.sd, { atol: 0, rtol, msg: `${msg} σ` });
      assertClose([(model as GaussianProcessModel).nlml], [want.nlml], { atol: 1e-10, rtol: 1e-10, msg });
    }
  }
});

Deno.test("gp: negative log marginal likelihood matches ½yᵀK⁻¹y + ½log det K + (n/2)log 2π", () => {
  const want = closedForm(false);
  const y = Float64Array.from(Y3);
  const ml = new GpMarginalLikelihood(m3, y, false, 0, cpu64);
  const got = ml.value([Math.log(HP.c), Math.log(HP.ell), Math.log(HP.noise)]).nlml;
  assertClose([got], [want.nlml], { atol: 0, rtol: 1e-12 });
});

function randomProblem(n: number, d: number, seed: number): { x: Matrix; y: Float64Array } {
  const r = new Rng(seed);
  const x = matrix(n, d, Float64Array.from({ length: n * d }, () => r.normal()));
  return { x, y: Float64Array.from({ length: n }, () => r.normal()) };
}

/** Max relative error of the engine gradient against central differences of the float64 value. */
async function gradientError(be: Backend, ard: boolean): Promise<number> {
  const { x, y } = randomProblem(12, 3, 5);
  const ml = new GpMarginalLikelihood(x, y, ard, 1e-10, be);
  const theta = Float64Array.from(ard ? [0.3, -0.2, 0.4, 0.1, -1.5] : [0.3, 0.2, -1.5]);
  const { nlml, grad } = await ml.valueAndGradient(theta);
  ml.dispose();
  assertClose([nlml], [ml.value(theta).nlml], { atol: 0, rtol: 1e-14 });
  let worst = 0;
  const scale = Math.max(...Array.from(grad, Math.abs));
  theta.forEach((_, i) => {
    const h = 1e-5, up = theta.slice(), dn = theta.slice();
    up[i] += h, dn[i] -= h;
    const fd = (ml.value(up).nlml - ml.value(dn).nlml) / (2 * h);
    worst = Math.max(worst, Math.abs(grad[i] - fd) / scale);
  });
  return worst;
}

Deno.test("gp: dNLML/dθ from the engine graph matches central finite differences (isotropic and ARD)", async () => {
  for (const ard of [false, true]) {
    const e64 = await gradientError(cpu64, ard);
    assert(e64 < 1e-7, `float64 CPU, ard=${ard}: relative error ${e64}`);
    const e32 = await gradientError(cpu, ard);
    assert(e32 < 1e-4, `float32 CPU, ard=${ard}: relative error ${e32}`);
  }
});

Deno.test({
  name: "gp: dNLML/dθ on WebGPU matches finite differences",
  ignore: !HAS_GPU,
  fn: async () => {
    const e = await gradientError((await gpu())!, true);
    assert(e < 1e-3, `WebGPU: relative error ${e}`);
  },
});

Deno.test("gp: engine Matérn kernel equals the float64 host kernel; query gradients are finite at training points", async () => {
  const { x } = randomProblem(6, 3, 2);
  const q = matrix(2, 3, Float64Array.from([...x.data.subarray(0, 3), 0.1, -0.2, 0.3]));
  const ls = [0.7, 1.3, 2.1];
  const want = maternMatrix(q, x, ls, 1.4);
  const got = scope(() => {
    const k = maternKernelTensor(
      tensor(q.data, [2, 3], { backend: cpu64 }),
      tensor(x.data, [6, 3], { backend: cpu64 }),
      tensor(ls.map(Math.log), [3], { backend: cpu64 }),
      tensor([Math.log(1.4)], [1], { backend: cpu64 }),
    );
    return Float64Array.from(cpu64.data(k));
  });
  assertClose(got, want, { atol: 1e-12, rtol: 1e-12 });

  // The predictive mean and σ are differentiable in the query (Bayesian optimisation): compare with differences.
  const { y } = randomProblem(6, 3, 3);
  const model = await gaussianProcess.fit(x, y.map((v) => 500 + 100 * v), params({ ard: true }), {
    backend: cpu64,
    seed: 0,
  }) as GaussianProcessModel;
  const g = scope(() => {
    const xq = tensor(q.data, [2, 3], { backend: cpu64, requiresGrad: true });
    const { mean, std } = gpPredictTensors(model, xq);
    const [gx] = gradients(add(sum(mean), sum(std)), [xq]);
    return Float64Array.from(cpu64.data(gx!));
  });
  assert(g.every(Number.isFinite), `gradient ${g}`);
  const total = async (data: Float64Array) => {
    const p = await model.predict(matrix(2, 3, data), cpu64);
    return p.mean.reduce((s, v) => s + v, 0) + p.std!.reduce((s, v) => s + v, 0);
  };
  const fd = await Promise.all(Array.from(q.data, async (_, i) => {
    const h = 1e-6, up = q.data.slice(), dn = q.data.slice();
    up[i] += h, dn[i] -= h;
    return ((await total(up)) - (await total(dn))) / (2 * h);
  }));
  assertClose(g, fd, { atol: 1e-4, rtol: 1e-5 });
  model.disposeTensors();
});

/** A draw from a GP (c = 1, ℓ = 1.5) at 100 points of [0, 10] plus N(0, 0.2²) noise. */
function gpDraw(seed: number): { x: Matrix; y: Float64Array } {
  const r = new Rng(seed);
  const n = 100;
  const x = matrix(n, 1, Float64Array.from({ length: n }, () => 10 * r.uniform()));
  const k = maternMatrix(x, x, [1.5], 1);
  const f = choleskyFactor(k, n); // jitter is added if needed
  const z = Float64Array.from({ length: n }, () => r.normal());
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j <= i; j++) s += f.l[i * n + j] * z[j];
    y[i] = s + 0.2 * r.normal();
  }
  return { x, y };
}

Deno.test("gp: fitting a known GP draw recovers the noise variance roughly and beats the true θ's likelihood", async () => {
  const { x, y } = gpDraw(11);
  for (const normalizeY of [false, true]) {
    const m = await gaussianProcess.fit(x, y, params({ normalizeY }), {
      backend: cpu64,
      seed: 0,
    }) as GaussianProcessModel;
    const noise = m.noise * m.yStd ** 2;
    assert(noise > 0.02 && noise < 0.08, `noise variance ${noise} (true 0.04), normalizeY=${normalizeY}`);
    if (normalizeY) continue;
    // On raw targets the model is the generating one: ℓ comes out near 1.5 and the optimum is at least as likely.
    const ell = m.lengthScales[0];
    assert(ell > 0.75 && ell < 3, `length-scale ${ell} (true 1.5)`);
    const truth =
      new GpMarginalLikelihood(x, y, false, 1e-10, cpu64).value([0, Math.log(1.5), Math.log(0.04)]).nlml;
    assert(m.nlml <= truth, `fitted NLML ${m.nlml} > NLML at the true θ ${truth}`);
  }
});

Deno.test("gp: fits are deterministic by seed (with restarts); state()/restore() predicts identically", async () => {
  const { x, y } = randomProblem(15, 2, 8);
  const hv = y.map((v, i) => 400 + 80 * v + 50 * x.data[2 * i]);
  const p = params({ ard: true, restarts: 2 });
  const a = await gaussianProcess.fit(x, hv, p, { backend: cpu, seed: 3 }) as GaussianProcessModel;
  const b = await gaussianProcess.fit(x, hv, p, { backend: cpu, seed: 3 }) as GaussianProcessModel;
  assertClose(a.theta, b.theta, { atol: 0, rtol: 0 });
  assert(a.runs.length === 3, `${a.runs.length} L-BFGS runs, expected 1 + 2 restarts`);
  const q = randomProblem(7, 2, 9).x;
  const pa = await a.predict(q, cpu);
  const pb = await b.predict(q, cpu);
  assertClose(pa.mean, pb.mean, { atol: 0, rtol: 0 });

  const st = a.state();
  const json = JSON.parse(JSON.stringify(st.params));
  const restored = gaussianProcess.restore({ ...st, params: json });
  const pr = await restored.predict(q, cpu);
  assertClose(pr.mean, pa.mean, { atol: 0, rtol: 0 });
  assertClose(pr.std!, pa.std!, { atol: 0, rtol: 0 });
  assert(pa.std!.every((s) => s > 0));

  const bad = { ...st, arrays: { ...st.arrays, alpha: { ...st.arrays.alpha, shape: [3] } } };
  let msg = "";
  try {
    gaussianProcess.restore(bad);
  } catch (e) {
    assert(e instanceof UserError);
    msg = e.message;
  }
  assert(msg.includes("'alpha'") && msg.includes("expected [15]"), msg);
});

Deno.test("gp: bad input names the row, column or field", async () => {
  const ctx = { backend: cpu, seed: 0 };
  const x = matrix(2, 2, new Float64Array([0, 1, NaN, 2]));
  const expect = async (fn: () => Promise<unknown>, needle: string) => {
    let msg = "";
    try {
      await fn();
    } catch (e) {
      assert(e instanceof UserError, String(e));
      msg = e.message;
    }
    assert(msg.includes(needle), `"${msg}" lacks "${needle}"`);
  };
  await expect(() => gaussianProcess.fit(x, new Float64Array(2), params(), ctx), "x row 1, column 0 is NaN");
  await expect(() => gaussianProcess.fit(m3, new Float64Array(3), params({ restarts: -1 }), ctx), "restarts");
  await expect(() => gaussianProcess.fit(m3, new Float64Array(2), params(), ctx), "2 targets for 3 rows");
  const model = await gaussianProcess.fit(m3, Float64Array.from(Y3), fixed(true), ctx);
  await expect(() => model.predict(matrix(1, 3), cpu), "x has 3 columns, the model was fitted on 2");
});
