/**
 * Candidate selection after sampling or optimisation (reference §6.7), model-free: novelty (L2 distance from a
 * candidate composition to its nearest training composition) and its threshold (a quantile of the leave-one-out
 * nearest-neighbour distances within the training set), the gates (log prior, novelty, σ), de-duplication by
 * rounding, and greedy diverse selection with a minimum separation.
 *
 * Distances are computed on the CPU in float64 as Σ(a − b)² directly (not ‖a‖² + ‖b‖² − 2a·b, which cancels badly
 * for near-duplicates, exactly the case that decides novelty), with early exit once a partial sum exceeds the best
 * so far. That is ~10⁸ multiply-adds per second in JS: 20 000 candidates × 673 training rows × 56 elements takes
 * well under a second, and the O(n²) leave-one-out pass over ~700 training rows is instant — no device round trip
 * is worth it here. Matrices are row-major `ArrayLike<number>` with an explicit row width `dim`.
 * @module
 */
import { quantile } from "../nn/metrics/quantile.ts";

/** Quantile of the leave-one-out nearest-neighbour distances used as the novelty threshold (reference NOVELTY_Q). */
export const NOVELTY_QUANTILE = 0.75;
/** Decimals of the rounding that defines duplicate compositions (reference DEDUP_DECIMALS). */
export const DEDUP_DECIMALS = 4;
/** Minimum separation of diverse picks as a multiple of the novelty threshold (reference MIN_SEP = 0.5·thr). */
export const MIN_SEP_FACTOR = 0.5;
/** The same when no candidate passed the gates (reference: 0.25·thr on the top {@link FALLBACK_POOL} rows). */
export const FALLBACK_MIN_SEP_FACTOR = 0.25;
/** Number of diverse picks (reference TOPK_DIVERSE). */
export const DIVERSE_K = 40;
/** Rows considered for the fallback diverse pick when nothing is accepted (reference TOPK_EXPORT). */
export const FALLBACK_POOL = 200;

/** For each query row: the distance to its nearest reference row and that row's index. */
export interface NearestNeighbours {
  /** L2 distance to the nearest reference row (Infinity when there is none). */
  distance: Float64Array;
  /** Index of the nearest reference row (the first on ties; −1 when there is none). */
  index: Int32Array;
}

function rowCount(fn: string, name: string, m: ArrayLike<number>, dim: number): number {
  if (!Number.isInteger(dim) || dim < 1) {
    throw new RangeError(`${fn}: dim must be a whole number ≥ 1, got ${dim}`);
  }
  if (m.length % dim !== 0) {
    throw new RangeError(`${fn}: ${name} has ${m.length} values, not a whole number of rows of ${dim}`);
  }
  for (let i = 0; i < m.length; i++) {
    if (!Number.isFinite(m[i])) throw new RangeError(`${fn}: ${name}[${i}] is ${m[i]}`);
  }
  return m.length / dim;
}

/** Squared distance between row `i` of `a` and row `j` of `b`, or any value > `bound` once it exceeds `bound`. */
function squaredDistanceBounded(
  a: ArrayLike<number>,
  i: number,
  b: ArrayLike<number>,
  j: number,
  dim: number,
  bound: number,
): number {
  let s = 0;
  const ai = i * dim, bj = j * dim;
  for (let d = 0; d < dim; d++) {
    const t = a[ai + d] - b[bj + d];
    s += t * t;
    if (s > bound) return s;
  }
  return s;
}

/**
 * Novelty: for each query row, the L2 distance to the nearest reference row (e.g. candidates vs training
 * compositions), batched over all queries.
 * @param queries nq × dim, row-major
 * @param reference nr × dim, row-major
 * @throws {RangeError} on a ragged matrix or a non-finite value
 */
export function nearestDistances(
  queries: ArrayLike<number>,
  reference: ArrayLike<number>,
  dim: number,
): NearestNeighbours {
  const nq = rowCount("nearestDistances", "queries", queries, dim);
  const nr = rowCount("nearestDistances", "reference", reference, dim);
  const distance = new Float64Array(nq), index = new Int32Array(nq);
  for (let i = 0; i < nq; i++) {
    let best = Infinity, arg = -1;
    for (let j = 0; j < nr; j++) {
      const s = squaredDistanceBounded(queries, i, reference, j, dim, best);
      if (s < best) best = s, arg = j;
    }
    distance[i] = Math.sqrt(best);
    index[i] = arg;
  }
  return { distance, index };
}

/**
 * Leave-one-out nearest neighbours within one set: for each row, the distance to the nearest OTHER row (a duplicate
 * row is at distance 0 — de-duplicate first with {@link dedupRows} where that matters).
 * @param rows n × dim, row-major
 * @returns distances (Infinity and index −1 for a single row)
 */
export function leaveOneOutNearest(rows: ArrayLike<number>, dim: number): NearestNeighbours {
  const n = rowCount("leaveOneOutNearest", "rows", rows, dim);
  const distance = new Float64Array(n), index = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity, arg = -1;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const s = squaredDistanceBounded(rows, i, rows, j, dim, best);
      if (s < best) best = s, arg = j;
    }
    distance[i] = Math.sqrt(best);
    index[i] = arg;
  }
  return { distance, index };
}

/** Options of {@link noveltyThreshold}. */
export interface NoveltyThresholdOptions {
  /** Quantile level of the leave-one-out distances (default {@link NOVELTY_QUANTILE}). */
  q?: number;
  /**
   * De-duplicate the reference by rounding to this many decimals first (default {@link DEDUP_DECIMALS}); `null`
   * keeps every row. Duplicates (the same composition measured at several loads) would otherwise count as distance-0
   * neighbours and pull the threshold down.
   */
  dedupeDecimals?: number | null;
}

/** The novelty reference: threshold and the leave-one-out distances it came from. */
export interface NoveltyThreshold {
  /** `quantile(looDistance, q)` (NumPy "linear" quantile, as the reference's np.quantile). */
  threshold: number;
  q: number;
  /** Indices of the reference rows used (after de-duplication), ascending. */
  rows: number[];
  /** Leave-one-out nearest-neighbour distance of each used row, aligned with {@link rows}. */
  looDistance: Float64Array;
}

/**
 * Novelty threshold from the training compositions (reference §6.7 step 1): the q-quantile (default 0.75) of each
 * training composition's distance to its nearest other training composition. A candidate is "novel" when its
 * {@link nearestDistances} to the training set is at least this.
 * @param reference n × dim training compositions, row-major
 * @throws {RangeError} when fewer than 2 distinct rows remain or q is outside [0, 1]
 */
export function noveltyThreshold(
  reference: ArrayLike<number>,
  dim: number,
  options: NoveltyThresholdOptions = {},
): NoveltyThreshold {
  const q = options.q ?? NOVELTY_QUANTILE;
  const decimals = options.dedupeDecimals === undefined ? DEDUP_DECIMALS : options.dedupeDecimals;
  const n = rowCount("noveltyThreshold", "reference", reference, dim);
  const rows = decimals === null
    ? Array.from({ length: n }, (_, i) => i)
    : dedupRows(reference, dim, decimals);
  if (rows.length < 2) {
    throw new RangeError(`noveltyThreshold: need at least 2 distinct reference rows, got ${rows.length}`);
  }
  const sub = new Float64Array(rows.length * dim);
  rows.forEach((r, k) => {
    for (let d = 0; d < dim; d++) sub[k * dim + d] = reference[r * dim + d];
  });
  const looDistance = leaveOneOutNearest(sub, dim).distance;
  return { threshold: quantile(looDistance, q), q, rows, looDistance };
}

/** x rounded to `decimals` places as NumPy's `np.round` does (half to even on x·10^decimals), as an integer key. */
function roundKey(x: number, scale: number): number {
  const y = x * scale;
  let r = Math.round(y);
  if (Math.abs(y - Math.trunc(y)) === 0.5) r = 2 * Math.round(y / 2);
  return r === 0 ? 0 : r; // −0 and 0 are the same key
}

/**
 * De-duplication by rounding (reference §6.7 step 3, `np.unique(np.round(X, 4), axis=0, return_index=True)`): the
 * index of the first row of each distinct rounded row, ascending.
 * @param rows n × dim, row-major
 * @param decimals rounding decimals (default {@link DEDUP_DECIMALS})
 */
export function dedupRows(rows: ArrayLike<number>, dim: number, decimals = DEDUP_DECIMALS): number[] {
  const n = rowCount("dedupRows", "rows", rows, dim);
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 12) {
    throw new RangeError(`dedupRows: decimals must be a whole number from 0 to 12, got ${decimals}`);
  }
  const scale = 10 ** decimals;
  const seen = new Set<string>();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = Array.from({ length: dim }, (_, d) => roundKey(rows[i * dim + d], scale)).join(",");
    if (!seen.has(key)) seen.add(key), out.push(i);
  }
  return out;
}

/** Gate thresholds; an absent threshold disables its gate (it passes every candidate). */
export interface GateThresholds {
  /** Plausibility: log prior density ≥ this (reference: weighted 10 % quantile of the training log densities). */
  logPriorMin?: number;
  /** Novelty: distance to the nearest training composition ≥ this ({@link noveltyThreshold}). */
  noveltyMin?: number;
  /** Certainty: predictive σ ≤ this (reference: 2.5 · q75 of the training σ). */
  sigmaMax?: number;
}

/** Per-candidate values the gates look at (each needed only when its threshold is set). */
export interface GateInputs {
  logPrior?: ArrayLike<number>;
  novelty?: ArrayLike<number>;
  sigma?: ArrayLike<number>;
}

/** Gate outcomes, one boolean per candidate, and counts. */
export interface GateResult {
  logPriorOk: boolean[];
  noveltyOk: boolean[];
  sigmaOk: boolean[];
  /** All three gates passed. */
  accepted: boolean[];
  /** How many candidates passed each gate, and all of them. */
  counts: { logPrior: number; novelty: number; sigma: number; accepted: number; total: number };
}

/**
 * Applies the gates (reference §6.7 step 6): `logPrior ≥ logPriorMin`, `novelty ≥ noveltyMin`, `sigma ≤ sigmaMax`;
 * `accepted` = all three. A NaN value fails its gate; an absent threshold passes everyone.
 * @param n number of candidates
 * @throws {RangeError} when a threshold is set but its values are missing or not n long, or a threshold is NaN
 */
export function applyGates(n: number, inputs: GateInputs, thresholds: GateThresholds): GateResult {
  const gate = (
    name: string,
    values: ArrayLike<number> | undefined,
    thr: number | undefined,
    ok: (v: number, t: number) => boolean,
  ): boolean[] => {
    if (thr === undefined) return new Array(n).fill(true);
    if (Number.isNaN(thr)) throw new RangeError(`applyGates: the ${name} threshold is NaN`);
    if (values === undefined || values.length !== n) {
      throw new RangeError(`applyGates: ${name} needs ${n} values, got ${values?.length ?? "none"}`);
    }
    return Array.from({ length: n }, (_, i) => ok(values[i], thr));
  };
  const logPriorOk = gate("logPrior", inputs.logPrior, thresholds.logPriorMin, (v, t) => v >= t);
  const noveltyOk = gate("novelty", inputs.novelty, thresholds.noveltyMin, (v, t) => v >= t);
  const sigmaOk = gate("sigma", inputs.sigma, thresholds.sigmaMax, (v, t) => v <= t);
  const accepted = logPriorOk.map((a, i) => a && noveltyOk[i] && sigmaOk[i]);
  const count = (b: boolean[]) => b.reduce((s, x) => s + (x ? 1 : 0), 0);
  return {
    logPriorOk,
    noveltyOk,
    sigmaOk,
    accepted,
    counts: {
      logPrior: count(logPriorOk),
      novelty: count(noveltyOk),
      sigma: count(sigmaOk),
      accepted: count(accepted),
      total: n,
    },
  };
}

/**
 * Indices sorted by several keys, each descending, lexicographically (the first key decides, later keys break its
 * ties, then the lower index), with NaN last in each key — e.g. the reference's table order
 * `rankDescending(accepted, softScore, lcb, logPrior)`. Booleans count as 1/0.
 * @throws {RangeError} when the keys differ in length or none is given
 */
export function rankDescending(...keys: ArrayLike<number | boolean>[]): number[] {
  if (keys.length === 0) throw new RangeError("rankDescending: no keys");
  const n = keys[0].length;
  if (keys.some((k) => k.length !== n)) throw new RangeError("rankDescending: keys differ in length");
  const cols = keys.map((k) => Float64Array.from({ length: n }, (_, i) => Number(k[i])));
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    for (const c of cols) {
      const x = c[a], y = c[b];
      const xn = Number.isNaN(x), yn = Number.isNaN(y);
      if (xn !== yn) return xn ? 1 : -1;
      if (!xn && x !== y) return y - x;
    }
    return a - b;
  });
}

/** Options of {@link greedyDiverseSelect}. */
export interface DiverseSelectOptions {
  /** How many to pick at most. */
  k: number;
  /** Minimum L2 distance between any two picks (a candidate at exactly minSep is accepted). */
  minSep: number;
}

/**
 * Greedy diverse selection (reference `_greedy_diverse_select`): walk `order` (best first), take the first, then take
 * a candidate only if its L2 distance to every one taken so far is ≥ `minSep`, until `k` are taken or `order` ends.
 * @param points n × dim candidate compositions, row-major
 * @param order candidate indices in order of preference (e.g. from {@link rankDescending}); may be a subset
 * @returns the picked indices in the order they were picked
 * @throws {RangeError} on a bad k/minSep or an index outside the points
 */
export function greedyDiverseSelect(
  points: ArrayLike<number>,
  dim: number,
  order: ArrayLike<number>,
  options: DiverseSelectOptions,
): number[] {
  const n = rowCount("greedyDiverseSelect", "points", points, dim);
  const { k, minSep } = options;
  if (!Number.isInteger(k) || k < 0) {
    throw new RangeError(`greedyDiverseSelect: k must be a whole number ≥ 0`);
  }
  if (!(minSep >= 0)) throw new RangeError(`greedyDiverseSelect: minSep must be ≥ 0, got ${minSep}`);
  const sep2 = minSep * minSep;
  const picked: number[] = [];
  for (let o = 0; o < order.length && picked.length < k; o++) {
    const i = order[o];
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new RangeError(`greedyDiverseSelect: order[${o}] = ${i} is not a row index`);
    }
    // Squared distances against the squared bound: exact for "≥" and no square roots.
    if (picked.every((j) => squaredDistanceBounded(points, i, points, j, dim, sep2) >= sep2)) picked.push(i);
  }
  return picked;
}

/** Inputs of {@link selectDiverseCandidates}. */
export interface DiverseCandidatesInput {
  /** n × dim candidate compositions, row-major. */
  points: ArrayLike<number>;
  dim: number;
  /** All candidate indices in order of preference (e.g. `rankDescending(accepted, softScore, lcb, logPrior)`). */
  order: ArrayLike<number>;
  /** Gate outcome per candidate. */
  accepted: ArrayLike<boolean>;
  /** The novelty threshold the separations are scaled by. */
  noveltyThreshold: number;
  /** Picks (default {@link DIVERSE_K}). */
  k?: number;
  /** Rows considered when nothing is accepted (default {@link FALLBACK_POOL}). */
  fallbackPool?: number;
}

/** Result of {@link selectDiverseCandidates}. */
export interface DiverseCandidates {
  /** Picked candidate indices, in pick order. */
  picked: number[];
  /** The separation used. */
  minSep: number;
  /** True when nothing was accepted and the fallback pool was used. */
  fallback: boolean;
}

/**
 * The reference's diverse-pick policy (§6.7 step 8): greedy diverse selection over the accepted candidates in `order`
 * with minSep = 0.5 · noveltyThreshold; if none is accepted, over the first `fallbackPool` candidates of `order` with
 * minSep = 0.25 · noveltyThreshold.
 */
export function selectDiverseCandidates(input: DiverseCandidatesInput): DiverseCandidates {
  const { points, dim, order, accepted, noveltyThreshold } = input;
  const k = input.k ?? DIVERSE_K;
  const ordered = Array.from(order);
  const pool = ordered.filter((i) => accepted[i]);
  if (pool.length > 0) {
    const minSep = MIN_SEP_FACTOR * noveltyThreshold;
    return { picked: greedyDiverseSelect(points, dim, pool, { k, minSep }), minSep, fallback: false };
  }
  const minSep = FALLBACK_MIN_SEP_FACTOR * noveltyThreshold;
  const top = ordered.slice(0, input.fallbackPool ?? FALLBACK_POOL);
  return { picked: greedyDiverseSelect(points, dim, top, { k, minSep }), minSep, fallback: true };
}

/**
 * The reference's ranking score (§6.7 step 7), in HV units: `lcb + 250·novelty + 0.03·logPrior −
 * 0.20·max(0, σ − σref)²`, per candidate.
 * @param sigmaRef the reference σ (q75 of the training σ at the design load)
 */
export function referenceSoftScore(
  lcb: ArrayLike<number>,
  novelty: ArrayLike<number>,
  logPrior: ArrayLike<number>,
  sigma: ArrayLike<number>,
  sigmaRef: number,
): Float64Array {
  const n = lcb.length;
  if (novelty.length !== n || logPrior.length !== n || sigma.length !== n) {
    throw new RangeError("referenceSoftScore: inputs differ in length");
  }
  return Float64Array.from({ length: n }, (_, i) => {
    const over = Math.max(0, sigma[i] - sigmaRef);
    return lcb[i] + 250 * novelty[i] + 0.03 * logPrior[i] - 0.2 * over * over;
  });
}
