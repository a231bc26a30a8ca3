/**
 * Latent analysis: PCA (hand cases, eigen-equation check, determinism, sign convention), t-SNE (determinism by seed,
 * separation of two clusters), Pearson/Spearman hand cases, k-means elbow, the GMM density grid (normalisation),
 * latent traversal and gradient importance on the VIBANN architecture (against direct head calls and finite
 * differences).
 */
import { cpu64 } from "../_helpers.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { Rng } from "../../nn/random.ts";
import { noGrad } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { VibannReference } from "../../nn/models/vibann.ts";
import { pca, pcaInverse, pcaTransform } from "../../explain/pca.ts";
import { tsne, tsneAffinities, tsneConditional, tsneRun } from "../../explain/tsne.ts";
import { averageRanks, latentCorrelations, pearson, spearman } from "../../explain/correlation.ts";
import { kmeansElbow } from "../../explain/kmeans_elbow.ts";
import { gmmDensityGrid } from "../../explain/gmm_density_grid.ts";
import { vibannExplainable } from "../../explain/explainable_model.ts";
import { latentTraversal, linspace } from "../../explain/latent_traversal.ts";
import { latentGradientImportance } from "../../explain/latent_gradient_importance.ts";

/** n points around each centre (rows of `centres`, d columns), N(0, spread²) noise. */
function blobs(centres: number[][], n: number, spread: number, seed: number): Float64Array {
  const r = new Rng(seed), d = centres[0].length;
  const out = new Float64Array(centres.length * n * d);
  centres.forEach((c, k) => {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) out[(k * n + i) * d + j] = c[j] + spread * r.normal();
    }
  });
  return out;
}

Deno.test("PCA hand case: axis-aligned cross, and the same cross rotated by 30°", () => {
  const p = pca([2, 0, -2, 0, 0, 1, 0, -1], 4, 2, 2);
  assertEquals(Array.from(p.mean), [0, 0]);
  [8 / 3, 2 / 3].forEach((v, i) => assertNear(p.explainedVariance[i], v, 1e-12));
  [0.8, 0.2].forEach((v, i) => assertNear(p.explainedRatio[i], v, 1e-12));
  [1, 0, 0, 1].forEach((v, i) => assertNear(Math.abs(p.components[i]), v, 1e-12));
  const c = Math.cos(Math.PI / 6), s = Math.sin(Math.PI / 6);
  const rot = (x: number, y: number) => [c * x - s * y + 5, s * x + c * y - 1];
  const q = pca([...rot(2, 0), ...rot(-2, 0), ...rot(0, 1), ...rot(0, -1)], 4, 2, 2);
  [5, -1].forEach((v, i) => assertNear(q.mean[i], v, 1e-12));
  [8 / 3, 2 / 3].forEach((v, i) => assertNear(q.explainedVariance[i], v, 1e-12));
  // Sign convention: the largest entry of each component is positive.
  [c, s, -s, c].forEach((v, i) => assertNear(q.components[i], v, 1e-12));
  [2, 0, -2, 0, 0, 1, 0, -1].forEach((v, i) => assertNear(q.scores[i], v, 1e-12, `score ${i}`));
});

Deno.test("PCA: C v = λ v, orthonormal axes, exact round trip with k = d, deterministic", () => {
  const n = 50, d = 5, r = new Rng(3);
  const x = Float64Array.from(
    { length: n * d },
    (_, i) => r.normal() * (1 + (i % d)) + (i % d === 2 ? r.normal() : 0),
  );
  const p = pca(x, n, d, d);
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        cov[a * d + b] += (x[i * d + a] - p.mean[a]) * (x[i * d + b] - p.mean[b]) / (n - 1);
      }
    }
  }
  for (let k = 0; k < d; k++) {
    const v = p.components.subarray(k * d, (k + 1) * d);
    for (let a = 0; a < d; a++) {
      let cv = 0;
      for (let b = 0; b < d; b++) cv += cov[a * d + b] * v[b];
      assertNear(cv, p.explainedVariance[k] * v[a], 1e-9, `component ${k}`);
    }
    for (let l = 0; l < d; l++) {
      let dot = 0;
      for (let a = 0; a < d; a++) dot += v[a] * p.components[l * d + a];
      assertNear(dot, k === l ? 1 : 0, 1e-12);
    }
    if (k > 0) assertTrue(p.explainedVariance[k] <= p.explainedVariance[k - 1]);
  }
  pcaInverse(p, p.scores, n).forEach((v, i) => assertNear(v, x[i], 1e-9));
  assertEquals(Array.from(pcaTransform(p, x, n)), Array.from(p.scores));
  const again = pca(x, n, d, 2);
  assertEquals(Array.from(again.scores), Array.from(pca(x, n, d, 2).scores));
  assertEquals(Array.from(again.components), Array.from(p.components.subarray(0, 2 * d)));
});

Deno.test("PCA of samples from a known covariance R·diag(9, 4, 1)·Rᵀ recovers its eigenvalues and axes", () => {
  // R: rotation by 40° about z, then 25° about x (orthonormal columns = the true principal axes).
  const a = (40 * Math.PI) / 180, b = (25 * Math.PI) / 180;
  const Rz = [[Math.cos(a), -Math.sin(a), 0], [Math.sin(a), Math.cos(a), 0], [0, 0, 1]];
  const Rx = [[1, 0, 0], [0, Math.cos(b), -Math.sin(b)], [0, Math.sin(b), Math.cos(b)]];
  const R = Rx.map((row) => [0, 1, 2].map((j) => row.reduce((s, v, k) => s + v * Rz[k][j], 0)));
  const sd = [3, 2, 1], n = 20000, rng = new Rng(21);
  const x = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const u = sd.map((s) => s * rng.normal());
    for (let r = 0; r < 3; r++) x[i * 3 + r] = 1 + r + R[r][0] * u[0] + R[r][1] * u[1] + R[r][2] * u[2];
  }
  const p = pca(x, n, 3, 3);
  // Sampling error of a variance estimate: about √(2/n) ≈ 1 % relative.
  [9, 4, 1].forEach((v, k) => assertNear(p.explainedVariance[k], v, 0.04 * v, `λ${k}`));
  [1, 2, 3].forEach((m, r) => assertNear(p.mean[r], m, 0.05, `mean ${r}`));
  for (let k = 0; k < 3; k++) {
    const dot = [0, 1, 2].reduce((s, r) => s + p.components[k * 3 + r] * R[r][k], 0);
    assertTrue(Math.abs(Math.abs(dot) - 1) < 2e-3, `axis ${k}: |cos| = ${Math.abs(dot)}`);
  }
});

Deno.test("t-SNE: deterministic by seed, and separates two well-separated clusters", () => {
  const n = 25, d = 6;
  const x = blobs([[0, 0, 0, 0, 0, 0], [8, 8, 8, 0, 0, 0]], n, 1, 7);
  const N = 2 * n;
  const a = tsne(x, N, d, { perplexity: 10, iterations: 400, seed: 1, init: "random" });
  const b = tsne(x, N, d, { perplexity: 10, iterations: 400, seed: 1, init: "random" });
  assertEquals(Array.from(a), Array.from(b));
  const c = tsne(x, N, d, { perplexity: 10, iterations: 400, seed: 2, init: "random" });
  assertTrue(a.some((v, i) => v !== c[i]), "another seed gives another embedding");
  for (const y of [a, tsne(x, N, d, { perplexity: 10, iterations: 400 })]) {
    const centre = [0, 1].map((k) => {
      let cx = 0, cy = 0;
      for (let i = k * n; i < (k + 1) * n; i++) cx += y[2 * i] / n, cy += y[2 * i + 1] / n;
      return [cx, cy];
    });
    for (let i = 0; i < N; i++) {
      const own = i < n ? 0 : 1;
      const dist = (k: number) => Math.hypot(y[2 * i] - centre[k][0], y[2 * i + 1] - centre[k][1]);
      assertTrue(dist(own) < dist(1 - own) / 2, `point ${i} sits with its own cluster`);
    }
  }
  const r = tsneRun(x, N, d, { perplexity: 10, iterations: 300 });
  assertTrue(Number.isFinite(r.klDivergence) && r.klDivergence >= 0 && r.iterations <= 300);
});

Deno.test("t-SNE affinities: symmetric, sum to 1, each row's conditional entropy at log(perplexity)", () => {
  const n = 30, d = 3, x = blobs([[0, 0, 0]], n, 1, 2);
  const P = tsneAffinities(x, n, d, 5);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      assertEquals(P[i * n + j], P[j * n + i]);
      if (i !== j) total += P[i * n + j];
    }
  }
  assertNear(total, 1, 1e-9);
  const cond = tsneConditional(x, n, d, 5);
  for (let i = 0; i < n; i++) {
    let sum = 0, h = 0;
    for (let j = 0; j < n; j++) {
      const p = cond[i * n + j];
      sum += p;
      if (p > 0) h -= p * Math.log(p);
    }
    assertNear(sum, 1, 1e-12);
    assertNear(h, Math.log(5), 1e-4, `row ${i} entropy`);
  }
  let threw = false;
  try {
    tsne(x, n, d, { perplexity: 30 });
  } catch (e) {
    threw = e instanceof RangeError && e.message.includes("perplexity");
  }
  assertTrue(threw, "perplexity ≥ n is refused");
});

Deno.test("Pearson and Spearman hand cases (SciPy values), average ranks for ties, NaN when constant", () => {
  const x = [1, 2, 3, 4, 5];
  assertNear(pearson(x, [2, 4, 6, 8, 10]), 1, 1e-15);
  assertNear(pearson(x, [5, 6, 7, 8, 7]), 6 / Math.sqrt(52), 1e-15);
  assertNear(spearman(x, [5, 6, 7, 8, 7]), 0.8207826816681233, 1e-12);
  assertEquals(Array.from(averageRanks([10, 20, 20, 5, 20])), [2, 4, 4, 1, 4]);
  const cubes = x.map((v) => (v - 3) ** 3);
  assertNear(spearman(x, cubes), 1, 1e-15);
  assertTrue(pearson(x, cubes) < 0.95);
  assertNear(spearman(x, [5, 4, 3, 2, 1]), -1, 1e-15);
  assertTrue(Number.isNaN(pearson(x, [3, 3, 3, 3, 3])));
  const Z = x.flatMap((v) => [v, -2 * v, (v - 3) ** 3]);
  const lc = latentCorrelations(Z, [1, 2, 3, 4, 5]);
  [1, -1].forEach((v, j) => assertNear(lc.pearson[j], v, 1e-15));
  [1, -1, 1].forEach((v, j) => assertNear(lc.spearman[j], v, 1e-15));
});

Deno.test("k-means elbow: inertia decreases and the knee of three blobs is k = 3", () => {
  const x = blobs([[0, 0], [10, 0], [0, 10]], 20, 0.5, 4);
  const e = kmeansElbow(x, 60, 2, 8, 1);
  assertEquals(e.k, [1, 2, 3, 4, 5, 6, 7, 8]);
  for (let i = 1; i < 8; i++) assertTrue(e.inertia[i] <= e.inertia[i - 1] + 1e-9);
  assertEquals(e.chosen, 3);
  assertEquals(new Set(e.labels).size, 3);
});

Deno.test("GMM density grid: normalised over a wide grid, peaks at the clusters", () => {
  const s = blobs([[0, 0], [6, 0]], 40, 0.7, 5);
  const g = gmmDensityGrid(s, 80, { k: 2, gridSize: 120, margin: 4, seed: 1 });
  assertEquals(g.logDensity.length, 120 * 120);
  const dx = g.xs[1] - g.xs[0], dy = g.ys[1] - g.ys[0];
  let mass = 0;
  for (const l of g.logDensity) mass += Math.exp(l) * dx * dy;
  assertNear(mass, 1, 0.01);
  const at = (x: number, y: number) => {
    const i = Math.round((x - g.xs[0]) / dx), j = Math.round((y - g.ys[0]) / dy);
    return g.logDensity[j * 120 + i];
  };
  assertTrue(at(0, 0) > at(3, 0) + 2 && at(6, 0) > at(3, 0) + 2);
  assertEquals(g.mixture.k, 2);
});

Deno.test("latent traversal and gradient importance on the VIBANN architecture", async () => {
  const E = 5,
    model = new VibannReference({ elements: E, latentDim: 3, dropout: 0.3, seed: 12, backend: cpu64 });
  const em = vibannExplainable(model, [{ loadMean: 1, loadScale: 2, yMean: 400, yScale: 100 }], {
    elements: ["Fe", "Ni", "Co", "Cr", "Mn"],
  });
  const head = (z: number[], load: number) =>
    scope(() =>
      noGrad(() => cpu64.data(em.head(cpu64.fromData(z, [1, 3]), cpu64.fromData([load], [1, 1])))[0])
    );
  const z0 = [0.3, -0.5, 1.2];
  const values = linspace(-2, 2, 5);
  const steps = await latentTraversal(em, z0, 1, values, 2.5, { top: 2 });
  assertEquals(steps.length, 5);
  steps.forEach((s, k) => {
    assertNear(s.hv, head([z0[0], values[k], z0[2]], 2.5), 1e-9);
    assertNear(s.composition.reduce((a, b) => a + b, 0), 1, 1e-12);
    assertEquals(s.top.length, 2);
    assertTrue(s.top[0].fraction >= s.top[1].fraction && /^[A-Z][a-z]?$/.test(s.top[0].element));
  });
  const n = 4, r = new Rng(8);
  const Z = Array.from({ length: n * 3 }, () => r.normal());
  const loads = [0.5, 1, 2, 9.8];
  const gi = await latentGradientImportance(em, Z, loads);
  const h = 1e-6;
  const expected = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) {
      const zp = Z.slice(i * 3, i * 3 + 3), zm = zp.slice();
      zp[j] += h, zm[j] -= h;
      const fd = (head(zp, loads[i]) - head(zm, loads[i])) / (2 * h);
      assertNear(gi.gradients[i * 3 + j], fd, 1e-5 * Math.max(1, Math.abs(fd)));
      expected[j] += Math.abs(fd) / n;
    }
  }
  expected.forEach((v, j) => assertNear(gi.importance[j], v, 1e-5 * Math.max(1, v)));
  model.dispose();
});
