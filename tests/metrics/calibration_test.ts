import {
  calibrationErrors,
  DEFAULT_LEVELS,
  gaussianCalibration,
  pitHistogram,
  pitValues,
  sampleCalibration,
} from "../../nn/metrics/calibration.ts";
import { Rng } from "../../nn/random.ts";
import { assertAllNear, assertEquals, assertNear, assertRangeError, assertTrue } from "./_helpers.ts";

/** S × N samples laid out [S, N] from per-row rows (`rows[i][s]`). */
function passMajor(rows: number[][]): Float64Array {
  const n = rows.length, s = rows[0].length;
  const out = new Float64Array(n * s);
  rows.forEach((r, i) => r.forEach((v, k) => (out[k * n + i] = v)));
  return out;
}

Deno.test("DEFAULT_LEVELS: np.linspace(0.05, 0.95, 10) to the bit", () => {
  assertEquals(
    [...DEFAULT_LEVELS],
    [0.05, 0.15, 0.25, 0.35, 0.44999999999999996, 0.5499999999999999, 0.65, 0.75, 0.85, 0.95],
  );
});

Deno.test("pitValues: counts below plus half the ties", () => {
  const samples = passMajor([[1, 2, 3, 4], [1, 2, 2, 3], [5, 6, 7, 8], [5, 6, 7, 8]]);
  // 2 below → 2/4; 1 below + 2 ties → (1 + 1)/4; none below → 0; all below → 1
  assertEquals(Array.from(pitValues(samples, 4, [2.5, 2, 0, 10])), [0.5, 0.5, 0, 1]);
  assertRangeError(() => pitValues(samples, 4, [1, 2]), "samples have 4 rows but yTrue has 2");
  assertRangeError(() => pitValues([], 4, []), "samples is empty");
});

Deno.test("pitHistogram: same bins as np.histogram(pit, B, (0, 1))", () => {
  // np.histogram([0, .05, .1, .3, .5, .7, .99, 1], 10, (0, 1)) → [2, 1, 1, 0, 0, 1, 1, 0, 0, 2]
  // (0.3 falls in bin 2 because the edge 3·0.1 = 0.30000000000000004 is above it; 1 joins the last bin)
  const h = pitHistogram([0, 0.05, 0.1, 0.3, 0.5, 0.7, 0.99, 1], 10);
  assertEquals(h.counts, [2, 1, 1, 0, 0, 1, 1, 0, 0, 2]);
  assertEquals(h.edges.length, 11);
  assertAllNear(h.density, h.counts.map((c) => c / (8 * 0.1)), 1e-12);
  // np.histogram([.15, .35, .45, .55, .6, .85, .9, .95], 20, (0, 1))
  assertEquals(
    pitHistogram([0.15, 0.35, 0.45, 0.55, 0.6, 0.85, 0.9, 0.95]).counts,
    [0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0],
  );
  assertRangeError(() => pitHistogram([0.5, 1.5]), "pit[1] = 1.5 is outside [0, 1]");
  assertRangeError(() => pitHistogram([0.5], 0), "bins must be an integer ≥ 1");
  assertRangeError(() => pitHistogram([]), "pit is empty");
});

Deno.test("calibrationErrors: MACE is the mean, IMCE the un-normalised trapezoid", () => {
  // |err| = .1, 0 → MACE .05; IMCE = (.9 − .5)·(.1 + 0)/2 = .02
  const e = calibrationErrors([0.5, 0.9], [0.4, 0.9]);
  assertNear(e.mace, 0.05, 1e-15);
  assertNear(e.imce, 0.02, 1e-15);
  // constant |err| = .1 over the default grid (span .9): IMCE = .09, MACE = .1
  const d = calibrationErrors(DEFAULT_LEVELS, DEFAULT_LEVELS.map((c) => c + 0.1));
  assertNear(d.mace, 0.1, 1e-12);
  assertNear(d.imce, 0.09, 1e-12);
  assertEquals(calibrationErrors([0.9], [0.5]), { mace: 0.4, imce: 0 });
  assertRangeError(() => calibrationErrors([0.5, 0.5], [0, 0]), "levels must be strictly increasing");
  assertRangeError(() => calibrationErrors([0.5, 1], [0, 0]), "level must be in (0, 1), got 1");
  assertRangeError(() => calibrationErrors([0.5], [0, 0]), "levels has 1 values but coverage has 2");
});

Deno.test("sampleCalibration: hand-computed coverage, width, MACE, IMCE, sharpness", () => {
  // every row's samples are 1..5 shifted by 10·i; quantiles .25/.75 → 2, 4 (+10i); .05/.95 → 1.2, 4.8 (+10i)
  const rows = [0, 1, 2, 3].map((i) => [5, 3, 1, 4, 2].map((v) => v + 10 * i));
  const c = sampleCalibration(passMajor(rows), 5, [3, 11.5, 24, 40], { levels: [0.5, 0.9] });
  // level .5: 3 ∈ [2,4] yes, 11.5 ∈ [12,14] no, 24 ∈ [22,24] yes (inclusive), 40 no → .5
  // level .9: yes, 11.5 ∈ [11.2, 14.8] yes, yes, no → .75
  assertEquals(c.n, 4);
  assertEquals(c.coverage, [0.5, 0.75]);
  assertAllNear(c.absMiscalibration, [0, 0.15], 1e-15);
  assertAllNear(c.meanWidth, [2, 3.6], 1e-12);
  assertNear(c.mace, 0.075, 1e-15);
  assertNear(c.imce, 0.03, 1e-15); // np.trapezoid([0, .15], [.5, .9])
  assertNear(c.sharpness, Math.SQRT2, 1e-15); // population std of 1..5
  assertEquals(c.levels, [0.5, 0.9]);
  assertRangeError(
    () => sampleCalibration(passMajor(rows), 5, [1, 2, 3]),
    "samples have 4 rows but yTrue has 3",
  );
  assertRangeError(
    () => sampleCalibration(passMajor(rows), 5, [1, 2, 3, 4], { levels: [] }),
    "levels is empty",
  );
});

Deno.test("gaussianCalibration: hand-computed with z = Φ⁻¹(.75), Φ⁻¹(.95)", () => {
  const z50 = 0.6744897501960817, z90 = 1.6448536269514722;
  // mean 0; σ = 1, 1, 1, 2; y = .5, −1, 1.5, 3
  // level .5: |y| ≤ .674σ only for .5 → .25;  level .9: all four (3 ≤ 2·1.645) → 1
  const c = gaussianCalibration([0.5, -1, 1.5, 3], [0, 0, 0, 0], [1, 1, 1, 2], { levels: [0.5, 0.9] });
  assertEquals(c.coverage, [0.25, 1]);
  assertAllNear(c.meanWidth, [2 * z50 * 1.25, 2 * z90 * 1.25], 1e-12);
  assertNear(c.mace, (0.25 + 0.1) / 2, 1e-15);
  assertNear(c.imce, 0.4 * 0.35 / 2, 1e-15);
  assertEquals(c.sharpness, 1.25);
  assertEquals(gaussianCalibration([1], [1], [0], { levels: [0.5] }).coverage, [1]); // σ = 0: y = μ is covered
  assertRangeError(() => gaussianCalibration([1], [1], [-1]), "sigma[0] is negative");
  assertRangeError(() => gaussianCalibration([], [], []), "gaussianCalibration: yTrue is empty");
});

/** N rows with random μ, σ; targets y = μ + σ·ε; S samples μ + widen·σ·η per row. */
function gaussianSampler(widen: number, seed: number, n = 2000, s = 200) {
  const rng = new Rng(seed, 1);
  const mu = Array.from({ length: n }, () => 500 + 100 * rng.normal());
  const sigma = Array.from({ length: n }, () => 0.5 + 1.5 * rng.uniform());
  const y = mu.map((m, i) => m + sigma[i] * rng.normal());
  const samples = new Float64Array(n * s);
  for (let k = 0; k < s; k++) {
    for (let i = 0; i < n; i++) samples[k * n + i] = mu[i] + widen * sigma[i] * rng.normal();
  }
  return { mu, sigma, y, samples, s, n };
}

/** Pearson χ² of a histogram against a uniform one. */
function chiSquareUniform(counts: number[]): number {
  const e = counts.reduce((a, b) => a + b, 0) / counts.length;
  return counts.reduce((acc, c) => acc + (c - e) ** 2 / e, 0);
}

Deno.test("PIT and coverage: a calibrated sampler is uniform, a σ×2 or σ/2 one is not", () => {
  // χ² with 9 degrees of freedom: 99.9999 % quantile ≈ 41; a σ×2 sampler gives thousands
  const good = gaussianSampler(1, 1);
  const pit = pitValues(good.samples, good.s, good.y);
  const chi = chiSquareUniform(pitHistogram(pit, 10).counts);
  assertTrue(chi < 40, `calibrated χ² = ${chi}`);
  const cal = sampleCalibration(good.samples, good.s, good.y);
  assertTrue(cal.mace < 0.03, `calibrated MACE ${cal.mace}`);
  assertNear(cal.sharpness, 1.25, 0.05); // mean σ of U(0.5, 2)
  const g = gaussianCalibration(good.y, good.mu, good.sigma);
  assertTrue(g.mace < 0.03, `Gaussian MACE ${g.mace}`);

  for (const widen of [2, 0.5]) {
    const bad = gaussianSampler(widen, 1);
    const badChi = chiSquareUniform(pitHistogram(pitValues(bad.samples, bad.s, bad.y), 10).counts);
    assertTrue(badChi > 400, `σ×${widen} χ² = ${badChi}`);
    const badCal = sampleCalibration(bad.samples, bad.s, bad.y);
    assertTrue(badCal.mace > 0.15, `σ×${widen} MACE ${badCal.mace}`);
    // over-wide intervals over-cover, narrow ones under-cover
    assertTrue(
      widen > 1 ? badCal.coverage[4] > 0.7 : badCal.coverage[4] < 0.3,
      `coverage ${badCal.coverage}`,
    );
  }
});
