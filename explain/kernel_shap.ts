/**
 * Model-agnostic Kernel SHAP (Lundberg & Lee 2017), as the `shap` package's `KernelExplainer`:
 *
 * - value of a coalition S: v(S) = E_b f(x_S, b_{∖S}) over the background rows b (interventional, weighted mean
 *   when background weights are given); v(∅) = E_b f(b) = `base`, v(all) = f(x);
 * - features whose value equals x in every background row cannot change f: they get φ = 0 and are left out
 *   (M = the number of varying features);
 * - coalitions: shap's scheme — subset sizes s and M − s are enumerated in full, from small to large, while the
 *   sample budget covers them at their Shapley-kernel weight; the remaining sizes are sampled (size ∝ kernel weight,
 *   then a uniformly random subset, each paired with its complement; a repeated coalition adds weight). With
 *   2^M − 2 ≤ samples every coalition is enumerated and the result is the exact Shapley value of v;
 * - φ by weighted least squares of v(S) − base on the coalition indicators with Shapley-kernel weights
 *   (M − 1) / (C(M, |S|) |S| (M − |S|)), the efficiency constraint Σφ = f(x) − base enforced exactly by eliminating
 *   the last varying feature (no L1 feature selection, unlike shap's `l1_reg="auto"`).
 *
 * Every coalition × background row, plus x and the background itself, is evaluated in ONE call of the batch
 * function, so a device model sees one large batch (it may split it into chunks itself). Rows that coincide are
 * evaluated once: for background row b, coalitions that agree on the features where b differs from x give the same
 * row (for sparse compositions most of them do).
 * @module
 */
import { Rng } from "../nn/random.ts";

/** A batch model: `rows` holds m rows × d features, row-major; returns the m predictions. */
export type BatchFn = (rows: Float64Array, m: number) => Float64Array | Promise<Float64Array>;

/** Options of {@link kernelShap}. */
export interface KernelShapOptions {
  /** Coalition budget (default 2M + 2048, as shap's "auto"; at most 2^M − 2, when every coalition is used). */
  samples?: number;
  /** Seed of the coalition sampling (default 0). */
  seed?: number;
  /** Weight per background row (default equal). */
  backgroundWeights?: ArrayLike<number>;
}

/** SHAP values of one input. */
export interface KernelShapResult {
  /** φ_i per feature (d); Σφ = fx − base. */
  values: Float64Array;
  /** E_background f. */
  base: number;
  /** f(x). */
  fx: number;
  /** Whether every coalition was enumerated (exact Shapley values of the background value function). */
  exact: boolean;
  /** Distinct coalitions evaluated. */
  coalitions: number;
  /** Number of varying features M (the others have φ = 0). */
  varying: number;
  /** Rows the model evaluated: x, the background and the distinct coalition rows. */
  modelRows: number;
}

/** Coalitions (0/1 masks over M features) and their regression weights. */
export interface Coalitions {
  /** c × M masks, row-major. */
  masks: Uint8Array;
  weights: Float64Array;
  count: number;
  exact: boolean;
}

function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** Calls `fn` with every k-subset of 0..n−1 in lexicographic order. */
function forEachCombination(n: number, k: number, fn: (idx: number[]) => void): void {
  const idx = Array.from({ length: k }, (_, i) => i);
  while (true) {
    fn(idx);
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i]++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
  }
}

/** Default coalition budget for M varying features: shap's 2M + 2048, capped at the 2^M − 2 that exist. */
export function defaultShapSamples(M: number): number {
  const auto = 2 * M + 2048;
  return M <= 30 ? Math.min(auto, 2 ** M - 2) : auto;
}

/**
 * The coalitions and weights of Kernel SHAP for M ≥ 2 features and a budget (shap's `KernelExplainer.explain`
 * scheme, see the module docs). Weights are normalised to sum to 1.
 */
export function shapCoalitions(M: number, samples: number, rng: Rng): Coalitions {
  const budget = M <= 30 ? Math.min(samples, 2 ** M - 2) : samples;
  const sizes = Math.ceil((M - 1) / 2), paired = Math.floor((M - 1) / 2);
  const wv = Float64Array.from({ length: sizes }, (_, i) => (M - 1) / ((i + 1) * (M - i - 1)));
  for (let i = 0; i < paired; i++) wv[i] *= 2;
  const wsum = wv.reduce((a, b) => a + b, 0);
  for (let i = 0; i < sizes; i++) wv[i] /= wsum;

  const masks: number[][] = [];
  const weights: number[] = [];
  const add = (m: number[], w: number) => (masks.push(m), weights.push(w));
  let full = 0, left = budget;
  const remaining = Float64Array.from(wv);
  for (let s = 1; s <= sizes; s++) {
    let nsub = binom(M, s);
    if (s <= paired) nsub *= 2;
    if (!(left * remaining[s - 1] / nsub >= 1 - 1e-8)) break;
    full++;
    left -= nsub;
    if (remaining[s - 1] < 1) {
      const r = 1 - remaining[s - 1];
      for (let i = 0; i < sizes; i++) remaining[i] /= r;
    }
    let w = wv[s - 1] / binom(M, s);
    if (s <= paired) w /= 2;
    forEachCombination(M, s, (idx) => {
      const m = new Array(M).fill(0);
      for (const i of idx) m[i] = 1;
      add(m, w);
      if (s <= paired) add(m.map((v) => 1 - v), w);
    });
  }
  const fixed = masks.length;
  if (full !== sizes) {
    const rw = Float64Array.from(wv);
    for (let i = 0; i < paired; i++) rw[i] /= 2;
    const tail = rw.slice(full);
    const tsum = tail.reduce((a, b) => a + b, 0);
    const cdf = new Float64Array(tail.length);
    let acc = 0;
    tail.forEach((v, i) => (acc += v / tsum, cdf[i] = acc));
    const used = new Map<string, number>();
    let samplesLeft = budget - fixed;
    const perm = Array.from({ length: M }, (_, i) => i);
    for (let draw = 0; samplesLeft > 0 && draw < 4 * (budget - fixed); draw++) {
      const u = rng.uniform();
      let ind = cdf.findIndex((c) => u <= c);
      if (ind < 0) ind = tail.length - 1;
      const s = ind + full + 1;
      rng.shuffle(perm);
      const m = new Array(M).fill(0);
      for (let i = 0; i < s; i++) m[perm[i]] = 1;
      // A repeated coalition (or complement) adds weight instead of a row.
      const put = (mask: number[]) => {
        const key = mask.join("");
        const at = used.get(key);
        if (at === undefined) {
          used.set(key, masks.length);
          samplesLeft--;
          add(mask, 1);
        } else weights[at] += 1;
      };
      put(m);
      if (samplesLeft > 0 && s <= paired) put(m.map((v) => 1 - v));
    }
    const weightLeft = wv.slice(full).reduce((a, b) => a + b, 0);
    let sampled = 0;
    for (let i = fixed; i < weights.length; i++) sampled += weights[i];
    for (let i = fixed; i < weights.length; i++) weights[i] *= weightLeft / sampled;
  }
  const out = new Uint8Array(masks.length * M);
  masks.forEach((m, i) => out.set(m, i * M));
  const w = Float64Array.from(weights);
  const t = w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) w[i] /= t;
  return { masks: out, weights: w, count: masks.length, exact: full === sizes };
}

/**
 * Solves the symmetric positive (semi-)definite system A x = b (n × n, row-major) by Gaussian elimination with
 * partial pivoting, after adding a relative ridge of 1e-12 · mean diagonal (guards a rank-deficient sample).
 */
function solveSpd(A: Float64Array, b: Float64Array, n: number): Float64Array {
  let tr = 0;
  for (let i = 0; i < n; i++) tr += A[i * n + i];
  const ridge = 1e-12 * (tr / Math.max(1, n) || 1);
  const a = Float64Array.from(A), x = Float64Array.from(b);
  for (let i = 0; i < n; i++) a[i * n + i] += ridge;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    if (p !== c) {
      for (let k = 0; k < n; k++) [a[c * n + k], a[p * n + k]] = [a[p * n + k], a[c * n + k]];
      [x[c], x[p]] = [x[p], x[c]];
    }
    const piv = a[c * n + c];
    if (piv === 0) continue;
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / piv;
      if (f === 0) continue;
      for (let k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c];
    for (let k = c + 1; k < n; k++) s -= a[c * n + k] * x[k];
    x[c] = a[c * n + c] === 0 ? 0 : s / a[c * n + c];
  }
  return x;
}

/**
 * Kernel SHAP values of one input (see the module docs).
 * @param f batch model over d features (may be async; called exactly once)
 * @param x the explained input (d values)
 * @param background nb × d reference rows, row-major
 * @throws {RangeError} on mismatched lengths, an empty background, non-finite input or model output
 * @example
 * ```ts
 * const r = await kernelShap(shapModelFn(em), [...comp, load], backgroundRows, { seed: 1 });
 * // r.values sum to r.fx − r.base
 * ```
 */
export async function kernelShap(
  f: BatchFn,
  x: ArrayLike<number>,
  background: ArrayLike<number>,
  o: KernelShapOptions = {},
): Promise<KernelShapResult> {
  const d = x.length;
  if (d < 1) throw new RangeError("kernelShap: no features");
  const nb = background.length / d;
  if (!Number.isInteger(nb) || nb < 1) {
    throw new RangeError(
      `kernelShap: background has ${background.length} values, not a positive multiple of ${d}`,
    );
  }
  for (let i = 0; i < d; i++) {
    if (!Number.isFinite(x[i])) throw new RangeError(`kernelShap: x[${i}] is ${x[i]}`);
  }
  const bw = new Float64Array(nb);
  if (o.backgroundWeights) {
    if (o.backgroundWeights.length !== nb) {
      throw new RangeError(`kernelShap: ${o.backgroundWeights.length} background weights for ${nb} rows`);
    }
    for (let b = 0; b < nb; b++) bw[b] = o.backgroundWeights[b];
  } else bw.fill(1);
  const wTotal = bw.reduce((a, b) => a + b, 0);
  if (!(wTotal > 0) || bw.some((w) => !(w >= 0))) throw new RangeError("kernelShap: bad background weights");
  for (let b = 0; b < nb; b++) bw[b] /= wTotal;

  const varying: number[] = [];
  for (let j = 0; j < d; j++) {
    for (let b = 0; b < nb; b++) {
      if (background[b * d + j] !== x[j]) {
        varying.push(j);
        break;
      }
    }
  }
  const M = varying.length;
  const co: Coalitions = M >= 2
    ? shapCoalitions(
      M,
      Math.max(1, Math.floor(o.samples ?? defaultShapSamples(M))),
      new Rng(o.seed ?? 0, 0x5348),
    )
    : { masks: new Uint8Array(0), weights: new Float64Array(0), count: 0, exact: true };

  // Rows: x, the background, then the DISTINCT coalition rows. For background row b only the varying features
  // where b differs from x matter (elsewhere x_S and b agree), so coalitions whose masks agree on those features
  // share one row; a mask of all ones there is x itself, all zeros is b. Sparse compositions differ from a
  // background alloy in a handful of elements, so this often removes most rows. rowOf[c·nb + b] = row of (c, b).
  const differs = Array.from({ length: nb }, (_, b) => {
    const qs: number[] = [];
    for (let q = 0; q < M; q++) if (background[b * d + varying[q]] !== x[varying[q]]) qs.push(q);
    return qs;
  });
  const rowOf = new Int32Array(co.count * nb);
  const firstOf: number[] = []; // (c·nb + b) of each new row, in order
  const seen = Array.from({ length: nb }, () => new Map<string, number>());
  let m = 1 + nb;
  for (let c = 0; c < co.count; c++) {
    for (let b = 0; b < nb; b++) {
      let key = "", ones = 0;
      for (const q of differs[b]) {
        const z = co.masks[c * M + q];
        key += z ? "1" : "0";
        ones += z;
      }
      let r = ones === differs[b].length ? 0 : ones === 0 ? 1 + b : seen[b].get(key);
      if (r === undefined) {
        seen[b].set(key, r = m++);
        firstOf.push(c * nb + b);
      }
      rowOf[c * nb + b] = r;
    }
  }
  const rows = new Float64Array(m * d);
  for (let j = 0; j < d; j++) rows[j] = x[j];
  for (let i = 0; i < nb * d; i++) rows[d + i] = background[i];
  firstOf.forEach((cb, k) => {
    const c = Math.floor(cb / nb), b = cb - c * nb, off = (1 + nb + k) * d;
    for (let j = 0; j < d; j++) rows[off + j] = background[b * d + j];
    for (let q = 0; q < M; q++) if (co.masks[c * M + q]) rows[off + varying[q]] = x[varying[q]];
  });
  const y = await f(rows, m);
  if (y.length !== m) throw new RangeError(`kernelShap: model returned ${y.length} values for ${m} rows`);
  for (let i = 0; i < m; i++) {
    if (!Number.isFinite(y[i])) throw new RangeError(`kernelShap: model output ${i} is ${y[i]}`);
  }
  const fx = y[0];
  let base = 0;
  for (let b = 0; b < nb; b++) base += bw[b] * y[1 + b];
  const delta = fx - base;
  const values = new Float64Array(d);
  if (M === 1) values[varying[0]] = delta;
  if (M >= 2) {
    // Σφ = Δ: φ_last = Δ − Σ_{q<M−1} φ_q, so v(S) − base − z_last·Δ = Σ_{q<M−1} (z_q − z_last) φ_q.
    const K = M - 1;
    const A = new Float64Array(K * K), rhs = new Float64Array(K), xr = new Float64Array(K);
    for (let c = 0; c < co.count; c++) {
      let v = 0;
      for (let b = 0; b < nb; b++) v += bw[b] * y[rowOf[c * nb + b]];
      const zl = co.masks[c * M + K];
      const t = v - base - zl * delta, w = co.weights[c];
      for (let q = 0; q < K; q++) xr[q] = co.masks[c * M + q] - zl;
      for (let p = 0; p < K; p++) {
        if (xr[p] === 0) continue;
        const wp = w * xr[p];
        rhs[p] += wp * t;
        for (let q = 0; q < K; q++) A[p * K + q] += wp * xr[q];
      }
    }
    const phi = solveSpd(A, rhs, K);
    let s = 0;
    for (let q = 0; q < K; q++) values[varying[q]] = phi[q], s += phi[q];
    values[varying[K]] = delta - s;
  }
  return { values, base, fx, exact: co.exact, coalitions: co.count, varying: M, modelRows: m };
}

/** Per-row SHAP values of a data set and their global summaries. */
export interface ShapDataset {
  /** n × d SHAP values, row-major. */
  values: Float64Array;
  /** f(x_i) per row. */
  fx: Float64Array;
  /** E_background f (the same for every row). */
  base: number;
  /** Global importance: mean |φ_i| over the rows (d). */
  meanAbs: Float64Array;
  /** Mean φ_i over the rows (d). */
  mean: Float64Array;
  n: number;
  d: number;
  /** Whether every row's values were exact. */
  exact: boolean;
}

/** Options of {@link shapOverDataset}. */
export interface ShapDatasetOptions extends KernelShapOptions {
  /** Called after each row (progress). */
  onRow?: (done: number, total: number) => void;
}

/**
 * Kernel SHAP for every row of `x` (n × d): one batched model call per row, row i's coalitions seeded by
 * seed + i·0x9e3779b1, so a row's values do not depend on which other rows are explained.
 */
export async function shapOverDataset(
  f: BatchFn,
  x: ArrayLike<number>,
  n: number,
  d: number,
  background: ArrayLike<number>,
  o: ShapDatasetOptions = {},
): Promise<ShapDataset> {
  if (x.length !== n * d) throw new RangeError(`shapOverDataset: ${x.length} values ≠ ${n} × ${d}`);
  const values = new Float64Array(n * d), fx = new Float64Array(n);
  const meanAbs = new Float64Array(d), mean = new Float64Array(d);
  let base = NaN, exact = true;
  for (let i = 0; i < n; i++) {
    const row = Array.prototype.slice.call(x, i * d, (i + 1) * d) as number[];
    const r = await kernelShap(f, row, background, { ...o, seed: ((o.seed ?? 0) + i * 0x9e3779b1) >>> 0 });
    values.set(r.values, i * d);
    fx[i] = r.fx;
    base = r.base;
    exact &&= r.exact;
    for (let j = 0; j < d; j++) meanAbs[j] += Math.abs(r.values[j]) / n, mean[j] += r.values[j] / n;
    o.onRow?.(i + 1, n);
  }
  return { values, fx, base, meanAbs, mean, n, d, exact };
}
