/**
 * LAMMPS decks: cell repeats against a brute-force search, the generated decks pass our syntax checker, a
 * tiny interpreter of `create_atoms` + `set type/subset` reproduces the exact counts, masses against the
 * reference's table, stage lengths and temperatures, the cooling rate in README.txt, and unsupported elements
 * / pair styles.
 */
import {
  atomCounts,
  type Composition,
  compositionFromAmounts,
  compositionFromFormula,
} from "../../md/composition_atoms.ts";
import { buildDeckFolder, type DeckOptions, lammpsSeeds } from "../../md/deck_folder.ts";
import {
  cellRepeats,
  coolingRate,
  type DeckInput,
  INDENT_DEFAULTS,
  LATTICE_SITES,
  type LatticeStyle,
  MAX_CELL_ASPECT,
  MELT_QUENCH_DEFAULTS,
  meltQuenchDeck,
  potentialLabels,
  TENSION_DEFAULTS,
} from "../../md/lammps_deck.ts";
import { formatRate } from "../../md/deck_readme.ts";
import { setflElements } from "../../md/potential_elements.ts";
import { checkLammpsInput } from "../../md/lammps_syntax.ts";
import { assertEquals, assertNear, assertTrue, assertUserError } from "../data/_helpers.ts";

const REFERENCE_FORMULAS = [
  "B68Fe4Nb24W4",
  "B62Fe4Hf8Nb12Ru6W8",
  "B64Co8Fe5Nb23",
  "B66Fe4Hf4Nb21Ru5",
  "B61Co5Fe3Nb18W8Zr5",
];
/** The reference script's masses (§8.1). */
const REFERENCE_MASSES: Record<string, number> = {
  B: 10.81,
  Co: 58.933,
  Fe: 55.845,
  Hf: 178.49,
  Nb: 92.9063,
  Ru: 101.07,
  W: 183.84,
  Zr: 91.224,
};

function options(over: Partial<DeckOptions> = {}): DeckOptions {
  return {
    atoms: 5488,
    lattice: "bcc",
    latticeConstant: 2.8,
    seed: 7,
    potential: { file: "/pots/model.pt", pairStyle: "e3gnn" },
    protocols: ["melt-quench", "nanoindent", "tension"],
    melt: { ...MELT_QUENCH_DEFAULTS },
    indent: { ...INDENT_DEFAULTS },
    tension: { ...TENSION_DEFAULTS },
    ...over,
  };
}

function folder(formula: string, over: Partial<DeckOptions> = {}) {
  return buildDeckFolder(
    { name: formula, composition: compositionFromFormula(formula), source: "test" },
    options(over),
  );
}

/** Commands of a deck (comments and blank lines removed). */
function commands(deck: string): string[][] {
  return deck.split("\n").map((l) => l.replace(/#.*$/, "").trim()).filter((l) => l !== "").map((l) =>
    l.split(/\s+/)
  );
}

Deno.test("cell repeats: exact cubes, exact non-cubic cells, else the nearest count (brute force)", () => {
  assertEquals(cellRepeats("bcc", 2.8, 5488).repeats, [14, 14, 14]);
  assertEquals(cellRepeats("bcc", 2.8, 27648).repeats, [24, 24, 24]);
  assertEquals(cellRepeats("fcc", 3.6, 256).repeats, [4, 4, 4]);
  assertEquals(cellRepeats("sc", 3, 1000).repeats, [10, 10, 10]);
  assertEquals(cellRepeats("bcc", 2.8, 2 * 14 * 14 * 15).repeats, [14, 14, 15]);
  for (const style of ["bcc", "fcc", "sc"] as LatticeStyle[]) {
    for (const n of [1, 2, 3, 5, 10, 100, 777, 5000, 10000, 12345]) {
      const per = LATTICE_SITES[style];
      let best = Infinity;
      for (let x = 1; x <= 40; x++) {
        for (let y = x; y <= 40; y++) {
          for (let z = y; z <= 40; z++) {
            if (z <= x * MAX_CELL_ASPECT + 1e-9) best = Math.min(best, Math.abs(per * x * y * z - n));
          }
        }
      }
      const c = cellRepeats(style, 1, n);
      assertEquals(Math.abs(c.atoms - n), best, `${style} ${n}`);
      assertEquals(c.atoms, per * c.repeats[0] * c.repeats[1] * c.repeats[2]);
    }
  }
});

Deno.test("generated decks pass the syntax checker and are ASCII (5 alloys, 2 sizes, 2 pair styles)", () => {
  for (const f of REFERENCE_FORMULAS) {
    for (const atoms of [5488, 27648]) {
      for (const pairStyle of ["e3gnn", "eam/alloy"]) {
        const d = folder(f, { atoms, potential: { file: "../pot file.set", pairStyle } });
        const ntypes = compositionFromFormula(f).elements.length;
        for (const [name, text] of d.files) {
          if (!name.startsWith("in.")) continue;
          const restart = name === "in.lammps" ? {} : { restart: { ntypes } };
          assertEquals(checkLammpsInput(text, restart), [], `${f} ${atoms} ${pairStyle} ${name}`);
          assertTrue(/^[\x20-\x7e\n]*$/.test(text), `${name} is ASCII`);
        }
      }
    }
  }
});

Deno.test("create_atoms + set type/subset, interpreted, give exactly the composition's counts", () => {
  for (const f of REFERENCE_FORMULAS) {
    for (const atoms of [5488, 27648]) {
      const d = folder(f, { atoms });
      const cmds = commands(d.files.get("in.lammps")!);
      const region = cmds.find((c) => c[0] === "region")!;
      const reps = [region[4], region[6], region[8]].map(Number);
      assertEquals(cmds.find((c) => c[0] === "lattice"), ["lattice", "bcc", "2.8"]);
      let types = new Int32Array(2 * reps[0] * reps[1] * reps[2]).fill(1); // create_atoms 1 box on bcc
      for (const c of cmds.filter((c) => c[0] === "set")) {
        assertEquals(c.slice(0, 4), ["set", "type", "1", "type/subset"]);
        const [t, n] = [Number(c[4]), Number(c[5])];
        let left = n; // type/subset: exactly n of the selected (type-1) atoms become type t
        types = types.map((x) => (x === 1 && left > 0 ? (left--, t) : x));
        assertEquals(left, 0, `${f}: enough type-1 atoms for type ${t}`);
      }
      const expected = atomCounts(compositionFromFormula(f), atoms);
      const ntypes = Number(cmds.find((c) => c[0] === "create_box")![1]);
      assertEquals(ntypes, expected.elements.length);
      const got = Array.from({ length: ntypes }, (_, k) => types.filter((x) => x === k + 1).length);
      assertEquals(got, expected.counts, `${f} at ${atoms}`);
      // Masses and pair_coeff labels in type order.
      const masses = cmds.filter((c) => c[0] === "mass").map((c) => Number(c[2]));
      expected.elements.forEach((e, k) => assertNear(masses[k], REFERENCE_MASSES[e], 0.01, `${e} mass`));
      assertEquals(cmds.find((c) => c[0] === "pair_coeff")!.slice(4), expected.elements);
      assertEquals(cmds.find((c) => c[0] === "dump_modify")!.slice(3, 3 + ntypes), expected.elements);
    }
  }
});

Deno.test("melt-quench deck: units, boundary, stage temperatures, lengths and restart files", () => {
  const melt = { ...MELT_QUENCH_DEFAULTS, tHigh: 3000, quenchPs: 100, timestepFs: 2 };
  const text = folder("B68Fe4Nb24W4", { melt }).files.get("in.lammps")!;
  const cmds = commands(text);
  const vars = Object.fromEntries(
    cmds.filter((c) => c[0] === "variable" && c[2] === "index").map((c) => [c[1], c[3]]),
  );
  const sub = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, v) => vars[v]);
  assertEquals(cmds.find((c) => c[0] === "units"), ["units", "metal"]);
  assertEquals(cmds.find((c) => c[0] === "boundary"), ["boundary", "p", "p", "p"]);
  assertEquals(cmds.find((c) => c[0] === "atom_style"), ["atom_style", "atomic"]);
  const npt = cmds.filter((c) => c[0] === "fix" && c[3] === "npt").map((c) =>
    c.slice(5, 7).map(sub).map(Number)
  );
  assertEquals(npt, [[50, 3000], [3000, 3000], [3000, 50], [50, 50]]);
  for (const c of cmds.filter((c) => c[0] === "fix" && c[3] === "npt")) {
    assertEquals(c.slice(4).map(sub), ["temp", c[5] && sub(c[5]), sub(c[6]), "1", "iso", "0", "0", "5"]);
  }
  // run ${n_x} with n_x = round(t_x / dt): 40 ps, 40 ps, 100 ps, 40 ps at 2 fs.
  const durations = ["t_heat", "t_melt", "t_quench", "t_hold"].map((v) => Number(vars[v]) / Number(vars.dt));
  assertEquals(durations.map(Math.round), [20000, 20000, 50000, 20000]);
  assertEquals(cmds.filter((c) => c[0] === "run").map((c) => c[1]), [
    "${n_heat}",
    "${n_melt}",
    "${n_quench}",
    "${n_hold}",
  ]);
  assertEquals(cmds.filter((c) => c[0] === "write_restart").map((c) => c[1]), [
    "restart.minimized",
    "restart.heat",
    "restart.melt",
    "restart.quench",
    "restart.final",
  ]);
  assertEquals(cmds.find((c) => c[0] === "thermo"), ["thermo", "100"]);
  assertTrue(cmds.some((c) => c[0] === "dump" && c[4] === "1000" && c.includes("element")));
  assertTrue(cmds.some((c) => c[0] === "minimize"));
  assertTrue(!/\/home\//.test(text), "no hard-coded paths");
});

Deno.test("README.txt: cooling rate (4000 − 50) K / 40 ps ≈ 9.9e13 K/s by default, and for others", () => {
  const readme = folder("B68Fe4Nb24W4").files.get("README.txt")!;
  const m = /Cooling rate: ([0-9.e+]+) K\/s/.exec(readme);
  assertTrue(m, readme);
  assertNear(Number(m[1]), (4000 - 50) / 40e-12, 1e-6 * 9.875e13);
  assertEquals(Number(Number(m[1]).toPrecision(2)), 9.9e13);
  assertNear(coolingRate(MELT_QUENCH_DEFAULTS), 3950 / 40e-12, 1e-12 * 9.875e13);
  const melt = { ...MELT_QUENCH_DEFAULTS, tHigh: 3000, quenchPs: 100 };
  const r2 = /Cooling rate: ([0-9.e+]+) K\/s/.exec(
    folder("B68Fe4Nb24W4", { melt }).files.get("README.txt")!,
  )!;
  assertNear(Number(r2[1]), 2950 / 100e-12, 1e-3 * 2.95e13);
  assertEquals(formatRate(9.875e13), "9.875e+13");
  assertTrue(/55000 steps/.test(readme), "indent loading steps (8 + 3 Å at 0.2 Å/ps, 1 fs)");
  assertTrue(/200000 steps/.test(readme), "tension steps (0.2 at 1e9 /s, 1 fs)");
});

Deno.test("nanoindentation and tension decks start from restart.final and write their curves", () => {
  const d = folder("B68Fe4Nb24W4");
  for (const name of ["in.indent", "in.tension"]) {
    const cmds = commands(d.files.get(name)!);
    assertEquals(cmds.find((c) => c[0] === "read_restart"), ["read_restart", "restart.final"]);
    assertTrue(cmds.some((c) => c[0] === "pair_coeff"), "pair_coeff again after read_restart");
  }
  const ind = commands(d.files.get("in.indent")!);
  assertEquals(ind.find((c) => c[0] === "change_box"), ["change_box", "all", "boundary", "p", "p", "s"]);
  const fi = ind.find((c) => c[0] === "fix" && c[3] === "indent")!;
  assertEquals([fi[5], fi[8]], ["sphere", "v_z_ind"]);
  assertTrue(ind.some((c) => c[0] === "fix" && c[3] === "setforce" && c[2] === "bottom"));
  assertTrue(ind.some((c) => c[0] === "fix" && c[3] === "ave/time" && c.includes("load_depth.txt")));
  const ten = commands(d.files.get("in.tension")!);
  const deform = ten.find((c) => c[0] === "fix" && c[3] === "deform")!;
  assertEquals(deform.slice(4, 8), ["1", "x", "erate", "${erate}"]);
  const npt = ten.find((c) => c[0] === "fix" && c[3] === "npt")!;
  assertTrue(npt.includes("y") && npt.includes("z") && !npt.includes("iso") && !npt.includes("x"));
  assertTrue(ten.some((c) => c[0] === "fix" && c[3] === "ave/time" && c.includes("stress_strain.txt")));
  // melt-quench only: no extra decks
  assertEquals([...folder("B68Fe4Nb24W4", { protocols: ["melt-quench"] }).files.keys()], [
    "in.lammps",
    "README.txt",
    "composition.json",
  ]);
});

Deno.test("unsupported elements and pair styles are clear errors naming the element", () => {
  const pot = { file: "p.eam.alloy", pairStyle: "eam/alloy", supported: ["B", "Fe", "Nb"] };
  assertUserError(
    () => potentialLabels(["B", "Fe", "Nb", "W"], pot),
    "does not support element W",
    "B, Fe, Nb",
  );
  assertEquals(potentialLabels(["B", "Fe"], pot), ["B", "Fe"]);
  const mapped = { ...pot, labels: { B: "B", Fe: "Fe", Nb: "Nb", W: "Fe" }, labelsComplete: true };
  assertEquals(potentialLabels(["B", "Fe", "Nb", "W"], mapped), ["B", "Fe", "Nb", "Fe"]);
  assertUserError(
    () => potentialLabels(["B", "Co"], { ...mapped, supported: undefined }),
    "element Co is not in --elements-map",
  );
  assertUserError(() => potentialLabels(["B"], { file: "x", pairStyle: "eam" }), "'eam'", "pair_coeff");
  assertUserError(() => potentialLabels(["B"], { file: "x", pairStyle: "meam" }), "'meam'");
  assertUserError(
    () =>
      buildDeckFolder(
        { name: "x", composition: compositionFromFormula("B68Fe4Nb24W4"), source: "t" },
        options({
          potential: { file: "p", pairStyle: "e3gnn", supported: ["B", "Fe", "Nb"] },
        }),
      ),
    "element W",
  );
  assertEquals(setflElements("a\nb\nc\n3 B Fe Nb\n1 2 3\n", "p"), ["B", "Fe", "Nb"]);
  assertUserError(() => setflElements("a\nb\nc\nx\n", "p.set"), "p.set line 4");
});

Deno.test("dropped elements are left out of the types; same seed gives the same files", () => {
  const comp: Composition = compositionFromAmounts({ B: 99.6, Fe: 0.3, W: 0.1 }, "t");
  const d = buildDeckFolder({ name: "x", composition: comp, source: "t" }, options({ atoms: 128 }));
  const cmds = commands(d.files.get("in.lammps")!);
  assertEquals(cmds.find((c) => c[0] === "create_box")![1], "1");
  assertTrue(/Left out .*Fe.*W/.test(d.files.get("README.txt")!));
  assertEquals(
    JSON.parse(d.files.get("composition.json")!).dropped.map((x: { element: string }) => x.element),
    [
      "Fe",
      "W",
    ],
  );
  const a = folder("B68Fe4Nb24W4"), b = folder("B68Fe4Nb24W4");
  assertEquals([...a.files], [...b.files]);
  const c = folder("B68Fe4Nb24W4", { seed: 8 });
  assertTrue(a.files.get("in.lammps") !== c.files.get("in.lammps"));
  const s = lammpsSeeds(7, atomCounts(compositionFromFormula("B68Fe4Nb24W4"), 5488));
  for (const x of [s.velocity, ...s.subset]) assertTrue(Number.isInteger(x) && x >= 1 && x < 900_000_000);
});

Deno.test("a deck whose counts do not fill the cell is a bug (thrown, not written)", () => {
  const counts = atomCounts(compositionFromFormula("B50Fe50"), 100);
  const d: DeckInput = {
    name: "x",
    counts,
    cell: cellRepeats("bcc", 2.8, 128),
    potential: { file: "p", pairStyle: "e3gnn" },
    melt: { ...MELT_QUENCH_DEFAULTS },
    seeds: { velocity: 1, subset: [2] },
  };
  let threw = false;
  try {
    meltQuenchDeck(d);
  } catch {
    threw = true;
  }
  assertTrue(threw);
});
