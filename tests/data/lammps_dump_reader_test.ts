import { cellVolume } from "../../data/atom_config.ts";
import { readAtomConfig } from "../../data/atom_config_reader.ts";
import { parseLammpsDump } from "../../data/lammps_dump_reader.ts";
import { assertEquals, assertNear, assertTrue, assertUserError, tempDir, writeTemp } from "./_helpers.ts";

function frame(
  step: number,
  n: number,
  bounds: string,
  box: string[],
  columns: string,
  atoms: string[],
): string {
  return [
    "ITEM: TIMESTEP",
    String(step),
    "ITEM: NUMBER OF ATOMS",
    String(n),
    `ITEM: BOX BOUNDS ${bounds}`,
    ...box,
    `ITEM: ATOMS ${columns}`,
    ...atoms,
  ].join("\n") + "\n";
}

const ORTHO = ["-5 5", "0 20", "1.5 31.5"];

Deno.test("dump: orthogonal box, element column, ids, masses; last frame by default, or the one asked for", () => {
  const text = "ITEM: UNITS\nmetal\nITEM: TIME\n0.0\n" +
    frame(0, 2, "pp pp pp", ORTHO, "id type element mass x y z vx", [
      "2 1 B 10.81 0 0 0 0.1",
      "1 2 Fe 55.845 1 2 3 0",
    ]) +
    frame(1000, 3, "pp pp pp", ORTHO, "id element x y z", ["5 Nb -4 19 31", "6 B 1e-3 0.5 2", "7 W 0 0 1.5"]);
  const last = parseLammpsDump(text, "d.dump");
  assertEquals(last.species, ["Nb", "B", "W"]);
  assertEquals(Array.from(last.positions), [-4, 19, 31, 0.001, 0.5, 2, 0, 0, 1.5]);
  assertEquals(Array.from(last.ids!), [5, 6, 7]);
  assertEquals(last.masses, undefined);
  assertEquals(Array.from(last.box.h), [10, 0, 0, 0, 20, 0, 0, 0, 30]);
  assertEquals(last.box.origin, [-5, 0, 1.5]);
  assertEquals(last.warnings, []);
  const first = parseLammpsDump(text, "d.dump", { frame: 0 });
  assertEquals([first.species, Array.from(first.masses!), Array.from(first.ids!)], [["B", "Fe"], [
    10.81,
    55.845,
  ], [
    2,
    1,
  ]]);
  assertEquals(parseLammpsDump(text, "d.dump", { frame: -2 }).atoms, 2);
  assertUserError(() => parseLammpsDump(text, "d.dump", { frame: 2 }), "d.dump", "frame 2", "2 frame");
});

// Triclinic cell a = (10,0,0), b = (2,8,0), c = (−1,1.5,6) at origin (1,2,3): LAMMPS writes the bounding box
// xlo_bound = xlo + min(0,xy,xz,xy+xz) = 0, xhi_bound = xhi + max(…) = 13, ylo/yhi_bound = 2 / 11.5, z 3 / 9.
const TILTED = ["0 13 2", "2 11.5 -1", "3 9 1.5"];
const FRAC = [[0.5, 0.25, 0.5], [0, 0, 0], [1, 1, 1], [0.25, 0.5, 0.75]];
/** origin + s·H by hand: e.g. (1,2,3) + 0.5·(10,0,0) + 0.25·(2,8,0) + 0.5·(−1,1.5,6) = (6, 4.75, 6). */
const CART = [[6, 4.75, 6], [1, 2, 3], [12, 11.5, 9], [3.75, 7.125, 7.5]];

Deno.test("dump: triclinic bounds with tilt factors give the cell matrix; scaled, wrapped and unwrapped agree", () => {
  const line = (v: number[]) => v.join(" ");
  const types = ["1", "2", "1", "2"];
  for (
    const [cols, rows] of [["xs ys zs", FRAC], ["x y z", CART], ["xu yu zu", CART], [
      "xsu ysu zsu",
      FRAC,
    ]] as const
  ) {
    const atoms = rows.map((r, i) => `${i + 1} ${types[i]} ${line(r)}`);
    const c = parseLammpsDump(frame(0, 4, "xy xz yz pp pp pp", TILTED, `id type ${cols}`, atoms), "t.dump", {
      typeNames: ["B", "Nb"],
    });
    assertEquals(Array.from(c.box.h), [10, 0, 0, 2, 8, 0, -1, 1.5, 6], cols);
    assertEquals(c.box.origin, [1, 2, 3], cols);
    assertNear(cellVolume(c.box), 480, 1e-12);
    assertEquals(c.species, ["B", "Nb", "B", "Nb"]);
    const want = CART.flat();
    for (let i = 0; i < want.length; i++) assertNear(c.positions[i], want[i], 1e-12, `${cols} coord ${i}`);
  }
});

Deno.test("dump: general triclinic 'abc origin' bounds (rotated cell vectors)", () => {
  const box = ["0 10 0 1", "-8 2 0 2", "1.5 -1 6 3"];
  const c = parseLammpsDump(
    frame(0, 1, "abc origin pp pp pp", box, "id element xs ys zs", ["1 B 0.5 0.25 0.5"]),
    "g",
  );
  assertEquals(Array.from(c.box.h), [0, 10, 0, -8, 2, 0, 1.5, -1, 6]);
  assertEquals(c.box.origin, [1, 2, 3]);
  // (1,2,3) + 0.5·(0,10,0) + 0.25·(−8,2,0) + 0.5·(1.5,−1,6)
  assertEquals(Array.from(c.positions), [-0.25, 7, 6]);
});

Deno.test("dump: types without names are kept as numbers with a warning; a type without a name is an error", () => {
  const text = frame(0, 2, "pp pp pp", ORTHO, "id type x y z", ["1 1 0 0 2", "2 3 1 1 2"]);
  const c = parseLammpsDump(text, "n.dump");
  assertEquals(c.species, ["1", "3"]);
  assertEquals(c.warnings.length, 1);
  assertTrue(c.warnings[0].includes("n.dump line 9") && c.warnings[0].includes("type"), c.warnings[0]);
  assertUserError(
    () => parseLammpsDump(text, "n.dump", { typeNames: ["B", "Fe"] }),
    "n.dump line 11",
    "type 3",
  );
  const nonPeriodic = parseLammpsDump(frame(0, 1, "pp pp fs", ORTHO, "id type x y z", ["1 1 0 0 2"]), "np", {
    typeNames: ["B"],
  });
  assertTrue(nonPeriodic.warnings.some((w) => w.includes("np line 5") && w.includes("pp pp fs")));
});

Deno.test("dump: NUMBER OF ATOMS that disagrees with the ATOMS lines is an error; lenient reads them", () => {
  const good = frame(0, 2, "pp pp pp", ORTHO, "id element x y z", ["1 B 0 0 2", "2 B 1 1 2"]);
  const cut = frame(100, 3, "pp pp pp", ORTHO, "id element x y z", ["1 B 0 0 2", "2 B 1 1 2"]);
  const text = good + cut + "\n";
  assertUserError(
    () => parseLammpsDump(text, "c.dump"),
    "c.dump line 15",
    "says 3 atoms",
    "holds 2",
    "--lenient",
  );
  const c = parseLammpsDump(text, "c.dump", { lenient: true });
  assertEquals(c.atoms, 2);
  assertEquals(c.warnings, ["c.dump line 15: the header says 3 atoms but the file holds 2; read 2"]);
  assertEquals(parseLammpsDump(text, "c.dump", { frame: 0 }).warnings, []); // the complete frame reads strictly
});

Deno.test("dump: malformed files are one-line errors naming the file and line", () => {
  const bad = (text: string, ...parts: (string | RegExp)[]) =>
    assertUserError(() => parseLammpsDump(text, "bad.dump"), ...parts);
  const cols = "id element x y z";
  bad(
    frame(0, 1, "pp pp pp", ["0 5", "0", "0 5"], cols, ["1 B 0 0 0"]),
    "bad.dump line 7",
    "needs 2 numbers",
  );
  bad(
    frame(0, 1, "xy xz yz pp pp pp", ORTHO, cols, ["1 B 0 0 0"]),
    "bad.dump line 6",
    "triclinic",
    "needs 3",
  );
  bad(frame(0, 1, "pp pp pp", ["0 5", "0 five", "0 5"], cols, ["1 B 0 0 0"]), "bad.dump line 7", "'five'");
  bad(frame(0, 1, "pp pp pp", ["5 0", "0 5", "0 5"], cols, ["1 B 0 0 0"]), "bad.dump line 5", "xhi ≤ xlo");
  bad(frame(0, 2, "pp pp pp", ORTHO, cols, ["1 B 0 0 0", "2 B 0 0x1 0"]), "bad.dump line 11", "y '0x1'");
  bad(
    frame(0, 2, "pp pp pp", ORTHO, cols, ["1 B 0 0 0", "2 B 0 0"]),
    "bad.dump line 11",
    "4 fields",
    "5 columns",
  );
  bad(frame(0, 1, "pp pp pp", ORTHO, "id element vx vy vz", ["1 B 0 0 0"]), "bad.dump line 9", "no position");
  bad(
    frame(0, 1, "pp pp pp", ORTHO, "id x y z", ["1 0 0 0"]),
    "bad.dump line 9",
    "neither an element nor a type",
  );
  bad(frame(0, 1, "pp pp pp", ORTHO, "id type x y z", ["1 1.5 0 0 0"]), "bad.dump line 10", "type '1.5'");
  bad(frame(0, 1, "pp pp pp", ORTHO, "id id x y z", ["1 1 0 0 0"]), "bad.dump line 9", "twice");
  bad(
    frame(0, 1, "pp pp pp", ORTHO, cols, ["1 B 0 0 0"]).replace("ITEM: NUMBER OF ATOMS\n1\n", ""),
    "bad.dump line 7",
  );
  bad(
    "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: ATOMS id element x y z\n1 B 0 0 0\n",
    "line 5",
    "BOX BOUNDS",
  );
  bad(
    "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 1\nITEM: ATOMS x y z\n",
    "line 7",
    "3",
  );
  bad("ITEM: TIMESTEP\nlast\n", "bad.dump line 2", "timestep 'last'");
  bad("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\nmany\n", "bad.dump line 4", "'many'");
  bad("1 B 0 0 0\n", "bad.dump line 1", "ITEM:");
  bad(
    "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\n",
    "no 'ITEM: ATOMS'",
  );
  bad("", "bad.dump", "no 'ITEM: ATOMS'");
});

Deno.test("dump: CRLF files read the same, through readAtomConfig with its options", async () => {
  const text = frame(7, 2, "pp pp pp", ORTHO, "id type xs ys zs", ["1 2 0.5 0.5 0.5", "2 1 0 0 0"]);
  const dir = tempDir();
  try {
    const p = writeTemp(dir, "run.lammpstrj", text.replaceAll("\n", "\r\n"));
    const c = await readAtomConfig(p, { typeNames: ["B", "Fe"] });
    assertEquals(c.species, ["Fe", "B"]);
    assertEquals(Array.from(c.positions), [0, 10, 16.5, -5, 0, 1.5]);
    assertEquals(c.source, p);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
