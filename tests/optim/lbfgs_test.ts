/** L-BFGS: Rosenbrock to 1e-6, box bounds, a wall of non-finite values, and a bad start. */
import { assert } from "../_helpers.ts";
import { minimizeLbfgs } from "../../nn/optim/lbfgs.ts";

/** Chained Rosenbrock Σ 100(x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at all ones. */
function rosenbrock(x: Float64Array) {
  let f = 0;
  const g = new Float64Array(x.length);
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
    f += 100 * a * a + b * b;
    g[i] += -400 * a * x[i] - 2 * b;
    g[i + 1] += 200 * a;
  }
  return { f, grad: g };
}

Deno.test("lbfgs: minimises Rosenbrock from (−1.2, 1) and in 8 dimensions to 1e-6", async () => {
  for (const x0 of [[-1.2, 1], [-1.2, 1, -1.2, 1, -1.2, 1, -1.2, 1]]) {
    const r = await minimizeLbfgs(rosenbrock, x0, { gradTol: 1e-10, relTol: 0 });
    assert(r.converged, r.message);
    const err = Math.max(...Array.from(r.x, (v) => Math.abs(v - 1)));
    assert(err < 1e-6, `|x − 1| = ${err} after ${r.iterations} iterations (${r.message})`);
    assert(r.f < 1e-12, `f = ${r.f}`);
  }
});

Deno.test("lbfgs: box bounds hold the solution at the active bounds", async () => {
  // min (x0 − 3)² + (x1 + 1)² + (x2 − 0.5)² with x0 ≤ 2, x1 ≥ 0, x2 free inside [0, 1].
  const obj = (x: Float64Array) => ({
    f: (x[0] - 3) ** 2 + (x[1] + 1) ** 2 + (x[2] - 0.5) ** 2,
    grad: new Float64Array([2 * (x[0] - 3), 2 * (x[1] + 1), 2 * (x[2] - 0.5)]),
  });
  const r = await minimizeLbfgs(obj, [0, 5, 0.9], { lower: [-10, 0, 0], upper: [2, 10, 1] });
  assert(r.converged, r.message);
  assert(r.x[0] === 2 && r.x[1] === 0 && Math.abs(r.x[2] - 0.5) < 1e-6, `x = ${Array.from(r.x)}`);
});

Deno.test("lbfgs: backs off from non-finite values instead of stepping into them", async () => {
  // f = −x for x ≤ 1 and +∞ beyond: the best point is the wall at 1; every iterate must stay finite.
  let sawInfinity = false;
  const obj = (x: Float64Array) => {
    if (x[0] > 1) {
      sawInfinity = true;
      return { f: Infinity, grad: new Float64Array(1) };
    }
    return { f: -x[0] + 0.1 * x[0] * x[0], grad: new Float64Array([-1 + 0.2 * x[0]]) };
  };
  const r = await minimizeLbfgs(obj, [0], {});
  assert(sawInfinity, "the test should probe the wall");
  assert(Number.isFinite(r.f) && r.x[0] <= 1 && r.x[0] > 0.9, `x = ${r.x[0]}, f = ${r.f} (${r.message})`);
});

Deno.test("lbfgs: a non-finite start is an error", async () => {
  let msg = "";
  try {
    await minimizeLbfgs(() => ({ f: NaN, grad: new Float64Array(1) }), [0]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("not finite at the starting point"), msg);
});
