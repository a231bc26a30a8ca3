/**
 * Voronoi cells against closed forms: perfect sc, bcc and fcc crystals (orthogonal cells and primitive triclinic
 * cells) give every atom ⟨0,6,0,0⟩, ⟨0,6,0,8⟩ and ⟨0,12,0,0⟩ with the analytic cell volume and face areas; random
 * boxes (orthogonal and triclinic) tile the box exactly (volumes sum to the box volume, every face is seen from both
 * sides with the same area); the same points described by a sheared but equivalent cell give the same cells; the
 * thresholds drop the tiny faces thermal noise makes at fcc's degenerate vertices; tallies per centre species.
 */
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { Rng } from "../../nn/random.ts";
import {
  boxVolume,
  formatVoronoiIndex,
  tallyVoronoi,
  voronoiCells,
  voronoiIndex,
  type VoronoiResult,
} from "../../md/voronoi.ts";

const SC = [[0, 0, 0]];
const BCC = [[0, 0, 0], [0.5, 0.5, 0.5]];
const FCC = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]];

/** n×n×n cubic cells of lattice constant a with `basis` (fractions of a), optionally displaced by ±jitter/2. */
function crystal(basis: number[][], n: number, a: number, jitter = 0, seed = 1) {
  const rng = new Rng(seed);
  const pos: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < n; k++) {
        for (const b of basis) {
          for (const x of [i + b[0], j + b[1], k + b[2]]) pos.push(x * a + jitter * (rng.uniform() - 0.5));
        }
      }
    }
  }
  return { positions: Float64Array.from(pos), box: { h: [n * a, 0, 0, 0, n * a, 0, 0, 0, n * a] } };
}

function volumeSum(v: VoronoiResult): number {
  return v.volume.reduce((s, x) => s + x, 0);
}

/** Every atom has index `expected` and the same volume `cellVolume`. */
function assertAll(v: VoronoiResult, expected: number[], cellVolume: number) {
  for (let i = 0; i < v.atoms; i++) {
    assertEquals(voronoiIndex(v, i), expected, `atom ${i}`);
    assertNear(v.volume[i], cellVolume, 1e-9 * cellVolume, `volume of atom ${i}`);
  }
}

/** Face areas agree from both sides: the multiset of (i, j, area) equals that of (j, i, area). */
function assertReciprocal(v: VoronoiResult) {
  const sums = new Map<string, number>();
  for (let i = 0; i < v.atoms; i++) {
    for (let f = v.faceOffset[i]; f < v.faceOffset[i + 1]; f++) {
      const j = v.faceNeighbour[f];
      const key = i < j ? `${i}-${j}` : `${j}-${i}`;
      sums.set(key, (sums.get(key) ?? 0) + (i < j ? 1 : -1) * v.faceArea[f]);
    }
  }
  for (const [k, s] of sums) assertNear(s, 0, 1e-9, `faces of pair ${k}`);
}

Deno.test("voronoi: sc, bcc, fcc crystals → ⟨0,6,0,0⟩, ⟨0,6,0,8⟩, ⟨0,12,0,0⟩ with the analytic cells", () => {
  const a = 2.87;
  const sc = voronoiCells(crystal(SC, 4, a).positions, crystal(SC, 4, a).box);
  assertAll(sc, [0, 6, 0, 0], a ** 3);
  for (let f = 0; f < sc.faceArea.length; f++) assertNear(sc.faceArea[f], a * a, 1e-9);

  const bcc = crystal(BCC, 5, a);
  const vb = voronoiCells(bcc.positions, bcc.box);
  assertAll(vb, [0, 6, 0, 8], a ** 3 / 2);
  // Truncated octahedron of edge a/(2√2): squares of area a²/8, hexagons of (3√3/2)(a²/8).
  for (let i = 0; i < vb.atoms; i++) {
    for (let f = vb.faceOffset[i]; f < vb.faceOffset[i + 1]; f++) {
      const area = vb.faceVertices[f] === 4 ? a * a / 8 : 3 * Math.sqrt(3) / 2 * a * a / 8;
      assertNear(vb.faceArea[f], area, 1e-9, `bcc face ${f}`);
    }
  }

  const fcc = crystal(FCC, 4, a);
  const vf = voronoiCells(fcc.positions, fcc.box);
  assertAll(vf, [0, 12, 0, 0], a ** 3 / 4);
  // Rhombic dodecahedron: 12 rhombi of area a²√2/8, each facing one of the 12 nearest neighbours.
  for (let f = 0; f < vf.faceArea.length; f++) assertNear(vf.faceArea[f], a * a * Math.SQRT2 / 8, 1e-9);
  assertEquals(vf.droppedFaces, 0);
});

Deno.test("voronoi: primitive triclinic cells of bcc and fcc, a one-atom box, an off-zero origin", () => {
  const a = 3.1;
  for (
    const [prim, expected] of [
      [[[-0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.5, 0.5, -0.5]], [0, 6, 0, 8]],
      [[[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]], [0, 12, 0, 0]],
    ] as const
  ) {
    const P = prim.map((r) => r.map((x) => x * a));
    const cellVolume = boxVolume(P.flat());
    // One atom in its primitive cell: the cell is its own neighbour through every image.
    assertAll(voronoiCells([0.3, -0.2, 0.1], { h: P.flat() }), [...expected], cellVolume);
    // 3×3×3 primitive cells (a triclinic box), shifted origin, atoms given outside the box.
    const m = 3, pos: number[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        for (let k = 0; k < m; k++) {
          for (let c = 0; c < 3; c++) pos.push(i * P[0][c] + j * P[1][c] + k * P[2][c] + 7.5 * c);
        }
      }
    }
    const v = voronoiCells(pos, { h: P.flat().map((x) => x * m), origin: [5, -3, 2] });
    assertAll(v, [...expected], cellVolume);
  }
});

Deno.test("voronoi: random boxes tile exactly (orthogonal 200 atoms, triclinic, sheared equivalent cell)", () => {
  const rng = new Rng(42);
  const n = 200, L = Math.cbrt(n / 0.1);
  const pos = Float64Array.from({ length: 3 * n }, () => rng.uniform() * L);
  const cube = voronoiCells(pos, { h: [L, 0, 0, 0, L, 0, 0, 0, L] });
  assertNear(volumeSum(cube), L ** 3, 1e-9 * L ** 3, "volumes sum to the box");
  assertReciprocal(cube);
  // Euler for every convex cell: V − E + F = 2 with 3-valent vertices of general position → E = Σ faces' vertices / 2.
  for (let i = 0; i < n; i++) {
    let edges2 = 0;
    const faces = cube.faceOffset[i + 1] - cube.faceOffset[i];
    for (let f = cube.faceOffset[i]; f < cube.faceOffset[i + 1]; f++) edges2 += cube.faceVertices[f];
    const e = edges2 / 2, vtx = edges2 / 3;
    assertEquals(vtx - e + faces, 2, `Euler for atom ${i}`);
  }
  // The same points in a sheared cell spanning the same lattice: identical cells.
  const sheared = { h: [L, 0, 0, L, L, 0, -2 * L, L, L] };
  const same = voronoiCells(pos, sheared);
  for (let i = 0; i < n; i++) {
    assertNear(same.volume[i], cube.volume[i], 1e-9, `atom ${i} volume in the sheared cell`);
    assertEquals(voronoiIndex(same, i), voronoiIndex(cube, i));
  }
  // A genuinely triclinic box with atoms scattered well outside it.
  const h = [10, 0, 0, 3, 9, 0, -2, 4, 11];
  const tri = voronoiCells(Float64Array.from({ length: 3 * 150 }, () => rng.uniform() * 40 - 15), { h });
  assertNear(volumeSum(tri), boxVolume(h), 1e-9 * boxVolume(h));
  assertReciprocal(tri);
});

Deno.test("voronoi: thresholds drop the tiny faces of a jittered fcc; jittered bcc is unaffected", () => {
  const a = 3.6;
  const fcc = crystal(FCC, 4, a, 0.03, 7);
  const raw = voronoiCells(fcc.positions, fcc.box);
  assertNear(volumeSum(raw), (4 * a) ** 3, 1e-8);
  let perfect = 0, extraFaces = 0;
  for (let i = 0; i < raw.atoms; i++) {
    if (formatVoronoiIndex(voronoiIndex(raw, i)) === "<0,12,0,0>") perfect++;
    extraFaces += raw.faceOffset[i + 1] - raw.faceOffset[i] - 12;
  }
  assertTrue(
    perfect < raw.atoms / 4 && extraFaces > raw.atoms,
    `noise splits the 4-fold vertices (${perfect})`,
  );
  // The area threshold leaves the 12 big faces (the tiny ones from second neighbours go)…
  const area = voronoiCells(fcc.positions, fcc.box, { areaThreshold: 0.01 });
  assertEquals(area.droppedFaces, extraFaces);
  for (let i = 0; i < area.atoms; i++) assertEquals(area.faceOffset[i + 1] - area.faceOffset[i], 12);
  assertEquals(area.volume, raw.volume, "thresholds change counts, not cells");
  // …and ignoring edges shorter than 0.1 Å turns every rhombus back into a four-sided face.
  const both = voronoiCells(fcc.positions, fcc.box, { areaThreshold: 0.01, edgeThreshold: 0.1 });
  for (let i = 0; i < both.atoms; i++) assertEquals(voronoiIndex(both, i), [0, 12, 0, 0]);

  const bcc = crystal(BCC, 4, 2.87, 0.03, 8);
  const vb = voronoiCells(bcc.positions, bcc.box, { areaThreshold: 0.01 });
  assertEquals(vb.droppedFaces, 0, "bcc's cell has no degenerate vertex to split");
  for (let i = 0; i < vb.atoms; i++) assertEquals(voronoiIndex(vb, i), [0, 6, 0, 8]);
});

Deno.test("voronoi: tallies per centre species, faces with more than six vertices extend the index", () => {
  // CsCl-like bcc: corners "A", centres "B"; with a small box the ranks are exact.
  const bcc = crystal(BCC, 3, 3);
  const species = Array.from({ length: 54 }, (_, i) => (i % 2 === 0 ? "A" : "B"));
  const v = voronoiCells(bcc.positions, bcc.box);
  const all = tallyVoronoi(v, species);
  assertEquals(all.centres, 54);
  assertEquals(all.total, [{ index: [0, 6, 0, 8], count: 54, fraction: 1 }]);
  assertEquals(Object.keys(all.bySpecies), ["A", "B"]);
  assertEquals(all.bySpecies.B.centres, 27);
  assertNear(all.bySpecies.B.meanFaces, 14, 0);
  assertNear(all.bySpecies.B.meanVolume, 13.5, 1e-9);
  const onlyB = tallyVoronoi(v, species, ["B"]);
  assertEquals([onlyB.centres, Object.keys(onlyB.bySpecies)], [27, ["B"]]);

  // A random dense box has some heptagons: their index runs past n6 and is ranked with the others.
  const rng = new Rng(3);
  const n = 300, L = Math.cbrt(n / 0.1);
  const r = voronoiCells(Float64Array.from({ length: 3 * n }, () => rng.uniform() * L), {
    h: [L, 0, 0, 0, L, 0, 0, 0, L],
  });
  const long = Array.from({ length: n }, (_, i) => voronoiIndex(r, i)).filter((x) => x.length > 4);
  assertTrue(long.length > 0 && long.every((x) => x[x.length - 1] > 0), "indices past n6 end in a non-zero");
  const t = tallyVoronoi(r, Array(n).fill("X"));
  assertEquals(t.total.reduce((s, e) => s + e.count, 0), n);
  for (let k = 1; k < t.total.length; k++) assertTrue(t.total[k - 1].count >= t.total[k].count);
});

Deno.test("voronoi: bad input is a RangeError naming it", () => {
  const h = [5, 0, 0, 0, 5, 0, 0, 0, 5];
  const throws = (fn: () => unknown, part: string) => {
    try {
      fn();
    } catch (e) {
      assertTrue(e instanceof RangeError && e.message.includes(part), String(e));
      return;
    }
    throw new Error(`expected a RangeError with ${part}`);
  };
  throws(() => voronoiCells([0, 0, 0, 1, 1, 1, 0, 0, 0], { h }), "atoms 0 and 2");
  throws(() => voronoiCells([0, 0, NaN], { h }), "atom 0");
  throws(() => voronoiCells([0, 0, 0], { h: [1, 0, 0, 2, 0, 0, 0, 0, 1] }), "no volume");
  throws(() => voronoiCells([0, 0, 0, 1], { h }), "N×3");
  throws(() => voronoiCells([0, 0, 0], { h }, { areaThreshold: -1 }), "threshold");
});
