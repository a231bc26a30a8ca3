/**
 * CPU twin of the GPU pair kernels (`kernels/md_pairs.ts`), independent of the WGSL: plain float64 loops over all
 * unordered pairs (no cell list), minimum image by rounding fractional differences. Same outputs and conventions:
 * pair-distance histogram per unordered species pair (each pair once), squared nearest-neighbour distance within
 * r_max, per-atom neighbour counts per species within the cutoff, bond-length histogram per unordered pair and the
 * bond-angle histogram per centre species with bins centred on whole degrees.
 *
 * For the parity tests it can also report, per bin, how many entries are "uncertain": a distance within
 * `tolerance.distance` Å of a bin edge or of the cutoff, an angle within `tolerance.angle`° of a bin edge or made
 * with an uncertain neighbour. A float32 implementation may put exactly those entries in a neighbouring bin (or
 * leave them out), so |gpu − cpu| ≤ uncertain is the parity criterion.
 * @module
 */
import { ANGLE_BINS, pairCount, pairIndex } from "../kernels/md_pairs.ts";

/** Options of {@link pairAnalysisCpu}. */
export interface PairAnalysisCpuOptions {
  /** Pair-distance bins (of width `binWidth`, from 0). */
  bins: number;
  binWidth: number;
  /** Neighbour cutoff (Å) for counts, bonds and angles; omitted: only the pair histogram. */
  cutoff?: number;
  /** Bond-length bin width (Å) and bin count. */
  bondBin?: number;
  bondBins?: number;
  /** Also count uncertain entries (for parity tests). */
  tolerance?: { distance: number; angle: number };
}

/** Result of {@link pairAnalysisCpu}; shapes as in the GPU results. */
export interface PairAnalysisCpuResult {
  hist: Uint32Array;
  nearest2: Float64Array;
  counts: Uint32Array;
  bondHist: Uint32Array;
  angleHist: Uint32Array;
  maxNeighbours: number;
  /** With `tolerance`: uncertain entries per bin / per (atom, species). */
  uncertain?: { hist: Uint32Array; counts: Uint32Array; bondHist: Uint32Array; angleHist: Uint32Array };
}

/**
 * All-pairs analysis in float64. `frac`: N×3 fractional coordinates (any values; differences are wrapped), `h`:
 * cell vectors as rows, `species`: index per atom. Distances must be meaningful only below half the smallest
 * perpendicular width (the caller checks).
 */
export function pairAnalysisCpu(
  frac: Float64Array,
  h: Float64Array,
  species: Int32Array,
  nSpecies: number,
  o: PairAnalysisCpuOptions,
): PairAnalysisCpuResult {
  const n = species.length, S = nSpecies;
  const rmax = o.bins * o.binWidth, rmax2 = rmax * rmax;
  const rc = o.cutoff ?? 0;
  const bondBin = o.bondBin ?? 0.02, bondBins = o.bondBins ?? 0;
  const tolD = o.tolerance?.distance ?? 0, tolA = o.tolerance?.angle ?? 0;
  const tol = !!o.tolerance;
  // Pairs are collected up to the cutoff plus the tolerance band, so that uncertain neighbours are known.
  const rcOuter = rc + tolD, rcOuter2 = rcOuter * rcOuter;
  const reach2 = Math.max(rmax2, rc > 0 ? rcOuter2 : 0);

  const hist = new Uint32Array(pairCount(S) * o.bins);
  const nearest2 = new Float64Array(n).fill(Infinity);
  const counts = new Uint32Array(n * S);
  const bondHist = new Uint32Array(pairCount(S) * bondBins);
  const angleHist = new Uint32Array(S * ANGLE_BINS);
  const uHist = new Uint32Array(tol ? hist.length : 0), uCounts = new Uint32Array(tol ? counts.length : 0);
  const uBond = new Uint32Array(tol ? bondHist.length : 0),
    uAngle = new Uint32Array(tol ? angleHist.length : 0);
  // Neighbour vectors within rcOuter per atom: dx, dy, dz, r.
  const nbr: number[][] = rc > 0 ? Array.from({ length: n }, () => []) : [];

  /** Marks the bins next to an edge that `x` (in bin units) is within `t` of. */
  const nearEdges = (x: number, t: number, bins: number, out: Uint32Array, base: number) => {
    const k = Math.round(x);
    if (Math.abs(x - k) > t) return;
    if (k - 1 >= 0 && k - 1 < bins) out[base + k - 1]++;
    if (k >= 0 && k < bins) out[base + k]++;
  };

  for (let i = 0; i < n; i++) {
    const si0 = frac[3 * i], si1 = frac[3 * i + 1], si2 = frac[3 * i + 2];
    for (let j = i + 1; j < n; j++) {
      let a = frac[3 * j] - si0, b = frac[3 * j + 1] - si1, c = frac[3 * j + 2] - si2;
      a -= Math.round(a);
      b -= Math.round(b);
      c -= Math.round(c);
      const dx = a * h[0] + b * h[3] + c * h[6];
      const dy = a * h[1] + b * h[4] + c * h[7];
      const dz = a * h[2] + b * h[5] + c * h[8];
      const r2 = dx * dx + dy * dy + dz * dz;
      if (r2 >= reach2) continue;
      const r = Math.sqrt(r2);
      const p = pairIndex(species[i], species[j], S);
      if (r2 < rmax2) {
        hist[p * o.bins + Math.min(Math.floor(r / o.binWidth), o.bins - 1)]++;
        if (r2 < nearest2[i]) nearest2[i] = r2;
        if (r2 < nearest2[j]) nearest2[j] = r2;
      }
      if (tol && r < rmax + tolD) nearEdges(r / o.binWidth, tolD / o.binWidth, o.bins, uHist, p * o.bins);
      if (rc > 0 && r < rcOuter) {
        nbr[i].push(dx, dy, dz, r);
        nbr[j].push(-dx, -dy, -dz, r);
        const uncertain = tol && Math.abs(r - rc) <= tolD;
        if (uncertain) {
          uCounts[i * S + species[j]]++;
          uCounts[j * S + species[i]]++;
        }
        if (r < rc) {
          counts[i * S + species[j]]++;
          counts[j * S + species[i]]++;
          if (bondBins > 0) bondHist[p * bondBins + Math.min(Math.floor(r / bondBin), bondBins - 1)]++;
        }
        if (tol && bondBins > 0) {
          if (uncertain) uBond[p * bondBins + Math.min(Math.floor(r / bondBin), bondBins - 1)]++;
          if (r < rc + tolD) nearEdges(r / bondBin, tolD / bondBin, bondBins, uBond, p * bondBins);
        }
      }
    }
  }

  let maxNeighbours = 0;
  const DEG = 180 / Math.PI;
  for (let i = 0; i < n && rc > 0; i++) {
    const v = nbr[i], m = v.length / 4, row = species[i] * ANGLE_BINS;
    let inside = 0;
    for (let a = 0; a < m; a++) if (v[4 * a + 3] < rc) inside++;
    maxNeighbours = Math.max(maxNeighbours, inside);
    for (let a = 0; a < m; a++) {
      const ux = v[4 * a], uy = v[4 * a + 1], uz = v[4 * a + 2], ra = v[4 * a + 3];
      for (let b = a + 1; b < m; b++) {
        const wx = v[4 * b], wy = v[4 * b + 1], wz = v[4 * b + 2], rb = v[4 * b + 3];
        const cx = uy * wz - uz * wy, cy = uz * wx - ux * wz, cz = ux * wy - uy * wx;
        const deg = Math.atan2(Math.hypot(cx, cy, cz), ux * wx + uy * wy + uz * wz) * DEG;
        const bin = Math.min(Math.floor(deg + 0.5), ANGLE_BINS - 1);
        if (ra < rc && rb < rc) angleHist[row + bin]++;
        if (!tol) continue;
        if (Math.abs(ra - rc) <= tolD || Math.abs(rb - rc) <= tolD) uAngle[row + bin]++;
        else if (ra < rc && rb < rc) nearEdges(deg + 0.5, tolA, ANGLE_BINS, uAngle, row);
      }
    }
  }
  return {
    hist,
    nearest2,
    counts,
    bondHist,
    angleHist,
    maxNeighbours,
    uncertain: tol ? { hist: uHist, counts: uCounts, bondHist: uBond, angleHist: uAngle } : undefined,
  };
}
