/**
 * KNN on a 3×3 grid with hand-computed neighbours: p = 1 and p = 2 pick different sets, a three-way p = 1 tie is
 * broken by training index, distance weights (1/d) and the exact-match rule; re-ranking in float64 where float32
 * distances cannot tell rows apart; CPU/WebGPU agreement; state()/restore() round trips.
 */
import { assert, assertClose, assertEquals, cpu, gpu, HAS_GPU, randn } from "../_helpers.ts";
import { UserError } from "../../cli/errors.ts";
import { matrix } from "../../nn/baselines/regressor.ts";
import { knn, type KnnParams } from "../../nn/baselines/knn.ts";

const ctx = { backend: cpu, seed: 0 };
// Training row 3i + j is the grid point (i, j), i, j ∈ {0, 1, 2}, with target 2^(3i + j): a mean identifies its set.
const GRID = matrix(
  9,
  2,
  Float64Array.from({ length: 18 }, (_, k) => (k % 2 === 0 ? Math.floor(k / 6) : (k >> 1) % 3)),
);
const Y = Float64Array.from({ length: 9 }, (_, k) => 2 ** k);
// Test point t = (9/8, 11/8) (dyadic, so every distance below is exact). Offsets to the nearest grid points:
//   row 4 (1,1): (1/8, 3/8)  L1 0.5   L2² 0.15625
//   row 5 (1,2): (1/8, 5/8)  L1 0.75  L2² 0.40625
//   row 7 (2,1): (7/8, 3/8)  L1 1.25  L2² 0.90625
//   row 8 (2,2): (7/8, 5/8)  L1 1.5   L2² 1.15625
//   row 1 (0,1): (9/8, 3/8)  L1 1.5   L2² 1.40625
//   row 3 (1,0): (1/8, 11/8) L1 1.5   L2² 1.90625
// k = 4: p = 2 takes rows {4, 5, 7, 8}; p = 1 has a three-way tie at 1.5 (rows 1, 3, 8) and takes row 1, the lowest
// training index: rows {4, 5, 7, 1}.
const T = matrix(1, 2, Float64Array.from([9 / 8, 11 / 8]));

async function predict1(params: Partial<KnnParams>, x = T): Promise<Float64Array> {
  const model = await knn.fit(GRID, Y, { ...knn.defaults, ...params }, ctx);
  return (await model.predict(x, cpu)).mean;
}

Deno.test("knn: defaults are scikit-learn's", () => {
  assertEquals(knn.defaults, { nNeighbors: 5, weights: "uniform", p: 2 });
});

Deno.test("knn: grid neighbours for p = 1 and p = 2, uniform weights, ties by training index", async () => {
  assertClose(await predict1({ nNeighbors: 4, p: 2 }), [(16 + 32 + 128 + 256) / 4], { atol: 1e-12 });
  assertClose(await predict1({ nNeighbors: 4, p: 1 }), [(16 + 32 + 128 + 2) / 4], { atol: 1e-12 });
  // k = 5 under p = 1 takes the next tied row (3) before row 8.
  assertClose(await predict1({ nNeighbors: 5, p: 1 }), [(16 + 32 + 128 + 2 + 8) / 5], { atol: 1e-12 });
  assertClose(await predict1({ nNeighbors: 1 }), [16], { atol: 0 });
  // k above the training size uses every row.
  assertClose(await predict1({ nNeighbors: 50 }), [511 / 9], { atol: 1e-12 });
});

Deno.test("knn: distance weights 1/d and the exact-match rule", async () => {
  const l2 = [0.15625, 0.40625, 0.90625, 1.15625].map(Math.sqrt), y2 = [16, 32, 128, 256];
  const l1 = [0.5, 0.75, 1.25, 1.5], y1 = [16, 32, 128, 2];
  const weighted = (d: number[], y: number[]) =>
    d.reduce((s, v, i) => s + y[i] / v, 0) / d.reduce((s, v) => s + 1 / v, 0);
  assertClose(await predict1({ nNeighbors: 4, p: 2, weights: "distance" }), [weighted(l2, y2)], {
    rtol: 1e-12,
  });
  assertClose(await predict1({ nNeighbors: 4, p: 1, weights: "distance" }), [weighted(l1, y1)], {
    rtol: 1e-12,
  });
  // A test row equal to a training row gets that row's target; duplicated training rows share the weight equally.
  const onGrid = matrix(2, 2, Float64Array.from([1, 1, 2, 0]));
  assertEquals(Array.from(await predict1({ weights: "distance" }, onGrid)), [16, 64]);
  const dup = matrix(3, 2, Float64Array.from([0, 0, 0, 0, 5, 5]));
  const m = await knn.fit(dup, Float64Array.from([1, 3, 100]), {
    ...knn.defaults,
    nNeighbors: 3,
    weights: "distance",
  }, ctx);
  assertEquals(Array.from((await m.predict(matrix(1, 2, Float64Array.from([0, 0])), cpu)).mean), [2]);
});

Deno.test("knn: rows that float32 cannot tell apart are ranked by their float64 distance", async () => {
  // Training rows 1000 and 1000 + 1e-7 round to the same float32; the test row equals the second one.
  const x = matrix(2, 1, Float64Array.from([1000, 1000 + 1e-7]));
  const m = await knn.fit(x, Float64Array.from([1, 2]), { nNeighbors: 1, weights: "uniform", p: 2 }, ctx);
  assertEquals(Array.from((await m.predict(matrix(1, 1, Float64Array.from([1000 + 1e-7])), cpu)).mean), [2]);
  const m1 = await knn.fit(x, Float64Array.from([1, 2]), { nNeighbors: 2, weights: "distance", p: 1 }, ctx);
  assertEquals(Array.from((await m1.predict(matrix(1, 1, Float64Array.from([1000 + 1e-7])), cpu)).mean), [2]);
});

Deno.test("knn: state()/restore() round trip, determinism, input errors", async () => {
  const x = matrix(40, 3, Float64Array.from(randn(120, 7)));
  const y = Float64Array.from(randn(40, 8, 10));
  const xt = matrix(9, 3, Float64Array.from(randn(27, 9)));
  for (const p of [1, 2] as const) {
    const params: KnnParams = { nNeighbors: 3, weights: "distance", p };
    const a = await (await knn.fit(x, y, params, ctx)).predict(xt, cpu);
    const model = await knn.fit(x, y, params, ctx);
    const st = model.state();
    const again = knn.restore({
      kind: "knn",
      params: JSON.parse(JSON.stringify(st.params)),
      arrays: st.arrays,
    });
    assertEquals(Array.from((await again.predict(xt, cpu)).mean), Array.from(a.mean));
  }
  const bad: [Partial<KnnParams>, RegExp][] = [
    [{ nNeighbors: 0 }, /knn nNeighbors/],
    [{ weights: "cosine" as "uniform" }, /knn weights/],
    [{ p: 3 as 2 }, /knn p/],
  ];
  for (const [p, re] of bad) {
    let err: unknown;
    try {
      await knn.fit(x, y, { ...knn.defaults, ...p }, ctx);
    } catch (e) {
      err = e;
    }
    assert(err instanceof UserError && re.test(err.message), `${re}: ${err}`);
  }
  const model = await knn.fit(x, y, knn.defaults, ctx);
  let err: unknown;
  try {
    await model.predict(matrix(1, 2), cpu);
  } catch (e) {
    err = e;
  }
  assert(err instanceof UserError && /2 columns/.test(err.message), String(err));
});

Deno.test({
  name: "knn: WebGPU and CPU give identical predictions",
  ignore: !HAS_GPU,
  fn: async () => {
    const g = (await gpu())!;
    const x = matrix(60, 5, Float64Array.from(randn(300, 11)));
    const y = Float64Array.from(randn(60, 12, 10));
    const xt = matrix(17, 5, Float64Array.from(randn(85, 13)));
    for (const p of [1, 2] as const) {
      const model = await knn.fit(x, y, { nNeighbors: 5, weights: "distance", p }, ctx);
      assertEquals(
        Array.from((await model.predict(xt, g)).mean),
        Array.from((await model.predict(xt, cpu)).mean),
      );
    }
  },
});
