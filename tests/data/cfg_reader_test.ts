import { speciesCounts } from "../../data/atom_config.ts";
import { readAtomConfig } from "../../data/atom_config_reader.ts";
import { parseCfg } from "../../data/cfg_reader.ts";
import { assertEquals, assertNear, assertUserError, tempDir, writeTemp } from "./_helpers.ts";

/** H0 = H / 2 with A = 2: the cell is a = (10,0,0), b = (2,8,0), c = (−1,1.5,6), origin 0. */
function header(
  n: number,
  extra: string[] = [".NO_VELOCITY.", "entry_count = 4", "auxiliary[0] = id"],
): string[] {
  const h0 = [5, 0, 0, 1, 4, 0, -0.5, 0.75, 3];
  return [
    `Number of particles = ${n}`,
    "A = 2 Angstrom (basic length-scale)",
    ...h0.map((v, k) => `H0(${Math.floor(k / 3) + 1},${(k % 3) + 1}) = ${v} A`),
    ...extra,
  ];
}

/** As LAMMPS `dump cfg` writes it: mass and symbol before every atom, a blank line after each. */
const LAMMPS_CFG = [
  ...header(3),
  "10.810000 ",
  "B ",
  "0.5 0.25 0.5 11 ",
  "",
  "55.845000 ",
  "Fe ",
  "0 0 0 12 ",
  "",
  "10.810000 ",
  "B ",
  "1 1 1 13 ",
  "",
].join("\n");

/** s·H by hand: (0.5,0.25,0.5) → 0.5·(10,0,0) + 0.25·(2,8,0) + 0.5·(−1,1.5,6) = (5, 2.75, 3). */
const CART = [5, 2.75, 3, 0, 0, 0, 11, 9.5, 6];

Deno.test("cfg: LAMMPS dump cfg with two species: cell = A·H0 by rows, cartesian = s·H, masses and aux ids", () => {
  const c = parseCfg(LAMMPS_CFG, "t.cfg");
  assertEquals(Array.from(c.box.h), [10, 0, 0, 2, 8, 0, -1, 1.5, 6]);
  assertEquals(c.box.origin, [0, 0, 0]);
  assertEquals(c.species, ["B", "Fe", "B"]);
  assertEquals(speciesCounts(c), { B: 2, Fe: 1 });
  for (let i = 0; i < CART.length; i++) assertNear(c.positions[i], CART[i], 1e-12, `coord ${i}`);
  assertEquals(Array.from(c.masses!), [10.81, 55.845, 10.81]);
  assertEquals(Array.from(c.ids!), [11, 12, 13]);
  assertEquals(c.warnings, []);
  // CRLF reads the same.
  const crlf = parseCfg(LAMMPS_CFG.replaceAll("\n", "\r\n"), "t.cfg");
  assertEquals(Array.from(crlf.positions), Array.from(c.positions));
});

Deno.test("cfg: AtomEye blocks (one mass/symbol line pair per species) and velocity columns", () => {
  const blocks = [...header(3), "10.81", "B", "0.5 0.25 0.5 11", "1 1 1 13", "55.845", "Fe", "0 0 0 12"].join(
    "\n",
  );
  const c = parseCfg(blocks, "b.cfg");
  assertEquals(c.species, ["B", "B", "Fe"]);
  const want = [5, 2.75, 3, 11, 9.5, 6, 0, 0, 0];
  for (let i = 0; i < want.length; i++) assertNear(c.positions[i], want[i], 1e-12);
  assertEquals(Array.from(c.ids!), [11, 13, 12]);
  // Without .NO_VELOCITY. each line has xs ys zs vx vy vz before the auxiliary columns.
  const vel = [...header(1, ["entry_count = 7", "auxiliary[0] = id"]), "10.81", "B", "0.5 0.25 0.5 9 9 9 4"];
  const v = parseCfg(vel.join("\n"), "v.cfg");
  assertEquals(Array.from(v.ids!), [4]);
  assertNear(v.positions[1], 2.75, 1e-12);
});

Deno.test("cfg: the standard (non-extended) form has one 'mass symbol xs ys zs vx vy vz' line per atom", () => {
  const std = [
    ...header(2, ["# a comment", "R = 1.0 [ns]"]),
    "55.845 Fe 0 0 0 0 0 0",
    "10.81 B 1 1 1 0.1 0 0",
  ];
  const c = parseCfg(std.join("\n"), "s.cfg");
  assertEquals(c.species, ["Fe", "B"]);
  assertEquals(Array.from(c.masses!), [55.845, 10.81]);
  assertEquals(Array.from(c.positions.subarray(3)), [11, 9.5, 6]);
  assertEquals(c.ids, undefined);
});

Deno.test("cfg: 'Number of particles' that disagrees with the atoms is an error; lenient reads them", () => {
  const text = LAMMPS_CFG.replace("Number of particles = 3", "Number of particles = 5");
  assertUserError(() => parseCfg(text, "n.cfg"), "n.cfg line 1", "says 5 atoms", "holds 3", "--lenient");
  const c = parseCfg(text, "n.cfg", { lenient: true });
  assertEquals(c.atoms, 3);
  assertEquals(c.warnings, ["n.cfg line 1: the header says 5 atoms but the file holds 3; read 3"]);
});

Deno.test("cfg: malformed files are one-line errors naming the file and line", () => {
  const bad = (text: string, ...parts: (string | RegExp)[]) =>
    assertUserError(() => parseCfg(text, "bad.cfg"), ...parts);
  const body = ["10.81", "B", "0.5 0.5 0.5 1"];
  bad([...header(1).filter((l) => !l.startsWith("H0(3,3)")), ...body].join("\n"), "bad.cfg", "H0(3,3)");
  bad([...header(1).slice(1), ...body].join("\n"), "bad.cfg", "Number of particles");
  bad([...header(1), "10.81", "B", "0.5 0.5e 0.5 1"].join("\n"), "bad.cfg line 17", "ys '0.5e'");
  bad([...header(1), "10.81", "B", "0.5 0.5 1"].join("\n"), "bad.cfg line 17", "3 fields", "entry_count = 4");
  bad([...header(1), "0.5 0.5 0.5 1"].join("\n"), "bad.cfg line 15", "before any mass");
  bad([...header(1), "10.81", "12", "0.5 0.5 0.5 1"].join("\n"), "bad.cfg line 16", "species symbol");
  bad([...header(1), "-1", "B", "0.5 0.5 0.5 1"].join("\n"), "bad.cfg line 15", "mass -1");
  bad([...header(1), "10.81", "B", "0.5 0.5 0.5 1.5"].join("\n"), "bad.cfg line 17", "id 1.5");
  bad([...header(1), "Transform(1,2) = 0.3", ...body].join("\n"), "bad.cfg line 15", "Transform(1,2)");
  bad(
    [...header(1, ["entry_count = 2"]), ...body].join("\n"),
    "bad.cfg line 12",
    "entry_count = 2",
    "too small",
  );
  bad(
    [...header(1, [".NO_VELOCITY.", "entry_count = 3", "auxiliary[0] = id"]), ...body].join("\n"),
    "bad.cfg line 13",
    "beyond entry_count",
  );
  bad(
    [...header(1).map((l) => l.replace("A = 2", "A = two")), ...body].join("\n"),
    "bad.cfg line 2",
    "'two'",
  );
  bad([...header(1, []), "10.81 B 0.5"].join("\n"), "bad.cfg line 12", "mass symbol xs ys zs");
});

Deno.test("cfg: readAtomConfig picks the CFG reader from the content", async () => {
  const dir = tempDir();
  try {
    const c = await readAtomConfig(writeTemp(dir, "test_160000", LAMMPS_CFG));
    assertEquals(c.atoms, 3);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
