/**
 * Ridge against the normal equations solved independently (explicit 2×2 inverse on a hand case), exact least squares
 * as α → 0, the no-intercept form, input errors, and state()/restore() round trips.
 */
import { assert, assertClose, assertEquals, cpu } from "../_helpers.ts";
import { UserError } from "../../cli/errors.ts";
import { matrix } from "../../nn/baselines/regressor.ts";
import { ridge } from "../../nn/baselines/ridge.ts";

const ctx = { backend: cpu, seed: 0 };
// Four rows, two columns.
const X = matrix(4, 2, Float64Array.from([1, 0, 0, 1, 1, 1, 2, 1]));
const Y = Float64Array.from([1, 2, 4, 5]);

/** (A + αI)⁻¹·c for a 2×2 A by the explicit inverse formula. */
function solve2(a: number[], c: number[], alpha: number): number[] {
  const [p, q, r, s] = [a[0] + alpha, a[1], a[2], a[3] + alpha];
  const det = p * s - q * r;
  return [(s * c[0] - q * c[1]) / det, (-r * c[0] + p * c[1]) / det];
}

/** Normal equations by hand: centred Gram, Xᵀy, then w and b = ȳ − x̄·w. */
function reference(alpha: number, intercept: boolean): { w: number[]; b: number } {
  const mx = intercept ? [1, 0.75] : [0, 0]; // column means (1+0+1+2)/4, (0+1+1+1)/4
  const my = intercept ? 3 : 0;
  const g = [0, 0, 0, 0], c = [0, 0];
  for (let i = 0; i < 4; i++) {
    const u = X.data[2 * i] - mx[0], v = X.data[2 * i + 1] - mx[1], t = Y[i] - my;
    g[0] += u * u, g[1] += u * v, g[2] += v * u, g[3] += v * v;
    c[0] += u * t, c[1] += v * t;
  }
  const w = solve2(g, c, alpha);
  return { w, b: my - mx[0] * w[0] - mx[1] * w[1] };
}

async function fitted(alpha: number, fitIntercept = true) {
  const model = await ridge.fit(X, Y, { alpha, fitIntercept }, ctx);
  const st = model.state();
  return { model, coef: st.arrays.coef.data as Float64Array, b: st.params.intercept as number };
}

Deno.test("ridge: defaults are scikit-learn's", () => {
  assertEquals(ridge.defaults, { alpha: 1, fitIntercept: true });
});

Deno.test("ridge: matches the normal equations with α = 1 and α = 0.3, with and without intercept", async () => {
  for (const alpha of [1, 0.3]) {
    for (const intercept of [true, false]) {
      const { coef, b } = await fitted(alpha, intercept);
      const ref = reference(alpha, intercept);
      assertClose(coef, ref.w, { atol: 1e-6, msg: `α=${alpha} intercept=${intercept}` });
      assertClose([b], [ref.b], { atol: 1e-6 });
    }
  }
  // By hand for α = 1: Xc = [[0, −¾], [−1, ¼], [0, ¼], [1, ¼]], yc = [−2, −1, 1, 2] ⇒ XcᵀXc = diag(2, ¾),
  // Xcᵀyc = [3, 2] ⇒ w = [3/3, 2/1.75] = [1, 8/7], b = 3 − 1 − ¾·8/7 = 8/7.
  const { coef, b } = await fitted(1);
  assertClose(coef, [1, 8 / 7], { atol: 1e-6 });
  assertClose([b], [8 / 7], { atol: 1e-6 });
});

Deno.test("ridge: α → 0 reproduces exact least squares and an exactly linear target", async () => {
  const ls = reference(0, true);
  const { coef, b, model } = await fitted(1e-10);
  assertClose(coef, ls.w, { atol: 1e-5 });
  assertClose([b], [ls.b], { atol: 1e-5 });
  // Least-squares residuals sum to zero and are orthogonal to every column.
  const pred = (await model.predict(X, cpu)).mean;
  const r = Array.from(Y, (y, i) => y - pred[i]);
  const dot = (c: number) => r.reduce((s, v, i) => s + v * X.data[2 * i + c], 0);
  assertClose([r.reduce((s, v) => s + v, 0), dot(0), dot(1)], [0, 0, 0], { atol: 1e-5 });
  const lin = Float64Array.from({ length: 4 }, (_, i) => 3 + 2 * X.data[2 * i] - X.data[2 * i + 1]);
  const exact = (await ridge.fit(X, lin, { alpha: 0, fitIntercept: true }, ctx)).state();
  assertClose(exact.arrays.coef.data, [2, -1], { atol: 1e-5 });
  assertClose([exact.params.intercept as number], [3], { atol: 1e-5 });
});

Deno.test("ridge: bad input is a one-line UserError naming the field", async () => {
  const collinear = matrix(3, 2, Float64Array.from([0.2, 0.8, 0.5, 0.5, 0.9, 0.1])); // rows sum to 1
  const y3 = Float64Array.from([1, 2, 3]);
  const cases: [() => Promise<unknown>, RegExp][] = [
    [() => ridge.fit(collinear, y3, { alpha: 0, fitIntercept: true }, ctx), /ridge alpha: .*singular/],
    [() => ridge.fit(X, Y, { alpha: -1, fitIntercept: true }, ctx), /ridge alpha: expected a number ≥ 0/],
    [() => ridge.fit(X, y3, ridge.defaults, ctx), /4 input rows but 3 targets/],
    [
      () => ridge.fit(matrix(1, 2, Float64Array.from([1, NaN])), y3.subarray(0, 1), ridge.defaults, ctx),
      /row 0, column 1/,
    ],
  ];
  for (const [fn, re] of cases) {
    let err: unknown;
    try {
      await fn();
    } catch (e) {
      err = e;
    }
    assert(err instanceof UserError && re.test(err.message) && !err.message.includes("\n"), `${re}: ${err}`);
  }
  // The same collinear design is fine with the default α.
  await ridge.fit(collinear, y3, ridge.defaults, ctx);
});

Deno.test("ridge: state()/restore() round trip predicts identically; predictions are X·w + b", async () => {
  const model = await ridge.fit(X, Y, ridge.defaults, ctx);
  const xt = matrix(3, 2, Float64Array.from([0.5, -1, 3, 2, 0, 0]));
  const before = (await model.predict(xt, cpu)).mean;
  const json = JSON.parse(JSON.stringify(model.state().params));
  const st = model.state();
  const again = ridge.restore({ kind: "ridge", params: json, arrays: st.arrays });
  assertEquals(Array.from((await again.predict(xt, cpu)).mean), Array.from(before));
  const w = st.arrays.coef.data, b = st.params.intercept as number;
  assertClose(before, [0, 1, 2].map((i) => b + w[0] * xt.data[2 * i] + w[1] * xt.data[2 * i + 1]), {
    atol: 1e-12,
  });
  let err: unknown;
  try {
    ridge.restore({ kind: "ridge", params: { ...json, intercept: "x" }, arrays: st.arrays });
  } catch (e) {
    err = e;
  }
  assert(err instanceof UserError && /params.intercept/.test(err.message), String(err));
});
