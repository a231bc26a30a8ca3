/**
 * High-throughput screening of HEA compositions (inverse-design strategy (a) of Zeng, Khan & Post): enumerate every
 * composition with `k` elements chosen from a subset, on a grid of `step` (e.g. 5 at.%), score it with a classifier
 * on the eight descriptors, and keep the `topK` most probable single-phase alloys.
 *
 * Streaming: nothing proportional to the number of compositions is ever held on the host. The lattice of ways to
 * split U = 1/step units over k elements is generated in chunks (k integers per row); each chunk is uploaded once
 * and placed on many element subsets at a time by one fused kernel (kernels/hea_descriptors.ts: lattice [M, k] ×
 * subsets [G, k] → descriptors [G·M, 8], no dense composition unless the classifier asks for it), so one device
 * batch holds about `batchSize` compositions. Per batch, one read brings back the scores; the top-k lives in a host
 * heap. The read of batch i overlaps the upload and dispatch of batch i + 1. On the CPU backend the float64 twin
 * computes the descriptors.
 *
 * Enumeration order (which fixes tie-breaking, lower index first): k ascending, then lattice rows in lexicographic
 * order of the unit counts, then element subsets in lexicographic order of their positions in `elements`.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { noGrad } from "../nn/autodiff.ts";
import { keep, scope } from "../nn/scope.ts";
import { add, greater, less, mul, reshape, slice, sub, tensor } from "../nn/ops.ts";
import { formatFormula } from "../data/formula.ts";
import type { HeaTables } from "../data/hea_tables.ts";
import { HEA_DESCRIPTOR_NAMES, heaDescriptorsHost, heaSubsetDescriptors } from "../data/hea_descriptors.ts";

/**
 * Scores a batch: descriptors [N, 8] (raw, unstandardised) → [N] or [N, 1] probabilities of single phase in [0, 1].
 * `composition` [N, E] (normalised fractions in the tables' element order) is passed only when the screening options
 * set `needsComposition`.
 */
export type HeaClassifier = (descriptors: Tensor, composition?: Tensor) => Tensor;

/** Inclusive ranges on descriptors, by name (see HEA_DESCRIPTOR_NAMES), e.g. `{ delta: [0, 6.6] }`. */
export type DescriptorRanges = Partial<Record<string, readonly [number, number]>>;

/** Progress of a screening run. */
export interface HeaScreenProgress {
  /** Compositions evaluated so far. */
  done: number;
  /** Compositions in the whole enumeration. */
  total: number;
  /** The best probability found so far (NaN before the first batch). */
  best: number;
}

/** The enumeration: which compositions are screened. */
export interface HeaEnumeration {
  /** The candidate elements (each must be in the tables' element list). */
  elements: readonly string[];
  /** Number of elements per composition: one value or an inclusive range [min, max]. */
  nElements: number | readonly [number, number];
  /** Grid step as a fraction (0.05 = 5 at.%); 1/step must be an integer. */
  step: number;
  /** Smallest fraction of a present element (default: one step). */
  minFraction?: number;
  /** Largest fraction of any element (default 1). */
  maxFraction?: number;
}

/** Options for {@link screenHea}. */
export interface HeaScreenOptions extends HeaEnumeration {
  backend: Backend;
  /** Descriptor tables; their element list gives the composition columns (usually HEA_TOP30). */
  tables: HeaTables;
  classify: HeaClassifier;
  /** Number of best compositions to keep (default 20). */
  topK?: number;
  /** Compositions per device batch (default 32768). */
  batchSize?: number;
  /** Only compositions whose descriptors lie in these ranges are ranked. */
  descriptorRanges?: DescriptorRanges;
  /** Only compositions with p ≥ minP are kept as hits and counted in `above` (default 0). */
  minP?: number;
  /** Pass the dense compositions to the classifier too (e.g. a classifier with a composition branch). */
  needsComposition?: boolean;
  /**
   * Host-side check of a candidate that would enter the top-k (its fractions in the tables' order and its eight
   * float64 descriptors), e.g. an applicability domain; rejected candidates are counted in `rejected` and never
   * kept. It runs only for candidates good enough to enter the heap, not for the whole enumeration.
   */
  accept?: (composition: Float64Array, descriptors: Float64Array) => boolean;
  /** Called after every batch. */
  onProgress?: (p: HeaScreenProgress) => void;
}

/** One screened composition. */
export interface HeaHit {
  /** at.% formula (e.g. `Fe25Ni25Co25Cr25`). */
  formula: string;
  /** Classifier probability of single phase (as computed on the device). */
  p: number;
  /** Fractions in the tables' element order (length E). */
  composition: Float64Array;
  /** The eight descriptors (float64 host twin), order HEA_DESCRIPTOR_NAMES. */
  descriptors: Float64Array;
}

/** The result of {@link screenHea}. */
export interface HeaScreenResult {
  /** Best first (ties: enumeration order). */
  hits: HeaHit[];
  /** Compositions evaluated. */
  evaluated: number;
  /** Compositions that passed the descriptor ranges (= evaluated without ranges). */
  passed: number;
  /** Of those, compositions with p ≥ minP. */
  above: number;
  /** Candidates good enough for the top-k that `accept` rejected (0 without `accept`). */
  rejected: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** Device batches run. */
  batches: number;
}

/** Binomial coefficient C(n, k) (exact for the sizes used here, < 2^53); 0 outside 0 ≤ k ≤ n. */
export function binomial(n: number, k: number): number {
  if (k < 0 || n < 0 || k > n) return 0;
  k = Math.min(k, n - k);
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

interface Grid {
  units: number;
  lo: number;
  hi: number;
  kMin: number;
  kMax: number;
  m: number;
}

function gridOf(e: HeaEnumeration): Grid {
  const m = e.elements.length;
  if (m === 0) throw new UserError("screen: no elements given");
  if (new Set(e.elements).size !== m) {
    throw new UserError(`screen: repeated element in ${e.elements.join(",")}`);
  }
  if (!(e.step > 0 && e.step <= 1)) throw new UserError(`screen: step ${e.step} is not in (0, 1]`);
  const units = Math.round(1 / e.step);
  if (Math.abs(units * e.step - 1) > 1e-9) {
    throw new UserError(`screen: 1/step must be an integer (step ${e.step} gives ${1 / e.step})`);
  }
  const unitsOf = (f: number, name: string) => {
    const u = f * units;
    if (Math.abs(u - Math.round(u)) > 1e-6) {
      throw new UserError(`screen: ${name} ${f} is not a multiple of the step ${e.step}`);
    }
    return Math.round(u);
  };
  const lo = Math.max(1, e.minFraction === undefined ? 1 : unitsOf(e.minFraction, "minimum fraction"));
  const hi = e.maxFraction === undefined ? units : unitsOf(e.maxFraction, "maximum fraction");
  if (hi < lo) throw new UserError(`screen: maximum fraction ${e.maxFraction} is below the minimum`);
  const [kMin, kMax] = typeof e.nElements === "number" ? [e.nElements, e.nElements] : e.nElements;
  if (!Number.isInteger(kMin) || !Number.isInteger(kMax) || kMin < 1 || kMax < kMin || kMax > m) {
    throw new UserError(`screen: number of elements ${kMin}–${kMax} must be integers in 1..${m}`);
  }
  return { units, lo, hi, kMin, kMax, m };
}

/** Number of ways to write `units` as an ordered sum of k parts, each in [lo, hi] (inclusion–exclusion). */
export function latticeCount(units: number, k: number, lo: number, hi: number): number {
  const free = units - k * lo, width = hi - lo + 1;
  let total = 0;
  for (let j = 0; j <= k; j++) {
    const rest = free - j * width;
    if (rest < 0) break;
    total += (j % 2 ? -1 : 1) * binomial(k, j) * binomial(rest + k - 1, k - 1);
  }
  return total;
}

/**
 * Number of compositions the enumeration holds: Σ_k C(m, k) · (lattice count), which without a maximum fraction
 * is C(m, k) · C(U − 1, k − 1) for U = 1/step.
 */
export function countHeaCompositions(e: HeaEnumeration): number {
  const g = gridOf(e);
  let n = 0;
  for (let k = g.kMin; k <= g.kMax; k++) n += binomial(g.m, k) * latticeCount(g.units, k, g.lo, g.hi);
  return n;
}

/**
 * The lattice of unit counts (k parts in [lo, hi] summing to `units`) in lexicographic order, in chunks of at most
 * `chunk` rows (row-major Int32Array, k per row).
 */
export function* latticeChunks(
  units: number,
  k: number,
  lo: number,
  hi: number,
  chunk: number,
): Generator<Int32Array> {
  const row = new Int32Array(k);
  let buf = new Int32Array(Math.max(1, chunk) * k), rows = 0;
  // Depth-first: part j takes every value that still leaves the remaining parts feasible.
  function* rec(j: number, left: number): Generator<Int32Array> {
    if (j === k - 1) {
      if (left < lo || left > hi) return;
      row[j] = left;
      buf.set(row, rows * k);
      if (++rows === chunk) {
        yield buf;
        buf = new Int32Array(chunk * k);
        rows = 0;
      }
      return;
    }
    const rem = k - 1 - j;
    for (let v = Math.max(lo, left - rem * hi); v <= Math.min(hi, left - rem * lo); v++) {
      row[j] = v;
      yield* rec(j + 1, left - v);
    }
  }
  yield* rec(0, units);
  if (rows > 0) yield buf.slice(0, rows * k);
}

/** The k-subsets of 0..m−1 in lexicographic order, starting after `from` (or at the first), at most `count`. */
function nextSubsets(m: number, k: number, state: Int32Array, count: number, first: boolean): Int32Array[] {
  const out: Int32Array[] = [];
  if (first) {
    for (let j = 0; j < k; j++) state[j] = j;
    out.push(state.slice());
  }
  while (out.length < count) {
    let j = k - 1;
    while (j >= 0 && state[j] === m - k + j) j--;
    if (j < 0) break;
    state[j]++;
    for (let t = j + 1; t < k; t++) state[t] = state[t - 1] + 1;
    out.push(state.slice());
  }
  return out;
}

/** A min-heap of the best `k` (score, order) pairs; higher score wins, ties go to the lower order. */
class TopK<T> {
  #items: { score: number; order: number; value: T }[] = [];
  constructor(readonly k: number) {}
  #worse(a: { score: number; order: number }, b: { score: number; order: number }) {
    return a.score < b.score || (a.score === b.score && a.order > b.order);
  }
  /** Whether (score, order) would enter. */
  admits(score: number, order: number): boolean {
    if (this.#items.length < this.k) return true;
    const w = this.#items[0];
    return this.#worse(w, { score, order });
  }
  push(score: number, order: number, value: T) {
    const h = this.#items, it = { score, order, value };
    if (h.length < this.k) {
      h.push(it);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.#worse(h[i], h[p])) break;
        [h[i], h[p]] = [h[p], h[i]];
        i = p;
      }
      return;
    }
    h[0] = it;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let s = i;
      if (l < h.length && this.#worse(h[l], h[s])) s = l;
      if (r < h.length && this.#worse(h[r], h[s])) s = r;
      if (s === i) break;
      [h[i], h[s]] = [h[s], h[i]];
      i = s;
    }
  }
  get best(): number {
    return this.#items.reduce((b, x) => Math.max(b, x.score), -Infinity);
  }
  sorted() {
    return [...this.#items].sort((a, b) => (this.#worse(a, b) ? 1 : this.#worse(b, a) ? -1 : 0));
  }
}

function rangeMask(desc: Tensor, ranges: DescriptorRanges): Tensor | null {
  let mask: Tensor | null = null;
  const n = desc.shape[0];
  for (const [name, r] of Object.entries(ranges)) {
    if (!r) continue;
    const j = HEA_DESCRIPTOR_NAMES.indexOf(name);
    const col = slice(desc, [0, j], [n, 1]);
    const lo = tensor([r[0]], [1, 1], { backend: desc.backend }),
      hi = tensor([r[1]], [1, 1], { backend: desc.backend });
    // inside ⇔ not (x < lo) and not (x > hi)
    const inside = mul(
      sub(tensor([1], [1, 1], { backend: desc.backend }), less(col, lo)),
      sub(
        tensor([1], [1, 1], { backend: desc.backend }),
        greater(col, hi),
      ),
    );
    mask = mask ? mul(mask, inside) : inside;
  }
  return mask;
}

/**
 * Screens every composition of the enumeration and keeps the best `topK` by classifier probability.
 * @throws {UserError} for a bad enumeration (unknown element, step, ranges) or a classifier output of the wrong shape
 * @example
 * ```ts
 * const r = await screenHea({ backend: be, tables: physicalTables(), classify: (d) => model.prob(d),
 *   elements: ["Fe", "Ni", "Co", "Cr", "Al", "Cu"], nElements: [4, 5], step: 0.05, topK: 10 });
 * ```
 */
export async function screenHea(o: HeaScreenOptions): Promise<HeaScreenResult> {
  const t0 = performance.now();
  const g = gridOf(o);
  const be = o.backend, E = o.tables.elements.length;
  const cols = o.elements.map((el) => {
    const i = o.tables.elements.indexOf(el);
    if (i < 0) {
      throw new UserError(`screen: element '${el}' is not in the tables (${o.tables.elements.join(",")})`);
    }
    return i;
  });
  for (const name of Object.keys(o.descriptorRanges ?? {})) {
    const r = o.descriptorRanges![name];
    if (!HEA_DESCRIPTOR_NAMES.includes(name)) {
      throw new UserError(`screen: unknown descriptor '${name}' (known: ${HEA_DESCRIPTOR_NAMES.join(", ")})`);
    }
    if (!r || !(r[0] <= r[1])) throw new UserError(`screen: range of ${name} must be [lo, hi] with lo ≤ hi`);
  }
  const topK = o.topK ?? 20, batchSize = o.batchSize ?? 32768, minP = o.minP ?? 0;
  if (!Number.isInteger(topK) || topK < 1) throw new UserError(`screen: topK ${topK} must be an integer ≥ 1`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`screen: batch size must be ≥ 1`);
  if (!(minP >= 0 && minP <= 1)) throw new UserError(`screen: minimum probability ${minP} is not in [0, 1]`);
  const total = countHeaCompositions(o);
  const heap = new TopK<{ units: Int32Array; subset: Int32Array; k: number }>(topK);
  const ranges = o.descriptorRanges && Object.keys(o.descriptorRanges).length ? o.descriptorRanges : null;
  let done = 0, passed = 0, above = 0, batches = 0, order = 0, rejected = 0;
  const compositionOf = (units: ArrayLike<number>, subset: ArrayLike<number>) => {
    const c = new Float64Array(E);
    for (let j = 0; j < subset.length; j++) c[cols[subset[j]]] = units[j] / g.units;
    return c;
  };
  // Every batch is padded (zero rows, scores ignored) to one row count, so the classifier's kernels, which the
  // engine compiles per shape, compile once per run rather than once per distinct batch size.
  const rows = Math.min(batchSize, Math.ceil(total / 64) * 64);

  interface Pending {
    scores: Tensor;
    read: Promise<Float32Array | Int32Array>;
    lattice: Int32Array;
    subsets: Int32Array[];
    k: number;
    first: number;
  }
  let pending: Pending | null = null;
  const drain = async (p: Pending) => {
    const s = await p.read;
    p.scores.dispose();
    const M = p.lattice.length / p.k;
    for (let gi = 0; gi < p.subsets.length; gi++) {
      for (let r = 0; r < M; r++) {
        const idx = gi * M + r, score = s[idx], ord = p.first + idx;
        if (!(score >= 0)) continue; // outside the descriptor ranges (−1)
        passed++;
        if (!(score >= minP)) continue;
        above++;
        if (heap.admits(score, ord)) {
          const units = p.lattice.slice(r * p.k, (r + 1) * p.k);
          if (o.accept) {
            const c = compositionOf(units, p.subsets[gi]);
            if (!o.accept(c, heaDescriptorsHost(c, o.tables))) {
              rejected++;
              continue;
            }
          }
          heap.push(score, ord, { units, subset: p.subsets[gi], k: p.k });
        }
      }
    }
    done += M * p.subsets.length;
    o.onProgress?.({ done, total, best: heap.best === -Infinity ? NaN : heap.best });
  };

  for (let k = g.kMin; k <= g.kMax; k++) {
    const latChunk = Math.max(1, Math.min(batchSize, latticeCount(g.units, k, g.lo, g.hi)));
    for (const lat of latticeChunks(g.units, k, g.lo, g.hi, latChunk)) {
      const M = lat.length / k;
      const L = keep(tensor(Float32Array.from(lat, (u) => u / g.units), [M, k], { backend: be }));
      const state = new Int32Array(k);
      let first = true;
      const G = Math.max(1, Math.floor(batchSize / M));
      for (;;) {
        const subsets = nextSubsets(g.m, k, state, G, first);
        first = false;
        if (subsets.length === 0) break;
        const sel = new Int32Array(subsets.length * k);
        subsets.forEach((sub, gi) => sub.forEach((pos, j) => sel[gi * k + j] = cols[pos]));
        const scores = noGrad(() =>
          scope(() => {
            const S = tensor(sel, [subsets.length, k], { backend: be, dtype: "i32" });
            const { descriptors: desc, composition } = heaSubsetDescriptors(
              be,
              L,
              S,
              o.tables,
              !!o.needsComposition,
              rows,
            );
            let p = composition ? o.classify(desc, composition) : o.classify(desc);
            if (p.size !== rows || (p.rank !== 1 && !(p.rank === 2 && p.shape[1] === 1))) {
              throw new UserError(
                `screen: the classifier returned shape [${p.shape.join(", ")}], expected [${rows}]`,
              );
            }
            p = reshape(p, [rows, 1]);
            const mask = ranges ? rangeMask(desc, ranges) : null;
            // out of range → −1 (p·mask + mask − 1)
            return keep(mask ? add(mul(p, mask), sub(mask, tensor([1], [1, 1], { backend: be }))) : p);
          })
        );
        const next: Pending = { scores, read: scores.read(), lattice: lat, subsets, k, first: order };
        order += subsets.length * M;
        batches++;
        if (pending) await drain(pending);
        pending = next;
        if (subsets.length < G) break;
      }
      if (pending) await drain(pending), pending = null;
      L.dispose();
    }
  }
  if (pending) await drain(pending);

  const hits: HeaHit[] = heap.sorted().map(({ score, value }) => {
    const c = compositionOf(value.units, value.subset);
    const parts: [string, number][] = [];
    value.subset.forEach((pos, j) => parts.push([o.elements[pos], (100 * value.units[j]) / g.units]));
    return {
      formula: formatFormula(parts),
      p: score,
      composition: c,
      descriptors: heaDescriptorsHost(c, o.tables),
    };
  });
  return {
    hits,
    evaluated: done,
    passed,
    above,
    rejected,
    seconds: (performance.now() - t0) / 1000,
    batches,
  };
}
