/**
 * One deck folder per alloy: in.lammps (+ in.indent, in.tension), README.txt and composition.json, built in
 * memory (every deck is run through our LAMMPS syntax checker before anything is written) and then written
 * file by file with atomic writes. Identical inputs give byte-identical files: nothing time- or
 * machine-dependent goes in.
 * @module
 */
import { writeFileAtomic } from "../data/atomic_write.ts";
import { formatFormula } from "../data/formula.ts";
import { join } from "../data/paths.ts";
import { Rng } from "../nn/random.ts";
import { atomicMass } from "./atomic_masses.ts";
import { type AtomCounts, atomCounts, type Composition } from "./composition_atoms.ts";
import { deckReadme } from "./deck_readme.ts";
import {
  cellRepeats,
  cellTypes,
  coolingRate,
  type DeckInput,
  FINAL_RESTART,
  heatingRate,
  indentDeck,
  type IndentProtocol,
  indentSteps,
  type LatticeStyle,
  meltQuenchDeck,
  type MeltQuenchProtocol,
  potentialLabels,
  type PotentialSpec,
  type Protocol,
  tensionDeck,
  type TensionProtocol,
  tensionSteps,
} from "./lammps_deck.ts";
import { checkLammpsInput, type LammpsCheckOptions } from "./lammps_syntax.ts";

/** An alloy to write decks for. */
export interface AlloySpec {
  /** Folder name (already safe: see {@link folderName}). */
  name: string;
  composition: Composition;
  /** Where it came from, for README.txt and composition.json (e.g. `candidates.csv row 3`). */
  source: string;
}

/** Options shared by every alloy of a run. */
export interface DeckOptions {
  atoms: number;
  lattice: LatticeStyle;
  latticeConstant: number;
  seed: number;
  potential: PotentialSpec;
  protocols: readonly Protocol[];
  melt: MeltQuenchProtocol;
  indent: IndentProtocol;
  tension: TensionProtocol;
  /** Extra README lines about the potential. */
  potentialNotes?: string[];
}

/** A folder's files, ready to write. */
export interface DeckFolder {
  name: string;
  /** File name → text, in writing order. */
  files: Map<string, string>;
  input: DeckInput;
  counts: AtomCounts;
}

/** Largest LAMMPS seed we emit (RanMars-based styles require seeds below 9·10⁸). */
const MAX_SEED = 900_000_000;

/** 32-bit FNV-1a hash of a string (stream id for an alloy's seeds). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * LAMMPS seeds for an alloy: a velocity seed and one per substituted type, drawn from `seed` on a stream
 * keyed by the cell's species and counts (so the same cell and seed always get the same LAMMPS seeds).
 */
export function lammpsSeeds(seed: number, counts: AtomCounts): { velocity: number; subset: number[] } {
  const types = cellTypes(counts);
  const rng = new Rng(seed, fnv1a(types.map((t) => `${t.element}${t.count}`).join(" ")));
  const draw = () => 1 + rng.int(MAX_SEED - 1);
  return { velocity: draw(), subset: types.slice(1).map(draw) };
}

/** A folder-safe name from a formula: letters, digits, `.`, `-` and `_` only. */
export function folderName(formula: string): string {
  const s = formula.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+|_+$/g, "");
  return s === "" ? "alloy" : s;
}

/** The canonical at.% formula of a composition, elements in atomic-number order (`B68Fe4Nb24W4`). */
export function compositionFormula(c: Composition, precision = 2): string {
  return formatFormula(c.elements.map((e, i) => [e, c.fractions[i]] as [string, number]), {
    precision,
    order: "input",
  });
}

function checked(file: string, text: string, options: LammpsCheckOptions = {}): string {
  const issues = checkLammpsInput(text, options);
  if (issues.length > 0) {
    // Our own deck failing our own checker is a bug, not a user error.
    throw new Error(
      `generated ${file} fails the syntax check at line ${issues[0].line}: ${issues[0].message}`,
    );
  }
  return text;
}

/**
 * Builds one alloy's folder in memory.
 * @throws {UserError} for an element the potential does not support or a bad pair style
 */
export function buildDeckFolder(alloy: AlloySpec, o: DeckOptions): DeckFolder {
  const cell = cellRepeats(o.lattice, o.latticeConstant, o.atoms);
  const counts = atomCounts(alloy.composition, cell.atoms);
  const types = cellTypes(counts);
  const labels = potentialLabels(types.map((t) => t.element), o.potential);
  const input: DeckInput = {
    name: alloy.name,
    counts,
    cell,
    potential: o.potential,
    melt: o.melt,
    indent: o.indent,
    tension: o.tension,
    seeds: lammpsSeeds(o.seed, counts),
  };
  const restart = { restart: { ntypes: types.length } };
  const files = new Map<string, string>();
  files.set("in.lammps", checked("in.lammps", meltQuenchDeck(input)));
  if (o.protocols.includes("nanoindent")) {
    files.set("in.indent", checked("in.indent", indentDeck(input), restart));
  }
  if (o.protocols.includes("tension")) {
    files.set("in.tension", checked("in.tension", tensionDeck(input), restart));
  }
  const protocols = (["melt-quench", "nanoindent", "tension"] as Protocol[]).filter((p) =>
    p === "melt-quench" || o.protocols.includes(p)
  );
  files.set(
    "README.txt",
    deckReadme(input, {
      source: `${alloy.source} (${
        alloy.composition.unit === "formula" ? "formula" : alloy.composition.unit
      })`,
      seed: o.seed,
      protocols,
      potentialNotes: o.potentialNotes,
    }),
  );
  const json = {
    name: alloy.name,
    formula: compositionFormula(alloy.composition),
    source: alloy.source,
    input_unit: alloy.composition.unit,
    atoms: cell.atoms,
    atoms_requested: cell.requested,
    lattice: { style: cell.style, a: cell.a, repeats: cell.repeats },
    types: types.map((t, k) => ({
      type: k + 1,
      element: t.element,
      potential_label: labels[k],
      mass: atomicMass(t.element),
      count: t.count,
      fraction_target: +t.fraction.toFixed(10),
      fraction_actual: +(t.count / counts.total).toFixed(10),
      exact_share: +t.exact.toFixed(6),
    })),
    dropped: counts.dropped.map((e) => ({
      element: e,
      fraction_target: +counts.fractions[counts.elements.indexOf(e)].toFixed(10),
    })),
    formula_actual: formatFormula(types.map((t) => [t.element, t.count] as [string, number]), {
      precision: 3,
      order: "input",
    }),
    potential: {
      file: o.potential.file,
      pair_style: o.potential.pairStyle.trim(),
      labels,
      supported: o.potential.supported ?? null,
    },
    protocols,
    melt_quench: {
      t_low_K: o.melt.tLow,
      t_high_K: o.melt.tHigh,
      heat_ps: o.melt.heatPs,
      melt_hold_ps: o.melt.meltHoldPs,
      quench_ps: o.melt.quenchPs,
      final_hold_ps: o.melt.finalHoldPs,
      timestep_fs: o.melt.timestepFs,
      tdamp_ps: o.melt.tdampPs,
      pdamp_ps: o.melt.pdampPs,
      pressure_bar: o.melt.pressureBar,
      thermo_every: o.melt.thermoEvery,
      dump_every: o.melt.dumpEvery,
      heating_rate_K_per_s: +heatingRate(o.melt).toPrecision(6),
      cooling_rate_K_per_s: +coolingRate(o.melt).toPrecision(6),
    },
    nanoindent: protocols.includes("nanoindent")
      ? {
        radius_A: o.indent.radiusA,
        speed_m_per_s: o.indent.speedMs,
        depth_A: o.indent.depthA,
        force_constant_eV_per_A3: o.indent.forceConstant,
        gap_A: o.indent.gapA,
        fixed_layer_A: o.indent.fixedA,
        temperature_K: o.indent.temperature ?? o.melt.tLow,
        steps_per_leg: indentSteps(o.indent, o.melt.timestepFs),
      }
      : null,
    tension: protocols.includes("tension")
      ? {
        strain_rate_per_s: o.tension.strainRate,
        max_strain: o.tension.maxStrain,
        temperature_K: o.tension.temperature ?? o.melt.tLow,
        steps: tensionSteps(o.tension, o.melt.timestepFs),
      }
      : null,
    seed: o.seed,
    lammps_seeds: input.seeds,
    start_restart_for_indent_and_tension: FINAL_RESTART,
    files: [...files.keys(), "composition.json"],
  };
  files.set("composition.json", JSON.stringify(json, null, 2) + "\n");
  return { name: alloy.name, files, input, counts };
}

/** Writes a folder's files under `outDir/name`, each atomically. */
export async function writeDeckFolder(outDir: string, f: DeckFolder): Promise<string> {
  const dir = join(outDir, f.name);
  for (const [file, text] of f.files) await writeFileAtomic(join(dir, file), text);
  return dir;
}
