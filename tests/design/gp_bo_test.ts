/**
 * GP-BO comparator: fantasy conditioning against a closed-form 3-point posterior (explicit 3×3 inverse), the batched
 * multi-start optimiser against the anchors it starts from and against an independent evaluation of its objective,
 * constraints on every proposal, final scores from the unconditioned GP, determinism by seed, anchor selection and
 * the logit parameterisation on hand cases.
 */
import { assert, assertClose, assertEquals, cpu64, gpu, HAS_GPU } from "../_helpers.ts";
import {
  compositionFromLogits,
  conditionGp,
  GPBO_FLOOR,
  type GpBoOptions,
  REPULSE_WEIGHT,
  runGpBo,
  selectAnchorRows,
  TRUST_WEIGHT,
} from "../../design/gp_bo.ts";
import { CompositionConstraints } from "../../design/composition_constraints.ts";
import { gaussianProcess, type GaussianProcessModel } from "../../nn/baselines/gaussian_process.ts";
import { matrix } from "../../nn/baselines/regressor.ts";
import { StandardScaler } from "../../data/scaler.ts";
import { UserError } from "../../cli/errors.ts";
import { Rng } from "../../nn/random.ts";
import type { Backend } from "../../nn/backend.ts";

/** The Matérn-5/2 covariance written out by hand: c(1 + √5r/ℓ + 5r²/3ℓ²)·exp(−√5r/ℓ). */
function handKernel(a: number[], b: number[], c: number, ell: number): number {
  const r = Math.hypot(...a.map((v, i) => v - b[i]));
  const u = Math.sqrt(5) * r / ell;
  return c * (1 + u + u * u / 3) * Math.exp(-u);
}

/** Inverse of a 3×3 matrix by the adjugate (no factorisation). */
function inverse3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  const adj = [
    [A, -(b * i - c * h), b * f - c * e],
    [B, a * i - c * g, -(a * f - c * d)],
    [C, -(a * h - b * g), a * e - b * d],
  ];
  return adj.map((row) => row.map((v) => v / det));
}

const fixedParams = (c: number, ell: number, noise: number) => ({
  ...gaussianProcess.defaults,
  optimize: false,
  normalizeY: true,
  initConstant: c,
  initLengthScale: ell,
  initNoise: noise,
});

Deno.test("gp-bo: conditioning on a fantasy equals the closed-form 3-point posterior with fixed θ and y scaling", async () => {
  const HP = { c: 1.3, ell: 0.9, noise: 0.04 };
  const X = [[0.1, -0.2], [0.8, 0.3]], Y = [410, 530];
  const xf = [0.45, 0.6], yf = 470;
  const gp = await gaussianProcess.fit(
    matrix(2, 2, Float64Array.from(X.flat())),
    Float64Array.from(Y),
    fixedParams(HP.c, HP.ell, HP.noise),
    {
      backend: cpu64,
      seed: 1,
    },
  ) as GaussianProcessModel;
  const cond = conditionGp(gp, matrix(1, 2, Float64Array.from(xf)), [yf]);

  // Closed form with the ORIGINAL normalisation (mean and population std of the two training targets).
  const yMean = (Y[0] + Y[1]) / 2, yStd = Math.abs(Y[0] - Y[1]) / 2;
  const X3 = [...X, xf], yn = [...Y, yf].map((v) => (v - yMean) / yStd);
  const K = X3.map((a, i) => X3.map((b, j) => handKernel(a, b, HP.c, HP.ell) + (i === j ? HP.noise : 0)));
  const inv = inverse3(K);
  const Q = [xf, [0.3, 0.1], [1.5, -1], X[0]];
  const mu: number[] = [], sd: number[] = [];
  for (const q of Q) {
    const ks = X3.map((a) => handKernel(q, a, HP.c, HP.ell));
    const w = inv.map((row) => row.reduce((s, v, j) => s + v * ks[j], 0));
    mu.push(yMean + yStd * w.reduce((s, v, i) => s + v * yn[i], 0));
    sd.push(yStd * Math.sqrt(HP.c + HP.noise - w.reduce((s, v, i) => s + v * ks[i], 0)));
  }
  const qm = matrix(Q.length, 2, Float64Array.from(Q.flat()));
  const after = await cond.predict(qm, cpu64), before = await gp.predict(qm, cpu64);
  assertClose(after.mean, mu, { atol: 1e-6, rtol: 1e-9, msg: "mean" });
  assertClose(after.std!, sd, { atol: 1e-6, rtol: 1e-9, msg: "std" });
  assert(
    after.std![0] < before.std![0] - 1,
    `σ at the fantasy point ${after.std![0]} not below ${before.std![0]}`,
  );
  assertEquals([cond.yMean, cond.yStd, cond.xTrain.rows], [gp.yMean, gp.yStd, 3]);
  assertEquals(Array.from(cond.theta), Array.from(gp.theta));
  assertEquals(gp.xTrain.rows, 2); // the original is untouched

  // Two points at once = one after the other.
  const x2 = matrix(2, 2, Float64Array.from([0.45, 0.6, -0.5, 0.9]));
  const both = conditionGp(gp, x2, [yf, 380]);
  const seq = conditionGp(cond, matrix(1, 2, Float64Array.from([-0.5, 0.9])), [380]);
  const pb = await both.predict(qm, cpu64), ps = await seq.predict(qm, cpu64);
  assertClose(pb.mean, ps.mean, { atol: 1e-8, rtol: 1e-10 });
  assertClose(pb.std!, ps.std!, { atol: 1e-8, rtol: 1e-10 });
  assertClose(both.alpha, seq.alpha, { atol: 1e-9, rtol: 1e-9 });
});

Deno.test("gp-bo: logits → floored softmax on the allowed elements; anchor pool and ranking", () => {
  assertClose(compositionFromLogits([0, Math.log(3)], [true, false, true]), [0.25, 0, 0.75], { atol: 1e-15 });
  const f = GPBO_FLOOR;
  // softmax → [½, e⁻¹⁰⁰/…, ½] → floor → [½, f, ½] → renormalise by 1 + f.
  const floored = [0.5 / (1 + f), f / (1 + f), 0.5 / (1 + f)];
  assertClose(compositionFromLogits([0, -100, 0], [true, true, true]), floored, { atol: 1e-17, rtol: 1e-12 });
  // 60 rows: pool = max(50, 12) = 50 rows closest in load to 1.0; rows 50..59 (load 9) are outside it.
  const load = Float64Array.from({ length: 60 }, (_, i) => (i < 50 ? 1 + (i % 5) * 0.1 : 9));
  const score = Float64Array.from({ length: 60 }, (_, i) => (i >= 50 ? 1e6 : i % 7));
  assertEquals(selectAnchorRows(load, score, 1.0, 4), [6, 13, 20, 27]);
  // 300 rows: pool = 60; ties in load broken by index.
  const load3 = Float64Array.from({ length: 300 }, (_, i) => Math.abs(i - 150));
  const pool = selectAnchorRows(load3, Float64Array.from({ length: 300 }, () => 1), 0, 300);
  assertEquals(pool.length, 60);
  assertEquals(pool.slice(0, 4), [120, 121, 122, 123]);
});

// ---- a tiny synthetic design problem ----------------------------------------------------------------------------

const ELEMENTS = ["Al", "Cu", "Ni", "Zr"];
const E = ELEMENTS.length;
/** A known smooth hardness: rises with Zr and with a Cu·Zr interaction, falls away from 20 % Al, load softening. */
function truth(x: ArrayLike<number>, load: number): number {
  return 700 + 500 * x[3] + 1200 * x[1] * x[3] - 900 * (x[0] - 0.2) ** 2 + 150 * x[2] - 25 * load;
}

interface Problem {
  gp: GaussianProcessModel;
  loadScaler: StandardScaler;
  train: { comp: Float64Array; load: Float64Array; hv: Float64Array };
}

async function problem(): Promise<Problem> {
  const rng = new Rng(7);
  const n = 20;
  const comp = new Float64Array(n * E), load = new Float64Array(n), hv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = Array.from({ length: E }, () => -Math.log(rng.uniform())); // Dirichlet(1, …, 1)
    const s = w.reduce((a, b) => a + b, 0);
    w.forEach((v, j) => comp[i * E + j] = v / s);
    load[i] = [0.5, 1, 2][i % 3];
    hv[i] = truth(comp.subarray(i * E, (i + 1) * E), load[i]);
  }
  const loadScaler = StandardScaler.fit(load, 1);
  const x = new Float64Array(n * (E + 1));
  for (let i = 0; i < n; i++) {
    x.set(comp.subarray(i * E, (i + 1) * E), i * (E + 1));
    x[i * (E + 1) + E] = loadScaler.transform([load[i]])[0];
  }
  const gp = await gaussianProcess.fit(matrix(n, E + 1, x), hv, { ...gaussianProcess.defaults }, {
    backend: cpu64,
    seed: 1,
  }) as GaussianProcessModel;
  return { gp, loadScaler, train: { comp, load, hv } };
}

const PROBLEM = await problem();
const DESIGN_LOAD = 1;

function options(be: Backend, o: Partial<GpBoOptions> = {}): GpBoOptions {
  return {
    backend: be,
    gp: PROBLEM.gp,
    loadScaler: PROBLEM.loadScaler,
    elements: ELEMENTS,
    designLoad: DESIGN_LOAD,
    constraints: new CompositionConstraints(ELEMENTS),
    train: PROBLEM.train,
    iterations: 3,
    restarts: 24,
    anchors: 5,
    maxSteps: 200,
    seed: 3,
    ...o,
  };
}

/** Inputs [composition, scaled design load] for rows of compositions. */
function atDesignLoad(rows: ArrayLike<number>): ReturnType<typeof matrix> {
  const m = rows.length / E, x = new Float64Array(m * (E + 1));
  const l = PROBLEM.loadScaler.transform([DESIGN_LOAD])[0];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < E; j++) x[i * (E + 1) + j] = rows[i * E + j];
    x[i * (E + 1) + E] = l;
  }
  return matrix(m, E + 1, x);
}

Deno.test("gp-bo: the batched multi-start optimiser beats every anchor, and its objective is what it claims", async () => {
  // Starts = the 5 anchors only, so the best start IS the best anchor: any gain comes from the optimiser.
  const res = await runGpBo(options(cpu64, { iterations: 1, restarts: 5, maxSteps: 2000 }));
  // Anchors: all 20 rows form the pool (max(50, 4) > 20); the top 5 by measured HV.
  const hv = PROBLEM.train.hv;
  const byHv = Array.from({ length: 20 }, (_, i) => i).sort((a, b) => hv[b] - hv[a]);
  assertEquals(res.anchorRows, byHv.slice(0, 5));
  const anchors = new Float64Array(5 * E);
  res.anchorRows.forEach((r, k) => anchors.set(PROBLEM.train.comp.subarray(r * E, (r + 1) * E), k * E));
  const pa = await PROBLEM.gp.predict(atDesignLoad(anchors), cpu64);
  // An anchor's objective is −LCB (distance 0 to itself, no earlier proposals).
  const bestAnchor = Math.min(...Array.from(pa.mean, (m, k) => -(m - 1.645 * pa.std![k])));
  const t = res.trace[0];
  // The round ended at a check because the best start stopped improving, not at the step budget.
  assert(t.steps < 2000 && t.steps % 25 === 0, `steps ${t.steps}`);
  assert(t.objective < bestAnchor - 5, `objective ${t.objective} not below the best anchor's ${bestAnchor}`);

  // Independent evaluation of the objective at the returned (unprojected) composition.
  const pr = await PROBLEM.gp.predict(atDesignLoad(t.raw), cpu64);
  let dmin = Infinity;
  for (let k = 0; k < 5; k++) {
    dmin = Math.min(dmin, Math.hypot(...Array.from({ length: E }, (_, j) => t.raw[j] - anchors[k * E + j])));
  }
  const expected = -(pr.mean[0] - 1.645 * pr.std![0]) + TRUST_WEIGHT * Math.max(0, dmin - 0.12) ** 2;
  // Loss and logits come back through Backend.read (float32 resolution).
  assertClose([t.objective], [expected], { atol: 1e-3, rtol: 1e-6 });
  assertClose([t.raw.reduce((a, b) => a + b, 0)], [1], { atol: 1e-12 });

  // Against an exhaustive grid (step 0.02) over the simplex: the optimum found is at least as good as the grid's.
  const step = 50, grid: number[] = [];
  for (let a = 0; a <= step; a++) {
    for (let b = 0; a + b <= step; b++) {
      for (let c = 0; a + b + c <= step; c++) {
        grid.push(a / step, b / step, c / step, (step - a - b - c) / step);
      }
    }
  }
  const pg = await PROBLEM.gp.predict(atDesignLoad(grid), cpu64);
  let gridBest = Infinity;
  for (let i = 0; i < grid.length / E; i++) {
    let d = Infinity;
    for (let k = 0; k < 5; k++) {
      d = Math.min(
        d,
        Math.hypot(...Array.from({ length: E }, (_, j) => grid[i * E + j] - anchors[k * E + j])),
      );
    }
    gridBest = Math.min(
      gridBest,
      -(pg.mean[i] - 1.645 * pg.std![i]) + TRUST_WEIGHT * Math.max(0, d - 0.12) ** 2,
    );
  }
  assert(t.objective <= gridBest + 0.5, `objective ${t.objective} worse than the grid's best ${gridBest}`);
});

Deno.test("gp-bo: every proposal satisfies the constraints; excluded elements stay 0 during the optimisation", async () => {
  const constraints = new CompositionConstraints(ELEMENTS, {
    exclude: ["Ni"],
    maxElements: 2,
    minFraction: 0.05,
    precision: 0.5,
  });
  const res = await runGpBo(options(cpu64, { constraints, iterations: 4, restarts: 16 }));
  assertEquals(constraints.rowViolations(res.proposals), []);
  for (let i = 0; i < res.proposals.length / E; i++) assertEquals(res.proposals[i * E + 2], 0);
  for (const t of res.trace) {
    assertEquals(t.raw[2], 0);
    assertEquals(constraints.violations(t.composition), []);
    assertClose([t.raw.reduce((a, b) => a + b, 0)], [1], { atol: 1e-12 });
  }
});

Deno.test("gp-bo: final scores come from the unconditioned GP, sorted by LCB; fantasies shrink σ during the loop", async () => {
  const res = await runGpBo(options(cpu64, { iterations: 4, restarts: 16, z: 1 }));
  const m = res.proposals.length / E;
  assert(m >= 1 && m <= 4);
  const p = await PROBLEM.gp.predict(atDesignLoad(res.proposals), cpu64);
  assertClose(res.mu, p.mean, { atol: 1e-9, rtol: 1e-12 });
  assertClose(res.std, p.std!, { atol: 1e-9, rtol: 1e-12 });
  assertClose(res.lcb, Array.from(p.mean, (v, i) => v - p.std![i]), { atol: 1e-9, rtol: 1e-12 });
  for (let i = 1; i < m; i++) assert(res.lcb[i - 1] >= res.lcb[i], "not sorted by LCB");
  // A GP conditioned on the run's fantasies is more confident at the proposals than the one that scores them.
  const q = atDesignLoad(res.trace.flatMap((t) => Array.from(t.composition)));
  const cond = conditionGp(PROBLEM.gp, q, res.trace.map((t) => t.fantasy));
  const pc = await cond.predict(atDesignLoad(res.proposals), cpu64);
  for (let i = 0; i < m; i++) assert(pc.std![i] < res.std[i], `σ ${pc.std![i]} vs ${res.std[i]}`);
  // The trace's first round is scored by the original GP too (no fantasies yet).
  const p0 = await PROBLEM.gp.predict(atDesignLoad(res.trace[0].composition), cpu64);
  assertClose([res.trace[0].mu, res.trace[0].std], [p0.mean[0], p0.std![0]], { atol: 1e-9, rtol: 1e-12 });
  // Round 1 is scored by the GP conditioned on round 0's fantasy, and fantasies are draws, not the mean.
  const c0 = conditionGp(PROBLEM.gp, atDesignLoad(res.trace[0].composition), [res.trace[0].fantasy]);
  const p1 = await c0.predict(atDesignLoad(res.trace[1].composition), cpu64);
  assertClose([res.trace[1].mu, res.trace[1].std], [p1.mean[0], p1.std![0]], { atol: 1e-9, rtol: 1e-12 });
  // Round 1's objective at its raw composition: −LCB of the conditioned GP + trust + repulsion from round 0.
  const r1 = res.trace[1].raw, pr1 = await c0.predict(atDesignLoad(r1), cpu64);
  const distTo = (a: ArrayLike<number>, b: ArrayLike<number>, off = 0) =>
    Math.hypot(...Array.from({ length: E }, (_, j) => a[j] - b[off + j]));
  const dA = Math.min(...res.anchorRows.map((r) => distTo(r1, PROBLEM.train.comp, r * E)));
  const dP = distTo(r1, res.trace[0].composition);
  const repulse = REPULSE_WEIGHT * Math.max(0, 0.02 - dP) ** 2;
  const expected1 = -(pr1.mean[0] - pr1.std![0]) + TRUST_WEIGHT * Math.max(0, dA - 0.12) ** 2 + repulse;
  assertClose([res.trace[1].objective], [expected1], { atol: 1e-3, rtol: 1e-6 });
  const zs = res.trace.map((t) => Math.abs(t.fantasy - t.mu) / t.std);
  assert(zs.some((v) => v > 1e-3) && zs.every((v) => v < 6), `fantasy z-scores ${zs}`);
});

Deno.test("gp-bo: reproducible by seed", async () => {
  const o = { iterations: 2, restarts: 12, maxSteps: 100 };
  const a = await runGpBo(options(cpu64, { ...o, seed: 5 }));
  const b = await runGpBo(options(cpu64, { ...o, seed: 5 }));
  const c = await runGpBo(options(cpu64, { ...o, seed: 6 }));
  assertEquals(Array.from(a.proposals), Array.from(b.proposals));
  assertEquals(a.trace.map((t) => [t.fantasy, t.objective]), b.trace.map((t) => [t.fantasy, t.objective]));
  assert(a.trace[0].fantasy !== c.trace[0].fantasy, "a different seed gave the same fantasy");
});

Deno.test("gp-bo: bad inputs are one-line user errors", async () => {
  const expectUserError = async (o: Partial<GpBoOptions>, text: string) => {
    try {
      await runGpBo(options(cpu64, o));
    } catch (e) {
      assert(e instanceof UserError, `not a UserError: ${e}`);
      assert((e as Error).message.includes(text), (e as Error).message);
      return;
    }
    throw new Error(`no error for ${text}`);
  };
  await expectUserError({ iterations: 0 }, "iterations");
  await expectUserError(
    { constraints: new CompositionConstraints(["Al", "Cu", "Zr", "Ni"]) },
    "element list",
  );
  await expectUserError({ designLoad: NaN }, "design load");
  await expectUserError(
    { train: { comp: new Float64Array(3), load: new Float64Array(1) } },
    "training fractions",
  );
});

Deno.test({
  name: "gp-bo: on the GPU, constrained proposals and the same first-round objective as the CPU",
  ignore: !HAS_GPU,
  fn: async () => {
    const be = (await gpu())!;
    const o = { iterations: 1, restarts: 16, maxSteps: 150 };
    const g = await runGpBo(options(be, o));
    const c = await runGpBo(options(cpu64, o));
    assertEquals(new CompositionConstraints(ELEMENTS).rowViolations(g.proposals), []);
    // float32 engine vs float64: the optimum's objective agrees to a fraction of an HV.
    assertClose([g.trace[0].objective], [c.trace[0].objective], { atol: 1, rtol: 1e-3 });
    PROBLEM.gp.disposeTensors();
  },
});
