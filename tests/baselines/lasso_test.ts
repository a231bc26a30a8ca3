/**
 * Lasso against closed forms and optimality conditions: an orthonormal design (XcᵀXc = n·I) gives soft-thresholding
 * exactly; α ≥ max|Xcᵀyc|/n gives all-zero weights; on a random correlated problem the KKT (subgradient) conditions
 * hold; state()/restore() round trips.
 */
import { assert, assertClose, assertEquals, cpu, randn } from "../_helpers.ts";
import { UserError } from "../../cli/errors.ts";
import { matrix } from "../../nn/baselines/regressor.ts";
import { lasso, type LassoParams } from "../../nn/baselines/lasso.ts";

const ctx = { backend: cpu, seed: 0 };
// Columns of a 4×4 Hadamard matrix without the constant one: centred, orthogonal, each with squared norm 4 = n.
const H = matrix(4, 3, Float64Array.from([1, 1, 1, -1, 1, -1, 1, -1, -1, -1, -1, 1]));
const Y = Float64Array.from([10, 4, -2, 3]);

const soft = (z: number, t: number) => Math.sign(z) * Math.max(Math.abs(z) - t, 0);
const params = (alpha: number): LassoParams => ({ ...lasso.defaults, alpha });

Deno.test("lasso: defaults are scikit-learn's", () => {
  assertEquals(lasso.defaults, { alpha: 1, fitIntercept: true, maxIter: 1000, tol: 1e-4 });
});

Deno.test("lasso: orthonormal design equals soft-thresholding of Xᵀy/n", async () => {
  const n = 4, mean = (10 + 4 - 2 + 3) / 4;
  for (const alpha of [0.5, 1, 2.6, 4]) {
    const st = (await lasso.fit(H, Y, params(alpha), ctx)).state();
    const expected = [0, 1, 2].map((c) => {
      let z = 0;
      for (let i = 0; i < n; i++) z += H.data[i * 3 + c] * Y[i];
      return soft(z / n, alpha);
    });
    // z/n = [0.25, 3.25, 2.75]: α = 2.6 keeps two weights, α = 4 none.
    assertClose(st.arrays.coef.data, expected, { atol: 1e-9, msg: `α=${alpha}` });
    assertClose([st.params.intercept as number], [mean], { atol: 1e-9 });
    assert(st.params.converged === true, "converged");
  }
});

Deno.test("lasso: a large α gives all-zero weights and the mean as prediction", async () => {
  const x = matrix(30, 4, Float64Array.from(randn(120, 3)));
  const y = Float64Array.from(randn(30, 4, 50), (v, i) => v + 3 * x.data[i * 4]);
  const model = await lasso.fit(x, y, params(1e4), ctx);
  const st = model.state();
  assertEquals(Array.from(st.arrays.coef.data), [0, 0, 0, 0]);
  const mean = y.reduce((s, v) => s + v, 0) / 30;
  assertClose((await model.predict(x, cpu)).mean, new Array(30).fill(mean), { atol: 1e-9 });
});

Deno.test("lasso: KKT conditions hold on a correlated random problem", async () => {
  const n = 40, d = 5;
  const z = randn(n * d, 5);
  const xs = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) xs[i * d + c] = z[i * d + c] + (c > 0 ? 0.8 * z[i * d] : 0); // correlated columns
  }
  const x = matrix(n, d, xs);
  const noise = randn(n, 6);
  const y = Float64Array.from({ length: n }, (_, i) => 5 + 2 * xs[i * d] - xs[i * d + 2] + 0.5 * noise[i]);
  const alpha = 0.1;
  const model = await lasso.fit(x, y, { ...params(alpha), tol: 1e-10, maxIter: 100000 }, ctx);
  const w = model.state().arrays.coef.data;
  const r = (await model.predict(x, cpu)).mean.map((p, i) => y[i] - p);
  assertClose([r.reduce((s, v) => s + v, 0)], [0], { atol: 1e-6, msg: "intercept: residuals sum to 0" });
  let zeros = 0;
  for (let c = 0; c < d; c++) {
    let g = 0;
    for (let i = 0; i < n; i++) g += xs[i * d + c] * r[i] / n; // X_cᵀr/n ∈ α·∂|w_c|
    if (w[c] !== 0) assertClose([g], [alpha * Math.sign(w[c])], { atol: 1e-4, msg: `active ${c}` });
    else {
      zeros++;
      assert(Math.abs(g) <= alpha + 1e-4, `inactive ${c}: |${g}| > ${alpha}`);
    }
  }
  assert(zeros > 0 && zeros < d, `expected a sparse but non-empty solution, got ${Array.from(w)}`);
});

Deno.test("lasso: bad hyperparameters are UserErrors; state()/restore() round trip predicts identically", async () => {
  for (
    const [p, re] of [[{ alpha: -1 }, /lasso alpha/], [{ maxIter: 2.5 }, /lasso maxIter/], [
      { tol: NaN },
      /lasso tol/,
    ]]
  ) {
    let err: unknown;
    try {
      await lasso.fit(H, Y, { ...lasso.defaults, ...(p as object) }, ctx);
    } catch (e) {
      err = e;
    }
    assert(err instanceof UserError && (re as RegExp).test(err.message), `${re}: ${err}`);
  }
  const model = await lasso.fit(H, Y, lasso.defaults, ctx);
  const st = model.state();
  const again = lasso.restore({
    kind: "lasso",
    params: JSON.parse(JSON.stringify(st.params)),
    arrays: st.arrays,
  });
  const xt = matrix(2, 3, Float64Array.from([0.3, -2, 5, 1, 1, 1]));
  assertEquals(
    Array.from((await again.predict(xt, cpu)).mean),
    Array.from((await model.predict(xt, cpu)).mean),
  );
  let err: unknown;
  try {
    lasso.restore({ ...st, kind: "ridge" });
  } catch (e) {
    err = e;
  }
  assert(err instanceof UserError, String(err));
});
