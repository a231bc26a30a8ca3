import {
  type AtomConfig,
  cartesianToFractional,
  type CellBox,
  cellLengths,
  cellPerpendicularWidths,
  cellVolume,
  fractionalToCartesian,
  inverseCell,
  isOrthorhombic,
  makeAtomConfig,
  numberDensity,
  orthorhombicBox,
  speciesCounts,
  speciesFractions,
  wrapIntoCell,
} from "../../data/atom_config.ts";
import { detectAtomConfigFormat, parseAtomConfig, readAtomConfig } from "../../data/atom_config_reader.ts";
import { join } from "../../data/paths.ts";
import {
  assertEquals,
  assertNear,
  assertRejectsUserError,
  assertTrue,
  assertUserError,
  DATA_DIR,
  NO_DATA,
  noteSkip,
  tempDir,
  writeTemp,
} from "./_helpers.ts";

noteSkip("the published MD configuration checks");

/** A LAMMPS-style (upper-triangular) triclinic cell: a = (4,0,0), b = (1,5,0), c = (0.5,2,6), volume 4·5·6. */
const TRICLINIC: CellBox = {
  h: Float64Array.of(4, 0, 0, 1, 5, 0, 0.5, 2, 6),
  origin: [1, -2, 3] as [number, number, number],
};

function config(positions: number[], species: string[], box: CellBox = TRICLINIC): AtomConfig {
  return makeAtomConfig({ box, positions: Float64Array.from(positions), species, source: "test" });
}

Deno.test("atom config: derived fields; species list is elements by atomic number, then other labels", () => {
  const c = config([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 1, 2], ["Nb", "X2", "B", "Fe", "Nb"]);
  assertEquals(c.atoms, 5);
  assertEquals(c.speciesList, ["B", "Fe", "Nb", "X2"]);
  assertEquals(speciesCounts(c), { B: 1, Fe: 1, Nb: 2, X2: 1 });
  assertEquals(Object.keys(speciesCounts(c)), ["B", "Fe", "Nb", "X2"]);
  assertEquals(speciesFractions(c), { B: 0.2, Fe: 0.2, Nb: 0.4, X2: 0.2 });
  assertEquals(c.warnings, []);
});

Deno.test("atom config: volume, lengths, face widths and density of a triclinic cell (hand values)", () => {
  assertNear(cellVolume(TRICLINIC), 120, 1e-12);
  const [la, lb, lc] = cellLengths(TRICLINIC);
  assertNear(la, 4, 1e-15);
  assertNear(lb, Math.sqrt(26), 1e-15);
  assertNear(lc, Math.sqrt(0.25 + 4 + 36), 1e-15);
  // Widths: V/|b×c| with b×c = (30, −6, −0.5); V/|c×a| with a×c = (0, −24, 8); V/|a×b| = lz = 6.
  const w = cellPerpendicularWidths(TRICLINIC);
  assertNear(w[0], 120 / Math.sqrt(900 + 36 + 0.25), 1e-12);
  assertNear(w[1], 120 / Math.sqrt(576 + 64), 1e-12);
  assertNear(w[2], 6, 1e-12);
  assertTrue(!isOrthorhombic(TRICLINIC));
  assertTrue(isOrthorhombic(orthorhombicBox(1, 2, 3)));
  // A cube of edge 2 rotated 30° about z keeps volume 8; a left-handed cell counts with |det|.
  const c30 = Math.cos(Math.PI / 6), s30 = Math.sin(Math.PI / 6);
  const rotated = {
    h: Float64Array.of(2 * c30, 2 * s30, 0, -2 * s30, 2 * c30, 0, 0, 0, 2),
    origin: [0, 0, 0] as [
      number,
      number,
      number,
    ],
  };
  assertNear(cellVolume(rotated), 8, 1e-12);
  assertNear(cellVolume({ h: Float64Array.of(0, 3, 0, 3, 0, 0, 0, 0, 3), origin: [0, 0, 0] }), 27, 1e-12);
  const c = config([0, 0, 0, 1, 1, 1, 2, 2, 2], ["B", "B", "Fe"]);
  assertNear(numberDensity(c), 3 / 120, 1e-15);
});

Deno.test("atom config: fractional ↔ cartesian with an origin (hand case) and round trip; H·H⁻¹ = I", () => {
  // s = (0.5, 0.25, 0.5): origin + 0.5a + 0.25b + 0.5c = (1 + 2 + 0.25 + 0.25, −2 + 1.25 + 1, 3 + 3).
  const r = fractionalToCartesian(TRICLINIC, Float64Array.of(0.5, 0.25, 0.5, 0, 0, 0, 1, 1, 1));
  assertEquals(Array.from(r), [3.5, 0.25, 6, 1, -2, 3, 6.5, 5, 9]);
  const s = cartesianToFractional(TRICLINIC, r);
  const expected = [0.5, 0.25, 0.5, 0, 0, 0, 1, 1, 1];
  for (let i = 0; i < 9; i++) assertNear(s[i], expected[i], 1e-14, `s[${i}]`);
  let seed = 7;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 3 - 1;
  const frac = Float64Array.from({ length: 300 }, rand);
  const back = cartesianToFractional(TRICLINIC, fractionalToCartesian(TRICLINIC, frac));
  for (let i = 0; i < frac.length; i++) assertNear(back[i], frac[i], 1e-13);
  const inv = inverseCell(TRICLINIC.h);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let v = 0;
      for (let k = 0; k < 3; k++) v += TRICLINIC.h[3 * i + k] * inv[3 * k + j];
      assertNear(v, i === j ? 1 : 0, 1e-15, `(H·H⁻¹)[${i}][${j}]`);
    }
  }
});

Deno.test("atom config: wrapping moves atoms by whole cell vectors into [0,1) and leaves inside atoms untouched", () => {
  const cube = orthorhombicBox(10, 10, 10, [-5, -5, -5]);
  const inside = [1.234567891234, -4.999, 4.999];
  const c = config([...inside, -5.5, 5.5, 15.25, 5, -5, 0], ["B", "Fe", "Nb"], cube);
  const w = wrapIntoCell(c);
  assertEquals(Array.from(w.positions.subarray(0, 3)), inside); // bit for bit
  const expected = [4.5, -4.5, -4.75, -5, -5, 0];
  for (let i = 0; i < 6; i++) assertNear(w.positions[3 + i], expected[i], 1e-12, `coord ${3 + i}`);
  assertEquals(Array.from(c.positions.subarray(3, 6)), [-5.5, 5.5, 15.25]); // input unchanged
  // Triclinic: origin + 1.25a − 0.5b + 2c → origin + 0.25a + 0.5b.
  const t = config(Array.from(fractionalToCartesian(TRICLINIC, Float64Array.of(1.25, -0.5, 2))), ["B"]);
  const ws = cartesianToFractional(TRICLINIC, wrapIntoCell(t).positions);
  assertNear(ws[0], 0.25, 1e-12);
  assertNear(ws[1], 0.5, 1e-12);
  assertNear(ws[2], 0, 1e-12);
  // A hair below 0 (s − floor(s) rounds to 1) must land at 0, not at 1.
  const edge = config([-1e-17, 0, 0], ["B"], orthorhombicBox(10, 10, 10));
  const sx = cartesianToFractional(edge.box, wrapIntoCell(edge).positions)[0];
  assertTrue(sx >= 0 && sx < 1e-15, `wrapped s = ${sx}`);
});

Deno.test("atom config: inconsistent parts are one-line errors naming the source", () => {
  const box = orthorhombicBox(5, 5, 5);
  const mk = (p: Partial<Parameters<typeof makeAtomConfig>[0]>) => () =>
    makeAtomConfig({ box, positions: Float64Array.of(0, 0, 0), species: ["B"], source: "cfg.xyz", ...p });
  assertUserError(mk({ positions: Float64Array.of(0, 0, 0, 1, 1, 1) }), "cfg.xyz", "2 positions for 1");
  assertUserError(mk({ positions: Float64Array.of(0, NaN, 0) }), "cfg.xyz", "atom 1", "non-finite");
  assertUserError(mk({ box: orthorhombicBox(5, 0, 5) }), "cfg.xyz", "zero volume");
  assertUserError(mk({ masses: Float64Array.of(-1) }), "cfg.xyz", "atom 1", "mass");
  assertUserError(mk({ ids: Int32Array.of(1, 2) }), "cfg.xyz", "2 atom ids for 1");
  assertUserError(mk({ species: [""] }), "cfg.xyz", "species");
});

const XYZ = '2\nLattice="5 0 0 0 5 0 0 0 5"\nB 0 0 0\nFe 1 1 1\n';
const DUMP = "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 5\n0 5\n0 5\n" +
  "ITEM: ATOMS id element x y z\n1 B 1 2 3\n";
const CFG = "Number of particles = 1\nA = 1 Angstrom\n" +
  "H0(1,1) = 5 A\nH0(1,2) = 0 A\nH0(1,3) = 0 A\nH0(2,1) = 0 A\nH0(2,2) = 5 A\nH0(2,3) = 0 A\n" +
  "H0(3,1) = 0 A\nH0(3,2) = 0 A\nH0(3,3) = 5 A\n.NO_VELOCITY.\nentry_count = 3\n10.81\nB\n0.2 0.4 0.6\n";

Deno.test("atom config reader: the format comes from the content first, the extension second, or --format", async () => {
  assertEquals(detectAtomConfigFormat("a.txt", XYZ), "xyz");
  assertEquals(detectAtomConfigFormat("a.xyz", DUMP), "dump");
  assertEquals(detectAtomConfigFormat("a", "\r\n" + CFG), "cfg");
  assertEquals(detectAtomConfigFormat("run/a.lammpstrj", "garbage"), "dump");
  assertEquals(detectAtomConfigFormat("run.d/a", "garbage"), undefined);
  const dir = tempDir();
  try {
    const x = await readAtomConfig(writeTemp(dir, "noext", XYZ));
    assertEquals([x.atoms, x.species], [2, ["B", "Fe"]]);
    const d = await readAtomConfig(writeTemp(dir, "a.dump", DUMP));
    assertEquals(Array.from(d.positions), [1, 2, 3]);
    const c = await readAtomConfig(writeTemp(dir, "a.cfg", CFG));
    assertEquals(Array.from(c.positions), [1, 2, 3]);
    const unknown = writeTemp(dir, "a.txt", "hello\n");
    await assertRejectsUserError(
      () => readAtomConfig(unknown),
      unknown,
      "cannot tell the format",
      "--format",
    );
    await assertRejectsUserError(
      () => readAtomConfig(join(dir, "missing.xyz")),
      "cannot read",
      "missing.xyz",
    );
    // A forced format reads the text with that reader (and fails where it does not fit).
    assertUserError(() => parseAtomConfig(XYZ, "x.xyz", { format: "cfg" }), "x.xyz", "Number of particles");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Atom counts per species in the published files, counted independently (awk over the atom lines). */
const PUBLISHED: Record<
  string,
  { counts: Record<string, number>; row: number; tol: number; lattice: number[] }
> = {
  A1: {
    counts: { B: 3731, Fe: 220, Nb: 1317, W: 220 },
    row: 0,
    tol: 0.5,
    lattice: [37.3813, 37.3813, 37.3813],
  },
  A2: {
    counts: { B: 3622, Fe: 220, Hf: 220, Nb: 1152, Ru: 274 },
    row: 3,
    tol: 0.5,
    lattice: [37.621772, 37.601191, 37.624476],
  },
  A3: {
    counts: { B: 3402, Fe: 220, Hf: 439, Nb: 659, Ru: 329, W: 439 },
    row: 1,
    tol: 0.5,
    lattice: [38.023434, 38.014863, 38.01439],
  },
  A4: {
    counts: { B: 3567, Co: 439, Fe: 220, Nb: 1262 },
    row: 2,
    tol: 1.01,
    lattice: [37.0455, 37.0455, 37.0455],
  },
  A5: {
    counts: { B: 3347, Co: 220, Fe: 220, Nb: 988, W: 439, Zr: 274 },
    row: 4,
    tol: 1.01,
    lattice: [37.970452, 37.977881, 37.968774],
  },
};

function mdFile(name: string): string {
  return join(DATA_DIR ?? "", "md", `Alloy_${name}_final_configuration.xyz`);
}

Deno.test({
  name: "published MD configurations: strict read names both counts; lenient read matches PROVENANCE.md",
  ignore: NO_DATA,
  fn: async () => {
    // vibann_md_compositions.csv: BOM + CRLF, header B,Co,Fe,Hf,Nb,Ru,W,Zr, at.% rows.
    const csv = Deno.readTextFileSync(join(DATA_DIR!, "vibann_md_compositions.csv")).replace(/^\uFEFF/, "");
    const [head, ...rows] = csv.trim().split(/\r?\n/).map((l) => l.split(","));
    for (const [name, want] of Object.entries(PUBLISHED)) {
      const file = mdFile(name);
      await assertRejectsUserError(() => readAtomConfig(file), file, "line 1", "29488", "5488", "--lenient");
      const c = await readAtomConfig(file, { lenient: true });
      assertEquals(c.atoms, 5488, name);
      assertEquals(c.warnings.length, 1, name);
      assertTrue(c.warnings[0].includes("29488") && c.warnings[0].includes("5488"), c.warnings[0]);
      assertEquals(speciesCounts(c), want.counts, name);
      assertEquals(c.ids?.[0], 1);
      assertEquals(c.ids?.[5487], 5488);
      assertEquals(c.masses !== undefined, name === "A1" || name === "A4", `${name} mass column`);
      // Composition in at.% against the CSV row PROVENANCE.md names (A4, A5 differ by about 1 at.%).
      const row = rows[want.row].map(Number);
      const frac = speciesFractions(c);
      for (let j = 0; j < head.length; j++) {
        const pct = 100 * (frac[head[j]] ?? 0);
        assertTrue(
          Math.abs(pct - row[j]) <= want.tol,
          `${name} ${head[j]}: ${pct.toFixed(2)} vs ${row[j]} at.%`,
        );
      }
      const density = numberDensity(c);
      const [lx, ly, lz] = want.lattice;
      assertNear(density, 5488 / (lx * ly * lz), 1e-12, `${name} density`);
      assertTrue(density >= 0.0995 && density <= 0.108, `${name} density ${density}`);
    }
  },
});
