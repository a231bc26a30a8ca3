/**
 * Voronoi cells of the atoms of a periodic box (orthogonal or triclinic), one convex polyhedron per centre atom,
 * and their Voronoi indices ⟨n3, n4, n5, n6, …⟩ (the number of faces with 3, 4, 5, 6, … vertices).
 *
 * Method: each cell starts as a cube around its atom and is clipped, in float64, by the perpendicular bisector
 * plane of every candidate neighbour in order of distance (half-space intersection). Candidates come from a
 * periodic cell list within a radius R; clipping stops as soon as a candidate is farther than 2 × the farthest
 * vertex of the current cell (no farther plane can cut it). If the candidates within R run out before that
 * security radius is reached, R grows and that atom is redone, so every cell is exact however irregular.
 *
 * This runs on the CPU (float64, O(N·k²) for k candidate planes per atom): the clipping is branchy, sequential
 * work per atom that does not map well onto a WGSL kernel, and float32 would blur the degenerate vertices of
 * crystals (fcc, sc). About 0.2 s for 5 488 atoms (the published A1 glass) on one core.
 *
 * Degenerate planes (touching the cell in one vertex or edge, as in simple cubic or fcc) leave no face: a vertex
 * within 1e-9·|d| of a plane counts as on it. Thermal noise splits such degenerate vertices into tiny faces and
 * edges; two optional thresholds (OVITO's convention) keep them out of the index: faces smaller than a fraction of
 * the cell's total face area are left out, and faces count only their edges at least a given length long.
 * @module
 */

/** Options of {@link voronoiCells}. */
export interface VoronoiOptions {
  /** Drop faces whose area is below this fraction of the cell's total face area (default 0: keep all). */
  areaThreshold?: number;
  /** Count only face edges at least this long (Å) as a face's vertices (default 0: every edge). */
  edgeThreshold?: number;
}

/** The Voronoi cells of all atoms: per-atom volumes and Voronoi indices, per-face neighbours and areas. */
export interface VoronoiResult {
  atoms: number;
  /** Cell volume per atom (Å³); they sum to the box volume. */
  volume: Float64Array;
  /** Faces of atom i are faceOffset[i] … faceOffset[i + 1] − 1 (kept faces only). */
  faceOffset: Int32Array;
  /** The neighbour atom whose bisector plane makes each face. */
  faceNeighbour: Int32Array;
  /** Face area (Å²). */
  faceArea: Float64Array;
  /** Vertices of each face (edges counted under the edge threshold). */
  faceVertices: Int32Array;
  /** Faces dropped by the thresholds, over all atoms. */
  droppedFaces: number;
  /** Largest candidate radius any atom needed (Å). */
  maxRadius: number;
}

/** A periodic box: `h` holds the three cell vectors as rows (Å), `origin` its corner. */
export interface VoronoiBox {
  h: ArrayLike<number>;
  origin?: ArrayLike<number>;
}

/** Inverse and determinant of a row-vector 3×3 matrix. */
function invert3(h: ArrayLike<number>): { inv: Float64Array; det: number } {
  const [a, b, c, d, e, f, g, k, l] = Array.from({ length: 9 }, (_, i) => h[i]);
  const A = e * l - f * k, B = -(d * l - f * g), C = d * k - e * g;
  const det = a * A + b * B + c * C;
  const inv = new Float64Array([
    A,
    -(b * l - c * k),
    b * f - c * e,
    B,
    a * l - c * g,
    -(a * f - c * d),
    C,
    -(a * k - b * g),
    a * e - b * d,
  ]).map((v) => v / det);
  return { inv, det };
}

/** |det h|: the box volume. */
export function boxVolume(h: ArrayLike<number>): number {
  return Math.abs(invert3(h).det);
}

/**
 * One cell under construction: vertices (growable float64 arrays) and faces as vertex cycles, oriented
 * counter-clockwise seen from outside, so a clip can stitch the new face from the cut faces' edges.
 */
class Cell {
  vx = new Float64Array(256);
  vy = new Float64Array(256);
  vz = new Float64Array(256);
  nv = 0;
  faces: number[][] = [];
  /** Neighbour atom of each face (−1: a wall of the starting cube). */
  owner: number[] = [];
  /** Distance of each face's plane from the centre. */
  dist: number[] = [];
  private side = new Float64Array(256);
  private cut = new Map<number, number>();
  private next = new Map<number, number>();

  reset(half: number): void {
    this.nv = 0;
    for (
      const [x, y, z] of [[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1], [-1, -1, 1], [1, -1, 1], [
        1,
        1,
        1,
      ], [-1, 1, 1]]
    ) this.add(x * half, y * half, z * half);
    // Outward-facing counter-clockwise cycles of the cube's six faces.
    this.faces = [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [2, 3, 7, 6], [1, 2, 6, 5], [0, 4, 7, 3]];
    this.owner = [-1, -1, -1, -1, -1, -1];
    this.dist = [half, half, half, half, half, half];
  }

  private add(x: number, y: number, z: number): number {
    if (this.nv === this.vx.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.vx = grow(this.vx), this.vy = grow(this.vy), this.vz = grow(this.vz), this.side = grow(this.side);
    }
    this.vx[this.nv] = x, this.vy[this.nv] = y, this.vz[this.nv] = z;
    return this.nv++;
  }

  /** Squared distance of the farthest live vertex from the centre. */
  maxVertexDistance2(): number {
    let m = 0;
    for (const f of this.faces) {
      for (const v of f) {
        const r2 = this.vx[v] * this.vx[v] + this.vy[v] * this.vy[v] + this.vz[v] * this.vz[v];
        if (r2 > m) m = r2;
      }
    }
    return m;
  }

  /**
   * Keeps the half-space p·d ≤ |d|²/2 (the side of the centre of the bisector plane of neighbour vector d).
   * @returns whether the plane cut anything off
   */
  clip(dx: number, dy: number, dz: number, owner: number): boolean {
    const len = Math.sqrt(dx * dx + dy * dy + dz * dz);
    const nx = dx / len, ny = dy / len, nz = dz / len, h = len / 2, eps = 1e-9 * len;
    const s = this.side;
    let any = false;
    for (let v = 0; v < this.nv; v++) {
      s[v] = this.vx[v] * nx + this.vy[v] * ny + this.vz[v] * nz - h;
      // Dead vertices (of faces cut earlier) may be outside too; only live ones matter below.
    }
    for (const f of this.faces) {
      for (const v of f) {
        if (s[v] > eps) {
          any = true;
          break;
        }
      }
      if (any) break;
    }
    if (!any) return false;

    const cut = this.cut, next = this.next;
    cut.clear(), next.clear();
    // The vertex where edge a→b (a inside, b outside or the reverse) crosses the plane, shared by both faces.
    const crossing = (a: number, b: number): number => {
      const key = a < b ? a * 1048576 + b : b * 1048576 + a;
      let x = cut.get(key);
      if (x === undefined) {
        const t = s[a] / (s[a] - s[b]);
        x = this.add(
          this.vx[a] + t * (this.vx[b] - this.vx[a]),
          this.vy[a] + t * (this.vy[b] - this.vy[a]),
          this.vz[a] + t * (this.vz[b] - this.vz[a]),
        );
        cut.set(key, x);
      }
      return x;
    };
    const faces: number[][] = [], owners: number[] = [], dists: number[] = [];
    for (let fi = 0; fi < this.faces.length; fi++) {
      const f = this.faces[fi];
      const k = f.length;
      let out = 0;
      for (const v of f) if (s[v] > eps) out++;
      if (out === 0) {
        faces.push(f), owners.push(this.owner[fi]), dists.push(this.dist[fi]);
        continue;
      }
      if (out === k) continue;
      const kept: number[] = [];
      let exit = -1;
      let firstEntry = -1;
      for (let i = 0; i < k; i++) {
        const a = f[i], b = f[(i + 1) % k];
        const aOut = s[a] > eps, bOut = s[b] > eps;
        if (!aOut) kept.push(a);
        if (!aOut && bOut) {
          exit = s[a] >= -eps ? a : crossing(a, b);
          if (exit !== a) kept.push(exit);
        } else if (aOut && !bOut) {
          const entry = s[b] >= -eps ? b : crossing(a, b);
          if (entry !== b) kept.push(entry);
          // The new face runs along this face's edge exit→entry in reverse: entry→exit.
          if (exit >= 0) {
            if (entry !== exit) next.set(entry, exit);
          } else firstEntry = entry;
        }
      }
      if (firstEntry >= 0 && exit >= 0 && firstEntry !== exit) next.set(firstEntry, exit);
      if (kept.length >= 3) faces.push(kept), owners.push(this.owner[fi]), dists.push(this.dist[fi]);
    }
    // Stitch the new face from the cut edges.
    if (next.size >= 3) {
      const start = next.keys().next().value!;
      const cap = [start];
      for (let v = next.get(start)!; v !== start; v = next.get(v)!) {
        if (v === undefined || cap.length > next.size) throw new Error("voronoi: could not close a cut face");
        cap.push(v);
      }
      if (cap.length !== next.size) throw new Error("voronoi: a cut left two separate loops");
      faces.push(cap), owners.push(owner), dists.push(h);
    }
    this.faces = faces, this.owner = owners, this.dist = dists;
    return true;
  }

  /** Area of face `f`. */
  area(f: number[]): number {
    const { vx, vy, vz } = this;
    const o = f[0];
    let ax = 0, ay = 0, az = 0;
    for (let i = 1; i + 1 < f.length; i++) {
      const ux = vx[f[i]] - vx[o], uy = vy[f[i]] - vy[o], uz = vz[f[i]] - vz[o];
      const wx = vx[f[i + 1]] - vx[o], wy = vy[f[i + 1]] - vy[o], wz = vz[f[i + 1]] - vz[o];
      ax += uy * wz - uz * wy, ay += uz * wx - ux * wz, az += ux * wy - uy * wx;
    }
    return 0.5 * Math.sqrt(ax * ax + ay * ay + az * az);
  }

  edgeLength(a: number, b: number): number {
    const x = this.vx[a] - this.vx[b], y = this.vy[a] - this.vy[b], z = this.vz[a] - this.vz[b];
    return Math.sqrt(x * x + y * y + z * z);
  }
}

/**
 * Vertex counts of the faces of `cell` after the thresholds (0 for a dropped face), as in OVITO's Voronoi analysis:
 * a face below the area threshold is left out, and a face counts only its edges at least the edge threshold long.
 */
function faceVertexCounts(cell: Cell, areas: number[], options: VoronoiOptions): number[] {
  const total = areas.reduce((a, b) => a + b, 0);
  const minArea = (options.areaThreshold ?? 0) * total, minEdge = options.edgeThreshold ?? 0;
  return cell.faces.map((f, fi) => {
    if (areas[fi] < minArea) return 0;
    if (minEdge <= 0) return f.length;
    let n = 0;
    for (let i = 0; i < f.length; i++) if (cell.edgeLength(f[i], f[(i + 1) % f.length]) >= minEdge) n++;
    return n >= 3 ? n : 0;
  });
}

/**
 * The Voronoi cell of every atom of a periodic box.
 * @param positions N×3 Cartesian coordinates (Å), row-major; atoms outside the box are wrapped in
 * @param box cell vectors as rows of `h` (any triclinic cell with positive volume) and the origin
 * @throws {RangeError} for a degenerate box, non-finite coordinates or two atoms at the same place
 * @example
 * ```ts
 * const v = voronoiCells(config.positions, config.box, { areaThreshold: 0.01 });
 * voronoiIndex(v, 0); // e.g. [0, 2, 8, 2]
 * ```
 */
export function voronoiCells(
  positions: ArrayLike<number>,
  box: VoronoiBox,
  options: VoronoiOptions = {},
): VoronoiResult {
  const n = Math.floor(positions.length / 3);
  if (positions.length !== 3 * n) throw new RangeError(`voronoi: ${positions.length} coordinates, not N×3`);
  const H = Float64Array.from({ length: 9 }, (_, i) => box.h[i]);
  const { inv, det } = invert3(H);
  const volumeBox = Math.abs(det);
  if (!(volumeBox > 0) || !Number.isFinite(volumeBox)) throw new RangeError("voronoi: the box has no volume");
  const o = box.origin ?? [0, 0, 0];
  for (const t of [options.areaThreshold ?? 0, options.edgeThreshold ?? 0]) {
    if (!(t >= 0) || !Number.isFinite(t)) throw new RangeError(`voronoi: threshold ${t} is not ≥ 0`);
  }

  // Wrapped fractional and Cartesian coordinates.
  const frac = new Float64Array(3 * n), cart = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const x = positions[3 * i] - o[0], y = positions[3 * i + 1] - o[1], z = positions[3 * i + 2] - o[2];
    if (!Number.isFinite(x + y + z)) throw new RangeError(`voronoi: atom ${i} has a non-finite coordinate`);
    for (let k = 0; k < 3; k++) {
      let f = x * inv[k] + y * inv[3 + k] + z * inv[6 + k];
      f -= Math.floor(f);
      if (f >= 1) f = 0;
      frac[3 * i + k] = f;
    }
    for (let k = 0; k < 3; k++) {
      cart[3 * i + k] = frac[3 * i] * H[k] + frac[3 * i + 1] * H[3 + k] + frac[3 * i + 2] * H[6 + k];
    }
  }
  // Spacing of the lattice planes normal to each cell vector: 1 / |column k of H⁻¹|.
  const spacing = [0, 1, 2].map((k) => 1 / Math.hypot(inv[k], inv[3 + k], inv[6 + k]));
  const meanGap = Math.cbrt(volumeBox / Math.max(1, n));
  const r0 = 2.2 * meanGap;
  const nb = spacing.map((d) => Math.max(1, Math.min(64, Math.floor(d / (r0 / 2)))));
  const bins = nb[0] * nb[1] * nb[2];
  const binOf = new Int32Array(n), binStart = new Int32Array(bins + 1), binAtoms = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const b = [0, 1, 2].map((k) => Math.min(nb[k] - 1, Math.floor(frac[3 * i + k] * nb[k])));
    binOf[i] = (b[0] * nb[1] + b[1]) * nb[2] + b[2];
    binStart[binOf[i] + 1]++;
  }
  for (let b = 0; b < bins; b++) binStart[b + 1] += binStart[b];
  const fill = binStart.slice(0, bins);
  for (let i = 0; i < n; i++) binAtoms[fill[binOf[i]]++] = i;

  // Candidate buffers, reused across atoms.
  let cap = 1024;
  let cx = new Float64Array(cap), cy = new Float64Array(cap), cz = new Float64Array(cap);
  let cr2 = new Float64Array(cap), cj = new Int32Array(cap);
  let order = new Int32Array(cap);
  const push = (count: number, x: number, y: number, z: number, r2: number, j: number) => {
    if (count === cap) {
      cap *= 2;
      const g = <T extends Float64Array | Int32Array>(a: T, b: T) => (b.set(a), b);
      cx = g(cx, new Float64Array(cap)), cy = g(cy, new Float64Array(cap)), cz = g(cz, new Float64Array(cap));
      cr2 = g(cr2, new Float64Array(cap)), cj = g(cj, new Int32Array(cap)), order = new Int32Array(cap);
    }
    cx[count] = x, cy[count] = y, cz[count] = z, cr2[count] = r2, cj[count] = j;
  };

  /** Candidates of atom i within radius r (all periodic images); returns how many. */
  const gather = (i: number, r: number): number => {
    const m = [0, 1, 2].map((k) => Math.ceil(r / (spacing[k] / nb[k])));
    const bi = binOf[i];
    const b0 = Math.floor(bi / (nb[1] * nb[2])), b1 = Math.floor(bi / nb[2]) % nb[1], b2 = bi % nb[2];
    const xi = cart[3 * i], yi = cart[3 * i + 1], zi = cart[3 * i + 2];
    const r2max = r * r;
    let count = 0;
    for (let o0 = -m[0]; o0 <= m[0]; o0++) {
      const c0 = b0 + o0, w0 = ((c0 % nb[0]) + nb[0]) % nb[0], s0 = Math.floor(c0 / nb[0]);
      for (let o1 = -m[1]; o1 <= m[1]; o1++) {
        const c1 = b1 + o1, w1 = ((c1 % nb[1]) + nb[1]) % nb[1], s1 = Math.floor(c1 / nb[1]);
        for (let o2 = -m[2]; o2 <= m[2]; o2++) {
          const c2 = b2 + o2, w2 = ((c2 % nb[2]) + nb[2]) % nb[2], s2 = Math.floor(c2 / nb[2]);
          const sx = s0 * H[0] + s1 * H[3] + s2 * H[6];
          const sy = s0 * H[1] + s1 * H[4] + s2 * H[7];
          const sz = s0 * H[2] + s1 * H[5] + s2 * H[8];
          const w = (w0 * nb[1] + w1) * nb[2] + w2;
          for (let p = binStart[w]; p < binStart[w + 1]; p++) {
            const j = binAtoms[p];
            const dx = cart[3 * j] + sx - xi, dy = cart[3 * j + 1] + sy - yi, dz = cart[3 * j + 2] + sz - zi;
            const r2 = dx * dx + dy * dy + dz * dz;
            if (r2 >= r2max) continue;
            if (j === i && s0 === 0 && s1 === 0 && s2 === 0) continue;
            if (r2 < 1e-16 * meanGap * meanGap) {
              throw new RangeError(`voronoi: atoms ${i} and ${j} are at the same place`);
            }
            push(count++, dx, dy, dz, r2, j);
          }
        }
      }
    }
    return count;
  };

  const cell = new Cell();
  const volume = new Float64Array(n);
  const faceOffset = new Int32Array(n + 1);
  const faceNeighbour: number[] = [], faceArea: number[] = [], faceVertices: number[] = [];
  let dropped = 0, maxRadius = 0;
  for (let i = 0; i < n; i++) {
    let r = r0;
    for (;;) {
      const count = gather(i, r);
      for (let c = 0; c < count; c++) order[c] = c;
      const ord = order.subarray(0, count).sort((a, b) => cr2[a] - cr2[b]);
      // A starting cube of half-width r: if any of its walls survives, the farthest vertex is ≥ r/2 away and the
      // security test below fails, so the atom is redone with more candidates.
      cell.reset(r);
      let rmax2 = cell.maxVertexDistance2();
      for (let c = 0; c < count; c++) {
        const k = ord[c];
        // A plane at distance d/2 can only cut if d/2 < max vertex distance.
        if (cr2[k] > 4 * rmax2 * (1 + 1e-12)) break;
        if (cell.clip(cx[k], cy[k], cz[k], cj[k])) rmax2 = cell.maxVertexDistance2();
      }
      if (4 * rmax2 < r * r && !cell.owner.includes(-1)) break;
      r = Math.max(1.5 * r, 2.05 * Math.sqrt(rmax2));
      if (!Number.isFinite(r) || r > 1e3 * Math.max(meanGap, ...spacing)) {
        throw new RangeError(`voronoi: the cell of atom ${i} does not close`);
      }
    }
    maxRadius = Math.max(maxRadius, r);
    const areas = cell.faces.map((f) => cell.area(f));
    const counts = faceVertexCounts(cell, areas, options);
    let vol = 0;
    for (let f = 0; f < cell.faces.length; f++) {
      vol += areas[f] * cell.dist[f] / 3;
      if (counts[f] === 0) {
        dropped++;
        continue;
      }
      faceNeighbour.push(cell.owner[f]), faceArea.push(areas[f]), faceVertices.push(counts[f]);
    }
    volume[i] = vol;
    faceOffset[i + 1] = faceNeighbour.length;
  }
  return {
    atoms: n,
    volume,
    faceOffset,
    faceNeighbour: Int32Array.from(faceNeighbour),
    faceArea: Float64Array.from(faceArea),
    faceVertices: Int32Array.from(faceVertices),
    droppedFaces: dropped,
    maxRadius,
  };
}

/**
 * The Voronoi index of atom `i`: [n3, n4, n5, n6], extended to [n3, …, n_max] only when it has faces with more than
 * six vertices.
 */
export function voronoiIndex(result: VoronoiResult, i: number): number[] {
  const idx = [0, 0, 0, 0];
  for (let f = result.faceOffset[i]; f < result.faceOffset[i + 1]; f++) {
    const k = result.faceVertices[f] - 3;
    while (idx.length <= k) idx.push(0);
    idx[k]++;
  }
  return idx;
}

/** `<n3,n4,n5,n6>` for display and CSV keys. */
export function formatVoronoiIndex(index: readonly number[]): string {
  return `<${index.join(",")}>`;
}

/** How often one Voronoi index occurs among the centre atoms counted. */
export interface VoronoiIndexCount {
  index: number[];
  count: number;
  /** count / centre atoms counted. */
  fraction: number;
}

/** Tallies of Voronoi indices: all centre atoms and per centre species, most frequent first. */
export interface VoronoiTally {
  /** Centre atoms counted. */
  centres: number;
  total: VoronoiIndexCount[];
  bySpecies: Record<
    string,
    { centres: number; indices: VoronoiIndexCount[]; meanFaces: number; meanVolume: number }
  >;
}

function rank(counts: Map<string, { index: number[]; count: number }>, centres: number): VoronoiIndexCount[] {
  return [...counts.values()]
    .sort((a, b) =>
      b.count - a.count || formatVoronoiIndex(a.index).localeCompare(formatVoronoiIndex(b.index))
    )
    .map(({ index, count }) => ({ index, count, fraction: centres > 0 ? count / centres : 0 }));
}

/**
 * Counts the Voronoi indices per centre species (and over all of them), most frequent first (ties in index order).
 * @param species element symbol of each atom
 * @param centres species whose atoms count as centres (default: every species)
 */
export function tallyVoronoi(
  result: VoronoiResult,
  species: readonly string[],
  centres?: readonly string[],
): VoronoiTally {
  const keep = centres ? new Set(centres) : null;
  const total = new Map<string, { index: number[]; count: number }>();
  const per = new Map<string, { map: typeof total; centres: number; faces: number; volume: number }>();
  let counted = 0;
  for (let i = 0; i < result.atoms; i++) {
    const sp = species[i];
    if (keep && !keep.has(sp)) continue;
    const index = voronoiIndex(result, i), key = formatVoronoiIndex(index);
    counted++;
    const t = total.get(key) ?? { index, count: 0 };
    t.count++, total.set(key, t);
    let s = per.get(sp);
    if (!s) per.set(sp, s = { map: new Map(), centres: 0, faces: 0, volume: 0 });
    const e = s.map.get(key) ?? { index, count: 0 };
    e.count++, s.map.set(key, e);
    s.centres++, s.faces += result.faceOffset[i + 1] - result.faceOffset[i], s.volume += result.volume[i];
  }
  const bySpecies: VoronoiTally["bySpecies"] = {};
  for (const [sp, s] of [...per.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    bySpecies[sp] = {
      centres: s.centres,
      indices: rank(s.map, s.centres),
      meanFaces: s.faces / s.centres,
      meanVolume: s.volume / s.centres,
    };
  }
  return { centres: counted, total: rank(total, counted), bySpecies };
}

/** The index as a file-name- and CSV-safe key (`0-2-8-2`, the reference's cluster file naming). */
export function voronoiIndexKey(index: readonly number[]): string {
  return index.join("-");
}

/** Faces with more than six vertices in an index. */
function beyondSix(index: readonly number[]): number {
  return index.slice(4).reduce((a, b) => a + b, 0);
}

/**
 * The tally as CSV, one row per (centre, index), most frequent first: `centre` is `all` or a species,
 * `index` the key `n3-n4-n5-…`, then n3…n6, `n7_plus` (faces with more than six vertices), count and fraction of
 * that centre's atoms.
 */
export function voronoiIndexCsv(tally: VoronoiTally): string {
  const rows = ["centre,rank,index,n3,n4,n5,n6,n7_plus,count,fraction"];
  const add = (centre: string, list: VoronoiIndexCount[]) =>
    list.forEach((e, k) =>
      rows.push(
        [
          centre,
          k + 1,
          voronoiIndexKey(e.index),
          ...e.index.slice(0, 4),
          beyondSix(e.index),
          e.count,
          +e.fraction
            .toPrecision(6),
        ].join(","),
      )
    );
  add("all", tally.total);
  for (const [sp, s] of Object.entries(tally.bySpecies)) add(sp, s.indices);
  return rows.join("\n") + "\n";
}

/**
 * One row per atom: `atom` (1-based position in the file), `id` (the file's id, else the position), species, number
 * of faces, cell volume (Å³), n3…n6 and n7_plus.
 */
export function voronoiCellsCsv(
  result: VoronoiResult,
  species: readonly string[],
  ids?: ArrayLike<number>,
): string {
  const rows = ["atom,id,species,faces,volume,n3,n4,n5,n6,n7_plus"];
  for (let i = 0; i < result.atoms; i++) {
    const index = voronoiIndex(result, i);
    rows.push(
      [
        i + 1,
        ids ? ids[i] : i + 1,
        species[i],
        result.faceOffset[i + 1] - result.faceOffset[i],
        +result.volume[i]
          .toPrecision(8),
        ...index.slice(0, 4),
        beyondSix(index),
      ].join(","),
    );
  }
  return rows.join("\n") + "\n";
}
