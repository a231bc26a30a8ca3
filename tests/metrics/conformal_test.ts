import {
  conformalInterval,
  type ConformalModel,
  conformalModelFromJSON,
  conformalQuantile,
  conformalRank,
  conformalSigmaScale,
  fitConformal,
} from "../../nn/metrics/conformal.ts";
import { Rng } from "../../nn/random.ts";
import { assertUserError } from "../data/_helpers.ts";
import { assertAllNear, assertEquals, assertNear, assertRangeError, assertTrue } from "./_helpers.ts";

Deno.test("conformalRank / conformalQuantile: ⌈(n + 1)(1 − α)⌉-th smallest, ∞ beyond n", () => {
  assertEquals(conformalRank(9, 0.1), 9); // 10·0.9 = 9 exactly, float noise must not round up to 10
  assertEquals(conformalRank(19, 0.05), 19);
  assertEquals(conformalRank(99, 0.1), 90);
  assertEquals(conformalRank(10, 0.1), 10); // ⌈9.9⌉
  assertEquals(conformalRank(10, 0.5), 6); // ⌈5.5⌉
  const s = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
  assertEquals(conformalQuantile(s, 0.2), 9); // ⌈8.8⌉ = 9
  assertEquals(conformalQuantile(s, 0.1), 10);
  assertEquals(conformalQuantile(s, 0.05), Infinity); // ⌈10.45⌉ = 11 > 10
  assertRangeError(() => conformalQuantile([], 0.1), "conformalQuantile: scores is empty");
  assertRangeError(() => conformalQuantile([1], 0), "alpha must be in (0, 1), got 0");
});

Deno.test("fitConformal: hand-computed normalised and absolute quantiles", () => {
  // residuals 0, 2, 1, 5, 1; σ = 1, 2, .5, 2.5, 0 (floored to 1e-6)
  // normalised scores 0, 1, 2, 2, 1e6 → sorted 0, 1, 2, 2, 1e6; absolute sorted 0, 1, 1, 2, 5
  // n = 5: α = .5 → rank ⌈3⌉ = 3; α = .2 → ⌈4.8⌉ = 5; α = .1 → ⌈5.4⌉ = 6 > 5 → ∞
  const y = [10, 12, 9, 15, 11], mu = [10, 10, 10, 10, 10], sigma = [1, 2, 0.5, 2.5, 0];
  const norm = fitConformal(y, mu, sigma, { alphas: [0.5, 0.2, 0.1] });
  assertEquals(norm, {
    kind: "normalized",
    n: 5,
    alphas: [0.5, 0.2, 0.1],
    q: [2, 1e6, Infinity],
    sigmaFloor: 1e-6,
  });
  const abs = fitConformal(y, mu, null, { alphas: [0.5, 0.2] });
  assertEquals([abs.kind, abs.q], ["absolute", [1, 5]]);
  assertEquals(fitConformal(y, mu, sigma, { alphas: [0.5], sigmaFloor: 0.25 }).q, [2]); // scores …, 1/.25 = 4
  assertRangeError(() => fitConformal([], [], null, { alphas: [0.1] }), "fitConformal: yCal is empty");
  assertRangeError(
    () => fitConformal([1], [1], [1, 2], { alphas: [0.1] }),
    "yCal has 1 values but sigmaCal has 2",
  );
  assertRangeError(() => fitConformal([1], [1], [-1], { alphas: [0.1] }), "sigma[0] is negative");
  assertRangeError(() => fitConformal([1], [1], null, { alphas: [] }), "alphas is empty");
  assertRangeError(() => fitConformal([1], [1], null, { alphas: [0.1, 0.1] }), "alpha 0.1 is given twice");
  assertRangeError(
    () => fitConformal([1], [1], null, { alphas: [0.1], sigmaFloor: 0 }),
    "sigmaFloor must be",
  );
});

Deno.test("conformalInterval: scalar and array forms, σ floor, infinite q̂", () => {
  const m: ConformalModel = {
    kind: "normalized",
    n: 5,
    alphas: [0.5, 0.1],
    q: [2, Infinity],
    sigmaFloor: 1e-6,
  };
  assertEquals(conformalInterval(m, 10, 3, 0.5), { lo: 4, hi: 16 });
  const a = conformalInterval(m, [10, 20], [1, 0], 0.5);
  assertAllNear(a.lo, [8, 20 - 2e-6], 1e-12);
  assertAllNear(a.hi, [12, 20 + 2e-6], 1e-12);
  assertEquals(conformalInterval(m, 10, 0, 0.1), { lo: -Infinity, hi: Infinity }); // floor avoids 0·∞ = NaN
  const abs: ConformalModel = { kind: "absolute", n: 5, alphas: [0.2], q: [5], sigmaFloor: 1e-6 };
  assertEquals(conformalInterval(abs, 1, null, 0.2), { lo: -4, hi: 6 });
  assertRangeError(
    () => conformalInterval(m, 1, 1, 0.3),
    "alpha 0.3 was not calibrated (available: 0.5, 0.1)",
  );
  assertRangeError(() => conformalInterval(m, 1, null, 0.5), "a normalized conformal model needs sigma");
  assertRangeError(() => conformalInterval(m, [1, 2], [1], 0.5), "mu has 2 values but sigma has 1");
  assertRangeError(() => conformalInterval(m, [], [], 0.5), "mu is empty");
});

Deno.test("conformalSigmaScale: q̂ / Φ⁻¹(1 − α/2)", () => {
  const m: ConformalModel = {
    kind: "normalized",
    n: 100,
    alphas: [0.1, 0.5],
    q: [2 * 1.6448536269514722, 1],
    sigmaFloor: 1e-6,
  };
  assertNear(conformalSigmaScale(m), 2, 1e-15);
  assertNear(conformalSigmaScale(m, 0.5), 1 / 0.6744897501960817, 1e-14);
  const abs: ConformalModel = { kind: "absolute", n: 100, alphas: [0.1], q: [1], sigmaFloor: 1e-6 };
  assertRangeError(() => conformalSigmaScale(abs), "needs a normalized conformal model");
});

Deno.test("conformal model: JSON round trip keeps ∞ (as null); bad files are UserErrors", () => {
  const m = fitConformal([1, 2, 3], [1.5, 2, 2], [1, 1, 1], { alphas: [0.5, 0.1] });
  assertEquals(m.q[1], Infinity);
  const text = JSON.stringify(m);
  assertTrue(text.includes('"q":[0.5,null]'), text);
  assertEquals(conformalModelFromJSON(JSON.parse(text), "m.json"), m);
  assertUserError(() => conformalModelFromJSON([], "m.json"), "m.json: conformal model: kind must be");
  assertUserError(() => conformalModelFromJSON(null, "m.json"), "m.json: conformal model: not a JSON object");
  const ok = JSON.parse(text);
  assertUserError(() => conformalModelFromJSON({ ...ok, n: 0 }, "m.json"), "n must be a positive integer");
  assertUserError(
    () => conformalModelFromJSON({ ...ok, q: [1] }, "m.json"),
    "q must be an array as long as alphas",
  );
  assertUserError(
    () => conformalModelFromJSON({ ...ok, q: [1, -1] }, "m.json"),
    "q[1] must be a finite number",
  );
  assertUserError(
    () => conformalModelFromJSON({ ...ok, alphas: [0.5, 1] }, "m.json"),
    "alphas[1] must be a number",
  );
  assertUserError(
    () => conformalModelFromJSON({ ...ok, alphas: [0.5, 0.5] }, "m.json"),
    "alpha 0.5 is given twice",
  );
  assertUserError(() => conformalModelFromJSON({ ...ok, sigmaFloor: 0 }, "m.json"), "sigmaFloor must be");
});

/**
 * Exchangeable heteroscedastic data: x ~ U(0, 1), y = 400 + 200x + (5 + 40x)·ε. The "model" is biased (+3) and its
 * σ is wrong by a factor 0.6, so the raw Gaussian interval under-covers; conformal calibration must fix that.
 */
function draw(rng: Rng, n: number) {
  const y: number[] = [], mu: number[] = [], sigma: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = rng.uniform(), s = 5 + 40 * x;
    y.push(400 + 200 * x + s * rng.normal());
    mu.push(403 + 200 * x);
    sigma.push(0.6 * s);
  }
  return { y, mu, sigma };
}

function coverage(seed: number, alpha: number, trials: number, nCal: number, nTest: number) {
  const rng = new Rng(seed, 3);
  let hitNorm = 0, hitAbs = 0, hitRaw = 0, total = 0;
  const z = 1.6448536269514722;
  for (let t = 0; t < trials; t++) {
    const cal = draw(rng, nCal), test = draw(rng, nTest);
    const iN = conformalInterval(
      fitConformal(cal.y, cal.mu, cal.sigma, { alphas: [alpha] }),
      test.mu,
      test.sigma,
      alpha,
    );
    const iA = conformalInterval(
      fitConformal(cal.y, cal.mu, null, { alphas: [alpha] }),
      test.mu,
      null,
      alpha,
    );
    for (let i = 0; i < nTest; i++) {
      const y = test.y[i];
      if (iN.lo[i] <= y && y <= iN.hi[i]) hitNorm++;
      if (iA.lo[i] <= y && y <= iA.hi[i]) hitAbs++;
      if (Math.abs(y - test.mu[i]) <= z * test.sigma[i]) hitRaw++;
      total++;
    }
  }
  return { norm: hitNorm / total, abs: hitAbs / total, raw: hitRaw / total };
}

Deno.test("conformal coverage ≥ 1 − α on exchangeable data, for normalised and absolute scores", () => {
  // For continuous scores the marginal coverage is exactly k/(n + 1), k = ⌈(n + 1)(1 − α)⌉.
  // n = 39, α = .1: k = 36 → .9. Over 300 calibration draws × 100 test rows the Monte-Carlo std is ≈ .003.
  const a = coverage(2024, 0.1, 300, 39, 100);
  for (const c of [a.norm, a.abs]) assertTrue(Math.abs(c - 0.9) <= 0.015, `coverage ${c} (expected .9)`);
  assertTrue(a.raw < 0.8, `the uncalibrated Gaussian 90 % interval should under-cover, got ${a.raw}`);
  // n = 5, α = .2: k = ⌈4.8⌉ = 5 → 5/6; without the +1 correction k would be 4 → 4/6 (std here ≈ .005)
  const b = coverage(7, 0.2, 1000, 5, 50);
  for (const c of [b.norm, b.abs]) assertTrue(Math.abs(c - 5 / 6) <= 0.025, `coverage ${c} (expected 5/6)`);
});

Deno.test("conformal: too few calibration rows gives the whole line, never a false guarantee", () => {
  const rng = new Rng(9);
  const cal = draw(rng, 9); // α = .05 needs n ≥ 19
  const m = fitConformal(cal.y, cal.mu, cal.sigma, { alphas: [0.05] });
  assertEquals(m.q, [Infinity]);
  assertEquals(conformalSigmaScale(m, 0.05), Infinity);
  assertEquals(conformalInterval(m, 400, 10, 0.05), { lo: -Infinity, hi: Infinity });
});
