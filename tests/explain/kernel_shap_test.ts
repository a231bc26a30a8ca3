/**
 * Kernel SHAP: closed-form values of a linear model (φ_i = w_i (x_i − E_b x_i)), efficiency on nonlinear models,
 * exact enumeration against the Shapley formula computed by brute force over subsets, sampling against exact
 * enumeration, and the per-dataset / per-cluster summaries.
 */
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { Rng } from "../../nn/random.ts";
import { type BatchFn, kernelShap, shapCoalitions, shapOverDataset } from "../../explain/kernel_shap.ts";
import { groupShapByCluster, shapByCluster } from "../../explain/shap_by_cluster.ts";

function randomRows(n: number, d: number, seed: number): Float64Array {
  const r = new Rng(seed);
  return Float64Array.from({ length: n * d }, () => r.normal());
}

const linear = (w: number[], c: number): BatchFn => (rows, m) => {
  const d = w.length, out = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = c;
    for (let j = 0; j < d; j++) s += w[j] * rows[i * d + j];
    out[i] = s;
  }
  return out;
};

/** A nonlinear function with interactions of up to three features (a 2-additive game would not tell semivalues apart). */
const nonlinear: BatchFn = (rows, m) => {
  const d = rows.length / m, out = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const x = rows.subarray(i * d, (i + 1) * d);
    let s = Math.max(x[0], x[1]) + x[2] * x[3] + 0.5 * x[4] ** 2 + x[0] * x[2] * x[4];
    for (let j = 5; j < d; j++) s += Math.sin(x[j]) * x[(j + 1) % d];
    out[i] = s;
  }
  return out;
};

/** Exact Shapley values of v(S) = mean_b f(x_S, b_{∖S}) by the subset formula (independent of the regression). */
async function bruteForceShapley(f: BatchFn, x: number[], bg: Float64Array): Promise<Float64Array> {
  const d = x.length, nb = bg.length / d, subsets = 1 << d;
  const rows = new Float64Array(subsets * nb * d);
  for (let S = 0; S < subsets; S++) {
    for (let b = 0; b < nb; b++) {
      for (let j = 0; j < d; j++) rows[(S * nb + b) * d + j] = (S >> j) & 1 ? x[j] : bg[b * d + j];
    }
  }
  const y = await f(rows, subsets * nb);
  const v = Float64Array.from({ length: subsets }, (_, S) => {
    let s = 0;
    for (let b = 0; b < nb; b++) s += y[S * nb + b];
    return s / nb;
  });
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const phi = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    for (let S = 0; S < subsets; S++) {
      if ((S >> i) & 1) continue;
      let k = 0;
      for (let j = 0; j < d; j++) k += (S >> j) & 1;
      phi[i] += (fact(k) * fact(d - k - 1)) / fact(d) * (v[S | (1 << i)] - v[S]);
    }
  }
  return phi;
}

Deno.test("linear model: φ_i = w_i (x_i − E_b x_i), exactly (enumerated) and with sampled coalitions", async () => {
  for (const d of [5, 40]) {
    const r = new Rng(d);
    const w = Array.from({ length: d }, () => r.normal());
    const x = Array.from({ length: d }, () => r.normal());
    const nb = 7, bg = randomRows(nb, d, 3);
    const res = await kernelShap(linear(w, 1.5), x, bg, { samples: 300, seed: 2 });
    assertEquals(res.exact, d === 5);
    for (let i = 0; i < d; i++) {
      let m = 0;
      for (let b = 0; b < nb; b++) m += bg[b * d + i] / nb;
      assertNear(res.values[i], w[i] * (x[i] - m), 1e-9, `d=${d} feature ${i}`);
    }
  }
});

Deno.test("efficiency: Σφ = f(x) − E_b f on a nonlinear model, exact and sampled, weighted background", async () => {
  for (const [d, samples] of [[6, 1000], [12, 200], [30, 500]]) {
    const x = Array.from(randomRows(1, d, 10 + d));
    const bg = randomRows(5, d, 20 + d);
    const weights = [1, 2, 0.5, 1, 3];
    const res = await kernelShap(nonlinear, x, bg, { samples, seed: 1, backgroundWeights: weights });
    const y = nonlinear(bg, 5) as Float64Array;
    const base = weights.reduce((s, w, b) => s + w * y[b], 0) / weights.reduce((a, b) => a + b, 0);
    assertNear(res.base, base, 1e-12);
    assertNear(res.fx, (nonlinear(Float64Array.from(x), 1) as Float64Array)[0], 1e-12);
    assertNear(res.values.reduce((a, b) => a + b, 0), res.fx - res.base, 1e-9, `d=${d}`);
  }
});

Deno.test("exact enumeration equals the Shapley subset formula on a nonlinear model (even d: an unpaired middle size)", async () => {
  const d = 8, x = Array.from(randomRows(1, d, 41)), bg = randomRows(4, d, 42);
  const res = await kernelShap(nonlinear, x, bg, { seed: 3 });
  assertTrue(res.exact);
  assertEquals(res.coalitions, 2 ** d - 2);
  const ref = await bruteForceShapley(nonlinear, x, bg);
  ref.forEach((p, i) => assertNear(res.values[i], p, 1e-9, `feature ${i}`));
});

Deno.test("sampled coalitions approach the exact values (d = 11, 2046 coalitions exist, 600 sampled)", async () => {
  const d = 11, x = Array.from(randomRows(1, d, 51)), bg = randomRows(6, d, 52);
  const exact = await kernelShap(nonlinear, x, bg, { seed: 1 });
  assertTrue(exact.exact);
  const sampled = await kernelShap(nonlinear, x, bg, { samples: 600, seed: 1 });
  assertTrue(!sampled.exact && sampled.coalitions <= 600);
  const scale = Math.max(...exact.values.map(Math.abs));
  exact.values.forEach((p, i) => assertNear(sampled.values[i], p, 0.05 * scale, `feature ${i}`));
  // Same seed, same values; another seed, other coalitions.
  const again = await kernelShap(nonlinear, x, bg, { samples: 600, seed: 1 });
  assertEquals(Array.from(again.values), Array.from(sampled.values));
  const other = await kernelShap(nonlinear, x, bg, { samples: 600, seed: 2 });
  assertTrue(other.values.some((v, i) => v !== sampled.values[i]));
});

Deno.test("features equal to x in every background row get φ = 0 and are not sampled", async () => {
  const x = [1, 0, 2, 0, 3, 0];
  const bg = Float64Array.from([0.5, 0, 1, 0, 2, 0, 1.5, 0, 3, 0, 1, 0]);
  const res = await kernelShap(nonlinear, x, bg, {});
  assertEquals(res.varying, 3);
  for (const j of [1, 3, 5]) assertEquals(res.values[j], 0);
  assertNear(res.values.reduce((a, b) => a + b, 0), res.fx - res.base, 1e-12);
});

Deno.test("the batch function is called once with every coalition", async () => {
  let calls = 0;
  const f: BatchFn = (rows, m) => (calls++, nonlinear(rows, m));
  const res = await kernelShap(f, Array.from(randomRows(1, 20, 1)), randomRows(3, 20, 2), { samples: 100 });
  assertEquals(calls, 1);
  assertEquals(res.coalitions, 100);
});

Deno.test("coinciding coalition rows are evaluated once, with the same values as the subset formula", async () => {
  // Background rows that equal x except on 2–3 features (as sparse alloys share most zero fractions).
  const d = 8, x = Array.from(randomRows(1, d, 71)), nb = 4;
  const bg = new Float64Array(nb * d);
  const differ = [[0, 3], [1, 2, 5], [6, 7], [0, 4, 7]];
  for (let b = 0; b < nb; b++) {
    for (let j = 0; j < d; j++) bg[b * d + j] = differ[b].includes(j) ? x[j] + 1 + b : x[j];
  }
  let seenRows: Float64Array | null = null;
  const f: BatchFn = (rows, m) => ((seenRows = rows.slice()), nonlinear(rows, m));
  const res = await kernelShap(f, x, bg, { seed: 1 });
  assertTrue(res.exact);
  // Independent count: the distinct rows among x, the background and every (coalition, background row) pair.
  const distinct = new Set<string>([
    x.join(),
    ...Array.from({ length: nb }, (_, b) => bg.slice(b * d, (b + 1) * d).join()),
  ]);
  for (let S = 1; S < (1 << d) - 1; S++) {
    for (let b = 0; b < nb; b++) {
      distinct.add(Array.from({ length: d }, (_, j) => ((S >> j) & 1 ? x[j] : bg[b * d + j])).join());
    }
  }
  assertEquals(res.modelRows, distinct.size);
  assertEquals(seenRows!.length, distinct.size * d);
  assertTrue(res.modelRows < res.coalitions * nb / 10, `${res.modelRows} rows for ${res.coalitions} × ${nb}`);
  const ref = await bruteForceShapley(nonlinear, x, bg);
  ref.forEach((p, i) => assertNear(res.values[i], p, 1e-9, `feature ${i}`));
});

Deno.test("coalition weights follow the Shapley kernel when enumerated", () => {
  const M = 6, c = shapCoalitions(M, 1000, new Rng(1));
  assertTrue(c.exact);
  const binom = (n: number, k: number): number => (k === 0 ? 1 : (binom(n, k - 1) * (n - k + 1)) / k);
  const kernel = (s: number) => (M - 1) / (binom(M, s) * s * (M - s));
  let total = 0;
  for (let s = 1; s < M; s++) total += binom(M, s) * kernel(s);
  for (let i = 0; i < c.count; i++) {
    let s = 0;
    for (let j = 0; j < M; j++) s += c.masks[i * M + j];
    assertNear(c.weights[i], kernel(s) / total, 1e-15);
  }
});

Deno.test("shapOverDataset: per-row values, global mean |φ|; shapByCluster groups them by latent cluster", async () => {
  const d = 4, w = [2, -1, 0.5, 3];
  const n = 6, X = randomRows(n, d, 61), bg = randomRows(5, d, 62);
  const ds = await shapOverDataset(linear(w, 0), X, n, d, bg, {});
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let b = 0; b < 5; b++) m += bg[b * d + j] / 5;
    let abs = 0;
    for (let i = 0; i < n; i++) {
      assertNear(ds.values[i * d + j], w[j] * (X[i * d + j] - m), 1e-9);
      abs += Math.abs(w[j] * (X[i * d + j] - m)) / n;
    }
    assertNear(ds.meanAbs[j], abs, 1e-9);
  }
  // Two far-apart latent groups: rows 0–2 near (0, 0), rows 3–5 near (10, 10).
  const Z = Float64Array.from([0, 0, 0.1, 0, 0, 0.1, 10, 10, 10.1, 10, 10, 10.2]);
  const byCluster = await shapByCluster(linear(w, 0), X, n, d, bg, Z, 2, { k: 2, seed: 1 });
  assertEquals(byCluster.clusters.length, 2);
  const sizes = byCluster.clusters.map((c) => c.rows.length).sort();
  assertEquals(sizes, [3, 3]);
  for (const c of byCluster.clusters) {
    assertTrue(c.rows.every((r) => r < 3) || c.rows.every((r) => r >= 3));
    for (let j = 0; j < d; j++) {
      const mean = c.rows.reduce((s, r) => s + Math.abs(ds.values[r * d + j]), 0) / c.rows.length;
      assertNear(c.meanAbs[j], mean, 1e-9);
    }
  }
  const g = groupShapByCluster(ds, Int32Array.from([0, 0, 1, 1, 1, 1]), 2);
  assertEquals(g.clusters.map((c) => c.rows), [[0, 1], [2, 3, 4, 5]]);
});
