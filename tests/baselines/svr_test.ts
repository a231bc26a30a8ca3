/**
 * ε-SVR: the SMO solution satisfies the KKT conditions of the dual (on a float64 kernel, independently of the engine),
 * a huge ε leaves no support vector and predicts the constant b = (max y + min y)/2, a 1-D toy problem is fitted within
 * ε, predictions equal the dual expansion recomputed in float64 from the state, gamma "scale" on standardised inputs,
 * state()/restore() round trips and determinism.
 */
import { assert, assertClose, assertEquals, cpu, gpu, HAS_GPU, randn, randu } from "../_helpers.ts";
import { UserError } from "../../cli/errors.ts";
import { type Matrix, matrix } from "../../nn/baselines/regressor.ts";
import { solveEpsilonSvr, svr, type SvrParams } from "../../nn/baselines/svr.ts";

const ctx = { backend: cpu, seed: 0 };

/** A noisy 2-D regression problem. */
function problem(n: number, seed: number): { x: Matrix; y: Float64Array } {
  const u = randu(2 * n, seed, -2, 2), e = randn(n, seed + 1, 0.2);
  const x = matrix(n, 2, Float64Array.from(u));
  const y = Float64Array.from(
    { length: n },
    (_, i) => Math.sin(2 * u[2 * i]) + 0.5 * u[2 * i + 1] ** 2 + e[i],
  );
  return { x, y };
}

function rbf(x: Matrix, gamma: number): Float64Array {
  const n = x.rows, k = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < x.cols; c++) s += (x.data[i * x.cols + c] - x.data[j * x.cols + c]) ** 2;
      k[i * n + j] = Math.exp(-gamma * s);
    }
  }
  return k;
}

Deno.test("svr: defaults are scikit-learn's, plus standardisation", () => {
  assertEquals(svr.defaults, {
    C: 1,
    epsilon: 0.1,
    gamma: "scale",
    tol: 1e-3,
    maxIter: 10_000_000,
    standardize: true,
  });
});

Deno.test("svr: the SMO solution satisfies the KKT conditions of the ε-SVR dual", () => {
  const { x, y } = problem(60, 1);
  const k = rbf(x, 0.7);
  for (const [C, eps] of [[1, 0.1], [10, 0.3], [0.05, 0.05]]) {
    const tol = 1e-3;
    const sol = solveEpsilonSvr(k, y, C, eps, tol, 1e7);
    assert(sol.converged, "converged");
    assertClose([sol.coef.reduce((s, v) => s + v, 0)], [0], { atol: 1e-9, msg: "Σ(α − α*) = 0" });
    let free = 0, bounded = 0, zero = 0;
    for (let i = 0; i < y.length; i++) {
      let f = sol.intercept;
      for (let j = 0; j < y.length; j++) f += sol.coef[j] * k[i * y.length + j];
      const r = y[i] - f, c = sol.coef[i];
      assert(Math.abs(c) <= C + 1e-12, `|coef| ≤ C at ${i}`);
      if (c === 0) {
        zero++;
        assert(Math.abs(r) <= eps + tol, `inside the tube at ${i}: |${r}| > ${eps}`);
      } else if (Math.abs(c) < C) {
        free++;
        assert(
          Math.sign(r) === Math.sign(c) && Math.abs(Math.abs(r) - eps) <= tol,
          `on the tube at ${i}: ${r}`,
        );
      } else {
        bounded++;
        assert(Math.sign(r) === Math.sign(c) && Math.abs(r) >= eps - tol, `outside the tube at ${i}: ${r}`);
      }
    }
    assert(free > 0 && zero > 0, `C=${C} ε=${eps}: free ${free}, bounded ${bounded}, zero ${zero}`);
  }
});

Deno.test("svr: with a huge ε there are no support vectors and the prediction is the constant b", async () => {
  const { x, y } = problem(25, 3);
  const model = await svr.fit(x, y, { ...svr.defaults, epsilon: 100 }, ctx);
  const st = model.state();
  assertEquals(st.arrays.dualCoef.shape, [0]);
  let lo = Infinity, hi = -Infinity;
  for (const v of y) lo = Math.min(lo, v), hi = Math.max(hi, v);
  // No free variable: b is the midpoint of its feasible interval, (max + min)/2 of the (standardised) targets.
  const pred = (await model.predict(problem(7, 9).x, cpu)).mean;
  assertClose(pred, new Array(7).fill((hi + lo) / 2), { atol: 1e-9 });
});

Deno.test("svr: a 1-D toy problem is fitted within ε on every training point", async () => {
  const n = 40;
  const x = matrix(n, 1, Float64Array.from({ length: n }, (_, i) => (i / (n - 1)) * 2 * Math.PI));
  const y = x.data.map((v) => 500 + 100 * Math.sin(v));
  const params: SvrParams = { ...svr.defaults, C: 1000, epsilon: 0.05 };
  const model = await svr.fit(x, y, params, ctx);
  const st = model.state();
  const yScale = st.params.yScale as number;
  assertClose([yScale], [Math.sqrt(y.reduce((s, v) => s + (v - 500) ** 2, 0) / n)], { rtol: 1e-3 });
  assertClose([st.params.gammaValue as number], [1], { rtol: 1e-12, msg: "gamma scale = 1/(1·Var) = 1" });
  const pred = (await model.predict(x, cpu)).mean;
  for (let i = 0; i < n; i++) {
    assert(Math.abs(pred[i] - y[i]) <= (0.05 + 2e-3) * yScale, `row ${i}: |${pred[i]} − ${y[i]}| > ε`);
  }
  assert(st.arrays.dualCoef.shape[0] < n, "some points lie strictly inside the tube");
});

Deno.test("svr: predictions equal the dual expansion recomputed in float64 from the state", async () => {
  const { x, y } = problem(50, 5);
  // A constant column: its scale is 1, and gamma "scale" = 1/(d·Var) sees Var = 2/3 over the standardised entries.
  const x3 = matrix(
    50,
    3,
    Float64Array.from({ length: 150 }, (_, k) => (k % 3 === 2 ? 7 : x.data[(k / 3 | 0) * 2 + k % 3])),
  );
  const ys = y.map((v) => 300 * v + 800);
  const model = await svr.fit(x3, ys, svr.defaults, ctx);
  const st = model.state();
  const g = st.params.gammaValue as number;
  assertClose([g], [1 / (3 * (2 / 3))], { rtol: 1e-9 });
  const xt = matrix(6, 3, Float64Array.from(randn(18, 21)));
  const pred = (await model.predict(xt, cpu)).mean;
  const sv = st.arrays.supportVectors.data, coef = st.arrays.dualCoef.data;
  const mu = st.arrays.xMean.data, sc = st.arrays.xScale.data;
  assertEquals(Array.from(sc).map((v) => v > 0), [true, true, true]);
  assertEquals(sc[2], 1);
  for (let i = 0; i < 6; i++) {
    let f = st.params.intercept as number;
    for (let s = 0; s < coef.length; s++) {
      let d2 = 0;
      for (let c = 0; c < 3; c++) d2 += ((xt.data[i * 3 + c] - mu[c]) / sc[c] - sv[s * 3 + c]) ** 2;
      f += coef[s] * Math.exp(-g * d2);
    }
    const expected = (st.params.yMean as number) + (st.params.yScale as number) * f;
    assertClose([pred[i]], [expected], { atol: 1e-3, msg: `row ${i}` });
  }
});

Deno.test("svr: state()/restore() round trip, determinism, bad hyperparameters", async () => {
  const { x, y } = problem(40, 7);
  const xt = problem(5, 8).x;
  const a = await svr.fit(x, y, svr.defaults, ctx);
  const b = await svr.fit(x, y, svr.defaults, ctx);
  assertEquals(b.state(), a.state());
  const st = a.state();
  const again = svr.restore({
    kind: "svr",
    params: JSON.parse(JSON.stringify(st.params)),
    arrays: st.arrays,
  });
  assertEquals(Array.from((await again.predict(xt, cpu)).mean), Array.from((await a.predict(xt, cpu)).mean));
  const bad: [Partial<SvrParams>, RegExp][] = [
    [{ C: 0 }, /svr C/],
    [{ epsilon: -0.1 }, /svr epsilon/],
    [{ gamma: "big" as "scale" }, /svr gamma/],
  ];
  for (const [p, re] of bad) {
    let err: unknown;
    try {
      await svr.fit(x, y, { ...svr.defaults, ...p }, ctx);
    } catch (e) {
      err = e;
    }
    assert(err instanceof UserError && re.test(err.message), `${re}: ${err}`);
  }
  let err: unknown;
  try {
    svr.restore({
      ...st,
      arrays: { ...st.arrays, xScale: { dtype: "F64", shape: [1], data: new Float64Array(1) } },
    });
  } catch (e) {
    err = e;
  }
  assert(err instanceof UserError && /xScale/.test(err.message), String(err));
});

Deno.test({
  name: "svr: WebGPU and CPU fits agree",
  ignore: !HAS_GPU,
  fn: async () => {
    const g = (await gpu())!;
    const { x, y } = problem(40, 11);
    const xt = problem(6, 12).x;
    const onCpu = await svr.fit(x, y, svr.defaults, ctx);
    const onGpu = await svr.fit(x, y, svr.defaults, { backend: g, seed: 0 });
    assertClose((await onGpu.predict(xt, g)).mean, (await onCpu.predict(xt, cpu)).mean, { atol: 1e-3 });
  },
});
