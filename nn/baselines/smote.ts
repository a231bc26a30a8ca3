/**
 * SMOTE-style minority oversampling (Chawla, Bowyer, Hall, Kegelmeyer, JAIR 16 (2002) 321): each synthetic row is
 * a random point on the segment between a minority row and one of its k nearest minority neighbours,
 * x_new = x_a + u·(x_b − x_a), u ~ U[0, 1).
 *
 * Use it on the training rows of a fold only (the caller passes only those rows), so no test information leaks.
 * Neighbours are found by Euclidean distance on the minority rows standardised per column (z-scores over the
 * minority rows; a constant column counts zero), because descriptor columns have very different scales (fractions
 * vs kelvin). Interpolation is done on the raw values. Seeded with {@link Rng}: same seed, same rows.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { Rng } from "../random.ts";
import { type Matrix, matrix } from "./regressor.ts";

/** Options of {@link smote}. */
export interface SmoteOptions {
  /** Neighbours per minority row (default 5; fewer when the minority class is smaller). */
  k?: number;
  /** Target minority : majority ratio after oversampling (default 1 = balanced). */
  ratio?: number;
  /** Seed (default 0). */
  seed?: number;
}

/** Result of {@link smote}: the input rows followed by the synthetic ones. */
export interface SmoteResult {
  x: Matrix;
  y: Float64Array;
  /** Number of synthetic rows (at the end of `x`). */
  synthetic: number;
  /** The minority label (0 or 1), or null when nothing was added. */
  minority: number | null;
  /** For each synthetic row: the two input rows it lies between and the position u on the segment. */
  parents: { a: Int32Array; b: Int32Array; u: Float64Array };
}

/**
 * Oversamples the minority class of binary labels `y` (0/1) until minority / majority ≥ `ratio`.
 * @throws {UserError} for labels other than 0/1 or bad options
 */
export function smote(x: Matrix, y: ArrayLike<number>, options: SmoteOptions = {}): SmoteResult {
  const n = x.rows, D = x.cols;
  if (y.length !== n) throw new UserError(`smote: ${y.length} labels for ${n} rows`);
  const k0 = options.k ?? 5, ratio = options.ratio ?? 1;
  if (!(Number.isInteger(k0) && k0 >= 1)) throw new UserError(`smote: k must be an integer ≥ 1 (got ${k0})`);
  if (!(ratio > 0 && ratio <= 1)) throw new UserError(`smote: ratio must be in (0, 1] (got ${ratio})`);
  const ones: number[] = [], zeros: number[] = [];
  for (let i = 0; i < n; i++) {
    if (y[i] === 1) ones.push(i);
    else if (y[i] === 0) zeros.push(i);
    else throw new UserError(`smote: label of row ${i} is ${y[i]}, not 0 or 1`);
  }
  const minority = ones.length <= zeros.length ? 1 : 0;
  const minRows = minority === 1 ? ones : zeros;
  const majCount = minority === 1 ? zeros.length : ones.length;
  const need = Math.max(0, Math.ceil(ratio * majCount) - minRows.length);
  const empty = {
    x: matrix(n, D, x.data.slice()),
    y: Float64Array.from(y),
    synthetic: 0,
    minority: null,
    parents: { a: new Int32Array(0), b: new Int32Array(0), u: new Float64Array(0) },
  };
  if (need === 0 || minRows.length < 2) return empty;
  const m = minRows.length, k = Math.min(k0, m - 1);

  // standardised minority rows for the neighbour search
  const z = new Float64Array(m * D);
  for (let j = 0; j < D; j++) {
    let s = 0, s2 = 0;
    for (const r of minRows) s += x.data[r * D + j];
    const mean = s / m;
    for (const r of minRows) s2 += (x.data[r * D + j] - mean) ** 2;
    const sd = Math.sqrt(s2 / m);
    minRows.forEach((r, i) => z[i * D + j] = sd > 0 ? (x.data[r * D + j] - mean) / sd : 0);
  }
  // k nearest minority neighbours of each minority row (brute force, ties by index)
  const nbr = new Int32Array(m * k);
  const bestD = new Float64Array(k), bestI = new Int32Array(k);
  for (let i = 0; i < m; i++) {
    bestD.fill(Infinity), bestI.fill(-1);
    for (let q = 0; q < m; q++) {
      if (q === i) continue;
      let d = 0;
      for (let j = 0; j < D; j++) d += (z[i * D + j] - z[q * D + j]) ** 2;
      if (!(d < bestD[k - 1])) continue; // ties keep the lower index
      let t = k - 1;
      while (t > 0 && d < bestD[t - 1]) bestD[t] = bestD[t - 1], bestI[t] = bestI[t - 1], t--;
      bestD[t] = d, bestI[t] = q;
    }
    nbr.set(bestI, i * k);
  }

  const rng = new Rng(options.seed ?? 0, 0x5307e);
  const out = new Float64Array((n + need) * D);
  out.set(x.data);
  const yOut = new Float64Array(n + need);
  yOut.set(Array.from(y));
  const a = new Int32Array(need), b = new Int32Array(need), u = new Float64Array(need);
  for (let s = 0; s < need; s++) {
    // every minority row is used in turn (as in SMOTE's N% oversampling), its neighbour and u at random
    const i = s % m;
    const nb = nbr[i * k + rng.int(k)];
    const t = rng.uniform();
    const ra = minRows[i], rb = minRows[nb];
    for (let j = 0; j < D; j++) {
      const va = x.data[ra * D + j];
      out[(n + s) * D + j] = va + t * (x.data[rb * D + j] - va);
    }
    yOut[n + s] = minority;
    a[s] = ra, b[s] = rb, u[s] = t;
  }
  return { x: matrix(n + need, D, out), y: yOut, synthetic: need, minority, parents: { a, b, u } };
}
