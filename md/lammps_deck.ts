/**
 * LAMMPS input decks for one alloy: the melt–quench deck (in.lammps) and the optional nanoindentation
 * (in.indent) and uniaxial tension (in.tension) decks that start from its final restart file.
 *
 * Melt–quench (reference §8.1, with its defects fixed): `units metal`, `boundary p p p`, `atom_style atomic`;
 * a bcc (or fcc / sc) lattice of nx × ny × nz cells chosen so the site count is the requested N or the
 * nearest achievable ({@link cellRepeats}); one atom type per element in atomic-number order; all sites
 * created as type 1, then `set type 1 type/subset T COUNT SEED` for types 2, 3, … so every species gets
 * EXACTLY its largest-remainder count (type 1 keeps the rest, which is its own count by construction). We
 * chose `set type/subset` over writing a data file: the deck stays self-contained and readable, the counts
 * are exact by LAMMPS's definition of type/subset, and only which site gets which species is left to LAMMPS's
 * random generator (seeded from `--seed`). Masses come from md/atomic_masses.ts; the potential is referenced
 * (never copied) by `pair_style STYLE` and `pair_coeff * * FILE LABELS…` with one potential element label per
 * type. FIRE minimisation (1e-10 1e-10 100 100), velocities at T_low, then four NPT stages (Nosé–Hoover, `iso
 * P P Pdamp`): heat T_low → T_high, hold, quench T_high → T_low, hold; a restart file after each stage,
 * thermo every 100 steps, a dump with element names every 1000 steps, and the final configuration as restart,
 * data, custom dump and CFG (the format the reference's post-processing reads). Defaults are the reference's:
 * 50 → 4000 K in 40 ps, 40 ps hold, 4000 → 50 K in 40 ps, 40 ps hold, 1 fs steps, Tdamp 1 ps, Pdamp 5 ps, 0
 * bar.
 *
 * Departures from the reference, on purpose: the neighbour list is checked every step (`every 1 delay 0 check
 * yes`, skin 1 Å) instead of every 20 steps with a 0.3 Å skin, which can miss neighbours at 4000 K; each
 * stage is one `run` (the fix ramps the temperature over it) instead of ten chunks; restart files are named
 * after the stages.
 *
 * Every tunable value is an `index` variable at the top of a deck, so `lmp -var T_high 3500 -in in.lammps`
 * overrides it without editing; step counts are `round(duration / dt)` in the deck and in README.txt alike.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import type { AtomCounts } from "./composition_atoms.ts";
import { atomicMass } from "./atomic_masses.ts";
import { FILE_ELEMENTS_PAIR_STYLES, styleList } from "./lammps_syntax.ts";

/** The protocols of a deck folder; melt-quench is always written (the others start from its restart). */
export type Protocol = "melt-quench" | "nanoindent" | "tension";
/** All protocols, in file order. */
export const PROTOCOLS: readonly Protocol[] = ["melt-quench", "nanoindent", "tension"];

/** Start lattices and their sites per conventional cubic cell. */
export const LATTICE_SITES = { bcc: 2, fcc: 4, sc: 1 } as const;
/** A start lattice style. */
export type LatticeStyle = keyof typeof LATTICE_SITES;

/** Largest ratio between the longest and the shortest cell repeat that {@link cellRepeats} considers. */
export const MAX_CELL_ASPECT = 1.25;

/** The cell chosen for a requested atom count. */
export interface CellChoice {
  style: LatticeStyle;
  /** Lattice constant (Å). */
  a: number;
  /** Cell repeats along x, y, z (ascending). */
  repeats: [number, number, number];
  /** Atoms (lattice sites) in the cell. */
  atoms: number;
  /** The atom count that was asked for. */
  requested: number;
}

/**
 * Cell repeats nx ≤ ny ≤ nz (nz ≤ 1.25·nx) whose site count is closest to `requested`; ties go to the more
 * nearly cubic cell, then to the larger count. A cubic n³ cell is chosen whenever it hits `requested`
 * exactly.
 * @throws {UserError} when `requested` is not a whole number ≥ 1
 */
export function cellRepeats(style: LatticeStyle, a: number, requested: number): CellChoice {
  if (!Number.isInteger(requested) || requested < 1) {
    throw new UserError(`the atom count must be a whole number ≥ 1, got ${requested}`);
  }
  const per = LATTICE_SITES[style];
  let best: { r: [number, number, number]; atoms: number; err: number; aspect: number } | null = null;
  const top = Math.ceil(Math.cbrt(requested / per)) + 1;
  for (let nx = 1; nx <= top; nx++) {
    const maxN = Math.floor(nx * MAX_CELL_ASPECT + 1e-9);
    for (let ny = nx; ny <= maxN; ny++) {
      const ideal = requested / (per * nx * ny);
      // The best nz for this (nx, ny) is floor or ceil of the ideal, clamped to [ny, maxN].
      const clamp = (z: number) => Math.min(maxN, Math.max(ny, z));
      for (const nz of new Set([clamp(Math.floor(ideal)), clamp(Math.ceil(ideal))])) {
        const atoms = per * nx * ny * nz;
        const err = Math.abs(atoms - requested), aspect = nz / nx;
        if (
          !best || err < best.err || (err === best.err && aspect < best.aspect) ||
          (err === best.err && aspect === best.aspect && atoms > best.atoms)
        ) best = { r: [nx, ny, nz], atoms, err, aspect };
      }
    }
  }
  return { style, a, repeats: best!.r, atoms: best!.atoms, requested };
}

/** How the potential is referenced. */
export interface PotentialSpec {
  /** The potential file as it must appear in pair_coeff (relative to the run folder, or absolute). */
  file: string;
  /** How messages name the file (the path the user gave; default `file`). */
  shownAs?: string;
  /** The pair_style line after `pair_style` (style name plus any arguments, e.g. `e3gnn`, `pace product`). */
  pairStyle: string;
  /** Potential label of each alloy element (`--elements-map`); elements absent here use their own symbol. */
  labels?: Record<string, string>;
  /** Whether `labels` is the complete map (then every element must be in it). */
  labelsComplete?: boolean;
  /** Labels the potential supports, when known (`--potential-elements` or the file's header). */
  supported?: string[];
  /** Where `supported` came from, for messages (e.g. `--potential-elements`, `pot.eam.alloy line 4`). */
  supportedSource?: string;
}

/** The melt–quench protocol. Temperatures in K, durations in ps, pressure in bar. */
export interface MeltQuenchProtocol {
  tLow: number;
  tHigh: number;
  heatPs: number;
  meltHoldPs: number;
  quenchPs: number;
  finalHoldPs: number;
  timestepFs: number;
  tdampPs: number;
  pdampPs: number;
  pressureBar: number;
  thermoEvery: number;
  dumpEvery: number;
}

/** Spherical nanoindentation of the quenched glass as a slab (free surfaces normal to z). */
export interface IndentProtocol {
  /** Indenter radius (Å). */
  radiusA: number;
  /** Indenter speed (m/s; 1 m/s = 0.01 Å/ps). */
  speedMs: number;
  /** Maximum depth below the initial top surface (Å). */
  depthA: number;
  /** Indenter force constant K (eV/Å³). */
  forceConstant: number;
  /** Initial gap between the indenter and the top surface (Å). */
  gapA: number;
  /** Thickness of the fixed bottom layer (Å). */
  fixedA: number;
  /** Temperature of the mobile atoms (K); defaults to the melt–quench T_low. */
  temperature?: number;
}

/** Uniaxial tension along x at constant engineering strain rate, NPT (P = 0) in y and z. */
export interface TensionProtocol {
  /** Engineering strain rate (1/s). */
  strainRate: number;
  /** Final engineering strain. */
  maxStrain: number;
  /** Temperature (K); defaults to the melt–quench T_low. */
  temperature?: number;
}

/** Reference defaults (§8.1) for the melt–quench deck. */
export const MELT_QUENCH_DEFAULTS: Readonly<MeltQuenchProtocol> = Object.freeze({
  tLow: 50,
  tHigh: 4000,
  heatPs: 40,
  meltHoldPs: 40,
  quenchPs: 40,
  finalHoldPs: 40,
  timestepFs: 1,
  tdampPs: 1,
  pdampPs: 5,
  pressureBar: 0,
  thermoEvery: 100,
  dumpEvery: 1000,
});

/** Defaults of the nanoindentation deck (not in the reference, which has none). */
export const INDENT_DEFAULTS: Readonly<IndentProtocol> = Object.freeze({
  radiusA: 10,
  speedMs: 20,
  depthA: 8,
  forceConstant: 10,
  gapA: 3,
  fixedA: 5,
});

/** Defaults of the tension deck (not in the reference, which has none). */
export const TENSION_DEFAULTS: Readonly<TensionProtocol> = Object.freeze({ strainRate: 1e9, maxStrain: 0.2 });

/** Reference defaults for the cell: 27 648 atoms = 24³ bcc cells of a = 2.8 Å. */
export const CELL_DEFAULTS = Object.freeze({ atoms: 27648, lattice: "bcc" as LatticeStyle, a: 2.8 });

/** One thermal stage of the melt–quench protocol. */
export interface Stage {
  name: string;
  what: string;
  tStart: number;
  tStop: number;
  ps: number;
  steps: number;
  restart: string;
}

/** Restart file the nanoindentation and tension decks start from. */
export const FINAL_RESTART = "restart.final";

/** Steps for a duration, as the deck computes them: round(ps / dt). */
export function stepsFor(ps: number, timestepFs: number): number {
  return Math.round(ps / (timestepFs / 1000));
}

/** The four NPT stages with their step counts and restart files (what the deck runs and README.txt lists). */
export function meltQuenchStages(p: MeltQuenchProtocol): Stage[] {
  const s = (
    name: string,
    what: string,
    tStart: number,
    tStop: number,
    ps: number,
    restart: string,
  ): Stage => ({
    name,
    what,
    tStart,
    tStop,
    ps,
    steps: stepsFor(ps, p.timestepFs),
    restart,
  });
  return [
    s("heat", "heat", p.tLow, p.tHigh, p.heatPs, "restart.heat"),
    s("melt", "hold the melt", p.tHigh, p.tHigh, p.meltHoldPs, "restart.melt"),
    s("quench", "quench", p.tHigh, p.tLow, p.quenchPs, "restart.quench"),
    s("hold", "hold the glass", p.tLow, p.tLow, p.finalHoldPs, FINAL_RESTART),
  ];
}

/** Cooling rate of the quench stage in K/s: (T_high − T_low) / (steps · dt). */
export function coolingRate(p: MeltQuenchProtocol): number {
  return (p.tHigh - p.tLow) / (stepsFor(p.quenchPs, p.timestepFs) * p.timestepFs * 1e-15);
}

/** Heating rate of the heat stage in K/s. */
export function heatingRate(p: MeltQuenchProtocol): number {
  return (p.tHigh - p.tLow) / (stepsFor(p.heatPs, p.timestepFs) * p.timestepFs * 1e-15);
}

/** Steps of the indentation loading (and of the unloading): (depth + gap) / (speed · dt). */
export function indentSteps(i: IndentProtocol, timestepFs: number): number {
  return Math.round((i.depthA + i.gapA) / (i.speedMs * 0.01 * (timestepFs / 1000)));
}

/** Steps of the tension run: max strain / (rate · dt). */
export function tensionSteps(t: TensionProtocol, timestepFs: number): number {
  return Math.round(t.maxStrain / (t.strainRate * timestepFs * 1e-15));
}

function positive(x: number, flag: string, orZero = false) {
  if (!Number.isFinite(x) || x < 0 || (!orZero && x === 0)) {
    throw new UserError(`flag --${flag}: expected a number ${orZero ? "≥" : ">"} 0, got ${x}`);
  }
}

/**
 * Checks protocol values (finite, positive where needed, T_high > T_low, every stage at least one step);
 * messages name the CLI flags.
 * @throws {UserError}
 */
export function checkProtocols(m: MeltQuenchProtocol, i?: IndentProtocol, t?: TensionProtocol): void {
  positive(m.tLow, "t-low");
  positive(m.tHigh, "t-high");
  if (!(m.tHigh > m.tLow)) {
    throw new UserError(`flag --t-high (${m.tHigh} K) must be above --t-low (${m.tLow} K)`);
  }
  positive(m.timestepFs, "timestep-fs");
  positive(m.heatPs, "heat-ps");
  positive(m.quenchPs, "quench-ps");
  positive(m.meltHoldPs, "melt-hold-ps", true);
  positive(m.finalHoldPs, "final-hold-ps", true);
  positive(m.tdampPs, "tdamp-ps");
  positive(m.pdampPs, "pdamp-ps");
  if (!Number.isFinite(m.pressureBar)) throw new UserError(`flag --pressure-bar: expected a number`);
  for (const [flag, ps] of [["heat-ps", m.heatPs], ["quench-ps", m.quenchPs]] as const) {
    if (stepsFor(ps, m.timestepFs) < 1) {
      throw new UserError(`flag --${flag}: ${ps} ps is less than one ${m.timestepFs} fs step`);
    }
  }
  for (const [flag, n] of [["thermo-every", m.thermoEvery], ["dump-every", m.dumpEvery]] as const) {
    if (!Number.isInteger(n) || n < 1) {
      throw new UserError(`flag --${flag}: expected a whole number ≥ 1, got ${n}`);
    }
  }
  if (i) {
    positive(i.radiusA, "indent-radius");
    positive(i.speedMs, "indent-speed");
    positive(i.depthA, "indent-depth");
    positive(i.forceConstant, "indent-k");
    positive(i.gapA, "indent-gap", true);
    positive(i.fixedA, "indent-fixed", true);
    if (i.temperature !== undefined) positive(i.temperature, "indent-temperature");
  }
  if (t) {
    positive(t.strainRate, "tension-rate");
    positive(t.maxStrain, "tension-strain");
    if (t.temperature !== undefined) positive(t.temperature, "tension-temperature");
    if (tensionSteps(t, m.timestepFs) < 1) {
      throw new UserError("flag --tension-strain: the run is less than one step");
    }
  }
}

/** Pair styles whose pair_coeff is not `* * FILE elements…`: this generator cannot write them. */
const OTHER_COEFF_STYLES = styleList(
  "eam meam meam/c snap deepmd morse table zbl soft yukawa hybrid hybrid/overlay hybrid/scaled kim " +
    "mliap quip reaxff lj/cut lj/smooth lj/smooth/linear buck born coul/cut coul/long",
);

/**
 * Whether the generator knows that `pairStyle` (its first word) takes `pair_coeff * * FILE elements…`.
 * Unknown styles are still written that way (README.txt says so); styles known to need another form are
 * refused by {@link potentialLabels}.
 */
export function pairStyleKnown(pairStyle: string): boolean {
  return FILE_ELEMENTS_PAIR_STYLES.test(pairStyle.trim().split(/\s+/)[0] ?? "");
}

/** The potential label of each element of the cell, checked against the potential ({@link PotentialSpec}). */
export function potentialLabels(elements: readonly string[], pot: PotentialSpec): string[] {
  const style = pot.pairStyle.trim().split(/\s+/)[0] ?? "";
  if (style === "") throw new UserError("flag --pair-style: empty");
  if (!/^[A-Za-z0-9_/.\-]+$/.test(style)) {
    throw new UserError(`flag --pair-style: '${style}' is not a pair style name`);
  }
  if (OTHER_COEFF_STYLES.test(style)) {
    throw new UserError(
      `flag --pair-style: '${style}' needs a pair_coeff form other than '* * FILE elements…', which this ` +
        `generator does not write (use e.g. eam/alloy, eam/fs, tersoff, sw, e3gnn, pace, mace, nequip)`,
    );
  }
  const labels = elements.map((e) => {
    const l = pot.labels?.[e];
    if (l === undefined && pot.labelsComplete) {
      throw new UserError(
        `element ${e} is not in --elements-map (${
          Object.entries(pot.labels ?? {}).map(([a, b]) => `${a}:${b}`).join(",")
        })`,
      );
    }
    return l ?? e;
  });
  if (pot.supported) {
    const ok = new Set(pot.supported);
    elements.forEach((e, i) => {
      if (!ok.has(labels[i])) {
        const as = labels[i] === e ? "" : ` (mapped to '${labels[i]}')`;
        throw new UserError(
          `the potential ${pot.shownAs ?? pot.file} does not support element ${e}${as}: its elements are ${
            pot.supported!.join(", ")
          } (from ${pot.supportedSource ?? "--potential-elements"}; map it with --elements-map ${e}:X)`,
        );
      }
    });
  }
  return labels;
}

/** Everything a deck needs for one alloy. */
export interface DeckInput {
  /** Human name of the alloy (the folder name), e.g. `B68Fe4Nb24W4`. */
  name: string;
  counts: AtomCounts;
  cell: CellChoice;
  potential: PotentialSpec;
  melt: MeltQuenchProtocol;
  indent?: IndentProtocol;
  tension?: TensionProtocol;
  /** LAMMPS seeds: velocities and one per substituted type (types 2, 3, …). */
  seeds: { velocity: number; subset: number[] };
}

/** A number as short text (no float noise): 0.001, 4000, 1e-10. */
export function num(x: number): string {
  return String(+x.toPrecision(12));
}

/** A pair_coeff argument: quoted when it holds spaces or LAMMPS-special characters. */
function arg(s: string): string {
  if (/["']/.test(s)) throw new UserError(`the potential path '${s}' contains a quote character`);
  return /[\s#$&]/.test(s) ? `"${s}"` : s;
}

/** Elements that are actually in the cell (count > 0), with their type numbers 1, 2, … */
export function cellTypes(
  c: AtomCounts,
): { element: string; count: number; fraction: number; exact: number }[] {
  return c.elements.map((e, i) => ({
    element: e,
    count: c.counts[i],
    fraction: c.fractions[i],
    exact: c.exact[i],
  }))
    .filter((t) => t.count > 0);
}

/** A section comment padded to a fixed width. */
function section(title: string): string {
  const head = `# ---- ${title} `;
  return head.length >= 110 ? head.trimEnd() : head.padEnd(110, "-");
}

/** Aligned `name value # comment` parameter lines. */
function params(rows: [string, string, string, string][]): string[] {
  return rows.map(([name, style, value, note]) =>
    `variable ${name.padEnd(12)} ${style.padEnd(5)} ${value.padEnd(12)} # ${note}`
  );
}

function cmd(name: string, rest: string, note?: string): string {
  const line = `${name.padEnd(15)} ${rest}`;
  return note ? `${line.padEnd(60)} # ${note}` : line;
}

/** The potential block (also repeated after read_restart, which does not keep file-based coefficients). */
function potentialBlock(d: DeckInput, labels: string[]): string[] {
  return [
    cmd("pair_style", d.potential.pairStyle.trim()),
    cmd(
      "pair_coeff",
      `* * ${arg(d.potential.file)} ${labels.join(" ")}`,
      "one label per type, in type order",
    ),
    cmd("neighbor", "1.0 bin"),
    cmd("neigh_modify", "every 1 delay 0 check yes"),
  ];
}

function header(title: string, d: DeckInput): string[] {
  const types = cellTypes(d.counts);
  return [
    `# ${title}`,
    `# Alloy ${d.name}: ${types.map((t) => `${t.element} ${t.count}`).join(", ")} (${d.counts.total} atoms).`,
    "# Written by `alloy md deck`; README.txt explains the stages and outputs.",
  ];
}

/**
 * The melt–quench deck (in.lammps); see the module doc.
 * @throws {UserError} for an unsupported element or pair style (see {@link potentialLabels})
 */
export function meltQuenchDeck(d: DeckInput): string {
  const types = cellTypes(d.counts);
  const labels = potentialLabels(types.map((t) => t.element), d.potential);
  const m = d.melt, c = d.cell;
  if (types.reduce((a, t) => a + t.count, 0) !== c.atoms || d.counts.total !== c.atoms) {
    throw new Error(`deck ${d.name}: atom counts sum to ${d.counts.total}, the cell has ${c.atoms} sites`);
  }
  const elements = types.map((t) => t.element).join(" ");
  const stages = meltQuenchStages(m);
  const L: string[] = [
    ...header("in.lammps - melt-quench: random solid -> melt -> glass", d),
    "# Run from this folder:  lmp -in in.lammps   (override a parameter: lmp -var T_high 3500 -in in.lammps)",
    "",
    section("parameters"),
    ...params([
      ["T_low", "index", num(m.tLow), "K: start, quench end and final hold temperature"],
      ["T_high", "index", num(m.tHigh), "K: melt temperature"],
      ["t_heat", "index", num(m.heatPs), "ps: heat T_low -> T_high"],
      ["t_melt", "index", num(m.meltHoldPs), "ps: hold at T_high"],
      ["t_quench", "index", num(m.quenchPs), "ps: quench T_high -> T_low"],
      ["t_hold", "index", num(m.finalHoldPs), "ps: hold at T_low"],
      ["dt", "index", num(m.timestepFs / 1000), "ps: timestep"],
      ["Tdamp", "index", num(m.tdampPs), "ps: thermostat damping time"],
      ["Pdamp", "index", num(m.pdampPs), "ps: barostat damping time"],
      ["P", "index", num(m.pressureBar), "bar: hydrostatic pressure"],
      ["seed_v", "index", String(d.seeds.velocity), "velocity seed"],
    ]),
    "variable n_heat   equal round(v_t_heat/v_dt)",
    "variable n_melt   equal round(v_t_melt/v_dt)",
    "variable n_quench equal round(v_t_quench/v_dt)",
    "variable n_hold   equal round(v_t_hold/v_dt)",
    "",
    section(
      `cell: ${c.style} lattice, a = ${num(c.a)} A, ${c.repeats.join(" x ")} cells = ${c.atoms} sites${
        c.atoms === c.requested ? "" : ` (nearest to the ${c.requested} requested)`
      }`,
    ),
    cmd("units", "metal"),
    cmd("boundary", "p p p"),
    cmd("atom_style", "atomic"),
    cmd("atom_modify", "map array sort 0 0"),
    cmd("lattice", `${c.style} ${num(c.a)}`),
    cmd("region", `cell block 0 ${c.repeats[0]} 0 ${c.repeats[1]} 0 ${c.repeats[2]}`),
    cmd("create_box", `${types.length} cell`),
    cmd("create_atoms", "1 box"),
    "",
    section("species: exact counts by random substitution"),
    "# `set type 1 type/subset T COUNT SEED` turns exactly COUNT of the remaining type-1 atoms into type T;",
    `# type 1 (${types[0].element}) keeps the other ${types[0].count} sites.`,
    ...types.slice(1).map((t, k) =>
      cmd(
        "set",
        `type 1 type/subset ${k + 2} ${t.count} ${d.seeds.subset[k]}`,
        `${t.element}: ${t.count} atoms`,
      )
    ),
    ...types.map((t, k) => cmd("mass", `${k + 1} ${num(atomicMass(t.element))}`, t.element)),
    "",
    section("potential (the file is referenced, not copied)"),
    ...potentialBlock(d, labels),
    cmd("timestep", "${dt}"),
    "",
    section("output"),
    cmd("thermo", String(m.thermoEvery)),
    cmd("thermo_style", "custom step time temp pe ke etotal press vol density enthalpy"),
    cmd("thermo_modify", "flush yes"),
    cmd("dump", `traj all custom ${m.dumpEvery} dump.melt_quench.lammpstrj id type element x y z`),
    cmd("dump_modify", `traj element ${elements} sort id`),
    "",
    section("minimise the random solid (FIRE, as the reference), then velocities at T_low"),
    cmd("min_style", "fire"),
    cmd("minimize", "1.0e-10 1.0e-10 100 100"),
    cmd("write_restart", "restart.minimized"),
    cmd("reset_timestep", "0"),
    cmd("velocity", "all create ${T_low} ${seed_v} dist gaussian mom yes rot yes"),
  ];
  const tVar: Record<number, string> = { [m.tLow]: "${T_low}", [m.tHigh]: "${T_high}" };
  const nVar: Record<string, string> = {
    heat: "${n_heat}",
    melt: "${n_melt}",
    quench: "${n_quench}",
    hold: "${n_hold}",
  };
  stages.forEach((s, k) => {
    L.push(
      "",
      section(
        `stage ${k + 1}: ${s.what}, ${num(s.tStart)} -> ${num(s.tStop)} K, ${
          num(s.ps)
        } ps (${s.steps} steps), NPT`,
      ),
      cmd("fix", `md all npt temp ${tVar[s.tStart]} ${tVar[s.tStop]} \${Tdamp} iso \${P} \${P} \${Pdamp}`),
      cmd("run", nVar[s.name]),
      cmd("unfix", "md"),
      cmd("write_restart", s.restart),
    );
  });
  L.push(
    "",
    section("final configuration"),
    cmd("undump", "traj"),
    cmd("write_data", "final.data"),
    cmd("write_dump", `all custom final.lammpstrj id type element x y z modify element ${elements} sort id`),
    cmd("write_dump", `all cfg final.cfg mass type xs ys zs modify element ${elements}`),
    "",
  );
  return L.join("\n");
}

/**
 * The nanoindentation deck (in.indent): reads restart.final, opens free surfaces normal to z (`change_box …
 * boundary p p s`), fixes the bottom `fixedA` Å, thermostats the rest (NVT), and drives a spherical `fix
 * indent` down at the given speed from `gapA` above the top surface to `depthA` below it, then back up at the
 * same speed. Load (nN, f_ind[3] × 1.602176634) and depth (Å below the initial surface) every 100 steps,
 * averaged over 10 samples, go to load_depth.txt.
 */
export function indentDeck(d: DeckInput): string {
  const i = d.indent ?? INDENT_DEFAULTS;
  const m = d.melt;
  const types = cellTypes(d.counts);
  const labels = potentialLabels(types.map((t) => t.element), d.potential);
  const T = i.temperature ?? m.tLow;
  const n = indentSteps(i, m.timestepFs);
  const elements = types.map((t) => t.element).join(" ");
  return [
    ...header("in.indent - spherical nanoindentation of the quenched glass (starts from restart.final)", d),
    "# Run after in.lammps, from this folder:  lmp -in in.indent",
    "",
    section("parameters"),
    ...params([
      ["T", "index", num(T), "K: temperature of the mobile atoms"],
      ["R", "index", num(i.radiusA), "A: indenter radius"],
      ["K", "index", num(i.forceConstant), "eV/A^3: indenter force constant"],
      ["speed", "index", num(i.speedMs * 0.01), `A/ps: indenter speed (${num(i.speedMs)} m/s)`],
      ["h_max", "index", num(i.depthA), "A: maximum depth below the initial surface"],
      ["gap", "index", num(i.gapA), "A: initial gap above the surface"],
      ["fixed", "index", num(i.fixedA), "A: fixed bottom layer"],
      ["dt", "index", num(m.timestepFs / 1000), "ps: timestep"],
      ["Tdamp", "index", num(m.tdampPs), "ps: thermostat damping time"],
    ]),
    "variable n_load   equal round((v_h_max+v_gap)/(v_speed*v_dt))",
    "",
    section("slab from the quenched glass"),
    cmd("read_restart", FINAL_RESTART),
    cmd("change_box", "all boundary p p s", "free surfaces normal to z"),
    ...potentialBlock(d, labels),
    cmd("timestep", "${dt}"),
    cmd("reset_timestep", "0"),
    "variable z_min    equal bound(all,zmin)",
    "variable z_max    equal bound(all,zmax)",
    "variable z_top    equal ${z_max}",
    "variable z_fix    equal ${z_min}+v_fixed",
    "variable x_c      equal 0.5*(xlo+xhi)",
    "variable y_c      equal 0.5*(ylo+yhi)",
    cmd("region", "bottom block INF INF INF INF INF ${z_fix} units box"),
    cmd("group", "bottom region bottom"),
    cmd("group", "mobile subtract all bottom"),
    cmd("velocity", "bottom set 0.0 0.0 0.0"),
    cmd("fix", "freeze bottom setforce 0.0 0.0 0.0"),
    cmd("fix", "md mobile nvt temp ${T} ${T} ${Tdamp}"),
    cmd("compute", "t_mobile mobile temp"),
    cmd("fix_modify", "md temp t_mobile"),
    "",
    section("indenter: the sphere's centre starts R + gap above the surface and moves down at `speed`"),
    "variable z_start  equal ${z_top}+v_R+v_gap",
    "variable z_ind    equal v_z_start-v_speed*v_dt*step",
    cmd("fix", "ind all indent ${K} sphere ${x_c} ${y_c} v_z_ind ${R} units box"),
    "variable depth    equal v_z_top-(v_z_ind-v_R)   # A below the initial surface (< 0: no contact)",
    "variable load     equal f_ind[3]*1.602176634    # nN (fix indent force is in eV/A)",
    cmd(
      "fix",
      'out all ave/time 10 10 100 v_depth v_load file load_depth.txt title1 "# load-depth" ' +
        'title2 "# step depth(A) load(nN)"',
    ),
    cmd("thermo", String(m.thermoEvery)),
    cmd("thermo_style", "custom step temp c_t_mobile pe press v_depth v_load"),
    cmd("thermo_modify", "flush yes"),
    cmd("dump", `traj all custom ${m.dumpEvery} dump.indent.lammpstrj id type element x y z`),
    cmd("dump_modify", `traj element ${elements} sort id`),
    "",
    section(`loading: ${n} steps to ${num(i.depthA)} A`),
    cmd("run", "${n_load}"),
    cmd("write_restart", "restart.indent_max"),
    "",
    section("unloading: back up at the same speed"),
    "variable z_turn   equal ${z_ind}",
    "variable z_ind    equal v_z_turn+v_speed*v_dt*(step-${n_load})",
    cmd("run", "${n_load}"),
    cmd("write_restart", "restart.indent"),
    "",
  ].join("\n");
}

/**
 * The tension deck (in.tension): reads restart.final, stretches x at a constant engineering strain rate with
 * `fix deform … erate` while NPT keeps y and z at P (Poisson contraction), and writes engineering strain and
 * the stresses σxx, σyy, σzz (GPa, = −p/10⁴ bar) every 100 steps, averaged over 10 samples, to
 * stress_strain.txt.
 */
export function tensionDeck(d: DeckInput): string {
  const t = d.tension ?? TENSION_DEFAULTS;
  const m = d.melt;
  const types = cellTypes(d.counts);
  const labels = potentialLabels(types.map((x) => x.element), d.potential);
  const T = t.temperature ?? m.tLow;
  const elements = types.map((x) => x.element).join(" ");
  return [
    ...header("in.tension - uniaxial tension along x of the quenched glass (starts from restart.final)", d),
    "# Run after in.lammps, from this folder:  lmp -in in.tension",
    "",
    section("parameters"),
    ...params([
      ["T", "index", num(T), "K: temperature"],
      [
        "erate",
        "index",
        num(t.strainRate * 1e-12),
        `1/ps: engineering strain rate (${t.strainRate.toExponential()} /s)`,
      ],
      ["strain_max", "index", num(t.maxStrain), "final engineering strain"],
      ["dt", "index", num(m.timestepFs / 1000), "ps: timestep"],
      ["Tdamp", "index", num(m.tdampPs), "ps: thermostat damping time"],
      ["Pdamp", "index", num(m.pdampPs), "ps: barostat damping time"],
      ["P", "index", num(m.pressureBar), "bar: lateral pressure"],
    ]),
    "variable n_pull   equal round(v_strain_max/(v_erate*v_dt))",
    "",
    cmd("read_restart", FINAL_RESTART),
    ...potentialBlock(d, labels),
    cmd("timestep", "${dt}"),
    cmd("reset_timestep", "0"),
    "variable L_x      equal lx",
    "variable L0       equal ${L_x}",
    "",
    section("NPT in y and z, constant strain rate in x"),
    cmd("fix", "md all npt temp ${T} ${T} ${Tdamp} y ${P} ${P} ${Pdamp} z ${P} ${P} ${Pdamp}"),
    cmd("fix", "pull all deform 1 x erate ${erate} remap x"),
    "variable strain   equal (lx-v_L0)/v_L0",
    "variable s_xx     equal -pxx/10000              # GPa (pressure is in bar; stress = -pressure)",
    "variable s_yy     equal -pyy/10000",
    "variable s_zz     equal -pzz/10000",
    cmd(
      "fix",
      "out all ave/time 10 10 100 v_strain v_s_xx v_s_yy v_s_zz file stress_strain.txt " +
        'title1 "# stress-strain" title2 "# step strain s_xx(GPa) s_yy(GPa) s_zz(GPa)"',
    ),
    cmd("thermo", String(m.thermoEvery)),
    cmd("thermo_style", "custom step temp pe lx ly lz v_strain v_s_xx"),
    cmd("thermo_modify", "flush yes"),
    cmd("dump", `traj all custom ${m.dumpEvery} dump.tension.lammpstrj id type element x y z`),
    cmd("dump_modify", `traj element ${elements} sort id`),
    "",
    section(`${tensionSteps(t, m.timestepFs)} steps to strain ${num(t.maxStrain)}`),
    cmd("run", "${n_pull}"),
    cmd("write_restart", "restart.tension"),
    "",
  ].join("\n");
}
