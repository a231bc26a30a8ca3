/**
 * The LAMMPS syntax checker: a small valid deck passes; hand-broken copies (undefined variable, duplicate fix
 * ID, unknown command, wrong argument counts, undefined region/group/compute/fix/dump, unterminated quotes
 * and continuations, …) are each rejected on the right line with a message naming the problem.
 */
import { assertLammpsInput, checkLammpsInput, type LammpsIssue } from "../../md/lammps_syntax.ts";
import { assertEquals, assertTrue, assertUserError } from "../data/_helpers.ts";

const GOOD = `# a minimal complete deck
variable T index 300
variable n equal round(1000/2)
units metal
boundary p p p
atom_style atomic
lattice bcc 2.87
region box block 0 4 0 4 0 4
create_box 2 box
create_atoms 1 box
set type 1 type/subset 2 64 12345
mass 1 55.845
mass 2 58.6934
pair_style eam/alloy
pair_coeff * * "Fe Ni.eam.alloy" Fe Ni   # a quoted path with a space and a # in the comment
neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
timestep 0.001
compute pe_atom all pe/atom
thermo 100
thermo_style custom step temp &
  pe press
dump d all custom 100 dump.lammpstrj id type element x y z
dump_modify d element Fe Ni sort id
velocity all create \${T} 4928459 dist gaussian mom yes rot yes
fix md all npt temp $T \${T} 0.1 iso 0 0 1.0
variable vol equal vol
fix avg all ave/time 10 10 100 v_vol c_thermo_temp file vol.txt
run \${n}
unfix avg
unfix md
fix md all nvt temp 300 300 0.1
run 10 upto
write_restart restart.end
`;

function issues(text: string): LammpsIssue[] {
  return checkLammpsInput(text);
}

/** Replaces line `line` (1-based) of GOOD with `text` (or inserts it before when `insert`). */
function edit(line: number, text: string, insert = false): string {
  const lines = GOOD.split("\n");
  lines.splice(line - 1, insert ? 0 : 1, text);
  return lines.join("\n");
}

function lineOf(s: string): number {
  return GOOD.split("\n").findIndex((l) => l.startsWith(s)) + 1;
}

/** Asserts exactly one issue, on `line`, whose message contains every part. */
function rejects(text: string, line: number, ...parts: string[]) {
  const found = issues(text);
  assertEquals(found.length, 1, `expected one issue, got ${JSON.stringify(found)}`);
  assertEquals(found[0].line, line, JSON.stringify(found[0]));
  for (const p of parts) {
    assertTrue(found[0].message.includes(p), `${JSON.stringify(found[0].message)} ∌ ${p}`);
  }
}

Deno.test("a complete deck passes (continuations, quotes, comments, variables, unfix and reuse)", () => {
  assertEquals(issues(GOOD), []);
  assertEquals(issues(GOOD.replace(/\n/g, "\r\n")), []);
  assertLammpsInput(GOOD, "in.good");
});

Deno.test("undefined variables: ${v}, $v, v_v in formulas and arguments, and in print strings", () => {
  const run = lineOf("run ${n}");
  rejects(edit(run, "run ${n_steps}"), run, "variable 'n_steps'", "before it is defined");
  const vel = lineOf("velocity");
  rejects(edit(vel, "velocity all create $X 4928459"), vel, "variable 'X'");
  const th = lineOf("thermo_style");
  rejects(edit(th, "thermo_style custom step v_depth &"), th, "variable 'depth'");
  rejects(edit(lineOf("variable n"), "variable n equal round(v_m/2)"), lineOf("variable n"), "variable 'm'");
  rejects(edit(run, 'print "n is ${nn}"', true), run, "variable 'nn'");
  // Used before the line that defines it:
  const lines = GOOD.split("\n");
  const moved = [lines[0], lines[2], lines[1], ...lines.slice(3)].join("\n");
  assertEquals(issues(moved), []); // n's formula uses no variable; now move T below its use:
  const tLine = lines.findIndex((l) => l.startsWith("variable T"));
  const late = [...lines.slice(0, tLine), ...lines.slice(tLine + 1, -1), lines[tLine], ""].join("\n");
  assertTrue(issues(late).some((i) => i.message.includes("variable 'T'")));
  // lmp -var T 500 defines it from outside:
  assertEquals(checkLammpsInput(late, { variables: { T: "500" } }).length, 0);
});

Deno.test("duplicate fix, compute and dump IDs; references to undefined ones", () => {
  const md = lineOf("fix md all npt");
  rejects(edit(md, "fix md all nve", true), md + 1, "fix ID 'md' is already in use");
  const cp = lineOf("compute pe_atom");
  rejects(edit(cp, "compute pe_atom all ke/atom", true), cp + 1, "compute ID 'pe_atom'");
  const dm = lineOf("dump d all");
  rejects(edit(dm, "dump d all atom 10 x.dump", true), dm + 1, "dump ID 'd'");
  const av = lineOf("fix avg");
  rejects(edit(av, "fix avg all ave/time 10 10 100 f_nope"), av, "fix 'nope'");
  rejects(edit(av, "fix avg all ave/time 10 10 100 c_nope"), av, "compute 'nope'");
  rejects(edit(lineOf("unfix avg"), "unfix avgs"), lineOf("unfix avg"), "fix 'avgs' is not defined");
  rejects(edit(lineOf("dump_modify"), "dump_modify e sort id"), lineOf("dump_modify"), "dump 'e'");
});

Deno.test("unknown commands", () => {
  const mn = lineOf("timestep");
  rejects(edit(mn, "minimise 1e-10 1e-10 100 100", true), mn, "minimise", "unknown command");
  rejects(edit(mn, "Timestep 0.001"), mn, "unknown command");
  rejects(edit(mn, '"timestep" 0.001'), mn, "unknown command");
});

Deno.test("wrong argument counts and values", () => {
  const ts = lineOf("timestep");
  rejects(edit(ts, "timestep"), ts, "timestep", "expected 1 argument, got 0");
  rejects(edit(ts, "timestep 0.001 2"), ts, "expected 1 argument, got 2");
  rejects(edit(ts, "timestep -1"), ts, "positive number");
  rejects(edit(ts, "minimize 1e-10 1e-10 100", true), ts, "minimize", "expected 4 arguments, got 3");
  rejects(edit(lineOf("boundary"), "boundary p p"), lineOf("boundary"), "expected 3 arguments");
  rejects(edit(lineOf("boundary"), "boundary p p q"), lineOf("boundary"), "bad boundary 'q'");
  rejects(edit(lineOf("units"), "units metallic"), lineOf("units"), "unknown units");
  const set = lineOf("set type 1");
  rejects(edit(set, "set type 1 type/subset 2 64"), set, "type/subset", "needs 3 values, got 2");
  rejects(edit(set, "set type 1 type/subset 3 64 12345"), set, "out of range", "2 atom types");
  rejects(edit(set, "set type 1 type/subset 2 6.4 12345"), set, "type/subset count must be an integer");
  const md = lineOf("fix md all npt");
  rejects(edit(md, "fix md all npt temp 300 300 iso 0 0 1.0"), md, "temp damping must be a positive number");
  rejects(edit(md, "fix md all npt temp 300 300 0.1"), md, "barostat keyword");
  rejects(edit(md, "fix md all npt iso 0 0 1.0"), md, "temp keyword is required");
  const av = lineOf("fix avg");
  rejects(edit(av, "fix avg all ave/time 10 20 100 v_vol"), av, "Nfreq must be a multiple");
  rejects(edit(av, "fix avg all ave/time 30 1 100 v_vol"), av, "Nfreq must be a multiple");
  rejects(
    edit(lineOf("pair_coeff"), "pair_coeff * * Fe.eam.alloy Fe"),
    lineOf("pair_coeff"),
    "1 element names",
  );
  rejects(
    edit(lineOf("dump_modify"), "dump_modify d element Fe"),
    lineOf("dump_modify"),
    "element needs 2 names",
  );
  rejects(edit(lineOf("region"), "region box block 0 4 0 4 0"), lineOf("region"), "needs 6 values, got 5");
  rejects(edit(lineOf("velocity"), "velocity all create 300"), lineOf("velocity"), "needs 2 values, got 1");
  rejects(edit(lineOf("run ${n}"), "run 10.5"), lineOf("run ${n}"), "the number of steps must be an integer");
});

Deno.test("regions, groups, the box, masses and the pair style must exist before use", () => {
  rejects(edit(lineOf("create_box"), "create_box 2 cell"), lineOf("create_box"), "region 'cell'");
  const vel = lineOf("velocity");
  rejects(edit(vel, "velocity mobile create 300 4928459"), vel, "group 'mobile'");
  assertEquals(issues(edit(vel, "group mobile region box", true)), []);
  rejects(edit(vel, "group mobile region slab", true), vel, "region 'slab'");
  rejects(edit(lineOf("create_box"), "create_atoms 1 box", true), lineOf("create_box"), "box does not exist");
  const noMass = issues(edit(lineOf("mass 2"), "# no mass for type 2"));
  assertEquals(noMass[0].line, lineOf("run ${n}"));
  assertTrue(noMass.every((i) => i.message.includes("type 2 has no mass")), JSON.stringify(noMass));
  const noPair = GOOD.split("\n").filter((l) => !l.startsWith("pair_")).join("\n");
  assertTrue(issues(noPair).some((i) => i.message.includes("no pair_style")));
});

Deno.test("unterminated quotes, triple quotes and continuations; non-ASCII outside comments", () => {
  const th = lineOf("neighbor");
  rejects(edit(th, 'print "unterminated'), th, 'unterminated " quote');
  rejects(edit(th, "print 'unterminated"), th, "unterminated ' quote");
  rejects(GOOD + 'print """never closed\n', GOOD.split("\n").length, 'unterminated """');
  const tail = GOOD.replace(/\n$/, "") + "\nrun 10 &";
  rejects(tail, tail.split("\n").length, "ends with '&'");
  assertEquals(issues(GOOD + 'print """two\nlines ${T}"""\n'), []);
  assertEquals(issues(edit(th, "thermo_style custom step temp # température")).length, 0);
  rejects(edit(th, "thermo_style custom step températur"), th, "non-ASCII");
});

Deno.test("assertLammpsInput throws a one-line UserError with the file and line", () => {
  assertUserError(
    () => assertLammpsInput(edit(3, "unit metal"), "in.lammps"),
    "in.lammps line 3",
    "unknown command",
  );
});
