import { assert, assertClose, cpu, gpu, HAS_GPU } from "../_helpers.ts";
import { Rng } from "../../nn/random.ts";
import {
  epsSchedule,
  sinkhorn,
  sinkhornCpu,
  sinkhornDivergence,
  type SinkhornProblem,
} from "../../nn/metrics/sinkhorn.ts";

function normals(n: number, seed: number, shift = 0, scale = 1): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => shift + scale * r.normal());
}

/** Exact W_p^p between two equal-size uniform 1-D samples: the sorted samples are matched in order. */
function exact1d(x: number[], y: number[], p: number): number {
  const sx = [...x].sort((a, b) => a - b), sy = [...y].sort((a, b) => a - b);
  return sx.reduce((s, v, i) => s + Math.abs(v - sy[i]) ** p, 0) / x.length;
}

/** Exact transport between two uniform n-point clouds: the best permutation (Birkhoff), by enumeration. */
function exactByPermutations(x: number[], y: number[], n: number, d: number, p: number): number {
  const perms = (k: number[]): number[][] =>
    k.length <= 1
      ? [k]
      : k.flatMap((v, i) => perms([...k.slice(0, i), ...k.slice(i + 1)]).map((r) => [v, ...r]));
  let best = Infinity;
  for (const pi of perms(Array.from({ length: n }, (_, i) => i))) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      let q = 0;
      for (let k = 0; k < d; k++) q += (x[i * d + k] - y[pi[i] * d + k]) ** 2;
      s += (p === 1 ? Math.sqrt(q) : q) / n;
    }
    best = Math.min(best, s);
  }
  return best;
}

Deno.test("sinkhorn: matches the exact 1-D Wasserstein distance of sorted samples (p = 1, 2; ε = 1e-3, rtol 1e-3)", () => {
  // 37 points each, so the exact answer is the in-order matching. Tolerance: relative 1e-3 on W_p^p (the entropic
  // bias plus the residual of 1000 iterations is ≤ 5e-4 here; W1 converges slowest, its optimum is not unique).
  const x = normals(37, 1), y = normals(37, 2, 0.8, 1.5);
  for (const p of [1, 2] as const) {
    const [r] = sinkhornCpu([{ x, n: 37, y, m: 37, d: 1 }], {
      p,
      eps: 1e-3,
      iterations: 1000,
      epsScaling: 0.95,
    });
    const want = exact1d(x, y, p);
    assertClose([r.cost], [want], { rtol: 1e-3, atol: 0, msg: `p=${p}` });
    assertClose([r.distance], [want ** (1 / p)], { rtol: 1e-3, atol: 0, msg: `distance p=${p}` });
    assert(r.marginalError < 1e-3, `p=${p}: marginal error ${r.marginalError}`);
    // The entropic value OT_ε lies above the exact one by at most ε·log(n·m) (KL(P‖a⊗b) ≤ log n + log m).
    assert(
      r.dual >= want - 1e-6 && r.dual <= want + 1e-3 * Math.log(37 * 37),
      `p=${p}: dual ${r.dual} vs ${want}`,
    );
  }
});

Deno.test("sinkhorn: matches a 3×3 and a 4×4 transport solved by enumerating permutations", () => {
  for (const [n, d, seed] of [[3, 2, 5], [4, 3, 6]]) {
    const x = normals(n * d, seed), y = normals(n * d, seed + 10, 0.3);
    for (const p of [1, 2] as const) {
      const [r] = sinkhornCpu([{ x, n, y, m: n, d }], { p, eps: 1e-4, iterations: 300 });
      assertClose([r.cost], [exactByPermutations(x, y, n, d, p)], {
        rtol: 1e-3,
        atol: 1e-6,
        msg: `${n}×${n} p=${p}`,
      });
    }
  }
});

Deno.test("sinkhorn: unequal weights and sizes: a point mass against a cloud costs the weighted mean cost", () => {
  // One source point: the only coupling sends its mass to every target by the target weights.
  const y = normals(5 * 2, 9), b = [1, 2, 3, 4, 5];
  const [r] = sinkhornCpu([{ x: [0.5, -0.2], n: 1, y, m: 5, d: 2, b }], { p: 2 });
  let want = 0;
  for (let j = 0; j < 5; j++) want += (b[j] / 15) * ((y[2 * j] - 0.5) ** 2 + (y[2 * j + 1] + 0.2) ** 2);
  assertClose([r.cost], [want], { rtol: 1e-9, atol: 1e-12 });
});

Deno.test("sinkhorn: divergence is ~0 for identical clouds and grows with a shift", async () => {
  const x = normals(40 * 2, 3);
  const same = await sinkhornDivergence(cpu, x, 40, x, 40, 2, { eps: 1e-2 });
  assert(Math.abs(same.divergence) < 1e-9, `identical: ${same.divergence}`);
  const y = x.map((v, i) => (i % 2 === 0 ? v + 1 : v));
  const moved = await sinkhornDivergence(cpu, x, 40, y, 40, 2, { eps: 1e-2 });
  // A pure translation by t has W2² = |t|² = 1; the debiased divergence recovers it closely.
  assertClose([moved.divergence], [1], { rtol: 2e-2, atol: 0 });
});

Deno.test("sinkhorn: ε schedule anneals geometrically down to ε, then holds", () => {
  const s = epsSchedule(1, { eps: 0.1, epsScaling: 0.5, iterations: 3 });
  assertClose(s, [1, 0.5, 0.25, 0.125, 0.1, 0.1, 0.1], { rtol: 1e-12, atol: 0 });
  assertClose(epsSchedule(1, { eps: 0.1, epsScaling: 0, iterations: 2 }), [0.1, 0.1], { rtol: 0, atol: 0 });
});

Deno.test("sinkhorn: bad input is refused with a RangeError", async () => {
  const bad: [SinkhornProblem, string][] = [
    [{ x: [], n: 0, y: [1], m: 1, d: 1 }, "at least one point"],
    [{ x: [1, 2], n: 1, y: [1], m: 1, d: 1 }, "x has 2 values"],
    [{ x: [NaN], n: 1, y: [1], m: 1, d: 1 }, "not finite"],
    [{ x: [1], n: 1, y: [1], m: 1, d: 1, a: [-1] }, "weight a[0]"],
  ];
  for (const [pr, msg] of bad) {
    let err: unknown;
    try {
      await sinkhorn(cpu, [pr]);
    } catch (e) {
      err = e;
    }
    assert(err instanceof RangeError && err.message.includes(msg), `${msg}: ${err}`);
  }
});

Deno.test({
  name: "sinkhorn: GPU kernels match the float64 CPU twin on an odd-shaped padded batch (p = 1, 2)",
  ignore: !HAS_GPU,
  async fn() {
    const be = (await gpu())!;
    const r = new Rng(11);
    const problems: SinkhornProblem[] = [
      { x: normals(37 * 5, 1), n: 37, y: normals(53 * 5, 2, 0.7), m: 53, d: 5 },
      {
        x: normals(11 * 5, 3),
        n: 11,
        y: normals(7 * 5, 4, -0.4, 2),
        m: 7,
        d: 5,
        a: Array.from({ length: 11 }, () => r.uniform()),
        b: Array.from({ length: 7 }, () => r.uniform()),
      },
      { x: normals(5, 5), n: 1, y: normals(65 * 5, 6), m: 65, d: 5 },
    ];
    for (const p of [1, 2] as const) {
      const g = await sinkhorn(be, problems, { p });
      const c = sinkhornCpu(problems, { p });
      assertClose(g.map((q) => q.cost), c.map((q) => q.cost), { rtol: 2e-4, atol: 1e-5, msg: `cost p=${p}` });
      assertClose(g.map((q) => q.dual), c.map((q) => q.dual), { rtol: 2e-4, atol: 1e-5, msg: `dual p=${p}` });
      assertClose(g.map((q) => q.marginalError), c.map((q) => q.marginalError), {
        rtol: 0,
        atol: 1e-4,
        msg: `marginal p=${p}`,
      });
    }
  },
});
