/**
 * The latent prior (design/gaussian_mixture.ts): log-densities against closed forms, weighted EM (parameter
 * recovery, K = 1 = weighted sample moments, weights ≡ duplicated rows), BIC selection, the quantile threshold,
 * sampling against the density, JSON round trip, determinism, bad input, and the engine-op twin.
 */
import { assert, assertClose, assertEquals, cpu, cpu64, gpu, HAS_GPU } from "../_helpers.ts";
import { assertUserError } from "../data/_helpers.ts";
import { Rng } from "../../nn/random.ts";
import { gradients } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { reduce, tensor } from "../../nn/ops.ts";
import type { Backend } from "../../nn/backend.ts";
import {
  bicSampleSize,
  fitGaussianMixture,
  GaussianMixture,
  gaussianMixtureBic,
  type GaussianMixtureFit,
  logDensityThreshold,
  type Matrix,
  selectGaussianMixtureByBic,
} from "../../design/gaussian_mixture.ts";

const LOG_2PI = Math.log(2 * Math.PI);

function mat(rows: number[][]): Matrix {
  return { rows: rows.length, cols: rows[0].length, data: Float64Array.from(rows.flat()) };
}

/** Direct 1-D normal log-pdf. */
function logNormal1(x: number, mu: number, v: number): number {
  return -0.5 * (LOG_2PI + Math.log(v) + (x - mu) ** 2 / v);
}

/** Direct 2-D normal log-pdf with the explicit 2×2 inverse. */
function logNormal2(x: number[], mu: number[], c: number[][]): number {
  const det = c[0][0] * c[1][1] - c[0][1] * c[1][0];
  const a = x[0] - mu[0], b = x[1] - mu[1];
  const q = (c[1][1] * a * a - 2 * c[0][1] * a * b + c[0][0] * b * b) / det;
  return -LOG_2PI - 0.5 * Math.log(det) - 0.5 * q;
}

/** log Σ exp(t) written out with an explicit shift (reference for the far tail). */
function lse(t: number[]): number {
  const m = Math.max(...t);
  return m + Math.log(t.reduce((s, v) => s + Math.exp(v - m), 0));
}

interface Truth {
  weights: number[];
  means: number[][];
  covs: number[][][];
}

/** Independent 2-D mixture sampler (hand 2×2 Cholesky), for data the fit must recover. */
function drawMixture(n: number, t: Truth, seed: number): Matrix {
  const r = new Rng(seed, 77);
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    let k = 0, acc = t.weights[0];
    while (u >= acc && k < t.weights.length - 1) acc += t.weights[++k];
    const [[a, b], [, c]] = t.covs[k];
    const l11 = Math.sqrt(a), l21 = b / l11, l22 = Math.sqrt(c - l21 * l21);
    const e1 = r.normal(), e2 = r.normal();
    out.push([t.means[k][0] + l11 * e1, t.means[k][1] + l21 * e1 + l22 * e2]);
  }
  return mat(out);
}

const TWO: Truth = {
  weights: [0.3, 0.7],
  means: [[-3, 0], [3, 1]],
  covs: [[[1, 0.5], [0.5, 2]], [[0.5, -0.2], [-0.2, 0.8]]],
};

function mixtureOf(t: Truth): GaussianMixture {
  const k = t.weights.length, d = t.means[0].length;
  return new GaussianMixture(k, d, t.weights, t.means.flat(), t.covs.flat(2));
}

Deno.test("gmm: log-density equals the direct formula (1-D, 2-D K = 1 Gaussian, 2-D K = 2, far tail)", () => {
  // 1-D, two components.
  const m1 = new GaussianMixture(1 + 1, 1, [0.3, 0.7], [0, 2], [1, 4]);
  const xs = [-1.5, 0, 0.7, 2, 5, 40];
  const want1 = xs.map((x) =>
    lse([Math.log(0.3) + logNormal1(x, 0, 1), Math.log(0.7) + logNormal1(x, 2, 4)])
  );
  assertClose(m1.logDensities(mat(xs.map((x) => [x]))), want1, { atol: 1e-12, rtol: 1e-13 });
  // Direct (unshifted) sum where it does not underflow.
  assertClose([m1.logDensity([0.7])], [
    Math.log(0.3 * Math.exp(logNormal1(0.7, 0, 1)) + 0.7 * Math.exp(logNormal1(0.7, 2, 4))),
  ], { atol: 1e-13, rtol: 1e-13 });
  assert(Number.isFinite(m1.logDensity([1e3])), "log-sum-exp keeps the far tail finite");

  // 2-D, K = 1 is the Gaussian log-pdf.
  const c = [[2, 0.6], [0.6, 1]];
  const g = new GaussianMixture(1, 2, [1], [1, -1], c.flat());
  const pts = [[0, 0], [1, -1], [3.5, 2], [-2, 0.3]];
  assertClose(g.logDensities(mat(pts)), pts.map((p) => logNormal2(p, [1, -1], c)), {
    atol: 1e-12,
    rtol: 1e-13,
  });

  // 2-D, K = 2: density, responsibilities, predict, Mahalanobis, hybrid d².
  const m2 = mixtureOf(TWO);
  const q = [[0, 0], [-3, 0.2], [2, 2], [10, -10]];
  const comp = q.map((p) =>
    TWO.weights.map((w, k) => Math.log(w) + logNormal2(p, TWO.means[k], TWO.covs[k]))
  );
  assertClose(m2.logDensities(mat(q)), comp.map(lse), { atol: 1e-12, rtol: 1e-13 });
  const resp = comp.map((t) => t.map((v) => Math.exp(v - lse(t))));
  assertClose(m2.responsibilities(mat(q)), resp.flat(), { atol: 1e-13, rtol: 1e-12 });
  assertEquals(Array.from(m2.predict(mat(q))), resp.map((r) => (r[1] > r[0] ? 1 : 0)));
  const maha = q.map((p) =>
    TWO.means.map((mu, k) => {
      const cc = TWO.covs[k];
      const det = cc[0][0] * cc[1][1] - cc[0][1] ** 2;
      const a = p[0] - mu[0], b = p[1] - mu[1];
      return (cc[1][1] * a * a - 2 * cc[0][1] * a * b + cc[0][0] * b * b) / det;
    })
  );
  assertClose(m2.mahalanobis2(mat(q)), maha.flat(), { atol: 1e-12, rtol: 1e-12 });
  const hybrid = resp.map((r, i) => {
    const s = r.map((v) => Math.min(1, Math.max(1e-12, v)) ** 2);
    const tot = s[0] + s[1] + 1e-12;
    return (s[0] * maha[i][0] + s[1] * maha[i][1]) / tot;
  });
  assertClose(m2.hybridMahalanobis2(mat(q)), hybrid, { atol: 1e-12, rtol: 1e-12 });
  assertEquals(m2.parameterCount, 2 * 3 + 2 * 2 + 1);
});

Deno.test("gmm: ∇ log p on the host matches central finite differences", () => {
  const m = mixtureOf(TWO);
  const pts = [[0, 0], [-3.2, 0.5], [2.5, 1.7], [1, -2]];
  const { logDensity, grad } = m.logDensityGradients(mat(pts));
  assertClose(logDensity, m.logDensities(mat(pts)), { atol: 0, rtol: 1e-15 });
  const h = 1e-6;
  const fd = pts.flatMap((p) =>
    [0, 1].map((a) => {
      const up = p.slice(), dn = p.slice();
      up[a] += h, dn[a] -= h;
      return (m.logDensity(up) - m.logDensity(dn)) / (2 * h);
    })
  );
  assertClose(grad, fd, { atol: 1e-7, rtol: 1e-6 });
});

function componentsByX(fit: GaussianMixtureFit) {
  const m = fit.mixture;
  const order = Array.from({ length: m.k }, (_, k) => k).sort((a, b) => m.means[a * 2] - m.means[b * 2]);
  return order.map((k) => ({
    weight: m.weights[k],
    mean: Array.from(m.means.subarray(k * 2, k * 2 + 2)),
    cov: Array.from(m.covariances.subarray(k * 4, k * 4 + 4)),
  }));
}

Deno.test("gmm: weighted EM recovers a known 2-component mixture from seeded samples", () => {
  const z = drawMixture(3000, TWO, 11);
  const fit = fitGaussianMixture(z, { k: 2, nInit: 3, seed: 5 });
  assert(fit.converged);
  const got = componentsByX(fit);
  got.forEach((g, k) => {
    assertClose([g.weight], [TWO.weights[k]], { atol: 0.03, rtol: 0, msg: `weight ${k}` });
    assertClose(g.mean, TWO.means[k], { atol: 0.12, rtol: 0, msg: `mean ${k}` });
    assertClose(g.cov, TWO.covs[k].flat(), { atol: 0.2, rtol: 0, msg: `covariance ${k}` });
  });
  // Weighting rows of one component up shifts its mixing weight accordingly: weight 3 on the left cluster's
  // rows makes its weighted share 3·0.3 / (3·0.3 + 0.7) ≈ 0.5625.
  const w = Array.from({ length: z.rows }, (_, i) => (z.data[2 * i] < 0 ? 3 : 1));
  const wfit = componentsByX(fitGaussianMixture(z, { k: 2, nInit: 2, seed: 5, weights: w }));
  assertClose([wfit[0].weight], [0.9 / 1.6], { atol: 0.03, rtol: 0 });
});

Deno.test("gmm: K = 1 is the weighted sample mean and MLE covariance + regCovar; BIC matches the hand formula", () => {
  const z = drawMixture(200, TWO, 3);
  const r = new Rng(9);
  const w = Array.from({ length: z.rows }, () => 0.2 + 2 * r.uniform());
  const fit = fitGaussianMixture(z, { k: 1, weights: w, regCovar: 1e-3 });
  let sw = 0, sw2 = 0;
  const mu = [0, 0];
  for (let i = 0; i < z.rows; i++) {
    sw += w[i], sw2 += w[i] * w[i];
    for (let a = 0; a < 2; a++) mu[a] += w[i] * z.data[2 * i + a];
  }
  mu[0] /= sw, mu[1] /= sw;
  const c = [[1e-3, 0], [0, 1e-3]];
  for (let i = 0; i < z.rows; i++) {
    for (let a = 0; a < 2; a++) {
      for (let b = 0; b < 2; b++) {
        c[a][b] += w[i] * (z.data[2 * i + a] - mu[a]) * (z.data[2 * i + b] - mu[b]) / sw;
      }
    }
  }
  // One M step lands on the optimum: iteration 2 sees no change and stops (scikit-learn's loop).
  assert(fit.converged);
  assertEquals(fit.iterations, 2);
  assertClose(fit.mixture.means, mu, { atol: 1e-12, rtol: 1e-12 });
  assertClose(fit.mixture.covariances, c.flat(), { atol: 1e-12, rtol: 1e-12 });
  // Weighted mean log-likelihood and BIC with Kish's n = (Σw)²/Σw² and p = d + d(d+1)/2 = 5.
  let ll = 0;
  for (let i = 0; i < z.rows; i++) ll += w[i] * logNormal2([z.data[2 * i], z.data[2 * i + 1]], mu, c);
  ll /= sw;
  assertClose([fit.logLikelihood], [ll], { atol: 1e-12, rtol: 1e-12 });
  const n = (sw * sw) / sw2;
  assertClose([bicSampleSize(w)], [n], { atol: 0, rtol: 1e-14 });
  const bic = -2 * n * ll + 5 * Math.log(n);
  assertClose([gaussianMixtureBic(fit.mixture, z, w)], [bic], { atol: 1e-9, rtol: 1e-12 });
  assertClose([gaussianMixtureBic(fit.mixture, z, w, "weightSum")], [-2 * sw * ll + 5 * Math.log(sw)], {
    atol: 1e-9,
    rtol: 1e-12,
  });
});

/** Max |a − b| over the mixture parameters and the log-likelihood of two fits. */
function fitDistance(a: GaussianMixtureFit, b: GaussianMixtureFit): number {
  const pa = [...a.mixture.weights, ...a.mixture.means, ...a.mixture.covariances, a.logLikelihood];
  const pb = [...b.mixture.weights, ...b.mixture.means, ...b.mixture.covariances, b.logLikelihood];
  assertEquals(pa.length, pb.length);
  return Math.max(...pa.map((v, i) => Math.abs(v - pb[i])));
}

Deno.test("gmm: integer weights ≡ duplicated rows, weight 0 ≡ absent row, scaling weights changes nothing", () => {
  const base = drawMixture(150, TWO, 21);
  const r = new Rng(4);
  const w = Array.from({ length: base.rows }, () => 1 + r.int(3));
  const dup: number[][] = [];
  for (let i = 0; i < base.rows; i++) {
    for (let c = 0; c < w[i]; c++) dup.push([base.data[2 * i], base.data[2 * i + 1]]);
  }
  for (const k of [2, 3]) {
    const opts = { k, nInit: 3, seed: 8 };
    const weighted = fitGaussianMixture(base, { ...opts, weights: w });
    const repeated = fitGaussianMixture(mat(dup), opts);
    const dist = fitDistance(weighted, repeated);
    assert(dist < 1e-9, `K = ${k}: weight w ≠ w duplicated rows (max difference ${dist})`);
    assertEquals(weighted.iterations, repeated.iterations);
    // Frequency-weight BIC on the weighted rows = plain BIC on the duplicated rows.
    assertClose(
      [gaussianMixtureBic(weighted.mixture, base, w, "weightSum")],
      [gaussianMixtureBic(repeated.mixture, mat(dup))],
      { atol: 1e-7, rtol: 1e-12 },
    );
    const scaled = fitGaussianMixture(base, { ...opts, weights: w.map((v) => v * 7.3) });
    assert(fitDistance(weighted, scaled) < 1e-9, `K = ${k}: scaling the weights changed the fit`);
  }
  // Extra rows with weight 0, interleaved, change nothing.
  const junk = drawMixture(40, { weights: [1], means: [[0, 8]], covs: [[[4, 0], [0, 4]]] }, 5);
  const rows: number[][] = [], zw: number[] = [];
  for (let i = 0; i < base.rows; i++) {
    rows.push([base.data[2 * i], base.data[2 * i + 1]]), zw.push(w[i]);
    if (i < junk.rows) rows.push([junk.data[2 * i], junk.data[2 * i + 1]]), zw.push(0);
  }
  const a = fitGaussianMixture(base, { k: 3, nInit: 3, seed: 8, weights: w });
  const b = fitGaussianMixture(mat(rows), { k: 3, nInit: 3, seed: 8, weights: zw });
  assert(fitDistance(a, b) < 1e-9, `zero-weight rows changed the fit (${fitDistance(a, b)})`);
});

Deno.test("gmm: BIC picks K = 3 on three separated clusters and K = 1 on one Gaussian", () => {
  const three: Truth = {
    weights: [0.3, 0.3, 0.4],
    means: [[-6, 0], [6, 0], [0, 8]],
    covs: [[[1, 0.3], [0.3, 1]], [[0.7, 0], [0, 1.5]], [[1.2, -0.4], [-0.4, 0.8]]],
  };
  const z3 = drawMixture(450, three, 31);
  const r = new Rng(2);
  const w3 = Array.from({ length: z3.rows }, () => 0.5 + r.uniform());
  const sel3 = selectGaussianMixtureByBic(z3, { kMax: 5, nInit: 3, weights: w3 });
  assertEquals(sel3.k, 3, `BIC scores ${JSON.stringify(sel3.scores.map((s) => s.bic))}`);
  assertEquals(sel3.scores.map((s) => s.k), [1, 2, 3, 4, 5]);
  // The winner is the same fit as fitting K = 3 alone (per-K Rng streams).
  const alone = fitGaussianMixture(z3, { k: 3, nInit: 3, weights: w3 });
  assertEquals(JSON.stringify(alone.mixture), JSON.stringify(sel3.best.mixture));

  const one = drawMixture(300, { weights: [1], means: [[1, 2]], covs: [[[2, 0.9], [0.9, 1]]] }, 32);
  const sel1 = selectGaussianMixtureByBic(one, { kMax: 4, nInit: 3 });
  assertEquals(sel1.k, 1, `BIC scores ${JSON.stringify(sel1.scores.map((s) => s.bic))}`);
  assertEquals(sel1.sampleSize, 300);
});

Deno.test("gmm: restarts keep the best log-likelihood; maxIter caps EM", () => {
  // Five components on three clusters: the k-means starts end in different local optima.
  const z = drawMixture(300, {
    weights: [0.3, 0.3, 0.4],
    means: [[-4, 0], [4, 0], [0, 5]],
    covs: [[[1, 0.3], [0.3, 1]], [[0.7, 0], [0, 1.5]], [[1.2, -0.4], [-0.4, 0.8]]],
  }, 51);
  const singles: number[] = [];
  for (let s = 0; s < 10; s++) singles.push(fitGaussianMixture(z, { k: 5, nInit: 1, seed: s }).logLikelihood);
  assert(Math.max(...singles) - Math.min(...singles) > 1e-3, `no local optima to choose from: ${singles}`);
  // The first restart of nInit = 10 is the single restart of nInit = 1 with the same seed (one Rng stream).
  for (let s = 0; s < 3; s++) {
    const one = fitGaussianMixture(z, { k: 5, nInit: 1, seed: s }).logLikelihood;
    const ten = fitGaussianMixture(z, { k: 5, nInit: 10, seed: s }).logLikelihood;
    assert(ten >= one, `seed ${s}: nInit = 10 gave ${ten} < nInit = 1 ${one}`);
  }
  const capped = fitGaussianMixture(z, { k: 5, nInit: 1, maxIter: 1 });
  assertEquals([capped.converged, capped.iterations], [false, 1]);
});

Deno.test("gmm: the log-density threshold is the hand-computed weighted quantile", () => {
  const g = new GaussianMixture(1, 1, [1], [0], [1]);
  const z = mat([[1], [3], [0], [2]]);
  const w = [6, 1, 10, 3]; // log p ascending: z = 3 (cdf 0.05), 2 (0.20), 1 (0.50), 0 (1)
  const lp = (x: number) => -0.5 * LOG_2PI - 0.5 * x * x;
  assertClose([logDensityThreshold(g, z, w)], [lp(2)], { atol: 0, rtol: 1e-15 }); // q = 0.10 → 2
  assertClose([logDensityThreshold(g, z, w, 0.04)], [lp(3)], { atol: 0, rtol: 1e-15 });
  assertClose([logDensityThreshold(g, z, w, 0.3)], [lp(1)], { atol: 0, rtol: 1e-15 });
  assertClose([logDensityThreshold(g, z, w, 0.75)], [lp(0)], { atol: 0, rtol: 1e-15 });
  // Unweighted: 4 equal weights, q = 0.10 → the lowest (cdf 0.25).
  assertClose([logDensityThreshold(g, z)], [lp(3)], { atol: 0, rtol: 1e-15 });
});

/** Simpson's rule of exp(log p) over [a, b]. */
function integrate(m: GaussianMixture, a: number, b: number, steps = 200): number {
  const h = (b - a) / steps;
  const xs = Array.from({ length: steps + 1 }, (_, i) => [a + i * h]);
  const p = Array.from(m.logDensities(mat(xs)), Math.exp);
  let s = p[0] + p[steps];
  for (let i = 1; i < steps; i++) s += (i % 2 ? 4 : 2) * p[i];
  return (s * h) / 3;
}

Deno.test("gmm: samples follow the density (1-D histogram χ², 2-D mixture moments)", () => {
  // 1-D: histogram of 20 000 draws against the density integrated per bin.
  const m1 = new GaussianMixture(2, 1, [0.3, 0.7], [-2, 1.5], [0.25, 1]);
  const n = 20000;
  const s1 = m1.sample(n, new Rng(12)).z.data;
  const edges = Array.from({ length: 23 }, (_, i) => -5 + 0.5 * i); // −5 … 6
  const counts = new Array(edges.length + 1).fill(0);
  for (const x of s1) {
    let b = 0;
    while (b < edges.length && x >= edges[b]) b++;
    counts[b]++;
  }
  const probs = [integrate(m1, -40, edges[0], 2000)];
  for (let b = 1; b < edges.length; b++) probs.push(integrate(m1, edges[b - 1], edges[b]));
  probs.push(integrate(m1, edges[edges.length - 1], 40, 2000));
  assertClose([probs.reduce((a, b) => a + b)], [1], { atol: 1e-8, rtol: 0 });
  let chi2 = 0, df = -1;
  counts.forEach((c, b) => {
    const e = n * probs[b];
    if (e < 5) return;
    chi2 += (c - e) ** 2 / e;
    df++;
  });
  // The χ² 0.999 quantile (Wilson–Hilferty: z = 3.09), ≈ 40.8 for 17 degrees of freedom.
  const crit = df * (1 - 2 / (9 * df) + 3.09 * Math.sqrt(2 / (9 * df))) ** 3;
  assert(df >= 15 && chi2 < crit, `χ² = ${chi2.toFixed(1)} on ${df} degrees of freedom (critical ${crit})`);

  // 2-D: mean and covariance of the draws against the mixture's closed-form moments.
  const m2 = mixtureOf(TWO);
  const { z, component } = m2.sample(20000, new Rng(13));
  const mean = [0, 1].map((a) => TWO.weights.reduce((s, w, k) => s + w * TWO.means[k][a], 0));
  const cov = [0, 1].map((a) =>
    [0, 1].map((b) =>
      TWO.weights.reduce((s, w, k) => s + w * (TWO.covs[k][a][b] + TWO.means[k][a] * TWO.means[k][b]), 0) -
      mean[a] * mean[b]
    )
  );
  const sm = [0, 0], sc = [0, 0, 0, 0];
  for (let i = 0; i < z.rows; i++) for (let a = 0; a < 2; a++) sm[a] += z.data[2 * i + a] / z.rows;
  for (let i = 0; i < z.rows; i++) {
    for (let a = 0; a < 2; a++) {
      for (let b = 0; b < 2; b++) {
        sc[a * 2 + b] += (z.data[2 * i + a] - sm[a]) * (z.data[2 * i + b] - sm[b]) / z.rows;
      }
    }
  }
  assertClose(sm, mean, { atol: 0.05, rtol: 0 }); // SE ≈ √(9.6/20000) ≈ 0.02 on x
  assertClose(sc, cov.flat(), { atol: 0.25, rtol: 0.03 });
  const share = component.reduce((s, c) => s + c, 0) / component.length;
  assertClose([share], [0.7], { atol: 0.01, rtol: 0 });
  // Per component: the draws of component k have mean μ_k and covariance Σ_k (correlations included).
  for (let k = 0; k < 2; k++) {
    const rows: number[][] = [];
    for (let i = 0; i < z.rows; i++) if (component[i] === k) rows.push([z.data[2 * i], z.data[2 * i + 1]]);
    const mk = [0, 1].map((a) => rows.reduce((s, r) => s + r[a], 0) / rows.length);
    const ck = [0, 1].flatMap((a) =>
      [0, 1].map((b) => rows.reduce((s, r) => s + (r[a] - mk[a]) * (r[b] - mk[b]), 0) / rows.length)
    );
    assertClose(mk, TWO.means[k], { atol: 0.05, rtol: 0, msg: `component ${k} mean` });
    assertClose(ck, TWO.covs[k].flat(), { atol: 0.08, rtol: 0, msg: `component ${k} covariance` });
  }
});

Deno.test("gmm: JSON round trip is identical; fits and samples are deterministic by seed", () => {
  const z = drawMixture(300, TWO, 41);
  const fit = fitGaussianMixture(z, { k: 2, nInit: 2, seed: 3 });
  const text = JSON.stringify(fit.mixture);
  const back = GaussianMixture.fromJSON(JSON.parse(text), "prior.json");
  assertEquals(JSON.stringify(back), text);
  assertEquals(Array.from(back.covariances), Array.from(fit.mixture.covariances));
  assertEquals(Array.from(back.logDensities(z)), Array.from(fit.mixture.logDensities(z)));

  const again = fitGaussianMixture(z, { k: 2, nInit: 2, seed: 3 });
  assertEquals(JSON.stringify(again.mixture), text);
  assertEquals(again.logLikelihood, fit.logLikelihood);
  const s1 = fit.mixture.sample(50, new Rng(7)), s2 = back.sample(50, new Rng(7));
  assertEquals(Array.from(s1.z.data), Array.from(s2.z.data));
  assert(Array.from(fit.mixture.sample(50, new Rng(8)).z.data).some((v, i) => v !== s1.z.data[i]));
});

Deno.test("gmm: bad input is a one-line UserError naming the problem", () => {
  const ok = mat([[0, 0], [1, 0], [0, 1], [1, 1], [2, 2]]);
  const nan = mat([[0, 0], [NaN, 1], [1, 1]]);
  assertUserError(() => fitGaussianMixture(nan, { k: 1 }), "row 1 column 0 is 'NaN'");
  assertUserError(() => fitGaussianMixture(ok, { k: 6 }), "k = 6 components need at least 6 distinct");
  assertUserError(() => fitGaussianMixture(mat([[1, 2], [1, 2], [1, 2]]), { k: 2 }), "got 1");
  assertUserError(() => fitGaussianMixture(ok, { k: 1, weights: [0, 0, 0, 0, 0] }), "weights are all zero");
  assertUserError(() => fitGaussianMixture(ok, { k: 1, weights: [1, -1, 1, 1, 1] }), "weights[1] is '-1'");
  assertUserError(() => fitGaussianMixture(ok, { k: 1, weights: [1, NaN, 1, 1, 1] }), "weights[1] is 'NaN'");
  assertUserError(() => fitGaussianMixture(ok, { k: 1, weights: [1, 1] }), "2 weights for 5 rows");
  // Three rows with positive weight cannot make four components.
  assertUserError(() => fitGaussianMixture(ok, { k: 4, weights: [1, 1, 0, 0, 1] }), "got 3");
  assertUserError(() => fitGaussianMixture(ok, { k: 0 }), "k must be an integer ≥ 1");
  assertUserError(() => fitGaussianMixture(ok, { k: 1, nInit: 0 }), "nInit must be an integer ≥ 1");
  assertUserError(() => fitGaussianMixture(ok, { k: 1, regCovar: -1 }), "regCovar must be");
  assertUserError(
    () => fitGaussianMixture(mat([[0, 0], [1, 1]]), { k: 1, regCovar: 0 }),
    "not positive definite",
  );
  assertUserError(() => selectGaussianMixtureByBic(ok, { kMin: 3, kMax: 2 }), "kMin = 3 is above kMax = 2");
  const g = mixtureOf(TWO);
  assertUserError(() => g.logDensities(mat([[1, 2, 3]])), "3 columns but the mixture has dimension 2");
  assertUserError(() => g.logDensity([0, Infinity]), "column 1 is 'Infinity'");
  assertUserError(() => logDensityThreshold(g, ok, undefined, 1.5), "q must be in [0, 1]");
  const json = g.toJSON();
  assertUserError(() => GaussianMixture.fromJSON([], "p.json"), "p.json: expected a JSON object");
  assertUserError(() => GaussianMixture.fromJSON({ ...json, format: "x" }, "p.json"), `"format" is 'x'`);
  assertUserError(() => GaussianMixture.fromJSON({ ...json, means: [[0, 0]] }, "p.json"), `"means" must be`);
  assertUserError(
    () => GaussianMixture.fromJSON({ ...json, means: [[0, "a"], [1, 1]] }, "p.json"),
    `"means"[0][1] is 'a'`,
  );
  assertUserError(() => GaussianMixture.fromJSON({ ...json, weights: [0.5, 0.7] }, "p.json"), "sum to 1.2");
  const notPd = { ...json, covariances: [[[1, 2], [2, 1]], json.covariances[1]] };
  assertUserError(() => GaussianMixture.fromJSON(notPd, "p.json"), "covariance 0 is not positive definite");
  const asym = { ...json, covariances: [[[1, 0.1], [0.2, 1]], json.covariances[1]] };
  assertUserError(() => GaussianMixture.fromJSON(asym, "p.json"), "covariance 0 is not symmetric");
});

/** Engine twin against the host: log p, hybrid d², and the autodiff gradient of Σ log p. */
async function checkTensors(
  be: Backend,
  read: (t: import("../../nn/tensor.ts").Tensor) => Promise<ArrayLike<number>>,
  tol: number,
) {
  const m = mixtureOf(TWO);
  const pts = [[0, 0], [-3.2, 0.5], [2.5, 1.7], [1, -2], [6, 6]];
  const host = m.logDensityGradients(mat(pts));
  const dev = m.onDevice(be);
  const z = tensor(pts.flat(), [pts.length, 2], { backend: be, requiresGrad: true });
  const [lp, d2, g] = scope(() => {
    const lp = dev.logDensity(z);
    const d2 = dev.hybridMahalanobis2(z);
    const [g] = gradients(reduce("sum", lp), [z]);
    return [lp, d2, g!];
  });
  const msg = be.description;
  assertClose(await read(lp), host.logDensity, { atol: tol, rtol: tol, msg: `${msg} log p` });
  assertClose(await read(d2), m.hybridMahalanobis2(mat(pts)), { atol: tol, rtol: tol, msg: `${msg} d²` });
  assertClose(await read(g), host.grad, { atol: tol, rtol: tol, msg: `${msg} ∇ log p` });
  for (const t of [lp, d2, g, z]) t.dispose();
  dev.dispose();
}

Deno.test("gmm: engine ops (log p, hybrid d², autodiff gradient) match the float64 host on CPU", async () => {
  await checkTensors(cpu64, (t) => Promise.resolve(cpu64.data(t)), 1e-12);
  await checkTensors(cpu, (t) => t.read(), 2e-5);
});

Deno.test({
  name: "gmm: engine ops match the host on WebGPU",
  ignore: !HAS_GPU,
  fn: async () => {
    const be = (await gpu())!;
    await checkTensors(be, (t) => t.read(), 2e-5);
  },
});
